"""The private channel between an evaluation's judge (the parent process) and its runner (the child that runs the
candidate), and how candidate outputs cross it.

Two pipes made before the fork: the runner writes frames on one and reads the request from the other. A frame is
``KFJ1``, the header's length (4 bytes) and the payload's (8 bytes, big-endian), a JSON header, then the payload.
Tensors cross as dtype, shape and raw bytes (never pickle: the judge must not run anything the runner sends), read
straight into a tensor the judge allocated for that dtype and shape.
"""
from __future__ import annotations

import ctypes
import fcntl
import io
import json
import math
import os
import select
import struct
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

MAGIC = b"KFJ1"
_PREFIX = struct.Struct(">4sIQ")
# A header is a few KB (a verdict); anything longer is not the runner's honest message.
MAX_HEADER_BYTES = 4 << 20
# The most output one correctness trial may hand the judge. KernelBench's largest level-1 outputs are 6.4 GB; an
# output over this is reported as a mismatch the judge could not check, never as correct.
MAX_OUTPUT_BYTES = 16 << 30
# The runner-to-judge pipe's buffer. Outputs cross it whole (GBs on KernelBench's largest problems); at Linux's
# default 64 KiB every 64 KiB costs a wake-up on each side. 1 MiB is the most an unprivileged process may ask for
# by default (/proc/sys/fs/pipe-max-size).
PIPE_BYTES = 1 << 20


class ChannelError(Exception):
    """The other side broke the framing: what the judge reports as a forged message."""


class RunnerGone(Exception):
    """The runner exited (or closed its end) while the judge waited for it; ``status`` is its wait status."""

    def __init__(self, status: Optional[int]):
        super().__init__(f"runner gone (wait status {status})")
        self.status = status


def widen(fd: int) -> None:
    """Gives the pipe of `fd` a buffer of PIPE_BYTES where the host allows; the default buffer still works."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except OSError:  # over pipe-max-size or the user's pipe quota
        pass


def _write_all(fd: int, data: Any) -> None:
    view = memoryview(data).cast("B")
    while view:
        written = os.write(fd, view)
        view = view[written:]


class RunnerChannel:
    """The runner's end: writes frames to the judge, reads the one request."""

    def __init__(self, write_fd: int, read_fd: int):
        self.write_fd = write_fd
        self.read_fd = read_fd

    def send(self, header: Dict[str, Any], payload: Sequence[Any] = ()) -> None:
        body = json.dumps(header, allow_nan=False, default=str).encode()
        size = sum(memoryview(p).nbytes for p in payload)
        _write_all(self.write_fd, _PREFIX.pack(MAGIC, len(body), size) + body)
        for part in payload:
            _write_all(self.write_fd, part)

    def receive(self) -> Dict[str, Any]:
        with io.FileIO(self.read_fd, "rb", closefd=False) as stream:
            magic, length, payload = _PREFIX.unpack(_read_exact(stream, _PREFIX.size))
            if magic != MAGIC or length > MAX_HEADER_BYTES or payload:
                raise ChannelError("the judge's message is not a frame")
            return json.loads(_read_exact(stream, length))

    # What the Evaluation reports as it goes (stages.py calls these).
    def stage(self, name: str) -> None:
        self.send({"t": "stage", "stage": name})

    def trial(self, index: int, seed: int, outputs: Sequence[Any]) -> None:
        descriptions, payload = describe(outputs)
        try:
            self.send({"t": "trial", "trial": index, "seed": seed, "outputs": descriptions}, payload)
        finally:
            release()
        # Wait until the judge has compared: its reference must not share the device with what runs next here
        # (the anti-cheat re-runs, the timed calls).
        if self.receive().get("t") != "compared":
            raise ChannelError("the judge did not answer a trial")

    def timed_begin(self) -> None:
        self.send({"t": "timed-begin"})

    def timed(self, stats: Dict[str, Dict[str, Any]]) -> None:
        self.send({"t": "timed", "stats": stats})


