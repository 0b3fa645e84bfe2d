"""Checks a results folder written by scripts/bench.sh (used by
scripts/test-bench.sh): report.md, results.json valid against the schema
of benches/README.md (every figure positive, min <= median <= max, every
ratio consistent with the medians of the row and of its reference), at
least one PNG, and the JSON and the markdown telling the same story.

usage: python3 check.py RESULTS_DIR      (exit 0 when all holds; standard library only)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List

REQUIRED = {"tool": str, "version": str, "case": str, "size": int, "runs": int, "median": float, "min": float,
            "max": float, "unit": str}
UNITS = {"s", "ns", "us"}
TOP = {"schema": str, "date": str, "mode": str, "machine": dict, "versions": dict, "results": list,
       "skipped": list, "load": dict}


def check(folder: Path) -> List[str]:
    errors: List[str] = []
    md, js = folder / "report.md", folder / "results.json"
    for f in (md, js):
        if not f.is_file() or f.stat().st_size == 0:
            errors.append(f"{f.name} is missing or empty")
    pngs = [p for p in folder.glob("*.png") if p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"]
    if not pngs:
        errors.append("no PNG plot")
    if errors:
        return errors
    doc = json.loads(js.read_text())
    for k, t in TOP.items():
        if not isinstance(doc.get(k), t):
            errors.append(f"results.json: {k!r} missing or not a {t.__name__}")
    if doc.get("schema") != "strongroom-bench/1":
        errors.append(f"results.json: unknown schema {doc.get('schema')!r}")
    flags = doc.get("machine", {}).get("cpu", {}).get("flags", {})
    for f in ("aes", "vaes", "vpclmulqdq", "avx2", "avx512f", "sha_ni"):
        if f not in flags:
            errors.append(f"results.json: machine.cpu.flags lacks {f}")
    rows = doc.get("results") or []
    if not rows:
        errors.append("results.json: no results")
    index: Dict[tuple, dict] = {}
    for i, r in enumerate(rows):
        where = f"results[{i}] ({r.get('tool')}, {r.get('case')})"
        for k, t in REQUIRED.items():
            v = r.get(k)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) if t is float else isinstance(v, t)
            if not ok:
                errors.append(f"{where}: {k!r} missing or not {t.__name__}")
        if errors:
            continue
        if r["unit"] not in UNITS:
            errors.append(f"{where}: unknown unit {r['unit']!r}")
        if r["runs"] < 1 or r["size"] < 0:
            errors.append(f"{where}: runs/size out of range")
        if not (0 < r["min"] <= r["median"] <= r["max"]):
            errors.append(f"{where}: not 0 < min <= median <= max ({r['min']}, {r['median']}, {r['max']})")
        if "ratio" not in r or not (r["ratio"] is None or (isinstance(r["ratio"], (int, float)) and r["ratio"] > 0)):
            errors.append(f"{where}: ratio must be a positive number or null")
        index[(r["tool"], r["case"], r.get("setting", ""))] = r
    if errors:
        return errors
    for i, r in enumerate(rows):
        where = f"results[{i}] ({r['tool']}, {r['case']}, {r.get('setting')})"
        ref = r.get("reference")
        if r["ratio"] is None:
            if isinstance(ref, dict) and (ref["tool"], ref["case"], ref["setting"]) in index:
                errors.append(f"{where}: no ratio although its reference was measured")
            continue
        if not isinstance(ref, dict):
            errors.append(f"{where}: a ratio without a reference")
            continue
        base = index.get((ref["tool"], ref["case"], ref["setting"]))
        if base is None:
            errors.append(f"{where}: reference {ref} is not among the results")
            continue
        if base["unit"] != r["unit"]:
            errors.append(f"{where}: reference in another unit")
        # The ratio is a median of per-round ratios: it lies between the
        # extremes the two rows' spreads allow, and equals the ratio of the
        # medians when both rows have one run.
        lo, hi = r["min"] / base["max"], r["max"] / base["min"]
        if not (lo * 0.999 <= r["ratio"] <= hi * 1.001):
            errors.append(f"{where}: ratio {r['ratio']:.4f} outside [{lo:.4f}, {hi:.4f}] from the two rows' spreads")
        if r["runs"] == 1 and base["runs"] == 1:
            exact = r["median"] / base["median"]
            if abs(r["ratio"] - exact) > 1e-6 * exact:
                errors.append(f"{where}: ratio {r['ratio']} != median / reference median {exact}")
    text = md.read_text()
    for r in rows:
        if f"| {r['tool']}" not in text:
            errors.append(f"report.md has no row for {r['tool']}")
            break
    for s in doc.get("skipped", []):
        if s.get("tool") not in text:
            errors.append(f"report.md does not name the skipped {s.get('tool')}")
    for p in pngs:
        if p.name not in text:
            errors.append(f"report.md does not show {p.name}")
    return errors


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    errors = check(Path(sys.argv[1]))
    for e in errors:
        print(f"check: {e}", file=sys.stderr)
    if errors:
        return 1
    doc = json.loads((Path(sys.argv[1]) / "results.json").read_text())
    print(f"check: {len(doc['results'])} results, {len(doc['skipped'])} skipped, "
          f"{len(list(Path(sys.argv[1]).glob('*.png')))} plots: all consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
