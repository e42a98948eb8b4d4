"""Exact solutions of finite MDPs from their transition tables (test oracles, optimum reports)."""

from __future__ import annotations

import numpy as np

from jaxrl.envs.tabular_env import TransitionTable


def bellman_backup(table: TransitionTable, values: np.ndarray, gamma: float) -> np.ndarray:
    """Q(s, a) = sum_k p_k (r_k + gamma (1 - terminated_k) V(s'_k)), for every (s, a)."""
    continuation = gamma * (1.0 - table.terminated) * values[table.next_state]
    return np.sum(table.probs * (table.reward + continuation), axis=-1)


def q_value_iteration(table: TransitionTable, gamma: float, tol: float = 1e-12, max_iterations: int = 100_000) -> np.ndarray:
    """Q* by value iteration. Time limits are ignored: they truncate, they do not change Q*."""
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"value iteration needs gamma in [0, 1), got {gamma}")
    q = np.zeros(table.probs.shape[:2])
    for _ in range(max_iterations):
        new_q = bellman_backup(table, q.max(axis=1), gamma)
        if np.max(np.abs(new_q - q)) < tol:
            return new_q
        q = new_q
    raise RuntimeError("value iteration did not converge")


def q_policy_evaluation(table: TransitionTable, policy: np.ndarray, gamma: float, tol: float = 1e-12) -> np.ndarray:
    """Q^pi for a stochastic policy ``policy[s, a]`` (e.g. SARSA's epsilon-greedy fixed point)."""
    q = np.zeros(table.probs.shape[:2])
    while True:
        new_q = bellman_backup(table, np.sum(policy * q, axis=1), gamma)
        if np.max(np.abs(new_q - q)) < tol:
            return new_q
        q = new_q
