"""``ActionGenomeRelationEvaluator``: collects per-frame scene-graph predictions and reports recall.

``process`` keeps one compact NumPy record per frame; ``evaluate`` gathers the records from every
process (``detectron2.utils.comm``), reads the ground truth from ``DatasetCatalog`` by ``image_id``
and calls the pure metric core (:mod:`relation_metrics`). Results (floats only) under task "sgg":

==========================================  ====================================================
key                                         meaning
==========================================  ====================================================
``<mode>/<c>/R@K``  (c = with, semi, no)    community recall (docs/evaluation.md)
``<mode>/<c>/mR@K_pooled``                  TEMPURA mean recall
``<mode>/<c>/mR@K_frame``                   DSG-DETR per-frame mean recall
``<mode>/ag_paper_image/R@K``               AG paper Table 5, mean over frames
``<mode>/ag_paper_video/R@K``               AG paper, mean over frames per video, then videos
``<mode>/num_frames`` etc.                  counts (frames scored, without GT, missing, ...)
==========================================  ====================================================
"""

import copy
import itertools
import json
import logging
import os
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import DatasetEvaluator
from detectron2.structures import BoxMode
from detectron2.utils import comm
from tabulate import tabulate

from ag_detectron.errors import ConfigError, EvaluationInputError
from ag_detectron.modes import RelationMode
from ag_detectron.vocabulary import RELEASE, PredicateVocabulary, predicate_vocabulary

from .plotting import save_bar_chart
from .relation_inputs import FrameGroundTruth, FramePrediction, pack_frames
from .relation_metrics import CONSTRAINTS, DEFAULT_TOPK, evaluate_constraint, video_mean

__all__ = ["ActionGenomeRelationEvaluator", "MODES", "dataset_vocabulary", "gt_from_dataset_dict"]

logger = logging.getLogger(__name__)

MODES = tuple(m.value for m in RelationMode)
# Documented choices written into every results file (docs/evaluation.md).
PROTOCOL_CHOICES = {
    "ties": "stable: emission order (row, then predicate; flat cell index for 'no')",
    "iou": "legacy +1 IoU, >= threshold on subject and object",
    "frames_without_gt": "excluded from means, counted",
    "frames_not_processed": "dataset frames without a prediction record are not scored, counted",
    "predcls_object_scores": "1 for every box",
    "inputs": "probabilities (attention softmax, spatial/contacting sigmoid), validated",
}


def gt_from_dataset_dict(d: Dict[str, Any]) -> FrameGroundTruth:
    """Community-layout GT of one AG dataset dict (design.md): spatial triplets reversed.

    Relations with ``subject == -1`` (frame without a person box) are skipped: they cannot be
    scored person -> object.
    """
    anns = d.get("annotations", [])
    boxes = np.zeros((len(anns), 4), dtype=np.float64)
    classes = np.zeros(len(anns), dtype=np.int64)
    for i, a in enumerate(anns):
        mode = a.get("bbox_mode", BoxMode.XYXY_ABS)
        box = a["bbox"]
        boxes[i] = (
            box if mode == BoxMode.XYXY_ABS else BoxMode.convert(list(box), mode, BoxMode.XYXY_ABS)
        )
        classes[i] = a["category_id"]
    rows: List[List[int]] = []
    for r in d.get("relations", []):
        s, o = int(r["subject"]), int(r["object"])
        if s < 0:
            continue
        rows += [[s, o, int(g)] for g in r.get("attention", [])]
        rows += [[o, s, int(g)] for g in r.get("spatial", [])]
        rows += [[s, o, int(g)] for g in r.get("contacting", [])]
    return FrameGroundTruth(boxes, classes, np.asarray(rows, dtype=np.int64).reshape(-1, 3))


