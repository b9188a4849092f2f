//! Writing a [`Config`] back as a native TOML file, so that a configuration read from a
//! keepalived.conf can be kept in the native format (`vrrp-sidecar convert`).
//!
//! Every setting is written out, defaults included: the file then says everything the
//! daemon will do, and reads back to an equal [`Config`] whatever the defaults become.

use std::path::Path;
use std::time::Duration;

use toml::{Table, Value};

use crate::vrrp::node::UnicastPeer;
use crate::vrrp::{Auth, DownTimerAdverts, HopLimits, VRRP_HOP_LIMIT, Version};

use super::duration::seconds_text;
use super::schema::{self, FieldSpec};
use super::settings::{
    ApiSettings, Config, EmailAlertSettings, GarpSettings, GlobalSettings, HealthCheck,
    InstanceSettings, LogFormat, LogLevel, NotifySettings, OtlpProtocol, Preempt, Probe,
    ProcessMatch, RemovalReport, Spacing, TcpSecurity, TelemetrySettings, V3Ipv4Checksum,
    VirtualAddress, VirtualMac,
};

/// `config` as a native TOML document that loads back to an equal [`Config`].
pub fn to_native_toml(config: &Config) -> String {
    let mut document = Table::new();
    put(
        &mut document,
        &schema::top_level::GLOBAL,
        Value::Table(global(&config.global)),
    );
    put(
        &mut document,
        &schema::top_level::API,
        Value::Table(api(&config.api)),
    );
    let instances = config
        .instances
        .iter()
        .map(|settings| (settings.name.clone(), Value::Table(instance(settings))))
        .collect();
    put(
        &mut document,
        &schema::top_level::INSTANCES,
        Value::Table(instances),
    );
    if !config.sync_groups.is_empty() {
        let groups = config
            .sync_groups
            .iter()
            .map(|group| {
                let members = group.instances.iter().map(text).collect();
                let mut table = Table::new();
                put(
                    &mut table,
                    &schema::sync_group::INSTANCES,
                    Value::Array(members),
                );
                if group.notify != NotifySettings::default() {
                    put(
                        &mut table,
                        &schema::sync_group::NOTIFY,
                        Value::Table(notify(&group.notify)),
                    );
                }
                if group.tracking_weight {
                    put(
                        &mut table,
                        &schema::sync_group::TRACKING_WEIGHT,
                        Value::Boolean(true),
                    );
                }
                (group.name.clone(), Value::Table(table))
            })
            .collect();
        put(
            &mut document,
            &schema::top_level::SYNC_GROUPS,
            Value::Table(groups),
        );
    }
    if !config.link_debounce.is_empty() {
        let entries = config
            .link_debounce
            .iter()
            .map(|entry| {
                let mut table = Table::new();
                put(
                    &mut table,
                    &schema::link_debounce::DOWN_DELAY,
                    duration(entry.delays.down),
                );
                put(
                    &mut table,
                    &schema::link_debounce::UP_DELAY,
                    duration(entry.delays.up),
                );
                (entry.interface.clone(), Value::Table(table))
            })
            .collect();
        put(
            &mut document,
            &schema::top_level::LINK_DEBOUNCE,
            Value::Table(entries),
        );
    }
    if !config.garp_groups.is_empty() {
        let groups = config
            .garp_groups
            .iter()
            .map(|group| {
                let mut table = Table::new();
                put_spacing(
                    &mut table,
                    group.spacing,
                    &schema::garp_group::GARP_INTERVAL,
                    &schema::garp_group::GNA_INTERVAL,
                );
                put(
                    &mut table,
                    &schema::garp_group::INTERFACES,
                    Value::Array(group.interfaces.iter().map(text).collect()),
                );
                (group.name.clone(), Value::Table(table))
            })
            .collect();
        put(
            &mut document,
            &schema::top_level::GARP_GROUPS,
            Value::Table(groups),
        );
    }
    if let Some(email) = &config.email_alerts {
        put(
            &mut document,
            &schema::top_level::EMAIL_ALERTS,
            Value::Table(email_alerts(email)),
        );
    }
    if !config.static_routes.is_empty() {
        let routes = config
            .static_routes
            .iter()
            .map(|route| text(route.to_string()));
        put(
            &mut document,
            &schema::top_level::STATIC_ROUTES,
            Value::Array(routes.collect()),
        );
    }
    if !config.static_addresses.is_empty() {
        let addresses = config
            .static_addresses
            .iter()
            .map(|address| {
                let mut table = Table::new();
                put(
                    &mut table,
                    &schema::static_address::ADDRESS,
                    text(format!(
                        "{}/{}",
                        address.address.address, address.address.prefix_len
                    )),
                );
                put(
                    &mut table,
                    &schema::static_address::DEV,
                    text(address.device()),
                );
                if let Some(label) = &address.address.label {
                    put(&mut table, &schema::static_address::LABEL, text(label));
                }
                if address.no_track {
                    put(
                        &mut table,
                        &schema::static_address::NO_TRACK,
                        Value::Boolean(true),
                    );
                }
                Value::Table(table)
            })
            .collect();
        put(
            &mut document,
            &schema::top_level::STATIC_ADDRESSES,
            Value::Array(addresses),
        );
    }
    if !config.static_rules.is_empty() {
        let rules = config
            .static_rules
            .iter()
            .map(|rule| text(rule.to_string()));
        put(
            &mut document,
            &schema::top_level::STATIC_RULES,
            Value::Array(rules.collect()),
        );
    }
    if config.telemetry != TelemetrySettings::default() {
        put(
            &mut document,
            &schema::top_level::TELEMETRY,
            Value::Table(telemetry(&config.telemetry)),
        );
    }
    // The document holds only strings, integers, booleans, arrays and tables, which TOML can
    // always write.
    toml::to_string(&document).expect("a table of plain values serializes")
}

