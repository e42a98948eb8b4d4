"""Networks (flax linen): MLP, MinAtar CNN and Nature (Atari) CNN torsos, actor-critic heads (feed-forward and
recurrent: flax's GRU and LSTM cells, whose parameters a sequence re-run takes as fused maps with the
input products hoisted out of the time loop), orthogonal init, and NoisyNets' factorised Gaussian noisy layers.

Initialisation follows the PPO literature: orthogonal weights with gain sqrt(2) in the torso,
0.01 on the policy head (near-uniform initial policy) and 1.0 on the value head; zero biases.
Torsos take ``layer_norm`` (default off): a LayerNorm after each hidden layer's linear map,
before its activation (PQN's network, Gallici et al. 2024).
Noisy layers use the NoisyNets paper's initialisation instead (see ``NoisyDense``).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Callable, Literal, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_batching import custom_vmap
from gymnax.environments import spaces

from jaxrl.core.agent import reset_carry
from jaxrl.core.distributions import Categorical, DiagGaussian

Activation = Literal["tanh", "relu", "elu", "swish"]
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": nn.tanh, "relu": nn.relu, "elu": nn.elu, "swish": nn.swish,
}
# "auto": nature_cnn for image observations [H, W, C] of at least 36x36 pixels (Atari's 84x84 frames),
# cnn for smaller ones (MinAtar's 10x10), else mlp
Torso = Literal["mlp", "cnn", "nature_cnn", "auto"]
NATURE_CNN_MIN_SIZE = 36  # the smallest frame the Nature CNN's three "VALID" convolutions take


@custom_vmap
def _qr(z: jax.Array) -> tuple[jax.Array, jax.Array]:
    return tuple(jnp.linalg.qr(z))


@_qr.def_vmap
def _qr_one_matrix_at_a_time(axis_size: int, in_batched: list[bool], z: jax.Array) -> tuple[Any, Any]:
    """A batch of QRs as unbatched ones in sequence. jaxlib's batched LAPACK QR splits its batch
    into tasks on XLA's intra-op thread pool and waits for them; two batched QRs at once (a critic
    ensemble's, several runs per device) can hold every thread of a 2-core machine's pool, and the
    init hung for good (BENCHMARKS.md, session 19). LAPACK computes each matrix bit for bit alike."""
    (batched,) = in_batched
    z = z if batched else jnp.broadcast_to(z, (axis_size,) + z.shape)
    return jax.lax.map(_qr, z), (True, True)


def orthogonal(scale: float = 1.0, column_axis: int = -1) -> Callable[..., jax.Array]:
    """``jax.nn.initializers.orthogonal`` (the same values, bit for bit), its QR never batched."""
    def init(key: jax.Array, shape: Sequence[int], dtype: Any = jnp.float32) -> jax.Array:
        n_rows, n_cols = math.prod(shape) // shape[column_axis], shape[column_axis]
        z = jax.random.normal(key, (max(n_rows, n_cols), min(n_rows, n_cols)), dtype)
        q, r = _qr(z)
        q = q * jnp.expand_dims(jnp.sign(jnp.linalg.diagonal(r)), -2)
        q = q.mT if n_rows < n_cols else q
        q = jnp.moveaxis(jnp.reshape(q, tuple(np.delete(shape, column_axis)) + (shape[column_axis],)), -1, column_axis)
        return jnp.array(scale, dtype) * q

    return init


def dense(features: int, gain: float) -> "Dense":
    return Dense(features, gain)


def normalized(x: jax.Array, layer_norm: bool) -> jax.Array:
    """``x`` through a LayerNorm (learned scale and bias) when ``layer_norm``, else unchanged;
    call it inside a compact module."""
    return nn.LayerNorm()(x) if layer_norm else x


# -- NoisyNets (Fortunato et al. 2018, "Noisy Networks for Exploration") ---------------------------
NOISE_RNG = "noise"  # the flax RNG stream that switches noisy layers on: apply(..., rngs={NOISE_RNG: key})
NOISE_SCALE_LEAVES = ("sigma_kernel", "sigma_bias")  # the noise scales, scaled by sigma0 after init


def scaled_noise(x: jax.Array) -> jax.Array:
    """NoisyNets' ``f(x) = sgn(x) sqrt(|x|)`` of factorised noise."""
    return jnp.sign(x) * jnp.sqrt(jnp.abs(x))


