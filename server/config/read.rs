//! Reading the merged tree into the file model, one field at a time: types, ranges and
//! everything else that one field decides alone. Checks that involve two fields are in
//! `validate.rs`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ::config::Value;

use crate::vrrp::node::UnicastPeer;
use crate::vrrp::{Auth, DebounceDelays, DownTimerAdverts, HopLimits, MAX_DEBOUNCE_DELAY, Version};

use super::check_rules;
use super::error::FieldPath;
use super::fields::{Field, Finding, Findings, Table};
use super::model::{
    ApiFile, FileConfig, Given, InstanceFile, Located, SyncGroupFile, VirtualMacFile,
};
use super::routes::{self, Leniency, VirtualRoute, VirtualRule};
use super::schema::{self, FieldSpec};
use super::settings::{
    EmailAlertSettings, GarpGroupSettings, GarpSettings, GlobalSettings, HealthCheck,
    LinkDebounceSettings, LogFormat, LogLevel, NotifyArguments, NotifySettings, OtlpProtocol,
    ParamMatch, Probe, ProcessMatch, RemovalReport, Spacing, StaticAddress, TelemetrySettings,
    TlsSettings, V3Ipv4Checksum, VirtualAddress,
};

// The defaults below are also written, as text, in the field table (`schema.rs`); a test
// (`tests/config.rs`, the_field_tables_defaults_are_what_absence_means) holds them equal.

/// keepalived's `vrrp_garp_master_repeat` default.
const DEFAULT_GARP_REPEAT: u8 = 5;
/// keepalived's `vrrp_garp_master_delay` default: the second burst.
const DEFAULT_GARP_SECOND_BURST: Duration = Duration::from_secs(5);
/// keepalived's `preempt_delay` maximum.
const MAX_PREEMPT_DELAY: Duration = Duration::from_secs(1000);

/// The longest `startup_delay`: keepalived's limit for `vrrp_startup_delay`, the seconds
/// that fit its timer in a 32-bit count of microseconds (keepalived/core/global_parser.c).
const MAX_STARTUP_DELAY: Duration = Duration::from_secs(4294);
/// The longest announcement spacing: keepalived's limit for `garp_interval`, the seconds
/// that fit in a signed 32-bit count of microseconds (`vrrp/vrrp_parser.c`).
const MAX_SPACING: Duration = Duration::from_secs(2147);
/// The SMTP port when `smtp_server` names none.
const DEFAULT_SMTP_PORT: u16 = 25;
/// keepalived's `smtp_connect_timeout` default.
const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads the merged tree; every problem that one field shows on its own goes to `findings`.
pub(super) fn read_file(root: &Value, findings: &mut Findings) -> FileConfig {
    let root = Field::new(FieldPath::root(), root.clone());
    let Some(mut root) = findings.keep(root.table()) else {
        // The `config` crate builds its tree from an empty table, so this does not happen
        // today; should that change, the problem is reported instead of assumed away.
        return FileConfig {
            global: default_global(),
            api: read_api(
                None,
                &FieldPath::root().key(schema::top_level::API.key),
                findings,
            ),
            instances: Vec::new(),
            sync_groups: Vec::new(),
            email_alerts: Given::Absent,
            telemetry: TelemetrySettings::default(),
            static_routes: Vec::new(),
            static_rules: Vec::new(),
            link_debounce: Vec::new(),
            static_addresses: Vec::new(),
            garp_groups: Vec::new(),
        };
    };
    let global = match root
        .get(&schema::top_level::GLOBAL)
        .map(|field| field.table())
    {
        None => default_global(),
        Some(table) => findings
            .keep(table)
            .map(|table| read_global(table, findings))
            .unwrap_or_else(default_global),
    };
    let api_path = root.path().key(schema::top_level::API.key);
    let api_table = root
        .get(&schema::top_level::API)
        .and_then(|field| findings.keep(field.table()));
    let api = read_api(api_table, &api_path, findings);
    let telemetry = match root
        .get(&schema::top_level::TELEMETRY)
        .map(|field| field.table())
    {
        None => TelemetrySettings::default(),
        Some(table) => findings
            .keep(table)
            .map(|table| read_telemetry(table, findings))
            .unwrap_or_default(),
    };
    let instances = match root.require(
        &schema::top_level::INSTANCES,
        "a configuration runs at least one instance ([instances.<name>])",
        findings,
    ) {
        None => Vec::new(),
        Some(field) => match findings.keep(field.table()) {
            None => Vec::new(),
            Some(table) => read_instances(table, findings),
        },
    };
    let sync_groups = match root.get(&schema::top_level::SYNC_GROUPS) {
        None => Vec::new(),
        Some(field) => findings
            .keep(field.table())
            .map(|table| read_sync_groups(table, findings))
            .unwrap_or_default(),
    };
    let link_debounce = match root.get(&schema::top_level::LINK_DEBOUNCE) {
        None => Vec::new(),
        Some(field) => findings
            .keep(field.table())
            .map(|table| read_link_debounce(table, findings))
            .unwrap_or_default(),
    };
    let garp_groups = match root.get(&schema::top_level::GARP_GROUPS) {
        None => Vec::new(),
        Some(field) => findings
            .keep(field.table())
            .map(|table| read_garp_groups(table, findings))
            .unwrap_or_default(),
    };
    let email_alerts = nested(
        &mut root,
        &schema::top_level::EMAIL_ALERTS,
        findings,
        read_email_alerts,
    );
    let (static_routes, static_rules) = read_routing(
        &mut root,
        &schema::top_level::STATIC_ROUTES,
        &schema::top_level::STATIC_RULES,
        findings,
    );
    let static_addresses = list_of(
        &mut root,
        &schema::top_level::STATIC_ADDRESSES,
        None,
        findings,
        static_address,
    )
    .valid()
    .cloned()
    .unwrap_or_default();
    root.finish(findings);
    FileConfig {
        global,
        api,
        instances,
        sync_groups,
        email_alerts,
        telemetry,
        static_routes,
        static_rules,
        link_debounce,
        static_addresses,
        garp_groups,
    }
}

/// `[link_debounce.<interface>]`: each delay at most keepalived's 255 s. Interface names
/// are the kernel's, so they are not held to the rules of the names chosen here.
fn read_link_debounce(table: Table, findings: &mut Findings) -> Vec<LinkDebounceSettings> {
    let mut entries = Vec::new();
    for (interface, field) in table.named_entries() {
        if interface.is_empty() || interface.len() > check_rules::MAX_INTERFACE_NAME {
            findings.add(
                &field.path,
                format!(
                    "`{interface}` is not an interface name: the kernel's have 1 to {} \
                     characters",
                    check_rules::MAX_INTERFACE_NAME
                ),
            );
            continue;
        }
        let Some(mut entry) = findings.keep(field.table()) else {
            continue;
        };
        let mut delay = |spec| {
            given(&mut entry, spec, findings, |field| {
                let delay = field.duration()?;
                if delay > MAX_DEBOUNCE_DELAY {
                    return Err(field.problem(format!(
                        "{} is too long; the most is 255 s, as in keepalived",
                        super::duration::seconds_text(delay)
                    )));
                }
                Ok(delay)
            })
        };
        let down = delay(&schema::link_debounce::DOWN_DELAY);
        let up = delay(&schema::link_debounce::UP_DELAY);
        entry.finish(findings);
        if let (Some(down), Some(up)) = (down.or(Duration::ZERO), up.or(Duration::ZERO)) {
            entries.push(LinkDebounceSettings {
                interface,
                delays: DebounceDelays { down, up },
            });
        }
    }
    entries.sort_by(|a, b| a.interface.cmp(&b.interface));
    entries
}

