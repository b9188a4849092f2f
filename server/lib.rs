//! vrrp-sidecar: a VRRP (v2 and v3, IPv4 and IPv6) high-availability daemon controlled over gRPC.
//!
//! # Layout
//! - [`api`]: the gRPC contract generated from `proto/`.
//! - [`config`]: the native configuration file (TOML or YAML, environment overrides), checked
//!   in full into a typed [`config::Config`].
//! - [`events`]: the revisioned change history that `WatchState` streams follow.
//! - [`vrrp`]: the protocol core, sans-IO (codec, state machine, timers): the
//!   `vrrp-sidecar-core` crate, which depends on neither tokio nor the kernel.
//! - [`net`]: the only place that touches the kernel (raw sockets, rtnetlink, AF_PACKET).
//! - [`store`]: files kept across restarts, written so a crash never leaves half of one.
//! - [`health`]: health checks, each a task that runs on its interval and reports its verdict.
//! - [`daemon`]: the router task that runs every instance on the real network, its VIP
//!   worker, signals and logging.
//! - [`telemetry`]: OpenTelemetry traces and metrics, and the Prometheus endpoint.

pub mod api;
pub mod config;
pub mod daemon;
pub mod events;
pub mod health;
pub mod net;
pub mod store;
pub mod telemetry;
pub use vrrp_sidecar_core as vrrp;
