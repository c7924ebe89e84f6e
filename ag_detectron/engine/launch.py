"""``launch``: Detectron2's multi-process launcher with an explicit process-group backend.

Detectron2's ``launch`` picks NCCL whenever CUDA is visible, which breaks ``MODEL.DEVICE cpu`` runs on a
GPU machine (NCCL cannot reduce CPU tensors) and calls ``torch.cuda.set_device`` unconditionally on GPU
hosts. This wrapper spawns the same workers but takes the backend from the caller: ``"gloo"`` for
CPU training (what ``tools/train_net.py`` passes when ``MODEL.DEVICE`` is ``cpu``), ``"nccl"`` for GPUs,
``None`` = NCCL if CUDA is available else gloo. With one process it simply calls ``main_func``.
"""
import logging
from datetime import timedelta
from typing import Callable, Optional, Tuple

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from detectron2.engine.launch import DEFAULT_TIMEOUT, _find_free_port
from detectron2.utils import comm

__all__ = ["launch"]

logger = logging.getLogger(__name__)


def launch(
    main_func: Callable,
    num_processes_per_machine: int,
    num_machines: int = 1,
    machine_rank: int = 0,
    dist_url: Optional[str] = None,
    args: Tuple = (),
    backend: Optional[str] = None,
    timeout: timedelta = DEFAULT_TIMEOUT,
) -> None:
    """Run ``main_func(*args)`` in ``num_processes_per_machine`` processes on each machine.

    Args:
        main_func: a picklable (module-level) function.
        num_processes_per_machine: processes on this machine (GPUs, or CPU workers with gloo).
        num_machines, machine_rank: as in Detectron2's ``launch``.
        dist_url: ``tcp://host:port``, ``file://...`` or ``"auto"`` (free local port, single machine).
        args: positional arguments of ``main_func``.
        backend: ``"gloo"``, ``"nccl"`` or None (NCCL if CUDA is available, else gloo).
        timeout: process-group timeout.
    """
    world_size = num_machines * num_processes_per_machine
    if world_size <= 1:
        main_func(*args)
        return
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if dist_url is None or dist_url == "auto":
        if num_machines != 1:
            raise ValueError("dist_url='auto' is only supported on a single machine; pass tcp://host:port.")
        dist_url = f"tcp://127.0.0.1:{_find_free_port()}"
    mp.start_processes(
        _worker,
        nprocs=num_processes_per_machine,
        args=(main_func, world_size, num_processes_per_machine, machine_rank, dist_url, args, backend, timeout),
        daemon=False,
    )


def _worker(
    local_rank: int,
    main_func: Callable,
    world_size: int,
    num_processes_per_machine: int,
    machine_rank: int,
    dist_url: str,
    args: Tuple,
    backend: str,
    timeout: timedelta,
) -> None:
    global_rank = machine_rank * num_processes_per_machine + local_rank
    try:
        dist.init_process_group(
            backend=backend, init_method=dist_url, world_size=world_size, rank=global_rank, timeout=timeout
        )
    except Exception:
        logger.error("Process group URL: %s (backend %s)", dist_url, backend)
        raise
    comm.create_local_process_group(num_processes_per_machine)
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    comm.synchronize()
    try:
        main_func(*args)
    finally:
        dist.destroy_process_group()
