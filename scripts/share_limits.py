"""How close to the dense-arithmetic ceiling can issue 17's agents come at all on this CPU?

    python scripts/share_limits.py [--only c51 qr_dqn rainbow ppo_gru] [--steps N]

``scripts/flop_budget.py --measure`` gives each agent's share of the ceiling: its train_step's
matrix-product FLOPs per second over the rate of a bare loop of the same dense layers. Issue 17
asks for 70%. This script measures an upper bound on that share for each agent's preset.

It builds a bare gradient step of the agent's algorithm from plain ``jax.numpy``, with nothing
but what the algorithm needs, and adds the required pieces one stage at a time. Each stage's
share is that bare program's own matrix-product FLOPs per second over the same ceiling
(``flop_budget.dense_ceiling`` at the same widths and minibatch).

Every stage leaves out work the real train_step must also do: the env, the acting passes, the
replay writes and the n-step windows. So the last stage's share is an upper bound for any
implementation with these hyperparameters on this CPU.

The stages:
- value-based agents (C51, QR-DQN and Rainbow, at the CartPole presets: batch 100, 64x64 swish
  MLP):
  1. the update's products alone: the online pass, forward and backward, and the target's and
     Double's selector's forward passes, with SGD and a loss that only reads the outputs;
  2. with the distributional loss (softmax over atoms, Double's argmax, the categorical
     projection and cross-entropy; or the quantile Huber loss). C51's projection is timed in two
     forms, the triangular-kernel product jaxrl uses and a scatter-add, and the faster goes on
     to the later stages (both credited with the product form's FLOPs, as the agent's count is);
  3. with Adam behind global-norm clipping (the preset's optimiser);
  4. with prioritised replay (jaxrl's sum tree at the preset's 200,000 entries: stratified
     sampling and the priority update) in place of uniform indices into a fixed table;
  5. Rainbow only: with NoisyNets (a factorised noise draw per pass, and the noisy weights).
- recurrent PPO (the StatelessCartPole preset: 16 envs x 32 steps, 2 minibatches of 8 whole
  sequences, a 64-unit relu torso, a 64-unit GRU):
  1. the update's products with the GRU's recurrent product run step by step over the sequence
     (as it must be: step t needs step t-1's state), SGD and a loss that only reads the outputs;
  2. with the PPO loss (clipped ratio, value loss) and Adam;
  3. with the rollout's acting passes (32 steps of 16 envs, one step at a time), as many per
     update as the preset has.

Each bare program is compiled with the agent's own CPU compile options (QR-DQN's). Run it alone
on the machine: it times things.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jaxrl  # noqa: E402
from flop_budget import ALGO_OF_CASE, CASES, dense_ceiling, flops_per_env_step, matmul_flops, measured_steps_per_second  # noqa: E402
from jaxrl.compilation import cpu_compiler_options  # noqa: E402
from jaxrl.core import distributional, networks  # noqa: E402
from jaxrl.core.buffers import ReplayBuffer, _tree_set  # noqa: E402

GOAL = 0.70


class Stage(NamedTuple):
    name: str
    step: Callable[[Any, jax.Array], Any]  # (carry, key) -> carry
    carry: Any
    gradient_steps: int = 1  # gradient steps one ``step`` takes


def timed(stage: Stage, steps: int, ceiling_gflops: float, compile_options: dict | None,
          counted: Stage | None = None) -> tuple[float, float]:
    """(microseconds per gradient step, share of the ceiling) of ``stage``: ``steps`` calls of its
    step in one jitted scan, best of 3. The FLOPs are those of ``counted``'s step (default: the
    stage's own): a scatter-add projection has no product to count, so it is credited with the
    product form's FLOPs, as the agent's own count (which takes the product form) has them."""
    def run(carry: Any, key: jax.Array) -> Any:
        return jax.lax.scan(lambda c, k: (stage.step(c, k), None), carry, jax.random.split(key, steps))[0]

    key = jax.random.key(1)
    compiled = jax.jit(run).lower(stage.carry, key).compile(compiler_options=compile_options)
    counted = counted or stage
    flops = matmul_flops(jax.make_jaxpr(counted.step)(counted.carry, key).jaxpr)
    jax.block_until_ready(compiled(stage.carry, key))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        jax.block_until_ready(compiled(stage.carry, key))
        best = min(best, time.perf_counter() - start)
    seconds = best / steps
    return seconds / stage.gradient_steps * 1e6, flops / seconds / 1e9 / ceiling_gflops


def sgd(params: Any, grads: Any) -> Any:
    return jax.tree.map(lambda w, g: w - 1e-4 * g, params, grads)


# -- value-based agents ----------------------------------------------------------------------------
def mlp_params(key: jax.Array, widths: tuple[int, ...], noisy: bool = False) -> list[dict[str, jax.Array]]:
    layers = []
    for k, fan_in, fan_out in zip(jax.random.split(key, len(widths) - 1), widths[:-1], widths[1:]):
        layer = {"w": jax.random.normal(k, (fan_in, fan_out)) / math.sqrt(fan_in), "b": jnp.zeros(fan_out)}
        if noisy:
            sigma = 0.5 / math.sqrt(fan_in)
            layer |= {"sw": jnp.full((fan_in, fan_out), sigma), "sb": jnp.full(fan_out, sigma)}
        layers.append(layer)
    return layers


def mlp(params: list[dict[str, jax.Array]], x: jax.Array, activation: str, noise_key: jax.Array | None = None) -> jax.Array:
    """The MLP; with ``noise_key``, NoisyNets' factorised noise (one draw per layer per call)."""
    keys = list(jax.random.split(noise_key, len(params))) if noise_key is not None else [None] * len(params)
    for i, (layer, key) in enumerate(zip(params, keys)):
        w, b = layer["w"], layer["b"]
        if key is not None:
            noise_in, noise_out = networks.factorised_noise(key, *w.shape)
            w, b = w + layer["sw"] * jnp.outer(noise_in, noise_out), b + layer["sb"] * noise_out
        x = x @ w + b
        x = networks.ACTIVATIONS[activation](x) if i < len(params) - 1 else x
    return x


