"""jaxrl: JAX-accelerated, vectorised reinforcement learning.

    import jaxrl
    result = jaxrl.train("q_learning", env="FrozenLake-v1", seeds=32, steps=50_000,
                         env_kwargs={"is_slippery": False}, hparams={"learning_rate": 0.8})
    print(jaxrl.evaluate(result).summary())
"""

from jaxrl.cpu_devices import split_cpu_into_devices

split_cpu_into_devices()  # before gymnax's import initialises JAX's backends; see jaxrl/cpu_devices.py

from jaxrl.deferred_imports import defer_plotting_imports  # noqa: E402

defer_plotting_imports()  # gymnax's seaborn and pyplot load on first use; see jaxrl/deferred_imports.py

import sys
import types

# The public names load on first use (PEP 562), not at ``import jaxrl``: gymnax's import
# initialises JAX's backends, after which ``jax.distributed.initialize`` can no longer run. So
# ``import jaxrl; jax.distributed.initialize(...); jaxrl.train(...)`` works, and the CLI parses
# its --coordinator flags before anything touches a device.
_PUBLIC = {
    "agents": "jaxrl.agents",
    "enable_compilation_cache": "jaxrl.compilation",
    "Agent": "jaxrl.core.agent",
    "ConfigError": "jaxrl.errors",
    "list_envs": "jaxrl.envs", "make_env": "jaxrl.envs", "register_env": "jaxrl.envs",
    "register_gymnasium_env": "jaxrl.envs",
    "EvalResult": "jaxrl.evaluate", "evaluate": "jaxrl.evaluate",
    "LoadedRun": "jaxrl.runs", "RunSpec": "jaxrl.runs", "load": "jaxrl.runs", "train": "jaxrl.runs",
    "LogUniform": "jaxrl.sweep", "SweepResult": "jaxrl.sweep", "Uniform": "jaxrl.sweep", "sweep": "jaxrl.sweep",
    "Policy": "jaxrl.train", "TrainResult": "jaxrl.train",
}


class _Package(types.ModuleType):
    """jaxrl's module type: ``jaxrl.train`` and ``jaxrl.evaluate`` stay the functions when their
    submodules (the engine, the evaluator) are imported, which would otherwise rebind the names."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _PUBLIC and name != "agents" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    import importlib
    import importlib.util

    if name not in _PUBLIC:
        # a subpackage (jaxrl.presets, jaxrl.stats, ...), as before imports were lazy
        if name.startswith("_") or importlib.util.find_spec(f"{__name__}.{name}") is None:
            raise AttributeError(f"module 'jaxrl' has no attribute {name!r}")
        return importlib.import_module(f"{__name__}.{name}")
    module = importlib.import_module(_PUBLIC[name])
    value = module if name == "agents" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__version__ = "0.1.0"

__all__ = [
    "Agent",
    "ConfigError",
    "EvalResult",
    "LoadedRun",
    "LogUniform",
    "Policy",
    "RunSpec",
    "SweepResult",
    "TrainResult",
    "Uniform",
    "agents",
    "enable_compilation_cache",
    "evaluate",
    "list_envs",
    "load",
    "make_env",
    "register_env",
    "register_gymnasium_env",
    "sweep",
    "train",
]