/// `[garp_groups.<name>]`: which interface is in two groups is `validate.rs`'s to find.
fn read_garp_groups(table: Table, findings: &mut Findings) -> Vec<Located<GarpGroupSettings>> {
    let mut groups = Vec::new();
    for (name, field) in table.named_entries() {
        if let Err(message) = check_name(&name) {
            findings.add(
                &field.path,
                format!("`{name}` is not a usable garp group name: {message}"),
            );
            continue;
        }
        let Some(mut group) = findings.keep(field.table()) else {
            continue;
        };
        let garp_interval = given(
            &mut group,
            &schema::garp_group::GARP_INTERVAL,
            findings,
            spacing_interval,
        );
        let gna_interval = given(
            &mut group,
            &schema::garp_group::GNA_INTERVAL,
            findings,
            spacing_interval,
        );
        let interfaces = list_of(
            &mut group,
            &schema::garp_group::INTERFACES,
            Some("a garp group lists the interfaces whose announcements share its spacing"),
            findings,
            |field, findings| findings.keep(field.non_empty_text()),
        );
        group.finish(findings);
        let (Some(arp), Some(na), Given::Valid(interfaces)) = (
            garp_interval.optional(),
            gna_interval.optional(),
            interfaces,
        ) else {
            continue;
        };
        groups.push(Located {
            path: field.path.clone(),
            value: GarpGroupSettings {
                name,
                spacing: Spacing {
                    arp: arp.flatten(),
                    na: na.flatten(),
                },
                interfaces: interfaces
                    .into_iter()
                    .map(|located| located.value)
                    .collect(),
            },
        });
    }
    groups
}

/// The spacing of announcements: whole microseconds, keepalived's resolution
/// (`read_decimal_unsigned_strvec` with `TIMER_HZ_DIGITS`, `core/global_parser.c`); 0 turns it
/// off, as an absent key does.
fn spacing_interval(field: &Field) -> Result<Option<Duration>, Finding> {
    let interval = field.duration()?;
    if interval.subsec_nanos() % 1000 != 0 {
        return Err(field.problem(format!(
            "{} is finer than a microsecond, keepalived's resolution for it",
            super::duration::seconds_text(interval)
        )));
    }
    if interval > MAX_SPACING {
        return Err(field.problem(format!(
            "{} is too long; the most is 2147 s, as in keepalived",
            super::duration::seconds_text(interval)
        )));
    }
    Ok((!interval.is_zero()).then_some(interval))
}

fn read_sync_groups(table: Table, findings: &mut Findings) -> Vec<SyncGroupFile> {
    let mut groups = Vec::new();
    for (name, field) in table.named_entries() {
        if let Err(message) = check_name(&name) {
            findings.add(
                &field.path,
                format!("`{name}` is not a usable sync group name: {message}"),
            );
            continue;
        }
        let Some(mut group) = findings.keep(field.table()) else {
            continue;
        };
        let instances = list_of(
            &mut group,
            &schema::sync_group::INSTANCES,
            Some("a sync group lists the instances that change state together"),
            findings,
            |field, findings| findings.keep(field.non_empty_text()),
        );
        let notify = read_optional_notify(&mut group, &schema::sync_group::NOTIFY, findings);
        let tracking_weight = given(
            &mut group,
            &schema::sync_group::TRACKING_WEIGHT,
            findings,
            Field::boolean,
        );
        group.finish(findings);
        if let Given::Valid(instances) = instances {
            groups.push(SyncGroupFile {
                name,
                path: field.path.clone(),
                instances,
                notify,
                tracking_weight,
            });
        }
    }
    groups
}

/// `[email_alerts]`: the server, the sender and the recipients.
fn read_email_alerts(mut table: Table, findings: &mut Findings) -> Option<EmailAlertSettings> {
    let server = required(
        &mut table,
        &schema::email_alerts::SMTP_SERVER,
        "the mail server, like \"192.0.2.25\" or \"mail.example.com:587\"",
        findings,
        smtp_server,
    );
    let connect_timeout = given(
        &mut table,
        &schema::email_alerts::CONNECT_TIMEOUT,
        findings,
        |field| {
            let timeout = field.duration()?;
            if timeout.is_zero() {
                return Err(field.problem("must be longer than zero"));
            }
            Ok(timeout)
        },
    );
    let helo_name = given(
        &mut table,
        &schema::email_alerts::HELO_NAME,
        findings,
        Field::non_empty_text,
    );
    let from = required(
        &mut table,
        &schema::email_alerts::FROM,
        "alerts need a sender address",
        findings,
        mail_address,
    );
    let to = list_of(
        &mut table,
        &schema::email_alerts::TO,
        Some("alerts need at least one recipient"),
        findings,
        |field, findings| findings.keep(mail_address(field)),
    );
    table.finish(findings);
    let (smtp_host, smtp_port) = server.valid()?.clone();
    Some(EmailAlertSettings {
        smtp_host,
        smtp_port,
        connect_timeout: connect_timeout.or(DEFAULT_SMTP_TIMEOUT)?,
        helo_name: helo_name.optional()?,
        from: from.valid()?.clone(),
        to: to.valid()?.iter().map(|to| to.value.clone()).collect(),
    })
}

/// `"host"`, `"host:port"`, `"192.0.2.25"`, `"[2001:db8::25]:25"` or a bare IPv6 address.
fn smtp_server(field: &Field) -> Result<(String, u16), Finding> {
    let text = field.non_empty_text()?;
    let text = text.trim();
    let bad = || {
        field.problem(format!(
            "\"{text}\" is not a host with an optional port, like \"192.0.2.25\", \
             \"mail.example.com:587\" or \"[2001:db8::25]:25\""
        ))
    };
    if let Ok(address) = text.parse::<IpAddr>() {
        return Ok((address.to_string(), DEFAULT_SMTP_PORT));
    }
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok((address.ip().to_string(), address.port()));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad())?),
        None => (text, DEFAULT_SMTP_PORT),
    };
    let host_character = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    if host.is_empty() || !host.chars().all(host_character) || port == 0 {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

/// An address as SMTP's `MAIL FROM` and `RCPT TO` carry it: `local@domain`, with nothing
/// that could end the command early or start another (RFC 5321 §4.1.2).
fn mail_address(field: &Field) -> Result<String, Finding> {
    let text = field.non_empty_text()?;
    let usable = text
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && text
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | ',' | '"'));
    if usable {
        Ok(text)
    } else {
        Err(field.problem(format!(
            "\"{text}\" is not a mail address like ops@example.com"
        )))
    }
}

