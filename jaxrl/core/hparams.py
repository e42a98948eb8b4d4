"""Static configs and traced hyperparameters: declarations, resolution from user input, validation.

Each agent family declares its hyperparameters once, as an ``HParams`` pytree whose fields carry
a default, bounds and a one-line description (``hparam``), and its static options as a frozen
config dataclass whose string choices are ``Literal`` types. Both are checked in Python, before anything is traced or compiled, so a typo or an out-of-range
value fails in milliseconds with a message that names the problem and the fix.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any, Iterable, Literal, Mapping, Sequence

import numpy as np

from jaxrl.errors import ConfigError, check_choice, like, unknown_name_error, whole_number


@dataclasses.dataclass(frozen=True)
class Bounds:
    """The valid range of a hyperparameter (``None``: unbounded on that side)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: ``low`` itself is excluded
    high_open: bool = False

    def contains(self, value: float) -> bool:
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def describe(self) -> str:
        """'must be > 0', 'must be in [0, 1]', ... ('' when unbounded)."""
        if self.low is not None and self.high is not None:
            return f"must be in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"must be {'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"must be {'<' if self.high_open else '<='} {self.high:g}"
        return ""


def hparam(default: float, doc: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, engine: bool = False) -> Any:
    """Declare one traced hyperparameter: its default, a one-line description and its bounds.
    ``engine=True`` marks a value the engine fills in (``total_steps``), not the user."""
    metadata = {"doc": doc, "bounds": Bounds(low, high, low_open, high_open), "engine": engine}
    return dataclasses.field(default=default, metadata=metadata)


class HParams:
    """Base of every agent family's hyperparameters: a flax struct dataclass of scalar fields.

    Fields hold Python floats in a declaration, float32 arrays in a training state (one value per
    run, stacked over runs), so one compiled program vmaps over seeds and settings alike.
    """

    @classmethod
    def declared(cls) -> tuple[dataclasses.Field, ...]:
        return dataclasses.fields(cls)

    @classmethod
    def names(cls) -> list[str]:
        """The names a user may set (engine-filled fields excluded)."""
        return [f.name for f in cls.declared() if not f.metadata["engine"]]

    @classmethod
    def engine_names(cls) -> list[str]:
        return [f.name for f in cls.declared() if f.metadata["engine"]]

    @classmethod
    def defaults(cls) -> dict[str, float]:
        """The user-settable fields' defaults."""
        return {f.name: float(f.default) for f in cls.declared() if not f.metadata["engine"]}

    @classmethod
    def check_setting(cls, setting: Mapping[str, float]) -> None:
        """Constraints between fields (each field's own bounds are checked already): a family
        whose fields depend on each other (C51's ``v_min < v_max``) overrides this and raises
        ConfigError, so a bad setting fails before anything compiles."""

    @classmethod
    def check_with_config(cls, given: Mapping[str, float], config: Any) -> None:
        """Given values (the user's, not the defaults) that the static ``config`` never reads (a
        Boltzmann temperature with NoisyNets exploration): a family overrides this and raises ConfigError."""

    @classmethod
    def describe(cls) -> list[tuple[str, float, str, str]]:
        """(name, default, bounds, description) of every user-settable field."""
        return [(f.name, float(f.default), f.metadata["bounds"].describe(), f.metadata["doc"])
                for f in cls.declared() if not f.metadata["engine"]]


def _static_option_error(agent_name: str, name: str, value: Any) -> ConfigError:
    return ConfigError(f"{name} is a static config option of {agent_name}, not a hyperparameter: "
                       f"pass config={{{name!r}: {value!r}}}")


def check_hparam_names(hparams_cls: type[HParams], names: Iterable[str], agent_name: str, config_cls: type | None = None,
                       kind: str = "hyperparameter") -> None:
    """Refuse names that are not user-settable hyperparameters, saying what each one is instead
    (given a mapping of names to values, a static config option's message repeats its value)."""
    config_names = {f.name for f in dataclasses.fields(config_cls)} if config_cls is not None else set()
    valid = hparams_cls.names()
    for name in names:
        if name in valid:
            continue
        if name in hparams_cls.engine_names():
            raise ConfigError(f"{name} is set by the engine from the run's steps, not by hand; "
                              f"drop {name} from the hyperparameters (it follows steps=)")
        if name in config_names:
            raise _static_option_error(agent_name, name, names[name] if isinstance(names, Mapping) else "VALUE")
        raise unknown_name_error(f"{agent_name} {kind}", name, valid)


def resolve_hparams(hparams_cls: type[HParams], given: Mapping[str, Any] | None, agent_name: str,
                    config_cls: type | None = None, config: Any = None) -> dict[str, float]:
    """One setting: the declared defaults overridden by ``given``, every value checked against its
    bounds. Unknown names raise ConfigError (naming ``config=`` for a static config option)."""
    if given is not None and not isinstance(given, Mapping):
        raise ConfigError(f"hyperparameters must be a dict of name -> number, not {type(given).__name__}")
    given = dict(given or {})
    check_hparam_names(hparams_cls, given, agent_name, config_cls)
    if config is not None:
        hparams_cls.check_with_config(given, config)
    resolved = {**hparams_cls.defaults(), **given}
    fields = {f.name: f for f in hparams_cls.declared()}
    for name, value in resolved.items():
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"hyperparameter {name}={value!r} is not a number") from None
        if not math.isfinite(value):
            raise ConfigError(f"hyperparameter {name}={value} is not finite")
        bounds = fields[name].metadata["bounds"]
        if not bounds.contains(value):
            raise ConfigError(f"hyperparameter {name}={value} {bounds.describe()}; "
                              f"pass a valid value, e.g. {name}={fields[name].default}")
        resolved[name] = value
    hparams_cls.check_setting(resolved)
    return resolved


