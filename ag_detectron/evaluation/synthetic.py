"""Random Action-Genome-like scene-graph cases for tests and sanity checks (not data generation).

:func:`random_case` draws frames with a person and 1-5 objects, GT labels (multi-label spatial /
contacting lists that may repeat a label) and PredCls- or SGDet-style probability predictions.
"""

from typing import List, Optional, Tuple

import numpy as np

from ag_detectron.vocabulary import RELEASE

from .relation_inputs import FrameGroundTruth, FramePrediction, frame_ground_truth

__all__ = ["random_case"]

_A, _S, _C = RELEASE.group_sizes  # release widths (attention, spatial, contacting)


def random_case(
    rng: np.random.Generator, num_frames: int, mode: str, zeros: bool = False
) -> Tuple[List[FrameGroundTruth], List[Optional[FramePrediction]], List[str]]:
    """Random frames (GT, predictions, video ids; 4 frames per video).

    Args:
        rng: NumPy generator.
        num_frames: F.
        mode: "predcls" (GT boxes, score 1, one pair per object) or "sgdet" (jittered and extra
            boxes, random classes and scores, random pairs, ~5% frames without prediction).
        zeros: put exact zeros into the probabilities (30% of spatial / contacting cells, 20% of
            attention rows become ``[0, 0, 1]``), which creates exact ties and "semi" row drops.
    """
    gts, preds, vids = [], [], []
    for f in range(num_frames):
        n = int(rng.integers(1, 6))
        size = rng.uniform(20, 200, size=(n + 1, 2))
        xy = rng.uniform(0, 400, size=(n + 1, 2))
        boxes = np.concatenate([xy, xy + size], axis=1)
        classes = rng.integers(1, 6, size=n)
        gt = frame_ground_truth(
            boxes[0],
            boxes[1:],
            classes,
            attention=rng.integers(0, _A, size=n),
            spatial=[rng.choice(_S, size=rng.integers(0, 3)) for _ in range(n)],  # may repeat
            contacting=[rng.choice(_C, size=rng.integers(0, 3)) for _ in range(n)],
        )
        if mode == "predcls":
            pboxes, pcls, pscore = gt.boxes.copy(), gt.classes.copy(), np.ones(n + 1)
            pairs = np.stack([np.zeros(n, int), np.arange(1, n + 1)], axis=1)
        else:
            m = n + int(rng.integers(0, 6))
            jitter = rng.normal(0, 12, size=(m + 1, 4))
            base = np.concatenate([gt.boxes, gt.boxes[rng.integers(0, n + 1, size=m - n)]])
            pboxes = base + jitter
            pboxes[:, 2:] = np.maximum(pboxes[:, 2:], pboxes[:, :2])
            pcls = np.concatenate([[0], rng.integers(1, 6, size=m)])
            pscore = rng.uniform(0.05, 1, size=m + 1)
            num_pairs = int(rng.integers(0, 3 * m + 1))
            objs = rng.integers(1, m + 1, size=num_pairs)
            pairs = np.stack([np.zeros(num_pairs, int), objs], axis=1)
        P = len(pairs)
        att = rng.dirichlet(np.ones(_A), size=P)
        spa = rng.uniform(0, 1, size=(P, _S))
        con = rng.uniform(0, 1, size=(P, _C))
        if zeros and P:
            spa[rng.uniform(size=spa.shape) < 0.3] = 0.0
            con[rng.uniform(size=con.shape) < 0.3] = 0.0
            att[rng.uniform(size=P) < 0.2] = np.eye(_A)[-1]  # all mass on the last
        pred = FramePrediction(pboxes, pcls, pscore, pairs, att, spa, con)
        if mode == "sgdet" and rng.uniform() < 0.05:
            pred = None
        gts.append(gt)
        preds.append(pred)
        vids.append(f"v{f // 4}")
    return gts, preds, vids
