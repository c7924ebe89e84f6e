"""Annotations-only synthetic Action Genome at the real release's scale (for load benchmarks).

No images and no scripted world: label *statistics* follow the public counts (docs/ag_format.md §9):
288,782 frame keys, ~9.6k videos (~30 keys each), 2.55 object entries per frame on average (max 9;
classes drawn by the release's box frequencies, distinct within a frame), ~19 % frames without a
person box, ~75 % visible objects, ~3.1 relation labels per visible object (~1.7M in total). Every
format quirk of :mod:`.writer` is kept. Arrays are drawn in bulk with NumPy; only the final
per-frame dicts are built in Python.
"""

from __future__ import annotations

import os
from typing import Dict, List

import numpy as np

from ag_detectron.data.datasets.ag_categories import PKL_OBJECT_NAMES, PKL_PREDICATE_NAMES

from . import writer

__all__ = ["REAL_NUM_FRAMES", "write_annotations_at_scale"]

REAL_NUM_FRAMES = 288_782
FRAMES_PER_VIDEO = 30.0
NO_PERSON_FRACTION = 0.189  # 54,529 / 288,782
VISIBLE_FRACTION = 0.75
TEST_FRACTION = 0.2
# visible boxes per class in frames with a person (TRACE freq_num_list.json, docs/ag_format.md §3),
# class-file order 1..35
_CLASS_BOXES = np.array(
    [
        17404,
        12510,
        16185,
        21615,
        11961,
        8240,
        32411,
        17171,
        22252,
        34615,
        22206,
        17562,
        4898,
        15202,
        23045,
        40537,
        4603,
        14872,
        2105,
        4355,
        8110,
        13306,
        19498,
        5042,
        9271,
        4642,
        13661,
        12084,
        8318,
        15035,
        40790,
        4164,
        16492,
        3411,
        4955,
    ],
    dtype=np.float64,
)
# objects per frame 1..9 (mean ~2.55, max 9)
_K_PROBS = np.array([0.27, 0.30, 0.21, 0.12, 0.06, 0.025, 0.01, 0.004, 0.001])
_ATT_PROBS = np.array([0.50, 0.40, 0.10])
_SPA_PROBS = np.array([0.08, 0.12, 0.30, 0.15, 0.30, 0.05])
_CON_PROBS = np.array(
    [
        0.02,
        0.01,
        0.03,
        0.03,
        0.005,
        0.24,
        0.02,
        0.03,
        0.32,
        0.005,
        0.10,
        0.02,
        0.10,
        0.005,
        0.04,
        0.01,
        0.015,
    ]
)
_MULTI = (0.95, 0.045, 0.005)  # 1, 2, 3 labels per spatial / contacting list


def _distinct_topk(rng: np.random.Generator, probs: np.ndarray, n: int, kmax: int) -> np.ndarray:
    """(n, kmax) distinct categories per row, drawn with weights ``probs`` (Gumbel top-k)."""
    g = np.log(probs)[None, :].astype(np.float32) - np.log(
        -np.log(rng.random((n, probs.size), dtype=np.float32))
    )
    return np.argsort(-g, axis=1)[:, :kmax]


