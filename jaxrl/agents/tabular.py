"""Tabular agents: Q-learning, SARSA, Expected SARSA and Dyna-Q.

One Q-table per seed, ``num_envs`` vectorised envs feeding it. Within a train_step the envs' transitions
update the table one after another, in env order, each target read from the table as updated so far:
exactly what a tutorial's one-transition-at-a-time loop would compute.

Targets (``discount = gamma * (1 - terminated)``; bootstrapping reads the *final* observation, so a
time-limit truncation bootstraps and only a true termination zeroes it):

* Q-learning:      r + discount * max_a Q(s', a)
* SARSA:           r + discount * Q(s', a'), a' the behaviour policy's next action at s'
                   (at an episode end, a fresh draw at the final observation)
* Expected SARSA:  r + discount * sum_a pi(a | s') Q(s', a), pi the behaviour policy
* Dyna-Q:          Q-learning, then ``planning_steps`` Q-learning updates on transitions replayed
                   from a learned model (the last outcome seen for each (s, a); sampled uniformly
                   among the pairs seen so far, in O(1) per sample).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import chex
import jax
import jax.numpy as jnp
from flax import struct

from jaxrl.core import exploration
from jaxrl.core.exploration import EpsilonSchedule, ExplorationKind, ScheduleUnit
from jaxrl.core.agent import Agent, describe_space, is_discrete
from jaxrl.core.hparams import hparam, resolve_config
from jaxrl.errors import ConfigError, check_choice
from jaxrl.core.rollout import VecEnv, episode_metrics
from jaxrl.core.targets import q_learning_target

RULES = ("q_learning", "sarsa", "expected_sarsa", "dyna_q")


# -- config and hyperparameters -------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TabularConfig:
    """Static choices: they fix the program's shape or structure."""

    num_envs: int = 1
    exploration: ExplorationKind = "epsilon_greedy"
    epsilon_schedule: EpsilonSchedule = "constant"
    schedule_unit: ScheduleUnit = "steps"  # what the epsilon schedule counts, per env
    planning_steps: int = 0  # Dyna-Q's model updates per real transition (the dyna_q variant: 10)
    count_states: bool = False  # count visits; learn from reward + count_bonus / sqrt(N(s'))


@struct.dataclass
class TabularHParams(exploration.ExplorationHParams):
    learning_rate: float = hparam(0.1, "step size alpha of the TD update", low=0, low_open=True)
    gamma: float = hparam(0.99, "discount factor", low=0, high=1)
    q_init: float = hparam(0.0, "initial value of every Q-table entry")


def _validate(rule: str, env: Any, env_params: Any, config: TabularConfig) -> None:
    obs_space, action_space = env.observation_space(env_params), env.action_space(env_params)
    if not (is_discrete(obs_space) and is_discrete(action_space)):
        raise ConfigError(
            f"{rule} is tabular: it needs discrete observations and actions, but {env.name} has "
            f"observations {describe_space(obs_space)} and actions {describe_space(action_space)}. "
            "Train it on a discrete env (FrozenLake-v1, Taxi-v3, CliffWalking-v0), or use a "
            "function-approximation agent for this env (`jaxrl algos` lists what is available)."
        )
    if config.num_envs < 1:
        raise ConfigError(f"num_envs={config.num_envs} must be >= 1")
    if rule == "dyna_q" and config.planning_steps < 1:
        raise ConfigError(f"dyna_q needs planning_steps >= 1, got {config.planning_steps}")
    if rule != "dyna_q" and config.planning_steps != 0:
        raise ConfigError(f"planning_steps is Dyna-Q's; use algorithm 'dyna_q' instead of {rule!r}")


# -- state ----------------------------------------------------------------------------------------
@struct.dataclass
class DynaModel:
    """The last outcome seen for each (s, a), and the list of pairs seen so far."""

    next_state: jax.Array  # [S, A] int32
    reward: jax.Array  # [S, A] float32
    terminated: jax.Array  # [S, A] bool
    seen: jax.Array  # [S, A] bool
    pairs: jax.Array  # [S * A] int32: flat s * A + a, in the order first seen
    num_pairs: jax.Array  # int32


@struct.dataclass
class TabularState:
    params: jax.Array  # the Q-table [S, A]
    hparams: TabularHParams
    env_state: Any
    obs: jax.Array  # [num_envs] int32
    action: jax.Array  # [num_envs] SARSA's next action, chosen one step ahead (unused by others)
    episodes: jax.Array  # [num_envs] completed episodes per env
    steps: jax.Array  # env steps per env so far
    key: jax.Array
    model: DynaModel | None
    counts: jax.Array | None  # visits per state (count_states)