def stack_hparams(hparams_cls: type[HParams], settings: Sequence[Mapping[str, float]], **engine: float) -> HParams:
    """Resolved settings as one typed pytree of float32 host arrays with a leading settings axis;
    ``engine`` fills the engine-owned fields (``total_steps``), 0 where not given."""
    values = {f.name: np.array([engine.get(f.name, 0.0) if f.metadata["engine"] else s[f.name] for s in settings], np.float32)
              for f in hparams_cls.declared()}
    return hparams_cls(**values)


def _coerce(value: Any, target_type: type, name: str) -> Any:
    """A config value (a CLI string, JSON list or Python value) as the field's type, strictly:
    booleans stay booleans, integers are whole numbers (never truncated), floats finite."""
    if target_type is tuple:
        if isinstance(value, str):
            value = [v for v in value.strip("()[] ").replace(" ", "").split(",") if v]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config {name}={value!r} must be a list of integers, e.g. {name}=64,64")
        return tuple(whole_number(f"config {name}", v) for v in value)
    if target_type is str:
        if not isinstance(value, str):
            raise ConfigError(f"config {name}={value!r} must be a string")
        return value
    return like(f"config {name}", value, target_type())


def config_types(config_cls: type) -> dict[str, Any]:
    """Each config field's declared type (``Literal[...]`` for a choice of strings)."""
    return typing.get_type_hints(config_cls)


def check_choices(config: Any) -> None:
    """Every ``Literal``-typed field of a config holds one of its declared choices."""
    for name, hint in config_types(type(config)).items():
        if typing.get_origin(hint) is Literal:
            check_choice(name, getattr(config, name), typing.get_args(hint))


def resolve_config(config_cls: type, given: Mapping[str, Any] | Any | None, agent_name: str,
                   defaults: Mapping[str, Any] | None = None) -> Any:
    """Build a frozen config dataclass from a mapping over ``defaults`` (a named variant's, e.g.
    double_dqn's ``double=True``), or pass an instance through; string choices are checked."""
    if isinstance(given, config_cls):
        check_choices(given)
        return given
    if given is not None and not isinstance(given, Mapping):
        raise ConfigError(f"config must be a dict of option -> value (or a {config_cls.__name__}), not {type(given).__name__}")
    fields = {f.name for f in dataclasses.fields(config_cls)}
    types = config_types(config_cls)
    values = {}
    for name, value in {**dict(defaults or {}), **dict(given or {})}.items():
        if name not in fields:
            raise unknown_name_error(f"{agent_name} config key", name, list(fields))
        hint = types[name]
        target_type = type(typing.get_args(hint)[0]) if typing.get_origin(hint) is Literal else (typing.get_origin(hint) or hint)
        values[name] = _coerce(value, target_type, name)
    config = config_cls(**values)
    check_choices(config)
    return config
