#!/usr/bin/env bash
# Runs the decoder fuzz target for SECONDS (default 60) with the nightly toolchain.
#
#   scripts/fuzz.sh 600
#
# Needs `cargo install cargo-fuzz` and a nightly toolchain (libFuzzer needs sanitizer
# instrumentation). The corpus and crash artifacts stay under fuzz/, which git ignores.
# The seeds are valid adverts in the target's input layout (see
# fuzz/fuzz_targets/decode_advertisement.rs), so the fuzzer starts past the checksum.
set -euo pipefail

seconds="${1:-60}"
cd "$(dirname "$0")/.."

corpus=fuzz/corpus/decode_advertisement
mkdir -p "$corpus"
seed() {
    local name=$1 hex=$2
    printf '%s' "$hex" | xxd -r -p > "$corpus/seed-$name"
}
# flags | hop limit | source | destination | [password] | payload
# keepalived v3 IPv4, 192.0.2.1 -> 224.0.0.18, VRID 51, priority 101, 10 cs, VIP 192.0.2.100.
seed v3-ipv4 "00ff""c0000201""e0000012""31336501000a04cc""c0000264"
# keepalived v2 with auth_pass 1111, same addresses, 1 s.
seed v2-pass "10ff""c0000201""e0000012""3131313100000000""2133650101015403""c0000264""3131313100000000"

cargo +nightly fuzz run decode_advertisement "$corpus" -- -max_total_time="$seconds"
