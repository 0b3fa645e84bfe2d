#!/usr/bin/env bash
# Runs a command and reports how much CPU *other* processes used meanwhile,
# to qualify benchmark numbers taken on a shared machine.
#
# Usage: benches/busy.sh COMMAND [ARGS...]
# Prints to stderr, after the command ends:
#   busy.sh: wall W s; this command used C CPU-s; other processes used
#   O CPU-s = F cores on average (of N)
# Exits with the command's status.
set -uo pipefail

[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

busy_jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

hz=$(getconf CLK_TCK)
cpus=$(nproc)
times=$(mktemp)
trap 'rm -f "$times"' EXIT

b0=$(busy_jiffies)
t0=$(date +%s%N)
/usr/bin/time -f '%U %S' -o "$times" "$@"
status=$?
t1=$(date +%s%N)
b1=$(busy_jiffies)

read -r user sys <"$times" || { user=0; sys=0; }
awk -v b="$((b1 - b0))" -v hz="$hz" -v wall_ns="$((t1 - t0))" -v user="$user" -v sys="$sys" -v cpus="$cpus" 'BEGIN {
    wall = wall_ns / 1e9; own = user + sys; total = b / hz; other = total - own;
    if (other < 0) other = 0;
    printf "busy.sh: wall %.1f s; this command used %.1f CPU-s; other processes used %.1f CPU-s = %.2f cores on average (of %d)\n",
        wall, own, other, other / wall, cpus > "/dev/stderr"
}'
exit "$status"
