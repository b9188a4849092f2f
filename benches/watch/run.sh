#!/usr/bin/env bash
# WatchState benchmark: delivery latency with 1 to 10,000 subscribers, and the daemon's advert
# timing while one subscriber is stalled.
#
# The daemon (release build) runs two VRRPv3 instances at 100 ms in a throwaway network
# namespace, on one end of a veth pair; tcpdump on the other end timestamps the adverts of
# the first, `vi`, while the API churns the priority of the second, `churned` (a priority
# change sends an advert at once, so the churned instance's own timing is not steady). The
# subscribers are the bench binary benches/watch/latency.rs, in another process, on the
# daemon's Unix socket. Only 192.0.2.0/24 is used. benches/watch/h2_floor.rs makes the same
# fan-out with bare HTTP/2 (the h2 crate, no gRPC, no daemon) as the floor under it: for each
# number of subscribers, our row and the floor's run one after the other, and the table shows
# their p99 ratio, with the advert timing captured while our row ran.
#
# Usage (as root, from the repository):
#   benches/watch/run.sh [--counts "1 100 1000 10000"] [--changes 20] [--churn SECONDS]
#       [--daemon PATH]
# --daemon runs another build of the daemon (an older commit's, for a before/after
# comparison) instead of this tree's target/release/vrrp-sidecar.
set -euo pipefail

counts="1 100 1000 10000"
changes=20
churn_seconds=10
daemon=""

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while (($#)); do
    case "$1" in
        --counts) counts=$2; shift 2 ;;
        --changes) changes=$2; shift 2 ;;
        --churn) churn_seconds=$2; shift 2 ;;
        --daemon) daemon=$(realpath "$2"); shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option $1" >&2; usage >&2; exit 64 ;;
    esac
done

if ((EUID != 0)); then
    echo "the benchmark needs root: it creates a network namespace; run with sudo" >&2
    exit 77
fi
for tool in ip tcpdump; do
    command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 69; }
done

repository=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repository"
cargo build --release --bin vrrp-sidecar >&2
daemon=${daemon:-$repository/target/release/vrrp-sidecar}
cargo bench --bench watch_latency --bench watch_h2_floor --no-run >&2
executable() {
    cargo bench --bench "$1" --no-run --message-format=json 2>/dev/null |
        sed -n "s/.*\"executable\":\"\([^\"]*$1[^\"]*\)\".*/\1/p" | tail -1
}
bench=$(executable watch_latency)
floor=$(executable watch_h2_floor)
[[ -x $bench && -x $floor ]] || { echo "could not find the bench binaries" >&2; exit 70; }

namespace=vswatch-$$
work=$(mktemp -d "/tmp/$namespace.XXXXXX")
daemon_pid=""
capture_pid=""
floor_pid=""

cleanup() {
    local pid
    for pid in $capture_pid $daemon_pid $floor_pid; do
        kill -TERM "$pid" 2>/dev/null || true
        { wait "$pid" || true; } 2>/dev/null
    done
    ip netns delete "$namespace" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "interrupted: cleaning up" >&2; exit 130' INT TERM

ip netns add "$namespace"
ip -n "$namespace" link add eth0 type veth peer name tap0
ip -n "$namespace" addr add 192.0.2.1/24 dev eth0
for link in lo eth0 tap0; do ip -n "$namespace" link set "$link" up; done

cat >"$work/daemon.toml" <<EOF
[instances.vi]
interface = "eth0"
vrid = 51
version = 3
priority = 150
advert_interval = "100ms"
virtual_addresses = ["192.0.2.100/24"]

[instances.churned]
interface = "eth0"
vrid = 52
version = 3
priority = 150
advert_interval = "100ms"
virtual_addresses = ["192.0.2.101/24"]
EOF
ip netns exec "$namespace" "$daemon" --config "$work/daemon.toml" \
    --api-socket "$work/api.sock" >"$work/daemon.log" 2>&1 &
daemon_pid=$!

# The adverts of `vi` (VRID 51) while `command...` runs; prints their interval statistics
# against the nominal 100 ms as a table row.
advert_timing() {
    local label=$1; shift
    local capture="$work/capture.txt"
    ip netns exec "$namespace" tcpdump -i tap0 -n -tt -l --immediate-mode 'ip proto 112' \
        >"$capture" 2>/dev/null &
    capture_pid=$!
    sleep 0.5
    "$@"
    kill -TERM "$capture_pid"; { wait "$capture_pid" || true; } 2>/dev/null; capture_pid=""
    # One line per interval: its deviation from 100 ms; then mean, p99 and max of |deviation|.
    awk '/ IP 192\.0\.2\.1 > .* vrid 51,/ { if (seen) printf "%.6f\n", ($1 - last) * 1000 - 100; last = $1; seen = 1 }' \
        "$capture" | awk '{ printf "%.6f %.6f\n", ($1 < 0 ? -$1 : $1), $1 }' | sort -n |
        awk -v label="$label" '
            { absolute[NR] = $1; sum += $2 }
            END {
                if (NR == 0) { printf "| %s | 0 | - | - | - |\n", label; exit }
                printf "| %s | %d | %+.3f ms | %.3f ms | %.3f ms |\n", label, NR, sum / NR,
                    absolute[int((NR - 1) * 0.99) + 1], absolute[NR]
            }'
}

# The instance is master after Master_Down_Interval (about 0.36 s); give it a second.
sleep 1.5
kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; exit 70; }

