"""Compile time against run speed for the training program's LLVM optimisation level on CPU.

    python scripts/bench_compile.py [--levels default 2 1] [--seeds 1 16] [--cases ppo dqn sac td3 q_learning ppo_minatar]

XLA compiles the training program at LLVM level 3 by default (``default`` here). Lower levels
compile faster; this script measures whether the program then runs slower. For each case (the
bench scripts' configurations: rejax's hyperparameters) and seed count, a fresh process (one CPU
device per core, as ``import jaxrl`` sets up) compiles jaxrl's training program (one chunk of
the case's steps) once per level, then runs the programs in turn from the same start state,
``--rounds`` times each, and prints each level's compile time and median env steps/s. Running
them alternately in one process makes the speed comparison immune to the machine's drift; each
case runs twice, levels in both orders, because a process's first compile pays extra.
``jaxrl.compilation.TRAIN_PROGRAM_LLVM_LEVEL`` holds the level jaxrl uses. Run it alone on the
machine: it times things.
"""

from __future__ import annotations

import argparse
import json
import sys

from bench_continuous import JAXRL_CONFIGS
from bench_dqn import CONFIG as DQN_CONFIG, HP as DQN_HP
from bench_ppo import HP as PPO_HP, PPO as PPO_CONFIG, run_child

CASES = {  # name: (algo, env, config, hparams, env steps per seed)
    "ppo": ("ppo", "CartPole-v1", PPO_CONFIG, PPO_HP, 100_000),
    "dqn": ("dqn", "CartPole-v1", DQN_CONFIG, {**DQN_HP, "epsilon_decay_duration": 10_000}, 20_000),
    "sac": ("sac", "Pendulum-v1", *JAXRL_CONFIGS["sac"], 5_000),
    "td3": ("td3", "Pendulum-v1", *JAXRL_CONFIGS["td3"], 5_000),
    "q_learning": ("q_learning", "FrozenLake-v1", {}, {}, 200_000),
    "ppo_minatar": ("ppo", "Breakout-MinAtar", dict(num_envs=64, rollout_len=128, num_epochs=4, num_minibatches=8,
                                                    torso="cnn"), {}, 16_384),
}

CHILD = """
import importlib, json, math, sys, time
import jax, numpy as np
import jaxrl
from jaxrl import agents
from jaxrl.compilation import cpu_compiler_options
from jaxrl.core.hparams import resolve_hparams
engine = importlib.import_module("jaxrl.train")
algo, env, config, hparams, seeds, steps = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
levels, rounds = sys.argv[7].split(","), int(sys.argv[8])
agent = agents.make(algo, env, config=config)
setting = resolve_hparams(agent.hparams_cls, hparams, agent.name, type(agent.config))
updates = max(1, steps // agent.steps_per_update)
chunk = engine._make_chunk_fn(agent, updates, 1, seeds)  # one chunk: `steps` env steps per seed
state = engine._shard_runs(engine._initial_states(agent, 0, seeds, [setting], steps), seeds)
programs, compile_s = {}, {}
for level in levels:
    start = time.perf_counter()
    programs[level] = chunk.lower(state).compile(compiler_options=cpu_compiler_options(None if level == "default" else int(level)))
    compile_s[level] = time.perf_counter() - start
times = {level: [] for level in levels}
for _ in range(rounds):
    for level in levels:
        start_state = jax.block_until_ready(jax.tree.map(lambda x: x.copy(), state))  # chunk donates its input
        start = time.perf_counter()
        jax.block_until_ready(programs[level](start_state))
        times[level].append(time.perf_counter() - start)
print(json.dumps({level: dict(compile=compile_s[level], rate=updates * agent.steps_per_update * seeds / float(np.median(times[level])))
                  for level in levels}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", nargs="+", default=["default", "2", "1"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--rounds", type=int, default=5, help="runs of each program, alternated; the median counts")
    args = parser.parse_args()

    print(f"{'case':12s} {'seeds':>5s} {'LLVM level':>10s} {'compile s':>10s} {'env steps/s':>12s} {'vs default':>10s}")
    for case in args.cases:
        algo, env, config, hparams, steps = CASES[case]
        for seeds in args.seeds:
            for order in (args.levels, args.levels[::-1]):  # both orders: the first compile in a process pays more
                r = run_child(sys.executable, CHILD, algo, env, json.dumps(config), json.dumps(hparams), seeds, steps,
                              ",".join(order), args.rounds)
                base = r.get("default", r[order[0]])["rate"]
                for level in order:
                    print(f"{case:12s} {seeds:5d} {level:>10s} {r[level]['compile']:10.2f} {r[level]['rate']:12,.0f} "
                          f"{r[level]['rate'] / base:10.3f}", flush=True)


if __name__ == "__main__":
    main()
