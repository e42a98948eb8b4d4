"""One registry of environment ids: every gymnax id, our JAX-native envs, Gymnasium-style aliases.

``make_env(env_id, **kwargs) -> (env, env_params)``. Keyword arguments go to the env's constructor
(``FrozenLake-v1`` takes ``map_name`` and ``is_slippery`` as in Gymnasium), except
``max_episode_steps``, which sets the time limit as ``gymnasium.make`` does, and the fields of a
gymnax env's ``EnvParams`` (``CartPole-v1``'s ``gravity``, ``length``, ...).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable

import gymnax

from jaxrl.errors import ConfigError, like, unknown_name_error, whole_number
from jaxrl.envs.probes import PROBES


def _toy_text(name: str) -> Callable[..., Any]:
    def factory(**kwargs: Any) -> Any:
        from jaxrl.envs import toy_text

        return getattr(toy_text, name)(**kwargs)

    factory.__name__ = name
    factory.toy_text_class = name  # type: ignore[attr-defined]
    return factory


def _ad_budget(**kwargs: Any) -> Any:
    from jaxrl.envs.ad_budget import AdBudget

    return AdBudget(**kwargs)


def _stateless_cartpole(**kwargs: Any) -> Any:
    from jaxrl.envs.stateless_cartpole import StatelessCartPole

    return StatelessCartPole(**kwargs)


@dataclasses.dataclass(frozen=True)
class EnvEntry:
    factory: Callable[..., Any]
    defaults: dict[str, Any] = dataclasses.field(default_factory=dict)
    alias_of: str | None = None


_REGISTRY: dict[str, EnvEntry] = {
    "FrozenLake-v1": EnvEntry(_toy_text("FrozenLake"), {"map_name": "4x4"}),
    "FrozenLake8x8-v1": EnvEntry(_toy_text("FrozenLake"), {"map_name": "8x8"}),
    "Taxi-v4": EnvEntry(_toy_text("Taxi")),
    "Taxi-v3": EnvEntry(_toy_text("Taxi"), alias_of="Taxi-v4"),
    "CliffWalking-v1": EnvEntry(_toy_text("CliffWalking")),
    "CliffWalking-v0": EnvEntry(_toy_text("CliffWalking"), alias_of="CliffWalking-v1"),
    "CliffWalkingSlippery-v1": EnvEntry(_toy_text("CliffWalking"), {"is_slippery": True}),
}
_REGISTRY["AdBudget-v0"] = EnvEntry(_ad_budget)
_REGISTRY["StatelessCartPole-v1"] = EnvEntry(_stateless_cartpole)
_REGISTRY.update({probe_id: EnvEntry(factory) for probe_id, factory in PROBES.items()})
for _gymnax_id in gymnax.registered_envs:
    _REGISTRY.setdefault(_gymnax_id, EnvEntry(lambda _id=_gymnax_id, **kw: gymnax.make(_id, **kw)[0]))


def register_env(env_id: str, factory: Callable[..., Any], **defaults: Any) -> None:
    """Make ``make_env(env_id)`` (and so ``jaxrl train --env env_id``) build your own env.

    ``factory(**kwargs)`` must return a gymnax ``Environment``.
    """
    if env_id in _REGISTRY:
        raise ConfigError(f"env id {env_id!r} is already registered; pick another id")
    _REGISTRY[env_id] = EnvEntry(factory, dict(defaults))


def register_gymnasium_env(env_id: str, make: Callable[..., Any], **defaults: Any) -> None:
    """Make ``make_env(env_id)`` train on your own Gymnasium env: ``make(**kwargs)`` (a class, or a
    function) returns a ``gymnasium.Env`` with Box or Discrete spaces; it is stepped on the host
    through the Gymnasium bridge (``jaxrl.envs.gymnasium_bridge``). ``max_episode_steps`` in
    ``make_env`` adds Gymnasium's ``TimeLimit``: its truncations are truncations in jaxrl."""
    from jaxrl.envs.gymnasium_bridge import gymnasium_factory, require_gymnasium

    require_gymnasium()
    register_env(env_id, gymnasium_factory(env_id, make), **defaults)


def list_envs() -> list[str]:
    """Every registered id (``gymnasium:ID`` ids are listed by ``jaxrl.envs.gymnasium_bridge``)."""
    return sorted(_REGISTRY)


@dataclasses.dataclass(frozen=True)
class OptionalSuite:
    """An env suite behind an optional extra. Its module in ``jaxrl.envs`` (light to import: the
    suite itself is imported when an env is made) has ``PREFIX`` (the start of its ids),
    ``INSTALL`` (its extra's pip command), ``available_ids()`` (empty without the extra) and
    ``factory(name)`` (the constructor of the id ``PREFIX + name``)."""

    module: str
    title: str  # how ``jaxrl envs`` heads the installed ids ({n}: how many)
    missing: str  # what ``jaxrl envs`` says the extra would bring

    def load(self) -> Any:
        import importlib

        return importlib.import_module(f"jaxrl.envs.{self.module}")