# -- pure pieces ----------------------------------------------------------------------------------
def sarsa_target(r_t: jax.Array, discount_t: jax.Array, q_t: jax.Array, a_t: jax.Array) -> jax.Array:
    """r + discount * Q(s', a')."""
    chex.assert_rank([r_t, discount_t, q_t, a_t], [0, 0, 1, 0])
    return r_t + discount_t * q_t[a_t]


def expected_sarsa_target(r_t: jax.Array, discount_t: jax.Array, q_t: jax.Array, probs_t: jax.Array) -> jax.Array:
    """r + discount * sum_a pi(a | s') Q(s', a)."""
    chex.assert_rank([r_t, discount_t, q_t, probs_t], [0, 0, 1, 1])
    chex.assert_equal_shape((q_t, probs_t))
    return r_t + discount_t * probs_t @ q_t


def td_update(q: jax.Array, s: jax.Array, a: jax.Array, target: jax.Array, learning_rate: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``Q[s, a] += lr * (target - Q[s, a])``; returns the new table and the TD error."""
    chex.assert_rank([q, s, a, target], [2, 0, 0, 0])
    td_error = target - q[s, a]
    return q.at[s, a].add(learning_rate * td_error), td_error


def _model_add(model: DynaModel, num_actions: int, s, a, r, s_next, terminated) -> DynaModel:
    is_new = ~model.seen[s, a]
    slot = jnp.minimum(model.num_pairs, model.pairs.shape[0] - 1)
    pairs = model.pairs.at[slot].set(jnp.where(is_new, s * num_actions + a, model.pairs[slot]))
    return DynaModel(
        next_state=model.next_state.at[s, a].set(s_next),
        reward=model.reward.at[s, a].set(r),
        terminated=model.terminated.at[s, a].set(terminated),
        seen=model.seen.at[s, a].set(True),
        pairs=pairs,
        num_pairs=model.num_pairs + is_new.astype(jnp.int32),
    )


def _plan(q: jax.Array, model: DynaModel, key: jax.Array, hparams: TabularHParams, planning_steps: int) -> jax.Array:
    """Dyna-Q's planning: Q-learning updates on (s, a) drawn uniformly from the pairs seen."""
    num_actions = q.shape[1]

    def plan_once(i, q):
        index = jax.random.randint(jax.random.fold_in(key, i), (), 0, jnp.maximum(model.num_pairs, 1))
        s, a = jnp.divmod(model.pairs[index], num_actions)
        discount = hparams.gamma * (1.0 - model.terminated[s, a])
        target = q_learning_target(model.reward[s, a], discount, q[model.next_state[s, a]])
        return td_update(q, s, a, target, hparams.learning_rate)[0]

    return jax.lax.fori_loop(0, planning_steps, plan_once, q)


# -- the agent ------------------------------------------------------------------------------------
def make(env: Any, env_params: Any, config: TabularConfig | dict | None = None, *, name: str = "q_learning") -> Agent:
    """Build a tabular agent; its ``name`` is its update rule: q_learning, sarsa, expected_sarsa or dyna_q."""
    rule = name
    check_choice("rule", rule, RULES)
    config = resolve_config(TabularConfig, config, rule)
    _validate(rule, env, env_params, config)
    venv = VecEnv(env, env_params, config.num_envs)
    num_states = env.observation_space(env_params).n
    num_actions = env.action_space(env_params).n

    def counts(steps: jax.Array, episodes: jax.Array) -> jax.Array:
        return exploration.schedule_count(config.schedule_unit, steps, episodes)

    def epsilon(hparams: TabularHParams, count: jax.Array) -> jax.Array:
        return exploration.scheduled_epsilon(config.epsilon_schedule, count, hparams)

    def choose(key: jax.Array, q: jax.Array, obs: jax.Array, count: jax.Array, hparams: TabularHParams):
        """Behaviour-policy actions for every env at once: [num_envs]."""
        eps = jnp.broadcast_to(epsilon(hparams, count), (config.num_envs,))
        return exploration.behaviour_action(config.exploration, key, q[obs], eps, hparams.temperature), eps

    def init(key: jax.Array, hparams: TabularHParams) -> TabularState:
        env_key, action_key, key = jax.random.split(key, 3)
        q = jnp.full((num_states, num_actions), hparams.q_init, jnp.float32)
        obs, env_state = venv.reset(env_key)
        episodes = jnp.zeros(config.num_envs, jnp.int32)
        steps = jnp.zeros((), jnp.int32)
        action, _ = choose(action_key, q, obs, counts(steps, episodes), hparams)
        model = None
        if rule == "dyna_q":
            model = DynaModel(
                next_state=jnp.zeros((num_states, num_actions), jnp.int32),
                reward=jnp.zeros((num_states, num_actions), jnp.float32),
                terminated=jnp.zeros((num_states, num_actions), bool),
                seen=jnp.zeros((num_states, num_actions), bool),
                pairs=jnp.zeros(num_states * num_actions, jnp.int32),
                num_pairs=jnp.zeros((), jnp.int32),
            )
        visits = jnp.zeros(num_states, jnp.int32) if config.count_states else None
        return TabularState(q, hparams, env_state, obs, action, episodes, steps, key, model, visits)

    def target(q: jax.Array, r, discount, s_boot, a_boot, epsilon_next, hparams: TabularHParams) -> jax.Array:
        q_next = q[s_boot]
        if rule == "sarsa":
            return sarsa_target(r, discount, q_next, a_boot)
        if rule == "expected_sarsa":
            probs = exploration.behaviour_probs(config.exploration, q_next, epsilon_next, hparams.temperature)
            return expected_sarsa_target(r, discount, q_next, probs)
        return q_learning_target(r, discount, q_next)

    def train_step(state: TabularState) -> tuple[TabularState, dict]:
        hparams, q = state.hparams, state.params
        # As few RNG calls as the rule needs: each threefry call costs real time at this step size.
        key, act_key, env_key = jax.random.split(state.key, 3)
        count = counts(state.steps, state.episodes)
        if rule == "sarsa":
            actions, eps = state.action, epsilon(hparams, count)
        else:
            actions, eps = choose(act_key, q, state.obs, count, hparams)
        env_state, step = venv.step(env_key, state.env_state, actions)
        done = step.info["episode_done"]
        episodes = state.episodes + done.astype(jnp.int32)
        next_count = counts(state.steps + 1, episodes)
        epsilon_next = jnp.broadcast_to(epsilon(hparams, next_count), (config.num_envs,))
        if rule == "sarsa":
            # SARSA's a' is the action it takes next; at an episode end that action belongs to the
            # new episode, so the bootstrap uses a fresh draw at the final observation instead.
            next_key, boot_key = jax.random.split(act_key)  # SARSA's own act_key is unused
            next_actions, _ = choose(next_key, q, step.obs, next_count, hparams)
            final_actions, _ = choose(boot_key, q, step.final_obs, count, hparams)
            boot_actions = jnp.where(done, final_actions, next_actions)
        else:
            next_actions = boot_actions = actions
        discount = hparams.gamma * (1.0 - step.terminated.astype(jnp.float32))

        def update_one(q, transition):
            s, a, r, discount, s_boot, a_boot, eps_next = transition
            return td_update(q, s, a, target(q, r, discount, s_boot, a_boot, eps_next, hparams), hparams.learning_rate)

        reward, visits = step.reward, state.counts
        if config.count_states:  # the bonus of the state each action led to, this visit counted
            visits = visits.at[step.final_obs].add(1)
            reward = reward + exploration.count_bonus(visits, step.final_obs, hparams.count_bonus)
        transitions = (state.obs, actions, reward, discount, step.final_obs, boot_actions, epsilon_next)
        if config.num_envs == 1:  # skip the loop machinery for the common single-env case
            q, td_errors = update_one(q, jax.tree.map(lambda x: x[0], transitions))
        else:
            q, td_errors = jax.lax.scan(update_one, q, transitions)

        model = state.model
        if rule == "dyna_q":
            seen = (state.obs, actions, step.reward, step.final_obs, step.terminated)
            model, _ = jax.lax.scan(lambda m, t: (_model_add(m, num_actions, *t), None), model, seen)
            q = _plan(q, model, jax.random.fold_in(act_key, 1), hparams, config.planning_steps)

        metrics = {
            **episode_metrics(step.info),
            "td_error": jnp.abs(td_errors).mean(),
            "epsilon": jnp.mean(eps),
        }
        new_state = state.replace(
            params=q, env_state=env_state, obs=step.obs, action=next_actions,
            episodes=episodes, steps=state.steps + 1, key=key, model=model, counts=visits,
        )
        return new_state, metrics

    def act(params: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        """Greedy action for one observation, ties broken at random."""
        return exploration.greedy(key, params[jnp.asarray(obs, jnp.int32)])

    return Agent(
        name=rule,
        env=env,
        env_params=env_params,
        config=config,
        hparams_cls=TabularHParams,
        init=init,
        train_step=train_step,
        act=act,
        steps_per_update=config.num_envs,
    )

