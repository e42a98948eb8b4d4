"""Our JAX FrozenLake, Taxi and CliffWalking against Gymnasium's, table entry by table entry and
step by step (Gymnasium's random draws are forced to the outcomes our env sampled)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, Callable

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl.envs.toy_text import CliffWalking, FrozenLake, Taxi, TaxiState, taxi_decode, taxi_encode

CUSTOM_LAKE = ["SFFH", "FHSF", "FFFG"]  # not square, two start tiles
CUSTOM_LAKE_KWARGS = dict(desc=CUSTOM_LAKE, success_rate=0.6, reward_schedule=(2, -1, 0.5))


@dataclasses.dataclass(frozen=True)
class Config:
    label: str
    make: Callable[[], Any]  # our env
    gym_id: str
    gym_kwargs: dict[str, Any]  # passed to gymnasium.make (env kwargs, or max_episode_steps)


CONFIGS = [
    Config("lake4-slippery", lambda: FrozenLake("4x4"), "FrozenLake-v1", {}),
    Config("lake4", lambda: FrozenLake("4x4", is_slippery=False), "FrozenLake-v1", {"is_slippery": False}),
    Config("lake8-slippery", lambda: FrozenLake("8x8"), "FrozenLake8x8-v1", {}),
    Config("lake8", lambda: FrozenLake("8x8", is_slippery=False), "FrozenLake8x8-v1", {"is_slippery": False}),
    Config("lake-custom", lambda: FrozenLake(**CUSTOM_LAKE_KWARGS), "FrozenLake-v1", CUSTOM_LAKE_KWARGS),
    Config("taxi", lambda: Taxi(), "Taxi-v4", {}),
    Config("taxi-rainy", lambda: Taxi(is_rainy=True), "Taxi-v4", {"is_rainy": True}),
    Config(
        "taxi-rainy-0.5",
        lambda: Taxi(is_rainy=True, rainy_probability=0.5),
        "Taxi-v4",
        {"is_rainy": True, "rainy_probability": 0.5},
    ),
    Config("cliff", lambda: CliffWalking(), "CliffWalking-v1", {"max_episode_steps": 1000}),
    Config(
        "cliff-slippery", lambda: CliffWalking(is_slippery=True), "CliffWalkingSlippery-v1", {"max_episode_steps": 1000}
    ),
]
FICKLE_CONFIGS = [
    Config("taxi-fickle", lambda: Taxi(fickle_passenger=True), "Taxi-v4", {"fickle_passenger": True}),
    Config(
        "taxi-rainy-fickle-always",
        lambda: Taxi(is_rainy=True, fickle_passenger=True, fickle_probability=1.0),
        "Taxi-v4",
        {"is_rainy": True, "fickle_passenger": True, "fickle_probability": 1.0},
    ),
]
TRAJECTORY_CONFIGS = [c for c in CONFIGS if c.label != "taxi-rainy-0.5"] + [  # that one: table and frequencies
    *FICKLE_CONFIGS,
    Config(
        "cliff-slippery-limit50",
        lambda: CliffWalking(is_slippery=True, max_episode_steps=50),
        "CliffWalkingSlippery-v1",
        {"max_episode_steps": 50},
    ),
]


def _ids(configs: list[Config]) -> list[str]:
    return [c.label for c in configs]


# -- the tables ------------------------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIGS, ids=_ids(CONFIGS))
def test_table_matches_gymnasium(config: Config) -> None:
    table = config.make().transition_table()
    gym_env = gymnasium.make(config.gym_id, **config.gym_kwargs).unwrapped
    P = gym_env.P
    assert table.num_states == len(P) and table.num_actions == len(P[0])
    for s in range(table.num_states):
        for a in range(table.num_actions):
            outcomes = P[s][a]
            k = len(outcomes)
            np.testing.assert_array_equal(table.probs[s, a, :k], [o[0] for o in outcomes])
            np.testing.assert_array_equal(table.probs[s, a, k:], 0.0)
            np.testing.assert_array_equal(table.next_state[s, a, :k], [o[1] for o in outcomes])
            np.testing.assert_array_equal(table.reward[s, a, :k], np.float32([o[2] for o in outcomes]))
            np.testing.assert_array_equal(table.terminated[s, a, :k], [o[3] for o in outcomes])
    np.testing.assert_allclose(table.initial, gym_env.initial_state_distrib, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    "env, gym_id",
    [(FrozenLake("4x4"), "FrozenLake-v1"), (FrozenLake("8x8"), "FrozenLake8x8-v1"), (Taxi(), "Taxi-v4")],
    ids=["lake4", "lake8", "taxi"],
)
def test_time_limits_are_gymnasiums(env: Any, gym_id: str) -> None:
    assert env.default_params.max_steps_in_episode == gymnasium.spec(gym_id).max_episode_steps


def test_cliff_walking_time_limit_is_ours() -> None:
    assert gymnasium.spec("CliffWalking-v1").max_episode_steps is None
    assert CliffWalking().default_params.max_steps_in_episode == 1000
    assert CliffWalking(max_episode_steps=7).default_params.max_steps_in_episode == 7


def test_names_and_spaces() -> None:
    for env, name, num_states, num_actions in [
        (FrozenLake("8x8"), "FrozenLake-v1", 64, 4),
        (Taxi(), "Taxi-v4", 500, 6),
        (CliffWalking(), "CliffWalking-v1", 48, 4),
    ]:
        assert env.name == name
        assert env.observation_space(env.default_params).n == num_states
        assert env.action_space(env.default_params).n == num_actions
    lake = FrozenLake(desc=CUSTOM_LAKE)
    assert (lake.desc, lake.nrow, lake.ncol) == (CUSTOM_LAKE, 3, 4)
    gym_taxi = gymnasium.make("Taxi-v4").unwrapped
    for s in range(500):
        assert taxi_decode(s) == gym_taxi.decode(s) and taxi_encode(*taxi_decode(s)) == s
    assert Taxi.decode(taxi_encode(4, 3, 4, 1)) == (4, 3, 4, 1)


def test_argument_validation() -> None:
    with pytest.raises(ValueError, match="4x4"):
        FrozenLake("5x5")
    with pytest.raises(ValueError, match="desc"):
        FrozenLake(map_name=None)
    with pytest.raises(ValueError, match="success_rate"):
        FrozenLake(success_rate=1.5)
    with pytest.raises(ValueError, match="rectangle"):
        FrozenLake(desc=["SFF", "FG"])
    with pytest.raises(ValueError, match="tiles"):
        FrozenLake(desc=["SX", "FG"])
    with pytest.raises(ValueError, match="rainy_probability"):
        Taxi(is_rainy=True, rainy_probability=-0.1)
    with pytest.raises(ValueError, match="max_episode_steps"):
        CliffWalking(max_episode_steps=0)
    assert FrozenLake(map_name=None, desc=["SG"]).default_params.max_steps_in_episode == 100


# -- side-by-side trajectories ----------------------------------------------------------------


class ForcedRandom:
    """Stands in for Gymnasium's ``np_random``: hands out the draws that reproduce our env's outcomes."""

    def __init__(self) -> None:
        self.draws: list[float] = []
        self.choices: list[int] = []

    def random(self) -> float:
        return self.draws.pop(0)

    def choice(self, options: list[int]) -> int:
        choice = self.choices.pop(0)
        assert choice in options
        return choice

    def assert_used_up(self) -> None:
        assert not self.draws and not self.choices


def draw_for(probs: Any, k: int) -> float:
    """A uniform draw for which ``argmax(cumsum(probs) > u)`` (Gymnasium's categorical_sample) is ``k``."""
    cumulative = np.cumsum(np.asarray(probs, np.float64))
    low = cumulative[k - 1] if k > 0 else 0.0
    assert cumulative[k] > low, "outcome has probability zero"
    return float((low + cumulative[k]) / 2)


def rollout(env: Any, seed: int, num_steps: int) -> tuple[int, bool, dict[str, list]]:
    """Our env under uniformly random actions, as one jitted scan (with auto-reset)."""
    params = env.default_params

    @jax.jit
    def run(key: jax.Array) -> tuple:
        key_reset, key_actions, key_steps = jax.random.split(key, 3)
        obs, state = env.reset(key_reset, params)
        actions = jax.random.randint(key_actions, (num_steps,), 0, env.num_actions)

        def body(state: Any, xs: tuple) -> tuple:
            key, action = xs
            obs, next_state, reward, terminated, truncated, info = env.step(key, state, action, params)
            record = dict(
                position=state.position,
                action=action,
                obs=obs,
                reward=reward,
                terminated=terminated,
                truncated=truncated,
                final=info["final_observation"],
                fickle_step=getattr(next_state, "fickle_step", jnp.zeros((), bool)),
            )
            return next_state, record

        _, records = jax.lax.scan(body, state, (jax.random.split(key_steps, num_steps), actions))
        return obs, getattr(state, "fickle_step", jnp.zeros((), bool)), records

    obs, fickle_step, records = run(jax.random.PRNGKey(seed))
    return int(obs), bool(fickle_step), {name: np.asarray(value).tolist() for name, value in records.items()}


def compare_with_gymnasium(config: Config, num_steps: int, seed: int = 0) -> dict[str, int]:
    env = config.make()
    fickle = isinstance(env, Taxi) and env.fickle_passenger
    gym_env = gymnasium.make(config.gym_id, **config.gym_kwargs)
    forced = ForcedRandom()
    gym_env.unwrapped.np_random = forced
    P, initial = gym_env.unwrapped.P, gym_env.unwrapped.initial_state_distrib
    counts = dict(episodes=1, terminated=0, truncated=0, fickle_changes=0, stochastic_steps=0)

    def reset_gymnasium(start: int, fickle_step: bool) -> None:
        assert initial[start] > 0
        forced.draws.append(draw_for(initial, start))
        if fickle:
            p = env.fickle_probability
            forced.draws.append(p / 2 if fickle_step else (1 + p) / 2)
        gym_obs, _ = gym_env.reset()
        forced.assert_used_up()
        assert gym_obs == start
        if fickle:
            assert gym_env.unwrapped.fickle_step == fickle_step

    obs, fickle_step, rec = rollout(env, seed, num_steps)
    reset_gymnasium(obs, fickle_step)
    for t in range(num_steps):
        s, a, final = rec["position"][t], rec["action"][t], rec["final"][t]
        assert s == gym_env.unwrapped.s
        sampled = final  # the table's outcome, before a fickle passenger changes their destination
        if fickle and taxi_decode(final)[3] != taxi_decode(s)[3]:
            row, col, pass_loc, new_dest = taxi_decode(final)
            sampled = taxi_encode(row, col, pass_loc, taxi_decode(s)[3])
            forced.choices.append(new_dest)
            counts["fickle_changes"] += 1
        # Outcomes can share a next state (slippery CliffWalking: a step left at the start, or into
        # the cliff), so we identify ours by (next state, reward, terminated); any equal one will do.
        outcomes = P[s][a]
        ours = (sampled, rec["reward"][t], rec["terminated"][t])
        matches = [
            k for k, (p, s_next, r, term) in enumerate(outcomes) if p > 0 and (s_next, np.float32(r), term) == ours
        ]
        assert matches, f"{config.label}: step {t} from {s} by {a} gave {ours}, not a possible outcome"
        counts["stochastic_steps"] += len(outcomes) > 1
        forced.draws.append(draw_for([o[0] for o in outcomes], matches[0]))

        gym_obs, gym_reward, gym_terminated, gym_truncated, _ = gym_env.step(a)
        forced.assert_used_up()
        assert gym_obs == final, f"{config.label}: step {t}"
        assert np.float32(gym_reward) == rec["reward"][t]
        assert gym_terminated == rec["terminated"][t]
        assert gym_truncated == rec["truncated"][t]
        if rec["terminated"][t] or rec["truncated"][t]:
            counts["episodes"] += 1
            counts["terminated"] += rec["terminated"][t]
            counts["truncated"] += rec["truncated"][t]
            reset_gymnasium(rec["obs"][t], rec["fickle_step"][t])
        else:
            assert rec["obs"][t] == final
    return counts


@pytest.mark.parametrize("config", TRAJECTORY_CONFIGS, ids=_ids(TRAJECTORY_CONFIGS))
def test_trajectories_match_gymnasium(config: Config) -> None:
    counts = compare_with_gymnasium(config, num_steps=3000)
    if config.label.startswith("lake"):
        assert counts["terminated"] > 0
    if config.label.endswith("limit50"):
        assert counts["truncated"] > 5
    if config.label == "taxi-rainy-fickle-always":
        assert counts["fickle_changes"] > 0


# -- sampling statistics ----------------------------------------------------------------------


def _assert_frequencies(samples: list, expected: dict[Any, float], num_samples: int) -> None:
    observed = {value: count / num_samples for value, count in Counter(samples).items()}
    assert set(observed) <= set(expected), "sampled an outcome outside the support"
    for value, p in expected.items():
        std = np.sqrt(p * (1 - p) / num_samples)
        assert abs(observed.get(value, 0.0) - p) <= 5 * std + 1e-9, (value, observed.get(value), p)


@pytest.mark.parametrize(
    "env, cases",
    [
        # (position, action): 4x4 corner stays put w.p. 2/3; from 6 right: hole 7, down 10, up 2
        (FrozenLake("4x4"), [(0, 0), (6, 2)]),
        (FrozenLake(**CUSTOM_LAKE_KWARGS), [(0, 2), (6, 1)]),
        # rainy south from (2, 2); rainy east from (1, 1), which is walled off
        (Taxi(is_rainy=True), [(taxi_encode(2, 2, 0, 1), 0), (taxi_encode(1, 1, 4, 3), 2)]),
        (Taxi(is_rainy=True, rainy_probability=0.5), [(taxi_encode(3, 1, 4, 3), 3)]),
        # down into the cliff (back to 36) or sideways; at the start, left (-1) and right (-100) both give 36
        (CliffWalking(is_slippery=True), [(29, 2), (36, 0)]),
    ],
    ids=["lake4", "lake-custom", "taxi-rainy", "taxi-rainy-0.5", "cliff-slippery"],
)
def test_outcome_frequencies_match_table(env: Any, cases: list[tuple[int, int]]) -> None:
    num_samples = 20_000
    params = env.default_params
    table = env.transition_table()
    _, state = env.reset(jax.random.PRNGKey(0), params)
    positions, actions = (jnp.repeat(jnp.int32(column), num_samples) for column in zip(*cases))
    states = jax.tree.map(lambda leaf: jnp.broadcast_to(leaf, positions.shape), state).replace(position=positions)
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    keys = jax.random.split(jax.random.PRNGKey(1), len(positions))
    _, _, reward, terminated, _, info = step(keys, states, actions, params)
    samples = np.stack([info["final_observation"], reward, terminated], axis=1).reshape(len(cases), num_samples, 3)
    for (position, action), case_samples in zip(cases, samples.tolist()):
        expected: dict[tuple, float] = {}  # outcomes with equal (next state, reward, terminated) pooled
        for k, p in enumerate(table.probs[position, action]):
            if p > 0:
                outcome = (
                    int(table.next_state[position, action, k]),
                    float(table.reward[position, action, k]),
                    bool(table.terminated[position, action, k]),
                )
                expected[outcome] = expected.get(outcome, 0.0) + float(p)
        outcomes = [(int(s), float(r), bool(d)) for s, r, d in case_samples]
        _assert_frequencies(outcomes, expected, num_samples)


def test_taxi_reset_distribution_and_fickle_draw() -> None:
    num_samples = 30_000
    env = Taxi(fickle_passenger=True)
    reset = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))
    obs, state = reset(jax.random.split(jax.random.PRNGKey(2), num_samples), env.default_params)
    initial = env.transition_table().initial
    assert np.count_nonzero(initial) == 300
    expected = {int(s): float(initial[s]) for s in np.flatnonzero(initial)}
    _assert_frequencies(np.asarray(obs).tolist(), expected, num_samples)
    _assert_frequencies(np.asarray(state.fickle_step).tolist(), {True: 0.3, False: 0.7}, num_samples)
    np.testing.assert_array_equal(obs, state.position)


