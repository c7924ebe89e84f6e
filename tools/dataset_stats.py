#!/usr/bin/env python
"""Statistics and plots of an Action Genome-format dataset (the real release or the synthetic one).

    python tools/dataset_stats.py datasets/ag_synth --out output/dataset_stats [--baselines]

Prints, per split: frames, videos, frames without a person box, object entries (visible /
invisible), relation labels; counts per object class and per predicate; relations per frame; and,
when Charades-format CSVs and ``annotations/video_fps.json`` are present, AG frames per action class
(an AG frame counts for every action interval containing its time). Writes PNG bar charts to
``--out``. ``--baselines`` also scores the frequency prior and the label ceiling on the test split
(ag_detectron.evaluation.label_baselines).
"""

import argparse
import collections
import csv
import json
import logging
import os
import pickle
import sys
from typing import Dict, List

from tabulate import tabulate

from ag_detectron.vocabulary import PKL_OBJECT_NAMES, PKL_PREDICATE_NAMES

logger = logging.getLogger("dataset_stats")


def _load(root: str):
    ann = os.path.join(root, "annotations")
    with open(os.path.join(ann, "person_bbox.pkl"), "rb") as f:
        persons = pickle.load(f)
    with open(os.path.join(ann, "object_bbox_and_relationship.pkl"), "rb") as f:
        objects = pickle.load(f)
    return persons, objects


def compute_stats(root: str) -> Dict[str, Dict]:
    """Per split ("train" / "test" / "all"): counters of the release pickles under ``root``."""
    persons, objects = _load(root)
    out: Dict[str, Dict] = {}
    for key in sorted(objects):
        objs = objects[key]
        split = objs[0]["metadata"]["set"]
        for s in (split, "all"):
            st = out.setdefault(
                s,
                {
                    "frames": 0,
                    "videos": set(),
                    "no_person": 0,
                    "visible": 0,
                    "invisible": 0,
                    "relations": 0,
                    "class": collections.Counter(),
                    "predicate": collections.Counter(),
                    "rel_per_frame": collections.Counter(),
                    "obj_per_frame": collections.Counter(),
                },
            )
            st["frames"] += 1
            st["videos"].add(key.split("/")[0][:-4])
            st["no_person"] += int(persons[key]["bbox"].shape[0] == 0)
            st["obj_per_frame"][len(objs)] += 1
            n_rel = 0
            for o in objs:
                if not o["visible"]:
                    st["invisible"] += 1
                    continue
                st["visible"] += 1
                st["class"][o["class"]] += 1
                labels = (
                    o["attention_relationship"]
                    + o["spatial_relationship"]
                    + o["contacting_relationship"]
                )
                st["predicate"].update(labels)
                n_rel += len(labels)
            st["relations"] += n_rel
            st["rel_per_frame"][n_rel] += 1
    for st in out.values():
        st["videos"] = len(st["videos"])
    return out


def frames_per_action(root: str) -> Dict[str, collections.Counter]:
    """split -> Counter(action class -> AG frames inside an interval of it); {} without CSVs."""
    fps_path = os.path.join(root, "annotations", "video_fps.json")
    if not os.path.isfile(fps_path):
        return {}
    with open(fps_path) as f:
        fps = json.load(f)
    with open(os.path.join(root, "annotations", "frame_list.txt")) as f:
        keys = f.read().split()
    frames_of = collections.defaultdict(list)
    for k in keys:
        frames_of[k[:5]].append(int(k.split("/")[1][:6]))
    out = {}
    for split in ("train", "test"):
        path = os.path.join(root, f"Charades_v1_{split}.csv")
        if not os.path.isfile(path):
            continue
        c = collections.Counter()
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                vid = row["id"]
                for item in filter(None, row["actions"].split(";")):
                    cls, start, end = item.split()
                    for n in frames_of.get(vid, []):
                        t = (n - 1) / fps[vid]
                        if float(start) - 1e-6 <= t <= float(end) + 1e-6:
                            c[cls] += 1
        out[split] = c
    return out


