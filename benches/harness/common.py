"""The runner every group shares: rounds of jobs in a fresh random order,
a warm-up first, per-round samples, medians with their spread, ratios
computed pair by pair within a round, peak memory of child processes, and
the record of what was skipped and why."""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple


class BenchError(RuntimeError):
    """A tool failed or gave a wrong answer: a failing tool must never look
    fast, so the harness stops and says which."""


@dataclass
class RowSpec:
    """One line of a report table: what was measured and against what."""

    group: str
    tool: str
    case: str
    size: int
    size_unit: str
    unit: str
    reference: Optional[str] = None  # key of the row this one is compared with
    version: str = ""
    threads: Optional[int] = None
    where: str = ""  # work folder (files), engine (databases)
    note: str = ""

    @property
    def key(self) -> str:
        return row_key(self.tool, self.case, self.where)


def row_key(tool: str, case: str, where: str = "") -> str:
    return f"{tool}|{case}|{where}"


@dataclass
class Sample:
    """The result of one run of one row: its figure in the row's unit and,
    for a process, its peak resident memory."""

    key: str
    value: float
    peak_kib: Optional[int] = None


Job = Callable[[], List[Sample]]


@dataclass
class Context:
    """Everything a group needs: paths, the mode, and where it records."""

    repo: Path
    out: Path
    work: Dict[str, Path]  # label -> work folder (tmpfs, disk)
    quick: bool
    rounds: int
    warmup: int
    bins: Dict[str, Optional[Path]]
    python: str  # interpreter of the harness venv (strongroom and the Python peers)
    sizes: Dict[str, List[int]] = field(default_factory=dict)
    versions: Dict[str, str] = field(default_factory=dict)
    specs: Dict[str, RowSpec] = field(default_factory=dict)
    samples: Dict[str, List[Optional[float]]] = field(default_factory=dict)
    peaks: Dict[str, int] = field(default_factory=dict)
    skipped: List[Tuple[str, str, str]] = field(default_factory=list)  # group, tool, reason
    load: Dict[str, Dict[str, float]] = field(default_factory=dict)
    notes: Dict[str, List[str]] = field(default_factory=dict)

    def skip(self, group: str, tool: str, reason: str) -> None:
        if (group, tool, reason) not in self.skipped:
            self.skipped.append((group, tool, reason))
        log(f"{group}: skipping {tool}: {reason}")

    def note(self, group: str, text: str) -> None:
        self.notes.setdefault(group, []).append(text)

    def add(self, spec: RowSpec) -> str:
        if not spec.version:
            spec.version = self.versions.get(spec.tool.split(" ")[0], "")
        self.specs[spec.key] = spec
        return spec.key

    def run_rounds(self, group: str, jobs: Sequence[Job], rounds: Optional[int] = None,
                   warmup: Optional[int] = None, before_each: Optional[Callable[[], None]] = None) -> None:
        """Runs every job once per round, in a fresh random order each
        round (a busy moment or a cold page cache then falls on a different
        tool every time), after `warmup` untimed rounds. Samples of round r
        sit at index r of every row, so ratios pair rows within a round."""
        rounds = self.rounds if rounds is None else rounds
        warmup = self.warmup if warmup is None else warmup
        rng = random.Random()
        base = self._round_base(group)
        for r in range(-warmup, rounds):
            order = list(jobs)
            rng.shuffle(order)
            log(f"{group}: {'warm-up' if r < 0 else f'round {r + 1}/{rounds}'} ({len(order)} jobs)")
            for job in order:
                if before_each:
                    before_each()
                for s in job():
                    if r < 0:
                        continue
                    row = self.samples.setdefault(s.key, [])
                    while len(row) < base + r:
                        row.append(None)
                    row.append(s.value)
                    if s.peak_kib:
                        self.peaks[s.key] = max(self.peaks.get(s.key, 0), s.peak_kib)
        self._round_bases[group] = base + rounds

    _round_bases: Dict[str, int] = field(default_factory=dict)

    def _round_base(self, group: str) -> int:
        """Rows of a group measured in several batches of rounds keep one
        index per round across batches."""
        return self._round_bases.get(group, 0)


