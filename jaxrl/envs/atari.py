"""Atari 2600 games, ``ALE/NAME-v5`` (``ALE/Breakout-v5``, ``ALE/MsPacman-v5``, ...), with the standard preprocessing.

Each id is ALE's own v5 env (``gymnasium.make("ALE/NAME-v5", frameskip=1)``: sticky actions with
probability 0.25 per frame, the minimal action set, v5's limit of 108,000 frames) under
Gymnasium's ``AtariPreprocessing`` (up to 30 no-op starts, frame skip 4 with the max over the last
two frames, grey 84x84 by area interpolation) and ``FrameStackObservation(4)``, the stack moved
last: observations are uint8 ``[84, 84, 4]``, as jaxrl's image torsos expect ("auto" picks the
Nature CNN for them). One agent step is 4 frames.

Options (``make_env`` / ``env_kwargs``): ``noop_max`` (30), ``frame_stack`` (4),
``repeat_action_probability`` (0.25), ``full_action_space`` (False), ``max_episode_steps`` (a
``TimeLimit`` in agent steps, outermost), any other ALE v5 argument (``mode``, ``difficulty``,
``max_num_frames_per_episode``, ...), and two training-only options, both off by default:

- ``episodic_life``: a lost life ends the training episode as a termination (value targets stop
  there); the game itself goes on: the next "reset" is one no-op step in the same game, and only
  the real game over (or the time limit) starts a new game. (Gymnasium's own
  ``terminal_on_life_loss`` restarts the whole game at every lost life instead, so an agent would
  never see its later lives; this one is the DQN papers' ``EpisodicLifeEnv``.)
- ``clip_rewards``: every reward replaced by its sign.

Evaluation scores the real game: ``jaxrl.evaluate`` (and the run pipeline's evaluation) steps
``evaluation_env``, the same env with both options off. Training's episode metrics
(``episode_return``, ``episode_length``) are of the training env: per life and clipped when the
options are on.

Endings: a game over is a termination; v5's own frame limit (``max_num_frames_per_episode``,
108,000 frames) and ``max_episode_steps`` are truncations (the learners bootstrap through them).
Evaluation's step cap is the time limit, or 27,000 agent steps (108,000 frames) without one.

Route: every env steps on the host through the Gymnasium bridge (``jaxrl.envs.gymnasium_bridge``):
one ``io_callback`` per vectorised step carries the whole batch (seeds x envs x settings) to the
host envs, SAME_STEP auto-reset with the final observation in ``info``, seeded resets from the
JAX key. ALE 0.12's XLA interface (``ale_py.AtariVectorEnv(...).xla()``) also runs inside
``jax.jit``, but it is not used: its auto-reset is NEXT_STEP (the step after a game over returns
the reset observation and ignores its action: one masked, wasted transition per episode and a
final observation that never reaches the learner), its state lives in C++ outside the JAX state
(no ``vmap``: seeds can only be more envs of one vector env; nothing of it in a checkpoint), and
its preprocessing is its own. The bridge gives exactly Gymnasium's transitions, the same
truncation handling as every other jaxrl env, and per-run seeding. The price is speed:
``scripts/bench_atari.py`` (random actions in a jitted scan, 8 or 32 envs, env construction
excluded) measured Breakout at 650-820 env steps/s through the bridge, 1,240-1,650 for the same
Gymnasium envs in a plain Python loop and 2,730-3,740 through ALE's XLA interface (MsPacman:
1,110-1,160, 1,780-1,790, 3,540-4,240); README.md's Atari section has the table.

Resume: the host envs are not in a checkpoint; a resumed run starts new games, each first step
reported as a time-limit truncation (the bridge's stale-state rule). Needs the ``atari`` extra
(``pip install "jaxrl[atari]"``: ale-py, which ships the ROMs, and Gymnasium).
"""

from __future__ import annotations

import functools
from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxrl.envs.gymnasium_bridge import GymnasiumEnv
from jaxrl.errors import ConfigError, unknown_name_error

PREFIX = "ALE/"
INSTALL = 'pip install "jaxrl[atari]"'
FRAME_SKIP = 4
SCREEN_SIZE = 84
V5_MAX_FRAMES = 108_000
EVAL_STEPS = V5_MAX_FRAMES // FRAME_SKIP  # evaluation's cap without a TimeLimit: v5's frame limit in agent steps


def require_ale() -> Any:
    """Gymnasium with ALE's envs registered (``ALE/NAME-v5``), or the extra that brings them."""
    try:
        import ale_py
        import gymnasium
    except ImportError:
        raise ConfigError(f"ALE/ Atari envs need ale-py and Gymnasium: {INSTALL}") from None
    gymnasium.register_envs(ale_py)
    return gymnasium


def available_ids() -> list[str]:
    """Every ``ALE/NAME-v5`` id (none when ale-py or Gymnasium is missing)."""
    try:
        gymnasium = require_ale()
    except ConfigError:
        return []
    return sorted(env_id for env_id in gymnasium.registry if env_id.startswith(PREFIX))


