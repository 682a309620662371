"""Numeric precision, model FLOP counts and peak memory of a unit of work."""

from __future__ import annotations

import contextlib
import resource
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Precision = Literal["fp32", "bf16"]
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")

# Seconds between two RSS samples of PeakMemory's sampling thread.
RSS_SAMPLE_SECONDS = 0.05


def autocast(precision: str, device: Any) -> contextlib.AbstractContextManager:
    """Return the context that runs a model at ``precision`` on ``device``.

    ``fp32`` runs as stored (no autocast). ``bf16`` is ``torch.autocast`` with bfloat16 on
    the device's type, on CPU too, where CPUs without native bf16 instructions (AVX-512 BF16
    or AMX) emulate it and run slower than fp32.
    """
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    if precision != "bf16":
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    device_type = torch.device(device).type
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16)


def forward_flops(config: Any, token_counts: Iterable[int], *, last_layer_first_token_only: bool = False) -> float:
    """Count the FLOPs of one encoder forward pass over sequences of ``token_counts`` real tokens.

    Per layer and sequence of ``n`` tokens: ``n * 2 * (4 h^2 + 2 h i)`` for the query, key,
    value and output projections and the feed-forward block, plus ``4 n^2 h`` for the
    attention scores and their weighted sum. With ``last_layer_first_token_only`` (the work
    of ``harness.cls_forward.cls_logits``) the last layer projects keys and values for all
    ``n`` tokens and runs everything else for the first token only. Embeddings, layer norms
    and the classifier head are left out (under 1% for BERT-sized models).
    """
    h, i, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    total = 0.0
    for n in token_counts:
        full_layer = n * 2 * (4 * h * h + 2 * h * i) + 4 * n * n * h
        if last_layer_first_token_only:
            last_layer = n * 2 * (2 * h * h) + 2 * (2 * h * h + 2 * h * i) + 4 * n * h
            total += (layers - 1) * full_layer + last_layer
        else:
            total += layers * full_layer
    return total


def matmul_flops_per_second(
    size: int | None = None, repeats: int = 10, device: Any = "cpu", precision: str = "fp32"
) -> float:
    """Measure this machine's matrix-product rate: ``repeats`` products of two ``size`` x ``size`` matrices.

    ``precision`` is ``fp32`` or ``bf16`` (both matrices in bfloat16). ``size`` defaults to
    2048 on CPU and 8192 on CUDA, where a 2048 product lasts well under a millisecond.
    NOTE: on a CPU without native bf16, one bf16 product of 2048 x 2048 matrices took
    over a minute (0.2 GFLOP/s on an AVX2 AMD EPYC), so pass a smaller ``size`` there.
    """
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    device = torch.device(device)
    if size is None:
        size = 8192 if device.type == "cuda" else 2048
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    a @ b  # warm-up
    _synchronize(device)
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _synchronize(device)
    return 2 * size**3 * repeats / (time.perf_counter() - started)


def _synchronize(device: Any) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class MemoryPeaks:
    """Peak memory of a unit: resident set size of the process in bytes, and peak CUDA memory allocated by torch (None off CUDA)."""

    peak_rss_bytes: int | None
    peak_gpu_bytes: int | None


class PeakMemory:
    """Record the peak RSS of this process and the peak CUDA memory torch allocated while the ``with`` block ran.

    A daemon thread samples the RSS every ``RSS_SAMPLE_SECONDS`` with psutil, so a spike
    shorter than that can be missed. The process's lifetime peak from ``getrusage`` is
    used too when it grew during the block, because then the block set it. CUDA peaks come
    from ``torch.cuda.max_memory_allocated`` after a reset at entry, when torch has
    initialised CUDA.
    """

    def __init__(self, interval: float = RSS_SAMPLE_SECONDS):
        self.interval = interval
        self.peaks = MemoryPeaks(None, None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peak_rss = 0
        self._process = None

    def __enter__(self) -> "PeakMemory":
        try:
            import psutil
        except ImportError:  # psutil is in requirements.txt; without it only getrusage's figure is left
            psutil = None
        self._lifetime_before = _lifetime_peak_rss()
        if psutil is not None:
            self._process = psutil.Process()
            self._peak_rss = self._process.memory_info().rss
            self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)
            self._thread.start()
        self._cuda = _cuda_initialized()
        if self._cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._peak_rss = max(self._peak_rss, self._process.memory_info().rss)

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._peak_rss = max(self._peak_rss, self._process.memory_info().rss)
        lifetime_after = _lifetime_peak_rss()
        if lifetime_after > self._lifetime_before:
            self._peak_rss = max(self._peak_rss, lifetime_after)
        gpu = None
        if self._cuda or _cuda_initialized():
            import torch

            gpu = int(torch.cuda.max_memory_allocated())
        self.peaks = MemoryPeaks(self._peak_rss or None, gpu)


def _lifetime_peak_rss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes.
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def _cuda_initialized() -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized()

