//! The configuration of one virtual router, as the protocol core needs it.

use std::net::IpAddr;
use std::time::Duration;

use thiserror::Error;

use super::interval::AdvertInterval;
use super::packet::{Auth, Version};
use super::priority::Priority;
use super::timers::DownTimerAdverts;

/// What the core needs to run one virtual router (RFC 9568 §6.1 "Parameters Per Virtual
/// Router"). The config layer builds and validates it; [`crate::Instance::new`] checks the
/// protocol-level rules again so the core never runs on a combination the RFCs forbid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    /// The Virtual Router Identifier, 1..=255 (RFC 9568 §5.2.3).
    pub vrid: u8,
    /// VRRPv2 (IPv4 only) or VRRPv3.
    pub version: Version,
    /// Our primary address on the interface: the source of our advertisements and the
    /// tie-breaker when priorities are equal (RFC 9568 §6.4.3: the higher address wins). Its
    /// family is the instance's family.
    pub primary_address: IpAddr,
    /// Our priority; 255 means we own the addresses (RFC 9568 §6.1).
    pub priority: Priority,
    /// Advertisement_Interval; VRRPv2 needs whole seconds.
    pub advert_interval: AdvertInterval,
    /// Preempt_Mode (RFC 9568 §6.1): whether a backup takes over from a lower-priority master.
    pub preempt: bool,
    /// How long a preempting backup still accepts a lower-priority master, counted from
    /// startup or from the first lower-priority advertisement of a stay in Backup
    /// (keepalived's `preempt_delay`; RFC 9568 has no such knob). Zero means no delay.
    pub preempt_delay: Duration,
    /// Accept_Mode (RFC 9568 §6.1): whether a master that does not own the addresses accepts
    /// packets sent to them. The core only reports it; the net layer applies it.
    pub accept_mode: bool,
    /// The virtual addresses, all of the primary address's family (RFC 9568 §6.1
    /// IPvX_Addresses).
    pub virtual_addresses: Vec<IpAddr>,
    /// VRRPv2 authentication to send and expect; must be [`Auth::None`] for VRRPv3.
    pub auth: Auth,
    /// Whether a master that hears a lower priority advertises at once instead of only
    /// discarding the advert as RFC 9568 §6.4.3 says (keepalived's default; its
    /// `lower_prio_no_advert` and strict mode turn it off).
    pub advertise_on_lower_priority: bool,
    /// Whether a master that hears a lower priority also announces its addresses again
    /// (keepalived's `garp_lower_prio_repeat`, which strict mode sets to 0).
    pub announce_on_lower_priority: bool,
    /// Whether a master that hears a higher priority advertises its own before stepping down
    /// (keepalived's `higher_prio_send_advert`; RFC 9568 §6.4.3 and strict mode do not).
    pub advertise_before_stepping_down: bool,
    /// How many advertisement intervals of silence Master_Down_Interval counts: the RFCs'
    /// three, or keepalived's `down_timer_adverts`.
    pub down_timer_adverts: DownTimerAdverts,
}

impl InstanceConfig {
    /// A configuration with the RFC defaults: 1 s interval, preempt on, no preempt delay,
    /// accept mode off, no authentication; and keepalived's answers of a master to a lower
    /// or higher priority (see [`InstanceConfig::apply_strict_mode`] for the RFC's).
    pub fn new(
        vrid: u8,
        version: Version,
        primary_address: IpAddr,
        priority: Priority,
        virtual_addresses: Vec<IpAddr>,
    ) -> Self {
        InstanceConfig {
            vrid,
            version,
            primary_address,
            priority,
            advert_interval: AdvertInterval::DEFAULT,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept_mode: false,
            virtual_addresses,
            auth: Auth::None,
            advertise_on_lower_priority: true,
            announce_on_lower_priority: true,
            advertise_before_stepping_down: true,
            down_timer_adverts: DownTimerAdverts::RFC,
        }
    }

    /// Applies what keepalived's strict mode (`vrrp_strict` / `strict_mode`) changes in the
    /// protocol itself, as keepalived 2.2.7 sets it in `vrrp_complete_instance`
    /// (keepalived/vrrp/vrrp.c): a master answers a lower priority with nothing, neither an
    /// advert nor an announcement, and steps down for a higher one without a last advert,
    /// which is RFC 9568 §6.4.3 to the letter. Its other rules (no authentication, no
    /// preempt delay, accept mode only for the owner, down timer of three adverts) are the
    /// configuration layer's.
    pub fn apply_strict_mode(&mut self) {
        self.advertise_on_lower_priority = false;
        self.announce_on_lower_priority = false;
        self.advertise_before_stepping_down = false;
    }

    /// Checks the rules the protocol itself imposes on a configuration.
    pub fn validate(&self) -> Result<(), InstanceConfigError> {
        if self.vrid == 0 {
            return Err(InstanceConfigError::VridZero);
        }
        // keepalived 2.2.7 runs a VRRPv2 instance without addresses (its adverts list none)
        // and refuses a VRRPv3 one, as here.
        if self.virtual_addresses.is_empty() && self.version == Version::V3 {
            return Err(InstanceConfigError::NoVirtualAddresses);
        }
        if let Some(&address) = self
            .virtual_addresses
            .iter()
            .find(|address| address.is_ipv4() != self.primary_address.is_ipv4())
        {
            return Err(InstanceConfigError::MixedFamilies(address));
        }
        match self.version {
            Version::V2 => {
                if self.primary_address.is_ipv6() {
                    return Err(InstanceConfigError::V2IsIpv4Only);
                }
                if self.advert_interval.whole_secs().is_none() {
                    return Err(InstanceConfigError::V2IntervalNotWholeSeconds(
                        self.advert_interval,
                    ));
                }
            }
            Version::V3 => {
                if self.advert_interval > AdvertInterval::V3_MAX {
                    return Err(InstanceConfigError::V3IntervalTooLong(self.advert_interval));
                }
                if self.auth != Auth::None {
                    return Err(InstanceConfigError::V3HasNoAuthentication);
                }
            }
        }
        Ok(())
    }
}

/// A configuration the protocol cannot run.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum InstanceConfigError {
    /// VRID 0 is not valid (RFC 9568 §5.2.3: 1..=255).
    #[error("the VRID must be 1..=255, not 0")]
    VridZero,
    /// A VRRPv3 virtual router needs at least one address (RFC 9568 §5.2.5); a VRRPv2 one
    /// may have none, as keepalived's may.
    #[error("a VRRPv3 virtual router needs at least one virtual address")]
    NoVirtualAddresses,
    /// A virtual address is not of the primary address's family (RFC 9568 §1: the families
    /// are separate virtual routers).
    #[error("virtual address {0} is not of the primary address's family")]
    MixedFamilies(IpAddr),
    /// VRRPv2 carries IPv4 only (RFC 3768 §1).
    #[error("VRRPv2 is IPv4 only; use VRRPv3 for IPv6")]
    V2IsIpv4Only,
    /// VRRPv2's interval field counts whole seconds (RFC 3768 §5.3.7).
    #[error("VRRPv2 advertises whole seconds (1..=255), not {0}")]
    V2IntervalNotWholeSeconds(AdvertInterval),
    /// VRRPv3's interval field has 12 bits of centiseconds (RFC 9568 §5.2.7).
    #[error("VRRPv3 intervals stop at 40.95s, not {0}")]
    V3IntervalTooLong(AdvertInterval),
    /// VRRPv3 removed authentication (RFC 9568 §9).
    #[error("VRRPv3 has no authentication")]
    V3HasNoAuthentication,
}
