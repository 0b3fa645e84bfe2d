"""The straightforward Python peer of `strongroom db encrypt` in the
databases group of the benchmark harness: read the plaintext column in
primary-key batches, encrypt each value with `cryptography`'s AESGCM
(random 12-byte nonce, table/column/row as associated data), and write the
tokens back with `executemany` in one transaction per batch
(compare-and-swap, as strongroom does). With --floor it does the same
reads and writes with a token-sized text and no encryption: the floor of
the job on engines the Rust floor does not cover.

usage: db_python.py sqlite:PATH|postgres://...|mysql://... TABLE COLUMN BATCH [--floor]
"""
import base64
import os
import sys
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def connect(url):
    if url.startswith("sqlite:"):
        import sqlite3
        return sqlite3.connect(url[len("sqlite:"):]), "?"
    if url.startswith("postgres"):
        import psycopg
        return psycopg.connect(url), "%s"
    import pymysql
    rest = url.split("://", 1)[1]
    user, rest = rest.split("@", 1)
    hostport, db = rest.split("/", 1)
    host, port = hostport.split(":")
    return pymysql.connect(host=host, port=int(port), user=user, database=db, charset="utf8mb4"), "%s"


def main():
    url, table, column, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    floor = "--floor" in sys.argv[5:]
    conn, p = connect(url)
    aead = AESGCM(os.urandom(32))
    prefix = f"{table}\0{column}\0".encode()
    started = time.perf_counter()
    last, rows = -1, 0
    while True:
        cur = conn.cursor()
        cur.execute(f"SELECT id, {column} FROM {table} WHERE id > {p} ORDER BY id LIMIT {batch}", (last,))
        chunk = cur.fetchall()
        if not chunk:
            break
        updates = []
        for pk, value in chunk:
            if value is None or value.startswith("sr1."):
                continue
            if floor:
                # The length of a token for the value, no cryptography.
                token = "sr1." + "A" * ((len(value.encode()) + 28) * 4 // 3)
            else:
                nonce = os.urandom(12)
                ct = aead.encrypt(nonce, value.encode(), prefix + str(pk).encode())
                token = "sr1." + base64.urlsafe_b64encode(nonce + ct).rstrip(b"=").decode()
            updates.append((token, pk, value))
        cur.executemany(f"UPDATE {table} SET {column} = {p} WHERE id = {p} AND {column} = {p}", updates)
        conn.commit()
        rows += len(chunk)
        last = chunk[-1][0]
    secs = time.perf_counter() - started
    print(f"{rows} rows in {secs:.2f} s: {rows / secs:.0f} rows/s")


if __name__ == "__main__":
    main()
