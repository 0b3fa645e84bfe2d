#!/usr/bin/env bash
# Tests of libstrongroom_sqlite.so from the sqlite3 shell and from Python's
# sqlite3 module: round trips, row binding, the column's modes and row
# binding checked as the core's FieldCipher checks them (the cases of
# core/tests/field_cipher.rs), DIRECTONLY (a view or trigger calling a
# key-using function fails), no key as an argument, tokens the command line
# reads and the other way round, lookups across key versions while a
# long-running process sees the keyring change, no failed open kept, and
# the passphrase read by the core's secret-source rule and removed from the
# environment.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)

need() { command -v "$1" >/dev/null 2>&1; }
if ! need sqlite3; then
    if need apt-get && [ "$(id -u)" = 0 ]; then apt-get install -y sqlite3 >/dev/null; else echo "FAIL: sqlite3 shell missing" >&2; exit 1; fi
fi
cargo build --quiet --locked
(cd "$root" && cargo build --quiet -p strongroom-cli)
SR=$root/target/debug/strongroom
EXT=$PWD/target/debug/libstrongroom_sqlite

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export STRONGROOM_KEYRING=$tmp/k.srk
export STRONGROOM_STATE_DIR=$tmp/state
printf 'ext test passphrase\n' > "$tmp/pass"
chmod 600 "$tmp/pass"
export STRONGROOM_KEYRING_PASSPHRASE_FILE=$tmp/pass
STRONGROOM_KEYRING_PASSPHRASE='ext test passphrase' "$SR" keyring init --argon2-memory-mib 8 --argon2-time 1 --argon2-lanes 1 >/dev/null 2>&1

fail() { echo "FAIL: $*" >&2; exit 1; }
db=$tmp/people.db
sqlite3 "$db" "CREATE TABLE people (id INTEGER PRIMARY KEY, id_no TEXT, photo BLOB, id_no_idx BLOB);
  INSERT INTO people VALUES (1, '123-45-6789', x'00ff10', NULL), (2, 'Zoë 東京', NULL, NULL), (3, NULL, x'', NULL);"

q() { sqlite3 -batch -bail "$db" ".load $EXT" "$@"; }
q "UPDATE people SET id_no = sr_encrypt('people', 'id_no', id, id_no), photo = sr_encrypt('people', 'photo', id, photo),
   id_no_idx = (SELECT sr_index('people', 'id_no', '123-45-6789', 8, 'digits-only') WHERE id = 1);"
[ "$(q "SELECT count(*) FROM people WHERE substr(id_no, 1, 4) = 'sr1.'")" = 2 ] || fail "text tokens"
[ "$(q "SELECT hex(substr(photo, 1, 2)) FROM people WHERE id = 1")" = 0101 ] || fail "binary token"
[ "$(q "SELECT id_no IS NULL FROM people WHERE id = 3")" = 1 ] || fail "NULL stays NULL"
[ "$(q "SELECT sr_decrypt('people', 'id_no', id, id_no) FROM people WHERE id = 2")" = "Zoë 東京" ] || fail "round trip"
[ "$(q "SELECT hex(sr_decrypt('people', 'photo', id, photo)) FROM people WHERE id = 1")" = 00FF10 ] || fail "blob round trip"
[ "$(q "SELECT sr_token_version(id_no) FROM people WHERE id = 1")" = 1 ] || fail "token version"
[ "$(q "SELECT id FROM people WHERE id_no_idx = sr_index('people', 'id_no', '123 45 6789', 8, 'digits-only')")" = 1 ] || fail "index lookup"
# A token moved to another row does not decrypt.
if q "SELECT sr_decrypt('people', 'id_no', 2, id_no) FROM people WHERE id = 1" 2>"$tmp/err"; then fail "moved token decrypted"; fi
grep -q "failed authentication" "$tmp/err" || fail "moved token: $(cat "$tmp/err")"

