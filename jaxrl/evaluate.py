"""Vectorised evaluation: N full episodes per run, all runs and episodes in one program."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl import compilation
from jaxrl.compilation import cpu_compiler_options
from jaxrl.core.agent import Agent, carried_act, reset_carry
from jaxrl.errors import ConfigError
from jaxrl.core.rollout import VecEnv
from jaxrl.envs.wrappers import evaluation_env, host_stepped, success_fn
from jaxrl.stats import bootstrap_ci


@dataclasses.dataclass
class EvalResult:
    """Per-episode outcomes with leading run axes (e.g. ``[seeds, episodes]``)."""

    returns: np.ndarray
    lengths: np.ndarray
    successes: np.ndarray | None  # None where the env defines no goal

    @property
    def mean_return(self) -> float:
        return float(self.returns.mean())

    @property
    def std_return(self) -> float:
        return float(self.returns.std())

    @property
    def mean_length(self) -> float:
        return float(self.lengths.mean())

    @property
    def success_rate(self) -> float | None:
        return None if self.successes is None else float(self.successes.mean())

    def per_run(self) -> dict[str, np.ndarray]:
        """Means over episodes, one per run (seed)."""
        out = {"return": self.returns.mean(-1), "length": self.lengths.mean(-1)}
        if self.successes is not None:
            out["success_rate"] = self.successes.mean(-1)
        return out

    def summary(self) -> dict[str, float | None]:
        """Means over every episode, and the IQM of the runs' mean returns with its 95% bootstrap CI."""
        iqm_return, low, high = bootstrap_ci(self.per_run()["return"])
        return {
            "mean_return": self.mean_return,
            "std_return": self.std_return,
            "iqm_return": iqm_return,
            "iqm_ci95_low": low,
            "iqm_ci95_high": high,
            "success_rate": self.success_rate,
            "mean_length": self.mean_length,
        }


def episode_rollout(agent: Agent, params: Any, key: jax.Array, episodes: int, max_steps: int) -> tuple:
    """Run ``episodes`` envs until each finishes its first episode; pure and jittable. A recurrent
    agent's carry starts from its initial carry and is reset at every episode end. The env is
    ``evaluation_env(agent.env)``: Atari's without its training-only options."""
    venv = VecEnv(evaluation_env(agent.env), agent.env_params, episodes)
    reset_key, key = jax.random.split(key)
    obs, env_state = venv.reset(reset_key)
    initial, act_one = carried_act(agent)  # a feed-forward agent's carry is () and passes through
    act = jax.vmap(act_one, in_axes=(None, 0, 0, 0))
    hidden = jax.tree.map(lambda c: jnp.broadcast_to(c, (episodes,) + c.shape), initial)
    zeros = jnp.zeros(episodes, jnp.float32)
    carry = (obs, env_state, key, jnp.zeros(episodes, bool), zeros, zeros, jnp.zeros(episodes, bool), 0, hidden)

    def running(carry):
        finished, t = carry[3], carry[7]
        return jnp.logical_and(t < max_steps, ~jnp.all(finished))

    def step(carry):
        obs, env_state, key, finished, returns, lengths, successes, t, hidden = carry
        key, act_key, env_key = jax.random.split(key, 3)
        actions, hidden = act(params, hidden, obs, jax.random.split(act_key, episodes))
        env_state, out = venv.step(env_key, env_state, actions)
        hidden = reset_carry(initial, hidden, jnp.logical_or(out.terminated, out.truncated))
        info = out.info
        first_end = jnp.logical_and(info["episode_done"], ~finished)
        returns = jnp.where(first_end, info["episode_return"], returns)
        lengths = jnp.where(first_end, info["episode_length"].astype(jnp.float32), lengths)
        successes = jnp.where(first_end, info["episode_success"], successes)
        return out.obs, env_state, key, finished | first_end, returns, lengths, successes, t + 1, hidden

    carry = jax.lax.while_loop(running, step, carry)
    return carry[4], carry[5], carry[6]


def evaluate(
    target: Any,
    params: Any = None,
    *,
    episodes: int = 100,
    seed: int = 0,
    max_steps: int | None = None,
) -> EvalResult:
    """Evaluate the greedy/deterministic policy for ``episodes`` episodes per run.

    ``target`` is a ``TrainResult`` or a loaded run (all its runs are evaluated; arrays are
    ``run_shape + (episodes,)``: ``[seeds, episodes]``, or ``[settings, seeds, episodes]`` for a
    hyperparameter batch), or an ``Agent`` with ``params``
    (a single run's, or a batch with leading run axes given by ``params``'s first leaf vs one run).
    """
    if episodes < 1:
        raise ConfigError(f"episodes={episodes} must be >= 1")
    if isinstance(target, Agent):
        agent = target
        if params is None:
            raise ConfigError("evaluate(agent, params): pass the parameters to evaluate")
        run_shape = _run_shape(agent, params)
    else:  # a TrainResult or a LoadedRun
        agent = target.agent
        params = target.final_params if params is None else params
        run_shape = target.run_shape
    max_steps = int(max_steps or agent.env_params.max_steps_in_episode)
    num_runs = int(np.prod(run_shape)) if run_shape else 1
    flat = jax.tree.map(lambda x: x.reshape((num_runs,) + x.shape[len(run_shape):]), params)
    # Keyed by seed index, not run index: every setting of a batch meets the same episodes (common
    # random numbers, as in training), and a setting scores the same in a batch as alone.
    seed_index = jnp.arange(num_runs) % (run_shape[-1] if run_shape else 1)
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(seed), i))(seed_index)
    returns, lengths, successes = jax.device_get(_compiled_rollout(agent, episodes, max_steps)(flat, keys))
    shape = tuple(run_shape) + (episodes,)
    has_success = success_fn(agent.env) is not None
    return EvalResult(
        returns=np.asarray(returns).reshape(shape),
        lengths=np.asarray(lengths).reshape(shape),
        successes=np.asarray(successes).reshape(shape) if has_success else None,
    )


_ROLLOUTS: "OrderedDict[tuple[int, int, int], tuple[Agent, Any]]" = OrderedDict()


def _compiled_rollout(agent: Agent, episodes: int, max_steps: int) -> Any:
    """One jitted evaluation function per (agent, episodes, max_steps), so repeated calls reuse it.

    Keyed by the agent's identity; the cache holds the agent, so the id cannot be reused.
    """
    key = (id(agent), episodes, max_steps)
    if key not in _ROLLOUTS:
        one_run = lambda p, k: episode_rollout(agent, p, k, episodes, max_steps)  # noqa: E731
        options = cpu_compiler_options(compilation.EVAL_PROGRAM_LLVM_LEVEL)
        if host_stepped(agent.env):
            fn = jax.jit(lambda p, k: jax.lax.map(lambda run: one_run(*run), (p, k)), compiler_options=options)
        else:
            fn = jax.jit(jax.vmap(one_run), compiler_options=options)
        _ROLLOUTS[key] = (agent, fn)
        if len(_ROLLOUTS) > 32:
            _ROLLOUTS.popitem(last=False)
    return _ROLLOUTS[key][1]


def _run_shape(agent: Agent, params: Any) -> tuple[int, ...]:
    """Leading batch axes of ``params`` relative to one run's parameters."""
    single = jax.eval_shape(agent.init, jax.random.key(0), agent.hparams()).params
    leaf, single_leaf = jax.tree.leaves(params)[0], jax.tree.leaves(single)[0]
    return tuple(np.shape(leaf)[: np.ndim(leaf) - len(single_leaf.shape)])
