//! Accept mode off on the VIP worker: which addresses the nftables rules of
//! [`crate::net::firewall`] drop, kept by the worker that installs and removes the
//! addresses, so the rule goes in before the address (nothing reaches a service through it
//! in between) and comes out after it, as keepalived orders them (`vrrp_state_become_master`
//! and `vrrp_restore_interface` in keepalived/vrrp/vrrp.c).

use std::collections::{BTreeMap, BTreeSet};

use tracing::{debug, error, info};

use crate::config::{Config, InstanceSettings};
use crate::net::firewall::{BlockedAddress, Firewall, FirewallError};

use super::vips::PlacedVip;

/// Whether a master of `settings` drops traffic to its addresses: accept mode off, and not
/// the owner, which always accepts (RFC 9568 §6.4.3).
pub fn drops_vip_traffic(settings: &InstanceSettings) -> bool {
    !settings.accept_mode && settings.priority != u8::MAX
}

/// Deletes the table a killed run left, before any instance starts. Without `nft` this only
/// matters when an instance needs the rules, and is an error then: keepalived also runs on,
/// saying the firewall is missing.
pub async fn clean_stale(config: &Config) {
    let needed: Vec<&str> = config
        .instances
        .iter()
        .filter(|instance| drops_vip_traffic(instance))
        .map(|instance| instance.name.as_str())
        .collect();
    match Firewall.remove().await {
        Ok(()) => debug!("no nftables rules of an earlier run are left"),
        Err(error) if needed.is_empty() => {
            debug!(%error, "nftables not usable; no instance needs it");
        }
        Err(error) => error!(
            %error,
            instances = ?needed,
            "accept_mode = false cannot be enforced: these masters will accept traffic to \
             their virtual addresses"
        ),
    }
}

/// The blocked addresses and which instances blocked each (two instances may hold one
/// address; it stays blocked until neither is master).
#[derive(Debug, Default)]
pub struct VipFirewall {
    /// Whether our table exists, created on the first block.
    table_ready: bool,
    blocked: BTreeMap<BlockedAddress, BTreeSet<String>>,
}

impl VipFirewall {
    /// Drops traffic to and from `vips`, which `instance` is about to install.
    pub async fn block(&mut self, instance: &str, vips: &[PlacedVip]) {
        if !self.table_ready {
            if let Err(error) = Firewall.start().await {
                report(instance, "create the nftables table for", &error);
                return;
            }
            self.table_ready = true;
        }
        let mut new = Vec::new();
        for placed in vips {
            let address = blocked_address(placed);
            let holders = self.blocked.entry(address.clone()).or_default();
            if holders.is_empty() {
                new.push(address);
            }
            holders.insert(instance.to_owned());
        }
        if new.is_empty() {
            return;
        }
        match Firewall.block(&new).await {
            Ok(()) => {
                info!(instance, addresses = ?addresses(&new), "dropping traffic to the virtual addresses (accept mode off)")
            }
            Err(error) => {
                report(instance, "block", &error);
                for address in &new {
                    self.blocked.remove(address);
                }
            }
        }
    }

    /// Blocks those of `vips` an instance that already blocks traffic adds while master (a
    /// reload, an address put back).
    pub async fn extend(&mut self, instance: &str, vips: &[PlacedVip]) {
        if self.blocks_for(instance) {
            self.block(instance, vips).await;
        }
    }

    /// Lets traffic to `vips` through again, which `instance` just removed.
    pub async fn release(&mut self, instance: &str, vips: &[PlacedVip]) {
        let mut freed = Vec::new();
        for placed in vips {
            let address = blocked_address(placed);
            let Some(holders) = self.blocked.get_mut(&address) else {
                continue;
            };
            if holders.remove(instance) && holders.is_empty() {
                self.blocked.remove(&address);
                freed.push(address);
            }
        }
        if freed.is_empty() {
            return;
        }
        match Firewall.unblock(&freed).await {
            Ok(()) => {
                info!(instance, addresses = ?addresses(&freed), "no longer dropping traffic to the virtual addresses")
            }
            Err(error) => report(instance, "unblock", &error),
        }
    }

    /// Deletes the table, at exit: nothing is left behind.
    pub async fn finish(&mut self) {
        if !self.table_ready {
            return;
        }
        match Firewall.remove().await {
            Ok(()) => debug!("nftables table deleted"),
            Err(error) => error!(%error, "the nftables table could not be deleted"),
        }
        self.table_ready = false;
        self.blocked.clear();
    }

    fn blocks_for(&self, instance: &str) -> bool {
        self.blocked
            .values()
            .any(|holders| holders.contains(instance))
    }
}

fn blocked_address(placed: &PlacedVip) -> BlockedAddress {
    BlockedAddress {
        address: placed.vip.address,
        interface: placed.interface.name.clone(),
    }
}

fn addresses(blocked: &[BlockedAddress]) -> Vec<String> {
    blocked
        .iter()
        .map(|blocked| blocked.address.to_string())
        .collect()
}

fn report(instance: &str, what: &str, error: &FirewallError) {
    error!(instance, %error, "could not {what} the virtual addresses; accept mode off is not enforced");
}
