//! Virtual routes and rules: what a master adds to the kernel's routing tables besides its
//! addresses (keepalived's `virtual_routes` and `virtual_rules`), written as `ip route` and
//! `ip rule` write them.
//!
//! One reader serves both configuration languages: the native file holds each route or rule
//! as the text `ip route add` / `ip rule add` would take, and a keepalived.conf's entries are
//! read by the same code, so both accept what keepalived 2.2.7's `alloc_route()`
//! (`keepalived/vrrp/vrrp_iproute.c`) and `alloc_rule()` (`keepalived/vrrp/vrrp_iprule.c`)
//! accept, minus the options listed in [`UNSUPPORTED_ROUTE_OPTIONS`] and
//! [`UNSUPPORTED_RULE_OPTIONS`], which are named in the error. [`fmt::Display`] writes the
//! text back in one canonical order, which reads back to an equal value.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::settings::Family;

/// The protocol number keepalived marks its routes and rules with (`RTPROT_KEEPALIVED`,
/// 18, in the kernel's `include/uapi/linux/rtnetlink.h`). A tracked route or rule carries it,
/// so that its deletion is recognised among every other route change.
pub const PROTOCOL_KEEPALIVED: u8 = 18;

/// The main routing table, where `ip route` puts a route that names none.
pub const TABLE_MAIN: u32 = 254;

/// The preference keepalived 2.2.7 gives the first rule that names none, counting down from
/// there per family (`RULE_START_PRIORITY`, `keepalived/vrrp/vrrp_iprule.c`).
pub const FIRST_DEFAULT_RULE_PRIORITY: u32 = 16384;

/// Route options keepalived 2.2.7 takes that are not carried out here; a route using one is
/// refused with its name.
pub const UNSUPPORTED_ROUTE_OPTIONS: &[&str] = &[
    "as",
    "encap",
    "expires",
    "mtu",
    "hoplimit",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "realms",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "pref",
    "ttl-propagate",
    "fastopen_no_cookie",
    "nexthop",
    "or",
    "vrf",
    "track_group",
];

/// Rule options keepalived 2.2.7 takes that are not carried out here.
pub const UNSUPPORTED_RULE_OPTIONS: &[&str] = &[
    "realms",
    "suppress_ifgroup",
    "sup_group",
    "tunnel-id",
    "uidrange",
    "l3mdev",
    "ipproto",
    "sport",
    "dport",
    "track_group",
];

/// The largest `suppress_prefixlength` keepalived takes (INT32_MAX).
const MAX_SUPPRESS_PREFIX_LEN: u32 = 0x7fff_ffff;

/// An address with a prefix length, such as `192.0.2.0/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefix {
    /// The network address; its host bits are zero.
    pub address: IpAddr,
    /// The prefix length.
    pub len: u8,
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.len)
    }
}

/// The kind of a route (`ip route`'s TYPE, the kernel's `RTN_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteType {
    /// A route to a destination through a gateway or a link (the default).
    Unicast,
    /// The destination is this host.
    Local,
    /// A broadcast destination.
    Broadcast,
    /// An anycast destination.
    Anycast,
    /// A multicast destination.
    Multicast,
    /// Packets are dropped silently.
    Blackhole,
    /// Packets are dropped with ICMP "host unreachable".
    Unreachable,
    /// Packets are dropped with ICMP "communication administratively prohibited".
    Prohibit,
    /// The lookup ends in this table as if no route matched, and goes on to the next rule.
    Throw,
}

/// The route types by `ip route`'s names and the kernel's numbers.
const ROUTE_TYPES: &[(&str, RouteType, u8)] = &[
    ("unicast", RouteType::Unicast, 1),
    ("local", RouteType::Local, 2),
    ("broadcast", RouteType::Broadcast, 3),
    ("anycast", RouteType::Anycast, 4),
    ("multicast", RouteType::Multicast, 5),
    ("blackhole", RouteType::Blackhole, 6),
    ("unreachable", RouteType::Unreachable, 7),
    ("prohibit", RouteType::Prohibit, 8),
    ("throw", RouteType::Throw, 9),
];

impl RouteType {
    /// The kernel's `RTN_*` number.
    pub fn number(self) -> u8 {
        ROUTE_TYPES
            .iter()
            .find(|(_, kind, _)| *kind == self)
            .map_or(1, |(_, _, number)| *number)
    }

