#!/usr/bin/env bash
# Health-check load benchmark: what 1,000 registered (pushed) checks cost one daemon.
#
# One vrrp-sidecar (VRRPv3, 100 ms adverts, master alone) runs in a throwaway namespace joined
# by a veth pair to an observer namespace (192.0.2.0/24 only). Two phases of --seconds each:
#   baseline   no checks;
#   loaded     --checks pushed checks registered over the API by benches/health/load.py
#              (Python grpcio, asyncio), each on its own ReportHealth stream, reporting every
#              --report seconds with a --lease second lease.
# For each phase it prints the advert interval jitter seen on the observer's side of the wire
# (tcpdump timestamps: deviation of each gap from the nominal 100 ms: median, p99, max), the
# daemon's CPU (user+system time over the phase, as % of one core) and its RSS at the end.
#
# Usage (as root, from the repository):
#   benches/health/run.sh [--checks N] [--seconds S] [--report S] [--lease S] [--binary PATH]
# Without --binary it uses target/debug/vrrp-sidecar, building it first. Needs iproute2,
# tcpdump, and Python with grpcio and grpcio-tools (default /opt/grpcurl/bin/python3, or
# --python PATH).
set -euo pipefail

checks=1000
seconds=30
report=1
lease=3
binary=""
python=/opt/grpcurl/bin/python3

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while (($#)); do
    case "$1" in
        --checks) checks=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --report) report=$2; shift 2 ;;
        --lease) lease=$2; shift 2 ;;
        --binary) binary=$2; shift 2 ;;
        --python) python=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option $1" >&2; usage >&2; exit 64 ;;
    esac
done

if ((EUID != 0)); then
    echo "the benchmark needs root: it creates network namespaces; run with sudo" >&2
    exit 77
fi
for tool in ip tcpdump; do
    command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 69; }
done
"$python" -c 'import grpc, grpc_tools' 2>/dev/null ||
    { echo "needs Python with grpcio and grpcio-tools ($python)" >&2; exit 69; }

repository=$(cd "$(dirname "$0")/../.." && pwd)
if [[ -z $binary ]]; then
    cargo build --bin vrrp-sidecar --manifest-path "$repository/Cargo.toml" >&2
    binary=$repository/target/debug/vrrp-sidecar
fi

readonly INTERVAL_MS=100
base=vshealth-$$
work=$(mktemp -d "/tmp/$base.XXXXXX")
namespaces=()
# Every process this script starts, so clean-up signals only those.
started_pids=()

