"""What each of Rainbow's pieces costs on Breakout-MinAtar: env steps/s of one seed, compile
excluded, for DQN, + prioritised replay, + 3-step returns, C51, C51 + NoisyNets, and Rainbow, all on
``experiments/dqn_breakout_minatar.py``'s settings (16 envs, replay 100k, batch 64, 4 gradient
steps per 16 env steps, the 64x64 MLP over the frame).

    python scripts/value_based_costs.py [--steps 20000]

Run it alone on the machine for speed figures (it times things).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "experiments"))

import jaxrl  # noqa: E402
from dqn_breakout_minatar import ENV, run_settings  # noqa: E402

VARIANTS = [  # (label, algo, config over the experiment's)
    ("dqn", "dqn", {}),
    ("dqn + prioritised", "dqn", {"prioritized": True}),
    ("dqn + prioritised + 3-step", "dqn", {"prioritized": True, "n_step": 3}),
    ("c51 (double)", "c51", {"double": True}),
    ("c51 (double) + noisy", "c51", {"double": True, "exploration": "noisy"}),
    ("rainbow", "rainbow", {}),
]


def settings(algo: str, extra: dict, steps: int) -> tuple[dict, dict]:
    """The experiment's config and hyperparameters for ``algo`` with ``extra`` config (the
    experiment's rainbow settings already drop DQN's loss, dueling flag and epsilon schedule)."""
    hparams, config = run_settings(steps, "dqn" if algo == "dqn" else "rainbow")
    return {**config, **extra}, hparams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000)
    args = parser.parse_args()
    for label, algo, extra in VARIANTS:
        config, hparams = settings(algo, extra, args.steps)
        result = jaxrl.train(algo, ENV, seeds=1, steps=args.steps, config=config, hparams=hparams, preset=None,
                             progress=False)
        print(f"{label:28s} {float(result.env_steps[-1]) / result.train_seconds:8,.0f} env steps/s "
              f"(compile {result.compile_seconds:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
