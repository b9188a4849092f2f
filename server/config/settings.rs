//! The validated configuration: typed settings with every default applied.
//!
//! Nothing here is a string that still needs parsing; a value of these types has passed every
//! check in `validate.rs`, so the daemon can use it without checking again.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::vrrp::node::UnicastPeer;
use crate::vrrp::{AdvertInterval, Auth, DebounceDelays, DownTimerAdverts, Version};

pub use super::routes::{VirtualRoute, VirtualRule};

/// A validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Daemon-wide settings.
    pub global: GlobalSettings,
    /// Where the gRPC API listens.
    pub api: ApiSettings,
    /// The virtual routers this daemon takes part in, sorted by name.
    pub instances: Vec<InstanceSettings>,
    /// Instances that change state together, sorted by name.
    pub sync_groups: Vec<SyncGroupSettings>,
    /// Where e-mail alerts go, when configured (`[email_alerts]`).
    pub email_alerts: Option<EmailAlertSettings>,
    /// Where traces and metrics go (`[telemetry]`).
    pub telemetry: TelemetrySettings,
    /// Routes added while the daemon runs, whatever the instances' states (keepalived's
    /// `static_routes`), in the order written.
    pub static_routes: Vec<VirtualRoute>,
    /// Rules added while the daemon runs, after the static routes (keepalived's
    /// `static_rules`).
    pub static_rules: Vec<VirtualRule>,
    /// How long each listed interface's link must stay down, or up, before its instances
    /// act on it (keepalived's `interface_up_down_delays`), sorted by interface.
    pub link_debounce: Vec<LinkDebounceSettings>,
    /// Addresses added while the daemon runs, whatever the instances' states (keepalived's
    /// `static_ipaddress`), in the order written.
    pub static_addresses: Vec<StaticAddress>,
    /// Interfaces whose announcements share one spacing (keepalived's `garp_group`),
    /// sorted by name.
    pub garp_groups: Vec<GarpGroupSettings>,
}

/// `[link_debounce.<interface>]`: the delays of one interface. They are used as written
/// unless an instance on the interface could be timed out by a backup first; then the daemon
/// shortens them at start, as keepalived does (see [`crate::vrrp::fit_delays`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkDebounceSettings {
    /// The interface, as the kernel names it.
    pub interface: String,
    /// Its delays, each at most 255 s.
    pub delays: DebounceDelays,
}

/// An address the daemon adds at start and removes at exit, whatever the instances' states
/// (keepalived's `static_ipaddress`): it is never announced nor advertised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticAddress {
    /// The address, its prefix, label and interface ([`VirtualAddress::device`] is always
    /// set: see [`StaticAddress::device`]).
    pub address: VirtualAddress,
    /// Someone deleting it is not undone (keepalived's `no_track`); otherwise it is put back
    /// at once, as keepalived's `reinstate_static_address()` does.
    pub no_track: bool,
}

impl StaticAddress {
    /// The interface it goes on.
    pub fn device(&self) -> &str {
        self.address.device.as_deref().unwrap_or_default()
    }
}

/// Interfaces whose gratuitous ARPs and unsolicited NAs share one spacing
/// (`[garp_groups.<name>]`, keepalived's `garp_group`): every message any instance sends on
/// any of them waits for the last one sent on any of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GarpGroupSettings {
    /// The group's name: its key under `garp_groups`.
    pub name: String,
    /// The least time between two messages; `None`: back to back.
    pub spacing: Spacing,
    /// Its interfaces, at least one, each in no other group, in the order written.
    pub interfaces: Vec<String>,
}

/// Instances that change state together (`[sync_groups.<name>]`), as keepalived's
/// `vrrp_sync_group`: when one enters Fault the others follow and leave it only when none is
/// in Fault; when one becomes master the others take over with it; when one falls back to
/// backup the masters among the others hand over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroupSettings {
    /// The group's name: its key under `sync_groups`.
    pub name: String,
    /// Its instances, at least two, each in no other group, in the order written.
    pub instances: Vec<String>,
    /// What is notified when the group as a whole changes state (keepalived's
    /// `vrrp_sync_group` notify programs): `GROUP` lines and arguments instead of `INSTANCE`.
    pub notify: NotifySettings,
    /// Whether the members' health checks with a weight move their own priority
    /// (keepalived's `sync_group_tracking_weight`). Off, as in keepalived, a member's checks
    /// count only with weight 0, which faults the whole group; the configuration then refuses
    /// a weighted check on a member, and the daemon ignores the weight of one registered
    /// over the API.
    pub tracking_weight: bool,
}

