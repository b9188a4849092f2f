#!/usr/bin/env bash
# Tries the README's first commands the way a newcomer meets them: on a minimal Debian 12
# (debootstrap --variant=minbase, so no ping, keepalived, tshark or grpcurl; iproute2, git and
# sudo are added, as a fresh server has them), with Rust from Debian's own packages (rustc-web
# and cargo-web, which bookworm carries at a current version) and a clone of this repository's
# HEAD. Nothing of this machine is mounted into it but /proc, /sys and /dev, which network
# namespaces need. As root:
#
#   scripts/fresh-machine.sh                 # the demo: cargo build && sudo ... demo
#   scripts/fresh-machine.sh --tests         # then the test command, scripts/test
#   scripts/fresh-machine.sh --shell         # a shell in the fresh machine, to try the rest
#
# The root file system is kept in FRESH_ROOT (default /var/tmp/vrrp-sidecar-fresh), so a second
# run skips debootstrap; for a truly new machine, delete it once this script has exited (it
# unmounts everything on exit; check with `findmnt -R FRESH_ROOT` before deleting, since
# deleting through a live /dev or /sys mount deletes the host's).
set -euo pipefail

mode=demo
case "${1:-}" in
    "") ;;
    --tests) mode=tests ;;
    --shell) mode=shell ;;
    *) echo "usage: scripts/fresh-machine.sh [--tests | --shell]" >&2; exit 64 ;;
esac
if [[ $EUID -ne 0 ]]; then
    echo "scripts/fresh-machine.sh: needs root (debootstrap, chroot, mounts)" >&2
    exit 77
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
root=${FRESH_ROOT:-/var/tmp/vrrp-sidecar-fresh}

if [[ ! -f $root/etc/debian_version ]]; then
    command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian
fi

mounted=()
cleanup() {
    # Innermost first; lazily, so a process still inside cannot keep a mount behind.
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount -R -l "${mounted[i]}" 2>/dev/null || true
    done
}
trap cleanup EXIT
mount_here() {
    local target=$1
    shift
    mkdir -p "$target"
    mount "$@" "$target"
    mounted+=("$target")
}
# `ip netns` remounts / as a slave inside its namespaces, which fails unless the chroot's
# root is a mount point of its own.
mount_here "$root" --bind "$root"
mount --make-private "$root"
mount_here "$root/proc" -t proc proc
mount_here "$root/sys" --rbind /sys
mount --make-rslave "$root/sys"
mount_here "$root/dev" --rbind /dev
mount --make-rslave "$root/dev"
mount_here "$root/run" -t tmpfs tmpfs
cp /etc/resolv.conf "$root/etc/resolv.conf"
grep -q "$(hostname)" "$root/etc/hosts" 2>/dev/null || echo "127.0.1.1 $(hostname)" >>"$root/etc/hosts"

# What a machine of this network has too: its extra CA certificates (a TLS-inspecting proxy
# in front of the package registries, say) and the variables that point clients at them.
ca_variables=()
for variable in SSL_CERT_FILE CURL_CA_BUNDLE GIT_SSL_CAINFO PIP_CERT REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS; do
    if [[ -n ${!variable:-} ]]; then
        ca_variables+=("$variable=${!variable}")
    fi
done
in_fresh() {
    chroot "$root" env -i HOME=/root TERM="${TERM:-dumb}" "${ca_variables[@]}" \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        bash -c "$1"
}
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
if ! grep -qs bookworm-security "$root/etc/apt/sources.list"; then
    echo "deb http://deb.debian.org/debian-security bookworm-security main" >>"$root/etc/apt/sources.list"
fi
in_fresh 'for tool in ip cargo git sudo; do command -v $tool >/dev/null || missing=1; done
    [ -z "${missing:-}" ] || { apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    iproute2 rustc-web cargo-web git ca-certificates sudo >/dev/null; }
    update-ca-certificates >/dev/null'

# A clean clone of HEAD, and the shared folder beside it where the tests look for it.
if findmnt --list --noheadings -o TARGET | grep -q "^$root/work"; then
    echo "scripts/fresh-machine.sh: something is mounted under $root/work; not deleting it" >&2
    exit 1
fi
rm -rf "$root/work"
mkdir -p "$root/work"
git clone -q "$repo" "$root/work/vrrp-sidecar"
if [[ -d $repo/../shared ]]; then
    cp -r "$repo/../shared" "$root/work/shared"
fi
echo "fresh machine: $(in_fresh 'cat /etc/debian_version'); missing tools:" \
    "$(in_fresh 'for t in ping keepalived tshark grpcurl nft; do command -v $t >/dev/null || printf "%s " $t; done')"

case $mode in
    demo) in_fresh 'cd /work/vrrp-sidecar && cargo build && sudo target/debug/vrrp-sidecar demo' ;;
    tests) in_fresh 'cd /work/vrrp-sidecar && cargo build && sudo target/debug/vrrp-sidecar demo && scripts/test' ;;
    shell) chroot "$root" bash -c 'cd /work/vrrp-sidecar && exec bash -i' ;;
esac
