"""JAX-native FrozenLake, Taxi and CliffWalking, transition for transition as in Gymnasium 1.3.

Each env builds Gymnasium's own table ``P[s][a] = [(p, s', r, terminated), ...]`` with one
function that mirrors ``gymnasium/envs/toy_text/{frozen_lake,taxi,cliffwalking}.py`` (same
outcome order, so the same uniform draw picks the same outcome), and steps it with ``TabularEnv``.
Time limits are Gymnasium's registered ``max_episode_steps``.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jaxrl.envs.tabular_env import (
    TabularEnv,
    TabularEnvParams,
    TabularEnvState,
    TransitionTable,
    table_from_outcomes,
)

Outcomes = list[tuple[float, int, float, bool]]

# ---------------------------------------------------------------------------------------------
# FrozenLake
# ---------------------------------------------------------------------------------------------

FROZEN_LAKE_MAPS: dict[str, list[str]] = {
    "4x4": ["SFFF", "FHFH", "FFFH", "HFFG"],
    "8x8": [
        "SFFFFFFF",
        "FFFFFFFF",
        "FFFHFFFF",
        "FFFFFHFF",
        "FFFHFFFF",
        "FHHFFFHF",
        "FHFFHFHF",
        "FFFHFFFG",
    ],
}
FROZEN_LAKE_TIME_LIMITS: dict[str, int] = {"4x4": 100, "8x8": 200}  # FrozenLake-v1, FrozenLake8x8-v1


def frozen_lake_table(
    desc: Sequence[str],
    is_slippery: bool = True,
    success_rate: float = 1.0 / 3.0,
    reward_schedule: Sequence[float] = (1, 0, 0),
) -> TransitionTable:
    """Gymnasium's ``FrozenLakeEnv.P``. Actions: 0 left, 1 down, 2 right, 3 up."""
    nrow, ncol = len(desc), len(desc[0])
    fail_rate = (1.0 - success_rate) / 2.0

    def to_s(row: int, col: int) -> int:
        return row * ncol + col

    def inc(row: int, col: int, a: int) -> tuple[int, int]:
        if a == 0:
            col = max(col - 1, 0)
        elif a == 1:
            row = min(row + 1, nrow - 1)
        elif a == 2:
            col = min(col + 1, ncol - 1)
        elif a == 3:
            row = max(row - 1, 0)
        return row, col

    def outcome(row: int, col: int, a: int) -> tuple[int, float, bool]:
        new_row, new_col = inc(row, col, a)
        letter = desc[new_row][new_col]
        reward = reward_schedule["GHF".index(letter if letter in "GHF" else "F")]
        return to_s(new_row, new_col), reward, letter in "GH"

    P: dict[int, dict[int, Outcomes]] = {}
    for row in range(nrow):
        for col in range(ncol):
            s = to_s(row, col)
            P[s] = {}
            for a in range(4):
                if desc[row][col] in "GH":
                    P[s][a] = [(1.0, s, 0, True)]
                elif is_slippery:
                    P[s][a] = [
                        (success_rate if b == a else fail_rate, *outcome(row, col, b))
                        for b in [(a - 1) % 4, a, (a + 1) % 4]
                    ]
                else:
                    P[s][a] = [(1.0, *outcome(row, col, a))]
    initial = np.array([letter == "S" for line in desc for letter in line], np.float64)
    return table_from_outcomes(P, initial)


