# syntax=docker/dockerfile:1
# The vrrp-sidecar image: the daemon and vrrpctl on a distroless base, run as a non-root user
# that gets CAP_NET_ADMIN and CAP_NET_RAW from the daemon's file capabilities.
#
#   docker build -t vrrp-sidecar .
#   docker run -d --name vrrp-sidecar --network host \
#       --cap-drop ALL --cap-add NET_ADMIN --cap-add NET_RAW \
#       -v /etc/vrrp-sidecar:/etc/vrrp-sidecar:ro -v /run/vrrp-sidecar:/run/vrrp-sidecar \
#       vrrp-sidecar
#
# --network host is required: VRRP adverts, the VIPs and gratuitous ARP must be on the
# node's own interfaces, not on a container's veth. README, "Running in production", has the
# rest (the host directory for the API socket, Kubernetes).

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
# setcap (libcap2-bin) marks the daemon with the two capabilities: a container runtime gives
# a non-root user's process none of the container's capabilities unless its file asks.
# Versions are not pinned: the base image fixes the Debian release, and a pin would only
# break on the next security update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcap2-bin \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The registry and target caches survive between builds; the binaries are copied out of
# the cache mount into /out, which the final stage takes.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p vrrp-sidecar --bin vrrp-sidecar \
    && cargo build --release --locked -p vrrp-sidecar-client --bin vrrpctl \
    && install -d /out/bin \
    && install -m 0755 target/release/vrrp-sidecar target/release/vrrpctl /out/bin/ \
    && setcap cap_net_admin,cap_net_raw=ep /out/bin/vrrp-sidecar \
    && install -d -o 65532 -g 65532 -m 0750 /out/run-vrrp-sidecar

# glibc and libgcc, nothing else (no shell, no package manager); "nonroot" is uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
# BuildKit (Docker 23 and later) keeps the file capabilities across COPY --from; the
# classic builder drops them and the daemon then fails with "operation not permitted".
COPY --from=build /out/bin/ /usr/local/bin/
# The API socket's directory, owned by the daemon's user; mount the host's
# /run/vrrp-sidecar here to share the socket with other containers on the node.
COPY --from=build --chown=65532:65532 /out/run-vrrp-sidecar /run/vrrp-sidecar
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/vrrp-sidecar"]
CMD ["--config", "/etc/vrrp-sidecar/vrrp-sidecar.toml"]
