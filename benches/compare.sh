#!/usr/bin/env bash
# Side-by-side wall time and peak memory of `strongroom encrypt/decrypt`
# against cp, age, gpg and openssl enc on the same file, in the same run.
#
# Usage: benches/compare.sh [options]
#   --runs N          timed runs of every command (default 5); tools alternate
#                     inside each round, in a fresh random order every round
#   --warmup N        untimed rounds before the timed ones (default 1): the
#                     first writes into fresh memory are much slower in a VM
#   --size-mib M      input size for the wall-time comparison (default 1024)
#   --dirs D1,D2      directories to work in (default /dev/shm,/tmp); the
#                     filesystem type of each is printed
#   --tools LIST      comma list among cp,cp-fsync,strongroom,strongroom-keyring,
#                     age,gpg,openssl (default: all that are installed)
#   --memory          also measure strongroom's peak RSS on growing files
#   --memory-sizes L  comma list of sizes in MiB for --memory (default 1024,4096)
#   --memory-dir D    directory for --memory (default /tmp)
#   --kdf             also time Argon2id at the default parameters: the
#                     reference `argon2` command vs strongroom with a passphrase
#   --only-extra      skip the wall-time comparison (with --memory / --kdf)
#   --wait-idle S     before each round, wait up to S seconds for the CPUs to
#                     be >= 90% idle (other jobs on a shared machine); 0 = off
#   --bin PATH        use this strongroom binary instead of building one
#   --no-build        do not run cargo; use target/release/strongroom
#   -h, --help        this text
#
# Nothing is dropped from the page cache (that needs root): the input is
# written just before the runs, so every tool reads it from the page cache.
# Before every timed command `sync` flushes earlier dirty pages so that no
# tool pays for another's writeback. strongroom fsyncs its output before it
# renames it into place (atomic, durable output); cp, age, gpg and openssl do
# not, so on a real disk `cp-fsync` (cp then `sync FILE`) is shown as well.
#
# Output: markdown tables on stdout; progress on stderr.
set -euo pipefail

RUNS=5
WARMUP=1
SIZE_MIB=1024
DIRS="/dev/shm,/tmp"
TOOLS=""
MEMORY=0
MEMORY_SIZES="1024,4096"
MEMORY_DIR="/tmp"
KDF=0
ONLY_EXTRA=0
BIN=""
BUILD=1
WAIT_IDLE=0

die() { echo "compare.sh: $*" >&2; exit 1; }
note() { echo "compare.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="${2:?}"; shift 2 ;;
        --warmup) WARMUP="${2:?}"; shift 2 ;;
        --size-mib) SIZE_MIB="${2:?}"; shift 2 ;;
        --dirs) DIRS="${2:?}"; shift 2 ;;
        --tools) TOOLS="${2:?}"; shift 2 ;;
        --memory) MEMORY=1; shift ;;
        --memory-sizes) MEMORY_SIZES="${2:?}"; shift 2 ;;
        --memory-dir) MEMORY_DIR="${2:?}"; shift 2 ;;
        --kdf) KDF=1; shift ;;
        --only-extra) ONLY_EXTRA=1; shift ;;
        --wait-idle) WAIT_IDLE="${2:?}"; shift 2 ;;
        --bin) BIN="${2:?}"; BUILD=0; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer"
[[ "$SIZE_MIB" =~ ^[1-9][0-9]*$ ]] || die "--size-mib wants a positive integer"
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "--warmup wants a number of rounds"
[[ "$WAIT_IDLE" =~ ^[0-9]+$ ]] || die "--wait-idle wants a number of seconds"
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is needed for peak RSS: apt-get install -y time"

REPO="$(cd "$(dirname "$0")/.." && pwd)"

# ---------------------------------------------------------------- binary
if [ -z "$BIN" ]; then
    if [ "$BUILD" = 1 ]; then
        note "building the release binary (cargo build --release -p strongroom-cli)"
        (cd "$REPO" && cargo build --release -p strongroom-cli >&2) || die "cargo build failed"
    fi
    TARGET_DIR="${CARGO_TARGET_DIR:-$(cd "$REPO" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null || echo "$REPO/target")}"
    BIN="$TARGET_DIR/release/strongroom"
fi
[ -x "$BIN" ] || die "no strongroom binary at $BIN"

