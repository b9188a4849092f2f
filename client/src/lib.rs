//! Client SDK for the vrrp-sidecar gRPC API.