"$floor" --serve "$work/floor.sock" &
floor_pid=$!
for _ in $(seq 50); do [[ -S $work/floor.sock ]] && break; sleep 0.1; done
[[ -S $work/floor.sock ]] || { echo "the floor server did not start" >&2; exit 70; }

echo "watch benchmark: $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
echo "daemon: $daemon"
echo
echo "Delivery latency, transition to the subscriber's read ($changes changes per row; release"
echo "build, subscribers in another process, 100 streams per connection, one reading task per"
echo "connection). Ours: WatchState through the daemon. Floor: bare HTTP/2 (h2 crate; one task per"
echo "connection on each side, no gRPC, no daemon), run right after ours. Adverts: the"
echo "deviation of \`vi\`'s advert intervals from 100 ms while our row ran (p99 of |deviation|)."
echo
echo "| subscribers | ours median | ours p99 | floor median | floor p99 | p99 ratio | daemon RSS | adverts p99 |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
row_field() { awk -F'|' -v field="$2" '/^\| [0-9]/ { gsub(/^ +| +$/, "", $field); print $field }' "$1"; }
ours() {
    "$bench" --socket "$work/api.sock" --daemon-pid "$daemon_pid" --instance churned \
        --counts "$1" --changes "$changes" >"$work/ours.txt"
}
cpu_rows=""
for count in $counts; do
    advert_timing "$count" ours "$count" >"$work/adverts.txt"
    "$floor" --socket "$work/floor.sock" --server-pid "$floor_pid" --counts "$count" \
        --changes "$changes" >"$work/floor.txt"
    ours_p99=$(row_field "$work/ours.txt" 5)
    floor_p99=$(row_field "$work/floor.txt" 5)
    ratio=$(awk -v ours="${ours_p99% ms}" -v floor="${floor_p99% ms}" \
        'BEGIN { if (floor > 0) printf "%.2f", ours / floor; else print "-" }')
    echo "| $count | $(row_field "$work/ours.txt" 4) | $ours_p99 |" \
        "$(row_field "$work/floor.txt" 4) | $floor_p99 | $ratio |" \
        "$(row_field "$work/ours.txt" 7) | $(row_field "$work/adverts.txt" 5) |"
    cpu_rows+="| $count | $(row_field "$work/ours.txt" 8) | $(row_field "$work/ours.txt" 9) |"
    cpu_rows+=" $(row_field "$work/floor.txt" 7) | $(row_field "$work/floor.txt" 8) |"$'\n'
done

echo
echo "CPU time per delivery while the row's changes went out and were read (user + system,"
echo "from /proc at 10 ms resolution): the daemon's and our subscribers' process; the floor's"
echo "server and client process."
echo
echo "| subscribers | daemon | our subscribers | floor server | floor client |"
echo "|---:|---:|---:|---:|---:|"
printf '%s' "$cpu_rows"

echo
echo "Advert timing, 100 ms nominal (interval minus 100 ms: mean; |deviation|: p99, max):"
echo
echo "| phase | intervals | mean | p99 abs. deviation | max abs. deviation |"
echo "|---|---:|---:|---:|---:|"
churn() { "$bench" --socket "$work/api.sock" --instance churned --churn "$churn_seconds" "$@" >>"$work/churn.txt"; }
advert_timing "idle, ${churn_seconds} s" sleep "$churn_seconds"
advert_timing "\`churned\` changed every 5 ms, no subscriber" churn
advert_timing "\`churned\` changed every 5 ms, one subscriber stalled" churn --stalled
echo
cat "$work/churn.txt"