# ---------------------------------------------------------------- cleanup
WORKDIRS=()
GNUPG_HOMES=()
cleanup() {
    local h d
    for h in "${GNUPG_HOMES[@]+"${GNUPG_HOMES[@]}"}"; do
        GNUPGHOME="$h" gpgconf --kill gpg-agent >/dev/null 2>&1 || true
    done
    for d in "${WORKDIRS[@]+"${WORKDIRS[@]}"}"; do
        rm -rf -- "$d"
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Creates a fresh private directory under $1, removed on exit; sets W.
W=""
new_workdir() {
    W="$(mktemp -d "$1/strongroom-compare.XXXXXX")" || die "cannot create a directory in $1"
    WORKDIRS+=("$W")
}

fs_type() { findmnt -n -o FSTYPE -T "$1" 2>/dev/null | head -1 | grep . || stat -f -c %T "$1"; }
fs_source() { findmnt -n -o SOURCE -T "$1" 2>/dev/null | head -1 | grep . || echo "?"; }

# Refuses (exit 1) unless `dir` has `need` bytes free; tmpfs also needs RAM.
check_space() { # dir need_bytes what
    local dir="$1" need="$2" what="$3" avail mem
    avail=$(df -B1 --output=avail "$dir" | tail -1 | tr -d ' ')
    if [ "$avail" -lt "$need" ]; then
        die "not enough free space in $dir for $what: need $((need >> 20)) MiB, have $((avail >> 20)) MiB (use --dirs/--memory-dir/--size-mib)"
    fi
    if [ "$(fs_type "$dir")" = tmpfs ]; then
        mem=$(awk '/^MemAvailable:/ {print $2 * 1024}' /proc/meminfo)
        if [ "$mem" -lt "$need" ]; then
            die "$dir is tmpfs (RAM) and only $((mem >> 20)) MiB of memory is available; $what needs $((need >> 20)) MiB"
        fi
    fi
}

make_input() { # path mib
    note "writing $2 MiB of random input to $1"
    head -c "$(($2 << 20))" /dev/urandom >"$1" || die "cannot write $1"
}

# CPU idle percentage over the next second, from /proc/stat.
idle_pct() {
    local a b c d e f g t0 i0
    read -r _ a b c d e f g _ </proc/stat
    t0=$((a + b + c + d + e + f + g)); i0=$d
    sleep 1
    read -r _ a b c d e f g _ </proc/stat
    echo $((100 * (d - i0) / (a + b + c + d + e + f + g - t0 + 1)))
}

# With --wait-idle S: waits until two consecutive seconds are >= 90% idle,
# for at most S seconds, and says so if the machine stayed busy.
wait_idle() {
    [ "$WAIT_IDLE" -gt 0 ] || return 0
    local start ok=0 idle
    start=$(date +%s)
    while [ $(($(date +%s) - start)) -lt "$WAIT_IDLE" ]; do
        idle=$(idle_pct)
        if [ "$idle" -ge 90 ]; then ok=$((ok + 1)); else ok=0; fi
        [ "$ok" -ge 2 ] && return 0
    done
    note "the CPUs were not idle for 2 seconds in a row within ${WAIT_IDLE}s (last: ${idle}% idle); measuring anyway"
    BUSY_ROUNDS=$((BUSY_ROUNDS + 1))
}
BUSY_ROUNDS=0

median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%d\n", (a[NR/2]+a[NR/2+1])/2}'; }
minimum() { tr ' ' '\n' | sed '/^$/d' | sort -n | head -1; }
maximum() { tr ' ' '\n' | sed '/^$/d' | sort -n | tail -1; }
secs() { awk -v us="$1" 'BEGIN {printf "%.3f", us / 1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
mib_of_kib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# Runs a command once; sets US (wall microseconds) and KIB (peak RSS).
# Refuses to go on if the command fails: a failing tool must not look fast.
ERRFILE=""
US=0
KIB=0
timed() {
    local t0 t1
    sync
    t0=$(date +%s%N)
    if ! /usr/bin/time -f %M -o "$ERRFILE.rss" "$@" >/dev/null 2>"$ERRFILE"; then
        echo "compare.sh: command failed: $*" >&2
        cat "$ERRFILE" >&2
        exit 1
    fi
    t1=$(date +%s%N)
    US=$(((t1 - t0) / 1000))
    KIB=$(tail -1 "$ERRFILE.rss")
}

# ---------------------------------------------------------------- tools
PASS="strongroom benchmark passphrase $$"
export SR_BENCH_PASS="$PASS"
export STRONGROOM_KEYRING_PASSPHRASE="$PASS"

available() {
    case "$1" in
        cp|cp-fsync|strongroom) return 0 ;;
        strongroom-keyring) return 0 ;;
        age) command -v age >/dev/null && command -v age-keygen >/dev/null ;;
        gpg) command -v gpg >/dev/null && command -v gpgconf >/dev/null ;;
        openssl) command -v openssl >/dev/null ;;
        *) die "unknown tool $1" ;;
    esac
}

