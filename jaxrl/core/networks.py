"""Networks (flax linen): MLP and MinAtar CNN torsos, actor-critic heads (feed-forward and
recurrent: flax's GRU and LSTM cells), orthogonal init.

Initialisation follows the PPO literature: orthogonal weights with gain sqrt(2) in the torso,
0.01 on the policy head (near-uniform initial policy) and 1.0 on the value head; zero biases.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Literal, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from gymnax.environments import spaces

from jaxrl.core.distributions import Categorical, DiagGaussian

Activation = Literal["tanh", "relu", "elu", "swish"]
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": nn.tanh, "relu": nn.relu, "elu": nn.elu, "swish": nn.swish,
}
Torso = Literal["mlp", "cnn", "auto"]  # "auto": cnn for image observations [H, W, C], else mlp


def dense(features: int, gain: float) -> nn.Dense:
    return nn.Dense(features, kernel_init=nn.initializers.orthogonal(gain), bias_init=nn.initializers.zeros)


class MLP(nn.Module):
    """Fully connected torso. An observation has ``obs_ndim`` axes (3 for an image frame): they are
    flattened into one, and any axes before them are batch axes."""

    hidden: Sequence[int]
    activation: str = "tanh"
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.reshape(x.shape[: x.ndim - self.obs_ndim] + (-1,))
        for width in self.hidden:
            x = ACTIVATIONS[self.activation](dense(width, math.sqrt(2.0))(x))
        return x


def image_patches(x: jax.Array, size: int) -> jax.Array:
    """``[..., H, W, C] -> [..., H, W, size*size*C]``: each pixel's zero-padded ``size x size``
    neighbourhood, row-major over the window, channels last (stride 1, "SAME" padding)."""
    pad = size // 2
    widths = [(0, 0)] * (x.ndim - 3) + [(pad, size - 1 - pad), (pad, size - 1 - pad), (0, 0)]
    padded = jnp.pad(x, widths)
    height, width = x.shape[-3], x.shape[-2]
    return jnp.concatenate(
        [padded[..., i : i + height, j : j + width, :] for i in range(size) for j in range(size)], axis=-1
    )


class PatchConv(nn.Module):
    """A stride-1 "SAME" convolution computed as image patches times the kernel.

    The same function and parameters (``kernel [size, size, C, features]``, ``bias``) as
    ``nn.Conv``, but as one matrix product: XLA:CPU runs ``nn.Conv``'s gradient 10-40x slower
    inside the loops of a training step than this (measured in BENCHMARKS.md), and on
    accelerators the difference is negligible at MinAtar's 10x10 frames.
    """

    features: int
    size: int = 3
    kernel_init: Callable = nn.initializers.orthogonal(math.sqrt(2.0))

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        channels = x.shape[-1]
        kernel = self.param("kernel", self.kernel_init, (self.size, self.size, channels, self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        flat = kernel.reshape(self.size * self.size * channels, self.features)
        return image_patches(x, self.size) @ flat + bias


class MinAtarCNN(nn.Module):
    """A 3x3 convolution (16 filters) and a dense layer, for [10, 10, C] MinAtar frames."""

    hidden: Sequence[int] = (128,)
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = PatchConv(16, 3)(x.astype(jnp.float32))
        x = ACTIVATIONS[self.activation](x)
        x = x.reshape(x.shape[:-3] + (-1,))
        for width in self.hidden:
            x = ACTIVATIONS[self.activation](dense(width, math.sqrt(2.0))(x))
        return x


class ObsEncoding(NamedTuple):
    """How an env's observations reach a network: discrete ones one-hot, others as float32."""

    shape: tuple[int, ...]  # one network input
    torso: str  # "mlp" | "cnn" ("auto" resolved)
    categories: int | None  # discrete observations: the one-hot size

    def encode(self, obs: Any) -> jax.Array:
        """Observations (any leading axes) as the network's float32 input."""
        if self.categories is not None:
            return jax.nn.one_hot(obs, self.categories, dtype=jnp.float32)
        return jnp.asarray(obs, jnp.float32)


def obs_encoding(obs_space: Any, torso: str = "auto") -> ObsEncoding:
    """The encoding of ``obs_space``; ``torso="auto"`` is "cnn" for image observations [H, W, C]."""
    categories = obs_space.n if isinstance(obs_space, spaces.Discrete) else None
    shape = (categories,) if categories is not None else tuple(obs_space.shape)
    if torso == "auto":
        torso = "cnn" if len(shape) == 3 else "mlp"
    return ObsEncoding(shape, torso, categories)


