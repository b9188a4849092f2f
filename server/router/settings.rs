//! From one validated [`InstanceSettings`] to what the router runs: the core's
//! [`InstanceConfig`], the codec's options, the socket it needs and the addresses it holds.

use std::collections::BTreeSet;
use std::net::IpAddr;

use thiserror::Error;

use crate::config::{self, InstanceSettings, Preempt};
use crate::net::{Carrier, Interface};
use crate::vrrp::node::{Link, UnicastPeer};
use crate::vrrp::{
    Auth, DecodeOptions, HopLimits, InstanceConfig, InstanceConfigError, Priority, V3Ipv4Checksum,
};

/// Why an instance cannot be built on the interface as it is now.
#[derive(Debug, Error)]
pub enum SettingsError {
    /// The interface has no address to send advertisements from.
    #[error("{interface} has no {what} to send advertisements from")]
    NoSourceAddress {
        /// The instance's interface.
        interface: String,
        /// Which address is missing.
        what: &'static str,
    },
    /// `unicast_src` names an address the raw socket will not send from: it always uses the
    /// interface's primary address (RFC 9568 §5.1.1.1), and peers compare against it.
    #[error(
        "unicast_src {configured} is not {interface}'s primary address {primary}, which is \
         what advertisements are sent from; set unicast_src to {primary} or remove it"
    )]
    UnicastSourceNotPrimary {
        /// The instance's interface.
        interface: String,
        /// The configured source.
        configured: IpAddr,
        /// The interface's primary address.
        primary: IpAddr,
    },
    /// Priority 0 is only ever sent by a stopping master (RFC 9568 §5.2.4); validate.rs
    /// refuses it, so this means a configuration that skipped validation.
    #[error("priority 0 is reserved for a stopping master")]
    PriorityZero,
    /// The core refused the configuration.
    #[error(transparent)]
    Core(#[from] InstanceConfigError),
}

/// The link `settings` runs on: its socket, shared by every instance on the interface and
/// family. With a virtual MAC it is the macvlan's (unless `xmit_base`), so adverts leave
/// from the virtual MAC as keepalived sends them.
pub fn link(settings: &InstanceSettings) -> Link {
    Link {
        interface: settings.advert_interface().to_owned(),
        family: settings.family(),
    }
}

/// The only sources adverts are taken from, each within its hop limits: the unicast peers
/// when the instance checks them (keepalived's `check_unicast_src`); `None` takes adverts
/// from anyone, as with multicast.
pub fn checked_peers(settings: &InstanceSettings) -> Option<Vec<UnicastPeer>> {
    settings
        .unicast
        .as_ref()
        .filter(|unicast| unicast.check_source)
        .map(|unicast| unicast.peers.clone())
}

/// Every interface `settings` touches: its own and those its addresses are placed on.
pub fn interface_names(settings: &InstanceSettings) -> BTreeSet<String> {
    settings
        .held_addresses()
        .map(|address| settings.interface_of(address).to_owned())
        .chain([
            settings.interface.clone(),
            settings.advert_interface().to_owned(),
        ])
        .collect()
}

/// The addresses advertisements carry (RFC 9568 §5.2.9).
pub fn advertised_addresses(settings: &InstanceSettings) -> Vec<IpAddr> {
    settings
        .virtual_addresses
        .iter()
        .map(|address| address.address)
        .collect()
}

/// Our primary address on `interface` for the instance's family: the IPv4 primary address or
/// the IPv6 link-local address, the only sources RFC 9568 §5.1.1.1 and §5.1.2.1 allow.
pub fn primary_address(
    settings: &InstanceSettings,
    interface: &Interface,
) -> Result<IpAddr, SettingsError> {
    let primary = match settings.family() {
        config::Family::Ipv4 => interface.primary_ipv4.map(IpAddr::V4),
        config::Family::Ipv6 => interface.link_local.map(IpAddr::V6),
    };
    let primary = primary.ok_or_else(|| SettingsError::NoSourceAddress {
        interface: interface.name.clone(),
        what: match settings.family() {
            config::Family::Ipv4 => "primary IPv4 address",
            config::Family::Ipv6 => "IPv6 link-local address",
        },
    })?;
    if let Some(configured) = settings.unicast.as_ref().and_then(|unicast| unicast.source)
        && configured != primary
    {
        return Err(SettingsError::UnicastSourceNotPrimary {
            interface: interface.name.clone(),
            configured,
            primary,
        });
    }
    Ok(primary)
}

