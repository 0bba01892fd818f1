"""A private one-node SLURM cluster for tests (issue 6).

Contract: :class:`SlurmCluster` is a context manager that stands up munged, slurmctld and slurmd
for this host, all configured from files in a fresh temporary directory, and on exit stops exactly
the daemons it started (by PID) and deletes that directory. Nothing under ``/etc``, ``/var`` or
``/run`` is written; clients find the cluster through the ``SLURM_CONF`` variable in
:attr:`SlurmCluster.env`, and the daemons listen on free ports chosen at start, so the cluster
cannot collide with a SLURM or munge that the machine already runs.

The one change to the machine that outlives the context is the installation of Debian's
``slurm-wlm`` and ``munge`` (``apt-get update && apt-get install``) when their programs are absent;
daemons that ``apt-get`` itself may start are stopped right after the installation. Recipe:
``../shared/recipes/slurm-one-node.md`` (Debian 12, slurm-wlm 22.05, munge 0.5.15).

If the machine cannot do this (not root, no ``apt-get``, installation impossible) the constructor's
caller gets ``pytest.skip`` with the reason; with ``GLASSVIB_REQUIRE_SLURM=1`` in the environment
(set by CI) the same situations fail instead, so CI can never pass with the cluster test skipped.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

#: Programs the cluster needs; all are in Debian's ``slurm-wlm`` and ``munge`` packages.
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "scancel")
PACKAGES = ("slurm-wlm", "munge")
DAEMONS = ("munged", "slurmctld", "slurmd", "slurmstepd")
REQUIRE_ENV = "GLASSVIB_REQUIRE_SLURM"


def _unavailable(reason: str) -> None:
    """Skip the calling test, or fail it when CI demands that the cluster runs."""
    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"{REQUIRE_ENV} is set but the SLURM test cannot run: {reason}")
    pytest.skip(reason)


def _daemon_pids() -> dict[int, str]:
    """PIDs of running munge/SLURM daemons, from /proc (name -> as in DAEMONS)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm not in DAEMONS:
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":  # zombies are dead; their parent reaps them
            found[int(entry.name)] = comm
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mem_total_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("MemTotal not found in /proc/meminfo")


def ensure_packages(timeout: float = 600.0) -> list[str]:
    """Install slurm-wlm and munge with apt-get if any needed program is missing.

    Returns:
        The log lines of what was done (empty if everything was present).
    Skips (or fails under GLASSVIB_REQUIRE_SLURM) when root or apt-get is missing or apt fails.
    """
    if os.geteuid() != 0:
        _unavailable("needs root to start slurmctld/slurmd/munged (running as uid %d)" % os.geteuid())
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if not missing:
        return []
    if shutil.which("apt-get") is None:
        _unavailable(f"SLURM programs {missing} are missing and there is no apt-get to install them")
    before = set(_daemon_pids())
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            _unavailable(f"`{' '.join(cmd)}` failed (exit {proc.returncode}): "
                         f"{(proc.stdout + proc.stderr)[-800:]}")
    # Without a policy-rc.d, package scripts may start the daemons; those are ours to stop.
    for pid, name in _daemon_pids().items():
        if pid not in before:
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass
    still = [p for p in PROGRAMS if shutil.which(p) is None]
    if still:
        _unavailable(f"apt-get installed {PACKAGES} but {still} are still missing")
    return [f"installed {' '.join(PACKAGES)} for missing {missing}"]


SLURM_CONF = """\
# Written by tests/slurm_cluster.py for a private one-node test cluster; removed on exit.
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
MinJobAge=600
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} State=UNKNOWN
PartitionName={partition} Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


class SlurmCluster:
    """Context manager for a one-node SLURM cluster private to the test (see module docstring).

    Attributes (valid inside the ``with`` block):
        root: temporary directory with slurm.conf, state, spool, logs and the munge socket.
        env: ``os.environ`` plus ``SLURM_CONF``; pass it to every SLURM client or snakemake.
        partition: name of the only partition (default ``main``), also the default partition.
        host: node name (``hostname -s``), cpus: CPUs of the node (nproc), mem_mb: RealMemory.
        pids: {"munged": pid, "slurmctld": pid, "slurmd": pid} of the daemons this object started.
    """

    def __init__(self, partition: str = "main", start_timeout: float = 60.0):
        self.partition = partition
        self.start_timeout = start_timeout
        self.root: Path | None = None
        self.env: dict[str, str] = {}
        self.pids: dict[str, int] = {}
        self.install_log: list[str] = []
        self._procs: dict[str, subprocess.Popen] = {}
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
        self.root = Path(tempfile.mkdtemp(prefix="glassvib-slurm-"))
        try:
            self._write_files(munge_user)
            self._start(munge_user)
            self._wait_idle()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if "slurmctld" in self._procs and self._procs["slurmctld"].poll() is None:
            # Our private cluster only holds our jobs: cancel whatever is left before stopping.
            subprocess.run(["scancel", "--full", f"--partition={self.partition}"],
                           env=self.env, capture_output=True, timeout=30)
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
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # -- helpers ---------------------------------------------------------------------------
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
        conf = SLURM_CONF.format(
            host=self.host, root=root, munge_socket=self.munge_socket,
            ctld_port=_free_port(), slurmd_port=_free_port(), cpus=self.cpus,
            mem_mb=self.mem_mb, partition=self.partition)
        (root / "slurm.conf").write_text(conf)
        self.env = dict(os.environ, SLURM_CONF=str(root / "slurm.conf"))

    def _popen(self, name: str, cmd: list[str], **kw) -> None:
        log = open(self.root / "log" / f"{name}.stdout", "w")
        self._procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                             env=self.env, start_new_session=True, **kw)
        log.close()
        self.pids[name] = self._procs[name].pid

    def _start(self, munge_user: pwd.struct_passwd) -> None:
        m = self.root / "munge"
        # -F: stay in the foreground so that Popen.pid *is* the daemon; --force accepts the
        # world-writable sticky /tmp above our private directory.
        self._popen("munged", ["munged", "-F", "--force", f"--socket={self.munge_socket}",
                               f"--key-file={m / 'munge.key'}", f"--pid-file={m / 'munged.pid'}",
                               f"--log-file={m / 'munged.log'}", f"--seed-file={m / 'munged.seed'}"],
                    user=munge_user.pw_uid, group=munge_user.pw_gid)
        self._wait_for(lambda: self.munge_socket.exists(), "munged socket")
        conf = str(self.root / "slurm.conf")
        self._popen("slurmctld", ["slurmctld", "-D", "-f", conf])
        self._wait_for(lambda: self._run("scontrol", "ping").returncode == 0
                       and "UP" in self._run("scontrol", "ping").stdout, "slurmctld")
        self._popen("slurmd", ["slurmd", "-D", "-f", conf, "-N", self.host])

    def _run(self, *cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), env=self.env, capture_output=True, text=True, timeout=30)

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
            out = self._run("sinfo", "--noheader", "--format=%t", f"--nodes={self.host}").stdout
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

    def squeue_all(self) -> str:
        """``squeue`` over all states: job id, name, state, comment (finished jobs too)."""
        return self._run("squeue", "--states=all", "--noheader", "--format=%i|%j|%T|%k").stdout

    def job_ids(self) -> set[str]:
        """IDs of every job this cluster still remembers (MinJobAge=600 s)."""
        return {line.split("|")[0] for line in self.squeue_all().splitlines() if line.strip()}


@pytest.fixture(scope="module")
def slurm_cluster():
    """Module-scoped one-node SLURM cluster; see :class:`SlurmCluster`."""
    with SlurmCluster() as cluster:
        yield cluster
