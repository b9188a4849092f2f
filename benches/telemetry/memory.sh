#!/usr/bin/env bash
# Memory of vrrp-sidecar exporting to a collector that is down: two daemons (VRRPv3, 100 ms
# adverts) in throwaway network namespaces, both with [telemetry] otlp_endpoint pointing at
# a port where nothing listens, and the Prometheus endpoint on. Every second the master is
# made to resign (vrrpctl), so each daemon records transitions, VIP and request spans that
# can never leave, and the metrics endpoint is scraped. The resident set size (VmRSS) of both
# daemons is sampled every --every seconds; bounded memory shows as a flat tail.
#
# Usage (as root, from the repository):
#   benches/telemetry/memory.sh [--minutes N] [--every SECONDS] [--binary PATH]
#                               [--vrrpctl PATH] [--otlp-endpoint URL|none]
# --otlp-endpoint none leaves export off: the control run, whose growth is the daemon's own
# (its bounded event history of 4096 changes fills as the handovers go on).
# Without --binary it builds target/release/vrrp-sidecar; without --vrrpctl it uses
# target/release/vrrpctl or target/debug/vrrpctl, whichever exists. Only 192.0.2.0/24 is used.
set -euo pipefail

minutes=10
every=30
binary=""
vrrpctl=""
otlp_endpoint="http://127.0.0.1:4317"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while (($#)); do
    case "$1" in
        --minutes) minutes=$2; shift 2 ;;
        --every) every=$2; shift 2 ;;
        --binary) binary=$2; shift 2 ;;
        --vrrpctl) vrrpctl=$2; shift 2 ;;
        --otlp-endpoint) otlp_endpoint=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option $1" >&2; usage >&2; exit 64 ;;
    esac
done

if ((EUID != 0)); then
    echo "needs root: it creates network namespaces" >&2
    exit 77
fi
command -v curl >/dev/null || { echo "needs curl" >&2; exit 69; }

repository=$(cd "$(dirname "$0")/../.." && pwd)
if [[ -z $binary ]]; then
    cargo build --release --bin vrrp-sidecar --manifest-path "$repository/Cargo.toml" >&2
    binary=$repository/target/release/vrrp-sidecar
fi
if [[ -z $vrrpctl ]]; then
    for candidate in "$repository/target/release/vrrpctl" "$repository/target/debug/vrrpctl"; do
        [[ -x $candidate ]] && { vrrpctl=$candidate; break; }
    done
fi
[[ -n $vrrpctl ]] || { echo "no vrrpctl: cargo build -p vrrp-sidecar-client, or --vrrpctl" >&2; exit 69; }

readonly VIP=192.0.2.100
base=vsmem-$$
work=$(mktemp -d "/tmp/$base.XXXXXX")
namespaces=()
pids=()

ns() { echo "$base-$1"; }

cleanup() {
    local pid i
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for ((i = 0; i < 100; i++)); do
            [[ -e /proc/$pid ]] || break
            sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null || true
        { wait "$pid" || true; } 2>/dev/null
    done
    for ((i = ${#namespaces[@]} - 1; i >= 0; i--)); do
        ip netns delete "${namespaces[i]}" 2>/dev/null || echo "could not delete ${namespaces[i]}" >&2
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "interrupted: cleaning up" >&2; exit 130' INT TERM

bridge=$(ns br)
ip netns add "$bridge"; namespaces+=("$bridge")
ip -n "$bridge" link add br0 type bridge
ip -n "$bridge" link set br0 up
for host in h1:192.0.2.1:150 h2:192.0.2.2:100; do
    IFS=: read -r name address priority <<<"$host"
    ip netns add "$(ns "$name")"; namespaces+=("$(ns "$name")")
    ip -n "$bridge" link add "$name" type veth peer name eth0 netns "$(ns "$name")"
    ip -n "$bridge" link set "$name" master br0 up
    ip -n "$(ns "$name")" addr add "$address/24" dev eth0
    ip -n "$(ns "$name")" link set eth0 up
    ip -n "$(ns "$name")" link set lo up
    cat >"$work/$name.toml" <<EOF
[global]
log_level = "warn"

[api]
socket = "$work/$name.sock"

[instances.vi]
interface = "eth0"
vrid = 51
priority = $priority
advert_interval = "100ms"
virtual_addresses = ["$VIP/24"]

[telemetry]
metrics_listen = "127.0.0.1:9464"
EOF
    if [[ $otlp_endpoint != none ]]; then
        echo "otlp_endpoint = \"$otlp_endpoint\"" >>"$work/$name.toml"
    fi
    ip netns exec "$(ns "$name")" "$binary" --config "$work/$name.toml" >>"$work/$name.log" 2>&1 &
    pids+=("$!")
done

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
holder() {
    local name
    for name in h1 h2; do
        if ip -n "$(ns "$name")" -4 -o addr show dev eth0 | grep -q " $VIP/"; then
            echo "$name"; return
        fi
    done
    echo none
}

sleep 2
if [[ $otlp_endpoint == none ]]; then
    echo "vrrp-sidecar memory without export (control): ${minutes} min, resign every 1 s"
else
    echo "vrrp-sidecar memory with the collector at $otlp_endpoint down: ${minutes} min, resign every 1 s"
fi
echo "binary $binary, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%8s %12s %12s %10s\n' seconds h1_rss_kib h2_rss_kib resigns
start=$SECONDS
next_sample=0
resigns=0
duration=$((minutes * 60))
while ((SECONDS - start < duration)); do
    elapsed=$((SECONDS - start))
    if ((elapsed >= next_sample)); then
        printf '%8d %12s %12s %10d\n' "$elapsed" "$(rss_kib "${pids[0]}")" "$(rss_kib "${pids[1]}")" "$resigns"
        next_sample=$((next_sample + every))
    fi
    master=$(holder)
    if [[ $master != none ]] &&
        ip netns exec "$(ns "$master")" "$vrrpctl" --socket "$work/$master.sock" resign vi \
            --hold-down 0 >/dev/null 2>&1; then
        resigns=$((resigns + 1))
    fi
    for name in h1 h2; do
        ip netns exec "$(ns "$name")" curl -s -o /dev/null http://127.0.0.1:9464/metrics || true
    done
    sleep 1
done
printf '%8d %12s %12s %10d\n' "$((SECONDS - start))" "$(rss_kib "${pids[0]}")" "$(rss_kib "${pids[1]}")" "$resigns"
for name in h1 h2; do
    ip netns exec "$(ns "$name")" curl -s http://127.0.0.1:9464/metrics | awk -v host="$name" '
        /^vrrp_transitions_total/ { transitions += $2 }
        /^vrrp_telemetry_spans_dropped_total/ { dropped = $2 }
        END { printf "%s: %d transitions, %d spans dropped\n", host, transitions, dropped }'
done
