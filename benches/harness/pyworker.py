"""The Python side of the harness, run as a child process of it
(`python -m harness.pyworker ...`) so that every Python tool runs in a
fresh interpreter with the thread count it is given, and its peak memory
is its own. Each command prints one JSON object per measured case:
{"case": NAME, "seconds": S, "ops": N}; the seconds cover the operation
only, not the interpreter's start nor the imports.

    pyworker setup KEYDIR                      keys of the Python file peers
    pyworker file TOOL encrypt|decrypt SRC DST KEYDIR
    pyworker fields BYTES N [--batches-only]   strongroom and its peers
    pyworker kdf KEYRING                       argon2-cffi, Keyring.open
    pyworker probe                             which Python peers import
"""

from __future__ import annotations

import hmac
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

PASS = os.environ.get("STRONGROOM_KEYRING_PASSPHRASE", "strongroom benchmark passphrase")
CHUNK = 64 * 1024  # plaintext bytes per AESGCM chunk of the chunked peer
IO = 4 << 20  # bytes per read and write of every streaming peer


def emit(case: str, seconds: float, ops: int = 1) -> None:
    print(json.dumps({"case": case, "seconds": seconds, "ops": ops}), flush=True)


def probe() -> None:
    """Prints the version of every Python peer that imports, or why not."""
    out: Dict[str, str] = {}
    for name in ("strongroom", "cryptography", "pyrage", "tink", "argon2", "matplotlib"):
        try:
            mod = __import__(name)
            from importlib.metadata import PackageNotFoundError
            from importlib.metadata import version as dist_version

            try:
                version = dist_version({"argon2": "argon2-cffi"}.get(name, name))
            except PackageNotFoundError:
                version = getattr(mod, "__version__", "?")
            out[name] = str(version)
        except Exception as e:  # noqa: BLE001 - any failure means the peer is unusable
            out[name] = f"!{type(e).__name__}: {e}"
    try:
        import cryptography.hazmat.primitives.ciphers.aead as aead_mod

        out["cryptography.cobblestone"] = "yes" if hasattr(aead_mod, "Cobblestone256") else "no"
    except ImportError:
        out["cryptography.cobblestone"] = "no"
    print(json.dumps(out))


def setup(keydir: Path) -> None:
    keydir.mkdir(parents=True, exist_ok=True)
    (keydir / "aesgcm.key").write_bytes(os.urandom(32))
    try:
        import pyrage

        ident = pyrage.x25519.Identity.generate()
        (keydir / "pyrage.identity").write_text(str(ident))
    except ImportError:
        pass
    try:
        import tink
        from tink import cleartext_keyset_handle, streaming_aead

        streaming_aead.register()
        handle = tink.new_keyset_handle(streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB)
        with open(keydir / "tink-streaming.json", "w") as f:
            cleartext_keyset_handle.write(tink.JsonKeysetWriter(f), handle)
    except ImportError:
        pass


def file_op(tool: str, op: str, src: str, dst: str, keydir: Path) -> None:
    enc = op == "encrypt"
    if tool in ("strongroom-file", "strongroom-stream"):
        import strongroom

        start = time.perf_counter()
        ring = strongroom.Keyring.open(str(keydir / "strongroom.keyring"), PASS)
        if tool == "strongroom-file":
            (strongroom.encrypt_file if enc else strongroom.decrypt_file)(src, dst, keyring=ring)
        elif enc:
            with open(src, "rb") as f, strongroom.open(dst, "wb", keyring=ring) as w:
                shutil.copyfileobj(f, w, IO)
        else:
            with strongroom.open(src, "rb", keyring=ring) as r, open(dst, "wb") as f:
                shutil.copyfileobj(r, f, IO)
        emit(f"{tool}/{op}", time.perf_counter() - start)
    elif tool == "pyrage":
        import pyrage

        ident = pyrage.x25519.Identity.from_str((keydir / "pyrage.identity").read_text().strip())
        start = time.perf_counter()
        if enc:
            pyrage.encrypt_file(src, dst, [ident.to_public()])
        else:
            pyrage.decrypt_file(src, dst, [ident])
        emit(f"{tool}/{op}", time.perf_counter() - start)
    elif tool == "aesgcm-chunks":
        aesgcm_chunks(enc, src, dst, (keydir / "aesgcm.key").read_bytes())
    elif tool == "cobblestone256":
        cobblestone(enc, src, dst, (keydir / "aesgcm.key").read_bytes())
    elif tool == "tink-streaming":
        import tink
        from tink import cleartext_keyset_handle, streaming_aead

        streaming_aead.register()
        with open(keydir / "tink-streaming.json") as f:
            handle = cleartext_keyset_handle.read(tink.JsonKeysetReader(f.read()))
        prim = handle.primitive(streaming_aead.StreamingAead)
        start = time.perf_counter()
        if enc:
            with open(src, "rb") as f, open(dst, "wb") as o, prim.new_encrypting_stream(o, b"bench") as es:
                shutil.copyfileobj(f, es, IO)
        else:
            with open(src, "rb") as f, open(dst, "wb") as o, prim.new_decrypting_stream(f, b"bench") as ds:
                shutil.copyfileobj(ds, o, IO)
        emit(f"{tool}/{op}", time.perf_counter() - start)
    else:
        raise SystemExit(f"pyworker: unknown file tool {tool}")


