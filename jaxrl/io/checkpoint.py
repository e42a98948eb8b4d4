"""Checkpoints of the full training state, for ``--resume``.

A checkpoint holds everything needed to continue a run bit for bit: every leaf of the batched
training state (parameters, optimiser state, env states, normaliser statistics, counters and
PRNG keys, the keys stored as their raw key data), the metrics logged so far, and the chunk
layout. It is one msgpack file (flax serialization) written atomically (temporary file, fsync,
rename), so a crash or SIGKILL mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from jaxrl.errors import ConfigError
from jaxrl.io.files import atomic_write_bytes, unreadable

CHECKPOINT_FILE = "checkpoint.msgpack"
FORMAT_VERSION = 1


def _is_key(x: Any) -> bool:
    return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


@dataclasses.dataclass
class Checkpoint:
    """A training state after ``chunks_done`` of ``num_chunks`` chunks, with the curves so far.

    ``leaves`` are the state's leaves in ``jax.tree`` order (PRNG keys as key data), ``paths`` their
    tree paths (to check the state's structure on restore). ``metrics[name]`` is ``[runs, logs]``.
    """

    chunks_done: int
    num_chunks: int
    env_steps: np.ndarray
    metrics: dict[str, np.ndarray]
    leaves: list[np.ndarray]
    paths: list[str]

    @classmethod
    def from_state(cls, state: Any, chunks_done: int, num_chunks: int, env_steps: np.ndarray,
                   metrics: dict[str, np.ndarray]) -> "Checkpoint":
        with_paths = jax.tree_util.tree_flatten_with_path(state)[0]
        leaves = [jax.random.key_data(x) if _is_key(x) else x for _, x in with_paths]
        return cls(chunks_done, num_chunks, np.asarray(env_steps), dict(metrics),
                   [np.asarray(x) for x in jax.device_get(leaves)],
                   [jax.tree_util.keystr(p) for p, _ in with_paths])

    def restore(self, reference: Any) -> Any:
        """This checkpoint's state, with the structure, dtypes and key types of ``reference``.

        ``reference`` is a freshly initialised state of the same run (same agent, seeds, settings).
        """
        with_paths, treedef = jax.tree_util.tree_flatten_with_path(reference)
        paths = [jax.tree_util.keystr(p) for p, _ in with_paths]
        if paths != self.paths:
            self.paths, self.leaves = _split_sum_trees(self.paths, self.leaves, paths)
        if paths != self.paths:
            raise ConfigError("the checkpoint's training state has a different structure from this run's "
                              "(another algorithm, config or jaxrl version?); resume with the run's own settings")
        return jax.tree_util.tree_unflatten(treedef, [_restore_leaf(ref, x, p) for (_, ref), x, p in
                                                      zip(with_paths, self.leaves, paths)])

    def to_bytes(self) -> bytes:
        return serialization.msgpack_serialize({
            "format": FORMAT_VERSION,
            "chunks_done": self.chunks_done,
            "num_chunks": self.num_chunks,
            "env_steps": self.env_steps,
            "metrics": self.metrics,
            "metric_names": list(self.metrics),  # msgpack does not keep the dict's order
            "leaves": {str(i): x for i, x in enumerate(self.leaves)},
            "paths": self.paths,
        })

    @classmethod
    def from_bytes(cls, data: bytes) -> "Checkpoint":
        raw = serialization.msgpack_restore(data)
        if raw.get("format") != FORMAT_VERSION:
            raise ConfigError(f"checkpoint format {raw.get('format')!r} is not {FORMAT_VERSION}; it was written by another jaxrl version")
        leaves = [np.asarray(raw["leaves"][str(i)]) for i in range(len(raw["leaves"]))]
        metrics = {k: np.asarray(raw["metrics"][k]) for k in raw["metric_names"]}
        return cls(int(raw["chunks_done"]), int(raw["num_chunks"]), np.asarray(raw["env_steps"]), metrics,
                   leaves, list(raw["paths"]))


def _split_sum_trees(paths: list[str], leaves: list[np.ndarray], wanted: list[str]) -> tuple[list[str], list[np.ndarray]]:
    """Checkpoints of jaxrl before session 19 held a prioritised buffer's sum tree as one array
    (node ``i`` at index ``i``, level ``d`` at ``[2**d, 2**(d+1))``); the buffer now holds its top
    levels in one array of that layout and each deeper level apart (``jaxrl.core.buffers``).
    Split each such leaf into the arrays the run holds, so those checkpoints resume exactly."""
    new_paths, new_leaves = [], []
    for path, leaf in zip(paths, leaves):
        parts = sum(p.startswith(f"{path}[") for p in wanted)
        if path.endswith(".tree") and parts and path not in wanted:
            depth = leaf.shape[-1].bit_length() - 2  # 2 * 2**depth entries
            top_depth = depth - (parts - 1)
            new_paths.append(f"{path}[0]")
            new_leaves.append(leaf[..., : 2 << top_depth])
            for i, d in enumerate(range(top_depth + 1, depth + 1), start=1):
                new_paths.append(f"{path}[{i}]")
                new_leaves.append(leaf[..., 1 << d: 2 << d])
        else:
            new_paths.append(path)
            new_leaves.append(leaf)
    return new_paths, new_leaves


def _restore_leaf(reference: Any, value: np.ndarray, path: str) -> jax.Array:
    if _is_key(reference):
        restored = jax.random.wrap_key_data(jnp.asarray(value), impl=jax.random.key_impl(reference))
    else:
        restored = _as_type(value, jax.typeof(reference))
    if jax.typeof(restored) != jax.typeof(reference):
        raise ConfigError(f"checkpoint leaf {path} is {jax.typeof(restored)} but this run needs {jax.typeof(reference)}; "
                          "resume with the run's own settings")
    return restored


def _as_type(value: np.ndarray, aval: Any) -> jax.Array:
    """``value`` as a device array of ``aval``'s dtype, weakly typed where ``aval`` is.

    Weak types matter: the compiled chunk program is specialised on them.
    """
    if not aval.weak_type:
        return jnp.asarray(value, aval.dtype)
    from jax._src.lax.lax import _convert_element_type  # no public API sets weak_type

    return _convert_element_type(jnp.asarray(value, aval.dtype), np.dtype(aval.dtype), weak_type=True)


def save(path: str | Path, checkpoint: Checkpoint) -> None:
    """Write ``RUN_DIR/checkpoint.msgpack`` atomically."""
    atomic_write_bytes(Path(path) / CHECKPOINT_FILE, checkpoint.to_bytes())


def load(path: str | Path) -> Checkpoint | None:
    """The run directory's checkpoint, or None when it has none yet; a clear error for a damaged one."""
    file = Path(path) / CHECKPOINT_FILE
    if not file.exists():
        return None
    try:
        return Checkpoint.from_bytes(file.read_bytes())
    except ConfigError:
        raise
    except Exception as error:  # msgpack raises several kinds on a damaged file
        raise unreadable(file, error, "the run cannot be resumed from it; start it again with --out NEW_DIR") from None


class CheckpointWriter:
    """A train callback saving the full state (and the curves so far) after every chunk.

    ``previous`` is the checkpoint a resumed run started from: its curves are kept in front.
    """

    def __init__(self, path: str | Path, previous: Checkpoint | None = None):
        self.path = Path(path)
        self.env_steps = [previous.env_steps] if previous else []
        self.metrics = [previous.metrics] if previous else []

    def __call__(self, report: Any) -> None:
        self.env_steps.append(np.asarray(report.env_steps))
        self.metrics.append(report.metrics)
        metrics = {k: np.concatenate([m[k] for m in self.metrics], axis=1) for k in report.metrics}
        save(self.path, Checkpoint.from_state(report.state, report.chunk + 1, report.num_chunks,
                                              np.concatenate(self.env_steps), metrics))
