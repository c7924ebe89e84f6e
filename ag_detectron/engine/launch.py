"""``launch``: Detectron2's ``launch``, plus CPU-only workers on a GPU host.

Detectron2's launcher already picks the process-group backend itself: NCCL when CUDA is available,
gloo otherwise. The one case it gets wrong is ``MODEL.DEVICE cpu`` on a machine with GPUs (NCCL
cannot reduce CPU tensors, and each worker is bound to a GPU). ``cpu=True`` hides the GPUs from the
spawned workers (``CUDA_VISIBLE_DEVICES=""`` while they start), so Detectron2 chooses gloo and the
workers never touch CUDA; nothing else differs from ``detectron2.engine.launch``.
"""

import contextlib
import os
from typing import Any, Callable, Iterator

from detectron2.engine import launch as d2_launch

__all__ = ["launch"]


@contextlib.contextmanager
def _hidden_gpus(hide: bool) -> Iterator[None]:
    if not hide:
        yield
        return
    old = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # inherited by the spawned workers
    try:
        yield
    finally:
        if old is None:
            del os.environ["CUDA_VISIBLE_DEVICES"]
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = old


def launch(
    main_func: Callable,
    num_processes_per_machine: int,
    *args: Any,
    cpu: bool = False,
    **kwargs: Any,
) -> None:
    """``detectron2.engine.launch(main_func, num_processes_per_machine, *args, **kwargs)``.

    Args:
        cpu: the workers run on the CPU (``MODEL.DEVICE cpu``): GPUs are hidden from them, so
            they use gloo even on a GPU host. Only matters with more than one process.
    """
    with _hidden_gpus(cpu):
        d2_launch(main_func, num_processes_per_machine, *args, **kwargs)
