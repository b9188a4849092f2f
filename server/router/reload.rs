//! Reading a new configuration for the router: the one preparation SIGHUP and the API's
//! `Reload` share. Reading the file and looking up its interfaces happen off the router, so
//! a reload never holds up a VRRP timer; the router only gets a configuration that is valid
//! in full.

use std::collections::{BTreeSet, HashMap};

use tracing::warn;

use crate::config::{Config, ConfigError, ConfigSource, Probe};
use crate::net::{Interface, NetError, Netlink};

use super::settings;

/// A validated configuration and every interface it names, looked up off the router.
#[derive(Debug)]
pub struct Reload {
    /// The new configuration.
    pub config: Config,
    /// Each interface the instances name, freshly looked up.
    pub interfaces: HashMap<String, Interface>,
}

/// Why a configuration cannot be applied; then nothing changes.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file has problems.
    #[error("the configuration has {} problem(s)", .0.problems().len())]
    Invalid(ConfigError),
    /// The blocking reader task failed.
    #[error("the configuration reader failed: {0}")]
    Reader(tokio::task::JoinError),
    /// An interface it names could not be looked up.
    #[error("looking up the interfaces: {0}")]
    Interfaces(NetError),
    /// A virtual MAC interface the new configuration needs could not be made.
    #[error("making the virtual MAC interfaces: {0}")]
    Vmac(crate::effects::vmac::VmacSetupError),
    /// Exec checks would run as root (see [`checks_refused_as_root`]).
    #[error("{}", .0.join("; "))]
    ChecksAsRoot(Vec<String>),
}

/// The configuration `source` now holds and its interfaces, read and looked up off the
/// router: the one preparation SIGHUP and the API's `Reload` share. Warnings (keepalived.conf
/// keywords that are ignored) are logged and returned with it, for the API's reply; an error
/// means nothing changes.
pub async fn prepare_reload(
    source: &ConfigSource,
    netlink: &Netlink,
) -> Result<(Reload, Vec<String>), ReloadError> {
    let reread = source.clone();
    let (config, diagnostics) = tokio::task::spawn_blocking(move || reread.load())
        .await
        .map_err(ReloadError::Reader)?
        .map_err(ReloadError::Invalid)?;
    let refused = checks_refused_as_root(&config);
    if !refused.is_empty() {
        return Err(ReloadError::ChecksAsRoot(refused));
    }
    let warnings: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    for warning in &warnings {
        warn!(%warning, "configuration warning");
    }
    // New virtual MAC interfaces are made before their interfaces are read; those of running
    // instances are kept as they are. One no instance uses any more stays until exit.
    crate::effects::vmac::ensure_all(&config, netlink)
        .await
        .map_err(ReloadError::Vmac)?;
    let interfaces = lookup_interfaces(netlink, &config)
        .await
        .map_err(ReloadError::Interfaces)?;
    Ok((Reload { config, interfaces }, warnings))
}

/// Looks up every interface the instances of `config` name.
pub async fn lookup_interfaces(
    netlink: &Netlink,
    config: &Config,
) -> Result<HashMap<String, Interface>, NetError> {
    let names: BTreeSet<String> = config
        .instances
        .iter()
        .flat_map(settings::interface_names)
        .chain(
            config
                .static_addresses
                .iter()
                .map(|address| address.device().to_owned()),
        )
        .collect();
    let mut interfaces = HashMap::new();
    for name in names {
        let interface = Interface::lookup(netlink, &name).await?;
        interfaces.insert(name, interface);
    }
    Ok(interfaces)
}

/// The exec health checks of `config` that would run as root, each described as a problem to
/// fix, when the daemon runs as root and `exec_checks_as_root` is off; keepalived's
/// `enable_script_security` is the same refusal. Empty otherwise.
pub fn checks_refused_as_root(config: &Config) -> Vec<String> {
    if !nix::unistd::geteuid().is_root() || config.global.exec_checks_as_root {
        return Vec::new();
    }
    config
        .instances
        .iter()
        .flat_map(|instance| {
            instance
                .health_checks
                .iter()
                .filter(|check| matches!(check.probe, Probe::Exec { user: None, .. }))
                .map(|check| {
                    format!(
                        "instance `{}`, health check `{}`: an exec check would run as root; \
                         give it a `user`, or set `exec_checks_as_root = true` under [global]",
                        instance.name, check.name
                    )
                })
        })
        .collect()
}
