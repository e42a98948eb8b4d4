"""Multi-process training on jax.distributed: two local processes x 2 CPU devices train exactly what
one process x 4 devices trains, process 0 alone writes, a killed job resumes exactly, and losing a
process stops the other with an error instead of a hang."""

import filecmp
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jaxrl import distributed
from jaxrl.errors import ConfigError

# Files that must be byte-identical between runs (timings.json and TensorBoard's event files carry clocks).
RUN_FILES = ["config.json", "metrics.jsonl", "metrics.csv", "checkpoint.msgpack", "params.msgpack", "eval.json"]
LAKE = ["train", "q_learning", "--env", "FrozenLake-v1", "--seeds", "8", "--quiet", "--eval-episodes", "10"]
# Long enough (40 chunks of several seconds in all) to be killed part-way.
LONG_LAKE = [*LAKE, "--steps", "600000", "--chunks", "40"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _environ(devices: int) -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "JAXRL_COMPILE_CACHE": "0",
            "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}


def _start_job(args, tmp_path, name):
    """Two processes x 2 CPU devices on localhost, each running `jaxrl ARGS` with its --process-id."""
    port = _free_port()
    processes = []
    for i in range(2):
        log = open(tmp_path / f"{name}.{i}.log", "w")
        command = [sys.executable, "-m", "jaxrl.cli", *args, "--coordinator", f"localhost:{port}", "--num-processes", "2",
                   "--process-id", str(i)]
        processes.append(subprocess.Popen(command, env=_environ(2), stdout=log, stderr=subprocess.STDOUT, text=True))
    return processes


def _finish(processes, tmp_path, name, timeout=300):
    for p in processes:
        p.wait(timeout=timeout)
    logs = [(tmp_path / f"{name}.{i}.log").read_text() for i in range(len(processes))]
    assert [p.returncode for p in processes] == [0, 0], "\n".join(log[-3000:] for log in logs)
    return logs


def _single(args, devices=4):
    done = subprocess.run([sys.executable, "-m", "jaxrl.cli", *args], env=_environ(devices), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _same_run(a: Path, b: Path) -> None:
    _, mismatch, errors = filecmp.cmpfiles(a, b, RUN_FILES, shallow=False)
    assert not mismatch and not errors, (mismatch, errors)
    assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())


@pytest.mark.parametrize("algo", ["q_learning", "ppo"])
def test_two_processes_train_what_one_process_with_as_many_devices_trains(tmp_path, algo):
    if algo == "q_learning":  # 6 runs: 3 devices in both layouts (2 of process 0's, 1 of process 1's)
        args = [*LAKE[:4], "--seeds", "6", *LAKE[6:], "--steps", "20000"]
    else:
        args = ["train", "ppo", "--env", "CartPole-v1", "--seeds", "8", "--steps", "16384", "--until", "none", "--quiet",
                "--eval-episodes", "5", "--chunks", "4"]
    logs = _finish(_start_job([*args, "--out", str(tmp_path / "two")], tmp_path, "two"), tmp_path, "two")
    single = _single([*args, "--out", str(tmp_path / "one")])
    # bit for bit, PPO too: each device runs the same program on the same runs in both layouts
    _same_run(tmp_path / "two", tmp_path / "one")
    assert "greedy evaluation" in logs[0] and "greedy evaluation" not in logs[1]  # process 0 alone reports
    assert "greedy evaluation" in single


def test_a_killed_two_process_job_resumes_to_the_uninterrupted_result(tmp_path):
    killed = _start_job([*LONG_LAKE, "--out", str(tmp_path / "run")], tmp_path, "killed")
    checkpoint = tmp_path / "run" / "checkpoint.msgpack"
    deadline = time.monotonic() + 240
    while not checkpoint.exists() and time.monotonic() < deadline and killed[0].poll() is None:
        time.sleep(0.2)
    time.sleep(1.0)
    for p in killed:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
    assert checkpoint.exists() and not (tmp_path / "run" / "params.msgpack").exists()  # killed part-way
    _finish(_start_job([*LONG_LAKE, "--resume", str(tmp_path / "run")], tmp_path, "resumed"), tmp_path, "resumed")
    _finish(_start_job([*LONG_LAKE, "--out", str(tmp_path / "whole")], tmp_path, "whole"), tmp_path, "whole")
    _same_run(tmp_path / "run", tmp_path / "whole")


@pytest.mark.parametrize("killed", [1, 0])  # a worker, and process 0 (the coordinator, the writer)
def test_losing_a_process_stops_the_other_with_an_error(tmp_path, killed):
    job = _start_job([*LONG_LAKE, "--out", str(tmp_path / "run")], tmp_path, "job")
    deadline = time.monotonic() + 240
    while not (tmp_path / "run" / "checkpoint.msgpack").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    job[killed].send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    survivor = job[1 - killed]
    survivor.wait(timeout=distributed.HEARTBEAT_TIMEOUT_S + 60)
    waited = time.monotonic() - killed_at
    log = (tmp_path / f"job.{1 - killed}.log").read_text()
    assert survivor.returncode != 0 and waited < distributed.HEARTBEAT_TIMEOUT_S + 30, (survivor.returncode, waited)
    assert "another task died" in log, log[-3000:]
    assert not (tmp_path / "run" / "params.msgpack").exists()  # stopped, not finished


def test_settings_from_flags_and_environment():
    assert distributed.settings_from(None, None, None, False, environ={}) is None
    assert distributed.settings_from("localhost:1234", 2, 1, False, environ={}) == {
        "coordinator_address": "localhost:1234", "num_processes": 2, "process_id": 1}
    environ = {"JAXRL_COORDINATOR": "node1:99", "JAXRL_NUM_PROCESSES": "4", "JAXRL_PROCESS_ID": "3"}
    assert distributed.settings_from(None, None, None, False, environ=environ)["process_id"] == 3
    assert distributed.settings_from(None, None, 0, False, environ=environ)["process_id"] == 0  # a flag wins
    assert distributed.settings_from(None, None, None, True, environ={}) == {}
    assert distributed.settings_from(None, None, None, False, environ={"JAXRL_DISTRIBUTED": "auto"}) == {}
    for args, message in [(("localhost:1", 2, None, False), "missing --process-id"),
                          (("localhost", 2, 0, False), "is not HOST:PORT"),
                          (("localhost:1", 2, 2, False), "between 0 and --num-processes - 1"),
                          (("localhost:1", None, None, True), "drop --coordinator")]:
        with pytest.raises(ConfigError, match=message):
            distributed.settings_from(*args, environ={})
    with pytest.raises(ConfigError, match="must be an integer"):
        distributed.settings_from(None, None, None, False, environ={"JAXRL_NUM_PROCESSES": "two"})


def test_bad_job_flags_fail_before_anything_starts(capsys):
    from jaxrl import cli

    assert cli.main(["train", "q_learning", "--env", "FrozenLake-v1", "--coordinator", "localhost:1"]) == 2
    assert "missing --num-processes N, --process-id I" in capsys.readouterr().err


def test_runs_that_do_not_split_over_the_processes_are_refused_in_every_process(tmp_path):
    job = _start_job([*LAKE[:4], "--seeds", "5", "--steps", "2000", "--out", str(tmp_path / "run")], tmp_path, "odd")
    for p in job:
        p.wait(timeout=120)
    assert [p.returncode for p in job] == [2, 2]
    assert all("5 runs (seeds x settings) cannot be spread over 2 processes" in (tmp_path / f"odd.{i}.log").read_text()
               for i in range(2))
    assert not (tmp_path / "run").exists()
