"""--videos-mp4: mp4s at the native fps; tools/dump_frames.py re-extracts the AG frames."""

import importlib.util
import json
import os
import shutil
import tempfile
import unittest

import av
import numpy as np
from PIL import Image

from ag_detectron.data.synthetic import generate

_DUMP = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "dump_frames.py")


class TestVideosMp4(unittest.TestCase):
    def test_mp4_and_dump_frames_end_to_end(self):
        tmp = tempfile.mkdtemp(prefix="ag_synth_mp4_")
        try:
            root = os.path.join(tmp, "w")
            generate(root, num_videos=3, seed=4, videos_mp4=True, num_workers=1)
            with open(os.path.join(root, "annotations", "video_fps.json")) as f:
                fps = json.load(f)
            for vid, rate in fps.items():
                with av.open(os.path.join(root, "videos", f"{vid}.mp4")) as c:
                    s = c.streams.video[0]
                    self.assertEqual(float(s.average_rate), rate)
                    self.assertEqual((s.width, s.height), (320, 180))
            spec = importlib.util.spec_from_file_location("dump_frames", _DUMP)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            out = os.path.join(tmp, "dumped")
            self.assertEqual(mod.main(["--root", root, "--frames-dir", out, "--quiet"]), 0)
            n = 0
            for vid in fps:
                for name in sorted(os.listdir(os.path.join(root, "frames", f"{vid}.mp4"))):
                    a = np.asarray(
                        Image.open(os.path.join(root, "frames", f"{vid}.mp4", name)).convert("RGB")
                    )
                    b = np.asarray(Image.open(os.path.join(out, f"{vid}.mp4", name)).convert("RGB"))
                    # same frame up to H.264 loss (a neighbouring frame differs more when moving)
                    self.assertLess(
                        np.abs(a.astype(int) - b.astype(int)).mean(), 3.0, f"{vid} {name}"
                    )
                    n += 1
            self.assertGreater(n, 5)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