fn default_global() -> GlobalSettings {
    GlobalSettings {
        router_id: None,
        log_format: LogFormat::Human,
        log_level: LogLevel::Info,
        exec_checks_as_root: false,
        startup_delay: Duration::ZERO,
        announce_spacing: Spacing::default(),
    }
}

/// The field under `key` converted by `convert`, recording its problem if it has one.
fn given<T>(
    table: &mut Table,
    key: &'static FieldSpec,
    findings: &mut Findings,
    convert: impl FnOnce(&Field) -> Result<T, Finding>,
) -> Given<T> {
    match table.get(key) {
        None => Given::Absent,
        Some(field) => match findings.keep(convert(&field)) {
            Some(value) => Given::Valid(value),
            None => Given::Invalid,
        },
    }
}

/// Like [`given`], but a missing key is a problem too; `why` says what the key is for.
fn required<T>(
    table: &mut Table,
    key: &'static FieldSpec,
    why: &str,
    findings: &mut Findings,
    convert: impl FnOnce(&Field) -> Result<T, Finding>,
) -> Given<T> {
    match table.require(key, why, findings) {
        None => Given::Absent,
        Some(field) => match findings.keep(convert(&field)) {
            Some(value) => Given::Valid(value),
            None => Given::Invalid,
        },
    }
}

/// The table under `key` read by `read`, which records its own problems and returns `None`
/// when the table is unusable.
fn nested<T>(
    table: &mut Table,
    key: &'static FieldSpec,
    findings: &mut Findings,
    read: impl FnOnce(Table, &mut Findings) -> Option<T>,
) -> Given<T> {
    let Some(field) = table.get(key) else {
        return Given::Absent;
    };
    match findings
        .keep(field.table())
        .and_then(|inner| read(inner, findings))
    {
        Some(value) => Given::Valid(value),
        None => Given::Invalid,
    }
}

/// The list under `key`, each element converted by `element`, which records its own
/// problems. A bad element is left out, so the others are still checked against each other.
/// When `required` says why, a missing list is a problem.
fn list_of<T>(
    table: &mut Table,
    key: &'static FieldSpec,
    required: Option<&str>,
    findings: &mut Findings,
    mut element: impl FnMut(&Field, &mut Findings) -> Option<T>,
) -> Given<Vec<Located<T>>> {
    let field = match required {
        Some(why) => table.require(key, why, findings),
        None => table.get(key),
    };
    let Some(field) = field else {
        return Given::Absent;
    };
    let Some(elements) = findings.keep(field.list()) else {
        return Given::Invalid;
    };
    if let (Some(why), true) = (required, elements.is_empty()) {
        findings.add(&field.path, format!("is empty; {why}"));
        return Given::Invalid;
    }
    Given::Valid(
        elements
            .iter()
            .filter_map(|item| {
                element(item, findings).map(|value| Located {
                    path: item.path.clone(),
                    value,
                })
            })
            .collect(),
    )
}

fn read_global(mut table: Table, findings: &mut Findings) -> GlobalSettings {
    let defaults = default_global();
    let router_id = given(
        &mut table,
        &schema::global::ROUTER_ID,
        findings,
        Field::non_empty_text,
    );
    let log_format = given(&mut table, &schema::global::LOG_FORMAT, findings, |field| {
        field.choice(&[("human", LogFormat::Human), ("json", LogFormat::Json)])
    });
    let log_level = given(&mut table, &schema::global::LOG_LEVEL, findings, |field| {
        field.choice(&[
            ("error", LogLevel::Error),
            ("warn", LogLevel::Warn),
            ("info", LogLevel::Info),
            ("debug", LogLevel::Debug),
            ("trace", LogLevel::Trace),
        ])
    });
    let exec_checks_as_root = given(
        &mut table,
        &schema::global::EXEC_CHECKS_AS_ROOT,
        findings,
        Field::boolean,
    );
    let startup_delay = given(
        &mut table,
        &schema::global::STARTUP_DELAY,
        findings,
        |field| {
            let delay = field.duration()?;
            if delay > MAX_STARTUP_DELAY {
                return Err(field.problem(format!(
                    "{} is too long; the most is 4294 s, as in keepalived",
                    super::duration::seconds_text(delay)
                )));
            }
            Ok(delay)
        },
    );
    let garp_interval = given(
        &mut table,
        &schema::global::GARP_INTERVAL,
        findings,
        spacing_interval,
    );
    let gna_interval = given(
        &mut table,
        &schema::global::GNA_INTERVAL,
        findings,
        spacing_interval,
    );
    table.finish(findings);
    GlobalSettings {
        announce_spacing: Spacing {
            arp: garp_interval.valid().copied().flatten(),
            na: gna_interval.valid().copied().flatten(),
        },
        router_id: router_id.valid().cloned(),
        log_format: log_format.valid().copied().unwrap_or(defaults.log_format),
        log_level: log_level.valid().copied().unwrap_or(defaults.log_level),
        exec_checks_as_root: exec_checks_as_root
            .valid()
            .copied()
            .unwrap_or(defaults.exec_checks_as_root),
        startup_delay: startup_delay
            .valid()
            .copied()
            .unwrap_or(defaults.startup_delay),
    }
}

fn read_telemetry(mut table: Table, findings: &mut Findings) -> TelemetrySettings {
    let otlp_endpoint = given(
        &mut table,
        &schema::telemetry::OTLP_ENDPOINT,
        findings,
        |field| {
            let endpoint = field.non_empty_text()?;
            if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
                Ok(endpoint)
            } else {
                Err(field
                    .problem("is not a URL; write the collector as http://host:port (or https://)"))
            }
        },
    );
    let otlp_protocol = given(
        &mut table,
        &schema::telemetry::OTLP_PROTOCOL,
        findings,
        |field| {
            field.choice(&[
                ("grpc", OtlpProtocol::Grpc),
                ("http/protobuf", OtlpProtocol::HttpProtobuf),
            ])
        },
    );
    let metrics_listen = given(
        &mut table,
        &schema::telemetry::METRICS_LISTEN,
        findings,
        socket_address,
    );
    table.finish(findings);
    TelemetrySettings {
        otlp_endpoint: otlp_endpoint.valid().cloned(),
        otlp_protocol: otlp_protocol.valid().copied(),
        metrics_listen: metrics_listen.valid().copied(),
    }
}

