"""One JAX device per CPU core, so the engine's run axis (seeds x settings) uses every core.

XLA runs a CPU program's hot loop on one core. JAX can split the host into several CPU devices
(``jax_num_cpu_devices``); the engine then shards the runs over them and each device steps its
share of the seeds on its own core. ``import jaxrl`` does this before anything initialises JAX's
backends (importing gymnax does), with one device per core this process may run on.

- ``JAXRL_CPU_DEVICES=N`` picks the number of devices; ``JAXRL_CPU_DEVICES=1`` keeps JAX's single
  CPU device.
- A device count the user already chose (``--xla_force_host_platform_device_count`` in
  ``XLA_FLAGS``, or ``jax.config.update("jax_num_cpu_devices", n)``) is left alone, and so is a
  process that ran JAX code before importing jaxrl (the count can no longer change then).
- Accelerators are unaffected: this only sizes the CPU backend.
"""

from __future__ import annotations

import os

import jax

from jaxrl.errors import ConfigError

ENV_VAR = "JAXRL_CPU_DEVICES"
MAX_DEVICES_PER_CORE = 4  # more devices than this only multiply compile time and sharding overhead


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the host's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def requested_devices(environ: dict[str, str] | None = None) -> int:
    """The CPU device count ``import jaxrl`` asks for: ``$JAXRL_CPU_DEVICES`` or every core."""
    environ = os.environ if environ is None else environ
    raw = environ.get(ENV_VAR, "").strip()
    if not raw:
        return available_cores()
    try:
        count = int(raw)
    except ValueError:
        count = 0
    most = MAX_DEVICES_PER_CORE * available_cores()
    if not 1 <= count <= most:
        raise ConfigError(f"{ENV_VAR}={raw!r} is not a positive integer up to {most} ({MAX_DEVICES_PER_CORE} per CPU core "
                          "this process may use): set it to the number of CPU devices (1 keeps JAX's single CPU device) "
                          "or unset it to use every core")
    return count


# A bad $JAXRL_CPU_DEVICES found at import: reported by check_environment() (the CLI and
# jaxrl.train call it before anything runs) rather than as a traceback from `import jaxrl`.
_ENVIRONMENT_ERROR: ConfigError | None = None


def check_environment() -> None:
    """Raise the ConfigError a bad jaxrl environment variable caused ($JAXRL_CPU_DEVICES, $JAXRL_COMPILE_CACHE)."""
    if _ENVIRONMENT_ERROR is not None:
        raise _ENVIRONMENT_ERROR
    cache = os.environ.get("JAXRL_COMPILE_CACHE", "1").strip()
    if cache not in ("0", "1"):
        raise ConfigError(f"JAXRL_COMPILE_CACHE={cache!r} must be 1 (cache compiled programs, the default) or 0 (do not)")


def _backends_initialized() -> bool:
    from jax._src import xla_bridge

    return xla_bridge.backends_are_initialized()


def split_cpu_into_devices(environ: dict[str, str] | None = None) -> int | None:
    """Ask JAX for one CPU device per core, unless the count is already fixed; returns it or None."""
    global _ENVIRONMENT_ERROR
    environ = os.environ if environ is None else environ
    try:
        count = requested_devices(environ)
    except ConfigError as error:  # JAX keeps its single CPU device; the error is raised before any run
        _ENVIRONMENT_ERROR = error
        return None
    user_chose = ("xla_force_host_platform_device_count" in environ.get("XLA_FLAGS", "")
                  or jax.config.jax_num_cpu_devices != -1)
    if user_chose or _backends_initialized():
        return None
    jax.config.update("jax_num_cpu_devices", count)
    return count