    fn name(self) -> &'static str {
        ROUTE_TYPES
            .iter()
            .find(|(_, kind, _)| *kind == self)
            .map_or("unicast", |(name, _, _)| name)
    }

    fn from_name(name: &str) -> Option<Self> {
        ROUTE_TYPES
            .iter()
            .find(|(known, _, _)| *known == name)
            .map(|(_, kind, _)| *kind)
    }
}

/// One route a master adds (keepalived's `virtual_routes` entry).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualRoute {
    /// IPv4 or IPv6.
    pub family: Family,
    /// The kind of route.
    pub kind: RouteType,
    /// The destination.
    pub destination: Prefix,
    /// The source prefix (`from`), IPv6 only.
    pub from: Option<Prefix>,
    /// The preferred source address (`src`).
    pub source: Option<IpAddr>,
    /// The gateway (`via`, or keepalived's older `gw`).
    pub via: Option<IpAddr>,
    /// The output interface (`dev`).
    pub device: Option<String>,
    /// The table, [`TABLE_MAIN`] unless said.
    pub table: u32,
    /// The scope (`RT_SCOPE_*`), when said; the kernel's default otherwise.
    pub scope: Option<u8>,
    /// The protocol (`RTPROT_*`), when said; [`PROTOCOL_KEEPALIVED`] otherwise, as
    /// keepalived sends when none is said.
    pub protocol: Option<u8>,
    /// The metric (`metric`, `priority` or `preference`).
    pub metric: Option<u32>,
    /// The type of service (`tos` or `dsfield`).
    pub tos: Option<u8>,
    /// The gateway is taken as on the link even if no prefix of the interface covers it.
    pub onlink: bool,
    /// Someone deleting it while we are master is not undone (keepalived's `no_track`).
    pub no_track: bool,
}

impl VirtualRoute {
    /// The protocol the route is installed with.
    pub fn effective_protocol(&self) -> u8 {
        self.protocol.unwrap_or(PROTOCOL_KEEPALIVED)
    }
}

/// What a rule does with a packet it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// Look the packet up in this table (`table` or `lookup`).
    Table(u32),
    /// Go on with the rule of this preference.
    Goto(u32),
    /// Do nothing.
    Nop,
    /// Drop silently.
    Blackhole,
    /// Drop with ICMP "host unreachable".
    Unreachable,
    /// Drop with ICMP "communication administratively prohibited".
    Prohibit,
}

/// A firewall mark and its mask, as `fwmark 0x10/0xff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FirewallMark {
    /// The mark.
    pub mark: u32,
    /// The mask, when given.
    pub mask: Option<u32>,
}

/// One policy routing rule a master adds (keepalived's `virtual_rules` entry).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualRule {
    /// IPv4 or IPv6.
    pub family: Family,
    /// The source prefix matched (`from`).
    pub from: Option<Prefix>,
    /// The destination prefix matched (`to`).
    pub to: Option<Prefix>,
    /// Whether the selector is inverted (`not`).
    pub invert: bool,
    /// The preference; rules are tried in increasing order.
    pub priority: u32,
    /// The type of service matched.
    pub tos: Option<u8>,
    /// The firewall mark matched.
    pub fwmark: Option<FirewallMark>,
    /// The input interface matched (`iif` or `dev`).
    pub input_device: Option<String>,
    /// The output interface matched (`oif`).
    pub output_device: Option<String>,
    /// Routes with a prefix this long or shorter are ignored (`suppress_prefixlength`).
    pub suppress_prefix_len: Option<u32>,
    /// The protocol (`RTPROT_*`), when said; otherwise [`PROTOCOL_KEEPALIVED`] for a tracked
    /// rule and none for an untracked one.
    pub protocol: Option<u8>,
    /// What the rule does.
    pub action: RuleAction,
    /// Someone deleting it while we are master is not undone (keepalived's `no_track`).
    pub no_track: bool,
}

impl VirtualRule {
    /// The protocol the rule is installed with: keepalived 2.2.7 sends FRA_PROTOCOL only when
    /// the rule names one or is tracked (`alloc_rule()` and `netlink_rule()` in
    /// `keepalived/vrrp/vrrp_iprule.c`), so an untracked rule that names none has none.
    pub fn effective_protocol(&self) -> Option<u8> {
        self.protocol
            .or((!self.no_track).then_some(PROTOCOL_KEEPALIVED))
    }
}