fn read_api(table: Option<Table>, path: &FieldPath, findings: &mut Findings) -> ApiFile {
    let Some(mut table) = table else {
        return ApiFile {
            path: path.clone(),
            socket: Given::Absent,
            tcp_address: Given::Absent,
            tls: Given::Absent,
            allow_plaintext: Given::Absent,
            tokens_file: Given::Absent,
            registered_checks_file: Given::Absent,
            priorities_file: Given::Absent,
        };
    };
    let api = ApiFile {
        path: path.clone(),
        socket: given(&mut table, &schema::api::SOCKET, findings, absolute_path),
        tcp_address: given(
            &mut table,
            &schema::api::TCP_ADDRESS,
            findings,
            socket_address,
        ),
        tls: nested(
            &mut table,
            &schema::api::TLS,
            findings,
            |mut tls, findings| {
                let cert = required(
                    &mut tls,
                    &schema::tls::CERT,
                    "TLS needs a certificate",
                    findings,
                    absolute_path,
                );
                let key = required(
                    &mut tls,
                    &schema::tls::KEY,
                    "TLS needs a private key",
                    findings,
                    absolute_path,
                );
                let client_ca = given(&mut tls, &schema::tls::CLIENT_CA, findings, absolute_path);
                tls.finish(findings);
                Some(TlsSettings {
                    cert: cert.valid()?.clone(),
                    key: key.valid()?.clone(),
                    client_ca: client_ca.valid().cloned(),
                })
            },
        ),
        allow_plaintext: given(
            &mut table,
            &schema::api::ALLOW_PLAINTEXT,
            findings,
            Field::boolean,
        ),
        tokens_file: given(
            &mut table,
            &schema::api::TOKENS_FILE,
            findings,
            absolute_path,
        ),
        registered_checks_file: given(
            &mut table,
            &schema::api::REGISTERED_CHECKS_FILE,
            findings,
            absolute_path,
        ),
        priorities_file: given(
            &mut table,
            &schema::api::PRIORITIES_FILE,
            findings,
            absolute_path,
        ),
    };
    table.finish(findings);
    api
}

fn read_instances(table: Table, findings: &mut Findings) -> Vec<InstanceFile> {
    let mut instances = Vec::new();
    for (name, field) in table.named_entries() {
        if let Err(message) = check_name(&name) {
            findings.add(
                &field.path,
                format!("`{name}` is not a usable instance name: {message}"),
            );
            continue;
        }
        if let Some(table) = findings.keep(field.table()) {
            instances.push(read_instance(name, table, findings));
        }
    }
    instances
}

/// Names become keys of environment variables, which the `config` crate lower-cases and
/// splits at `__`; a name outside these rules could not be overridden.
fn check_name(name: &str) -> Result<(), &'static str> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if name.is_empty() || !name.chars().all(allowed) || name.contains("__") {
        Err(
            "use lowercase letters, digits, `-` and single `_`, so that environment \
             variables can name it",
        )
    } else {
        Ok(())
    }
}

fn read_instance(name: String, mut table: Table, findings: &mut Findings) -> InstanceFile {
    let path = table.path().clone();
    let interface = required(
        &mut table,
        &schema::instance::INTERFACE,
        "every instance names the interface it runs on",
        findings,
        interface_name,
    );
    let vrid = required(
        &mut table,
        &schema::instance::VRID,
        "every instance needs its Virtual Router ID (keepalived's virtual_router_id)",
        findings,
        |field| field.integer_in(1..=255, " (one byte; 0 is reserved)"),
    );
    let version = given(
        &mut table,
        &schema::instance::VERSION,
        findings,
        |field| match field.integer()? {
            2 => Ok(Version::V2),
            3 => Ok(Version::V3),
            other => Err(field.problem(format!(
                "{other} is not a VRRP version; use 2 (RFC 3768) or 3 (RFC 9568)"
            ))),
        },
    );
    let priority = given(&mut table, &schema::instance::PRIORITY, findings, |field| {
        field.integer_in(
            1..=255,
            " (255 means this router owns the addresses; 0 is only sent by a master that stops)",
        )
    });
    let advert_interval = given(
        &mut table,
        &schema::instance::ADVERT_INTERVAL,
        findings,
        Field::duration,
    );
    let virtual_addresses = list_of(
        &mut table,
        &schema::instance::VIRTUAL_ADDRESSES,
        // Optional: a VRRPv2 instance may have none, as keepalived's; validate.rs refuses
        // a VRRPv3 one without, as keepalived does.
        None,
        findings,
        virtual_address,
    );
    let excluded_addresses = list_of(
        &mut table,
        &schema::instance::EXCLUDED_ADDRESSES,
        None,
        findings,
        virtual_address,
    )
    .valid()
    .cloned()
    .unwrap_or_default();
    let unicast_src = given(
        &mut table,
        &schema::instance::UNICAST_SRC,
        findings,
        ip_address,
    );
    let unicast_peers = list_of(
        &mut table,
        &schema::instance::UNICAST_PEERS,
        None,
        findings,
        unicast_peer,
    );
    let check_unicast_src = given(
        &mut table,
        &schema::instance::CHECK_UNICAST_SRC,
        findings,
        Field::boolean,
    );
    let unicast_ttl = given(
        &mut table,
        &schema::instance::UNICAST_TTL,
        findings,
        |field| field.integer_in(1..=255, " (a TTL the kernel can send)"),
    );
    let auth = nested(
        &mut table,
        &schema::instance::AUTHENTICATION,
        findings,
        authentication,
    );
    let preempt = given(
        &mut table,
        &schema::instance::PREEMPT,
        findings,
        Field::boolean,
    );
    let preempt_delay = given(
        &mut table,
        &schema::instance::PREEMPT_DELAY,
        findings,
        |field| {
            let delay = field.duration()?;
            if delay > MAX_PREEMPT_DELAY {
                return Err(field.problem(format!(
                    "{} is too long; the most is 1000 s, as in keepalived",
                    super::duration::seconds_text(delay)
                )));
            }
            Ok(delay)
        },
    );
    let accept_mode = given(
        &mut table,
        &schema::instance::ACCEPT_MODE,
        findings,
        Field::boolean,
    );
    let dont_track_primary = given(
        &mut table,
        &schema::instance::DONT_TRACK_PRIMARY,
        findings,
        Field::boolean,
    );
    let down_timer_adverts = given(
        &mut table,
        &schema::instance::DOWN_TIMER_ADVERTS,
        findings,
        |field| {
            let adverts = field.integer_in(
                1..=i64::from(DownTimerAdverts::MAX),
                " (keepalived's limits for down_timer_adverts)",
            )?;
            DownTimerAdverts::new(adverts).ok_or_else(|| field.problem("out of range"))
        },
    );
    let lower_prio_no_advert = given(
        &mut table,
        &schema::instance::LOWER_PRIO_NO_ADVERT,
        findings,
        Field::boolean,
    );
    let strict_mode = given(
        &mut table,
        &schema::instance::STRICT_MODE,
        findings,
        Field::boolean,
    );
    let checksum = given(&mut table, &schema::instance::CHECKSUM, findings, |field| {
        field.choice(&[
            ("rfc", V3Ipv4Checksum::Rfc),
            ("v2-compatible", V3Ipv4Checksum::V2Compatible),
        ])
    });
    let garp = match table.get(&schema::instance::GARP) {
        None => None,
        Some(field) => findings
            .keep(field.table())
            .map(|garp| read_garp(garp, findings)),
    };
    let health_checks = match table.get(&schema::instance::HEALTH_CHECKS) {
        None => Vec::new(),
        Some(field) => findings
            .keep(field.table())
            .map(|checks| read_health_checks(checks, findings))
            .unwrap_or_default(),
    };
    let notify = read_optional_notify(&mut table, &schema::instance::NOTIFY, findings);
    let email_alerts = given(
        &mut table,
        &schema::instance::EMAIL_ALERTS,
        findings,
        Field::boolean,
    );
    let (virtual_routes, virtual_rules) = read_routing(
        &mut table,
        &schema::instance::VIRTUAL_ROUTES,
        &schema::instance::VIRTUAL_RULES,
        findings,
    );
    let virtual_mac = given(
        &mut table,
        &schema::instance::VIRTUAL_MAC,
        findings,
        virtual_mac,
    );
    let virtual_mac_xmit_base = given(
        &mut table,
        &schema::instance::VIRTUAL_MAC_XMIT_BASE,
        findings,
        Field::boolean,
    );
    table.finish(findings);
    InstanceFile {
        name,
        path,
        interface,
        vrid,
        version,
        priority,
        advert_interval,
        virtual_addresses,
        excluded_addresses,
        unicast_src,
        unicast_peers,
        check_unicast_src,
        unicast_ttl,
        auth,
        preempt,
        preempt_delay,
        accept_mode,
        dont_track_primary,
        down_timer_adverts,
        lower_prio_no_advert,
        strict_mode,
        checksum,
        garp: garp.unwrap_or(GarpSettings {
            repeat: DEFAULT_GARP_REPEAT,
            second_burst_after: Some(DEFAULT_GARP_SECOND_BURST),
            refresh_every: None,
            lower_priority_repeat: DEFAULT_GARP_REPEAT,
            lower_priority_second_after: Some(DEFAULT_GARP_SECOND_BURST),
        }),
        health_checks,
        notify,
        email_alerts,
        virtual_routes,
        virtual_rules,
        virtual_mac,
        virtual_mac_xmit_base,
    }
}

