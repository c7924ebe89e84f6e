import os
import shutil
import tempfile
import unittest

from detectron2.structures import BoxMode

from ag_detectron.data.datasets import ag_categories as C
from ag_detectron.data.datasets import load_action_genome, load_action_genome_with_counts
from ag_detectron.errors import ConfigError, DatasetFormatError
from ag_detectron.utils.ag_fixtures import make_ag_annotations, object_entry, write_ag_root

REF_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference", "ag")


def _load(root, split, filter_preset="none", **kw):
    return load_action_genome_with_counts(root, split, filter_preset, use_cache=False, **kw)


class TestLoadActionGenome(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        self.persons, self.objects = make_ag_annotations()

    def tearDown(self):
        self.tmp.cleanup()

    def _write(self, **kw):
        return write_ag_root(self.root, self.persons, self.objects, **kw)

    def test_format_of_dicts(self):
        self._write()
        dicts, counts = _load(self.root, "train")
        keys = [d["image_id"] for d in dicts]
        # frame_list is written in reverse order: output is sorted by (video, frame)
        self.assertEqual(keys, sorted(keys, key=lambda k: (k.split("/")[0], int(k[-10:-4]))))
        d = dicts[0]
        self.assertEqual(d["image_id"], "001YG.mp4/000089.png")
        self.assertEqual(d["video_id"], "001YG")
        self.assertEqual(d["frame_number"], 89)
        self.assertEqual((d["width"], d["height"]), (480, 270))
        self.assertEqual(
            d["file_name"], os.path.join(self.root, "frames", "001YG.mp4", "000089.png")
        )
        person, chair = d["annotations"]
        self.assertEqual(person["category_id"], 0)
        self.assertEqual(person["bbox_mode"], BoxMode.XYXY_ABS)
        for a, b in zip(person["bbox"], [24.3, 71.4, 259.2, 268.2]):
            self.assertAlmostEqual(a, b, places=4)  # xyxy, read as is (float32)
        self.assertEqual(chair["category_id"], C.OBJECT_CLASSES.index("chair"))
        # (x, y, w, h) = (56.3, 179.2, 192.8, 90.6) -> xyxy
        for a, b in zip(chair["bbox"], [56.3, 179.2, 56.3 + 192.8, 179.2 + 90.6]):
            self.assertAlmostEqual(a, b, places=6)
        self.assertEqual(
            d["relations"],
            [
                {
                    "subject": 0,
                    "object": 1,
                    "attention": [C.predicate_name_to_id("not_looking_at")],
                    "spatial": [
                        C.predicate_name_to_id("beneath"),
                        C.predicate_name_to_id("behind"),
                    ],
                    "contacting": [C.predicate_name_to_id("sitting_on")],
                }
            ],
        )
        self.assertEqual(counts["frames"], 6)
        self.assertEqual(counts["other_split"], 4)

    def test_split_and_no_person_frame(self):
        self._write()
        dicts, _ = _load(self.root, "test")
        self.assertEqual({d["video_id"] for d in dicts}, {"Q8XEE"})
        no_person = [d for d in dicts if d["frame_number"] == 118][0]
        # sofa/couch only
        self.assertEqual([a["category_id"] for a in no_person["annotations"]], [30])
        self.assertEqual(no_person["relations"][0]["subject"], -1)
        self.assertEqual(no_person["relations"][0]["object"], 0)
        self.assertEqual(len(_load(self.root, "all")[0]), 10)

    def test_invisible_objects(self):
        self._write()
        dicts, counts = _load(self.root, "train")
        f95 = [d for d in dicts if d["image_id"] == "001YG.mp4/000095.png"][0]
        self.assertEqual([a["category_id"] for a in f95["annotations"]], [0, 7, 4])  # cup dropped
        self.assertEqual(counts["invisible_objects"], 2)
        self.assertNotIn("invisible_category_ids", f95)
        dicts, _ = _load(self.root, "train", visible_only=False)
        f95 = [d for d in dicts if d["image_id"] == "001YG.mp4/000095.png"][0]
        self.assertEqual(f95["invisible_category_ids"], [C.object_name_to_id("cup/glass/bottle")])

    def test_sttran_filters_with_counts(self):
        self._write()
        dicts, c = _load(self.root, "train", "sttran")
        # 0A8CF: frame 20 has no visible object; the video then has 1 frame < 3 -> dropped
        self.assertEqual([d["video_id"] for d in dicts], ["001YG"] * 4)
        self.assertEqual(
            (c["no_visible_object"], c["short_videos"], c["short_video_frames"]), (1, 1, 1)
        )
        dicts, c = _load(self.root, "test", "sttran")
        self.assertEqual([d["frame_number"] for d in dicts], [111, 115, 120])
        self.assertEqual(c["no_person"], 1)
        # an explicit override beats the preset
        dicts, c = _load(self.root, "test", "sttran", min_frames_per_video=4)
        self.assertEqual((len(dicts), c["short_videos"]), (0, 1))
        with self.assertRaises(ConfigError):
            _load(self.root, "test", "stTRAN")
        with self.assertRaises(ConfigError):
            _load(self.root, "test", min_box=3)

    def test_small_boxes(self):
        self._write()
        dicts, c = _load(self.root, "train", min_box_short_edge=16)
        f95 = [d for d in dicts if d["image_id"] == "001YG.mp4/000095.png"][0]
        # the 10x40 book is dropped
        self.assertEqual([a["category_id"] for a in f95["annotations"]], [0, 7])
        self.assertEqual(len(f95["relations"]), 1)
        self.assertEqual(c["small_boxes"], 1)
        # strict >: a short edge of exactly 10 is dropped at threshold 10, kept at 9.99
        self.assertEqual(_load(self.root, "train", min_box_short_edge=10)[1]["small_boxes"], 1)
        self.assertEqual(_load(self.root, "train", min_box_short_edge=9.99)[1]["small_boxes"], 0)

    def test_25_predicates(self):
        self._write()
        dicts, c = _load(self.root, "train", num_predicates=25)
        f95 = [d for d in dicts if d["image_id"] == "001YG.mp4/000095.png"][0]
        book_rel = f95["relations"][1]
        self.assertEqual(book_rel["contacting"], [])  # other_relationship dropped
        self.assertEqual(c["dropped_predicate_labels"], 1)
        # sitting_on is 19 in the release, 18 in the 25-class list
        self.assertEqual(f95["relations"][0]["contacting"], [18])
        with self.assertRaises(ConfigError):
            _load(self.root, "train", num_predicates=24)

    def test_frame_size_fallback(self):
        del self.persons["Q8XEE.mp4/000118.png"]["bbox_size"]
        self._write()
        dicts, _ = _load(self.root, "test")
        self.assertTrue(all((d["width"], d["height"]) == (480, 270) for d in dicts))

    def test_frame_size_from_image(self):
        for n in (111, 115, 118, 120):
            del self.persons[f"Q8XEE.mp4/{n:06d}.png"]["bbox_size"]
        self._write(images=True)
        dicts, _ = _load(self.root, "test")
        self.assertTrue(all((d["width"], d["height"]) == (480, 270) for d in dicts))

    def test_frame_size_from_image_clips_like_others(self):
        key = "Q8XEE.mp4/000111.png"
        self.objects[key][0]["bbox"] = (10.0, 120.0, 472.0, 150.0)  # 2 px past W = 480
        for n in (111, 115, 118, 120):
            del self.persons[f"Q8XEE.mp4/{n:06d}.png"]["bbox_size"]
        self._write(images=True)
        dicts, counts = _load(self.root, "test")
        self.assertEqual(counts["clipped_boxes"], 1)
        self.assertEqual(dicts[0]["annotations"][1]["bbox"], [10.0, 120.0, 480.0, 270.0])

    def test_without_class_files(self):
        self._write(class_files=False)
        self.assertEqual(len(_load(self.root, "train")[0]), 6)


@unittest.skipUnless(os.path.isdir(REF_DIR), "shared reference class files not present")
class TestReferenceClassFiles(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        persons, objects = make_ag_annotations()
        write_ag_root(self.root, persons, objects, class_files=False)
        self.anno = os.path.join(self.root, "annotations")

    def tearDown(self):
        self.tmp.cleanup()

    def test_release_files(self):
        for name in ("object_classes.txt", "relationship_classes.txt"):
            shutil.copyfile(os.path.join(REF_DIR, name), os.path.join(self.anno, name))
        with open(os.path.join(self.anno, "object_classes.txt"), "rb") as f:
            self.assertFalse(f.read().endswith(b"\n"))  # the release quirk is really exercised
        dicts, _ = _load(self.root, "test")
        self.assertEqual(dicts[0]["annotations"][1]["category_id"], 30)

    def test_trailing_space_variant(self):
        shutil.copyfile(
            os.path.join(REF_DIR, "variants", "SEAD__object_classes.txt"),
            os.path.join(self.anno, "object_classes.txt"),
        )
        with open(os.path.join(self.anno, "object_classes.txt")) as f:
            self.assertIn("closetcabinet \n", f.read())
        self.persons = None
        persons, objects = make_ag_annotations()
        key = "001YG.mp4/000089.png"
        objects[key].append(object_entry("closet/cabinet", key, "train", (1.0, 2.0, 30.0, 40.0)))
        write_ag_root(self.root, persons, objects, class_files=False)
        dicts, _ = _load(self.root, "train")
        self.assertEqual(dicts[0]["annotations"][2]["category_id"], 8)

    def test_reordered_class_file_rejected(self):
        with open(os.path.join(REF_DIR, "object_classes.txt")) as f:
            lines = f.read().split("\n")
        lines[1], lines[2] = lines[2], lines[1]
        with open(os.path.join(self.anno, "object_classes.txt"), "w") as f:
            f.write("\n".join(lines))
        with self.assertRaisesRegex(DatasetFormatError, "object_classes.txt"):
            _load(self.root, "train")


class TestRegisteredCatalog(unittest.TestCase):
    def test_load_action_genome_public_signature(self):
        with tempfile.TemporaryDirectory() as root:
            p, o = make_ag_annotations()
            write_ag_root(root, p, o)
            dicts = load_action_genome(
                root, "train", "sttran", cache_dir=os.path.join(root, "cache")
            )
            self.assertEqual(len(dicts), 4)


if __name__ == "__main__":
    unittest.main()


class TestConfigOptions(unittest.TestCase):
    def test_preset_with_override(self):
        # Options are keyword arguments of the loader (no DATASETS.AG config namespace).
        with tempfile.TemporaryDirectory() as root:
            p, o = make_ag_annotations()
            write_ag_root(root, p, o)
            _, counts = _load(root, "test", filter_preset="sttran", min_frames_per_video=4)
            self.assertEqual((counts["no_person"], counts["short_videos"]), (1, 1))