/// Something keepalived 2.2.7 accepts with a warning, changing or assuming a value: the
/// native reader refuses it (say what is meant), the keepalived.conf reader warns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leniency {
    /// `gw` instead of `via` (keepalived: "\"gw\" for routes is deprecated").
    Gateway,
    /// A tracked route or rule with another protocol, which keepalived resets to its own
    /// ("cannot be tracked if protocol is not RTPROT_KEEPALIVED").
    ProtocolReset(u8),
    /// A rule without a preference (keepalived picks one counting down from 16384).
    NoRulePriority,
}

impl fmt::Display for Leniency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Leniency::Gateway => f.write_str("`gw` is keepalived's old word for `via`"),
            Leniency::ProtocolReset(protocol) => write!(
                f,
                "protocol {protocol} cannot be tracked: a tracked route or rule carries protocol \
                 {PROTOCOL_KEEPALIVED} (keepalived), by which its deletion is recognised; add \
                 no_track to keep protocol {protocol}"
            ),
            Leniency::NoRulePriority => f.write_str(
                "the rule has no preference; without one the kernel puts it before the first \
                 existing rule",
            ),
        }
    }
}

/// A route or rule read, with what keepalived would have let pass with a warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read<T> {
    /// The value, with keepalived's corrections applied.
    pub value: T,
    /// What was corrected or assumed.
    pub leniencies: Vec<Leniency>,
}

/// Reads one route written as keepalived's `virtual_routes` entries and `ip route add` are.
pub fn read_route(text: &str) -> Result<Read<VirtualRoute>, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut reader = Words {
        words: &words,
        at: 0,
    };
    let mut family: Option<Family> = None;
    let mut leniencies = Vec::new();
    let mut route = VirtualRoute {
        family: Family::Ipv4,
        kind: RouteType::Unicast,
        destination: Prefix {
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            len: 0,
        },
        from: None,
        source: None,
        via: None,
        device: None,
        table: TABLE_MAIN,
        scope: None,
        protocol: None,
        metric: None,
        tos: None,
        onlink: false,
        no_track: false,
    };
    let mut destination: Option<(Option<Prefix>, &str)> = None;
    while let Some(word) = reader.word() {
        match word {
            "inet" => join_family(&mut family, Family::Ipv4, word)?,
            "inet6" => join_family(&mut family, Family::Ipv6, word)?,
            "src" => {
                let value = reader.value(word)?;
                let address: IpAddr = value
                    .parse()
                    .map_err(|_| format!("`src {value}`: not an address"))?;
                join_family(&mut family, Family::of(address), "src")?;
                route.source = Some(address);
            }
            "via" | "gw" => {
                if word == "gw" {
                    leniencies.push(Leniency::Gateway);
                }
                let mut value = reader.value(word)?;
                if value == "inet" || value == "inet6" {
                    let named = if value == "inet" {
                        Family::Ipv4
                    } else {
                        Family::Ipv6
                    };
                    join_family(&mut family, named, value)?;
                    value = reader.value(word)?;
                }
                let address: IpAddr = value
                    .parse()
                    .map_err(|_| format!("`{word} {value}`: not an address"))?;
                join_family(&mut family, Family::of(address), word)?;
                route.via = Some(address);
            }
            "from" => {
                let value = reader.value(word)?;
                let prefix = prefix(value, true)?.ok_or_else(|| {
                    format!("`from {value}`: a route's source prefix is an address")
                })?;
                if Family::of(prefix.address) != Family::Ipv6 {
                    return Err(format!(
                        "`from {value}`: a route's source prefix is only supported with IPv6"
                    ));
                }
                join_family(&mut family, Family::Ipv6, word)?;
                route.from = Some(prefix);
            }
            "tos" | "dsfield" => route.tos = Some(number_u8(word, reader.value(word)?)?),
            "table" => route.table = table(reader.value(word)?)?,
            "protocol" | "proto" => route.protocol = Some(protocol(reader.value(word)?)?),
            "scope" => route.scope = Some(scope(reader.value(word)?)?),
            "metric" | "priority" | "preference" => {
                route.metric = Some(number_u32(word, reader.value(word)?)?);
            }
            "dev" | "oif" => route.device = Some(device(word, reader.value(word)?)?),
            "onlink" => route.onlink = true,
            // keepalived's default, prepend, is what the kernel does without NLM_F_APPEND or
            // NLM_F_EXCL; `add` and `append` differ only when an equal route exists.
            "prepend" => {}
            "add" | "append" => {
                return Err(format!(
                    "`{word}` is not carried out here: routes are added as keepalived adds them \
                     by default (`prepend`)"
                ));
            }
            "no_track" => route.no_track = true,
            other => {
                if UNSUPPORTED_ROUTE_OPTIONS.contains(&other) {
                    return Err(format!(
                        "the route option `{other}` is not carried out here"
                    ));
                }
                let mut word = other;
                if word == "to" {
                    word = reader.value("to")?;
                }
                if let Some(kind) = RouteType::from_name(word) {
                    route.kind = kind;
                    word = reader.value(kind.name())?;
                }
                if destination.is_some() {
                    return Err(format!(
                        "`{word}`: unknown route option (the destination is already given)"
                    ));
                }
                let parsed = prefix(word, false).map_err(|message| {
                    format!("`{word}`: neither a route option nor a destination ({message})")
                })?;
                if let Some(prefix) = parsed {
                    join_family(&mut family, Family::of(prefix.address), "the destination")?;
                }
                destination = Some((parsed, word));
            }
        }
    }
    let Some((parsed, _)) = destination else {
        return Err("a route needs a destination, such as 192.0.2.0/24 or default".into());
    };
    route.family = family.unwrap_or(Family::Ipv4);
    route.destination = parsed.unwrap_or(Prefix {
        address: match route.family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        },
        len: 0,
    });
    if !route.no_track
        && let Some(protocol) = route.protocol
        && protocol != PROTOCOL_KEEPALIVED
    {
        leniencies.push(Leniency::ProtocolReset(protocol));
        route.protocol = Some(PROTOCOL_KEEPALIVED);
    }
    Ok(Read {
        value: route,
        leniencies,
    })
}

