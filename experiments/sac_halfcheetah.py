"""SAC or TD3 on Gymnasium's own MuJoCo HalfCheetah-v5 through the Gymnasium bridge, 200k env steps
(issue 18: goal >= 3000 at 200k). CleanRL's settings where jaxrl has them.

- SAC (sac_continuous_action): 256x256 networks, batch 256, critic lr 1e-3, actor lr 3e-4,
  tau 0.005, automatic entropy tuning, 5,000 random steps first.
- TD3 (td3_continuous_action): 256x256 networks, batch 256, Adam 3e-4 for both, tau 0.005,
  exploration noise 0.1, target smoothing 0.2 clipped at 0.5, actor every 2 critic updates,
  25,000 random steps first.

The buffer holds the whole run. Seeds train side by side in one program (the host env batch holds
one HalfCheetah per seed); the networks' arithmetic grows with the seeds.

    python experiments/sac_halfcheetah.py [--algo sac|td3] [--seeds 1] [--seed 0] [--steps 200000]
"""
import time

from _common import make_parser

import jaxrl

CONFIG = {"hidden": [256, 256], "buffer_capacity": 200_000, "batch_size": 256}
SETTINGS = {
    "sac": ({"learning_starts": 5_000}, {"learning_rate": 1e-3, "actor_learning_rate": 3e-4}),
    "td3": ({"learning_starts": 25_000},
            {"learning_rate": 3e-4, "actor_learning_rate": 3e-4, "exploration_noise": 0.1,
             "target_noise": 0.2, "target_noise_clip": 0.5}),
}


def main() -> None:
    parser = make_parser(__doc__, steps=200_000, seeds=1)
    parser.add_argument("--algo", choices=sorted(SETTINGS), default="sac")
    parser.add_argument("--seed", type=int, default=0, help="the base seed: other values train other seeds")
    parser.add_argument("--eval-episodes", type=int, default=10, help="greedy episodes per seed at the end")
    args = parser.parse_args()
    extra_config, hparams = SETTINGS[args.algo]
    config = {**CONFIG, "buffer_capacity": max(args.steps, 1_000), **extra_config}
    config["learning_starts"] = min(config["learning_starts"], max(args.steps // 4, config["batch_size"]))
    start = time.time()
    result = jaxrl.train(args.algo, "gymnasium:HalfCheetah-v5", seeds=args.seeds, seed=args.seed, steps=args.steps,
                         config=config, hparams=hparams, progress=True, log_interval=10_000, until=None)
    train_wall = time.time() - start
    evaluation = jaxrl.evaluate(result, episodes=args.eval_episodes)
    print(evaluation.summary())
    print("per-seed greedy returns:", [round(float(v), 2) for v in evaluation.per_run()["return"]])
    print("train_wall_s", round(train_wall, 1), "train_seconds", round(result.train_seconds, 1))


if __name__ == "__main__":
    main()