def factorised_noise(key: jax.Array, fan_in: int, features: int) -> tuple[jax.Array, jax.Array]:
    """``(f(eps_in) [fan_in], f(eps_out) [features])`` for standard normal ``eps``: the kernel's
    noise is their outer product, the bias's ``f(eps_out)``."""
    in_key, out_key = jax.random.split(key)
    return (scaled_noise(jax.random.normal(in_key, (fan_in,))),
            scaled_noise(jax.random.normal(out_key, (features,))))


def _uniform_fan_in(key: jax.Array, shape: tuple[int, ...], fan_in: int) -> jax.Array:
    bound = 1.0 / math.sqrt(fan_in)
    return jax.random.uniform(key, shape, jnp.float32, -bound, bound)


class NoisyDense(nn.Module):
    """A factorised Gaussian noisy linear layer: ``y = x (mu_w + sigma_w * f(eps_in) f(eps_out)^T)
    + mu_b + sigma_b * f(eps_out)``, fresh ``eps`` per call, drawn from the ``"noise"`` RNG stream;
    without that stream (``act``, evaluation) the layer is its mean, ``x mu_w + mu_b``.

    ``mu`` is initialised ``U[-1/sqrt(fan_in), 1/sqrt(fan_in)]`` and ``sigma`` ``1/sqrt(fan_in)``:
    the agent multiplies the sigma leaves by its traced ``noisy_sigma0`` (``scale_noise``), so the
    paper's ``sigma0/sqrt(fan_in)`` is a hyperparameter that one program vmaps over.
    """

    features: int

    def __call__(self, x: jax.Array) -> jax.Array:
        kernel, bias = self.weights(x.shape[-1])
        return x @ kernel + bias

    @nn.compact
    def weights(self, fan_in: int) -> tuple[jax.Array, jax.Array]:
        """The kernel ``[fan_in, features]`` and bias this call applies: the mean's, or noisy ones.

        One noise draw serves the whole batch, so the noisy weights are formed once (O(fan_in
        features)) and the batch takes one product, as the mean network does; ((x * e_in) sigma_w)
        * e_out would double the layer's products, forward and backward (NoisyNets cost C51 2.1x
        on MinAtar so, 1.38x now)."""
        kernel = self.param("kernel", lambda k, s: _uniform_fan_in(k, s, fan_in), (fan_in, self.features))
        bias = self.param("bias", lambda k, s: _uniform_fan_in(k, s, fan_in), (self.features,))
        sigma_kernel = self.param("sigma_kernel", nn.initializers.constant(1.0 / math.sqrt(fan_in)),
                                  (fan_in, self.features))
        sigma_bias = self.param("sigma_bias", nn.initializers.constant(1.0 / math.sqrt(fan_in)), (self.features,))
        if not self.has_rng(NOISE_RNG):
            return kernel, bias
        noise_in, noise_out = factorised_noise(self.make_rng(NOISE_RNG), fan_in, self.features)
        return kernel + sigma_kernel * jnp.outer(noise_in, noise_out), bias + sigma_bias * noise_out


def scale_noise(params: Any, sigma0: jax.Array | float) -> Any:
    """``params`` with every noisy layer's sigma leaves multiplied by ``sigma0``."""
    def scale(path: tuple, leaf: jax.Array) -> jax.Array:
        name = getattr(path[-1], "key", None)
        return leaf * jnp.asarray(sigma0, leaf.dtype) if name in NOISE_SCALE_LEAVES else leaf
    return jax.tree_util.tree_map_with_path(scale, params)


