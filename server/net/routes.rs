//! Virtual routes and rules added to and removed from the kernel over rtnetlink, and the
//! deletions of ours the kernel reports.
//!
//! The messages are those keepalived 2.2.7 sends (`netlink_route()` in
//! `keepalived/vrrp/vrrp_iproute.c`, `netlink_rule()` in `keepalived/vrrp/vrrp_iprule.c`):
//! a route is added with NLM_F_CREATE alone (keepalived's default, `prepend`) and its
//! protocol, keepalived's 18 unless the entry names another; it is deleted with the same
//! attributes and scope "nowhere", which the kernel takes as any scope, so that only the
//! route we added matches.

use std::net::IpAddr;

use futures_util::StreamExt;
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteProtocol, RouteScope,
    RouteType as KernelRouteType,
};
use rtnetlink::packet_route::rule::{
    RuleAction as KernelRuleAction, RuleAttribute, RuleFlags, RuleMessage,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};

use super::addresses::netlink_errno;
use super::{Family, Netlink};

/// An address and a prefix length.
pub type Prefix = (IpAddr, u8);

/// A route as the kernel takes it: the configuration's route, resolved to numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteEntry {
    /// IPv4 or IPv6.
    pub family: Family,
    /// The kernel's `RTN_*` type.
    pub kind: u8,
    /// The destination; a zero length is the default route.
    pub destination: Prefix,
    /// The source prefix (IPv6 only).
    pub from: Option<Prefix>,
    /// The preferred source address.
    pub source: Option<IpAddr>,
    /// The gateway.
    pub via: Option<IpAddr>,
    /// The output interface, by name.
    pub device: Option<String>,
    /// The table.
    pub table: u32,
    /// The scope (`RT_SCOPE_*`).
    pub scope: u8,
    /// The protocol (`RTPROT_*`).
    pub protocol: u8,
    /// The metric, when given.
    pub metric: Option<u32>,
    /// The type of service.
    pub tos: u8,
    /// Whether the gateway is taken as on the link.
    pub onlink: bool,
    /// The route as the configuration writes it, for messages.
    pub spec: String,
}

/// What a rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleAction {
    /// Look up this table.
    Table(u32),
    /// Go on with the rule of this preference.
    Goto(u32),
    /// Nothing.
    Nop,
    /// Drop silently.
    Blackhole,
    /// Drop with "host unreachable".
    Unreachable,
    /// Drop with "administratively prohibited".
    Prohibit,
}

/// A policy routing rule as the kernel takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleEntry {
    /// IPv4 or IPv6.
    pub family: Family,
    /// The source prefix matched.
    pub from: Option<Prefix>,
    /// The destination prefix matched.
    pub to: Option<Prefix>,
    /// Whether the selector is inverted.
    pub invert: bool,
    /// The preference.
    pub priority: u32,
    /// The type of service matched.
    pub tos: u8,
    /// The firewall mark matched, and its mask.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// The input interface matched.
    pub input_device: Option<String>,
    /// The output interface matched.
    pub output_device: Option<String>,
    /// Routes with a prefix this long or shorter are ignored.
    pub suppress_prefix_len: Option<u32>,
    /// The protocol, when the rule carries one.
    pub protocol: Option<u8>,
    /// What the rule does.
    pub action: RuleAction,
    /// The rule as the configuration writes it, for messages.
    pub spec: String,
}

/// The scope a delete request gives to match a route of any scope (`RT_SCOPE_NOWHERE`).
const ANY_SCOPE: u8 = 255;

/// The kernel's `RT_TABLE_UNSPEC`: the table is in the `RTA_TABLE` / `FRA_TABLE` attribute.
const TABLE_IN_ATTRIBUTE: u8 = 0;

/// Why a route or rule could not be added or removed.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// The route's `dev` is not an interface of this host.
    #[error("route {route}: no interface named {device} on this host")]
    NoSuchDevice {
        /// The route, as written.
        route: String,
        /// Its device.
        device: String,
    },
    /// The kernel refused the request.
    #[error("{action} {what} \"{spec}\": {source}")]
    Kernel {
        /// "adding" or "removing".
        action: &'static str,
        /// "route" or "rule".
        what: &'static str,
        /// The route or rule, as written.
        spec: String,
        /// What netlink answered.
        source: rtnetlink::Error,
    },
}

/// Adds and removes routes and rules over an rtnetlink connection.
#[derive(Clone, Debug)]
pub struct Routing {
    netlink: Netlink,
}

impl Routing {
    /// Uses `netlink` for every request.
    pub fn new(netlink: Netlink) -> Self {
        Self { netlink }
    }

