import os
import pickle
import tempfile
import unittest

import numpy as np

from ag_detectron.data.datasets.safe_pickle import safe_load
from ag_detectron.errors import DatasetFormatError


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class TestSafePickle(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def _dump(self, obj, protocol):
        path = os.path.join(self.dir, f"p{protocol}.pkl")
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=protocol)
        return path

    def test_numpy_and_builtins_roundtrip(self):
        obj = {
            "001YG.mp4/000089.png": {
                "bbox": np.array([[24.3, 71.4, 259.2, 268.2]], dtype=np.float32),
                "bbox_score": np.zeros((0,), dtype=np.float32),
                "bbox_size": (480, 270),
                "bbox_mode": "xyxy",
                "score": np.float32(0.5),
                "raw": b"",
                "s": {1, 2},
            }
        }
        for protocol in (2, 4, 5):
            out = safe_load(self._dump(obj, protocol))
            v = out["001YG.mp4/000089.png"]
            np.testing.assert_array_equal(v["bbox"], obj["001YG.mp4/000089.png"]["bbox"])
            self.assertEqual(v["bbox"].dtype, np.float32)
            self.assertEqual(v["bbox_size"], (480, 270))
            self.assertEqual(v["score"], np.float32(0.5))
            self.assertEqual(v["s"], {1, 2})

    def test_malicious_reduce_refused_and_not_executed(self):
        marker = os.path.join(self.dir, "pwned")
        path = self._dump({"k": _Evil(marker)}, 2)
        with self.assertRaises(DatasetFormatError) as ctx:
            safe_load(path)
        msg = str(ctx.exception)
        self.assertIn(path, msg)
        self.assertIn("system", msg)  # the refused global is named (posix.system / nt.system)
        self.assertFalse(os.path.exists(marker))
        # sanity: the same file does execute with plain pickle (so the test can fail)
        with open(path, "rb") as f:
            pickle.load(f)
        self.assertTrue(os.path.exists(marker))

    def test_other_globals_refused(self):
        import collections

        path = self._dump(collections.OrderedDict(a=1), 2)
        with self.assertRaisesRegex(DatasetFormatError, "collections.OrderedDict"):
            safe_load(path)

    def test_missing_and_corrupt(self):
        with self.assertRaisesRegex(DatasetFormatError, "not found"):
            safe_load(os.path.join(self.dir, "nope.pkl"))
        path = self._dump({"a": list(range(100))}, 4)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
        with self.assertRaisesRegex(DatasetFormatError, "not a readable pickle"):
            safe_load(path)


if __name__ == "__main__":
    unittest.main()
