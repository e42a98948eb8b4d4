"""TensorBoard event files (tensorboardX, the ``tensorboard`` extra): per seed and aggregated.

    RUN_DIR/tensorboard/seed_3/            each metric of seed 3 against env steps per seed
    RUN_DIR/tensorboard/mean/              the mean over seeds, and its 95% CI (tags METRIC/ci95_low, /ci95_high)
    RUN_DIR/tensorboard/setting_2/seed_3/  the same per setting, for a sweep

``tensorboard --logdir RUN_DIR/tensorboard`` shows them. Per-seed files are written for the
first ``MAX_SEED_WRITERS`` seeds of each setting only (an open file each); the aggregate covers all.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from jaxrl.io.files import write_error
from jaxrl.stats import mean_ci

TENSORBOARD_DIR = "tensorboard"
MAX_SEED_WRITERS = 32


def available() -> bool:
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        return False
    return True


class TensorBoardWriter:
    """A train callback writing each chunk's logged points as TensorBoard scalars."""

    def __init__(self, path: str | Path, run_shape: tuple[int, ...]):
        """``run_shape``: ``(seeds,)``, or ``(settings, seeds)`` for a sweep (a directory per setting)."""
        self.root = Path(path) / TENSORBOARD_DIR
        self.seeds, self.settings, self.batched = run_shape[-1], math.prod(run_shape[:-1]), len(run_shape) == 2
        self._writers: dict[str, Any] = {}

    def _writer(self, name: str) -> Any:
        """tensorboardX's synchronous event file writer: its ``SummaryWriter`` queues events for a thread
        that ``flush()`` does not wait for, so a chunk's points could still be in memory after it returned."""
        if name not in self._writers:
            from tensorboardX.event_file_writer import EventsWriter

            directory = self.root / name
            directory.mkdir(parents=True, exist_ok=True)
            self._writers[name] = EventsWriter(str(directory / "events"))
        return self._writers[name]

    @staticmethod
    def _add_scalars(writer: Any, step: int, scalars: list[tuple[str, float]]) -> None:
        """One event holding every scalar of a logged point (one event per scalar was a third of a
        short run's time)."""
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.proto.summary_pb2 import Summary

        if scalars:
            values = [Summary.Value(tag=tag, simple_value=value) for tag, value in scalars]
            writer.write_event(Event(wall_time=time.time(), step=step, summary=Summary(value=values)))

    def _prefix(self, setting: int) -> str:
        return f"setting_{setting}/" if self.batched else ""

    def write(self, env_steps: np.ndarray, metrics: dict[str, np.ndarray]) -> None:
        """``metrics[name]`` is ``[runs, logs]`` (runs setting-major); NaN points are skipped. A failed
        write (a full disk) closes the event files and raises ``write_error``."""
        try:
            self._write(env_steps, metrics)
        except OSError as error:
            self._abandon()
            raise write_error(self.root, error) from None

    def _abandon(self) -> None:
        """Stop every event writer without flushing what could not be written."""
        for writer in self._writers.values():
            try:
                writer.close()
            except OSError:
                pass  # the disk is still full; the events are rewritten from the checkpoint on --resume
        self._writers.clear()

    def _write(self, env_steps: np.ndarray, metrics: dict[str, np.ndarray]) -> None:
        steps = [int(step) for step in env_steps]
        for setting in range(self.settings):
            block = {k: np.asarray(v[setting * self.seeds:(setting + 1) * self.seeds], np.float64) for k, v in metrics.items()}
            for seed in range(min(self.seeds, MAX_SEED_WRITERS)):
                writer = self._writer(f"{self._prefix(setting)}seed_{seed}")
                for t, step in enumerate(steps):
                    self._add_scalars(writer, step, [(name, float(values[seed, t])) for name, values in block.items()
                                                     if np.isfinite(values[seed, t])])
            aggregates = {name: mean_ci(values, axis=0) for name, values in block.items()}
            mean_writer = self._writer(f"{self._prefix(setting)}mean")
            for t, step in enumerate(steps):
                scalars = []
                for name, (mean, half) in aggregates.items():
                    if np.isfinite(mean[t]):
                        scalars.append((name, float(mean[t])))
                    if np.isfinite(half[t]):
                        scalars += [(f"{name}/ci95_low", float(mean[t] - half[t])), (f"{name}/ci95_high", float(mean[t] + half[t]))]
                self._add_scalars(mean_writer, step, scalars)
        for writer in self._writers.values():
            writer.flush()  # written and fsynced before the chunk's checkpoint names these points as saved

    def __call__(self, report: Any) -> None:
        self.write(report.env_steps, report.metrics)

    def restart(self, env_steps: np.ndarray, metrics: dict[str, np.ndarray]) -> None:
        """On resume: replace the event files with exactly the checkpoint's points."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        shutil.rmtree(self.root, ignore_errors=True)
        if len(env_steps):
            self.write(env_steps, metrics)
