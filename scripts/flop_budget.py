"""How fast can each benchmarked configuration go on this CPU? Dense-layer FLOPs per env step
against the machine's measured matrix-product rate, next to the speed goals of issues 3-5.

    python scripts/flop_budget.py [--cores N] [--rejax-json FILE] [--only ALGO ...] [--measure]

For each benchmark configuration (``scripts/bench_ppo.py``, ``bench_dqn.py``, ``bench_continuous.py``,
rejax's hyperparameters) it

1. counts the multiply-add FLOPs of every matrix product in one seed's ``train_step`` exactly,
   from its jaxpr (scan bodies times their length), and divides by the env steps that train_step
   advances: the dense-layer work per env step. Any implementation of the same algorithm with
   the same hyperparameters does at least this much (rejax does the same products);
2. measures the rate of a bare loop of the same dense layers (forward, backward and an SGD step
   on a minibatch of the same size, nothing else: no env, no replay, no optimiser state) on one
   core: the ceiling for that work here;
3. prints the env steps/s that ceiling allows, per core, and the env steps/s each speed goal
   needs (goal ratio x rejax's env steps/s as measured by the bench scripts, recorded below or
   passed with ``--rejax-json``). Where the goal needs more than the ceiling times the cores the
   run can use (1 for one seed; ``--cores`` for 16 seeds, sharded), no implementation can meet it
   on this machine.

With ``--measure`` it also trains one seed of each case (``MEASURE_STEPS`` env steps, compile
excluded: ``result.train_seconds``) and prints its env steps/s and its share of that ceiling:
how close the whole train_step (envs, replay, losses, optimiser) comes to the bare arithmetic.
Cases without a speed goal (the agents of issue 17) print only the ceiling and the share.

Run it alone on the machine (it times things).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
from jax.extend.core import ClosedJaxpr, Jaxpr

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jaxrl  # noqa: E402
from bench_continuous import JAXRL_CONFIGS  # noqa: E402
from bench_dqn import CONFIG as DQN_CONFIG, HP as DQN_HP  # noqa: E402
from bench_ppo import HP as PPO_HP, PPO as PPO_CONFIG  # noqa: E402

# rejax's env steps/s (compile excluded, evaluation off), 1 and 16 seeds, from BENCHMARKS.md
# (the bench scripts' latest runs on this machine); override with --rejax-json.
REJAX_STEPS_PER_S = {"ppo": (81_695, 144_919), "dqn": (3_038, 4_703), "sac": (962, 1_061), "td3": (2_492, 3_160)}
GOAL_RATIO = {"ppo": 1.5, "dqn": 10.0, "sac": 3.0, "td3": 3.0}
MEASURE_STEPS = 200_000  # env steps of one seed timed by --measure
CASES = {  # algo: (env, config, hparams, minibatch of the dense-layer ceiling, widths, activation)
    "ppo": ("CartPole-v1", PPO_CONFIG, PPO_HP, 100, (4, 64, 64, 2), "tanh"),
    "dqn": ("CartPole-v1", DQN_CONFIG, {**DQN_HP, "epsilon_decay_duration": 50_000}, 100, (4, 64, 64, 3), "swish"),
    "sac": ("Pendulum-v1", *JAXRL_CONFIGS["sac"], 256, (4, 64, 64, 1), "swish"),
    "td3": ("Pendulum-v1", *JAXRL_CONFIGS["td3"], 100, (4, 64, 64, 1), "swish"),
}


def preset_case(algo: str, env: str, batch: int, widths: tuple[int, ...], activation: str, label: str | None = None) -> tuple:
    """A case on a shipped preset's config and hyperparameters (the zoo's settings; ``label``: a
    named variant of the pair's preset instead of its default)."""
    preset = jaxrl.presets.get(f"{algo}/{label}") if label else jaxrl.presets.find(algo, env)
    return (env, preset.config, preset.hparams, batch, widths, activation)


# issue 17's agents on their CartPole presets; the ceiling's last width is the output layer
# (actions x atoms or quantiles)
CASES.update({
    "c51": preset_case("c51", "CartPole-v1", 100, (4, 64, 64, 2 * 51), "swish"),
    "qr_dqn": preset_case("qr_dqn", "CartPole-v1", 100, (4, 64, 64, 2 * 32), "swish"),
    "rainbow": preset_case("rainbow", "CartPole-v1", 100, (4, 64, 64, 2 * 51), "swish"),
    "pqn": preset_case("pqn", "CartPole-v1", 128, (4, 256, 256, 2), "relu", label="CartPole-v1-purejaxql"),
    # recurrent PPO: the ceiling loop is dense layers of the torso's and the cell's sizes on a
    # minibatch of whole sequences (8 envs x 32 steps); the GRU's gate products are counted in
    # the FLOPs per env step like any other matrix product
    "ppo_gru": preset_case("ppo", "StatelessCartPole-v1", 256, (2, 64, 64, 64, 2), "relu"),
})
ALGO_OF_CASE = {"ppo_gru": "ppo"}


