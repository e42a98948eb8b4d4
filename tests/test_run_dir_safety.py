"""Run directories are never silently wrong: one writer at a time, clear refusals for resume,
damaged or foreign files, failed writes and bad render options, and no file changed by a refusal."""

import argparse
import errno
import io
import os
import shutil
import subprocess
import sys
import threading
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from jaxrl import cli, runs
from jaxrl.errors import ConfigError
from jaxrl.io import checkpoint, run_dir

TRAIN = ["train", "q_learning", "--env", "FrozenLake-v1", "--seeds", "2", "--steps", "200", "--chunks", "2",
         "--eval-episodes", "3", "--quiet", "--no-preset"]


def _snapshot(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` (relative name -> bytes)."""
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()}


def _fails(argv: list[str], capsys: pytest.CaptureFixture, message: str) -> None:
    """The command exits 2 with ``message`` on stderr and no traceback."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A finished tiny run and the table its training printed."""
    out = tmp_path_factory.mktemp("finished") / "run"
    printed = io.StringIO()
    with redirect_stdout(printed):
        assert cli.main(TRAIN + ["--out", str(out)]) == 0
    return out, printed.getvalue()


@pytest.fixture
def run(finished: tuple[Path, str], tmp_path: Path) -> Path:
    """A copy of the finished run to damage."""
    return Path(shutil.copytree(finished[0], tmp_path / "run"))


def _unfinished(run: Path) -> Path:
    """The run as a kill after its last checkpoint leaves it (no params.msgpack)."""
    (run / run_dir.PARAMS_FILE).unlink()
    return run


# ------------------------------------------------------------------------------ refusals, table-driven

def _garbage(name: str, data: bytes, prepare=lambda run: run):
    def damage(run: Path) -> Path:
        prepare(run)
        (run / name).write_bytes(data)
        return run
    return damage


def _foreign_params(tmp_path: Path):
    """params.msgpack of the same algorithm on an 8x8 map (a 64-state table where the run has 16)."""
    def damage(run: Path) -> Path:
        other = tmp_path / "other"
        assert cli.main(TRAIN + ["--env-arg", "map_name=8x8", "--out", str(other)]) == 0
        shutil.copy(other / run_dir.PARAMS_FILE, run / run_dir.PARAMS_FILE)
        return run
    return damage


def _without_checkpoint(run: Path) -> Path:
    _unfinished(run)
    (run / checkpoint.CHECKPOINT_FILE).unlink()
    return run


RESUME = TRAIN + ["--resume"]

CASES = [
    # (name, damage, command (the run directory appended), message)
    ("resume finished", lambda run: run, RESUME, "has finished (params.msgpack is written): there is nothing to resume"),
    ("resume without checkpoint", _without_checkpoint, RESUME, "has no checkpoint.msgpack"),
    ("truncated checkpoint", lambda run: _garbage("checkpoint.msgpack", (run / "checkpoint.msgpack").read_bytes()[:100], _unfinished)(run),
     RESUME, "checkpoint.msgpack is damaged"),
    ("garbage checkpoint", _garbage("checkpoint.msgpack", b"\x00garbage", _unfinished), RESUME, "checkpoint.msgpack is damaged"),
    ("garbage config on resume", _garbage("config.json", b"{not json"), RESUME, "config.json is damaged"),
    ("config missing keys", _garbage("config.json", b'{"algo": "q_learning"}'), ["eval"], "config.json is damaged"),
    ("garbage config on eval", _garbage("config.json", b"\xff\xfe"), ["eval"], "config.json is damaged"),
    ("garbage config on report", _garbage("config.json", b"[1, 2"), ["report", "--no-gif"], "config.json is damaged"),
    ("truncated params on eval", lambda run: _garbage("params.msgpack", (run / "params.msgpack").read_bytes()[:40])(run),
     ["eval"], "params.msgpack is damaged"),
    ("garbage params on render", _garbage("params.msgpack", b"garbage"), ["render"], "params.msgpack is damaged"),
    ("garbage metrics on report", _garbage("metrics.jsonl", b'{"env_steps": 1\n'), ["report", "--no-gif"], "metrics.jsonl is damaged"),
    ("render seed -1", lambda run: run, ["render", "--seed", "-1"], "seed=-1 is out of range"),
    ("render seed too large", lambda run: run, ["render", "--seed", "2"], "seed=2 is out of range"),
    ("render setting of a plain run", lambda run: run, ["render", "--setting", "5"], "setting=5 is out of range"),
    ("render png", lambda run: run, ["render", "--out", "x.png"], "render writes a GIF; name the file with .gif"),
]


@pytest.mark.parametrize("name,damage,command,message", CASES, ids=[c[0] for c in CASES])
def test_refusal_changes_no_file(name, damage, command, message, run, capsys):
    damage(run)
    before = _snapshot(run)
    head, tail = (command[:1], command[1:]) if command[0] in ("eval", "render", "report") else (command, [])
    _fails(head + [str(run)] + tail, capsys, message)
    assert _snapshot(run) == before


def test_params_of_another_config_are_refused_on_load(run, tmp_path, capsys):
    _foreign_params(tmp_path)(run)
    before = _snapshot(run)
    with pytest.raises(ConfigError, match=r"does not belong to this run's config.json .*is float32\[2, 64, 4\], the config needs float32\[2, 16, 4\]"):
        runs.load(run)
    _fails(["eval", str(run)], capsys, "does not belong to this run's config.json")
    assert _snapshot(run) == before


# ------------------------------------------------------------------------------ one writer at a time

HOLD = """
import sys, time
from pathlib import Path
from jaxrl.io import run_dir
with run_dir.WriterLock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_second_writer_is_refused_naming_the_holder_and_kill_9_frees_the_lock(run, capsys):
    _unfinished(run)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = _snapshot(run)
        _fails(RESUME + [str(run)], capsys, f"is being written by another process (PID {holder.pid})")
        assert _snapshot(run) == before
    finally:
        holder.kill()  # SIGKILL: the OS drops the lock
        holder.wait()
    assert cli.main(RESUME + [str(run)]) == 0
    assert (run / run_dir.PARAMS_FILE).exists()


def test_a_fresh_directory_is_locked_before_config_is_written(tmp_path):
    with run_dir.create_run_dir(tmp_path / "run", {"algo": "x"}):
        with pytest.raises(ConfigError, match=f"PID {os.getpid()}"):
            run_dir.WriterLock(tmp_path / "run")
    with pytest.raises(ConfigError, match="already exists and is not empty"):
        run_dir.create_run_dir(tmp_path / "run", {"algo": "x"})


# ------------------------------------------------------------------------------ failed writes

def _enospc_on(name: str, nth: int):
    """An ``os.fsync`` that fails with ENOSPC on the ``nth`` sync of a file whose name contains ``name``
    (syncs in the main thread only: tensorboardX's writer thread also syncs, at times of its own)."""
    real, seen = os.fsync, []

    def fsync(fd: int) -> None:
        if threading.current_thread() is threading.main_thread() and name in os.readlink(f"/proc/self/fd/{fd}"):
            seen.append(fd)
            if len(seen) == nth:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)
    return fsync


@pytest.mark.parametrize("name,nth", [("metrics.jsonl", 2), ("tfevents", 4),  # 3 event files per chunk
                                      (".checkpoint.msgpack.", 2), (".params.msgpack.", 1), (".eval.json.", 1)])
def test_a_full_disk_exits_cleanly_and_resume_finishes_the_run(name, nth, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", _enospc_on(name, nth))
        _fails(TRAIN + ["--out", str(out)], capsys, "No space left on device")
    assert not [f for f in _snapshot(out) if f.endswith(".tmp")]
    saved = checkpoint.load(out)
    assert saved.chunks_done == (1 if name in ("metrics.jsonl", "tfevents", ".checkpoint.msgpack.") else 2)
    assert len(run_dir.read_metrics(out)) in (len(saved.env_steps), 2 * len(saved.env_steps))  # the chunk after is cut on resume
    if name != ".eval.json.":
        assert cli.main(RESUME + [str(out)]) == 0
        assert len(run_dir.read_metrics(out)) == 100


@pytest.mark.parametrize("where", ["under a file", "read-only"])
def test_an_unwritable_out_is_refused(where, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    out = blocker / "run" if where == "under a file" else parent / "run"
    if where == "read-only" and os.access(parent, os.W_OK):
        pytest.skip("running as a user who can write anywhere (root)")
    _fails(TRAIN + ["--out", str(out)], capsys, f"cannot write {out}")
    assert blocker.read_text() == "mine" and not list(parent.iterdir())


# ------------------------------------------------------------------------------ render, eval, names

def test_render_shows_progress_and_names_the_gif_the_report_embeds(run, capsys):
    assert cli.main(["render", str(run), "--episodes", "2", "--out", str(run / "other.gif")]) == 0
    captured = capsys.readouterr()
    assert "episode 1/2: return" in captured.err and "episode 2/2: return" in captured.err
    assert f"jaxrl report embeds {run / 'episode.gif'}" in captured.out
    assert cli.main(["render", str(run), "--episodes", "1"]) == 0
    assert (run / "episode.gif").exists() and "report embeds" not in capsys.readouterr().out


def test_eval_defaults_to_the_seed_of_training_s_table(finished, capsys):
    out, trained = finished
    assert cli.main(["eval", str(out), "--episodes", "3"]) == 0
    printed = capsys.readouterr().out
    assert "evaluation seed 0 (as in training's final table)" in printed
    table = printed.splitlines()[-1]
    assert table in trained.splitlines()
    assert cli.main(["eval", str(out), "--episodes", "3", "--seed", "1"]) == 0
    assert "evaluation seed 1 (training's final table used 0)" in capsys.readouterr().out


def test_default_run_directory_does_not_nest_for_an_env_id_with_a_slash():
    args = argparse.Namespace(resume=None, out=None, command="train", algo="q_learning", env="probe/TimeLimit")
    path, resume = cli._output_dir(args)
    assert path.parent == Path("runs") and path.name.startswith("q_learning-probe-TimeLimit-") and not resume
