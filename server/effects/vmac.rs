//! The virtual MAC interfaces of the configured instances (keepalived's `use_vmac`): made
//! before the instances start, since their sockets and addresses live there; removed at exit,
//! after the instances have released their addresses; and those a killed run left removed at
//! the next start, before anything is made (see [`crate::net::vmac`] for how they are told
//! apart from an operator's links).

use thiserror::Error;
use tracing::{info, warn};

use crate::config::{Config, InstanceSettings};
use crate::net::{Interface, NetError, Netlink, VmacError, VmacSpec, Vmacs};

/// Why an instance's virtual MAC interface could not be made.
#[derive(Debug, Error)]
pub enum VmacSetupError {
    /// Its parent interface could not be looked up.
    #[error("instance `{instance}`: {source}")]
    Parent {
        /// The instance.
        instance: String,
        /// Why.
        source: NetError,
    },
    /// The macvlan could not be made.
    #[error("instance `{instance}`: {source}")]
    Vmac {
        /// The instance.
        instance: String,
        /// Why.
        source: VmacError,
    },
}

/// Makes the virtual MAC interface of every instance of `config` that has one, keeping
/// those that are already as wanted (a reload).
pub async fn ensure_all(config: &Config, netlink: &Netlink) -> Result<(), VmacSetupError> {
    let vmacs = Vmacs::new(netlink.clone());
    for settings in &config.instances {
        let Some(spec) = spec(settings, netlink).await? else {
            continue;
        };
        vmacs
            .ensure(&spec)
            .await
            .map_err(|source| VmacSetupError::Vmac {
                instance: settings.name.clone(),
                source,
            })?;
    }
    Ok(())
}

async fn spec(
    settings: &InstanceSettings,
    netlink: &Netlink,
) -> Result<Option<VmacSpec>, VmacSetupError> {
    let Some(vmac) = &settings.virtual_mac else {
        return Ok(None);
    };
    let parent = Interface::lookup(netlink, &settings.interface)
        .await
        .map_err(|source| VmacSetupError::Parent {
            instance: settings.name.clone(),
            source,
        })?;
    let holds_ipv6 = settings
        .held_addresses()
        .any(|address| address.address.is_ipv6() && settings.interface_of(address) == vmac.name);
    Ok(Some(VmacSpec {
        name: vmac.name.clone(),
        parent,
        family: settings.family(),
        vrid: settings.vrid,
        holds_ipv6,
    }))
}

/// Removes every virtual MAC interface this daemon made, in this run or a killed one, and
/// puts their parents' ARP settings back; a failure is logged, not returned, since what
/// could be removed was.
pub async fn remove_all(netlink: &Netlink, when: &'static str) {
    match Vmacs::new(netlink.clone()).remove_all().await {
        Ok(removed) if removed.is_empty() => {}
        Ok(removed) => info!(interfaces = ?removed, when, "virtual MAC interfaces removed"),
        Err(error) => warn!(%error, when, "virtual MAC interfaces not all removed"),
    }
}