OPTIONAL_SUITES: tuple[OptionalSuite, ...] = (
    OptionalSuite("xland_minigrid", "XLand-MiniGrid ({n} ids, JAX-native)", "XLand-MiniGrid's grid worlds, as xminigrid/MiniGrid-*"),
    OptionalSuite("jumanji_suite", "Jumanji ({n} ids, JAX-native; the single-agent ones with discrete actions train, "
                  "multi-agent and continuous ones are refused when made)",
                  "Jumanji's envs, as jumanji/NAME (jumanji/Snake-v1, jumanji/Maze-v0, ...)"),
    OptionalSuite("atari", "Atari ({n} ids, ALE v5 stepped on the host; grey 84x84, frame skip 4, frame stack 4, "
                  "no-op starts, sticky actions)", "Atari games, as ALE/NAME-v5 (ALE/Breakout-v5, ALE/MsPacman-v5, ...)"),
    OptionalSuite("brax_envs", "Brax ({n} ids, JAX-native, continuous actions in [-1, 1], time limit 1000 by default)",
                  "Brax's physics tasks, as brax/NAME (brax/hopper, brax/ant, ...)"),
)


def _entry(env_id: str) -> EnvEntry:
    entry = _REGISTRY.get(env_id)
    if entry is not None:
        return entry
    from jaxrl.envs.gymnasium_bridge import PREFIX, registered_factory

    if env_id.startswith(PREFIX):
        return EnvEntry(registered_factory(env_id[len(PREFIX):]))
    for module in (suite.load() for suite in OPTIONAL_SUITES):
        if env_id.startswith(module.PREFIX):
            return EnvEntry(module.factory(env_id[len(module.PREFIX):]))
    raise unknown_name_error("env id", env_id, list(_REGISTRY))


def _constructor_defaults(factory: Callable[..., Any]) -> dict[str, Any]:
    """The keyword arguments the env's constructor takes, with their defaults (``None`` where none)."""
    target = getattr(factory, "toy_text_class", None)
    if target is not None:
        from jaxrl.envs import toy_text

        factory = getattr(toy_text, target)
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: None if p.default is p.empty else p.default for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and not p.name.startswith("_")}


def _checked(env_id: str, name: str, value: Any, example: Any) -> Any:
    """An env argument checked against its default's type (NumPy/JAX scalars by their dtype)."""
    if hasattr(example, "dtype") and getattr(example, "shape", None) == ():
        example = example.item()
    return like(f"{env_id} argument {name}", value, example)


def _with_params(env_id: str, params: Any, given: dict[str, Any], accepted: list[str]) -> Any:
    """The env's ``EnvParams`` with fields set from ``given`` (gymnax envs' own parameters: CartPole's
    gravity, pole length, ...); a name that is neither a constructor argument nor a field is refused."""
    fields = [f.name for f in dataclasses.fields(params)] if dataclasses.is_dataclass(params) else []
    for name, value in given.items():
        if name not in fields:
            raise unknown_name_error(f"keyword argument of {env_id}", name, accepted + fields + ["max_episode_steps"])
        params = params.replace(**{name: _checked(env_id, name, value, getattr(params, name))})
    return params


def make_env(env_id: str, **kwargs: Any) -> tuple[Any, Any]:
    """Build a registered environment and its default params (an unknown id names the closest ones).

    Keyword arguments are the env constructor's (checked against their defaults' types: a boolean
    stays a boolean), ``max_episode_steps`` (the time limit), or fields of the env's ``EnvParams``.
    """
    entry = _entry(env_id)
    max_episode_steps = kwargs.pop("max_episode_steps", None)
    if max_episode_steps is not None:
        max_episode_steps = whole_number("max_episode_steps", max_episode_steps, minimum=1)
    defaults = _constructor_defaults(entry.factory)
    if max_episode_steps is not None and "max_episode_steps" in defaults:
        kwargs["max_episode_steps"] = max_episode_steps
        max_episode_steps = None
    if getattr(entry.factory, "takes_any_kwargs", False):  # a Gymnasium env: its constructor checks them
        defaults.update({k: None for k in kwargs})
    constructor = {k: v if defaults[k] is None else _checked(env_id, k, v, defaults[k]) for k, v in kwargs.items() if k in defaults}
    try:
        env = entry.factory(**{**entry.defaults, **constructor})
    except TypeError as error:
        raise ConfigError(f"{env_id} does not take these arguments {constructor}: {error}") from None
    except ValueError as error:  # the env's own argument checks
        raise ConfigError(f"{env_id}: {error}") from None
    if not hasattr(env, "default_params") or not hasattr(env, "step"):
        raise ConfigError(f"the factory registered for {env_id} returned {type(env).__name__}, not a gymnax Environment")
    params = _with_params(env_id, env.default_params, {k: v for k, v in kwargs.items() if k not in defaults}, list(defaults))
    if max_episode_steps is not None:
        params = params.replace(max_steps_in_episode=max_episode_steps)
    return env, params
