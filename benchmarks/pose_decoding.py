"""The same trained pose model evaluated with each sub-pixel decoding (docs/pose.md, DARK).

Reads a training run's ``OUT/config.yaml`` and ``OUT/model.keras`` and runs the task's own
evaluation once per ``eval.decoding`` ("standard": argmax + quarter offset; "dark": DarkPose's
Taylor step on the log of the modulated heatmaps), printing a Markdown table of the COCO stats.

    python train/pose.py --dataset synthetic --out runs/pose/demo          # the CPU demo, 128x96
    python benchmarks/pose_decoding.py runs/pose/demo
"""

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a training output folder (config.yaml, model.keras)")
    parser.add_argument("--decodings", default="standard,dark")
    parser.add_argument("--blur-kernel", type=int, default=11)
    args = parser.parse_args(argv)

    import hrnet_tf
    from hrnet_tf.evaluation import evaluate
    from hrnet_tf.pose.task import PoseConfig, PoseTask
    from hrnet_tf.training.config import load_config

    config = load_config(os.path.join(args.run, "config.yaml"), PoseConfig)
    model = hrnet_tf.load_model(os.path.join(args.run, "model.keras"))
    task = PoseTask()
    data = task.load_data(config)
    rows = {}
    for decoding in args.decodings.split(","):
        cfg = replace(config, eval=replace(config.eval, decoding=decoding,
                                           blur_kernel=args.blur_kernel))
        metrics, _ = evaluate(model, task.build_evaluator(cfg, data))
        rows[decoding] = {k: v for k, v in metrics.items() if isinstance(v, float)}
    keys = list(next(iter(rows.values())))
    print(f"| decoding | {' | '.join(keys)} |")
    print(f"|---|{'---|' * len(keys)}")
    for decoding, stats in rows.items():
        print(f"| {decoding} | {' | '.join(f'{stats[k]:.3f}' for k in keys)} |")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
