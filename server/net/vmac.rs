//! Virtual MAC interfaces, as keepalived's `use_vmac` makes them: a macvlan in private mode on
//! the instance's interface whose MAC is the virtual router MAC of RFC 9568 §7.3
//! (00-00-5E-00-01-VRID for IPv4, 00-00-5E-00-02-VRID for IPv6), holding the virtual
//! addresses, so that a failover changes where the MAC answers rather than which MAC
//! answers.
//!
//! Set up as keepalived 2.2.7 sets it up (`netlink_link_add_vmac()` in
//! keepalived/vrrp/vrrp_vmac.c, `set_interface_parameters()` in vrrp_if_config.c):
//! - private mode: the default (VEPA) mode drops frames whose source MAC is the macvlan's
//!   own, which the other router's adverts from the same virtual MAC are (NOTE_vrrp_vmac.txt);
//! - IPv4: on the macvlan `arp_ignore=1` (answer ARP only for its own addresses, the
//!   virtual ones), `accept_local=1` (hear a peer advertising from a local address),
//!   `rp_filter=0` (it has no route back to the adverts' source) and `promote_secondaries=1`;
//!   IPv6 is disabled on it unless IPv6 addresses go there too, so a backup's copy of the
//!   MAC never speaks. On the parent `arp_ignore=1` and `arp_filter=1`, so the parent never
//!   answers ARP for the virtual addresses with its own MAC, and `arp_announce=2` (see
//!   `PARENT_WHILE_IN_USE` for why); these are put back at exit;
//! - IPv6: no address generated from the MAC (`addr_gen_mode` none, RFC 9568 §7.4: the
//!   virtual MAC must not make a link-local address of its own); the parent's link-local
//!   address is copied to it, deprecated so nothing else picks it as a source, and the
//!   adverts come from it.
//!
//! A macvlan made here carries [`MARKER`] in its alias (`ip link` shows it), followed by the
//! parent's ARP settings as they were before the first macvlan on it changed them. That is how
//! the next start recognizes what a killed run left, and puts the parent back, without ever
//! deleting an operator's own links: only marked links are removed, plus a macvlan that has
//! exactly the virtual router MAC and the name an instance needs (keepalived's own leftover,
//! which keepalived would reuse the same way).

use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use futures_util::StreamExt;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, CacheInfo,
};
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage, MacVlanMode};
use rtnetlink::{LinkMacVlan, LinkUnspec};

use super::addresses::netlink_errno;
use super::{Family, Interface, Netlink};

/// The start of the alias of every macvlan made here.
pub const MARKER: &str = "vrrp-sidecar virtual MAC";

/// The prefix length keepalived gives the link-local address it copies to the macvlan.
const LINK_LOCAL_PREFIX_LEN: u8 = 64;

/// The virtual router MAC of `vrid` for `family` (RFC 9568 §7.3).
pub fn virtual_router_mac(family: Family, vrid: u8) -> [u8; 6] {
    let family_octet = match family {
        Family::Ipv4 => 0x01,
        Family::Ipv6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, family_octet, vrid]
}

/// Whether `mac` is a virtual router MAC of either family.
pub fn is_virtual_router_mac(mac: &[u8; 6]) -> bool {
    mac[..4] == [0x00, 0x00, 0x5e, 0x00] && matches!(mac[4], 0x01 | 0x02)
}

/// One virtual MAC interface as an instance needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmacSpec {
    /// The macvlan's name.
    pub name: String,
    /// The interface it sits on, as looked up.
    pub parent: Interface,
    /// The family of the instance's adverts, which picks the MAC and the sysctls.
    pub family: Family,
    /// The instance's VRID, the MAC's last octet.
    pub vrid: u8,
    /// Whether IPv6 addresses go on it (an IPv4 instance's excluded IPv6 addresses), which
    /// keeps IPv6 enabled on an IPv4 instance's macvlan.
    pub holds_ipv6: bool,
}

/// The parent's ARP settings as they were before a macvlan made here changed them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParentArp {
    /// `net.ipv4.conf.PARENT.arp_ignore`.
    pub arp_ignore: u8,
    /// `net.ipv4.conf.PARENT.arp_filter`.
    pub arp_filter: u8,
    /// `net.ipv4.conf.PARENT.arp_announce`.
    pub arp_announce: u8,
}

