//! The native configuration's fields, each written down once: its key, what it holds, its
//! default, and the keepalived.conf keywords it stands for. Reading (`read.rs`), writing
//! (`render.rs`), the advice for unknown keys (`suggest.rs`) and the keepalived translation
//! (`keepalived/translate.rs`) and validation's messages (`validate.rs`) all name fields
//! through these constants, so a key is spelled in one place.
//!
//! Every table of the file is a section here, and a section's `FIELDS` lists every field it
//! has. The reader takes a field only through its constant, so it cannot read a key the table
//! lacks; `tests/config.rs` (`the_field_tables_defaults_are_what_absence_means`) holds each
//! documented default to what leaving the field out gives.

/// What a field holds, as an operator writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Text,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A length of time: `"1s"`, `"250ms"`, or a number of seconds.
    Duration,
    /// An IP address, or an address and port.
    Address,
    /// An absolute path.
    Path,
    /// One of the listed words.
    Choice(&'static [&'static str]),
    /// A list of values.
    List,
    /// A table of its own (another section), or of entries named by the operator.
    Table,
}

/// One field of the native configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// The key, as written in TOML (and, upper-cased, in environment variables).
    pub key: &'static str,
    pub kind: Kind,
    /// What an absent field means, as TOML would write it; `None` where there is no single
    /// value (the field is required, optional without a default, or derived from another).
    pub default: Option<&'static str>,
    /// The keepalived.conf keywords this field stands for, in the block the section
    /// corresponds to.
    pub keepalived: &'static [&'static str],
    /// What to write instead of a keepalived keyword when the field is not a plain rename
    /// of it (`nopreempt` becomes `preempt = false`).
    pub keepalived_advice: Option<&'static str>,
}

impl FieldSpec {
    const fn new(key: &'static str, kind: Kind) -> Self {
        FieldSpec {
            key,
            kind,
            default: None,
            keepalived: &[],
            keepalived_advice: None,
        }
    }

    const fn default(self, default: &'static str) -> Self {
        FieldSpec {
            default: Some(default),
            ..self
        }
    }

    const fn keepalived(self, keywords: &'static [&'static str]) -> Self {
        FieldSpec {
            keepalived: keywords,
            ..self
        }
    }

    const fn advice(self, advice: &'static str) -> Self {
        FieldSpec {
            keepalived_advice: Some(advice),
            ..self
        }
    }
}

