"""Label-only baselines on an Action Genome-format dataset: frequency prior and label ceiling.

* **Frequency prior** (docs/methods.md §3, the frequency prior without learning): for an object of
  class o, attention probabilities ``p(a | o)`` and spatial / contacting probabilities
  ``p(r | o) = n(o, r) / n(o)``, counted on the train split. Scored on the test split as PredCls
  (GT boxes and classes) with the community recall (``ag_detectron.evaluation.relation_metrics``).
  How much of the test labels the object class alone predicts.
* **Label ceiling**: the GT labels themselves as probabilities (one-hot / multi-hot). Under the
  "with" constraint only one label per relationship type can be recovered, so this is the best
  R@K any model can reach on the split.

Frames are read through ``load_action_genome`` (the same code path as training) and only frames
with a person box and at least one visible object are scored (PredCls needs both).
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from ag_detectron.data.datasets.ag_categories import (
    ATTENTION,
    CONTACTING,
    NUM_OBJECT_CLASSES,
    SPATIAL,
)

__all__ = ["predicate_counts", "frequency_prior_table", "score_predcls", "label_only_baselines"]

NUM_PREDICATES = 26


def _pairs(d: Dict) -> List[Tuple[int, List[int]]]:
    """(object class, global predicate ids) of each relation of a dataset dict."""
    anns = d["annotations"]
    return [
        (
            anns[r["object"]]["category_id"],
            list(r["attention"]) + list(r["spatial"]) + list(r["contacting"]),
        )
        for r in d["relations"]
        if r["subject"] >= 0
    ]


def predicate_counts(dicts: Sequence[Dict]) -> Tuple[np.ndarray, np.ndarray]:
    """Counts over relations: ``n_obj (36,)`` pairs per class, ``n (36, 26)`` labels per class."""
    n_obj = np.zeros(NUM_OBJECT_CLASSES, np.int64)
    n = np.zeros((NUM_OBJECT_CLASSES, NUM_PREDICATES), np.int64)
    for d in dicts:
        for c, preds in _pairs(d):
            n_obj[c] += 1
            n[c, preds] += 1
    return n_obj, n


def frequency_prior_table(dicts: Sequence[Dict]) -> np.ndarray:
    """(36, 26) probabilities: attention columns sum to 1 per class; others ``n(o,r)/n(o)``.

    Classes never seen in ``dicts`` get uniform attention and 0.5 elsewhere.
    """
    n_obj, n = predicate_counts(dicts)
    table = np.full((NUM_OBJECT_CLASSES, NUM_PREDICATES), 0.5)
    table[:, ATTENTION.start : ATTENTION.stop] = 1.0 / ATTENTION.size
    seen = n_obj > 0
    att = n[seen, ATTENTION.start : ATTENTION.stop].astype(np.float64)
    table[seen, ATTENTION.start : ATTENTION.stop] = att / np.maximum(att.sum(1, keepdims=True), 1)
    table[seen, SPATIAL.start :] = n[seen, SPATIAL.start :] / n_obj[seen, None]
    return table


def _frames(dicts: Sequence[Dict]) -> List[Dict]:
    return [d for d in dicts if d["relations"] and d["relations"][0]["subject"] >= 0]


def score_predcls(dicts: Sequence[Dict], probs_of, topk: Sequence[int] = (20,)) -> Dict[str, float]:
    """Community PredCls recall ("with" and "no") of per-relation probabilities ``probs_of(d, r)``.

    ``probs_of`` returns a (26,) vector: attention probabilities then spatial / contacting ones.
    """
    from ag_detectron.evaluation.relation_inputs import FramePrediction, frame_ground_truth
    from ag_detectron.evaluation.relation_metrics import evaluate_relations

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
                [r["attention"][0] - ATTENTION.start for r in rels],
                [[s - SPATIAL.start for s in r["spatial"]] for r in rels],
                [[c - CONTACTING.start for c in r["contacting"]] for r in rels],
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
                p[:, ATTENTION.start : ATTENTION.stop],
                p[:, SPATIAL.start : SPATIAL.stop],
                p[:, CONTACTING.start : CONTACTING.stop],
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
        v[r["attention"] + r["spatial"] + r["contacting"]] = 1.0
        # strictly positive probabilities keep the "no" constraint well-defined; GT stays the argmax
        return np.clip(v, 1e-6, 1.0)

    def ceiling_att(d, r):
        v = ceiling(d, r)
        v[ATTENTION.start : ATTENTION.stop] /= v[ATTENTION.start : ATTENTION.stop].sum()
        return v

    return {
        "frequency_prior": score_predcls(test, prior, topk),
        "label_ceiling": score_predcls(test, ceiling_att, topk),
    }
