"""Field encryption of 32-byte values from Python: single calls and
batches, against pyca/cryptography's AESGCM and Fernet (and Tink or
pyrage if installed). Prints operations per second.

    target/py-venv/bin/python benches/python/bench_fields.py [--n 200000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Callable, List, Tuple

import strongroom


def rate(n: int, fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n / best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    args = ap.parse_args()
    n = args.n
    values = [os.urandom(32) for _ in range(n)]
    d = tempfile.mkdtemp()
    ring = strongroom.Keyring.create(os.path.join(d, "r.srk"), "bench", kdf=strongroom.KdfParams(8192, 1, 1))
    c = strongroom.FieldCipher(ring, "t", "c", bytes)
    det = strongroom.FieldCipher(ring, "t", "d", bytes, deterministic=True)
    tokens = c.encrypt_many(values)
    rows: List[Tuple[str, float]] = []
    enc = c.encrypt
    dec = c.decrypt
    rows.append(("strongroom encrypt, single calls", rate(n, lambda: [enc(v) for v in values])))
    rows.append(("strongroom decrypt, single calls", rate(n, lambda: [dec(t) for t in tokens])))
    rows.append(("strongroom encrypt_many (batch)", rate(n, lambda: c.encrypt_many(values))))
    rows.append(("strongroom decrypt_many (batch)", rate(n, lambda: c.decrypt_many(tokens))))
    denc = det.encrypt
    rows.append(("strongroom deterministic encrypt, single", rate(n, lambda: [denc(v) for v in values])))
    rows.append(("strongroom deterministic encrypt_many", rate(n, lambda: det.encrypt_many(values))))
    try:
        from cryptography.fernet import Fernet
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        g = AESGCM(AESGCM.generate_key(bit_length=256))
        aad = b"t.c"

        def gcm_enc() -> None:
            e = g.encrypt
            for v in values:
                e(os.urandom(12), v, aad)

        rows.append(("pyca AESGCM encrypt (with os.urandom nonce)", rate(n, gcm_enc)))
        nonce = os.urandom(12)
        gct = [g.encrypt(nonce, v, aad) for v in values]
        rows.append(("pyca AESGCM decrypt", rate(n, lambda: [g.decrypt(nonce, t, aad) for t in gct])))
        f = Fernet(Fernet.generate_key())
        m = min(n, 50_000)
        rows.append(("pyca Fernet encrypt", rate(m, lambda: [f.encrypt(v) for v in values[:m]])))
    except ImportError:
        pass
    print(f"{n} values of 32 bytes, cpus {os.cpu_count()}, best of 3")
    print("| operation | million per second |")
    print("|---|---:|")
    for name, r in rows:
        print(f"| {name} | {r / 1e6:.2f} |")
    ring.close()


if __name__ == "__main__":
    main()