def linear(features: int, gain: float, noisy: bool = False) -> nn.Module:
    """A dense layer: orthogonal with ``gain``, or a ``NoisyDense`` where ``noisy`` (either reads its ``weights``)."""
    return NoisyDense(features) if noisy else dense(features, gain)


class Dense(nn.Module):
    """A dense layer with orthogonal init of ``gain`` and zero bias (``nn.Dense``'s parameters,
    names and values), whose ``weights`` can be read without applying it, as ``NoisyDense``'s:
    the dueling head folds its two streams' weights into one."""

    features: int
    gain: float = 1.0

    def __call__(self, x: jax.Array) -> jax.Array:
        kernel, bias = self.weights(x.shape[-1])
        return x @ kernel + bias

    @nn.compact
    def weights(self, fan_in: int) -> tuple[jax.Array, jax.Array]:
        return (self.param("kernel", orthogonal(self.gain), (fan_in, self.features)),
                self.param("bias", nn.initializers.zeros, (self.features,)))


def dueling_weights(value: tuple[jax.Array, jax.Array], advantage: tuple[jax.Array, jax.Array],
                    num_actions: int) -> tuple[jax.Array, jax.Array]:
    """One affine map equal to the dueling combination ``V + A - mean_a A`` of two linear streams
    on the same features: ``value`` ``(kernel [F, atoms], bias [atoms])`` and ``advantage``
    ``(kernel [F, num_actions * atoms], bias)`` give ``(kernel [F, num_actions * atoms], bias)``,
    atom by atom (atoms 1 for a scalar head). The combination is linear in the features, so the
    batch takes one product instead of two and no per-sample mean over actions."""
    def fold(v: jax.Array, a: jax.Array) -> jax.Array:
        a = a.reshape(a.shape[:-1] + (num_actions, -1))
        return (v[..., None, :] + a - a.mean(axis=-2, keepdims=True)).reshape(a.shape[:-2] + (-1,))

    return fold(value[0], advantage[0]), fold(value[1], advantage[1])


class MLP(nn.Module):
    """Fully connected torso. An observation has ``obs_ndim`` axes (3 for an image frame): they are
    flattened into one, and any axes before them are batch axes."""

    hidden: Sequence[int]
    activation: str = "tanh"
    obs_ndim: int = 1
    layer_norm: bool = False  # LayerNorm between each layer's linear map and its activation
    noisy: bool = False  # NoisyDense layers

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.reshape(x.shape[: x.ndim - self.obs_ndim] + (-1,))
        for width in self.hidden:
            x = ACTIVATIONS[self.activation](normalized(linear(width, math.sqrt(2.0), self.noisy)(x), self.layer_norm))
        return x


