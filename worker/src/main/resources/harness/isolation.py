"""What the harness does to itself before any candidate code runs, and what it can report about it.

The JVM already scrubbed the environment, chose the scratch folder and put the process in its
sandbox (see the worker's Sandbox.java); limits that only the process itself can set are set here, from the request-free
environment variables the JVM passes (KFARM_LIMIT_*), so they hold before the first import.
"""
from __future__ import annotations

import os
import resource
import signal
from typing import Dict, Iterable, List, Optional

_LIMITS = {
    # name: (resource, environment variable)
    "cpu_seconds": (resource.RLIMIT_CPU, "KFARM_LIMIT_CPU_SECONDS"),
    "address_space_bytes": (resource.RLIMIT_AS, "KFARM_LIMIT_ADDRESS_SPACE"),
    "data_bytes": (resource.RLIMIT_DATA, "KFARM_LIMIT_DATA"),
    "open_files": (resource.RLIMIT_NOFILE, "KFARM_LIMIT_OPEN_FILES"),
    "processes": (resource.RLIMIT_NPROC, "KFARM_LIMIT_PROCESSES"),
    "file_size_bytes": (resource.RLIMIT_FSIZE, "KFARM_LIMIT_FILE_SIZE"),
}

forks: List[int] = []


def apply_limits() -> Dict[str, str]:
    """Sets every limit the JVM asked for; returns what is in force, for the verdict."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    in_force: Dict[str, str] = {}
    for name, (res, env) in _LIMITS.items():
        value = os.environ.get(env)
        if value:
            soft = int(value)
            _, hard = resource.getrlimit(res)
            if hard != resource.RLIM_INFINITY and soft > hard:
                soft = hard
            resource.setrlimit(res, (soft, soft if hard == resource.RLIM_INFINITY else hard))
        soft, _ = resource.getrlimit(res)
        in_force[name] = "unlimited" if soft == resource.RLIM_INFINITY else str(soft)
    return in_force


def pin_cpus(cpus: Optional[Iterable[int]]) -> List[int]:
    """Moves every thread of this process to `cpus` (Linux affinity is per thread; threads started later
    inherit it from their creator). Returns the cores in force; an empty or unusable list changes nothing."""
    wanted = sorted(set(int(c) for c in cpus or []))
    if not wanted or not hasattr(os, "sched_setaffinity"):
        return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    for task in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(task), wanted)
        except OSError:
            pass  # a thread that ended meanwhile, or cores outside this container's set
    return sorted(os.sched_getaffinity(0))


def guard_forks() -> None:
    """A Python-level fork of candidate code gets no chance to run: the child exits at once.

    Subprocesses started through exec (ninja and nvcc during a build) are unaffected, since
    _posixsubprocess does not run these hooks.
    """
    os.register_at_fork(before=lambda: forks.append(os.getpid()),
                        after_in_child=lambda: os._exit(70))


def network_isolated() -> bool:
    """True when the process sees no network interface but loopback (a fresh network namespace)."""
    try:
        with open("/proc/net/dev") as devices:
            names = [line.split(":", 1)[0].strip() for line in devices.readlines()[2:]]
    except OSError:
        return False
    return all(name == "lo" for name in names)


def observe() -> Dict[str, object]:
    """The sandbox as this process sees it from inside, for the verdict's environment.

    Observed rather than taken from the JVM's word, so a host whose sandbox silently failed shows it in
    every verdict.
    """
    status: Dict[str, str] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                status[key] = value.strip()
    except OSError:
        pass
    capabilities = status.get("CapEff", "unknown").lstrip("0") or "0"
    no_new_privileges = status.get("NoNewPrivs") == "1"
    own_pids = _own_pid_namespace()
    try:
        read_only_root = bool(os.statvfs("/").f_flag & os.ST_RDONLY)
    except OSError:
        read_only_root = False
    mode = os.environ.get("KFARM_SANDBOX", "none")
    gaps: List[str] = []
    if mode == "none" and not os.environ.get("KFARM_SANDBOX_GAPS"):
        gaps.append("no sandbox")
    if os.getuid() == 0:
        gaps.append("runs as root")
    if capabilities != "0":
        gaps.append("holds capabilities " + capabilities)
    if not no_new_privileges:
        gaps.append("no_new_privs not set")
    if not own_pids:
        gaps.append("shares the worker's PID namespace")
    if not network_isolated():
        gaps.append("has network access")
    if not read_only_root:
        gaps.append("root filesystem writable")
    for gap in filter(None, os.environ.get("KFARM_SANDBOX_GAPS", "").split("; ")):
        if gap not in gaps:
            gaps.append(gap)
    return {"mode": mode, "uid": os.getuid(), "noNewPrivileges": no_new_privileges,
            "capabilities": capabilities, "ownPidNamespace": own_pids,
            "networkIsolated": network_isolated(), "readOnlyRoot": read_only_root, "gaps": gaps}


def strays() -> List[int]:
    """Processes in this sandbox that are neither its init, this process nor a zombie: in a PID namespace of
    its own every such process was started by the candidate, however it detached itself (double fork, own
    session). Empty where the namespace is shared, since there the worker's processes are visible too."""
    if not _own_pid_namespace():
        return []
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (1, os.getpid()):
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry))
    return found


def kill_all(pids: Iterable[int]) -> None:
    """SIGKILL to each; one that is already gone is no matter."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f"pid {pid} '" + f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:80] + "'"
    except OSError:
        return f"pid {pid}"


def _own_pid_namespace() -> bool:
    try:
        with open("/proc/1/cmdline", "rb") as f:
            argv = f.read().split(b"\0")[:6]
    except OSError:
        argv = []
    # The bundle starts bwrap through its own loader (ld-linux ... --library-path DIR .../bwrap): look past it.
    names = [os.path.basename(a.decode(errors="replace")) for a in argv]
    return os.getpid() == 1 or any(name in ("bwrap", "unshare") for name in names)


def live_children() -> List[int]:
    """Processes this one started that are still alive (zombies excluded)."""
    children: List[int] = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return children
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/children") as f:
                children.extend(int(pid) for pid in f.read().split())
        except OSError:
            continue
    alive = []
    for pid in children:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state != "Z":
                alive.append(pid)
        except OSError:
            continue
    return alive
