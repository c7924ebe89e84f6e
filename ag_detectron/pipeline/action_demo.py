"""The stages of the action-recognition half of ``make demo`` (docs/feature_bank.md "Demo").

:class:`ActionDemo` holds the run's settings; each ``stage_*`` method is one demo stage:

- ``clip``:     train and test the 3D CNN alone (``Synthetic/clip_classifier_demo_synth.yaml``)
- ``banks``:    the LFB bank (the 3D CNN's S at 2 clips/s; also the heads' precomputed clip
                features), the scene-graph bank (the scene-graph half's RelDN in SGDet mode at 2
                frames/s) and the oracle bank (Action Genome ground truth)
- ``heads``:    LFB / SGFB / SGFB Oracle x avg / max / nl on the frozen 3D CNN, each over
                ``head_seeds`` training seeds
- ``few_shot``: the few-shot table (per split seed: base 3D CNN without novel videos, its LFB bank
                over the k-shot and test videos, the three heads per k)
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog, MetadataCatalog

from .actions import (
    HEAD_METHODS,
    TrainJob,
    cfg_with,
    clip_shape_overrides,
    extract_cached,
    log_to_files_only,
    register_charades_splits,
    train_jobs,
)
from .cache import StageCache, digest

__all__ = ["ActionDemo", "CLIP_CONFIG", "action_report"]

logger = logging.getLogger(__name__)

CLIP_CONFIG = "configs/Synthetic/clip_classifier_demo_synth.yaml"


@dataclass
class ActionDemo:
    """Settings of the action half (paths relative to the repository root ``repo``).

    Attributes:
        repo: repository root (configs).
        output: run directory of this half (``output/demo/actions``).
        data: the synthetic dataset root.
        log_file: the demo's log file.
        ag_datasets: the registered Action Genome splits of ``data`` (oracle bank).
        sg_config, sg_weights: the scene-graph model (any mode; SGDet is used) and its weights.
        clip_iters, head_iters, base_iters: schedule overrides (None: the configs').
        head_seeds: training seeds of every head (the table shows mean ± std over them).
        fbos: feature-bank operators of the main table.
        few_shot_seeds, few_shot_fbo: split seeds and the FBO of the few-shot heads.
        rate: bank entries per second.
        few_shot_head_seeds: training seeds of every few-shot head (a split seed's score is
            their mean).
        few_shot_head_iters: schedule of the few-shot heads (None: the configs').
        num_procs: trainings and extraction processes run at once (one thread each).
        run_logger: where the per-stage result lines go (the demo's console logger).
    """

    repo: str
    output: str
    data: str
    log_file: str
    ag_datasets: Sequence[str]
    sg_config: str
    sg_weights: str
    clip_iters: Optional[int] = None
    head_iters: Optional[int] = None
    base_iters: Optional[int] = None
    head_seeds: Sequence[int] = (0, 1, 2)
    fbos: Sequence[str] = ("avg", "max", "nl")
    few_shot_seeds: Sequence[int] = (0, 1, 2, 3, 4)
    few_shot_fbo: str = "max"
    rate: float = 2.0
    few_shot_head_seeds: Sequence[int] = (0,)
    few_shot_head_iters: Optional[int] = None
    num_procs: int = 2
    run_logger: logging.Logger = logger
    train: str = "demo_charades_train"
    test: str = "demo_charades_test"
    trained: List[str] = field(default_factory=list)

    # ------------------------------------------------------------------ helpers
    @property
    def cache(self) -> StageCache:
        """This half's stage cache (``<output>/stages.json``), read afresh at each use: the
        background pre-training process (:meth:`start_pretraining`) records stages in it too."""
        os.makedirs(self.output, exist_ok=True)
        return StageCache(os.path.join(self.output, "stages.json"))

    def path(self, *parts: str) -> str:
        return os.path.join(self.output, *parts)

    def setup(self) -> functools.partial:
        """Picklable registration of the Charades splits (spawned training processes)."""
        return functools.partial(register_charades_splits, os.path.abspath(self.data), *self.splits)

    @property
    def splits(self) -> Sequence[str]:
        return (self.train, self.test)

    def config(self, rel: str) -> str:
        return os.path.join(self.repo, rel)

    def clip_cfg(self, out: str, train: Optional[str] = None, iters: Optional[int] = None):
        return cfg_with(
            self.config(CLIP_CONFIG),
            {
                "DATASETS.TRAIN": (train or self.train,),
                "DATASETS.TEST": (self.test,),
                "OUTPUT_DIR": out,
            },
            iters,
        )

    def head_cfg(
        self, method: str, fbo: str, out: str, weights: str, banks: Dict[str, str], seed: int
    ) -> CfgNode:
        """A head config: the method's synthetic leaf with this FBO, the demo 3D CNN's shape,
        its frozen weights, the method's bank and the precomputed clip features."""
        shape = clip_shape_overrides(self.clip_cfg(self.path("clip")))
        bank = {"LFB": banks["lfb"], "SGFB": banks["scene_graph"], "SGFB Oracle": banks["oracle"]}
        return cfg_with(
            self.config(HEAD_METHODS[method][0].format(fbo=fbo)),
            {
                **shape,
                "DATASETS.TRAIN": (self.train,),
                "DATASETS.TEST": (self.test,),
                "MODEL.WEIGHTS": weights,
                "MODEL.SGFB.BANK_DIR": bank[method],
                "MODEL.SGFB.BANK_DIM": 0,
                "MODEL.SGFB.CLIP_FEATURE_BANK": banks["lfb"],
                "MODEL.SGFB.FREEZE_BACKBONE": True,
                "DATALOADER.NUM_WORKERS": 0,  # no decoding: two bank reads per clip
                "TEST.CHARADES.SAVE_PLOT": False,
                "SEED": seed,
                "OUTPUT_DIR": out,
            },
            self.head_iters,
        )

    # ------------------------------------------------------------------ stages
    def stage_clip(self, data_key: str) -> Dict[str, Any]:
        """Train and test the 3D CNN alone."""
        self.setup()()
        cfg = self.clip_cfg(self.path("clip"), iters=self.clip_iters)
        job = TrainJob("actions/clip", cfg, (data_key,), True, self.setup())
        scores = train_jobs(self.cache, [job], self.log_file, ran=self.trained)[job.stage]
        self.run_logger.info(f"  3D CNN alone: mAP {100 * scores['mAP']:.1f}")
        return {"key": job.key, "scores": scores, "weights": job.weights}

    def _videos(self, names: Sequence[str]) -> List[Dict[str, Any]]:
        from ..feature_bank.extract import dataset_dicts

        return dataset_dicts(names)

    def _extract(
        self,
        kind: str,
        cfg: CfgNode,
        bank_dir: str,
        videos: List[Dict[str, Any]],
        batch: int,
        procs: int,
    ) -> None:
        """``tools/extract_feature_bank.py``'s worker in ``procs`` CPU processes (the videos
        split between them, one thread each; 1 = here, no start-up cost), writing ``bank_dir``;
        the producer's config is saved beside it (``<bank_dir>.yaml``)."""
        from ..engine.launch import launch
        from ..feature_bank.extract import ExtractOptions, extract_worker

        cfg_file = bank_dir.rstrip("/") + ".yaml"
        with open(cfg_file, "w") as f:
            f.write(cfg.dump())
        opts = ExtractOptions(rate=self.rate, batch_size=batch, num_workers=1, fsync=False)
        args = (kind, cfg_file, [], [], bank_dir, opts, True, None, [dict(v) for v in videos])
        launch(extract_worker, procs, dist_url="auto", cpu=True, args=args)

    def lfb_bank(
        self,
        stage: str,
        bank_dir: str,
        weights: str,
        key: str,
        videos: List[Dict[str, Any]],
        procs: int = 1,
    ) -> str:
        """The 3D CNN's S at ``rate`` clips/s over ``videos`` (LFB bank = clip features)."""

        def produce():
            cfg = cfg_with(self.config(CLIP_CONFIG), {"MODEL.WEIGHTS": weights})
            self._extract("lfb", cfg, bank_dir, videos, 16, procs)

        vids = sorted(v["video_id"] for v in videos)
        return extract_cached(self.cache, stage, bank_dir, digest(key, self.rate, vids), produce)

    def stage_banks(self, clip: Dict[str, Any], sg_key: str) -> Dict[str, str]:
        """The three banks over every video of both splits (module docstring)."""
        from ..feature_bank.extract import extract_oracle_bank

        self.setup()()
        videos = self._videos(self.splits)
        video_ids = sorted(v["video_id"] for v in videos)
        banks = self.bank_dirs()
        self.lfb_bank(
            "actions/bank_lfb", banks["lfb"], clip["weights"], clip["key"], videos, self.num_procs
        )

        def scene_graph():
            cfg = cfg_with(
                self.config(self.sg_config),
                {"MODEL.WEIGHTS": self.sg_weights, "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE": ""},
            )
            self._extract("scene_graph", cfg, banks["scene_graph"], videos, 8, self.num_procs)

        extract_cached(
            self.cache,
            "actions/bank_scene_graph",
            banks["scene_graph"],
            digest(sg_key, self.rate, video_ids),
            scene_graph,
        )

        def oracle():
            frames = [f for name in self.ag_datasets for f in DatasetCatalog.get(name)]
            meta = MetadataCatalog.get(self.ag_datasets[0])
            return extract_oracle_bank(
                banks["oracle"],
                frames,
                meta.video_fps_file,
                videos=[d["video_id"] for d in videos],
                durations={d["video_id"]: float(d["length"]) for d in videos},
                num_predicates=len(meta.predicate_classes),
            )

        extract_cached(
            self.cache,
            "actions/bank_oracle",
            banks["oracle"],
            digest("oracle", ("file", os.path.join(self.data, "generation.json"))),
            oracle,
        )
        return banks

    def stage_heads(self, clip: Dict[str, Any], banks: Dict[str, str]) -> Dict[str, Any]:
        """Every method x FBO x head seed on the frozen 3D CNN, ``num_procs`` at a time:
        ``{method: {fbo: {seed: scores}}}``."""
        self.setup()()
        bank_keys = tuple(("file", os.path.join(b, "index.json")) for b in sorted(banks.values()))
        jobs = {}
        for method in HEAD_METHODS:
            for fbo in self.fbos:
                for seed in self.head_seeds:
                    name = f"{method.replace(' ', '_').lower()}_{fbo}_s{seed}"
                    cfg = self.head_cfg(
                        method, fbo, self.path("heads", name), clip["weights"], banks, seed
                    )
                    job = TrainJob(f"actions/heads/{name}", cfg, (clip["key"], *bank_keys))
                    jobs[(method, fbo, str(seed))] = job
        scores = train_jobs(
            self.cache,
            list(jobs.values()),
            self.log_file,
            num_procs=self.num_procs,
            desc="heads",
            ran=self.trained,
        )
        out: Dict[str, Any] = {}
        for (method, fbo, seed), job in jobs.items():
            res = scores[job.stage]
            out.setdefault(method, {}).setdefault(fbo, {})[seed] = {
                k: res[k] for k in ("mAP", "mAP_sklearn")
            }
        for method, per_fbo in out.items():
            for fbo, runs in per_fbo.items():
                mean = 100 * np.mean([r["mAP"] for r in runs.values()])
                self.run_logger.info(
                    f"  {method} ({fbo}): mAP {mean:.1f} (mean of {len(runs)} head seeds)"
                )
        return out

    def bank_dirs(self) -> Dict[str, str]:
        """Where :meth:`stage_banks` writes each bank."""
        return {k: self.path("banks", k) for k in ("lfb", "scene_graph", "oracle")}

    def _few_shot_options(self, data_key: str, base_only: bool):
        """The :class:`~.few_shot.FewShotOptions` of the demo (module docstring). The split
        files live in a directory of the dataset's key: splits drawn from other videos would be
        refused (they name videos the dataset does not have)."""
        from .few_shot import FewShotOptions

        out = self.path("few_shot")
        seed_bank = os.path.join(out, "seed{seed}", "lfb_bank")
        shape = clip_shape_overrides(self.clip_cfg(self.path("clip")))
        banks = self.bank_dirs()

        def prepare_seed(seed: int, base_weights: str, split: Dict[str, Any]) -> None:
            wanted = {v for k in split["shots"].values() for v in k["videos"]}
            train_videos = [d for d in self._videos([self.train]) if d["video_id"] in wanted]
            self.lfb_bank(
                f"actions/few_shot/seed{seed}/bank_lfb",
                seed_bank.format(seed=seed),
                base_weights,
                digest(("file", base_weights)),
                train_videos + self._videos([self.test]),
            )

        opts: List[Any] = []
        for k, v in {
            **shape,
            "DATASETS.TRAIN": (self.train,),
            "DATASETS.TEST": (self.test,),
            "MODEL.SGFB.BANK_DIM": 0,
            "DATALOADER.NUM_WORKERS": 0,
            "TEST.CHARADES.SAVE_PLOT": False,
        }.items():
            opts += [k, str(v) if not isinstance(v, str) else v]
        # per method: its bank (the LFB bank is per seed, from that seed's base backbone)
        per_method = {
            "LFB": seed_bank,
            "SGFB": banks["scene_graph"],
            "SGFB Oracle": banks["oracle"],
        }
        method_opts = {}
        os.makedirs(out, exist_ok=True)
        for m, (config, _) in HEAD_METHODS.items():
            method_cfg = cfg_with(
                self.config(config.format(fbo=self.few_shot_fbo)),
                {"MODEL.SGFB.BANK_DIR": per_method[m]},
            )
            path = os.path.join(out, f"{m.replace(' ', '_')}.yaml")
            with open(path, "w") as f:
                f.write(method_cfg.dump())
            method_opts[m] = path
        return FewShotOptions(
            base_config=self.config(CLIP_CONFIG),
            method_configs=method_opts,
            output=out,
            split_dir=os.path.join(out, f"splits_{data_key}"),
            seeds=tuple(self.few_shot_seeds),
            opts=opts + ["MODEL.SGFB.CLIP_FEATURE_BANK", seed_bank, "SEED", "0"],
            base_iters=self.base_iters,
            head_iters=self.few_shot_head_iters,
            prepare_seed=prepare_seed,
            head_seeds=tuple(self.few_shot_head_seeds),
            num_jobs=1 if base_only else self.num_procs,
            base_only=base_only,
        )

    def stage_few_shot(self, data_key: str) -> Dict[str, Any]:
        """The few-shot table (``ag_detectron.pipeline.few_shot``) with the demo's 3D CNN as the
        base model, per-seed LFB banks (= the heads' clip features) from each seed's base
        backbone."""
        from .few_shot import run_few_shot

        self.setup()()
        result = run_few_shot(self._few_shot_options(data_key, base_only=False))
        self.trained += result["trained"]
        return result

    # ------------------------------------------------------------------ background
    def pretrain(self, data_key: str) -> None:
        """Everything of this half that needs neither the scene-graph model nor a bank: the 3D
        CNN and every few-shot seed's base 3D CNN (one process, one thread)."""
        import torch

        torch.set_num_threads(1)
        self.stage_clip(data_key)
        if self.few_shot_seeds:
            from .few_shot import load_split_file, run_few_shot, split_path

            opts = self._few_shot_options(data_key, base_only=True)
            bases = run_few_shot(opts)["base_weights"]
            for seed in self.few_shot_seeds:  # each seed's LFB bank (cached for the foreground)
                split = load_split_file(split_path(opts.split_dir, seed))
                opts.prepare_seed(seed, bases[str(seed)], split)

    def forget(self) -> None:
        """Drop this half's recorded stage keys (``--force``): every stage runs again."""
        for path in (self.path("stages.json"), self.path("few_shot", "stages.json")):
            if os.path.isfile(path):
                os.remove(path)

    def start_pretraining(self, data_key: str):
        """Run :meth:`pretrain` in a forked process (its console output off: the foreground
        stages own the console) while the scene-graph half trains its relation head, a mostly
        single-core job on a 2-core machine. Returns the process; :meth:`join_pretraining`."""
        import multiprocessing

        self.setup()()
        proc = multiprocessing.get_context("fork").Process(
            target=_quiet_call, args=(self.pretrain, data_key), name="action-pretraining"
        )
        proc.start()
        return proc

    @staticmethod
    def join_pretraining(proc) -> None:
        """Wait for :meth:`start_pretraining`'s process; its failure is reported here, and the
        foreground stages then redo (and show) what it did not finish."""
        if proc is None:
            return
        proc.join()
        if proc.exitcode != 0:
            logger.warning(
                "the background pre-training process exited with status %s (see the log "
                "file); its stages run again in the foreground",
                proc.exitcode,
            )


def _quiet_call(fn, *args) -> None:
    """``fn(*args)`` with log records going to the log file only, and no progress bars."""
    import sys

    log_to_files_only()
    sys.stdout = open(os.devnull, "w")
    fn(*args)


def action_report(
    demo: ActionDemo,
    clip: Dict[str, Any],
    heads: Dict[str, Any],
    few_shot: Optional[Dict[str, Any]],
    run_logger: logging.Logger,
) -> Dict[str, Any]:
    """The action half's text (Charades mAP table, few-shot table, orderings) and its JSON
    summary; the text is also logged."""
    from ..evaluation.charades_baselines import charades_baselines
    from .actions import map_table, ordering_lines
    from .few_shot import few_shot_markdown

    demo.setup()()
    labels = {n: np.asarray([v["labels"] for v in DatasetCatalog.get(n)]) for n in demo.splits}
    baselines = charades_baselines(labels[demo.train], labels[demo.test])
    named = {f"baseline: {k.replace('_', ' ')}": v for k, v in baselines.items()}
    num_test = len(labels[demo.test])
    text = (
        f"Action recognition (synthetic Charades test split, {num_test} videos; mAP in %, "
        f"heads: mean ± std over head seeds {list(demo.head_seeds)}):\n\n"
        + map_table(clip["scores"], heads, named)
    )
    if few_shot:
        text += (
            f"\n\nFew-shot (novel-class mAP in %, mean ± std over split seeds "
            f"{list(few_shot['seeds'])}; {few_shot['methods'] and demo.few_shot_fbo} FBO; each "
            f"seed's score is the mean over head seeds {list(demo.few_shot_head_seeds)}):\n\n"
            + "\n".join(few_shot_markdown(few_shot["table"], few_shot["shots"], ("mAP",)))
        )
    lines = ordering_lines(clip["scores"], heads, few_shot)
    text += "\n\nOrderings of the paper's tables on this world:\n" + "\n".join(lines)
    run_logger.info("\n" + text + "\n")
    summary = {
        "clip": {k: clip["scores"][k] for k in ("mAP", "mAP_sklearn")},
        "heads": heads,
        "baselines": baselines,
        "few_shot": None
        if not few_shot
        else {k: few_shot[k] for k in ("seeds", "shots", "table", "runs", "novel_classes")},
        "orderings": lines,
    }
    return {"text": text, "summary": summary}
