"""Label-only baselines on an Action Genome-format dataset: frequency prior and label ceiling.

* **Frequency prior** (the ``FreqPrior`` model without learning, docs/model.md): for an object of
  class o, attention probabilities ``p(a | o)`` and spatial / contacting probabilities
  ``p(r | o) = n(o, r) / n(o)``, counted on the train split. Scored on the test split as PredCls
  (GT boxes and classes) with the community recall (:mod:`.relation_metrics`).
  How much of the test labels the object class alone predicts.
* **Label ceiling**: the GT labels themselves as probabilities (one-hot / multi-hot). Under the
  "with" constraint only one label per relationship type can be recovered, so this is the best
  R@K any model can reach on the split.

The dataset dicts (release predicate ids) come from the caller (``tools/dataset_stats.py`` reads
them through the registered loader); only frames with a person box and at least one visible object
are scored (PredCls needs both).
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from ag_detectron.vocabulary import NUM_OBJECT_CLASSES, RELEASE

from .relation_inputs import FramePrediction, frame_ground_truth
from .relation_metrics import evaluate_relations

__all__ = ["predicate_counts", "frequency_prior_table", "score_predcls", "label_only_baselines"]

NUM_PREDICATES = RELEASE.size
ATTENTION = RELEASE.group("attention")


def _pairs(d: Dict) -> List[Tuple[int, List[int]]]:
    """(object class, global predicate ids) of each relation of a dataset dict."""
    anns = d["annotations"]
    return [
        (
            anns[r["object"]]["category_id"],
            [p for g in RELEASE.group_names for p in r[g]],
        )
        for r in d["relations"]
        if r["subject"] >= 0
    ]


def predicate_counts(dicts: Sequence[Dict]) -> Tuple[np.ndarray, np.ndarray]:
    """Counts over relations: ``n_obj (C,)`` pairs per class, ``n (C, K)`` labels per class."""
    n_obj = np.zeros(NUM_OBJECT_CLASSES, np.int64)
    n = np.zeros((NUM_OBJECT_CLASSES, NUM_PREDICATES), np.int64)
    for d in dicts:
        for c, preds in _pairs(d):
            n_obj[c] += 1
            n[c, preds] += 1
    return n_obj, n


def frequency_prior_table(dicts: Sequence[Dict]) -> np.ndarray:
    """(C, K) probabilities: single-label groups sum to 1 per class; others ``n(o,r)/n(o)``.

    Classes never seen in ``dicts`` get uniform attention and 0.5 elsewhere.
    """
    n_obj, n = predicate_counts(dicts)
    table = np.full((NUM_OBJECT_CLASSES, NUM_PREDICATES), 0.5)
    seen = n_obj > 0
    for g in RELEASE.groups:
        cols = slice(g.start, g.stop)
        if g.multi_label:
            table[seen, cols] = n[seen, cols] / n_obj[seen, None]
        else:
            table[:, cols] = 1.0 / g.size
            counts = n[seen, cols].astype(np.float64)
            table[seen, cols] = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    return table


def _frames(dicts: Sequence[Dict]) -> List[Dict]:
    return [d for d in dicts if d["relations"] and d["relations"][0]["subject"] >= 0]


def score_predcls(dicts: Sequence[Dict], probs_of, topk: Sequence[int] = (20,)) -> Dict[str, float]:
    """Community PredCls recall ("with" and "no") of per-relation probabilities ``probs_of(d, r)``.

    ``probs_of`` returns a (K,) vector in release columns (attention, spatial, contacting).
    """
    gts, preds = [], []
    for d in _frames(dicts):
        anns, rels = d["annotations"], d["relations"]
        boxes = np.array([a["bbox"] for a in anns], np.float64)
        classes = np.array([a["category_id"] for a in anns], np.int64)
        obj = [r["object"] for r in rels]
        gts.append(
            frame_ground_truth(
                boxes[0],
                boxes[obj],
                classes[obj],
                *(
                    [[p - g.start for p in r[g.name]] for r in rels]
                    if g.multi_label
                    else [r[g.name][0] - g.start for r in rels]
                    for g in RELEASE.groups
                ),
                person_class=int(classes[0]),
            )
        )
        p = np.stack([probs_of(d, r) for r in rels])
        preds.append(
            FramePrediction(
                boxes,
                classes,
                np.ones(len(anns)),
                np.array([[0, o] for o in obj], np.int64),
                *(p[:, g.start : g.stop] for g in RELEASE.groups),
            )
        )
    res = evaluate_relations(gts, preds, constraints=("with", "no"), topk=tuple(topk))
    out: Dict[str, float] = {"num_frames": float(len(gts))}
    for c, r in res.items():
        for k in topk:
            out[f"R@{k}_{c}"] = float(r.recall[k])
            out[f"mR@{k}_pooled_{c}"] = float(r.mean_recall_pooled[k])
    return out


def label_only_baselines(
    train: Sequence[Dict], test: Sequence[Dict], topk: Sequence[int] = (20,)
) -> Dict[str, Dict[str, float]]:
    """``{"frequency_prior": {...}, "label_ceiling": {...}}``: recall dicts on ``test``."""
    table = frequency_prior_table(train)

    def prior(d, r):
        return table[d["annotations"][r["object"]]["category_id"]]

    def ceiling(d, r):
        v = np.zeros(NUM_PREDICATES)
        v[[p for g in RELEASE.group_names for p in r[g]]] = 1.0
        # strictly positive probabilities keep the "no" constraint well-defined; GT stays the argmax
        return np.clip(v, 1e-6, 1.0)

    def ceiling_att(d, r):
        v = ceiling(d, r)
        for g in RELEASE.groups:
            if not g.multi_label:
                v[g.start : g.stop] /= v[g.start : g.stop].sum()
        return v

    return {
        "frequency_prior": score_predcls(test, prior, topk),
        "label_ceiling": score_predcls(test, ceiling_att, topk),
    }
