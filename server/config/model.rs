//! The file as written: each field converted to its type on its own, before any check that
//! involves two fields. `validate.rs` turns this into the [`Config`](super::Config).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::vrrp::node::UnicastPeer;
use crate::vrrp::{Auth, DownTimerAdverts, Version};

use super::error::FieldPath;
use super::routes::{VirtualRoute, VirtualRule};
use super::settings::{
    EmailAlertSettings, GarpGroupSettings, GarpSettings, GlobalSettings, HealthCheck,
    LinkDebounceSettings, NotifySettings, StaticAddress, TelemetrySettings, TlsSettings,
    V3Ipv4Checksum, VirtualAddress,
};

/// A field that may be absent, present but unusable (its problem already recorded), or
/// usable. Keeping "unusable" apart from "absent" stops a bad value from causing a second,
/// misleading problem in a check that involves it: a bad `version` must not make a good
/// `authentication` look like "authentication with VRRPv3".
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Given<T> {
    Absent,
    Invalid,
    Valid(T),
}

impl<T> Given<T> {
    /// The value, or `default` when absent; `None` when invalid.
    pub(super) fn or(&self, default: T) -> Option<T>
    where
        T: Clone,
    {
        match self {
            Given::Absent => Some(default),
            Given::Invalid => None,
            Given::Valid(value) => Some(value.clone()),
        }
    }

    /// For an optional setting: `Some(None)` when absent, `Some(Some(value))` when usable,
    /// `None` when invalid.
    pub(super) fn optional(&self) -> Option<Option<T>>
    where
        T: Clone,
    {
        match self {
            Given::Absent => Some(None),
            Given::Invalid => None,
            Given::Valid(value) => Some(Some(value.clone())),
        }
    }

    /// The value when usable.
    pub(super) fn valid(&self) -> Option<&T> {
        match self {
            Given::Valid(value) => Some(value),
            Given::Absent | Given::Invalid => None,
        }
    }

    /// Whether the key was written at all.
    pub(super) fn is_given(&self) -> bool {
        !matches!(self, Given::Absent)
    }
}

/// A value with the path it was read from, for list elements that checks refer to one by one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Located<T> {
    pub(super) path: FieldPath,
    pub(super) value: T,
}

/// The whole file.
#[derive(Debug)]
pub(super) struct FileConfig {
    pub(super) global: GlobalSettings,
    pub(super) api: ApiFile,
    pub(super) instances: Vec<InstanceFile>,
    pub(super) sync_groups: Vec<SyncGroupFile>,
    pub(super) email_alerts: Given<EmailAlertSettings>,
    pub(super) telemetry: TelemetrySettings,
    pub(super) static_routes: Vec<Located<VirtualRoute>>,
    pub(super) static_rules: Vec<Located<VirtualRule>>,
    pub(super) link_debounce: Vec<LinkDebounceSettings>,
    pub(super) static_addresses: Vec<Located<StaticAddress>>,
    pub(super) garp_groups: Vec<Located<GarpGroupSettings>>,
}

/// `[sync_groups.<name>]`.
#[derive(Debug)]
pub(super) struct SyncGroupFile {
    pub(super) name: String,
    pub(super) path: FieldPath,
    pub(super) instances: Vec<Located<String>>,
    pub(super) notify: NotifySettings,
    pub(super) tracking_weight: Given<bool>,
}

/// `[api]`.
#[derive(Debug)]
pub(super) struct ApiFile {
    pub(super) path: FieldPath,
    pub(super) socket: Given<PathBuf>,
    pub(super) tcp_address: Given<SocketAddr>,
    pub(super) tls: Given<TlsSettings>,
    pub(super) allow_plaintext: Given<bool>,
    pub(super) tokens_file: Given<PathBuf>,
    pub(super) registered_checks_file: Given<PathBuf>,
    pub(super) priorities_file: Given<PathBuf>,
}

/// `[instances.<name>]`.
#[derive(Debug)]
pub(super) struct InstanceFile {
    pub(super) name: String,
    pub(super) path: FieldPath,
    pub(super) interface: Given<String>,
    pub(super) vrid: Given<u8>,
    pub(super) version: Given<Version>,
    pub(super) priority: Given<u8>,
    pub(super) advert_interval: Given<Duration>,
    pub(super) virtual_addresses: Given<Vec<Located<VirtualAddress>>>,
    pub(super) excluded_addresses: Vec<Located<VirtualAddress>>,
    pub(super) unicast_src: Given<IpAddr>,
    pub(super) unicast_peers: Given<Vec<Located<UnicastPeer>>>,
    pub(super) check_unicast_src: Given<bool>,
    pub(super) unicast_ttl: Given<u8>,
    pub(super) auth: Given<Auth>,
    pub(super) preempt: Given<bool>,
    pub(super) preempt_delay: Given<Duration>,
    pub(super) accept_mode: Given<bool>,
    pub(super) dont_track_primary: Given<bool>,
    pub(super) down_timer_adverts: Given<DownTimerAdverts>,
    pub(super) lower_prio_no_advert: Given<bool>,
    pub(super) strict_mode: Given<bool>,
    pub(super) checksum: Given<V3Ipv4Checksum>,
    pub(super) garp: GarpSettings,
    pub(super) health_checks: Vec<HealthCheck>,
    pub(super) notify: NotifySettings,
    pub(super) email_alerts: Given<bool>,
    pub(super) virtual_routes: Vec<Located<VirtualRoute>>,
    pub(super) virtual_rules: Vec<Located<VirtualRule>>,
    pub(super) virtual_mac: Given<VirtualMacFile>,
    pub(super) virtual_mac_xmit_base: Given<bool>,
}

/// `virtual_mac`: `true` for keepalived's name, or the name itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum VirtualMacFile {
    Off,
    DefaultName,
    Named(String),
}