/// The mail server and addresses of e-mail alerts (keepalived's `smtp_server`,
/// `notification_email_from`, `notification_email`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAlertSettings {
    /// The SMTP server's host name or address.
    pub smtp_host: String,
    /// Its port (25 unless said).
    pub smtp_port: u16,
    /// How long connecting and each reply may take (keepalived's `smtp_connect_timeout`).
    pub connect_timeout: Duration,
    /// The name this host gives in `HELO`; `None` means the host name, as in keepalived.
    pub helo_name: Option<String>,
    /// The envelope and header sender.
    pub from: String,
    /// The recipients, at least one.
    pub to: Vec<String>,
}

/// Traces and metrics (`[telemetry]`); everything is off by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TelemetrySettings {
    /// The OTLP collector spans and metrics are exported to; `None` leaves it to the
    /// standard `OTEL_EXPORTER_OTLP_ENDPOINT` variables, and exports nothing when those are
    /// unset too.
    pub otlp_endpoint: Option<String>,
    /// How OTLP is carried; `None` leaves it to `OTEL_EXPORTER_OTLP_PROTOCOL` (gRPC when
    /// that is unset too).
    pub otlp_protocol: Option<OtlpProtocol>,
    /// Where the Prometheus text endpoint listens; `None` serves none.
    pub metrics_listen: Option<SocketAddr>,
}

/// How OTLP is carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OtlpProtocol {
    /// gRPC (the OTLP default, port 4317).
    Grpc,
    /// Protobuf over HTTP (port 4318).
    HttpProtobuf,
}

/// Daemon-wide settings (`[global]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalSettings {
    /// A name for this node in logs and notifications, like keepalived's `router_id`;
    /// `None` means the host name.
    pub router_id: Option<String>,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// The least severe level logged.
    pub log_level: LogLevel,
    /// Whether exec health checks without a `user` may run as root when the daemon does.
    /// Off by default: a check script is then refused at start, as keepalived's
    /// `enable_script_security` refuses scripts it cannot trust with root.
    pub exec_checks_as_root: bool,
    /// How long after the daemon starts no instance becomes master (keepalived's
    /// `vrrp_startup_delay`): backups hear adverts meanwhile, and their master-down timers
    /// count from its end. Not applied again on reload.
    pub startup_delay: Duration,
    /// The spacing of the announcements on each interface no garp group holds
    /// (keepalived's `vrrp_garp_interval` and `vrrp_gna_interval`); off by default.
    pub announce_spacing: Spacing,
}

impl GlobalSettings {
    /// How this node is named in notifications: the router id, or else the host name.
    pub fn node_name(&self) -> String {
        self.router_id.clone().unwrap_or_else(host_name)
    }
}

/// The kernel's host name, or `localhost` when it cannot be read.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// Text for a terminal or the journal (the default).
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The least severe level logged, from the most to the least severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// Also state changes and other notable events (the default).
    Info,
    /// Also per-advertisement detail.
    Debug,
    /// Everything.
    Trace,
}

/// Where the gRPC API listens (`[api]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiSettings {
    /// The Unix socket, always present: local clients need no network and no TLS.
    pub socket: PathBuf,
    /// An additional TCP listener, when configured.
    pub tcp: Option<TcpListenerSettings>,
    /// A file of bearer tokens clients must present; `None` accepts every client that can
    /// reach a listener.
    pub tokens_file: Option<PathBuf>,
    /// Where the health checks applications registered are kept, so they survive a
    /// restart; `None` keeps them in memory only (a reload keeps them either way).
    pub registered_checks_file: Option<PathBuf>,
    /// Where priorities set with `SetPriority` are kept, so they survive a restart; `None`:
    /// a restart goes back to the configured priorities.
    pub priorities_file: Option<PathBuf>,
}

/// The TCP listener of the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpListenerSettings {
    /// The address and port to listen on.
    pub address: SocketAddr,
    /// Whether the connection is encrypted.
    pub security: TcpSecurity,
}