@functools.cache
def _wrappers() -> tuple[type, type]:
    """``(EpisodicLife, SignReward)``: Gymnasium wrappers, defined once Gymnasium is importable."""
    import gymnasium

    class EpisodicLife(gymnasium.Wrapper):
        """A lost life terminates the episode; the reset that follows continues the same game
        with one no-op step, unless the game was really over (or truncated)."""

        def __init__(self, env: Any):
            super().__init__(env)
            self._lives, self._game_over = 0, True

        def step(self, action: Any) -> tuple:
            obs, reward, terminated, truncated, info = self.env.step(action)
            self._game_over = bool(terminated or truncated)
            lives = self.env.unwrapped.ale.lives()
            if 0 < lives < self._lives:
                terminated = True
            self._lives = lives
            return obs, reward, terminated, truncated, info

        def reset(self, *, seed: int | None = None, options: Any = None) -> tuple:
            if self._game_over:
                obs, info = self.env.reset(seed=seed, options=options)
            else:
                obs, _, terminated, truncated, info = self.env.step(0)
                if terminated or truncated:
                    obs, info = self.env.reset(seed=seed, options=options)
            self._game_over = False
            self._lives = self.env.unwrapped.ale.lives()
            return obs, info

    class SignReward(gymnasium.RewardWrapper):
        """Every reward replaced by its sign (-1, 0 or 1)."""

        def reward(self, reward: Any) -> float:
            return float(np.sign(reward))

    return EpisodicLife, SignReward


def make_atari(env_id: str, *, episodic_life: bool = False, clip_rewards: bool = False, noop_max: int = 30,
               frame_stack: int = 4, repeat_action_probability: float = 0.25, full_action_space: bool = False,
               max_episode_steps: int | None = None, **ale_kwargs: Any) -> Any:
    """The Gymnasium env behind ``env_id`` (an ``ALE/NAME-v5`` id): v5 with frame skip 1 under the
    preprocessing described in the module's docstring; uint8 observations ``[84, 84, frame_stack]``."""
    gymnasium = require_ale()
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation, TimeLimit, TransformObservation

    env = gymnasium.make(env_id, frameskip=1, repeat_action_probability=float(repeat_action_probability),
                         full_action_space=bool(full_action_space), **ale_kwargs)
    env = AtariPreprocessing(env, noop_max=int(noop_max), frame_skip=FRAME_SKIP, screen_size=SCREEN_SIZE,
                             grayscale_obs=True)
    episodic, sign = _wrappers()
    if episodic_life:
        env = episodic(env)
    if clip_rewards:
        env = sign(env)
    env = FrameStackObservation(env, int(frame_stack))
    space = gymnasium.spaces.Box(0, 255, (SCREEN_SIZE, SCREEN_SIZE, int(frame_stack)), np.uint8)
    env = TransformObservation(env, lambda obs: np.moveaxis(np.asarray(obs), 0, -1), space)
    if max_episode_steps is not None:
        env = TimeLimit(env, max_episode_steps=int(max_episode_steps))
    return env


class AtariEnv(GymnasiumEnv):
    """An ``ALE/NAME-v5`` id stepped through the Gymnasium bridge (see the module's docstring)."""

    def __init__(self, env_id: str, **options: Any):
        for name in ("episodic_life", "clip_rewards", "full_action_space"):
            if name in options and not isinstance(options[name], (bool, np.bool_)):
                raise ConfigError(f"argument {name} must be true or false, not {options[name]!r}")
        self._options = dict(options)
        self._evaluation: AtariEnv | None = None
        super().__init__(env_id, lambda: make_atari(env_id, **options), obs_dtype=jnp.uint8, eval_steps=EVAL_STEPS)

    @property
    def name(self) -> str:
        return self.env_id

    @property
    def training_only(self) -> dict[str, bool]:
        """The training-only options and whether each is on."""
        return {name: bool(self._options.get(name, False)) for name in ("episodic_life", "clip_rewards")}

    @property
    def evaluation_env(self) -> "AtariEnv":
        """The env evaluation steps: this one with ``episodic_life`` and ``clip_rewards`` off (itself
        when both are off), so that scores are the real game's."""
        if not any(self.training_only.values()):
            return self
        if self._evaluation is None:
            options = {k: v for k, v in self._options.items() if k not in self.training_only}
            self._evaluation = AtariEnv(self.env_id, **options)
        return self._evaluation


def factory(name: str) -> Any:
    """``make_env``'s constructor for the id ``ALE/NAME`` (``name`` e.g. "Breakout-v5"); keyword
    arguments as in ``make_atari``."""
    gymnasium = require_ale()
    env_id = PREFIX + name
    if env_id not in gymnasium.registry:
        raise unknown_name_error("Atari env id", env_id, available_ids())

    def make(max_episode_steps: int | None = None, **kwargs: Any) -> AtariEnv:
        return AtariEnv(env_id, max_episode_steps=max_episode_steps, **kwargs)  # make_env names a bad argument

    make.takes_any_kwargs = True  # type: ignore[attr-defined]  # ALE's constructor checks them
    return make
