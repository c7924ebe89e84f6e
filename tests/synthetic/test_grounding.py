"""The labels of the synthetic world follow from what is drawn (checked on the written files)."""

import os
import pickle
import shutil
import tempfile
import unittest

import numpy as np
from PIL import Image

from ag_detectron.data.synthetic import generate
from ag_detectron.data.synthetic.annotate import FRAMES_PER_ACTION, sample_frames
from ag_detectron.data.synthetic.kinematics import SIDE_OVERLAP
from ag_detectron.data.synthetic.world import script_video

SKIN = np.array([236, 188, 150])
JITTER = 4.0  # person boxes imitate a detector: up to a few pixels of noise


def _xyxy(b):
    x, y, w, h = b
    return x, y, x + w, y + h


class TestGeometryLabels(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ag_synth_ground_")
        cls.root = os.path.join(cls.tmp, "w")
        generate(cls.root, num_videos=10, seed=11, num_workers=2)
        ann = os.path.join(cls.root, "annotations")
        with open(os.path.join(ann, "person_bbox.pkl"), "rb") as f:
            cls.persons = pickle.load(f)
        with open(os.path.join(ann, "object_bbox_and_relationship.pkl"), "rb") as f:
            cls.objects = pickle.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def _pairs(self):
        for key, objs in self.objects.items():
            p = self.persons[key]
            for o in objs:
                if o["visible"]:
                    yield key, p, o

    def test_spatial_labels_match_boxes(self):
        n = 0
        for key, p, o in self._pairs():
            if p["bbox"].shape[0] == 0:
                self.assertEqual(o["attention_relationship"], ["unsure"], key)
                self.assertEqual(o["spatial_relationship"], [], key)
                continue
            px1, py1, px2, py2 = p["bbox"][0].tolist()
            ox1, oy1, ox2, oy2 = _xyxy(o["bbox"])
            spa, con = o["spatial_relationship"], o["contacting_relationship"]
            hov = max(0.0, min(ox2, px2) - max(ox1, px1)) / min(ox2 - ox1, px2 - px1)
            msg = f"{key} {o['class']} {spa} {con}"
            self.assertGreaterEqual(len(spa), 1, msg)
            if "above" in spa:
                self.assertLessEqual(oy2, py1 + JITTER, msg)
            if "beneath" in spa:
                self.assertTrue({"sitting_on", "lying_on", "standing_on"} & set(con), msg)
            if "in" in spa:
                self.assertTrue(
                    ox1 <= px1 + JITTER and ox2 >= px2 - JITTER and oy1 <= py1 + JITTER, msg
                )
            tol = 2 * JITTER / min(ox2 - ox1, px2 - px1)  # detector jitter of the person box
            if spa in (["in_front_of"], ["behind"]):
                self.assertGreaterEqual(hov + tol, SIDE_OVERLAP, msg)
            if spa == ["on_the_side_of"]:
                self.assertLessEqual(hov, SIDE_OVERLAP + tol, msg)
            n += 1
        self.assertGreater(n, 50)

    def test_contacting_labels_need_contact(self):
        """Held / touched objects are within reach of the drawn hand (right wrist keypoint)."""
        for key, p, o in self._pairs():
            con = set(o["contacting_relationship"])
            if p["bbox"].shape[0] == 0 or not con & {
                "holding",
                "carrying",
                "touching",
                "drinking_from",
                "eating",
            }:
                continue
            wx, wy = p["keypoints"][0, 10, :2].tolist()
            x1, y1, x2, y2 = _xyxy(o["bbox"])
            dx = max(x1 - wx, 0.0, wx - x2)
            dy = max(y1 - wy, 0.0, wy - y2)
            self.assertLess(
                np.hypot(dx, dy), 6.0, f"{key} {o['class']} {con}: wrist {wx:.0f},{wy:.0f}"
            )
        for key, _, o in self._pairs():
            if "not_contacting" in o["contacting_relationship"]:
                self.assertEqual(len(o["contacting_relationship"]), 1, key)

    def test_attention_matches_drawn_head(self):
        """Face hidden (head drawn from behind, no skin) <=> 'unsure'; visible face otherwise."""
        checked = {"unsure": 0, "seen": 0}
        for key, objs in self.objects.items():
            p = self.persons[key]
            vis = [o for o in objs if o["visible"]]
            if p["bbox"].shape[0] == 0 or not vis:
                continue
            att = {o["attention_relationship"][0] for o in vis}
            self.assertEqual(len(att & {"unsure"}) == 0 or att == {"unsure"}, True, f"{key}: {att}")
            if any(
                o["contacting_relationship"]
                and {"drinking_from", "eating"} & set(o["contacting_relationship"])
                for o in vis
            ):
                continue  # the cup / food covers part of the face
            img = np.asarray(
                Image.open(os.path.join(self.root, "frames", key)).convert("RGB")
            ).astype(int)
            hx, hy = np.round(p["keypoints"][0, 0, :2]).astype(int).tolist()
            crop = img[max(0, hy - 6) : hy + 7, max(0, hx - 6) : hx + 7].reshape(-1, 3)
            skin = (np.abs(crop - SKIN).sum(1) < 30).mean()
            if att == {"unsure"}:
                self.assertLess(skin, 0.05, key)
                checked["unsure"] += 1
            else:
                self.assertGreater(skin, 0.25, key)
                checked["seen"] += 1
        self.assertGreater(checked["unsure"], 0)
        self.assertGreater(checked["seen"], 20)

    def test_attention_follows_from_pixels(self):
        """Facing read from the head pixels + object position reproduce the attention labels."""
        checked, facings = 0, set()
        for key, objs in self.objects.items():
            p = self.persons[key]
            vis = [o for o in objs if o["visible"]]
            if p["bbox"].shape[0] == 0 or not vis:
                continue
            hx, hy = p["keypoints"][0, 0, :2].tolist()
            head = (hx - 9, hy - 9, hx + 9, hy + 9)
            if any(
                "in_front_of" in o["spatial_relationship"]
                and _xyxy(o["bbox"])[0] < head[2]
                and _xyxy(o["bbox"])[2] > head[0]
                and _xyxy(o["bbox"])[1] < head[3]
                and _xyxy(o["bbox"])[3] > head[1]
                for o in vis
            ):
                continue  # something drawn over the head
            img = np.asarray(Image.open(os.path.join(self.root, "frames", key)).convert("RGB"))
            x0, y0 = int(round(hx)), int(round(hy))
            crop = img[y0 - 7 : y0 + 8, x0 - 7 : x0 + 8].astype(int)
            skin = np.abs(crop - SKIN).sum(2) < 30
            left, right = skin[:, :6].sum(), skin[:, 9:].sum()
            if left + right < 10:
                facing = "back"
            elif right > 2 * left:
                facing = "right"
            elif left > 2 * right:
                facing = "left"
            else:
                facing = "front"
            for o in vis:
                x1, _, x2, _ = _xyxy(o["bbox"])
                att = o["attention_relationship"][0]
                if facing == "back":
                    expected = "unsure"
                elif facing == "front":
                    front = "in_front_of" in o["spatial_relationship"]
                    expected = "looking_at" if front else "not_looking_at"
                else:
                    d = (1 if facing == "right" else -1) * ((x1 + x2) / 2 - hx)
                    if abs(d - 6) < 3:
                        continue  # within the keypoint jitter of the 6-unit gaze margin
                    expected = "looking_at" if d > 6 else "not_looking_at"
                self.assertEqual(att, expected, f"{key} {o['class']} facing {facing}")
                checked += 1
                facings.add(facing)
        self.assertGreater(checked, 50)
        self.assertEqual(facings, {"left", "right", "front", "back"})


class TestScripting(unittest.TestCase):
    def test_frames_sampled_inside_action_intervals(self):
        fps_seen = set()
        for i in range(60):
            v = script_video(np.random.default_rng([5, i, 0]), "ABCDE", "train")
            fps_seen.add(v.fps)
            frames = sample_frames(v)
            self.assertGreater(len(frames), 0)
            self.assertLessEqual(len(frames), FRAMES_PER_ACTION * len(v.actions))
            for n, acts in frames.items():
                t = (n - 1) / v.fps
                for a in acts:
                    act = v.actions[a]
                    self.assertTrue(
                        act.start - 1.0 / v.fps <= t <= act.end + 1.0 / v.fps, (v.vid, n, act)
                    )
            names = [o.name for o in v.objects]
            self.assertEqual(len(names), len(set(names)), "one instance per class per video")
            self.assertTrue(1 <= len(v.actions) <= 3)
            self.assertTrue(
                any(not o.annotated for o in v.objects)
                or len(v.objects) == sum(o.annotated for o in v.objects)
            )
        self.assertEqual(fps_seen, {24, 25, 30})


if __name__ == "__main__":
    unittest.main()
