"""Action Genome and Charades loaders; importing this package registers the builtin splits."""
from . import builtin as _builtin  # ensure the AG / Charades splits are registered
from .action_genome import (
    ag_predicate_metadata,
    load_action_genome,
    load_action_genome_with_counts,
    register_action_genome,
)
from .ag_options import AGLoadOptions, load_options_from_cfg, resolve_load_options
from .charades import load_charades, read_charades_classes, register_charades
from .fps import ag_frame_to_charades_frame, ag_frame_to_seconds, load_video_fps, seconds_to_charades_frame

__all__ = [k for k in globals().keys() if not k.startswith("_")]
