"""``RelationDatasetMapper``: an AG dataset dict -> image tensor, box ``instances`` and pair
``relations``.

Output per frame (docs/design.md)::

    image      (3, H, W) uint8 tensor in cfg.INPUT.FORMAT
    instances  Instances(gt_boxes: Boxes (N, 4), gt_classes: (N,) long)      transformed coordinates
    relations  Instances(gt_pair_idx (R, 2) long, gt_<group> (R, size) float per predicate
                         group; widths from the datasets' metadata ``predicate_groups``)

Ground truth is kept at test time too: PredCls / SGCls need the GT boxes at inference.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Dict, List, Mapping, Tuple, Union

import numpy as np
import torch
from detectron2.config import configurable
from detectron2.data import MetadataCatalog
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T

from ag_detectron.errors import DatasetFormatError
from ag_detectron.structures.relations import filter_relations, relations_to_instances

__all__ = ["RelationDatasetMapper"]

logger = logging.getLogger(__name__)


def _dataset_names(cfg: Any, is_train: bool) -> Tuple[str, ...]:
    return tuple(cfg.DATASETS.TRAIN if is_train else cfg.DATASETS.TEST)


class RelationDatasetMapper:
    """Reads the frame, applies the augmentations, builds ``instances`` and ``relations``.

    Pairs are re-indexed with the keep-mask of ``filter_empty_instances(..., return_mask=True)``: a
    relation whose person or object box became empty is dropped with it. Relations with ``subject ==
    -1`` (frame without a person box) are skipped.
    """

    @configurable
    def __init__(
        self,
        is_train: bool,
        *,
        augmentations: List[Union[T.Augmentation, T.Transform]],
        image_format: str,
        predicate_groups: Mapping[str, Tuple[int, int]],
    ) -> None:
        """
        Args:
            is_train: recorded for logging; GT is produced in both modes.
            augmentations: applied to the image and boxes (e.g. ResizeShortestEdge, RandomFlip).
            image_format: detectron2 image format ("BGR", "RGB", ...).
            predicate_groups: the datasets' metadata entry, group name -> (start, stop)
                (:meth:`ag_detectron.vocabulary.PredicateVocabulary.metadata`).
        """
        self.is_train = is_train
        self.augmentations = T.AugmentationList(augmentations)
        self.image_format = image_format
        self.predicate_groups = dict(predicate_groups)
        mode = "training" if is_train else "inference"
        logger.info(f"[RelationDatasetMapper] Augmentations used in {mode}: {augmentations}")

    @classmethod
    def from_config(cls, cfg: Any, is_train: bool = True) -> Dict[str, Any]:
        names = _dataset_names(cfg, is_train)
        metas = [MetadataCatalog.get(n) for n in names]
        groups = {tuple(sorted(m.get("predicate_groups", {}).items())) for m in metas}
        if len(groups) != 1 or not next(iter(groups)):
            raise DatasetFormatError(
                f"datasets {names}: expected one common 'predicate_groups' metadata entry "
                f"(relation annotations); found {groups or 'none'}"
            )
        augs = utils.build_augmentation(cfg, is_train)
        if not all(m.get("allow_horizontal_flip", False) for m in metas):
            augs = [a for a in augs if not (isinstance(a, T.RandomFlip) and a.horizontal)]
        return {
            "is_train": is_train,
            "augmentations": augs,
            "image_format": cfg.INPUT.FORMAT,
            "predicate_groups": dict(next(iter(groups))),
        }

    def __call__(self, dataset_dict: Dict[str, Any]) -> Dict[str, Any]:
        d = copy.deepcopy(dataset_dict)  # it will be modified below
        try:
            image = utils.read_image(d["file_name"], format=self.image_format)
        except Exception as e:  # PIL raises OSError / ValueError / SyntaxError subclasses
            raise DatasetFormatError(
                f"{d['file_name']}: cannot read or decode the image ({type(e).__name__}: {e})"
            ) from e
        utils.check_image_size(d, image)
        aug_input = T.AugInput(image)
        transforms = self.augmentations(aug_input)
        image = aug_input.image
        image_shape = image.shape[:2]  # (H, W)
        d["image"] = torch.as_tensor(np.ascontiguousarray(image.transpose(2, 0, 1)))
        # USER: modify the boxes / relations here if needed
        annos = [
            utils.transform_instance_annotations(obj, transforms, image_shape)
            for obj in d.pop("annotations")
        ]
        instances = utils.annotations_to_instances(annos, image_shape)
        relations = relations_to_instances(d.pop("relations"), image_shape, self.predicate_groups)
        instances, keep = utils.filter_empty_instances(
            instances, by_box=True, by_mask=False, return_mask=True
        )
        d["instances"] = instances
        d["relations"] = filter_relations(relations, keep)
        return d