def projection_by_scatter(r_t: jax.Array, discount_t: jax.Array, p_t: jax.Array, z: jax.Array) -> jax.Array:
    """The categorical projection as Bellemare et al. write it: each shifted atom's mass split
    between its floor and ceiling atoms by scatter-adds (``categorical_projection``'s other form)."""
    num_atoms = z.shape[0]
    delta = (z[-1] - z[0]) / (num_atoms - 1)
    b = (jnp.clip(r_t + discount_t * z, z[0], z[-1]) - z[0]) / delta
    lower = jnp.clip(jnp.floor(b), 0, num_atoms - 1)
    upper_share = b - lower
    lower = lower.astype(jnp.int32)
    upper = jnp.minimum(lower + 1, num_atoms - 1)
    return jnp.zeros(num_atoms).at[lower].add(p_t * (1.0 - upper_share)).at[upper].add(p_t * upper_share)


PROJECTIONS = {"product": distributional.categorical_projection, "scatter-add": projection_by_scatter}


class Table(NamedTuple):
    """A fixed table of transitions (random observations), sampled in place of a replay buffer."""
    obs: jax.Array
    next_obs: jax.Array
    action: jax.Array
    reward: jax.Array
    discount: jax.Array


def full_prioritized_replay(capacity: int, num_envs: int) -> tuple[ReplayBuffer, Any]:
    """jaxrl's prioritised buffer description and its sum tree, every entry written, priority 1."""
    replay = ReplayBuffer.with_capacity(capacity, num_envs, prioritized=True)
    state = replay.init(jnp.zeros(()))
    leaves = jnp.arange(replay.tree_leaves)
    tree = _tree_set(state.tree, leaves, (leaves < capacity).astype(jnp.float32))
    return replay, state.replace(tree=tree, rows_filled=jnp.asarray(replay.rows, jnp.int32))


