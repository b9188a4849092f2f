//! Checks that involve more than one field, and the defaults, turning the file model into
//! the typed [`Config`].

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::vrrp::{AdvertInterval, Auth, DownTimerAdverts, VRRP_HOP_LIMIT, Version};

use super::duration::seconds_text;
use super::error::FieldPath;
use super::fields::Findings;
use super::model::{
    ApiFile, FileConfig, Given, InstanceFile, Located, SyncGroupFile, VirtualMacFile,
};
use super::schema;
use super::settings::{
    ApiSettings, Config, Family, GarpGroupSettings, GarpSettings, InstanceSettings, PacedAddress,
    Preempt, Spacing, StaticAddress, SyncGroupSettings, TcpListenerSettings, TcpSecurity,
    UnicastSettings, V3Ipv4Checksum, VirtualAddress, VirtualMac,
};

/// Where the API socket is when the file does not say.
pub const DEFAULT_API_SOCKET: &str = "/run/vrrp-sidecar/api.sock";
/// The priority of a backup that does not say, as in keepalived and RFC 9568.
const DEFAULT_PRIORITY: u8 = 100;
/// The priority that marks the address owner.
const OWNER_PRIORITY: u8 = 255;
/// The most addresses one advert carries: the count is one byte.
const MAX_ADVERTISED_ADDRESSES: usize = 255;
/// VRRPv3 counts the interval in centiseconds.
const CENTISECOND: Duration = Duration::from_millis(10);

/// Checks `file` as a whole; returns the configuration when neither this nor any earlier
/// step found a problem.
pub(super) fn validate(file: FileConfig, findings: &mut Findings) -> Option<Config> {
    let api = validate_api(file.api, findings);
    check_across_instances(&file.instances, findings);
    let sync_groups = check_sync_groups(&file.sync_groups, &file.instances, findings);
    let static_addresses = static_addresses(&file.static_addresses, findings);
    check_email_alerts(&file.instances, file.email_alerts.is_given(), findings);
    let mut instances: Vec<InstanceSettings> = file
        .instances
        .into_iter()
        .filter_map(|instance| validate_instance(instance, findings))
        .collect();
    instances.sort_by(|a, b| a.name.cmp(&b.name));
    let garp_groups = check_garp_groups(&file.garp_groups, findings);
    for instance in &mut instances {
        instance.announce_spacing =
            announce_spacing(instance, file.global.announce_spacing, &garp_groups);
    }
    if findings.is_empty() {
        Some(Config {
            global: file.global,
            api: api?,
            instances,
            sync_groups,
            email_alerts: file.email_alerts.optional()?,
            telemetry: file.telemetry,
            static_routes: values(&file.static_routes),
            static_rules: values(&file.static_rules),
            link_debounce: file.link_debounce,
            static_addresses,
            garp_groups,
        })
    } else {
        None
    }
}

fn validate_api(api: ApiFile, findings: &mut Findings) -> Option<ApiSettings> {
    let allow_plaintext = api.allow_plaintext.or(false)?;
    let tcp = match (api.tcp_address, api.tls) {
        (Given::Absent, Given::Absent) => None,
        (Given::Absent, _) => {
            findings.add(
                &api.path.key(schema::api::TLS.key),
                "TLS applies to the TCP listener, but there is none; set api.tcp_address \
                 (the Unix socket needs no TLS)",
            );
            None
        }
        (Given::Valid(address), Given::Valid(tls)) => Some(TcpListenerSettings {
            address,
            security: TcpSecurity::Tls(tls),
        }),
        (Given::Valid(address), Given::Absent) if allow_plaintext => Some(TcpListenerSettings {
            address,
            security: TcpSecurity::Plaintext,
        }),
        (Given::Valid(_), Given::Absent) => {
            findings.add(
                &api.path.key(schema::api::TCP_ADDRESS.key),
                "a TCP listener needs TLS (api.tls with cert and key) or \
                 allow_plaintext = true; without TLS, tokens and commands cross the network \
                 in clear",
            );
            None
        }
        // A bad address or bad TLS table is reported already.
        (Given::Invalid, _) | (_, Given::Invalid) => None,
    };
    Some(ApiSettings {
        socket: api.socket.or(PathBuf::from(DEFAULT_API_SOCKET))?,
        tcp,
        tokens_file: api.tokens_file.optional()?,
        registered_checks_file: api.registered_checks_file.optional()?,
        priorities_file: api.priorities_file.optional()?,
    })
}

