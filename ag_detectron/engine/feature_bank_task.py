"""``FeatureBankClassificationTask``: Charades clip classification with a feature-bank window per
clip (SGFB, LFB and the oracle; docs/feature_bank.md "Model").

The same loaders, multi-view testing and Charades evaluator as
:class:`~ag_detectron.engine.clip_task.ClipClassificationTask`; only the mapper differs
(:class:`~ag_detectron.data.bank_mapper.FeatureBankClipMapper` adds ``"bank_window"`` and
``"bank_mask"``). Before a loader is built, the dataset's videos are checked against the bank once
(``MODEL.SGFB.BANK_MISSING``), so a missing video fails at start-up rather than mid-training.
"""

from __future__ import annotations

from typing import Any

from detectron2.config import CfgNode

from ..data.bank_mapper import FeatureBankClipMapper, check_bank_coverage
from ..feature_bank.from_config import check_clip_feature_coverage
from .clip_task import ClipClassificationTask, clip_video_dicts
from .tasks import TASK_REGISTRY

__all__ = ["FeatureBankClassificationTask"]


@TASK_REGISTRY.register()
class FeatureBankClassificationTask(ClipClassificationTask):
    """Clip classification whose model also reads a window of a long-term feature bank."""

    name = "feature_bank_classification"
    evaluator_types = ("charades",)

    @classmethod
    def build_mapper(cls, cfg: CfgNode, is_train: bool) -> FeatureBankClipMapper:
        return FeatureBankClipMapper(cfg, is_train=is_train)

    @classmethod
    def _check_coverage(cls, cfg: CfgNode, dataset_names) -> None:
        for name in dataset_names:
            cls.check_dataset(cfg, name)
        dicts = clip_video_dicts(cfg, dataset_names, cfg.DATALOADER.KEEP_VIDEOS_WITHOUT_ACTIONS)
        ids = [d["video_id"] for d in dicts]
        check_bank_coverage(cfg, ids, f"dataset(s) {list(dataset_names)}")
        check_clip_feature_coverage(cfg, ids, f"dataset(s) {list(dataset_names)}")

    @classmethod
    def build_train_loader(cls, cfg: CfgNode) -> Any:
        cls._check_coverage(cfg, list(cfg.DATASETS.TRAIN))
        return super().build_train_loader(cfg)

    @classmethod
    def build_test_loader(cls, cfg: CfgNode, dataset_name: str) -> Any:
        cls._check_coverage(cfg, [dataset_name])
        return super().build_test_loader(cfg, dataset_name)