/// `virtual_mac`: `true` (keepalived's name `vrrp.<VRID>`), `false`, or the interface name.
fn virtual_mac(field: &Field) -> Result<VirtualMacFile, Finding> {
    if let Ok(on) = field.boolean() {
        return Ok(if on {
            VirtualMacFile::DefaultName
        } else {
            VirtualMacFile::Off
        });
    }
    let name = field.non_empty_text().map_err(|_| {
        field.problem("expected true, false or an interface name such as \"vrrp.51\"")
    })?;
    // The kernel's rules for a link name (dev_valid_name): IFNAMSIZ - 1 bytes, no '/', ':'
    // or white space, and not "." or "..".
    if name.len() > 15
        || name == "."
        || name == ".."
        || name.contains(['/', ':'])
        || name.chars().any(char::is_whitespace)
    {
        return Err(field.problem(format!(
            "\"{name}\" cannot be an interface name: at most 15 bytes, without '/', ':' or \
             spaces"
        )));
    }
    Ok(VirtualMacFile::Named(name))
}

/// The lists of routes and rules under `routes_key` and `rules_key`, each entry read on its
/// own; a bad one is reported and left out.
fn read_routing(
    table: &mut Table,
    routes_key: &'static FieldSpec,
    rules_key: &'static FieldSpec,
    findings: &mut Findings,
) -> (Vec<Located<VirtualRoute>>, Vec<Located<VirtualRule>>) {
    let routes = list_of(table, routes_key, None, findings, |field, findings| {
        findings.keep(route_entry(field))
    })
    .valid()
    .cloned()
    .unwrap_or_default();
    let rules = list_of(table, rules_key, None, findings, |field, findings| {
        findings.keep(rule_entry(field))
    })
    .valid()
    .cloned()
    .unwrap_or_default();
    (routes, rules)
}

/// One `virtual_routes` entry: a route as `ip route add` takes it. What keepalived lets pass
/// with a warning (see [`Leniency`]) is refused here, saying what to write.
fn route_entry(field: &Field) -> Result<VirtualRoute, Finding> {
    let text = field.non_empty_text()?;
    let read = routes::read_route(&text)
        .map_err(|message| field.problem(format!("\"{text}\": {message}")))?;
    match read.leniencies.first() {
        None => Ok(read.value),
        Some(leniency) => Err(field.problem(format!("\"{text}\": {leniency}"))),
    }
}

/// One `virtual_rules` entry: a rule as `ip rule add` takes it, with its preference.
fn rule_entry(field: &Field) -> Result<VirtualRule, Finding> {
    let text = field.non_empty_text()?;
    let read = routes::read_rule(&text, 0)
        .map_err(|message| field.problem(format!("\"{text}\": {message}")))?;
    match read.leniencies.first() {
        None => Ok(read.value),
        Some(Leniency::NoRulePriority) => Err(field.problem(format!(
            "\"{text}\": give the rule a preference (`priority N`): without one the kernel puts \
             it before the first existing rule"
        ))),
        Some(leniency) => Err(field.problem(format!("\"{text}\": {leniency}"))),
    }
}

fn interface_name(field: &Field) -> Result<String, Finding> {
    let name = field.non_empty_text()?;
    check_rules::interface_name(&name).map_err(|message| field.problem(message))?;
    Ok(name)
}

fn ip_address(field: &Field) -> Result<IpAddr, Finding> {
    let text = field.text()?;
    text.trim()
        .parse()
        .map_err(|_| field.problem(format!("\"{text}\" is not an IP address")))
}

fn socket_address(field: &Field) -> Result<SocketAddr, Finding> {
    let text = field.text()?;
    text.trim().parse().map_err(|_| {
        field.problem(format!(
            "\"{text}\" is not an address and port like 198.51.100.1:50051 or [2001:db8::1]:50051"
        ))
    })
}

fn absolute_path(field: &Field) -> Result<PathBuf, Finding> {
    let path = PathBuf::from(field.non_empty_text()?);
    check_rules::absolute_path(&path).map_err(|message| field.problem(message))?;
    Ok(path)
}

/// One virtual address: `"192.0.2.100/24"`, or a table with `address` and optionally `label`
/// and `dev`.
fn virtual_address(field: &Field, findings: &mut Findings) -> Option<VirtualAddress> {
    if !field.is_table() {
        let (address, prefix_len) = findings.keep(address_with_prefix(field))?;
        return Some(VirtualAddress {
            address,
            prefix_len,
            label: None,
            device: None,
        });
    }
    let mut table = findings.keep(field.table())?;
    let address = required(
        &mut table,
        &schema::address::ADDRESS,
        "the address, like \"192.0.2.100/24\"",
        findings,
        address_with_prefix,
    );
    let label = given(&mut table, &schema::address::LABEL, findings, |label| {
        let text = label.non_empty_text()?;
        if text.len() > check_rules::MAX_INTERFACE_NAME {
            return Err(label.problem(format!(
                "\"{text}\" is {} bytes long; Linux labels have at most {}",
                text.len(),
                check_rules::MAX_INTERFACE_NAME
            )));
        }
        Ok(text)
    });
    let device = given(&mut table, &schema::address::DEV, findings, interface_name);
    table.finish(findings);
    let (address, prefix_len) = *address.valid()?;
    if label.is_given() && address.is_ipv6() {
        findings.add(
            &field.path.key(schema::address::LABEL.key),
            "labels exist only for IPv4 addresses (Linux has no IPv6 address labels)",
        );
        return None;
    }
    Some(VirtualAddress {
        address,
        prefix_len,
        label: label.optional()?,
        device: device.optional()?,
    })
}