if [ -z "$TOOLS" ]; then
    TOOLS="cp,cp-fsync,strongroom,strongroom-keyring,age,gpg,openssl"
    LIST=()
    for t in ${TOOLS//,/ }; do
        if available "$t"; then LIST+=("$t"); else note "skipping $t: not installed"; fi
    done
else
    LIST=()
    for t in ${TOOLS//,/ }; do
        available "$t" || die "$t is not installed"
        LIST+=("$t")
    done
fi

# Per-workdir setup of keys for the tools that need them.
setup_keys() { # workdir
    local w="$1"
    printf '%s' "$PASS" >"$w/pass.txt"
    chmod 600 "$w/pass.txt"
    if [[ " ${LIST[*]} " == *" age "* ]]; then
        age-keygen -o "$w/age-key.txt" 2>/dev/null
        AGE_RECIPIENT=$(age-keygen -y "$w/age-key.txt")
    fi
    if [[ " ${LIST[*]} " == *" gpg "* ]]; then
        mkdir -m 700 "$w/gnupg"
        GNUPG_HOMES+=("$w/gnupg")
    fi
    if [[ " ${LIST[*]} " == *" strongroom-keyring "* ]]; then
        # Keyring at the CLI's default Argon2id parameters: every encrypt and
        # decrypt unlocks it, so this row includes one default-cost Argon2id.
        "$BIN" --keyring "$w/bench.keyring" keyring init >/dev/null 2>"$w/keyring-init.err" ||
            { cat "$w/keyring-init.err" >&2; die "strongroom keyring init failed"; }
    fi
}

# Sets CMD to the command line of `tool op input output` in workdir w.
# shellcheck disable=SC2016 # the cp-fsync script is expanded by the inner bash
cmd_for() { # w tool op in out
    local w="$1" tool="$2" op="$3" in="$4" out="$5"
    case "$tool:$op" in
        cp:*) CMD=(cp -- "$in" "$out") ;;
        cp-fsync:*) CMD=(bash -c 'cp -- "$1" "$2" && sync -- "$2"' cp-fsync "$in" "$out") ;;
        strongroom:encrypt)
            CMD=("$BIN" --keyring "$w/absent.keyring" encrypt "$in" -o "$out" --no-keyring --passphrase
                --passphrase-env SR_BENCH_PASS --argon2-memory-mib 8 --argon2-time 1 --argon2-lanes 1 --no-progress) ;;
        strongroom:decrypt)
            CMD=("$BIN" --keyring "$w/absent.keyring" decrypt "$in" -o "$out" --passphrase-env SR_BENCH_PASS --no-progress) ;;
        strongroom-keyring:encrypt) CMD=("$BIN" --keyring "$w/bench.keyring" encrypt "$in" -o "$out" --no-progress) ;;
        strongroom-keyring:decrypt) CMD=("$BIN" --keyring "$w/bench.keyring" decrypt "$in" -o "$out" --no-progress) ;;
        age:encrypt) CMD=(age -r "$AGE_RECIPIENT" -o "$out" "$in") ;;
        age:decrypt) CMD=(age -d -i "$w/age-key.txt" -o "$out" "$in") ;;
        gpg:encrypt)
            CMD=(gpg --homedir "$w/gnupg" --batch --yes --quiet --no-symkey-cache --pinentry-mode loopback
                --passphrase-file "$w/pass.txt" --symmetric --cipher-algo AES256 --compress-algo none -o "$out" "$in") ;;
        gpg:decrypt)
            CMD=(gpg --homedir "$w/gnupg" --batch --yes --quiet --no-symkey-cache --pinentry-mode loopback
                --passphrase-file "$w/pass.txt" -o "$out" -d "$in") ;;
        openssl:encrypt) CMD=(openssl enc -aes-256-ctr -pbkdf2 -pass "file:$w/pass.txt" -in "$in" -out "$out") ;;
        openssl:decrypt) CMD=(openssl enc -d -aes-256-ctr -pbkdf2 -pass "file:$w/pass.txt" -in "$in" -out "$out") ;;
        *) die "no command for $tool $op" ;;
    esac
}

declare -A WALL RSS