def test_fickle_destination_is_uniform_over_the_others() -> None:
    num_samples = 12_000
    env = Taxi(fickle_passenger=True, fickle_probability=1.0)
    params = env.default_params
    _, state = env.reset(jax.random.PRNGKey(0), params)
    state = state.replace(position=jnp.int32(taxi_encode(2, 2, 4, 1)))
    step = jax.jit(jax.vmap(env.step_env, in_axes=(0, None, None, None)))
    obs, next_state, *_ = step(jax.random.split(jax.random.PRNGKey(3), num_samples), state, 0, params)
    expected = {taxi_encode(3, 2, 4, dest): 1 / 3 for dest in (0, 2, 3)}
    _assert_frequencies(np.asarray(obs).tolist(), expected, num_samples)
    assert not np.asarray(next_state.fickle_step).any()


# -- the fickle passenger ---------------------------------------------------------------------


def test_fickle_passenger_scripted() -> None:
    env = Taxi(fickle_passenger=True, fickle_probability=1.0)
    params = env.default_params
    _, state = env.reset(jax.random.PRNGKey(0), params)
    assert bool(state.fickle_step)
    state = state.replace(position=jnp.int32(taxi_encode(0, 0, 0, 1)))  # at R with the passenger, going to G
    expected = [  # (action, row, col, pass_loc, destination changed?, fickle_step after)
        (1, 0, 0, 0, False, True),  # north is blocked; no passenger aboard anyway
        (0, 1, 0, 0, False, True),  # moves without the passenger
        (1, 0, 0, 0, False, True),
        (4, 0, 0, 4, False, True),  # pickup: the passenger was not aboard before this step
        (1, 0, 0, 4, False, True),  # aboard, but the taxi did not move
        (0, 1, 0, 4, True, False),  # first move with the passenger aboard: a new destination
        (1, 0, 0, 4, False, False),  # never twice
        (0, 1, 0, 4, False, False),
    ]
    key = jax.random.PRNGKey(1)
    destination = 1
    for action, row, col, pass_loc, changed, fickle_after in expected:
        key, step_key = jax.random.split(key)
        obs, state, reward, terminated, truncated, _ = env.step(step_key, state, action, params)
        new_row, new_col, new_pass_loc, new_destination = taxi_decode(int(obs))
        assert (new_row, new_col, new_pass_loc) == (row, col, pass_loc)
        assert (new_destination != destination) == changed
        assert bool(state.fickle_step) == fickle_after
        assert not bool(terminated) and not bool(truncated)
        destination = new_destination


