#!/usr/bin/env python3
"""Summarise criterion results of the strongroom benches as markdown tables.

Reads <target>/criterion/<group>/<bench>/new/{benchmark,estimates}.json and
prints, per group, the median time and throughput of every benchmark and its
ratio to the group's peer (raw aws-lc-rs, 1 thread), measured in the same
`cargo bench` run, plus the 2-thread/1-thread ratio of every pair.

Usage: benches/summarize.py [--target DIR] [GROUP_PREFIX ...]
Standard library only.
"""

import argparse
import json
import os
import subprocess
import sys

PEERS = {
    "encrypt": "raw-aws-lc/seal-in-place-16k/1t",
    "decrypt": "raw-aws-lc/open-in-place-16k/1t",
}


def target_dir():
    if os.environ.get("CARGO_TARGET_DIR"):
        return os.environ["CARGO_TARGET_DIR"]
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            cwd=here, capture_output=True, check=True, text=True,
        ).stdout
        return json.loads(out)["target_directory"]
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError):
        return os.path.join(os.path.dirname(here), "target")


def load(root):
    """Yields (group, function, median_ns, bytes_or_None) for every result."""
    for dirpath, _dirs, files in os.walk(root):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            bench = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            est = json.load(f)
        throughput = (bench.get("throughput") or {}).get("Bytes")
        yield (bench["group_id"], bench["function_id"],
               est["median"]["point_estimate"], throughput,
               os.path.getmtime(os.path.join(dirpath, "estimates.json")))


def fmt_time(ns):
    if ns >= 1e9:
        return f"{ns / 1e9:.3f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    return f"{ns / 1e3:.1f} µs"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", help="cargo target directory (default: from cargo metadata)")
    ap.add_argument("groups", nargs="*", help="only groups starting with these prefixes")
    args = ap.parse_args()
    root = os.path.join(args.target or target_dir(), "criterion")
    if not os.path.isdir(root):
        sys.exit(f"summarize.py: no criterion results under {root}; run cargo bench first")

    groups = {}
    for group, func, median, nbytes, mtime in load(root):
        if args.groups and not any(group.startswith(p) for p in args.groups):
            continue
        groups.setdefault(group, {})[func] = (median, nbytes, mtime)

    for group in sorted(groups):
        results = groups[group]
        peer_name = next((p for k, p in PEERS.items() if group.startswith(k)), None)
        peer = results.get(peer_name)
        print(f"\n### {group}\n")
        if peer_name:
            print(f"Peer: `{peer_name}` (same run). GB/s = 10^9 bytes/s, from the median time.\n")
            print("| benchmark | median time | GB/s | GiB/s | vs peer | 2t / 1t |")
            print("|---|---:|---:|---:|---:|---:|")
        else:
            print("| benchmark | median time |")
            print("|---|---:|")
        for func in sorted(results, key=lambda f: (not f.startswith("raw"), f)):
            median, nbytes, _ = results[func]
            if not peer_name:
                print(f"| `{func}` | {fmt_time(median)} |")
                continue
            gbs = nbytes / median if nbytes else float("nan")
            vs_peer = f"{peer[0] / median:.2f}" if peer else "n/a"
            scaling = ""
            if func.endswith("/2t"):
                one = results.get(func[:-2] + "1t")
                if one:
                    scaling = f"{one[0] / median:.2f}"
            print(f"| `{func}` | {fmt_time(median)} | {gbs:.2f} | {gbs / 1.073741824:.2f} | {vs_peer} | {scaling} |")
        newest = max(r[2] for r in results.values())
        oldest = min(r[2] for r in results.values())
        if newest - oldest > 3600:
            print("\nWarning: these results come from runs more than an hour apart.")


if __name__ == "__main__":
    main()
