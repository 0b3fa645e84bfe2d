"""databases: encrypting one text column in place, on SQLite, PostgreSQL
and MariaDB: `strongroom db encrypt` against the straightforward Python
script (db_python.py: cryptography AESGCM, executemany, compare-and-swap),
pgcrypto's pgp_sym_encrypt on PostgreSQL, and the same-run floor that does
the same reads and compare-and-swap updates with token-sized text and no
encryption (db/examples/sqlite_floor.rs on SQLite, db_python.py --floor on
the servers). Every tool gets a freshly filled table; the fill is not
timed. The figure is microseconds per row of the whole process."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Callable, List, Optional

from .common import BenchError, Context, Job, RowSpec, Sample, log, row_key, run_process

GROUP = "databases"
BATCH = 5000


def run(ctx: Context) -> None:
    rows = ctx.sizes["db_rows"][0]
    sr, floor = ctx.bins.get("strongroom"), ctx.bins.get("sqlite_floor")
    if not sr:
        ctx.skip(GROUP, "all", "the strongroom command did not build")
        return
    w = Path(tempfile.mkdtemp(prefix="strongroom-bench-db-", dir=ctx.work.get("disk") or ctx.out))
    env = {"STRONGROOM_KEYRING": str(w / "k.keyring"), "STRONGROOM_KEYRING_PASSPHRASE": "bench",
           "STRONGROOM_NO_SEEN_RECORD": "1"}
    try:
        run_process([str(sr), "keyring", "init", "--argon2-memory-mib", "8", "--argon2-time", "1"], env=env)
        ctx.note(GROUP, f"{rows} rows of `customer-N@example.com`, {BATCH} rows per transaction; the keyring is "
                 "made at Argon2id 8 MiB, t=1 so its unlock does not weigh on small runs.")
        engines = [("SQLite", f"sqlite:{w / 'bench.db'}", _fill_sqlite(w / "bench.db", rows))]
        pg = os.environ.get("STRONGROOM_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
        my = os.environ.get("STRONGROOM_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
        for name, url, fill in (("PostgreSQL", pg, _fill_pg(pg, rows)), ("MariaDB", my, _fill_my(my, rows))):
            reason = _reachable(name, url)
            if reason:
                ctx.skip(GROUP, f"all tools on {name}", reason)
            else:
                engines.append((name, url, fill))
        py_ok = all("!" not in ctx.versions.get(f"py:{m}", "!") for m in ("cryptography",))
        for name, url, fill in engines:
            jobs = _jobs(ctx, name, url, fill, rows, sr, floor, env, w, py_ok)
            ctx.run_rounds(GROUP, jobs)
    finally:
        shutil.rmtree(w, ignore_errors=True)


def _reachable(name: str, url: str) -> Optional[str]:
    try:
        if name == "PostgreSQL":
            if not shutil.which("psql"):
                return "psql is not installed"
            run_process(["psql", "-q", url, "-c", "SELECT 1"])
        else:
            client = shutil.which("mariadb") or shutil.which("mysql")
            if not client:
                return "the mariadb client is not installed"
            run_process(_my_cmd(url, "SELECT 1"))
    except BenchError as e:
        return f"no server at {url.split('@')[-1]} ({str(e).splitlines()[-1][:120]})"
    return None


def _my_cmd(url: str, sql: str) -> List[str]:
    rest = url.split("://", 1)[1]
    user, rest = rest.split("@", 1)
    hostport, db = rest.split("/", 1)
    host, port = (hostport.split(":") + ["3306"])[:2]
    client = shutil.which("mariadb") or "mysql"
    return [client, "-h", host, "-P", port, "-u", user, db, "-e", sql]


def _fill_sqlite(path: Path, rows: int) -> Callable[[], None]:
    def fill() -> None:
        c = sqlite3.connect(path)
        c.execute("DROP TABLE IF EXISTS db_bench")
        c.execute("CREATE TABLE db_bench (id INTEGER PRIMARY KEY, email TEXT)")
        c.executemany("INSERT INTO db_bench VALUES (?, ?)",
                      ((i, f"customer-{i}@example.com") for i in range(1, rows + 1)))
        c.commit()
        c.close()
        os.sync()
    return fill


def _fill_pg(url: str, rows: int) -> Callable[[], None]:
    def fill() -> None:
        run_process(["psql", "-q", url, "-c", "DROP TABLE IF EXISTS db_bench; CREATE TABLE db_bench "
                     "(id bigint PRIMARY KEY, email text); INSERT INTO db_bench SELECT g, 'customer-' || g || "
                     f"'@example.com' FROM generate_series(1, {rows}) g;", "-c", "VACUUM ANALYZE db_bench"])
        os.sync()
    return fill


def _fill_my(url: str, rows: int) -> Callable[[], None]:
    def fill() -> None:
        run_process(_my_cmd(url, "DROP TABLE IF EXISTS db_bench; CREATE TABLE db_bench (id BIGINT PRIMARY KEY, "
                            "email VARCHAR(200)) DEFAULT CHARSET=utf8mb4; INSERT INTO db_bench SELECT seq, "
                            f"CONCAT('customer-', seq, '@example.com') FROM seq_1_to_{rows};"))
        os.sync()
    return fill


def _jobs(ctx: Context, engine: str, url: str, fill: Callable[[], None], rows: int, sr: Path,
          floor: Optional[Path], env, w: Path, py_ok: bool) -> List[Job]:
    floor_tool = "floor (Rust, no encryption)" if engine == "SQLite" else "floor (Python, no encryption)"
    ref = row_key(floor_tool, "encrypt column", engine)
    script = str(ctx.repo / "benches" / "harness" / "db_python.py")

    def row(tool: str, version: str, note: str, n: int = rows) -> str:
        return ctx.add(RowSpec(GROUP, tool, "encrypt column", n, "rows", "us", ref, version, None, engine, note))

    def timed(key: str, argv: List[str], n: int = rows, e=None) -> Job:
        def job() -> List[Sample]:
            fill()
            wall, peak, _ = run_process(argv, env=e)
            return [Sample(key, wall / n * 1e6, peak)]
        return job

    jobs: List[Job] = [timed(row("strongroom db encrypt", ctx.versions.get("strongroom", ""),
                                 f"--batch-size {BATCH}"),
                             [str(sr), "--no-progress", "--quiet", "db", "encrypt", "--url", url, "--table",
                              "db_bench", "--column", "email", "--batch-size", str(BATCH)], e=env)]
    if engine == "SQLite":
        if floor:
            jobs.append(timed(row(floor_tool, ctx.versions.get("sqlite", ""), "db/examples/sqlite_floor.rs, cas"),
                              [str(floor), url[len("sqlite:"):], "db_bench", "email", str(BATCH), "cas"]))
        else:
            ctx.skip(GROUP, "SQLite floor", "db/examples/sqlite_floor.rs did not build")
    if py_ok:
        jobs.append(timed(row("Python script (cryptography AESGCM)", ctx.versions.get("py:cryptography", ""),
                              "benches/harness/db_python.py"),
                          [ctx.python, script, url, "db_bench", "email", str(BATCH)]))
        if engine != "SQLite":
            jobs.append(timed(row(floor_tool, ctx.versions.get("python", ""), "db_python.py --floor"),
                              [ctx.python, script, url, "db_bench", "email", str(BATCH), "--floor"]))
    else:
        ctx.skip(GROUP, f"Python script on {engine}", "cryptography does not import in the harness environment")
    if engine == "PostgreSQL":
        try:
            run_process(["psql", "-q", url, "-c", "CREATE EXTENSION IF NOT EXISTS pgcrypto"])
        except BenchError as e:
            ctx.skip(GROUP, "pgcrypto", f"CREATE EXTENSION pgcrypto failed: {str(e).splitlines()[-1][:120]}")
        else:
            key = row("pgcrypto pgp_sym_encrypt", ctx.versions.get("postgresql", ""),
                      "one UPDATE of the whole column")
            jobs.append(timed(key, ["psql", "-q", url, "-c",
                                    "UPDATE db_bench SET email = encode(pgp_sym_encrypt(email, 'bench key'), 'base64')"]))
    log(f"{GROUP}: {engine}: {len(jobs)} tools, {rows} rows")
    return jobs
