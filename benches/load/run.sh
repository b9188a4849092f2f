#!/usr/bin/env bash
# Load benchmark: vrrp-sidecar and keepalived running the same 255 VRRPv3 instances, one after
# the other in one run, measured the same way: CPU time over a steady window and resident
# memory at its end (keepalived: its parent and its VRRP child added up).
#
# Scenarios: 255 instances on one interface at 100 ms and at 10 ms adverts, and 255 instances
# spread over 16 interfaces at 100 ms. Each daemon is alone on its links, so it becomes
# master of every instance and sends every advert (25,500 a second at 10 ms): the steady
# state a master lives in. Only 192.0.2.0/24 and 198.51.100.0/24 are used, in a throwaway
# network namespace.
#
# With --routes, every instance also holds one virtual route and one virtual rule (its VIP's
# /32 in a table of its own, and a rule sending its VIP there), in both daemons' files.
# With --vmac, every instance holds its VIP on a virtual MAC interface of its own (a macvlan
# named vrrp.VRID, keepalived's use_vmac) and advertises from it: 255 macvlans and sockets.
#
# Usage (as root, from the repository):
#   benches/load/run.sh [--binary PATH] [--window SECONDS] [--daemons "sidecar keepalived"]
#                       [--scenarios "1:0.1 1:0.01 16:0.1"]   (interfaces:interval)
#                       [--routes] [--vmac]
set -euo pipefail

binary=""
window=10
warm_up=5
daemons="sidecar keepalived"
scenarios="1:0.1 1:0.01 16:0.1"
routes=false
vmac=false

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while (($#)); do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        --window) window=$2; shift 2 ;;
        --daemons) daemons=$2; shift 2 ;;
        --scenarios) scenarios=$2; shift 2 ;;
        --routes) routes=true; shift ;;
        --vmac) vmac=true; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option $1" >&2; usage >&2; exit 64 ;;
    esac
done

if ((EUID != 0)); then
    echo "the benchmark needs root: it creates a network namespace; run with sudo" >&2
    exit 77
fi
command -v ip >/dev/null || { echo "needs ip (iproute2)" >&2; exit 69; }
if [[ " $daemons " == *" keepalived "* ]] && ! command -v keepalived >/dev/null; then
    echo "needs keepalived (apt-get install -y keepalived), or --daemons sidecar" >&2
    exit 69
fi

repository=$(cd "$(dirname "$0")/../.." && pwd)
if [[ -z $binary ]]; then
    cargo build --release --bin vrrp-sidecar --manifest-path "$repository/Cargo.toml" >&2
    binary=$repository/target/release/vrrp-sidecar
fi

readonly INSTANCES=255
namespace=vsload-$$
work=$(mktemp -d "/tmp/$namespace.XXXXXX")
daemon_pid=""