/// Sets field `field` of `table`.
fn put(table: &mut Table, field: &FieldSpec, value: Value) {
    table.insert(field.key.into(), value);
}

fn text(value: impl Into<String>) -> Value {
    Value::String(value.into())
}

fn path(value: &Path) -> Value {
    text(value.display().to_string())
}

/// A length of time as exact seconds, a form the native loader reads back unchanged.
fn duration(value: Duration) -> Value {
    text(seconds_text(value))
}

fn global(settings: &GlobalSettings) -> Table {
    let mut table = Table::new();
    if let Some(router_id) = &settings.router_id {
        put(&mut table, &schema::global::ROUTER_ID, text(router_id));
    }
    let format = match settings.log_format {
        LogFormat::Human => "human",
        LogFormat::Json => "json",
    };
    put(&mut table, &schema::global::LOG_FORMAT, text(format));
    let level = match settings.log_level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    };
    put(&mut table, &schema::global::LOG_LEVEL, text(level));
    if settings.exec_checks_as_root {
        put(
            &mut table,
            &schema::global::EXEC_CHECKS_AS_ROOT,
            Value::Boolean(true),
        );
    }
    if !settings.startup_delay.is_zero() {
        put(
            &mut table,
            &schema::global::STARTUP_DELAY,
            duration(settings.startup_delay),
        );
    }
    put_spacing(
        &mut table,
        settings.announce_spacing,
        &schema::global::GARP_INTERVAL,
        &schema::global::GNA_INTERVAL,
    );
    table
}

/// The spacing's intervals, each only when set (absent is off).
fn put_spacing(table: &mut Table, spacing: Spacing, arp: &FieldSpec, na: &FieldSpec) {
    if let Some(interval) = spacing.arp {
        put(table, arp, duration(interval));
    }
    if let Some(interval) = spacing.na {
        put(table, na, duration(interval));
    }
}

fn email_alerts(settings: &EmailAlertSettings) -> Table {
    let mut table = Table::new();
    let host = if settings.smtp_host.contains(':') {
        format!("[{}]", settings.smtp_host)
    } else {
        settings.smtp_host.clone()
    };
    put(
        &mut table,
        &schema::email_alerts::SMTP_SERVER,
        text(format!("{host}:{}", settings.smtp_port)),
    );
    put(
        &mut table,
        &schema::email_alerts::CONNECT_TIMEOUT,
        duration(settings.connect_timeout),
    );
    if let Some(helo_name) = &settings.helo_name {
        put(
            &mut table,
            &schema::email_alerts::HELO_NAME,
            text(helo_name),
        );
    }
    put(
        &mut table,
        &schema::email_alerts::FROM,
        text(&settings.from),
    );
    let to = settings.to.iter().map(text).collect();
    put(&mut table, &schema::email_alerts::TO, Value::Array(to));
    table
}

