"""Action Genome and Charades loaders; importing this package registers the builtin splits."""

from . import builtin as _builtin  # noqa: F401  (registers the AG / Charades splits)
from .action_genome import (
    ag_predicate_metadata,
    load_action_genome,
    load_action_genome_with_counts,
    register_action_genome,
)
from .ag_options import AGLoadOptions, resolve_load_options
from .charades import load_charades, read_charades_classes, register_charades
from .fps import (
    ag_frame_to_charades_frame,
    ag_frame_to_seconds,
    load_video_fps,
    seconds_to_charades_frame,
)

__all__ = [
    "AGLoadOptions",
    "ag_frame_to_charades_frame",
    "ag_frame_to_seconds",
    "ag_predicate_metadata",
    "load_action_genome",
    "load_action_genome_with_counts",
    "load_charades",
    "load_video_fps",
    "read_charades_classes",
    "register_action_genome",
    "register_charades",
    "resolve_load_options",
    "seconds_to_charades_frame",
]
