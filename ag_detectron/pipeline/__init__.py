"""Building blocks of multi-stage runs such as ``tools/demo.py``: cached stages, training in CPU
processes with a progress bar, evaluation through the engine, predicate statistics, drawings and the
results report. Each module has one job; a tool strings them together as a list of
:class:`~ag_detectron.pipeline.stages.Stage`.
"""

from .cache import StageCache, digest
from .stages import Stage, run_stages, setup_run_logging

__all__ = ["Stage", "StageCache", "digest", "run_stages", "setup_run_logging"]
