//! The gRPC contract, generated from `proto/vrrp/v1/sidecar.proto` by `build.rs`.

/// Package `vrrp.v1`: the `Sidecar` service and its messages.
pub mod v1 {
    tonic::include_proto!("vrrp.v1");
}

/// The encoded `FileDescriptorSet` of every proto file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("vrrp_descriptor");