/// One unicast peer: `"192.0.2.2"`, or a table with `address` and the TTLs / hop limits its
/// adverts are taken with, `min_ttl` and `max_ttl` (keepalived's `unicast_peer` options).
fn unicast_peer(field: &Field, findings: &mut Findings) -> Option<UnicastPeer> {
    if !field.is_table() {
        return Some(UnicastPeer {
            address: findings.keep(ip_address(field))?,
            hop_limits: HopLimits::ANY,
        });
    }
    let mut table = findings.keep(field.table())?;
    let address = required(
        &mut table,
        &schema::unicast_peer::ADDRESS,
        "the peer's address, like \"192.0.2.2\"",
        findings,
        ip_address,
    );
    let hop_limit = |field: &Field| field.integer_in(0..=255, " (a TTL or hop limit)");
    let lowest = given(
        &mut table,
        &schema::unicast_peer::MIN_TTL,
        findings,
        hop_limit,
    );
    let highest = given(
        &mut table,
        &schema::unicast_peer::MAX_TTL,
        findings,
        hop_limit,
    );
    table.finish(findings);
    Some(UnicastPeer {
        address: *address.valid()?,
        // A minimum above the maximum takes nothing from this peer, as keepalived takes
        // nothing (it warns "all packets will be discarded" and keeps the peer).
        hop_limits: HopLimits {
            lowest: lowest.or(HopLimits::ANY.lowest)?,
            highest: highest.or(HopLimits::ANY.highest)?,
        },
    })
}

/// One static address (keepalived's `static_ipaddress` entry): a table with `address` and
/// `dev`, optionally `label` and `no_track`.
fn static_address(field: &Field, findings: &mut Findings) -> Option<StaticAddress> {
    let mut table = findings.keep(field.table())?;
    let address = required(
        &mut table,
        &schema::static_address::ADDRESS,
        "the address, like \"192.0.2.10/24\"",
        findings,
        address_with_prefix,
    );
    let device = required(
        &mut table,
        &schema::static_address::DEV,
        "the interface the address goes on, like \"eth0\"",
        findings,
        interface_name,
    );
    let label = given(
        &mut table,
        &schema::static_address::LABEL,
        findings,
        |label| label.non_empty_text(),
    );
    let no_track = given(
        &mut table,
        &schema::static_address::NO_TRACK,
        findings,
        Field::boolean,
    );
    table.finish(findings);
    let (address, prefix_len) = *address.valid()?;
    let device = device.valid()?.clone();
    let label = label.optional()?;
    if let Some(label) = &label {
        let problem = if address.is_ipv6() {
            Some("labels exist only for IPv4 addresses (Linux has no IPv6 address labels)".into())
        } else if !label.starts_with(device.as_str()) {
            Some(format!(
                "\"{label}\" must begin with the name of the interface the address is on, \
                 \"{device}\", as `ip address add` requires"
            ))
        } else if label.len() > check_rules::MAX_INTERFACE_NAME {
            Some(format!(
                "\"{label}\" is {} bytes long; Linux labels have at most {}",
                label.len(),
                check_rules::MAX_INTERFACE_NAME
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            findings.add(&field.path.key(schema::static_address::LABEL.key), problem);
            return None;
        }
    }
    Some(StaticAddress {
        address: VirtualAddress {
            address,
            prefix_len,
            label,
            device: Some(device),
        },
        no_track: no_track.or(false)?,
    })
}

/// `"192.0.2.100/24"` or `"192.0.2.100"` (a host address: /32 or /128, as keepalived does).
fn address_with_prefix(field: &Field) -> Result<(IpAddr, u8), Finding> {
    let text = field.text()?;
    let (address_text, prefix_text) = match text.trim().split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text.trim(), None),
    };
    let address: IpAddr = address_text
        .parse()
        .map_err(|_| field.problem(format!("\"{address_text}\" is not an IP address")))?;
    let longest: u8 = if address.is_ipv4() { 32 } else { 128 };
    let prefix_len = match prefix_text {
        None => longest,
        Some(prefix) => prefix
            .parse::<u8>()
            .ok()
            .filter(|length| *length <= longest)
            .ok_or_else(|| {
                field.problem(format!(
                    "\"/{prefix}\" is not a prefix length for {address}; use 0..{longest}"
                ))
            })?,
    };
    if address.is_unspecified() || address.is_loopback() || address.is_multicast() {
        return Err(field.problem(format!(
            "{address} cannot be a virtual address (unspecified, loopback or multicast)"
        )));
    }
    Ok((address, prefix_len))
}

/// `{ type = "pass", password = "1111" }`, or `type = "ah"` for an IPsec Authentication
/// Header keyed with the password (keepalived's `auth_type AH`).
fn authentication(mut table: Table, findings: &mut Findings) -> Option<Auth> {
    let kind = required(
        &mut table,
        &schema::authentication::TYPE,
        "\"pass\" (a clear-text password) or \"ah\" (an IPsec Authentication Header)",
        findings,
        |kind| {
            let text = kind.text()?;
            match text.to_ascii_lowercase().as_str() {
                "pass" => Ok(Auth::SimplePassword as fn([u8; 8]) -> Auth),
                "ah" => Ok(Auth::AuthenticationHeader as fn([u8; 8]) -> Auth),
                _ => Err(kind.problem(format!(
                    "\"{text}\" is not an authentication type; use \"pass\" or \"ah\""
                ))),
            }
        },
    );
    let password = required(
        &mut table,
        &schema::authentication::PASSWORD,
        "authentication needs a password (the AH key for \"ah\")",
        findings,
        |password| {
            let text = password.non_empty_text()?;
            let mut bytes = [0u8; 8];
            if text.len() > bytes.len() {
                return Err(password.problem(format!(
                    "the password is {} bytes long; VRRPv2 carries at most 8 (keepalived \
                     silently sends only the first 8)",
                    text.len()
                )));
            }
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Ok(bytes)
        },
    );
    table.finish(findings);
    let kind = *kind.valid()?;
    Some(kind(*password.valid()?))
}

fn read_garp(mut table: Table, findings: &mut Findings) -> GarpSettings {
    let repeat = given(&mut table, &schema::garp::REPEAT, findings, |field| {
        field.integer_in(1..=255, " announcements per burst")
    });
    // Zero turns the second burst or the refresh off, as in keepalived.
    let nonzero = |duration: Duration| (!duration.is_zero()).then_some(duration);
    let delay = given(&mut table, &schema::garp::DELAY, findings, Field::duration);
    let refresh = given(
        &mut table,
        &schema::garp::REFRESH,
        findings,
        Field::duration,
    );
    // 0 sends nothing on hearing a lower priority, as keepalived's strict mode does.
    let lower_priority_repeat = given(
        &mut table,
        &schema::garp::LOWER_PRIORITY_REPEAT,
        findings,
        |field| field.integer_in(0..=255, " announcements per burst"),
    );
    let lower_priority_delay = given(
        &mut table,
        &schema::garp::LOWER_PRIORITY_DELAY,
        findings,
        Field::duration,
    );
    table.finish(findings);
    let repeat = repeat.valid().copied().unwrap_or(DEFAULT_GARP_REPEAT);
    let second_burst_after = delay.or(DEFAULT_GARP_SECOND_BURST).and_then(nonzero);
    GarpSettings {
        repeat,
        second_burst_after,
        refresh_every: refresh.valid().copied().and_then(nonzero),
        lower_priority_repeat: lower_priority_repeat.valid().copied().unwrap_or(repeat),
        lower_priority_second_after: match lower_priority_delay.valid() {
            Some(delay) => nonzero(*delay),
            None => second_burst_after,
        },
    }
}

