//! The simulated LAN harness (tier 3): many instances on one virtual wire.

pub mod lan;
pub mod rng;
pub mod scenario;