/// What the parent's ARP settings are while a macvlan is on it: keepalived's two, and
/// `arp_announce=2`, which keepalived leaves alone. Without it, a master answering a client
/// it has no neighbour entry for sends its ARP request from the parent, with the VIP as the
/// sender address (the reply leaves by the parent's route to the subnet) and the parent's
/// own MAC: the client then files that MAC under the VIP, and the virtual MAC is lost to it
/// until the next gratuitous ARP. Seen in the lab with keepalived 2.2.7, which does this.
const PARENT_WHILE_IN_USE: [(&str, u8); 3] =
    [("arp_ignore", 1), ("arp_filter", 1), ("arp_announce", 2)];

impl ParentArp {
    /// The alias of a marked macvlan that remembers these settings of its parent.
    pub fn alias(self) -> String {
        format!(
            "{MARKER}; parent arp_ignore={} arp_filter={} arp_announce={}",
            self.arp_ignore, self.arp_filter, self.arp_announce
        )
    }

    fn get(self, key: &str) -> Option<u8> {
        match key {
            "arp_ignore" => Some(self.arp_ignore),
            "arp_filter" => Some(self.arp_filter),
            "arp_announce" => Some(self.arp_announce),
            _ => None,
        }
    }

    /// The settings an alias remembers: `None` when the alias is not a marked one, or a
    /// marked one that remembers none (an IPv6 macvlan leaves its parent alone).
    pub fn from_alias(alias: &str) -> Option<Self> {
        let settings = alias
            .strip_prefix(MARKER)?
            .split("; ")
            .find_map(|section| section.strip_prefix("parent "))?;
        let mut arp_ignore = None;
        let mut arp_filter = None;
        let mut arp_announce = None;
        for setting in settings.split_whitespace() {
            match setting.split_once('=')? {
                ("arp_ignore", value) => arp_ignore = value.parse().ok(),
                ("arp_filter", value) => arp_filter = value.parse().ok(),
                ("arp_announce", value) => arp_announce = value.parse().ok(),
                _ => {}
            }
        }
        Some(Self {
            arp_ignore: arp_ignore?,
            arp_filter: arp_filter?,
            arp_announce: arp_announce?,
        })
    }
}

/// The `net.ipv4.conf.all.rp_filter` a marked alias remembers from before this daemon set
/// it to 0, if it did.
fn all_rp_filter_from_alias(alias: &str) -> Option<u8> {
    alias
        .strip_prefix(MARKER)?
        .split("; ")
        .find_map(|section| section.strip_prefix("all rp_filter="))?
        .parse()
        .ok()
}

/// An IPv4 macvlan needs reverse-path filtering off, and the kernel filters with the higher
/// of `all.rp_filter` and the interface's own, so keepalived's `clear_rp_filter()`
/// (vrrp_if_config.c) is done here too when `all` is on: every interface whose own setting is
/// below `all`'s, and `default` (for interfaces made later), is raised to it, which changes
/// nothing for them; then `all` is set to 0. Returns the `all` value to remember, `None`
/// when it was already 0. At exit only `all` is put back: with it, the raised interfaces
/// filter exactly as before.
fn clear_all_rp_filter(name: &str) -> Result<Option<u8>, VmacError> {
    let all_path = ipv4_conf("all", "rp_filter");
    let all = read_sysctl(name, &all_path)?;
    if all == 0 {
        return Ok(None);
    }
    let entries = std::fs::read_dir("/proc/sys/net/ipv4/conf").map_err(|source| {
        sysctl_error(
            name,
            std::path::Path::new("/proc/sys/net/ipv4/conf"),
            source,
        )
    })?;
    for entry in entries.flatten() {
        let interface = entry.file_name().to_string_lossy().into_owned();
        if interface == "all" {
            continue;
        }
        let path = ipv4_conf(&interface, "rp_filter");
        // An interface deleted meanwhile has nothing to raise.
        if let Ok(own) = read_sysctl(name, &path)
            && own < all
        {
            write_sysctl(name, &path, all)?;
        }
    }
    write_sysctl(name, &all_path, 0)?;
    tracing::info!(
        from = all,
        "net.ipv4.conf.all.rp_filter set to 0 for the virtual MAC interfaces, every interface keeping its filtering"
    );
    Ok(Some(all))
}