    /// Adds `route`; one already there (the kernel's EEXIST) counts as added.
    pub async fn add_route(&self, route: &RouteEntry) -> Result<(), RoutingError> {
        let message = self.route_message(route, false).await?;
        let request = RouteNetlinkMessage::NewRoute(message);
        match self.send(request, NLM_F_CREATE).await {
            Err(error) if netlink_errno(&error) == Some(libc::EEXIST) => Ok(()),
            result => result.map_err(|source| RoutingError::Kernel {
                action: "adding",
                what: "route",
                spec: route.spec.clone(),
                source,
            }),
        }
    }

    /// Removes `route`; one already gone (ESRCH) is no error. Says whether it was there.
    pub async fn remove_route(&self, route: &RouteEntry) -> Result<bool, RoutingError> {
        let message = match self.route_message(route, true).await {
            // Its interface is gone, and the kernel removed its routes with it.
            Err(RoutingError::NoSuchDevice { .. }) => return Ok(false),
            other => other?,
        };
        match self.send(RouteNetlinkMessage::DelRoute(message), 0).await {
            Ok(()) => Ok(true),
            Err(error) if is_gone(&error) => Ok(false),
            Err(source) => Err(RoutingError::Kernel {
                action: "removing",
                what: "route",
                spec: route.spec.clone(),
                source,
            }),
        }
    }

    /// Adds `rule`; one already there counts as added.
    pub async fn add_rule(&self, rule: &RuleEntry) -> Result<(), RoutingError> {
        let request = RouteNetlinkMessage::NewRule(rule_message(rule));
        match self.send(request, NLM_F_CREATE).await {
            Err(error) if netlink_errno(&error) == Some(libc::EEXIST) => Ok(()),
            result => result.map_err(|source| RoutingError::Kernel {
                action: "adding",
                what: "rule",
                spec: rule.spec.clone(),
                source,
            }),
        }
    }

    /// Removes `rule`; one already gone is no error. Says whether it was there.
    pub async fn remove_rule(&self, rule: &RuleEntry) -> Result<bool, RoutingError> {
        let request = RouteNetlinkMessage::DelRule(rule_message(rule));
        match self.send(request, 0).await {
            Ok(()) => Ok(true),
            Err(error) if is_gone(&error) => Ok(false),
            Err(source) => Err(RoutingError::Kernel {
                action: "removing",
                what: "rule",
                spec: rule.spec.clone(),
                source,
            }),
        }
    }

    async fn send(&self, message: RouteNetlinkMessage, flags: u16) -> Result<(), rtnetlink::Error> {
        let mut request = NetlinkMessage::from(message);
        request.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        let mut handle = self.netlink.handle.clone();
        let mut replies = handle.request(request)?;
        while let Some(reply) = replies.next().await {
            if let NetlinkPayload::Error(error) = reply.payload
                && error.code.is_some()
            {
                return Err(rtnetlink::Error::NetlinkError(error));
            }
        }
        Ok(())
    }

    async fn interface_index(&self, device: &str) -> Option<u32> {
        let mut links = self
            .netlink
            .handle
            .link()
            .get()
            .match_name(device.to_owned())
            .execute();
        match links.next().await {
            Some(Ok(link)) => Some(link.header.index),
            _ => None,
        }
    }

    /// The message adding (or, with `delete`, removing) `route`.
    async fn route_message(
        &self,
        route: &RouteEntry,
        delete: bool,
    ) -> Result<RouteMessage, RoutingError> {
        let mut message = RouteMessage::default();
        let header = &mut message.header;
        header.address_family = address_family(route.family);
        header.destination_prefix_length = route.destination.1;
        header.tos = route.tos;
        header.table = table_in_header(route.table);
        header.protocol = RouteProtocol::from(route.protocol);
        header.kind = KernelRouteType::from(route.kind);
        header.scope = RouteScope::from(if delete { ANY_SCOPE } else { route.scope });
        if route.onlink {
            header.flags |= RouteFlags::Onlink;
        }
        let attributes = &mut message.attributes;
        attributes.push(RouteAttribute::Table(route.table));
        if route.destination.1 > 0 {
            attributes.push(RouteAttribute::Destination(RouteAddress::from(
                route.destination.0,
            )));
        }
        if let Some((address, len)) = route.from {
            message.header.source_prefix_length = len;
            attributes.push(RouteAttribute::Source(RouteAddress::from(address)));
        }
        if let Some(source) = route.source {
            attributes.push(RouteAttribute::PrefSource(RouteAddress::from(source)));
        }
        if let Some(via) = route.via {
            attributes.push(RouteAttribute::Gateway(RouteAddress::from(via)));
        }
        if let Some(metric) = route.metric {
            attributes.push(RouteAttribute::Priority(metric));
        }
        if let Some(device) = &route.device {
            let index =
                self.interface_index(device)
                    .await
                    .ok_or_else(|| RoutingError::NoSuchDevice {
                        route: route.spec.clone(),
                        device: device.clone(),
                    })?;
            attributes.push(RouteAttribute::Oif(index));
        }
        Ok(message)
    }
}

