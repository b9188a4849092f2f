//! The native configuration: a TOML (or YAML) file, overridable from the environment,
//! checked in full before the daemon uses any of it.
//!
//! ```toml
//! [api]
//! socket = "/run/vrrp-sidecar/api.sock"
//!
//! [instances.web]
//! interface = "eth0"
//! vrid = 51
//! priority = 101
//! advert_interval = "1s"
//! virtual_addresses = ["192.0.2.101/24"]
//! ```
//!
//! Instances are a table keyed by name rather than a list, so an environment variable can
//! name one: `VRRP_SIDECAR__INSTANCES__WEB__PRIORITY=90` sets the priority of `web`
//! (variables are `VRRP_SIDECAR`, then the path, levels separated by `__`; a list is written
//! as comma-separated items).
//!
//! # Defaults that differ from keepalived
//! - `version` defaults to 3: RFC 9568 is the current standard and the only version for
//!   IPv6. keepalived speaks 2 over IPv4 unless told otherwise, so an instance joining a
//!   keepalived peer that does not set `version` must say `version = 2` (the error for
//!   `authentication` without it says so).
//! - There is no `state MASTER|BACKUP`: every instance starts as backup and the priority
//!   decides, except the address owner (priority 255), which starts as master.
//! - `accept_mode` defaults to true like keepalived, not false like RFC 9568, because the
//!   services that operators put behind a virtual address need it to answer; with
//!   `strict_mode = true` it defaults, as in keepalived, to true for the owner (priority 255)
//!   only. Off, a master that does not own the addresses drops what is sent to them with
//!   nftables rules, as keepalived does.
//! - Where keepalived truncates or rounds (an auth password over 8 bytes, a fractional v2
//!   interval) or silently ignores (auth with v3, `unicast_src` without peers), the file is
//!   refused with a message that says why.
//!
//! Loading goes in four steps:
//! 1. the `config` crate merges the file and the environment into one tree;
//! 2. `read.rs` converts each field on its own (types, ranges, unknown keys) into the file
//!    model of `model.rs`;
//! 3. `validate.rs` checks what involves several fields or instances and applies defaults,
//!    giving the [`Config`] of `settings.rs`;
//! 4. every problem is given its place by `locate.rs`: a line for TOML, the file for YAML,
//!    the variable for an environment override.

pub mod check_rules;
mod duration;
mod error;
mod fields;
pub mod keepalived;
mod locate;
mod model;
mod read;
mod render;
pub mod routes;
pub mod schema;
mod settings;
mod source;
mod suggest;
mod validate;

use std::path::Path;

use toml::de::DeTable;

pub use error::{ConfigError, FieldPath, PathSegment, Problem, SourceLocation};
pub use keepalived::{
    Diagnostic, KeepalivedOptions, Severity, load_keepalived_conf, load_keepalived_conf_with,
};
pub use render::to_native_toml;
pub use settings::{
    ApiSettings, Config, EmailAlertSettings, Family, GarpGroupSettings, GarpSettings,
    GlobalSettings, HealthCheck, InstanceSettings, LinkDebounceSettings, LogFormat, LogLevel,
    NotifyArguments, NotifySettings, OtlpProtocol, PacedAddress, ParamMatch, Preempt, Probe,
    ProcessMatch, RemovalReport, Spacing, StaticAddress, SyncGroupSettings, TcpListenerSettings,
    TcpSecurity, TelemetrySettings, TlsSettings, UnicastSettings, V3Ipv4Checksum, VirtualAddress,
    VirtualMac, VirtualRoute, VirtualRule, host_name,
};
pub use source::ConfigSource;
pub use validate::DEFAULT_API_SOCKET;

use fields::Findings;
use locate::{ENV_PREFIX, ENV_SEPARATOR, Locator, line_of};

/// The languages a configuration file can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// TOML, the native format; problems are reported with their line.
    Toml,
    /// YAML; problems are reported with the file only, as the YAML reader keeps no positions.
    Yaml,
}

impl Format {
    /// The format a file name's extension says: `.toml`, or `.yaml` / `.yml`.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "toml" => Some(Format::Toml),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }
}

impl From<Format> for ::config::FileFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::Toml => ::config::FileFormat::Toml,
            Format::Yaml => ::config::FileFormat::Yaml,
        }
    }
}