/// Why a virtual MAC interface could not be made or removed.
#[derive(Debug, thiserror::Error)]
pub enum VmacError {
    /// The name is taken by a link this daemon did not make and that is no virtual MAC
    /// interface for this instance.
    #[error(
        "an interface named {name} exists and is not a virtual MAC interface made by \
         vrrp-sidecar or keepalived for this virtual router; give the instance's \
         virtual_mac another name, or remove that interface"
    )]
    NameTaken {
        /// The name.
        name: String,
    },
    /// A netlink request failed.
    #[error("{action} virtual MAC interface {name}: {source}")]
    Netlink {
        /// What was being done ("creating", "deleting", ...).
        action: &'static str,
        /// The macvlan.
        name: String,
        /// What netlink answered.
        source: rtnetlink::Error,
    },
    /// A sysctl could not be read or written.
    #[error("{path}, for virtual MAC interface {name}: {source}")]
    Sysctl {
        /// The macvlan the setting is for.
        name: String,
        /// The file under /proc/sys.
        path: String,
        /// The error.
        source: io::Error,
    },
    /// The macvlan was created but cannot be found.
    #[error("virtual MAC interface {name} vanished right after it was created")]
    Vanished {
        /// The macvlan.
        name: String,
    },
}

/// A link of the namespace, as far as telling virtual MAC interfaces apart needs.
#[derive(Clone, Debug)]
struct FoundLink {
    index: u32,
    name: String,
    parent: Option<u32>,
    mac: Option<[u8; 6]>,
    alias: Option<String>,
    macvlan: bool,
}

impl FoundLink {
    fn from_message(message: &LinkMessage) -> Self {
        let mut link = FoundLink {
            index: message.header.index,
            name: String::new(),
            parent: None,
            mac: None,
            alias: None,
            macvlan: false,
        };
        for attribute in &message.attributes {
            match attribute {
                LinkAttribute::IfName(name) => link.name.clone_from(name),
                LinkAttribute::IfAlias(alias) => link.alias = Some(alias.clone()),
                LinkAttribute::Link(parent) => link.parent = Some(*parent),
                LinkAttribute::Address(bytes) => link.mac = <[u8; 6]>::try_from(&bytes[..]).ok(),
                LinkAttribute::LinkInfo(infos) => {
                    link.macvlan |= infos
                        .iter()
                        .any(|info| matches!(info, LinkInfo::Kind(InfoKind::MacVlan)));
                }
                _ => {}
            }
        }
        link
    }

    fn is_marked(&self) -> bool {
        self.alias
            .as_deref()
            .is_some_and(|alias| alias.starts_with(MARKER))
    }
}

/// Makes and removes virtual MAC interfaces over rtnetlink.
#[derive(Clone, Debug)]
pub struct Vmacs {
    netlink: Netlink,
}

impl Vmacs {
    /// Uses `netlink` for every request.
    pub fn new(netlink: Netlink) -> Self {
        Self { netlink }
    }

    async fn links(&self) -> Result<Vec<FoundLink>, VmacError> {
        let mut dump = self.netlink.handle.link().get().execute();
        let mut links = Vec::new();
        while let Some(message) = dump.next().await {
            let message = message.map_err(|source| VmacError::Netlink {
                action: "listing links for",
                name: "any".to_owned(),
                source,
            })?;
            links.push(FoundLink::from_message(&message));
        }
        Ok(links)
    }

