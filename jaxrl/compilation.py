"""A persistent XLA compilation cache, so a repeated run skips most of its compile time.

The CLI turns it on (``JAXRL_COMPILE_CACHE=0`` turns it off); library users opt in with
``jaxrl.enable_compilation_cache()``. Entries are keyed by JAX on the program, the jax/jaxlib
version and the device, so a changed program or upgrade simply misses the cache.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Mapping

import jax
import jax.numpy as jnp

from jaxrl.errors import ConfigError


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jaxrl" / "xla"


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> Path | None:
    """Cache compiled programs on disk (default ~/.cache/jaxrl/xla); returns the directory used."""
    from jaxrl.cpu_devices import check_environment

    check_environment()
    if os.environ.get("JAXRL_COMPILE_CACHE", "1").strip() == "0":
        return None
    path = Path(directory) if directory is not None else default_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    return path


# LLVM optimisation level of the training program on CPU (None: XLA's default). Measured by
# scripts/bench_compile.py; see BENCHMARKS.md, "Session 12".
TRAIN_PROGRAM_LLVM_LEVEL: int | None = None
# The same for the greedy evaluation program: level 1 compiles PPO's CartPole evaluation in 0.85 s
# against 1.8 s at XLA's default and runs it as fast; level 0 compiles in 0.6 s but runs it 3x
# slower (BENCHMARKS.md, "Session 17"). A run compiles it once at the end, and once more with a
# stopping rule (its check plays fewer episodes).
EVAL_PROGRAM_LLVM_LEVEL: int | None = 1


def cpu_compiler_options(llvm_level: int | None, extra: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """XLA options for a program on the CPU backend: its LLVM optimisation level, and ``extra``
    (an agent's ``cpu_compile_options``) where this jaxlib knows them; None (the defaults) on
    other backends or when there is nothing to set."""
    if llvm_level is not None and llvm_level not in (0, 1, 2, 3):
        raise ConfigError(f"LLVM optimisation level {llvm_level!r} is not one of 0, 1, 2, 3; "
                          "set jaxrl.compilation.TRAIN_PROGRAM_LLVM_LEVEL to one of them, or None for XLA's default")
    if jax.default_backend() != "cpu":
        return None
    options: dict[str, Any] = {k: v for k, v in (extra or {}).items() if _known_cpu_option(k, v)}
    if llvm_level is not None:
        options["xla_backend_optimization_level"] = llvm_level
    return options or None


@functools.lru_cache(maxsize=None)
def _known_cpu_option(name: str, value: str) -> bool:
    """Whether this jaxlib's CPU compiler takes the option (experimental ones come and go between
    releases; one it does not know is left out rather than failing the run)."""
    try:
        jax.jit(lambda x: x + 1).lower(jnp.zeros(2)).compile(compiler_options={name: value})
    except Exception:  # XLA names an unknown option in a plain RuntimeError / XlaRuntimeError
        return False
    return True