/// Protection of the TCP listener. There is no default: plaintext has to be asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpSecurity {
    /// TLS with this certificate and key.
    Tls(TlsSettings),
    /// No encryption, because the operator set `allow_plaintext = true`.
    Plaintext,
}

/// TLS files of the TCP listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    /// The server certificate chain (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by this CA (PEM).
    pub client_ca: Option<PathBuf>,
}

/// An address family: the protocol core's.
pub use crate::vrrp::Family;

/// One virtual router (`[instances.<name>]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceSettings {
    /// The instance's name: its key under `instances`.
    pub name: String,
    /// The interface adverts are sent and received on.
    pub interface: String,
    /// The Virtual Router Identifier, 1..=255.
    pub vrid: u8,
    /// The protocol version spoken.
    pub version: Version,
    /// This router's priority, 1..=255; 255 means it owns the virtual addresses.
    pub priority: u8,
    /// How often the master advertises.
    pub advert_interval: AdvertInterval,
    /// The addresses advertised and held by the master, all of [`Self::family`]; none only
    /// for a VRRPv2 instance (keepalived's instances that move addresses from notify
    /// programs), which then advertises an empty list.
    pub virtual_addresses: Vec<VirtualAddress>,
    /// Addresses the master also holds but does not advertise (either family).
    pub excluded_addresses: Vec<VirtualAddress>,
    /// Unicast peers instead of multicast, when configured.
    pub unicast: Option<UnicastSettings>,
    /// VRRPv2 authentication; always [`Auth::None`] with VRRPv3.
    pub auth: Auth,
    /// Whether and when a higher-priority backup takes over from a live master.
    pub preempt: Preempt,
    /// Whether the master accepts packets addressed to the virtual addresses it does not own
    /// (RFC 9568 `Accept_Mode`). Off, a non-owner master drops them with nftables rules.
    pub accept_mode: bool,
    /// keepalived's strict mode (`vrrp_strict` / `strict_mode`): RFC compliance enforced,
    /// see [`crate::vrrp::InstanceConfig::apply_strict_mode`] for the protocol's part.
    pub strict_mode: bool,
    /// The checksum form of VRRPv3 adverts over IPv4.
    pub checksum: V3Ipv4Checksum,
    /// Whether the instance ignores its interface's link going down instead of going to
    /// Fault (keepalived's `dont_track_primary`).
    pub dont_track_primary: bool,
    /// Whether a master that hears a lower priority keeps quiet instead of answering with
    /// an advert at once (keepalived's `lower_prio_no_advert`; strict mode implies it).
    pub lower_prio_no_advert: bool,
    /// How many advert intervals of silence make a backup take over (RFC 9568 §6.1's 3, or
    /// keepalived's `down_timer_adverts`).
    pub down_timer_adverts: DownTimerAdverts,
    /// Gratuitous ARP / unsolicited neighbour advertisement after becoming master.
    pub garp: GarpSettings,
    /// The addresses announced, each with the spacing of the interface (or garp group) it
    /// is announced on, from [`GlobalSettings::announce_spacing`] and
    /// [`Config::garp_groups`]; empty when no spacing applies to any.
    pub announce_spacing: Vec<PacedAddress>,
    /// Checks that adjust the priority or put the instance in Fault, sorted by name.
    pub health_checks: Vec<HealthCheck>,
    /// What to run or write on state changes.
    pub notify: NotifySettings,
    /// Whether state changes are mailed to [`Config::email_alerts`] (keepalived's
    /// `smtp_alert`).
    pub email_alerts: bool,
    /// Routes the master adds and removes on leaving Master (keepalived's `virtual_routes`),
    /// in the order written, which is the order they are added in.
    pub virtual_routes: Vec<VirtualRoute>,
    /// Policy routing rules the master adds, after the routes (keepalived's
    /// `virtual_rules`).
    pub virtual_rules: Vec<VirtualRule>,
    /// The virtual MAC interface the instance holds its addresses on (keepalived's
    /// `use_vmac`), when configured.
    pub virtual_mac: Option<VirtualMac>,
}

/// A macvlan interface with the virtual router MAC (RFC 9568 §7.3), created on the
/// instance's interface, as keepalived's `use_vmac` creates one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualMac {
    /// The macvlan's name: as configured, or keepalived's `vrrp.<VRID>`.
    pub name: String,
    /// Adverts are sent and received on the instance's interface instead of the macvlan
    /// (keepalived's `vmac_xmit_base`), so their source MAC is the interface's own.
    pub xmit_base: bool,
}