def value_based_program(case: str) -> Callable[..., Stage]:
    """``build(name, loss=, adam=, prioritized=, noise=, projection=)``: a bare gradient step of
    ``case``'s algorithm on its CartPole preset's shapes, with the pieces asked for."""
    env, config, hparams, batch, widths, activation = CASES[case]
    hp = jaxrl.agents.make(case, env, config=config).hparams(hparams, total_steps=1e5)
    num_actions = 2
    per_action = widths[-1] // num_actions
    capacity = config["buffer_capacity"]
    keys = jax.random.split(jax.random.key(0), 6)
    table = Table(jax.random.normal(keys[0], (capacity, widths[0])), jax.random.normal(keys[1], (capacity, widths[0])),
                  jax.random.randint(keys[2], (capacity,), 0, num_actions), jax.random.uniform(keys[3], (capacity,)),
                  jnp.where(jax.random.uniform(keys[4], (capacity,)) < 0.01, 0.0, 0.99**3))
    replay, replay_state = full_prioritized_replay(capacity, config["num_envs"])
    z = distributional.support(getattr(hp, "v_min", 0.0), getattr(hp, "v_max", 1.0), per_action)
    tau = distributional.quantile_midpoints(per_action)
    optimizer = optax.chain(optax.clip_by_global_norm(10.0), optax.adam(1e-3, eps=1e-5))

    def outputs(params: Any, x: jax.Array, noise_key: jax.Array | None) -> jax.Array:
        return mlp(params, x, activation, noise_key).reshape(x.shape[0], num_actions, per_action)

    def build(name: str, loss: bool = False, adam: bool = False, prioritized: bool = False, noise: bool = False,
              projection: str = "product") -> Stage:
        params = mlp_params(keys[5], widths, noisy=noise)

        def loss_fn(p: Any, target_p: Any, data: Table, weights: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
            k_online, k_target, k_select = jax.random.split(key, 3) if noise else (None, None, None)
            out_tm1 = outputs(p, data.obs, k_online)
            out_t = outputs(target_p, data.next_obs, k_target)
            select = outputs(jax.lax.stop_gradient(p), data.next_obs, k_select)  # Double's selector
            rows = jnp.arange(batch)
            if not loss:  # the products alone: a loss that only reads the outputs
                error = out_tm1[rows, data.action] - jax.lax.stop_gradient(out_t[rows, 0] + select[rows, 1])
                per_sample = jnp.mean(error**2, axis=-1)
            elif case == "qr_dqn":
                a_star = jnp.argmax(select.mean(-1), axis=-1)
                target = data.reward[:, None] + data.discount[:, None] * out_t[rows, a_star]
                per_sample = jax.vmap(distributional.quantile_huber_loss, in_axes=(0, 0, None, None))(
                    out_tm1[rows, data.action], jax.lax.stop_gradient(target), tau, 1.0)
            else:
                a_star = jnp.argmax(jnp.sum(jax.nn.softmax(select) * z, axis=-1), axis=-1)
                target = jax.vmap(PROJECTIONS[projection], in_axes=(0, 0, 0, None))(
                    data.reward, data.discount, jax.nn.softmax(out_t[rows, a_star]), z)
                per_sample = jax.vmap(distributional.categorical_cross_entropy)(
                    jax.lax.stop_gradient(target), out_tm1[rows, data.action])
            return jnp.mean(weights * per_sample), per_sample

        def step(carry: Any, key: jax.Array) -> Any:
            p, target_p, opt_state, tree = carry
            k_sample, k_noise = jax.random.split(key)
            if prioritized:
                sample = replay.sample(tree, k_sample, batch, beta=0.4)
                idx, weights = sample.rows * replay.num_envs + sample.envs, sample.weights
            else:
                idx, weights = jax.random.randint(k_sample, (batch,), 0, capacity), jnp.ones(batch)
            data = jax.tree.map(lambda x: x[idx], table)
            grads, per_sample = jax.grad(loss_fn, has_aux=True)(p, target_p, data, weights, k_noise)
            if adam:
                updates, opt_state = optimizer.update(grads, opt_state, p)
                p = optax.apply_updates(p, updates)
            else:
                p = sgd(p, grads)
            if prioritized:
                tree = replay.update_priorities(tree, sample, jnp.abs(per_sample) + 1e-6, 0.5)
            return p, target_p, opt_state, tree

        return Stage(name, step, (params, params, optimizer.init(params), replay_state))

    return build


# -- recurrent PPO ---------------------------------------------------------------------------------
def gru_params(key: jax.Array, obs_dim: int, torso: int, size: int, num_actions: int) -> dict[str, jax.Array]:
    k = jax.random.split(key, 5)
    return {"torso_w": jax.random.normal(k[0], (obs_dim, torso)) / math.sqrt(obs_dim), "torso_b": jnp.zeros(torso),
            "input_w": jax.random.normal(k[1], (torso, 3 * size)) / math.sqrt(torso), "input_b": jnp.zeros(3 * size),
            "hidden_w": jax.random.normal(k[2], (size, 3 * size)) / math.sqrt(size), "hidden_b": jnp.zeros(3 * size),
            "actor_w": jax.random.normal(k[3], (size, num_actions)) * 0.01, "actor_b": jnp.zeros(num_actions),
            "critic_w": jax.random.normal(k[4], (size, 1)), "critic_b": jnp.zeros(1)}


def gru_sequence(p: dict[str, jax.Array], h0: jax.Array, obs: jax.Array, starts: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """A GRU policy over sequences ``obs [T, N, d]``: the torso's product for all steps at once,
    then jaxrl's hoisted cell (``networks.cell_sequence``: the cell's input products before the
    time loop, the recurrent product step by step, the state reset where an episode starts).
    Returns (last state, logits [T, N, A], values [T, N])."""
    x = jax.nn.relu(obs @ p["torso_w"] + p["torso_b"])
    maps = networks.CellMaps("gru", p["input_w"], p["input_b"], p["hidden_w"], p["hidden_b"])
    h, hs = networks.cell_sequence(maps, jnp.zeros(h0.shape[-1]), h0, x, starts)
    return h, hs @ p["actor_w"] + p["actor_b"], (hs @ p["critic_w"] + p["critic_b"])[..., 0]


class Sequences(NamedTuple):
    obs: jax.Array
    starts: jax.Array
    action: jax.Array
    log_prob: jax.Array
    advantage: jax.Array
    target: jax.Array


def recurrent_ppo_program() -> Callable[..., Stage]:
    """``build(name, loss=, adam=, acting=)``: a bare update of recurrent PPO on the
    StatelessCartPole preset's shapes, with the pieces asked for."""
    _, config, hparams, _, widths, _ = CASES["ppo_gru"]
    num_envs, length = config["num_envs"], config["rollout_len"]
    epochs, minibatches = config["num_epochs"], config["num_minibatches"]
    obs_dim, torso, size, num_actions = widths[0], widths[1], config["recurrent_size"], widths[-1]
    clip_eps = hparams["clip_eps"]
    keys = jax.random.split(jax.random.key(0), 4)
    rollout = Sequences(jax.random.normal(keys[0], (length, num_envs, obs_dim)),
                        jax.random.uniform(keys[1], (length, num_envs)) < 0.02,
                        jax.random.randint(keys[2], (length, num_envs), 0, num_actions),
                        jnp.full((length, num_envs), -math.log(num_actions)),
                        jax.random.normal(keys[3], (length, num_envs)), jax.random.normal(keys[3], (length, num_envs)))
    per_minibatch = num_envs // minibatches
    optimizer = optax.chain(optax.clip_by_global_norm(0.5), optax.adam(1e-3, eps=1e-5))

    def build(name: str, loss: bool = False, adam: bool = False, acting: bool = False) -> Stage:
        params = gru_params(jax.random.key(1), obs_dim, torso, size, num_actions)

        def loss_fn(p: Any, seq: Sequences) -> jax.Array:
            _, logits, values = gru_sequence(p, jnp.zeros((per_minibatch, size)), seq.obs, seq.starts)
            if not loss:  # the products alone: a loss that only reads the outputs
                return jnp.mean(logits**2) + jnp.mean(values**2)
            log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), seq.action[..., None], -1)[..., 0]
            ratio = jnp.exp(log_prob - seq.log_prob)
            adv = (seq.advantage - seq.advantage.mean()) / (seq.advantage.std() + 1e-8)
            policy = -jnp.mean(jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - clip_eps, 1 + clip_eps) * adv))
            return policy + 0.5 * jnp.mean((values - seq.target) ** 2)

        def gradient_step(carry: Any, seq: Sequences) -> tuple[Any, None]:
            p, opt_state = carry
            grads = jax.grad(loss_fn)(p, seq)
            if adam:
                updates, opt_state = optimizer.update(grads, opt_state, p)
                return (optax.apply_updates(p, updates), opt_state), None
            return (sgd(p, grads), opt_state), None

        def act(carry: Any, inputs: tuple[jax.Array, jax.Array]) -> tuple[Any, jax.Array]:
            p, h = carry
            obs, key = inputs
            h, logits, _ = gru_sequence(p, h, obs[None], jnp.zeros((1, num_envs), bool))
            return (p, h), jax.random.categorical(key, logits[0])

        def update(carry: Any, key: jax.Array) -> Any:
            p, opt_state, h = carry
            seq = rollout
            if acting:  # the rollout's policy passes, one env step at a time
                (_, h), actions = jax.lax.scan(act, (p, h), (rollout.obs, jax.random.split(key, length)))
                seq = seq._replace(action=actions)
            order = jax.vmap(lambda k: jax.random.permutation(k, num_envs))(jax.random.split(key, epochs)).reshape(-1)
            batches = jax.tree.map(lambda x: jnp.swapaxes(x[:, order].reshape(length, -1, per_minibatch, *x.shape[2:]), 0, 1), seq)
            (p, opt_state), _ = jax.lax.scan(gradient_step, (p, opt_state), batches)
            return p, opt_state, h

        return Stage(name, update, (params, optimizer.init(params), jnp.zeros((num_envs, size))), epochs * minibatches)

    return build


