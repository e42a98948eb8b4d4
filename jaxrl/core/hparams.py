"""Static configs and traced hyperparameters: resolution from user input and validation.

Both are checked in Python, before anything is traced or compiled, so a typo or an out-of-range
value fails in milliseconds with a message that names the problem and the fix.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Mapping

import numpy as np

from jaxrl.errors import ConfigError, unknown_name_error


# Range rules by hyperparameter name, shared by every agent.
def _in_unit_interval(v: float) -> bool:
    return 0.0 <= v <= 1.0


RULES: dict[str, tuple[Callable[[float], bool], str]] = {
    "learning_rate": (lambda v: v > 0, "must be > 0"),
    "gamma": (_in_unit_interval, "must be in [0, 1]"),
    "epsilon": (_in_unit_interval, "must be in [0, 1]"),
    "epsilon_end": (_in_unit_interval, "must be in [0, 1]"),
    "epsilon_decay": (lambda v: 0 < v <= 1, "is a per-count multiplicative factor and must be in (0, 1]"),
    "epsilon_decay_duration": (lambda v: v > 0, "must be > 0 (counts over which epsilon decays)"),
    "temperature": (lambda v: v > 0, "must be > 0"),
    "max_grad_norm": (lambda v: v > 0, "must be > 0 (the global gradient norm clipped to)"),
    "tau": (lambda v: 0 < v <= 1, "must be in (0, 1] (1: hard target copy; e.g. 0.005: Polyak averaging)"),
    "target_update_period": (lambda v: v >= 1, "must be >= 1 (env steps per seed between target updates)"),
    "priority_alpha": (lambda v: v >= 0, "must be >= 0 (0: uniform sampling)"),
    "priority_beta": (_in_unit_interval, "must be in [0, 1]"),
    "priority_eps": (lambda v: v > 0, "must be > 0"),
    "count_bonus": (lambda v: v >= 0, "must be >= 0"),
    "actor_learning_rate": (lambda v: v > 0, "must be > 0"),
    "alpha_learning_rate": (lambda v: v > 0, "must be > 0"),
    "alpha_init": (lambda v: v > 0, "must be > 0 (the initial entropy temperature)"),
    "exploration_noise": (lambda v: v >= 0, "must be >= 0 (a std in [-1, 1] action units)"),
    "ou_theta": (lambda v: v >= 0, "must be >= 0"),
    "ou_dt": (lambda v: v > 0, "must be > 0"),
    "target_noise": (lambda v: v >= 0, "must be >= 0"),
    "target_noise_clip": (lambda v: v >= 0, "must be >= 0"),
}


def resolve_hparams(agent_name: str, defaults: Mapping[str, float], given: Mapping[str, Any] | None,
                    config: Any = None) -> dict[str, float]:
    """Defaults overridden by ``given``; unknown names and out-of-range values raise ConfigError
    (naming ``config=`` when the name is one of the agent's static ``config`` options)."""
    given = dict(given or {})
    config_keys = {f.name for f in dataclasses.fields(config)} if dataclasses.is_dataclass(config) else set()
    for name in given:
        if name in defaults:
            continue
        if name in config_keys:
            raise ConfigError(f"{name} is a static config option of {agent_name}, not a hyperparameter: "
                              f"pass config={{{name!r}: {given[name]!r}}}")
        raise unknown_name_error(f"{agent_name} hyperparameter", name, list(defaults))
    resolved = {**defaults, **given}
    for name, value in resolved.items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"hyperparameter {name}={value!r} is not a number") from None
        if not math.isfinite(value):
            raise ConfigError(f"hyperparameter {name}={value} is not finite")
        rule = RULES.get(name)
        if rule is not None and not rule[0](value):
            raise ConfigError(f"hyperparameter {name}={value} {rule[1]}; pass a valid value, e.g. {name}={defaults[name]}")
        resolved[name] = value
    return resolved


def stack_hparams(settings: list[dict[str, float]]) -> dict[str, np.ndarray]:
    """A list of resolved settings as one pytree of float32 host arrays with a leading settings axis."""
    names = list(settings[0])
    return {n: np.array([s[n] for s in settings], np.float32) for n in names}


def _coerce(value: Any, target_type: type, name: str) -> Any:
    """Coerce CLI strings (and JSON lists) to a config field's type."""
    if target_type is tuple:
        if isinstance(value, str):
            value = [v for v in value.strip("()[] ").replace(" ", "").split(",") if v]
        try:
            return tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise ConfigError(f"config {name}={value!r} must be a list of integers, e.g. {name}=64,64") from None
    if not isinstance(value, str) or target_type is str:
        if target_type is int and isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    if target_type is bool:
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"config {name}={value!r} is not a boolean (use true/false)")
    try:
        return target_type(float(value)) if target_type is int else target_type(value)
    except ValueError:
        raise ConfigError(f"config {name}={value!r} is not a valid {target_type.__name__}") from None


def resolve_config(config_cls: type, given: Mapping[str, Any] | Any | None, agent_name: str) -> Any:
    """Build a frozen config dataclass from a mapping (or pass an instance through)."""
    if isinstance(given, config_cls):
        return given
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    values = {}
    for name, value in dict(given or {}).items():
        if name not in fields:
            raise unknown_name_error(f"{agent_name} config key", name, list(fields))
        field_type = type(getattr(config_cls(), name))
        values[name] = _coerce(value, field_type, name)
    return config_cls(**values)
