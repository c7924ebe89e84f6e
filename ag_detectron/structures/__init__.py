"""Structures for relations (pairs of boxes) on top of detectron2's ``Instances``."""

from .relations import GROUP_FIELDS, filter_relations, relations_to_instances, remap_pairs

__all__ = ["GROUP_FIELDS", "filter_relations", "relations_to_instances", "remap_pairs"]
