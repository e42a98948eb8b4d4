"""jaxrl: JAX-accelerated, vectorised reinforcement learning.

    import jaxrl
    result = jaxrl.train("q_learning", env="FrozenLake-v1", seeds=32, steps=50_000,
                         env_kwargs={"is_slippery": False}, hparams={"learning_rate": 0.8})
    print(jaxrl.evaluate(result).summary())
"""

from jaxrl import agents
from jaxrl.compilation import enable_compilation_cache
from jaxrl.core.agent import Agent
from jaxrl.core.hparams import ConfigError
from jaxrl.envs import list_envs, make_env, register_env
from jaxrl.evaluate import EvalResult, evaluate
from jaxrl.io.run_dir import LoadedRun, load
from jaxrl.sweep import LogUniform, SweepResult, Uniform, sweep
from jaxrl.train import Policy, TrainResult, train

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "ConfigError",
    "EvalResult",
    "LoadedRun",
    "LogUniform",
    "Policy",
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
    "sweep",
    "train",
]
