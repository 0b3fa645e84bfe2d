"""Entry point: `python -m harness [options]`, run by scripts/bench.sh
(which builds the binaries and installs the peers first). See
benches/README.md."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from . import databases, fields, files, keys, limits, machine, plots, report
from .common import BenchError, Context, LoadSampler, log, run_process

GROUPS = {"files": files, "fields": fields, "keys": keys, "databases": databases, "limits": limits}
MIB = 1 << 20

# Inputs per mode. Full: the sizes the benchmark targets are stated for.
SIZES = {
    "full": {"files": [1024 * MIB], "memory": [1024 * MIB, 4096 * MIB, 16384 * MIB], "fields": [32, 1024],
             "field_n": [200_000], "db_rows": [1_000_000], "limits_mib": [1024]},
    "quick": {"files": [8 * MIB], "memory": [4 * MIB, 16 * MIB], "fields": [32, 1024],
              "field_n": [2_000], "db_rows": [2_000], "limits_mib": [16]},
}


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/bench.sh", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small inputs, one round, no warm-up")
    ap.add_argument("--only", default="", help=f"comma list among {','.join(GROUPS)} (default: all)")
    ap.add_argument("--out", required=True, help="results folder")
    ap.add_argument("--bin", action="append", default=[], metavar="NAME=PATH", help="a built binary")
    ap.add_argument("--tmpfs-dir", default="/dev/shm", help="work folder in memory (default /dev/shm)")
    ap.add_argument("--disk-dir", required=True, help="work folder on disk")
    ap.add_argument("--rounds", type=int, help="timed rounds (default: 5, quick: 1)")
    ap.add_argument("--command", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    only = [g for g in args.only.split(",") if g] or list(GROUPS)
    unknown = [g for g in only if g not in GROUPS]
    if unknown:
        ap.error(f"unknown group(s) {','.join(unknown)}; choose among {','.join(GROUPS)}")
    mode = "quick" if args.quick else "full"
    rounds = args.rounds or (1 if args.quick else 5)
    if not args.quick and rounds < 5:
        ap.error("the full mode takes the median of at least 5 rounds")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).resolve().parents[2]
    bins: Dict[str, Optional[Path]] = {}
    for b in args.bin:
        name, _, path = b.partition("=")
        bins[name] = Path(path).resolve() if path and os.access(path, os.X_OK) else None
    work: Dict[str, Path] = {}
    for label, d in (("tmpfs", args.tmpfs_dir), ("disk", args.disk_dir)):
        p = Path(d)
        p.mkdir(parents=True, exist_ok=True)
        work[label] = p
    os.environ["PYTHONPATH"] = str(repo / "benches")
    ctx = Context(repo=repo, out=out, work=work, quick=args.quick, rounds=rounds, warmup=0 if args.quick else 1,
                  bins=bins, python=sys.executable, sizes=SIZES[mode])
    for name, path in bins.items():
        if path is None:
            ctx.skip("build", name, "was not built (see the build step's output above)")
    versions = {k: v for k, v in machine.tool_versions(bins).items() if v}
    _, _, probe = run_process([sys.executable, "-m", "harness.pyworker", "probe"], capture=True, cwd=repo / "benches")
    for k, v in json.loads(probe).items():
        versions[f"py:{k}"] = v
    ctx.versions = versions
    fs = machine.describe(work)
    if fs["filesystems"]["disk"]["fstype"] == "tmpfs":  # type: ignore[index]
        ctx.skip("files", "disk", f"{work['disk']} is tmpfs: pass --disk-dir on a disk")
    started = datetime.datetime.now(datetime.timezone.utc)
    failed: List[str] = []
    for g in only:
        log(f"== {g} ==")
        with LoadSampler() as sampler:
            try:
                GROUPS[g].run(ctx)
            except BenchError as e:
                failed.append(f"{g}: {e}")
                ctx.skip(g, "the rest of the group", f"a tool failed: {str(e).splitlines()[0]}")
        ctx.load[g] = sampler.summary()
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"), "mode": mode, "rounds": rounds, "warmup": ctx.warmup,
        "groups": only, "command": args.command or "python -m harness " + " ".join(map(shlex.quote, argv or sys.argv[1:])),
        "git": _git(repo), "machine": fs, "versions": {k: v for k, v in versions.items() if "!" not in v},
    }
    data = report.write_json(ctx, meta, out / "results.json")
    try:
        made = plots.make(data, out)
    except ImportError as e:
        made = []
        ctx.skip("plots", "all", f"matplotlib does not import ({e})")
    report.write_markdown(ctx, meta, data, made, out / "report.md")
    log(f"report: {out / 'report.md'}")
    for f in failed:
        log(f"FAILED {f}")
    return 1 if failed else 0


def _git(repo: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
