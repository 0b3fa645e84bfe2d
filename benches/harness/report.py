"""report.md and results.json from what a run measured (the schema is in
benches/README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional

from .common import PEAK_NOTE, Context, stats

SCHEMA = "strongroom-bench/1"

GROUP_TITLES = {
    "files": "Files: encrypt and decrypt a whole file",
    "files-memory": "Files: peak memory as the file grows",
    "fields": "Fields: one value at a time and in batches",
    "keys": "Keys: Argon2id, keyring open, cost of each recipient stanza",
    "databases": "Databases: encrypt one column in place",
    "limits": "Limits: raw AES-256-GCM and memory copy",
}
GROUP_ORDER = ["files", "files-memory", "fields", "keys", "databases", "limits"]


def throughput(unit: str, size: int, size_unit: str, median: float) -> Optional[tuple]:
    """(value, unit) of the row's rate, from its median time."""
    if median <= 0:
        return None
    if unit == "s" and size_unit == "bytes" and size > 0:
        return size / median / 1e6, "MB/s"
    if unit == "ns":
        return 1e3 / median, "M values/s"
    if unit == "us" and size_unit == "rows":
        return 1e6 / median, "rows/s"
    if unit == "s":
        return 1 / median, "runs/s"
    return None


def rows(ctx: Context) -> List[Dict[str, object]]:
    out = []
    for key, spec in ctx.specs.items():
        st = stats(ctx, key)
        if st is None:
            continue
        tp = throughput(spec.unit, spec.size, spec.size_unit, st.median)
        ref = ctx.specs.get(spec.reference or "")
        out.append({
            "group": spec.group, "tool": spec.tool, "version": spec.version, "case": spec.case,
            "setting": spec.where, "threads": spec.threads, "size": spec.size, "size_unit": spec.size_unit,
            "runs": st.runs, "median": st.median, "min": st.min, "max": st.max, "unit": spec.unit,
            "ratio": st.ratio,
            "reference": {"tool": ref.tool, "case": ref.case, "setting": ref.where} if ref else None,
            "throughput": tp[0] if tp else None, "throughput_unit": tp[1] if tp else None,
            "peak_rss_kib": ctx.peaks.get(key), "note": spec.note,
        })
    # Per group and setting: the reference first, then strongroom, then the peers.
    order = {g: i for i, g in enumerate(GROUP_ORDER)}

    def sort_key(r: Dict[str, object]) -> tuple:
        ref = r["reference"] if isinstance(r["reference"], dict) else {}
        own = (ref.get("tool"), ref.get("case"), ref.get("setting")) == (r["tool"], r["case"], r["setting"])
        return (order.get(str(r["group"]), 99), str(r["setting"]), not own,
                not str(r["tool"]).startswith("strongroom"), str(r["tool"]), str(r["case"]))
    out.sort(key=sort_key)
    return out


def write_json(ctx: Context, meta: Dict[str, object], path: Path) -> List[Dict[str, object]]:
    data = rows(ctx)
    doc = dict(meta, schema=SCHEMA, results=data, load=ctx.load,
               skipped=[{"group": g, "tool": t, "reason": r} for g, t, r in ctx.skipped])
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return data


def _fmt_time(v: float, unit: str) -> str:
    if unit == "s":
        return f"{v:.3f} s" if v >= 0.1 else f"{v * 1e3:.2f} ms"
    if unit == "us":
        return f"{v:.2f} µs"
    return f"{v:.1f} {unit}"


def _fmt_size(size: int, size_unit: str) -> str:
    if size_unit == "rows":
        return f"{size:,} rows".replace(",", " ")
    if size >= 1 << 30 and size % (1 << 30) == 0:
        return f"{size >> 30} GiB"
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20} MiB"
    if size >= 1 << 10 and size % (1 << 10) == 0:
        return f"{size >> 10} KiB"
    return f"{size} B"