fn validate_instance(instance: InstanceFile, findings: &mut Findings) -> Option<InstanceSettings> {
    let path = &instance.path;
    let version_given = instance.version.is_given();
    let version = instance.version.or(Version::V3);
    let priority = instance.priority.or(DEFAULT_PRIORITY);
    let is_owner = priority == Some(OWNER_PRIORITY);

    let advert_interval = match (version, &instance.advert_interval) {
        (_, &Given::Absent) => Some(AdvertInterval::DEFAULT),
        (Some(version), &Given::Valid(interval)) => {
            let checked = advert_interval(version, interval);
            if let Err(message) = &checked {
                findings.add(
                    &path.key(schema::instance::ADVERT_INTERVAL.key),
                    message.clone(),
                );
            }
            checked.ok()
        }
        (None, _) | (_, &Given::Invalid) => None,
    };

    let family = instance
        .virtual_addresses
        .valid()
        .map(|addresses| check_addresses(addresses, &instance.excluded_addresses, findings))
        .unwrap_or(None);

    // keepalived refuses a VRRPv3 instance without addresses and runs a VRRPv2 one (for
    // setups that move addresses from notify programs); so does this.
    let addresses_path = path.key(schema::instance::VIRTUAL_ADDRESSES.key);
    let missing = match &instance.virtual_addresses {
        Given::Absent => Some("missing"),
        // Empty as written, not emptied by addresses already reported.
        Given::Valid(addresses)
            if addresses.is_empty() && !findings.any_within(&addresses_path) =>
        {
            Some("is empty")
        }
        _ => None,
    };
    if let (Some(missing), Some(Version::V3)) = (missing, version) {
        findings.add(
            &addresses_path,
            format!(
                "{missing}; a VRRPv3 instance advertises at least one address (a VRRPv2 one \
                 may have none, as in keepalived)"
            ),
        );
    }

    if let (Some(Version::V2), Some(Family::Ipv6)) = (version, family) {
        findings.add(
            &path.key(schema::instance::VERSION.key),
            "VRRPv2 is IPv4-only (RFC 3768), but the virtual addresses are IPv6; use version = 3",
        );
    }

    if let (Given::Valid(_), Some(Version::V3)) = (&instance.auth, version) {
        let message = if version_given {
            "VRRPv3 has no authentication (RFC 9568 removed it); remove it, or use version = 2"
        } else {
            "VRRPv3, the default version here, has no authentication (RFC 9568 removed it); \
             keepalived defaults to VRRPv2 for IPv4, so to keep talking to a keepalived peer \
             that uses auth_type PASS, set version = 2"
        };
        findings.add(&path.key(schema::instance::AUTHENTICATION.key), message);
    }

    let preempt_on = instance.preempt.or(true);
    if preempt_on == Some(false) {
        if instance.preempt_delay.is_given() {
            findings.add(
                &path.key(schema::instance::PREEMPT_DELAY.key),
                "a delay before preempting means nothing with preempt = false; remove one of \
                 the two (keepalived refuses preempt_delay with nopreempt too)",
            );
        }
        if is_owner {
            findings.add(
                &path.key(schema::instance::PREEMPT.key),
                "the address owner (priority 255) always takes over at once (RFC 9568 §6.4.1), \
                 so preempt = false cannot hold; remove it or lower the priority",
            );
        }
    }
    let preempt = match preempt_on {
        Some(true) => instance
            .preempt_delay
            .or(Duration::ZERO)
            .map(Preempt::After),
        Some(false) => Some(Preempt::Never),
        None => None,
    };

    if instance.checksum == Given::Valid(V3Ipv4Checksum::V2Compatible)
        && (version == Some(Version::V2) || family == Some(Family::Ipv6))
    {
        findings.add(
            &path.key(schema::instance::CHECKSUM.key),
            "the checksum form is a choice only for VRRPv3 over IPv4 (VRRPv2 has one form and \
             the kernel computes the IPv6 one); remove it",
        );
    }

    let unicast = check_unicast(&instance, family, findings);
    let strict_mode = check_strict_mode(&instance, version, is_owner, findings);
    let virtual_mac = check_virtual_mac(&instance, findings);

    if let Given::Valid(interface) = &instance.interface {
        for located in instance
            .virtual_addresses
            .valid()
            .into_iter()
            .flatten()
            .chain(&instance.excluded_addresses)
        {
            let address = &located.value;
            let device = address.device.as_deref().unwrap_or(interface);
            if let Some(label) = &address.label
                && !label.starts_with(device)
            {
                findings.add(
                    &located.path.key(schema::address::LABEL.key),
                    format!(
                        "\"{label}\" must begin with the name of the interface the address is \
                         on, \"{device}\", as `ip address add` requires"
                    ),
                );
            }
        }
    }

    if is_owner {
        for check in &instance.health_checks {
            if check.weight != 0 {
                findings.add(
                    &path
                        .key(schema::instance::HEALTH_CHECKS.key)
                        .key(&check.name)
                        .key(schema::health_check::WEIGHT.key),
                    "the address owner's priority (255) never changes; use weight = 0 (Fault \
                     while failing) or a priority below 255",
                );
            }
        }
    }

    Some(InstanceSettings {
        name: instance.name,
        interface: instance.interface.valid()?.clone(),
        vrid: *instance.vrid.valid()?,
        version: version?,
        priority: priority?,
        advert_interval: advert_interval?,
        virtual_addresses: match &instance.virtual_addresses {
            Given::Absent => Vec::new(),
            given => values(given.valid()?),
        },
        excluded_addresses: values(&instance.excluded_addresses),
        unicast: unicast?,
        auth: instance.auth.or(Auth::None)?,
        preempt: preempt?,
        accept_mode: instance.accept_mode.or(!strict_mode? || is_owner)?,
        strict_mode: strict_mode?,
        checksum: instance.checksum.or(V3Ipv4Checksum::Rfc)?,
        dont_track_primary: instance.dont_track_primary.or(false)?,
        down_timer_adverts: instance.down_timer_adverts.or(DownTimerAdverts::RFC)?,
        lower_prio_no_advert: instance.lower_prio_no_advert.or(false)?,
        garp: if strict_mode? {
            // keepalived's strict mode sends nothing on hearing a lower priority, resetting
            // any `garp_lower_prio_*` (`vrrp_complete_instance` in `vrrp/vrrp.c`).
            GarpSettings {
                lower_priority_repeat: 0,
                lower_priority_second_after: None,
                ..instance.garp
            }
        } else {
            instance.garp
        },
        announce_spacing: Vec::new(),
        health_checks: instance.health_checks,
        notify: instance.notify,
        email_alerts: instance.email_alerts.or(false)?,
        virtual_routes: values(&instance.virtual_routes),
        virtual_rules: values(&instance.virtual_rules),
        virtual_mac: virtual_mac?,
    })
}