def log(msg: str) -> None:
    print(f"bench: {msg}", flush=True, file=sys.stderr)


GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
PEAK_NOTE = ("Peak memory: maximum resident set of each process, measured by GNU time." if GNU_TIME else
             "Peak memory: from wait4 without GNU time (Debian package time): it includes the harness's own "
             "interpreter pages, so small figures are too high.")


def run_process(cmd: Sequence[str], env: Optional[Dict[str, str]] = None, cwd: Optional[Path] = None,
                stdin: Optional[bytes] = None, capture: bool = False) -> Tuple[float, int, str]:
    """Runs a command to its end; returns its wall time (seconds), its
    peak resident memory (KiB) and, with `capture`, its standard output.
    Raises BenchError with its standard error when it fails.

    The peak memory comes from GNU time when installed: a process forked
    from this interpreter would count the interpreter's own pages until it
    runs its program (the kernel keeps the largest resident set across
    exec), so the command is started from the small `time` process, whose
    pages are what it counts instead (about 2 MiB). Without GNU time it is
    the wait4 figure, which includes this interpreter (PEAK_NOTE says so)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr, \
            tempfile.NamedTemporaryFile(prefix="bench-rss-") as frss:
        if stdin is not None:
            fin.write(stdin)
            fin.seek(0)
        argv = list(map(str, cmd))
        if GNU_TIME:
            argv = [GNU_TIME, "-f", "%M", "-o", frss.name, "--"] + argv
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=full_env, cwd=cwd,
                                stdin=fin if stdin is not None else subprocess.DEVNULL,
                                stdout=fout if capture else subprocess.DEVNULL, stderr=ferr)
        # wait4 rather than Popen.wait: it also gives this child's rusage.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read(), ferr.read()
        peak = int(usage.ru_maxrss)
        if GNU_TIME:
            text = open(frss.name).read().split()
            peak = int(text[-1]) if text and text[-1].isdigit() else peak
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip()[-2000:]
        raise BenchError(f"command failed (exit {proc.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    return wall, peak, out.decode(errors="replace")


def json_lines(text: str) -> List[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@dataclass
class Stats:
    runs: int
    median: float
    min: float
    max: float
    ratio: Optional[float]


def stats(ctx: Context, key: str) -> Optional[Stats]:
    values = [v for v in ctx.samples.get(key, []) if v is not None]
    if not values:
        return None
    spec = ctx.specs[key]
    ratio = None
    ref = ctx.samples.get(spec.reference or "", [])
    if spec.reference == key:
        ratio = 1.0
    elif ref:
        mine = ctx.samples[key]
        pairs = [a / b for a, b in zip(mine, ref) if a is not None and b is not None and b > 0]
        if pairs:
            ratio = statistics.median(pairs)
    return Stats(len(values), statistics.median(values), min(values), max(values), ratio)


class LoadSampler:
    """Samples the machine while a group runs: the 1-minute load average
    and the share of CPU time spent busy (all processes, this one's
    included), once a second."""

    def __init__(self) -> None:
        self.loads: List[float] = []
        self.busy: List[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _cpu() -> Tuple[int, int]:
        with open("/proc/stat") as f:
            parts = [int(x) for x in f.readline().split()[1:]]
        idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
        return sum(parts[:8]), idle

    def _run(self) -> None:
        total0, idle0 = self._cpu()
        while not self._stop.wait(1.0):
            with open("/proc/loadavg") as f:
                self.loads.append(float(f.read().split()[0]))
            total1, idle1 = self._cpu()
            if total1 > total0:
                self.busy.append(100.0 * (1 - (idle1 - idle0) / (total1 - total0)))
            total0, idle0 = total1, idle1

    def __enter__(self) -> "LoadSampler":
        with open("/proc/loadavg") as f:
            self.loads.append(float(f.read().split()[0]))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> Dict[str, float]:
        busy = self.busy or [0.0]
        return {"load_min": min(self.loads), "load_max": max(self.loads),
                "busy_mean_pct": statistics.mean(busy), "busy_max_pct": max(busy),
                "samples": float(len(self.loads))}
