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
//! - [`trace`]: the spans every layer opens, and how a request's span becomes the parent of
//!   the transition it causes.
//! - [`health`]: health checks, each a task that runs on its interval and reports its verdict.
//! - [`effects`]: what the router's decisions do to the world, off the router (VIPs,
//!   notify programs, e-mail).
//! - [`router`]: the task that owns every instance and runs them on the real network.
//! - [`telemetry`]: OpenTelemetry export and the Prometheus endpoint.
//! - [`host`]: the process on its host (signals, systemd, privileges, logging).
//! - [`daemon`]: the binary's wiring, the one place that knows every layer.
//!
//! Imports run one way, down this list's layers: config, net, store and trace; health;
//! events; effects; router; api and telemetry; host; daemon. `tests/layers.rs` enforces it.

pub mod api;
pub mod config;
pub mod daemon;
pub mod effects;
pub mod events;
pub mod health;
pub mod host;
pub mod net;
pub mod router;
pub mod store;
pub mod telemetry;
pub mod trace;
pub use vrrp_sidecar_core as vrrp;
