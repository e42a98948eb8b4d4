"""Errors for bad user input: the bottom of jaxrl's import graph (envs, core and io import it).

Every check that refuses user input raises ``ConfigError`` before anything is traced or compiled,
with a message that names the problem and the fix.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable


class ConfigError(ValueError):
    """Invalid user input: an unknown name, a value out of range, an unsupported env."""


def closest(name: str, choices: Iterable[str]) -> str:
    """' Did you mean ...?' for the choices closest to ``name`` ('' when none is close)."""
    matches = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f" Did you mean {', '.join(repr(m) for m in matches)}?" if matches else ""


def unknown_name_error(kind: str, name: str, choices: Iterable[str]) -> ConfigError:
    """'unknown KIND NAME. Did you mean ...? Valid: ...'."""
    choices = list(choices)
    return ConfigError(f"unknown {kind} {name!r}.{closest(name, choices)} Valid: {', '.join(sorted(choices))}.")


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Refuse ``value`` unless it is one of ``allowed`` (a string option such as ``torso``)."""
    allowed = tuple(allowed)
    if value not in allowed:
        names = [repr(a) for a in allowed]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        raise ConfigError(f"{name}={value!r}: choose {listed}")


def whole_number(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int when it is a whole number (an integral float or numeric string too) within
    ``[minimum, maximum]``; anything else (2.5, 'two', NaN, True) is refused, never truncated."""
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip()) if any(c in value for c in ".eE") else int(value.strip())
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, (int, float)) and not hasattr(number, "__index__"):
        raise ConfigError(f"{name}={value!r} is not a whole number: give an integer")
    if isinstance(number, float) and not number.is_integer():
        raise ConfigError(f"{name}={value!r} is not a whole number: give an integer (it is never rounded)")
    number = int(number)
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name}={value!r} must be >= {minimum}")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{name}={value!r} must be <= {maximum}")
    return number


def boolean(name: str, value: Any) -> bool:
    """``value`` as a bool: a bool, or one of the strings true/false/yes/no/on/off/1/0; else refused."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
    raise ConfigError(f"{name}={value!r} is not a boolean; use true or false")


def like(name: str, value: Any, example: Any) -> Any:
    """``value`` checked (and CLI strings converted) to the type of ``example``, a declared default:
    a bool stays a bool, an int a whole number, a float a finite number; other types pass."""
    if isinstance(example, bool):
        return boolean(name, value)
    if isinstance(example, int):
        return whole_number(name, value)
    if isinstance(example, float):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}={value!r} is not a number") from None
        if isinstance(value, bool) or number != number or number in (float("inf"), float("-inf")):
            raise ConfigError(f"{name}={value!r} is not a finite number")
        return number
    return value