def aesgcm_chunks(enc: bool, src: str, dst: str, key: bytes) -> None:
    """What an application writes with `cryptography` today: AESGCM over
    64 KiB chunks, a random 8-byte prefix and a chunk counter as nonce, the
    last chunk marked in the associated data (so truncation is caught)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    g = AESGCM(key)
    start = time.perf_counter()
    with open(src, "rb") as f, open(dst, "wb") as o:
        if enc:
            prefix = os.urandom(8)
            o.write(prefix)
            i = 0
            chunk = f.read(CHUNK)
            while True:
                nxt = f.read(CHUNK)
                last = b"\x01" if not nxt else b"\x00"
                o.write(g.encrypt(prefix + i.to_bytes(4, "big"), chunk, last))
                if not nxt:
                    break
                chunk, i = nxt, i + 1
        else:
            prefix = f.read(8)
            i = 0
            chunk = f.read(CHUNK + 16)
            while True:
                nxt = f.read(CHUNK + 16)
                last = b"\x01" if not nxt else b"\x00"
                o.write(g.decrypt(prefix + i.to_bytes(4, "big"), chunk, last))
                if not nxt:
                    break
                chunk, i = nxt, i + 1
    emit(f"aesgcm-chunks/{'encrypt' if enc else 'decrypt'}", time.perf_counter() - start)


def cobblestone(enc: bool, src: str, dst: str, key: bytes) -> None:
    """`cryptography`'s own Cobblestone-256 (the construction of
    strongroom's payload), in the versions that have it."""
    from cryptography.hazmat.primitives.ciphers import aead as aead_mod

    cs = aead_mod.Cobblestone256(key)  # type: ignore[attr-defined]
    start = time.perf_counter()
    data = Path(src).read_bytes()
    out = cs.encrypt(b"bench", data) if enc else cs.decrypt(b"bench", data)
    Path(dst).write_bytes(out)
    emit(f"cobblestone256/{'encrypt' if enc else 'decrypt'}", time.perf_counter() - start)


