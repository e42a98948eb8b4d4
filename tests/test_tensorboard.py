"""TensorBoard events per seed and aggregated, read back with tensorboardX's own event reader."""

import numpy as np
import pytest

from jaxrl.io.tensorboard import TensorBoardWriter
from jaxrl.stats import mean_ci

pytest.importorskip("tensorboardX")


def _scalars(directory):
    """{tag: [(step, value)]} from the event files in ``directory`` (TFRecord framing: length, crc, data, crc)."""
    import struct

    from tensorboardX.proto import event_pb2 as events  # the protobufs ship with tensorboardX

    out = {}
    for file in sorted(directory.glob("events.out.tfevents.*")):
        data = file.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset:offset + 8])
            event = events.Event.FromString(data[offset + 12:offset + 12 + length])
            offset += 12 + length + 4
            for value in event.summary.value:
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out


def test_events_per_seed_and_aggregated(tmp_path):
    returns = np.array([[1.0, 2.0, np.nan], [3.0, 5.0, 4.0], [2.0, 2.0, 2.0], [0.0, 1.0, 1.0]], np.float32)  # 2 settings x 2 seeds
    writer = TensorBoardWriter(tmp_path, run_shape=(2, 2))
    writer.write(np.array([10, 20, 30]), {"episode_return": returns})
    seed1 = _scalars(tmp_path / "tensorboard" / "setting_0" / "seed_1")
    assert seed1["episode_return"] == [(10, 3.0), (20, 5.0), (30, 4.0)]
    assert [s for s, _ in _scalars(tmp_path / "tensorboard" / "setting_0" / "seed_0")["episode_return"]] == [10, 20]  # NaN skipped
    mean = _scalars(tmp_path / "tensorboard" / "setting_1" / "mean")
    expected_mean, half = mean_ci(returns[2:], axis=0)
    np.testing.assert_allclose([v for _, v in mean["episode_return"]], expected_mean, rtol=1e-6)
    np.testing.assert_allclose([v for _, v in mean["episode_return/ci95_high"]], expected_mean + half, rtol=1e-6)
    writer.restart(np.array([10]), {"episode_return": returns[:, :1]})  # resume: exactly the checkpoint's points
    assert _scalars(tmp_path / "tensorboard" / "setting_0" / "seed_1")["episode_return"] == [(10, 3.0)]