/// The name `virtual_mac` gives the macvlan, if the instance has one.
fn virtual_mac_name(instance: &InstanceFile) -> Option<String> {
    match instance.virtual_mac.valid()? {
        VirtualMacFile::Off => None,
        VirtualMacFile::DefaultName => Some(VirtualMac::default_name(*instance.vrid.valid()?)),
        VirtualMacFile::Named(name) => Some(name.clone()),
    }
}

/// The virtual MAC interface, checked against what keepalived 2.2.7 refuses with it
/// (`vrrp_complete_instance` in keepalived/vrrp/vrrp.c): unicast needs `vmac_xmit_base`,
/// and strict mode forbids it. `None` when a key is invalid.
fn check_virtual_mac(
    instance: &InstanceFile,
    findings: &mut Findings,
) -> Option<Option<VirtualMac>> {
    let path = &instance.path;
    let xmit_base = instance.virtual_mac_xmit_base.or(false)?;
    let on = !matches!(
        instance.virtual_mac.or(VirtualMacFile::Off)?,
        VirtualMacFile::Off
    );
    if !on {
        if xmit_base {
            findings.add(
                &path.key(schema::instance::VIRTUAL_MAC_XMIT_BASE.key),
                "sends adverts from the interface instead of the virtual MAC interface, and \
                 there is none; set virtual_mac = true or remove this",
            );
        }
        return Some(None);
    }
    let name = virtual_mac_name(instance)?;
    if instance.interface.valid() == Some(&name) {
        findings.add(
            &path.key(schema::instance::VIRTUAL_MAC.key),
            format!("\"{name}\" is the instance's own interface; the virtual MAC interface needs a name of its own"),
        );
    }
    if instance.unicast_peers.is_given() && !xmit_base {
        findings.add(
            &path.key(schema::instance::VIRTUAL_MAC.key),
            "unicast peers with a virtual MAC need virtual_mac_xmit_base = true, as in \
             keepalived: unicast adverts go from the interface itself",
        );
    }
    if xmit_base && instance.strict_mode == Given::Valid(true) {
        findings.add(
            &path.key(schema::instance::VIRTUAL_MAC_XMIT_BASE.key),
            "strict mode sends adverts from the virtual MAC, as keepalived's does; remove \
             virtual_mac_xmit_base or strict_mode",
        );
    }
    Some(Some(VirtualMac { name, xmit_base }))
}

