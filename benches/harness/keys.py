"""keys: Argon2id at strongroom's default parameters (read from the
installed package, not written here) by strongroom's core, by the
reference C implementation (the `argon2` command) and by argon2-cffi;
opening a keyring made at those parameters, from Rust and Python; and the
cost each recipient stanza type adds to a file today (keyring, passphrase),
as the command's time to encrypt an empty file. The reference is the
`argon2` command."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import List

from .common import Context, Job, RowSpec, Sample, json_lines, row_key, run_process

GROUP = "keys"
PASS = "strongroom benchmark passphrase"


def run(ctx: Context) -> None:
    params = _defaults(ctx)
    if params is None:
        ctx.skip(GROUP, "all", "the strongroom Python package does not import: the default parameters are unknown")
        return
    mem, t, p = params
    label = f"Argon2id {mem // 1024} MiB, t={t}, p={p}"
    ref = row_key("argon2 command", label)
    ctx.note(GROUP, f"Default parameters (strongroom.KdfParams()): memory {mem} KiB, {t} passes, {p} lanes.")
    w = Path(tempfile.mkdtemp(prefix="strongroom-bench-keys-", dir=ctx.work.get("disk") or ctx.out))
    jobs: List[Job] = []
    env = {"STRONGROOM_KEYRING_PASSPHRASE": PASS, "SR_BENCH_PASS": PASS, "STRONGROOM_NO_SEEN_RECORD": "1"}
    try:
        if shutil.which("argon2"):
            key = ctx.add(RowSpec(GROUP, "argon2 command", label, mem * 1024, "bytes", "s", ref,
                                  ctx.versions.get("argon2", ""), p, note="reference C implementation"))

            def argon2() -> List[Sample]:
                wall, peak, _ = run_process(["argon2", "saltsaltsaltsalt", "-id", "-t", str(t), "-k", str(mem),
                                             "-p", str(p), "-l", "32", "-r"], stdin=PASS.encode())
                return [Sample(key, wall, peak)]
            jobs.append(argon2)
        else:
            ctx.skip(GROUP, "argon2 command", "not installed (Debian package argon2)")
        probe = ctx.bins.get("probe")
        if probe:
            k1 = ctx.add(RowSpec(GROUP, "strongroom Rust", label, mem * 1024, "bytes", "s", ref,
                                 ctx.versions.get("strongroom", ""), None, "", "KdfParams::DEFAULT.derive, all cores"))
            k2 = ctx.add(RowSpec(GROUP, "strongroom Rust", "keyring open", mem * 1024, "bytes", "s", ref,
                                 ctx.versions.get("strongroom", ""), None, "", "Keyring::open at the defaults"))

            def rust() -> List[Sample]:
                _, peak, out = run_process([str(probe), "kdf"], capture=True)
                recs = {r["case"]: r["seconds"] for r in json_lines(out)}
                return [Sample(k1, recs["argon2id-default"], peak), Sample(k2, recs["keyring-open-default"], peak)]
            jobs.append(rust)
        else:
            ctx.skip(GROUP, "strongroom Rust", "the benchmark binary did not build")
        sr = ctx.bins.get("strongroom")
        if sr:
            run_process([str(sr), "--keyring", str(w / "k.keyring"), "keyring", "init"], env=env)
            (w / "empty").write_bytes(b"")
            jobs += _python(ctx, w, label, ref, mem, env)
            jobs += _stanzas(ctx, sr, w, ref, mem, env)
        ctx.run_rounds(GROUP, jobs)
    finally:
        shutil.rmtree(w, ignore_errors=True)


def _defaults(ctx: Context):
    try:
        _, _, out = run_process([ctx.python, "-c", "import json, strongroom; k = strongroom.KdfParams(); "
                                 "print(json.dumps([k.memory_kib, k.iterations, k.parallelism]))"], capture=True)
        return tuple(json.loads(out))
    except Exception:  # noqa: BLE001 - reported as a skip
        return None


def _python(ctx: Context, w: Path, label: str, ref: str, mem: int, env) -> List[Job]:
    cffi = ctx.versions.get("py:argon2", "!")
    k_open = ctx.add(RowSpec(GROUP, "strongroom Python", "keyring open", mem * 1024, "bytes", "s", ref,
                             ctx.versions.get("py:strongroom", ""), None, "", "Keyring.open at the defaults"))
    k_cffi = None
    if "!" not in cffi:
        k_cffi = ctx.add(RowSpec(GROUP, "argon2-cffi", label, mem * 1024, "bytes", "s", ref, f"argon2-cffi {cffi}",
                                 None, "", "argon2.low_level.hash_secret_raw"))
    else:
        ctx.skip(GROUP, "argon2-cffi", f"the Python package does not import ({cffi.lstrip('!')})")

    def job() -> List[Sample]:
        _, peak, out = run_process([ctx.python, "-m", "harness.pyworker", "kdf", str(w / "k.keyring")], env=env,
                                   capture=True, cwd=ctx.repo / "benches")
        recs = {r["case"]: r["seconds"] for r in json_lines(out)}
        s = [Sample(k_open, recs["strongroom-python/keyring-open"], peak)]
        if k_cffi and "argon2-cffi/argon2id-default" in recs:
            s.append(Sample(k_cffi, recs["argon2-cffi/argon2id-default"], peak))
        return s
    return [job]


def _stanzas(ctx: Context, sr: Path, w: Path, ref: str, mem: int, env) -> List[Job]:
    """Whole command, empty file: the cost of each stanza type, each at
    its default parameters (a keyring unlock, an Argon2id derivation)."""
    out = w / "empty.srf"
    cases = {
        "encrypt empty file, keyring stanza": ["encrypt", str(w / "empty"), "-o", str(out)],
        "encrypt empty file, passphrase stanza": ["encrypt", str(w / "empty"), "-o", str(out), "--no-keyring",
                                                  "--passphrase", "--passphrase-env", "SR_BENCH_PASS"],
        "encrypt empty file, keyring + passphrase stanzas": ["encrypt", str(w / "empty"), "-o", str(out),
                                                             "--passphrase", "--passphrase-env", "SR_BENCH_PASS"],
    }
    jobs: List[Job] = []
    for case, args in cases.items():
        key = ctx.add(RowSpec(GROUP, "strongroom CLI", case, 0, "bytes", "s", ref, ctx.versions.get("strongroom", ""),
                              None, "", "whole process; per-recipient cost of the stanza types that exist today"))

        def job(key: str = key, args: List[str] = args) -> List[Sample]:
            if out.exists():
                out.unlink()
            wall, peak, _ = run_process([str(sr), "--keyring", str(w / "k.keyring"), "--no-progress"] + args, env=env)
            return [Sample(key, wall, peak)]
        jobs.append(job)
    return jobs
