#!/usr/bin/env bash
# Captures real keepalived adverts as codec fixtures, and has tshark check the adverts our own
# encoder produced.
#
#   scripts/capture-keepalived.sh              # capture, rewrite tests/fixtures/keepalived/*.toml
#                                              # (except sidecar-*), then check ours with tshark
#   scripts/capture-keepalived.sh check-ours   # only the tshark check of sidecar-*.toml
#
# Needs root (network namespaces), keepalived, tcpdump, tshark and python3 (standard library
# only). Everything runs in two namespaces of its own, vscap-<pid>-a (keepalived) and
# vscap-<pid>-b (tcpdump), joined by a veth pair; only documentation addresses are used
# (192.0.2.0/24, 2001:db8::/64). The trap kills every keepalived this script started and deletes
# both namespaces, whatever happens.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
fixtures="$repo/tests/fixtures/keepalived"
work=$(mktemp -d /tmp/vscap.XXXXXX)
ns_a="vscap-$$-a"
ns_b="vscap-$$-b"
keepalived_pids=()

cleanup() {
    local pid child
    for pid in "${keepalived_pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            # SIGTERM lets the VRRP child stop too; SIGKILL on the parent alone would leave the
            # child running (reference/keepalived-baseline.md, pitfall 1).
            kill -TERM "$pid" 2>/dev/null || true
            sleep 1
            for child in $(pgrep -P "$pid" || true); do kill -KILL "$child" 2>/dev/null || true; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    ip netns del "$ns_a" 2>/dev/null || true
    ip netns del "$ns_b" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Reads a pcap (Ethernet) and prints one line per VRRP packet: source, destination, TTL/hop
# limit and the VRRP payload in hex.
extract_vrrp() {
    python3 - "$1" <<'PY'
import ipaddress, struct, sys
data = open(sys.argv[1], "rb").read()
endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
offset = 24
while offset + 16 <= len(data):
    _, _, captured, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
    frame = data[offset + 16:offset + 16 + captured]
    offset += 16 + captured
    ethertype = struct.unpack(">H", frame[12:14])[0]
    ip = frame[14:]
    if ethertype == 0x0800 and ip[9] == 112:
        header_len = (ip[0] & 0x0f) * 4
        total_len = struct.unpack(">H", ip[2:4])[0]
        src, dst, ttl = ipaddress.ip_address(ip[12:16]), ipaddress.ip_address(ip[16:20]), ip[8]
        payload = ip[header_len:total_len]
    elif ethertype == 0x86DD and ip[6] == 112:
        payload_len = struct.unpack(">H", ip[4:6])[0]
        src, dst, ttl = ipaddress.ip_address(ip[8:24]), ipaddress.ip_address(ip[24:40]), ip[7]
        payload = ip[40:40 + payload_len]
    else:
        continue
    print(src, dst, ttl, payload.hex())
PY
}

# Writes a pcap of the fixtures named in "$@" (source, destination, hop limit and payload read
# from each TOML), each wrapped in an Ethernet and IP header, for tshark to dissect.
fixtures_to_pcap() {
    python3 - "$@" <<'PY'
import ipaddress, struct, sys, tomllib
out, files = sys.argv[1], sys.argv[2:]
def ip_checksum(header):
    total = sum(struct.unpack(">%dH" % (len(header) // 2), header))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff
records = b""
for path in files:
    with open(path, "rb") as f:
        fixture = tomllib.load(f)
    src = ipaddress.ip_address(fixture["source"])
    dst = ipaddress.ip_address(fixture["destination"])
    payload = bytes.fromhex(fixture["payload"])
    if src.version == 4:
        header = struct.pack(">BBHHHBBH4s4s", 0x45, 0xc0, 20 + len(payload), 0, 0,
                             fixture["hop_limit"], 112, 0, src.packed, dst.packed)
        header = header[:10] + struct.pack(">H", ip_checksum(header)) + header[12:]
        # RFC 1112 §6.4: a multicast group maps onto 01:00:5e plus its low 23 bits.
        to = b"\x01\x00\x5e" + dst.packed[1:] if dst.is_multicast else b"\x02\x00\x00\x00\x00\x02"
        frame = to + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + header
    else:
        header = struct.pack(">IHBB16s16s", 0x6c000000, len(payload), 112, fixture["hop_limit"],
                             src.packed, dst.packed)
        # RFC 2464 §7: a multicast group maps onto 33:33 plus its low 32 bits.
        to = b"\x33\x33" + dst.packed[12:] if dst.is_multicast else b"\x02\x00\x00\x00\x00\x02"
        frame = to + b"\x02\x00\x00\x00\x00\x01" + b"\x86\xdd" + header
    frame += payload
    records += struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1) + records)
PY
}

# Prints tshark's checksum verdict for every VRRP packet of the pcap $1, one per line; further
# arguments go to tshark (preferences).
checksum_status() {
    local pcap=$1
    shift
    # vrrp.checksum.status: 1 = Good, 0 = Bad, 2 = Unverified. tshark warns on stderr when run
    # as root; the verdicts are on stdout.
    tshark -r "$pcap" "$@" -Y vrrp -T fields -e vrrp.checksum.status 2>/dev/null \
        | sed -e 's/^1$/Good/' -e 's/^0$/Bad/' -e 's/^2$/Unverified/'
}

# Has tshark verify every sidecar-*.toml packet. Those marked
# v3_ipv4_checksum = "without-pseudo-header" are checked with tshark's preference for that form
# (vrrp.v3_checksum_as_in_v2), and also shown failing tshark's default check.
check_ours() {
    local ours fixture verdict default_verdict failed=0 preferences
    shopt -s nullglob
    ours=("$fixtures"/sidecar-*.toml)
    shopt -u nullglob
    if ((${#ours[@]} == 0)); then
        echo "no sidecar-*.toml fixtures to check" >&2
        return 1
    fi
    for fixture in "${ours[@]}"; do
        fixtures_to_pcap "$work/ours.pcap" "$fixture"
        preferences=()
        if grep -q '^v3_ipv4_checksum = "without-pseudo-header"' "$fixture"; then
            preferences=(-o vrrp.v3_checksum_as_in_v2:TRUE)
        fi
        verdict=$(checksum_status "$work/ours.pcap" "${preferences[@]}")
        echo "tshark ${preferences[*]} on $(basename "$fixture"): Checksum Status: ${verdict:-missing}"
        if ((${#preferences[@]})); then
            default_verdict=$(checksum_status "$work/ours.pcap")
            echo "    (tshark's default check, with the pseudo-header, says: $default_verdict)"
        fi
        tshark -r "$work/ours.pcap" "${preferences[@]}" -V -Y vrrp 2>/dev/null \
            | grep -E "^(Internet Protocol|Virtual Router)|Version [23]|Virtual Rtr ID|Priority|Adver Int|Checksum|IP(v6)? Address|Auth" \
            | sed 's/^/    /'
        [[ "$verdict" == Good ]] || failed=1
    done
    return "$failed"
}

setup_namespaces() {
    local ns
    for ns in "$ns_a" "$ns_b"; do
        ip netns add "$ns"
        # Addresses are usable at once: no duplicate address detection on this private link.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
        ip -n "$ns" link set lo up
    done
    # Fixed MACs give fixed link-local addresses: fe80::ff:fe00:1 sends the IPv6 adverts.
    ip -n "$ns_a" link add vsa0 address 02:00:00:00:00:01 type veth \
        peer name vsb0 address 02:00:00:00:00:02 netns "$ns_b"
    ip -n "$ns_a" addr add 192.0.2.1/24 dev vsa0
    ip -n "$ns_a" addr add 2001:db8::1/64 dev vsa0
    ip -n "$ns_b" addr add 192.0.2.2/24 dev vsb0
    ip -n "$ns_b" addr add 2001:db8::2/64 dev vsb0
    ip -n "$ns_a" link set vsa0 up
    ip -n "$ns_b" link set vsb0 up
}

# capture NAME SECONDS_AS_MASTER: runs keepalived with $work/NAME.conf in namespace A until it
# has been master for a while, stops it with SIGTERM (so it sends priority 0) and leaves the
# VRRP packets seen from namespace B in $work/NAME.pcap.
capture() {
    local name=$1 wait_secs=$2 tcpdump_pid keepalived_pid
    ip netns exec "$ns_b" tcpdump -Z root -U -i vsb0 -w "$work/$name.pcap" \
        'ip proto 112 or ip6 proto 112' 2>"$work/$name.tcpdump.log" &
    tcpdump_pid=$!
    sleep 1
    ip netns exec "$ns_a" keepalived -P -n -l -f "$work/$name.conf" \
        -p "$work/$name.pid" -r "$work/$name.vrrp.pid" >"$work/$name.keepalived.log" 2>&1 &
    keepalived_pid=$!
    keepalived_pids+=("$keepalived_pid")
    sleep "$wait_secs"
    kill -TERM "$keepalived_pid"
    wait "$keepalived_pid" || true
    sleep 0.5
    kill -INT "$tcpdump_pid"
    wait "$tcpdump_pid" || true
}

# instance_conf NAME VERSION ADVERT_INT ADDRESS [AUTH]: one instance, VRID 51, priority 101.
instance_conf() {
    local name=$1 version=$2 advert_int=$3 address=$4 auth=${5:-}
    cat >"$work/$name.conf" <<EOF
global_defs {
    router_id vscap
    vrrp_version $version
}
vrrp_instance VI_51 {
    state BACKUP
    interface vsa0
    virtual_router_id 51
    priority 101
    advert_int $advert_int
    $auth
    virtual_ipaddress {
        $address
    }
}
EOF
}

# write_fixture NAME DESCRIPTION LINE: LINE is "source destination hop_limit payload_hex".
write_fixture() {
    local name=$1 description=$2 src dst ttl payload
    read -r src dst ttl payload <<<"$3"
    cat >"$fixtures/$name.toml" <<EOF
# Captured by scripts/capture-keepalived.sh from $keepalived_version.
# $tshark_version said: Checksum Status: $4.
description = "$description"
source = "$src"
destination = "$dst"
hop_limit = $ttl
payload = "$payload"
EOF
    echo "wrote $name.toml: $src -> $dst ttl $ttl $payload"
}

# pick NAME WHICH: the first advert of the capture that is (WHICH=live) or is not
# (WHICH=priority0) priority 0, with tshark's verdict on it.
pick() {
    local name=$1 which=$2 index lines verdicts payload priority
    mapfile -t verdicts < <(checksum_status "$work/$name.pcap")
    mapfile -t lines < <(extract_vrrp "$work/$name.pcap")
    for index in "${!lines[@]}"; do
        payload=${lines[$index]##* }
        priority=$((16#${payload:4:2}))
        if { [[ $which == live ]] && ((priority != 0)); } ||
            { [[ $which == priority0 ]] && ((priority == 0)); }; then
            echo "${lines[$index]}|${verdicts[$index]:-missing}"
            return 0
        fi
    done
    echo "no $which advert in $name" >&2
    return 1
}

store() {
    local fixture=$1 capture_name=$2 which=$3 description=$4 picked
    picked=$(pick "$capture_name" "$which")
    write_fixture "$fixture" "$description" "${picked%|*}" "${picked##*|}"
}

if [[ "${1:-}" == check-ours ]]; then
    check_ours
    exit
fi

# Not `keepalived --version | head -1`: the pipe can kill the script under pipefail
# (reference/keepalived-baseline.md, pitfall 6).
keepalived_version=$(keepalived --version 2>&1)
keepalived_version=${keepalived_version%%$'\n'*}
tshark_version=$(tshark --version)
tshark_version=${tshark_version%%$'\n'*}
tshark_version=${tshark_version%.}

setup_namespaces
pass='authentication {
        auth_type PASS
        auth_pass 1111
    }'
# keepalived starts in BACKUP and is master after Master_Down_Interval: 3.6 s at 1 s, 0.36 s at
# 0.1 s (reference/keepalived-baseline.md (a)); the waits leave room for a few adverts.
instance_conf v2-pass 2 1 192.0.2.100/24 "$pass"
capture v2-pass 6
instance_conf v2-noauth 2 1 192.0.2.100/24
capture v2-noauth 6
instance_conf v3-ipv4-1s 3 1 192.0.2.100/24
capture v3-ipv4-1s 6
instance_conf v3-ipv4-10cs 3 0.1 192.0.2.100/24
capture v3-ipv4-10cs 2
instance_conf v3-ipv6-10cs 3 0.1 2001:db8::100/64
capture v3-ipv6-10cs 2

store v2-pass v2-pass live \
    "keepalived VRRPv2, auth_type PASS auth_pass 1111, VRID 51, priority 101, advert_int 1, VIP 192.0.2.100"
store v2-pass-priority0 v2-pass priority0 \
    "keepalived VRRPv2 as v2-pass, sent on SIGTERM while master: priority 0"
store v2-noauth v2-noauth live \
    "keepalived VRRPv2 without authentication, VRID 51, priority 101, advert_int 1, VIP 192.0.2.100"
store v3-ipv4-1s v3-ipv4-1s live \
    "keepalived VRRPv3 over IPv4, VRID 51, priority 101, advert_int 1 (100 cs), VIP 192.0.2.100, default checksum (with pseudo-header)"
store v3-ipv4-10cs v3-ipv4-10cs live \
    "keepalived VRRPv3 over IPv4, VRID 51, priority 101, advert_int 0.1 (10 cs), VIP 192.0.2.100, default checksum (with pseudo-header)"
store v3-ipv4-10cs-priority0 v3-ipv4-10cs priority0 \
    "keepalived VRRPv3 over IPv4 as v3-ipv4-10cs, sent on SIGTERM while master: priority 0"
store v3-ipv6-10cs v3-ipv6-10cs live \
    "keepalived VRRPv3 over IPv6 from the link-local address, VRID 51, priority 101, advert_int 0.1 (10 cs), VIP 2001:db8::100"

check_ours
