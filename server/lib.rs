//! vrrp-sidecar: a VRRP (v2 and v3, IPv4 and IPv6) high-availability daemon controlled over gRPC.
//!
//! # Layout
//! - [`api`]: the gRPC contract generated from `proto/`.
//! - [`config`]: the native configuration file (TOML or YAML, environment overrides), checked
//!   in full into a typed [`config::Config`].
//! - [`vrrp`]: the protocol core, sans-IO (codec, state machine, timers).
//! - [`net`]: the only place that touches the kernel (raw sockets, rtnetlink, AF_PACKET).
//! - [`daemon`]: the router task that runs every instance on the real network, its VIP
//!   worker, signals and logging.

pub mod api;
pub mod config;
#[cfg(feature = "daemon")]
pub mod daemon;
#[cfg(feature = "daemon")]
pub mod net;
pub mod vrrp;