/// Declares a section: one constant per field, and `FIELDS` listing them all, so that a
/// field cannot be named in code and missing from its section's list.
macro_rules! section {
    ($(#[$meta:meta])* $section:ident { $($field:ident = $spec:expr;)* }) => {
        $(#[$meta])*
        pub mod $section {
            #[allow(unused_imports)]
            use super::{FieldSpec, Kind::*};
            $(pub const $field: FieldSpec = $spec;)*
            /// Every field of the section.
            pub const FIELDS: &[FieldSpec] = &[$($field),*];
        }
    };
}

section! {
    /// The top level of the file.
    top_level {
        GLOBAL = FieldSpec::new("global", Table).keepalived(&["global_defs"]);
        API = FieldSpec::new("api", Table);
        TELEMETRY = FieldSpec::new("telemetry", Table);
        INSTANCES = FieldSpec::new("instances", Table).keepalived(&["vrrp_instance"]);
        SYNC_GROUPS = FieldSpec::new("sync_groups", Table).keepalived(&["vrrp_sync_group"]);
        EMAIL_ALERTS = FieldSpec::new("email_alerts", Table);
        STATIC_ROUTES = FieldSpec::new("static_routes", List).keepalived(&["static_routes"]);
        STATIC_RULES = FieldSpec::new("static_rules", List).keepalived(&["static_rules"]);
        LINK_DEBOUNCE = FieldSpec::new("link_debounce", Table)
            .keepalived(&["interface_up_down_delays"]);
        STATIC_ADDRESSES =
            FieldSpec::new("static_addresses", List).keepalived(&["static_ipaddress"]);
        GARP_GROUPS = FieldSpec::new("garp_groups", Table).keepalived(&["garp_group"]);
    }
}

section! {
    /// An element of `static_addresses`: keepalived's `static_ipaddress` entry.
    static_address {
        ADDRESS = FieldSpec::new("address", Text);
        DEV = FieldSpec::new("dev", Text).keepalived(&["dev"]);
        LABEL = FieldSpec::new("label", Text).keepalived(&["label"]);
        NO_TRACK = FieldSpec::new("no_track", Boolean).keepalived(&["no_track"]);
    }
}

section! {
    /// `[global]`: keepalived's `global_defs`, as far as this daemon has it.
    global {
        ROUTER_ID = FieldSpec::new("router_id", Text).keepalived(&["router_id"]);
        LOG_FORMAT = FieldSpec::new("log_format", Choice(&["human", "json"]))
            .default("\"human\"");
        LOG_LEVEL = FieldSpec::new("log_level", Choice(&["error", "warn", "info", "debug", "trace"]))
            .default("\"info\"");
        EXEC_CHECKS_AS_ROOT = FieldSpec::new("exec_checks_as_root", Boolean).default("false");
        STARTUP_DELAY = FieldSpec::new("startup_delay", Duration)
            .default("\"0s\"")
            .keepalived(&["vrrp_startup_delay"]);
        // The spacing of every interface no `garp_groups` entry names; 0: back to back.
        GARP_INTERVAL = FieldSpec::new("garp_interval", Duration)
            .default("\"0s\"")
            .keepalived(&["vrrp_garp_interval"]);
        GNA_INTERVAL = FieldSpec::new("gna_interval", Duration)
            .default("\"0s\"")
            .keepalived(&["vrrp_gna_interval"]);
    }
}

section! {
    /// `[api]`: the gRPC listeners and the files the API keeps.
    api {
        SOCKET = FieldSpec::new("socket", Path).default("\"/run/vrrp-sidecar/api.sock\"");
        TCP_ADDRESS = FieldSpec::new("tcp_address", Address);
        TLS = FieldSpec::new("tls", Table);
        ALLOW_PLAINTEXT = FieldSpec::new("allow_plaintext", Boolean).default("false");
        TOKENS_FILE = FieldSpec::new("tokens_file", Path);
        REGISTERED_CHECKS_FILE = FieldSpec::new("registered_checks_file", Path);
        PRIORITIES_FILE = FieldSpec::new("priorities_file", Path);
    }
}

section! {
    /// `[api.tls]`.
    tls {
        CERT = FieldSpec::new("cert", Path);
        KEY = FieldSpec::new("key", Path);
        CLIENT_CA = FieldSpec::new("client_ca", Path);
    }
}

section! {
    /// `[telemetry]`.
    telemetry {
        OTLP_ENDPOINT = FieldSpec::new("otlp_endpoint", Text);
        OTLP_PROTOCOL = FieldSpec::new("otlp_protocol", Choice(&["grpc", "http/protobuf"]));
        METRICS_LISTEN = FieldSpec::new("metrics_listen", Address);
    }
}

section! {
    /// `[instances.NAME]`: keepalived's `vrrp_instance`.
    instance {
        INTERFACE = FieldSpec::new("interface", Text).keepalived(&["interface"]);
        VRID = FieldSpec::new("vrid", Integer).keepalived(&["virtual_router_id"]);
        // The version defaults to 3; keepalived's default is 2 (its `vrrp_version`), which
        // the translation writes out.
        VERSION = FieldSpec::new("version", Choice(&["2", "3"]))
            .default("3")
            .keepalived(&["version"]);
        PRIORITY = FieldSpec::new("priority", Integer)
            .default("100")
            .keepalived(&["priority"]);
        ADVERT_INTERVAL = FieldSpec::new("advert_interval", Duration)
            .default("\"1s\"")
            .keepalived(&["advert_int"]);
        VIRTUAL_ADDRESSES = FieldSpec::new("virtual_addresses", List)
            .keepalived(&["virtual_ipaddress"]);
        EXCLUDED_ADDRESSES = FieldSpec::new("excluded_addresses", List)
            .keepalived(&["virtual_ipaddress_excluded"]);
        UNICAST_SRC = FieldSpec::new("unicast_src", Address)
            .keepalived(&["unicast_src_ip", "mcast_src_ip"]);
        UNICAST_PEERS = FieldSpec::new("unicast_peers", List).keepalived(&["unicast_peer"]);
        UNICAST_TTL = FieldSpec::new("unicast_ttl", Integer)
            .default("255")
            .keepalived(&["unicast_ttl"]);
        // On here; keepalived takes unicast adverts from anyone unless told to check, so the
        // translation writes `false` unless the file says `check_unicast_src`.
        CHECK_UNICAST_SRC = FieldSpec::new("check_unicast_src", Boolean)
            .default("true")
            .keepalived(&["check_unicast_src"]);
        AUTHENTICATION = FieldSpec::new("authentication", Table)
            .keepalived(&["authentication", "auth_type", "auth_pass"])
            .advice("write `authentication = { type = \"pass\", password = \"...\" }`");
        PREEMPT = FieldSpec::new("preempt", Boolean)
            .default("true")
            .keepalived(&["nopreempt"])
            .advice("write `preempt = false`");
        PREEMPT_DELAY = FieldSpec::new("preempt_delay", Duration)
            .default("\"0s\"")
            .keepalived(&["preempt_delay"]);
        // Off, except for the owner (priority 255), whose addresses are its own (RFC 9568
        // §6.1): no single default.
        ACCEPT_MODE = FieldSpec::new("accept_mode", Boolean).keepalived(&["accept", "no_accept"]);
        DONT_TRACK_PRIMARY = FieldSpec::new("dont_track_primary", Boolean)
            .default("false")
            .keepalived(&["dont_track_primary"]);
        DOWN_TIMER_ADVERTS = FieldSpec::new("down_timer_adverts", Integer)
            .default("3")
            .keepalived(&["down_timer_adverts", "vrrp_down_timer_adverts"]);
        LOWER_PRIO_NO_ADVERT = FieldSpec::new("lower_prio_no_advert", Boolean)
            .default("false")
            .keepalived(&["lower_prio_no_advert"]);
        STRICT_MODE = FieldSpec::new("strict_mode", Boolean)
            .default("false")
            .keepalived(&["strict_mode"]);
        CHECKSUM = FieldSpec::new("checksum", Choice(&["rfc", "v2-compatible"]))
            .default("\"rfc\"");
        GARP = FieldSpec::new("garp", Table);
        HEALTH_CHECKS = FieldSpec::new("health_checks", Table)
            .keepalived(&["track_script", "track_file", "track_interface"])
            .advice("checks are listed under `health_checks` here");
        NOTIFY = FieldSpec::new("notify", Table);
        EMAIL_ALERTS = FieldSpec::new("email_alerts", Boolean)
            .default("false")
            .keepalived(&["smtp_alert"]);
        VIRTUAL_ROUTES = FieldSpec::new("virtual_routes", List).keepalived(&["virtual_routes"]);
        VIRTUAL_RULES = FieldSpec::new("virtual_rules", List).keepalived(&["virtual_rules"]);
        // `true` for keepalived's name (`vrrp.VRID`), or the macvlan's own name.
        VIRTUAL_MAC = FieldSpec::new("virtual_mac", Text)
            .default("false")
            .keepalived(&["use_vmac"]);
        VIRTUAL_MAC_XMIT_BASE = FieldSpec::new("virtual_mac_xmit_base", Boolean)
            .keepalived(&["vmac_xmit_base"]);
    }
}

section! {
    /// A virtual address written as a table rather than `"192.0.2.10/24"`.
    address {
        ADDRESS = FieldSpec::new("address", Text);
        LABEL = FieldSpec::new("label", Text).keepalived(&["label"]);
        DEV = FieldSpec::new("dev", Text).keepalived(&["dev"]);
    }
}

section! {
    /// A unicast peer written as a table rather than `"192.0.2.2"`: keepalived's
    /// `unicast_peer { ADDRESS min_ttl N max_ttl M }`.
    unicast_peer {
        ADDRESS = FieldSpec::new("address", Address);
        MIN_TTL = FieldSpec::new("min_ttl", Integer)
            .default("0")
            .keepalived(&["min_ttl"]);
        MAX_TTL = FieldSpec::new("max_ttl", Integer)
            .default("255")
            .keepalived(&["max_ttl"]);
    }
}

section! {
    /// `authentication = { ... }`: keepalived's `authentication` block.
    authentication {
        TYPE = FieldSpec::new("type", Choice(&["pass", "ah"])).keepalived(&["auth_type"]);
        PASSWORD = FieldSpec::new("password", Text).keepalived(&["auth_pass"]);
    }
}

section! {
    /// `[instances.NAME.garp]`: gratuitous ARP and unsolicited NA on becoming master.
    garp {
        REPEAT = FieldSpec::new("repeat", Integer)
            .default("5")
            .keepalived(&["garp_master_repeat", "vrrp_garp_master_repeat"]);
        DELAY = FieldSpec::new("delay", Duration)
            .default("\"5s\"")
            .keepalived(&["garp_master_delay", "vrrp_garp_master_delay"]);
        REFRESH = FieldSpec::new("refresh", Duration)
            .default("\"0s\"")
            .keepalived(&["garp_master_refresh", "vrrp_garp_master_refresh"]);
        // Default: `repeat`, as keepalived's defaults to `vrrp_garp_master_repeat`.
        LOWER_PRIORITY_REPEAT = FieldSpec::new("lower_priority_repeat", Integer)
            .keepalived(&["garp_lower_prio_repeat", "vrrp_garp_lower_prio_repeat"]);
        // Default: `delay`, as keepalived's defaults to `vrrp_garp_master_delay`.
        LOWER_PRIORITY_DELAY = FieldSpec::new("lower_priority_delay", Duration)
            .keepalived(&["garp_lower_prio_delay", "vrrp_garp_lower_prio_delay"]);
    }
}

section! {
    /// `[garp_groups.<name>]`: interfaces whose announcements share one spacing
    /// (keepalived's `garp_group`).
    garp_group {
        GARP_INTERVAL = FieldSpec::new("garp_interval", Duration)
            .default("\"0s\"")
            .keepalived(&["garp_interval"]);
        GNA_INTERVAL = FieldSpec::new("gna_interval", Duration)
            .default("\"0s\"")
            .keepalived(&["gna_interval"]);
        INTERFACES = FieldSpec::new("interfaces", List).keepalived(&["interface", "interfaces"]);
    }
}

section! {
    /// `[instances.NAME.health_checks.CHECK]`: keepalived's `vrrp_script`,
    /// `vrrp_track_file` and `vrrp_track_process`, and checks of their own kinds.
    health_check {
        KIND = FieldSpec::new(
            "kind",
            Choice(&["exec", "tcp", "http", "grpc", "interface", "file", "process"]),
        );
        INTERVAL = FieldSpec::new("interval", Duration)
            .default("\"1s\"")
            .keepalived(&["interval"]);
        // The interval, as keepalived's.
        TIMEOUT = FieldSpec::new("timeout", Duration).keepalived(&["timeout"]);
        RISE = FieldSpec::new("rise", Integer).default("1").keepalived(&["rise"]);
        FALL = FieldSpec::new("fall", Integer).default("1").keepalived(&["fall"]);
        WEIGHT = FieldSpec::new("weight", Integer).default("0").keepalived(&["weight"]);
        INIT_FAIL = FieldSpec::new("init_fail", Boolean)
            .default("false")
            .keepalived(&["init_fail"]);
        COMMAND = FieldSpec::new("command", List).keepalived(&["script"]);
        USER = FieldSpec::new("user", Text).keepalived(&["user"]);
        KILL_GRACE = FieldSpec::new("kill_grace", Duration);
        ADDRESS = FieldSpec::new("address", Address);
        URL = FieldSpec::new("url", Text);
        EXPECTED_STATUS = FieldSpec::new("expected_status", List);
        BODY_CONTAINS = FieldSpec::new("body_contains", Text);
        SERVICE = FieldSpec::new("service", Text);
        INTERFACE = FieldSpec::new("interface", Text);
        PATH = FieldSpec::new("path", Path).keepalived(&["file"]);
        // kind = "process": keepalived's `vrrp_track_process`.
        PROCESS = FieldSpec::new("process", Text).keepalived(&["process"]);
        // The words after the process in keepalived's `process` statement.
        ARGUMENTS = FieldSpec::new("arguments", List);
        FULL_COMMAND = FieldSpec::new("full_command", Boolean)
            .default("false")
            .keepalived(&["full_command"]);
        // Absent: "exact" when `arguments` are given, else the arguments are not compared.
        PARAM_MATCH = FieldSpec::new("param_match", Choice(&["exact", "partial", "initial"]))
            .keepalived(&["param_match"]);
        QUORUM = FieldSpec::new("quorum", Integer).default("1").keepalived(&["quorum"]);
        QUORUM_MAX = FieldSpec::new("quorum_max", Integer)
            .default("65535")
            .keepalived(&["quorum_max"]);
        FORK_DELAY = FieldSpec::new("fork_delay", Duration)
            .default("\"0s\"")
            .keepalived(&["fork_delay"]);
        TERMINATE_DELAY = FieldSpec::new("terminate_delay", Duration)
            .default("\"0s\"")
            .keepalived(&["terminate_delay"]);
    }
}

section! {
    /// `notify = { ... }` of an instance or a sync group.
    notify {
        ON_MASTER = FieldSpec::new("on_master", Path).keepalived(&["notify_master"]);
        ON_BACKUP = FieldSpec::new("on_backup", Path).keepalived(&["notify_backup"]);
        ON_FAULT = FieldSpec::new("on_fault", Path).keepalived(&["notify_fault"]);
        ON_STOP = FieldSpec::new("on_stop", Path).keepalived(&["notify_stop"]);
        ON_CHANGE = FieldSpec::new("on_change", Path).keepalived(&["notify"]);
        FIFO = FieldSpec::new("fifo", Path).keepalived(&["notify_fifo", "vrrp_notify_fifo"]);
        FIFO_PROGRAM = FieldSpec::new("fifo_program", Path)
            .keepalived(&["notify_fifo_script", "vrrp_notify_fifo_script"]);
        PRIORITY_CHANGES = FieldSpec::new("priority_changes", Boolean)
            .default("false")
            .keepalived(&["notify_priority_changes", "vrrp_notify_priority_changes"]);
        ON_MASTER_RX_LOWER_PRIORITY = FieldSpec::new("on_master_rx_lower_priority", Path)
            .keepalived(&["notify_master_rx_lower_pri"]);
        ON_DELETED = FieldSpec::new("on_deleted", Path)
            .keepalived(&["notify_deleted"])
            .advice("write `report_removal_as = \"deleted\"`, and `on_deleted` for its program");
        REPORT_REMOVAL_AS = FieldSpec::new("report_removal_as", Choice(&["stop", "fault", "deleted"]))
            .default("\"stop\"");
        NAME = FieldSpec::new("name", Text);
    }
}

section! {
    /// `[sync_groups.NAME]`: keepalived's `vrrp_sync_group`.
    sync_group {
        INSTANCES = FieldSpec::new("instances", List).keepalived(&["group"]);
        NOTIFY = FieldSpec::new("notify", Table);
        TRACKING_WEIGHT = FieldSpec::new("tracking_weight", Boolean)
            .default("false")
            .keepalived(&["sync_group_tracking_weight", "global_tracking"]);
    }
}

section! {
    /// `[link_debounce.INTERFACE]`: keepalived's `interface_up_down_delays`, one entry per
    /// interface.
    link_debounce {
        DOWN_DELAY = FieldSpec::new("down_delay", Duration).default("\"0s\"");
        UP_DELAY = FieldSpec::new("up_delay", Duration).default("\"0s\"");
    }
}

section! {
    /// `[email_alerts]`: keepalived's mail settings of `global_defs`.
    email_alerts {
        SMTP_SERVER = FieldSpec::new("smtp_server", Text).keepalived(&["smtp_server"]);
        CONNECT_TIMEOUT = FieldSpec::new("connect_timeout", Duration)
            .default("\"30s\"")
            .keepalived(&["smtp_connect_timeout"]);
        HELO_NAME = FieldSpec::new("helo_name", Text).keepalived(&["smtp_helo_name"]);
        FROM = FieldSpec::new("from", Text).keepalived(&["notification_email_from"]);
        TO = FieldSpec::new("to", List).keepalived(&["notification_email"]);
    }
}

/// Every section, with the path its tables have in a file (`*` for a name of the
/// operator's choosing).
pub const SECTIONS: &[(&str, &[FieldSpec])] = &[
    ("", top_level::FIELDS),
    ("global", global::FIELDS),
    ("api", api::FIELDS),
    ("api.tls", tls::FIELDS),
    ("telemetry", telemetry::FIELDS),
    ("instances.*", instance::FIELDS),
    ("instances.*.virtual_addresses[]", address::FIELDS),
    ("instances.*.unicast_peers[]", unicast_peer::FIELDS),
    ("instances.*.authentication", authentication::FIELDS),
    ("instances.*.garp", garp::FIELDS),
    ("instances.*.health_checks.*", health_check::FIELDS),
    ("instances.*.notify", notify::FIELDS),
    ("sync_groups.*", sync_group::FIELDS),
    ("link_debounce.*", link_debounce::FIELDS),
    ("garp_groups.*", garp_group::FIELDS),
    ("email_alerts", email_alerts::FIELDS),
    ("static_addresses[]", static_address::FIELDS),
];

/// keepalived keywords people carry over that have no field here, with what to know.
pub const KEEPALIVED_WITHOUT_FIELD: &[(&str, &str)] = &[
    (
        "state",
        "keepalived's `state` has no equivalent: every instance starts as backup and the \
     highest priority takes over (priority 255 starts as master at once)",
    ),
    (
        "delay",
        "keepalived's `delay` of a vrrp_track_process sets both `fork_delay` and \
         `terminate_delay` of a process check: write those two",
    ),
];

/// What to write instead of keepalived keyword `keyword`, when it is not a key here: the
/// field it stands for, named from the instance for the instance's own tables
/// (`notify.on_master`), from the top of the file otherwise (`email_alerts.from`).
pub fn keepalived_advice(keyword: &str) -> Option<String> {
    if let Some((_, advice)) = KEEPALIVED_WITHOUT_FIELD
        .iter()
        .find(|(name, _)| *name == keyword)
    {
        return Some((*advice).to_owned());
    }
    let is_native_key = SECTIONS
        .iter()
        .any(|(_, fields)| fields.iter().any(|field| field.key == keyword));
    if is_native_key {
        // A key here already; a misplaced one is better helped by the nearest-key advice.
        return None;
    }
    SECTIONS.iter().find_map(|(section, fields)| {
        let field = fields
            .iter()
            .find(|field| field.keepalived.contains(&keyword))?;
        Some(match field.keepalived_advice {
            Some(advice) => advice.to_owned(),
            None => {
                let within = section
                    .strip_prefix("instances.*")
                    .map_or(*section, |inner| inner.trim_start_matches('.'));
                if within.is_empty() {
                    format!("this is `{}` here", field.key)
                } else {
                    format!("this is `{within}.{}` here", field.key)
                }
            }
        })
    })
}

/// The field of `fields` that keepalived keyword `keyword` stands for.
pub fn from_keepalived(fields: &'static [FieldSpec], keyword: &str) -> Option<&'static FieldSpec> {
    fields
        .iter()
        .find(|field| field.keepalived.contains(&keyword))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_within_each_section() {
        for (path, fields) in SECTIONS {
            let mut keys: Vec<&str> = fields.iter().map(|field| field.key).collect();
            keys.sort_unstable();
            let before = keys.len();
            keys.dedup();
            assert_eq!(keys.len(), before, "a key is listed twice in `{path}`");
        }
    }

    #[test]
    fn keepalived_names_lead_to_the_native_field() {
        assert_eq!(
            keepalived_advice("virtual_router_id").as_deref(),
            Some("this is `vrid` here")
        );
        assert_eq!(
            keepalived_advice("advert_int").as_deref(),
            Some("this is `advert_interval` here")
        );
        assert_eq!(
            keepalived_advice("nopreempt").as_deref(),
            Some("write `preempt = false`")
        );
        assert!(keepalived_advice("state").is_some());
        assert_eq!(
            keepalived_advice("notify_master").as_deref(),
            Some("this is `notify.on_master` here")
        );
        assert_eq!(
            keepalived_advice("smtp_connect_timeout").as_deref(),
            Some("this is `email_alerts.connect_timeout` here")
        );
        // A keyword with the same name here needs no advice.
        assert_eq!(keepalived_advice("priority"), None);
        assert_eq!(keepalived_advice("not_a_keyword"), None);
    }

    /// A keyword stands for one field per section: the translation could not choose.
    #[test]
    fn a_keepalived_keyword_stands_for_one_field_per_section() {
        for (path, fields) in SECTIONS {
            let mut keywords: Vec<&str> = fields
                .iter()
                .flat_map(|field| field.keepalived.iter().copied())
                .collect();
            keywords.sort_unstable();
            let before = keywords.len();
            keywords.dedup();
            assert_eq!(keywords.len(), before, "a keyword maps twice in `{path}`");
        }
    }
}
