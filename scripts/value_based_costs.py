"""What each of Rainbow's pieces costs on Breakout-MinAtar: env steps/s of one seed, compile
excluded (of all seeds with ``--seeds``), for DQN, + prioritised replay, + 3-step returns, C51, C51 + NoisyNets, and Rainbow, all on
``experiments/dqn_breakout_minatar.py``'s settings (16 envs, replay 100k, batch 64, 4 gradient
steps per 16 env steps, the 64x64 MLP over the frame).

    python scripts/value_based_costs.py [--steps 20000] [--seeds 1] [--only LABEL ...]

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
    parser.add_argument("--seeds", type=int, default=1, help="seeds trained side by side in one program")
    parser.add_argument("--only", nargs="+", help="the variants to run, by label (default all)")
    args = parser.parse_args()
    for label, algo, extra in VARIANTS:
        if args.only and label not in args.only:
            continue
        config, hparams = settings(algo, extra, args.steps)
        result = jaxrl.train(algo, ENV, seeds=args.seeds, steps=args.steps, config=config, hparams=hparams, preset=None,
                             progress=False)
        total_steps = float(result.env_steps[-1]) * args.seeds
        print(f"{label:28s} {total_steps / result.train_seconds:8,.0f} env steps/s of all seeds "
              f"(compile {result.compile_seconds:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
