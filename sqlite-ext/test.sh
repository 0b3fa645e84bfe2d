#!/usr/bin/env bash
# Tests of libstrongroom_sqlite.so from the sqlite3 shell and from Python's
# sqlite3 module: round trips, row binding, DIRECTONLY (a view or trigger
# calling a key-using function fails), no key as an argument, and tokens
# that the command line (strongroom db verify) reads.
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
# Without a passphrase source: a clear error, no crash.
if STRONGROOM_KEYRING_PASSPHRASE_FILE= env -u STRONGROOM_KEYRING_PASSPHRASE_FILE sqlite3 -batch "$db" ".load $EXT" \
    "SELECT sr_decrypt('people', 'id_no', 1, id_no) FROM people WHERE id = 1" 2>"$tmp/err"; then fail "no secret"; fi
grep -q "no keyring passphrase source" "$tmp/err" || fail "no secret: $(cat "$tmp/err")"
echo "sqlite3 shell: ok"

# Python's sqlite3 module (a python3 built with extension loading).
py=""
for p in python3 /usr/bin/python3 /bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import sqlite3; sqlite3.connect(":memory:").enable_load_extension' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || fail "no python3 whose sqlite3 module can load extensions"
"$py" - "$EXT" "$db" <<'PY'
import sqlite3, sys
ext, path = sys.argv[1], sys.argv[2]
c = sqlite3.connect(path)
c.enable_load_extension(True)
c.load_extension(ext)
c.enable_load_extension(False)
c.execute("CREATE TABLE py_notes (id TEXT PRIMARY KEY, body TEXT)")
c.executemany("INSERT INTO py_notes VALUES (?, sr_encrypt('py_notes', 'body', ?, ?))",
              [("k-é", "k-é", "naïve café"), ("k2", "k2", None)])
got = c.execute("SELECT id, sr_decrypt('py_notes', 'body', id, body) FROM py_notes ORDER BY id").fetchall()
assert got == [("k-é", "naïve café"), ("k2", None)], got
try:
    c.execute("SELECT * FROM leak").fetchall()
    raise SystemExit("a view called sr_decrypt")
except sqlite3.OperationalError as e:
    assert "unsafe use of sr_decrypt" in str(e), e
try:
    c.execute("SELECT sr_decrypt('py_notes', 'body', 'k2', body) FROM py_notes WHERE id = 'k-é'").fetchall()
    raise SystemExit("moved token decrypted")
except sqlite3.OperationalError as e:
    assert "failed authentication" in str(e), e
print("python sqlite3: ok")
PY
