//! The validated configuration: typed settings with every default applied.
//!
//! Nothing here is a string that still needs parsing; a value of these types has passed every
//! check in `validate.rs`, so the daemon can use it without checking again.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::vrrp::{AdvertInterval, Auth, Version};

/// A validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Daemon-wide settings.
    pub global: GlobalSettings,
    /// Where the gRPC API listens.
    pub api: ApiSettings,
    /// The virtual routers this daemon takes part in, sorted by name.
    pub instances: Vec<InstanceSettings>,
    /// Where traces and metrics go (`[telemetry]`).
    pub telemetry: TelemetrySettings,
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

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl Family {
    /// The family of `address`.
    pub fn of(address: IpAddr) -> Family {
        match address {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}

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
    /// The addresses advertised and held by the master; at least one, all of [`Self::family`].
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
    /// (RFC 9568 `Accept_Mode`).
    pub accept_mode: bool,
    /// The checksum form of VRRPv3 adverts over IPv4.
    pub checksum: V3Ipv4Checksum,
    /// Gratuitous ARP / unsolicited neighbour advertisement after becoming master.
    pub garp: GarpSettings,
    /// Checks that adjust the priority or put the instance in Fault, sorted by name.
    pub health_checks: Vec<HealthCheck>,
    /// What to run or write on state changes.
    pub notify: NotifySettings,
}

impl InstanceSettings {
    /// The family of the advertised addresses, and so of the adverts.
    pub fn family(&self) -> Family {
        // validate.rs refuses an instance without a virtual address, so there is a first one.
        Family::of(self.virtual_addresses[0].address)
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
    /// Where adverts are sent, at least one.
    pub peers: Vec<IpAddr>,
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

/// Announcements after becoming master, keepalived's `garp_master_*` settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GarpSettings {
    /// Announcements per address in each burst.
    pub repeat: u8,
    /// When the second burst follows the first; `None`: no second burst.
    pub second_burst_after: Option<Duration>,
    /// How often a master repeats the announcement; `None`: never.
    pub refresh_every: Option<Duration>,
}

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
}

/// What a health check looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Runs a program (no shell); exit status 0 passes.
    Exec {
        /// The program and its arguments.
        command: Vec<String>,
    },
    /// Opens a TCP connection.
    Tcp {
        /// Where to connect.
        address: SocketAddr,
    },
    /// Sends an HTTP GET; a 2xx status passes.
    Http {
        /// The URL, `http://` or `https://`.
        url: String,
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
}

/// Programs run and a FIFO written on state changes (`[instances.<name>.notify]`).
///
/// Programs are run without a shell; what arguments they get is the notifier's business.
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
}
