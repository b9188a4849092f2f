//! What the router's decisions do to the world, each off the router so a slow kernel, program
//! or mail relay never holds up a VRRP timer.
//!
//! - [`vips`]: the VIP worker (install with a lifetime, renew, remove, stale clean-up,
//!   announce).
//! - [`vip_firewall`]: the nftables rules of accept mode off, kept by the VIP worker.
//! - [`routing`]: the virtual and static routes and rules, through the VIP worker.
//! - [`vmac`]: the instances' virtual MAC interfaces, made at start and removed at exit.
//! - [`notify`]: the notify FIFO and programs of state changes.
//! - [`email_alert`]: e-mail alerts of state changes; [`smtp`] delivers them.

pub mod email_alert;
pub mod notify;
pub mod routing;
pub mod smtp;
pub mod static_addresses;
pub mod vip_firewall;
pub mod vips;
pub mod vmac;
