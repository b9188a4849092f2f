//! Client SDK for the vrrp-sidecar gRPC API.
//!
//! For now this re-exports the generated `vrrp.v1` client and messages, so an application can
//! depend on this crate alone; the connection helpers, the resuming `watch()` stream and
//! `is_master()` come with the API work.

pub use vrrp_sidecar::api::v1 as proto;
pub use vrrp_sidecar::api::v1::sidecar_client::SidecarClient;
