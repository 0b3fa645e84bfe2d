"""Whole files and strongroom.open: atomic output, progress, Ctrl-C, the
GIL, random access, and the standard library's file consumers."""

from __future__ import annotations

import _thread
import hashlib
import io
import os
import random
import shutil
import tarfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

import strongroom
from conftest import FAST


def write_random(path: Path, size: int, seed: int = 1) -> bytes:
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return data


def test_encrypt_and_decrypt_file(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    data = write_random(tmp_path / "plain", 100_000)
    assert strongroom.encrypt_file(tmp_path / "plain", tmp_path / "enc", keyring=keyring) == len(data)
    assert strongroom.decrypt_file(tmp_path / "enc", tmp_path / "out", keyring=keyring) == len(data)
    assert (tmp_path / "out").read_bytes() == data


def test_passphrase_file_with_escrow(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    data = write_random(tmp_path / "plain", 5000)
    strongroom.encrypt_file(tmp_path / "plain", tmp_path / "enc", keyring=keyring, passphrase="escrow pw", kdf=FAST)
    strongroom.decrypt_file(tmp_path / "enc", tmp_path / "out", passphrase=lambda: "escrow pw")
    assert (tmp_path / "out").read_bytes() == data
    with pytest.raises(strongroom.KeyAccessError) as info:
        strongroom.decrypt_file(tmp_path / "enc", tmp_path / "out2", passphrase="wrong")
    assert info.value.name == "WrongPassphrase"
    assert not (tmp_path / "out2").exists()


def test_existing_destination_is_kept(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    write_random(tmp_path / "plain", 10)
    (tmp_path / "enc").write_bytes(b"keep me")
    with pytest.raises(strongroom.ConflictError) as info:
        strongroom.encrypt_file(tmp_path / "plain", tmp_path / "enc", keyring=keyring)
    assert info.value.name == "AlreadyExists"
    assert (tmp_path / "enc").read_bytes() == b"keep me"
    strongroom.encrypt_file(tmp_path / "plain", tmp_path / "enc", keyring=keyring, overwrite=True)
    assert (tmp_path / "enc").read_bytes() != b"keep me"


def test_missing_source_is_an_io_error(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    with pytest.raises(strongroom.StrongroomIOError) as info:
        strongroom.encrypt_file(tmp_path / "nope", tmp_path / "enc", keyring=keyring)
    assert (info.value.code, info.value.name) == (302, "NotFound")


def test_tampered_file_leaves_nothing(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    write_random(tmp_path / "plain", 100_000)
    strongroom.encrypt_file(tmp_path / "plain", tmp_path / "enc", keyring=keyring)
    raw = bytearray((tmp_path / "enc").read_bytes())
    raw[-100] ^= 1
    (tmp_path / "bad").write_bytes(bytes(raw))
    with pytest.raises(strongroom.AuthenticationError) as info:
        strongroom.decrypt_file(tmp_path / "bad", tmp_path / "out", keyring=keyring)
    assert info.value.name == "ChunkAuthFailed"
    assert not (tmp_path / "out").exists()
    assert not any(p.name.startswith(".strongroom") for p in tmp_path.iterdir())


def test_progress_reports_and_exception_cancels(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    size = 12 << 20
    write_random(tmp_path / "plain", size)
    seen: List[Tuple[int, int]] = []
    strongroom.encrypt_file(tmp_path / "plain", tmp_path / "enc", keyring=keyring,
                            progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, size) and seen[-1] == (size, size)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))

    class Stop(Exception):
        pass

    def stop(done: int, total: int) -> None:
        if done > 0:
            raise Stop()

    with pytest.raises(Stop):
        strongroom.decrypt_file(tmp_path / "enc", tmp_path / "out", keyring=keyring, progress=stop)
    assert not (tmp_path / "out").exists()


def test_tqdm_drives_a_bar(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    tqdm = pytest.importorskip("tqdm").tqdm
    write_random(tmp_path / "plain", 9 << 20)
    with tqdm(total=0, unit="B", unit_scale=True, file=io.StringIO()) as bar:
        def update(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
        strongroom.encrypt_file(tmp_path / "plain", tmp_path / "enc", keyring=keyring, progress=update)
        assert bar.n == 9 << 20


def test_ctrl_c_stops_and_leaves_no_output(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    write_random(tmp_path / "plain", 64 << 20)
    fired = threading.Event()

    def interrupt(done: int, total: int) -> None:
        if done > 0 and not fired.is_set():
            fired.set()
            _thread.interrupt_main()

    with pytest.raises(KeyboardInterrupt):
        strongroom.encrypt_file(tmp_path / "plain", tmp_path / "enc", keyring=keyring, progress=interrupt)
    assert not (tmp_path / "enc").exists()
    assert not any(p.name.startswith(".strongroom") for p in tmp_path.iterdir())


@pytest.mark.slow
def test_the_gil_is_released_during_a_256_mib_file(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    size = 256 << 20
    with open(tmp_path / "plain", "wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(size >> 20):
            f.write(block)
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    # The background thread only advances while encrypt_file runs.
    before = ticks
    strongroom.encrypt_file(tmp_path / "plain", tmp_path / "enc", keyring=keyring)
    during = ticks - before
    stop.set()
    t.join()
    assert during > 20, f"the other thread ran only {during} times"
    assert strongroom.decrypt_file(tmp_path / "enc", tmp_path / "out", keyring=keyring) == size
    h = hashlib.sha256
    with open(tmp_path / "plain", "rb") as a, open(tmp_path / "out", "rb") as b:
        assert h(a.read()).digest() == h(b.read()).digest()
    # Random access into the large file.
    with strongroom.open(tmp_path / "enc", "rb", keyring=keyring) as r, open(tmp_path / "plain", "rb") as p:
        for off in random.Random(3).sample(range(size - 4096), 16):
            r.seek(off)
            p.seek(off)
            assert r.read(4096) == p.read(4096)


def test_open_write_then_seek_read(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    data = random.Random(5).randbytes(300_000)
    with strongroom.open(tmp_path / "f.srf", "wb", keyring=keyring) as w:
        for i in range(0, len(data), 7777):
            w.write(data[i:i + 7777])
    with strongroom.open(tmp_path / "f.srf", "rb", keyring=keyring) as r:
        assert r.seekable()
        rng = random.Random(9)
        for _ in range(200):
            off = rng.randrange(len(data))
            n = rng.randrange(1, 40_000)
            assert r.seek(off) == off
            assert r.read(n) == data[off:off + n]
            assert r.tell() == min(off + n, len(data))
        assert r.seek(-10, io.SEEK_END) == len(data) - 10
        assert r.read() == data[-10:]
        assert r.authenticated_length() == len(data)


def test_writer_abandoned_by_an_exception_leaves_nothing(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with strongroom.open(tmp_path / "f.srf", "wb", keyring=keyring) as w:
            w.write(b"x" * 100_000)
            raise RuntimeError("stop")
    assert list(p.name for p in tmp_path.iterdir() if p.name.endswith(".srf") or p.name.startswith(".strongroom")) == []


def test_tampered_chunk_raises_without_releasing_it(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    data = bytes(range(256)) * 400  # 102400 bytes: 6 full chunks and a final one
    with strongroom.open(tmp_path / "f.srf", "wb", keyring=keyring) as w:
        w.write(data)
    raw = bytearray((tmp_path / "f.srf").read_bytes())
    raw[len(raw) // 2] ^= 0x80
    (tmp_path / "bad.srf").write_bytes(bytes(raw))
    got = bytearray()
    with pytest.raises(strongroom.AuthenticationError) as info:
        with strongroom.open(tmp_path / "bad.srf", "rb", keyring=keyring) as r:
            while chunk := r.read(1000):
                got += chunk
    assert info.value.name == "ChunkAuthFailed"
    assert data.startswith(bytes(got)) and len(got) < len(data) // 2


def test_streaming_between_python_file_objects(keyring: strongroom.Keyring) -> None:
    data = random.Random(2).randbytes(70_000)
    sink = io.BytesIO()
    with strongroom.open(sink, "wb", keyring=keyring) as w:
        shutil.copyfileobj(io.BytesIO(data), w)
    enc = sink.getvalue()

    class Pipe(io.RawIOBase):
        """A non-seekable reader."""

        def __init__(self, b: bytes) -> None:
            self._b = io.BytesIO(b)

        def readable(self) -> bool:
            return True

        def readinto(self, buf: "memoryview") -> int:  # type: ignore[override]
            n = self._b.readinto(buf)
            return n

    with strongroom.open(io.BufferedReader(Pipe(enc)), "rb", keyring=keyring) as r:
        assert not r.seekable()
        out = io.BytesIO()
        shutil.copyfileobj(r, out)
    assert out.getvalue() == data
    with strongroom.open(io.BytesIO(enc), "rb", keyring=keyring) as r:
        assert r.seekable()
        r.seek(50_000)
        assert r.read(10) == data[50_000:50_010]


def test_file_object_errors_propagate(keyring: strongroom.Keyring) -> None:
    class Broken(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: object) -> int:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        w = strongroom.open(Broken(), "wb", keyring=keyring)
        w.write(b"x" * (4 << 20))
        w.close()


def test_tarfile_streaming_and_seeking(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    files = {f"dir/f{i}.bin": random.Random(i).randbytes(i * 3000) for i in range(1, 8)}
    for name, body in files.items():
        (tmp_path / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / name).write_bytes(body)
    with strongroom.open(tmp_path / "a.tar.srf", "wb", keyring=keyring) as f:
        with tarfile.open(fileobj=f, mode="w|") as tar:
            tar.add(tmp_path / "src" / "dir", arcname="dir")
    with strongroom.open(tmp_path / "a.tar.srf", "rb", keyring=keyring) as f:
        with tarfile.open(fileobj=f, mode="r|") as tar:
            names = [m.name for m in tar]
    assert set(files) <= set(names)
    with strongroom.open(tmp_path / "a.tar.srf", "rb", keyring=keyring) as f:
        with tarfile.open(fileobj=f, mode="r:") as tar:
            for name in reversed(list(files)):
                member = tar.extractfile(name)
                assert member is not None and member.read() == files[name]


def test_zipfile_round_trip(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    files = {f"f{i}.txt": (f"line {i}\n" * (i * 500)).encode() for i in range(1, 6)}
    with strongroom.open(tmp_path / "a.zip.srf", "wb", keyring=keyring) as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for name, body in files.items():
                z.writestr(name, body)
    with strongroom.open(tmp_path / "a.zip.srf", "rb", keyring=keyring) as f:
        with zipfile.ZipFile(f) as z:
            assert z.testzip() is None
            for name in reversed(list(files)):
                assert z.read(name) == files[name]


def test_pandas_csv_round_trip(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"id": range(1000), "email": [f"u{i}@example.com" for i in range(1000)]})
    with strongroom.open(tmp_path / "d.csv.srf", "wb", keyring=keyring) as f:
        df.to_csv(f, index=False)
    with strongroom.open(tmp_path / "d.csv.srf", "rb", keyring=keyring) as f:
        back = pd.read_csv(f)
    assert back.equals(df)


def test_bad_mode_is_a_usage_error(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    with pytest.raises(strongroom.UsageError):
        strongroom.open(tmp_path / "x", "r+b", keyring=keyring)  # type: ignore[call-overload]


def test_large_and_small_writes_interleave(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    parts = [b"a" * 10, os.urandom(3 << 20), b"b" * 5000, bytearray(os.urandom(2 << 20)), b"c"]
    with strongroom.open(tmp_path / "m.srf", "wb", keyring=keyring) as w:
        for p in parts:
            assert w.write(p) == len(p)
    with strongroom.open(tmp_path / "m.srf", "rb", keyring=keyring) as r:
        assert r.read() == b"".join(bytes(p) for p in parts)


def test_many_pieces_of_every_size_arrive_in_order(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    # Pieces around the chunk size and the buffer size, through both the
    # buffered path and the direct one, several in flight at once.
    rng = random.Random(7)
    sizes = [0, 1, 65_535, 65_536, 65_537, 1 << 20, (1 << 20) + 1, 4 << 20, 7, 500_000, 3 << 20]
    parts = [rng.randbytes(n) for n in sizes * 3]
    with strongroom.open(tmp_path / "p.srf", "wb", keyring=keyring) as w:
        for p in parts:
            assert w.write(p) == len(p)
    assert strongroom.open(tmp_path / "p.srf", "rb", keyring=keyring).read() == b"".join(parts)


def test_a_destination_write_error_raises_and_leaves_nothing(tmp_path: Path) -> None:
    # The file-size limit makes the output's writes fail (EFBIG) after
    # 1 MiB, in a child process so the limit stays there.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        f"""
        import os, resource, signal, sys
        import strongroom
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        kdf = strongroom.KdfParams(memory_kib=8192, iterations=1, parallelism=1)
        ring = strongroom.Keyring.create({str(tmp_path / "k.srk")!r}, "pw", kdf=kdf)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        try:
            with strongroom.open({str(tmp_path / "big.srf")!r}, "wb", keyring=ring) as w:
                for _ in range(16):
                    w.write(os.urandom(1 << 20))
        except strongroom.StrongroomIOError as e:
            print("io error:", e)
            sys.exit(0)
        sys.exit(1)
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0 and "io error" in r.stdout, (r.stdout, r.stderr)
    assert not (tmp_path / "big.srf").exists()
    assert not any(p.name.startswith(".strongroom") for p in tmp_path.iterdir())

    # A caller that catches the write's error and closes anyway is told the
    # file was abandoned; nothing appears.
    code = textwrap.dedent(
        f"""
        import os, resource, signal, sys
        import strongroom
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        ring = strongroom.Keyring.open({str(tmp_path / "k.srk")!r}, "pw")
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        w = strongroom.open({str(tmp_path / "big2.srf")!r}, "wb", keyring=ring)
        try:
            for _ in range(64):
                w.write(os.urandom(1 << 20))
        except strongroom.StrongroomIOError:
            pass
        else:
            sys.exit(2)
        try:
            w.close()
        except strongroom.UsageError as e:
            print("close refused:", e)
            sys.exit(0)
        sys.exit(3)
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0 and "abandoned" in r.stdout, (r.returncode, r.stdout, r.stderr)
    assert not (tmp_path / "big2.srf").exists()


def test_unclosed_writer_is_abandoned(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    import gc

    w = strongroom.open(tmp_path / "u.srf", "wb", keyring=keyring)
    w.write(b"x" * 50_000)
    del w
    gc.collect()
    assert not (tmp_path / "u.srf").exists()
    assert not any(p.name.startswith(".strongroom") for p in tmp_path.iterdir())


def test_open_refuses_an_existing_path(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    (tmp_path / "e.srf").write_bytes(b"keep")
    with pytest.raises(strongroom.ConflictError):
        strongroom.open(tmp_path / "e.srf", "wb", keyring=keyring)
    assert (tmp_path / "e.srf").read_bytes() == b"keep"
    with strongroom.open(tmp_path / "e.srf", "wb", keyring=keyring, overwrite=True) as w:
        w.write(b"new")
    with strongroom.open(tmp_path / "e.srf", "rb", keyring=keyring) as r:
        assert r.read() == b"new"


def test_readinto_fills_the_callers_buffer(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    data = write_random(tmp_path / "plain", 4 * 65536 + 123, seed=5)
    strongroom.encrypt_file(tmp_path / "plain", tmp_path / "enc", keyring=keyring)
    with strongroom.open(tmp_path / "enc", "rb", keyring=keyring, buffer_size=4096) as r:
        raw = r.raw
        buf = bytearray(100_000)
        assert raw.readinto(buf) == 100_000 and bytes(buf) == data[:100_000]
        view = memoryview(bytearray(70_000))[10:60_000]
        assert raw.readinto(view) == 59_990 and bytes(view) == data[100_000:159_990]
        import array

        arr = array.array("B", bytes(50_000))
        assert raw.readinto(arr) == 50_000 and arr.tobytes() == data[159_990:209_990]
        rest = bytearray(len(data))
        n = raw.readinto(rest)
        assert bytes(rest[:n]) == data[209_990:]
        assert raw.readinto(bytearray(10)) == 0
        # A read-only buffer is refused by the copying fallback, as by any file.
        raw.seek(0)
        with pytest.raises(TypeError):
            raw.readinto(b"\0" * 10)
    with strongroom.open(tmp_path / "enc", "rb", keyring=keyring) as r:
        assert r.read(10) == data[:10]
        assert r.read(len(data)) == data[10:]
        assert r.read(10) == b""


def test_readinto_of_a_tampered_chunk_raises(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    write_random(tmp_path / "plain", 200_000, seed=6)
    strongroom.encrypt_file(tmp_path / "plain", tmp_path / "enc", keyring=keyring)
    raw_bytes = bytearray((tmp_path / "enc").read_bytes())
    raw_bytes[len(raw_bytes) // 2] ^= 1
    (tmp_path / "bad").write_bytes(bytes(raw_bytes))
    with strongroom.open(tmp_path / "bad", "rb", keyring=keyring) as r:
        buf = bytearray(len(raw_bytes))
        with pytest.raises(strongroom.AuthenticationError):
            while r.raw.readinto(buf):
                pass


def test_readinto_never_shows_a_forged_chunk_to_another_thread(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    """While `readinto` decrypts whole chunks with the interpreter released,
    another thread watches the caller's buffer: the forged chunks' would-be
    plaintext (a run of b"A", made with CTR malleability: ciphertext XOR
    plaintext XOR pattern, the old tags kept) never appears there, and the
    call fails with ChunkAuthFailed naming the first forged chunk."""
    import sys

    chunk, enc_chunk, prefix = 16384, 16400, 56
    first, count = 8, 8  # the read covers chunks 8..15, all forged
    # Plaintext bytes all >= 0x80, so b"A" (0x41) never occurs in it.
    data = random.Random(11).randbytes(24 * chunk + 77).translate(bytes(b | 0x80 for b in range(256)))
    (tmp_path / "plain").write_bytes(data)
    strongroom.encrypt_file(tmp_path / "plain", tmp_path / "enc", keyring=keyring)
    raw = bytearray((tmp_path / "enc").read_bytes())
    body = strongroom.inspect(tmp_path / "enc").header_len + prefix
    for i in range(first, first + count):
        at = body + i * enc_chunk
        ct = int.from_bytes(raw[at:at + chunk], "big")
        pt = int.from_bytes(data[i * chunk:(i + 1) * chunk], "big")
        pattern = int.from_bytes(b"A" * chunk, "big")
        raw[at:at + chunk] = (ct ^ pt ^ pattern).to_bytes(chunk, "big")
    (tmp_path / "bad").write_bytes(bytes(raw))

    buf = bytearray(count * chunk)
    probe = b"A" * 32
    starts = [k * chunk for k in range(count)] + [k * chunk + chunk // 2 for k in range(count)]
    stop = threading.Event()
    seen: List[int] = []
    looks = [0]

    def watch() -> None:
        while not stop.is_set():
            for s in starts:
                if buf[s:s + 32] == probe:
                    seen.append(s)
            looks[0] += 1

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with strongroom.open(tmp_path / "bad", "rb", keyring=keyring) as r:
            for _ in range(3000):
                r.raw.seek(first * chunk)
                with pytest.raises(strongroom.AuthenticationError) as info:
                    r.raw.readinto(buf)
                assert info.value.name == "ChunkAuthFailed"
                assert str(info.value).startswith(f"chunk {first} failed authentication")
                if seen:
                    break
    finally:
        stop.set()
        watcher.join()
        sys.setswitchinterval(old_interval)
    assert looks[0] > 0
    assert not seen, f"forged plaintext seen at buffer offsets {sorted(set(seen))[:8]}"
    assert probe not in buf


def test_rekey_file_revokes_old_protectors(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    data = write_random(tmp_path / "plain", 150_000, seed=7)
    enc = tmp_path / "enc"
    strongroom.encrypt_file(tmp_path / "plain", enc, keyring=keyring, passphrase="old escrow", kdf=FAST)
    old_header = enc.read_bytes()[:512]
    assert strongroom.rekey_file(enc, keyring=keyring, to_passphrases=["new escrow"], kdf=FAST) == len(data)
    assert enc.read_bytes()[:512] != old_header
    assert strongroom.decrypt_file(enc, tmp_path / "a", passphrase="new escrow") == len(data)
    assert (tmp_path / "a").read_bytes() == data
    with pytest.raises(strongroom.KeyAccessError):
        strongroom.decrypt_file(enc, tmp_path / "b", passphrase="old escrow")
    with pytest.raises(strongroom.KeyAccessError):
        strongroom.decrypt_file(enc, tmp_path / "c", keyring=keyring)
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()
    # To another path, for the keyring by default; the source is kept.
    out = tmp_path / "rekeyed"
    strongroom.rekey_file(enc, out, passphrase="new escrow", to_keyring=keyring)
    with strongroom.open(out, "rb", keyring=keyring) as r:
        assert r.read() == data
    with pytest.raises(strongroom.ConflictError):
        strongroom.rekey_file(enc, out, passphrase="new escrow", to_keyring=keyring)
    strongroom.rekey_file(out, keyring=keyring)
    with strongroom.open(out, "rb", keyring=keyring) as r:
        assert r.read() == data


def test_rekey_file_failures_leave_the_source(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    write_random(tmp_path / "plain", 10_000, seed=8)
    enc = tmp_path / "enc"
    strongroom.encrypt_file(tmp_path / "plain", enc, keyring=keyring)
    before = enc.read_bytes()
    with pytest.raises(strongroom.KeyAccessError):
        strongroom.rekey_file(enc, passphrase="not it", to_passphrases=["x"], kdf=FAST)
    with pytest.raises(strongroom.UsageError):
        strongroom.rekey_file(enc, passphrase="only to open")
    with pytest.raises(ZeroDivisionError):
        strongroom.rekey_file(enc, keyring=keyring, progress=lambda done, total: 1 / 0)
    assert enc.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.srk", "enc", "plain"]


def test_rewrap_file_changes_protectors_not_payload(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    data = write_random(tmp_path / "plain", 120_000, seed=9)
    enc = tmp_path / "enc"
    strongroom.encrypt_file(tmp_path / "plain", enc, keyring=keyring, passphrase="one", kdf=FAST)
    payload = enc.read_bytes()[-100_000:]
    strongroom.rewrap_file(enc, keyring=keyring, add_passphrases=["two"], remove_passphrases=["one"], kdf=FAST)
    assert enc.read_bytes()[-100_000:] == payload
    with strongroom.open(enc, "rb", passphrase="two") as r:
        assert r.read() == data
    with pytest.raises(strongroom.KeyAccessError):
        strongroom.decrypt_file(enc, tmp_path / "x", passphrase="one")
    # Move the keyring stanza to a new primary version.
    old_version = keyring.primary_version
    keyring.add_key()
    assert keyring.primary_version != old_version
    strongroom.rewrap_file(enc, keyring=keyring, to_primary=keyring)
    with strongroom.open(enc, "rb", keyring=keyring) as r:
        assert r.read() == data
    strongroom.rewrap_file(enc, keyring=keyring, remove_all_passphrases=True)
    with pytest.raises(strongroom.KeyAccessError):
        strongroom.decrypt_file(enc, tmp_path / "y", passphrase="two")
    with pytest.raises(strongroom.KeyAccessError):
        strongroom.rewrap_file(enc, passphrase="two", add_passphrases=["three"], kdf=FAST)
    # Removing a passphrase that opens nothing is refused, and changes nothing.
    before = enc.read_bytes()
    with pytest.raises(strongroom.KeyAccessError):
        strongroom.rewrap_file(enc, keyring=keyring, remove_passphrases=["never"])
    assert enc.read_bytes() == before


def assert_refused_in_forked_child(use: Callable[[], object]) -> None:
    """Runs `use` in a forked child, which must raise UsageError naming the
    parent process (any other outcome fails the parent's assertion)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            use()
        except strongroom.UsageError as e:
            code = 0 if "parent process" in str(e) else 2
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_writer_used_in_a_forked_child_refuses_and_the_parent_finishes(
    keyring: strongroom.Keyring, tmp_path: Path
) -> None:
    # The child has no copy of the writing thread: its write is refused
    # (never a hang); the parent's file is unaffected.
    data = os.urandom(3 << 20)
    w = strongroom.open(tmp_path / "f.srf", "wb", keyring=keyring)
    w.write(data)
    assert_refused_in_forked_child(lambda: w.raw.write(b"x" * (9 << 20)))
    w.write(data)
    w.close()
    assert strongroom.open(tmp_path / "f.srf", "rb", keyring=keyring).read() == data + data


def test_read_ahead_keeps_positions_exact(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    # Large sequential reads are decrypted ahead on a thread; tell, seek,
    # smaller and larger reads, and a whole read must not notice.
    data = random.Random(3).randbytes(13 << 20)
    with strongroom.open(tmp_path / "a.srf", "wb", keyring=keyring) as w:
        w.write(data)
    r = strongroom.open(tmp_path / "a.srf", "rb", keyring=keyring)
    raw = r.raw
    assert raw.read(2 << 20) == data[: 2 << 20]
    assert raw.tell() == 2 << 20
    assert raw.read(1 << 20) == data[2 << 20 : 3 << 20]
    assert raw.read(3 << 20) == data[3 << 20 : 6 << 20]
    raw.seek(1 << 20)
    assert raw.read(4 << 20) == data[1 << 20 : 5 << 20]
    assert raw.read() == data[5 << 20 :]
    raw.seek(0)
    buf = bytearray(2 << 20)
    assert raw.readinto(buf) == len(buf) and bytes(buf) == data[: 2 << 20]
    assert raw.read(12 << 20) == data[2 << 20 :]
    assert raw.read(1 << 20) == b""
    r.close()


def test_read_ahead_of_a_tampered_chunk_raises_on_reaching_it(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    data = os.urandom(8 << 20)
    with strongroom.open(tmp_path / "t.srf", "wb", keyring=keyring) as w:
        w.write(data)
    blob = bytearray((tmp_path / "t.srf").read_bytes())
    blob[len(blob) - (3 << 20)] ^= 1  # about 5 MiB into the plaintext
    (tmp_path / "t.srf").write_bytes(bytes(blob))
    with strongroom.open(tmp_path / "t.srf", "rb", keyring=keyring) as r:
        assert r.raw.read(2 << 20) == data[: 2 << 20]  # starts a read-ahead of 2..4 MiB
        assert r.raw.read(2 << 20) == data[2 << 20 : 4 << 20]
        with pytest.raises(strongroom.AuthenticationError):
            r.raw.read(2 << 20)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_reader_with_a_read_ahead_in_a_forked_child_refuses(keyring: strongroom.Keyring, tmp_path: Path) -> None:
    data = os.urandom(6 << 20)
    with strongroom.open(tmp_path / "k.srf", "wb", keyring=keyring) as w:
        w.write(data)
    r = strongroom.open(tmp_path / "k.srf", "rb", keyring=keyring)
    assert r.raw.read(2 << 20) == data[: 2 << 20]  # a read-ahead is now in flight
    assert_refused_in_forked_child(lambda: r.raw.read(2 << 20))
    assert r.raw.read() == data[2 << 20 :]
    r.close()
