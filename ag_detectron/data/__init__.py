"""Data: AG / Charades loaders (registered on import) and the relation dataset mapper."""

from . import datasets  # ensure the builtin datasets are registered
from .relation_mapper import RelationDatasetMapper

__all__ = ["datasets", "RelationDatasetMapper"]