fn telemetry(settings: &TelemetrySettings) -> Table {
    let mut table = Table::new();
    if let Some(endpoint) = &settings.otlp_endpoint {
        put(
            &mut table,
            &schema::telemetry::OTLP_ENDPOINT,
            text(endpoint),
        );
    }
    if let Some(protocol) = settings.otlp_protocol {
        let protocol = match protocol {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http/protobuf",
        };
        put(
            &mut table,
            &schema::telemetry::OTLP_PROTOCOL,
            text(protocol),
        );
    }
    if let Some(listen) = settings.metrics_listen {
        put(
            &mut table,
            &schema::telemetry::METRICS_LISTEN,
            text(listen.to_string()),
        );
    }
    table
}

fn api(settings: &ApiSettings) -> Table {
    let mut table = Table::new();
    put(&mut table, &schema::api::SOCKET, path(&settings.socket));
    if let Some(tcp) = &settings.tcp {
        put(
            &mut table,
            &schema::api::TCP_ADDRESS,
            text(tcp.address.to_string()),
        );
        match &tcp.security {
            TcpSecurity::Tls(tls) => {
                let mut tls_table = Table::new();
                put(&mut tls_table, &schema::tls::CERT, path(&tls.cert));
                put(&mut tls_table, &schema::tls::KEY, path(&tls.key));
                if let Some(client_ca) = &tls.client_ca {
                    put(&mut tls_table, &schema::tls::CLIENT_CA, path(client_ca));
                }
                put(&mut table, &schema::api::TLS, Value::Table(tls_table));
            }
            TcpSecurity::Plaintext => {
                put(
                    &mut table,
                    &schema::api::ALLOW_PLAINTEXT,
                    Value::Boolean(true),
                );
            }
        }
    }
    if let Some(tokens_file) = &settings.tokens_file {
        put(&mut table, &schema::api::TOKENS_FILE, path(tokens_file));
    }
    if let Some(checks_file) = &settings.registered_checks_file {
        put(
            &mut table,
            &schema::api::REGISTERED_CHECKS_FILE,
            path(checks_file),
        );
    }
    if let Some(priorities_file) = &settings.priorities_file {
        put(
            &mut table,
            &schema::api::PRIORITIES_FILE,
            path(priorities_file),
        );
    }
    table
}