impl Config {
    /// Reads the file at `path` (format by extension), applies the process's `VRRP_SIDECAR__*`
    /// environment variables, and checks the result.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let whole_file = |message: String| {
            ConfigError::new(vec![Problem {
                source_location: SourceLocation::File { file: name.clone() },
                field_path: FieldPath::root(),
                message,
            }])
        };
        let format = Format::from_path(path).ok_or_else(|| {
            whole_file(
                "the name does not end in .toml, .yaml or .yml, so the format is unknown".into(),
            )
        })?;
        let text = std::fs::read_to_string(path)
            .map_err(|error| whole_file(format!("cannot be read: {error}")))?;
        parse(&text, format, &name, environment())
    }

    /// Checks the configuration `text`, written in `format`, without environment overrides;
    /// `name` is how problems refer to the text (usually its file name).
    pub fn from_str(text: &str, format: Format, name: &str) -> Result<Config, ConfigError> {
        Self::from_str_with_env(text, format, name, std::iter::empty::<(String, String)>())
    }

    /// Like [`Config::from_str`], with environment overrides taken from `variables` instead of
    /// the process environment; variables without the `VRRP_SIDECAR__` prefix are ignored.
    pub fn from_str_with_env<K, V>(
        text: &str,
        format: Format,
        name: &str,
        variables: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Config, ConfigError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let variables = variables
            .into_iter()
            .map(|(key, value)| (key.into(), value.into()))
            .collect();
        parse(text, format, name, environment().source(Some(variables)))
    }
}

/// The environment overrides source: `VRRP_SIDECAR__API__SOCKET` sets `api.socket`.
fn environment() -> ::config::Environment {
    ::config::Environment::with_prefix(ENV_PREFIX)
        .prefix_separator(ENV_SEPARATOR)
        .separator(ENV_SEPARATOR)
}

fn parse(
    text: &str,
    format: Format,
    name: &str,
    environment: ::config::Environment,
) -> Result<Config, ConfigError> {
    let whole_file = |message: String| {
        ConfigError::new(vec![Problem {
            source_location: SourceLocation::File {
                file: name.to_owned(),
            },
            field_path: FieldPath::root(),
            message,
        }])
    };
    // Parsed here as well as inside the `config` crate: this parse keeps the positions that
    // problems are reported at, and its syntax errors carry a position too.
    let toml_document = match format {
        Format::Toml => match DeTable::parse(text) {
            Ok(document) => Some(document),
            Err(error) => {
                let message = format!("not valid TOML: {}", error.message().trim_end());
                return Err(match error.span() {
                    Some(span) => ConfigError::new(vec![Problem {
                        source_location: SourceLocation::Line {
                            file: name.to_owned(),
                            line: line_of(text, span.start),
                        },
                        field_path: FieldPath::root(),
                        message,
                    }]),
                    None => whole_file(message),
                });
            }
        },
        Format::Yaml => None,
    };
    let merged = ::config::Config::builder()
        .add_source(::config::File::from_str(
            text,
            ::config::FileFormat::from(format),
        ))
        .add_source(environment)
        .build()
        .map_err(|error| whole_file(format!("cannot be read: {error}")))?
        .cache;

    let mut findings = Findings::default();
    let file = read::read_file(&merged, &mut findings);
    let config = validate::validate(file, &mut findings);
    if let Some(config) = config {
        return Ok(config);
    }
    let locator = Locator::new(
        name,
        text,
        toml_document.as_ref().map(|document| document.get_ref()),
        &merged,
    );
    let mut problems: Vec<Problem> = findings
        .into_vec()
        .into_iter()
        .map(|finding| Problem {
            source_location: locator.locate(&finding.path),
            field_path: finding.path,
            message: finding.message,
        })
        .collect();
    // File order, then the file as a whole, then the environment; the sort is stable, so
    // problems at one place keep the order they were found in.
    problems.sort_by_key(|problem| match &problem.source_location {
        SourceLocation::Line { line, .. } => (0, *line),
        SourceLocation::File { .. } => (1, 0),
        SourceLocation::Environment { .. } => (2, 0),
    });
    Err(ConfigError::new(problems))
}
