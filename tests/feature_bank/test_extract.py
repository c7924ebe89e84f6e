"""Bank extraction (ag_detectron/feature_bank/extract.py) on a tiny synthetic world: a tiny random
SGDet model (saved once, so every process loads the same weights), four Charades-style frame
folders of textured 64x48 JPEGs."""

import importlib.util
import json
import os

import numpy as np
import pytest
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.data import DatasetCatalog
from detectron2.engine import DefaultPredictor
from detectron2.modeling import build_model
from PIL import Image

import ag_detectron.modeling  # noqa: F401  (meta-architectures)
from ag_detectron.config import get_ag_cfg
from ag_detectron.data.datasets.charades import register_charades
from ag_detectron.data.video_io import decode_jpeg_file
from ag_detectron.engine.launch import launch
from ag_detectron.feature_bank import FeatureBank, FeatureBankError
from ag_detectron.feature_bank.extract import (
    ClipFeatureProducer,
    EntryRule,
    ExtractOptions,
    SceneGraphProducer,
    centred_clip_frames,
    extract_bank,
    extract_oracle_bank,
    extract_worker,
    sample_times,
)
from ag_detectron.modeling.testing import tiny_scene_graph_cfg

# video id -> number of 24-fps frames; at 2/s: frames 1, 13, 25, ... -> 3, 2, 3, 1 entries
VIDEOS = {"VA": 30, "VB": 13, "VC": 25, "VD": 7}
ENTRIES = {"VA": 3, "VB": 2, "VC": 3, "VD": 1}
W, H = 64, 48


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("extract_world")
    rng = np.random.default_rng(0)
    dicts = []
    for vid, n in VIDEOS.items():
        d = root / "Charades_v1_rgb" / vid
        d.mkdir(parents=True)
        base = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        for i in range(1, n + 1):
            img = np.roll(base, 2 * i, axis=1)  # a moving texture: every frame differs
            Image.fromarray(img).save(d / f"{vid}-{i:06d}.jpg", quality=95)
        # lengths rounded to 2 decimals, as the Charades CSV
        dicts.append({"video_id": vid, "frame_dir": str(d), "length": round(n / 24, 2)})
    # the tiny random SGDet model, saved so that every process and the reference load it
    cfg = tiny_scene_graph_cfg("sgdet")
    torch.manual_seed(0)
    model = build_model(cfg)
    cfg.MODEL.ROI_RELATION_HEAD.ALLOW_RANDOM_DETECTOR = False  # the saved weights are loaded
    weights = str(root / "sgdet.pth")
    DetectionCheckpointer(model, save_dir=str(root)).save("sgdet")
    cfg.MODEL.WEIGHTS = weights
    cfg_file = str(root / "sgdet.yaml")
    with open(cfg_file, "w") as f:
        f.write(cfg.dump())
    # the same videos as a registered Charades split (for the tool)
    (root / "Charades_v1_classes.txt").write_text("c000 Holding a cup\nc001 Drinking\n")
    header = (
        "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length"
    )
    rows = [header] + [
        f"{d['video_id']},S1,Kitchen,5,5,Yes,script,cup,desc,c000 0.00 0.20,{d['length']:.2f}"
        for d in dicts
    ]
    (root / "Charades_v1_test.csv").write_text("\r\n".join(rows) + "\r\n")
    if "test_extract_charades" not in DatasetCatalog.list():
        register_charades("test_extract_charades", str(root), "test")
    return {"root": root, "dicts": dicts, "cfg_file": cfg_file}


def _cfg(world):
    return get_ag_cfg(world["cfg_file"])


def _opts(**kw):
    base = dict(batch_size=3, num_workers=0, progress=False, fsync=False)
    base.update(kw)
    return ExtractOptions(**base)


def _bank_arrays(bank_dir):
    bank = FeatureBank(str(bank_dir))
    with open(os.path.join(bank_dir, "index.json")) as f:
        index = json.load(f)
    entries = np.load(os.path.join(bank_dir, index["entries_file"]))
    times = np.load(os.path.join(bank_dir, index["times_file"]))
    return bank, index, entries, times


def _reference_matrix(output, num_pred=26):
    """C[i, j] = max over pairs with object class i+1 of s_obj * p_j, written out by hand."""
    inst, rel = output["instances"], output["relations"]
    probs = torch.cat(
        [rel.attention_scores, rel.spatial_scores, rel.contacting_scores], dim=1
    ).cpu()
    out = np.zeros((35, num_pred), np.float32)
    for k, (_, o) in enumerate(rel.pair_idx.tolist()):
        row = int(inst.pred_classes[o]) - 1
        value = float(inst.scores[o]) * probs[k].numpy()
        out[row] = np.maximum(out[row], value)
    return out.reshape(-1)