# ---------------------------------------------------------------- wall time
compare_dir() { # parent dir
    local parent="$1" w input size round k n tool enc dec
    size=$((SIZE_MIB << 20))
    # input + one ciphertext + one decrypted copy at a time, plus slack.
    check_space "$parent" $((3 * size + (256 << 20))) "the ${SIZE_MIB} MiB comparison"
    new_workdir "$parent"
    w="$W"
    ERRFILE="$w/stderr"
    setup_keys "$w"
    input="$w/input.bin"
    make_input "$input" "$SIZE_MIB"
    n=${#LIST[@]}
    for ((round = -WARMUP; round < RUNS; round++)); do
        if [ "$round" -lt 0 ]; then
            note "$parent: warm-up round"
        else
            wait_idle
            note "$parent: round $((round + 1))/$RUNS"
        fi
        # A fresh random order every round: in a VM, writing into memory the
        # host has reclaimed costs several times more, and which tool meets
        # such memory depends on what ran just before it.
        mapfile -t ORDER < <(printf '%s\n' "${LIST[@]}" | shuf)
        for ((k = 0; k < n; k++)); do
            tool=${ORDER[$k]}
            enc="$w/$tool.enc"
            dec="$w/$tool.dec"
            rm -f -- "$enc" "$dec"
            cmd_for "$w" "$tool" encrypt "$input" "$enc"
            timed "${CMD[@]}"
            if [ "$round" -ge 0 ]; then
                WALL["$parent|$tool|encrypt"]+="$US "
                RSS["$parent|$tool|encrypt"]+="$KIB "
            fi
            if [[ "$tool" == cp* ]]; then
                rm -f -- "$enc"
                continue
            fi
            cmd_for "$w" "$tool" decrypt "$enc" "$dec"
            timed "${CMD[@]}"
            if [ "$round" -ge 0 ]; then
                WALL["$parent|$tool|decrypt"]+="$US "
                RSS["$parent|$tool|decrypt"]+="$KIB "
            fi
            if [ "$round" = "$((-WARMUP))" ]; then
                cmp -s -- "$input" "$dec" || die "$tool: decrypted file differs from the input"
            fi
            rm -f -- "$enc" "$dec"
        done
    done
    rm -f -- "$input"
}

print_table() { # parent...
    local parent tool op key cp_med med
    echo
    echo "### Wall time, ${SIZE_MIB} MiB file, median of $RUNS runs (tools alternating)"
    echo
    echo "| directory (fs) | tool | operation | median (s) | vs cp | vs cp-fsync | min–max (s) | MB/s | peak RSS (MiB) |"
    echo "|---|---|---|---:|---:|---:|---|---:|---:|"
    for parent in "$@"; do
        cp_med=$(echo "${WALL["$parent|cp|encrypt"]:-}" | median)
        cpf_med=$(echo "${WALL["$parent|cp-fsync|encrypt"]:-}" | median)
        for tool in "${LIST[@]}"; do
            for op in encrypt decrypt; do
                key="$parent|$tool|$op"
                [ -n "${WALL[$key]:-}" ] || continue
                med=$(echo "${WALL[$key]}" | median)
                local label="$op"
                [[ "$tool" == cp* ]] && label="copy"
                printf '| %s (%s) | %s | %s | %s | %s | %s | %s–%s | %s | %s |\n' \
                    "$parent" "$(fs_type "$parent")" "$tool" "$label" "$(secs "$med")" \
                    "$(ratio "$med" "$cp_med")" "$( [ -n "$cpf_med" ] && ratio "$med" "$cpf_med" || echo n/a)" \
                    "$(secs "$(echo "${WALL[$key]}" | minimum)")" "$(secs "$(echo "${WALL[$key]}" | maximum)")" \
                    "$(awk -v b=$((SIZE_MIB << 20)) -v us="$med" 'BEGIN {printf "%.0f", b / us}')" \
                    "$(mib_of_kib "$(echo "${RSS[$key]}" | maximum)")"
            done
        done
    done
}

# ---------------------------------------------------------------- memory
memory_test() {
    local w mib size input enc dec tool
    echo
    echo "### Peak RSS against file size ($MEMORY_DIR, $(fs_type "$MEMORY_DIR"))"
    echo
    echo "| file size | tool | operation | peak RSS (MiB) | wall (s) |"
    echo "|---:|---|---|---:|---:|"
    for mib in ${MEMORY_SIZES//,/ }; do
        [[ "$mib" =~ ^[1-9][0-9]*$ ]] || die "--memory-sizes wants MiB counts"
        size=$((mib << 20))
        check_space "$MEMORY_DIR" $((3 * size + (256 << 20))) "the ${mib} MiB memory test"
        new_workdir "$MEMORY_DIR"
        w="$W"
        ERRFILE="$w/stderr"
        LIST=(cp strongroom strongroom-keyring)
        setup_keys "$w"
        input="$w/input.bin"
        make_input "$input" "$mib"
        wait_idle
        for tool in cp strongroom strongroom-keyring; do
            enc="$w/$tool.enc"
            dec="$w/$tool.dec"
            cmd_for "$w" "$tool" encrypt "$input" "$enc"
            timed "${CMD[@]}"
            printf '| %d MiB | %s | %s | %s | %s |\n' "$mib" "$tool" "$([ "$tool" = cp ] && echo copy || echo encrypt)" \
                "$(mib_of_kib "$KIB")" "$(secs "$US")"
            if [ "$tool" != cp ]; then
                cmd_for "$w" "$tool" decrypt "$enc" "$dec"
                timed "${CMD[@]}"
                printf '| %d MiB | %s | decrypt | %s | %s |\n' "$mib" "$tool" "$(mib_of_kib "$KIB")" "$(secs "$US")"
                cmp -s -- "$input" "$dec" || die "$tool: decrypted file differs from the input"
            fi
            rm -f -- "$enc" "$dec"
        done
        rm -rf -- "$w"
    done
}

# ---------------------------------------------------------------- kdf
kdf_test() {
    local w round key
    command -v argon2 >/dev/null || { note "skipping --kdf: the argon2 command is missing (apt-get install -y argon2)"; return; }
    new_workdir "$MEMORY_DIR"
    w="$W"
    ERRFILE="$w/stderr"
    : >"$w/empty"
    declare -A KW KR
    for ((round = 0; round < RUNS; round++)); do
        wait_idle
        note "kdf: round $((round + 1))/$RUNS"
        # Reference C implementation, same parameters (64 MiB, t=3, p=4).
        # shellcheck disable=SC2016 # expanded by the inner bash
        timed bash -c 'printf %s "$SR_BENCH_PASS" | argon2 saltsaltsaltsalt -id -t 3 -k 65536 -p 4 -l 32 -r'
        KW[argon2]+="$US "; KR[argon2]+="$KIB "
        rm -f -- "$w/empty.enc" "$w/empty.dec"
        timed "$BIN" --keyring "$w/absent.keyring" encrypt "$w/empty" -o "$w/empty.enc" --no-keyring \
            --passphrase --passphrase-env SR_BENCH_PASS --argon2-memory-mib 64 --argon2-time 3 --argon2-lanes 4 --no-progress
        KW[enc]+="$US "; KR[enc]+="$KIB "
        timed "$BIN" --keyring "$w/absent.keyring" decrypt "$w/empty.enc" -o "$w/empty.dec" \
            --passphrase-env SR_BENCH_PASS --no-progress
        KW[dec]+="$US "; KR[dec]+="$KIB "
    done
    echo
    echo "### Argon2id at 64 MiB, t=3, p=4 (whole process, median of $RUNS)"
    echo
    echo "| command | median (s) | vs argon2 CLI | peak RSS (MiB) |"
    echo "|---|---:|---:|---:|"
    local ref
    ref=$(echo "${KW[argon2]}" | median)
    for key in argon2 enc dec; do
        local label
        case $key in
            argon2) label="argon2 (reference C, libargon2 $(dpkg-query -W -f '${Version}' argon2 2>/dev/null || echo '?'))" ;;
            enc) label="strongroom encrypt (empty file, passphrase)" ;;
            dec) label="strongroom decrypt (empty file, passphrase)" ;;
        esac
        printf '| %s | %s | %s | %s |\n' "$label" "$(secs "$(echo "${KW[$key]}" | median)")" \
            "$(ratio "$(echo "${KW[$key]}" | median)" "$ref")" "$(mib_of_kib "$(echo "${KR[$key]}" | maximum)")"
    done
    rm -rf -- "$w"
}

# ---------------------------------------------------------------- main
echo "## strongroom compare.sh"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); binary: $BIN"
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- versions: $(cp --version | head -1); age $(age --version 2>/dev/null || echo -); $(gpg --version 2>/dev/null | head -1 || echo gpg -); $(openssl version 2>/dev/null || echo openssl -)"
IFS=, read -r -a DIR_LIST <<<"$DIRS"
for d in "${DIR_LIST[@]}"; do
    [ -d "$d" ] || die "no directory $d"
    echo "- $d: $(fs_type "$d") on $(fs_source "$d")"
done

if [ "$ONLY_EXTRA" = 0 ]; then
    for d in "${DIR_LIST[@]}"; do
        compare_dir "$d"
    done
    print_table "${DIR_LIST[@]}"
fi
[ "$MEMORY" = 1 ] && memory_test
[ "$KDF" = 1 ] && kdf_test
echo
echo "- load after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$WAIT_IDLE" -gt 0 ]; then
    echo "- rounds that started on a busy machine (after waiting ${WAIT_IDLE}s): $BUSY_ROUNDS"
fi
