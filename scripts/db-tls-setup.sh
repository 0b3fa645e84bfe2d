#!/usr/bin/env bash
# TLS for the database tests: makes a test CA with a server certificate
# (localhost, 127.0.0.1, ::1), a client certificate and a second, unrelated
# CA (the "wrong certificate"), then configures the local PostgreSQL and
# MariaDB/MySQL to serve TLS with them. Idempotent: certificates that exist
# and are valid are kept, a server already configured with them is left
# alone. PostgreSQL is reloaded (ALTER SYSTEM + pg_reload_conf(), no
# restart); MariaDB's TLS settings are read at start only, so a MariaDB
# without them is restarted once, quickly.
#
# Prints the certificate directory on its last line (the tests read it
# from STRONGROOM_TEST_TLS_DIR). Needs root to configure the servers; as
# another user it only reports what it cannot do.
#
# usage: scripts/db-tls-setup.sh   (STRONGROOM_TEST_TLS_DIR, STRONGROOM_TEST_PG_URL,
#                                   STRONGROOM_TEST_MYSQL_URL as in scripts/test-db.sh)
set -euo pipefail

DIR=${STRONGROOM_TEST_TLS_DIR:-/var/lib/strongroom-test-tls}
PG_URL=${STRONGROOM_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
MY_URL=${STRONGROOM_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}

say() { echo "db-tls-setup: $*" >&2; }
root() { [ "$(id -u)" = 0 ]; }
hostport() { local u=${1#*://}; u=${u#*@}; echo "${u%%/*}"; }

# ---- certificates ----------------------------------------------------------
valid() { # cert: exists and valid for at least 30 more days
    [ -s "$1" ] && openssl x509 -in "$1" -noout -checkend $((30 * 86400)) >/dev/null 2>&1
}

make_ca() { # name subject
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -days 3650 -subj "/CN=$2" -keyout "$DIR/$1.key" -out "$DIR/$1.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        >/dev/null 2>&1
}

make_leaf() { # name subject extensions-file
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -subj "/CN=$2" -keyout "$DIR/$1.key" -out "$DIR/$1.csr" >/dev/null 2>&1
    openssl x509 -req -in "$DIR/$1.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" -CAcreateserial \
        -days 825 -sha256 -extfile "$3" -out "$DIR/$1.pem" >/dev/null 2>&1
    rm -f "$DIR/$1.csr"
}

if valid "$DIR/ca.pem" && valid "$DIR/server.pem" && valid "$DIR/client.pem" && valid "$DIR/other-ca.pem" &&
    openssl verify -CAfile "$DIR/ca.pem" "$DIR/server.pem" >/dev/null 2>&1; then
    say "certificates in $DIR are valid; kept"
else
    say "making a test CA and certificates in $DIR"
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    make_ca ca "strongroom test CA"
    make_ca other-ca "strongroom unrelated test CA"
    ext=$(mktemp)
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" >"$ext"
    make_leaf server "localhost" "$ext"
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=clientAuth" >"$ext"
    make_leaf client "strongroom-test-client" "$ext"
    rm -f "$ext" "$DIR/other-ca.key" "$DIR/ca.srl"
    chmod 644 "$DIR"/*.pem
    chmod 600 "$DIR"/*.key
    # The servers read their own copy of the server key, owned by them.
    for user in postgres mysql; do
        if root && id "$user" >/dev/null 2>&1; then
            install -o "$user" -m 600 "$DIR/server.key" "$DIR/server-$user.key"
        fi
    done
fi

reachable() { # host:port
    local hp=$1
    timeout 3 bash -c "exec 3<>/dev/tcp/${hp%:*}/${hp##*:}" 2>/dev/null
}

# ---- PostgreSQL: reloadable --------------------------------------------------
pg_setup() {
    command -v psql >/dev/null || { say "PostgreSQL: no psql; not configured"; return 1; }
    local pg_key=$DIR/server-postgres.key
    [ -f "$pg_key" ] || { say "PostgreSQL: no key owned by postgres (run as root); not configured"; return 1; }
    local cur
    cur=$(psql "$PG_URL" -Atc "SELECT current_setting('ssl') || '|' || current_setting('ssl_cert_file') || '|' || current_setting('ssl_key_file') || '|' || current_setting('ssl_ca_file')")
    if [ "$cur" = "on|$DIR/server.pem|$pg_key|$DIR/ca.pem" ]; then
        say "PostgreSQL already serves TLS with the test certificate"
        return 0
    fi
    say "PostgreSQL: ssl = on with the test certificate (ALTER SYSTEM, reload)"
    psql "$PG_URL" -q -v ON_ERROR_STOP=1 \
        -c "ALTER SYSTEM SET ssl = on" \
        -c "ALTER SYSTEM SET ssl_cert_file = '$DIR/server.pem'" \
        -c "ALTER SYSTEM SET ssl_key_file = '$pg_key'" \
        -c "ALTER SYSTEM SET ssl_ca_file = '$DIR/ca.pem'" \
        -c "SELECT pg_reload_conf()" >/dev/null
    sleep 1
    psql "$PG_URL?sslmode=verify-full&sslrootcert=$DIR/ca.pem" -Atc "SELECT 1" >/dev/null ||
        { say "PostgreSQL: TLS check failed after the reload"; return 1; }
}

# ---- MariaDB / MySQL: TLS settings are read at start -------------------------
my_cli() { mariadb -h"${MY_HP%:*}" -P"${MY_HP##*:}" -uroot -N -B "$@"; }

my_setup() {
    command -v mariadb >/dev/null || { say "MariaDB: no mariadb client; not configured"; return 1; }
    local key=$DIR/server-mysql.key
    local have cert
    have=$(my_cli -e "SELECT @@have_ssl")
    cert=$(my_cli -e "SELECT @@ssl_cert")
    if [ "$have" = YES ] && [ "$cert" = "$DIR/server.pem" ]; then
        say "MariaDB already serves TLS with the test certificate"
        return 0
    fi
    root || { say "MariaDB: not root; not configured"; return 1; }
    [ -f "$key" ] || { say "MariaDB: no key owned by mysql; not configured"; return 1; }
    local cnf=/etc/mysql/my.cnf marker="# strongroom database tests: TLS (scripts/db-tls-setup.sh)"
    [ -f "$cnf" ] || cnf=/etc/my.cnf
    if ! grep -qF "$marker" "$cnf" 2>/dev/null; then
        printf '\n%s\n[mysqld]\nssl_ca = %s\nssl_cert = %s\nssl_key = %s\n' \
            "$marker" "$DIR/ca.pem" "$DIR/server.pem" "$key" >>"$cnf"
    fi
    say "MariaDB: restarting once to load its TLS settings"
    if command -v systemctl >/dev/null && systemctl is-active --quiet mariadb 2>/dev/null; then
        systemctl restart mariadb
    else
        mariadb-admin -h"${MY_HP%:*}" -P"${MY_HP##*:}" -uroot shutdown
        for _ in $(seq 1 100); do pgrep -x mariadbd >/dev/null || pgrep -x mysqld >/dev/null || break; sleep 0.1; done
        local server=/usr/sbin/mariadbd
        [ -x "$server" ] || server=/usr/sbin/mysqld
        setsid -f "$server" </dev/null >/dev/null 2>&1
    fi
    for _ in $(seq 1 150); do
        if my_cli -e "SELECT 1" >/dev/null 2>&1; then break; fi
        sleep 0.2
    done
    [ "$(my_cli -e "SELECT @@have_ssl")" = YES ] || { say "MariaDB: TLS not active after the restart"; return 1; }
}

status=0
PG_HP=$(hostport "$PG_URL")
MY_HP=$(hostport "$MY_URL")
if reachable "$PG_HP"; then pg_setup || status=1; else say "no PostgreSQL at $PG_HP"; fi
if reachable "$MY_HP"; then my_setup || status=1; else say "no MariaDB/MySQL at $MY_HP"; fi
echo "$DIR"
exit $status