    /// Makes sure the macvlan of `spec` exists, is set up and is up. One this daemon made
    /// for the same parent and MAC is kept as it is (a reload of a running instance); a
    /// marked one that differs, or keepalived's leftover with this name, is replaced.
    pub async fn ensure(&self, spec: &VmacSpec) -> Result<(), VmacError> {
        let links = self.links().await?;
        let mac = virtual_router_mac(spec.family, spec.vrid);
        if let Some(existing) = links.iter().find(|link| link.name == spec.name) {
            let is_ours = existing.is_marked();
            if is_ours && existing.parent == Some(spec.parent.index) && existing.mac == Some(mac) {
                return Ok(());
            }
            let keepalived_leftover = existing.macvlan
                && existing.mac.as_ref().is_some_and(is_virtual_router_mac)
                && existing.parent == Some(spec.parent.index);
            if !is_ours && !keepalived_leftover {
                return Err(VmacError::NameTaken {
                    name: spec.name.clone(),
                });
            }
            tracing::info!(interface = %spec.name, "replacing a virtual MAC interface left by an earlier run");
            self.delete(existing.index, &existing.name).await?;
        }
        let alias = match spec.family {
            Family::Ipv4 => {
                // Another marked macvlan on the same parent remembers the settings from
                // before this daemon changed them; otherwise they are still the operator's.
                let remembered = links
                    .iter()
                    .filter(|link| link.parent == Some(spec.parent.index) && link.name != spec.name)
                    .filter_map(|link| ParentArp::from_alias(link.alias.as_deref()?))
                    .next();
                let parent = &spec.parent.name;
                let original = match remembered {
                    Some(original) => original,
                    None => ParentArp {
                        arp_ignore: read_sysctl(parent, &ipv4_conf(parent, "arp_ignore"))?,
                        arp_filter: read_sysctl(parent, &ipv4_conf(parent, "arp_filter"))?,
                        arp_announce: read_sysctl(parent, &ipv4_conf(parent, "arp_announce"))?,
                    },
                };
                // `all.rp_filter` as it was before any macvlan of this run: remembered by
                // another marked one, or read (and cleared) now.
                let remembered_all = links
                    .iter()
                    .find_map(|link| all_rp_filter_from_alias(link.alias.as_deref()?));
                let all = match remembered_all {
                    Some(all) => Some(all),
                    None => clear_all_rp_filter(&spec.name)?,
                };
                match all {
                    Some(all) => format!("{}; all rp_filter={all}", original.alias()),
                    None => original.alias(),
                }
            }
            Family::Ipv6 => MARKER.to_owned(),
        };
        let request = LinkMacVlan::new(&spec.name, spec.parent.index, MacVlanMode::Private)
            .address(mac.to_vec())
            .build();
        self.netlink
            .handle
            .link()
            .add(request)
            .execute()
            .await
            .map_err(|source| VmacError::Netlink {
                action: "creating",
                name: spec.name.clone(),
                source,
            })?;
        let index = self.index_of(&spec.name).await?;
        // The kernel takes no alias in the request that creates a link, so it is set at once
        // after: the mark comes before any setting it remembers is changed.
        self.netlink
            .handle
            .link()
            .set(LinkUnspec::new_with_index(index).alias(alias).build())
            .execute()
            .await
            .map_err(|source| VmacError::Netlink {
                action: "marking",
                name: spec.name.clone(),
                source,
            })?;
        self.configure(spec, index).await?;
        self.netlink
            .handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(|source| VmacError::Netlink {
                action: "bringing up",
                name: spec.name.clone(),
                source,
            })?;
        tracing::info!(interface = %spec.name, parent = %spec.parent.name, mac = %mac_text(&mac), "virtual MAC interface created");
        Ok(())
    }

