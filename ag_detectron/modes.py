"""The scene-graph task mode (``MODEL.ROI_RELATION_HEAD.MODE``): one enum, parsed in one place.

Dependency-free (standard library and :mod:`ag_detectron.errors` only). Every consumer (the model,
the evaluator, the engine, the tools) calls :meth:`RelationMode.parse` on the config string, so
``"SGDet"``, ``"sgdet"`` and ``RelationMode.SGDET`` all mean the same mode; the canonical string
(``mode.value``, lower case) is what appears in result keys and file names.
"""

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
    def parse(cls, value: "str | RelationMode") -> "RelationMode":
        """Parse a config string (case-insensitive, surrounding spaces ignored) or pass an enum
        through. Raises ConfigError naming the key otherwise."""
        if isinstance(value, cls):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise ConfigError(
                f"MODEL.ROI_RELATION_HEAD.MODE={value!r} is unknown; expected one of "
                f"{[m.value for m in cls]}"
            ) from None

    def __str__(self) -> str:
        return self.value

    @property
    def uses_gt_boxes(self) -> bool:
        return self is not RelationMode.SGDET

    @property
    def needs_trained_detector(self) -> bool:
        return self is not RelationMode.PREDCLS