# The column's modes and row binding, as FieldCipher checks them (the cases
# of core/tests/field_cipher.rs).
expect_err() { # message-part sql
    if q "$2" >"$tmp/out" 2>"$tmp/err"; then fail "accepted: $2 -> $(cat "$tmp/out")"; fi
    grep -q "$1" "$tmp/err" || fail "$2: $(cat "$tmp/err")"
}
det="sr_encrypt_deterministic('people', 'id_no', '123-45-6789')"
rnd="sr_encrypt('people', 'id_no', 1, '123-45-6789')"
# A deterministic token in a random-mode column, with or without a row key
# (the audit's case: a deterministic token copied into another row).
q "UPDATE people SET id_no = $det WHERE id = 2"
expect_err "accepts random tokens only, found a deterministic token" "SELECT sr_decrypt('people', 'id_no', id, id_no) FROM people WHERE id = 2"
expect_err "accepts random tokens only" "SELECT sr_decrypt('people', 'id_no', NULL, $det)"
# A random token in a deterministic column.
expect_err "accepts deterministic tokens only, found a random token" "SELECT sr_decrypt_deterministic('people', 'id_no', $rnd)"
# A deterministic token read with a row key: it binds no row.
expect_err "carries no row binding" "SELECT sr_decrypt('people', 'id_no', 5, $det, 'deterministic')"
[ "$(q "SELECT sr_decrypt_deterministic('people', 'id_no', $det)")" = 123-45-6789 ] || fail "deterministic read"
[ "$(q "SELECT sr_decrypt('people', 'id_no', NULL, $det, 'deterministic')")" = 123-45-6789 ] || fail "deterministic settings"
# A declared migration window reads both, with row keys.
[ "$(q "SELECT sr_decrypt('people', 'id_no', 5, $det, 'accept-mode=deterministic')")" = 123-45-6789 ] || fail "window det"
[ "$(q "SELECT sr_decrypt('people', 'id_no', 1, $rnd, 'accept-mode=deterministic')")" = 123-45-6789 ] || fail "window random"
# A deterministic column binds no row; equal values give equal tokens.
expect_err "cannot bind a row key" "SELECT sr_encrypt('people', 'id_no', 1, 'x', 'deterministic')"
[ "$(q "SELECT $det = $det")" = 1 ] || fail "deterministic tokens differ"
# Unknown settings are refused by name.
expect_err "determinstic" "SELECT sr_decrypt('people', 'id_no', 1, $rnd, 'determinstic')"
# Typed columns: an int column gives integers back.
[ "$(q "SELECT typeof(sr_decrypt('people', 'n', 3, sr_encrypt('people', 'n', 3, 42, 'type=int'), 'type=int'))")" = integer ] || fail "int type"
expect_err "holds text values, found int" "SELECT sr_decrypt('people', 'n', 3, sr_encrypt('people', 'n', 3, 42, 'type=int'))"
q "UPDATE people SET id_no = sr_encrypt('people', 'id_no', id, '123-45-6789') WHERE id = 2"
# The CLI reads the extension's tokens (same row-key convention).
STRONGROOM_KEYRING_PASSPHRASE='ext test passphrase' "$SR" --no-progress db verify --url "sqlite:$db" --table people --column id_no >/dev/null || fail "db verify"
# DIRECTONLY: views and triggers in the database file cannot call key-using functions.
sqlite3 "$db" "CREATE VIEW leak AS SELECT sr_decrypt('people', 'id_no', id, id_no) AS v FROM people;
  CREATE TABLE log (v TEXT);
  CREATE TRIGGER steal AFTER UPDATE ON people BEGIN INSERT INTO log SELECT sr_decrypt('people', 'id_no', new.id, new.id_no); END;"