def test_sample_times_and_centred_clip():
    assert sample_times(30, 2.0).tolist() == [0.0, 0.5, 1.0]
    assert sample_times(13, 2.0).tolist() == [0.0, 0.5]
    assert sample_times(12, 2.0).tolist() == [0.0]
    assert sample_times(7, 4.0).tolist() == [0.0, 0.25]  # frames 1, 7
    # 8 frames at stride 4 centred on frame 13 of a 30-frame video: start 13 - 14 = -1, clamped
    assert centred_clip_frames(13, 8, 4, 30).tolist() == [1, 3, 7, 11, 15, 19, 23, 27]
    assert centred_clip_frames(29, 4, 2, 30).tolist() == [26, 28, 30, 30]


def test_scene_graph_bank_equals_direct_model_outputs(world, tmp_path):
    cfg = _cfg(world)
    opts = _opts()
    counts = extract_bank(
        SceneGraphProducer(cfg, opts), str(tmp_path / "bank"), world["dicts"], opts
    )
    assert counts["videos"] == 4 and counts["entries"] == sum(ENTRIES.values())
    bank, index, entries, times = _bank_arrays(tmp_path / "bank")
    assert index["videos"] == sorted(VIDEOS)
    prov = index["provenance"]
    assert prov["kind"] == "scene_graph" and prov["dim"] == 910 and prov["rate"] == 2.0
    assert len(prov["vocabulary"]["objects"]) == 35 and len(prov["vocabulary"]["predicates"]) == 26
    assert prov["weights_hash"] and prov["producer_config_hash"]
    # the reference: Detectron2's DefaultPredictor, one frame at a time, frames read with PIL
    predictor = DefaultPredictor(cfg)
    nonzero = 0
    for vid, offset in zip(index["videos"], index["offsets"]):
        n = ENTRIES[vid]
        np.testing.assert_allclose(times[offset : offset + n], np.arange(n) * 0.5)
        for k in range(n):
            frame = 12 * k + 1
            path = os.path.join(world["root"], "Charades_v1_rgb", vid, f"{vid}-{frame:06d}.jpg")
            rgb = np.asarray(Image.open(path).convert("RGB"))
            expected = _reference_matrix(predictor(rgb[:, :, ::-1]))
            got = entries[offset + k].astype(np.float32)
            np.testing.assert_allclose(got, expected, atol=2e-3, rtol=2e-3)
            nonzero += int((expected > 0).sum())
    assert nonzero > 0  # the random model does predict pairs: the comparison is not 0 == 0
    # durations: the CSV length, or the last sampled time when the rounded length is shorter
    assert bank is not None


def test_resume_writes_only_missing_videos(world, tmp_path):
    cfg = _cfg(world)
    opts = _opts(batch_size=1)
    full_dir, part_dir = str(tmp_path / "full"), str(tmp_path / "part")
    extract_bank(SceneGraphProducer(cfg, opts), full_dir, world["dicts"], opts)

    class Interrupted(RuntimeError):
        pass

    class Dies(SceneGraphProducer):
        """Killed during its 5th forward (VA: 3 entries, VB: 2 -> VA written, VB not)."""

        calls = 0

        def forward(self, units):
            Dies.calls += 1
            if Dies.calls == 5:
                raise Interrupted("simulated kill")
            return super().forward(units)

    with pytest.raises(Interrupted):
        extract_bank(Dies(cfg, opts), part_dir, world["dicts"], opts)
    shards = sorted(os.listdir(os.path.join(part_dir, "shards")))
    assert shards == ["VA.npz"]  # no partial shard, no temporary file
    assert not os.path.exists(os.path.join(part_dir, "index.json"))

    class Counts(SceneGraphProducer):
        prepared = []

        def prepare(self, d):
            Counts.prepared.append(d["video_id"])
            return super().prepare(d)

    counts = extract_bank(Counts(cfg, opts), part_dir, world["dicts"], opts)
    assert Counts.prepared == ["VB", "VC", "VD"]  # VA is neither decoded nor run again
    assert counts["skipped_existing"] == 1 and counts["videos"] == 3
    _, index_a, entries_a, times_a = _bank_arrays(full_dir)
    _, index_b, entries_b, times_b = _bank_arrays(part_dir)
    assert index_a["videos"] == index_b["videos"]
    assert index_a["offsets"] == index_b["offsets"]
    assert index_a["durations"] == index_b["durations"]
    np.testing.assert_array_equal(entries_a, entries_b)
    np.testing.assert_array_equal(times_a, times_b)


