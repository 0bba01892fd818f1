"""A private one-node SLURM cluster for tests (issue 6).

Contract: :class:`SlurmCluster` is a context manager that stands up munged, slurmctld and slurmd for
this host and, on exit, stops exactly the daemons it started (by PID), restores or removes every
file it wrote outside its temporary directory, and deletes that directory: the machine is left as
it was found, except that Debian's ``slurm-wlm`` and ``munge`` stay installed if they had to be
installed (``apt-get update && apt-get install``; ~10 s). Recipe:
``../shared/recipes/slurm-one-node.md`` (Debian 12, slurm-wlm 22.05, munge 0.5.15).

What it touches:
    * a fresh temporary directory: munge key, socket and logs, slurmctld state, slurmd spool,
      daemon logs;
    * ``/etc/slurm/slurm.conf`` -- the one system file. The daemons and our clients would be happy
      with ``SLURM_CONF``, but the snakemake SLURM jobstep plugin strips ``SLURM_*`` variables
      before its inner ``srun``, which then reads the default path. A previous file is restored
      byte for byte (with mode and owner) on exit; a missing one (and a missing ``/etc/slurm``)
      is removed again;
    * two free TCP ports on 127.0.0.1, chosen at start.

When the machine cannot do this (not root, no ``apt-get``, installation failed, or a slurmctld or
slurmd of someone else is running) the test is skipped with the reason; with
``GLASSVIB_REQUIRE_SLURM=1`` in the environment (CI) the same situations fail instead, so CI can
never pass with the cluster test skipped. Two test runs on one machine take turns (file lock).
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

#: Programs the cluster needs; all are in Debian's ``slurm-wlm`` and ``munge`` packages.
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "sinfo", "scontrol",
            "scancel")
PACKAGES = ("slurm-wlm", "munge")
DAEMONS = ("munged", "slurmctld", "slurmd", "slurmstepd")
REQUIRE_ENV = "GLASSVIB_REQUIRE_SLURM"
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
LOCK_PATH = Path(tempfile.gettempdir()) / "glassvib-slurm-test.lock"
TMP_PREFIX = "glassvib-slurm-cluster-"


def _unavailable(reason: str) -> None:
    """Skip the calling test, or fail it when CI demands that the cluster runs."""
    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"{REQUIRE_ENV} is set but the SLURM test cannot run: {reason}")
    pytest.skip(reason)


def daemon_pids() -> dict[int, str]:
    """Live (non-zombie) munge/SLURM daemon processes, read from /proc: {pid: name}."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            if comm not in DAEMONS:
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":  # a zombie is dead already; its parent reaps it
            found[int(entry.name)] = comm
    return found


def die_with_parent() -> None:
    """``preexec_fn`` for Popen: the child gets SIGTERM when the test process dies (even by
    SIGKILL), so a killed test run cannot leave daemons behind (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _raise_on_sigterm(signum, frame):
    raise SystemExit(f"terminated by signal {signum}; stopping the test SLURM cluster")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mem_total_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("MemTotal not found in /proc/meminfo")


def ensure_packages(timeout: float = 900.0) -> list[str]:
    """Install slurm-wlm and munge with apt-get if any needed program is missing.

    Returns:
        What was done, as log lines (empty if everything was present).
    Skips (fails under GLASSVIB_REQUIRE_SLURM) when not root, without apt-get, or if apt fails.
    """
    if os.geteuid() != 0:
        _unavailable(f"needs root to run slurmctld/slurmd/munged (running as uid {os.geteuid()})")
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if not missing:
        return []
    if shutil.which("apt-get") is None:
        _unavailable(f"SLURM programs {missing} are missing and there is no apt-get to install them")
    before = set(daemon_pids())
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    t0 = time.monotonic()
    wait_lock = ["-o", "DPkg::Lock::Timeout=300"]  # another apt/dpkg may be running
    for cmd in (["apt-get", *wait_lock, "update", "-qq"],
                ["apt-get", *wait_lock, "install", "-y", "-qq", *PACKAGES]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            _unavailable(f"`{' '.join(cmd)}` failed (exit {proc.returncode}): "
                         f"{(proc.stdout + proc.stderr)[-800:]}")
    # Without a policy-rc.d the package scripts may start daemons: we caused them, we stop them.
    stopped = []
    for pid, name in daemon_pids().items():
        if pid not in before:
            try:
                os.kill(pid, signal.SIGTERM)
                stopped.append(f"{name}[{pid}]")
            except ProcessLookupError:
                pass
    still = [p for p in PROGRAMS if shutil.which(p) is None]
    if still:
        _unavailable(f"apt-get installed {PACKAGES} but {still} are still missing")
    log = [f"installed {' '.join(PACKAGES)} in {time.monotonic() - t0:.0f} s (missing: {missing})"]
    if stopped:
        log.append(f"stopped daemons started by the package scripts: {stopped}")
    return log


class _SystemFile:
    """Write a file outside our temporary directory and put the machine back on :meth:`restore`."""

    def __init__(self, path: Path):
        self.path = path
        self.created_dirs: list[Path] = []
        self.old: tuple[bytes, int, int, int] | None = None
        self.written = False

    def write(self, text: str) -> None:
        if self.path.exists():
            st = self.path.stat()
            data = self.path.read_bytes()
            # A file of ours left by a run that was SIGKILLed is not worth restoring.
            if not data.startswith(CONF_MARKER.encode()):
                self.old = (data, st.st_mode & 0o7777, st.st_uid, st.st_gid)
        missing = []
        parent = self.path.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for d in reversed(missing):
            d.mkdir()
            self.created_dirs.append(d)
        self.written = True
        self.path.write_text(text)
        self.path.chmod(0o644)

    def restore(self) -> None:
        if not self.written:
            return
        if self.old is None:
            self.path.unlink(missing_ok=True)
        else:
            data, mode, uid, gid = self.old
            self.path.write_bytes(data)
            os.chmod(self.path, mode)
            os.chown(self.path, uid, gid)
        for d in reversed(self.created_dirs):
            try:
                d.rmdir()
            except OSError:
                pass
        self.written = False


CONF_MARKER = "# Written by glassvib's tests/slurm_cluster.py"
SLURM_CONF = CONF_MARKER + """ for a private one-node test cluster; this file is
# removed (or the previous one restored) when the test finishes.
ClusterName=glassvibtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
PlugStackConfig={root}/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=3600
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} State=UNKNOWN
PartitionName={partition} Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