class FrozenLake(TabularEnv):
    """Gymnasium's ``FrozenLake-v1`` / ``FrozenLake8x8-v1``: cross the lake from S to G avoiding holes.

    ``desc`` (rows of ``S``/``F``/``H``/``G``) overrides ``map_name`` as in Gymnasium; random maps
    (``map_name=None`` without ``desc``) are not generated here. The time limit is 200 for
    ``map_name="8x8"`` and 100 otherwise, which is what ``gymnasium.make`` gives for the two ids.
    """

    env_name = "FrozenLake-v1"

    def __init__(
        self,
        map_name: str | None = "4x4",
        desc: Sequence[str] | None = None,
        is_slippery: bool = True,
        success_rate: float = 1.0 / 3.0,
        reward_schedule: Sequence[float] = (1, 0, 0),
    ):
        if map_name is not None and map_name not in FROZEN_LAKE_MAPS:
            raise ValueError(f"unknown FrozenLake map_name {map_name!r}; valid: {sorted(FROZEN_LAKE_MAPS)}")
        if desc is None:
            if map_name is None:
                raise ValueError(
                    "FrozenLake(map_name=None) would need a random map, which we do not generate: "
                    "pass desc=[...] (e.g. from gymnasium.envs.toy_text.frozen_lake.generate_random_map)"
                )
            desc = FROZEN_LAKE_MAPS[map_name]
        desc = ["".join(line) for line in desc]
        if not desc or not desc[0] or any(len(line) != len(desc[0]) for line in desc):
            raise ValueError(f"FrozenLake desc must be a non-empty rectangle of equal-length rows, got {desc}")
        if set("".join(desc)) - set("SFHG"):
            raise ValueError(f"FrozenLake desc may only contain the tiles S, F, H, G, got {desc}")
        if "S" not in "".join(desc):
            raise ValueError(f"FrozenLake desc needs a start tile 'S', got {desc}")
        if not 0.0 <= success_rate <= 1.0:
            raise ValueError(f"success_rate must be in [0, 1], got {success_rate}")
        if len(reward_schedule) != 3:
            raise ValueError(f"reward_schedule is (goal, hole, frozen), got {reward_schedule}")

        self.desc: list[str] = desc
        self.nrow, self.ncol = len(desc), len(desc[0])
        self.map_name = map_name
        self.is_slippery = is_slippery
        self.success_rate = success_rate
        self.reward_schedule = tuple(reward_schedule)
        table = frozen_lake_table(desc, is_slippery, success_rate, reward_schedule)
        super().__init__(table, max_steps=FROZEN_LAKE_TIME_LIMITS.get(map_name, 100))
        self._is_goal = jnp.asarray([letter == "G" for line in desc for letter in line])

    def is_success(self, next_position: jax.Array, reward: jax.Array, terminated: jax.Array) -> jax.Array:
        """The episode ended on the goal tile (rather than in a hole or by the time limit)."""
        del reward
        return jnp.logical_and(terminated, self._is_goal[next_position])


# ---------------------------------------------------------------------------------------------
# Taxi
# ---------------------------------------------------------------------------------------------

TAXI_MAP: list[str] = [
    "+---------+",
    "|R: | : :G|",
    "| : | : : |",
    "| : : : : |",
    "| | : | : |",
    "|Y| : |B: |",
    "+---------+",
]
TAXI_LOCS: list[tuple[int, int]] = [(0, 0), (0, 4), (4, 0), (4, 3)]  # R, G, Y, B
TAXI_IN_TAXI = 4  # pass_loc of a passenger riding in the taxi


def taxi_encode(taxi_row: Any, taxi_col: Any, pass_loc: Any, dest_idx: Any) -> Any:
    """State index of (taxi row, taxi col, passenger location 0-4, destination 0-3), as Gymnasium."""
    return ((taxi_row * 5 + taxi_col) * 5 + pass_loc) * 4 + dest_idx


def taxi_decode(s: Any) -> tuple[Any, Any, Any, Any]:
    """Inverse of ``taxi_encode``; arithmetic only, so it works on ints, NumPy and JAX arrays."""
    return s // 100, (s // 20) % 5, (s // 4) % 5, s % 4


