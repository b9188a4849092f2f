//! The keepalived keywords that are not translated, each with why: those whose absence
//! changes behaviour (errors) and those whose absence does not (warnings). Keywords that are
//! translated are handled in `translate.rs`; any other is unknown, and an error there.

/// Keywords with no native equivalent whose absence changes behaviour, with why; anywhere.
pub(super) const REFUSED: &[(&str, &str)] = &[
    (
        "use_vmac",
        "virtual MAC interfaces are not supported: the address would answer with the \
         interface's own MAC, and clients would have to re-learn it on failover",
    ),
    ("vmac_xmit_base", "virtual MAC interfaces are not supported"),
    (
        "virtual_routes",
        "routes that follow the master are not supported; add them from a notify script",
    ),
    (
        "virtual_rules",
        "rules that follow the master are not supported; add them from a notify script",
    ),
    (
        "static_ipaddress",
        "static addresses are not managed here; configure them with the system's network tools",
    ),
    (
        "static_routes",
        "static routes are not managed here; configure them with the system's network tools",
    ),
    (
        "static_rules",
        "static rules are not managed here; configure them with the system's network tools",
    ),
    (
        "virtual_server",
        "LVS (IPVS) load balancing is not part of this daemon; keep keepalived's checker for it",
    ),
    (
        "virtual_server_group",
        "LVS (IPVS) load balancing is not part of this daemon; keep keepalived's checker for it",
    ),
    (
        "track_process",
        "process tracking is not supported; use a vrrp_script that checks the process",
    ),
    (
        "vrrp_track_process",
        "process tracking is not supported; use a vrrp_script that checks the process",
    ),
    ("track_bfd", "BFD tracking is not supported"),
    ("bfd_instance", "BFD is not supported"),
    (
        "vrrp_strict",
        "strict mode changes many defaults (accept mode, owner behaviour, no auth); set what \
         it implies explicitly instead",
    ),
    (
        "strict_mode",
        "strict mode changes many defaults (accept mode, owner behaviour, no auth); set what \
         it implies explicitly instead",
    ),
    (
        "init_file",
        "the tracked file is not created or written here; create it before starting",
    ),
];

/// Keywords that are left out without changing what the routers do, with why; anywhere.
pub(super) const IGNORED: &[(&str, &str)] = &[
    (
        "enable_script_security",
        "programs are run directly, never through a shell, but their ownership and \
         permissions are not checked as keepalived does; keep scripts root-owned and not \
         writable by others",
    ),
    (
        "enable_traps",
        "SNMP is not served; metrics and state are available over the API",
    ),
    (
        "enable_snmp_vrrp",
        "SNMP is not served; metrics and state are available over the API",
    ),
    (
        "snmp_socket",
        "SNMP is not served; metrics and state are available over the API",
    ),
    (
        "vrrp_garp_interval",
        "announcements of one burst are sent back to back, without keepalived's spacing",
    ),
    (
        "vrrp_gna_interval",
        "announcements of one burst are sent back to back, without keepalived's spacing",
    ),
    (
        "vrrp_garp_master_refresh_repeat",
        "a refresh sends one announcement per address",
    ),
    (
        "garp_master_refresh_repeat",
        "a refresh sends one announcement per address",
    ),
    (
        "vrrp_garp_lower_prio_delay",
        "no extra announcements follow a lower-priority advert",
    ),
    (
        "vrrp_garp_lower_prio_repeat",
        "no extra announcements follow a lower-priority advert",
    ),
    (
        "garp_lower_prio_delay",
        "no extra announcements follow a lower-priority advert",
    ),
    (
        "garp_lower_prio_repeat",
        "no extra announcements follow a lower-priority advert",
    ),
    (
        "max_auto_priority",
        "keepalived's own process scheduling; this daemon's is not configured here",
    ),
    (
        "vrrp_priority",
        "keepalived's own process scheduling; this daemon's is not configured here",
    ),
    (
        "vrrp_rt_priority",
        "keepalived's own process scheduling; this daemon's is not configured here",
    ),
    (
        "vrrp_no_swap",
        "keepalived's own process scheduling; this daemon's is not configured here",
    ),
    ("debug", "logging is set by the native log_level"),
];
