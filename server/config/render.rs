//! Writing a [`Config`] back as a native TOML file, so that a configuration read from a
//! keepalived.conf can be kept in the native format (`vrrp-sidecar convert`).
//!
//! Every setting is written out, defaults included: the file then says everything the
//! daemon will do, and reads back to an equal [`Config`] whatever the defaults become.

use std::path::Path;
use std::time::Duration;

use toml::{Table, Value};

use crate::vrrp::{Auth, Version};

use super::duration::seconds_text;
use super::settings::{
    ApiSettings, Config, EmailAlertSettings, GarpSettings, GlobalSettings, HealthCheck,
    InstanceSettings, LogFormat, LogLevel, NotifySettings, OtlpProtocol, Preempt, Probe,
    TcpSecurity, TelemetrySettings, V3Ipv4Checksum, VirtualAddress,
};

/// `config` as a native TOML document that loads back to an equal [`Config`].
pub fn to_native_toml(config: &Config) -> String {
    let mut document = Table::new();
    document.insert("global".into(), Value::Table(global(&config.global)));
    document.insert("api".into(), Value::Table(api(&config.api)));
    let instances = config
        .instances
        .iter()
        .map(|settings| (settings.name.clone(), Value::Table(instance(settings))))
        .collect();
    document.insert("instances".into(), Value::Table(instances));
    if !config.sync_groups.is_empty() {
        let groups = config
            .sync_groups
            .iter()
            .map(|group| {
                let members = group.instances.iter().map(text).collect();
                let mut table = Table::new();
                table.insert("instances".into(), Value::Array(members));
                if group.notify != NotifySettings::default() {
                    table.insert("notify".into(), Value::Table(notify(&group.notify)));
                }
                (group.name.clone(), Value::Table(table))
            })
            .collect();
        document.insert("sync_groups".into(), Value::Table(groups));
    }
    if let Some(email) = &config.email_alerts {
        document.insert("email_alerts".into(), Value::Table(email_alerts(email)));
    }
    if !config.static_routes.is_empty() {
        let routes = config
            .static_routes
            .iter()
            .map(|route| text(route.to_string()));
        document.insert("static_routes".into(), Value::Array(routes.collect()));
    }
    if !config.static_rules.is_empty() {
        let rules = config
            .static_rules
            .iter()
            .map(|rule| text(rule.to_string()));
        document.insert("static_rules".into(), Value::Array(rules.collect()));
    }
    if config.telemetry != TelemetrySettings::default() {
        document.insert(
            "telemetry".into(),
            Value::Table(telemetry(&config.telemetry)),
        );
    }
    // The document holds only strings, integers, booleans, arrays and tables, which TOML can
    // always write.
    toml::to_string(&document).expect("a table of plain values serializes")
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
        table.insert("router_id".into(), text(router_id));
    }
    let format = match settings.log_format {
        LogFormat::Human => "human",
        LogFormat::Json => "json",
    };
    table.insert("log_format".into(), text(format));
    let level = match settings.log_level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        LogLevel::Trace => "trace",
    };
    table.insert("log_level".into(), text(level));
    if settings.exec_checks_as_root {
        table.insert("exec_checks_as_root".into(), Value::Boolean(true));
    }
    table
}

fn email_alerts(settings: &EmailAlertSettings) -> Table {
    let mut table = Table::new();
    let host = if settings.smtp_host.contains(':') {
        format!("[{}]", settings.smtp_host)
    } else {
        settings.smtp_host.clone()
    };
    table.insert(
        "smtp_server".into(),
        text(format!("{host}:{}", settings.smtp_port)),
    );
    table.insert("connect_timeout".into(), duration(settings.connect_timeout));
    if let Some(helo_name) = &settings.helo_name {
        table.insert("helo_name".into(), text(helo_name));
    }
    table.insert("from".into(), text(&settings.from));
    let to = settings.to.iter().map(text).collect();
    table.insert("to".into(), Value::Array(to));
    table
}

