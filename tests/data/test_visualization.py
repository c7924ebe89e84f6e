import os
import tempfile
import unittest
import unittest.mock
from types import SimpleNamespace

import numpy as np
import torch
from detectron2.structures import Boxes, Instances

from ag_detectron.data.datasets import ag_categories as C
from ag_detectron.data.datasets import ag_predicate_metadata
from ag_detectron.utils.ag_fixtures import make_ag_annotations, write_ag_root
from ag_detectron.utils.visualization import (
    draw_scene_graph,
    figure_to_array,
    relation_timeline,
    scene_graph_from_dataset_dict,
    scene_graph_from_model_output,
    scene_graph_from_record,
)

META = SimpleNamespace(thing_classes=list(C.OBJECT_CLASSES), **ag_predicate_metadata(26))


class TestVisualization(unittest.TestCase):
    def _gt(self):
        with tempfile.TemporaryDirectory() as root:
            p, o = make_ag_annotations()
            write_ag_root(root, p, o)
            from ag_detectron.data.datasets import load_action_genome

            return load_action_genome(root, "train", use_cache=False)

    def test_gt_graph_and_drawing(self):
        dicts = self._gt()
        d = [x for x in dicts if x["image_id"] == "001YG.mp4/000095.png"][0]
        g = scene_graph_from_dataset_dict(d, META)
        self.assertEqual(g["labels"], ["person", "chair", "book"])
        self.assertEqual(g["pairs"], [(0, 1), (0, 2)])
        self.assertEqual(g["predicates"][0]["contacting"], [("sitting on", 1.0)])
        img = figure_to_array(
            draw_scene_graph(np.zeros((270, 480, 3), np.uint8), g, title=d["image_id"])
        )
        self.assertEqual(img.ndim, 3)
        self.assertGreater(img.shape[1], 480)  # frame + relation panel
        self.assertGreater(img.std(), 0)

    def test_model_output_graph(self):
        inst = Instances((270, 480))
        inst.pred_boxes = Boxes(
            torch.tensor([[10.0, 10, 100, 200], [50, 50, 90, 90], [200, 20, 260, 80]])
        )
        inst.pred_classes = torch.tensor([0, 7, 4])
        inst.scores = torch.tensor([0.99, 0.9, 0.2])
        rel = Instances((270, 480))
        rel.pair_idx = torch.tensor([[0, 1], [0, 2]])
        rel.attention_scores = torch.tensor([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])
        rel.spatial_scores = torch.zeros(2, 6)
        rel.spatial_scores[0, 1] = 0.7
        rel.contacting_scores = torch.zeros(2, 17)
        rel.contacting_scores[0, 10] = 0.9
        rel.contacting_scores[0, 5] = 0.6
        output = {"instances": inst, "relations": rel}
        g = scene_graph_from_model_output(output, META, score_thresh=0.5)
        # the low-scoring book and its pair are dropped
        self.assertEqual(g["labels"], ["person", "chair"])
        self.assertEqual(g["pairs"], [(0, 1)])
        self.assertEqual([n for n, _ in g["predicates"][0]["attention"]], ["not looking at"])
        self.assertEqual([n for n, _ in g["predicates"][0]["spatial"]], ["beneath"])
        self.assertEqual(
            [n for n, _ in g["predicates"][0]["contacting"]], ["sitting on", "holding"]
        )
        figure_to_array(draw_scene_graph(np.zeros((180, 320, 3), np.uint8), g))
        # the JSON prediction record of the same output selects the same graph
        from ag_detectron.engine.predictions import scene_graph_record

        from_record = scene_graph_from_record(scene_graph_record(output, frame="f"), 0.5, 0.5)
        self.assertEqual(from_record["labels"], g["labels"])
        self.assertEqual(from_record["pairs"], g["pairs"])
        for ours, theirs in zip(from_record["predicates"], g["predicates"]):
            for group in ("attention", "spatial", "contacting"):
                self.assertEqual([n for n, _ in ours[group]], [n for n, _ in theirs[group]])
                np.testing.assert_allclose(
                    [v for _, v in ours[group]], [v for _, v in theirs[group]], atol=1e-4
                )

    def test_timeline(self):
        dicts = [d for d in self._gt() if d["video_id"] == "001YG"]
        fig = relation_timeline(dicts, META)
        labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        self.assertIn("chair: sitting on", labels)
        self.assertIn("book: other relationship", labels)
        self.assertGreater(figure_to_array(fig).size, 0)

    def test_tool(self):
        import importlib.util

        path = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "visualize_data.py")
        spec = importlib.util.spec_from_file_location("visualize_data", path)
        tool = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tool)
        with tempfile.TemporaryDirectory() as root:
            p, o = make_ag_annotations()
            write_ag_root(os.path.join(root, "ag"), p, o, images=True)
            out = os.path.join(root, "vis")
            with unittest.mock.patch.dict(os.environ, {"AG_CACHE": os.path.join(root, "cache")}):
                tool.main(
                    [
                        "--root",
                        os.path.join(root, "ag"),
                        "--split",
                        "train",
                        "--output",
                        out,
                        "--video",
                        "001YG",
                    ]
                )
            self.assertEqual(len(os.listdir(os.path.join(out, "frames"))), 3)
            self.assertEqual(os.listdir(os.path.join(out, "timelines")), ["001YG.png"])


if __name__ == "__main__":
    unittest.main()
