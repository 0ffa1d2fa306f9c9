"""python -m hrnet_tf.presets [--json] [--task TASK] [--fetch NAME ...] [--cache]

Prints the presets (name, task, input size, published metric, hash, whether loadable now); ``--json``
prints them as a JSON list of objects (name, task, url, sha256, hash, metric, sources, ...).
``--fetch`` downloads, verifies and converts presets into the cache now (for machines that will run
offline, with ``HRNET_TF_OFFLINE=1``); ``--cache`` lists what is cached.
"""

import argparse
import json
import sys

from hrnet_tf.presets.table import PRESETS, TASKS


def _table(presets):
    rows = [("name", "task", "input", "published metric", "hash", "loadable")]
    for p in presets:
        hash_text = "-" if p.sha256 is None else (p.sha256[:12] + "..." if len(p.sha256) == 64 else p.sha256)
        rows.append((
            p.name, p.task, "x".join(str(s) for s in p.input_size), f"{p.metric} ({p.dataset})",
            f"{p.hash_kind} {hash_text}", "yes" if p.available else f"no: {p.pending}",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1])


def _cache():
    from hrnet_tf.presets.download import cache_dir

    root = cache_dir()
    print(f"cache: {root}")
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            print(f"  {path.relative_to(root)}  {path.stat().st_size:,} bytes")


def _main(argv):
    parser = argparse.ArgumentParser(prog="python -m hrnet_tf.presets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the table as a JSON list")
    parser.add_argument("--task", choices=TASKS, help="only the presets of this task")
    parser.add_argument("--fetch", nargs="+", metavar="NAME", help="download and convert these now")
    parser.add_argument("--cache", action="store_true", help="list the cached files")
    args = parser.parse_args(argv)

    if args.fetch:
        from hrnet_tf.models.hrnet import from_preset
        from hrnet_tf.presets.weights import available_preset, converted_path

        for name in args.fetch:
            available_preset(name)  # an unknown or not-yet-loadable name fails before any work
        for name in args.fetch:
            from_preset(name)
            print(f"{name}: {converted_path(PRESETS[name])}")
        return
    if args.cache:
        _cache()
        return
    presets = [p for p in PRESETS.values() if args.task in (None, p.task)]
    if args.json:
        json.dump([p.to_json() for p in presets], sys.stdout, indent=2)
        print()
    else:
        _table(presets)


def main(argv=None):
    from hrnet_tf.cli import run

    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