/// What keepalived 2.2.7's strict mode refuses or corrects (`vrrp_complete_instance` in
/// keepalived/vrrp/vrrp.c) is refused here, each naming the field: a native file says what it
/// means, where keepalived drops or resets the setting and runs on. Whether the instance is in
/// strict mode; `None` when the key is invalid.
fn check_strict_mode(
    instance: &InstanceFile,
    version: Option<Version>,
    is_owner: bool,
    findings: &mut Findings,
) -> Option<bool> {
    let strict = instance.strict_mode.or(false)?;
    if !strict {
        return Some(false);
    }
    let path = &instance.path;
    let no_addresses = match &instance.virtual_addresses {
        Given::Absent => true,
        Given::Valid(addresses) => addresses.is_empty(),
        Given::Invalid => false,
    };
    // The VRRPv3 rule already reports a missing list; strict mode extends it to VRRPv2.
    if no_addresses && version == Some(Version::V2) {
        findings.add(
            &path.key(schema::instance::VIRTUAL_ADDRESSES.key),
            "strict mode needs at least one virtual address (keepalived refuses an instance \
             without in strict mode)",
        );
    }
    if instance.unicast_peers.is_given() {
        findings.add(
            &path.key(schema::instance::UNICAST_PEERS.key),
            "strict mode advertises to the VRRP multicast group only (keepalived refuses \
             unicast peers in strict mode); remove the peers or strict_mode",
        );
    }
    if instance.auth.is_given() {
        findings.add(
            &path.key(schema::instance::AUTHENTICATION.key),
            "strict mode has no authentication (RFC 3768 removed it; keepalived ignores it in \
             strict mode); remove it",
        );
    }
    if let Given::Valid(delay) = instance.preempt_delay
        && !delay.is_zero()
    {
        findings.add(
            &path.key(schema::instance::PREEMPT_DELAY.key),
            "strict mode preempts at once (keepalived resets preempt_delay in strict mode); \
             remove it",
        );
    }
    if let Given::Valid(adverts) = instance.down_timer_adverts
        && adverts != DownTimerAdverts::RFC
    {
        findings.add(
            &path.key(schema::instance::DOWN_TIMER_ADVERTS.key),
            "strict mode waits the RFC's three adverts (keepalived resets down_timer_adverts \
             in strict mode); remove it",
        );
    }
    if instance.accept_mode == Given::Valid(true) && version == Some(Version::V2) && !is_owner {
        findings.add(
            &path.key(schema::instance::ACCEPT_MODE.key),
            "accept mode for a VRRPv2 router that does not own the addresses breaks RFC 3768 \
             (keepalived resets it in strict mode); remove it, use version = 3, or priority 255",
        );
    }
    Some(true)
}

/// Each group names known instances, at least two, and no instance is in two groups: a
/// member follows one group, or the groups would pull it two ways.
fn check_sync_groups(
    groups: &[SyncGroupFile],
    instances: &[InstanceFile],
    findings: &mut Findings,
) -> Vec<SyncGroupSettings> {
    let mut member_of: BTreeMap<&str, &str> = BTreeMap::new();
    let mut checked = Vec::new();
    for group in groups {
        let mut members: Vec<String> = Vec::new();
        for located in &group.instances {
            let name = located.value.as_str();
            if !instances.iter().any(|instance| instance.name == name) {
                findings.add(
                    &located.path,
                    format!("there is no instance `{name}` ([instances.{name}])"),
                );
            } else if members.iter().any(|member| member == name) {
                findings.add(&located.path, format!("`{name}` is listed twice"));
            } else if let Some(other) = member_of.get(name) {
                findings.add(
                    &located.path,
                    format!(
                        "`{name}` is already in sync group `{other}`; an instance follows one \
                         group"
                    ),
                );
            } else {
                member_of.insert(name, &group.name);
                members.push(name.to_owned());
            }
        }
        if group.instances.len() < 2 {
            findings.add(
                &group.path.key(schema::sync_group::INSTANCES.key),
                "a sync group needs at least two instances to keep together",
            );
        }
        let Some(tracking_weight) = group.tracking_weight.or(false) else {
            continue;
        };
        if !tracking_weight {
            check_member_weights(group, &members, instances, findings);
        }
        checked.push(SyncGroupSettings {
            name: group.name.clone(),
            instances: members,
            notify: group.notify.clone(),
            tracking_weight,
        });
    }
    checked.sort_by(|a, b| a.name.cmp(&b.name));
    checked
}

