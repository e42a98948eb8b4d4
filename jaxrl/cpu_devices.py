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

ENV_VAR = "JAXRL_CPU_DEVICES"


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
    if count < 1:
        raise ValueError(f"{ENV_VAR}={raw!r} is not a positive integer: set it to the number of CPU devices "
                         f"(1 keeps JAX's single CPU device) or unset it to use every core")
    return count


def _backends_initialized() -> bool:
    from jax._src import xla_bridge

    return xla_bridge.backends_are_initialized()


def split_cpu_into_devices(environ: dict[str, str] | None = None) -> int | None:
    """Ask JAX for one CPU device per core, unless the count is already fixed; returns it or None."""
    environ = os.environ if environ is None else environ
    count = requested_devices(environ)
    user_chose = ("xla_force_host_platform_device_count" in environ.get("XLA_FLAGS", "")
                  or jax.config.jax_num_cpu_devices != -1)
    if user_chose or _backends_initialized():
        return None
    jax.config.update("jax_num_cpu_devices", count)
    return count
