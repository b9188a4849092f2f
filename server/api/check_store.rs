//! The registered health checks kept in a file, so that they survive a daemon restart when
//! the configuration names one (`[api] registered_checks_file`).
//!
//! The file holds each check as a length-delimited `vrrp.v1.HealthCheck`, the message the API
//! already describes checks with, so it needs no format of its own and reads back through the
//! same validation as a `RegisterHealthCheck`. A writer task rewrites it
//! ([`crate::store::write_atomically`], so a crash leaves the old or the new list, never half of
//! one) whenever the set of registered checks changes; the router only hands the list over.

use std::io;
use std::path::{Path, PathBuf};

use prost::Message;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info};

use crate::events::status::{CheckOwner, CheckStatus};
use crate::health::CheckSpec;

use super::{checks, convert, v1};

/// A check read back from the file.
#[derive(Debug)]
pub struct StoredCheck {
    /// What it checks.
    pub spec: CheckSpec,
    /// The instances it moves.
    pub instances: Vec<String>,
    /// Who registered it.
    pub owner: String,
}

/// Why the file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CheckStoreError {
    /// Reading failed.
    #[error("reading the registered checks in {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// It is not a list of checks.
    #[error("{} is not a list of registered checks: {reason}; move it away to start without them", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The checks in `path`; none when the file does not exist yet.
pub fn load_registered(path: &Path) -> Result<Vec<StoredCheck>, CheckStoreError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CheckStoreError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let corrupt = |reason: String| CheckStoreError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let mut rest = bytes.as_slice();
    let mut stored = Vec::new();
    while !rest.is_empty() {
        let check = v1::HealthCheck::decode_length_delimited(&mut rest)
            .map_err(|error| corrupt(error.to_string()))?;
        let (spec, instances) = checks::parse_spec(check.spec)
            .map_err(|status| corrupt(status.message().to_owned()))?;
        stored.push(StoredCheck {
            spec,
            instances,
            owner: check.owner,
        });
    }
    Ok(stored)
}

/// Rewrites `path` each time `registered` changes, until its sender is dropped.
pub fn spawn_store_writer(
    path: PathBuf,
    mut registered: watch::Receiver<Vec<CheckStatus>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while registered.changed().await.is_ok() {
            let checks = registered.borrow_and_update().clone();
            let mut bytes = Vec::new();
            for check in &checks {
                let mut message = convert::health_check(check);
                message.owner = match &check.owner {
                    CheckOwner::Registered(owner) => owner.clone(),
                    CheckOwner::Config => continue,
                };
                // Only what registers it again: the counts start afresh after a restart.
                let stored = v1::HealthCheck {
                    spec: message.spec,
                    owner: message.owner,
                    ..v1::HealthCheck::default()
                };
                stored
                    .encode_length_delimited(&mut bytes)
                    .expect("a Vec grows as needed, so encoding into it cannot run out of room");
            }
            match crate::store::write_atomically(&path, &bytes).await {
                Ok(()) => {
                    info!(checks = checks.len(), file = %path.display(), "registered checks saved")
                }
                Err(error) => error!(%error, file = %path.display(), "registered checks not saved"),
            }
        }
    })
}
