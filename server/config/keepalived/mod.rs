//! A keepalived.conf as a configuration source: read as keepalived reads it (includes,
//! blocks, comments) and translated into the same [`Config`] the native loader produces.
//!
//! keepalived 2.2.7's verdict on a file is this loader's: what keepalived runs loads here,
//! and what keepalived refuses is refused. keepalived has settings this daemon does not, and
//! corrects values it finds wrong; none of that happens in silence: each becomes a
//! [`Diagnostic`] with its file and line saying what was done, a [`Severity::Warning`] where
//! keepalived warns and carries on (an unknown keyword, a value it corrects, a feature this
//! daemon does not carry out yet), a [`Severity::Error`] only where keepalived would not run
//! the file either, or where the text cannot be read at all. Warnings come back with the
//! configuration; any error fails the load. [`KeepalivedOptions::strict`] makes every
//! warning an error, for those who want a file that carries over exactly.
//!
//! [`keywords::KEYWORDS`] lists every keyword keepalived 2.2.7's VRRP side knows, with what
//! happens to it here.
//!
//! The translation writes a native TOML document and loads it with the native loader, so
//! every native check applies unchanged; problems that check finds are reported at the
//! keepalived line the value came from.

mod command;
mod include;
pub mod keywords;
mod lexer;
mod parse;
mod preprocess;
mod translate;

use std::fmt;
use std::path::Path;

use super::Format;
use super::error::{ConfigError, FieldPath, Problem, SourceLocation};
use super::settings::Config;

use lexer::Position;

pub use include::MAX_INCLUDE_DEPTH;

/// How much a [`Diagnostic`] matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Left out or changed without changing what the routers do; the file still loads.
    Warning,
    /// Leaving it out would change behaviour, or it cannot be read; the file does not load.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// Something said about one place of a keepalived.conf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Whether the file still loads.
    pub severity: Severity,
    /// The file and line.
    pub source_location: SourceLocation,
    /// The keywords leading to it, like `vrrp_instance VI_1.authentication.auth_pass`;
    /// empty for something outside any keyword (a stray brace).
    pub keyword_path: FieldPath,
    /// What happens to it, and why.
    pub message: String,
}

impl Diagnostic {
    fn new(
        severity: Severity,
        position: &Position,
        keyword_path: FieldPath,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            source_location: SourceLocation::Line {
                file: position.file.to_string(),
                line: position.line,
            },
            keyword_path,
            message: message.into(),
        }
    }

    /// An error about the text itself, before any keyword has a meaning.
    fn error(position: &Position, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Error, position, FieldPath::root(), message)
    }

    /// A warning about the text itself, before any keyword has a meaning.
    fn warning(position: &Position, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Warning, position, FieldPath::root(), message)
    }

    /// The diagnostic as a [`Problem`] of a [`ConfigError`].
    fn into_problem(self) -> Problem {
        Problem {
            source_location: self.source_location,
            field_path: self.keyword_path,
            message: self.message,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: ", self.source_location, self.severity)?;
        if !self.keyword_path.is_root() {
            write!(f, "{}: ", self.keyword_path)?;
        }
        f.write_str(&self.message)
    }
}

/// How a keepalived.conf is read, as keepalived's command line would say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeepalivedOptions {
    /// keepalived's `-i`/`--config-id`: which `@ID` lines are read. keepalived's default,
    /// the host name up to its first dot, when `None`.
    pub config_id: Option<String>,
    /// Every warning is an error: the file loads only if it carries over exactly.
    pub strict: bool,
}

impl KeepalivedOptions {
    /// The configuration id in effect: the one given, or keepalived's default.
    pub fn effective_config_id(&self) -> String {
        self.config_id.clone().unwrap_or_else(|| {
            let host = super::settings::host_name();
            host.split('.').next().unwrap_or_default().to_owned()
        })
    }
}

/// Loads the keepalived.conf at `path`, with the files it includes, as a native [`Config`],
/// with keepalived's defaults ([`KeepalivedOptions::default`]).
///
/// Returns the configuration with the warnings, in file order; fails with every error
/// (each with its file and line) when there is at least one.
pub fn load_keepalived_conf(path: &Path) -> Result<(Config, Vec<Diagnostic>), ConfigError> {
    load_keepalived_conf_with(path, &KeepalivedOptions::default())
}

/// [`load_keepalived_conf`] with `options`.
pub fn load_keepalived_conf_with(
    path: &Path,
    options: &KeepalivedOptions,
) -> Result<(Config, Vec<Diagnostic>), ConfigError> {
    let name = path.display().to_string();
    let mut diagnostics = Vec::new();
    let config_id = options.effective_config_id();
    let tokens =
        include::read_with_includes(path, &config_id, &mut diagnostics).map_err(|message| {
            ConfigError::new(vec![Problem {
                source_location: SourceLocation::File { file: name.clone() },
                field_path: FieldPath::root(),
                message,
            }])
        })?;
    let nodes = parse::parse(&tokens, &mut diagnostics);
    let translation = translate::translate(&nodes, &name, &mut diagnostics);
    let native_text = translation.native_toml();
    let loaded = Config::from_str(&native_text, Format::Toml, &name);
    if let Err(error) = &loaded {
        diagnostics.extend(
            error
                .problems()
                .iter()
                .map(|problem| translation.blame(problem)),
        );
    }
    // Stable: diagnostics at one line keep the order they were found in.
    diagnostics.sort_by(|a, b| a.source_location.cmp(&b.source_location));
    if options.strict {
        for diagnostic in &mut diagnostics {
            if diagnostic.severity == Severity::Warning {
                diagnostic.severity = Severity::Error;
                diagnostic.message = format!("{} (an error with --strict)", diagnostic.message);
            }
        }
    }
    let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) = diagnostics
        .into_iter()
        .partition(|diagnostic| diagnostic.severity == Severity::Error);
    match loaded {
        Ok(config) if errors.is_empty() => Ok((config, warnings)),
        _ => Err(ConfigError::new(
            errors.into_iter().map(Diagnostic::into_problem).collect(),
        )),
    }
}
