//! Client SDK for the vrrp-sidecar gRPC API: follow and steer the VRRP instances of the daemon
//! on this host (or on another, over TCP).
//!
//! # Quick start: am I master?
//!
//! ```no_run
//! use vrrp_sidecar_client::{Client, MasterState, Target};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), vrrp_sidecar_client::Error> {
//!     // The daemon's default Unix socket, /run/vrrp-sidecar/api.sock.
//!     let client = Client::connect(Target::default()).await?;
//!     let mut role = client.is_master("vi_web");
//!     loop {
//!         match *role.borrow_and_update() {
//!             MasterState::Master => println!("master: serve"),
//!             MasterState::NotMaster(state) => println!("{state:?}: stand by"),
//!             // Nothing heard from the daemon for 3 s: behave as if not master.
//!             MasterState::Unknown => println!("unknown: stand by"),
//!         }
//!         if role.changed().await.is_err() {
//!             return Ok(());
//!         }
//!     }
//! }
//! ```
//!
//! # What the SDK does for you
//! - [`Client::connect`] reaches the daemon by Unix socket or URL ([`Target`]);
//!   [`Client::builder`] adds TLS files and a bearer token.
//! - [`Client::watch`] is the `WatchState` stream as a [`Watch`] of typed [`Event`]s. It
//!   reconnects with jittered exponential [`Backoff`] and resumes after the last revision seen;
//!   when the daemon cannot replay (it restarted, or the revision is gone) the caller gets an
//!   [`Event::Reset`] and a fresh snapshot, never a silent gap. A connection silent for three
//!   heartbeat intervals counts as dead.
//! - [`Client::is_master`] turns that into a `tokio::sync::watch` of [`MasterState`].
//! - [`HealthReporter`] plugs the application's own health into the priority: a pushed
//!   check whose lease it keeps alive from a closure or a channel.
//! - [`Client::list_instances`], [`Client::get_instance`], [`Client::set_priority`],
//!   [`Client::resign`] and [`Client::reload`] wrap the other calls; [`Client::grpc`] gives the
//!   generated client for the rest. Every failure is an [`Error`].
//! - [`traceparent`] gives a transition's OpenTelemetry span (its `trace` field) as a W3C
//!   `traceparent`, so an application's handling can join the daemon's trace.
//!
//! # Features
//! - `tls` (default): `https://` targets, with rustls.
//! - `cli` (default): the `vrrpctl` command and its dependencies. An application can use
//!   `default-features = false` to link only the SDK; either way it never compiles the
//!   daemon's netlink or raw-socket code.

#![warn(missing_docs)]

mod backoff;
mod client;
mod connect;
mod error;
mod health;
mod master;
mod trace;
mod watch;

pub use backoff::Backoff;
pub use client::{Client, GrpcClient, ResignOptions, Resigned};
pub use connect::{Authorization, ClientBuilder, DEFAULT_SOCKET_PATH, Target};
pub use error::Error;
pub use health::{Health, HealthReporter, HealthReporterOptions};
pub use master::MasterState;
/// The gRPC status codes carried by [`Error::Rpc`].
pub use tonic::Code;
/// What [`Client::health`] returns.
pub use tonic_health::ServingStatus;
pub use trace::traceparent;
/// The generated `vrrp.v1` messages, so an application can depend on this crate alone.
pub use vrrp_sidecar_proto::v1 as proto;
pub use watch::{Event, ResetCause, Watch, WatchOptions};