def make_torso(kind: str, hidden: Sequence[int], activation: str, obs_ndim: int = 1) -> nn.Module:
    """``kind`` "cnn" (MinAtar frames) or "mlp" over observations of ``obs_ndim`` axes."""
    if kind == "cnn":
        return MinAtarCNN(hidden=tuple(hidden), activation=activation)
    return MLP(hidden=tuple(hidden), activation=activation, obs_ndim=obs_ndim)


class ActorCritic(nn.Module):
    """Policy distribution and state value from one observation (vmap/batch freely).

    ``num_actions`` for a categorical policy, else ``action_dim`` for a Gaussian with a learned,
    state-independent log-std. ``shared`` uses one torso for both heads.
    """

    hidden: Sequence[int]
    activation: str = "tanh"
    torso: str = "mlp"  # "mlp" | "cnn"
    shared: bool = False
    num_actions: int | None = None
    action_dim: int | None = None
    log_std_init: float = 0.0
    obs_ndim: int = 1  # axes of one observation

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[Categorical | DiagGaussian, jax.Array]:
        torso = lambda: make_torso(self.torso, self.hidden, self.activation, self.obs_ndim)  # noqa: E731
        actor_torso = torso()
        critic_torso = actor_torso if self.shared else torso()
        actor_features = actor_torso(obs)
        critic_features = actor_features if self.shared else critic_torso(obs)
        value = dense(1, 1.0)(critic_features)[..., 0]
        if self.num_actions is not None:
            return Categorical(dense(self.num_actions, 0.01)(actor_features)), value
        mean = dense(self.action_dim, 0.01)(actor_features)
        log_std = self.param("log_std", nn.initializers.constant(self.log_std_init), (self.action_dim,))
        return DiagGaussian(mean, log_std), value


Recurrent = Literal["none", "gru", "lstm"]  # the recurrent cell of an on-policy agent ("none": feed-forward)


def recurrent_cell(kind: str, size: int) -> nn.RNNCellBase:
    """flax's cell of ``kind`` ("gru" or "lstm") with ``size`` units."""
    if kind == "gru":
        return nn.GRUCell(features=size)
    if kind == "lstm":
        return nn.OptimizedLSTMCell(features=size)
    raise ValueError(f"unknown recurrent cell {kind!r}")


def initial_carry(kind: str, size: int) -> Any:
    """The cell's initial (zero) carry for one stream: ``[size]`` for a GRU, ``(c, h)`` for an LSTM."""
    return recurrent_cell(kind, size).initialize_carry(jax.random.key(0), (size,))


class RecurrentActorCritic(nn.Module):
    """One step of a recurrent policy and value: ``(carry, obs) -> (carry', (distribution, value))``.

    The observation goes through the torso (``hidden``), then the cell (``cell``: "gru" | "lstm",
    ``size`` units); both heads read the cell's output. The torso and cell are always shared;
    ``shared=False`` gives each head a hidden layer of its own (width ``hidden[-1]``). Leading
    axes of ``obs`` and ``carry`` are batch axes (vmap or batch freely). Resetting the carry at
    episode ends is the caller's (``jaxrl.core.actor_critic``).
    """

    hidden: Sequence[int]
    cell: str = "gru"
    size: int = 64
    activation: str = "tanh"
    torso: str = "mlp"  # "mlp" | "cnn"
    shared: bool = True
    num_actions: int | None = None
    action_dim: int | None = None
    log_std_init: float = 0.0
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, carry: Any, obs: jax.Array) -> tuple[Any, tuple[Categorical | DiagGaussian, jax.Array]]:
        features = make_torso(self.torso, self.hidden, self.activation, self.obs_ndim)(obs)
        carry, features = recurrent_cell(self.cell, self.size)(carry, features)
        actor_features = critic_features = features
        if not self.shared:
            head = lambda: dense(self.hidden[-1], math.sqrt(2.0))  # noqa: E731
            actor_features = ACTIVATIONS[self.activation](head()(features))
            critic_features = ACTIVATIONS[self.activation](head()(features))
        value = dense(1, 1.0)(critic_features)[..., 0]
        if self.num_actions is not None:
            return carry, (Categorical(dense(self.num_actions, 0.01)(actor_features)), value)
        mean = dense(self.action_dim, 0.01)(actor_features)
        log_std = self.param("log_std", nn.initializers.constant(self.log_std_init), (self.action_dim,))
        # Broadcast: a sequence re-run (lax.scan over time) stacks it with the mean.
        return carry, (DiagGaussian(mean, jnp.broadcast_to(log_std, mean.shape)), value)


