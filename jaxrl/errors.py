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
    """'unknown KIND NAME. Did you mean ...? Valid KINDs: ...'."""
    choices = list(choices)
    return ConfigError(f"unknown {kind} {name!r}.{closest(name, choices)} Valid {kind}s: {', '.join(sorted(choices))}.")


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Refuse ``value`` unless it is one of ``allowed`` (a string option such as ``torso``)."""
    allowed = tuple(allowed)
    if value not in allowed:
        names = [repr(a) for a in allowed]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        raise ConfigError(f"{name}={value!r}: choose {listed}")
