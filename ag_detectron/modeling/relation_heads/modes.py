"""The scene-graph task mode (``MODEL.ROI_RELATION_HEAD.MODE``), one enum validated once."""

import enum

from ag_detectron.errors import ConfigError

__all__ = ["RelationMode"]


class RelationMode(str, enum.Enum):
    """Which parts of the scene graph are given and which are predicted.

    * ``PREDCLS``: ground-truth boxes and labels are given; only predicates are predicted.
    * ``SGCLS``: ground-truth boxes are given; labels come from the detector's box predictor.
    * ``SGDET``: boxes and labels come from the detector; predicates on detected pairs.
    """

    PREDCLS = "predcls"
    SGCLS = "sgcls"
    SGDET = "sgdet"

    @classmethod
    def parse(cls, value: str) -> "RelationMode":
        """Parse a config string (case-insensitive). Raises ConfigError naming the key otherwise."""
        try:
            return cls(str(value).lower())
        except ValueError:
            raise ConfigError(
                f"MODEL.ROI_RELATION_HEAD.MODE={value!r} is unknown; expected one of "
                f"{[m.value for m in cls]}"
            ) from None

    @property
    def uses_gt_boxes(self) -> bool:
        return self is not RelationMode.SGDET

    @property
    def needs_trained_detector(self) -> bool:
        return self is not RelationMode.PREDCLS