def image_patches(x: jax.Array, size: int, stride: int = 1, padding: str = "SAME") -> jax.Array:
    """``[..., H, W, C] -> [..., OH, OW, size*size*C]``: each output pixel's ``size x size`` input
    window (``padding`` "SAME": zero-padded, stride 1; "VALID": inside the frame, any ``stride``).

    A window's entries are ordered (a, b, p, q, c) for the kernel row ``stride*a + p`` and column
    ``stride*b + q`` (row-major over the window, channels last, when ``stride`` is 1; see
    ``patch_kernel``). A strided window is cut from a space-to-depth view of the frame (each
    ``stride x stride`` block of pixels one pixel of ``stride*stride*C`` channels): the windows are
    then ``ceil(size/stride)**2`` unstrided slices, cheap to take and to differentiate.
    """
    if padding == "SAME":
        if stride != 1:
            raise ValueError("image_patches: SAME padding is stride 1 only")
        pad = size // 2
        x = jnp.pad(x, [(0, 0)] * (x.ndim - 3) + [(pad, size - 1 - pad), (pad, size - 1 - pad), (0, 0)])
    blocks = -(-size // stride)  # window rows (and columns) of stride x stride blocks
    height, width, channels = x.shape[-3:]
    out_h, out_w = (height - size) // stride + 1, (width - size) // stride + 1
    rows, cols = (out_h - 1 + blocks) * stride, (out_w - 1 + blocks) * stride
    lead = x.shape[:-3]
    x = jnp.pad(x[..., :rows, :cols, :], [(0, 0)] * len(lead) + [(0, max(0, rows - height)), (0, max(0, cols - width)), (0, 0)])
    x = x.reshape(lead + (rows // stride, stride, cols // stride, stride, channels))
    x = jnp.swapaxes(x, -4, -3).reshape(lead + (rows // stride, cols // stride, stride * stride * channels))
    return jnp.concatenate([x[..., a : a + out_h, b : b + out_w, :] for a in range(blocks) for b in range(blocks)], axis=-1)


def patch_kernel(kernel: jax.Array, stride: int = 1) -> jax.Array:
    """An ``nn.Conv`` kernel ``[size, size, C, F]`` as the matrix ``[window, F]`` that multiplies
    ``image_patches(x, size, stride)`` (rows in its (a, b, p, q, c) order; window rows the
    stride does not fill are zero)."""
    size, _, channels, features = kernel.shape
    blocks = -(-size // stride)
    extra = blocks * stride - size
    kernel = jnp.pad(kernel, [(0, extra), (0, extra), (0, 0), (0, 0)])
    kernel = kernel.reshape(blocks, stride, blocks, stride, channels, features).transpose(0, 2, 1, 3, 4, 5)
    return kernel.reshape(blocks * blocks * stride * stride * channels, features)


class PatchConv(nn.Module):
    """A convolution computed as image patches times the kernel (``image_patches``).

    The same function and parameters (``kernel [size, size, C, features]``, ``bias``) as
    ``nn.Conv(features, (size, size), (stride, stride), padding)``, but as one matrix product:
    XLA:CPU runs ``nn.Conv``'s gradient 10-50x slower inside the loops of a training step than
    this (BENCHMARKS.md: MinAtar's 3x3 convolution, and the Nature CNN's gradient on 256 Atari
    frames, 6.6 s against 0.12 s); on accelerators the two are alike.
    """

    features: int
    size: int = 3
    stride: int = 1
    padding: Literal["SAME", "VALID"] = "SAME"
    kernel_init: Callable = orthogonal(math.sqrt(2.0))

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        channels = x.shape[-1]
        kernel = self.param("kernel", self.kernel_init, (self.size, self.size, channels, self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        return image_patches(x, self.size, self.stride, self.padding) @ patch_kernel(kernel, self.stride) + bias


class MinAtarCNN(nn.Module):
    """A 3x3 convolution (16 filters) and a dense layer, for [10, 10, C] MinAtar frames
    (``noisy``: NoisyDense dense layers; the convolution stays deterministic, as in NoisyNets)."""

    hidden: Sequence[int] = (128,)
    activation: str = "relu"
    layer_norm: bool = False  # LayerNorm before each activation (over the conv's features per pixel)
    noisy: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = PatchConv(16, 3)(x.astype(jnp.float32))
        x = ACTIVATIONS[self.activation](normalized(x, self.layer_norm))
        x = x.reshape(x.shape[:-3] + (-1,))
        for width in self.hidden:
            x = ACTIVATIONS[self.activation](normalized(linear(width, math.sqrt(2.0), self.noisy)(x), self.layer_norm))
        return x


class NatureCNN(nn.Module):
    """The Nature DQN torso (Mnih et al. 2015) for [84, 84, 4] Atari frames: convolutions of 32 8x8
    filters stride 4, 64 4x4 stride 2, 64 3x3 stride 1 ("VALID" padding), then a dense layer of
    512, ReLU after each. Pixels (0-255, uint8 or float) are scaled by 1/255 first.

    The architecture is the paper's: a config's ``hidden`` and ``activation`` do not change it
    (``noisy``: a NoisyDense dense layer; ``layer_norm``: a LayerNorm before each ReLU).
    Orthogonal weights with gain sqrt(2), as every torso here. The convolutions are
    ``PatchConv``s named as ``nn.Conv``'s would be (``Conv_0``..``Conv_2``, the same parameters):
    XLA:CPU differentiates ``nn.Conv`` about 50x more slowly.
    """

    layer_norm: bool = False
    noisy: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.astype(jnp.float32) / 255.0
        batch = x.shape[:-3]
        x = x.reshape((-1,) + x.shape[-3:])
        for i, (features, size, stride) in enumerate(((32, 8, 4), (64, 4, 2), (64, 3, 1))):
            x = PatchConv(features, size, stride, "VALID", name=f"Conv_{i}")(x)
            x = nn.relu(normalized(x, self.layer_norm))
        x = x.reshape(batch + (-1,))
        return nn.relu(normalized(linear(512, math.sqrt(2.0), self.noisy)(x), self.layer_norm))


class ObsEncoding(NamedTuple):
    """How an env's observations reach a network: discrete ones one-hot, others as float32."""

    shape: tuple[int, ...]  # one network input
    torso: str  # "mlp" | "cnn" | "nature_cnn" ("auto" resolved)
    categories: int | None  # discrete observations: the one-hot size

    def encode(self, obs: Any) -> jax.Array:
        """Observations (any leading axes) as the network's float32 input."""
        if self.categories is not None:
            return jax.nn.one_hot(obs, self.categories, dtype=jnp.float32)
        return jnp.asarray(obs, jnp.float32)


def obs_encoding(obs_space: Any, torso: str = "auto") -> ObsEncoding:
    """The encoding of ``obs_space``; ``torso="auto"`` is "nature_cnn" for image observations
    [H, W, C] of at least 36x36 pixels (Atari's), "cnn" for smaller ones (MinAtar's), else "mlp"."""
    categories = obs_space.n if isinstance(obs_space, spaces.Discrete) else None
    shape = (categories,) if categories is not None else tuple(obs_space.shape)
    if torso == "auto":
        torso = "mlp" if len(shape) != 3 else "nature_cnn" if min(shape[:2]) >= NATURE_CNN_MIN_SIZE else "cnn"
    return ObsEncoding(shape, torso, categories)


def make_torso(kind: str, hidden: Sequence[int], activation: str, obs_ndim: int = 1, noisy: bool = False,
               layer_norm: bool = False) -> nn.Module:
    """``kind`` "cnn" (MinAtar frames), "nature_cnn" (Atari frames; fixed layers: ``hidden`` and
    ``activation`` unused) or "mlp" over observations of ``obs_ndim`` axes; ``noisy``: its dense
    layers are NoisyDense; ``layer_norm``: a LayerNorm before each activation."""
    if kind == "nature_cnn":
        return NatureCNN(noisy=noisy, layer_norm=layer_norm)
    if kind == "cnn":
        return MinAtarCNN(hidden=tuple(hidden), activation=activation, noisy=noisy, layer_norm=layer_norm)
    return MLP(hidden=tuple(hidden), activation=activation, obs_ndim=obs_ndim, noisy=noisy, layer_norm=layer_norm)


class ActorCritic(nn.Module):
    """Policy distribution and state value from one observation (vmap/batch freely).

    ``num_actions`` for a categorical policy, else ``action_dim`` for a Gaussian with a learned,
    state-independent log-std. ``shared`` uses one torso for both heads.
    """

    hidden: Sequence[int]
    activation: str = "tanh"
    torso: str = "mlp"  # "mlp" | "cnn" | "nature_cnn"
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
        return nn.GRUCell(features=size, recurrent_kernel_init=orthogonal())
    if kind == "lstm":
        return nn.OptimizedLSTMCell(features=size, recurrent_kernel_init=orthogonal())
    raise ValueError(f"unknown recurrent cell {kind!r}")


def initial_carry(kind: str, size: int) -> Any:
    """The cell's initial (zero) carry for one stream: ``[size]`` for a GRU, ``(c, h)`` for an LSTM."""
    return recurrent_cell(kind, size).initialize_carry(jax.random.key(0), (size,))


CELL_GATES = {"gru": "rzn", "lstm": "ifgo"}  # the gates in the order flax's cells name their parameters
CELL_PARAMS = {"gru": "GRUCell_0", "lstm": "OptimizedLSTMCell_0"}  # the cell's parameters in a network's


class CellMaps(NamedTuple):
    """flax's GRU or optimised-LSTM cell parameters as two fused maps, one product each for all
    gates: input ``[in, G*size]`` and recurrent ``[size, G*size]`` (G gates)."""

    kind: str  # "gru" | "lstm"
    input_kernel: jax.Array
    input_bias: jax.Array | None  # a GRU's (flax's LSTM has no input bias)
    recurrent_kernel: jax.Array
    recurrent_bias: jax.Array  # a GRU's is zero except on its n gate, as flax's

    @classmethod
    def of(cls, kind: str, cell_params: Any) -> "CellMaps":
        gates = CELL_GATES[kind]
        kernel = lambda prefix: jnp.concatenate([cell_params[f"{prefix}{g}"]["kernel"] for g in gates], axis=-1)  # noqa: E731
        if kind == "gru":  # biases on the input products; only the n gate's recurrent product has one
            hidden_bias = cell_params["hn"]["bias"]
            return cls(kind, kernel("i"), jnp.concatenate([cell_params[f"i{g}"]["bias"] for g in gates]), kernel("h"),
                       jnp.concatenate([jnp.zeros_like(hidden_bias), jnp.zeros_like(hidden_bias), hidden_bias]))
        return cls(kind, kernel("i"), None, kernel("h"), jnp.concatenate([cell_params[f"h{g}"]["bias"] for g in gates]))

    def input_gates(self, inputs: jax.Array) -> jax.Array:
        """The input product of every gate (bias included), ``[..., G*size]``."""
        gates = inputs @ self.input_kernel
        return gates if self.input_bias is None else gates + self.input_bias

    def step(self, carry: Any, input_gates: jax.Array) -> Any:
        """One step of the cell from its input product: the new carry (its output is the carry's h)."""
        if self.kind == "gru":
            x_r, x_z, x_n = jnp.split(input_gates, 3, axis=-1)
            h_r, h_z, h_n = jnp.split(carry @ self.recurrent_kernel + self.recurrent_bias, 3, axis=-1)
            r, z = nn.sigmoid(x_r + h_r), nn.sigmoid(x_z + h_z)
            return (1.0 - z) * nn.tanh(x_n + r * h_n) + z * carry
        c, h = carry
        i, f, g, o = jnp.split(h @ self.recurrent_kernel + self.recurrent_bias + input_gates, 4, axis=-1)
        c = nn.sigmoid(f) * c + nn.sigmoid(i) * nn.tanh(g)
        return c, nn.sigmoid(o) * nn.tanh(c)


def cell_output(kind: str, carry: Any) -> jax.Array:
    """The cell's output: its carry for a GRU, the carry's ``h`` for an LSTM."""
    return carry if kind == "gru" else carry[1]


def cell_sequence(maps: CellMaps, initial: Any, carry: Any, inputs: jax.Array, starts: jax.Array) -> tuple[Any, jax.Array]:
    """The cell over the sequences ``inputs`` ``[T, E, in]`` from ``carry`` (leading axis E), reset
    to ``initial`` (one stream's carry) before each step where ``starts [T, E]``: (the last carry,
    outputs ``[T, E, size]``). The input products of every step are one product taken before the
    time loop; only the recurrent product runs step by step (it needs the last step's carry)."""
    def step(carry: Any, gates_and_start: tuple[jax.Array, jax.Array]) -> tuple[Any, jax.Array]:
        gates, start = gates_and_start
        carry = maps.step(reset_carry(initial, carry, start), gates)
        return carry, cell_output(maps.kind, carry)

    return jax.lax.scan(step, carry, (maps.input_gates(inputs), starts))


class RecurrentActorCritic(nn.Module):
    """One step of a recurrent policy and value: ``(carry, obs) -> (carry', (distribution, value))``;
    with ``starts``, whole sequences: ``obs [T, E, ...]`` from ``carry`` (leading axis E), the
    carry reset to the initial carry before each step where ``starts [T, E]``, giving the last carry and every
    step's outputs (``[T, E, ...]``), the same as stepping one step at a time but faster (the cell's
    input products for all steps are one product: ``cell_sequence``).

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
    torso: str = "mlp"  # "mlp" | "cnn" | "nature_cnn"
    shared: bool = True
    num_actions: int | None = None
    action_dim: int | None = None
    log_std_init: float = 0.0
    obs_ndim: int = 1

    @nn.compact
    def __call__(self, carry: Any, obs: jax.Array, starts: jax.Array | None = None
                 ) -> tuple[Any, tuple[Categorical | DiagGaussian, jax.Array]]:
        features = make_torso(self.torso, self.hidden, self.activation, self.obs_ndim)(obs)
        if starts is None:  # one step: flax's cell (it makes the parameters at init)
            carry, features = recurrent_cell(self.cell, self.size)(carry, features)
        else:  # whole sequences with flax's cell parameters, the input products before the time loop
            maps = CellMaps.of(self.cell, self.variables["params"][CELL_PARAMS[self.cell]])
            carry, features = cell_sequence(maps, initial_carry(self.cell, self.size), carry, features, starts)
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
    as Rainbow combines its logits). Both streams are linear in the torso's features, so their
    weights are folded into one map first (``dueling_weights``) and the batch takes a single
    product. Heads use orthogonal gain 1.

    ``noisy``: every dense layer, the torso's and the heads', is a ``NoisyDense`` (NoisyNets; a CNN
    torso's convolution stays deterministic): noisy when applied with the ``"noise"`` RNG stream,
    the mean network without it.
    """

    num_actions: int
    hidden: Sequence[int] = (64, 64)
    activation: str = "relu"
    torso: str = "mlp"  # "mlp" | "cnn" | "nature_cnn"
    dueling: bool = False
    obs_ndim: int = 1  # axes of one observation
    atoms: int = 0  # 0: one value per action; else outputs per action of a distributional head
    noisy: bool = False  # NoisyDense layers (NoisyNets exploration)
    layer_norm: bool = False  # LayerNorm before each torso activation (PQN)

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        features = make_torso(self.torso, self.hidden, self.activation, self.obs_ndim, self.noisy,
                              self.layer_norm)(obs)
        atoms = max(self.atoms, 1)
        layer = partial(linear, gain=1.0, noisy=self.noisy)
        if self.dueling:  # value and advantage streams, folded into one affine map of the features
            fan_in = features.shape[-1]
            kernel, bias = dueling_weights(layer(atoms).weights(fan_in), layer(self.num_actions * atoms).weights(fan_in),
                                           self.num_actions)
            out = features @ kernel + bias
        else:
            out = layer(self.num_actions * atoms)(features)
        return out.reshape(features.shape[:-1] + (self.num_actions, self.atoms)) if self.atoms else out


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


class StateDependentActor(nn.Module):
    """SAC's actor for gSDE (generalized state-dependent exploration, Raffin et al. 2022): the mean
    of a Gaussian over pre-squash actions, clipped to [-clip_mean, clip_mean] as Stable-Baselines3
    does; the last hidden layer's features ``z(s)``, without gradient (the noise does not train the
    torso); and a learned log-std per (feature, action) noise weight, ``[latent, action_dim]``
    (see ``jaxrl.core.distributions.state_dependent_log_std``)."""

    action_dim: int
    hidden: Sequence[int] = (64, 64)
    activation: str = "relu"
    log_std_init: float = -3.0
    clip_mean: float = 2.0

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        features = MLP(self.hidden, self.activation)(obs)
        mean = jnp.clip(dense(self.action_dim, 0.01)(features), -self.clip_mean, self.clip_mean)
        log_std = self.param("log_std", nn.initializers.constant(self.log_std_init), (features.shape[-1], self.action_dim))
        return mean, log_std, jax.lax.stop_gradient(features)


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
