import importlib.util
import json
import os
import tempfile
import unittest

import av
import numpy as np
from PIL import Image

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "dump_frames.py")
_spec = importlib.util.spec_from_file_location("dump_frames", _PATH)
dump_frames = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dump_frames)


def write_video(path: str, num_frames: int, fps: int) -> None:
    """Frame i (1-based) is a flat grey of level 20 * i, so decoded indices can be checked."""
    with av.open(path, "w") as c:
        s = c.add_stream("mpeg4", rate=fps)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(1, num_frames + 1):
            img = np.full((48, 64, 3), 20 * i, dtype=np.uint8)
            for packet in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)


class TestDumpFrames(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        os.makedirs(os.path.join(self.root, "videos"))
        os.makedirs(os.path.join(self.root, "annotations"))
        write_video(os.path.join(self.root, "videos", "AAAAA.mp4"), 10, 25)
        write_video(os.path.join(self.root, "videos", "BBBBB.mp4"), 4, 30)
        with open(os.path.join(self.root, "videos", "CCCCC.mp4"), "wb") as f:
            f.write(b"not a video")
        self.keys = [
            "AAAAA.mp4/000002.png",
            "AAAAA.mp4/000005.png",
            "AAAAA.mp4/000009.png",
            "BBBBB.mp4/000001.png",
        ]

    def tearDown(self):
        self.tmp.cleanup()

    def _frame_list(self, keys):
        with open(os.path.join(self.root, "annotations", "frame_list.txt"), "w") as f:
            f.write("".join(k + "\n" for k in keys))

    def test_extract_resume_and_fps(self):
        self._frame_list(self.keys)
        self.assertEqual(dump_frames.main(["--root", self.root, "--quiet"]), 0)
        out = os.path.join(self.root, "frames")
        self.assertEqual(
            sorted(os.listdir(os.path.join(out, "AAAAA.mp4"))),
            ["000002.png", "000005.png", "000009.png"],
        )
        for n in (2, 5, 9):
            level = np.asarray(Image.open(os.path.join(out, "AAAAA.mp4", f"{n:06d}.png"))).mean()
            self.assertAlmostEqual(level, 20 * n, delta=6)  # 1-based: frame n is the n-th frame
        with open(os.path.join(self.root, "annotations", "video_fps.json")) as f:
            self.assertEqual(json.load(f), {"AAAAA": 25.0, "BBBBB": 30.0})
        # resumable: existing frames are not rewritten; a deleted one is restored
        path5 = os.path.join(out, "AAAAA.mp4", "000005.png")
        os.remove(os.path.join(out, "AAAAA.mp4", "000002.png"))
        mtime = os.stat(path5).st_mtime_ns
        self.assertEqual(dump_frames.main(["--root", self.root, "--quiet"]), 0)
        self.assertEqual(os.stat(path5).st_mtime_ns, mtime)
        self.assertTrue(os.path.exists(os.path.join(out, "AAAAA.mp4", "000002.png")))
        self.assertFalse(
            [f for f in os.listdir(os.path.join(out, "AAAAA.mp4")) if f.startswith(".tmp")]
        )

    def test_missing_unreadable_short(self):
        self._frame_list(
            self.keys + ["CCCCC.mp4/000001.png", "DDDDD.mp4/000001.png", "BBBBB.mp4/000007.png"]
        )
        with self.assertLogs("dump_frames", level="WARNING") as logs:
            self.assertEqual(dump_frames.main(["--root", self.root, "--quiet"]), 1)
        text = "\n".join(logs.output)
        self.assertIn("missing video", text)
        self.assertIn("DDDDD.mp4", text)
        self.assertIn("unreadable video", text)
        self.assertIn("CCCCC.mp4", text)
        self.assertIn("BBBBB.mp4 ends before listed frames [7]", text)
        self.assertEqual(dump_frames.main(["--root", self.root, "--quiet", "--allow-missing"]), 0)

    def test_all_frames(self):
        self._frame_list(["BBBBB.mp4/000001.png"])
        self.assertEqual(dump_frames.main(["--root", self.root, "--quiet", "--all-frames"]), 0)
        self.assertEqual(len(os.listdir(os.path.join(self.root, "frames", "BBBBB.mp4"))), 4)


if __name__ == "__main__":
    unittest.main()