class ActionGenomeRelationEvaluator(DatasetEvaluator):
    """Scene-graph recall (with / semi / no, mean recalls, AG-paper image/video) of one AG split.

    Expects model outputs ``{"instances": Instances(pred_boxes, pred_classes, scores),
    "relations": Instances(pair_idx, attention_scores, spatial_scores, contacting_scores)}``
    in original image coordinates (design.md), probabilities not logits.
    """

    def __init__(
        self,
        dataset_name: str,
        mode: "Optional[str | RelationMode]" = None,
        *,
        cfg: Optional[CfgNode] = None,
        topk: Optional[Sequence[int]] = None,
        constraints: Optional[Sequence[str]] = None,
        iou_thresh: Optional[float] = None,
        semi_thresh: Optional[float] = None,
        num_predicates: Optional[int] = None,
        distributed: bool = True,
        output_dir: Optional[str] = None,
    ) -> None:
        """
        Args:
            dataset_name: a registered AG dataset (``DatasetCatalog`` dicts with ``image_id``).
            mode: a :class:`RelationMode` or its name in any case ("predcls", "SGDet", ...;
                required without ``cfg``); in PredCls every object score is taken as 1.
            cfg: optional config; settings not given explicitly are read from it
                (:meth:`settings_from_config`), else the protocol defaults apply.
            topk: recall cut-offs K (default 10, 20, 50, 100).
            constraints: subset of ("with", "semi", "no", "ag_paper") (default: all).
            iou_thresh: IoU threshold (legacy +1 IoU, inclusive; default 0.5).
            semi_thresh: "semi" threshold (strict >; default 0.9).
            num_predicates: size of the scored vocabulary (default: the dataset's, read from
                its metadata ``predicate_classes``; the release's 26 without metadata). 25 on a
                26-predicate dataset scores without ``other_relationship``. Predictions and
                ground truth are always in the dataset's own vocabulary (its group widths).
            distributed: gather records from all processes before evaluating.
            output_dir: where per-frame results, the summary and the plot are written.
        """
        given = {
            "mode": mode, "topk": topk, "constraints": constraints, "iou_thresh": iou_thresh,
            "semi_thresh": semi_thresh, "num_predicates": num_predicates,
        }  # fmt: skip
        settings = self.settings_from_config(cfg, dataset_name) if cfg is not None else {}
        settings.update({k: v for k, v in given.items() if v is not None})
        meta = MetadataCatalog.get(dataset_name)
        vocab = dataset_vocabulary(dataset_name)
        if settings.get("mode") is None:
            raise ConfigError(
                f"{dataset_name}: the relation evaluator needs a mode "
                f"(MODEL.ROI_RELATION_HEAD.MODE or the 'mode' argument), one of {MODES}"
            )
        mode = RelationMode.parse(settings["mode"])
        constraints = tuple(settings.get("constraints", CONSTRAINTS))
        num_predicates = int(settings.get("num_predicates", vocab.size))
        unknown = set(constraints) - set(CONSTRAINTS)
        if unknown:
            raise ConfigError(
                f"TEST.RELATION.CONSTRAINTS: unknown {sorted(unknown)}; expected {CONSTRAINTS}"
            )
        scored = predicate_vocabulary(num_predicates)
        if not set(scored.release_ids) <= set(vocab.release_ids):
            raise ConfigError(
                f"{dataset_name} has {vocab.describe()}; it cannot be scored with "
                f"num_predicates={num_predicates}"
            )
        self._dataset_name = dataset_name
        self._mode = mode
        self._topk = tuple(int(k) for k in settings.get("topk", DEFAULT_TOPK))
        self._constraints = constraints
        self._iou_thresh = float(settings.get("iou_thresh", 0.5))
        self._semi_thresh = float(settings.get("semi_thresh", 0.9))
        self._num_predicates = num_predicates
        self._vocabulary = vocab
        self._scored = scored
        self._distributed = distributed
        self._output_dir = output_dir
        self._metadata = meta
        self._records: List[Dict[str, Any]] = []

    @staticmethod
    def settings_from_config(cfg: CfgNode, dataset_name: str) -> Dict[str, Any]:
        """Evaluator settings from ``cfg``: ``MODEL.ROI_RELATION_HEAD.MODE`` (parsed), and
        ``TEST.RELATION.*``; the number of predicates is the dataset's (its metadata)."""
        return {
            "mode": RelationMode.parse(cfg.MODEL.ROI_RELATION_HEAD.MODE),
            "topk": tuple(cfg.TEST.RELATION.TOPK),
            "constraints": tuple(cfg.TEST.RELATION.CONSTRAINTS),
            "iou_thresh": cfg.TEST.RELATION.IOU_THRESH,
            "semi_thresh": cfg.TEST.RELATION.SEMI_THRESH,
            "num_predicates": dataset_vocabulary(dataset_name).size,
        }

    def reset(self) -> None:
        self._records = []

    def process(self, inputs: List[Dict[str, Any]], outputs: List[Dict[str, Any]]) -> None:
        """Store one compact CPU record per frame (float32 / int64 NumPy arrays)."""
        for inp, out in zip(inputs, outputs):
            if "relations" not in out or "instances" not in out:
                raise EvaluationInputError(
                    f"{self._dataset_name}: model output for image_id={inp.get('image_id')!r} "
                    "lacks "
                    f"'instances'/'relations' (got keys {sorted(out)})"
                )
            inst = out["instances"].to("cpu")
            rel = out["relations"].to("cpu")
            self._records.append(
                {
                    "image_id": inp["image_id"],
                    "boxes": inst.pred_boxes.tensor.numpy().astype(np.float32),
                    "classes": inst.pred_classes.numpy().astype(np.int64),
                    "scores": inst.scores.numpy().astype(np.float32),
                    "pair_idx": rel.pair_idx.numpy().astype(np.int64),
                    "attention": rel.attention_scores.numpy().astype(np.float32),
                    "spatial": rel.spatial_scores.numpy().astype(np.float32),
                    "contacting": rel.contacting_scores.numpy().astype(np.float32),
                }
            )

    def _gather(self) -> Optional[List[Dict[str, Any]]]:
        if not self._distributed:
            return self._records
        comm.synchronize()
        gathered = comm.gather(self._records, dst=0)
        if not comm.is_main_process():
            return None
        return list(itertools.chain(*gathered))

    def evaluate(self) -> Dict[str, Dict[str, float]]:
        records = self._gather()
        if records is None:
            return {}
        if not records:
            logger.warning(
                "[ActionGenomeRelationEvaluator] no predictions on %s", self._dataset_name
            )
            return {}
        gts, preds, image_ids, video_ids, counts = self._pair_with_gt(records)
        pk = pack_frames(gts, preds, vocabulary=self._vocabulary)
        results, per_frame, per_pred = OrderedDict(), {}, {}
        mode = self._mode.value
        for c in self._constraints:
            res = evaluate_constraint(
                pk, c, self._topk, self._iou_thresh, self._semi_thresh, self._num_predicates
            )
            per_frame[c] = res
            if c == "ag_paper":
                video = video_mean(res.frame_recall(), res.num_gt > 0, video_ids)
                for i, k in enumerate(self._topk):
                    results[f"{mode}/ag_paper_image/R@{k}"] = res.recall[k]
                    results[f"{mode}/ag_paper_video/R@{k}"] = float(video[i])
                continue
            for k in self._topk:
                results[f"{mode}/{c}/R@{k}"] = res.recall[k]
                results[f"{mode}/{c}/mR@{k}_pooled"] = res.mean_recall_pooled[k]
                results[f"{mode}/{c}/mR@{k}_frame"] = res.mean_recall_frame[k]
            per_pred[c] = res
        first = next(iter(per_frame.values()))
        counts.update(
            num_frames=len(gts),
            num_frames_without_gt=first.num_frames_without_gt,
            num_gt_triplets=int(first.num_gt.sum()),
        )
        for name, value in counts.items():
            results[f"{mode}/{name}"] = float(value)
        self._print_table(per_frame, counts)
        if self._output_dir:
            self._save(results, per_frame, per_pred, image_ids, video_ids)
        return {"sgg": results}

    def _pair_with_gt(self, records: List[Dict[str, Any]]):
        dicts = DatasetCatalog.get(self._dataset_name)
        by_id = {d["image_id"]: d for d in dicts}
        seen, gts, preds, image_ids, video_ids = set(), [], [], [], []
        duplicates = 0
        for r in records:
            image_id = r["image_id"]
            if image_id in seen:
                duplicates += 1  # e.g. the inference sampler pads the last batch
                continue
            if image_id not in by_id:
                raise EvaluationInputError(
                    f"{self._dataset_name}: prediction for image_id={image_id!r}, which is not "
                    "in the dataset"
                )
            seen.add(image_id)
            d = by_id[image_id]
            gts.append(gt_from_dataset_dict(d))
            scores = r["scores"]
            if self._mode is RelationMode.PREDCLS:
                scores = np.ones_like(scores)
            preds.append(
                FramePrediction(
                    r["boxes"],
                    r["classes"],
                    scores,
                    r["pair_idx"],
                    r["attention"],
                    r["spatial"],
                    r["contacting"],
                )
            )
            image_ids.append(image_id)
            video_ids.append(str(d.get("video_id", image_id)))
        not_processed = len(by_id) - len(seen)
        if not_processed:
            logger.warning(
                "[ActionGenomeRelationEvaluator] %d of %d frames of %s have no prediction; "
                "they are "
                "not scored (counted as num_frames_not_processed)",
                not_processed,
                len(by_id),
                self._dataset_name,
            )
        counts = {"num_frames_not_processed": not_processed, "num_duplicate_records": duplicates}
        return gts, preds, image_ids, video_ids, counts

    def _print_table(self, per_frame, counts) -> None:
        headers = (
            ["constraint"] + [f"R@{k}" for k in self._topk] + [f"mR@{k} pooled" for k in self._topk]
        )
        headers += [f"mR@{k} frame" for k in self._topk]
        rows = []
        for c, res in per_frame.items():
            rows.append(
                [c if c != "ag_paper" else "ag_paper (image)"]
                + [100 * res.recall[k] for k in self._topk]
                + [100 * res.mean_recall_pooled[k] for k in self._topk]
                + [100 * res.mean_recall_frame[k] for k in self._topk]
            )
        table = tabulate(rows, headers=headers, tablefmt="pipe", floatfmt=".2f")
        logger.info(
            "Scene-graph recall (%%) on %s, mode %s, %d predicates, counts %s:\n%s",
            self._dataset_name,
            self._mode.value,
            self._num_predicates,
            counts,
            table,
        )

    def _save(self, results, per_frame, per_pred, image_ids, video_ids) -> None:
        os.makedirs(self._output_dir, exist_ok=True)
        prefix = os.path.join(self._output_dir, f"sgg_{self._mode.value}")
        arrays = {
            "image_id": np.asarray(image_ids),
            "video_id": np.asarray(video_ids),
            "topk": np.asarray(self._topk),
        }
        for c, res in per_frame.items():
            arrays[f"{c}/hits"] = res.hits
            arrays[f"{c}/num_gt"] = res.num_gt
            arrays[f"{c}/num_predictions"] = res.num_predictions
        np.savez_compressed(prefix + "_per_frame.npz", **arrays)
        scored = self._scored  # per-predicate rows: the scored vocabulary's, in its id order
        rows = np.asarray(scored.release_ids)
        summary = {
            "dataset": self._dataset_name,
            "mode": self._mode.value,
            "settings": {
                "topk": list(self._topk),
                "constraints": list(self._constraints),
                "iou_thresh": self._iou_thresh,
                "semi_thresh": self._semi_thresh,
                "num_predicates": self._num_predicates,
                "filter_preset": self._metadata.get("filter_preset", None),
                "load_options": copy.deepcopy(self._metadata.get("load_options", None)),
            },
            "choices": PROTOCOL_CHOICES,
            "results": results,
            "per_predicate": {
                c: {
                    "predicates": list(scored.classes),
                    "readable_names": list(scored.readable_names),
                    "gt_count": res.predicate_count[rows].tolist(),
                    "pooled": _nan_to_none(res.per_predicate_pooled[rows]),
                    "frame": _nan_to_none(res.per_predicate_frame[rows]),
                }
                for c, res in per_pred.items()
            },
        }
        with open(prefix + "_results.json", "w") as f:
            json.dump(summary, f, indent=1, default=str)
        if per_pred:
            c = "with" if "with" in per_pred else next(iter(per_pred))
            res = per_pred[c]
            i = self._topk.index(20) if 20 in self._topk else len(self._topk) - 1
            save_bar_chart(
                prefix + "_per_predicate_recall.png",
                list(scored.readable_names),
                res.per_predicate_pooled[rows, i],
                title=f"{self._dataset_name} {self._mode.value}: per-predicate R@{self._topk[i]} "
                f"({c} constraint, "
                f"pooled over frames)",
                ylabel=f"R@{self._topk[i]}",
                counts=res.predicate_count[rows],
            )


def dataset_vocabulary(dataset_name: str) -> PredicateVocabulary:
    """The predicate vocabulary of a registered dataset (its metadata ``predicate_classes``), or the
    release's 26 predicates when the metadata has none (hand-registered test datasets)."""
    meta = MetadataCatalog.get(dataset_name)
    if not meta.get("predicate_classes", None):
        return RELEASE
    return PredicateVocabulary.from_metadata(meta, where=f"dataset {dataset_name!r}")


def _nan_to_none(a: np.ndarray) -> list:
    return [[None if np.isnan(v) else float(v) for v in row] for row in a]
