//! The VRRP protocol core, sans-IO: no sockets, no tokio, no clock.
//!
//! Every input carries the time it happened and every output is a value the caller carries
//! out, so the whole protocol runs the same way on a real network and on the simulated LAN of
//! the tests.
//!
//! # Layout
//! - [`packet`], [`interval`]: the advertisement, its codec and receive checks, and its
//!   interval unit.
//! - [`instance`]: the state machine of one virtual router; [`instance_config`] its
//!   configuration, [`command`] its commands, [`action`] its outputs, [`state`] its states and
//!   transition reasons, [`counters`] its statistics and drop reasons.
//! - [`timers`]: Skew_Time and Master_Down_Interval.
//! - [`link_debounce`]: the delays before a link change is acted on
//!   (`interface_up_down_delays`).
//! - [`family`]: the address family, its VRRP multicast group, the hop limit.
//! - [`priority`]: priorities and the effective priority under tracked checks.
//! - [`node`]: every instance of one host, with the rules between them (sync groups,
//!   handover grace, announcements, health-check holds), routing packets by link and VRID.

pub mod action;
pub mod command;
pub mod counters;
pub mod family;
pub mod instance;
pub mod instance_config;
pub mod interval;
pub mod link_debounce;
pub mod node;
pub mod packet;
pub mod priority;
pub mod state;
pub mod timers;

pub use action::Action;
pub use command::{Command, CommandRejected};
pub use counters::{Counters, DecodeErrorCounts, DropReason};
pub use family::{Family, VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_HOP_LIMIT};
pub use instance::Instance;
pub use instance_config::{InstanceConfig, InstanceConfigError};
pub use interval::AdvertInterval;
pub use link_debounce::{
    DebounceDelays, DelayFit, LinkDebouncer, LinkVerdict, MAX_DEBOUNCE_DELAY, PendingChange,
    fit_delays,
};
pub use packet::{
    Advertisement, Auth, DecodeError, DecodeOptions, DecodedAdvertisement, EncodeError, HopLimits,
    IgnoredFields, IpHeader, V3Ipv4Checksum, Version,
};
pub use priority::{EffectivePriority, Priority, TrackedCheck, effective_priority};
pub use state::{FaultCause, State, TransitionReason};
pub use timers::{DownTimerAdverts, Timer, master_down_interval, skew_time};
