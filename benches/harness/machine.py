"""The machine a run measured: CPU model and the flags that decide AES
speed, cores, memory, kernel, the filesystem of every work folder, and the
version of every peer found."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

FLAGS = ["aes", "vaes", "vpclmulqdq", "pclmulqdq", "avx2", "avx512f", "sha_ni"]


def _out(cmd: List[str]) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (p.stdout or p.stderr).strip()


def cpu() -> Dict[str, object]:
    model, flags = "unknown", set()
    try:
        text = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        model = m.group(1).strip() if m else model
        f = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
        flags = set(f.group(1).split()) if f else set()
    except OSError:
        pass
    return {"model": model, "cores": os.cpu_count() or 1,
            "flags": {name: name in flags for name in FLAGS}}


def memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1 << 20)
    except OSError:
        pass
    return 0.0


def filesystem(path: Path) -> Dict[str, str]:
    fstype = _out(["findmnt", "-n", "-o", "FSTYPE", "-T", str(path)]).splitlines()
    source = _out(["findmnt", "-n", "-o", "SOURCE", "-T", str(path)]).splitlines()
    if not fstype:
        fstype = [_out(["stat", "-f", "-c", "%T", str(path)])]
    return {"path": str(path), "fstype": fstype[0] if fstype else "?", "source": source[0] if source else "?"}


def _first_line(cmd: List[str]) -> Optional[str]:
    if not shutil.which(cmd[0]):
        return None
    line = _out(cmd).splitlines()
    return line[0] if line else "?"


def _dpkg(pkg: str) -> Optional[str]:
    v = _out(["dpkg-query", "-W", "-f", "${Version}", pkg])
    return v or None


def tool_versions(bins: Dict[str, Optional[Path]]) -> Dict[str, Optional[str]]:
    """Version of every command-line peer, None when it is missing."""
    sr = bins.get("strongroom")
    argon2 = shutil.which("argon2")
    return {
        "strongroom": _first_line([str(sr), "--version"]) if sr else None,
        "cp": _first_line(["cp", "--version"]),
        "dd": _first_line(["dd", "--version"]),
        "age": _first_line(["age", "--version"]),
        "rage": _first_line(["rage", "--version"]),
        "gpg": _first_line(["gpg", "--version"]),
        "openssl": _first_line(["openssl", "version"]),
        "argon2": (f"argon2 {_dpkg('argon2') or '?'}" if argon2 else None),
        "sqlite": _first_line(["sqlite3", "--version"]),
        "postgresql": _first_line(["psql", "--version"]),
        "mariadb": _first_line(["mariadb", "--version"]) or _first_line(["mysql", "--version"]),
        "gcc": _first_line(["gcc", "--version"]),
        "rustc": _first_line(["rustc", "--version"]),
        "python": platform.python_version(),
    }


def describe(work: Dict[str, Path]) -> Dict[str, object]:
    return {
        "cpu": cpu(),
        "memory_gib": round(memory_gib(), 1),
        "kernel": platform.release(),
        "os": _os_name(),
        "filesystems": {label: filesystem(p) for label, p in work.items()},
    }


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()
