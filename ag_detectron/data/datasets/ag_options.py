"""Loader-time options of the Action Genome loader and the named filter presets
(docs/ag_format.md §7).

Every option and its default:

* ``visible_only`` (True): drop objects with ``visible=False`` (they carry no box and no relations).
  With False their category ids are kept per frame in ``invisible_category_ids``; they never become
  annotations.
* ``require_visible_object`` (preset "none": False, "sttran": True): drop frames without a visible
  object (STTran rule 2).
* ``filter_nonperson_frames`` ("none": False, "sttran": True): drop frames whose person box array
  has 0 rows (STTran rule 3).
* ``min_frames_per_video`` ("none": 0 = off, "sttran": 3): drop videos with fewer frames left after
  the frame filters (STTran rule 4, ``len(video) > 2``).
* ``min_box_short_edge`` (0 = off; 16 in the ``*_filtersmall`` datasets for SGCls/SGDet): a
  visible object whose box, as written in the pickle (``w``, ``h`` before any clipping to the
  frame), has ``min(w, h) <= min_box_short_edge`` is dropped together with its relations and counted
  in ``small_boxes``; only strictly larger objects are kept. It runs while reading, before rules
  2-4, so a frame left without visible objects can then fall under rule 2. Person boxes are not
  filtered. This follows the rule STTran states for its separately distributed ``filtersmall``
  pickle ("short edges larger than 16 pixels"); whether that file deleted the small objects or
  marked them invisible is not public, and no test compares against it (docs/ag_format.md §7).
* ``num_predicates`` (26): 26 = the release; 25 = the paper, ``other_relationship`` (global id 18)
  is dropped from every relation and the ids above it shift down by one.
"""

from __future__ import annotations

from typing import Any, Dict, NamedTuple, Optional

from ag_detectron.errors import ConfigError

__all__ = ["AGLoadOptions", "FILTER_PRESETS", "resolve_load_options"]


class AGLoadOptions(NamedTuple):
    """Resolved loader options (see the module docstring for each field's meaning)."""

    visible_only: bool = True
    require_visible_object: bool = False
    filter_nonperson_frames: bool = False
    min_frames_per_video: int = 0
    min_box_short_edge: float = 0.0
    num_predicates: int = 26


FILTER_PRESETS: Dict[str, Dict[str, Any]] = {
    "none": {},
    "sttran": {
        "require_visible_object": True,
        "filter_nonperson_frames": True,
        "min_frames_per_video": 3,
    },
}


def resolve_load_options(filter_preset: str = "none", **overrides: Optional[Any]) -> AGLoadOptions:
    """Options of a preset with explicit overrides applied (an override of ``None`` keeps the preset
    value).

    Args:
        filter_preset: "none" (the raw release) or "sttran" (community rules 2-4; add
            ``min_box_short_edge=16`` for SGCls/SGDet).
        overrides: any :class:`AGLoadOptions` field.

    Raises:
        ConfigError: unknown preset, unknown option, or a value out of range.
    """
    if filter_preset not in FILTER_PRESETS:
        raise ConfigError(
            f"filter_preset: unknown preset {filter_preset!r}; expected one of "
            f"{sorted(FILTER_PRESETS)}"
        )
    values = dict(AGLoadOptions()._asdict())
    values.update(FILTER_PRESETS[filter_preset])
    for key, value in overrides.items():
        if key not in values:
            raise ConfigError(
                f"unknown Action Genome loader option {key!r}; expected one of {sorted(values)}"
            )
        if value is not None:
            values[key] = value
    opts = AGLoadOptions(
        visible_only=bool(values["visible_only"]),
        require_visible_object=bool(values["require_visible_object"]),
        filter_nonperson_frames=bool(values["filter_nonperson_frames"]),
        min_frames_per_video=int(values["min_frames_per_video"]),
        min_box_short_edge=float(values["min_box_short_edge"]),
        num_predicates=int(values["num_predicates"]),
    )
    if opts.num_predicates not in (25, 26):
        raise ConfigError(
            f"num_predicates: expected 26 (release) or 25 (paper), got "
            f"{opts.num_predicates}"
        )
    if opts.min_frames_per_video < 0 or opts.min_box_short_edge < 0:
        raise ConfigError(
            f"min_frames_per_video / min_box_short_edge must be >= 0, got "
            f"{opts.min_frames_per_video} / {opts.min_box_short_edge}"
        )
    return opts
