"""Time scene-graph recall on a synthetic case the size of the Action Genome test set.

Usage::

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python bench/eval_speed.py \
        [--frames 57000] [--mode predcls|sgdet|both] [--repeat N] [--num-predicates 26|25]

Builds ~57,000 frames (PredCls: GT boxes, ~3 person-object pairs per frame; SGDet: ~30 detections
and ~30 pairs per frame, jittered boxes, random classes and scores), then times packing (per-frame
records -> flat arrays, with validation) and every constraint of ``evaluate_constraint``. With
``--num-predicates 25`` the case is in the paper's 25-predicate vocabulary (16 contacting columns),
which packing maps into the release columns.
"""

import argparse
import platform
import time
from typing import List, Tuple

import numpy as np

from ag_detectron.evaluation.relation_inputs import FrameGroundTruth, FramePrediction, pack_frames
from ag_detectron.evaluation.relation_metrics import CONSTRAINTS, evaluate_constraint
from ag_detectron.utils.machine import cpu_name
from ag_detectron.vocabulary import RELEASE, PredicateVocabulary, predicate_vocabulary


def make_case(
    num_frames: int, mode: str, seed: int = 0, vocab: PredicateVocabulary = RELEASE
) -> Tuple[List[FrameGroundTruth], List[FramePrediction]]:
    """Per-frame GT and predictions in ``vocab``; the per-frame arrays are views of large flat
    arrays."""
    att_g, spa_g, con_g = vocab.groups
    rng = np.random.default_rng(seed)
    n_obj = rng.integers(1, 6, size=num_frames)  # 1..5 objects, ~3 per frame
    n_box = n_obj + 1
    boxes = _boxes(rng, int(n_box.sum()))
    classes = rng.integers(1, 36, size=len(boxes))
    box_off = np.concatenate([[0], np.cumsum(n_box)])
    gts, preds = [], []
    n_det = 30
    if mode == "predcls":
        n_pairs = n_obj
    else:
        n_pairs = np.full(num_frames, n_det)
    total_pairs = int(n_pairs.sum())
    att = rng.dirichlet(np.ones(att_g.size), size=total_pairs)
    spa = rng.uniform(size=(total_pairs, spa_g.size))
    con = rng.uniform(size=(total_pairs, con_g.size))
    pair_off = np.concatenate([[0], np.cumsum(n_pairs)])
    det_boxes = _boxes(rng, num_frames * (n_det + 1)) if mode != "predcls" else None
    det_cls = rng.integers(0, 36, size=num_frames * (n_det + 1))
    det_score = rng.uniform(0.05, 1.0, size=num_frames * (n_det + 1))
    for f in range(num_frames):
        n = int(n_obj[f])
        b = boxes[box_off[f] : box_off[f + 1]]
        c = classes[box_off[f] : box_off[f + 1]].copy()
        c[0] = 0
        trip = [[0, j, att_g.start + rng.integers(0, att_g.size)] for j in range(1, n + 1)]
        trip += [[j, 0, spa_g.start + rng.integers(0, spa_g.size)] for j in range(1, n + 1)]
        trip += [
            [0, j, con_g.start + rng.integers(0, con_g.size)]
            for j in range(1, n + 1)
            for _ in range(2)
        ]
        gts.append(FrameGroundTruth(b, c, np.asarray(trip, dtype=np.int64)))
        sl = slice(pair_off[f], pair_off[f + 1])
        if mode == "predcls":
            pairs = np.stack([np.zeros(n, np.int64), np.arange(1, n + 1)], axis=1)
            preds.append(FramePrediction(b, c, np.ones(n + 1), pairs, att[sl], spa[sl], con[sl]))
        else:
            d = slice(f * (n_det + 1), (f + 1) * (n_det + 1))
            db = det_boxes[d].copy()
            db[: n + 1] = b + rng.normal(0, 8, size=(n + 1, 4))  # some detections near GT
            db[:, 2:] = np.maximum(db[:, 2:], db[:, :2])
            dc = det_cls[d].copy()
            dc[: n + 1] = c
            pairs = np.stack([np.zeros(n_det, np.int64), np.arange(1, n_det + 1)], axis=1)
            preds.append(FramePrediction(db, dc, det_score[d], pairs, att[sl], spa[sl], con[sl]))
    return gts, preds