/// Reads one rule written as keepalived's `virtual_rules` entries and `ip rule add` are. A
/// rule without a preference gets `default_priority` and a [`Leniency::NoRulePriority`].
pub fn read_rule(text: &str, default_priority: u32) -> Result<Read<VirtualRule>, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut reader = Words {
        words: &words,
        at: 0,
    };
    let mut family: Option<Family> = None;
    let mut leniencies = Vec::new();
    let mut priority = None;
    let mut action = None;
    let mut rule = VirtualRule {
        family: Family::Ipv4,
        from: None,
        to: None,
        invert: false,
        priority: 0,
        tos: None,
        fwmark: None,
        input_device: None,
        output_device: None,
        suppress_prefix_len: None,
        protocol: None,
        action: RuleAction::Nop,
        no_track: false,
    };
    let set_action = |action_now: RuleAction, action: &mut Option<RuleAction>| {
        if action.is_some() {
            return Err(
                "a rule takes one of table, goto, nop, blackhole, unreachable and prohibit"
                    .to_owned(),
            );
        }
        *action = Some(action_now);
        Ok(())
    };
    while let Some(word) = reader.word() {
        match word {
            "inet" => join_family(&mut family, Family::Ipv4, word)?,
            "inet6" => join_family(&mut family, Family::Ipv6, word)?,
            "from" | "to" => {
                let value = reader.value(word)?;
                let parsed = prefix(value, true)?;
                if let Some(prefix) = parsed {
                    join_family(&mut family, Family::of(prefix.address), word)?;
                }
                if word == "from" {
                    rule.from = parsed;
                } else {
                    rule.to = parsed;
                }
            }
            "table" | "lookup" => {
                let table = table(reader.value(word)?)?;
                if table == 0 {
                    return Err("table 0 is not valid for a rule".into());
                }
                set_action(RuleAction::Table(table), &mut action)?;
            }
            "not" => rule.invert = true,
            "preference" | "order" | "priority" | "pref" | "prio" => {
                priority = Some(number_u32(word, reader.value(word)?)?);
            }
            "tos" | "dsfield" => rule.tos = Some(number_u8(word, reader.value(word)?)?),
            "fwmark" => rule.fwmark = Some(fwmark(reader.value(word)?)?),
            "suppress_prefixlength" | "sup_pl" => {
                let value = reader.value(word)?;
                let length = number_u32(word, value)?;
                if length > MAX_SUPPRESS_PREFIX_LEN {
                    return Err(format!("`{word} {value}` is out of range"));
                }
                rule.suppress_prefix_len = Some(length);
            }
            "dev" | "iif" => rule.input_device = Some(device(word, reader.value(word)?)?),
            "oif" => rule.output_device = Some(device(word, reader.value(word)?)?),
            "protocol" | "proto" => rule.protocol = Some(protocol(reader.value(word)?)?),
            "no_track" => rule.no_track = true,
            other => {
                if UNSUPPORTED_RULE_OPTIONS.contains(&other) {
                    return Err(format!("the rule option `{other}` is not carried out here"));
                }
                let mut word = other;
                if word == "type" {
                    word = reader.value("type")?;
                }
                let chosen = match word {
                    "goto" => {
                        let value = reader.value(word)?;
                        RuleAction::Goto(number_u32(word, value)?)
                    }
                    "nop" => RuleAction::Nop,
                    "blackhole" => RuleAction::Blackhole,
                    "unreachable" => RuleAction::Unreachable,
                    "prohibit" => RuleAction::Prohibit,
                    _ => return Err(format!("`{word}`: unknown rule option")),
                };
                set_action(chosen, &mut action)?;
            }
        }
    }
    rule.action = action.ok_or(
        "a rule needs an action: table N, goto N, nop, blackhole, unreachable or prohibit",
    )?;
    if rule.suppress_prefix_len.is_some() && !matches!(rule.action, RuleAction::Table(_)) {
        return Err("suppress_prefixlength only goes with a table action".into());
    }
    rule.priority = match priority {
        Some(priority) => priority,
        None => {
            leniencies.push(Leniency::NoRulePriority);
            default_priority
        }
    };
    if let RuleAction::Goto(target) = rule.action
        && rule.priority >= target
    {
        return Err(format!(
            "the preference {} must be lower than the goto target {target}",
            rule.priority
        ));
    }
    rule.family = family.unwrap_or(Family::Ipv4);
    if !rule.no_track
        && let Some(protocol) = rule.protocol
        && protocol != PROTOCOL_KEEPALIVED
    {
        leniencies.push(Leniency::ProtocolReset(protocol));
        rule.protocol = Some(PROTOCOL_KEEPALIVED);
    }
    Ok(Read {
        value: rule,
        leniencies,
    })
}

