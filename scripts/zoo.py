"""The zoo: train every shipped preset with its own budget (the documented default command,
``jaxrl.train(ALGO, ENV, env_kwargs=..., seeds=N)``), score each seed's greedy policy in jaxrl and in
Gymnasium's own env where Gymnasium has it, and report mean and IQM with a 95% bootstrap CI.

    python scripts/zoo.py --only dqn/CartPole-v1             # print the row (8 seeds; tabular 32)
    python scripts/zoo.py --only dqn/CartPole-v1 --write     # also record it in the preset's
                                                             # provenance and rewrite docs/ZOO.md
    python scripts/zoo.py --table                            # rewrite docs/ZOO.md and the profile
                                                             # plot from the recorded rows

The performance profile normalises each seed's return as (return - random) / (threshold - random),
where "random" is the uniform-random policy's mean return in the same env (measured here, 100
episodes), so 1 is the threshold on every row. Every row weighs the same in the profile (the share of
its runs above tau, averaged over rows) and in the aggregate (the IQM over rows of each row's mean);
both have 95% stratified bootstrap CIs (seeds resampled within each row).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import types
from pathlib import Path

import jax
import numpy as np

import jaxrl
from jaxrl import presets
from jaxrl import agents
from jaxrl.envs import make_env
from jaxrl.envs.gymnasium_bridge import PREFIX as GYMNASIUM_PREFIX
from jaxrl.evaluate import episode_rollout
from jaxrl.io.files import atomic_write_json
from jaxrl.stats import bootstrap_ci, iqm, stratified_resamples

# jaxrl env id -> Gymnasium's id for the same env (Gymnasium 1.3 renamed Taxi-v3 and CliffWalking-v0)
GYMNASIUM_IDS = {"CartPole-v1": "CartPole-v1", "Acrobot-v1": "Acrobot-v1", "MountainCar-v0": "MountainCar-v0",
                 "Pendulum-v1": "Pendulum-v1", "MountainCarContinuous-v0": "MountainCarContinuous-v0",
                 "FrozenLake-v1": "FrozenLake-v1", "FrozenLake8x8-v1": "FrozenLake8x8-v1", "Taxi-v3": "Taxi-v4",
                 "CliffWalking-v0": "CliffWalking-v1", "StatelessCartPole-v1": "CartPole-v1"}
# Ours that observe a Gymnasium env partially: the observation the policy sees from Gymnasium's.
GYMNASIUM_OBSERVATIONS = {"StatelessCartPole-v1": lambda obs: obs[[0, 2]]}
DOCS = Path(__file__).resolve().parent.parent / "docs"
ZOO_FILE, PROFILE_FILE = DOCS / "ZOO.md", DOCS / "zoo_profile.png"
# How the machine was loaded when the recorded rows were measured (wall times are not speed figures).
LOAD_NOTE = ("the rows of 2026-11-30 were measured while three to five tuning jobs shared those 2 cores (load average "
             "about 10), so their wall times overstate an idle machine's, by up to about 3x.")
RL_ZOO = "https://github.com/DLR-RM/rl-baselines3-zoo/blob/master/benchmark.md"


def default_seeds(preset: presets.Preset) -> int:
    return 32 if agents.spec(preset.algo).config_cls is agents.tabular.TabularConfig else 8


def gymnasium_returns(result: jaxrl.TrainResult, preset: presets.Preset, episodes: int) -> np.ndarray | None:
    """Each seed's mean return over ``episodes`` episodes of Gymnasium's own env, or None if it has none."""
    gymnasium_id = GYMNASIUM_IDS.get(preset.env)
    if preset.env.startswith(GYMNASIUM_PREFIX):  # the bridge trains on Gymnasium's env itself
        gymnasium_id = preset.env[len(GYMNASIUM_PREFIX):]
    if gymnasium_id is None:
        return None
    import gymnasium as gym

    per_seed = []
    for seed in range(result.run_shape[-1]):
        policy, env, total = result.policy(seed=seed), gym.make(gymnasium_id, **preset.env_kwargs), 0.0
        observe = GYMNASIUM_OBSERVATIONS.get(preset.env, lambda obs: obs)
        for episode in range(episodes):
            obs, _ = env.reset(seed=10_000 * seed + episode)
            policy.reset()  # a recurrent policy's hidden state starts afresh (feed-forward: nothing)
            done = False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(policy(observe(obs)))
                total += float(reward)
                done = terminated or truncated
        per_seed.append(total / episodes)
    return np.array(per_seed)


def random_return(preset: presets.Preset, episodes: int = 100) -> float:
    """The uniform-random policy's mean return in jaxrl's env (the profile's zero)."""
    env, env_params = make_env(preset.env, **preset.env_kwargs)
    sample = lambda params, obs, key: env.action_space(env_params).sample(key)  # noqa: E731
    uniform = types.SimpleNamespace(env=env, env_params=env_params, act=sample, recurrent_act=None)  # feed-forward
    limit = int(getattr(env_params, "max_steps_in_episode", 10_000))
    returns, _, _ = jax.jit(lambda key: episode_rollout(uniform, None, key, episodes, limit))(jax.random.key(0))
    return float(np.mean(returns))


def measure(preset: presets.Preset, seeds: int, episodes: int) -> dict:
    """Train the preset's pair with the default command and score it; the measured fields."""
    start = time.perf_counter()
    result = jaxrl.train(preset.algo, preset.env, env_kwargs=preset.env_kwargs or None, seeds=seeds, progress=False,
                         preset=preset.name)  # a named variant (ppo/CartPole-v1-zoo) is not its pair's default
    jaxrl_returns = jaxrl.evaluate(result, episodes=100).per_run()["return"]
    wall = time.perf_counter() - start
    gym_returns = gymnasium_returns(result, preset, episodes)
    point, low, high = bootstrap_ci(jaxrl_returns)
    measured = {"seeds": seeds, "steps": int(result.env_steps[-1]), "mean": float(np.mean(jaxrl_returns)), "iqm": point,
                "iqm_ci95": [low, high], "per_seed": [round(float(r), 4) for r in jaxrl_returns],
                "wall_seconds": round(wall, 1), "random_return": round(random_return(preset), 4),
                "command": f"python scripts/zoo.py --only {preset.name} --seeds {seeds} --write",
                "date": dt.date.today().isoformat()}
    if gym_returns is not None:
        g_point, g_low, g_high = bootstrap_ci(gym_returns)
        measured["gymnasium"] = {"episodes_per_seed": episodes, "mean": float(np.mean(gym_returns)), "iqm": g_point,
                                 "iqm_ci95": [g_low, g_high], "per_seed": [round(float(r), 4) for r in gym_returns]}
    return measured


def met(preset: presets.Preset) -> bool | None:
    """Whether the row's mean return reaches its threshold in jaxrl and (where scored) in Gymnasium."""
    m, threshold = preset.provenance.get("measured"), preset.provenance.get("threshold")
    if not m or threshold is None:
        return None
    return m["mean"] >= threshold and ("gymnasium" not in m or m["gymnasium"]["mean"] >= threshold)


def _interval(block: dict) -> str:
    return f"{block['iqm']:.4g} [{block['iqm_ci95'][0]:.4g}, {block['iqm_ci95'][1]:.4g}] (mean {block['mean']:.4g})"


def row(preset: presets.Preset) -> str:
    prov = preset.provenance
    m, threshold, reference = prov.get("measured"), prov.get("threshold"), prov.get("reference", {})
    ref = f"{reference['figure']:.4g} at {reference['steps']}" if reference else ""
    env = preset.env + "".join(f" {k}={v}" for k, v in preset.env_kwargs.items())
    if not m:
        return f"| {preset.algo} | {env} | {preset.steps:,} | not measured yet | | | {threshold} | {ref} | |"
    gym_text = _interval(m["gymnasium"]) if "gymnasium" in m else "n/a"
    verdict = {True: "yes", False: "**no**", None: ""}[met(preset)]
    return (f"| {preset.algo} | {env} | {m['steps']:,} x {m['seeds']} | {_interval(m)} | {gym_text} | "
            f"{m['wall_seconds']} s | {threshold} | {ref} | {verdict} |")


def normalised(preset: presets.Preset) -> np.ndarray | None:
    """Each seed's return scaled so that the random policy is 0 and the threshold 1."""
    m, threshold = preset.provenance.get("measured"), preset.provenance.get("threshold")
    if not m or threshold is None or "random_return" not in m or threshold == m["random_return"]:
        return None
    return (np.array(m["per_seed"]) - m["random_return"]) / (threshold - m["random_return"])


def profile(scores: list[np.ndarray], taus: np.ndarray) -> np.ndarray:
    """The fraction of each row's runs scoring above each tau, averaged over rows (every row weighs
    the same, whether it has 8 seeds or 32)."""
    return np.mean([(s[:, None] > taus[None, :]).mean(0) for s in scores], axis=0)


def row_iqm(scores: list[np.ndarray]) -> float:
    """The IQM over rows of each row's mean normalised return."""
    return iqm(np.array([s.mean() for s in scores]))


def write_profile(scores: dict[str, np.ndarray]) -> None:
    """The performance profile with a 95% stratified bootstrap band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, taus = list(scores.values()), np.linspace(0.0, 1.5, 301)
    low, high = np.percentile([profile(draw, taus) for draw in stratified_resamples(rows, 1_000)], [2.5, 97.5], axis=0)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(taus, profile(rows, taus), label=f"{len(rows)} rows, {sum(r.size for r in rows)} runs, rows weighted equally")
    ax.fill_between(taus, low, high, alpha=0.3, label="95% stratified bootstrap CI")
    ax.axvline(1.0, color="k", linestyle=":", linewidth=1)
    ax.set_xlabel("normalised return τ (0 = random policy, 1 = the row's threshold)")
    ax.set_ylabel("fraction of runs with score > τ")
    ax.set_title("jaxrl zoo: performance profile of the default commands")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(PROFILE_FILE, dpi=120)
    plt.close(fig)


def write_zoo() -> None:
    """docs/ZOO.md and the profile plot from every preset's recorded measurement."""
    shown = list(presets.all_presets().values())
    verdicts = [met(p) for p in shown]
    scores = {p.name: s for p in shown if (s := normalised(p)) is not None}
    summary = ""
    if scores:
        write_profile(scores)
        rows = list(scores.values())
        point = row_iqm(rows)
        low, high = np.percentile([row_iqm(draw) for draw in stratified_resamples(rows, 1_000)], [2.5, 97.5])
        summary = (f"Aggregate over the {len(scores)} measured rows ({sum(s.size for s in rows)} runs): the IQM over "
                   f"rows of each row's mean normalised return is **{point:.3f}** [95% stratified bootstrap CI "
                   f"{low:.3f}, {high:.3f}] (0 = the uniform-random policy, 1 = the row's threshold; seeds resampled "
                   "within each row). The profile below weighs every row the same.\n\n"
                   f"![performance profile]({PROFILE_FILE.name})\n\n")
    ZOO_FILE.write_text(
        "# The zoo: what the default command reaches\n\n"
        "Each row trains the documented default command, `jaxrl train ALGO --env ENV [--env-arg K=V]` "
        "(`jaxrl.train(ALGO, ENV, env_kwargs=..., seeds=N)`), with the pair's shipped preset "
        "(`jaxrl/presets/ALGO.json`) and its step budget, then scores every seed's greedy policy: 100 episodes "
        "in jaxrl, and 20 in Gymnasium's own env where Gymnasium has it (Gymnasium 1.3 calls Taxi-v3 `Taxi-v4` and "
        "CliffWalking-v0 `CliffWalking-v1`). Returns are per-seed means; IQM with a 95% percentile bootstrap CI over "
        "seeds (`jaxrl/stats.py`). A threshold is met when both means reach it. Wall time is the training and "
        "jaxrl evaluation of all seeds together, compile included, on the 2-core CPU machine of BENCHMARKS.md; "
        f"{LOAD_NOTE} "
        "The RL Zoo column is the [RL Baselines3 Zoo benchmark]"
        f"({RL_ZOO})'s figure for the same algorithm and env (one run, its own budget), where it has one. "
        "Each preset's provenance says where its settings came from, how they were searched, and why its "
        "threshold. Regenerate a row with `python scripts/zoo.py --only ALGO/LABEL --write`.\n\n"
        f"**{sum(v is True for v in verdicts)} of {len(shown)} rows meet their threshold** "
        f"({sum(v is False for v in verdicts)} do not, {sum(v is None for v in verdicts)} not measured).\n\n"
        + summary +
        "| algorithm | env | steps x seeds | jaxrl return: IQM [95% CI] (mean) | Gymnasium return: IQM [95% CI] (mean) "
        "| wall time | threshold | RL Zoo | met |\n"
        "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(row(p) for p in shown) + "\n")


def record(preset: presets.Preset, measured: dict) -> None:
    """Store ``measured`` in the preset's provenance, in its JSON file (written whole, then renamed)."""
    data = json.loads(preset.file.read_text())
    data[preset.label]["provenance"]["measured"] = measured
    atomic_write_json(preset.file, data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="preset names (ALGO/LABEL, see `jaxrl presets`); default: all")
    parser.add_argument("--seeds", type=int, help="seeds per row (default: 32 for tabular agents, else 8)")
    parser.add_argument("--gym-episodes", type=int, default=20, help="Gymnasium episodes per seed")
    parser.add_argument("--write", action="store_true", help="record the results in the presets and docs/ZOO.md")
    parser.add_argument("--table", action="store_true", help="only rewrite docs/ZOO.md from the recorded rows")
    args = parser.parse_args()
    if args.table:
        write_zoo()
        return 0
    chosen = [presets.get(name) for name in args.only] if args.only else list(presets.all_presets().values())
    for preset in chosen:
        measured = measure(preset, args.seeds or default_seeds(preset), args.gym_episodes)
        print(json.dumps({preset.name: measured}), flush=True)
        if args.write:
            record(preset, measured)  # reads the file anew: other rows recorded since are kept
    if args.write:
        presets.all_presets.cache_clear()
        write_zoo()
        print(f"wrote {ZOO_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