def _boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = rng.uniform(0, 400, size=(n, 2))
    wh = rng.uniform(10, 200, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def _evaluator(gts, preds, mode: str, vocab: PredicateVocabulary = RELEASE):
    """Register the case as a dataset of design.md dicts; an evaluator holding process() records."""
    from detectron2.data import DatasetCatalog, MetadataCatalog
    from detectron2.structures import BoxMode

    from ag_detectron.evaluation import ActionGenomeRelationEvaluator

    dicts = []
    for f, g in enumerate(gts):
        anns = [
            {"bbox": b.tolist(), "bbox_mode": BoxMode.XYXY_ABS, "category_id": int(c)}
            for b, c in zip(g.boxes, g.classes)
        ]
        rels = {}
        for s, o, k in g.triplets.tolist():
            obj = o if s == 0 else s
            r = rels.setdefault(
                obj, {"subject": 0, "object": obj, "attention": [], "spatial": [], "contacting": []}
            )
            r[vocab.group_of(k).name].append(k)
        dicts.append(
            {
                "image_id": f"v{f // 20}/{f}",
                "video_id": f"v{f // 20}",
                "annotations": anns,
                "relations": list(rels.values()),
            }
        )
    name = f"_bench_eval_{mode}_{vocab.size}"
    if name not in DatasetCatalog.list():
        DatasetCatalog.register(name, lambda: dicts)
    MetadataCatalog.get(name).set(**vocab.metadata())
    ev = ActionGenomeRelationEvaluator(name, mode=mode, distributed=False)
    ev.reset()
    for d, p in zip(dicts, preds):
        ev._records.append(
            {
                "image_id": d["image_id"],
                "boxes": p.boxes.astype(np.float32),
                "classes": p.classes,
                "scores": p.scores.astype(np.float32),
                "pair_idx": p.pair_idx,
                "attention": p.attention.astype(np.float32),
                "spatial": p.spatial.astype(np.float32),
                "contacting": p.contacting.astype(np.float32),
            }
        )  # what process() stores
    DatasetCatalog.get(name)  # warm the catalog: the timing below is evaluate() itself
    return ev


def _timed(fn, repeat: int):
    """((best wall s, best process-CPU s), last result) over ``repeat`` runs."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return (best_wall, best_cpu), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=57000)
    parser.add_argument("--mode", choices=("predcls", "sgdet", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--num-predicates", type=int, default=RELEASE.size, help="26 or 25")
    parser.add_argument(
        "--evaluator",
        action="store_true",
        help="also time ActionGenomeRelationEvaluator.evaluate()",
    )
    args = parser.parse_args()
    print(f"machine: {cpu_name()}, python {platform.python_version()}, numpy {np.__version__}")
    modes = ("predcls", "sgdet") if args.mode == "both" else (args.mode,)
    vocab = predicate_vocabulary(args.num_predicates, "--num-predicates")
    for mode in modes:
        gts, preds = make_case(args.frames, mode, vocab=vocab)
        (t_pack, c_pack), pk = _timed(
            lambda gts=gts, preds=preds: pack_frames(gts, preds, vocabulary=vocab), 1
        )
        print(
            f"[{mode}] {vocab.size} predicates, frames {args.frames}, pairs {len(pk.rel)}, "
            f"GT triplets {len(pk.gt_pred)}; "
            f"pack+validate wall {t_pack:.2f} s, cpu {c_pack:.2f} s"
        )
        total_wall = total_cpu = 0.0
        for c in CONSTRAINTS:
            (wall, cpu), res = _timed(
                lambda pk=pk, c=c: evaluate_constraint(pk, c, num_predicates=vocab.size),
                args.repeat,
            )
            if c != "ag_paper":
                total_wall += wall
                total_cpu += cpu
            rec = " ".join(f"R@{k}={v:.4f}" for k, v in res.recall.items())
            print(f"[{mode}] {c:9s} wall {wall:6.2f} s  cpu {cpu:6.2f} s   {rec}")
        print(
            f"[{mode}] with+semi+no total: wall {total_wall:.2f} s, cpu {total_cpu:.2f} s "
            f"(+ pack wall {t_pack:.2f} s)"
        )
        if args.evaluator:
            ev = _evaluator(gts, preds, mode, vocab)
            (wall, cpu), _ = _timed(ev.evaluate, 1)
            print(
                f"[{mode}] ActionGenomeRelationEvaluator.evaluate (GT from DatasetCatalog dicts, "
                f"all 4 protocols): wall {wall:.2f} s, cpu {cpu:.2f} s"
            )


if __name__ == "__main__":
    main()