fn instance(settings: &InstanceSettings) -> Table {
    let mut table = Table::new();
    put(
        &mut table,
        &schema::instance::INTERFACE,
        text(&settings.interface),
    );
    put(
        &mut table,
        &schema::instance::VRID,
        Value::Integer(settings.vrid.into()),
    );
    let version = match settings.version {
        Version::V2 => 2,
        Version::V3 => 3,
    };
    put(
        &mut table,
        &schema::instance::VERSION,
        Value::Integer(version),
    );
    put(
        &mut table,
        &schema::instance::PRIORITY,
        Value::Integer(settings.priority.into()),
    );
    put(
        &mut table,
        &schema::instance::ADVERT_INTERVAL,
        duration(settings.advert_interval.as_duration()),
    );
    put(
        &mut table,
        &schema::instance::VIRTUAL_ADDRESSES,
        addresses(&settings.virtual_addresses),
    );
    if !settings.excluded_addresses.is_empty() {
        put(
            &mut table,
            &schema::instance::EXCLUDED_ADDRESSES,
            addresses(&settings.excluded_addresses),
        );
    }
    if let Some(unicast) = &settings.unicast {
        if let Some(source) = unicast.source {
            put(
                &mut table,
                &schema::instance::UNICAST_SRC,
                text(source.to_string()),
            );
        }
        let peers = unicast.peers.iter().map(unicast_peer).collect();
        put(
            &mut table,
            &schema::instance::UNICAST_PEERS,
            Value::Array(peers),
        );
        put(
            &mut table,
            &schema::instance::CHECK_UNICAST_SRC,
            Value::Boolean(unicast.check_source),
        );
        if unicast.ttl != VRRP_HOP_LIMIT {
            put(
                &mut table,
                &schema::instance::UNICAST_TTL,
                Value::Integer(unicast.ttl.into()),
            );
        }
    }
    let password = match &settings.auth {
        Auth::None => None,
        Auth::SimplePassword(bytes) => Some(("pass", bytes)),
        Auth::AuthenticationHeader(bytes) => Some(("ah", bytes)),
    };
    if let Some((kind, bytes)) = password {
        // The password was read as text and padded with NULs to 8 bytes; the padding goes.
        let length = bytes
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(bytes.len());
        let mut auth = Table::new();
        put(&mut auth, &schema::authentication::TYPE, text(kind));
        put(
            &mut auth,
            &schema::authentication::PASSWORD,
            text(String::from_utf8_lossy(&bytes[..length])),
        );
        put(
            &mut table,
            &schema::instance::AUTHENTICATION,
            Value::Table(auth),
        );
    }
    match settings.preempt {
        Preempt::After(delay) => {
            put(&mut table, &schema::instance::PREEMPT, Value::Boolean(true));
            put(
                &mut table,
                &schema::instance::PREEMPT_DELAY,
                duration(delay),
            );
        }
        Preempt::Never => {
            put(
                &mut table,
                &schema::instance::PREEMPT,
                Value::Boolean(false),
            );
        }
    }
    put(
        &mut table,
        &schema::instance::ACCEPT_MODE,
        Value::Boolean(settings.accept_mode),
    );
    if settings.dont_track_primary {
        put(
            &mut table,
            &schema::instance::DONT_TRACK_PRIMARY,
            Value::Boolean(true),
        );
    }
    if settings.down_timer_adverts != DownTimerAdverts::RFC {
        put(
            &mut table,
            &schema::instance::DOWN_TIMER_ADVERTS,
            Value::Integer(settings.down_timer_adverts.get().into()),
        );
    }
    if settings.lower_prio_no_advert {
        put(
            &mut table,
            &schema::instance::LOWER_PRIO_NO_ADVERT,
            Value::Boolean(true),
        );
    }
    if settings.strict_mode {
        put(
            &mut table,
            &schema::instance::STRICT_MODE,
            Value::Boolean(true),
        );
    }
    if let Some(vmac) = &settings.virtual_mac {
        let value = if vmac.name == VirtualMac::default_name(settings.vrid) {
            Value::Boolean(true)
        } else {
            text(vmac.name.as_str())
        };
        put(&mut table, &schema::instance::VIRTUAL_MAC, value);
        if vmac.xmit_base {
            put(
                &mut table,
                &schema::instance::VIRTUAL_MAC_XMIT_BASE,
                Value::Boolean(true),
            );
        }
    }
    // The checksum form may only be written where it is a choice (VRRPv3 over IPv4); the
    // loader refuses it elsewhere, and gives the default there.
    if settings.checksum == V3Ipv4Checksum::V2Compatible {
        put(
            &mut table,
            &schema::instance::CHECKSUM,
            text("v2-compatible"),
        );
    }
    put(
        &mut table,
        &schema::instance::GARP,
        Value::Table(garp(&settings.garp)),
    );
    if !settings.health_checks.is_empty() {
        let checks = settings
            .health_checks
            .iter()
            .map(|check| (check.name.clone(), Value::Table(health_check(check))))
            .collect();
        put(
            &mut table,
            &schema::instance::HEALTH_CHECKS,
            Value::Table(checks),
        );
    }
    let notify = notify(&settings.notify);
    if !notify.is_empty() {
        put(&mut table, &schema::instance::NOTIFY, Value::Table(notify));
    }
    if settings.email_alerts {
        put(
            &mut table,
            &schema::instance::EMAIL_ALERTS,
            Value::Boolean(true),
        );
    }
    if !settings.virtual_routes.is_empty() {
        let routes = settings
            .virtual_routes
            .iter()
            .map(|route| text(route.to_string()))
            .collect();
        put(
            &mut table,
            &schema::instance::VIRTUAL_ROUTES,
            Value::Array(routes),
        );
    }
    if !settings.virtual_rules.is_empty() {
        let rules = settings
            .virtual_rules
            .iter()
            .map(|rule| text(rule.to_string()))
            .collect();
        put(
            &mut table,
            &schema::instance::VIRTUAL_RULES,
            Value::Array(rules),
        );
    }
    table
}