/// A member of a group without `tracking_weight` has no weighted checks: keepalived ignores
/// such a weight (`vrrp_complete_instance()` in `keepalived/vrrp/vrrp.c`), and a weight
/// that is written but does nothing is a trap.
fn check_member_weights(
    group: &SyncGroupFile,
    members: &[String],
    instances: &[InstanceFile],
    findings: &mut Findings,
) {
    for instance in instances
        .iter()
        .filter(|instance| members.contains(&instance.name))
    {
        for check in instance
            .health_checks
            .iter()
            .filter(|check| check.weight != 0)
        {
            findings.add(
                &instance
                    .path
                    .key(schema::instance::HEALTH_CHECKS.key)
                    .key(&check.name)
                    .key(schema::health_check::WEIGHT.key),
                format!(
                    "`{}` is in sync group `{}`, whose members' weights do not move their \
                     priority; use weight = 0 (the group goes to Fault while it fails), or set \
                     tracking_weight = true in [sync_groups.{}]",
                    instance.name, group.name, group.name
                ),
            );
        }
    }
}

/// The static addresses, each written once: a second entry for the same address on the same
/// interface would be added and removed with the first.
fn static_addresses(
    addresses: &[Located<StaticAddress>],
    findings: &mut Findings,
) -> Vec<StaticAddress> {
    let mut seen: Vec<&StaticAddress> = Vec::new();
    for located in addresses {
        let address = &located.value;
        if seen.iter().any(|earlier| {
            earlier.address.address == address.address.address
                && earlier.device() == address.device()
        }) {
            findings.add(
                &located.path,
                format!(
                    "{} on {} is already a static address",
                    address.address.address,
                    address.device()
                ),
            );
        }
        seen.push(address);
    }
    values(addresses)
}

/// No interface is in two garp groups: its announcements wait for one clock (keepalived
/// keeps the first group and reports "garp_group already specified" for the next).
fn check_garp_groups(
    groups: &[Located<GarpGroupSettings>],
    findings: &mut Findings,
) -> Vec<GarpGroupSettings> {
    let mut group_of: BTreeMap<&str, &str> = BTreeMap::new();
    for group in groups {
        let interfaces_path = group.path.key(schema::garp_group::INTERFACES.key);
        for (index, interface) in group.value.interfaces.iter().enumerate() {
            let earlier = group.value.interfaces[..index].contains(interface);
            if earlier {
                findings.add(
                    &interfaces_path.index(index),
                    format!("`{interface}` is listed twice"),
                );
            } else if let Some(other) = group_of.get(interface.as_str()) {
                findings.add(
                    &interfaces_path.index(index),
                    format!(
                        "`{interface}` is already in garp group `{other}`; the announcements \
                         of an interface share one spacing"
                    ),
                );
            } else {
                group_of.insert(interface, &group.value.name);
            }
        }
    }
    let mut checked = values(groups);
    checked.sort_by(|a, b| a.name.cmp(&b.name));
    checked
}

/// The addresses `instance` announces with the spacing each waits for: its interface's
/// garp group's, or else the global one, shared by the interface (keepalived gives each
/// interface without a group a `garp_delay` of its own, `set_default_garp_delay` in
/// `vrrp/vrrp_if.c`). Empty when no spacing applies to any of them.
fn announce_spacing(
    instance: &InstanceSettings,
    global: Spacing,
    groups: &[GarpGroupSettings],
) -> Vec<PacedAddress> {
    let paced: Vec<PacedAddress> = instance
        .held_addresses()
        .map(|address| {
            let interface = instance.spaced_on(address);
            let group = groups
                .iter()
                .find(|group| group.interfaces.iter().any(|named| named == interface));
            let (shared_by, spacing) = match group {
                Some(group) => (format!("garp group {}", group.name), group.spacing),
                None => (interface.to_owned(), global),
            };
            PacedAddress {
                address: address.address,
                shared_by,
                spacing,
            }
        })
        .collect();
    let spaced = paced.iter().any(|paced| match paced.address {
        IpAddr::V4(_) => paced.spacing.arp.is_some(),
        IpAddr::V6(_) => paced.spacing.na.is_some(),
    });
    if spaced { paced } else { Vec::new() }
}

