import unittest

import numpy as np
import torch

from ag_detectron.modeling.relation_heads.losses import (
    attention_loss,
    contrastive_hinge,
    graphical_contrastive_losses,
    multilabel_loss,
    multilabel_margin_targets,
    related_loss,
)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class TestPredicateLosses(unittest.TestCase):
    def test_attention_ce_skips_unlabelled(self):
        logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, 0.0, 3.0], [9.0, -9.0, 0.0]])
        targets = torch.tensor([[0.0, 1, 0], [1, 0, 0], [0, 0, 0]])
        x = logits.numpy()[:2]
        logsm = x - np.log(np.exp(x).sum(1, keepdims=True))
        expected = -(logsm[0, 1] + logsm[1, 0]) / 2
        self.assertAlmostEqual(float(attention_loss(logits, targets)), expected, places=5)

    def test_attention_no_label_is_connected_zero(self):
        logits = torch.randn(2, 3, requires_grad=True)
        loss = attention_loss(logits, torch.zeros(2, 3))
        self.assertEqual(float(loss), 0.0)
        loss.backward()
        self.assertEqual(float(logits.grad.abs().sum()), 0.0)

    def test_bce(self):
        logits = torch.tensor([[0.5, -1.0, 2.0], [0.0, 1.5, -0.5]])
        targets = torch.tensor([[1.0, 0, 1], [0, 0, 1]])
        p = _sigmoid(logits.numpy())
        t = targets.numpy()
        expected = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()
        self.assertAlmostEqual(float(multilabel_loss(logits, targets, "bce")), expected, places=5)

    def test_margin_targets(self):
        mh = torch.tensor([[0.0, 1, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]])
        self.assertEqual(
            multilabel_margin_targets(mh).tolist(), [[1, 3, -1, -1], [-1, -1, -1, -1], [0, 1, 2, 3]]
        )

    def test_margin_on_sigmoid(self):
        logits = torch.tensor([[0.5, -1.0, 2.0, 0.1], [0.0, 1.5, -0.5, 0.3]])
        targets = torch.tensor([[1.0, 0, 1, 0], [0, 0, 1, 0]])
        p = _sigmoid(logits.numpy())
        t = targets.numpy()
        per_sample = []
        for row, trow in zip(p, t):
            pos = [j for j in range(4) if trow[j] > 0]
            neg = [i for i in range(4) if trow[i] == 0]
            per_sample.append(sum(max(0.0, 1 - (row[j] - row[i])) for j in pos for i in neg) / 4)
        expected = float(np.mean(per_sample))
        self.assertAlmostEqual(
            float(multilabel_loss(logits, targets, "margin")), expected, places=5
        )

    def test_unknown_loss_type(self):
        with self.assertRaises(ValueError):
            multilabel_loss(torch.zeros(1, 2), torch.zeros(1, 2), "focal")

    def test_empty(self):
        for lt in ("bce", "margin"):
            self.assertEqual(float(multilabel_loss(torch.zeros(0, 6), torch.zeros(0, 6), lt)), 0.0)
        self.assertEqual(float(related_loss(torch.zeros(0), torch.zeros(0, dtype=torch.bool))), 0.0)

    def test_related(self):
        x = torch.tensor([1.0, -2.0])
        p = _sigmoid(x.numpy())
        expected = -(np.log(p[0]) + np.log(1 - p[1])) / 2
        self.assertAlmostEqual(
            float(related_loss(x, torch.tensor([True, False]))), expected, places=5
        )


def _loop_hinge(pos, neg, margin):
    """Reference: {key: [values]} dicts -> mean hinge over keys with both sides."""
    keys = [k for k in pos if k in neg]
    if not keys:
        return 0.0
    return float(np.mean([max(0.0, margin - (min(pos[k]) - max(neg[k]))) for k in keys]))


class TestContrastive(unittest.TestCase):
    def test_hinge_by_hand(self):
        loss = contrastive_hinge(
            torch.tensor([0.9, 0.6]),
            torch.tensor([0, 0]),
            torch.tensor([0.5, 0.7]),
            torch.tensor([0, 1]),
            2,
            0.2,
        )
        self.assertAlmostEqual(float(loss), 0.1, places=6)

    def test_hinge_no_valid_key(self):
        pos = torch.tensor([0.9], requires_grad=True)
        loss = contrastive_hinge(
            pos, torch.tensor([0]), torch.tensor([0.1]), torch.tensor([1]), 2, 0.2
        )
        self.assertEqual(float(loss), 0.0)
        loss.backward()

    def test_graphical_against_loop_reference(self):
        g = torch.Generator().manual_seed(3)
        # Two images: entities 0..4 (persons 0, 1) and 5..8 (person 5).
        classes = torch.tensor([0, 0, 3, 3, 7, 0, 3, 7, 7])
        pairs = torch.tensor(
            [[0, 2], [0, 3], [0, 4], [1, 2], [1, 3], [1, 4], [5, 6], [5, 7], [5, 8]]
        )
        related = torch.randn(len(pairs), generator=g, requires_grad=True)
        probs = torch.rand(len(pairs), 5, generator=g)
        is_pos = torch.tensor([True, False, True, False, True, False, True, True, False])
        multi_hot = (torch.rand(len(pairs), 5, generator=g) > 0.5).float() * is_pos[:, None]
        margins, weights = (0.2, 0.3, 0.4), (1.0, 0.5, 0.1)
        out = graphical_contrastive_losses(
            pairs, classes, related, probs, is_pos, multi_hot, 8, margins, weights
        )
        phi = torch.sigmoid(related).detach().numpy()
        ref = [0.0, 0.0, 0.0]
        for a, b in ((0, 1), (1, 0)):
            groups = [dict(pos={}, neg={}) for _ in range(3)]
            for i in range(len(pairs)):
                anchor, partner = int(pairs[i, a]), int(pairs[i, b])
                side = "pos" if is_pos[i] else "neg"
                groups[0][side].setdefault(anchor, []).append(phi[i])
                groups[1][side].setdefault((anchor, int(classes[partner])), []).append(phi[i])
                for e in range(5):
                    if side == "neg" or multi_hot[i, e] > 0:
                        groups[2][side].setdefault((anchor, e), []).append(float(probs[i, e]))
            for k in range(3):
                ref[k] += _loop_hinge(groups[k]["pos"], groups[k]["neg"], margins[k])
        names = ("entity", "class", "predicate")
        for k, name in enumerate(names):
            self.assertAlmostEqual(
                float(out[f"loss_rel_contrastive_{name}"]), weights[k] * ref[k], places=5, msg=name
            )
        sum(out.values()).backward()
        self.assertTrue(torch.isfinite(related.grad).all())
        self.assertGreater(float(related.grad.abs().sum()), 0.0)


if __name__ == "__main__":
    unittest.main()
