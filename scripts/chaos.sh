#!/usr/bin/env bash
# Runs the chaos schedule (tests/chaos_lab) for FAULTS faults, as root, with an optional SEED
# to replay a failure the CI run or an earlier run printed.
#
#   scripts/chaos.sh 200
#   scripts/chaos.sh 40 1733000000123456789
#
# The loss and delay faults need nft and iptables (Debian's nftables and iptables packages,
# which scripts/install-test-deps.sh installs). It runs the `bounded_chaos` test of the binary CI builds
# (the debug profile: a release build would be a second full build of the workspace for no
# gain, since the daemons spend their time waiting on timers and sockets).
set -euo pipefail

faults="${1:?usage: scripts/chaos.sh FAULTS [SEED]}"
cd "$(dirname "$0")/.."

export CHAOS_FAULTS="$faults"
if [[ $# -ge 2 ]]; then
    export CHAOS_SEED="$2"
fi
cargo test --locked --test chaos -- --include-ignored --exact bounded_chaos --nocapture