impl VirtualMac {
    /// keepalived's name for the macvlan of virtual router `vrid`.
    pub fn default_name(vrid: u8) -> String {
        format!("vrrp.{vrid}")
    }
}

impl InstanceSettings {
    /// The addresses a master holds: the advertised ones, then the excluded ones (held but
    /// not advertised, keepalived's `virtual_ipaddress_excluded`).
    pub fn held_addresses(&self) -> impl Iterator<Item = &VirtualAddress> {
        self.virtual_addresses
            .iter()
            .chain(&self.excluded_addresses)
    }

    /// The interface whose spacing `address`'s announcements wait for: its own `device`, or
    /// else the instance's interface, which is also the base of a virtual MAC interface
    /// (keepalived spaces by `IF_BASE_IFP`, `vrrp/vrrp_arp.c`).
    pub fn spaced_on<'a>(&'a self, address: &'a VirtualAddress) -> &'a str {
        address.device.as_deref().unwrap_or(&self.interface)
    }

    /// The interface `address` is placed on: its own `device`, or else the virtual MAC
    /// interface when there is one (as keepalived places them), or else the instance's
    /// interface.
    pub fn interface_of<'a>(&'a self, address: &'a VirtualAddress) -> &'a str {
        address
            .device
            .as_deref()
            .or(self.virtual_mac.as_ref().map(|vmac| vmac.name.as_str()))
            .unwrap_or(&self.interface)
    }

    /// The interface adverts are sent and received on: the virtual MAC interface, unless
    /// there is none or `xmit_base` keeps them on the instance's interface.
    pub fn advert_interface(&self) -> &str {
        match &self.virtual_mac {
            Some(vmac) if !vmac.xmit_base => &vmac.name,
            _ => &self.interface,
        }
    }

    /// The family of the advertised addresses, and so of the adverts.
    pub fn family(&self) -> Family {
        if let Some(first) = self.virtual_addresses.first() {
            return Family::of(first.address);
        }
        // No virtual address (VRRPv2 only): the family of the unicast addresses, otherwise
        // IPv4, VRRPv2's only family.
        self.unicast
            .as_ref()
            .and_then(|unicast| unicast.source.or_else(|| unicast.peer_addresses().next()))
            .map_or(Family::Ipv4, Family::of)
    }
}

/// An address with its prefix length, as `ip address add` takes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualAddress {
    /// The address.
    pub address: IpAddr,
    /// The prefix length: 0..=32 for IPv4, 0..=128 for IPv6.
    pub prefix_len: u8,
    /// An IPv4 label such as `eth0:vip` (legacy `ifconfig` aliases), when set.
    pub label: Option<String>,
    /// The interface to put the address on, when not the instance's own.
    pub device: Option<String>,
}

/// Unicast adverts to a fixed set of peers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnicastSettings {
    /// The source address of adverts; `None` means the interface's primary address.
    pub source: Option<IpAddr>,
    /// Where adverts are sent, with the hop limits adverts are taken with from each. None
    /// keeps the instance in Fault (keepalived's `unicast_fault_no_peer`): it could not be
    /// heard.
    pub peers: Vec<UnicastPeer>,
    /// Whether adverts are taken only from [`Self::peers`], within each one's hop limits
    /// (keepalived's `check_unicast_src`, which a peer's `min_ttl` or `max_ttl` turns on);
    /// otherwise from any source with any hop limit, as keepalived does by default.
    pub check_source: bool,
    /// The TTL or hop limit adverts leave with (keepalived's `unicast_ttl`): 255 reaches
    /// peers on the link, a smaller one bounds how many routers they may cross.
    pub ttl: u8,
}

impl UnicastSettings {
    /// Where adverts are sent: the peers' addresses, in order.
    pub fn peer_addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.peers.iter().map(|peer| peer.address)
    }
}

/// Whether a higher-priority backup takes over from a live lower-priority master.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preempt {
    /// It does, after this delay (zero: at once).
    After(Duration),
    /// It does not: the live master keeps the addresses (keepalived's `nopreempt`).
    Never,
}

