"""``import jaxrl`` splits the CPU into one JAX device per core (see jaxrl/cpu_devices.py), leaves a
count the user chose alone, and the engine shards runs over as many devices as divide them."""

import os
import subprocess
import sys

import pytest

import jaxrl
from jaxrl import cpu_devices

BASE_ENV = {"PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"}


def devices_after_import(extra_env: dict[str, str], before: str = "") -> subprocess.CompletedProcess:
    code = f"import jax\n{before}import jaxrl\nprint(len(jax.devices()))\n"
    return subprocess.run([sys.executable, "-c", code], env={**BASE_ENV, **extra_env}, capture_output=True,
                          text=True, timeout=120)


def test_requested_devices_reads_the_variable_or_counts_the_cores():
    assert cpu_devices.requested_devices({}) == cpu_devices.available_cores() >= 1
    assert cpu_devices.requested_devices({"JAXRL_CPU_DEVICES": " 3 "}) == 3
    for bad in ("0", "-2", "two", "1.5", "1000"):
        with pytest.raises(jaxrl.ConfigError, match="JAXRL_CPU_DEVICES.*positive integer.*unset it to use every core"):
            cpu_devices.requested_devices({"JAXRL_CPU_DEVICES": bad})


@pytest.mark.parametrize(("extra_env", "before", "expected"), [
    ({}, "", str(cpu_devices.available_cores())),  # one device per core by default
    ({"JAXRL_CPU_DEVICES": "3"}, "", "3"),
    ({"JAXRL_CPU_DEVICES": "1"}, "", "1"),
    ({"JAXRL_CPU_DEVICES": "3", "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}, "", "4"),  # the user's flag wins
    ({"JAXRL_CPU_DEVICES": "3"}, "jax.config.update('jax_num_cpu_devices', 2)\n", "2"),  # so does the user's config
    ({"JAXRL_CPU_DEVICES": "3"}, "jax.numpy.ones(1)\n", "1"),  # backends already up: left alone, no error
], ids=["default", "env-3", "env-1", "xla-flags", "jax-config", "jax-already-running"])
def test_import_sets_the_cpu_device_count_unless_it_is_fixed(extra_env, before, expected):
    out = devices_after_import(extra_env, before)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected


def test_an_invalid_device_count_stops_the_first_run_with_the_fix_not_the_import():
    code = ("import jaxrl\n"
            "try:\n    jaxrl.train('q_learning', 'FrozenLake-v1', steps=100, progress=False)\n"
            "except jaxrl.ConfigError as error:\n    print('refused:', error)\n")
    out = subprocess.run([sys.executable, "-c", code], env={**BASE_ENV, "JAXRL_CPU_DEVICES": "many"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr  # `import jaxrl` itself does not raise a traceback
    assert "refused: JAXRL_CPU_DEVICES='many' is not a positive integer" in out.stdout


def test_runs_are_sharded_over_the_largest_device_count_that_divides_them():
    code = (
        "import jax.numpy as jnp, jaxrl\n"
        "from jaxrl.train import _shard_runs\n"
        "for runs in (8, 6, 5, 1):\n"
        "    print(runs, len(getattr(_shard_runs(jnp.zeros(runs), runs), 'sharding').device_set))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env={**BASE_ENV, "JAXRL_CPU_DEVICES": "4"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:4] == ["8 4", "6 3", "5 1", "1 1"]


def test_the_test_process_itself_follows_the_variable_or_the_cores():
    import jax

    wanted = os.environ.get("JAXRL_CPU_DEVICES")
    forced = "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", "")
    if not forced:
        assert len(jax.devices("cpu")) == (int(wanted) if wanted else cpu_devices.available_cores())
