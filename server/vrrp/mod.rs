//! The VRRP protocol core, sans-IO: no sockets, no tokio, no clock.
//!
//! Every input carries the time it happened and every output is a value the caller carries
//! out, so the whole protocol runs the same way on a real network and on the simulated LAN of
//! the tests.

pub mod interval;
pub mod packet;

pub use interval::AdvertInterval;
pub use packet::{
    Advertisement, Auth, DecodeError, DecodeOptions, DecodedAdvertisement, EncodeError,
    IgnoredFields, IpHeader, V3Ipv4Checksum, Version,
};