class SlurmCluster:
    """Context manager for a one-node SLURM cluster private to the test (see module docstring).

    Attributes (valid inside the ``with`` block):
        root: temporary directory with state, spool, logs and the munge key and socket.
        conf: path of the slurm.conf in use (``/etc/slurm/slurm.conf``).
        env: ``os.environ`` plus ``SLURM_CONF``; pass it to SLURM clients and snakemake.
        partition: name of the only partition (default ``main``), also the default partition.
        host: node name (``hostname -s``); cpus: CPUs of the node (nproc); mem_mb: RealMemory
            (80 % of the machine's memory, in MB).
        pids: {"munged": pid, "slurmctld": pid, "slurmd": pid} of the daemons this object started.
        install_log: what :func:`ensure_packages` did.
    """

    def __init__(self, partition: str = "main", start_timeout: float = 60.0,
                 lock_timeout: float = 1800.0):
        self.partition = partition
        self.start_timeout = start_timeout
        self.lock_timeout = lock_timeout
        self.root: Path | None = None
        self.conf = SYSTEM_CONF
        self.env: dict[str, str] = {}
        self.pids: dict[str, int] = {}
        self.install_log: list[str] = []
        self._procs: dict[str, subprocess.Popen] = {}
        self._conf_file = _SystemFile(SYSTEM_CONF)
        self._old_sigterm = None
        self._lock = None
        self._daemons_before: set[int] = set()
        self.host = socket.gethostname().split(".")[0]
        self.cpus = len(os.sched_getaffinity(0))
        # Leave headroom: slurmd drains a node whose RealMemory exceeds what it finds.
        self.mem_mb = int(0.8 * _mem_total_mb())

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> "SlurmCluster":
        self.install_log = ensure_packages()
        try:
            munge_user = pwd.getpwnam("munge")
        except KeyError:
            _unavailable("the munge package is installed but there is no 'munge' user")
        # A SIGTERM (CI timeout, `kill`) must still run __exit__ and stop the daemons.
        if threading.current_thread() is threading.main_thread():
            self._old_sigterm = signal.signal(signal.SIGTERM, _raise_on_sigterm) or signal.SIG_DFL
        try:
            self._acquire_lock()
            self._daemons_before = set(daemon_pids())
            foreign = {p: n for p, n in daemon_pids().items() if n in ("slurmctld", "slurmd")}
            if foreign:
                _unavailable(f"this machine already runs SLURM daemons {foreign}; the test will "
                             f"not replace their {SYSTEM_CONF}")
            # With the lock held, any other cluster directory is a leftover of a SIGKILLed run.
            for stale in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
                if stale.is_dir():
                    shutil.rmtree(stale, ignore_errors=True)
            self.root = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
            self._write_files(munge_user)
            self._start(munge_user)
            self._wait_idle()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._stop()
        finally:
            self._conf_file.restore()
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None
            self._release_lock()
            if self._old_sigterm is not None:
                signal.signal(signal.SIGTERM, self._old_sigterm)
                self._old_sigterm = None

    # -- helpers ---------------------------------------------------------------------------
    def _acquire_lock(self) -> None:
        deadline = time.monotonic() + self.lock_timeout
        while True:
            fh = open(LOCK_PATH, "a+")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                if time.monotonic() > deadline:
                    _unavailable(f"another test cluster held {LOCK_PATH} for {self.lock_timeout} s")
                time.sleep(1.0)
                continue
            # The holder before us may have unlinked the file; then lock the new one.
            try:
                same = os.stat(LOCK_PATH).st_ino == os.fstat(fh.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._lock = fh
                return
            fh.close()

    def _release_lock(self) -> None:
        if self._lock is not None:
            LOCK_PATH.unlink(missing_ok=True)
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _write_files(self, munge_user: pwd.struct_passwd) -> None:
        root = self.root
        root.chmod(0o755)  # munged (user munge) must traverse it
        for sub in ("state", "spool", "log"):
            (root / sub).mkdir()
        munge = root / "munge"
        munge.mkdir(mode=0o700)
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        for path in (munge, key):
            os.chown(path, munge_user.pw_uid, munge_user.pw_gid)
        (root / "plugstack.conf").write_text("")
        self.munge_socket = munge / "munge.socket.2"
        self._conf_file.write(SLURM_CONF.format(
            host=self.host, root=root, munge_socket=self.munge_socket,
            ctld_port=_free_port(), slurmd_port=_free_port(), cpus=self.cpus,
            mem_mb=self.mem_mb, partition=self.partition))
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))

    def _popen(self, name: str, cmd: list[str], **kw) -> None:
        with open(self.root / "log" / f"{name}.stdout", "w") as log:
            self._procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                                 env=self.env, start_new_session=True,
                                                 preexec_fn=die_with_parent, **kw)
        self.pids[name] = self._procs[name].pid

    def _start(self, munge_user: pwd.struct_passwd) -> None:
        m = self.root / "munge"
        # Foreground daemons (-F, -D): Popen.pid *is* the daemon, so we stop exactly it.
        # --force: munged accepts the world-writable, sticky /tmp above our private directory.
        self._popen("munged", ["munged", "-F", "--force", f"--socket={self.munge_socket}",
                               f"--key-file={m / 'munge.key'}", f"--pid-file={m / 'munged.pid'}",
                               f"--log-file={m / 'munged.log'}", f"--seed-file={m / 'munged.seed'}"],
                    user=munge_user.pw_uid, group=munge_user.pw_gid)
        self._wait_for(self.munge_socket.exists, "munged socket")
        self._popen("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
        self._wait_for(lambda: "UP" in self.run("scontrol", "ping").stdout, "slurmctld")
        self._popen("slurmd", ["slurmd", "-D", "-f", str(self.conf), "-N", self.host])

    def _stop(self) -> None:
        if not self._procs:
            return  # nothing started, nothing to stop (and nothing else is ours to touch)
        ctld = self._procs.get("slurmctld")
        if ctld is not None and ctld.poll() is None:
            # The cluster is private: every job in it is ours. Cancel leftovers, let them end.
            try:
                self.run("scancel", "--full", f"--partition={self.partition}")
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and self.run(
                        "squeue", "--noheader", "--states=RUNNING,COMPLETING,PENDING").stdout.strip():
                    time.sleep(0.5)
            except (subprocess.TimeoutExpired, OSError):
                pass  # an unresponsive controller is stopped below all the same
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self._procs.pop(name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        # Job step daemons (slurmstepd) detach from slurmd; any that appeared while we held the
        # lock with no other slurmd running are ours. Give them time to end, then stop them.
        def new_stepds():
            return [p for p, n in daemon_pids().items()
                    if n == "slurmstepd" and p not in self._daemons_before]

        deadline = time.monotonic() + 15
        while new_stepds() and time.monotonic() < deadline:
            time.sleep(0.3)
        for pid in new_stepds():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)
        left = [p for p in [*self.pids.values(), *new_stepds()] if p in daemon_pids()]
        if left:
            raise RuntimeError(f"processes still running after stopping the test cluster: {left}")

    def run(self, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a SLURM client command against this cluster."""
        return subprocess.run(list(cmd), env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def _check_alive(self) -> None:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode}:\n{self.logs()}")

    def _wait_for(self, ready, what: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            self._check_alive()
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{what} not ready after {self.start_timeout} s:\n{self.logs()}")

    def _wait_idle(self) -> None:
        def idle():
            out = self.run("sinfo", "--noheader", "--format=%t", f"--nodes={self.host}").stdout
            return out.strip() == "idle"
        self._wait_for(idle, "node idle in sinfo")

    def logs(self, tail: int = 3000) -> str:
        """Tails of the daemon logs, for error messages."""
        if self.root is None:
            return ""
        parts = []
        for path in sorted(self.root.rglob("*.log")) + sorted(self.root.rglob("*.stdout")):
            try:
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}")
            except OSError:
                pass
        return "\n".join(parts)

    def jobs(self) -> list[dict[str, str]]:
        """Every job the controller remembers (finished ones for MinJobAge = 3600 s), via squeue.

        Returns:
            One dict per job with keys id, name, state, comment (snakemake puts the rule there).
        """
        out = self.run("squeue", "--states=all", "--noheader", "--format=%i|%j|%T|%k").stdout
        keys = ("id", "name", "state", "comment")
        return [dict(zip(keys, line.split("|", 3))) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def slurm_cluster():
    """Module-scoped one-node SLURM cluster; see :class:`SlurmCluster`."""
    with SlurmCluster() as cluster:
        yield cluster