cleanup() {
    local pid i
    for pid in "${started_pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in "${started_pids[@]}"; do
        { wait "$pid" || true; } 2>/dev/null
    done
    for ((i = ${#namespaces[@]} - 1; i >= 0; i--)); do
        ip netns delete "${namespaces[i]}" 2>/dev/null ||
            echo "could not delete namespace ${namespaces[i]}" >&2
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "interrupted: cleaning up" >&2; exit 130' INT TERM

daemon_ns=$base-h1
observer_ns=$base-obs
ip netns add "$daemon_ns"; namespaces+=("$daemon_ns")
ip netns add "$observer_ns"; namespaces+=("$observer_ns")
ip -n "$daemon_ns" link add eth0 type veth peer name eth0 netns "$observer_ns"
ip -n "$daemon_ns" addr add 192.0.2.1/24 dev eth0
ip -n "$observer_ns" addr add 192.0.2.50/24 dev eth0
for namespace in "$daemon_ns" "$observer_ns"; do
    ip -n "$namespace" link set eth0 up
    ip -n "$namespace" link set lo up
done

cat >"$work/h1.toml" <<CONFIG
[global]
log_level = "warn"

[instances.vi]
interface = "eth0"
vrid = 51
priority = 200
advert_interval = "${INTERVAL_MS}ms"
virtual_addresses = ["192.0.2.100/24"]
CONFIG

socket=$work/api.sock
ip netns exec "$daemon_ns" "$binary" --config "$work/h1.toml" --api-socket "$socket" \
    --log-format json >"$work/daemon.log" 2>&1 &
daemon=$!
started_pids+=("$daemon")
for ((i = 0; i < 100; i++)); do
    [[ -S $socket ]] && break
    sleep 0.05
done
[[ -S $socket ]] || { echo "the daemon did not start:" >&2; cat "$work/daemon.log" >&2; exit 1; }
# Master after Master_Down_Interval; give it a second.
sleep 1

"$python" -m grpc_tools.protoc -I"$repository/proto" --python_out="$work" \
    --grpc_python_out="$work" "$repository/proto/vrrp/v1/sidecar.proto"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$daemon/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$daemon/status"; }

# Captures adverts for $seconds on the observer, and prints the phase's figures.
measure() {
    local phase=$1 capture=$work/$1.txt ticks_before ticks_after
    ticks_before=$(cpu_ticks)
    timeout "$seconds" ip netns exec "$observer_ns" tcpdump -i eth0 -n -tt \
        --time-stamp-precision=micro -l 'ip proto 112' >"$capture" 2>/dev/null || true
    ticks_after=$(cpu_ticks)
    awk -v nominal="$INTERVAL_MS" '
        # Only whole lines that start with a timestamp: the capture may end mid-line.
        $1 !~ /^[0-9]+\.[0-9]+$/ || NF < 3 { next }
        { t = $1 * 1000; if (seen++) { d = t - last - nominal; print (d < 0 ? -d : d) } last = t }' \
        "$capture" | sort -g >"$work/$phase.deviations"
    awk -v phase="$phase" -v nominal="$INTERVAL_MS" -v seconds="$seconds" \
        -v ticks=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" -v rss="$(rss_kib)" '
        { dev[++n] = $1 }
        END {
            if (n == 0) { print phase ": no adverts captured"; exit 1 }
            p99 = int(n * 0.99); if (p99 < 1) p99 = 1
            printf "%-9s adverts %4d  jitter |gap-%dms| median %.3f ms  p99 %.3f ms  max %.3f ms  CPU %.1f%% of a core  RSS %.1f MiB\n",
                phase, n + 1, nominal, dev[int((n + 1) / 2)], dev[p99], dev[n],
                ticks / hz / seconds * 100, rss / 1024
        }' "$work/$phase.deviations"
}

echo "vrrp-sidecar $("$binary" --version 2>/dev/null || echo "(unknown version)"), $binary"
echo "load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs; ${seconds} s per phase"
measure baseline

"$python" "$repository/benches/health/load.py" "$socket" "$work" "$checks" vi "$report" "$lease" \
    >"$work/load.out" 2>"$work/load.err" &
started_pids+=("$!")
for ((i = 0; i < 1200; i++)); do
    grep -q '^ready' "$work/load.out" && break
    sleep 0.1
done
grep -q '^ready' "$work/load.out" ||
    { echo "the load generator did not get ready:" >&2; cat "$work/load.err" >&2; exit 1; }
echo "registered $checks pushed checks (report every ${report} s, lease ${lease} s)"
measure loaded
# Every check passing: the instance still runs at its configured priority.
"$python" - "$socket" "$work" <<'PY'
import sys, grpc
sys.path.insert(0, sys.argv[2])
from vrrp.v1 import sidecar_pb2 as pb, sidecar_pb2_grpc as rpc
channel = grpc.insecure_channel("unix://" + sys.argv[1])
instance = rpc.SidecarStub(channel).GetInstance(pb.GetInstanceRequest(name="vi"))
failing = sum(1 for check in instance.health_checks if not check.passing)
print(f"after the loaded phase: {len(instance.health_checks)} checks, {failing} failing, "
      f"state {pb.State.Name(instance.state)}, priority {instance.effective_priority}")
PY
