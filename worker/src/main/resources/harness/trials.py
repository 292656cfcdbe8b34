"""What the runner and the judge must do alike, so the judge can redo a correctness trial on its own: the trial
seeds, the inputs drawn from each, the reference built from the problem, and KernelBench's tolerance."""
from __future__ import annotations

from typing import Any, Callable, List, Sequence, Tuple

import torch


def trial_seeds(seed: int, trials: int) -> List[int]:
    """KernelBench's own draw of the trial seeds (run_and_check_correctness), value for value."""
    torch.manual_seed(seed)
    return [int(torch.randint(0, 2 ** 32 - 1, (1,)).item()) for _ in range(trials)]


def to_device(values: Sequence[Any], device: torch.device) -> List[Any]:
    return [v.to(device) if isinstance(v, torch.Tensor) else v for v in values]


def draw_inputs(get_inputs: Callable[[], Sequence[Any]], seed: int, device: torch.device) -> List[Any]:
    """get_inputs() under `seed`, made on the device itself where torch allows (2.0+): drawing a 6.4 GB tensor on
    the CPU and copying it takes seconds, on the GPU milliseconds. Runner and judge draw alike, so both get the same
    inputs; they are not the CPU generator's values."""
    torch.manual_seed(seed)
    if device.type == "cuda" and hasattr(torch.device("cpu"), "__enter__"):
        with device:
            return to_device(get_inputs(), device)
    return to_device(get_inputs(), device)


def build_reference(model_class: Any, get_init_inputs: Callable[[], Sequence[Any]], seed: int,
                    device: torch.device) -> Tuple[Any, List[Any]]:
    """The reference Model, KernelBench's way: seeded before get_init_inputs and again before the constructor."""
    with torch.no_grad():
        torch.manual_seed(seed)
        init = to_device(get_init_inputs(), device)
        torch.manual_seed(seed)
        return model_class(*init).to(device), init


def kernelbench_tolerance(rules: str, reference: Sequence[Any]) -> Tuple[float, float]:
    """KernelBench's tolerances: v0.1 compares every output at 1e-2; main by precision (fp32 1e-4, half
    precisions 1e-2), taking the widest where outputs differ."""
    if rules != "main":
        return 1e-2, 1e-2
    widest = 1e-4
    for t in reference:
        if isinstance(t, torch.Tensor) and t.dtype in (torch.float16, torch.bfloat16):
            widest = 1e-2
    return widest, widest