fn telemetry(settings: &TelemetrySettings) -> Table {
    let mut table = Table::new();
    if let Some(endpoint) = &settings.otlp_endpoint {
        table.insert("otlp_endpoint".into(), text(endpoint));
    }
    if let Some(protocol) = settings.otlp_protocol {
        let protocol = match protocol {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http/protobuf",
        };
        table.insert("otlp_protocol".into(), text(protocol));
    }
    if let Some(listen) = settings.metrics_listen {
        table.insert("metrics_listen".into(), text(listen.to_string()));
    }
    table
}

fn api(settings: &ApiSettings) -> Table {
    let mut table = Table::new();
    table.insert("socket".into(), path(&settings.socket));
    if let Some(tcp) = &settings.tcp {
        table.insert("tcp_address".into(), text(tcp.address.to_string()));
        match &tcp.security {
            TcpSecurity::Tls(tls) => {
                let mut tls_table = Table::new();
                tls_table.insert("cert".into(), path(&tls.cert));
                tls_table.insert("key".into(), path(&tls.key));
                if let Some(client_ca) = &tls.client_ca {
                    tls_table.insert("client_ca".into(), path(client_ca));
                }
                table.insert("tls".into(), Value::Table(tls_table));
            }
            TcpSecurity::Plaintext => {
                table.insert("allow_plaintext".into(), Value::Boolean(true));
            }
        }
    }
    if let Some(tokens_file) = &settings.tokens_file {
        table.insert("tokens_file".into(), path(tokens_file));
    }
    if let Some(checks_file) = &settings.registered_checks_file {
        table.insert("registered_checks_file".into(), path(checks_file));
    }
    if let Some(priorities_file) = &settings.priorities_file {
        table.insert("priorities_file".into(), path(priorities_file));
    }
    table
}

fn instance(settings: &InstanceSettings) -> Table {
    let mut table = Table::new();
    table.insert("interface".into(), text(&settings.interface));
    table.insert("vrid".into(), Value::Integer(settings.vrid.into()));
    let version = match settings.version {
        Version::V2 => 2,
        Version::V3 => 3,
    };
    table.insert("version".into(), Value::Integer(version));
    table.insert("priority".into(), Value::Integer(settings.priority.into()));
    table.insert(
        "advert_interval".into(),
        duration(settings.advert_interval.as_duration()),
    );
    table.insert(
        "virtual_addresses".into(),
        addresses(&settings.virtual_addresses),
    );
    if !settings.excluded_addresses.is_empty() {
        table.insert(
            "excluded_addresses".into(),
            addresses(&settings.excluded_addresses),
        );
    }
    if let Some(unicast) = &settings.unicast {
        if let Some(source) = unicast.source {
            table.insert("unicast_src".into(), text(source.to_string()));
        }
        let peers = unicast
            .peers
            .iter()
            .map(|peer| text(peer.to_string()))
            .collect();
        table.insert("unicast_peers".into(), Value::Array(peers));
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
        auth.insert("type".into(), text(kind));
        auth.insert(
            "password".into(),
            text(String::from_utf8_lossy(&bytes[..length])),
        );
        table.insert("authentication".into(), Value::Table(auth));
    }
    match settings.preempt {
        Preempt::After(delay) => {
            table.insert("preempt".into(), Value::Boolean(true));
            table.insert("preempt_delay".into(), duration(delay));
        }
        Preempt::Never => {
            table.insert("preempt".into(), Value::Boolean(false));
        }
    }
    table.insert("accept_mode".into(), Value::Boolean(settings.accept_mode));
    if settings.strict_mode {
        table.insert("strict_mode".into(), Value::Boolean(true));
    }
    // The checksum form may only be written where it is a choice (VRRPv3 over IPv4); the
    // loader refuses it elsewhere, and gives the default there.
    if settings.checksum == V3Ipv4Checksum::V2Compatible {
        table.insert("checksum".into(), text("v2-compatible"));
    }
    table.insert("garp".into(), Value::Table(garp(&settings.garp)));
    if !settings.health_checks.is_empty() {
        let checks = settings
            .health_checks
            .iter()
            .map(|check| (check.name.clone(), Value::Table(health_check(check))))
            .collect();
        table.insert("health_checks".into(), Value::Table(checks));
    }
    let notify = notify(&settings.notify);
    if !notify.is_empty() {
        table.insert("notify".into(), Value::Table(notify));
    }
    if settings.email_alerts {
        table.insert("email_alerts".into(), Value::Boolean(true));
    }
    if !settings.virtual_routes.is_empty() {
        let routes = settings
            .virtual_routes
            .iter()
            .map(|route| text(route.to_string()))
            .collect();
        table.insert("virtual_routes".into(), Value::Array(routes));
    }
    if !settings.virtual_rules.is_empty() {
        let rules = settings
            .virtual_rules
            .iter()
            .map(|rule| text(rule.to_string()))
            .collect();
        table.insert("virtual_rules".into(), Value::Array(rules));
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
                table.insert("address".into(), written);
                if let Some(label) = &address.label {
                    table.insert("label".into(), text(label));
                }
                if let Some(device) = &address.device {
                    table.insert("dev".into(), text(device));
                }
                Value::Table(table)
            })
            .collect(),
    )
}