def taxi_table(is_rainy: bool = False, rainy_probability: float = 0.8) -> TransitionTable:
    """Gymnasium's ``TaxiEnv.P`` (dry or rainy). Actions: 0 south, 1 north, 2 east, 3 west, 4 pickup, 5 dropoff."""
    desc, locs, max_row, max_col = TAXI_MAP, TAXI_LOCS, 4, 4
    lateral_probability = (1.0 - rainy_probability) / 2.0
    # (forward, left, right) of each heading, as in Gymnasium's _build_rainy_transitions.
    moves = {
        0: ((1, 0), (0, 1), (0, -1)),
        1: ((-1, 0), (0, -1), (0, 1)),
        2: ((0, 1), (-1, 0), (1, 0)),
        3: ((0, -1), (1, 0), (-1, 0)),
    }

    def pickup(taxi_loc: tuple[int, int], pass_idx: int) -> tuple[int, float]:
        if pass_idx < 4 and taxi_loc == locs[pass_idx]:
            return TAXI_IN_TAXI, -1
        return pass_idx, -10

    def dropoff(taxi_loc: tuple[int, int], pass_idx: int, dest_idx: int) -> tuple[int, float, bool]:
        if taxi_loc == locs[dest_idx] and pass_idx == TAXI_IN_TAXI:
            return dest_idx, 20, True
        if taxi_loc in locs and pass_idx == TAXI_IN_TAXI:
            return locs.index(taxi_loc), -1, False
        return pass_idx, -10, False

    def can_move(row: int, col: int, action: int) -> bool:
        """The intended move is not blocked by the grid boundary or a wall."""
        return (
            (action == 0 and row < max_row)
            or (action == 1 and row > 0)
            or (action == 2 and desc[1 + row][2 * col + 2] == ":")
            or (action == 3 and desc[1 + row][2 * col] == ":")
        )

    def calc_new_position(row: int, col: int, movement: tuple[int, int]) -> tuple[int, int]:
        """Gymnasium's ``_calc_new_position``: a lateral (rainy) move, blocked by east/west walls."""
        dr, dc = movement
        new_row = max(0, min(row + dr, max_row))
        new_col = max(0, min(col + dc, max_col))
        if dc == 1 and desc[1 + new_row][2 * new_col] != ":":
            return row, col
        if dc == -1 and desc[1 + new_row][2 * new_col + 2] != ":":
            return row, col
        return new_row, new_col

    P: dict[int, dict[int, Outcomes]] = {}
    initial = np.zeros(500)
    for row in range(5):
        for col in range(5):
            for pass_idx in range(len(locs) + 1):
                for dest_idx in range(len(locs)):
                    state = taxi_encode(row, col, pass_idx, dest_idx)
                    if pass_idx < 4 and pass_idx != dest_idx:
                        initial[state] += 1
                    P[state] = {}
                    for action in range(6):
                        new_row, new_col, new_pass_idx = row, col, pass_idx
                        reward, terminated = -1, False
                        left_pos = right_pos = (row, col)
                        if action <= 3 and can_move(row, col, action):
                            dr, dc = moves[action][0]
                            new_row, new_col = row + dr, col + dc
                            left_pos = calc_new_position(row, col, moves[action][1])
                            right_pos = calc_new_position(row, col, moves[action][2])
                        elif action == 4:
                            new_pass_idx, reward = pickup((row, col), pass_idx)
                        elif action == 5:
                            new_pass_idx, reward, terminated = dropoff((row, col), pass_idx, dest_idx)
                        intended = taxi_encode(new_row, new_col, new_pass_idx, dest_idx)
                        if is_rainy and action <= 3:
                            P[state][action] = [
                                (rainy_probability, intended, -1, terminated),
                                (lateral_probability, taxi_encode(*left_pos, new_pass_idx, dest_idx), -1, terminated),
                                (lateral_probability, taxi_encode(*right_pos, new_pass_idx, dest_idx), -1, terminated),
                            ]
                        else:
                            P[state][action] = [(1.0, intended, reward, terminated)]
    return table_from_outcomes(P, initial)


@struct.dataclass
class TaxiState(TabularEnvState):
    """Adds Gymnasium's ``fickle_step``: the passenger may still change their mind this episode."""

    fickle_step: jax.Array


