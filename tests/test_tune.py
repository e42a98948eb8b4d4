"""`jaxrl tune`: workers sharing one Optuna study through its storage (SQLite, Optuna's journal
file, a real PostgreSQL server the tests start themselves) finish exactly the trials asked, and a
worker killed mid-batch has its trials retried."""

import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

import pytest

optuna = pytest.importorskip("optuna")

from jaxrl import cli  # noqa: E402

TUNE = ["tune", "q_learning", "--env", "FrozenLake-v1", "--env-arg", "is_slippery=false", "--random",
        "learning_rate=log:0.01:1", "--seeds", "2", "--steps", "2000", "--trials-per-batch", "2", "--quiet",
        "--eval-episodes", "2", "--study", "lake"]

# A worker that dies (SIGKILL) once it has claimed its first batch, before telling any result.
KILLED_WORKER = """
import os, signal, sys
from jaxrl import cli, tuning
tuning.execute = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
sys.exit(cli.main(sys.argv[1:]))
"""


def _environ():
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "JAXRL_COMPILE_CACHE": "0"}


def _worker(*args, code=None):
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "jaxrl.cli", *args]
    return subprocess.Popen(command, env=_environ(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# -- a throwaway PostgreSQL server --------------------------------------------------------------------

def _unavailable(reason):
    """Skip, unless JAXRL_REQUIRE_POSTGRES=1 (CI sets it, so that it cannot skip PostgreSQL silently)."""
    if os.environ.get("JAXRL_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"JAXRL_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


def _postgres_bin():
    """The folder holding initdb and pg_ctl: from PATH, else Debian's /usr/lib/postgresql/VERSION/bin (newest)."""
    found = shutil.which("initdb")
    if found:
        return os.path.dirname(os.path.realpath(found))
    folders = glob.glob("/usr/lib/postgresql/*/bin")
    folders.sort(key=lambda f: [int(p) if p.isdigit() else 0 for p in f.split("/")[-2].split(".")])
    return next((f for f in reversed(folders) if os.path.exists(os.path.join(f, "initdb"))), None)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_server():
    """A PostgreSQL server in a temporary folder for this module's tests: (port, psycopg2 module).
    initdb refuses to run as root, so as root the server runs as Debian's `postgres` user."""
    try:
        import psycopg2
    except ImportError:
        _unavailable("psycopg2 is not installed (pip install psycopg2-binary)")
    bin_dir = _postgres_bin()
    if bin_dir is None:
        _unavailable("no PostgreSQL server binaries (initdb) on PATH or under /usr/lib/postgresql/*/bin")
    as_user = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            _unavailable("running as root, and there is no runuser to start PostgreSQL as another user")
        try:
            import pwd

            owner = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root, and there is no `postgres` user to run PostgreSQL as")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = tempfile.mkdtemp(prefix="jaxrl-postgres-", dir="/tmp" if as_user else None)
    os.chmod(root, 0o755)  # the postgres user must reach its data folder
    data = os.path.join(root, "data")
    os.mkdir(data, 0o700)
    if as_user:
        os.chown(data, owner.pw_uid, owner.pw_gid)

    def pg(tool, *args):
        return subprocess.run([*as_user, os.path.join(bin_dir, tool), *args], cwd=root, check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)

    log = os.path.join(data, "server.log")
    try:
        pg("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        for attempt in range(3):  # another process may take the free port before the server does
            port = _free_port()
            try:  # -F: no fsync (a throwaway server); -k: its socket in its own folder, not Debian's
                pg("pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", log,
                   "-o", f"-h 127.0.0.1 -p {port} -k {data} -F")
                break
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
    except subprocess.CalledProcessError as error:
        server_log = open(log).read()[-2000:] if os.path.exists(log) else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"{' '.join(error.cmd)} failed:\n{error.stdout}\n{server_log}")
    try:
        yield port, psycopg2
    finally:
        try:
            pg("pg_ctl", "stop", "-D", data, "-m", "immediate")
        finally:
            shutil.rmtree(root, ignore_errors=True)


_databases = itertools.count()


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh database on the module's PostgreSQL server, as a storage URL."""
    port, psycopg2 = postgres_server
    name = f"tune{next(_databases)}"
    connection = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    connection.close()
    return f"postgresql://postgres@127.0.0.1:{port}/{name}"


@pytest.fixture
def storage(request, tmp_path):
    kind = request.param
    if kind == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'tune.db'}" if kind == "sqlite" else f"journal:{tmp_path / 'tune.log'}"


def _trials(storage):
    from jaxrl.tuning import open_storage

    return optuna.load_study(study_name="lake", storage=open_storage(storage)).get_trials()


@pytest.mark.parametrize("storage", ["sqlite", "journal", "postgresql"], indirect=True)
def test_two_workers_at_once_finish_exactly_the_trials_asked(storage):
    workers = [_worker(*TUNE, "--trials", "5", "--storage", storage) for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1][-2000:] for o in outputs]
    trials = _trials(storage)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 5  # not 6: the worker that asked one too many failed it at once
    assert all(t.user_attrs.get("surplus") for t in trials if t.state == optuna.trial.TrialState.FAIL)
    assert len({t.number for t in trials}) == len(trials) and all(len(t.user_attrs["per_seed_return"]) == 2 for t in complete)
    # each worker prints the study as it stands when it stops: the one that stops last sees all 5
    assert any("5 complete trials" in out and "best: jaxrl train q_learning --env FrozenLake-v1" in out
               for out, _ in outputs), [out for out, _ in outputs]


@pytest.mark.parametrize("storage", ["sqlite", "postgresql"], indirect=True)  # the journal file has no heartbeat
def test_a_killed_workers_trials_are_retried_by_the_others(storage):
    args = [*TUNE, "--trials", "4", "--storage", storage, "--heartbeat", "1"]
    killed = _worker(*args, code=KILLED_WORKER)
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL
    orphans = {t.number for t in _trials(storage) if t.state == optuna.trial.TrialState.RUNNING}
    assert len(orphans) == 2  # its whole first batch, claimed and never told
    survivor = _worker(*args)
    out, err = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, err[-2000:]
    trials = _trials(storage)
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials) == 4
    assert {t.number for t in trials if t.state == optuna.trial.TrialState.FAIL} == orphans  # failed as stale...
    retried = {t.system_attrs.get("failed_trial") for t in trials if t.state == optuna.trial.TrialState.COMPLETE}
    assert orphans <= retried  # ...and trained again, with their parameters, by the survivor


def test_show_and_bad_input(tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'tune.db'}"
    assert cli.main([*TUNE, "--trials", "2", "--storage", storage]) == 0
    capsys.readouterr()
    assert cli.main(["tune", "--study", "lake", "--storage", storage, "--show", "--top", "1"]) == 0
    shown = capsys.readouterr().out
    assert "2 complete trials" in shown and shown.count("\n0 ") + shown.count("\n1 ") == 1  # one row
    assert cli.main([*TUNE, "--trials", "2", "--storage", storage, "--seeds", "3"]) == 2  # another study definition
    assert "was started with other settings (seeds differ)" in capsys.readouterr().err
    assert cli.main(["tune", "--study", "nope", "--storage", storage, "--show"]) == 2
    assert "there is no study 'nope'" in capsys.readouterr().err
    assert cli.main(["tune", "q_learning", "--env", "FrozenLake-v1", "--storage", storage, "--trials", "2"]) == 2
    assert "at least one --random" in capsys.readouterr().err
    assert cli.main([*TUNE, "--trials", "2", "--storage", "tune.db"]) == 2
    assert "is not a storage URL" in capsys.readouterr().err