def test_other_producer_settings_are_refused_on_resume(world, tmp_path):
    cfg = _cfg(world)
    extract_bank(SceneGraphProducer(cfg, _opts()), str(tmp_path / "b"), world["dicts"][:1], _opts())
    other = _opts(rule=EntryRule(combine="mean"))  # another entry rule: another config hash
    with pytest.raises(FeatureBankError, match="producer_config_hash"):
        extract_bank(SceneGraphProducer(cfg, other), str(tmp_path / "b"), world["dicts"], other)
    other = _opts(rate=4.0)
    with pytest.raises(FeatureBankError, match="'rate'"):
        extract_bank(SceneGraphProducer(cfg, other), str(tmp_path / "b"), world["dicts"], other)


def test_25_predicates_and_workers(world, tmp_path):
    """875-d entries (other_relationship dropped), decoded by 2 DataLoader workers: the same as
    the 910-d bank without that column."""
    cfg = _cfg(world)
    o26, o25 = _opts(), _opts(num_workers=2, rule=EntryRule(num_predicates=25))
    extract_bank(SceneGraphProducer(cfg, o26), str(tmp_path / "b26"), world["dicts"], o26)
    extract_bank(SceneGraphProducer(cfg, o25), str(tmp_path / "b25"), world["dicts"], o25)
    _, i26, e26, _ = _bank_arrays(tmp_path / "b26")
    _, i25, e25, _ = _bank_arrays(tmp_path / "b25")
    assert i25["provenance"]["dim"] == 875
    assert "otherrelationship" not in i25["provenance"]["vocabulary"]["predicates"]
    other = i26["provenance"]["vocabulary"]["predicates"].index("otherrelationship")
    keep = [j for j in range(26) if j != other]
    np.testing.assert_allclose(
        e25.astype(np.float32),
        e26.astype(np.float32).reshape(-1, 35, 26)[:, :, keep].reshape(-1, 875),
        atol=2e-3,
    )


def test_two_processes_give_the_same_bank(world, tmp_path):
    opts = _opts(batch_size=4)
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    args = ("scene_graph", world["cfg_file"], [], [])
    extract_worker(*args, one, opts, True, None, world["dicts"])
    launch(
        extract_worker,
        2,
        dist_url="auto",
        args=(*args, two, opts, True, None, world["dicts"]),
        cpu=True,
    )
    _, index_a, entries_a, times_a = _bank_arrays(one)
    _, index_b, entries_b, times_b = _bank_arrays(two)
    assert index_a["provenance"] == index_b["provenance"]
    assert index_a["videos"] == index_b["videos"] and index_a["offsets"] == index_b["offsets"]
    np.testing.assert_allclose(
        entries_a.astype(np.float32), entries_b.astype(np.float32), atol=2e-3
    )
    np.testing.assert_array_equal(times_a, times_b)


