#!/usr/bin/env python
"""Are training runs bit-identical? Repeats and environment variations of a short detector run.

    python bench/reproducibility.py --data /tmp/ag_synth_small [--iters 20] [--out /tmp/repro]

Trains the synthetic detector config (``configs/Synthetic/faster_rcnn_R_50n_FPN_adamw_synth.yaml``)
for ``--iters`` iterations in one process, from the same seed, once per setting below, each in a
fresh child process, and compares the final weights with the first run's (SHA-256 of all tensors,
largest absolute parameter difference, relative L2 distance). Settings: a repeat of the baseline;
the ATen CPU kernels of another instruction set (``ATEN_CPU_CAPABILITY``), oneDNN limited to
AVX2 (``ONEDNN_MAX_CPU_ISA``), 2 torch threads, another Python hash seed, 0 or 2 data-loader
workers. The dataset must exist (a world written by ``ag_detectron.data.synthetic.generate``,
e.g. by ``tools/demo.py --videos 8``).
Results go to docs/reproducibility.md by hand.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys

import torch

_CHILD = r"""
import json, os, sys
import torch
from detectron2.utils.env import seed_all_rng
import ag_detectron.modeling  # noqa: F401
from ag_detectron.engine import Trainer
from ag_detectron.config import get_ag_cfg
from ag_detectron.pipeline.synthetic import register_synthetic_splits
from ag_detectron.pipeline.training import schedule_overrides

data, out = sys.argv[1:3]
iters, threads, workers = (int(v) for v in sys.argv[3:6])
torch.set_num_threads(threads)
register_synthetic_splits(data, "repro_train", "repro_test", "repro_test_all_drawn")
overrides = {
    "DATASETS.TRAIN": ("repro_train",), "DATASETS.TEST": (), "OUTPUT_DIR": out,
    "DATALOADER.NUM_WORKERS": workers, **schedule_overrides(iters)}
cfg = get_ag_cfg("configs/Synthetic/faster_rcnn_R_50n_FPN_adamw_synth.yaml",
                 [x for kv in overrides.items() for x in kv])
seed_all_rng(cfg.SEED)
trainer = Trainer(cfg)
trainer.resume_or_load(resume=False)
trainer.train()
loss = trainer.storage.history("total_loss").latest()
print(json.dumps({"loss": loss, "capability": torch.backends.cpu.get_cpu_capability()}))
"""

SETTINGS = [
    ("baseline", {}, 1, 1),
    ("baseline, repeated", {}, 1, 1),
    ("ATEN_CPU_CAPABILITY=avx2", {"ATEN_CPU_CAPABILITY": "avx2"}, 1, 1),
    ("ATEN_CPU_CAPABILITY=default", {"ATEN_CPU_CAPABILITY": "default"}, 1, 1),
    ("ONEDNN_MAX_CPU_ISA=AVX2", {"ONEDNN_MAX_CPU_ISA": "AVX2"}, 1, 1),
    ("2 torch threads", {}, 2, 1),
    ("PYTHONHASHSEED=123", {"PYTHONHASHSEED": "123"}, 1, 1),
    ("0 data-loader workers", {}, 1, 0),
    ("2 data-loader workers", {}, 1, 2),
]


def _weights(path: str):
    state = torch.load(path, map_location="cpu", weights_only=False)["model"]
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode())
        h.update(state[k].contiguous().numpy().tobytes())
    return state, h.hexdigest()[:16]


def _distance(state, base) -> dict:
    """Largest absolute parameter difference and the relative L2 distance of all parameters
    (BatchNorm running statistics excluded: they are buffers, not learned)."""
    keys = [k for k in base if base[k].is_floating_point() and "running_" not in k]
    diff = [(state[k].double() - base[k].double()) for k in keys]
    num = sum(float((d * d).sum()) for d in diff)
    den = sum(float((base[k].double() ** 2).sum()) for k in keys)
    return {
        "max_abs_param_diff": max(float(d.abs().max()) for d in diff),
        "rel_l2_param_diff": (num / den) ** 0.5,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--out", default="/tmp/ag_repro")
    p.add_argument("--only", default=None, help="comma-separated setting indices")
    args = p.parse_args(argv)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    chosen = SETTINGS if args.only is None else [SETTINGS[int(i)] for i in args.only.split(",")]
    base = None
    for i, (name, env, threads, workers) in enumerate(chosen):
        out = os.path.join(args.out, f"run{i}")
        run_env = dict(os.environ, OMP_NUM_THREADS=str(threads), **env)
        res = subprocess.run(
            [
                sys.executable,
                "-c",
                _CHILD,
                os.path.abspath(args.data),
                out,
                str(args.iters),
                str(threads),
                str(workers),
            ],
            env=run_env,
            cwd=repo,
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            print(json.dumps({"setting": name, "error": res.stderr[-2000:]}))
            continue
        info = json.loads(res.stdout.strip().splitlines()[-1])
        state, digest = _weights(os.path.join(out, "model_final.pth"))
        if base is None:
            base = state
        record = {
            "setting": name,
            "weights_sha256": digest,
            **_distance(state, base),
            "final_loss": round(info["loss"], 6),
            "aten_capability": info["capability"],
        }
        print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
