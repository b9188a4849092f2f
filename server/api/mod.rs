//! The daemon's gRPC server for the `vrrp.v1` contract, which the `vrrp-sidecar-proto` crate
//! generates from `proto/vrrp/v1/sidecar.proto` (re-exported here as [`v1`], with its
//! [`codec`] and the descriptor set for reflection). The server:
//! - `listener`: the Unix socket (and optional TCP listener with TLS), reflection and the
//!   standard health service;
//! - `unix_authority`: the Unix socket's connections, with the `:authority` stock gRPC
//!   clients send there made acceptable to h2;
//! - `service`: the `vrrp.v1.Sidecar` RPCs, each a request to the router task;
//! - `runtime`: the thread the API's connections and streams run on;
//! - `watch`: the `WatchState` stream (snapshot, replay, resets, heartbeats), each change
//!   encoded once for every stream;
//! - `auth`: who may call mutating RPCs over TCP;
//! - `checks`: health-check specs from the API, and `ReportHealth` streams;
//! - `check_store`: registered checks kept in a file across restarts, when configured;
//! - `convert`: the daemon's status and events as protobuf messages.

pub use vrrp_sidecar_proto::{FILE_DESCRIPTOR_SET, codec, v1};

mod auth;
mod check_store;
mod checks;
pub(crate) mod convert;
mod listener;
mod runtime;
mod service;
mod unix_authority;
mod watch;

pub use check_store::{CheckStoreError, StoredCheck, load_registered, spawn_store_writer};
pub use listener::{ApiError, ApiServer};
pub use service::Reloader;
