"""Action Genome: ``load_action_genome`` (cached) and ``register_action_genome`` (docs/ag_format.md,
design.md).

Root layout::

    root/annotations/{person_bbox.pkl, object_bbox_and_relationship.pkl, frame_list.txt,
                      object_classes.txt, relationship_classes.txt}     (class files optional)
    root/frames/<VIDEO_ID>.mp4/<NNNNNN>.png

One dict per frame key of the split, sorted by (video id, frame number), in the format of
docs/design.md. Options and presets: :mod:`.ag_options`. Parsing and validation: :mod:`.ag_parse`.
Cache: :mod:`.cache`.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import time
from typing import Any, Dict, Iterator, List, Optional

from detectron2.data import DatasetCatalog, MetadataCatalog

from ag_detectron.vocabulary import predicate_vocabulary

from . import ag_categories as C
from .ag_columnar import decode_frames
from .ag_options import AGLoadOptions, resolve_load_options
from .ag_parse import annotation_paths, parse_action_genome
from .cache import cache_path, load_cached, save_cached

__all__ = [
    "load_action_genome",
    "load_action_genome_with_counts",
    "register_action_genome",
    "ag_predicate_metadata",
    "LOADER_VERSION",
]

logger = logging.getLogger(__name__)

LOADER_VERSION = 2  # bump when the dict format or parsing changes: invalidates every cache file


def ag_predicate_metadata(num_predicates: int = 26) -> Dict[str, Any]:
    """The metadata entries of the predicate vocabulary with ``num_predicates`` (26 release, 25
    paper): ``predicate_classes``, ``predicate_readable_names``, ``predicate_groups`` (name ->
    (start, stop)) and ``predicate_multi_label`` (:meth:`PredicateVocabulary.metadata`)."""
    return predicate_vocabulary(num_predicates, "num_predicates").metadata()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _summary(root: str, split: str, opts: AGLoadOptions, counts: Dict[str, int]) -> str:
    return (
        f"Action Genome {split} ({root}): {counts['frame_keys']} frame keys, "
        f"{counts['other_split']} in the other split; removed {counts['no_visible_object']} frames "
        f"without a visible object, {counts['no_person']} frames without a person box, "
        f"{counts['short_video_frames']} frames of {counts['short_videos']} videos with < "
        f"{opts.min_frames_per_video} frames; dropped {counts['invisible_objects']} invisible "
        f"objects, {counts['small_boxes']} boxes with short edge <= {opts.min_box_short_edge:g} "
        f"px, {counts['dropped_predicate_labels']} other_relationship labels; clipped "
        f"{counts['clipped_boxes']} boxes to the frame; kept {counts['frames']} frames in "
        f"{counts['videos']} videos"
    )


def load_action_genome_with_counts(
    root: str,
    split: str,
    filter_preset: str = "none",
    *,
    use_cache: bool = True,
    cache_dir: Optional[str] = None,
    **options: Any,
) -> tuple:
    """Like :func:`load_action_genome` but returns ``(dicts, counts)``; ``counts`` says what each
    filter removed."""
    opts = resolve_load_options(filter_preset, **options)
    root = os.path.abspath(os.path.expanduser(root))
    paths = annotation_paths(root)
    anno_dir = os.path.dirname(paths["frame_list.txt"])
    sources = list(paths.values()) + [
        os.path.join(anno_dir, f)
        for f in ("object_classes.txt", "relationship_classes.txt")
        if os.path.isfile(os.path.join(anno_dir, f))
    ]
    params = {"version": LOADER_VERSION, "root": root, "split": split, "options": opts._asdict()}
    path = cache_path(f"ag_{split}", sources, params, cache_dir) if use_cache else None
    start = time.perf_counter()
    # millions of small containers: cyclic GC passes would add seconds and free nothing
    with _gc_paused():
        cached = load_cached(path) if path else None
        if cached is not None:
            dicts, counts = decode_frames(cached["frames"]), cached["counts"]
            logger.info(
                f"Loaded {len(dicts)} Action Genome frames from cache {path} in "
                f"{time.perf_counter() - start:.2f} s"
            )
        else:
            dicts, counts, encoded = parse_action_genome(root, split, opts, encode=bool(path))
            logger.info(f"Parsed Action Genome {split} in {time.perf_counter() - start:.2f} s")
            if path:
                save_cached(path, {"frames": encoded, "counts": counts})
    logger.info(_summary(root, split, opts, counts))
    if counts["clipped_boxes"]:
        logger.warning(
            f"Action Genome {split}: clipped {counts['clipped_boxes']} boxes that extended outside "
            f"the frame"
        )
    return dicts, counts


def load_action_genome(
    root: str,
    split: str,
    filter_preset: str = "none",
    *,
    use_cache: bool = True,
    cache_dir: Optional[str] = None,
    **options: Any,
) -> List[Dict[str, Any]]:
    """Load Action Genome frames of one split as Detectron2 dataset dicts (docs/design.md).

    Args:
        root: AG root with ``annotations/`` and ``frames/``.
        split: "train", "test" (``metadata['set']``) or "all".
        filter_preset: "none" (every frame key of the split, default) or "sttran" (ag_options.py).
        use_cache: read/write the parsed result in the cache dir (``$AG_CACHE`` or
            ``~/.cache/ag_detectron``).
        cache_dir: override the cache directory.
        options: :class:`AGLoadOptions` fields overriding the preset: ``visible_only`` (True),
            ``require_visible_object``, ``filter_nonperson_frames``, ``min_frames_per_video``,
            ``min_box_short_edge`` (0; 16 for SGCls/SGDet), ``num_predicates`` (26 or 25).

    Returns:
        list[dict]: one dict per kept frame, sorted by (video id, frame number).

    Raises:
        DatasetFormatError: missing root/file or malformed content (the message names file, key,
            field).
        ConfigError: unknown preset or option.
    """
    return load_action_genome_with_counts(
        root, split, filter_preset, use_cache=use_cache, cache_dir=cache_dir, **options
    )[0]


def register_action_genome(
    name: str, root: str, split: str, filter_preset: str = "none", **options: Any
) -> None:
    """Register an Action Genome split under ``name`` (lazy: nothing is read until
    ``DatasetCatalog.get``).

    Metadata: ``thing_classes`` (36 tokens), ``thing_readable_names``, the predicate vocabulary
    (:func:`ag_predicate_metadata`: ``predicate_classes`` 26 or 25, ``predicate_groups`` as index
    ranges, ...),
    ``evaluator_type="ag_relation"``, ``root``, ``split``, ``filter_preset``, ``load_options``
    (resolved), ``allow_horizontal_flip=True`` (no AG predicate is left/right), ``video_fps_file``
    (``root/annotations/video_fps.json``).
    """
    opts = resolve_load_options(filter_preset, **options)
    DatasetCatalog.register(
        name,
        lambda root=root, split=split, preset=filter_preset, options=dict(
            options
        ): load_action_genome(root, split, preset, **options),
    )
    MetadataCatalog.get(name).set(
        thing_classes=list(C.OBJECT_CLASSES),
        thing_readable_names=list(C.OBJECT_READABLE_NAMES),
        evaluator_type="ag_relation",
        root=root,
        split=split,
        filter_preset=filter_preset,
        load_options=opts._asdict(),
        allow_horizontal_flip=True,
        video_fps_file=os.path.join(root, "annotations", "video_fps.json"),
        **ag_predicate_metadata(opts.num_predicates),
    )
