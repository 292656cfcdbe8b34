"""What the harness does to itself before any candidate code runs, and what it can report about it.

The JVM already scrubbed the environment, chose the scratch folder and put the process in its
sandbox (see the worker's Sandbox.java); limits that only the process itself can set are set here, from the request-free
environment variables the JVM passes (KFARM_LIMIT_*), so they hold before the first import.
"""
from __future__ import annotations

import ctypes
import os
import platform
import resource
import signal
import struct
import time
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
# In the runner: the judge's pid, its parent, which is neither a stray of the candidate's nor a process to kill.
judge_pid: Optional[int] = None


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
        if not entry.isdigit() or int(entry) in (1, os.getpid(), judge_pid):
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
    """The process's command line. A process caught inside execve has none for a moment (a double fork's last
    child, seen on a loaded host): asked again for up to half a second, then its name (/proc/PID/comm)."""
    for _ in range(10):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                line = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            return f"pid {pid}"
        if line:
            return f"pid {pid} '{line[:80]}'"
        time.sleep(0.05)
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f"pid {pid} ({f.read().strip()[:40]})"
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
    # Under util-linux unshare the judge itself is the namespace's first process.
    return os.getpid() == 1 or judge_pid == 1 or any(name in ("bwrap", "unshare") for name in names)


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


# ------------------------------------------------------------------------------------------- judge and runner
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_SECCOMP = 22
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_MODE_FILTER = 2


def _prctl(option: int, arg: int = 0, pointer: Optional[ctypes.c_void_p] = None) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(option, arg, pointer, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl({option}): {os.strerror(errno)}")


def undumpable() -> None:
    """The judge: a process of the same uid without capabilities (the runner) may then neither ptrace it nor open
    its /proc/PID/mem, fd, environ or maps."""
    _prctl(_PR_SET_DUMPABLE, 0)


def die_with_parent() -> None:
    """The runner: killed the moment the judge dies, however it dies."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


# (audit arch, x32 bit) and syscall numbers: {name: (x86_64, aarch64)}.
_ARCHES = {"x86_64": (0xC000003E, 0x40000000, 0), "aarch64": (0xC00000B7, None, 1)}
_SYSCALLS = {"kill": (62, 129), "tkill": (200, 130), "tgkill": (234, 131), "rt_sigqueueinfo": (129, 138),
             "rt_tgsigqueueinfo": (297, 240), "pidfd_open": (434, 434), "pidfd_send_signal": (424, 424),
             "pidfd_getfd": (438, 438), "ptrace": (101, 117), "process_vm_readv": (310, 270),
             "process_vm_writev": (311, 271), "prlimit64": (302, 261), "sched_setaffinity": (203, 122),
             "setpriority": (141, 140)}
# Syscalls the runner may not make at all, and those it may not aim at the judge (argument index, values).
_NEVER = ("tkill", "pidfd_send_signal", "pidfd_getfd", "ptrace")
_NOT_AT_JUDGE = {"kill": 0, "tgkill": 0, "rt_sigqueueinfo": 0, "rt_tgsigqueueinfo": 0, "pidfd_open": 0,
                 "process_vm_readv": 0, "process_vm_writev": 0, "prlimit64": 0, "sched_setaffinity": 0,
                 "setpriority": 1}


def seccomp_filter(judge: int, machine: str) -> Optional[bytes]:
    """The BPF program `protect_judge` installs, or None on an architecture it does not know."""
    if machine not in _ARCHES:
        return None
    audit_arch, x32_bit, column = _ARCHES[machine]
    allow, deny = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    # pid_t is 32 bits: the kernel reads only the low half of the register, so the filter compares only that.
    low = lambda i: 16 + 8 * i  # noqa: E731  (seccomp_data.args[i], little-endian)
    group = (-judge) & 0xFFFFFFFF
    program: List[tuple] = [(ld, 0, 0, 4)]
    program.append(("deny-unless", jeq, audit_arch))
    program.append((ld, 0, 0, 0))
    if x32_bit is not None:
        program.append(("deny-if", jge, x32_bit))
    for name in _NEVER:
        program.append(("deny-if", jeq, _SYSCALLS[name][column]))
    for name, arg in _NOT_AT_JUDGE.items():
        # kill also takes 0 (its own group, which holds the judge), -1 (everyone) and -pgid.
        values = [judge] + ([0, 0xFFFFFFFF, group] if name == "kill" else [])
        block = [(ld, 0, 0, low(arg))] + [("deny-if", jeq, v) for v in values] + [(ret, 0, 0, allow)]
        program.append((jeq, 0, len(block), _SYSCALLS[name][column]))
        program.extend(block)
    program.append((ret, 0, 0, allow))
    deny_at = len(program)
    program.append((ret, 0, 0, deny))
    code = b""
    for i, op in enumerate(program):
        if op[0] == "deny-if":
            op = (op[1], deny_at - i - 1, 0, op[2])
        elif op[0] == "deny-unless":
            op = (op[1], 0, deny_at - i - 1, op[2])
        code += struct.pack("=HBBI", *op)
    return code


def protect_judge(judge: int) -> bool:
    """The runner: a seccomp filter that keeps it (and everything it starts) from signalling the judge, its
    process group or everyone (kill -1), from ptrace and pidfds, and from the judge's limits, affinity and
    priority. Same uid, no capabilities: without it kill(-1) would take the judge down. False where the filter
    could not be installed (an unknown architecture or a kernel without seccomp)."""
    code = seccomp_filter(judge, platform.machine())
    if code is None:
        return False
    filters = ctypes.create_string_buffer(code, len(code))

    class _Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    program = _Program(len(code) // 8, ctypes.cast(filters, ctypes.c_void_p))
    try:
        _prctl(_PR_SET_NO_NEW_PRIVS, 1)
        _prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.cast(ctypes.pointer(program), ctypes.c_void_p))
    except OSError:
        return False
    return True
