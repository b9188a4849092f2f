//! Every keyword keepalived 2.2.7's VRRP process knows, with what happens to it here.
//!
//! keepalived refuses no keyword: one it does not know gets "Unknown keyword" and is skipped,
//! and the rest of the file still runs. So no keyword is refused here either; a keyword is
//! [`Treatment::Translated`] into a native field, [`Treatment::Ignored`] with a warning
//! saying why leaving it out does not matter or what the daemon does instead, or
//! [`Treatment::NotYet`]: a VRRP feature this daemon does not carry out yet (issue 17), with
//! a warning saying what it does instead. Values keepalived refuses are refused where the
//! value is read (`translate.rs`), with keepalived's reason.
//!
//! The list of keywords is that of `init_vrrp_keywords()` in
//! `keepalived/vrrp/vrrp_parser.c` and `init_global_keywords()` in
//! `keepalived/core/global_parser.c` of keepalived 2.2.7, plus `add_track_file_keywords()`
//! (`keepalived/trackers/track_file.c`), LVS and BFD, which the VRRP process also reads;
//! `tests/keepalived_conf.rs` checks that it covers the first two, keyword by keyword.

/// What happens to a keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Treatment {
    /// Translated into the native configuration.
    Translated,
    /// Left out with a warning: the reason, or what the daemon does instead.
    Ignored(&'static str),
    /// A VRRP feature not carried out yet (issue 17), left out with a warning: what the
    /// daemon does instead.
    NotYet(&'static str),
}

/// One keyword in one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyword {
    /// The block it belongs in, as keepalived nests them: `""` for the top level,
    /// `global_defs`, `vrrp_instance`, `vrrp_instance.authentication`, `vrrp_sync_group`,
    /// `vrrp_script`, `vrrp_track_process`, `garp_group`, `track_group`, `track_file`.
    pub context: &'static str,
    /// The keyword.
    pub name: &'static str,
    /// What happens to it here.
    pub treatment: Treatment,
}

/// The keyword `name` of block `context`, when keepalived 2.2.7's VRRP process knows it.
pub fn lookup(context: &str, name: &str) -> Option<&'static Keyword> {
    let context = match context {
        "vrrp_track_file" => "track_file",
        other => other,
    };
    KEYWORDS
        .iter()
        .find(|keyword| keyword.context == context && keyword.name == name)
}

const fn translated(context: &'static str, name: &'static str) -> Keyword {
    Keyword {
        context,
        name,
        treatment: Treatment::Translated,
    }
}

const fn ignored(context: &'static str, name: &'static str, why: &'static str) -> Keyword {
    Keyword {
        context,
        name,
        treatment: Treatment::Ignored(why),
    }
}

const fn not_yet(context: &'static str, name: &'static str, instead: &'static str) -> Keyword {
    Keyword {
        context,
        name,
        treatment: Treatment::NotYet(instead),
    }
}

const TOP: &str = "";
const GLOBAL: &str = "global_defs";
const INSTANCE: &str = "vrrp_instance";
const AUTH: &str = "vrrp_instance.authentication";
const GROUP: &str = "vrrp_sync_group";
const SCRIPT: &str = "vrrp_script";
const PROCESS: &str = "vrrp_track_process";
const GARP_GROUP: &str = "garp_group";
const TRACK_GROUP: &str = "track_group";
const TRACK_FILE: &str = "track_file";

const OTHER_DAEMONS: &str = "it configures keepalived's checker, BFD or parent process, which \
                             this daemon does not have";
const PROCESS_TUNING: &str = "keepalived's own process scheduling and buffers; this daemon's \
                              are not configured here";
const SNMP: &str = "SNMP is not served; state and metrics are available over the API and \
                    the Prometheus endpoint";
const DBUS: &str = "DBus is not served; state is available over the gRPC API";
const LVS: &str = "LVS (IPVS) is not part of this daemon; run keepalived's checker alone \
                   (`keepalived --check`) beside it to keep load balancing";
const RELOAD: &str = "keepalived's reload machinery; this daemon rereads its file on SIGHUP";
const OWN_FIREWALL: &str = "with accept mode off a master drops traffic to its addresses with \
                            nftables rules in a table of this daemon's own (`inet \
                            vrrp_sidecar`), whatever keepalived's firewall settings say";