def matmul_flops(jaxpr: Jaxpr) -> float:
    """2 x multiply-adds of every dot_general, scan bodies counted ``length`` times, a ``while``
    body once: a train_step's only while loop is the replay agents' one-step env loop
    (``off_policy._collect``, a count XLA must not know, so no static one here)."""
    total = 0.0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            (lhs_contract, _), (lhs_batch, _) = eqn.params["dimension_numbers"]
            lhs, rhs = (v.aval.shape for v in eqn.invars)
            out = eqn.outvars[0].aval.shape
            total += 2.0 * math.prod(out) * math.prod(lhs[d] for d in lhs_contract)
            del rhs, lhs_batch
            continue
        if eqn.primitive.name == "while":
            total += matmul_flops(eqn.params["cond_jaxpr"].jaxpr) + matmul_flops(eqn.params["body_jaxpr"].jaxpr)
            continue
        times = eqn.params["length"] if eqn.primitive.name == "scan" else 1
        subs = [p for p in eqn.params.values() if isinstance(p, (Jaxpr, ClosedJaxpr))]
        subs += [b for p in eqn.params.values() if isinstance(p, tuple) for b in p
                 if isinstance(b, (Jaxpr, ClosedJaxpr))]
        if eqn.primitive.name == "cond":  # the costlier branch
            total += max(matmul_flops(getattr(b, "jaxpr", b)) for b in eqn.params["branches"])
            continue
        total += times * sum(matmul_flops(getattr(s, "jaxpr", s)) for s in subs)
    return total


def flops_per_env_step(case: str) -> float:
    env, config, hparams, *_ = CASES[case]
    agent = jaxrl.agents.make(ALGO_OF_CASE.get(case, case), env, config=config)
    hp = agent.hparams(hparams, total_steps=1e5)
    state = jax.eval_shape(agent.init, jax.random.key(0), hp)
    jaxpr = jax.make_jaxpr(agent.train_step)(state).jaxpr
    return matmul_flops(jaxpr) / agent.steps_per_update


def measured_steps_per_second(case: str, steps: int = MEASURE_STEPS) -> float:
    """One seed's env steps per second of training (compile excluded)."""
    env, config, hparams, *_ = CASES[case]
    result = jaxrl.train(ALGO_OF_CASE.get(case, case), env, seeds=1, steps=steps, config=config, hparams=hparams, preset=None, progress=False)
    return float(result.env_steps[-1]) / result.train_seconds


def dense_ceiling(batch: int, widths: tuple[int, ...], activation: str, steps: int = 2_000, programs: int = 3) -> float:
    """GFLOP/s of a bare SGD loop through the same dense layers on one core: the best of 3 runs of
    each of ``programs`` separately compiled copies (one copy's best varies by up to 15% from
    the next on this VM, so a single copy can set the ceiling low and overstate a share)."""
    act = {"tanh": jnp.tanh, "swish": jax.nn.swish, "relu": jax.nn.relu}[activation]
    keys = jax.random.split(jax.random.key(0), len(widths))
    params = [(jax.random.normal(k, (a, b)) / math.sqrt(a), jnp.zeros(b)) for k, a, b in zip(keys, widths[:-1], widths[1:])]
    x = jax.random.normal(keys[-1], (batch, widths[0]))

    def loss(params):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            h = act(h) if i < len(params) - 1 else h
        return jnp.mean(h**2)

    def body(params, _):
        grads = jax.grad(loss)(params)
        return jax.tree.map(lambda p, g: p - 1e-4 * g, params, grads), None

    flops = steps * matmul_flops(jax.make_jaxpr(lambda p: body(p, None)[0])(params).jaxpr)
    best = float("inf")
    for _ in range(programs):
        fn = jax.jit(lambda p: jax.lax.scan(body, p, None, steps)[0])  # a new function: compiled anew
        jax.block_until_ready(fn(params))
        for _ in range(3):
            start = time.perf_counter()
            jax.block_until_ready(fn(params))
            best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=len(jax.devices("cpu")),
                        help="cores a sharded 16-seed run uses (default: jaxrl's CPU devices)")
    parser.add_argument("--rejax-json", help='{"ppo": [steps/s 1 seed, 16 seeds], ...} from a bench run')
    parser.add_argument("--only", nargs="+", choices=list(CASES), help="these cases (default: all)")
    parser.add_argument("--measure", action="store_true", help="also time one seed of each case: share of the ceiling")
    args = parser.parse_args()
    rejax = dict(REJAX_STEPS_PER_S)
    if args.rejax_json:
        rejax.update({k: tuple(v) for k, v in json.loads(Path(args.rejax_json).read_text()).items()})
    print(f"{'case':>7s} {'MFLOP/env step':>14s} {'ceiling GFLOP/s':>15s} {'max steps/s, 1 core':>19s} "
          f"{'goal, 1 seed':>12s} {'goal, 16 seeds':>14s} {'max/goal 1 seed':>15s} {f'max/goal 16 ({args.cores} cores)':>22s}"
          + (f" {'measured steps/s, 1 seed':>24s} {'share of ceiling':>16s}" if args.measure else ""))
    for algo, (_, _, _, batch, widths, activation) in CASES.items():
        if args.only and algo not in args.only:
            continue
        per_step = flops_per_env_step(algo)
        ceiling = dense_ceiling(batch, widths, activation)
        most = ceiling * 1e9 / per_step
        line = f"{algo:>7s} {per_step / 1e6:>14.2f} {ceiling:>15.1f} {most:>19,.0f} "
        if algo in GOAL_RATIO:
            goal1, goal16 = (GOAL_RATIO[algo] * r for r in rejax[algo])
            line += f"{goal1:>12,.0f} {goal16:>14,.0f} {most / goal1:>15.2f} {most * args.cores / goal16:>22.2f}"
        else:
            line += f"{'-':>12s} {'-':>14s} {'-':>15s} {'-':>22s}"
        if args.measure:
            measured = measured_steps_per_second(algo)
            line += f" {measured:>24,.0f} {measured / most:>16.0%}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