/// The checksum form of VRRPv3 adverts over IPv4 (RFC 9568 §5.2.8); the forms differ in
/// whether the IPv4 pseudo-header is summed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum V3Ipv4Checksum {
    /// With the IPv4 pseudo-header: the default of keepalived 2.2.7 and of FRR, and what
    /// tshark checks.
    Rfc,
    /// Without it, as VRRPv2 does: keepalived's `v3_checksum_as_v2`, for peers that use it.
    V2Compatible,
}

/// Announcements after becoming master, keepalived's `garp_master_*` settings: the node's
/// own type, since it schedules them.
pub use crate::vrrp::node::announce::GarpSettings;

/// The spacing of announcements on an interface, and an address with the spacing it waits
/// for: the node's own types, since it spaces them.
pub use crate::vrrp::node::announce::{PacedAddress, Spacing};

/// One health check of an instance (`[instances.<name>.health_checks.<check>]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// The check's name: its key under `health_checks`.
    pub name: String,
    /// What is checked.
    pub probe: Probe,
    /// Time between two runs.
    pub interval: Duration,
    /// How long one run may take before it counts as a failure.
    pub timeout: Duration,
    /// Consecutive successes that make the check pass.
    pub rise: u8,
    /// Consecutive failures that make the check fail.
    pub fall: u8,
    /// The priority change while failing (negative) or passing (positive), -254..=254;
    /// 0 puts the instance in Fault while the check fails, as keepalived does.
    pub weight: i16,
    /// Start failing until `rise` passes, rather than letting the first run decide
    /// (keepalived's `init_fail`).
    pub init_fail: bool,
}

/// What a health check looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Runs a program (no shell); exit status 0 passes.
    Exec {
        /// The program and its arguments.
        command: Vec<String>,
        /// The user to run it as; `None`: the daemon's own.
        user: Option<String>,
        /// How long a timed-out program gets between SIGTERM and SIGKILL; `None`: 2 s, as
        /// keepalived.
        kill_grace: Option<Duration>,
    },
    /// Opens a TCP connection.
    Tcp {
        /// Where to connect.
        address: SocketAddr,
    },
    /// Sends an HTTP GET; a 2xx status (or one of `expected_status`) passes.
    Http {
        /// The URL, `http://` or `https://`.
        url: String,
        /// The statuses that pass; empty: any 2xx.
        expected_status: Vec<u16>,
        /// Text the body must contain to pass.
        body_contains: Option<String>,
    },
    /// Calls the standard gRPC health service.
    Grpc {
        /// Where the service listens.
        address: SocketAddr,
        /// The service name asked about; `None` asks about the server as a whole.
        service: Option<String>,
    },
    /// Looks at an interface's link state.
    Interface {
        /// The interface.
        name: String,
    },
    /// Reads a number from a file, like keepalived's `track_file`.
    File {
        /// The file.
        path: PathBuf,
    },
    /// Counts running processes, like keepalived's `vrrp_track_process`: followed through
    /// the kernel's process events, not run on an interval.
    Process(ProcessMatch),
}

/// Which processes a process check counts, and how many make it pass (keepalived's
/// `vrrp_track_process`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessMatch {
    /// The process name (`comm`, at most 15 bytes, as `ps -o comm` shows it), or the
    /// program as started (`argv[0]` of `/proc/PID/cmdline`) with `full_command`.
    pub process: String,
    /// Whether `process` is compared with the command line's first word instead of the
    /// name. Implied by `param_match`, as keepalived implies it.
    pub full_command: bool,
    /// The arguments the command line must have after its first word, as `param_match` says.
    pub arguments: Vec<String>,
    /// How the arguments are compared; `None`: they are not looked at.
    pub param_match: Option<ParamMatch>,
    /// The fewest matching processes that pass.
    pub quorum: u16,
    /// The most matching processes that pass.
    pub quorum_max: u16,
    /// How long a quorum gained or lost through a fork must last before the verdict follows.
    pub fork_delay: Duration,
    /// How long a quorum lost or gained through an exit must last before the verdict follows.
    pub terminate_delay: Duration,
}

impl ProcessMatch {
    /// Whether the command line is read (rather than the process name), as keepalived decides:
    /// `full_command`, or any argument matching.
    pub fn uses_command_line(&self) -> bool {
        self.full_command || self.param_match.is_some()
    }
}