# -- the table -------------------------------------------------------------------------------------
@functools.cache
def ceiling_of(batch: int, widths: tuple[int, ...], activation: str) -> float:
    """``dense_ceiling`` at these shapes, measured once per shape (C51 and Rainbow share one)."""
    return dense_ceiling(batch, widths, activation)


def agent_share(case: str, steps: int, ceiling: float) -> float:
    """The real train_step's share of the ceiling, as ``flop_budget.py --measure`` gives it."""
    return flops_per_env_step(case) * measured_steps_per_second(case, steps) / 1e9 / ceiling


def stages_of(case: str, steps: int, ceiling: float, options: dict | None) -> list[tuple[str, float, float]]:
    if case == "ppo_gru":
        build = recurrent_ppo_program()
        stages = [build("1. the update's products, the GRU's step by step (SGD)"),
                  build("2. + PPO's loss and Adam", loss=True, adam=True),
                  build("3. + the rollout's acting passes", loss=True, adam=True, acting=True)]
        return [(s.name, *timed(s, max(steps // s.gradient_steps, 1), ceiling, options)) for s in stages]
    build = value_based_program(case)
    rows = [(s.name, *timed(s, steps, ceiling, options)) for s in [build("1. the update's products alone (SGD)")]]
    if case == "qr_dqn":
        stages = {"2. + the quantile Huber loss": {"loss": True}}
    else:  # both projections, each credited with the product form's FLOPs; the faster goes on
        loss_rows = {name: timed(build(name, loss=True, projection=name), steps, ceiling, options,
                                 counted=build(name, loss=True)) for name in PROJECTIONS}
        rows += [(f"2. + the categorical loss ({name} projection)", *row) for name, row in loss_rows.items()]
        stages = {}
        projection = min(loss_rows, key=lambda name: loss_rows[name][0])
    pieces = {"3. + Adam, global-norm clipping": {"adam": True},
              "4. + prioritised replay (sum tree of 200,000)": {"adam": True, "prioritized": True}}
    if case == "rainbow":
        pieces["5. + NoisyNets (a noise draw per pass)"] = {"adam": True, "prioritized": True, "noise": True}
    stages |= {name: {"loss": True, **switches} for name, switches in pieces.items()}
    for name, switches in stages.items():
        form = {} if case == "qr_dqn" else {"projection": projection}
        rows.append((name, *timed(build(name, **switches, **form), steps, ceiling, options, counted=build(name, **switches))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", default=["c51", "qr_dqn", "rainbow", "ppo_gru"], choices=["c51", "qr_dqn", "rainbow", "ppo_gru"])
    parser.add_argument("--steps", type=int, default=2_000, help="gradient steps per timing")
    parser.add_argument("--agent-steps", type=int, default=100_000,
                        help="env steps of the real agent's run for its share (0: leave it out)")
    args = parser.parse_args()
    for case in args.only:
        env, config, hparams, batch, widths, activation = CASES[case]
        agent = jaxrl.agents.make(ALGO_OF_CASE.get(case, case), env, config=config)
        options = cpu_compiler_options(None, agent.cpu_compile_options)
        ceiling = ceiling_of(batch, widths, activation)
        print(f"\n{case} ({env} preset): ceiling {ceiling:.1f} GFLOP/s (batch {batch}, widths {widths}, {activation})")
        print(f"  {'stage':<62s} {'us/gradient step':>16s} {'share':>6s}")
        for name, micros, share in stages_of(case, args.steps, ceiling, options):
            print(f"  {name:<62s} {micros:16.1f} {share:6.0%}")
        if args.agent_steps:
            print(f"  {'the agent (flop_budget.py --measure)':<62s} {'':>16s} {agent_share(case, args.agent_steps, ceiling):6.0%}")
        print(f"  goal {GOAL:.0%}")


if __name__ == "__main__":
    main()
