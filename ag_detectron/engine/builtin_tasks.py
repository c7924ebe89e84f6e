"""The builtin tasks: ``"detection"`` (Detectron2's detectors) and ``"scene_graph"``.

=============  ===========================  ===================================================
task           datasets (evaluator_type)    evaluators
=============  ===========================  ===================================================
detection      ``coco``, ``ag_relation``    COCO box AP (on AG: the frames' person/object boxes)
scene_graph    ``ag_relation``              ``ActionGenomeRelationEvaluator`` (every protocol of
                                            ``TEST.RELATION.CONSTRAINTS``) + COCO box AP when
                                            the mode detects boxes (SGDet)
=============  ===========================  ===================================================

Any other dataset (e.g. a Charades split, ``evaluator_type="charades"``) is a ``ConfigError``
naming it before a loader or evaluator is built. Training data of both tasks comes from
:func:`~ag_detectron.engine.train_stream.build_resumable_train_loader`.
"""

from typing import Any, List, Sequence

from detectron2.config import CfgNode
from detectron2.data import build_detection_test_loader, get_detection_dataset_dicts
from detectron2.evaluation import DatasetEvaluator, DatasetEvaluators

from ..errors import ConfigError
from ..modes import RelationMode
from .evaluators import coco_box_evaluator, relation_evaluator
from .mappers import DetectionDatasetMapper
from .tasks import TASK_REGISTRY, Task
from .train_stream import build_resumable_train_loader

__all__ = ["DetectionTask", "SceneGraphTask", "check_relation_annotations"]


def _train_dicts(cfg: CfgNode) -> List[dict]:
    # As Detectron2's build_detection_train_loader reads them from the config.
    return get_detection_dataset_dicts(
        cfg.DATASETS.TRAIN,
        filter_empty=cfg.DATALOADER.FILTER_EMPTY_ANNOTATIONS,
        min_keypoints=0,
        proposal_files=cfg.DATASETS.PROPOSAL_FILES_TRAIN if cfg.MODEL.LOAD_PROPOSALS else None,
    )


@TASK_REGISTRY.register()
class DetectionTask(Task):
    """Box detection (``GeneralizedRCNN`` and any meta-architecture that declares no task)."""

    name = "detection"
    evaluator_types = ("coco", "ag_relation")
    find_unused_parameters = False

    @classmethod
    def build_mapper(cls, cfg: CfgNode, is_train: bool) -> DetectionDatasetMapper:
        return DetectionDatasetMapper(cfg, is_train=is_train)

    @classmethod
    def build_train_loader(cls, cfg: CfgNode) -> Any:
        cls.check_datasets(cfg, cfg.DATASETS.TRAIN)
        return build_resumable_train_loader(cfg, _train_dicts(cfg), cls.build_mapper(cfg, True))

    @classmethod
    def build_test_loader(cls, cfg: CfgNode, dataset_name: str) -> Any:
        cls.check_dataset(cfg, dataset_name)
        return build_detection_test_loader(cfg, dataset_name, mapper=cls.build_mapper(cfg, False))

    @classmethod
    def build_evaluator(cls, cfg: CfgNode, dataset_name: str, output_dir: str) -> DatasetEvaluator:
        return coco_box_evaluator(cfg, dataset_name, output_dir)


def check_relation_annotations(
    dataset_dicts: List[dict], dataset_names: Sequence[str], cfg: CfgNode
) -> None:
    """Raise ``ConfigError`` if any frame dict lacks the ``relations`` field.

    Args:
        dataset_dicts: frame dicts about to be fed to a scene-graph model.
        dataset_names: the dataset names they came from (for the message).
        cfg: the config (its meta-architecture is named in the message).
    """
    missing = [
        d.get("image_id", d.get("file_name", "?")) for d in dataset_dicts if "relations" not in d
    ]
    if missing:
        raise ConfigError(
            f"DATASETS: {len(missing)} of {len(dataset_dicts)} frames of {tuple(dataset_names)} "
            f"have no 'relations' field (first: {missing[0]!r}); MODEL.META_ARCHITECTURE="
            f"{cfg.MODEL.META_ARCHITECTURE!r} (task 'scene_graph') needs relation annotations. "
            "Use an Action Genome dataset or a detection config."
        )


@TASK_REGISTRY.register()
class SceneGraphTask(Task):
    """Person -> object relations on Action Genome frames (``SceneGraphRCNN``)."""

    name = "scene_graph"
    evaluator_types = ("ag_relation",)
    # Mode-specific branches (e.g. the "related" logit outside SGDet) receive no gradient.
    find_unused_parameters = True

    @classmethod
    def build_mapper(cls, cfg: CfgNode, is_train: bool) -> Any:
        from ..data import RelationDatasetMapper

        return RelationDatasetMapper(cfg, is_train=is_train)

    @classmethod
    def build_train_loader(cls, cfg: CfgNode) -> Any:
        cls.check_datasets(cfg, cfg.DATASETS.TRAIN)
        dataset = _train_dicts(cfg)
        check_relation_annotations(dataset, cfg.DATASETS.TRAIN, cfg)
        return build_resumable_train_loader(cfg, dataset, cls.build_mapper(cfg, True))

    @classmethod
    def build_test_loader(cls, cfg: CfgNode, dataset_name: str) -> Any:
        cls.check_dataset(cfg, dataset_name)
        dataset = get_detection_dataset_dicts([dataset_name], filter_empty=False)
        check_relation_annotations(dataset, [dataset_name], cfg)
        return build_detection_test_loader(dataset, mapper=cls.build_mapper(cfg, False))

    @classmethod
    def build_evaluator(cls, cfg: CfgNode, dataset_name: str, output_dir: str) -> DatasetEvaluator:
        mode = RelationMode.parse(cfg.MODEL.ROI_RELATION_HEAD.MODE)
        evaluators = [relation_evaluator(cfg, dataset_name, output_dir, mode)]
        if not mode.uses_gt_boxes:
            evaluators.append(coco_box_evaluator(cfg, dataset_name, output_dir))
        return evaluators[0] if len(evaluators) == 1 else DatasetEvaluators(evaluators)
