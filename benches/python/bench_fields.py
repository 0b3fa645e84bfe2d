"""Field encryption of 32-byte values from Python: single calls and
batches, against pyca/cryptography's AESGCM and Fernet, and Tink's AEAD
and deterministic AEAD when `tink` is installed (optional peer, not a test
dependency: `pip install tink`). Every case runs once per round, all cases
alternating in one process, so a busy machine slows them alike; prints the
median and best rates over the rounds, and the median of the per-round
ratios to pyca AESGCM encryption.

    target/py-venv/bin/python benches/python/bench_fields.py [--n 200000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import string
import tempfile
import time
from typing import Callable, Dict, List, Tuple

import strongroom

Case = Tuple[str, int, Callable[[], object]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    n = args.n
    values = [os.urandom(32) for _ in range(n)]
    rng = random.Random(1)
    texts = ["".join(rng.choices(string.ascii_letters + string.digits, k=32)) for _ in range(n)]
    d = tempfile.mkdtemp()
    ring = strongroom.Keyring.create(os.path.join(d, "r.srk"), "bench", kdf=strongroom.KdfParams(8192, 1, 1))
    c = strongroom.FieldCipher(ring, "t", "c", bytes)
    ct = strongroom.FieldCipher(ring, "t", "s", str)
    det = strongroom.FieldCipher(ring, "t", "d", bytes, deterministic=True)
    tokens = c.encrypt_many(values)
    text_tokens = ct.encrypt_many(texts)
    enc, dec, tenc, tdec, denc = c.encrypt, c.decrypt, ct.encrypt, ct.decrypt, det.encrypt
    cases: List[Case] = [
        ("strongroom encrypt, single calls", n, lambda: [enc(v) for v in values]),
        ("strongroom decrypt, single calls", n, lambda: [dec(t) for t in tokens]),
        ("strongroom encrypt_many (batch)", n, lambda: c.encrypt_many(values)),
        ("strongroom decrypt_many (batch)", n, lambda: c.decrypt_many(tokens)),
        ("strongroom str encrypt, single calls", n, lambda: [tenc(v) for v in texts]),
        ("strongroom str decrypt, single calls", n, lambda: [tdec(t) for t in text_tokens]),
        ("strongroom str encrypt_many", n, lambda: ct.encrypt_many(texts)),
        ("strongroom str decrypt_many", n, lambda: ct.decrypt_many(text_tokens)),
        ("strongroom deterministic encrypt, single", n, lambda: [denc(v) for v in values]),
        ("strongroom deterministic encrypt_many", n, lambda: det.encrypt_many(values)),
    ]
    peer = "pyca AESGCM encrypt (os.urandom nonce)"
    try:
        from cryptography.fernet import Fernet
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        g = AESGCM(AESGCM.generate_key(bit_length=256))
        aad = b"t.c"

        def gcm_enc() -> None:
            e = g.encrypt
            for v in values:
                e(os.urandom(12), v, aad)

        nonce = os.urandom(12)
        gct = [g.encrypt(nonce, v, aad) for v in values]
        f = Fernet(Fernet.generate_key())
        m = min(n, 20_000)
        cases += [
            (peer, n, gcm_enc),
            ("pyca AESGCM decrypt", n, lambda: [g.decrypt(nonce, t, aad) for t in gct]),
            ("pyca Fernet encrypt", m, lambda: [f.encrypt(v) for v in values[:m]]),
        ]
    except ImportError:
        pass
    try:
        import tink
        from tink import aead, daead

        aead.register()
        daead.register()
        ta = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM).primitive(aead.Aead)
        td = tink.new_keyset_handle(daead.deterministic_aead_key_templates.AES256_SIV).primitive(
            daead.DeterministicAead)
        tct = [ta.encrypt(v, b"t.c") for v in values]
        cases += [
            ("Tink AEAD (AES256_GCM) encrypt", n, lambda: [ta.encrypt(v, b"t.c") for v in values]),
            ("Tink AEAD (AES256_GCM) decrypt", n, lambda: [ta.decrypt(t, b"t.c") for t in tct]),
            ("Tink deterministic AEAD (AES256_SIV) encrypt", n,
             lambda: [td.encrypt_deterministically(v, b"t.c") for v in values]),
        ]
    except ImportError:
        pass
    for _, _, fn in cases:  # warm-up
        fn()
    rates: Dict[str, List[float]] = {name: [] for name, _, _ in cases}
    for _ in range(args.rounds):
        for name, count, fn in cases:
            start = time.perf_counter()
            fn()
            rates[name].append(count / (time.perf_counter() - start))
    load = os.getloadavg()
    print(f"{n} values of 32 bytes, cpus {os.cpu_count()}, {args.rounds} rounds (cases alternating), "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print("| operation | median M/s | best M/s | vs pyca AESGCM encrypt (median of rounds) |")
    print("|---|---:|---:|---:|")
    for name, rs in rates.items():
        vs = ""
        if peer in rates:
            vs = f"{statistics.median(r / p for r, p in zip(rs, rates[peer])):.2f}x"
        print(f"| {name} | {statistics.median(rs) / 1e6:.2f} | {max(rs) / 1e6:.2f} | {vs} |")
    ring.close()


if __name__ == "__main__":
    main()
