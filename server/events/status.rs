//! What the router tells the API about its instances: a status per instance (the snapshot
//! `ListInstances`, `GetInstance` and `WatchState` start from) and the events it publishes on
//! its [`crate::events::EventBus`] for every state and priority change.
//!
//! These are the daemon's own types, free of protobuf, below both the API (which maps them to
//! the wire) and telemetry (which reads them for metrics).

use std::time::{Duration, SystemTime};

use crate::config::{InstanceSettings, VirtualAddress};
use crate::health::{CheckSpec, RunResult};
use crate::trace::TraceIds;
use crate::vrrp::{Counters, DecodeErrorCounts, DropReason, State, Version};

use super::stats::TransitionStats;

/// Why an instance changed state, and the master as an instance sees it: the node decides
/// both, so they are its types.
pub use crate::vrrp::node::output::{ChangeCause, MasterView};

/// Where a health check comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOwner {
    /// The configuration file.
    Config,
    /// An application, over `RegisterHealthCheck`: its identity as the API saw it.
    Registered(String),
}

/// One health check and how it stands, for `GetInstance` and `vrrpctl checks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckStatus {
    /// What it checks and how it counts.
    pub spec: CheckSpec,
    /// The instances whose priority it moves.
    pub instances: Vec<String>,
    /// Who added it.
    pub owner: CheckOwner,
    /// Whether it passes after rise/fall counting (`false` while it has not run).
    pub passing: bool,
    /// Passing runs in a row.
    pub consecutive_passes: u32,
    /// Failing runs in a row.
    pub consecutive_failures: u32,
    /// When the last run finished, and what it said.
    pub last_run: Option<(SystemTime, RunResult)>,
}

/// One instance as the router sees it at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceStatus {
    /// The instance's configured settings.
    pub settings: InstanceSettings,
    /// Its state.
    pub state: State,
    /// The priority before health-check weights: the configured one, or the last
    /// `SetPriority`.
    pub base_priority: u8,
    /// The priority it advertises.
    pub effective_priority: u8,
    /// The master as it sees it.
    pub master: MasterView,
    /// The core's counters.
    pub counters: Counters,
    /// Adverts the codec refused.
    pub decode_errors: DecodeErrorCounts,
    /// When it last changed state and why; `None` before its first change.
    pub last_transition: Option<(SystemTime, ChangeCause)>,
    /// The health checks that move its priority, sorted by name.
    pub health_checks: Vec<CheckStatus>,
    /// Its transitions by reason and failover durations, for metrics.
    pub transitions: TransitionStats,
    /// The debouncing of its interface's link changes (`[link_debounce]`), when the
    /// interface has delays.
    pub link_debounce: Option<LinkDebounceStatus>,
    /// Whether its sync group ignores the weights of its health checks (the group has no
    /// `tracking_weight`).
    pub weights_ignored: bool,
    /// The sync group it is a member of, if any.
    pub sync_group: Option<String>,
}

/// The delays before a link change of an instance's interface is acted on, as fitted to the
/// instances on it, and the change waiting out its delay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkDebounceStatus {
    /// Before a link that went down faults the instance.
    pub down_delay: Duration,
    /// Before a link that came back takes it out of Fault.
    pub up_delay: Duration,
    /// The change the link waits to be acted on, if any.
    pub pending: Option<PendingLinkChange>,
}

/// A link change waiting out its delay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingLinkChange {
    /// Whether the link is to be taken as up (`false`: down).
    pub up: bool,
    /// How long until it is, when the status was taken.
    pub remaining: Duration,
}

impl InstanceStatus {
    /// The instance's name.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The protocol version it speaks.
    pub fn version(&self) -> Version {
        self.settings.version
    }

    /// The addresses it holds as master, as advertised.
    pub fn virtual_addresses(&self) -> &[VirtualAddress] {
        &self.settings.virtual_addresses
    }

    /// Whether its virtual routes and rules are installed: they are while it is master.
    pub fn holds_routes(&self) -> bool {
        self.state == State::Master
    }

    /// The adverts it refused, by RFC 6527 statistic: the codec's refusals and the core's
    /// drops, counted where the MIB counts them.
    pub fn receive_errors(&self) -> ReceiveErrors {
        let (core, decode) = (&self.counters, &self.decode_errors);
        ReceiveErrors {
            ttl: decode.ttl,
            version: decode.version
                + core.dropped(DropReason::WrongVersion)
                + core.dropped(DropReason::WrongFamily),
            kind: decode.kind,
            length: decode.length + core.dropped(DropReason::EmptyAddressList),
            checksum: decode.checksum,
            vrid: core.dropped(DropReason::WrongVrid),
            auth: decode.auth + core.dropped(DropReason::AuthMismatch),
            interval: decode.interval + core.dropped(DropReason::IntervalMismatch),
            address_list: core.address_list_mismatches,
        }
    }
}

/// Received adverts refused, by RFC 6527 statistic (`vrrpv3StatisticsRcvd*` and
/// `vrrpv3StatisticsAddressListErrors`), as the API and metrics report them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiveErrors {
    /// TTL or hop limit other than 255.
    pub ttl: u64,
    /// Wrong version, or the other address family.
    pub version: u64,
    /// A type other than Advertisement.
    pub kind: u64,
    /// Bad length, or no address where one is needed.
    pub length: u64,
    /// Bad checksum.
    pub checksum: u64,
    /// A VRID we do not run on the socket.
    pub vrid: u64,
    /// VRRPv2 authentication that differs from ours.
    pub auth: u64,
    /// An interval other than ours (VRRPv2) or zero.
    pub interval: u64,
    /// An address list other than ours (counted, not refused: RFC 9568 §6.4.2).
    pub address_list: u64,
}

/// A change the router publishes for `WatchState`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstanceEvent {
    /// An instance changed state.
    Transition {
        /// The instance.
        instance: String,
        /// The state it left.
        from: State,
        /// The state it entered.
        to: State,
        /// Why.
        cause: ChangeCause,
        /// The health check behind `cause`, when a check caused it.
        check: Option<String>,
        /// Its base priority after the change.
        base_priority: u8,
        /// Its advertised priority after the change.
        effective_priority: u8,
        /// The master as it sees it after the change.
        master: MasterView,
        /// The ids of the transition's span, when spans are exported.
        trace: Option<TraceIds>,
    },
    /// An instance's base or advertised priority changed.
    PriorityChanged {
        /// The instance.
        instance: String,
        /// The new base priority.
        base_priority: u8,
        /// The new advertised priority.
        effective_priority: u8,
        /// The health check whose result changed it, if one did.
        check: Option<String>,
    },
    /// A health check of the instance changed its verdict.
    CheckResult {
        /// The instance.
        instance: String,
        /// The check after the change.
        check: Box<CheckStatus>,
    },
    /// A reload created an instance.
    Added(Box<InstanceStatus>),
    /// A reload removed an instance.
    Removed {
        /// The instance.
        instance: String,
    },
}

impl InstanceEvent {
    /// The instance the event is about.
    pub fn instance(&self) -> &str {
        match self {
            InstanceEvent::Transition { instance, .. }
            | InstanceEvent::PriorityChanged { instance, .. }
            | InstanceEvent::CheckResult { instance, .. }
            | InstanceEvent::Removed { instance } => instance,
            InstanceEvent::Added(status) => status.name(),
        }
    }
}