/// An instance that mails its changes needs somewhere to mail them.
fn check_email_alerts(instances: &[InstanceFile], configured: bool, findings: &mut Findings) {
    if configured {
        return;
    }
    for instance in instances {
        if instance.email_alerts == Given::Valid(true) {
            findings.add(
                &instance.path.key(schema::instance::EMAIL_ALERTS.key),
                "alerts need a mail server and addresses: add [email_alerts] with \
                 smtp_server, from and to",
            );
        }
    }
}

fn values<T: Clone>(located: &[Located<T>]) -> Vec<T> {
    located.iter().map(|item| item.value.clone()).collect()
}

/// The interval in the unit `version` carries, or why it cannot be carried.
fn advert_interval(version: Version, interval: Duration) -> Result<AdvertInterval, String> {
    let shown = seconds_text(interval);
    match version {
        Version::V2 => {
            if interval.subsec_nanos() != 0 {
                return Err(format!(
                    "{shown} is not a whole number of seconds; VRRPv2 carries whole seconds \
                     (1..255); use version = 3 or a whole interval"
                ));
            }
            u8::try_from(interval.as_secs())
                .ok()
                .and_then(AdvertInterval::from_secs)
                .ok_or_else(|| format!("{shown} is out of range; VRRPv2 carries 1..255 s"))
        }
        Version::V3 => {
            if !interval.as_nanos().is_multiple_of(CENTISECOND.as_nanos()) {
                return Err(format!(
                    "{shown} is not a whole number of centiseconds; VRRPv3 carries the \
                     interval in units of 10 ms (0.01..40.95 s)"
                ));
            }
            u16::try_from(interval.as_nanos() / CENTISECOND.as_nanos())
                .ok()
                .and_then(AdvertInterval::from_centis)
                .filter(|centis| *centis <= AdvertInterval::V3_MAX)
                .ok_or_else(|| format!("{shown} is out of range; VRRPv3 carries 0.01..40.95 s"))
        }
    }
}

/// Checks the address lists and returns the family of the advertised ones.
fn check_addresses(
    advertised: &[Located<VirtualAddress>],
    excluded: &[Located<VirtualAddress>],
    findings: &mut Findings,
) -> Option<Family> {
    let first = advertised.first()?;
    let family = Family::of(first.value.address);
    for located in &advertised[1..] {
        let address = located.value.address;
        if Family::of(address) != family {
            findings.add(
                &located.path,
                format!(
                    "{address} is {} but the first address, {}, is {family}; an instance \
                     advertises one family (put the other in excluded_addresses or in \
                     another instance)",
                    Family::of(address),
                    first.value.address
                ),
            );
        }
    }
    if advertised.len() > MAX_ADVERTISED_ADDRESSES {
        findings.add(
            &advertised[MAX_ADVERTISED_ADDRESSES].path,
            format!(
                "{} addresses, but an advert carries at most {MAX_ADVERTISED_ADDRESSES}; move \
                 the rest to excluded_addresses",
                advertised.len()
            ),
        );
    }
    let mut seen: BTreeMap<IpAddr, &FieldPath> = BTreeMap::new();
    for located in advertised.iter().chain(excluded) {
        let address = located.value.address;
        match seen.get(&address) {
            Some(first_path) => findings.add(
                &located.path,
                format!("{address} is listed twice (first at {first_path})"),
            ),
            None => {
                seen.insert(address, &located.path);
            }
        }
    }
    Some(family)
}

