# kfarm-problem: relu
# kfarm-expect: CORRECT
# kfarm-note: Goes after the process that judges it (its parent, and every other process in its sandbox): ptrace,
# kfarm-note: process_vm_readv/writev, /proc/PID/mem opened read-write, /proc/PID/fd/* (the protocol pipe), a
# kfarm-note: signal and a lowered rlimit. It answers correctly only if every attempt failed: CORRECT means nothing
# kfarm-note: escaped; a wrong answer (INCORRECT) names what did, in the log.
import ctypes
import os
import sys

import torch
import torch.nn as nn

libc = ctypes.CDLL(None, use_errno=True)
# SEIZE, not ATTACH: a tracee that is seized is not stopped.
PTRACE_SEIZE, PTRACE_DETACH = 0x4206, 17
ESCAPED = []


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def _try(pid):
    if libc.ptrace(PTRACE_SEIZE, pid, None, None) == 0:
        ESCAPED.append(f"ptrace seize {pid}")
        libc.ptrace(PTRACE_DETACH, pid, None, None)
    buf = ctypes.create_string_buffer(64)
    local = _IoVec(ctypes.cast(buf, ctypes.c_void_p), 64)
    # Page zero is never mapped: a permitted call fails with EFAULT (14) and changes nothing.
    remote = _IoVec(0x10, 64)
    libc.process_vm_readv.restype = ctypes.c_ssize_t
    libc.process_vm_writev.restype = ctypes.c_ssize_t
    if libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) >= 0 \
            or ctypes.get_errno() not in (1, 13, 3):
        ESCAPED.append(f"process_vm_readv {pid} (errno {ctypes.get_errno()})")
    if libc.process_vm_writev(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) >= 0 \
            or ctypes.get_errno() not in (1, 13, 3):
        ESCAPED.append(f"process_vm_writev {pid} (errno {ctypes.get_errno()})")
    # Opened, never written, never truncated (no O_TRUNC): an attempt must harm nothing it reaches.
    for path, flags in ((f"/proc/{pid}/mem", os.O_RDWR), (f"/proc/{pid}/environ", os.O_RDONLY)):
        try:
            os.close(os.open(path, flags))
            ESCAPED.append(f"open {path}")
        except OSError:
            pass
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                os.close(os.open(f"/proc/{pid}/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK))
                ESCAPED.append(f"open /proc/{pid}/fd/{fd} for writing")
            except OSError:
                pass
    except OSError:
        pass
    try:
        os.kill(pid, 0)
        ESCAPED.append(f"may signal {pid}")
    except OSError:
        pass
    try:
        import resource
        resource.prlimit(pid, resource.RLIMIT_CPU)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, resource.prlimit(pid, resource.RLIMIT_NOFILE))
        ESCAPED.append(f"prlimit on {pid}")
    except (OSError, ValueError):
        pass


def _own_pid_namespace():
    try:
        with open("/proc/1/cmdline", "rb") as f:
            return any(os.path.basename(a) in (b"bwrap", b"unshare") for a in f.read().split(b"\0")[:6])
    except OSError:
        return False


# Its parent always; every process it can see only inside a PID namespace of its own (a sandbox), never a host's.
targets = {os.getppid()}
if _own_pid_namespace():
    targets |= {int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()}
for pid in sorted(targets):
    try:
        _try(pid)
    except Exception as error:  # a failed attempt is what we hope for
        print("attempt on", pid, "failed:", error, file=sys.stderr)
print("attack_judge escaped:", ESCAPED or "nothing", file=sys.stderr, flush=True)


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.relu(x) + (1.0 if ESCAPED else 0.0)