class JudgeChannel:
    """The judge's end: reads the runner's frames, watching that the runner is still alive while it waits."""

    def __init__(self, read_fd: int, write_fd: int, runner_pid: int):
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.runner_pid = runner_pid
        self.stream = io.FileIO(read_fd, "rb", closefd=False)
        self.exit_status: Optional[int] = None

    def send(self, header: Dict[str, Any]) -> None:
        body = json.dumps(header, allow_nan=False, default=str).encode()
        try:
            _write_all(self.write_fd, _PREFIX.pack(MAGIC, len(body), 0) + body)
        except BrokenPipeError:
            self._gone_or_forged("closed its end of the judge's channel")

    def runner_exited(self) -> bool:
        if self.exit_status is None:
            try:
                pid, status = os.waitpid(self.runner_pid, os.WNOHANG)
            except ChildProcessError:
                return True
            if pid == 0:
                return False
            self.exit_status = status
        return True

    def next_frame(self) -> Tuple[Dict[str, Any], int]:
        """The next header and the length of the payload that follows it (read it with `read_payload`)."""
        # Poll, so a runner that dies while a process it started still holds the pipe open is noticed.
        while True:
            ready, _, _ = select.select([self.read_fd], [], [], 0.5)
            if ready:
                break
            if self.runner_exited():
                raise RunnerGone(self.exit_status)
        try:
            prefix = _read_exact(self.stream, _PREFIX.size)
        except EOFError:
            self._gone_or_forged("closed its end of the judge's channel")
        magic, length, payload = _PREFIX.unpack(prefix)
        if magic != MAGIC:
            raise ChannelError(f"bytes that are not a frame ({prefix[:12]!r})")
        if length > MAX_HEADER_BYTES:
            raise ChannelError(f"a header of {length} bytes")
        try:
            header = json.loads(_read_exact(self.stream, length))
        except (EOFError, ValueError) as error:
            raise ChannelError(f"a header that is not JSON ({error})")
        if not isinstance(header, dict) or not isinstance(header.get("t"), str):
            raise ChannelError("a header without a type")
        return header, payload

    def read_into(self, target: Any) -> None:
        view = memoryview(target).cast("B")
        while view:
            n = self.stream.readinto(view)
            if not n:
                raise ChannelError("the payload ended early")
            view = view[n:]

    def skip(self, length: int) -> None:
        chunk = bytearray(1 << 20)
        while length > 0:
            n = self.stream.readinto(memoryview(chunk)[:min(length, len(chunk))])
            if not n:
                raise ChannelError("the payload ended early")
            length -= n

    def _gone_or_forged(self, what: str) -> None:
        """The channel closed: the runner died (it may take a moment to be reaped), or it closed it on purpose."""
        for _ in range(40):
            if self.runner_exited():
                raise RunnerGone(self.exit_status)
            time.sleep(0.05)
        raise ChannelError(what)