fn read_health_checks(table: Table, findings: &mut Findings) -> Vec<HealthCheck> {
    let mut checks = Vec::new();
    for (name, field) in table.named_entries() {
        if let Err(message) = check_name(&name) {
            findings.add(
                &field.path,
                format!("`{name}` is not a usable check name: {message}"),
            );
            continue;
        }
        let Some(table) = findings.keep(field.table()) else {
            continue;
        };
        if let Some(check) = read_health_check(name, table, findings) {
            checks.push(check);
        }
    }
    checks
}

/// What a check looks at; the keys it needs depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProbeKind {
    Exec,
    Tcp,
    Http,
    Grpc,
    Interface,
    File,
    Process,
}

fn read_health_check(
    name: String,
    mut table: Table,
    findings: &mut Findings,
) -> Option<HealthCheck> {
    let kind = required(
        &mut table,
        &schema::health_check::KIND,
        "one of exec, tcp, http, grpc, interface, file, process",
        findings,
        |field| {
            field.choice(&[
                ("exec", ProbeKind::Exec),
                ("tcp", ProbeKind::Tcp),
                ("http", ProbeKind::Http),
                ("grpc", ProbeKind::Grpc),
                ("interface", ProbeKind::Interface),
                ("file", ProbeKind::File),
                ("process", ProbeKind::Process),
            ])
        },
    );
    let probe = match kind.valid().copied() {
        Some(kind) => read_probe(kind, &mut table, findings),
        None => None,
    };
    let period = |field: &Field| {
        check_rules::period(field.duration()?).map_err(|message| field.problem(message))
    };
    let interval = given(
        &mut table,
        &schema::health_check::INTERVAL,
        findings,
        period,
    );
    let timeout = given(&mut table, &schema::health_check::TIMEOUT, findings, period);
    let rise = given(&mut table, &schema::health_check::RISE, findings, |field| {
        field.integer_in(check_rules::COUNTS, " consecutive successes")
    });
    let fall = given(&mut table, &schema::health_check::FALL, findings, |field| {
        field.integer_in(check_rules::COUNTS, " consecutive failures")
    });
    let weight = given(
        &mut table,
        &schema::health_check::WEIGHT,
        findings,
        |field| {
            field.integer_in(
                check_rules::WEIGHTS,
                " (0 puts the instance in Fault while the check fails)",
            )
        },
    );
    let init_fail = given(
        &mut table,
        &schema::health_check::INIT_FAIL,
        findings,
        Field::boolean,
    );
    // A process check follows the kernel's process events: it has no runs to space, time
    // or count, and keepalived's vrrp_track_process has none of these keys either.
    if kind.valid() == Some(&ProbeKind::Process) {
        for (spec, given) in [
            (&schema::health_check::INTERVAL, interval.is_given()),
            (&schema::health_check::TIMEOUT, timeout.is_given()),
            (&schema::health_check::RISE, rise.is_given()),
            (&schema::health_check::FALL, fall.is_given()),
            (&schema::health_check::INIT_FAIL, init_fail.is_given()),
        ] {
            if given {
                findings.add(
                    &table.path().key(spec.key),
                    "does not apply to a process check: it follows process events as they \
                     happen; use fork_delay and terminate_delay to wait",
                );
            }
        }
    }
    // A bad kind leaves the kind's own keys unasked; reporting them as unknown would only
    // add noise to the real problem.
    if kind.valid().is_some() {
        table.finish(findings);
    }
    let interval = interval.or(check_rules::DEFAULT_INTERVAL)?;
    Some(HealthCheck {
        name,
        probe: probe?,
        interval,
        // keepalived's default: a run may take up to the interval.
        timeout: timeout.or(interval)?,
        rise: rise.or(1)?,
        fall: fall.or(1)?,
        weight: weight.or(0)?,
        init_fail: init_fail.or(false)?,
    })
}

fn read_probe(kind: ProbeKind, table: &mut Table, findings: &mut Findings) -> Option<Probe> {
    let probe = match kind {
        ProbeKind::Exec => {
            let command = required(
                table,
                &schema::health_check::COMMAND,
                "the program and its arguments, like [\"/usr/local/bin/check\", \"--quick\"]",
                findings,
                |field| {
                    let words = field
                        .list()?
                        .iter()
                        .map(Field::non_empty_text)
                        .collect::<Result<Vec<_>, _>>()?;
                    if words.is_empty() {
                        return Err(field.problem("must name a program"));
                    }
                    Ok(words)
                },
            );
            let user = given(
                table,
                &schema::health_check::USER,
                findings,
                Field::non_empty_text,
            );
            let kill_grace = given(
                table,
                &schema::health_check::KILL_GRACE,
                findings,
                Field::duration,
            );
            Probe::Exec {
                command: command.valid()?.clone(),
                user: user.optional()?,
                kill_grace: kill_grace.optional()?,
            }
        }
        ProbeKind::Tcp => {
            let address = required(
                table,
                &schema::health_check::ADDRESS,
                "where to connect",
                findings,
                socket_address,
            );
            Probe::Tcp {
                address: *address.valid()?,
            }
        }
        ProbeKind::Http => {
            let url = required(
                table,
                &schema::health_check::URL,
                "what to GET",
                findings,
                |field| {
                    let url = field.non_empty_text()?;
                    check_rules::http_url(&url).map_err(|message| field.problem(message))?;
                    Ok(url)
                },
            );
            let expected_status = given(
                table,
                &schema::health_check::EXPECTED_STATUS,
                findings,
                |field| {
                    field
                        .list()?
                        .iter()
                        .map(|status| {
                            status.integer_in(check_rules::HTTP_STATUSES, " (an HTTP status)")
                        })
                        .collect::<Result<Vec<u16>, _>>()
                },
            );
            let body_contains = given(
                table,
                &schema::health_check::BODY_CONTAINS,
                findings,
                Field::non_empty_text,
            );
            Probe::Http {
                url: url.valid()?.clone(),
                expected_status: expected_status.or(Vec::new())?,
                body_contains: body_contains.optional()?,
            }
        }
        ProbeKind::Grpc => {
            let address = required(
                table,
                &schema::health_check::ADDRESS,
                "where the health service listens",
                findings,
                socket_address,
            );
            let service = given(table, &schema::health_check::SERVICE, findings, Field::text);
            Probe::Grpc {
                address: *address.valid()?,
                service: service.valid().cloned(),
            }
        }
        ProbeKind::Interface => {
            let name = required(
                table,
                &schema::health_check::INTERFACE,
                "the interface whose link is watched",
                findings,
                interface_name,
            );
            Probe::Interface {
                name: name.valid()?.clone(),
            }
        }
        ProbeKind::File => {
            let path = required(
                table,
                &schema::health_check::PATH,
                "the file to read",
                findings,
                absolute_path,
            );
            Probe::File {
                path: path.valid()?.clone(),
            }
        }
        ProbeKind::Process => Probe::Process(read_process_match(table, findings)?),
    };
    Some(probe)
}