def _ref(r: Dict[str, object]) -> str:
    ref = r["reference"]
    if not isinstance(ref, dict):
        return ""
    if (ref["tool"], ref["case"], ref["setting"]) == (r["tool"], r["case"], r["setting"]):
        return "(itself)"
    return f"{ref['tool']}, {ref['case']}" + (f" ({ref['setting']})" if ref["setting"] else "")


def write_markdown(ctx: Context, meta: Dict[str, object], data: List[Dict[str, object]], plots: List[str],
                   path: Path) -> None:
    m = meta["machine"]  # type: ignore[index]
    cpu = m["cpu"]  # type: ignore[index]
    lines = [
        f"# strongroom benchmark report ({meta['mode']} mode)",
        "",
        f"Date: {meta['date']}; command: `{meta['command']}`; git: {meta['git']}.",
        "",
        "Each figure is the median of the runs shown after "
        f"{ctx.warmup} warm-up round(s); the tools alternate inside each round in a fresh random order; "
        "**ratio** is the row's time divided by its reference's time, computed pair by pair within each round "
        "(median of those ratios): below 1 is faster than the reference. "
        f"{PEAK_NOTE} Nothing is carried over from an earlier run.",
        "",
        "## Machine",
        "",
        f"- CPU: {cpu['model']}, {cpu['cores']} cores; flags: "
        + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in cpu["flags"].items()),
        f"- memory: {m['memory_gib']} GiB; kernel {m['kernel']}; {m['os']}",
    ]
    for label, fs in m["filesystems"].items():  # type: ignore[union-attr]
        lines.append(f"- work folder {label}: {fs['path']}, {fs['fstype']} on {fs['source']}")
    lines.append("- versions: " + "; ".join(f"{k}: {v}" for k, v in sorted(meta["versions"].items()) if v))
    lines.append("")
    for group in GROUP_ORDER:
        grows = [r for r in data if r["group"] == group]
        skipped = [(t, r) for g, t, r in ctx.skipped if g == group]
        if not grows and not skipped:
            continue
        lines += [f"## {GROUP_TITLES.get(group, group)}", ""]
        load = ctx.load.get(group.split("-")[0])
        if load:
            lines += [f"Load during the group: 1-minute load average {load['load_min']:.2f}–{load['load_max']:.2f}, "
                      f"CPU busy {load['busy_mean_pct']:.0f} % on average (peak {load['busy_max_pct']:.0f} %), "
                      f"{int(load['samples'])} samples.", ""]
        for n in ctx.notes.get(group, []):
            lines += [n, ""]
        if grows:
            lines += ["| tool | case | setting | size | runs | median | min–max | throughput | ratio | reference "
                      "| peak RSS |",
                      "|---|---|---|---:|---:|---:|---|---:|---:|---|---:|"]
            for r in grows:
                tp = f"{r['throughput']:.2f} {r['throughput_unit']}" if r["throughput"] else ""
                ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "n/a"
                peak = f"{r['peak_rss_kib'] / 1024:.1f} MiB" if r["peak_rss_kib"] else ""
                tool = r["tool"]
                lines.append(
                    f"| {tool} | {r['case']} | {r['setting']} | {_fmt_size(r['size'], r['size_unit'])} | {r['runs']} "
                    f"| {_fmt_time(r['median'], r['unit'])} | {_fmt_time(r['min'], r['unit'])}–"
                    f"{_fmt_time(r['max'], r['unit'])} | {tp} | {ratio} | {_ref(r)} | {peak} |")
            lines.append("")
            notes = sorted({(r["tool"], r["note"]) for r in grows if r["note"]})
            if notes:
                lines += ["Notes: " + "; ".join(f"*{t}*: {n}" for t, n in notes) + ".", ""]
        if skipped:
            lines += ["Skipped:", ""] + [f"- {t}: {r}" for t, r in skipped] + [""]
    other = [(g, t, r) for g, t, r in ctx.skipped if g not in GROUP_ORDER]
    if other:
        lines += ["## Skipped elsewhere", ""] + [f"- {g}, {t}: {r}" for g, t, r in other] + [""]
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    path.write_text("\n".join(lines))
