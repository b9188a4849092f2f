//! What the router tells the API about its instances: a status per instance (the snapshot
//! `ListInstances`, `GetInstance` and `WatchState` start from) and the events it publishes on
//! its [`crate::events::EventBus`] for every state and priority change.
//!
//! These are the daemon's own types, free of protobuf; `api::convert` maps them to the wire.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::config::{InstanceSettings, VirtualAddress};
use crate::health::{CheckSpec, RunResult};
use crate::telemetry::metrics::TransitionStats;
use crate::telemetry::spans::TraceIds;
use crate::vrrp::{Counters, DecodeError, State, TransitionReason, Version};

/// The master as one instance sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterView {
    /// The master's primary address (ours while we are master); `None` when unknown.
    pub address: Option<IpAddr>,
    /// The priority in its last advert we accepted (ours while we are master).
    pub priority: Option<u8>,
    /// Its advertisement interval: Master_Adver_Interval (RFC 9568 §6.1), learned from its
    /// adverts in VRRPv3.
    pub advert_interval: Duration,
}

/// Adverts the codec refused, by the RFC 6527 statistic they belong to
/// (`vrrpv3StatisticsRcvd*`), for the API's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeErrorCounts {
    /// TTL or hop limit other than 255 (RFC 9568 §7.1).
    pub ttl: u64,
    /// A version we do not speak, or not the instance's.
    pub version: u64,
    /// A type other than Advertisement.
    pub kind: u64,
    /// Too short, too long, or an address count that does not fit the packet.
    pub length: u64,
    /// A bad checksum.
    pub checksum: u64,
    /// VRRPv2 authentication that differs from ours or that we cannot check.
    pub auth: u64,
    /// An advertisement interval of zero.
    pub interval: u64,
}

impl DecodeErrorCounts {
    /// Counts one refused advert under its statistic.
    pub fn count(&mut self, error: &DecodeError) {
        let counter = match error {
            DecodeError::HopLimit { .. } => &mut self.ttl,
            DecodeError::UnknownVersion(_)
            | DecodeError::UnexpectedVersion { .. }
            | DecodeError::V2OverIpv6 => &mut self.version,
            DecodeError::UnknownType(_) => &mut self.kind,
            DecodeError::Truncated { .. }
            | DecodeError::TrailingBytes { .. }
            | DecodeError::MixedIpFamilies { .. } => &mut self.length,
            DecodeError::Checksum { .. } => &mut self.checksum,
            DecodeError::AuthenticationHeaderUnsupported
            | DecodeError::UnknownAuthType(_)
            | DecodeError::AuthTypeMismatch { .. }
            | DecodeError::PasswordMismatch => &mut self.auth,
            DecodeError::ZeroInterval => &mut self.interval,
        };
        *counter += 1;
    }

    /// Every refused advert, whatever the reason.
    pub fn total(&self) -> u64 {
        self.ttl
            + self.version
            + self.kind
            + self.length
            + self.checksum
            + self.auth
            + self.interval
    }
}

/// Why an instance changed state, as the API reports it: the core's reason, told apart
/// where the core's is not enough (which fault cleared).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeCause {
    /// The core's reason.
    Core(TransitionReason),
    /// The interface came back.
    InterfaceRecovered,
    /// A weight-0 check passes again.
    CheckRecovered,
    /// The instance followed its sync group: it handed over because another member became
    /// backup, or left Fault because no member is in Fault any more.
    SyncGroup,
    /// A health check moved the priority, and that decided the election: a master that
    /// lowered its priority heard a higher one, or a backup that raised it preempted.
    CheckMovedPriority,
}

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
