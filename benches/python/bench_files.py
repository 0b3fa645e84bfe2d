"""Whole-file and streaming throughput of the Python package against the
command line, pyca/cryptography's Cobblestone-256, and pyrage and Tink's
streaming AEAD when installed (optional peers, not test dependencies:
`pip install pyrage tink`), on the same file in the same run (medians of
--runs, tools alternating).

    target/py-venv/bin/python benches/python/bench_files.py [--size-mib 1024] [--runs 3] [--dir /dev/shm]

Needs the release CLI (cargo build --release -p strongroom-cli) and the
package built (scripts/test-python.sh). Not a test: it prints a table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List

import strongroom

REPO = Path(__file__).resolve().parents[2]
PASS = "strongroom python benchmark passphrase"
FAST = strongroom.KdfParams(8 * 1024, 1, 1)
BLOCK = 1 << 20


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="/dev/shm")
    ap.add_argument("--cli", default=str(REPO / "target" / "release" / "strongroom"))
    ap.add_argument("--only", default="", help="comma-separated substrings: run only the tools whose name has one")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sr-pybench-", dir=args.dir))
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    size = args.size_mib << 20
    src = work / "plain"
    block = os.urandom(BLOCK)
    with open(src, "wb") as f:
        for _ in range(args.size_mib):
            f.write(block)
    env = dict(os.environ, SR_BENCH_PASS=PASS)
    cli = args.cli
    have_cli = os.access(cli, os.X_OK)

    def out(name: str) -> Path:
        p = work / name
        if p.exists():
            p.unlink()
        return p

    def cli_encrypt() -> None:
        subprocess.run([cli, "--keyring", str(work / "absent.srk"), "encrypt", str(src), "-o", str(out("cli.srf")),
                        "--no-keyring", "--passphrase", "--passphrase-env", "SR_BENCH_PASS", "--argon2-memory-mib",
                        "8", "--argon2-time", "1", "--argon2-lanes", "1", "--no-progress"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cli_decrypt() -> None:
        subprocess.run([cli, "--keyring", str(work / "absent.srk"), "decrypt", str(work / "cli.srf"), "-o",
                        str(out("cli.out")), "--passphrase-env", "SR_BENCH_PASS", "--no-progress"],
                       check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def py_encrypt() -> None:
        strongroom.encrypt_file(src, out("py.srf"), passphrase=PASS, kdf=FAST)

    def py_decrypt() -> None:
        strongroom.decrypt_file(work / "py.srf", out("py.out"), passphrase=PASS)

    def open_write() -> None:
        with open(src, "rb") as f, strongroom.open(out("open.srf"), "wb", passphrase=PASS, kdf=FAST) as w:
            shutil.copyfileobj(f, w, 4 << 20)

    def open_read() -> None:
        with strongroom.open(work / "open.srf", "rb", passphrase=PASS) as r, open(out("open.out"), "wb") as f:
            shutil.copyfileobj(r, f, 4 << 20)

    tools: Dict[str, Callable[[], None]] = {}
    if have_cli:
        tools["cli encrypt"] = cli_encrypt
    tools["encrypt_file"] = py_encrypt
    tools["open wb + copyfileobj"] = open_write
    if have_cli:
        tools["cli decrypt"] = cli_decrypt
    tools["decrypt_file"] = py_decrypt
    tools["open rb + copyfileobj"] = open_read
    try:
        from cryptography.cobblestone import Cobblestone256Decryptor, Cobblestone256Encryptor

        key, ctx = os.urandom(32), b"bench"

        def pyca_encrypt() -> None:
            enc = Cobblestone256Encryptor(key, ctx)
            with open(src, "rb") as f, open(out("pyca.cs"), "wb") as o:
                while chunk := f.read(4 << 20):
                    o.write(enc.update(chunk))
                o.write(enc.finalize())

        def pyca_decrypt() -> None:
            dec = Cobblestone256Decryptor(key, ctx)
            with open(work / "pyca.cs", "rb") as f, open(out("pyca.out"), "wb") as o:
                while chunk := f.read(4 << 20):
                    o.write(dec.update(chunk))
                o.write(dec.finalize())

        tools["pyca Cobblestone256 encrypt (update)"] = pyca_encrypt
        tools["pyca Cobblestone256 decrypt (update)"] = pyca_decrypt
    except ImportError:
        pass
    try:
        import pyrage

        ident = pyrage.x25519.Identity.generate()
        recip = ident.to_public()

        def rage_encrypt() -> None:
            pyrage.encrypt_file(str(src), str(out("rage.age")), [recip])

        def rage_decrypt() -> None:
            pyrage.decrypt_file(str(work / "rage.age"), str(out("rage.out")), [ident])

        tools["pyrage encrypt_file (x25519)"] = rage_encrypt
        tools["pyrage decrypt_file (x25519)"] = rage_decrypt
    except ImportError:
        pass
    try:
        import tink
        from tink import streaming_aead

        streaming_aead.register()
        sa = tink.new_keyset_handle(streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB).primitive(
            streaming_aead.StreamingAead)

        def tink_encrypt() -> None:
            with open(src, "rb") as f, open(out("tink.sa"), "wb") as o:
                with sa.new_encrypting_stream(o, b"bench") as es:
                    shutil.copyfileobj(f, es, 4 << 20)

        def tink_decrypt() -> None:
            with open(work / "tink.sa", "rb") as f, open(out("tink.out"), "wb") as o:
                with sa.new_decrypting_stream(f, b"bench") as ds:
                    shutil.copyfileobj(ds, o, 4 << 20)

        tools["Tink streaming AEAD encrypt (copyfileobj)"] = tink_encrypt
        tools["Tink streaming AEAD decrypt (copyfileobj)"] = tink_decrypt
    except ImportError:
        pass
    if args.only:
        wanted = [w for w in args.only.split(",") if w]
        tools = {k: v for k, v in tools.items() if any(w in k for w in wanted)}
    for fn in tools.values():  # warm-up, and the inputs of the decrypt rows
        fn()
    times: Dict[str, List[float]] = {k: [] for k in tools}
    for _ in range(args.runs):
        for name, fn in tools.items():
            subprocess.run(["sync"], check=False)
            times[name].append(timed(fn))
    load = os.getloadavg()
    print(f"size {args.size_mib} MiB in {args.dir}, medians of {args.runs}, cpus {os.cpu_count()}, "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print("| tool | median (s) | GB/s | vs CLI |")
    print("|---|---:|---:|---:|")
    ref = {"encrypt": statistics.median(times["cli encrypt"]) if "cli encrypt" in times else None,
           "decrypt": statistics.median(times["cli decrypt"]) if "cli decrypt" in times else None}
    for name, ts in times.items():
        m = statistics.median(ts)
        r = ref["decrypt" if ("decrypt" in name or " rb" in name) else "encrypt"]
        vs = f"{r / m:.2f}x" if r else ""
        print(f"| {name} | {m:.3f} | {size / m / 1e9:.2f} | {vs} |")


if __name__ == "__main__":
    main()
