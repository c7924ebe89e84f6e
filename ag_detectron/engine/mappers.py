"""Dataset mappers of the builtin tasks, and :func:`build_ag_mapper` (the task's mapper).

``DetectionDatasetMapper`` raises ``DatasetFormatError`` naming the file when a frame cannot be read
or decoded (Detectron2's ``DatasetMapper`` would let a bare PIL/OS error escape from a data-loader
worker); the relation mapper of the scene-graph task does the same.
"""

from typing import Any, Dict

from detectron2.config import CfgNode
from detectron2.data import DatasetMapper

from ..errors import DatasetFormatError
from .tasks import task_of

__all__ = ["DetectionDatasetMapper", "build_ag_mapper"]


class DetectionDatasetMapper(DatasetMapper):
    """Detectron2's ``DatasetMapper`` (boxes only) with a clear error for undecodable frames."""

    def __call__(self, dataset_dict: Dict[str, Any]) -> Dict[str, Any]:
        try:
            return super().__call__(dataset_dict)
        except (
            OSError,
            SyntaxError,
        ) as e:  # what PIL raises for missing, truncated or corrupt files
            raise DatasetFormatError(
                f"{dataset_dict['file_name']}: cannot read or decode the image "
                f"({type(e).__name__}: {e})"
            ) from e


def build_ag_mapper(cfg: CfgNode, is_train: bool):
    """The dataset mapper of ``task_of(cfg)`` (:meth:`Task.build_mapper`)."""
    return task_of(cfg).build_mapper(cfg, is_train)
