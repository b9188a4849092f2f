//! The static addresses (keepalived's `static_ipaddress`): added when the daemon starts,
//! whatever the instances' states, removed when it stops, put back at once when someone
//! deletes one (unless `no_track`), and changed by a reload. keepalived 2.2.7 does the same:
//! `start_vrrp()` adds them and `vrrp_terminate_phase2()` removes them
//! (`keepalived/vrrp/vrrp_daemon.c`); `netlink_if_address_filter()`
//! (`keepalived/core/keepalived_netlink.c`) calls `reinstate_static_address()` when one is
//! deleted, and `interface_up()` (`keepalived/vrrp/vrrp_if.c`) adds those of an interface
//! whose link comes back. No instance changes state when one is deleted.
//!
//! They go through the VIP worker's queue like the VIPs, without a lifetime (they are not a
//! master's to lose when the daemon is killed) and without announcements (keepalived sends
//! none for them).

use std::collections::HashMap;
use std::net::IpAddr;

use tracing::error;

use crate::config::{Config, StaticAddress};
use crate::net::{Interface, Vip};

use super::vips::{InstallReason, PlacedVip, VipWorker};

/// What the log lines of static addresses name as their instance.
const STATIC: &str = "(static)";

/// The static addresses of a configuration, placed on their interfaces.
#[derive(Debug, Default)]
pub struct StaticAddresses {
    held: Vec<(StaticAddress, PlacedVip)>,
}

impl StaticAddresses {
    /// The static addresses of `config` on `interfaces`, not added yet. One whose interface
    /// is unknown is left out with an error (the daemon looks every one up first).
    pub fn new(config: &Config, interfaces: &HashMap<String, Interface>) -> Self {
        let held = config
            .static_addresses
            .iter()
            .filter_map(|address| {
                let Some(interface) = interfaces.get(address.device()) else {
                    error!(
                        address = %address.address.address,
                        interface = address.device(),
                        "interface unknown; static address skipped"
                    );
                    return None;
                };
                Some((address.clone(), placed(address, interface)))
            })
            .collect();
        StaticAddresses { held }
    }

    /// Adds them all.
    pub fn start(&self, vips: &VipWorker) {
        if !self.held.is_empty() {
            vips.install(STATIC, self.all(), InstallReason::TakeOver);
        }
    }

    /// Removes them all.
    pub fn stop(&self, vips: &VipWorker) {
        if !self.held.is_empty() {
            vips.remove(STATIC, self.all());
        }
    }

    /// Puts back the tracked static address `address` on the interface with index `index`,
    /// if it is one: someone deleted it.
    pub fn address_removed(&self, index: u32, address: IpAddr, vips: &VipWorker) {
        let lost: Vec<PlacedVip> = self
            .held
            .iter()
            .filter(|(static_address, placed)| {
                !static_address.no_track
                    && placed.interface.index == index
                    && placed.vip.address == address
            })
            .map(|(_, placed)| placed.clone())
            .collect();
        if !lost.is_empty() {
            vips.install(STATIC, lost, InstallReason::PutBack);
        }
    }

    /// Adds again the tracked static addresses of the interface with index `index`, whose
    /// link came back (the kernel drops IPv6 addresses when a link goes down), as
    /// keepalived's `static_track_group_reinstate_config()` does; those present already
    /// are left as they are.
    pub fn link_up(&self, index: u32, vips: &VipWorker) {
        let on_it: Vec<PlacedVip> = self
            .held
            .iter()
            .filter(|(address, placed)| !address.no_track && placed.interface.index == index)
            .map(|(_, placed)| placed.clone())
            .collect();
        if !on_it.is_empty() {
            vips.install(STATIC, on_it, InstallReason::PutBack);
        }
    }

    /// Moves to the static addresses of a reloaded configuration: removes those that went,
    /// adds those that came.
    pub fn reload(&mut self, new: StaticAddresses, vips: &VipWorker) {
        let gone: Vec<PlacedVip> = self
            .held
            .iter()
            .filter(|(_, placed)| !new.held.iter().any(|(_, kept)| kept == placed))
            .map(|(_, placed)| placed.clone())
            .collect();
        let came: Vec<PlacedVip> = new
            .held
            .iter()
            .filter(|(_, placed)| !self.held.iter().any(|(_, old)| old == placed))
            .map(|(_, placed)| placed.clone())
            .collect();
        if !gone.is_empty() {
            vips.remove(STATIC, gone);
        }
        if !came.is_empty() {
            vips.install(STATIC, came, InstallReason::Reload);
        }
        self.held = new.held;
    }

    fn all(&self) -> Vec<PlacedVip> {
        self.held.iter().map(|(_, placed)| placed.clone()).collect()
    }
}

/// `address` on `interface`, with no lifetime: the kernel keeps it until it is removed.
fn placed(address: &StaticAddress, interface: &Interface) -> PlacedVip {
    PlacedVip {
        interface: interface.clone(),
        vip: Vip {
            address: address.address.address,
            prefix_len: address.address.prefix_len,
            label: address.address.label.clone(),
            lifetime: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Format};

    fn config(text: &str) -> Config {
        Config::from_str(
            &format!(
                "{text}[instances.a]\ninterface = \"eth0\"\nvrid = 7\n\
                 virtual_addresses = [\"192.0.2.100/24\"]\n"
            ),
            Format::Toml,
            "test.toml",
        )
        .expect("valid test config")
    }

    fn interfaces() -> HashMap<String, Interface> {
        ["eth0", "eth1"]
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let index = u32::try_from(index).expect("two interfaces") + 2;
                let interface = Interface {
                    name: (*name).to_owned(),
                    index,
                    mac: [2, 0, 0, 0, 0, 1],
                    link_local: None,
                    primary_ipv4: None,
                    running: true,
                };
                ((*name).to_owned(), interface)
            })
            .collect()
    }

    #[test]
    fn static_addresses_are_placed_on_their_interface_without_a_lifetime() {
        let config = config(
            "static_addresses = [{ address = \"192.0.2.50/24\", dev = \"eth1\" }, \
             { address = \"2001:db8::50/64\", dev = \"eth0\", no_track = true }, \
             { address = \"198.51.100.5/24\", dev = \"eth9\" }]\n",
        );
        let placed = StaticAddresses::new(&config, &interfaces());
        assert_eq!(placed.held.len(), 2, "the unknown interface's is skipped");
        let (first, on_eth1) = &placed.held[0];
        assert_eq!(on_eth1.interface.name, "eth1");
        assert_eq!(on_eth1.vip.lifetime, None);
        assert!(!first.no_track);
        assert!(placed.held[1].0.no_track);
    }
}