if q "SELECT * FROM leak" 2>"$tmp/err"; then fail "a view called sr_decrypt"; fi
grep -qi "unsafe use of sr_decrypt" "$tmp/err" || fail "view: $(cat "$tmp/err")"
if q "UPDATE people SET photo = NULL WHERE id = 3" 2>"$tmp/err"; then fail "a trigger called sr_decrypt"; fi
grep -qi "unsafe use of sr_decrypt" "$tmp/err" || fail "trigger: $(cat "$tmp/err")"
[ "$(sqlite3 "$db" "SELECT count(*) FROM log")" = 0 ] || fail "trigger wrote"
sqlite3 "$db" "CREATE VIEW terms AS SELECT term FROM sr_lookup_terms('people', 'id_no', '1', 8, 'digits-only');"
if q "SELECT * FROM terms" 2>"$tmp/err"; then fail "a view used sr_lookup_terms"; fi
grep -qi "unsafe use of virtual table" "$tmp/err" || fail "view of the lookup table: $(cat "$tmp/err")"
# Without a passphrase source: a clear error, no crash.
if STRONGROOM_KEYRING_PASSPHRASE_FILE= env -u STRONGROOM_KEYRING_PASSPHRASE_FILE sqlite3 -batch "$db" ".load $EXT" \
    "SELECT sr_decrypt('people', 'id_no', 1, id_no) FROM people WHERE id = 1" 2>"$tmp/err"; then fail "no secret"; fi
grep -q "no keyring passphrase source" "$tmp/err" || fail "no secret: $(cat "$tmp/err")"
# The core's secret-source rule: CRLF stripped from a file (as the command
# line does), a file far too long refused as such.
printf 'ext test passphrase\r\n' > "$tmp/pass-crlf"
[ "$(STRONGROOM_KEYRING_PASSPHRASE_FILE=$tmp/pass-crlf q "SELECT sr_decrypt('people', 'id_no', 1, id_no) FROM people WHERE id = 1")" = 123-45-6789 ] || fail "CRLF file"
head -c 70000 /dev/zero | tr '\0' a > "$tmp/pass-long"
if STRONGROOM_KEYRING_PASSPHRASE_FILE=$tmp/pass-long q "SELECT sr_decrypt('people', 'id_no', 1, id_no) FROM people WHERE id = 1" 2>"$tmp/err"; then fail "long secret"; fi
grep -q "longer than 65536 bytes" "$tmp/err" || fail "long secret: $(cat "$tmp/err")"
# The command line reads STRONGROOM_KEYRING_PASSPHRASE_FILE as the extension does.
"$SR" --no-progress keyring list >/dev/null || fail "the command line ignores STRONGROOM_KEYRING_PASSPHRASE_FILE"
echo "sqlite3 shell: ok"

# Python's sqlite3 module (a python3 built with extension loading).
py=""
for p in python3 /usr/bin/python3 /bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import sqlite3; sqlite3.connect(":memory:").enable_load_extension' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || fail "no python3 whose sqlite3 module can load extensions"
"$py" - "$EXT" "$db" "$SR" "$tmp" <<'PY'
import ctypes, os, sqlite3, subprocess, sys, time
ext, path, sr, tmp = sys.argv[1:5]
def connect(p=path):
    c = sqlite3.connect(p, isolation_level=None)
    c.enable_load_extension(True)
    c.load_extension(ext)
    c.enable_load_extension(False)
    return c
def fails(c, sql, part, *args):
    try:
        c.execute(sql, args).fetchall()
    except sqlite3.OperationalError as e:
        assert part in str(e), (sql, e)
        return
    raise SystemExit(f"accepted: {sql}")

c = connect()
c.execute("CREATE TABLE py_notes (id TEXT PRIMARY KEY, body TEXT)")
c.executemany("INSERT INTO py_notes VALUES (?, sr_encrypt('py_notes', 'body', ?, ?))",
              [("k-é", "k-é", "naïve café"), ("k2", "k2", None)])
got = c.execute("SELECT id, sr_decrypt('py_notes', 'body', id, body) FROM py_notes ORDER BY id").fetchall()
assert got == [("k-é", "naïve café"), ("k2", None)], got
fails(c, "SELECT * FROM leak", "unsafe use of sr_decrypt")
fails(c, "SELECT sr_decrypt('py_notes', 'body', 'k2', body) FROM py_notes WHERE id = 'k-é'", "failed authentication")
print("python sqlite3: ok")

