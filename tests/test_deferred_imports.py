"""`import jaxrl` leaves gymnax's plotting imports (seaborn, matplotlib.pyplot) for their first use."""

import subprocess
import sys

CHECK = """
import sys
import jaxrl
assert "pandas" not in sys.modules and "scipy.stats" not in sys.modules, "seaborn was imported in full"
import seaborn as sns, matplotlib.pyplot as plt, matplotlib
palette = sns.color_palette("cubehelix", 3)  # the first use loads the real module
assert len(palette) == 3 and "pandas" in sys.modules
figure, axes = plt.subplots()
assert matplotlib.pyplot.figure is plt.figure and "subplots" in dir(plt)
import gymnax
env, params = gymnax.make("Pong-misc")  # the gymnax env whose module imports both
print("OK")
"""


def test_plotting_libraries_load_on_first_use():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120,
                          env={"MPLBACKEND": "Agg", "PATH": "", "PYTHONPATH": ":".join(p for p in sys.path if p)})
    assert done.returncode == 0 and done.stdout.strip() == "OK", done.stderr


def test_a_module_already_imported_or_missing_is_left_alone():
    from jaxrl.deferred_imports import defer_import

    assert not defer_import("json")  # already imported
    assert not defer_import("no_such_module_jaxrl_test")


SUBPACKAGES = """
import jaxrl
assert jaxrl.presets.find("dqn", "CartPole-v1").steps > 0  # as before jaxrl's imports were lazy
assert jaxrl.stats.__name__ == "jaxrl.stats" and jaxrl.envs.make_env is jaxrl.make_env
for missing in ("no_such_thing", "_private"):
    try:
        getattr(jaxrl, missing)
    except AttributeError as error:
        assert missing in str(error)
    else:
        raise AssertionError(missing)
print("OK")
"""


def test_subpackages_are_attributes_after_a_plain_import():
    done = subprocess.run([sys.executable, "-c", SUBPACKAGES], capture_output=True, text=True, timeout=120,
                          env={"PATH": "", "PYTHONPATH": ":".join(p for p in sys.path if p)})
    assert done.returncode == 0 and done.stdout.strip() == "OK", done.stderr
