"""Tuned presets: the static config, hyperparameters and step budget that make one algorithm learn
on one env id, shipped as data (one JSON file per algorithm, ``jaxrl/presets/ALGO.json``) with where
they came from and what they measured.

``jaxrl.train``, ``jaxrl train``, ``jaxrl sweep`` and the Optuna adapter apply the preset of their
(algorithm, env id) pair when one exists; values the user gives override it name by name.
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
    env: str
    config: dict[str, Any]
    hparams: dict[str, float]
    steps: int
    provenance: dict[str, Any]  # source, command, date, seeds, and the measured mean and IQM
    file: Path

    @property
    def name(self) -> str:
        return f"{self.algo}/{self.env}"

    def describe(self) -> str:
        """One line: the name, its budget and what it measured."""
        measured = self.provenance.get("measured", {})
        result = (f"IQM {measured['iqm']:.4g} (mean {measured['mean']:.4g}) over {measured['seeds']} seeds"
                  if {"iqm", "mean", "seeds"} <= set(measured) else "not measured yet")
        return f"preset {self.name}: {self.steps:,} steps per seed, {result}"


_FIELDS = {"config": dict, "hparams": dict, "steps": int, "provenance": dict}


def _parse(algo: str, env: str, entry: Any, file: Path) -> Preset:
    """One entry of a preset file, its fields and types checked (an error names the file)."""
    if not isinstance(entry, dict) or set(entry) != set(_FIELDS):
        raise ConfigError(f"preset {algo}/{env} in {file} must have exactly the fields {sorted(_FIELDS)}")
    for field, kind in _FIELDS.items():
        if not isinstance(entry[field], kind) or (kind is int and isinstance(entry[field], bool)):
            raise ConfigError(f"preset {algo}/{env} in {file}: {field} must be a {kind.__name__}")
    return Preset(algo, env, entry["config"], entry["hparams"], entry["steps"], entry["provenance"], file)


@lru_cache(maxsize=None)
def all_presets() -> dict[str, Preset]:
    """Every shipped preset by name (``ALGO/ENV``), read once."""
    presets = {}
    for file in sorted(PRESET_DIR.glob("*.json")):
        try:
            entries = json.loads(file.read_text())
        except json.JSONDecodeError as error:
            raise ConfigError(f"preset file {file} is not valid JSON ({error})") from None
        for env, entry in entries.items():
            preset = _parse(file.stem, env, entry, file)
            presets[preset.name] = preset
    return presets


def find(algo: str, env: str) -> Preset | None:
    """The preset of the (``algo``, ``env``) pair, or None."""
    return all_presets().get(f"{algo}/{env}")


def get(name: str) -> Preset:
    """The preset called ``name`` (``ALGO/ENV``); an unknown name lists the closest ones."""
    if name not in all_presets():
        raise unknown_name_error("preset", name, list(all_presets()))
    return all_presets()[name]


def choose(choice: str | None, algo: Any, env: Any) -> Preset | None:
    """The preset a run uses: the pair's own for ``"auto"`` (if any), none for ``None``, else ``choice``'s."""
    if choice is None or not isinstance(algo, str):
        return None
    if choice == AUTO:
        return find(algo, env) if isinstance(env, str) else None
    if not isinstance(choice, str):
        raise ConfigError(f"preset={choice!r}: give a preset name such as 'ppo/Pendulum-v1', 'auto' or None")
    preset = get(choice)
    if preset.algo != algo:
        raise ConfigError(f"preset {choice} is for {preset.algo}, not {algo}; pick one of "
                          f"{', '.join(n for n in all_presets() if n.startswith(algo + '/')) or 'none (there is none)'}")
    return preset