class QNetwork(nn.Module):
    """Action values ``[..., num_actions]`` from one observation (or a batch); with ``atoms`` > 0,
    a distributional head: ``[..., num_actions, atoms]`` outputs per observation (C51's logits
    over a fixed support, QR-DQN's quantile values).

    ``dueling``: separate value and advantage streams after the torso, combined as
    ``V(s) + A(s, a) - mean_a A(s, a)`` (Wang et al. 2016; atom by atom for a distributional head,
    as Rainbow combines its logits). Heads use orthogonal gain 1.
    """

    num_actions: int
    hidden: Sequence[int] = (64, 64)
    activation: str = "relu"
    torso: str = "mlp"  # "mlp" | "cnn"
    dueling: bool = False
    obs_ndim: int = 1  # axes of one observation
    atoms: int = 0  # 0: one value per action; else outputs per action of a distributional head

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        features = make_torso(self.torso, self.hidden, self.activation, self.obs_ndim)(obs)
        if self.atoms:
            shape = features.shape[:-1] + (self.num_actions, self.atoms)
            if not self.dueling:
                return dense(self.num_actions * self.atoms, 1.0)(features).reshape(shape)
            value = dense(self.atoms, 1.0)(features)[..., None, :]
            advantage = dense(self.num_actions * self.atoms, 1.0)(features).reshape(shape)
            return value + advantage - advantage.mean(axis=-2, keepdims=True)
        if not self.dueling:
            return dense(self.num_actions, 1.0)(features)
        value = dense(1, 1.0)(features)
        advantage = dense(self.num_actions, 1.0)(features)
        return value + advantage - advantage.mean(axis=-1, keepdims=True)


# -- continuous control: actors in [-1, 1], critics on (observation, action) ------------------------
class DeterministicActor(nn.Module):
    """``tanh`` of an MLP: an action in [-1, 1]^action_dim (scaled to the env's bounds outside)."""

    action_dim: int
    hidden: Sequence[int] = (256, 256)
    activation: str = "relu"

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        features = MLP(self.hidden, self.activation)(obs)
        return jnp.tanh(dense(self.action_dim, 0.01)(features))


class SquashedGaussianActor(nn.Module):
    """Mean and log-std of a Gaussian over pre-squash actions (``tanh`` maps samples into [-1, 1]).
    The log-std is state-dependent and bounded to [log_std_min, log_std_max] smoothly."""

    action_dim: int
    hidden: Sequence[int] = (256, 256)
    activation: str = "relu"
    log_std_min: float = -5.0
    log_std_max: float = 2.0

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        features = MLP(self.hidden, self.activation)(obs)
        mean = dense(self.action_dim, 0.01)(features)
        log_std = jnp.tanh(dense(self.action_dim, 0.01)(features))
        log_std = self.log_std_min + 0.5 * (self.log_std_max - self.log_std_min) * (log_std + 1.0)
        return mean, log_std


class Critic(nn.Module):
    """Q(s, a): an MLP on the concatenated observation (flattened) and action."""

    hidden: Sequence[int] = (256, 256)
    activation: str = "relu"

    @nn.compact
    def __call__(self, obs: jax.Array, action: jax.Array) -> jax.Array:
        obs = obs.reshape(obs.shape[: action.ndim - 1] + (-1,))
        x = jnp.concatenate([obs, action], axis=-1)
        return dense(1, 1.0)(MLP(self.hidden, self.activation)(x))[..., 0]


class CriticEnsemble(nn.Module):
    """``num_critics`` independent critics in one module: values ``[num_critics, ...]``
    (TD3's and SAC's twin critics are ``num_critics=2``; DDPG's single critic is 1)."""

    num_critics: int = 2
    hidden: Sequence[int] = (256, 256)
    activation: str = "relu"

    @nn.compact
    def __call__(self, obs: jax.Array, action: jax.Array) -> jax.Array:
        ensemble = nn.vmap(
            Critic, variable_axes={"params": 0}, split_rngs={"params": True}, in_axes=None,
            out_axes=0, axis_size=self.num_critics,
        )
        return ensemble(self.hidden, self.activation)(obs, action)