struct Words<'a> {
    words: &'a [&'a str],
    at: usize,
}

impl<'a> Words<'a> {
    fn word(&mut self) -> Option<&'a str> {
        let word = self.words.get(self.at).copied();
        self.at += 1;
        word
    }

    /// The word after `option`, which needs one.
    fn value(&mut self, option: &str) -> Result<&'a str, String> {
        self.word()
            .ok_or_else(|| format!("`{option}` needs a value"))
    }
}

fn join_family(family: &mut Option<Family>, this: Family, what: &str) -> Result<(), String> {
    match family {
        None => {
            *family = Some(this);
            Ok(())
        }
        Some(known) if *known == this => Ok(()),
        Some(known) => Err(format!(
            "{what} is {this}, but the rest is {known}: one route or rule is of one family"
        )),
    }
}

/// A prefix as `ip route` writes one: `default`, `all` and `any` are `None` (zero length,
/// either family); an address without a length is a host.
fn prefix(text: &str, host_bits_allowed: bool) -> Result<Option<Prefix>, String> {
    if matches!(text, "default" | "all" | "any") {
        return Ok(None);
    }
    let (address, length) = match text.split_once('/') {
        Some((address, length)) => (address, Some(length)),
        None => (text, None),
    };
    let address: IpAddr = address
        .parse()
        .map_err(|_| format!("\"{text}\" is not an address or prefix"))?;
    let most: u8 = match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let len = match length {
        None => most,
        Some(length) => match length.parse::<u8>() {
            Ok(length) if length <= most => length,
            _ => return Err(format!("\"{text}\": the prefix length is 0..{most}")),
        },
    };
    let masked = mask(address, len);
    if !host_bits_allowed && masked != address {
        return Err(format!(
            "\"{text}\" has bits set past its prefix length; the network is {masked}/{len}"
        ));
    }
    Ok(Some(Prefix {
        address: masked,
        len,
    }))
}

fn mask(address: IpAddr, len: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & mask))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & mask))
        }
    }
}

