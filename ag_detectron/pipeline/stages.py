"""A run as an ordered list of named stages, with numbered progress lines and per-stage timings.

Each :class:`Stage` is a function of a shared ``state`` dict: it reads what earlier stages stored
there and returns its own value, which :func:`run_stages` stores under the stage's name. Caching is
the stage's business (:class:`~ag_detectron.pipeline.cache.StageCache`), so that a stage decides
which inputs its key covers. A later group of stages (e.g. a video half) is appended to the list.
"""

import logging
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, MutableMapping, Sequence

__all__ = ["Stage", "run_stages", "setup_run_logging"]


@dataclass(frozen=True)
class Stage:
    """One step of a run.

    Attributes:
        name: key of its result in ``state`` and of its time in the timings.
        title: the progress line shown when it starts.
        fn: ``fn(state) -> value``; ``state`` holds the earlier stages' values by name.
        enabled: a disabled stage is listed in the numbering but not run (its value is None).
    """

    name: str
    title: str
    fn: Callable[[MutableMapping[str, Any]], Any]
    enabled: bool = True


def run_stages(
    stages: Sequence[Stage], state: MutableMapping[str, Any], logger: logging.Logger
) -> Dict[str, float]:
    """Run ``stages`` in order, logging ``[i/n] title`` before each.

    Returns:
        seconds per stage name, plus ``"total"``.
    """
    timings: Dict[str, float] = {}
    start = time.perf_counter()
    for i, stage in enumerate(stages, 1):
        logger.info(f"[{i}/{len(stages)}] {stage.title}")
        t = time.perf_counter()
        state[stage.name] = stage.fn(state) if stage.enabled else None
        timings[stage.name] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - start
    return timings


def setup_run_logging(log_file: str, run_logger: logging.Logger) -> None:
    """Everything at INFO to ``log_file``; the console shows warnings and errors of ``ag_detectron``
    loggers, errors of the others, and ``run_logger``'s own lines (message only).

    Detectron2 and fvcore warnings (partial checkpoints by design, ...) stay in the log file.
    """
    fmt = logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s", "%m/%d %H:%M:%S")
    file_handler = logging.FileHandler(log_file)
    file_handler.setFormatter(fmt)
    file_handler.setLevel(logging.INFO)
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    console.setLevel(logging.WARNING)
    console.addFilter(lambda r: r.levelno >= logging.ERROR or r.name.startswith("ag_detectron"))
    root = logging.getLogger()
    root.handlers = [file_handler, console]
    root.setLevel(logging.INFO)
    for name in ("detectron2", "fvcore", "ag_detectron"):
        logging.getLogger(name).setLevel(logging.INFO)
    run_console = logging.StreamHandler(sys.stdout)
    run_console.setFormatter(logging.Formatter("%(message)s"))
    run_logger.handlers = [
        h for h in run_logger.handlers if not getattr(h, "_ag_run_console", False)
    ]
    run_console._ag_run_console = True  # type: ignore[attr-defined]
    run_logger.addHandler(run_console)
