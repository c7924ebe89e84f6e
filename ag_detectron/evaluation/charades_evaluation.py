"""``CharadesEvaluator``: video-level Charades mAP from per-clip/per-view class scores.

``process`` stores ``(video_id, scores)`` per view; ``evaluate`` gathers them across processes,
aggregates the views of each video (max by default, mean optional), orders videos as the dataset
(``DatasetCatalog`` Charades video dicts with ``video_id`` and multi-hot ``labels``) and reports,
under task "charades": ``mAP`` (official semantics), ``mAP_sklearn`` (SlowFast ``get_map``
semantics), ``WAP``, ``num_classes_evaluated``, ``num_videos``, ``num_videos_missing`` and
``num_unlabeled_videos`` (docs/evaluation.md). Floats only.
"""

import itertools
import json
import logging
import os
from collections import Counter
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import DatasetEvaluator
from detectron2.utils import comm

from ag_detectron.errors import ConfigError, EvaluationInputError

from .charades_metrics import aggregate_views, official_map, sklearn_map
from .plotting import save_bar_chart

__all__ = ["CharadesEvaluator"]

logger = logging.getLogger(__name__)


def _scores_of(output: Any) -> np.ndarray:
    """(C,) scores from a model output: a tensor / array, or a dict with key "scores"."""
    if isinstance(output, dict):
        if "scores" not in output:
            raise EvaluationInputError(
                f"Charades output dict needs a 'scores' (C,) entry, got keys {sorted(output)}"
            )
        output = output["scores"]
    if isinstance(output, torch.Tensor):
        output = output.detach().to("cpu", torch.float32).numpy()
    scores = np.asarray(output, dtype=np.float32).reshape(-1)
    return scores