cleanup() {
    if [[ -n $daemon_pid ]]; then
        kill -KILL "$daemon_pid" $(pgrep -P "$daemon_pid" || true) 2>/dev/null || true
        { wait "$daemon_pid" || true; } 2>/dev/null
    fi
    ip netns delete "$namespace" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "interrupted: cleaning up" >&2; exit 130' INT TERM

# 16 veth pairs, eth0..eth15, each end up, the daemon's end with a primary address.
ip netns add "$namespace"
ip -n "$namespace" link set lo up
for ((i = 0; i < 16; i++)); do
    ip -n "$namespace" link add "eth$i" type veth peer name "peer$i"
    ip -n "$namespace" addr add "192.0.2.$((i + 1))/24" dev "eth$i"
    ip -n "$namespace" link set "eth$i" up
    ip -n "$namespace" link set "peer$i" up
done

# The VIP of VRID $1: 198.51.100.1-254, and 192.0.2.250 for VRID 255.
vip_of() { (($1 < 255)) && echo "198.51.100.$1" || echo "192.0.2.250"; }

# Configs for $1 interfaces and interval $2 (seconds).
write_configs() {
    local interfaces=$1 interval=$2 vrid interface
    {
        echo '[global]'
        echo 'log_level = "warn"'
        for ((vrid = 1; vrid <= INSTANCES; vrid++)); do
            interface="eth$(((vrid - 1) % interfaces))"
            printf '\n[instances.vi_%d]\ninterface = "%s"\nvrid = %d\nversion = 3\n' "$vrid" "$interface" "$vrid"
            printf 'priority = 150\nadvert_interval = "%s"\nvirtual_addresses = ["%s/24"]\n' "$interval" "$(vip_of "$vrid")"
            if $vmac; then
                printf 'virtual_mac = true\n'
            fi
            if $routes; then
                printf 'virtual_routes = ["%s/32 via 192.0.2.254 dev %s table %d"]\n' \
                    "$(vip_of "$vrid")" "$interface" $((1000 + vrid))
                printf 'virtual_rules = ["from %s/32 table %d priority %d"]\n' \
                    "$(vip_of "$vrid")" $((1000 + vrid)) $((1000 + vrid))
            fi
        done
    } >"$work/sidecar.toml"
    {
        printf 'global_defs {\n    router_id load\n    vrrp_version 3\n}\n'
        for ((vrid = 1; vrid <= INSTANCES; vrid++)); do
            interface="eth$(((vrid - 1) % interfaces))"
            printf 'vrrp_instance VI_%d {\n    state BACKUP\n    interface %s\n' "$vrid" "$interface"
            printf '    virtual_router_id %d\n    priority 150\n    advert_int %s\n' "$vrid" "$interval"
            printf '    virtual_ipaddress {\n        %s/24\n    }\n' "$(vip_of "$vrid")"
            if $vmac; then
                printf '    use_vmac\n'
            fi
            if $routes; then
                printf '    virtual_routes {\n        %s/32 via 192.0.2.254 dev %s table %d\n    }\n' \
                    "$(vip_of "$vrid")" "$interface" $((1000 + vrid))
                printf '    virtual_rules {\n        from %s/32 table %d priority %d\n    }\n' \
                    "$(vip_of "$vrid")" $((1000 + vrid)) $((1000 + vrid))
            fi
            printf '}\n'
        done
    } >"$work/keepalived.conf"
}

start_daemon() {
    if [[ $1 == sidecar ]]; then
        ip netns exec "$namespace" "$binary" --config "$work/sidecar.toml" \
            --api-socket "$work/api.sock" >"$work/daemon.log" 2>&1 &
    else
        rm -f "$work/keepalived.pid" "$work/vrrp.pid"
        ip netns exec "$namespace" keepalived -P -n -l -f "$work/keepalived.conf" \
            -p "$work/keepalived.pid" -r "$work/vrrp.pid" >"$work/daemon.log" 2>&1 &
    fi
    daemon_pid=$!
}

stop_daemon() {
    kill -TERM "$daemon_pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$daemon_pid" $(pgrep -P "$daemon_pid" || true) 2>/dev/null || true
    { wait "$daemon_pid" || true; } 2>/dev/null
    daemon_pid=""
}

# The daemon's processes: ours is one; keepalived is its parent and the VRRP child.
processes() { echo "$daemon_pid" $(pgrep -P "$daemon_pid" || true); }

# utime + stime of the processes, in clock ticks.
cpu_ticks() {
    local pid total=0 fields
    for pid in $(processes); do
        # The fields after the command name, which may hold spaces, inside parentheses.
        fields=$(sed 's/^.*) //' "/proc/$pid/stat")
        total=$((total + $(echo "$fields" | awk '{ print $12 + $13 }')))
    done
    echo "$total"
}

rss_kib() {
    local pid total=0
    for pid in $(processes); do
        total=$((total + $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")))
    done
    echo "$total"
}

masters() { ip -n "$namespace" -4 -o addr show | grep -c ' 198\.51\.100\.\| 192\.0\.2\.250/' || true; }

# The virtual MAC interfaces present.
vmacs_held() { ip -n "$namespace" -o link show type macvlan | grep -c . || true; }

# The virtual routes installed (protocol keepalived, both daemons' marking).
routes_held() { ip -n "$namespace" -4 route show table all proto keepalived | grep -c . || true; }

ticks_per_second=$(getconf CLK_TCK)
printf 'load benchmark: %s, load %s, %s CPUs, binary %s\n' "$(date -u +%FT%TZ)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)" "$binary"
printf 'keepalived: %s\n\n' "$(keepalived --version 2>&1 | sed -n 1p)"
echo "| scenario | daemon | VIPs held | routes held | VMACs | CPU (% of one core) | RSS (MiB) |"
echo "|---|---|---:|---:|---:|---:|---:|"
for scenario in $scenarios; do
    interfaces=${scenario%%:*} interval=${scenario#*:}
    write_configs "$interfaces" "$interval"
    for daemon in $daemons; do
        start_daemon "$daemon"
        sleep "$warm_up"
        kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.log" >&2; exit 70; }
        before=$(cpu_ticks)
        sleep "$window"
        after=$(cpu_ticks)
        rss=$(rss_kib)
        held=$(masters)
        routed=$(routes_held)
        vmacs=$(vmacs_held)
        stop_daemon
        cpu=$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v w="$window" \
            'BEGIN { printf "%.1f", t / hz / w * 100 }')
        printf '| %d instances, %d interface(s), %g ms | %s | %d | %d | %d | %s | %.1f |\n' \
            "$INSTANCES" "$interfaces" "$(awk -v i="$interval" 'BEGIN { print i * 1000 }')" \
            "$daemon" "$held" "$routed" "$vmacs" "$cpu" \
            "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
        # Whatever a killed daemon left: the next one starts from a clean slate.
        ip -n "$namespace" -4 route flush table all proto keepalived 2>/dev/null || true
        for link in $(ip -n "$namespace" -o link show type macvlan | awk -F'[:@]' '{ print $2 }'); do
            ip -n "$namespace" link delete "$link"
        done
        for ((i = 0; i < 16; i++)); do
            ip -n "$namespace" -4 addr flush dev "eth$i"
            ip -n "$namespace" addr add "192.0.2.$((i + 1))/24" dev "eth$i"
        done
    done
done