/// The core's configuration of `settings`, run from `primary_address`.
pub fn instance_config(
    settings: &InstanceSettings,
    primary_address: IpAddr,
) -> Result<InstanceConfig, SettingsError> {
    let priority = self::priority(settings)?;
    let (preempt, preempt_delay) = match settings.preempt {
        Preempt::After(delay) => (true, delay),
        Preempt::Never => (false, std::time::Duration::ZERO),
    };
    let mut config = InstanceConfig {
        vrid: settings.vrid,
        version: settings.version,
        primary_address,
        priority,
        advert_interval: settings.advert_interval,
        preempt,
        preempt_delay,
        accept_mode: settings.accept_mode,
        virtual_addresses: advertised_addresses(settings),
        auth: settings.auth.clone(),
        down_timer_adverts: settings.down_timer_adverts,
        ..InstanceConfig::new(
            settings.vrid,
            settings.version,
            primary_address,
            priority,
            Vec::new(),
        )
    };
    // keepalived's `lower_prio_no_advert`: RFC 9568 §6.4.3's master only discards a
    // lower-priority advert.
    if settings.lower_prio_no_advert {
        config.advertise_on_lower_priority = false;
    }
    if settings.strict_mode {
        config.apply_strict_mode();
    }
    config.validate()?;
    Ok(config)
}

/// The configured priority as the core takes it.
pub fn priority(settings: &InstanceSettings) -> Result<Priority, SettingsError> {
    Priority::new(settings.priority).ok_or(SettingsError::PriorityZero)
}

/// What the codec checks on this instance's packets besides the IP header.
pub fn decode_options(settings: &InstanceSettings) -> DecodeOptions {
    DecodeOptions {
        version: Some(settings.version),
        v3_ipv4_checksum: checksum_form(settings),
        v2_auth: settings.auth.clone(),
        // keepalived checks the hop limit of multicast adverts only; a checked peer's own
        // limits are the node's (see `checked_peers`).
        hop_limits: if settings.unicast.is_some() {
            HopLimits::ANY
        } else {
            HopLimits::LINK_ONLY
        },
    }
}

/// The IP protocol this instance's adverts travel in: 51 under an IPsec Authentication
/// Header, 112 otherwise.
pub fn carrier(settings: &InstanceSettings) -> Carrier {
    match settings.auth {
        Auth::AuthenticationHeader(_) => Carrier::AuthenticationHeader,
        Auth::None | Auth::SimplePassword(_) => Carrier::Vrrp,
    }
}

/// The VRRPv3-over-IPv4 checksum form this instance sends and expects.
pub fn checksum_form(settings: &InstanceSettings) -> V3Ipv4Checksum {
    match settings.checksum {
        config::V3Ipv4Checksum::Rfc => V3Ipv4Checksum::WithPseudoHeader,
        config::V3Ipv4Checksum::V2Compatible => V3Ipv4Checksum::WithoutPseudoHeader,
    }
}

/// Whether `settings` is unicast without a peer, which keeps the instance in Fault.
pub fn without_peers(settings: &InstanceSettings) -> bool {
    settings
        .unicast
        .as_ref()
        .is_some_and(|unicast| unicast.peers.is_empty())
}

