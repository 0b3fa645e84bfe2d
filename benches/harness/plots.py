"""PNG plots: throughput per tool per case (one chart per group and
setting) and scaling over cores and over sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

Row = Dict[str, object]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _bars(rows: List[Row], title: str, path: Path) -> bool:
    rows = [r for r in rows if r["throughput"]]
    if not rows:
        return False
    plt = _plt()
    labels = [f"{r['tool']} — {r['case']}" + (f" ({r['setting']})" if r["setting"] else "") for r in rows]
    values = [float(r["throughput"]) for r in rows]  # type: ignore[arg-type]
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(rows) + 1.4))
    colors = ["#c0392b" if str(r["tool"]).startswith("strongroom") else "#7f8c8d" for r in rows]
    y = list(range(len(rows)))[::-1]
    ax.barh(y, values, color=colors)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel(str(rows[0]["throughput_unit"]) + " (median; higher is better; strongroom in red)")
    ax.set_title(title, fontsize=10)
    for yy, v in zip(y, values):
        ax.text(v, yy, f" {v:,.0f}" if v >= 100 else f" {v:.3g}", va="center", fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in s.lower()).strip("-").replace("--", "-")


def make(data: List[Row], out: Path) -> List[str]:
    made: List[str] = []
    groups: Dict[Tuple[str, str], List[Row]] = {}
    for r in data:
        if r["group"] == "files-memory":
            continue
        setting = str(r["setting"]) if r["group"] in ("files", "databases") else ""
        if r["group"] == "fields":
            setting = f"{r['size']} B"
        groups.setdefault((str(r["group"]), setting), []).append(r)
    for (group, setting), rows in sorted(groups.items()):
        name = f"{group}{'-' + _slug(setting) if setting else ''}.png"
        title = f"{group}{': ' + setting if setting else ''} — throughput per tool and case"
        if group == "databases":
            rows = sorted(rows, key=lambda r: str(r["tool"]))
        if _bars(rows, title, out / name):
            made.append(name)
    if _cores(data, out / "scaling-cores.png"):
        made.append("scaling-cores.png")
    if _sizes(data, out / "scaling-sizes.png"):
        made.append("scaling-sizes.png")
    return made


def _cores(data: List[Row], path: Path) -> bool:
    """Throughput against threads for every (tool, case, setting) measured
    on more than one thread count."""
    series: Dict[str, List[Tuple[int, float]]] = {}
    for r in data:
        if not r["threads"] or not r["throughput"]:
            continue
        if r["group"] == "fields" and not (str(r["case"]) == "random encrypt, batch" and r["size"] == 32):
            continue  # one line per language: the rest of the table says the same
        setting = str(r["setting"]).split(",")[0] if r["group"] == "fields" else str(r["setting"])
        if r["group"] == "limits":
            setting = ""
        tool = str(r["tool"]).split(",")[0]
        label = f"{r['group']}: {tool} {r['case']}" + (f" ({setting})" if setting else "")
        series.setdefault(label, []).append((int(r["threads"]), float(r["throughput"])))  # type: ignore[arg-type]
    series = {k: sorted(v) for k, v in series.items() if len({t for t, _ in v}) > 1}
    if not series:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 6))
    for label, pts in sorted(series.items()):
        base = pts[0][1]
        ax.plot([t for t, _ in pts], [v / base for _, v in pts], marker="o", label=label)
    ax.set_xlabel("threads")
    ax.set_ylabel("throughput relative to the fewest threads")
    ax.set_title("Scaling over cores (median throughput, each line relative to its 1-thread figure)", fontsize=10)
    ax.legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _sizes(data: List[Row], path: Path) -> bool:
    mem = [r for r in data if r["group"] == "files-memory" and r["peak_rss_kib"]]
    wanted = {"random encrypt, single calls", "random encrypt, batch", "AESGCM encrypt", "Fernet encrypt",
              "AEAD AES256_GCM encrypt", "text encrypt, single calls"}
    fields = [r for r in data if r["group"] == "fields" and r["throughput"] and r["threads"] == 1
              and r["case"] in wanted]
    if not mem and not fields:
        return False
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    ax = axes[0]
    by: Dict[str, List[Tuple[int, float]]] = {}
    for r in mem:
        by.setdefault(f"{r['tool']} {r['case']}", []).append((int(r["size"]), float(r["peak_rss_kib"]) / 1024))  # type: ignore[arg-type]
    for label, pts in sorted(by.items()):
        pts.sort()
        ax.plot([s / (1 << 20) for s, _ in pts], [v for _, v in pts], marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("file size (MiB)")
    ax.set_ylabel("peak RSS (MiB)")
    ax.set_title("Files: peak memory against file size\n(strongroom's includes the keyring's Argon2id memory)",
                 fontsize=10)
    if by:
        ax.legend(fontsize=7)
    ax = axes[1]
    fby: Dict[str, List[Tuple[int, float]]] = {}
    for r in fields:
        fby.setdefault(f"{r['tool']}: {r['case']}", []).append((int(r["size"]), float(r["throughput"])))  # type: ignore[arg-type]
    for label, pts in sorted(fby.items()):
        if len(pts) > 1:
            pts.sort()
            ax.plot([s for s, _ in pts], [v for _, v in pts], marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("value size (bytes)")
    ax.set_ylabel("M values/s, 1 thread")
    ax.set_title("Fields: throughput against value size", fontsize=10)
    if ax.lines:
        ax.legend(fontsize=5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
