"""Worker processes: forked children never repeat a parent's nonce,
pickled handles work in spawned and forked multiprocessing workers, and a
child forked while another thread was inside a native object refuses to
use it rather than hang."""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import pytest

import strongroom

HEADER = 6
NONCE = 24


def nonces(tokens: Sequence[object]) -> List[bytes]:
    return [t[HEADER:HEADER + NONCE] for t in tokens if isinstance(t, bytes)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_parent_and_forked_children_never_share_a_nonce(keyring: strongroom.Keyring) -> None:
    c = strongroom.FieldCipher(keyring, "t", "c", str)
    c.encrypt("warm up the parent's generator")
    children: List[bytes] = []
    for _ in range(3):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                os.close(r)
                tokens = [*(c.encrypt("v") for _ in range(500)), *c.encrypt_many(["v"] * 500)]
                os.write(w, pickle.dumps(tokens))
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            children.append(f.read())
        os.waitpid(pid, 0)
    parent = nonces([*(c.encrypt("v") for _ in range(500)), *c.encrypt_many(["v"] * 500)])
    seen = set(parent)
    assert len(seen) == len(parent)
    for blob in children:
        child = nonces(pickle.loads(blob))
        assert len(child) == 1000
        assert not seen & set(child)
        seen |= set(child)
    assert len(seen) == 4000


def _work(args: tuple) -> List[str]:  # type: ignore[type-arg]
    cipher, tokens = args
    return [cipher.decrypt(t) for t in tokens] + [cipher.decrypt(cipher.encrypt("from a worker"))]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_pickled_cipher_in_worker_processes(env_keyring: strongroom.Keyring, method: str) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    c = strongroom.FieldCipher(env_keyring, "t", "c", str)
    tokens = c.encrypt_many(["a", "b", "c"])
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(2) as pool:
        results = pool.map(_work, [(c, tokens), (c, tokens[::-1])])
    assert results == [["a", "b", "c", "from a worker"], ["c", "b", "a", "from a worker"]]


# -- forks while another thread is inside a native object ------------------
#
# A forked child has only the thread that forked. A lock that another
# thread of the parent held at fork time never comes free in the child, so
# every method must refuse there (a specific UsageError) instead of
# waiting. Each child runs under a watchdog: a hang is killed and fails.

#: Seconds a child may take; each needs far less.
CHILD_WATCHDOG = 60


def in_forked_child(use: Callable[[], object]) -> str:
    """Runs `use` in a forked child; returns "ok" if it returned, else the
    exception's class name and message. A child still running after
    CHILD_WATCHDOG seconds is killed and the test fails."""
    r, w = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a multi-threaded process may
        # deadlock: exactly what these tests check does not happen here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            try:
                use()
                out = "ok"
            except BaseException as e:
                out = f"{type(e).__name__}: {e}"
            os.write(w, out.encode())
        finally:
            os._exit(0)
    os.close(w)
    deadline = time.monotonic() + CHILD_WATCHDOG
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            pytest.fail(f"the forked child hung (killed after {CHILD_WATCHDOG} s)")
        time.sleep(0.01)
    with os.fdopen(r, "rb") as f:
        return f.read().decode()


def assert_refused(outcome: str, what: str) -> None:
    assert outcome.startswith("UsageError: "), outcome
    assert what in outcome and "parent process" in outcome, outcome


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

READER_METHODS: Dict[str, Callable[[strongroom.EncryptedReader], object]] = {
    "authenticated_length": lambda r: r.authenticated_length(),
    "read": lambda r: r.raw.read(1 << 20),
    "read_all": lambda r: r.raw.read(),
    "readinto": lambda r: r.raw.readinto(bytearray(1 << 20)),
    "seek": lambda r: r.raw.seek(0),
    "tell": lambda r: r.raw.tell(),
}


@needs_fork
@pytest.mark.parametrize("method", sorted(READER_METHODS))
def test_reader_methods_refuse_in_a_child_forked_during_a_read_ahead(
    keyring: strongroom.Keyring, tmp_path: Path, method: str
) -> None:
    data = os.urandom(48 << 20)
    with strongroom.open(tmp_path / "big.srf", "wb", keyring=keyring) as w:
        w.write(data)
    r = strongroom.open(tmp_path / "big.srf", "rb", keyring=keyring)
    assert r.raw.read(16 << 20) == data[: 16 << 20]  # starts a 16 MiB read-ahead
    outcome = in_forked_child(lambda: READER_METHODS[method](r))
    assert_refused(outcome, "read ahead")
    # The child's close leaves the parent's stream alone.
    assert in_forked_child(r.close) == "ok"
    assert r.authenticated_length() == len(data)
    assert r.raw.read() == data[16 << 20 :]
    r.close()


class _SlowSource(io.BytesIO):
    """A seekable source whose reads wait until released (the GIL is free
    meanwhile, as in real I/O)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.inside = threading.Event()
        self.release = threading.Event()

    def read(self, n: Optional[int] = -1) -> bytes:
        self.inside.set()
        self.release.wait()
        return super().read(n)


@needs_fork
@pytest.mark.parametrize("method", sorted(READER_METHODS))
def test_reader_methods_refuse_in_a_child_forked_during_a_read_in_another_thread(
    keyring: strongroom.Keyring, method: str
) -> None:
    data = os.urandom(3 << 20)
    src = _SlowSource(strongroom.encrypt_bytes(data, keyring=keyring))
    src.release.set()
    r = strongroom.open(src, "rb", keyring=keyring)
    src.release.clear()
    src.inside.clear()
    box: Dict[str, object] = {}
    t = threading.Thread(target=lambda: box.update(got=r.raw.read(1 << 20)))
    t.start()
    src.inside.wait()  # the other thread is inside the native read now
    try:
        outcome = in_forked_child(lambda: READER_METHODS[method](r))
    finally:
        src.release.set()
        t.join()
    assert_refused(outcome, "read ahead, or read")
    assert box["got"] == data[: 1 << 20]
    assert r.authenticated_length() == len(data)
    r.close()


@needs_fork
def test_writer_refuses_in_a_child_forked_during_a_write_in_another_thread(
    keyring: strongroom.Keyring, tmp_path: Path
) -> None:
    data = os.urandom(64 << 20)
    w = strongroom.open(tmp_path / "w.srf", "wb", keyring=keyring)
    t = threading.Thread(target=lambda: w.write(data))
    t.start()
    try:
        assert_refused(in_forked_child(lambda: w.raw.write(b"x")), "opened for writing")
        assert_refused(in_forked_child(w.raw.close), "opened for writing")
        assert in_forked_child(w.abort) == "ok"  # does nothing in the child
    finally:
        t.join()
    w.close()
    assert strongroom.open(tmp_path / "w.srf", "rb", keyring=keyring).read() == data


@needs_fork
def test_writer_on_a_file_object_refuses_in_a_forked_child(keyring: strongroom.Keyring) -> None:
    # No thread here, but the child's copy of the stream would seal its
    # chunks with the nonces the parent uses for its own next ones.
    sink = io.BytesIO()
    w = strongroom.open(sink, "wb", keyring=keyring)
    w.write(b"a" * 100_000)
    assert_refused(in_forked_child(lambda: w.raw.write(b"b" * 100_000)), "opened for writing")
    assert_refused(in_forked_child(w.raw.close), "opened for writing")
    w.write(b"c" * 100_000)
    w.close()
    assert strongroom.decrypt_bytes(sink.getvalue(), keyring=keyring) == b"a" * 100_000 + b"c" * 100_000


KEYRING_METHODS: Dict[str, Callable[[strongroom.Keyring], object]] = {
    "generation": lambda k: k._native.generation(),
    "add_key": lambda k: k._native.add_key(),
    "closed": lambda k: k._native.closed,
    "close": lambda k: k._native.close(),
    "field_cipher": lambda k: strongroom.FieldCipher(k, "t", "c", str),
}


@needs_fork
@pytest.mark.parametrize("method", sorted(KEYRING_METHODS))
def test_keyring_refuses_in_a_child_forked_during_a_change_in_another_thread(
    tmp_path: Path, method: str
) -> None:
    fast = strongroom.KdfParams(memory_kib=8 * 1024, iterations=1, parallelism=1)
    ring = strongroom.Keyring.create(tmp_path / "k.srk", "pw", kdf=fast)
    # A slow change: Argon2id over 128 MiB, several passes, under the write lock.
    slow = strongroom.KdfParams(memory_kib=128 * 1024, iterations=8, parallelism=1)
    t = threading.Thread(target=lambda: ring.add_passphrase("second", kdf=slow))
    t.start()
    time.sleep(0.3)  # into the key derivation, holding the keyring's write lock
    try:
        outcome = in_forked_child(lambda: KEYRING_METHODS[method](ring))
    finally:
        t.join()
    assert_refused(outcome, "keyring was in use")
    assert len(ring.protectors()) == 2
    ring.close()


@needs_fork
def test_keyring_reads_go_on_in_a_child_forked_during_a_read(keyring: strongroom.Keyring) -> None:
    # A parent's thread reading under the keyring's read lock (writing a
    # header to a slow file object) at fork time stops neither the child's
    # reads nor its changes: that reader does not exist in the child.
    class Slow(io.RawIOBase):
        inside = threading.Event()
        release = threading.Event()

        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            self.inside.set()
            self.release.wait()
            return len(b)

    sink = Slow()
    t = threading.Thread(target=lambda: strongroom.open(sink, "wb", keyring=keyring).abort())
    t.start()
    sink.inside.wait()
    try:
        assert in_forked_child(lambda: keyring._native.generation()) == "ok"
        assert in_forked_child(lambda: keyring._native.add_key()) == "ok"
    finally:
        sink.release.set()
        t.join()


@needs_fork
def test_field_batches_work_in_a_child_forked_during_a_batch(keyring: strongroom.Keyring) -> None:
    # The batch's threads and the core's pool are not in the child: it
    # builds its own pool, and its batches complete (no hang).
    c = strongroom.FieldCipher(keyring, "t", "c", str)
    values = [f"value {i}" for i in range(200_000)]
    t = threading.Thread(target=lambda: c.encrypt_many(values))
    t.start()
    time.sleep(0.05)

    def child() -> None:
        tokens = c.encrypt_many(values[:50_000])
        assert c.decrypt_many(tokens) == values[:50_000]
        assert c.decrypt(c.encrypt("one")) == "one"

    try:
        assert in_forked_child(child) == "ok"
    finally:
        t.join()


@needs_fork
def test_keyring_handles_open_in_a_child_forked_while_a_thread_opens_one(tmp_path: Path) -> None:
    # A thread of the parent is inside the package's shared open (reading
    # the secret, under its Python lock) when the process forks: the child
    # must still open keyrings, through a pickled handle and directly,
    # instead of waiting for a lock whose holder does not exist there.
    fast = strongroom.KdfParams(memory_kib=8 * 1024, iterations=1, parallelism=1)
    strongroom.Keyring.create(tmp_path / "k.srk", "pw", kdf=fast).close()
    (tmp_path / "pw.txt").write_text("pw\n")
    inside, release = threading.Event(), threading.Event()

    class SlowSecret(strongroom.FileSecret):
        def read(self) -> str:
            inside.set()
            release.wait()
            return super().read()

    # What unpickling a handle gives: it opens on first use, under the shared lock.
    lazy = strongroom._keyring._reopen(str(tmp_path / "k.srk"), "passphrase",
                                       SlowSecret(str(tmp_path / "pw.txt")))
    t = threading.Thread(target=lambda: lazy.generation)
    t.start()
    assert inside.wait(30)
    try:
        other = pickle.loads(pickle.dumps(
            strongroom.Keyring.open(tmp_path / "k.srk", strongroom.FileSecret(str(tmp_path / "pw.txt")))))
        assert in_forked_child(lambda: other.generation) == "ok"
        assert in_forked_child(lambda: strongroom.Keyring.open(tmp_path / "k.srk", "pw").close()) == "ok"
    finally:
        release.set()
        t.join()
