"""Tasks: how the engine feeds, runs and scores one kind of model, chosen by capability.

A meta-architecture declares the task it solves with a class attribute ``task`` (a name in
:data:`TASK_REGISTRY`); Detectron2's own meta-architectures (``GeneralizedRCNN``, ...) declare none
and are ``"detection"``. Each task says which datasets it accepts (their
``metadata.evaluator_type``) and builds the train loader, the test loader and the evaluator. The
trainer, ``tools/train_net.py`` and the demo ask :func:`task_of` and never test meta-architecture
names, so a new model plugs in by declaring ``task = "..."`` and, if no existing task fits,
registering a new :class:`Task` subclass (in its own
module, imported by whatever registers the model; the registry is searched by the ``name``
attribute, so the class name is free)::

    @TASK_REGISTRY.register()
    class MyTask(Task):
        name = "my_task"
        evaluator_types = ("charades",)
        ...

    @META_ARCH_REGISTRY.register()
    class MyModel(nn.Module):
        task = "my_task"
"""

from typing import Any, Sequence, Tuple, Type

from detectron2.config import CfgNode
from detectron2.evaluation import DatasetEvaluator
from detectron2.modeling import META_ARCH_REGISTRY
from detectron2.utils.registry import Registry

from ..errors import ConfigError

__all__ = ["TASK_REGISTRY", "Task", "get_task", "task_of", "DEFAULT_TASK"]

TASK_REGISTRY = Registry("AG_TASK")
TASK_REGISTRY.__doc__ = (
    """Tasks (:class:`Task` subclasses), looked up by their ``name`` attribute."""
)

# The task of a meta-architecture that declares none (Detectron2's detectors).
DEFAULT_TASK = "detection"


class Task:
    """How to train and evaluate one kind of model. Subclasses override the class attributes and the
    three ``build_*`` class methods; instances are never created."""

    #: registry key; a meta-architecture's ``task`` attribute names it.
    name: str = ""
    #: ``metadata.evaluator_type`` values of the datasets this task trains and evaluates on.
    evaluator_types: Tuple[str, ...] = ()
    #: whether a training step may leave parameters without a gradient (e.g. branches a mode does
    #: not use). Multi-process training then needs DDP's ``find_unused_parameters=True``, which
    #: costs an extra traversal of the autograd graph per step, so tasks whose models use every
    #: parameter keep it False.
    find_unused_parameters: bool = False

    @classmethod
    def check_dataset(cls, cfg: CfgNode, dataset_name: str) -> None:
        """Raise ``ConfigError`` naming the dataset when this task cannot use it."""
        from detectron2.data import MetadataCatalog

        evaluator_type = MetadataCatalog.get(dataset_name).get("evaluator_type", None)
        if evaluator_type not in cls.evaluator_types:
            raise ConfigError(
                f"dataset {dataset_name!r} has metadata.evaluator_type={evaluator_type!r}; "
                f"MODEL.META_ARCHITECTURE={cfg.MODEL.META_ARCHITECTURE!r} (task {cls.name!r}) "
                f"needs one of {list(cls.evaluator_types)}"
            )

    @classmethod
    def check_datasets(cls, cfg: CfgNode, dataset_names: Sequence[str]) -> None:
        """:meth:`check_dataset` for each name."""
        for name in dataset_names:
            cls.check_dataset(cfg, name)

    @classmethod
    def build_mapper(cls, cfg: CfgNode, is_train: bool) -> Any:
        """The dataset mapper (dataset dict -> model input) of this task (optional)."""
        raise NotImplementedError(f"task {cls.name!r} defines no dataset mapper")

    @classmethod
    def build_train_loader(cls, cfg: CfgNode) -> Any:
        """The training data loader of ``cfg.DATASETS.TRAIN``."""
        raise NotImplementedError

    @classmethod
    def build_test_loader(cls, cfg: CfgNode, dataset_name: str) -> Any:
        """The inference data loader of one test dataset (its dicts go to ``evaluator.process``)."""
        raise NotImplementedError

    @classmethod
    def build_evaluator(cls, cfg: CfgNode, dataset_name: str, output_dir: str) -> DatasetEvaluator:
        """The evaluator(s) of one test dataset."""
        raise NotImplementedError


def task_of(cfg: CfgNode) -> Type[Task]:
    """The :class:`Task` of ``cfg.MODEL.META_ARCHITECTURE`` (its ``task`` attribute, else
    detection).

    Raises:
        ConfigError: the meta-architecture is not registered or names an unknown task.
    """
    name = cfg.MODEL.META_ARCHITECTURE
    try:
        arch = META_ARCH_REGISTRY.get(name)
    except KeyError:
        raise ConfigError(
            f"MODEL.META_ARCHITECTURE={name!r} is not registered; import the module that defines "
            "it (ag_detectron's register on import ag_detectron.modeling)"
        ) from None
    return get_task(
        getattr(arch, "task", DEFAULT_TASK), f"MODEL.META_ARCHITECTURE={name!r} declares"
    )


def get_task(task_name: str, who: str = "requested") -> Type[Task]:
    """The registered :class:`Task` whose ``name`` is ``task_name``.

    Raises:
        ConfigError: no task, or more than one, has that name.
    """
    found = [cls for _, cls in TASK_REGISTRY if cls.name == task_name]
    if len(found) != 1:
        known = sorted(cls.name for _, cls in TASK_REGISTRY)
        problem = "is not registered" if not found else f"is registered {len(found)} times"
        raise ConfigError(f"{who} task {task_name!r}, which {problem}; known tasks: {known}")
    return found[0]
