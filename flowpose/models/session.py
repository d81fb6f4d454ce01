"""ONNX Runtime sessions set up to share the CPU cores with the other sessions of a graph."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import onnxruntime as ort

__all__ = [
    "GPU_BATCH_WAIT_MS",
    "PROVIDERS",
    "WEIGHTS_KEY",
    "available_cores",
    "batch_wait_ms",
    "create_session",
    "provider_list",
]

logger = logging.getLogger(__name__)

# Model metadata key: how flowpose stored the weights ("float16", "int8"); see trainer/export/weights.py.
WEIGHTS_KEY = "flowpose.weights"

# Short names used in graph files -> onnxruntime execution providers.
PROVIDERS: dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}


def available_cores() -> int:
    """CPU cores this process may run on (respects affinity masks, e.g. containers and taskset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def provider_list(providers: str | Sequence[str] | None) -> list[str]:
    """Turn ``"cuda"`` / ``["tensorrt", "cuda"]`` into the onnxruntime providers to use.

    Providers this onnxruntime build lacks are dropped with a warning; the CPU provider always
    closes the list, so a session can always be made.

    Raises:
        ValueError: On a name that is neither a short name nor an onnxruntime provider name.
    """
    requested = [providers] if isinstance(providers, str) else list(providers or ["cpu"])
    available = ort.get_available_providers()
    chosen: list[str] = []
    for name in requested:
        full = PROVIDERS.get(str(name).lower(), name)
        if full not in PROVIDERS.values() and full not in available:
            raise ValueError(f"unknown execution provider {name!r}; use one of {sorted(PROVIDERS)}")
        if full not in available:
            logger.warning(
                "execution provider %r is not available in this onnxruntime (available: %s); "
                "falling back to CPU (install onnxruntime-gpu for CUDA/TensorRT)",
                name,
                ", ".join(available),
            )
        elif full not in chosen:
            chosen.append(full)
    if PROVIDERS["cpu"] not in chosen:
        chosen.append(PROVIDERS["cpu"])
    return chosen


#: The batch wait of a model node on a GPU provider when its params leave it open.
GPU_BATCH_WAIT_MS = 5.0


def batch_wait_ms(providers: str | Sequence[str] | None, given: float | None) -> float:
    """How long a batching model node waits for frames of other streams, in milliseconds.

    ``given`` wins. Left open (None), it is 0 on the CPU and :data:`GPU_BATCH_WAIT_MS` on a
    GPU: on a CPU a batch of N images costs about N single calls (measured on the packaged
    models and YOLOX-nano, docs/performance.md "Many streams"), so waiting would only add
    latency, and frames already queued still join a batch for free; on a GPU one call of N
    costs about what one image does, so a short wait pays.
    """
    if given is not None:
        return given
    wanted = [providers] if isinstance(providers, str) else list(providers or ["cpu"])
    on_gpu = any(PROVIDERS.get(str(name).lower(), name) != PROVIDERS["cpu"] for name in wanted)
    return GPU_BATCH_WAIT_MS if on_gpu else 0.0


def create_session(
    path: str | os.PathLike[str],
    providers: str | Sequence[str] | None = None,
    intra_op_threads: int | None = None,
    sessions_hint: int = 1,
    optimized_model_path: str | os.PathLike[str] | None = None,
) -> ort.InferenceSession:
    """Open an ONNX model for inference.

    Threads are set explicitly and never spin: ONNX Runtime's defaults (one busy-waiting
    thread per core, per session) make several sessions in one graph fight for the cores.
    A file whose weights flowpose stored as int8 is opened a second time with QDQ handling
    off (see ``trainer/export/weights.py``).

    Args:
        path: The ONNX file.
        providers: ``"cpu"`` (default), ``"cuda"``, ``"tensorrt"``, a list in order of
            preference, or full onnxruntime provider names.
        intra_op_threads: Threads inside one operator; None gives a fair share of the cores,
            ``max(1, cores // sessions_hint)``.
        sessions_hint: How many sessions are expected to run at once on this machine.
        optimized_model_path: Where to save the optimised graph (debugging); None saves nothing.

    Returns:
        The session.

    Raises:
        FileNotFoundError: When the file does not exist.
        ValueError: On bad thread counts or an unknown provider name.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    if sessions_hint < 1:
        raise ValueError(f"sessions_hint must be >= 1, got {sessions_hint}")
    threads = max(1, available_cores() // sessions_hint) if intra_op_threads is None else intra_op_threads
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"intra_op_threads must be a positive int or None, got {intra_op_threads!r}")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    if optimized_model_path is not None:
        opts.optimized_model_filepath = str(optimized_model_path)
    wanted = provider_list(providers)
    session = ort.InferenceSession(str(path), opts, providers=wanted)
    if session.get_modelmeta().custom_metadata_map.get(WEIGHTS_KEY) == "int8":
        # Weights stored as int8 + DequantizeLinear (flowpose export --weights int8): without
        # this, DequantizeLinear -> Conv is run as a quantised pattern, about 2x slower here;
        # with it the dequantisation is folded at load and the model computes in float32.
        opts.add_session_config_entry("session.disable_quant_qdq", "1")
        session = ort.InferenceSession(str(path), opts, providers=wanted)
    used = session.get_providers()
    if wanted[0] not in used:
        # onnxruntime drops a provider whose libraries (CUDA, cuDNN, TensorRT) fail to load.
        logger.warning("%s: %s failed to initialise; running on %s", path.name, wanted[0], ", ".join(used))
    logger.info("%s: onnxruntime session on %s, %d intra-op thread(s)", path.name, ", ".join(used), threads)
    return session
