"""Training/evaluation engine: tasks (how a kind of model is fed and scored), the ``Trainer`` and
the launcher used by ``tools/train_net.py``. Importing it registers the builtin tasks and the
project's meta-architectures."""

from .. import modeling  # noqa: F401  (registers the meta-architectures the trainer builds)
from . import (
    builtin_tasks,  # noqa: F401  (registers the "detection" and "scene_graph" tasks)
    clip_task,  # noqa: F401  (registers the "clip_classification" task)
    feature_bank_task,  # noqa: F401  (registers "feature_bank_classification")
)
from .builtin_tasks import DetectionTask, SceneGraphTask, check_relation_annotations
from .clip_task import ClipClassificationTask
from .evaluators import build_ag_evaluator
from .feature_bank_task import FeatureBankClassificationTask
from .launch import launch
from .mappers import DetectionDatasetMapper, build_ag_mapper
from .tasks import TASK_REGISTRY, Task, get_task, task_of
from .train_stream import build_resumable_train_loader
from .trainer import Trainer

__all__ = [
    "TASK_REGISTRY",
    "ClipClassificationTask",
    "DetectionDatasetMapper",
    "DetectionTask",
    "FeatureBankClassificationTask",
    "SceneGraphTask",
    "Task",
    "Trainer",
    "build_ag_evaluator",
    "build_ag_mapper",
    "build_resumable_train_loader",
    "check_relation_annotations",
    "get_task",
    "launch",
    "task_of",
]
