import json
import os
import tempfile
import unittest

from detectron2.data import DatasetCatalog, MetadataCatalog

from ag_detectron.data.datasets import (
    ag_frame_to_charades_frame,
    ag_frame_to_seconds,
    load_charades,
    load_video_fps,
    read_charades_classes,
    register_charades,
    seconds_to_charades_frame,
)
from ag_detectron.errors import DatasetFormatError

HEADER = "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length"
ROWS = [
    '46GP8,HR43,Kitchen,6,7,Yes,"A person cooks food, then eats.",food;dish,"Cook; eat",'
    "c002 11.90 21.20;c001 0.00 12.60,24.83",
    # empty quality, relevance, actions
    "N11GT,0KZ7,Stairs,,,Yes,A person walks.,stairs,Walks.,,30.00",
    'ABC12,XX01,Bedroom,5,,No,"He said ""hi"".",bed,"Lies, sleeps",'
    "c000 9.50 3.20;c002 20.00 40.00,31.1",
]
CLASSES = "c000 Holding some clothes\nc001 Putting clothes somewhere\nc002 Lying on a bed \n"


def write_charades(
    root, newline="\n", final_newline=True, rows=ROWS, classes=CLASSES, header=HEADER
):
    os.makedirs(root, exist_ok=True)
    text = newline.join([header] + rows) + (newline if final_newline else "")
    for split in ("train", "test"):
        with open(os.path.join(root, f"Charades_v1_{split}.csv"), "w", newline="") as f:
            f.write(text)
    with open(os.path.join(root, "Charades_v1_classes.txt"), "w", newline="") as f:
        f.write(classes)


class TestCharades(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def _check(self, videos):
        self.assertEqual([v["video_id"] for v in videos], ["46GP8", "N11GT", "ABC12"])
        v = videos[0]
        self.assertEqual(v["length"], 24.83)
        self.assertEqual(v["actions"], [(2, 11.9, 21.2), (1, 0.0, 12.6)])
        self.assertEqual(v["labels"], [0, 1, 1])
        self.assertEqual(v["frame_dir"], os.path.join(self.root, "Charades_v1_rgb", "46GP8"))
        self.assertEqual(v["video_file"], os.path.join(self.root, "Charades_v1_480", "46GP8.mp4"))
        self.assertEqual(videos[1]["actions"], [])
        self.assertEqual(videos[1]["labels"], [0, 0, 0])
        self.assertEqual(videos[2]["actions"][0], (0, 9.5, 3.2))  # end < start kept as-is

    def test_lf_and_crlf(self):
        for newline, final in (("\n", False), ("\r\n", True), ("\n", True)):
            write_charades(self.root, newline=newline, final_newline=final)
            with self.assertLogs("ag_detectron.data.datasets.charades", level="INFO") as logs:
                self._check(load_charades(self.root, "train"))
            line = logs.output[-1]
            self.assertIn("1 videos without actions", line)
            self.assertIn("1 segments with end < start", line)
            self.assertIn("1 segments ending after 'length'", line)
            self.assertIn("1 empty quality", line)
            self.assertIn("2 empty relevance", line)

    def test_classes_file_variants(self):
        write_charades(self.root, classes=CLASSES.rstrip("\n"))
        path = os.path.join(self.root, "Charades_v1_classes.txt")
        self.assertEqual(read_charades_classes(path)[2], "Lying on a bed")
        with open(path, "w") as f:
            f.write("c000 A\nc002 B\n")
        with self.assertRaisesRegex(DatasetFormatError, "line 2"):
            read_charades_classes(path)

    def test_num_classes_from_file(self):
        write_charades(self.root, classes="c000 a\nc001 b\nc002 c\nc003 d\nc004 e\n")
        self.assertEqual(len(load_charades(self.root, "test")[0]["labels"]), 5)

    def test_bad_rows(self):
        bad = {
            "actions": ROWS[:1] + ["X,1,2,3,4,Yes,s,o,d,c002 1.0,5.0"],
            "class": ["X,1,2,3,4,Yes,s,o,d,c007 1.0 2.0,5.0"],
            "length": ["X,1,2,3,4,Yes,s,o,d,,abc"],
            "fields": ["X,1,2,3,4,Yes,s,o,d,"],
            "dup": ROWS[:1] * 2,
        }
        for what, rows in bad.items():
            write_charades(self.root, rows=rows)
            with self.assertRaises(DatasetFormatError, msg=what) as ctx:
                load_charades(self.root, "train")
            self.assertIn("Charades_v1_train.csv: row", str(ctx.exception))
        write_charades(self.root, header=HEADER.replace(",length", ""))
        with self.assertRaisesRegex(DatasetFormatError, "missing columns"):
            load_charades(self.root, "train")

    def test_missing_root_and_files(self):
        with self.assertRaisesRegex(DatasetFormatError, "nowhere"):
            load_charades(os.path.join(self.root, "nowhere"), "train")
        with self.assertRaisesRegex(DatasetFormatError, "Charades_v1_classes.txt"):
            load_charades(self.root, "train")

    def test_register(self):
        write_charades(self.root)
        name = "test_charades_fixture"
        register_charades(name, self.root, "train")
        try:
            self.assertEqual(len(DatasetCatalog.get(name)), 3)
            meta = MetadataCatalog.get(name)
            self.assertEqual((meta.evaluator_type, meta.num_classes), ("charades", 3))
        finally:
            DatasetCatalog.remove(name)
            MetadataCatalog.remove(name)


class TestFps(unittest.TestCase):
    def test_conversion(self):
        self.assertEqual(ag_frame_to_seconds(1, 30.0), 0.0)
        self.assertAlmostEqual(ag_frame_to_seconds(91, 30.0), 3.0)
        self.assertEqual(seconds_to_charades_frame(0.0), 1)
        self.assertEqual(seconds_to_charades_frame(3.0), 73)
        # 30 fps frame 2 -> t = 1/30 -> 0.8 Charades frames -> rounds to 1 -> frame 2
        self.assertEqual(ag_frame_to_charades_frame(2, 30.0), 2)
        # 25 fps frame 51 -> t = 2 s -> 48 + 1
        self.assertEqual(ag_frame_to_charades_frame(51, 25.0), 49)
        self.assertEqual(seconds_to_charades_frame(1 / 48), 2)  # halves round up
        with self.assertRaises(ValueError):
            ag_frame_to_seconds(0, 24.0)

    def test_sidecar(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "video_fps.json")
            with open(path, "w") as f:
                json.dump({"001YG": 29.97, "Q8XEE": 25}, f)
            self.assertEqual(load_video_fps(path), {"001YG": 29.97, "Q8XEE": 25.0})
            with open(path, "w") as f:
                json.dump({"001YG": 0}, f)
            with self.assertRaisesRegex(DatasetFormatError, "001YG"):
                load_video_fps(path)
            with self.assertRaisesRegex(DatasetFormatError, "not found"):
                load_video_fps(os.path.join(d, "nope.json"))


if __name__ == "__main__":
    unittest.main()