/// How a tracked process's arguments are compared (keepalived's `param_match`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamMatch {
    /// The arguments are exactly these (none, when none are given).
    Exact,
    /// The arguments start with these whole words.
    Partial,
    /// The arguments start with these words, the last of which may be cut short.
    Initial,
}

impl ParamMatch {
    /// The word the configuration uses for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamMatch::Exact => "exact",
            ParamMatch::Partial => "partial",
            ParamMatch::Initial => "initial",
        }
    }
}

/// Programs run and a FIFO written on state changes (`[instances.<name>.notify]`).
///
/// Programs are run without a shell, with the arguments of [`Self::arguments`] first and
/// then those the notifier adds (keepalived's order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifySettings {
    /// Run on becoming master.
    pub on_master: Option<PathBuf>,
    /// Run on becoming backup.
    pub on_backup: Option<PathBuf>,
    /// Run on entering Fault.
    pub on_fault: Option<PathBuf>,
    /// Run when the instance stops.
    pub on_stop: Option<PathBuf>,
    /// Run on every change, with the new state as an argument (keepalived's `notify`).
    pub on_change: Option<PathBuf>,
    /// A FIFO that gets one line per change (keepalived's `notify_fifo`).
    pub fifo: Option<PathBuf>,
    /// Run by a master that hears a lower priority than its own (keepalived's
    /// `notify_master_rx_lower_pri`), with its configured arguments only, once per such
    /// advertisement. An instance's setting.
    pub on_master_rx_lower_priority: Option<PathBuf>,
    /// Run when a reload removes the instance and [`Self::report_removal_as`] is
    /// [`RemovalReport::Deleted`] (keepalived's `notify_deleted SCRIPT`).
    pub on_deleted: Option<PathBuf>,
    /// What a reload removing the instance is notified as.
    pub report_removal_as: RemovalReport,
    /// Whether a change of the advertised priority writes a `MASTER_PRIORITY` or
    /// `BACKUP_PRIORITY` line to the FIFO (keepalived's `notify_priority_changes`). An
    /// instance's setting.
    pub priority_changes: bool,
    /// Started by the daemon with the FIFO's path as its last argument, to read it
    /// (keepalived's `notify_fifo_script`); once per FIFO, however many instances write it.
    pub fifo_program: Option<PathBuf>,
    /// The instance name the FIFO line and `on_change` give, when not the instance's own:
    /// a translated keepalived.conf keeps its `VI_1` there, which scripts match on, while
    /// the native name is `vi_1`.
    pub name: Option<String>,
    /// The arguments each program is given before the notifier's own, as written in the
    /// configuration (`on_master = ["/usr/local/bin/notify", "master"]`).
    pub arguments: NotifyArguments,
}

/// The configured arguments of each notify program; empty for a program written alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifyArguments {
    /// Of [`NotifySettings::on_master`].
    pub on_master: Vec<String>,
    /// Of [`NotifySettings::on_backup`].
    pub on_backup: Vec<String>,
    /// Of [`NotifySettings::on_fault`].
    pub on_fault: Vec<String>,
    /// Of [`NotifySettings::on_stop`].
    pub on_stop: Vec<String>,
    /// Of [`NotifySettings::on_change`].
    pub on_change: Vec<String>,
    /// Of [`NotifySettings::on_master_rx_lower_priority`].
    pub on_master_rx_lower_priority: Vec<String>,
    /// Of [`NotifySettings::on_deleted`].
    pub on_deleted: Vec<String>,
    /// Of [`NotifySettings::fifo_program`], before the FIFO's path.
    pub fifo_program: Vec<String>,
}

/// How a reload removing an instance is notified: as its stop (this daemon's default), or
/// as keepalived 2.2.7 does in `clear_diff_vrrp()` (`keepalived/vrrp/vrrp.c`): as a fault
/// (`FAULT`, nothing for an instance already in Fault) unless the instance has
/// `notify_deleted`, then as `DELETED`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RemovalReport {
    /// `STOP`: `on_stop` runs.
    #[default]
    Stop,
    /// `FAULT`: `on_fault` runs; an instance already in Fault notifies nothing.
    Fault,
    /// `DELETED`: `on_deleted` runs.
    Deleted,
}

impl RemovalReport {
    /// The word of the native configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalReport::Stop => "stop",
            RemovalReport::Fault => "fault",
            RemovalReport::Deleted => "deleted",
        }
    }
}