# The passphrase from a variable: read by the core's rule, then removed
# from the process environment (this process has one thread).
env = dict(os.environ)
env.pop("STRONGROOM_KEYRING_PASSPHRASE_FILE", None)
env["STRONGROOM_KEYRING_PASSPHRASE"] = "ext test passphrase"
child = r"""
import ctypes, os, sqlite3, sys
c = sqlite3.connect(sys.argv[2]); c.enable_load_extension(True); c.load_extension(sys.argv[1])
assert c.execute("SELECT sr_decrypt('people', 'id_no', 1, id_no) FROM people WHERE id = 1").fetchone()[0] == "123-45-6789"
libc = ctypes.CDLL(None); libc.getenv.restype = ctypes.c_char_p
assert libc.getenv(b"STRONGROOM_KEYRING_PASSPHRASE") is None, "the passphrase is still in the environment"
# Kept in memory for the keyring's later reopenings.
assert c.execute("SELECT sr_decrypt('people', 'id_no', 2, id_no) FROM people WHERE id = 2").fetchone()[0] == "123-45-6789"
"""
subprocess.run([sys.executable, "-c", child, ext, path], env=env, check=True)
print("passphrase removed from the environment: ok")

# No failed open is kept: a wrong keyring path fails, the right one then works.
right = os.environ["STRONGROOM_KEYRING"]
os.environ["STRONGROOM_KEYRING"] = os.path.join(tmp, "missing.srk")
c2 = connect()
fails(c2, "SELECT sr_index('people', 'id_no', '1', 8)", "cannot read the keyring")
os.environ["STRONGROOM_KEYRING"] = right
assert c2.execute("SELECT length(sr_index('people', 'id_no', '1', 8))").fetchone()[0] == 8
print("no failed open kept: ok")

# Lookups across key versions while the keyring changes under a running
# process: the rotation sequence of docs/DATABASES.md.
c.execute("CREATE TABLE rot (id INTEGER PRIMARY KEY, id_no TEXT, id_no_idx BLOB)")
c.executemany("INSERT INTO rot VALUES (?, sr_encrypt('rot', 'id_no', ?, ?), sr_index('rot', 'id_no', ?, 8, 'digits-only'))",
              [(i, i, f"123-45-{i:04d}", f"123-45-{i:04d}") for i in range(1, 201)])
LOOKUP = "SELECT id FROM rot WHERE id_no_idx IN (SELECT term FROM sr_lookup_terms('rot', 'id_no', ?, 8, 'digits-only'))"
def found():
    return sum(1 for i in range(1, 201) if c.execute(LOOKUP, (f"123 45 {i:04d}",)).fetchall() == [(i,)])
def versions():
    return [v for (v,) in c.execute("SELECT key_version FROM sr_lookup_terms('rot', 'id_no', '1', 8)")]
assert found() == 200 and versions() == [1]
def cli(*args):
    subprocess.run([sr, "--no-progress", *args], check=True, stdout=subprocess.DEVNULL)
cli("keyring", "add-key")                 # 1. a new version, not yet primary
time.sleep(0.2)
assert versions() == [1, 2], versions()  # seen without a restart
assert found() == 200
cli("keyring", "promote", "2")            # 2. promoted: writers now write v2
time.sleep(0.2)
assert versions() == [2, 1], versions()
c.execute("INSERT INTO rot VALUES (201, sr_encrypt('rot', 'id_no', 201, '999-99-0001'), sr_index('rot', 'id_no', '999-99-0001', 8, 'digits-only'))")
assert c.execute(LOOKUP, ("999 99 0001",)).fetchall() == [(201,)]
assert found() == 200                     # old rows: their v1 terms
cli("db", "rotate", "--url", f"sqlite:{path}", "--table", "rot", "--column", "id_no",
    "--blind-index", "id_no_idx", "--index-len", "8", "--normalizer", "digits-only")   # 3. rotate
assert found() == 200
assert c.execute("SELECT count(*) FROM rot WHERE sr_token_version(id_no) = 2").fetchone()[0] == 201
print("lookups across key versions while the keyring changes: ok")
PY
