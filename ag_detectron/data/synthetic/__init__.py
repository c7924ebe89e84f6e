"""A synthetic, visually grounded "toy Action Genome" written in the exact release formats.

``generate(out_dir, num_videos=..., seed=...)`` scripts short videos of a stick-figure person acting
on objects of the 35 AG classes (:mod:`.world`), derives every label from the drawn geometry
(:mod:`.kinematics`), draws the frames (:mod:`.render`) and writes the AG annotation pickles, frame
list, class files and PNG frames plus Charades-format CSVs and 24-fps JPEGs (:mod:`.writer`).
``annotations_only=True`` writes annotation files at the real dataset's scale instead
(:mod:`.scale`).
See docs/synthetic.md.
"""

from .actions import ACTION_CLASSES, ActionClass
from .generate import DEFAULT_NUM_VIDEOS, DEFAULT_OUT_DIR, GenerateResult, generate

__all__ = [
    "generate",
    "GenerateResult",
    "DEFAULT_NUM_VIDEOS",
    "DEFAULT_OUT_DIR",
    "ACTION_CLASSES",
    "ActionClass",
]