    /// The sysctls and the link-local address, set while the macvlan is still down so
    /// that it never runs without them.
    async fn configure(&self, spec: &VmacSpec, index: u32) -> Result<(), VmacError> {
        let name = &spec.name;
        // RFC 9568 §7.4: no link-local address made from the virtual MAC.
        write_sysctl(name, &ipv6_conf(name, "addr_gen_mode"), 1)?;
        match spec.family {
            Family::Ipv4 => {
                write_sysctl(name, &ipv4_conf(name, "arp_ignore"), 1)?;
                write_sysctl(name, &ipv4_conf(name, "accept_local"), 1)?;
                write_sysctl(name, &ipv4_conf(name, "rp_filter"), 0)?;
                write_sysctl(name, &ipv4_conf(name, "promote_secondaries"), 1)?;
                if !spec.holds_ipv6 {
                    write_sysctl(name, &ipv6_conf(name, "disable_ipv6"), 1)?;
                }
                let parent = &spec.parent.name;
                for (key, value) in PARENT_WHILE_IN_USE {
                    write_sysctl(parent, &ipv4_conf(parent, key), value)?;
                }
            }
            Family::Ipv6 => {
                let link_local = spec
                    .parent
                    .link_local
                    .unwrap_or_else(|| eui64_link_local(&spec.parent.mac));
                let mut request = self.netlink.handle.address().add(
                    index,
                    IpAddr::V6(link_local),
                    LINK_LOCAL_PREFIX_LEN,
                );
                let message = request.message_mut();
                message.header.flags |= AddressHeaderFlags::Nodad;
                message
                    .attributes
                    .push(AddressAttribute::Flags(AddressFlags::Nodad));
                // Deprecated (preferred lifetime 0) and never expiring, as keepalived leaves
                // it: usable as the adverts' named source, never picked for other traffic.
                let mut lifetimes = CacheInfo::default();
                lifetimes.ifa_preferred = 0;
                lifetimes.ifa_valid = u32::MAX;
                message
                    .attributes
                    .push(AddressAttribute::CacheInfo(lifetimes));
                request
                    .execute()
                    .await
                    .map_err(|source| VmacError::Netlink {
                        action: "adding the parent's link-local address to",
                        name: name.clone(),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    async fn index_of(&self, name: &str) -> Result<u32, VmacError> {
        let mut found = self
            .netlink
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        match found.next().await {
            Some(Ok(link)) => Ok(link.header.index),
            _ => Err(VmacError::Vanished {
                name: name.to_owned(),
            }),
        }
    }

    async fn delete(&self, index: u32, name: &str) -> Result<(), VmacError> {
        match self.netlink.handle.link().del(index).execute().await {
            Ok(()) => Ok(()),
            // Gone already (its parent was deleted, say): nothing left to do.
            Err(error) if netlink_errno(&error) == Some(libc::ENODEV) => Ok(()),
            Err(source) => Err(VmacError::Netlink {
                action: "deleting",
                name: name.to_owned(),
                source,
            }),
        }
    }

    /// Deletes every macvlan carrying [`MARKER`], those of this run at exit and those a
    /// killed run left at the next start, and puts each parent's ARP settings back to what
    /// the aliases remember, where they are still what this daemon set. Returns the names
    /// deleted. Keeps going past a failure and returns the first.
    pub async fn remove_all(&self) -> Result<Vec<String>, VmacError> {
        let links = self.links().await?;
        let mut removed = Vec::new();
        let mut first_error = None;
        let mut parents: Vec<(u32, ParentArp)> = Vec::new();
        let mut all_rp_filter = None;
        for link in links.iter().filter(|link| link.is_marked()) {
            all_rp_filter =
                all_rp_filter.or_else(|| all_rp_filter_from_alias(link.alias.as_deref()?));
            if let (Some(parent), Some(original)) = (
                link.parent,
                link.alias.as_deref().and_then(ParentArp::from_alias),
            ) && !parents.iter().any(|(index, _)| *index == parent)
            {
                parents.push((parent, original));
            }
            match self.delete(link.index, &link.name).await {
                Ok(()) => removed.push(link.name.clone()),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        for (index, original) in parents {
            let Some(parent) = links.iter().find(|link| link.index == index) else {
                continue;
            };
            if let Err(error) = restore_parent(&parent.name, original) {
                first_error.get_or_insert(error);
            }
        }
        if let Some(all) = all_rp_filter {
            let path = ipv4_conf("all", "rp_filter");
            // Only where it is still the 0 this daemon set.
            let restored = match read_sysctl("all", &path) {
                Ok(0) => write_sysctl("all", &path, all),
                Ok(_) => Ok(()),
                Err(error) => Err(error),
            };
            if let Err(error) = restored {
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            None => Ok(removed),
            Some(error) => Err(error),
        }
    }
}

/// Puts `parent`'s ARP settings back to `original`, each only where it is still what this
/// daemon set: an operator who changed it since keeps the change.
fn restore_parent(parent: &str, original: ParentArp) -> Result<(), VmacError> {
    for (key, set) in PARENT_WHILE_IN_USE {
        let Some(value) = original.get(key) else {
            continue;
        };
        let path = ipv4_conf(parent, key);
        if read_sysctl(parent, &path)? == set && value != set {
            write_sysctl(parent, &path, value)?;
        }
    }
    Ok(())
}

fn ipv4_conf(interface: &str, key: &str) -> PathBuf {
    PathBuf::from(format!("/proc/sys/net/ipv4/conf/{interface}/{key}"))
}

fn ipv6_conf(interface: &str, key: &str) -> PathBuf {
    PathBuf::from(format!("/proc/sys/net/ipv6/conf/{interface}/{key}"))
}

fn sysctl_error(name: &str, path: &std::path::Path, source: io::Error) -> VmacError {
    VmacError::Sysctl {
        name: name.to_owned(),
        path: path.display().to_string(),
        source,
    }
}

/// Reads a small integer sysctl (ARP and filter settings are 0..=8).
fn read_sysctl(name: &str, path: &std::path::Path) -> Result<u8, VmacError> {
    let text = std::fs::read_to_string(path).map_err(|source| sysctl_error(name, path, source))?;
    text.trim().parse().map_err(|_| {
        sysctl_error(
            name,
            path,
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a small number: {text:?}"),
            ),
        )
    })
}

fn write_sysctl(name: &str, path: &std::path::Path, value: u8) -> Result<(), VmacError> {
    std::fs::write(path, value.to_string()).map_err(|source| sysctl_error(name, path, source))
}

/// The EUI-64 link-local address of `mac` (RFC 4291 appendix A), for a parent that has no
/// link-local address of its own to copy.
fn eui64_link_local(mac: &[u8; 6]) -> Ipv6Addr {
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ])
}

/// `mac` as `ip link` writes it: `00:00:5e:00:01:33`.
pub fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|octet| format!("{octet:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_virtual_router_mac_follows_rfc_9568() {
        assert_eq!(
            virtual_router_mac(Family::Ipv4, 51),
            [0x00, 0x00, 0x5e, 0x00, 0x01, 51]
        );
        assert_eq!(
            virtual_router_mac(Family::Ipv6, 255),
            [0x00, 0x00, 0x5e, 0x00, 0x02, 255]
        );
        assert!(is_virtual_router_mac(&virtual_router_mac(Family::Ipv6, 1)));
        assert!(!is_virtual_router_mac(&[0x00, 0x00, 0x5e, 0x00, 0x03, 1]));
        assert!(!is_virtual_router_mac(&[0x02, 0x00, 0x5e, 0x00, 0x01, 1]));
    }

    #[test]
    fn the_alias_remembers_the_parents_settings() {
        let original = ParentArp {
            arp_ignore: 2,
            arp_filter: 0,
            arp_announce: 1,
        };
        assert_eq!(ParentArp::from_alias(&original.alias()), Some(original));
        let with_all = format!("{}; all rp_filter=1", original.alias());
        assert_eq!(ParentArp::from_alias(&with_all), Some(original));
        assert_eq!(all_rp_filter_from_alias(&with_all), Some(1));
        assert_eq!(all_rp_filter_from_alias(&original.alias()), None);
        assert_eq!(ParentArp::from_alias(MARKER), None, "an IPv6 macvlan's");
        assert_eq!(ParentArp::from_alias("uplink to the core"), None);
        assert_eq!(
            ParentArp::from_alias(&format!(
                "{MARKER}; parent arp_ignore=x arp_filter=1 arp_announce=0"
            )),
            None
        );
    }

    #[test]
    fn the_fallback_link_local_address_is_the_eui64_one() {
        assert_eq!(
            eui64_link_local(&[0x42, 0xfc, 0x6b, 0xd5, 0xac, 0xfa]),
            "fe80::40fc:6bff:fed5:acfa"
                .parse::<Ipv6Addr>()
                .expect("valid")
        );
    }
}
