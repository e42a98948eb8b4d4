"""What the value-based replay agents (the DQN family: DQN, C51, QR-DQN; Rainbow, PQN next) share:
their static parts and heads, the behaviour policy, env steps into the buffer, minibatch sampling
with n-step windows and priorities, the regression loss, the pairing of a distributional head's
outputs with its bootstrap target, and the target network's update.

Module-level pure functions over ``ValueParts`` (built once by an agent's ``make``) and a state
with the fields ``params``, ``target_params``, ``buffer``, ``hparams``, ``env_state``, ``obs``,
``steps``, ``episodes`` and ``counts`` (see ``jaxrl.agents.dqn.DQNState``). Before
``learning_starts`` env steps per seed the actions are uniformly random and updates are masked out.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxrl.core import exploration, optim
from jaxrl.core.buffers import ReplayBuffer, ReplayState, Sample
from jaxrl.core.networks import NOISE_RNG, ObsEncoding
from jaxrl.core.off_policy import Batch, Transition, learning_started
from jaxrl.core.rollout import VecEnv, episode_metrics
from jaxrl.core.targets import crossed_multiple, n_step_window


class Head(NamedTuple):
    """What one member of the DQN family learns, the rest being shared: its network's outputs per
    action, how they become action values, and its loss. DQN's head is one value per action and
    the TD regression (``jaxrl.agents.dqn.HEAD``); C51's and QR-DQN's are return distributions."""

    atoms: int  # network outputs per action: 0 one value (DQN), else C51's atoms or QR-DQN's quantiles
    values: Callable[[jax.Array, Any], jax.Array]  # (outputs [..., A(, atoms)], hparams) -> action values [..., A]
    # outputs -> scores whose argmax is the greedy action (the values, or an increasing affine map of
    # them that needs no hyperparameters: ``act`` sees only the params)
    greedy_scores: Callable[[jax.Array], jax.Array]
    # (params, target_params, parts, batch, weights, hparams, noise) -> (weighted loss, (per-sample errors,
    # mean Q(s, a))); |errors| + priority_eps become the sampled entries' priorities; ``noise`` an
    # ``UpdateNoise`` (NoisyNets) or None
    loss: Callable[..., tuple[jax.Array, tuple[jax.Array, jax.Array]]]
    error_metric: str  # the logged name of mean |errors|: "td_error", "cross_entropy", "quantile_loss"


class ValueParts(NamedTuple):
    """The static pieces of a value-based replay agent."""

    config: Any  # a ReplayConfig with DQNConfig's exploration and schedule fields
    venv: VecEnv
    encoding: ObsEncoding  # observations -> the network's input
    network: nn.Module  # the agent's network, applied to encoded observations
    buffer: ReplayBuffer
    count_table: exploration.CountTable | None  # the count-based bonus's table (or None: no bonus)
    head: Head | None = None  # what the network outputs and how it learns


def outputs(parts: ValueParts, params: Any, obs: Any, noise: jax.Array | None = None) -> jax.Array:
    """The network's outputs ``[..., num_actions(, atoms)]`` at observations (any leading axes);
    a noisy network (``exploration="noisy"``) draws its layers' noise from the key ``noise``, and is
    its mean network where ``noise`` is None (the greedy policy)."""
    rngs = None if noise is None else {NOISE_RNG: noise}
    return parts.network.apply(params, parts.encoding.encode(obs), rngs=rngs)


def q_values(parts: ValueParts, params: Any, obs: Any, hparams: Any = None,
             noise: jax.Array | None = None) -> jax.Array:
    """Action values ``[..., num_actions]`` of observations (any leading axes)."""
    return parts.head.values(outputs(parts, params, obs, noise), hparams)


def is_noisy(config: Any) -> bool:
    """NoisyNets exploration: the Q-network's dense layers are noisy."""
    return config.exploration == "noisy"


