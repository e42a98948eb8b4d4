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

from jaxrl import agents  # noqa: E402
from jaxrl.compilation import enable_compilation_cache  # noqa: E402
from jaxrl.core.agent import Agent  # noqa: E402
from jaxrl.errors import ConfigError  # noqa: E402
from jaxrl.envs import list_envs, make_env, register_env, register_gymnasium_env  # noqa: E402
from jaxrl.evaluate import EvalResult, evaluate  # noqa: E402
from jaxrl.runs import LoadedRun, RunSpec, load, train  # noqa: E402
from jaxrl.sweep import LogUniform, SweepResult, Uniform, sweep  # noqa: E402
from jaxrl.train import Policy, TrainResult  # noqa: E402

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