fn number_u32(option: &str, text: &str) -> Result<u32, String> {
    parse_number(text)
        .and_then(|number| u32::try_from(number).ok())
        .ok_or_else(|| format!("`{option} {text}`: expected a number 0..{}", u32::MAX))
}

fn number_u8(option: &str, text: &str) -> Result<u8, String> {
    parse_number(text)
        .and_then(|number| u8::try_from(number).ok())
        .ok_or_else(|| format!("`{option} {text}`: expected a number 0..255"))
}

/// A number in decimal, or hexadecimal with `0x`, as iproute2 and keepalived read them.
fn parse_number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn fwmark(text: &str) -> Result<FirewallMark, String> {
    let bad = || format!("`fwmark {text}`: expected a mark, optionally /mask");
    let (mark, mask) = match text.split_once('/') {
        Some((mark, mask)) => (mark, Some(mask)),
        None => (text, None),
    };
    let number = |text: &str| {
        parse_number(text)
            .and_then(|number| u32::try_from(number).ok())
            .ok_or_else(bad)
    };
    Ok(FirewallMark {
        mark: number(mark)?,
        mask: mask.map(number).transpose()?,
    })
}

fn device(option: &str, name: &str) -> Result<String, String> {
    if name.len() > 15 || name.contains('/') {
        return Err(format!("`{option} {name}` is not an interface name"));
    }
    Ok(name.to_owned())
}

/// The names iproute2 gives tables whatever `/etc/iproute2/rt_tables` says.
const TABLES: &[(&str, u32)] = &[("default", 253), ("main", 254), ("local", 255)];

/// A table by number or by name: the standard names, then those of the iproute2 tables file.
fn table(text: &str) -> Result<u32, String> {
    if let Some(number) = parse_number(text) {
        return u32::try_from(number).map_err(|_| format!("table {text} is out of range"));
    }
    if let Some((_, number)) = TABLES.iter().find(|(name, _)| *name == text) {
        return Ok(*number);
    }
    named_in_file("rt_tables", text)
        .ok_or_else(|| format!("table \"{text}\" is not a number nor named in rt_tables"))
}

/// The `RTPROT_*` names of iproute2's `rt_protos`.
const PROTOCOLS: &[(&str, u8)] = &[
    ("redirect", 1),
    ("kernel", 2),
    ("boot", 3),
    ("static", 4),
    ("gated", 8),
    ("ra", 9),
    ("mrt", 10),
    ("zebra", 11),
    ("bird", 12),
    ("dnrouted", 13),
    ("xorp", 14),
    ("ntk", 15),
    ("dhcp", 16),
    ("keepalived", 18),
    ("babel", 42),
    ("openr", 99),
    ("bgp", 186),
    ("isis", 187),
    ("ospf", 188),
    ("rip", 189),
    ("eigrp", 192),
];

fn protocol(text: &str) -> Result<u8, String> {
    if let Some(number) = parse_number(text) {
        return u8::try_from(number).map_err(|_| format!("protocol {text} is out of range 0..255"));
    }
    PROTOCOLS
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, number)| *number)
        .or_else(|| named_in_file("rt_protos", text).and_then(|n| u8::try_from(n).ok()))
        .ok_or_else(|| format!("protocol \"{text}\" is not a number nor a known name"))
}

/// The `RT_SCOPE_*` names.
const SCOPES: &[(&str, u8)] = &[
    ("global", 0),
    ("universe", 0),
    ("site", 200),
    ("link", 253),
    ("host", 254),
    ("nowhere", 255),
];

fn scope(text: &str) -> Result<u8, String> {
    if let Some(number) = parse_number(text) {
        return u8::try_from(number).map_err(|_| format!("scope {text} is out of range 0..255"));
    }
    SCOPES
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, number)| *number)
        .ok_or_else(|| {
            format!("scope \"{text}\" is not a number nor one of global, site, link, host")
        })
}

/// A number named in iproute2's file `name` (`/etc/iproute2/`, then `/usr/share/iproute2/`),
/// as keepalived's `find_rttables_*` look them up.
fn named_in_file(file: &str, wanted: &str) -> Option<u32> {
    ["/etc/iproute2", "/usr/share/iproute2", "/usr/lib/iproute2"]
        .iter()
        .filter_map(|directory| std::fs::read_to_string(format!("{directory}/{file}")).ok())
        .find_map(|text| {
            text.lines().find_map(|line| {
                let line = line.split('#').next().unwrap_or("");
                let mut words = line.split_whitespace();
                let number = parse_number(words.next()?)?;
                (words.next()? == wanted).then_some(number)
            })
        })
        .and_then(|number| u32::try_from(number).ok())
}