# fold_in constants: the noise keys come from the step's key without changing the draws of the
# other uses of it, so agents without noise keep their random streams (and results) bit for bit
_ACTING_NOISE, _ONLINE_NOISE, _TARGET_NOISE = 0x4E01, 0x4E02, 0x4E03


def acting_noise(config: Any, key: jax.Array) -> jax.Array | None:
    """The key of the online network's noise for one env step (None without NoisyNets)."""
    return jax.random.fold_in(key, _ACTING_NOISE) if is_noisy(config) else None


class UpdateNoise(NamedTuple):
    """Independent noise keys of the online and the target network for one update (NoisyNets)."""

    online: jax.Array
    target: jax.Array


def update_noise(config: Any, key: jax.Array) -> UpdateNoise | None:
    """Fresh, independent noise for the online and the target network of one update (as the paper
    does); None without NoisyNets."""
    if not is_noisy(config):
        return None
    return UpdateNoise(jax.random.fold_in(key, _ONLINE_NOISE), jax.random.fold_in(key, _TARGET_NOISE))


def _online(noise: UpdateNoise | None) -> jax.Array | None:
    return None if noise is None else noise.online


def _target(noise: UpdateNoise | None) -> jax.Array | None:
    return None if noise is None else noise.target


# -- acting ---------------------------------------------------------------------------------------
def behave(config: Any, state: Any, key: jax.Array, q_values: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Actions of the behaviour policy at ``q_values`` (of ``state.obs``) and the exploration rate
    to report: epsilon-greedy on the schedule, or Boltzmann, or greedy on the noisy network's
    values (NoisyNets: epsilon 0); uniform before learning starts."""
    warmup = ~learning_started(config, state.steps)
    if is_noisy(config):
        epsilon = jnp.where(warmup, 1.0, 0.0)
        return exploration.epsilon_greedy(key, q_values, epsilon), epsilon
    count = exploration.schedule_count(config.schedule_unit, state.steps, state.episodes)
    epsilon = jnp.where(warmup, 1.0, exploration.scheduled_epsilon(config.epsilon_schedule, count, state.hparams))
    if config.exploration == "boltzmann":
        actions = jnp.where(warmup, exploration.epsilon_greedy(key, q_values, 1.0),
                            exploration.boltzmann(jax.random.fold_in(key, 1), q_values, state.hparams.temperature))
        return actions, jnp.where(warmup, 1.0, 0.0)
    return exploration.epsilon_greedy(key, q_values, epsilon), epsilon


def env_step(parts: ValueParts, state: Any, key: jax.Array, q_values: jax.Array) -> tuple[Any, dict]:
    """One step of every env under the behaviour policy at ``q_values`` (of ``state.obs``); the
    transitions (reward plus any count bonus) go to the buffer."""
    act_key, env_key = jax.random.split(key)
    actions, epsilon = behave(parts.config, state, act_key, q_values)
    env_state, out = parts.venv.step(env_key, state.env_state, actions)
    reward = out.reward.astype(jnp.float32)
    counts = state.counts
    if parts.count_table is not None:
        index = jax.vmap(parts.count_table[1])(out.final_obs)
        counts = counts.at[index].add(1)
        reward = reward + exploration.count_bonus(counts, index, state.hparams.count_bonus)
    transition = Transition(state.obs, actions, reward, out.terminated, out.truncated, out.final_obs)
    buffer_state = parts.buffer.add(state.buffer, transition, state.hparams.priority_alpha)
    state = state.replace(
        env_state=env_state, obs=out.obs, buffer=buffer_state, counts=counts,
        steps=state.steps + parts.config.num_envs,
        episodes=state.episodes + out.info["episode_done"].sum().astype(jnp.int32),
    )
    return state, {**episode_metrics(out.info), "epsilon": epsilon}


# -- learning -------------------------------------------------------------------------------------
def minibatch(buffer: ReplayBuffer, buffer_state: ReplayState, sample: Sample, gamma: jax.Array) -> Batch:
    """The sampled entries, reduced over the buffer's n-step window (``buffer.window``) to one
    transition each: the discounted reward sum, ``gamma^m (1 - terminated)`` and the final
    observation of the window's last step."""
    data = buffer_state.data
    rows, envs = sample.rows, sample.envs
    obs, action = data.obs[rows, envs], data.action[rows, envs]
    if buffer.window == 1:
        discount = gamma * (1.0 - data.terminated[rows, envs].astype(jnp.float32))
        return Batch(obs, action, data.reward[rows, envs], discount, data.final_obs[rows, envs])
    window = buffer.window_of(buffer_state, (data.reward, data.terminated, data.truncated), rows, envs)
    reward, discount, last = jax.vmap(n_step_window, in_axes=(0, 0, 0, None))(*window, gamma)
    return Batch(obs, action, reward, discount, data.final_obs[(rows + last) % buffer.rows, envs])


def sample(parts: ValueParts, state: Any, key: jax.Array) -> tuple[Sample, Batch]:
    """A minibatch of ``batch_size`` entries; prioritised sampling's ``priority_beta`` is annealed
    linearly to 1 over the run."""
    hp = state.hparams
    beta = hp.priority_beta + (1.0 - hp.priority_beta) * optim.run_progress(state.steps, hp.total_steps)
    drawn = parts.buffer.sample(state.buffer, key, parts.config.batch_size, beta)
    return drawn, minibatch(parts.buffer, state.buffer, drawn, hp.gamma)


def update_priorities(parts: ValueParts, state: Any, drawn: Sample, td_error: jax.Array,
                      ready: jax.Array) -> ReplayState:
    """The sampled entries' priorities set to ``|TD error| + priority_eps`` (where ``ready``)."""
    hp = state.hparams
    return parts.buffer.update_priorities(state.buffer, drawn, jnp.abs(td_error) + hp.priority_eps,
                                          hp.priority_alpha, ready)


def distributional_pair(parts: ValueParts, params: Any, target_params: Any, batch: Batch,
                        hparams: Any, noise: UpdateNoise | None = None) -> tuple[jax.Array, jax.Array]:
    """A distributional head's outputs at the sampled ``(s, a)`` ``[batch, atoms]`` and the target
    network's at ``(s', a*)`` (held constant), ``a*`` the greedy action at ``s'`` by the target
    network's action values, or with ``double`` by the online network's (one pass of it over
    both observations, as DQN's Double target). NoisyNets: the online and the target network
    each with their own ``noise``."""
    config, head = parts.config, parts.head
    out_t = outputs(parts, target_params, batch.next_obs, _target(noise))
    if config.double:
        out_tm1 = outputs(parts, params, batch.obs, _online(noise))
        selector = head.values(outputs(parts, jax.lax.stop_gradient(params), batch.next_obs, _online(noise)), hparams)
    else:
        out_tm1, selector = outputs(parts, params, batch.obs, _online(noise)), head.values(out_t, hparams)
    a_t = jnp.argmax(jax.lax.stop_gradient(selector), axis=-1)
    out_t_a = jnp.take_along_axis(out_t, a_t[:, None, None], axis=1)[:, 0]
    out_tm1_a = jnp.take_along_axis(out_tm1, batch.action[:, None, None], axis=1)[:, 0]
    return out_tm1_a, jax.lax.stop_gradient(out_t_a)


def regression_loss(kind: str, td_error: jax.Array) -> jax.Array:
    """Per-sample loss of a TD error: ``"huber"`` (delta 1) or ``"mse"`` (0.5 x squared error)."""
    return optax.huber_loss(td_error) if kind == "huber" else 0.5 * td_error**2


def update_target(before: Any, state: Any) -> Any:
    """The target network's update, when the env steps crossed a multiple of its period
    (``target_update_period``; ``tau`` 1 a hard copy, else Polyak averaging)."""
    due = crossed_multiple(before.steps, state.steps, state.hparams.target_update_period)
    return state.replace(target_params=optim.periodic_soft_update(state.params, state.target_params, due,
                                                                  state.hparams.tau))
