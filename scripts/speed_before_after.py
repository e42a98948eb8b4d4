"""Throughput of one configuration, 16 seeds, best of two runs: run it against two trees to see
whether a change moved the speed (nothing else running; the trees share a venv):

    PYTHONPATH=/tmp/before python scripts/speed_before_after.py ppo CartPole-v1 "{}" 100000
    PYTHONPATH=. python scripts/speed_before_after.py ppo CartPole-v1 "{}" 100000
"""

import ast
import sys

import jaxrl

algo, env, config, steps = sys.argv[1], sys.argv[2], ast.literal_eval(sys.argv[3]), int(sys.argv[4])
rates = []
for _ in range(2):
    result = jaxrl.train(algo, env, seeds=16, steps=steps, config=config, progress=False, num_chunks=4)
    rates.append(16 * result.env_steps[-1] / result.train_seconds)
print(f"{algo}: {max(rates):,.0f} env steps/s (best of 2), compile {result.compile_seconds:.1f} s")