/// `RTM_NEWRULE` / `RTM_DELRULE` for `rule`, with every attribute, so that a delete
/// removes this rule and no other of the same preference.
fn rule_message(rule: &RuleEntry) -> RuleMessage {
    let mut message = RuleMessage::default();
    let header = &mut message.header;
    header.family = address_family(rule.family);
    header.tos = rule.tos;
    if rule.invert {
        header.flags |= RuleFlags::Invert;
    }
    let attributes = &mut message.attributes;
    header.action = match rule.action {
        RuleAction::Table(table) => {
            header.table = table_in_header(table);
            attributes.push(RuleAttribute::Table(table));
            KernelRuleAction::ToTable
        }
        RuleAction::Goto(target) => {
            attributes.push(RuleAttribute::Goto(target));
            KernelRuleAction::Goto
        }
        RuleAction::Nop => KernelRuleAction::Nop,
        RuleAction::Blackhole => KernelRuleAction::Blackhole,
        RuleAction::Unreachable => KernelRuleAction::Unreachable,
        RuleAction::Prohibit => KernelRuleAction::Prohibit,
    };
    attributes.push(RuleAttribute::Priority(rule.priority));
    if let Some((address, len)) = rule.from {
        header.src_len = len;
        attributes.push(RuleAttribute::Source(address));
    }
    if let Some((address, len)) = rule.to {
        header.dst_len = len;
        attributes.push(RuleAttribute::Destination(address));
    }
    if let Some((mark, mask)) = rule.fwmark {
        attributes.push(RuleAttribute::FwMark(mark));
        if let Some(mask) = mask {
            attributes.push(RuleAttribute::FwMask(mask));
        }
    }
    if let Some(device) = &rule.input_device {
        attributes.push(RuleAttribute::Iifname(device.clone()));
    }
    if let Some(device) = &rule.output_device {
        attributes.push(RuleAttribute::Oifname(device.clone()));
    }
    if let Some(length) = rule.suppress_prefix_len {
        attributes.push(RuleAttribute::SuppressPrefixLen(length));
    }
    if let Some(protocol) = rule.protocol {
        attributes.push(RuleAttribute::Protocol(RouteProtocol::from(protocol)));
    }
    message
}

fn address_family(family: Family) -> AddressFamily {
    match family {
        Family::Ipv4 => AddressFamily::Inet,
        Family::Ipv6 => AddressFamily::Inet6,
    }
}

fn table_in_header(table: u32) -> u8 {
    u8::try_from(table).unwrap_or(TABLE_IN_ATTRIBUTE)
}

/// The kernel's answers to deleting a route or rule that is not there.
fn is_gone(error: &rtnetlink::Error) -> bool {
    matches!(
        netlink_errno(error),
        Some(libc::ESRCH | libc::ENOENT | libc::EADDRNOTAVAIL)
    )
}

/// A route the kernel reported deleted, as far as telling ours apart needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemovedRoute {
    /// IPv4 or IPv6.
    pub family: Family,
    /// Its table.
    pub table: u32,
    /// Its destination.
    pub destination: Prefix,
    /// Its type of service.
    pub tos: u8,
    /// Its metric, when the kernel reported one.
    pub metric: Option<u32>,
    /// Its protocol.
    pub protocol: u8,
}

