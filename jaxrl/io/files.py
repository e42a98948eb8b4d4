"""Crash-safe files: a write either lands whole or leaves the old file untouched."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from jaxrl.errors import ConfigError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_error(path: str | Path, error: OSError) -> ConfigError:
    """A failed write (full disk, read-only place, a file where a directory should be) as a clear error."""
    return ConfigError(f"cannot write {path}: {error.strerror or error}. Files written before are intact (nothing is "
                       "half-written); free some space or choose a writable --out, then run the command again "
                       "(an interrupted training run continues with --resume RUN_DIR)")


def unreadable(path: str | Path, error: Exception, fix: str) -> ConfigError:
    """A file jaxrl wrote that no longer parses (truncated or edited) as a clear error with its ``fix``."""
    return ConfigError(f"{path} is damaged, not a file jaxrl wrote whole ({type(error).__name__}: {error}); {fix}")


def _replace(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over ``path``; a failed
    write removes the temporary file, leaves ``path`` as it was and raises ``write_error``."""
    try:
        _replace(Path(path), data)
    except OSError as error:
        raise write_error(path, error) from None


def append_synced(path: str | Path, data: bytes) -> None:
    """Append ``data`` and fsync; a failed write cuts the file back to what it held and raises ``write_error``."""
    path = Path(path)
    size = path.stat().st_size if path.exists() else None
    try:
        with open(path, "ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as error:
        if size is None:
            path.unlink(missing_ok=True)
        else:
            os.truncate(path, size)
        raise write_error(path, error) from None


def to_jsonable(value: Any) -> Any:
    """NumPy scalars/arrays to lists, NaN/inf to None (JSON has no NaN)."""
    if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "f" and value.dtype.itemsize <= 4:
        # float32 to its shortest round-tripping decimal, not the float64 expansion
        value = np.vectorize(lambda x: float(str(np.float32(x))), otypes=[float])(value)
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def atomic_write_json(path: str | Path, value: Any) -> None:
    atomic_write_bytes(path, (json.dumps(to_jsonable(value), indent=2) + "\n").encode())