def _tool():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "extract_feature_bank.py")
    spec = importlib.util.spec_from_file_location("extract_feature_bank", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_on_a_registered_dataset(world, tmp_path, capsys):
    out = str(tmp_path / "bank")
    argv = [
        "--kind", "scene_graph", "--config-file", world["cfg_file"],
        "--dataset", "test_extract_charades", "--output", out,
        "--num-workers", "0", "--no-progress", "--max-videos", "2", "--combine", "mean",
    ]  # fmt: skip
    _tool().main(argv)
    _, index, entries, _ = _bank_arrays(out)
    assert index["videos"] == ["VA", "VB"] and index["offsets"] == [0, 3, 5]
    shard = os.path.join(out, "shards", "VA.npz")
    mtime = os.stat(shard).st_mtime_ns
    _tool().main(argv)  # resumed: nothing to do, the shards stay as they are
    assert os.stat(shard).st_mtime_ns == mtime
    with pytest.raises(FeatureBankError, match="producer_config_hash"):
        _tool().main(argv[:-1] + ["max"])  # another entry rule into the same bank


def test_lfb_bank(world, tmp_path):
    cfg = get_ag_cfg(
        "configs/quick_schedules/clip_classifier_synth_instant_test.yaml",
        ["DATASETS.TRAIN", "()", "DATASETS.TEST", "()"],
    )
    opts = _opts(batch_size=4)
    torch.manual_seed(0)
    producer = ClipFeatureProducer(cfg, opts)
    counts = extract_bank(producer, str(tmp_path / "lfb"), world["dicts"], opts)
    assert counts["entries"] == sum(ENTRIES.values())
    _, index, entries, times = _bank_arrays(tmp_path / "lfb")
    prov = index["provenance"]
    dim = producer.model.backbone.output_dim
    assert prov["kind"] == "lfb" and prov["rate"] == 2.0 and prov["dim"] == dim
    assert prov["vocabulary"]["feature_dim"] == dim and prov["producer_config_hash"]
    assert prov["weights_hash"] == ""  # random model: no weights file
    # hand-made clip of VA at t = 0.5 s: centre frame 13, 8 frames at stride 4 (clamped at 1),
    # short side 48 -> 64 (64x48 -> 85x64), centre crop x0 = ceil((85 - 64) / 2) = 11
    import torchvision.transforms.functional as TF

    frames = [1, 3, 7, 11, 15, 19, 23, 27]
    d = os.path.join(world["root"], "Charades_v1_rgb", "VA")
    # decoded by the project's JPEG decoder (PIL's chroma upsampling differs by a few levels)
    imgs = torch.stack([decode_jpeg_file(f"{d}/VA-{n:06d}.jpg") for n in frames])
    imgs = TF.resize(imgs, [64, 85], antialias=True)[..., 0:64, 11:75].permute(1, 0, 2, 3)
    item = producer.prepare(world["dicts"][0])
    assert item.video_id == "VA" and item.times.tolist() == [0.0, 0.5, 1.0]
    clip = producer.unit(item, 1)  # (3, T, 64, 64)
    assert clip.shape == imgs.shape
    # the resize kernel rounds a few pixels differently for another memory layout / stack size
    assert (clip.int() - imgs.int()).abs().max() <= 1
    with torch.no_grad():
        s = producer.model.clip_features([{"clip": clip}])[0].numpy()
    row = index["offsets"][index["videos"].index("VA")] + 1
    assert times[row] == 0.5
    np.testing.assert_allclose(entries[row].astype(np.float32), s, rtol=1e-2, atol=1e-3)


def test_oracle_bank(tmp_path):
    fps_file = tmp_path / "video_fps.json"
    fps_file.write_text(json.dumps({"VA": 30.0, "VB": 24.0}))
    frames = [  # VA frame 31 at 30 fps = 1.0 s -> 24-fps frame 25 -> stored at 1.0 s
        {
            "video_id": "VA",
            "frame_number": 31,
            "annotations": [{"category_id": 0}, {"category_id": 5}],
            "relations": [{"subject": 0, "object": 1, "attention": [0], "spatial": [3, 4]}],
        }
    ]
    counts = extract_oracle_bank(
        str(tmp_path / "oracle"),
        frames,
        str(fps_file),
        videos=["VA", "VB"],
        durations={"VA": 2.0, "VB": 1.0},
    )
    assert counts["videos_without_frames"] == 1  # VB: an empty shard
    _, index, entries, times = _bank_arrays(tmp_path / "oracle")
    prov = index["provenance"]
    assert prov["kind"] == "oracle" and prov["rate"] is None and prov["dim"] == 910
    assert prov["producer_config_hash"] == "" and prov["weights_hash"] == ""
    assert index["videos"] == ["VA", "VB"] and index["offsets"] == [0, 1, 1]
    assert times.tolist() == [1.0]
    expected = np.zeros(910, np.float32)
    expected[[(5 - 1) * 26 + 0, (5 - 1) * 26 + 3, (5 - 1) * 26 + 4]] = 1.0
    np.testing.assert_array_equal(entries[0].astype(np.float32), expected)


def test_video_file_source(world, tmp_path):
    """--source video: the same sampled times from an mp4 (lossless H.264 of the same frames)."""
    import av

    path = str(tmp_path / "VA.mp4")
    d = os.path.join(world["root"], "Charades_v1_rgb", "VA")
    with av.open(path, "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = W, H, "yuv444p"
        s.options = {"crf": "0", "preset": "ultrafast"}
        for i in range(1, VIDEOS["VA"] + 1):
            rgb = np.asarray(Image.open(f"{d}/VA-{i:06d}.jpg").convert("RGB"))
            for packet in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    cfg = _cfg(world)
    opts = _opts(source="video", video_dir=str(tmp_path))
    va = [dict(world["dicts"][0])]
    extract_bank(SceneGraphProducer(cfg, opts), str(tmp_path / "bank"), va, opts)
    _, index, entries, times = _bank_arrays(tmp_path / "bank")
    assert index["videos"] == ["VA"] and times.tolist() == [0.0, 0.5, 1.0]
    assert entries.shape == (3, 910) and np.isfinite(entries.astype(np.float32)).all()
