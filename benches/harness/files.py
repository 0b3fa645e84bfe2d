"""files: whole files on tmpfs and on disk, encrypted and decrypted by
strongroom (command with a keyring on 1 and N cores and with a passphrase,
Python encrypt_file and streaming, the C API) and by what people use
today (age, rage, gpg, openssl enc, pyrage, cryptography AESGCM in chunks
and Cobblestone256 when it has it, Tink streaming AEAD), against cp and
cp with fsync, the floors. Then strongroom's peak memory as the file
grows."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from .common import BenchError, Context, Job, RowSpec, Sample, json_lines, log, row_key, run_process

GROUP = "files"
PASS = "strongroom benchmark passphrase"
MIB = 1 << 20


def thread_counts() -> List[int]:
    cores = os.cpu_count() or 1
    return sorted({1, min(2, cores), cores})


class Tool:
    """One file tool: how it encrypts and decrypts SRC to DST in work folder W."""

    def __init__(self, name: str, version: str, encrypt: Callable[[Path, Path, Path], List[str]],
                 decrypt: Optional[Callable[[Path, Path, Path], List[str]]], env: Optional[Dict[str, str]] = None,
                 inner_time: bool = False, threads: Optional[int] = None, note: str = "") -> None:
        self.name, self.version, self.encrypt, self.decrypt = name, version, encrypt, decrypt
        self.env, self.inner_time, self.threads, self.note = env or {}, inner_time, threads, note


def tools(ctx: Context, keydir_setup: List[Callable[[Path], None]]) -> List[Tool]:
    """The tools found on this machine; the missing ones are recorded as skipped."""
    v = ctx.versions
    sr, c_enc = ctx.bins.get("strongroom"), ctx.bins.get("c_encrypt_file")
    out: List[Tool] = [
        Tool("cp", v.get("cp", ""), lambda w, s, d: ["cp", "--", str(s), str(d)], None,
             note="floor: copy through the page cache"),
        Tool("cp+fsync", v.get("dd", ""),
             lambda w, s, d: ["dd", f"if={s}", f"of={d}", "bs=4M", "conv=fsync", "status=none"], None,
             note="floor: copy, then fsync the output (strongroom fsyncs its output)"),
    ]
    if sr:
        for t in thread_counts():
            out.append(Tool(
                f"strongroom CLI keyring, {t} thread{'s' if t > 1 else ''}", v.get("strongroom", ""),
                lambda w, s, d: [str(sr), "--keyring", str(w / "strongroom.keyring"), "--no-progress", "encrypt",
                                 str(s), "-o", str(d)],
                lambda w, s, d: [str(sr), "--keyring", str(w / "strongroom.keyring"), "--no-progress", "decrypt",
                                 str(s), "-o", str(d)],
                env={"STRONGROOM_THREADS": str(t)}, threads=t,
                note="keyring at the default Argon2id cost: every run unlocks it once"))
        out.append(Tool(
            "strongroom CLI passphrase", v.get("strongroom", ""),
            lambda w, s, d: [str(sr), "--keyring", str(w / "absent.keyring"), "--no-progress", "encrypt", str(s),
                             "-o", str(d), "--no-keyring", "--passphrase", "--passphrase-env", "SR_BENCH_PASS",
                             "--argon2-memory-mib", "8", "--argon2-time", "1", "--argon2-lanes", "1"],
            lambda w, s, d: [str(sr), "--keyring", str(w / "absent.keyring"), "--no-progress", "decrypt", str(s),
                             "-o", str(d), "--passphrase-env", "SR_BENCH_PASS"],
            note="Argon2id at 8 MiB, t=1, p=1, so the row shows the payload's cost"))
    else:
        ctx.skip(GROUP, "strongroom CLI", "the release binary did not build")
    py = [ctx.python, "-m", "harness.pyworker", "file"]
    probe = ctx.versions
    if "!" not in probe.get("py:strongroom", "!"):
        for tool, label in (("strongroom-file", "strongroom Python encrypt_file"),
                            ("strongroom-stream", "strongroom Python open() streaming")):
            out.append(Tool(label, probe["py:strongroom"],
                            (lambda tool: lambda w, s, d: py + [tool, "encrypt", str(s), str(d), str(w)])(tool),
                            (lambda tool: lambda w, s, d: py + [tool, "decrypt", str(s), str(d), str(w)])(tool),
                            inner_time=True, note="keyring opened inside the timed part (default Argon2id cost)"))
    else:
        ctx.skip(GROUP, "strongroom Python", f"the package does not import ({probe.get('py:strongroom', '?')})")
    if c_enc:
        out.append(Tool(
            "strongroom C API (encrypt_file.c)", v.get("strongroom", ""),
            lambda w, s, d: [str(c_enc), "encrypt", str(s), str(d), "--keyring", str(w / "strongroom.keyring")],
            lambda w, s, d: [str(c_enc), "decrypt", str(s), str(d), "--keyring", str(w / "strongroom.keyring")],
            note="ffi/examples/encrypt_file.c, statically linked"))
    else:
        ctx.skip(GROUP, "strongroom C API", "the C example did not build (gcc, pkg-config)")
    if shutil.which("age") and shutil.which("age-keygen"):
        def age_keys(w: Path) -> None:
            run_process(["age-keygen", "-o", str(w / "age.key")])
            (w / "age.pub").write_text(subprocess.run(["age-keygen", "-y", str(w / "age.key")], capture_output=True,
                                                      text=True, check=True).stdout.strip())
        keydir_setup.append(age_keys)
        out.append(Tool("age", v.get("age", ""),
                        lambda w, s, d: ["age", "-r", (w / "age.pub").read_text(), "-o", str(d), str(s)],
                        lambda w, s, d: ["age", "-d", "-i", str(w / "age.key"), "-o", str(d), str(s)],
                        note="X25519 recipient"))
    else:
        ctx.skip(GROUP, "age", "not installed (Debian package age)")
    if shutil.which("rage") and shutil.which("rage-keygen"):
        def rage_keys(w: Path) -> None:
            run_process(["rage-keygen", "-o", str(w / "rage.key")])
            text = (w / "rage.key").read_text()
            pub = [ln.split(":", 1)[1].strip() for ln in text.splitlines() if "public key" in ln]
            (w / "rage.pub").write_text(pub[0] if pub else "")
        keydir_setup.append(rage_keys)
        out.append(Tool("rage", v.get("rage", ""),
                        lambda w, s, d: ["rage", "-r", (w / "rage.pub").read_text(), "-o", str(d), str(s)],
                        lambda w, s, d: ["rage", "-d", "-i", str(w / "rage.key"), "-o", str(d), str(s)],
                        note="X25519 recipient"))
    else:
        ctx.skip(GROUP, "rage", "not installed (the crate rage is built by the full run's install step: "
                 "cargo install --locked rage; the quick run does not build it)")
    if shutil.which("gpg"):
        def gpg_home(w: Path) -> None:
            (w / "gnupg").mkdir(mode=0o700, exist_ok=True)
        keydir_setup.append(gpg_home)
        gpg = ["gpg", "--batch", "--yes", "--quiet", "--no-symkey-cache", "--pinentry-mode", "loopback"]
        out.append(Tool("gpg", v.get("gpg", ""),
                        lambda w, s, d: gpg + ["--homedir", str(w / "gnupg"), "--passphrase-file", str(w / "pass.txt"),
                                               "--symmetric", "--cipher-algo", "AES256", "--compress-algo", "none",
                                               "-o", str(d), str(s)],
                        lambda w, s, d: gpg + ["--homedir", str(w / "gnupg"), "--passphrase-file", str(w / "pass.txt"),
                                               "-o", str(d), "-d", str(s)],
                        note="symmetric AES256, no compression"))
    else:
        ctx.skip(GROUP, "gpg", "not installed (Debian package gnupg)")
    if shutil.which("openssl"):
        out.append(Tool("openssl enc", v.get("openssl", ""),
                        lambda w, s, d: ["openssl", "enc", "-aes-256-ctr", "-pbkdf2", "-pass", f"file:{w / 'pass.txt'}",
                                         "-in", str(s), "-out", str(d)],
                        lambda w, s, d: ["openssl", "enc", "-d", "-aes-256-ctr", "-pbkdf2", "-pass",
                                         f"file:{w / 'pass.txt'}", "-in", str(s), "-out", str(d)],
                        note="AES-256-CTR: no authentication (enc has no AEAD mode)"))
    else:
        ctx.skip(GROUP, "openssl", "not installed (Debian package openssl)")
    for mod, tool, label, note in (
        ("pyrage", "pyrage", "pyrage", "X25519 recipient, encrypt_file/decrypt_file"),
        ("cryptography", "aesgcm-chunks", "cryptography AESGCM, 64 KiB chunks", "counter nonces, last chunk marked"),
        ("tink", "tink-streaming", "Tink streaming AEAD", "AES256_GCM_HKDF_1MB, 4 MiB copies"),
    ):
        ver = probe.get(f"py:{mod}", "!missing")
        if "!" in ver:
            ctx.skip(GROUP, label, f"the Python package {mod} does not import ({ver.lstrip('!')})")
            continue
        out.append(Tool(label, f"{mod} {ver}",
                        (lambda tool: lambda w, s, d: py + [tool, "encrypt", str(s), str(d), str(w)])(tool),
                        (lambda tool: lambda w, s, d: py + [tool, "decrypt", str(s), str(d), str(w)])(tool),
                        inner_time=True, note=note))
    if probe.get("py:cryptography.cobblestone") == "yes":
        out.append(Tool("cryptography Cobblestone256", f"cryptography {probe.get('py:cryptography')}",
                        lambda w, s, d: py + ["cobblestone256", "encrypt", str(s), str(d), str(w)],
                        lambda w, s, d: py + ["cobblestone256", "decrypt", str(s), str(d), str(w)],
                        inner_time=True, note="one-shot"))
    else:
        ctx.skip(GROUP, "cryptography Cobblestone256",
                 f"cryptography {probe.get('py:cryptography', '?')} has no Cobblestone256")
    return out


def prepare(ctx: Context, work: Path, size: int, setups: List[Callable[[Path], None]],
            env: Dict[str, str]) -> Path:
    """Keys and the input file in a fresh folder under `work` (removed
    again if anything fails)."""
    w = Path(tempfile.mkdtemp(prefix="strongroom-bench-", dir=work))
    try:
        _prepare(ctx, w, size, setups, env)
    except BaseException:
        shutil.rmtree(w, ignore_errors=True)
        raise
    return w


def _prepare(ctx: Context, w: Path, size: int, setups: List[Callable[[Path], None]], env: Dict[str, str]) -> None:
    (w / "pass.txt").write_text(PASS)
    os.chmod(w / "pass.txt", 0o600)
    sr = ctx.bins.get("strongroom")
    if sr:
        run_process([str(sr), "--keyring", str(w / "strongroom.keyring"), "keyring", "init"], env=env)
    run_process([ctx.python, "-m", "harness.pyworker", "setup", str(w)], cwd=ctx.repo / "benches")
    for s in setups:
        s(w)
    src = w / "input.bin"
    block = os.urandom(MIB)
    with open(src, "wb") as f:
        left = size
        while left > 0:
            f.write(block[:min(MIB, left)])
            left -= MIB


def run(ctx: Context) -> None:
    sizes = ctx.sizes["files"]
    size = sizes[0]
    setups: List[Callable[[Path], None]] = []
    found = tools(ctx, setups)
    env = {"SR_BENCH_PASS": PASS, "STRONGROOM_KEYRING_PASSPHRASE": PASS, "STRONGROOM_NO_SEEN_RECORD": "1"}
    for label, work in ctx.work.items():
        free = shutil.disk_usage(work).free
        if free < 4 * size + (256 * MIB):
            ctx.skip(GROUP, f"all tools on {label}", f"{work} has {free >> 20} MiB free, needs {(4 * size) >> 20} MiB")
            continue
        w = prepare(ctx, work, size, setups, env)
        try:
            jobs = [j for t in found for j in _jobs(ctx, t, w, label, size, env)]
            ctx.run_rounds(GROUP, jobs, before_each=os.sync)
        finally:
            if (w / "gnupg").is_dir() and shutil.which("gpgconf"):
                # gpg started an agent for this home; it must not outlive the run.
                subprocess.run(["gpgconf", "--homedir", str(w / "gnupg"), "--kill", "gpg-agent"], check=False,
                               capture_output=True)
            shutil.rmtree(w, ignore_errors=True)
    memory_growth(ctx, found, env)


def _jobs(ctx: Context, t: Tool, w: Path, where: str, size: int, env: Dict[str, str]) -> List[Job]:
    floor = row_key("cp" if where == "tmpfs" else "cp+fsync", "copy", where)
    src = w / "input.bin"
    slug = "".join(c if c.isalnum() else "-" for c in t.name)
    enc_out, dec_out = w / f"{slug}.enc", w / f"{slug}.dec"
    all_env = dict(env, **t.env)
    if t.decrypt is None:
        key = ctx.add(RowSpec(GROUP, t.name, "copy", size, "bytes", "s", floor, t.version, None, where, t.note))

        def copy() -> List[Sample]:
            _rm(enc_out)
            wall, peak, _ = run_process(t.encrypt(w, src, enc_out), env=all_env)
            _rm(enc_out)
            return [Sample(key, wall, peak)]
        return [copy]
    ekey = ctx.add(RowSpec(GROUP, t.name, "encrypt", size, "bytes", "s", floor, t.version, t.threads, where, t.note))
    dkey = ctx.add(RowSpec(GROUP, t.name, "decrypt", size, "bytes", "s", floor, t.version, t.threads, where, t.note))
    checked = [False]

    def one(argv: List[str]) -> Tuple[float, int]:
        wall, peak, out = run_process(argv, env=all_env, capture=t.inner_time, cwd=ctx.repo / "benches")
        if t.inner_time:
            wall = json_lines(out)[0]["seconds"]
        return wall, peak

    def job() -> List[Sample]:
        # Encrypt then decrypt its output: the pair stays together, the
        # order of the tools changes every round.
        _rm(enc_out)
        _rm(dec_out)
        e = one(t.encrypt(w, src, enc_out))
        d = one(t.decrypt(w, enc_out, dec_out))  # type: ignore[misc]
        if not checked[0]:
            if not filecmp.cmp(src, dec_out, shallow=False):
                raise BenchError(f"{t.name}: the decrypted file differs from the input")
            checked[0] = True
        _rm(enc_out)
        _rm(dec_out)
        return [Sample(ekey, e[0], e[1]), Sample(dkey, d[0], d[1])]
    return [job]


def _rm(p: Path) -> None:
    try:
        p.unlink()
    except FileNotFoundError:
        pass


def memory_growth(ctx: Context, found: List[Tool], env: Dict[str, str]) -> None:
    """Peak memory of the strongroom command (all cores) and of cp as the
    file grows, on disk: it must stay flat. One run per size (the figure
    is a peak, not a time)."""
    disk = ctx.work.get("disk")
    sr = next((t for t in found if t.name.startswith("strongroom CLI keyring") and
               t.threads == max(thread_counts())), None)
    if disk is None or sr is None:
        ctx.skip(GROUP, "memory growth", "no disk work folder or no strongroom command")
        return
    for size in ctx.sizes["memory"]:
        free = shutil.disk_usage(disk).free
        if free < 3 * size + 256 * MIB:
            ctx.skip(GROUP, f"memory growth at {size >> 20} MiB", f"{disk} has {free >> 20} MiB free")
            continue
        log(f"{GROUP}: peak memory at {size >> 20} MiB")
        w = prepare(ctx, disk, size, [], env)
        try:
            src, enc, dec = w / "input.bin", w / "out.enc", w / "out.dec"
            all_env = dict(env, **sr.env)
            rows = []
            for case, argv in (("encrypt", sr.encrypt(w, src, enc)), ("decrypt", sr.decrypt(w, enc, dec))):  # type: ignore[misc]
                os.sync()
                wall, peak, _ = run_process(argv, env=all_env)
                rows.append((case, wall, peak))
            os.sync()
            wall, peak, _ = run_process(["cp", "--", str(src), str(w / "copy")])
            rows.append(("copy", wall, peak))
            for case, wall, peak in rows:
                tool = "cp" if case == "copy" else sr.name
                ref = row_key("cp", "memory copy", f"disk, {size >> 20} MiB")
                key = ctx.add(RowSpec("files-memory", tool, f"memory {case}", size, "bytes", "s", ref,
                                      ctx.versions.get("cp" if case == "copy" else "strongroom", ""), sr.threads,
                                      f"disk, {size >> 20} MiB", "one run: the figure that matters is peak memory"))
                ctx.samples.setdefault(key, []).append(wall)
                ctx.peaks[key] = peak
        finally:
            shutil.rmtree(w, ignore_errors=True)
