"""Worker processes: forked children never repeat a parent's nonce, and
pickled handles work in spawned and forked multiprocessing workers."""

from __future__ import annotations

import multiprocessing
import os
import pickle
from typing import List, Sequence

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
