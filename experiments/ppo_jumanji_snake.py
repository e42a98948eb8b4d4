"""PPO on Jumanji's Snake (a 6x6 grid) through jaxrl's Jumanji adapter, against the random policy.

``jumanji/Snake-v1`` with ``num_rows=6, num_cols=6`` (Jumanji's arguments; its time limit 4000
steps): reward 1 per fruit eaten, the episode ends when the snake leaves the grid or bites itself.
PPO with the library defaults (no preset: 8 envs x 128 steps, 4 epochs x 4 minibatches, (64, 64)
tanh MLP, Adam 3e-4) on the flattened observation (the 6x6x5 grid, step count, action mask).
Each seed's greedy policy is scored by ``jaxrl.evaluate(result, episodes=20)``; the uniform-random
policy by 200 episodes of the same env.

    python experiments/ppo_jumanji_snake.py [--seeds 4] [--steps 1000000]
"""

from __future__ import annotations

import types

import jax
import numpy as np
from _common import Stopwatch, make_parser, seed_stats

import jaxrl
from jaxrl.evaluate import episode_rollout

ENV, ENV_KWARGS = "jumanji/Snake-v1", {"num_rows": 6, "num_cols": 6}


def random_policy(episodes: int = 200) -> tuple[float, float]:
    """The uniform-random policy's mean return and episode length in jaxrl's env."""
    env, params = jaxrl.make_env(ENV, **ENV_KWARGS)
    uniform = types.SimpleNamespace(env=env, env_params=params, recurrent_act=None,
                                    act=lambda _, obs, key: env.action_space(params).sample(key))
    rollout = jax.jit(lambda key: episode_rollout(uniform, None, key, episodes, params.max_steps_in_episode))
    returns, lengths, _ = rollout(jax.random.key(0))
    return float(np.mean(returns)), float(np.mean(lengths))


def main() -> None:
    args = make_parser(__doc__, steps=1_000_000, seeds=4).parse_args()
    clock = Stopwatch()
    result = jaxrl.train("ppo", ENV, seeds=args.seeds, steps=args.steps, env_kwargs=ENV_KWARGS, preset=None, progress=False)
    trained = clock.__str__()
    evaluation = jaxrl.evaluate(result, episodes=20)
    print(f"{ENV} {ENV_KWARGS}, PPO library defaults, {args.steps:,} steps x {args.seeds} seeds (trained in {trained})")
    print("summary:", {k: round(v, 3) if isinstance(v, float) else v for k, v in evaluation.summary().items()})
    print("greedy return per seed:", seed_stats(evaluation.per_run()["return"], ".2f"))
    print("greedy length per seed:", seed_stats(evaluation.per_run()["length"], ".0f"))
    random_return, random_length = random_policy()
    print(f"uniform-random policy (200 episodes): return {random_return:.3f}, length {random_length:.1f}")
    print(f"Wall time (compile, training, evaluation): {clock}")


if __name__ == "__main__":
    main()