impl fmt::Display for VirtualRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != RouteType::Unicast {
            write!(f, "{} ", self.kind.name())?;
        }
        if self.destination.len == 0 {
            write!(f, "default")?;
            if self.family == Family::Ipv6 {
                write!(f, " inet6")?;
            }
        } else {
            write!(f, "{}", self.destination)?;
        }
        if let Some(from) = self.from {
            write!(f, " from {from}")?;
        }
        if let Some(via) = self.via {
            write!(f, " via {via}")?;
        }
        if let Some(device) = &self.device {
            write!(f, " dev {device}")?;
        }
        if let Some(source) = self.source {
            write!(f, " src {source}")?;
        }
        if self.table != TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        if let Some(scope) = self.scope {
            write!(f, " scope {}", name_of(SCOPES, scope))?;
        }
        if let Some(protocol) = self.protocol {
            write!(f, " protocol {}", name_of(PROTOCOLS, protocol))?;
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        if let Some(tos) = self.tos {
            write!(f, " tos {tos}")?;
        }
        if self.onlink {
            write!(f, " onlink")?;
        }
        if self.no_track {
            write!(f, " no_track")?;
        }
        Ok(())
    }
}

impl fmt::Display for VirtualRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.family == Family::Ipv6 {
            write!(f, "inet6 ")?;
        }
        write!(f, "priority {}", self.priority)?;
        if self.invert {
            write!(f, " not")?;
        }
        if let Some(from) = self.from {
            write!(f, " from {from}")?;
        }
        if let Some(to) = self.to {
            write!(f, " to {to}")?;
        }
        if let Some(tos) = self.tos {
            write!(f, " tos {tos}")?;
        }
        if let Some(FirewallMark { mark, mask }) = self.fwmark {
            write!(f, " fwmark {mark:#x}")?;
            if let Some(mask) = mask {
                write!(f, "/{mask:#x}")?;
            }
        }
        if let Some(device) = &self.input_device {
            write!(f, " iif {device}")?;
        }
        if let Some(device) = &self.output_device {
            write!(f, " oif {device}")?;
        }
        match self.action {
            RuleAction::Table(table) => write!(f, " table {table}")?,
            RuleAction::Goto(target) => write!(f, " goto {target}")?,
            RuleAction::Nop => write!(f, " nop")?,
            RuleAction::Blackhole => write!(f, " blackhole")?,
            RuleAction::Unreachable => write!(f, " unreachable")?,
            RuleAction::Prohibit => write!(f, " prohibit")?,
        }
        if let Some(length) = self.suppress_prefix_len {
            write!(f, " suppress_prefixlength {length}")?;
        }
        if let Some(protocol) = self.protocol {
            write!(f, " protocol {}", name_of(PROTOCOLS, protocol))?;
        }
        if self.no_track {
            write!(f, " no_track")?;
        }
        Ok(())
    }
}