def fields(size: int, n: int, batches_only: bool) -> None:
    """Field encryption of `size`-byte values from Python, n values per
    case, cases in a random order."""
    import tempfile

    import strongroom

    values = [os.urandom(size) for _ in range(n)]
    aad = b"users.email"
    cases: List[Tuple[str, Callable[[], object]]] = []
    d = tempfile.mkdtemp()
    ring = strongroom.Keyring.create(os.path.join(d, "r.srk"), "bench", kdf=strongroom.KdfParams(8192, 1, 1))
    rnd = strongroom.FieldCipher(ring, "users", "email", bytes)
    det = strongroom.FieldCipher(ring, "users", "email_d", bytes, deterministic=True)
    bidx = strongroom.FieldCipher(ring, "users", "email_i", bytes, blind_index=16)
    tokens = rnd.encrypt_many(values)
    cases += [
        ("strongroom/encrypt/batch", lambda: rnd.encrypt_many(values)),
        ("strongroom/decrypt/batch", lambda: rnd.decrypt_many(tokens)),
        ("strongroom/deterministic/batch", lambda: det.encrypt_many(values)),
        ("strongroom/blind-index/batch", lambda: bidx.index_many(values)),
    ]
    if not batches_only:
        enc, dec, denc, idx = rnd.encrypt, rnd.decrypt, det.encrypt, bidx.index
        cases += [
            ("strongroom/encrypt/single", lambda: [enc(v) for v in values]),
            ("strongroom/decrypt/single", lambda: [dec(t) for t in tokens]),
            ("strongroom/deterministic/single", lambda: [denc(v) for v in values]),
            ("strongroom/blind-index/single", lambda: [idx(v) for v in values]),
        ]
        mac_key = os.urandom(32)
        cases.append(("hmac/sha256", lambda: [hmac.digest(mac_key, v, "sha256") for v in values]))
        try:
            from cryptography.fernet import Fernet
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV

            g = AESGCM(AESGCM.generate_key(bit_length=256))
            nonce = os.urandom(12)
            gct = [g.encrypt(nonce, v, aad) for v in values]
            siv = AESSIV(AESSIV.generate_key(bit_length=512))
            sct = [siv.encrypt(v, [aad]) for v in values]
            fer = Fernet(Fernet.generate_key())
            m = max(1, n // 10)  # Fernet is slow: fewer calls, same per-value figure
            fct = [fer.encrypt(v) for v in values[:m]]
            cases += [
                ("cryptography/aesgcm-encrypt", lambda: [g.encrypt(os.urandom(12), v, aad) for v in values]),
                ("cryptography/aesgcm-decrypt", lambda: [g.decrypt(nonce, t, aad) for t in gct]),
                ("cryptography/aessiv-encrypt", lambda: [siv.encrypt(v, [aad]) for v in values]),
                ("cryptography/aessiv-decrypt", lambda: [siv.decrypt(t, [aad]) for t in sct]),
                ("cryptography/fernet-encrypt", lambda: [fer.encrypt(v) for v in values[:m]]),
                ("cryptography/fernet-decrypt", lambda: [fer.decrypt(t) for t in fct]),
            ]
            counts = {"cryptography/fernet-encrypt": m, "cryptography/fernet-decrypt": m}
        except ImportError:
            counts = {}
        try:
            import tink
            from tink import aead, daead

            aead.register()
            daead.register()
            ta = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM).primitive(aead.Aead)
            td = tink.new_keyset_handle(daead.deterministic_aead_key_templates.AES256_SIV).primitive(
                daead.DeterministicAead)
            tct = [ta.encrypt(v, aad) for v in values]
            cases += [
                ("tink/aead-encrypt", lambda: [ta.encrypt(v, aad) for v in values]),
                ("tink/aead-decrypt", lambda: [ta.decrypt(t, aad) for t in tct]),
                ("tink/daead-encrypt", lambda: [td.encrypt_deterministically(v, aad) for v in values]),
            ]
        except ImportError:
            pass
    else:
        counts = {}
    for _, fn in cases:  # warm-up: first calls build tables and pools
        fn()
    random.shuffle(cases)
    for name, fn in cases:
        start = time.perf_counter()
        fn()
        emit(name, time.perf_counter() - start, counts.get(name, n))
    ring.close()
    shutil.rmtree(d, ignore_errors=True)


def kdf(keyring: str) -> None:
    import strongroom

    params = strongroom.KdfParams()
    try:
        from argon2.low_level import Type, hash_secret_raw

        start = time.perf_counter()
        hash_secret_raw(PASS.encode(), b"saltsaltsaltsalt", time_cost=params.iterations,
                        memory_cost=params.memory_kib, parallelism=params.parallelism, hash_len=32, type=Type.ID)
        emit("argon2-cffi/argon2id-default", time.perf_counter() - start)
    except ImportError:
        pass
    start = time.perf_counter()
    strongroom.Keyring.open(keyring, PASS).close()
    emit("strongroom-python/keyring-open", time.perf_counter() - start)


def main(argv: List[str]) -> None:
    cmd = argv[0] if argv else ""
    if cmd == "probe":
        probe()
    elif cmd == "setup":
        setup(Path(argv[1]))
    elif cmd == "file":
        file_op(argv[1], argv[2], argv[3], argv[4], Path(argv[5]))
    elif cmd == "fields":
        fields(int(argv[1]), int(argv[2]), "--batches-only" in argv)
    elif cmd == "kdf":
        kdf(argv[1])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
