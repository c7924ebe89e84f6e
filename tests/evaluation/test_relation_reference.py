"""The vectorised recall core against a loop-based reference written from docs/protocol.md.

The reference follows STTran's structure literally: per frame, build the 3P x 26 row matrix, apply
the constraint row by row, sort by triplet score (stable: emission order on ties), match each
prediction against every GT triplet with a Python loop, take the union of matches in the top K.
"""

import unittest
from typing import List

import numpy as np

from ag_detectron.evaluation.relation_metrics import evaluate_relations, video_mean
from ag_detectron.evaluation.synthetic import random_case

NUM = 26
OTHER = 18


def ref_iou(gt, pred):
    """Legacy +1 IoU, written from §1.6."""
    iw = min(gt[2], pred[2]) - max(gt[0], pred[0]) + 1
    ih = min(gt[3], pred[3]) - max(gt[1], pred[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    area_g = (gt[2] - gt[0] + 1) * (gt[3] - gt[1] + 1)
    area_p = (pred[2] - pred[0] + 1) * (pred[3] - pred[1] + 1)
    return inter / (area_g + area_p - inter)


def ref_no_cells(R, rows, sigma, cols):
    """The 100 cells (r, k) of largest sigma_s sigma_o R[r, k]; ties by flat index 26 r + k."""
    cells = []
    for r in range(len(R)):
        for k in cols:
            s, o = rows[r]
            cells.append((-(sigma[s] * sigma[o] * R[r, k]), r * NUM + k, r, k))
    cells.sort(key=lambda c: (c[0], c[1]))
    return [(c[2], c[3]) for c in cells[:100]]


def ref_predictions(pred, constraint, semi, num_predicates):
    """List of (subject box, object box, predicate, triplet score) in emission order."""
    cols = [k for k in range(NUM) if num_predicates == NUM or k != OTHER]
    P = len(pred.pair_idx)
    R = np.zeros((3 * P, NUM))
    rows = []
    for block in range(3):
        for p in range(P):
            h, o = pred.pair_idx[p]
            rows.append((o, h) if block == 1 else (h, o))
    for p in range(P):
        R[p, 0:3] = pred.attention[p]
        R[P + p, 3:9] = pred.spatial[p]
        R[2 * P + p, 9:26] = pred.contacting[p]
    sigma = pred.scores
    out = []

    def add(r, k):
        s, o = rows[r]
        out.append((s, o, k, sigma[s] * sigma[o] * R[r, k]))

    if constraint == "with":
        for r in range(3 * P):
            best = max(cols, key=lambda k: (R[r, k], -k))
            add(r, best)
    elif constraint == "semi":
        for r in range(3 * P):
            if R[r, 0] + R[r, 1] > 0:
                add(r, max(cols, key=lambda k: (R[r, k], -k)))
            elif R[r, 3] + R[r, 4] > 0 or R[r, 9] + R[r, 10] > 0:
                for k in cols:
                    if R[r, k] > semi:
                        add(r, k)
    elif constraint == "no":
        for r, k in ref_no_cells(R, rows, sigma, cols):
            add(r, k)
    elif constraint == "ag_paper":
        for p in range(P):
            h, o = pred.pair_idx[p]
            full = np.concatenate([pred.attention[p], pred.spatial[p], pred.contacting[p]])
            k = max(cols, key=lambda k: (full[k], -k))
            out.append((h, o, k, sigma[h] * sigma[o] * full[k]))
    # stable sort by score descending
    return sorted(out, key=lambda x: -x[3])


def ref_frame(gt, pred, constraint, topk, iou_thresh, semi, num_predicates):
    """(hits per K, per-predicate hits per K, per-predicate counts) of one frame."""
    trip = []
    for s, o, k in gt.triplets:
        if num_predicates == 25 and k == OTHER:
            continue
        if constraint == "ag_paper" and 3 <= k < 9:
            s, o = o, s
        trip.append((s, o, k))
    preds = [] if pred is None else ref_predictions(pred, constraint, semi, num_predicates)
    matches: List[set] = []
    for s, o, k, _ in preds:
        m = set()
        for g, (gs, go, gk) in enumerate(trip):
            if (
                gk == k
                and gt.classes[gs] == pred.classes[s]
                and gt.classes[go] == pred.classes[o]
                and ref_iou(gt.boxes[gs], pred.boxes[s]) >= iou_thresh
                and ref_iou(gt.boxes[go], pred.boxes[o]) >= iou_thresh
            ):
                m.add(g)
        matches.append(m)
    hits, per_pred = [], []
    for K in topk:
        union = set().union(*matches[:K]) if matches else set()
        hits.append(len(union))
        pp = np.zeros(NUM)
        for g in union:
            pp[trip[g][2]] += 1
        per_pred.append(pp)
    counts = np.zeros(NUM)
    for _, _, k in trip:
        counts[k] += 1
    return hits, per_pred, counts, len(trip)


def ref_evaluate(gts, preds, constraint, topk, iou_thresh=0.5, semi=0.9, num_predicates=26):
    rec, frame_rec = [], []
    pool_hit = np.zeros((len(topk), NUM))
    pool_cnt = np.zeros(NUM)
    fr_sum = np.zeros((len(topk), NUM))
    fr_n = np.zeros(NUM)
    for gt, pred in zip(gts, preds):
        hits, per_pred, counts, n = ref_frame(
            gt, pred, constraint, topk, iou_thresh, semi, num_predicates
        )
        if n == 0:
            frame_rec.append([np.nan] * len(topk))
            continue
        rec.append([h / n for h in hits])
        frame_rec.append([h / n for h in hits])
        pool_cnt += counts
        fr_n += counts > 0
        for i in range(len(topk)):
            pool_hit[i] += per_pred[i]
            fr_sum[i] += np.where(counts > 0, per_pred[i] / np.maximum(counts, 1), 0)
    valid = [k for k in range(NUM) if num_predicates == NUM or k != OTHER]
    out = {
        "recall": np.mean(rec, axis=0),
        "mr_pooled": np.array(
            [
                sum(pool_hit[i, k] / (pool_cnt[k] + 1e-10) for k in valid) / num_predicates
                for i in range(len(topk))
            ]
        ),
        "mr_frame": np.array(
            [
                sum(fr_sum[i, k] / fr_n[k] for k in valid if fr_n[k] > 0) / num_predicates
                for i in range(len(topk))
            ]
        ),
        "frame_recall": np.array(frame_rec),
    }
    return out


class TestAgainstReference(unittest.TestCase):
    topk = (1, 3, 10, 20, 50, 100)

    def _compare(self, gts, preds, vids, num_predicates=26):
        ours = evaluate_relations(gts, preds, topk=self.topk, num_predicates=num_predicates)
        for c, res in ours.items():
            ref = ref_evaluate(gts, preds, c, self.topk, num_predicates=num_predicates)
            with self.subTest(constraint=c, num_predicates=num_predicates):
                np.testing.assert_allclose(
                    [res.recall[k] for k in self.topk], ref["recall"], rtol=0, atol=1e-9
                )
                np.testing.assert_allclose(
                    [res.mean_recall_pooled[k] for k in self.topk],
                    ref["mr_pooled"],
                    rtol=0,
                    atol=1e-9,
                )
                np.testing.assert_allclose(
                    [res.mean_recall_frame[k] for k in self.topk],
                    ref["mr_frame"],
                    rtol=0,
                    atol=1e-9,
                )
                np.testing.assert_allclose(res.frame_recall(), ref["frame_recall"], atol=1e-12)
                valid = res.num_gt > 0
                ref_video = video_mean(ref["frame_recall"], valid, vids)
                np.testing.assert_allclose(
                    video_mean(res.frame_recall(), valid, vids), ref_video, atol=1e-12
                )

    def test_predcls_random(self):
        rng = np.random.default_rng(0)
        self._compare(*random_case(rng, 40, "predcls"))

    def test_sgdet_random(self):
        rng = np.random.default_rng(1)
        self._compare(*random_case(rng, 40, "sgdet"))

    def test_exact_zeros_and_25_predicates(self):
        rng = np.random.default_rng(2)
        case = random_case(rng, 30, "sgdet", zeros=True)
        self._compare(*case, num_predicates=26)
        self._compare(*case, num_predicates=25)
        self._compare(*random_case(rng, 30, "predcls", zeros=True), num_predicates=25)


if __name__ == "__main__":
    unittest.main()