@pytest.mark.parametrize("is_rainy", [False, True], ids=["dry", "rainy"])
def test_fickle_passenger_changes_destination_once(is_rainy: bool) -> None:
    """From random passenger-aboard states, under random actions (no auto-reset): the destination
    changes exactly at the first step that moves the taxi, to a different one, and never again."""
    env = Taxi(is_rainy=is_rainy, fickle_passenger=True, fickle_probability=1.0)
    params = env.default_params
    num_envs, num_steps = 256, 60
    rng = np.random.default_rng(4)
    cells, dests = rng.integers(25, size=num_envs), rng.integers(4, size=num_envs)
    start = TaxiState(
        time=jnp.zeros(num_envs, jnp.int32),
        position=jnp.int32(taxi_encode(cells // 5, cells % 5, 4, dests)),
        fickle_step=jnp.ones(num_envs, bool),
    )
    actions = jnp.int32(rng.integers(6, size=(num_steps, num_envs)))

    @jax.jit
    def run(state: TaxiState, actions: jax.Array, keys: jax.Array) -> tuple:
        def body(state: TaxiState, xs: tuple) -> tuple:
            action, key = xs
            _, next_state, _, _, _ = jax.vmap(env.step_env, in_axes=(0, 0, 0, None))(key, state, action, params)
            return next_state, (state.position, next_state.position, next_state.fickle_step)

        return jax.lax.scan(body, state, (actions, keys))[1]

    keys = jax.random.split(jax.random.PRNGKey(4), (num_steps, num_envs))
    before, after, fickle_after = (np.asarray(x).T for x in run(start, actions, keys))
    row, col, pass_loc, dest = taxi_decode(before)
    next_row, next_col, _, next_dest = taxi_decode(after)
    trigger = (pass_loc == 4) & ((row != next_row) | (col != next_col))
    changed = dest != next_dest
    for i in range(num_envs):
        triggers = np.flatnonzero(trigger[i])
        if len(triggers) == 0:
            assert not changed[i].any() and fickle_after[i].all()
            continue
        first = triggers[0]
        assert np.flatnonzero(changed[i]).tolist() == [first]
        assert fickle_after[i, :first].all() and not fickle_after[i, first:].any()
    assert changed.any(axis=1).mean() > 0.9


# -- auto-reset and success -------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, position, action, final, reward, success",
    [
        (FrozenLake("4x4", is_slippery=False), 14, 2, 15, 1.0, True),  # onto the goal
        (FrozenLake("4x4", is_slippery=False), 1, 1, 5, 0.0, False),  # into a hole
        (FrozenLake(desc=["SG"], is_slippery=False, reward_schedule=(0, 0, 0)), 0, 2, 1, 0.0, True),
        (Taxi(), taxi_encode(4, 3, 4, 3), 5, taxi_encode(4, 3, 3, 3), 20.0, True),  # dropoff at B
        (CliffWalking(), 35, 2, 47, -1.0, True),  # down onto the goal
    ],
    ids=["lake-goal", "lake-hole", "lake-zero-reward-goal", "taxi-dropoff", "cliff-goal"],
)
def test_auto_reset_on_termination(
    env: Any, position: int, action: int, final: int, reward: float, success: bool
) -> None:
    params = env.default_params
    _, state = env.reset(jax.random.PRNGKey(0), params)
    state = state.replace(position=jnp.int32(position), time=jnp.int32(5))
    obs, state, r, terminated, truncated, info = env.step(jax.random.PRNGKey(1), state, action, params)
    assert bool(terminated) and not bool(truncated)
    assert int(info["final_observation"]) == final and float(r) == reward
    assert env.transition_table().initial[int(obs)] > 0
    assert int(state.position) == int(obs) and int(state.time) == 0
    assert bool(env.is_success(info["final_observation"], r, terminated)) == success


def test_cliff_is_not_terminal_and_truncation_resets() -> None:
    env = CliffWalking(max_episode_steps=3)
    params = env.default_params
    obs, state = env.reset(jax.random.PRNGKey(0), params)
    assert int(obs) == 36
    step_keys = jax.random.split(jax.random.PRNGKey(1), 3)
    obs, state, reward, terminated, truncated, info = env.step(step_keys[0], state, 1, params)  # into the cliff
    assert (int(obs), float(reward), bool(terminated), bool(truncated)) == (36, -100.0, False, False)
    assert int(state.time) == 1
    obs, state, reward, terminated, truncated, info = env.step(step_keys[1], state, 0, params)  # up
    assert int(obs) == 24 and not bool(truncated)
    obs, state, reward, terminated, truncated, info = env.step(step_keys[2], state, 1, params)  # right: time limit
    assert bool(truncated) and not bool(terminated)
    assert int(info["final_observation"]) == 25 and int(obs) == 36 and int(state.time) == 0
    assert not bool(env.is_success(info["final_observation"], reward, terminated))


def test_is_success_batched() -> None:
    lake = FrozenLake("4x4")
    success = lake.is_success(jnp.array([15, 15, 5, 14]), jnp.zeros(4), jnp.array([True, False, True, False]))
    np.testing.assert_array_equal(success, [True, False, False, False])
    taxi_success = Taxi().is_success(jnp.arange(2), jnp.zeros(2), jnp.array([True, False]))
    np.testing.assert_array_equal(taxi_success, [True, False])