/// Whether going from `old` to `new` needs a fresh core instance. Priority, addresses,
/// announcements, unicast peers and the checksum form apply in place; what the core's timers
/// and receive checks are built on (interface, VRID, version, interval, authentication,
/// preemption, accept mode, strict mode, the answer to a lower priority, the down timer), the
/// virtual MAC, which moves the socket and the addresses, and having unicast peers at all,
/// without which the instance is parked in Fault, do not.
pub fn restart_needed(old: &InstanceSettings, new: &InstanceSettings) -> bool {
    old.interface != new.interface
        || old.family() != new.family()
        || old.vrid != new.vrid
        || old.version != new.version
        || old.advert_interval != new.advert_interval
        || old.auth != new.auth
        || old.preempt != new.preempt
        || old.accept_mode != new.accept_mode
        || old.strict_mode != new.strict_mode
        || old.lower_prio_no_advert != new.lower_prio_no_advert
        || old.down_timer_adverts != new.down_timer_adverts
        || without_peers(old) != without_peers(new)
        || old.virtual_mac != new.virtual_mac
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::time::Duration;

    use super::*;
    use crate::config::{Config, Format};

    fn settings(extra: &str) -> InstanceSettings {
        let text = format!(
            "[instances.a]\ninterface = \"eth0\"\nvrid = 7\npriority = 120\n\
             virtual_addresses = [\"192.0.2.100/24\"]\n{extra}"
        );
        Config::from_str(&text, Format::Toml, "test.toml")
            .expect("valid test config")
            .instances
            .remove(0)
    }

    fn eth0() -> Interface {
        Interface {
            name: "eth0".into(),
            index: 2,
            mac: [2, 0, 0, 0, 0, 1],
            link_local: Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
            primary_ipv4: Some(Ipv4Addr::new(192, 0, 2, 1)),
            running: true,
        }
    }

    #[test]
    fn preemption_and_the_checksum_form_map_onto_the_core() {
        let primary = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let delayed = settings("preempt_delay = \"2s\"\nchecksum = \"v2-compatible\"");
        let config = instance_config(&delayed, primary).expect("valid");
        assert!(config.preempt);
        assert_eq!(config.preempt_delay, Duration::from_secs(2));
        assert_eq!(config.priority.get(), 120);
        assert_eq!(checksum_form(&delayed), V3Ipv4Checksum::WithoutPseudoHeader);
        let never = instance_config(&settings("preempt = false"), primary).expect("valid");
        assert!(!never.preempt);
        assert_eq!(never.preempt_delay, Duration::ZERO);
    }

    #[test]
    fn strict_mode_sets_the_cores_answers_to_rfc_9568() {
        let primary = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let loose = instance_config(&settings(""), primary).expect("valid");
        assert!(loose.advertise_on_lower_priority);
        assert!(loose.announce_on_lower_priority);
        assert!(loose.advertise_before_stepping_down);
        let strict = instance_config(&settings("strict_mode = true"), primary).expect("valid");
        assert!(!strict.advertise_on_lower_priority);
        assert!(!strict.announce_on_lower_priority);
        assert!(!strict.advertise_before_stepping_down);
        assert!(
            !strict.accept_mode,
            "strict mode's default below priority 255"
        );
    }

    #[test]
    fn lower_prio_no_advert_keeps_a_master_quiet_towards_a_lower_priority() {
        let primary = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let quiet =
            instance_config(&settings("lower_prio_no_advert = true"), primary).expect("valid");
        assert!(!quiet.advertise_on_lower_priority);
        // Only the advert: announcements and the last advert before stepping down stay.
        assert!(quiet.announce_on_lower_priority);
        assert!(quiet.advertise_before_stepping_down);
        let old = settings("");
        assert!(restart_needed(
            &old,
            &settings("lower_prio_no_advert = true")
        ));
    }

    /// Unicast adverts are taken from the listed peers alone, each within its hop limits,
    /// unless `check_unicast_src` is off, which keepalived.conf files get unless they say
    /// `check_unicast_src` or give a peer `min_ttl` or `max_ttl`.
    #[test]
    fn checked_peers_are_the_peers_with_their_hop_limits() {
        assert_eq!(checked_peers(&settings("")), None, "multicast");
        assert_eq!(
            decode_options(&settings("")).hop_limits,
            HopLimits::LINK_ONLY
        );
        let peers = "unicast_peers = [\"192.0.2.2\", \
                     { address = \"192.0.2.3\", min_ttl = 250, max_ttl = 254 }]";
        assert_eq!(
            checked_peers(&settings(peers)),
            Some(vec![
                UnicastPeer {
                    address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
                    hop_limits: HopLimits::ANY,
                },
                UnicastPeer {
                    address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3)),
                    hop_limits: HopLimits {
                        lowest: 250,
                        highest: 254
                    },
                },
            ])
        );
        assert_eq!(decode_options(&settings(peers)).hop_limits, HopLimits::ANY);
        let open = settings(&format!("{peers}\ncheck_unicast_src = false"));
        assert_eq!(checked_peers(&open), None);
        assert!(!restart_needed(&settings(peers), &open));
    }

    #[test]
    fn the_source_is_the_primary_address_and_unicast_src_must_match_it() {
        assert_eq!(
            primary_address(&settings(""), &eth0()).expect("primary"),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
        );
        let other_source = settings("unicast_src = \"192.0.2.9\"\nunicast_peers = [\"192.0.2.2\"]");
        assert!(matches!(
            primary_address(&other_source, &eth0()),
            Err(SettingsError::UnicastSourceNotPrimary { .. })
        ));
    }

    #[test]
    fn only_what_the_core_is_built_on_needs_a_restart() {
        let old = settings("");
        for in_place in [
            "",
            "excluded_addresses = [\"198.51.100.7/24\"]",
            "unicast_peers = [\"192.0.2.2\"]",
            "checksum = \"v2-compatible\"",
            "[instances.a.garp]\nrepeat = 2",
        ] {
            let mut new = settings(in_place);
            new.priority = 200;
            assert!(!restart_needed(&old, &new), "{in_place}");
        }
        for restart in [
            "advert_interval = \"2s\"",
            "preempt = false",
            "accept_mode = false",
            "strict_mode = true",
            "version = 2",
        ] {
            assert!(restart_needed(&old, &settings(restart)), "{restart}");
        }
    }
}
