"""Threads: a stream closed or aborted in one thread while another is
inside a call on it (the native lock and the GIL must never wait on each
other), and the size of strongroom's worker pool."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Optional

import pytest

import strongroom

#: How long a scenario may take before it counts as frozen. Each one needs
#: well under a second; the margin is for a loaded machine.
WATCHDOG = 120

#: Shared by every scenario: a sink and a source whose `write`/`read` sleep
#: (releasing the GIL, as real I/O does) and say when a thread is inside.
PRELUDE = """
import io, os, threading, time
import strongroom

FAST = strongroom.KdfParams(memory_kib=8 * 1024, iterations=1, parallelism=1)
DATA = os.urandom(12 << 20)


class SlowSink(io.RawIOBase):
    def __init__(self, pause=0.005):
        self.buf = bytearray()
        self.inside = threading.Event()
        self.pause = pause

    def writable(self):
        return True

    def write(self, b):
        self.inside.set()
        time.sleep(self.pause)
        self.buf += bytes(b)
        return len(b)


class SlowSource(io.BytesIO):
    def __init__(self, data):
        super().__init__(data)
        self.inside = threading.Event()

    def read(self, n=-1):
        self.inside.set()
        time.sleep(0.005)
        return super().read(n)


def in_thread(f):
    box = {}

    def run():
        try:
            box["value"] = f()
        except BaseException as e:
            box["error"] = e

    t = threading.Thread(target=run)
    t.start()
    return t, box
"""


def run_scenario(body: str, cwd: Optional[Path] = None) -> None:
    """Runs `body` in a fresh interpreter (in `cwd`), which must print
    "ok". A deadlock freezes every thread of that interpreter, the one
    that would watch included, so the watchdog is this process: the child
    is killed and the test fails instead of hanging the suite."""
    code = PRELUDE + textwrap.dedent(body)
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WATCHDOG,
                              cwd=cwd)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the scenario froze (killed after {WATCHDOG} s): a lock and the GIL waited on each other")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok"), done.stdout + done.stderr


def test_close_while_another_thread_writes_to_a_python_file_object() -> None:
    run_scenario("""
        sink = SlowSink()
        w = strongroom.open(sink, "wb", passphrase="pw", kdf=FAST)
        sink.inside.clear()  # the header was written by open
        t, box = in_thread(lambda: w.write(DATA))
        sink.inside.wait()
        w.close()  # waits for the write, then writes the final chunk
        t.join()
        assert box == {"value": len(DATA)}, box
        assert strongroom.decrypt_bytes(bytes(sink.buf), passphrase="pw") == DATA
        try:
            w.write(b"more")
        except ValueError as e:
            assert "closed" in str(e)
        else:
            raise AssertionError("a write after close was taken")
        print("ok")
    """)


def test_abort_while_another_thread_writes_to_a_python_file_object() -> None:
    run_scenario("""
        sink = SlowSink()
        w = strongroom.open(sink, "wb", passphrase="pw", kdf=FAST)
        sink.inside.clear()
        t, box = in_thread(lambda: w.write(DATA))
        sink.inside.wait()
        w.abort()  # waits for the write, then abandons the file
        t.join()
        assert box == {"value": len(DATA)}, box
        try:
            strongroom.decrypt_bytes(bytes(sink.buf), passphrase="pw")
        except strongroom.FormatError as e:
            assert e.name == "Truncated", e
        else:
            raise AssertionError("an abandoned file decrypted")
        print("ok")
    """)


def test_close_while_another_thread_reads_from_a_python_file_object() -> None:
    run_scenario("""
        enc = strongroom.encrypt_bytes(DATA, passphrase="pw", kdf=FAST)
        src = SlowSource(enc)
        r = strongroom.open(src, "rb", passphrase="pw")
        src.inside.clear()
        # Outside the buffered layer's own lock: the raw stream's read and
        # the length, which reads the final chunk through the file object.
        t1, box1 = in_thread(lambda: r.raw.read(8 << 20))
        src.inside.wait()
        t2, box2 = in_thread(r.authenticated_length)
        r.close()  # waits for both calls, then closes
        t1.join()
        t2.join()
        assert box1 == {"value": DATA[: 8 << 20]}, box1.keys()
        # The length ran before the close, or after it and was refused.
        if "error" in box2:
            e = box2["error"]
            assert isinstance(e, strongroom.UsageError) and "closed" in str(e), e
        else:
            assert box2 == {"value": len(DATA)}, box2
        try:
            r.raw.read(10)
        except strongroom.UsageError as e:
            assert "closed" in str(e), e
        else:
            raise AssertionError("a read after close was taken")
        print("ok")
    """)


def test_keyring_state_asked_while_a_writer_waits_behind_a_python_file_object(tmp_path: Path) -> None:
    # One thread writes a header to a slow file object under the keyring's
    # read lock; another closes the keyring (waits for the write lock); a
    # third asks whether it is closed. None may wait holding the GIL.
    run_scenario("""
        ring = strongroom.Keyring.create("ring.srk", "pw", kdf=FAST)
        native = ring._native
        sink = SlowSink(pause=0.5)
        t1, box1 = in_thread(lambda: strongroom.open(sink, "wb", keyring=ring))
        sink.inside.wait()
        t2, box2 = in_thread(native.close)
        time.sleep(0.05)  # let the closing thread reach the lock
        closed = native.closed
        t1.join()
        t2.join()
        assert "error" not in box1 and "error" not in box2, (box1, box2)
        assert native.closed
        box1["value"].abort()
        print(closed, "ok")
    """, cwd=tmp_path)


def test_set_threads_sizes_the_pool() -> None:
    before = strongroom.thread_count()
    try:
        strongroom.set_threads(1)
        assert strongroom.thread_count() == 1
        # Single-threaded work still completes.
        blob = strongroom.encrypt_bytes(b"x" * (3 << 20), passphrase="pw", kdf=strongroom.KdfParams(memory_kib=8 * 1024, iterations=1, parallelism=1))
        assert strongroom.decrypt_bytes(blob, passphrase="pw") == b"x" * (3 << 20)
        # Resizing after the pool started is allowed: later work uses the new size.
        strongroom.set_threads(3)
        assert strongroom.thread_count() == 3
        strongroom.set_threads(strongroom.MAX_THREADS)
        assert strongroom.thread_count() == strongroom.MAX_THREADS
    finally:
        strongroom.set_threads(0)
    assert strongroom.thread_count() == before


@pytest.mark.parametrize("bad", [-1, strongroom.MAX_THREADS + 1])
def test_set_threads_refuses_a_bad_size_and_changes_nothing(bad: int) -> None:
    before = strongroom.thread_count()
    with pytest.raises(strongroom.UsageError) as e:
        strongroom.set_threads(bad)
    assert e.value.name == "InvalidArgument"
    assert str(bad) in str(e.value)
    assert strongroom.thread_count() == before


def test_strongroom_threads_environment_variable() -> None:
    code = "import strongroom; print(strongroom.thread_count())"
    env = {**os.environ, "STRONGROOM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=WATCHDOG)
    assert out.stdout.strip() == "2", out.stderr
