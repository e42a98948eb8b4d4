"""One registry of environment ids: every gymnax id, our JAX-native envs, Gymnasium-style aliases.

``make_env(env_id, **kwargs) -> (env, env_params)``. Keyword arguments go to the env's constructor
(``FrozenLake-v1`` takes ``map_name`` and ``is_slippery`` as in Gymnasium), except
``max_episode_steps``, which sets the time limit as ``gymnasium.make`` does.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable

import gymnax

from jaxrl.errors import ConfigError, unknown_name_error
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


def list_envs() -> list[str]:
    return sorted(_REGISTRY)


def _accepted_kwargs(factory: Callable[..., Any]) -> list[str]:
    target = getattr(factory, "toy_text_class", None)
    if target is not None:
        from jaxrl.envs import toy_text

        factory = getattr(toy_text, target)
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and not p.name.startswith("_")]


def make_env(env_id: str, **kwargs: Any) -> tuple[Any, Any]:
    """Build a registered environment and its default params (an unknown id names the closest ones)."""
    entry = _REGISTRY.get(env_id)
    if entry is None:
        raise unknown_name_error("env id", env_id, list(_REGISTRY))
    max_episode_steps = kwargs.pop("max_episode_steps", None)
    accepted = _accepted_kwargs(entry.factory)
    if max_episode_steps is not None and "max_episode_steps" in accepted:
        kwargs["max_episode_steps"] = max_episode_steps
        max_episode_steps = None
    for name in kwargs:
        if accepted and name not in accepted:
            raise unknown_name_error(f"keyword argument of {env_id}", name, accepted + ["max_episode_steps"])
    try:
        env = entry.factory(**{**entry.defaults, **kwargs})
    except TypeError as error:
        raise ConfigError(f"{env_id} does not take these arguments {kwargs}: {error}") from None
    except ValueError as error:  # the env's own argument checks
        raise ConfigError(f"{env_id}: {error}") from None
    params = env.default_params
    if max_episode_steps is not None:
        if int(max_episode_steps) < 1:
            raise ConfigError(f"max_episode_steps={max_episode_steps} must be >= 1")
        params = params.replace(max_steps_in_episode=int(max_episode_steps))
    return env, params
