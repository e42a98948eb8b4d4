"""Tuned presets: the static config, hyperparameters and step budget that make one algorithm learn
on one env id, shipped as data (one JSON file per algorithm, ``jaxrl/presets/ALGO.json``) with where
they came from and what they measured.

``jaxrl.train``, ``jaxrl train``, ``jaxrl sweep`` and the Optuna adapter apply the preset of their
(algorithm, env id) pair when one exists; values the user gives override it name by name. A preset
for a variant of an env id names its env kwargs (``q_learning/FrozenLake-v1-deterministic`` is for
``FrozenLake-v1`` with ``is_slippery=False``) and applies when a run gives exactly those.
``preset=None`` (``--no-preset``) keeps the library defaults, ``preset="ALGO/ENV"`` (``--preset``)
picks another pair's.
"""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jaxrl.errors import ConfigError, unknown_name_error

PRESET_DIR = Path(__file__).resolve().parent
AUTO = "auto"  # a RunSpec's default: the pair's preset when there is one


@dataclasses.dataclass(frozen=True)
class Preset:
    """One (algorithm, env id) pair's tuned settings and their measured result."""

    algo: str
    label: str  # the entry's key in its file: the env id, or the env id and a variant ("FrozenLake-v1-deterministic")
    env: str  # the env id the preset trains on
    env_kwargs: dict[str, Any]  # the env's keyword arguments it is for ({} for the env id's defaults)
    config: dict[str, Any]
    hparams: dict[str, float]
    steps: int
    provenance: dict[str, Any]  # source, command, date, seeds, and the measured mean and IQM
    file: Path
    until: float | None = None  # a stopping rule: train until every seed's greedy return reaches it (steps: the most)

    @property
    def name(self) -> str:
        return f"{self.algo}/{self.label}"

    def describe(self) -> str:
        """One line: the name, its budget and what it measured."""
        measured = self.provenance.get("measured", {})
        result = (f"IQM {measured['iqm']:.4g} (mean {measured['mean']:.4g}) over {measured['seeds']} seeds"
                  if {"iqm", "mean", "seeds"} <= set(measured) else "not measured yet")
        if self.until is None:
            return f"preset {self.name}: {self.steps:,} steps per seed, {result}"
        return (f"preset {self.name}: up to {self.steps:,} steps per seed, stopping once every seed's greedy return "
                f"reaches {self.until:g} (--until none trains them all), {result}")


_FIELDS = {"config": dict, "hparams": dict, "steps": int, "provenance": dict}
_OPTIONAL = {"env": str, "env_kwargs": dict,  # for a variant of an env id: {"env": "FrozenLake-v1", "env_kwargs": {...}}
             "until": (int, float)}  # a stopping rule (RunSpec.until)


def _parse(algo: str, label: str, entry: Any, file: Path) -> Preset:
    """One entry of a preset file, its fields and types checked (an error names the file)."""
    if not isinstance(entry, dict) or not set(_FIELDS) <= set(entry) <= set(_FIELDS) | set(_OPTIONAL):
        raise ConfigError(f"preset {algo}/{label} in {file} must have the fields {sorted(_FIELDS)} "
                          f"and may have {sorted(_OPTIONAL)}")
    for field, kind in {**_FIELDS, **_OPTIONAL}.items():
        if field in entry and (not isinstance(entry[field], kind) or (kind is not dict and isinstance(entry[field], bool))):
            kinds = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise ConfigError(f"preset {algo}/{label} in {file}: {field} must be a {kinds}")
    until = entry.get("until")
    return Preset(algo, label, entry.get("env", label), entry.get("env_kwargs", {}), entry["config"], entry["hparams"],
                  entry["steps"], entry["provenance"], file, None if until is None else float(until))


@lru_cache(maxsize=None)
def all_presets() -> dict[str, Preset]:
    """Every shipped preset by name (``ALGO/ENV``), read once."""
    presets = {}
    for file in sorted(PRESET_DIR.glob("*.json")):
        try:
            entries = json.loads(file.read_text())
        except json.JSONDecodeError as error:
            raise ConfigError(f"preset file {file} is not valid JSON ({error})") from None
        for label, entry in entries.items():
            preset = _parse(file.stem, label, entry, file)
            presets[preset.name] = preset
    return presets


def find(algo: str, env: str, env_kwargs: dict[str, Any] | None = None) -> Preset | None:
    """The preset of ``algo`` on env id ``env`` with exactly these env kwargs (none: the id's defaults), or None."""
    matches = [p for p in all_presets().values()
               if p.algo == algo and p.env == env and p.env_kwargs == dict(env_kwargs or {})]
    # Several presets for one pair: the one named after the env id is the default, the others
    # (ppo/CartPole-v1-zoo) are picked by name.
    matches.sort(key=lambda p: p.label != env)
    return matches[0] if matches else None


def get(name: str) -> Preset:
    """The preset called ``name`` (``ALGO/ENV``); an unknown name lists the closest ones."""
    if name not in all_presets():
        raise unknown_name_error("preset", name, list(all_presets()))
    return all_presets()[name]


def choose(choice: str | None, algo: Any, env: Any, env_kwargs: Any = None) -> Preset | None:
    """The preset a run uses: for ``"auto"`` the one of its algorithm, env id and env kwargs (if any),
    none for ``None``, else ``choice``'s."""
    if choice is None or not isinstance(algo, str):
        return None
    if choice == AUTO:
        fits = isinstance(env, str) and (env_kwargs is None or isinstance(env_kwargs, dict))
        return find(algo, env, env_kwargs) if fits else None
    if not isinstance(choice, str):
        raise ConfigError(f"preset={choice!r}: give a preset name such as 'ppo/Pendulum-v1', 'auto' or None")
    preset = get(choice)
    if preset.algo != algo:
        raise ConfigError(f"preset {choice} is for {preset.algo}, not {algo}; pick one of "
                          f"{', '.join(n for n in all_presets() if n.startswith(algo + '/')) or 'none (there is none)'}")
    return preset
