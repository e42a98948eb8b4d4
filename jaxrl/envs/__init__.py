"""Environments: the id registry, our JAX-native envs, and wrappers."""

from jaxrl.envs.registry import list_envs, make_env, register_env, register_gymnasium_env
from jaxrl.envs.wrappers import EpisodeStatistics, success_fn

__all__ = ["EpisodeStatistics", "list_envs", "make_env", "register_env", "register_gymnasium_env", "success_fn"]
