#!/usr/bin/env python3
"""Single-call field encryption peers in Python, for benches/README.md.

Times what an application that encrypts database values one by one in
Python calls today, on a 32-byte value with a 40-byte associated data:

- cryptography AESGCM (random 12-byte nonce from os.urandom per call),
  encrypt and decrypt: the peer of strongroom's random mode;
- cryptography AESSIV: the peer of deterministic mode;
- hmac.digest(SHA-256): the peer of a blind index;
- Fernet: what many Django/Flask field libraries use;
- Tink AEAD (AES256_GCM), when the `tink` package is installed.

Prints one markdown row per case: median calls per second over the rounds
(each round runs the call in a tight loop for about 0.2 s), and the spread.
Run it just before or after `cargo bench -p strongroom-benches --bench
field`, so that both sets of figures come from the same machine state.

Usage: python3 benches/field_peers.py [--rounds N]
Needs: pip install cryptography   (and optionally: pip install tink)
"""

import argparse
import hmac
import os
import statistics
import time

VALUE = b"\x5a" * 32
AAD = b"\x01" * 40


def calls_per_second(fn, rounds):
    """Median and range of calls/s of `fn` over `rounds` timed rounds."""
    # Calibrate a loop length of about 0.2 s.
    n = 1000
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        took = time.perf_counter() - start
        if took > 0.05:
            break
        n *= 4
    n = max(1000, int(n * 0.2 / took))
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates), min(rates), max(rates)


def cases():
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV

    gcm = AESGCM(AESGCM.generate_key(bit_length=256))
    nonce = os.urandom(12)
    sealed = gcm.encrypt(nonce, VALUE, AAD)
    siv = AESSIV(AESSIV.generate_key(bit_length=512))
    mac_key = os.urandom(32)
    fernet = Fernet(Fernet.generate_key())

    yield "cryptography AESGCM encrypt (os.urandom nonce)", lambda: gcm.encrypt(os.urandom(12), VALUE, AAD)
    yield "cryptography AESGCM decrypt", lambda: gcm.decrypt(nonce, sealed, AAD)
    yield "cryptography AESSIV encrypt", lambda: siv.encrypt(VALUE, [AAD])
    yield "hmac.digest SHA-256", lambda: hmac.digest(mac_key, VALUE, "sha256")
    yield "cryptography Fernet encrypt", lambda: fernet.encrypt(VALUE)
    try:
        import tink
        from tink import aead

        aead.register()
        handle = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM)
        primitive = handle.primitive(aead.Aead)
        yield "Tink AEAD AES256_GCM encrypt", lambda: primitive.encrypt(VALUE, AAD)
    except ImportError:
        print("(tink is not installed: no Tink row)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds per case (default 9)")
    args = parser.parse_args()
    print("| peer (one call, 32-byte value) | median calls/s | range |")
    print("|---|---|---|")
    for name, fn in cases():
        median, low, high = calls_per_second(fn, args.rounds)
        print(f"| {name} | {median / 1e6:.3f} M | {low / 1e6:.3f}–{high / 1e6:.3f} M |")


if __name__ == "__main__":
    main()
