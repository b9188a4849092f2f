//! The gRPC contract of vrrp-sidecar, package `vrrp.v1`, generated from
//! `vrrp/v1/sidecar.proto` by this crate's `build.rs`: the messages, the `Sidecar` client the
//! SDK wraps and the server trait the daemon implements.
//!
//! Its own crate so that an application linking the SDK builds the contract and nothing of
//! the daemon: no configuration, no kernel-facing code, no telemetry.

pub mod codec;

/// Package `vrrp.v1`: the `Sidecar` service and its messages.
pub mod v1 {
    tonic::include_proto!("vrrp.v1");
}

/// The encoded `FileDescriptorSet` of every proto file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("vrrp_descriptor");