class Taxi(TabularEnv):
    """Gymnasium's ``Taxi-v4``: pick up the passenger and drop them at their destination.

    ``is_rainy``: moves go as intended with ``rainy_probability``, else sideways (walls permitting).
    ``fickle_passenger``: with ``fickle_probability`` per episode, the passenger changes destination
    (uniformly among the other three) on the first move the taxi makes with them aboard.
    """

    env_name = "Taxi-v4"
    default_max_steps = 200
    desc = TAXI_MAP
    locs = TAXI_LOCS
    encode = staticmethod(taxi_encode)
    decode = staticmethod(taxi_decode)

    def __init__(
        self,
        is_rainy: bool = False,
        fickle_passenger: bool = False,
        rainy_probability: float = 0.8,
        fickle_probability: float = 0.3,
    ):
        for label, value in (("rainy_probability", rainy_probability), ("fickle_probability", fickle_probability)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{label} must be in [0, 1], got {value}")
        self.is_rainy = is_rainy
        self.fickle_passenger = fickle_passenger
        self.rainy_probability = rainy_probability
        self.fickle_probability = fickle_probability
        super().__init__(taxi_table(is_rainy, rainy_probability))

    def reset_env(self, key: jax.Array, params: TabularEnvParams) -> tuple[jax.Array, TaxiState]:
        key_start, key_fickle = jax.random.split(key)
        position = self.sample_start(key_start)
        fickle_step = jnp.logical_and(
            self.fickle_passenger, jax.random.uniform(key_fickle) < self.fickle_probability
        )
        return position, TaxiState(time=jnp.zeros((), jnp.int32), position=position, fickle_step=fickle_step)

    def step_env(
        self, key: jax.Array, state: TaxiState, action: Any, params: TabularEnvParams
    ) -> tuple[jax.Array, TaxiState, jax.Array, jax.Array, dict[str, Any]]:
        key_outcome, key_fickle = jax.random.split(key)
        next_position, reward, terminated = self.sample_outcome(key_outcome, state.position, action)
        fickle_step = state.fickle_step
        if self.fickle_passenger:
            row, col, pass_loc, dest = taxi_decode(state.position)
            next_row, next_col, next_pass_loc, _ = taxi_decode(next_position)
            moved = jnp.logical_or(next_row != row, next_col != col)
            change = fickle_step & (pass_loc == TAXI_IN_TAXI) & moved
            other = jax.random.randint(key_fickle, (), 0, 3)  # index into [d for d in range(4) if d != dest]
            new_dest = other + (other >= dest)
            changed_position = taxi_encode(next_row, next_col, next_pass_loc, new_dest).astype(jnp.int32)
            next_position = jnp.where(change, changed_position, next_position)
            fickle_step = jnp.logical_and(fickle_step, jnp.logical_not(change))
        next_state = state.replace(position=next_position, time=state.time + 1, fickle_step=fickle_step)
        return next_position, next_state, reward, terminated, {}

    def is_success(self, next_position: jax.Array, reward: jax.Array, terminated: jax.Array) -> jax.Array:
        """A successful dropoff is Taxi's only termination."""
        del next_position, reward
        return jnp.asarray(terminated, bool)


# ---------------------------------------------------------------------------------------------
# CliffWalking
# ---------------------------------------------------------------------------------------------

CLIFF_SHAPE = (4, 12)
CLIFF_START = 36  # (3, 0)
CLIFF_GOAL = (3, 11)


def cliff_walking_table(is_slippery: bool = False) -> TransitionTable:
    """Gymnasium's ``CliffWalkingEnv.P``. Actions: 0 up, 1 right, 2 down, 3 left."""
    nrow, ncol = CLIFF_SHAPE
    position_mapping = {0: (-1, 0), 1: (0, 1), 2: (1, 0), 3: (0, -1)}

    def is_cliff(row: int, col: int) -> bool:
        return row == nrow - 1 and 1 <= col < ncol - 1

    def transitions(row: int, col: int, move: int) -> Outcomes:
        moves = [(move - 1) % 4, move, (move + 1) % 4] if is_slippery else [move]
        outcomes = []
        for m in moves:
            dr, dc = position_mapping[m]
            new_row = min(max(row + dr, 0), nrow - 1)
            new_col = min(max(col + dc, 0), ncol - 1)
            if is_cliff(new_row, new_col):
                outcomes.append((1 / len(moves), CLIFF_START, -100, False))
            else:
                terminated = (new_row, new_col) == CLIFF_GOAL
                outcomes.append((1 / len(moves), new_row * ncol + new_col, -1, terminated))
        return outcomes

    P = {
        row * ncol + col: {a: transitions(row, col, a) for a in range(4)}
        for row in range(nrow)
        for col in range(ncol)
    }
    initial = np.zeros(nrow * ncol)
    initial[CLIFF_START] = 1.0
    return table_from_outcomes(P, initial)


class CliffWalking(TabularEnv):
    """Gymnasium's ``CliffWalking-v1`` (``is_slippery=True``: ``CliffWalkingSlippery-v1``).

    Walk from (3, 0) to (3, 11) at -1 per step; stepping into the cliff costs -100 and sends the
    agent back to the start without ending the episode. Gymnasium registers no time limit for
    CliffWalking; ours is ``max_episode_steps`` (default 1000, our choice, so that episodes end).
    """

    env_name = "CliffWalking-v1"
    shape = CLIFF_SHAPE

    def __init__(self, is_slippery: bool = False, max_episode_steps: int = 1000):
        if int(max_episode_steps) < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps}")
        self.is_slippery = is_slippery
        super().__init__(cliff_walking_table(is_slippery), max_steps=int(max_episode_steps))

    def is_success(self, next_position: jax.Array, reward: jax.Array, terminated: jax.Array) -> jax.Array:
        """Reaching the goal is CliffWalking's only termination."""
        del next_position, reward
        return jnp.asarray(terminated, bool)