const SKIP_ADDRESS_CHECK: &str = "an advert whose addresses differ from ours is only counted \
                                  here, never dropped, so skipping the comparison for the \
                                  current master changes nothing but that count";
const STEP_DOWN_ADVERT: &str = "a master that hears a higher priority always advertises three \
                                times before it steps down here, as with this keyword on (so \
                                the other side of a healed partition hears it); strict mode \
                                turns that off, as keepalived refuses the keyword there";

/// The keywords, by block, in keepalived's source order.
pub const KEYWORDS: &[Keyword] = &[
    // Top level: vrrp_parser.c.
    translated(TOP, "track_group"),
    translated(TRACK_GROUP, "group"),
    translated(TOP, "static_ipaddress"),
    translated(TOP, "static_routes"),
    translated(TOP, "static_rules"),
    translated(TOP, "vrrp_sync_group"),
    translated(GROUP, "group"),
    translated(GROUP, "track_interface"),
    translated(GROUP, "track_script"),
    translated(GROUP, "track_file"),
    translated(GROUP, "track_process"),
    ignored(
        GROUP,
        "track_bfd",
        "BFD is not part of this daemon; nothing is tracked for it",
    ),
    translated(GROUP, "notify_backup"),
    translated(GROUP, "notify_master"),
    translated(GROUP, "notify_fault"),
    translated(GROUP, "notify_stop"),
    translated(GROUP, "notify"),
    translated(GROUP, "smtp_alert"),
    translated(GROUP, "global_tracking"),
    translated(GROUP, "sync_group_tracking_weight"),
    translated(GROUP, "notify_priority_changes"),
    translated(TOP, "garp_group"),
    translated(GARP_GROUP, "garp_interval"),
    translated(GARP_GROUP, "gna_interval"),
    translated(GARP_GROUP, "interface"),
    translated(GARP_GROUP, "interfaces"),
    ignored(
        TOP,
        "linkbeat_interfaces",
        "links are watched through netlink events, which keepalived's linkbeat polling \
         stands in for",
    ),
    translated(TOP, "vrrp_instance"),
    translated(INSTANCE, "use_vmac"),
    not_yet(
        INSTANCE,
        "use_vmac_addr",
        "left out: the virtual MAC interface is set up as plain `use_vmac` sets it up",
    ),
    translated(INSTANCE, "vmac_xmit_base"),
    not_yet(
        INSTANCE,
        "use_ipvlan",
        "no ipvlan interface is made; the addresses are added to the interface itself",
    ),
    translated(INSTANCE, "unicast_peer"),
    translated(INSTANCE, "unicast_fault_no_peer"),
    translated(INSTANCE, "check_unicast_src"),
    ignored(
        INSTANCE,
        "old_unicast_checksum",
        "the checksum of unicast VRRPv3 adverts is always the RFC's",
    ),
    ignored(
        INSTANCE,
        "native_ipv6",
        "an instance with IPv6 addresses is always IPv6, whatever its interface",
    ),
    translated(INSTANCE, "state"),
    translated(INSTANCE, "interface"),
    ignored(
        INSTANCE,
        "vrf",
        "the instance runs in the default VRF of the interface's namespace",
    ),
    translated(INSTANCE, "dont_track_primary"),
    translated(INSTANCE, "track_interface"),
    translated(INSTANCE, "track_script"),
    translated(INSTANCE, "track_file"),
    translated(INSTANCE, "track_process"),
    ignored(
        INSTANCE,
        "track_bfd",
        "BFD is not part of this daemon; nothing is tracked for it",
    ),
    translated(INSTANCE, "mcast_src_ip"),
    translated(INSTANCE, "unicast_src_ip"),
    translated(INSTANCE, "mcast_dst_ip"),
    ignored(
        INSTANCE,
        "track_src_ip",
        "keepalived 2.2.7 does not act on it (it compares the configured source with the \
         removed address wrongly, keepalived/core/keepalived_netlink.c; measured: removing the \
         configured source faults nothing), so neither does this daemon. Without a configured \
         source both follow the interface's address: the next one, or Fault while none is left",
    ),
    translated(INSTANCE, "virtual_router_id"),
    translated(INSTANCE, "unicast_ttl"),
    translated(INSTANCE, "version"),
    translated(INSTANCE, "priority"),
    translated(INSTANCE, "advert_int"),
    translated(INSTANCE, "virtual_ipaddress"),
    translated(INSTANCE, "virtual_ipaddress_excluded"),
    ignored(
        INSTANCE,
        "promote_secondaries",
        "the kernel's promote_secondaries setting is left as it is",
    ),
    ignored(
        INSTANCE,
        "linkbeat_use_polling",
        "links are watched through netlink events",
    ),
    translated(INSTANCE, "virtual_routes"),
    translated(INSTANCE, "virtual_rules"),
    translated(INSTANCE, "accept"),
    translated(INSTANCE, "no_accept"),
    ignored(INSTANCE, "skip_check_adv_addr", SKIP_ADDRESS_CHECK),
    translated(INSTANCE, "strict_mode"),
    translated(INSTANCE, "preempt"),
    translated(INSTANCE, "nopreempt"),
    translated(INSTANCE, "preempt_delay"),
    ignored(INSTANCE, "debug", "logging is set by the native log_level"),
    translated(INSTANCE, "notify_backup"),
    translated(INSTANCE, "notify_master"),
    translated(INSTANCE, "notify_fault"),
    translated(INSTANCE, "notify_stop"),
    translated(INSTANCE, "notify_deleted"),
    translated(INSTANCE, "notify"),
    translated(INSTANCE, "notify_master_rx_lower_pri"),
    translated(INSTANCE, "smtp_alert"),
    translated(INSTANCE, "notify_priority_changes"),
    ignored(INSTANCE, "lvs_sync_daemon_interface", LVS),
    translated(INSTANCE, "garp_master_delay"),
    translated(INSTANCE, "garp_master_refresh"),
    translated(INSTANCE, "garp_master_repeat"),
    ignored(
        INSTANCE,
        "garp_master_refresh_repeat",
        "a refresh sends one announcement per address",
    ),
    translated(INSTANCE, "garp_lower_prio_delay"),
    translated(INSTANCE, "garp_lower_prio_repeat"),
    translated(INSTANCE, "down_timer_adverts"),
    not_yet(
        INSTANCE,
        "garp_extra_if",
        "announcements go out on the instance's interfaces only",
    ),
    not_yet(
        INSTANCE,
        "vmac_garp_intvl",
        "announcements go out on the instance's interfaces only",
    ),
    translated(INSTANCE, "lower_prio_no_advert"),
    ignored(INSTANCE, "higher_prio_send_advert", STEP_DOWN_ADVERT),
    ignored(INSTANCE, "kernel_rx_buf_size", PROCESS_TUNING),
    translated(INSTANCE, "authentication"),
    translated(AUTH, "auth_type"),
    translated(AUTH, "auth_pass"),
    translated(TOP, "vrrp_script"),
    translated(SCRIPT, "script"),
    translated(SCRIPT, "interval"),
    translated(SCRIPT, "timeout"),
    translated(SCRIPT, "weight"),
    translated(SCRIPT, "rise"),
    translated(SCRIPT, "fall"),
    translated(SCRIPT, "user"),
    translated(SCRIPT, "init_fail"),
    translated(TOP, "vrrp_track_process"),
    translated(PROCESS, "process"),
    translated(PROCESS, "param_match"),
    translated(PROCESS, "weight"),
    translated(PROCESS, "quorum"),
    translated(PROCESS, "quorum_max"),
    translated(PROCESS, "delay"),
    translated(PROCESS, "terminate_delay"),
    translated(PROCESS, "fork_delay"),
    translated(PROCESS, "full_command"),
    translated(TOP, "interface_up_down_delays"),
    // Top level: global_parser.c.
    ignored(
        TOP,
        "linkbeat_use_polling",
        "links are watched through netlink events",
    ),
    ignored(
        TOP,
        "net_namespace",
        "the daemon runs in the namespace it is started in; start it there (`ip netns exec`)",
    ),
    ignored(TOP, "net_namespace_ipvs", LVS),
    ignored(TOP, "namespace_with_ipsets", "ipsets are not used here"),
    ignored(TOP, "use_pid_dir", "the daemon writes no PID file"),
    ignored(
        TOP,
        "instance",
        "several daemons on one host are kept apart by their API sockets",
    ),
    ignored(TOP, "child_wait_time", OTHER_DAEMONS),
    translated(TOP, "global_defs"),
    // global_defs: global_parser.c.
    ignored(GLOBAL, "process_names", "the process keeps its own name"),
    ignored(GLOBAL, "process_name", "the process keeps its own name"),
    ignored(
        GLOBAL,
        "vrrp_process_name",
        "the process keeps its own name",
    ),
    ignored(GLOBAL, "checker_process_name", OTHER_DAEMONS),
    ignored(GLOBAL, "lvs_process_name", OTHER_DAEMONS),
    ignored(GLOBAL, "bfd_process_name", OTHER_DAEMONS),
    translated(GLOBAL, "router_id"),
    translated(GLOBAL, "notification_email_from"),
    translated(GLOBAL, "smtp_server"),
    translated(GLOBAL, "smtp_helo_name"),
    translated(GLOBAL, "smtp_connect_timeout"),
    translated(GLOBAL, "notification_email"),
    translated(GLOBAL, "smtp_alert"),
    ignored(
        GLOBAL,
        "startup_script",
        "no program runs at start; run it from the service manager (ExecStartPre=)",
    ),
    ignored(
        GLOBAL,
        "startup_script_timeout",
        "no program runs at start; run it from the service manager (ExecStartPre=)",
    ),
    ignored(
        GLOBAL,
        "shutdown_script",
        "no program runs at exit; run it from the service manager (ExecStopPost=)",
    ),
    ignored(
        GLOBAL,
        "shutdown_script_timeout",
        "no program runs at exit; run it from the service manager (ExecStopPost=)",
    ),
    ignored(GLOBAL, "max_auto_priority", PROCESS_TUNING),
    ignored(GLOBAL, "min_auto_priority_delay", PROCESS_TUNING),
    translated(GLOBAL, "smtp_alert_vrrp"),
    ignored(GLOBAL, "smtp_alert_checker", LVS),
    ignored(GLOBAL, "checker_log_all_failures", LVS),
    ignored(
        GLOBAL,
        "dynamic_interfaces",
        "an interface that is missing at start is an error when the daemon starts, not a \
         Fault until it appears",
    ),
    ignored(GLOBAL, "no_email_faults", LVS),
    translated(GLOBAL, "default_interface"),
    ignored(
        GLOBAL,
        "disable_local_igmp",
        "no IGMP setting of the interfaces is changed",
    ),
    ignored(GLOBAL, "lvs_timeouts", LVS),
    ignored(GLOBAL, "lvs_flush", LVS),
    ignored(GLOBAL, "lvs_flush_on_stop", LVS),
    ignored(GLOBAL, "lvs_flush_onstop", LVS),
    ignored(GLOBAL, "lvs_sync_daemon", LVS),
    translated(GLOBAL, "vrrp_mcast_group4"),
    translated(GLOBAL, "vrrp_mcast_group6"),
    translated(GLOBAL, "vrrp_garp_master_delay"),
    translated(GLOBAL, "vrrp_garp_master_repeat"),
    translated(GLOBAL, "vrrp_garp_master_refresh"),
    ignored(
        GLOBAL,
        "vrrp_garp_master_refresh_repeat",
        "a refresh sends one announcement per address",
    ),
    translated(GLOBAL, "vrrp_garp_lower_prio_delay"),
    translated(GLOBAL, "vrrp_garp_lower_prio_repeat"),
    translated(GLOBAL, "vrrp_down_timer_adverts"),
    translated(GLOBAL, "vrrp_garp_interval"),
    translated(GLOBAL, "vrrp_gna_interval"),
    translated(GLOBAL, "vrrp_min_garp"),
    not_yet(
        GLOBAL,
        "vrrp_garp_extra_if",
        "announcements go out on the instances' interfaces only",
    ),
    not_yet(
        GLOBAL,
        "vrrp_vmac_garp_intvl",
        "announcements go out on the instances' interfaces only",
    ),
    translated(GLOBAL, "vrrp_lower_prio_no_advert"),
    ignored(GLOBAL, "vrrp_higher_prio_send_advert", STEP_DOWN_ADVERT),
    translated(GLOBAL, "vrrp_version"),
    ignored(GLOBAL, "vrrp_iptables", OWN_FIREWALL),
    ignored(GLOBAL, "vrrp_ipsets", OWN_FIREWALL),
    ignored(GLOBAL, "nftables", OWN_FIREWALL),
    ignored(GLOBAL, "nftables_priority", OWN_FIREWALL),
    ignored(GLOBAL, "nftables_ifindex", OWN_FIREWALL),
    ignored(GLOBAL, "nftables_ipvs", LVS),
    ignored(GLOBAL, "nftables_ipvs_priority", LVS),
    ignored(GLOBAL, "nftables_ipvs_start_fwmark", LVS),
    ignored(GLOBAL, "nftables_counters", OWN_FIREWALL),
    translated(GLOBAL, "vrrp_check_unicast_src"),
    ignored(GLOBAL, "vrrp_skip_check_adv_addr", SKIP_ADDRESS_CHECK),
    translated(GLOBAL, "vrrp_strict"),
    ignored(GLOBAL, "vrrp_priority", PROCESS_TUNING),
    ignored(GLOBAL, "vrrp_no_swap", PROCESS_TUNING),
    ignored(GLOBAL, "vrrp_rt_priority", PROCESS_TUNING),
    ignored(GLOBAL, "vrrp_cpu_affinity", PROCESS_TUNING),
    ignored(GLOBAL, "vrrp_rlimit_rttime", PROCESS_TUNING),
    ignored(GLOBAL, "vrrp_rlimit_rtime", PROCESS_TUNING),
    translated(GLOBAL, "notify_fifo"),
    translated(GLOBAL, "notify_fifo_script"),
    translated(GLOBAL, "vrrp_notify_fifo"),
    translated(GLOBAL, "vrrp_notify_fifo_script"),
    translated(GLOBAL, "vrrp_notify_priority_changes"),
    ignored(
        GLOBAL,
        "fifo_write_vrrp_states_on_reload",
        "a reload writes only the changes it makes to the FIFO",
    ),
    ignored(GLOBAL, "lvs_notify_fifo", LVS),
    ignored(GLOBAL, "lvs_notify_fifo_script", LVS),
    ignored(GLOBAL, "checker_priority", OTHER_DAEMONS),
    ignored(GLOBAL, "checker_no_swap", OTHER_DAEMONS),
    ignored(GLOBAL, "checker_rt_priority", OTHER_DAEMONS),
    ignored(GLOBAL, "checker_cpu_affinity", OTHER_DAEMONS),
    ignored(GLOBAL, "checker_rlimit_rttime", OTHER_DAEMONS),
    ignored(GLOBAL, "checker_rlimit_rtime", OTHER_DAEMONS),
    ignored(GLOBAL, "bfd_priority", OTHER_DAEMONS),
    ignored(GLOBAL, "bfd_no_swap", OTHER_DAEMONS),
    ignored(GLOBAL, "bfd_rt_priority", OTHER_DAEMONS),
    ignored(GLOBAL, "bfd_cpu_affinity", OTHER_DAEMONS),
    ignored(GLOBAL, "bfd_rlimit_rttime", OTHER_DAEMONS),
    ignored(GLOBAL, "bfd_rlimit_rtime", OTHER_DAEMONS),
    ignored(GLOBAL, "snmp_socket", SNMP),
    ignored(GLOBAL, "enable_traps", SNMP),
    ignored(GLOBAL, "enable_snmp_vrrp", SNMP),
    ignored(GLOBAL, "enable_snmp_keepalived", SNMP),
    ignored(GLOBAL, "enable_snmp_rfc", SNMP),
    ignored(GLOBAL, "enable_snmp_rfcv2", SNMP),
    ignored(GLOBAL, "enable_snmp_rfcv3", SNMP),
    ignored(GLOBAL, "enable_snmp_checker", SNMP),
    ignored(GLOBAL, "enable_dbus", DBUS),
    ignored(GLOBAL, "dbus_service_name", DBUS),
    translated(GLOBAL, "script_user"),
    ignored(
        GLOBAL,
        "enable_script_security",
        "programs are run directly, never through a shell, but their ownership and \
         permissions are not checked as keepalived checks them; keep scripts root-owned and \
         not writable by others (as in keepalived, it still refuses root as the fallback \
         script user: without a `script_user` or a user keepalived_script, scripts without a \
         `user` are removed and notify programs ignored)",
    ),
    ignored(GLOBAL, "vrrp_netlink_cmd_rcv_bufs", PROCESS_TUNING),
    ignored(GLOBAL, "vrrp_netlink_cmd_rcv_bufs_force", PROCESS_TUNING),
    ignored(GLOBAL, "vrrp_netlink_monitor_rcv_bufs", PROCESS_TUNING),
    ignored(
        GLOBAL,
        "vrrp_netlink_monitor_rcv_bufs_force",
        PROCESS_TUNING,
    ),
    ignored(GLOBAL, "process_monitor_rcv_bufs", PROCESS_TUNING),
    ignored(GLOBAL, "process_monitor_rcv_bufs_force", PROCESS_TUNING),
    ignored(GLOBAL, "lvs_netlink_cmd_rcv_bufs", LVS),
    ignored(GLOBAL, "lvs_netlink_cmd_rcv_bufs_force", LVS),
    ignored(GLOBAL, "lvs_netlink_monitor_rcv_bufs", LVS),
    ignored(GLOBAL, "lvs_netlink_monitor_rcv_bufs_force", LVS),
    ignored(GLOBAL, "rs_init_notifies", LVS),
    ignored(GLOBAL, "no_checker_emails", LVS),
    ignored(GLOBAL, "vrrp_rx_bufs_policy", PROCESS_TUNING),
    ignored(GLOBAL, "vrrp_rx_bufs_multiplier", PROCESS_TUNING),
    translated(GLOBAL, "vrrp_startup_delay"),
    ignored(
        GLOBAL,
        "log_unknown_vrids",
        "adverts for unknown VRIDs are counted in the metrics",
    ),
    translated(GLOBAL, "vmac_prefix"),
    not_yet(
        GLOBAL,
        "vmac_addr_prefix",
        "left out: the virtual MAC interface is set up as plain `use_vmac` sets it up",
    ),
    ignored(
        GLOBAL,
        "umask",
        "the daemon keeps the umask it is started with",
    ),
    ignored(
        GLOBAL,
        "random_seed",
        "keepalived's own ~SEQ and ${_RANDOM}",
    ),
    ignored(GLOBAL, "reload_check_config", RELOAD),
    ignored(GLOBAL, "reload_time_file", RELOAD),
    ignored(GLOBAL, "reload_repeat", RELOAD),
    ignored(GLOBAL, "reload_file", RELOAD),
    ignored(
        GLOBAL,
        "include_check",
        "an include that matches nothing is a warning, whatever this says",
    ),
    ignored(GLOBAL, "config_save_dir", RELOAD),
    ignored(GLOBAL, "tmp_config_directory", RELOAD),
    ignored(
        GLOBAL,
        "data_use_instance",
        "state is read over the API, not from keepalived's data files",
    ),
    // track_file.c.
    translated(TOP, "track_file"),
    translated(TOP, "vrrp_track_file"),
    translated(TRACK_FILE, "file"),
    translated(TRACK_FILE, "weight"),
    ignored(
        TRACK_FILE,
        "init_file",
        "the tracked file is not created or written; create it before starting",
    ),
    // check_parser.c and bfd_parser.c, which keepalived's VRRP process reads and skips.
    ignored(TOP, "virtual_server", LVS),
    ignored(TOP, "virtual_server_group", LVS),
    ignored(TOP, "SSL", LVS),
    ignored(
        TOP,
        "bfd_instance",
        "BFD is not part of this daemon; nothing is tracked for it",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_keyword_is_listed_once_per_block() {
        for (index, keyword) in KEYWORDS.iter().enumerate() {
            assert!(
                !KEYWORDS[..index]
                    .iter()
                    .any(|other| other.context == keyword.context && other.name == keyword.name),
                "{} {} twice",
                keyword.context,
                keyword.name
            );
        }
    }
}