/// The keys of a process check (keepalived's `vrrp_track_process`).
fn read_process_match(table: &mut Table, findings: &mut Findings) -> Option<ProcessMatch> {
    let process = required(
        table,
        &schema::health_check::PROCESS,
        "the process name to count (or its program, with full_command)",
        findings,
        Field::text,
    );
    let arguments = given(table, &schema::health_check::ARGUMENTS, findings, |field| {
        field
            .list()?
            .iter()
            .map(Field::non_empty_text)
            .collect::<Result<Vec<_>, _>>()
    });
    let full_command = given(
        table,
        &schema::health_check::FULL_COMMAND,
        findings,
        Field::boolean,
    );
    let param_match = given(
        table,
        &schema::health_check::PARAM_MATCH,
        findings,
        |field| {
            field.choice(&[
                ("exact", ParamMatch::Exact),
                ("partial", ParamMatch::Partial),
                ("initial", ParamMatch::Initial),
            ])
        },
    );
    let count = |field: &Field| field.integer_in(check_rules::PROCESS_COUNTS, " processes");
    let quorum = given(table, &schema::health_check::QUORUM, findings, count);
    let quorum_max = given(table, &schema::health_check::QUORUM_MAX, findings, count);
    let delay = |field: &Field| {
        check_rules::process_delay(field.duration()?).map_err(|message| field.problem(message))
    };
    let fork_delay = given(table, &schema::health_check::FORK_DELAY, findings, delay);
    let terminate_delay = given(
        table,
        &schema::health_check::TERMINATE_DELAY,
        findings,
        delay,
    );
    // The name is checked against what is compared as soon as that is known, so a bad delay
    // does not hide a name that could never match.
    let mut usable = true;
    if let (Some(process), Some(full_command), Some(param_match), Some(arguments)) = (
        process.valid(),
        full_command.or(false),
        param_match.optional(),
        arguments.or(Vec::new()),
    ) {
        let uses_command_line = full_command || param_match.is_some() || !arguments.is_empty();
        if let Err(message) = check_rules::process_name(process, uses_command_line) {
            findings.add(
                &table.path().key(schema::health_check::PROCESS.key),
                message,
            );
            usable = false;
        }
    }
    let arguments = arguments.or(Vec::new())?;
    // keepalived: arguments given without param_match are compared exactly.
    let param_match = match param_match.optional()? {
        None if !arguments.is_empty() => Some(ParamMatch::Exact),
        other => other,
    };
    let tracked = ProcessMatch {
        process: process.valid()?.clone(),
        full_command: full_command.or(false)?,
        arguments,
        param_match,
        quorum: quorum.or(1)?,
        quorum_max: quorum_max.or(u16::MAX)?,
        fork_delay: fork_delay.or(Duration::ZERO)?,
        terminate_delay: terminate_delay.or(Duration::ZERO)?,
    };
    if let Err(message) = check_rules::process_quorum(tracked.quorum, tracked.quorum_max) {
        findings.add(&table.path().key(schema::health_check::QUORUM.key), message);
        usable = false;
    }
    usable.then_some(tracked)
}

/// The `notify` table of an instance or a sync group; none notifies nothing.
fn read_optional_notify(
    table: &mut Table,
    key: &'static FieldSpec,
    findings: &mut Findings,
) -> NotifySettings {
    match table.get(key) {
        None => NotifySettings::default(),
        Some(field) => findings
            .keep(field.table())
            .map(|notify| read_notify(notify, findings))
            .unwrap_or_default(),
    }
}

fn read_notify(mut table: Table, findings: &mut Findings) -> NotifySettings {
    let name = given(
        &mut table,
        &schema::notify::NAME,
        findings,
        Field::non_empty_text,
    )
    .valid()
    .cloned();
    let mut program = |key| {
        given(&mut table, key, findings, program_with_arguments)
            .valid()
            .cloned()
            .unzip()
    };
    let (on_master, on_master_arguments) = program(&schema::notify::ON_MASTER);
    let (on_backup, on_backup_arguments) = program(&schema::notify::ON_BACKUP);
    let (on_fault, on_fault_arguments) = program(&schema::notify::ON_FAULT);
    let (on_stop, on_stop_arguments) = program(&schema::notify::ON_STOP);
    let (on_change, on_change_arguments) = program(&schema::notify::ON_CHANGE);
    let (on_master_rx_lower_priority, on_master_rx_lower_priority_arguments) =
        program(&schema::notify::ON_MASTER_RX_LOWER_PRIORITY);
    let (on_deleted, on_deleted_arguments) = program(&schema::notify::ON_DELETED);
    let (fifo_program, fifo_program_arguments) = program(&schema::notify::FIFO_PROGRAM);
    let fifo = given(&mut table, &schema::notify::FIFO, findings, absolute_path)
        .valid()
        .cloned();
    let priority_changes = given(
        &mut table,
        &schema::notify::PRIORITY_CHANGES,
        findings,
        Field::boolean,
    )
    .valid()
    .copied()
    .unwrap_or(false);
    let report_removal_as = given(
        &mut table,
        &schema::notify::REPORT_REMOVAL_AS,
        findings,
        |field: &Field| {
            field.choice(&[
                ("stop", RemovalReport::Stop),
                ("fault", RemovalReport::Fault),
                ("deleted", RemovalReport::Deleted),
            ])
        },
    )
    .valid()
    .copied()
    .unwrap_or_default();
    let notify = NotifySettings {
        on_master,
        on_backup,
        on_fault,
        on_stop,
        on_change,
        on_master_rx_lower_priority,
        on_deleted,
        report_removal_as,
        priority_changes,
        fifo_program,
        fifo,
        name,
        arguments: NotifyArguments {
            on_master: on_master_arguments.unwrap_or_default(),
            on_backup: on_backup_arguments.unwrap_or_default(),
            on_fault: on_fault_arguments.unwrap_or_default(),
            on_stop: on_stop_arguments.unwrap_or_default(),
            on_change: on_change_arguments.unwrap_or_default(),
            on_master_rx_lower_priority: on_master_rx_lower_priority_arguments.unwrap_or_default(),
            on_deleted: on_deleted_arguments.unwrap_or_default(),
            fifo_program: fifo_program_arguments.unwrap_or_default(),
        },
    };
    table.finish(findings);
    notify
}

/// A notify program: its absolute path alone, or a list of the path and its arguments.
fn program_with_arguments(field: &Field) -> Result<(PathBuf, Vec<String>), Finding> {
    if !field.is_list() {
        return Ok((absolute_path(field)?, Vec::new()));
    }
    let words = field.list()?;
    let Some((program, arguments)) = words.split_first() else {
        return Err(
            field.problem("must name a program, like [\"/usr/local/bin/notify\", \"master\"]")
        );
    };
    let arguments = arguments
        .iter()
        .map(Field::text)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((absolute_path(program)?, arguments))
}
