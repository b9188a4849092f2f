//! The gRPC contract, generated from `proto/vrrp/v1/sidecar.proto` by `build.rs`, and (with
//! the `daemon` feature) the daemon's server for it.
//!
//! The generated part is always built, because the client SDK uses it, and so is `codec`,
//! the protobuf codec it is generated with (smaller buffers than tonic's). The server part:
//! - `listener`: the Unix socket (and optional TCP listener with TLS), reflection and the
//!   standard health service;
//! - `service`: the `vrrp.v1.Sidecar` RPCs, each a request to the router task;
//! - `runtime`: the thread the API's connections and streams run on;
//! - `watch`: the `WatchState` stream (snapshot, replay, resets, heartbeats), each change
//!   encoded once for every stream;
//! - `auth`: who may call mutating RPCs over TCP;
//! - `checks`: health-check specs from the API, and `ReportHealth` streams;
//! - `check_store`: registered checks kept in a file across restarts, when configured;
//! - `convert`: the daemon's status and events as protobuf messages.

pub mod codec;

/// Package `vrrp.v1`: the `Sidecar` service and its messages.
pub mod v1 {
    tonic::include_proto!("vrrp.v1");
}

/// The encoded `FileDescriptorSet` of every proto file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("vrrp_descriptor");

#[cfg(feature = "daemon")]
mod auth;
#[cfg(feature = "daemon")]
mod check_store;
#[cfg(feature = "daemon")]
mod checks;
#[cfg(feature = "daemon")]
pub(crate) mod convert;
#[cfg(feature = "daemon")]
mod listener;
#[cfg(feature = "daemon")]
mod runtime;
#[cfg(feature = "daemon")]
mod service;
#[cfg(feature = "daemon")]
mod watch;

#[cfg(feature = "daemon")]
pub use check_store::{CheckStoreError, StoredCheck, load_registered, spawn_store_writer};
#[cfg(feature = "daemon")]
pub use listener::{ApiError, ApiServer};
#[cfg(feature = "daemon")]
pub use service::Reloader;