def write_annotations_at_scale(
    root: str, num_frames: int, seed: int, width: int, height: int, progress: bool = False
) -> Dict[str, int]:
    """Write ``root/annotations/*`` with ``num_frames`` frame keys; returns counts."""
    rng = np.random.default_rng([seed, 0x5CA1E])
    from .generate import split_of, video_ids

    num_videos = max(1, int(round(num_frames / FRAMES_PER_VIDEO)))
    # frames -> videos: random cut points, every video non-empty
    cuts = (
        np.sort(rng.choice(np.arange(1, num_frames), size=num_videos - 1, replace=False))
        if num_videos > 1
        else np.array([], int)
    )
    starts = np.concatenate([[0], cuts]).astype(np.int64)
    counts = np.diff(np.concatenate([starts, [num_frames]]))
    video_of = np.repeat(np.arange(num_videos), counts)
    ids = video_ids(num_videos, seed)
    splits = split_of(num_videos, TEST_FRACTION, seed)
    fps_choice = np.array([24, 30, 25])[rng.choice(3, size=num_videos, p=[0.5, 0.3, 0.2])]
    # 1-based native frame numbers, increasing within a video
    gaps = rng.integers(1, 13, size=num_frames)
    csum = np.cumsum(gaps)
    frame_no = csum - np.repeat(csum[starts] - gaps[starts], counts)
    # person boxes
    no_person_rate = np.clip(
        rng.beta(0.6, 2.6, size=num_videos), 0, 1
    )  # mean ~0.19, bursty per video
    has_person = rng.random(num_frames) >= no_person_rate[video_of]
    pw = rng.uniform(0.12, 0.45, num_frames) * width
    ph = rng.uniform(0.35, 0.95, num_frames) * height
    px = rng.uniform(0, 1, num_frames) * (width - pw)
    py = rng.uniform(0, 1, num_frames) * (height - ph)
    pbox = np.stack([px, py, px + pw, py + ph], 1).astype(np.float32)
    pscore = rng.uniform(0.8, 1.0, num_frames).astype(np.float32)
    kps = np.empty((num_frames, 17, 3), np.float32)
    kps[:, :, 0] = px[:, None] + rng.random((num_frames, 17)) * pw[:, None]
    kps[:, :, 1] = py[:, None] + rng.random((num_frames, 17)) * ph[:, None]
    kps[:, :, 2] = 1.0
    logits = rng.normal(5.0, 2.5, (num_frames, 17)).astype(np.float32)
    # objects
    k = rng.choice(np.arange(1, 10), size=num_frames, p=_K_PROBS / _K_PROBS.sum())
    cls = _distinct_topk(rng, _CLASS_BOXES / _CLASS_BOXES.sum(), num_frames, 9) + 1
    n_obj = int(k.sum())
    obj_frame = np.repeat(np.arange(num_frames), k)
    obj_rank = np.arange(n_obj) - np.repeat(np.cumsum(k) - k, k)
    obj_cls = cls[obj_frame, obj_rank]
    visible = rng.random(n_obj) < VISIBLE_FRACTION
    ow = rng.uniform(0.04, 0.5, n_obj) * width
    oh = rng.uniform(0.04, 0.6, n_obj) * height
    ox = rng.uniform(0, 1, n_obj) * (width - ow)
    oy = rng.uniform(0, 1, n_obj) * (height - oh)
    obox = np.round(np.stack([ox, oy, ow, oh], 1), 1).tolist()
    att = rng.choice(3, size=n_obj, p=_ATT_PROBS)
    n_spa = rng.choice(np.arange(1, 4), size=n_obj, p=_MULTI)
    n_con = rng.choice(np.arange(1, 4), size=n_obj, p=_MULTI)
    spa = _distinct_topk(rng, _SPA_PROBS, n_obj, 3) + 3
    con = _distinct_topk(rng, _CON_PROBS / _CON_PROBS.sum(), n_obj, 3) + 9
    names = PKL_OBJECT_NAMES
    tags = [n.replace("/", "_") for n in names]
    preds = PKL_PREDICATE_NAMES

    persons: Dict[str, Dict[str, object]] = {}
    objects: Dict[str, List[Dict[str, object]]] = {}
    keys: List[str] = []
    obj_start = np.concatenate([[0], np.cumsum(k)])
    vis_l, cls_l, att_l = visible.tolist(), obj_cls.tolist(), att.tolist()
    nspa_l, ncon_l, spa_l, con_l = n_spa.tolist(), n_con.tolist(), spa.tolist(), con.tolist()
    fno_l, vid_l, hp_l = frame_no.tolist(), video_of.tolist(), has_person.tolist()
    n_rel = 0
    rng_iter = range(num_frames)
    if progress:
        from tqdm import tqdm

        rng_iter = tqdm(rng_iter, desc="frames", unit="frame", mininterval=1.0)
    for f in rng_iter:
        vid = ids[vid_l[f]]
        fno = fno_l[f]
        key = f"{vid}.mp4/{fno:06d}.png"
        keys.append(key)
        if hp_l[f]:
            persons[key] = {
                "bbox": pbox[f : f + 1].copy(),
                "bbox_score": pscore[f : f + 1].copy(),
                "bbox_size": (width, height),
                "bbox_mode": "xyxy",
                "keypoints": kps[f : f + 1].copy(),
                "keypoints_logits": logits[f : f + 1].copy(),
            }
        else:
            persons[key] = {
                "bbox": np.zeros((0, 4), np.float32),
                "bbox_score": np.zeros((0,), np.float32),
                "bbox_size": (width, height),
                "bbox_mode": "xyxy",
                "keypoints": np.zeros((0, 17, 3), np.float32),
                "keypoints_logits": np.zeros((0, 17), np.float32),
            }
        split = splits[vid_l[f]]
        entries = []
        for j in range(obj_start[f], obj_start[f + 1]):
            c = cls_l[j]
            meta = {"tag": f"{vid}.mp4/{tags[c]}/{fno:06d}", "set": split}
            if vis_l[j]:
                sp = [preds[p] for p in spa_l[j][: nspa_l[j]]]
                co = [preds[p] for p in con_l[j][: ncon_l[j]]]
                n_rel += 1 + len(sp) + len(co)
                entries.append(
                    {
                        "class": names[c],
                        "bbox": tuple(obox[j]),
                        "attention_relationship": [preds[att_l[j]]],
                        "spatial_relationship": sp,
                        "contacting_relationship": co,
                        "metadata": meta,
                        "visible": True,
                    }
                )
            else:
                entries.append(
                    {
                        "class": names[c],
                        "bbox": None,
                        "attention_relationship": None,
                        "spatial_relationship": None,
                        "contacting_relationship": None,
                        "metadata": meta,
                        "visible": False,
                    }
                )
        objects[key] = entries
    ann = os.path.join(root, "annotations")
    os.makedirs(ann, exist_ok=True)
    writer.write_pickle(os.path.join(ann, "person_bbox.pkl"), persons)
    writer.write_pickle(os.path.join(ann, "object_bbox_and_relationship.pkl"), objects)
    writer.write_frame_list(os.path.join(ann, "frame_list.txt"), keys)
    writer.copy_class_files(ann)
    writer.write_video_fps(
        os.path.join(ann, "video_fps.json"), {ids[i]: int(fps_choice[i]) for i in range(num_videos)}
    )
    n_test_frames = sum(int(counts[i]) for i in range(num_videos) if splits[i] == "test")
    return {
        "videos": num_videos,
        "train_videos": splits.count("train"),
        "test_videos": splits.count("test"),
        "frames": num_frames,
        "train_frames": num_frames - n_test_frames,
        "test_frames": n_test_frames,
        "frames_without_person": int((~has_person).sum()),
        "objects": n_obj,
        "visible_objects": int(visible.sum()),
        "relations": n_rel,
        "charades_frames": 0,
    }
