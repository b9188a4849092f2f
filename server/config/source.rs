//! Which file the daemon's configuration comes from and in which language, so that a reload
//! rereads it exactly the way the start read it.

use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::keepalived::{Diagnostic, KeepalivedOptions, load_keepalived_conf_with};
use super::settings::Config;

/// A configuration file and the loader that reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// A native file (`.toml`, `.yaml` or `.yml`), read by [`Config::load`].
    Native(PathBuf),
    /// A keepalived.conf and the files it includes, read by
    /// [`super::load_keepalived_conf`] with the options given on the command line.
    Keepalived(PathBuf, KeepalivedOptions),
}

impl ConfigSource {
    /// The file as it was given.
    pub fn path(&self) -> &Path {
        match self {
            ConfigSource::Native(path) | ConfigSource::Keepalived(path, _) => path,
        }
    }

    /// Reads and checks the file. Warnings, which only a keepalived.conf has (settings left
    /// out without changing behaviour), come back with the configuration, in file order.
    pub fn load(&self) -> Result<(Config, Vec<Diagnostic>), ConfigError> {
        match self {
            ConfigSource::Native(path) => Config::load(path).map(|config| (config, Vec::new())),
            ConfigSource::Keepalived(path, options) => load_keepalived_conf_with(path, options),
        }
    }
}