fn addresses(addresses: &[VirtualAddress]) -> Value {
    Value::Array(
        addresses
            .iter()
            .map(|address| {
                let written = text(format!("{}/{}", address.address, address.prefix_len));
                if address.label.is_none() && address.device.is_none() {
                    return written;
                }
                let mut table = Table::new();
                put(&mut table, &schema::address::ADDRESS, written);
                if let Some(label) = &address.label {
                    put(&mut table, &schema::address::LABEL, text(label));
                }
                if let Some(device) = &address.device {
                    put(&mut table, &schema::address::DEV, text(device));
                }
                Value::Table(table)
            })
            .collect(),
    )
}

/// A peer as a plain address, or as a table when it has hop limits of its own.
fn unicast_peer(peer: &UnicastPeer) -> Value {
    let address = text(peer.address.to_string());
    if peer.hop_limits == HopLimits::ANY {
        return address;
    }
    let mut table = Table::new();
    put(&mut table, &schema::unicast_peer::ADDRESS, address);
    put(
        &mut table,
        &schema::unicast_peer::MIN_TTL,
        Value::Integer(peer.hop_limits.lowest.into()),
    );
    put(
        &mut table,
        &schema::unicast_peer::MAX_TTL,
        Value::Integer(peer.hop_limits.highest.into()),
    );
    Value::Table(table)
}

fn garp(settings: &GarpSettings) -> Table {
    let mut table = Table::new();
    put(
        &mut table,
        &schema::garp::REPEAT,
        Value::Integer(settings.repeat.into()),
    );
    // Zero turns the second burst or the refresh off.
    let off_as_zero = |setting: Option<Duration>| duration(setting.unwrap_or(Duration::ZERO));
    put(
        &mut table,
        &schema::garp::DELAY,
        off_as_zero(settings.second_burst_after),
    );
    put(
        &mut table,
        &schema::garp::REFRESH,
        off_as_zero(settings.refresh_every),
    );
    put(
        &mut table,
        &schema::garp::LOWER_PRIORITY_REPEAT,
        Value::Integer(settings.lower_priority_repeat.into()),
    );
    put(
        &mut table,
        &schema::garp::LOWER_PRIORITY_DELAY,
        off_as_zero(settings.lower_priority_second_after),
    );
    table
}

fn health_check(check: &HealthCheck) -> Table {
    let mut table = Table::new();
    match &check.probe {
        Probe::Exec {
            command,
            user,
            kill_grace,
        } => {
            put(&mut table, &schema::health_check::KIND, text("exec"));
            let words = command.iter().map(text).collect();
            put(
                &mut table,
                &schema::health_check::COMMAND,
                Value::Array(words),
            );
            if let Some(user) = user {
                put(&mut table, &schema::health_check::USER, text(user));
            }
            if let Some(grace) = kill_grace {
                put(
                    &mut table,
                    &schema::health_check::KILL_GRACE,
                    duration(*grace),
                );
            }
        }
        Probe::Tcp { address } => {
            put(&mut table, &schema::health_check::KIND, text("tcp"));
            put(
                &mut table,
                &schema::health_check::ADDRESS,
                text(address.to_string()),
            );
        }
        Probe::Http {
            url,
            expected_status,
            body_contains,
        } => {
            put(&mut table, &schema::health_check::KIND, text("http"));
            put(&mut table, &schema::health_check::URL, text(url));
            if !expected_status.is_empty() {
                let statuses = expected_status
                    .iter()
                    .map(|&status| Value::Integer(i64::from(status)))
                    .collect();
                put(
                    &mut table,
                    &schema::health_check::EXPECTED_STATUS,
                    Value::Array(statuses),
                );
            }
            if let Some(body) = body_contains {
                put(&mut table, &schema::health_check::BODY_CONTAINS, text(body));
            }
        }
        Probe::Grpc { address, service } => {
            put(&mut table, &schema::health_check::KIND, text("grpc"));
            put(
                &mut table,
                &schema::health_check::ADDRESS,
                text(address.to_string()),
            );
            if let Some(service) = service {
                put(&mut table, &schema::health_check::SERVICE, text(service));
            }
        }
        Probe::Interface { name } => {
            put(&mut table, &schema::health_check::KIND, text("interface"));
            put(&mut table, &schema::health_check::INTERFACE, text(name));
        }
        Probe::File { path: file } => {
            put(&mut table, &schema::health_check::KIND, text("file"));
            put(&mut table, &schema::health_check::PATH, path(file));
        }
        Probe::Process(tracked) => {
            process_match(&mut table, tracked);
            // No interval, timeout, rise, fall or init_fail: a process check has no runs.
            put(
                &mut table,
                &schema::health_check::WEIGHT,
                Value::Integer(check.weight.into()),
            );
            return table;
        }
    }
    put(
        &mut table,
        &schema::health_check::INTERVAL,
        duration(check.interval),
    );
    put(
        &mut table,
        &schema::health_check::TIMEOUT,
        duration(check.timeout),
    );
    put(
        &mut table,
        &schema::health_check::RISE,
        Value::Integer(check.rise.into()),
    );
    put(
        &mut table,
        &schema::health_check::FALL,
        Value::Integer(check.fall.into()),
    );
    put(
        &mut table,
        &schema::health_check::WEIGHT,
        Value::Integer(check.weight.into()),
    );
    if check.init_fail {
        put(
            &mut table,
            &schema::health_check::INIT_FAIL,
            Value::Boolean(true),
        );
    }
    table
}

