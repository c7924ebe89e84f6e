"""Bank producers: run a model over every Charades video and write its feature bank.

Two model producers share one pipeline (docs/feature_bank.md "Extraction"):

* ``scene_graph``: a :class:`SceneGraphRCNN` in SGDet mode on frames sampled at ``rate`` per
  second; each frame's entry is its confidence matrix (:func:`frame_confidence_matrix`).
* ``lfb``: a clip classifier (``ClipClassifier``) on one centre-cropped clip centred at each
  sampled time; each entry is the pooled clip feature ``S``.

Pipeline: a torch ``DataLoader`` whose workers decode and preprocess **one video per item**
(all its sampled frames, or the frames its clips need), while the main process runs the model on
batches of ``batch_size`` frames / clips that may span several videos. A video's shard is written
as soon as its last entry is computed, through :class:`FeatureBankWriter` (atomic, so a killed
run is resumed by running it again: videos whose shard exists are not even decoded).
:func:`extract_bank` is what each process of a ``launch``-ed run calls: it takes the videos of
its rank (:func:`videos_for_rank`), waits for the others at a barrier, and rank 0 consolidates.

The oracle bank needs no model: :func:`extract_oracle_bank`.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch
from detectron2.config import CfgNode
from detectron2.utils import comm

from ag_detectron.data import video_io
from ag_detectron.errors import ConfigError

from .errors import FeatureBankError
from .provenance import BankProvenance, hash_config, hash_file, hash_module_state
from .scene_graph import (
    COMBINE_RULES,
    SUBJECT_RULES,
    confidence_matrix,
    predicate_probabilities,
    scene_graph_provenance,
)
from .writer import FeatureBankWriter, consolidate, videos_for_rank

__all__ = [
    "EntryRule",
    "ExtractOptions",
    "VideoItem",
    "SceneGraphProducer",
    "ClipFeatureProducer",
    "frame_confidence_matrix",
    "sample_times",
    "centred_clip_frames",
    "producer_config_hash",
    "weights_hash",
    "run_extraction",
    "extract_bank",
    "extract_oracle_bank",
    "extract_worker",
    "dataset_dicts",
]

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class EntryRule:
    """How a frame's predicted scene graph becomes a confidence matrix (the choices the paper
    leaves open; :func:`~.scene_graph.confidence_matrix`)."""

    #: 26 (release) or 25 (``other_relationship`` dropped); None = the model's predicate count
    num_predicates: Optional[int] = None
    combine: str = "max"
    subject: str = "all"
    multiply_subject_score: bool = False

    def __post_init__(self) -> None:
        if self.num_predicates not in (None, 25, 26):
            raise ConfigError(f"--num-predicates {self.num_predicates}; expected 26 or 25")
        if self.combine not in COMBINE_RULES:
            raise ConfigError(f"--combine {self.combine!r}; expected one of {COMBINE_RULES}")
        if self.subject not in SUBJECT_RULES:
            raise ConfigError(f"--subject {self.subject!r}; expected one of {SUBJECT_RULES}")


@dataclass(frozen=True)
class ExtractOptions:
    """Settings of one extraction run (the tool's flags)."""

    #: entries per second of video (2 = LFB: every 12th frame of a 24-fps video)
    rate: float = 2.0
    #: frames (scene_graph) or clips (lfb) per model forward
    batch_size: int = 8
    #: DataLoader workers decoding videos (0: in the main process)
    num_workers: int = 2
    #: "frames" (Charades_v1_rgb JPEG folders) or "video" (video files, PyAV)
    source: str = "frames"
    #: directory of <id>.mp4 for source "video"; "" = each dict's "video_file"
    video_dir: str = ""
    #: storage dtype of the bank
    dtype: str = "float16"
    #: NaN/Inf entries: "error" or "zero" (counted)
    nonfinite: str = "error"
    #: show a tqdm progress bar (frames/s)
    progress: bool = True
    #: flush every shard to disk before its rename
    fsync: bool = True
    rule: EntryRule = field(default_factory=EntryRule)

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ConfigError(f"--rate {self.rate!r}; expected entries per second > 0")
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size {self.batch_size}; expected >= 1")
        if self.num_workers < 0:
            raise ConfigError(f"--num-workers {self.num_workers}; expected >= 0")
        if self.source not in ("frames", "video"):
            raise ConfigError(f"--source {self.source!r}; expected 'frames' or 'video'")


def sample_times(num_frames_24: int, rate: float) -> np.ndarray:
    """``(n,)`` float64 sampled times ``k / rate`` whose 24-fps frame ``round(24 t) + 1`` exists
    in a video of ``num_frames_24`` frames (the rule of ``video_io.iter_frames_at_rate``)."""
    times = []
    k = 0
    while round(k / rate * video_io.CHARADES_FPS) + 1 <= num_frames_24:
        times.append(k / rate)
        k += 1
    return np.asarray(times, dtype=np.float64)


def centred_clip_frames(
    centre_frame: int, num_frames: int, sampling_rate: int, video_frames: int
) -> np.ndarray:
    """``(T,)`` 1-based frame numbers of a clip centred on ``centre_frame``: ``T`` frames
    ``sampling_rate`` apart starting ``((T - 1) * sampling_rate) // 2`` frames before the centre,
    clamped to ``1 .. video_frames`` (the first / last frame repeated at the video's ends)."""
    start = centre_frame - ((num_frames - 1) * sampling_rate) // 2
    frames = start + sampling_rate * np.arange(num_frames, dtype=np.int64)
    return np.clip(frames, 1, video_frames)


# ---------------------------------------------------------------- items and producers


@dataclass
class VideoItem:
    """One video, decoded and preprocessed by a DataLoader worker.

    ``times`` (n,) are the entries' timestamps; ``payload`` is producer specific (the model
    inputs of the n entries); ``duration`` the video's length in seconds.
    """

    video_id: str
    times: np.ndarray
    duration: float
    payload: Any


def _identity(x: Any) -> Any:
    return x


class _Producer:
    """What one bank kind needs: per-video preparation (in workers) and a batched forward."""

    kind: str = ""

    def prepare(self, d: Mapping[str, Any]) -> VideoItem:  # pragma: no cover - interface
        raise NotImplementedError

    def forward(self, units: Sequence[Any]) -> torch.Tensor:  # pragma: no cover - interface
        """``(B, D)`` entries of ``B`` payload units (frames or clips)."""
        raise NotImplementedError

    def provenance(self, opts: ExtractOptions) -> BankProvenance:  # pragma: no cover
        raise NotImplementedError

    def unit(self, item: VideoItem, j: int) -> Any:
        return item.payload[j]


def _video_source(d: Mapping[str, Any], opts: ExtractOptions) -> str:
    if opts.source == "frames":
        return d["frame_dir"]
    if opts.video_dir:
        return f"{opts.video_dir.rstrip('/')}/{d['video_id']}.mp4"
    return d["video_file"]


def frame_confidence_matrix(output: Mapping[str, Any], rule: EntryRule) -> torch.Tensor:
    """The flattened confidence matrix ``(35 * P,)`` of one SGDet output
    ``{"instances", "relations"}`` (docs/design.md "Model output"): one row per predicted
    (person, object) pair, the object's class and score, the person's score and id, the three
    predicate groups' probabilities."""
    inst, rel = output["instances"], output["relations"]
    pairs = rel.pair_idx.long().reshape(-1, 2).cpu()
    subj, obj = pairs[:, 0], pairs[:, 1]
    classes, scores = inst.pred_classes.cpu(), inst.scores.float().cpu()
    num_pred = rule.num_predicates or (
        rel.attention_scores.shape[1] + rel.spatial_scores.shape[1] + rel.contacting_scores.shape[1]
    )
    probs = predicate_probabilities(
        rel.attention_scores.cpu(), rel.spatial_scores.cpu(), rel.contacting_scores.cpu(), num_pred
    )
    return confidence_matrix(
        classes[obj],
        scores[obj],
        probs,
        combine=rule.combine,
        subject_ids=subj,
        subject_scores=scores[subj],
        subject=rule.subject,
        multiply_subject_score=rule.multiply_subject_score,
    )


def producer_config_hash(cfg: CfgNode, settings: Mapping[str, Any]) -> str:
    """Hash of the model config (without ``MODEL.WEIGHTS`` / ``MODEL.DEVICE``: the weights have
    their own hash, and the device must not stop CPU and GPU workers from sharing a bank) and of
    the extraction settings that change the entries (rate, entry rule, crop)."""
    c = copy.deepcopy(cfg)
    c.defrost()
    c.MODEL.WEIGHTS = ""
    c.MODEL.DEVICE = ""
    return hash_config({"config": c.dump(), "extract": dict(settings)})


def weights_hash(cfg: CfgNode) -> str:
    """``hash_file`` of ``MODEL.WEIGHTS`` ("" when empty: a random model, tests only)."""
    if not cfg.MODEL.WEIGHTS:
        return ""
    from detectron2.utils.file_io import PathManager

    return hash_file(PathManager.get_local_path(cfg.MODEL.WEIGHTS))


def _model_num_predicates(cfg: CfgNode) -> int:
    """Predicates the relation head outputs: ``MODEL.ROI_RELATION_HEAD.NUM_PREDICATES`` (26 or
    25) where the config has it, else the sum of the three group sizes."""
    r = cfg.MODEL.ROI_RELATION_HEAD
    if "NUM_PREDICATES" in r:
        return int(r.NUM_PREDICATES)
    return int(r.NUM_ATTENTION_CLASSES + r.NUM_SPATIAL_CLASSES + r.NUM_CONTACTING_CLASSES)


class SceneGraphProducer(_Producer):
    """SGDet confidence matrices of frames sampled at ``opts.rate``.

    Args:
        cfg: the scene-graph model's config (any MODE; switched to ``sgdet``: raw frames carry
            no boxes); ``MODEL.WEIGHTS`` is loaded.
        opts: the run's settings.
        model: an already built model (tests); default: built from ``cfg``.
    """

    kind = "scene_graph"

    def __init__(self, cfg: CfgNode, opts: ExtractOptions, model: Optional[torch.nn.Module] = None):
        from detectron2.checkpoint import DetectionCheckpointer
        from detectron2.data import transforms as T
        from detectron2.modeling import build_model

        cfg = cfg.clone()
        cfg.defrost()
        cfg.MODEL.ROI_RELATION_HEAD.MODE = "sgdet"
        cfg.freeze()
        self.cfg, self.opts = cfg, opts
        if model is None:
            model = build_model(cfg)
            if cfg.MODEL.WEIGHTS:
                DetectionCheckpointer(model).load(cfg.MODEL.WEIGHTS)
        self.model = model.eval()
        if getattr(self.model, "task", None) != "scene_graph":
            raise ConfigError(
                f"--kind scene_graph needs a scene-graph model (task 'scene_graph'); "
                f"MODEL.META_ARCHITECTURE {cfg.MODEL.META_ARCHITECTURE!r} has task "
                f"{getattr(self.model, 'task', None)!r}"
            )
        self.aug = T.ResizeShortestEdge(
            [cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MIN_SIZE_TEST], cfg.INPUT.MAX_SIZE_TEST
        )
        self.input_format = cfg.INPUT.FORMAT
        self.model_predicates = _model_num_predicates(cfg)
        self.num_predicates = opts.rule.num_predicates or self.model_predicates
        if self.num_predicates > self.model_predicates:
            raise ConfigError(
                f"--num-predicates {self.num_predicates}, but the model predicts "
                f"{self.model_predicates} predicates"
            )

    def preprocess(self, rgb: np.ndarray) -> Dict[str, Any]:
        """One model input from an ``(H, W, 3)`` RGB frame, as ``DefaultPredictor`` makes it
        (channel order ``INPUT.FORMAT``, shortest-edge test resize), kept uint8 (the model
        normalises it)."""
        image = rgb if self.input_format == "RGB" else rgb[:, :, ::-1]
        height, width = image.shape[:2]
        image = self.aug.get_transform(image).apply_image(image)
        tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
        return {"image": tensor, "height": height, "width": width}

    def prepare(self, d: Mapping[str, Any]) -> VideoItem:
        vid = d["video_id"]
        times, inputs = [], []
        for t, rgb in video_io.iter_frames_at_rate(
            _video_source(d, self.opts), self.opts.rate, vid
        ):
            times.append(t)
            inputs.append(self.preprocess(rgb))
        return VideoItem(vid, np.asarray(times, np.float64), float(d.get("length", 0.0)), inputs)

    @torch.inference_mode()
    def forward(self, units: Sequence[Dict[str, Any]]) -> torch.Tensor:
        rule = EntryRule(
            self.num_predicates,
            self.opts.rule.combine,
            self.opts.rule.subject,
            self.opts.rule.multiply_subject_score,
        )
        outputs = self.model(list(units))
        return torch.stack([frame_confidence_matrix(o, rule) for o in outputs])

    def settings(self) -> Dict[str, Any]:
        r = self.opts.rule
        return {
            "kind": self.kind,
            "rate": self.opts.rate,
            "num_predicates": self.num_predicates,
            "combine": r.combine,
            "subject": r.subject,
            "multiply_subject_score": r.multiply_subject_score,
        }

    def provenance(self, opts: ExtractOptions) -> BankProvenance:
        return scene_graph_provenance(
            num_predicates=self.num_predicates,
            rate=opts.rate,
            producer_config_hash=producer_config_hash(self.cfg, self.settings()),
            weights_hash=weights_hash(self.cfg),
            dtype=opts.dtype,
        )


class ClipFeatureProducer(_Producer):
    """LFB entries: the clip model's pooled feature ``S`` of one clip centred at each time
    ``k / rate`` (``INPUT.CLIP.NUM_FRAMES`` frames ``SAMPLING_RATE`` apart, short side resized to
    ``INPUT.CLIP.TEST_CROP_SIZE``, centre crop of that size).

    Args:
        cfg: the clip classifier's config; ``MODEL.WEIGHTS`` is loaded (VideoCheckpointer).
        opts: the run's settings.
        model: an already built model (tests); default: built from ``cfg``.
    """

    kind = "lfb"

    def __init__(self, cfg: CfgNode, opts: ExtractOptions, model: Optional[torch.nn.Module] = None):
        from detectron2.modeling import build_model

        from ag_detectron.data.clip_mapper import ClipDatasetMapper

        self.cfg, self.opts = cfg, opts
        if model is None:
            model = build_model(cfg)
            if cfg.MODEL.WEIGHTS:
                from ag_detectron.checkpoint import VideoCheckpointer

                VideoCheckpointer(model).load(cfg.MODEL.WEIGHTS)
        self.model = model.eval()
        if not hasattr(self.model, "clip_features"):
            raise ConfigError(
                f"--kind lfb needs a clip model with clip_features() (ClipClassifier); "
                f"MODEL.META_ARCHITECTURE is {cfg.MODEL.META_ARCHITECTURE!r}"
            )
        c = cfg.INPUT.CLIP
        self.num_frames, self.sampling_rate, self.crop = (
            c.NUM_FRAMES,
            c.SAMPLING_RATE,
            c.TEST_CROP_SIZE,
        )
        self.mapper = ClipDatasetMapper(cfg, is_train=False)
        if opts.source != self.mapper.source:
            raise ConfigError(
                f"--source {opts.source!r} but INPUT.CLIP.SOURCE is {self.mapper.source!r}; the "
                f"clip model reads its frames through its own config (set INPUT.CLIP.SOURCE)"
            )
        self.dim = int(self.model.backbone.output_dim)

    def prepare(self, d: Mapping[str, Any]) -> VideoItem:
        from ag_detectron.data import clip_sampling as cs
        from ag_detectron.data.clip_mapper import resize_short_side

        vid = d["video_id"]
        total = self.mapper.num_video_frames(d)
        times = sample_times(total, self.opts.rate)
        centres = np.round(times * video_io.CHARADES_FPS).astype(np.int64) + 1
        clips = (
            np.stack(
                [
                    centred_clip_frames(int(c), self.num_frames, self.sampling_rate, total)
                    for c in centres
                ]
            )
            if len(centres)
            else np.zeros((0, self.num_frames), np.int64)
        )
        needed, index = np.unique(clips, return_inverse=True)
        stack = resize_short_side(self.mapper.read(d, needed.tolist()), self.crop)  # (F, 3, h, w)
        h, w = stack.shape[-2:]
        y0, x0 = cs.spatial_crop_offsets(h, w, self.crop, 0, 1)
        stack = stack[..., y0 : y0 + self.crop, x0 : x0 + self.crop].contiguous()
        index = torch.from_numpy(index.reshape(clips.shape))
        return VideoItem(vid, times, float(d.get("length", 0.0)), (stack, index))

    def unit(self, item: VideoItem, j: int) -> torch.Tensor:
        stack, index = item.payload
        return stack[index[j]].permute(1, 0, 2, 3)  # (3, T, S, S)

    @torch.inference_mode()
    def forward(self, units: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.model.clip_features([{"clip": u} for u in units]).float()

    def settings(self) -> Dict[str, Any]:
        return {
            "kind": self.kind,
            "rate": self.opts.rate,
            "num_frames": self.num_frames,
            "sampling_rate": self.sampling_rate,
            "crop": self.crop,
        }

    def provenance(self, opts: ExtractOptions) -> BankProvenance:
        return BankProvenance(
            kind="lfb",
            dim=self.dim,
            rate=opts.rate,
            vocabulary={
                "feature_dim": self.dim,
                "model": self.cfg.MODEL.META_ARCHITECTURE,
                # the identity of the backbone whose S the entries are (precomputed clip
                # features: SGFB checks it against its own frozen backbone)
                "backbone_hash": hash_module_state(self.model.backbone),
            },
            producer_config_hash=producer_config_hash(self.cfg, self.settings()),
            weights_hash=weights_hash(self.cfg),
            dtype=opts.dtype,
        )


# ---------------------------------------------------------------- the loop


class _VideoDataset(torch.utils.data.Dataset):
    def __init__(self, dicts: Sequence[Mapping[str, Any]], prepare: Callable) -> None:
        self.dicts, self.prepare = list(dicts), prepare

    def __len__(self) -> int:
        return len(self.dicts)

    def __getitem__(self, i: int) -> VideoItem:
        return self.prepare(self.dicts[i])


def run_extraction(
    producer: _Producer,
    writer: FeatureBankWriter,
    dicts: Sequence[Mapping[str, Any]],
    opts: ExtractOptions,
    desc: str = "extract",
) -> Counter:
    """Write the shard of every video of ``dicts`` that ``writer`` does not have yet.

    Returns counts: ``videos`` (written), ``skipped_existing``, ``entries``,
    ``durations_extended`` (a listed length shorter than the last sampled time: the time is
    used), and ``seconds``.
    """
    counts: Counter = Counter()
    pending = [d for d in dicts if not writer.done(d["video_id"])]
    counts["skipped_existing"] = len(dicts) - len(pending)
    if counts["skipped_existing"]:
        logger.info("%s: %d videos already extracted (resume)", desc, counts["skipped_existing"])
    if not pending:
        return counts
    loader = torch.utils.data.DataLoader(
        _VideoDataset(pending, producer.prepare),
        batch_size=None,
        shuffle=False,
        num_workers=opts.num_workers,
        collate_fn=_identity,
    )
    # progress total: entries expected from the listed lengths (the bar shows frames / s)
    estimate = sum(int(math.floor(float(d.get("length", 0)) * opts.rate)) + 1 for d in pending)
    bar = None
    if opts.progress:
        from tqdm import tqdm

        bar = tqdm(total=estimate, desc=desc, unit="frame", file=sys.stdout, dynamic_ncols=True)
    start = time.perf_counter()
    queue: List[tuple] = []  # (item, row) waiting for the model
    results: Dict[str, List[Optional[np.ndarray]]] = {}
    order: List[VideoItem] = []
    producer_dim = writer.provenance.dim

    def finish_ready() -> None:
        while order and all(r is not None for r in results[order[0].video_id]):
            item = order.pop(0)
            rows = results.pop(item.video_id)
            entries = np.stack(rows) if rows else np.zeros((0, producer_dim), np.float32)
            _write(writer, item, entries, counts)

    def run_batch(batch: List[tuple]) -> None:
        out = producer.forward([producer.unit(item, j) for item, j in batch]).cpu().numpy()
        for (item, j), row in zip(batch, out):
            results[item.video_id][j] = row
        counts["entries"] += len(batch)
        if bar is not None:
            bar.update(len(batch))
        finish_ready()

    for item in loader:
        results[item.video_id] = [None] * len(item.times)
        order.append(item)
        queue.extend((item, j) for j in range(len(item.times)))
        while len(queue) >= opts.batch_size:
            batch, queue = queue[: opts.batch_size], queue[opts.batch_size :]
            run_batch(batch)
        finish_ready()  # a video without entries
    while queue:
        batch, queue = queue[: opts.batch_size], queue[opts.batch_size :]
        run_batch(batch)
    finish_ready()
    counts["seconds"] = time.perf_counter() - start
    if bar is not None:
        bar.close()
    return counts


def _write(
    writer: FeatureBankWriter, item: VideoItem, entries: np.ndarray, counts: Counter
) -> None:
    last = float(item.times[-1]) if len(item.times) else 0.0
    duration = item.duration
    if duration < last:  # the CSV length is rounded; the sampled frames exist
        counts["durations_extended"] += 1
        duration = last
    if writer.write(item.video_id, item.times, entries, duration=duration):
        counts["videos"] += 1
    else:
        counts["skipped_existing"] += 1


def _unique_videos(dicts: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    seen: Dict[str, Mapping[str, Any]] = {}
    for d in dicts:
        seen.setdefault(d["video_id"], d)
    return [seen[v] for v in sorted(seen)]


def extract_bank(
    producer: _Producer,
    bank_dir: str,
    dicts: Sequence[Mapping[str, Any]],
    opts: ExtractOptions,
    consolidate_bank: bool = True,
) -> Counter:
    """One process's share of an extraction: the videos of this rank (``comm`` rank / world
    size; 0 / 1 outside ``launch``), then a barrier, then rank 0 consolidates the bank over every
    video of ``dicts``. Returns this rank's counts."""
    videos = _unique_videos(dicts)
    rank, world = comm.get_rank(), comm.get_world_size()
    mine = set(videos_for_rank([d["video_id"] for d in videos], rank, world))
    writer = FeatureBankWriter(
        bank_dir, producer.provenance(opts), nonfinite=opts.nonfinite, fsync=opts.fsync
    )
    if rank > 0 and opts.progress:  # one bar (rank 0's) on a shared console
        opts = replace(opts, progress=False)
    counts = run_extraction(
        producer,
        writer,
        [d for d in videos if d["video_id"] in mine],
        opts,
        desc=f"{producer.kind} rank {rank}/{world}" if world > 1 else producer.kind,
    )
    counts.update({k: v for k, v in writer.stats.items() if k.startswith("nonfinite")})
    _log_counts(counts, bank_dir, rank)
    comm.synchronize()
    if consolidate_bank and comm.is_main_process():
        consolidate(bank_dir, videos=[d["video_id"] for d in videos], fsync=opts.fsync)
    comm.synchronize()
    return counts


def _log_counts(counts: Counter, bank_dir: str, rank: int) -> None:
    seconds = counts.get("seconds", 0.0)
    rate = counts["entries"] / seconds if seconds else 0.0
    logger.info(
        "%s (rank %d): %d videos written, %d already there, %d entries, %.1f entries/s",
        bank_dir,
        rank,
        counts["videos"],
        counts["skipped_existing"],
        counts["entries"],
        rate,
    )
    if counts["durations_extended"]:
        logger.warning(
            "%s: %d videos have a listed length shorter than their last sampled frame; the "
            "frame's time is used as the duration",
            bank_dir,
            counts["durations_extended"],
        )
    if counts["nonfinite_values"]:
        logger.warning(
            "%s: %d NaN/Inf values in %d videos were stored as 0 (--nonfinite zero)",
            bank_dir,
            counts["nonfinite_values"],
            counts["nonfinite_videos"],
        )


def extract_oracle_bank(
    bank_dir: str,
    ag_frames: Sequence[Mapping[str, Any]],
    video_fps_file: str,
    videos: Optional[Sequence[str]] = None,
    durations: Optional[Mapping[str, float]] = None,
    num_predicates: int = 26,
    dtype: str = "float16",
    consolidate_bank: bool = True,
) -> Counter:
    """The oracle bank of Action Genome frames (``DatasetCatalog.get("ag_*")``) with their
    videos' fps from ``video_fps_file``; ``videos`` (e.g. every Charades id) get an empty shard
    when they have no annotated frame. Returns :func:`write_oracle_bank`'s counts."""
    from ag_detectron.data.datasets.fps import load_video_fps

    from .oracle import oracle_provenance, write_oracle_bank

    writer = FeatureBankWriter(bank_dir, oracle_provenance(num_predicates, dtype=dtype))
    counts = write_oracle_bank(
        writer,
        ag_frames,
        load_video_fps(video_fps_file),
        videos=videos,
        durations=durations,
        fps_file=video_fps_file,
    )
    if consolidate_bank:
        wanted = videos if videos is not None else sorted({f["video_id"] for f in ag_frames})
        consolidate(bank_dir, videos=wanted)
    return counts


def dataset_dicts(names: Sequence[str], max_videos: Optional[int] = None) -> List[Dict[str, Any]]:
    """The Charades video dicts of registered datasets (e.g. ``charades_train``,
    ``charades_test``), one per video id, sorted; ``max_videos`` keeps the first ones (smoke
    runs)."""
    from detectron2.data import DatasetCatalog

    import ag_detectron.data.datasets  # noqa: F401  (registration)

    dicts: List[Mapping[str, Any]] = []
    for name in names:
        dicts.extend(DatasetCatalog.get(name))
    videos = _unique_videos(dicts)
    if not videos:
        raise FeatureBankError(f"datasets {list(names)}: no videos")
    return [dict(d) for d in videos[:max_videos]]


def extract_worker(
    kind: str,
    config_file: str,
    config_opts: Sequence[str],
    datasets: Sequence[str],
    bank_dir: str,
    opts: ExtractOptions,
    cpu: bool = False,
    max_videos: Optional[int] = None,
    video_dicts: Optional[Sequence[Mapping[str, Any]]] = None,
) -> Counter:
    """What each process of ``tools/extract_feature_bank.py`` runs (``launch`` target): build the
    producer of ``kind`` ("scene_graph" | "lfb") from its config and extract this rank's share of
    the videos of the registered ``datasets`` (or of ``video_dicts``, Charades-style dicts with
    ``video_id``, ``length`` and ``frame_dir`` / ``video_file``, when given)."""
    import ag_detectron.modeling  # noqa: F401  (meta-architectures)
    from ag_detectron.config import get_ag_cfg

    cfg = get_ag_cfg(config_file, list(config_opts), freeze=False)
    if cpu and comm.get_local_size() > 1:
        # CPU processes share the machine's cores: one process per core, not one per thread
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // comm.get_local_size()))
    if cpu:
        cfg.MODEL.DEVICE = "cpu"
    cfg.freeze()
    if kind == "scene_graph":
        producer: _Producer = SceneGraphProducer(cfg, opts)
    elif kind == "lfb":
        producer = ClipFeatureProducer(cfg, opts)
    else:
        raise ConfigError(f"--kind {kind!r}; expected scene_graph, lfb or oracle")
    dicts = dataset_dicts(datasets, max_videos) if video_dicts is None else list(video_dicts)
    return extract_bank(producer, bank_dir, dicts, opts)