/// The name `ip` shows for `number`, or the number itself.
fn name_of(names: &[(&'static str, u8)], number: u8) -> String {
    names
        .iter()
        .find(|(_, known)| *known == number)
        .map_or_else(|| number.to_string(), |(name, _)| (*name).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(text: &str) -> VirtualRoute {
        let read = read_route(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        assert!(read.leniencies.is_empty(), "{text}: {:?}", read.leniencies);
        read.value
    }

    #[test]
    fn the_corpus_routes_read_and_write_back_equal() {
        for text in [
            "0.0.0.0/0 via 192.168.1.1 dev eth1 no_track protocol static",
            "10.0.0.0/24 dev eth1 src 10.0.0.2 scope link table 1",
            "2001:db8::/64 dev eth1 src 2001:db8::10 scope link table 1",
            "82.94.225.0/24 dev eth1 scope link src 82.94.225.89",
            "default via 82.94.225.1 dev eth1 src 82.94.225.89",
            "2001:888:2000:29::/64 dev eth1 src 2001:888:2000:29::89 metric 256",
            "default via inet6 2001:888:2000:29::1 dev eth1",
            "blackhole 198.51.100.0/24 table 100",
            "unreachable 2001:db8::/64",
            "blackhole default inet6",
            "to prohibit 192.0.2.0/25 metric 5 tos 0x10 onlink",
        ] {
            let first = route(text);
            let written = first.to_string();
            assert_eq!(route(&written), first, "{text} -> {written}");
        }
    }

    #[test]
    fn route_fields_are_read_as_keepalived_reads_them() {
        let read = route("default via inet6 2001:db8::1 dev eth1 table main metric 1024");
        assert_eq!(read.family, Family::Ipv6);
        assert_eq!(read.destination.len, 0);
        assert_eq!(read.via, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(read.table, 254);
        assert_eq!(read.metric, Some(1024));
        assert_eq!(read.effective_protocol(), PROTOCOL_KEEPALIVED);
        let blackhole = route("blackhole 198.51.100.0/24 table 100 protocol bird no_track");
        assert_eq!(blackhole.kind, RouteType::Blackhole);
        assert_eq!(blackhole.protocol, Some(12));
        assert_eq!(blackhole.table, 100);
        let scoped = route("192.0.2.0/24 dev eth1 scope link");
        assert_eq!(scoped.scope, Some(253));
    }

    #[test]
    fn keepalived_leniencies_are_reported() {
        let read = read_route("192.0.2.0/24 gw 198.51.100.1 protocol static").unwrap();
        assert_eq!(
            read.leniencies,
            vec![Leniency::Gateway, Leniency::ProtocolReset(4)]
        );
        assert_eq!(read.value.protocol, Some(PROTOCOL_KEEPALIVED));
        let rule = read_rule("from 192.0.2.1 table 7", 16384).unwrap();
        assert_eq!(rule.leniencies, vec![Leniency::NoRulePriority]);
        assert_eq!(rule.value.priority, 16384);
    }

    #[test]
    fn bad_routes_are_refused_with_the_reason() {
        for (text, expected) in [
            ("via 192.0.2.1", "needs a destination"),
            ("192.0.2.1/24", "bits set past"),
            ("192.0.2.0/24 via 2001:db8::1", "one family"),
            ("192.0.2.0/24 mtu 1400", "`mtu` is not carried out"),
            (
                "192.0.2.0/24 nexthop via 192.0.2.1",
                "`nexthop` is not carried out",
            ),
            ("192.0.2.0/24 table nosuchtable", "not a number nor named"),
            ("192.0.2.0/24 metric", "needs a value"),
            ("192.0.2.0/24 198.51.100.0/24", "already given"),
            ("192.0.2.0/24 from 192.0.2.1", "only supported with IPv6"),
            ("192.0.2.0/24 scope far", "scope"),
        ] {
            let error = read_route(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn the_corpus_rules_read_and_write_back_equal() {
        for text in [
            "from 10.0.0.2/32 table 1 priority 100",
            "from 2001:db8::10/128 table 1 priority 100",
            "to 198.51.100.0/24 not fwmark 0x10/0xff iif eth0 prohibit priority 7",
            "inet6 from all lookup main suppress_prefixlength 0 priority 5",
            "priority 10 goto 20",
            "priority 30 oif eth1 tos 4 unreachable no_track protocol 4",
        ] {
            let first = read_rule(text, 1).unwrap_or_else(|error| panic!("{text}: {error}"));
            assert!(first.leniencies.is_empty(), "{text}");
            let written = first.value.to_string();
            let again = read_rule(&written, 2).expect(&written);
            assert_eq!(again.value, first.value, "{text} -> {written}");
        }
        let six = read_rule("from 2001:db8::10/128 table 1 priority 100", 1).unwrap();
        assert_eq!(six.value.family, Family::Ipv6);
        assert_eq!(six.value.action, RuleAction::Table(1));
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        for (text, expected) in [
            ("from 192.0.2.1 priority 3", "needs an action"),
            ("table 1 blackhole priority 3", "one of table"),
            ("table 0 priority 3", "table 0"),
            ("priority 30 goto 20", "lower than the goto target"),
            (
                "from 192.0.2.1 to 2001:db8::1 table 3 priority 3",
                "one family",
            ),
            ("sport 80 table 3 priority 3", "`sport` is not carried out"),
            ("nop suppress_prefixlength 3 priority 3", "table action"),
            ("frob table 3", "unknown rule option"),
        ] {
            let error = read_rule(text, 1).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