fn process_match(table: &mut Table, tracked: &ProcessMatch) {
    use schema::health_check as field;
    put(table, &field::KIND, text("process"));
    put(table, &field::PROCESS, text(&tracked.process));
    if !tracked.arguments.is_empty() {
        put(
            table,
            &field::ARGUMENTS,
            Value::Array(tracked.arguments.iter().map(text).collect()),
        );
    }
    if tracked.full_command {
        put(table, &field::FULL_COMMAND, Value::Boolean(true));
    }
    if let Some(param_match) = tracked.param_match {
        put(table, &field::PARAM_MATCH, text(param_match.as_str()));
    }
    put(table, &field::QUORUM, Value::Integer(tracked.quorum.into()));
    put(
        table,
        &field::QUORUM_MAX,
        Value::Integer(tracked.quorum_max.into()),
    );
    if !tracked.fork_delay.is_zero() {
        put(table, &field::FORK_DELAY, duration(tracked.fork_delay));
    }
    if !tracked.terminate_delay.is_zero() {
        put(
            table,
            &field::TERMINATE_DELAY,
            duration(tracked.terminate_delay),
        );
    }
}

fn notify(settings: &NotifySettings) -> Table {
    use schema::notify as field;
    let arguments = &settings.arguments;
    let programs = [
        (
            field::ON_MASTER.key,
            &settings.on_master,
            &arguments.on_master,
        ),
        (
            field::ON_BACKUP.key,
            &settings.on_backup,
            &arguments.on_backup,
        ),
        (field::ON_FAULT.key, &settings.on_fault, &arguments.on_fault),
        (field::ON_STOP.key, &settings.on_stop, &arguments.on_stop),
        (
            field::ON_CHANGE.key,
            &settings.on_change,
            &arguments.on_change,
        ),
        (
            field::ON_MASTER_RX_LOWER_PRIORITY.key,
            &settings.on_master_rx_lower_priority,
            &arguments.on_master_rx_lower_priority,
        ),
        (
            field::ON_DELETED.key,
            &settings.on_deleted,
            &arguments.on_deleted,
        ),
        (
            field::FIFO_PROGRAM.key,
            &settings.fifo_program,
            &arguments.fifo_program,
        ),
    ];
    let mut table: Table = programs
        .into_iter()
        .filter_map(|(key, program, arguments)| {
            let program = path(program.as_ref()?);
            let value = if arguments.is_empty() {
                program
            } else {
                let mut words = vec![program];
                words.extend(arguments.iter().map(text));
                Value::Array(words)
            };
            Some((key.to_owned(), value))
        })
        .collect();
    if let Some(fifo) = &settings.fifo {
        put(&mut table, &schema::notify::FIFO, path(fifo));
    }
    if settings.priority_changes {
        put(
            &mut table,
            &schema::notify::PRIORITY_CHANGES,
            Value::Boolean(true),
        );
    }
    if settings.report_removal_as != RemovalReport::default() {
        put(
            &mut table,
            &schema::notify::REPORT_REMOVAL_AS,
            text(settings.report_removal_as.as_str()),
        );
    }
    if let Some(name) = &settings.name {
        put(&mut table, &schema::notify::NAME, text(name));
    }
    table
}
