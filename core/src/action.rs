//! What an instance asks its driver to do.

use std::net::IpAddr;

use super::packet::Advertisement;
use super::state::{State, TransitionReason};

/// One output of an [`crate::Instance`], taken with `poll_action` and carried out in order.
///
/// Becoming master yields, in this order: `StateChanged`, `InstallAddresses`,
/// `SendAdvertisement`, `Announce`. The addresses go in before the advertisement leaves, so
/// by the time the old master hears it and lets go, we already answer for them; the
/// announcement comes last because it must point at addresses that exist (RFC 9568 §6.4.2 sends
/// the advertisement, then the gratuitous ARP / unsolicited NA).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this advertisement to the group (RFC 9568 §5.1: multicast 224.0.0.18 / ff02::12,
    /// TTL or hop limit 255). Its `priority` is the one to put on the wire: 0 when stopping.
    SendAdvertisement(Advertisement),
    /// Add these virtual addresses to the interface.
    InstallAddresses(Vec<IpAddr>),
    /// Remove these virtual addresses from the interface.
    RemoveAddresses(Vec<IpAddr>),
    /// Announce these addresses: gratuitous ARP for IPv4, unsolicited Neighbor Advertisement
    /// with the Override flag for IPv6 (RFC 9568 §6.4.2, §8.1.2).
    Announce(Vec<IpAddr>),
    /// As master, an advertisement with a lower priority than ours was heard (or our
    /// priority from a lower address): another router believes it is master. Reported so
    /// the driver can run keepalived's `notify_master_rx_lower_pri` (`vrrp_state_master_rx()`
    /// in `keepalived/vrrp/vrrp.c`); a priority-0 advert is a resignation, not this.
    LowerPriorityHeard {
        /// Its sender.
        from: IpAddr,
        /// The priority it carried.
        priority: u8,
    },
    /// The instance moved from one state to another.
    StateChanged {
        /// The state it left.
        from: State,
        /// The state it entered.
        to: State,
        /// Why.
        reason: TransitionReason,
    },
}