impl RemovedRoute {
    /// The route of an `RTM_DELROUTE` carrying `protocol`, or `None` for another protocol
    /// (which no tracked route has) or family.
    pub fn from_message(message: &RouteMessage, tracked_protocols: &[u8]) -> Option<Self> {
        let protocol = u8::from(message.header.protocol);
        if !tracked_protocols.contains(&protocol) {
            return None;
        }
        let family = match message.header.address_family {
            AddressFamily::Inet => Family::Ipv4,
            AddressFamily::Inet6 => Family::Ipv6,
            _ => return None,
        };
        let mut table = u32::from(message.header.table);
        let mut destination = None;
        let mut metric = None;
        for attribute in &message.attributes {
            match attribute {
                RouteAttribute::Table(number) => table = *number,
                RouteAttribute::Destination(RouteAddress::Inet(address)) => {
                    destination = Some(IpAddr::V4(*address));
                }
                RouteAttribute::Destination(RouteAddress::Inet6(address)) => {
                    destination = Some(IpAddr::V6(*address));
                }
                RouteAttribute::Priority(number) => metric = Some(*number),
                _ => {}
            }
        }
        let unspecified = match family {
            Family::Ipv4 => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            Family::Ipv6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        Some(RemovedRoute {
            family,
            table,
            destination: (
                destination.unwrap_or(unspecified),
                message.header.destination_prefix_length,
            ),
            tos: message.header.tos,
            metric,
            protocol,
        })
    }
}

/// A rule the kernel reported deleted, as far as telling ours apart needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemovedRule {
    /// IPv4 or IPv6.
    pub family: Family,
    /// Its preference.
    pub priority: u32,
    /// Its protocol; `None` from kernels older than 4.17, which have no rule protocol.
    pub protocol: Option<u8>,
    /// Its source prefix.
    pub from: Option<Prefix>,
    /// Its destination prefix.
    pub to: Option<Prefix>,
}

impl RemovedRule {
    /// The rule of an `RTM_DELRULE`, unless it carries a protocol no tracked rule has.
    pub fn from_message(message: &RuleMessage, tracked_protocols: &[u8]) -> Option<Self> {
        let family = match message.header.family {
            AddressFamily::Inet => Family::Ipv4,
            AddressFamily::Inet6 => Family::Ipv6,
            _ => return None,
        };
        let mut removed = RemovedRule {
            family,
            priority: 0,
            protocol: None,
            from: None,
            to: None,
        };
        for attribute in &message.attributes {
            match attribute {
                RuleAttribute::Priority(priority) => removed.priority = *priority,
                RuleAttribute::Protocol(protocol) => removed.protocol = Some(u8::from(*protocol)),
                RuleAttribute::Source(address) => {
                    removed.from = Some((*address, message.header.src_len));
                }
                RuleAttribute::Destination(address) => {
                    removed.to = Some((*address, message.header.dst_len));
                }
                _ => {}
            }
        }
        if let Some(protocol) = removed.protocol
            && !tracked_protocols.contains(&protocol)
        {
            return None;
        }
        Some(removed)
    }
}

#[cfg(test)]
mod tests {
    /// keepalived's route protocol (`RTPROT_KEEPALIVED`), the one the daemon tracks.
    const PROTOCOL_KEEPALIVED: u8 = 18;
    use super::*;

    fn rule(table: u32) -> RuleEntry {
        RuleEntry {
            family: Family::Ipv6,
            from: Some(("2001:db8::10".parse().expect("an address"), 128)),
            to: None,
            invert: false,
            priority: 7,
            tos: 0,
            fwmark: None,
            input_device: None,
            output_device: None,
            suppress_prefix_len: None,
            protocol: Some(PROTOCOL_KEEPALIVED),
            action: RuleAction::Table(table),
            spec: String::new(),
        }
    }

    #[test]
    fn a_deleted_route_of_another_protocol_is_not_reported() {
        let mut message = RouteMessage::default();
        message.header.address_family = AddressFamily::Inet;
        message.header.destination_prefix_length = 24;
        message.header.table = 100;
        message.header.protocol = RouteProtocol::from(PROTOCOL_KEEPALIVED);
        message
            .attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet(
                "198.51.100.0".parse().expect("an address"),
            )));
        message.attributes.push(RouteAttribute::Table(1000));
        let removed = RemovedRoute::from_message(&message, &[PROTOCOL_KEEPALIVED]).expect("ours");
        assert_eq!(removed.table, 1000, "the attribute beats the header");
        assert_eq!(removed.destination.1, 24);
        message.header.protocol = RouteProtocol::Boot;
        assert_eq!(
            RemovedRoute::from_message(&message, &[PROTOCOL_KEEPALIVED]),
            None
        );
    }

    #[test]
    fn a_rule_message_carries_the_table_beyond_255_in_its_attribute() {
        let message = rule_message(&rule(1000));
        assert_eq!(message.header.table, TABLE_IN_ATTRIBUTE);
        assert_eq!(message.header.family, AddressFamily::Inet6);
        assert_eq!(message.header.src_len, 128);
        assert!(message.attributes.contains(&RuleAttribute::Table(1000)));
        assert!(message.attributes.contains(&RuleAttribute::Priority(7)));
        let removed = RemovedRule::from_message(&message, &[PROTOCOL_KEEPALIVED]).expect("ours");
        assert_eq!(removed.priority, 7);
        assert_eq!(removed.protocol, Some(PROTOCOL_KEEPALIVED));
    }
}
