"""Data: AG / Charades loaders (the builtin names register on ``import ag_detectron``) and the
relation dataset mapper."""

from . import datasets
from .relation_mapper import RelationDatasetMapper

__all__ = ["datasets", "RelationDatasetMapper"]