def _bar(path: str, names: List[str], values: List[float], title: str, ylabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 0.28 * len(names) + 2), 4))
    ax.bar(range(len(names)), values, color="#4477aa")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=75, ha="right", fontsize=7)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("root", help="AG-format root with annotations/")
    p.add_argument(
        "--out", default=os.path.join("output", "dataset_stats"), help="directory for the PNG plots"
    )
    p.add_argument(
        "--baselines", action="store_true", help="score the frequency prior / label ceiling on test"
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    os.makedirs(args.out, exist_ok=True)
    stats = compute_stats(args.root)
    rows = [
        [
            s,
            st["videos"],
            st["frames"],
            st["no_person"],
            st["visible"],
            st["invisible"],
            st["relations"],
            round(st["relations"] / max(1, st["frames"]), 2),
        ]
        for s, st in sorted(stats.items())
    ]
    print(
        tabulate(
            rows,
            headers=[
                "split",
                "videos",
                "frames",
                "no person",
                "visible obj",
                "invisible obj",
                "relations",
                "rel/frame",
            ],
        )
    )
    allst = stats["all"]
    objs = list(PKL_OBJECT_NAMES[1:])
    print()
    print(
        tabulate(
            [
                [n] + [stats.get(s, {}).get("class", {}).get(n, 0) for s in ("train", "test")]
                for n in objs
            ],
            headers=["object class", "train", "test"],
        )
    )
    print()
    print(
        tabulate(
            [
                [n] + [stats.get(s, {}).get("predicate", {}).get(n, 0) for s in ("train", "test")]
                for n in PKL_PREDICATE_NAMES
            ],
            headers=["predicate", "train", "test"],
        )
    )
    _bar(
        os.path.join(args.out, "objects_per_class.png"),
        objs,
        [allst["class"][n] for n in objs],
        "visible object boxes per class (all splits)",
        "boxes",
    )
    _bar(
        os.path.join(args.out, "labels_per_predicate.png"),
        list(PKL_PREDICATE_NAMES),
        [allst["predicate"][n] for n in PKL_PREDICATE_NAMES],
        "relation labels per predicate",
        "labels",
    )
    ks = sorted(allst["rel_per_frame"])
    _bar(
        os.path.join(args.out, "relations_per_frame.png"),
        [str(k) for k in ks],
        [allst["rel_per_frame"][k] for k in ks],
        "relation labels per frame",
        "frames",
    )
    fpa = frames_per_action(args.root)
    if fpa:
        classes = sorted(set().union(*[set(c) for c in fpa.values()]))
        desc = {}
        cpath = os.path.join(args.root, "Charades_v1_classes.txt")
        if os.path.isfile(cpath):
            with open(cpath) as f:
                desc = dict(line.strip().split(" ", 1) for line in f if line.strip())
        print()
        print(
            tabulate(
                [
                    [c, desc.get(c, "")] + [fpa.get(s, {}).get(c, 0) for s in ("train", "test")]
                    for c in classes
                ],
                headers=["action", "description", "train frames", "test frames"],
            )
        )
        _bar(
            os.path.join(args.out, "frames_per_action.png"),
            classes,
            [sum(fpa[s].get(c, 0) for s in fpa) for c in classes],
            "AG frames per action class",
            "frames",
        )
    if args.baselines:
        from ag_detectron.data.datasets import load_action_genome
        from ag_detectron.evaluation.label_baselines import label_only_baselines

        train = load_action_genome(args.root, "train", use_cache=False)
        test = load_action_genome(args.root, "test", use_cache=False)
        res = label_only_baselines(train, test)
        print()
        print(
            tabulate(
                [
                    [k] + [round(v[m], 4) for m in ("R@20_with", "mR@20_pooled_with", "R@20_no")]
                    for k, v in res.items()
                ],
                headers=["PredCls on test", "R@20 with", "mR@20 with", "R@20 no"],
            )
        )
    print(f"\nplots written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