fn garp(settings: &GarpSettings) -> Table {
    let mut table = Table::new();
    table.insert("repeat".into(), Value::Integer(settings.repeat.into()));
    // Zero turns the second burst or the refresh off.
    let off_as_zero = |setting: Option<Duration>| duration(setting.unwrap_or(Duration::ZERO));
    table.insert("delay".into(), off_as_zero(settings.second_burst_after));
    table.insert("refresh".into(), off_as_zero(settings.refresh_every));
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
            table.insert("kind".into(), text("exec"));
            let words = command.iter().map(text).collect();
            table.insert("command".into(), Value::Array(words));
            if let Some(user) = user {
                table.insert("user".into(), text(user));
            }
            if let Some(grace) = kill_grace {
                table.insert("kill_grace".into(), duration(*grace));
            }
        }
        Probe::Tcp { address } => {
            table.insert("kind".into(), text("tcp"));
            table.insert("address".into(), text(address.to_string()));
        }
        Probe::Http {
            url,
            expected_status,
            body_contains,
        } => {
            table.insert("kind".into(), text("http"));
            table.insert("url".into(), text(url));
            if !expected_status.is_empty() {
                let statuses = expected_status
                    .iter()
                    .map(|&status| Value::Integer(i64::from(status)))
                    .collect();
                table.insert("expected_status".into(), Value::Array(statuses));
            }
            if let Some(body) = body_contains {
                table.insert("body_contains".into(), text(body));
            }
        }
        Probe::Grpc { address, service } => {
            table.insert("kind".into(), text("grpc"));
            table.insert("address".into(), text(address.to_string()));
            if let Some(service) = service {
                table.insert("service".into(), text(service));
            }
        }
        Probe::Interface { name } => {
            table.insert("kind".into(), text("interface"));
            table.insert("interface".into(), text(name));
        }
        Probe::File { path: file } => {
            table.insert("kind".into(), text("file"));
            table.insert("path".into(), path(file));
        }
    }
    table.insert("interval".into(), duration(check.interval));
    table.insert("timeout".into(), duration(check.timeout));
    table.insert("rise".into(), Value::Integer(check.rise.into()));
    table.insert("fall".into(), Value::Integer(check.fall.into()));
    table.insert("weight".into(), Value::Integer(check.weight.into()));
    if check.init_fail {
        table.insert("init_fail".into(), Value::Boolean(true));
    }
    table
}

fn notify(settings: &NotifySettings) -> Table {
    let arguments = &settings.arguments;
    let programs = [
        ("on_master", &settings.on_master, &arguments.on_master),
        ("on_backup", &settings.on_backup, &arguments.on_backup),
        ("on_fault", &settings.on_fault, &arguments.on_fault),
        ("on_stop", &settings.on_stop, &arguments.on_stop),
        ("on_change", &settings.on_change, &arguments.on_change),
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
        table.insert("fifo".into(), path(fifo));
    }
    if let Some(name) = &settings.name {
        table.insert("name".into(), text(name));
    }
    table
}