class CharadesEvaluator(DatasetEvaluator):
    """Charades mAP over videos; several views of one video are aggregated before scoring."""

    def __init__(
        self,
        dataset_name: str,
        *,
        cfg: Optional[CfgNode] = None,
        aggregation: Optional[str] = None,
        distributed: bool = True,
        output_dir: Optional[str] = None,
        num_report: int = 5,
        save_plot: Optional[bool] = None,
    ) -> None:
        """
        Args:
            dataset_name: a registered Charades split (video dicts with ``video_id``, ``labels``).
            cfg: optional config; ``TEST.CHARADES.AGGREGATION`` is used unless ``aggregation``
                is given.
            aggregation: "max" (default; SlowFast / LFB) or "mean" over the views of a video.
            distributed: gather from all processes.
            output_dir: where ``charades_results.json`` and ``charades_per_class_ap.png`` go.
            num_report: how many top and bottom classes to print.
            save_plot: draw ``charades_per_class_ap.png`` (default: ``TEST.CHARADES.SAVE_PLOT``
                of ``cfg``, else True).
        """
        if aggregation is None:
            aggregation = cfg.TEST.CHARADES.AGGREGATION if cfg is not None else "max"
        if aggregation not in ("max", "mean"):
            raise ConfigError(
                f"TEST.CHARADES.AGGREGATION={aggregation!r}; expected 'max' or 'mean'"
            )
        self._dataset_name = dataset_name
        self._aggregation = aggregation
        self._distributed = distributed
        self._output_dir = output_dir
        self._num_report = num_report
        if save_plot is None:
            save_plot = bool(cfg.TEST.CHARADES.SAVE_PLOT) if cfg is not None else True
        self._save_plot = save_plot
        self._metadata = MetadataCatalog.get(dataset_name)
        self._views: List[tuple] = []

    def reset(self) -> None:
        self._views = []

    def process(self, inputs: List[Dict[str, Any]], outputs: List[Any]) -> None:
        """Store ``(video_id, (C,) float32 scores)`` for every view in the batch."""
        for inp, out in zip(inputs, outputs):
            if "video_id" not in inp:
                raise EvaluationInputError(f"Charades input lacks 'video_id' (keys {sorted(inp)})")
            self._views.append((str(inp["video_id"]), _scores_of(out)))

    def evaluate(self) -> Dict[str, Dict[str, float]]:
        views = self._views
        if self._distributed:
            comm.synchronize()
            gathered = comm.gather(views, dst=0)
            if not comm.is_main_process():
                return {}
            views = list(itertools.chain(*gathered))
        if not views:
            logger.warning("[CharadesEvaluator] no predictions on %s", self._dataset_name)
            return {}
        videos = DatasetCatalog.get(self._dataset_name)
        labels = np.asarray([v["labels"] for v in videos], dtype=np.int64)
        num_classes = labels.shape[1]
        index = {v["video_id"]: i for i, v in enumerate(videos)}
        unknown = sorted({vid for vid, _ in views if vid not in index})
        if unknown:
            raise EvaluationInputError(
                f"{self._dataset_name}: predictions for {len(unknown)} videos not in the dataset, "
                f"e.g. {unknown[:3]}"
            )
        widths = {len(s) for _, s in views}
        if widths != {num_classes}:
            raise EvaluationInputError(
                f"{self._dataset_name}: score widths {sorted(widths)} but labels have "
                f"{num_classes} classes"
            )
        video_index = np.asarray([index[vid] for vid, _ in views])
        self._check_view_counts(video_index, len(videos))
        scores = aggregate_views(
            np.stack([s for _, s in views]), video_index, len(videos), self._aggregation
        )
        missing = int(np.isneginf(scores).all(axis=1).sum())
        if missing:
            logger.warning(
                "[CharadesEvaluator] %d of %d videos of %s have no prediction: scored -inf "
                "(ranked last), as the official script does",
                missing,
                len(videos),
                self._dataset_name,
            )
        official = official_map(scores, labels)
        sk = sklearn_map(scores, labels)
        results = {
            "mAP": official.mean_ap,
            "mAP_sklearn": sk.mean_ap,
            "WAP": official.wap,
            "num_classes_evaluated": float(official.num_classes_evaluated),
            "num_videos": float(len(videos)),
            "num_videos_missing": float(missing),
            "num_unlabeled_videos": float((labels.sum(axis=1) == 0).sum()),
        }
        self._report(official, results)
        if self._output_dir:
            self._save(official, sk, results)
        return {"charades": results}

    def _check_view_counts(self, video_index: np.ndarray, num_videos: int) -> None:
        counts = np.bincount(video_index, minlength=num_videos)
        present = Counter(counts[counts > 0].tolist())
        if len(present) > 1:
            logger.warning(
                "[CharadesEvaluator] videos have different numbers of views (views: videos) %s",
                dict(sorted(present.items())),
            )

    def _class_names(self, num_classes: int) -> List[str]:
        names = self._metadata.get("action_classes", None)
        if names is None or len(names) != num_classes:
            return [f"c{i:03d}" for i in range(num_classes)]
        return [str(n) for n in names]

    def _report(self, official, results) -> None:
        names = self._class_names(len(official.ap))
        valid = np.flatnonzero(~np.isnan(official.ap))
        order = valid[np.argsort(-official.ap[valid], kind="stable")]
        n = self._num_report
        top = ", ".join(f"{names[i]} {100 * official.ap[i]:.1f}" for i in order[:n])
        bottom = ", ".join(f"{names[i]} {100 * official.ap[i]:.1f}" for i in order[::-1][:n])
        logger.info(
            "Charades %s: mAP %.2f (official), mAP_sklearn %.2f, WAP %.2f over %d classes, "
            "%d videos "
            "(aggregation %s)\n  top: %s\n  bottom: %s",
            self._dataset_name,
            100 * results["mAP"],
            100 * results["mAP_sklearn"],
            100 * results["WAP"],
            official.num_classes_evaluated,
            int(results["num_videos"]),
            self._aggregation,
            top,
            bottom,
        )
        if official.classes_without_positives:
            logger.info(
                "Charades: %d classes without positives excluded from the mean: %s",
                len(official.classes_without_positives),
                [names[i] for i in official.classes_without_positives],
            )

    def _save(self, official, sk, results) -> None:
        os.makedirs(self._output_dir, exist_ok=True)
        names = self._class_names(len(official.ap))
        summary = {
            "dataset": self._dataset_name,
            "aggregation": self._aggregation,
            "choices": {
                "mAP": "official semantics: unlabeled videos -inf, per-item AP, stable ties "
                "(dataset order)",
                "mAP_sklearn": "sklearn / SlowFast get_map: tied scores grouped, unlabeled "
                "videos kept",
                "classes_without_positives": "excluded from the mean, listed",
                "missing_videos": "scored -inf",
            },
            "results": results,
            "classes": names,
            "ap": [None if np.isnan(v) else float(v) for v in official.ap],
            "ap_sklearn": [None if np.isnan(v) else float(v) for v in sk.ap],
            "num_positives": official.num_positives.tolist(),
            "classes_without_positives": official.classes_without_positives,
        }
        with open(os.path.join(self._output_dir, "charades_results.json"), "w") as f:
            json.dump(summary, f, indent=1)
        if not self._save_plot:
            return
        save_bar_chart(
            os.path.join(self._output_dir, "charades_per_class_ap.png"),
            names,
            official.ap,
            title=f"{self._dataset_name}: per-class AP (official semantics, "
            f"{self._aggregation} over views)",
            ylabel="AP",
            counts=official.num_positives,
        )
