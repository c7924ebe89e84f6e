"""tools/make_few_shot_splits.py on a tiny Charades training CSV (20 classes, 40 videos)."""

import importlib.util
import json
import os

import numpy as np
import pytest

from ag_detectron.data.datasets.charades import register_charades

HEADER = "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length"
NUM_CLASSES = 20


def _tool():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "make_few_shot_splits.py")
    spec = importlib.util.spec_from_file_location("make_few_shot_splits", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("fewshot_charades")
    with open(root / "Charades_v1_classes.txt", "w") as f:
        f.write("".join(f"c{c:03d} action {c}\n" for c in range(NUM_CLASSES)))
    rng = np.random.default_rng(1)
    rows, labels = [HEADER], {}
    for i in range(40):
        vid = f"V{i:04d}"
        classes = sorted(set(rng.integers(0, NUM_CLASSES, size=rng.integers(1, 4)).tolist()))
        labels[vid] = set(classes)
        acts = ";".join(f"c{c:03d} 0.00 1.00" for c in classes)
        rows.append(f"{vid},S1,Kitchen,5,5,Yes,script,cup,desc,{acts},5.00")
    with open(root / "Charades_v1_train.csv", "w", newline="") as f:
        f.write("\r\n".join(rows) + "\r\n")
    name = "test_fewshot_charades_train"
    register_charades(name, str(root), "train")
    return name, labels


def test_writes_five_seeded_valid_splits(dataset, tmp_path):
    name, labels = dataset
    tool = _tool()
    paths = tool.main(["--dataset", name, "--output-dir", str(tmp_path / "a")])
    assert [os.path.basename(p) for p in paths] == [
        f"charades_fewshot_seed{s}.json" for s in range(5)
    ]
    novel_sets = []
    for seed, path in enumerate(paths):
        with open(path) as f:
            split = json.load(f)
        # proportional: round(20 * 20 / 157) = 3 novel classes, drawn with default_rng(seed)
        expected = sorted(np.random.default_rng(seed).choice(NUM_CLASSES, 3, False).tolist())
        assert split["novel_classes"] == expected
        novel = set(expected)
        assert sorted(split["base_classes"] + expected) == list(range(NUM_CLASSES))
        base = split["base_train_videos"]
        assert base == sorted(v for v, ls in labels.items() if not ls & novel)
        for k in ("1", "5", "10"):
            shots = split["shots"][k]["videos"]
            assert not set(shots) & set(base)
            for c in expected:
                have = sum(c in labels[v] for v in shots)
                available = sum(c in ls for ls in labels.values())
                assert have >= min(int(k), available)
        novel_sets.append(tuple(expected))
    assert len(set(novel_sets)) > 1  # the seeds differ
    # the same dataset and seeds give byte-identical files
    again = tool.main(["--dataset", name, "--output-dir", str(tmp_path / "b"), "--seeds", "3"])
    with open(paths[3], "rb") as a, open(again[0], "rb") as b:
        assert a.read() == b.read()