/// Checks `unicast_src` and `unicast_peers`; `None` when they are unusable.
fn check_unicast(
    instance: &InstanceFile,
    family: Option<Family>,
    findings: &mut Findings,
) -> Option<Option<UnicastSettings>> {
    let path = &instance.path;
    let mismatch = |address: IpAddr, family: Family| {
        format!(
            "{address} is {} but the virtual addresses are {family}; adverts go out in the \
             family of the addresses",
            Family::of(address)
        )
    };
    if let (Given::Valid(source), Some(family)) = (&instance.unicast_src, family)
        && Family::of(*source) != family
    {
        findings.add(
            &path.key(schema::instance::UNICAST_SRC.key),
            mismatch(*source, family),
        );
    }
    let peers = match &instance.unicast_peers {
        Given::Absent => {
            if instance.unicast_src.is_given() {
                findings.add(
                    &path.key(schema::instance::UNICAST_SRC.key),
                    "unicast_src without unicast_peers means nothing (keepalived before 2.2.4 \
                     silently fell back to multicast); list the peers or remove it",
                );
            }
            if instance.unicast_ttl.is_given() {
                findings.add(
                    &path.key(schema::instance::UNICAST_TTL.key),
                    "unicast_ttl without unicast_peers means nothing: multicast adverts leave \
                     with TTL 255 (RFC 9568 §5.1.1.3; keepalived resets it); list the peers or \
                     remove it",
                );
            }
            return Some(None);
        }
        Given::Invalid => return None,
        Given::Valid(peers) => peers,
    };
    let mut seen: BTreeMap<IpAddr, &FieldPath> = BTreeMap::new();
    for peer in peers {
        if let Some(family) = family
            && Family::of(peer.value.address) != family
        {
            findings.add(&peer.path, mismatch(peer.value.address, family));
        }
        if instance.unicast_src.valid() == Some(&peer.value.address) {
            findings.add(
                &peer.path,
                format!("{} is this router's own unicast_src", peer.value.address),
            );
        }
        match seen.get(&peer.value.address) {
            Some(first_path) => findings.add(
                &peer.path,
                format!(
                    "{} is listed twice (first at {first_path})",
                    peer.value.address
                ),
            ),
            None => {
                seen.insert(peer.value.address, &peer.path);
            }
        }
    }
    Some(Some(UnicastSettings {
        source: instance.unicast_src.optional()?,
        peers: values(peers),
        check_source: instance.check_unicast_src.or(true)?,
        ttl: instance.unicast_ttl.or(VRRP_HOP_LIMIT)?,
    }))
}

/// Checks between instances: VRIDs and addresses they must not share. It looks at every
/// instance whose fields in question are usable, even one with problems elsewhere, so a
/// clash is reported in the same run as the other problems.
fn check_across_instances(instances: &[InstanceFile], findings: &mut Findings) {
    let mut vrid_users: BTreeMap<(&str, Family, u8), &str> = BTreeMap::new();
    let mut address_users: BTreeMap<IpAddr, &str> = BTreeMap::new();
    let mut virtual_mac_users: BTreeMap<String, &str> = BTreeMap::new();
    for instance in instances {
        if let Some(name) = virtual_mac_name(instance) {
            match virtual_mac_users.get(&name) {
                Some(other) => findings.add(
                    &instance.path.key(schema::instance::VIRTUAL_MAC.key),
                    format!(
                        "instance `{other}` has a virtual MAC interface named \"{name}\" \
                         already; give this one another name (virtual_mac = \"NAME\")"
                    ),
                ),
                None => {
                    virtual_mac_users.insert(name, &instance.name);
                }
            }
        }
        let addresses = instance
            .virtual_addresses
            .valid()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let (Some(interface), Some(vrid), Some(first)) = (
            instance.interface.valid(),
            instance.vrid.valid(),
            addresses.first(),
        ) {
            let family = Family::of(first.value.address);
            match vrid_users.get(&(interface.as_str(), family, *vrid)) {
                Some(other) => findings.add(
                    &instance.path.key(schema::instance::VRID.key),
                    format!(
                        "VRID {vrid} is already used on {interface} for {family} by instance \
                         `{other}`; each virtual router on a link needs its own VRID"
                    ),
                ),
                None => {
                    vrid_users.insert((interface.as_str(), family, *vrid), &instance.name);
                }
            }
        }
        for located in addresses {
            let address = located.value.address;
            match address_users.get(&address) {
                // A repeat within one instance is reported by check_addresses.
                Some(other) if *other != instance.name => findings.add(
                    &located.path,
                    format!("{address} is also a virtual address of instance `{other}`"),
                ),
                Some(_) => {}
                None => {
                    address_users.insert(address, &instance.name);
                }
            }
        }
    }
}