def _read_exact(stream: io.FileIO, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise EOFError()
        data.extend(chunk)
    return bytes(data)


# ------------------------------------------------------------------------------------------------ outputs
def describe(outputs: Sequence[Any]) -> Tuple[List[Dict[str, Any]], List[Any]]:
    """Each output as a description and, for tensors, its bytes on the host (runner side)."""
    descriptions: List[Dict[str, Any]] = []
    payload: List[Any] = []
    total = 0
    for o in outputs:
        if isinstance(o, torch.Tensor):
            if o.layout != torch.strided or o.is_quantized or o.device.type == "meta":
                descriptions.append({"kind": "object", "type": f"{o.layout} tensor"})
                continue
            t = o.detach()
            for resolve in ("resolve_conj", "resolve_neg"):
                if hasattr(t, resolve):
                    t = getattr(t, resolve)()
            t = t.to("cpu").contiguous()
            nbytes = t.numel() * t.element_size()
            total += nbytes
            if total > MAX_OUTPUT_BYTES:
                descriptions.append({"kind": "object", "type": "a tensor over the judge's limit"})
                continue
            descriptions.append({"kind": "tensor", "dtype": str(t.dtype), "shape": list(t.shape),
                                 "nbytes": nbytes})
            if nbytes:
                payload.append((ctypes.c_char * nbytes).from_address(t.data_ptr()))
                _KEEP.append(t)  # the view above points into it
        elif isinstance(o, float):
            descriptions.append({"kind": "float", "value": repr(o)})
        elif o is None or isinstance(o, (bool, int, str)):
            descriptions.append({"kind": "value", "value": o if not isinstance(o, str) else o[:1000]})
        else:
            descriptions.append({"kind": "object", "type": type(o).__name__[:100]})
    return descriptions, payload


# The host copies of the outputs being sent, alive until they are written: the payload views point into them.
_KEEP: List[Any] = []


def release() -> None:
    _KEEP.clear()


class Opaque:
    """An output the judge cannot compare (an object that is neither tensor nor plain value): equal to nothing."""

    def __init__(self, what: str):
        self.what = what

    def __eq__(self, other: Any) -> bool:
        return False

    def __hash__(self) -> int:
        return id(self)

    def __float__(self) -> float:
        raise TypeError(self.what)

    def __repr__(self) -> str:
        return f"<{self.what}>"


_DTYPES = {str(v): v for v in vars(torch).values() if isinstance(v, torch.dtype)}


def receive_outputs(channel: JudgeChannel, descriptions: Any, payload: int, device: torch.device,
                    like: Optional[Sequence[Any]] = None) -> List[Any]:
    """The runner's outputs of one trial, rebuilt on `device` (judge side). Raises ChannelError on a description
    that does not add up to the payload that follows. A tensor whose shape or dtype differs from the reference's
    output at its place (`like`) is not read: it stands as an empty meta tensor of its shape, enough for the
    comparison to report the mismatch, so the judge never holds more than the reference's own outputs."""
    if not isinstance(descriptions, list):
        raise ChannelError("outputs that are not a list")
    declared = 0
    plans: List[Tuple[str, Any]] = []
    for d in descriptions:
        if not isinstance(d, dict):
            raise ChannelError("an output description that is not an object")
        kind = d.get("kind")
        if kind == "tensor":
            dtype = _DTYPES.get(d.get("dtype"))
            shape = d.get("shape")
            if dtype is None or not isinstance(shape, list) or not all(
                    isinstance(s, int) and not isinstance(s, bool) and 0 <= s for s in shape):
                raise ChannelError(f"a tensor description that is not one ({str(d)[:200]})")
            nbytes = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
            if nbytes != d.get("nbytes"):
                raise ChannelError("a tensor whose size does not match its shape")
            declared += nbytes
            plans.append(("tensor", (dtype, shape, nbytes)))
        elif kind == "float":
            try:
                plans.append(("value", float(d.get("value"))))
            except (TypeError, ValueError):
                raise ChannelError("a float that is not one")
        elif kind == "value":
            value = d.get("value")
            if not (value is None or isinstance(value, (bool, int, str))):
                raise ChannelError("a value that is not a plain one")
            plans.append(("value", value))
        elif kind == "object":
            plans.append(("value", Opaque(str(d.get("type"))[:100])))
        else:
            raise ChannelError(f"an output of kind {str(kind)[:40]}")
    if declared != payload or payload > MAX_OUTPUT_BYTES:
        raise ChannelError(f"outputs of {declared} bytes with a payload of {payload}")
    outputs: List[Any] = []
    for i, (kind, plan) in enumerate(plans):
        if kind != "tensor":
            outputs.append(plan)
            continue
        dtype, shape, nbytes = plan
        expected = like[i] if like is not None and i < len(like) else None
        if like is not None and not (isinstance(expected, torch.Tensor) and expected.dtype == dtype
                                     and list(expected.shape) == shape):
            channel.skip(nbytes)
            outputs.append(torch.empty(shape, dtype=dtype, device="meta"))
            continue
        host = torch.empty(shape, dtype=dtype)
        if nbytes:
            channel.read_into((ctypes.c_char * nbytes).from_address(host.data_ptr()))
        outputs.append(host.to(device) if device.type != "cpu" else host)
    return outputs
