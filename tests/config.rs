//! The native configuration: examples load, every check reports its exact message and line,
//! environment overrides apply and are blamed by name, and no input makes loading panic.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use proptest::prelude::*;
use vrrp_sidecar::config::{
    Config, Family, Format, GarpSettings, LogFormat, LogLevel, OtlpProtocol, Preempt, Probe,
    SourceLocation, Spacing, TcpSecurity, TelemetrySettings, V3Ipv4Checksum, to_native_toml,
};
use vrrp_sidecar::vrrp::{AdvertInterval, Auth, Version};

/// A valid instance, four lines long: lines appended to it start at line 5.
const WEB: &str = r#"[instances.web]
interface = "eth0"
vrid = 51
virtual_addresses = ["192.0.2.101/24"]
"#;

/// The problems of `text` (a TOML file named test.toml), one string each, as printed.
fn problems(text: &str) -> Vec<String> {
    match Config::from_str(text, Format::Toml, "test.toml") {
        Ok(config) => panic!("expected problems, got {config:#?}"),
        Err(error) => error.problems().iter().map(ToString::to_string).collect(),
    }
}

/// The problems of the `web` instance with `lines` appended.
fn web_problems(lines: &str) -> Vec<String> {
    problems(&format!("{WEB}{lines}"))
}

fn load(text: &str) -> Config {
    Config::from_str(text, Format::Toml, "test.toml").unwrap_or_else(|error| panic!("{error}"))
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("the tests write valid addresses")
}

// ---------------------------------------------------------------------------------------
// Examples and defaults

/// The field table's defaults are true: for every field with a default, a file that writes
/// the default loads to the same configuration as one that leaves the field out.
#[test]
fn the_field_tables_defaults_are_what_absence_means() {
    use vrrp_sidecar::config::schema::SECTIONS;
    let base = r#"
[api]
[instances.a]
interface = "eth0"
vrid = 1
virtual_addresses = ["192.0.2.1/24"]
unicast_peers = ["192.0.2.2"]
[instances.a.garp]
[instances.a.notify]
[instances.a.health_checks.c]
kind = "file"
path = "/run/vrrp-sidecar-test/flag"
[instances.a.health_checks.p]
kind = "process"
process = "haproxy"
[instances.b]
interface = "eth1"
vrid = 2
virtual_addresses = ["198.51.100.1/24"]
[garp_groups.a]
interfaces = ["eth1"]
[sync_groups.a]
instances = ["a", "b"]
[email_alerts]
smtp_server = "192.0.2.25"
from = "vrrp@example.com"
to = ["ops@example.com"]
[link_debounce.a]
"#;
    let without = load(&format!("[global]\n{base}"));
    let mut checked = 0;
    for (section, fields) in SECTIONS {
        for field in fields.iter().filter(|field| field.default.is_some()) {
            let default = field.default.expect("filtered on a default");
            // The section's table in the base file: `*` is the one name used there.
            // The keys of process checks only (the others apply to every other kind).
            let process_only = [
                "full_command",
                "quorum",
                "quorum_max",
                "fork_delay",
                "terminate_delay",
            ];
            let header = match *section {
                "instances.*.health_checks.*" if process_only.contains(&field.key) => {
                    "instances.a.health_checks.p".to_owned()
                }
                "instances.*.health_checks.*" => "instances.a.health_checks.c".to_owned(),
                other => other.replace('*', "a"),
            };
            let mut document: toml::Table = format!("[global]\n{base}")
                .parse()
                .expect("the base file is TOML");
            let value: toml::Table = format!("value = {default}")
                .parse()
                .unwrap_or_else(|error| panic!("{section}.{}: {error}", field.key));
            // A list whose elements may be tables: its one element, written as a table.
            if let Some(list) = header.strip_suffix("[]") {
                let (instance, key) = list.rsplit_once('.').expect("a list inside a table");
                let instance = document["instances"]["a"]
                    .as_table_mut()
                    .filter(|_| instance == "instances.a")
                    .unwrap_or_else(|| panic!("{section}: only instances' lists are known"));
                let plain = instance[key][0].clone();
                let element = toml::Table::from_iter([
                    ("address".to_owned(), plain),
                    (field.key.to_owned(), value["value"].clone()),
                ]);
                instance.insert(key.to_owned(), vec![toml::Value::Table(element)].into());
            } else {
                let mut table = &mut document;
                for part in header.split('.') {
                    table = table
                        .get_mut(part)
                        .and_then(toml::Value::as_table_mut)
                        .unwrap_or_else(|| panic!("the base file has no [{header}]"));
                }
                table.insert(field.key.to_owned(), value["value"].clone());
            }
            let text = toml::to_string(&document).expect("a table of plain values serializes");
            let with = Config::from_str(&text, Format::Toml, "test.toml")
                .unwrap_or_else(|error| panic!("{section}.{} = {default}: {error}", field.key));
            assert_eq!(
                with, without,
                "{section}.{} = {default} is not what leaving it out gives",
                field.key
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} defaults were checked");
}

/// Every example shipped in `examples/` is a configuration that validates.
#[test]
fn every_example_validates() {
    let mut checked = 0;
    for entry in std::fs::read_dir("examples").expect("examples/ exists in the package") {
        let path = entry.expect("a readable directory entry").path();
        if Format::from_path(&path).is_none() {
            continue;
        }
        if let Err(error) = Config::load(&path) {
            panic!("{} does not validate:\n{error}", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} examples found");
}

#[test]
fn a_minimal_instance_gets_the_documented_defaults() {
    let config = load(WEB);
    assert_eq!(config.global.router_id, None);
    assert_eq!(config.global.log_format, LogFormat::Human);
    assert_eq!(config.global.log_level, LogLevel::Info);
    assert_eq!(
        config.api.socket,
        PathBuf::from("/run/vrrp-sidecar/api.sock")
    );
    assert_eq!(config.api.tcp, None);
    let web = &config.instances[0];
    assert_eq!(web.name, "web");
    assert_eq!(web.version, Version::V3);
    assert_eq!(web.priority, 100);
    assert_eq!(web.advert_interval, AdvertInterval::DEFAULT);
    assert_eq!(web.family(), Family::Ipv4);
    assert_eq!(web.virtual_addresses[0].address, ip("192.0.2.101"));
    assert_eq!(web.virtual_addresses[0].prefix_len, 24);
    assert_eq!(web.auth, Auth::None);
    assert_eq!(web.preempt, Preempt::After(Duration::ZERO));
    assert!(web.accept_mode);
    assert_eq!(web.checksum, V3Ipv4Checksum::Rfc);
    assert_eq!(
        web.garp,
        GarpSettings {
            repeat: 5,
            second_burst_after: Some(Duration::from_secs(5)),
            refresh_every: None,
            lower_priority_repeat: 5,
            lower_priority_second_after: Some(Duration::from_secs(5)),
        }
    );
    assert_eq!(web.unicast, None);
}

#[test]
fn the_master_example_matches_the_keepalived_seed() {
    let config = Config::load("examples/two-nodes-master.toml").expect("the example validates");
    let instance = &config.instances[0];
    assert_eq!(instance.name, "vi_1");
    assert_eq!(instance.interface, "eth0");
    assert_eq!(instance.vrid, 51);
    assert_eq!(instance.priority, 101);
    assert_eq!(instance.version, Version::V2);
    assert_eq!(instance.advert_interval.whole_secs(), Some(1));
    assert_eq!(instance.auth, Auth::SimplePassword(*b"1111\0\0\0\0"));
    assert_eq!(instance.virtual_addresses[0].address, ip("192.0.2.101"));
    assert_eq!(instance.virtual_addresses[0].prefix_len, 32);
    let backup = Config::load("examples/two-nodes-backup.toml").expect("the example validates");
    assert_eq!(backup.instances[0].priority, 100);
}

#[test]
fn instances_come_sorted_by_name_with_their_lists() {
    let config = Config::load("tests/fixtures/config/two-instances.toml").expect("valid");
    let names: Vec<&str> = config.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["db", "web"]);
    let unicast = config.instances[0].unicast.as_ref().expect("db is unicast");
    assert_eq!(
        unicast.peer_addresses().collect::<Vec<_>>(),
        [ip("192.0.2.103"), ip("192.0.2.104")]
    );
}

#[test]
fn intervals_in_every_form() {
    for (written, centis) in [
        ("1", 100),
        ("0.1", 10),
        ("\"0.1\"", 10),
        ("\"100ms\"", 10),
        ("\"1.5s\"", 150),
        ("40.95", 4095),
    ] {
        let config = load(&format!("{WEB}advert_interval = {written}\n"));
        assert_eq!(
            config.instances[0].advert_interval.centis(),
            centis,
            "{written}"
        );
    }
}

#[test]
fn checks_and_virtual_address_tables() {
    let config = load(&format!(
        r#"{WEB}excluded_addresses = [{{ address = "2001:db8::5/64" }}, {{ address = "192.0.2.5", label = "eth0:x", dev = "eth0" }}]
[instances.web.health_checks.up]
kind = "tcp"
address = "192.0.2.10:80"
interval = "2s"
weight = -20
"#
    ));
    let web = &config.instances[0];
    assert_eq!(web.excluded_addresses[0].prefix_len, 64);
    assert_eq!(web.excluded_addresses[1].label.as_deref(), Some("eth0:x"));
    let check = &web.health_checks[0];
    assert_eq!(check.name, "up");
    assert_eq!(
        check.probe,
        Probe::Tcp {
            address: "192.0.2.10:80".parse().expect("valid")
        }
    );
    assert_eq!(check.interval, Duration::from_secs(2));
    assert_eq!(check.timeout, Duration::from_secs(2));
    assert_eq!((check.rise, check.fall, check.weight), (1, 1, -20));
}

#[test]
fn exec_and_http_check_options_and_init_fail() {
    let config = load(&format!(
        r#"{WEB}
[instances.web.health_checks.script]
kind = "exec"
command = ["/usr/local/bin/check"]
user = "nobody"
kill_grace = "500ms"
init_fail = true
[instances.web.health_checks.page]
kind = "http"
url = "http://192.0.2.10/ready"
expected_status = [200, 204]
body_contains = "ok"
"#
    ));
    let checks = &config.instances[0].health_checks;
    let page = &checks[0];
    assert_eq!(
        page.probe,
        Probe::Http {
            url: "http://192.0.2.10/ready".into(),
            expected_status: vec![200, 204],
            body_contains: Some("ok".into()),
        }
    );
    assert!(!page.init_fail);
    let script = &checks[1];
    assert_eq!(
        script.probe,
        Probe::Exec {
            command: vec!["/usr/local/bin/check".into()],
            user: Some("nobody".into()),
            kill_grace: Some(Duration::from_millis(500)),
        }
    );
    assert!(script.init_fail);
    assert_eq!(
        web_problems(
            "[instances.web.health_checks.page]\nkind = \"http\"\nurl = \"http://192.0.2.10/\"\n\
             expected_status = [200, 700]\n"
        ),
        [
            "test.toml:8: instances.web.health_checks.page.expected_status[1]: 700 is out of range \
          100..599 (an HTTP status)"
        ]
    );
}

/// A process check reads its matching rules with keepalived's defaults, and refuses what
/// cannot work, at the line of the field.
#[test]
fn process_checks_and_their_refusals() {
    use vrrp_sidecar::config::{ParamMatch, ProcessMatch};
    let config = load(&format!(
        r#"{WEB}
[instances.web.health_checks.keydb]
kind = "process"
process = "/usr/bin/keydb-server"
arguments = ["*:6379"]
quorum = 2
terminate_delay = "1.5s"
weight = -30
"#
    ));
    let check = &config.instances[0].health_checks[0];
    assert_eq!(
        check.probe,
        Probe::Process(ProcessMatch {
            process: "/usr/bin/keydb-server".into(),
            full_command: false,
            arguments: vec!["*:6379".into()],
            param_match: Some(ParamMatch::Exact),
            quorum: 2,
            quorum_max: u16::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::from_millis(1500),
        })
    );
    assert_eq!(check.weight, -30);
    let reloaded = load(&to_native_toml(&config));
    assert_eq!(reloaded, config);
    assert_eq!(
        web_problems(
            "[instances.web.health_checks.p]\nkind = \"process\"\nprocess = \"a-very-long-daemon\"\n\
             interval = \"1s\"\nquorum = 3\nquorum_max = 2\nfork_delay = \"2h\"\n"
        ),
        [
            "test.toml:7: instances.web.health_checks.p.process: \"a-very-long-daemon\" is 18 \
             bytes long, and the kernel keeps at most 15 bytes of a process's name, so it would \
             never match; set `full_command = true` to compare the program of the command line \
             instead",
            "test.toml:8: instances.web.health_checks.p.interval: does not apply to a process \
             check: it follows process events as they happen; use fork_delay and \
             terminate_delay to wait",
            "test.toml:11: instances.web.health_checks.p.fork_delay: 7200s is out of range: use \
             0s to 3600s",
        ]
    );
    assert_eq!(
        web_problems(
            "[instances.web.health_checks.p]\nkind = \"process\"\nprocess = \"app\"\n\
             quorum = 3\nquorum_max = 2\n"
        ),
        [
            "test.toml:8: instances.web.health_checks.p.quorum: quorum 3 is above quorum_max 2: \
             no count of processes would pass"
        ]
    );
}

// ---------------------------------------------------------------------------------------
// One test per check, with its exact message and line

#[test]
fn unknown_keys_name_the_key_meant() {
    assert_eq!(
        web_problems("priorty = 90\n"),
        ["test.toml:5: instances.web.priorty: unknown key; did you mean `priority`?"]
    );
    assert_eq!(
        problems("[globl]\n"),
        [
            "test.toml:1: globl: unknown key; did you mean `global`?",
            "test.toml: instances: missing; a configuration runs at least one instance ([instances.<name>])"
        ]
    );
}

#[test]
fn telemetry_is_off_by_default_and_read_and_written_back_when_set() {
    assert_eq!(load(WEB).telemetry, TelemetrySettings::default());
    let config = load(&format!(
        "{WEB}[telemetry]\notlp_endpoint = \"http://198.51.100.7:4318\"\n\
         otlp_protocol = \"http/protobuf\"\nmetrics_listen = \"[2001:db8::1]:9464\"\n"
    ));
    assert_eq!(
        config.telemetry,
        TelemetrySettings {
            otlp_endpoint: Some("http://198.51.100.7:4318".into()),
            otlp_protocol: Some(OtlpProtocol::HttpProtobuf),
            metrics_listen: Some("[2001:db8::1]:9464".parse().expect("a socket address")),
        }
    );
    assert_eq!(load(&to_native_toml(&config)), config);
    assert_eq!(
        web_problems(
            "[telemetry]\notlp_endpoint = \"198.51.100.7:4317\"\notlp_protocol = \"http\"\n"
        ),
        [
            "test.toml:6: telemetry.otlp_endpoint: is not a URL; write the collector as \
             http://host:port (or https://)",
            "test.toml:7: telemetry.otlp_protocol: \"http\" is not one of grpc, http/protobuf"
        ]
    );
}

#[test]
fn keepalived_names_get_their_equivalent() {
    assert_eq!(
        web_problems("advert_int = 1\nnopreempt = true\n"),
        [
            "test.toml:5: instances.web.advert_int: unknown key; this is `advert_interval` here",
            "test.toml:6: instances.web.nopreempt: unknown key; write `preempt = false`",
        ]
    );
}

#[test]
fn vrid_range() {
    assert_eq!(
        problems(&WEB.replace("vrid = 51", "vrid = 0")),
        ["test.toml:3: instances.web.vrid: 0 is out of range 1..255 (one byte; 0 is reserved)"]
    );
    assert_eq!(
        problems(&WEB.replace("vrid = 51", "vrid = 256")),
        ["test.toml:3: instances.web.vrid: 256 is out of range 1..255 (one byte; 0 is reserved)"]
    );
}

#[test]
fn priority_range() {
    assert_eq!(
        web_problems("priority = 0\n"),
        [
            "test.toml:5: instances.web.priority: 0 is out of range 1..255 (255 means this router \
             owns the addresses; 0 is only sent by a master that stops)"
        ]
    );
}

/// A unicast peer may be a table with the TTLs its adverts are taken with (keepalived's
/// `min_ttl` / `max_ttl`); each bound defaults to the widest.
#[test]
fn unicast_peers_may_carry_the_ttls_they_are_heard_with() {
    let config = load(&format!(
        "{WEB}unicast_peers = [\"192.0.2.2\", {{ address = \"192.0.2.3\", min_ttl = 3 }}, \
         {{ address = \"192.0.2.4\", min_ttl = 250, max_ttl = 254 }}]\n"
    ));
    let unicast = config.instances[0].unicast.as_ref().expect("unicast");
    let limits: Vec<(u8, u8)> = unicast
        .peers
        .iter()
        .map(|peer| (peer.hop_limits.lowest, peer.hop_limits.highest))
        .collect();
    assert_eq!(limits, [(0, 255), (3, 255), (250, 254)]);
    assert_eq!(
        web_problems(
            "unicast_peers = [{ address = \"192.0.2.3\", max_ttl = 256 }, { min_ttl = 1 }, \
             { address = \"192.0.2.5\", ttl = 2 }]\n"
        ),
        [
            "test.toml:5: instances.web.unicast_peers[0].max_ttl: 256 is out of range 0..255 \
             (a TTL or hop limit)",
            "test.toml:5: instances.web.unicast_peers[1].address: missing; the peer's address, \
             like \"192.0.2.2\"",
            "test.toml:5: instances.web.unicast_peers[2].ttl: unknown key; known keys here: \
             address, min_ttl, max_ttl",
        ]
    );
}

#[test]
fn timer_and_ttl_switches_are_read_and_checked() {
    let config = load(&format!(
        "[global]\nstartup_delay = \"2.5s\"\n{WEB}down_timer_adverts = 1\n\
         unicast_peers = [\"192.0.2.2\"]\nunicast_ttl = 2\n"
    ));
    assert_eq!(config.global.startup_delay, Duration::from_millis(2500));
    let web = &config.instances[0];
    assert_eq!(web.down_timer_adverts.get(), 1);
    assert_eq!(web.unicast.as_ref().map(|unicast| unicast.ttl), Some(2));
    assert_eq!(
        web_problems("down_timer_adverts = 0\n"),
        [
            "test.toml:5: instances.web.down_timer_adverts: 0 is out of range 1..100 \
             (keepalived's limits for down_timer_adverts)"
        ]
    );
    assert_eq!(
        web_problems("strict_mode = true\ndown_timer_adverts = 2\n"),
        [
            "test.toml:6: instances.web.down_timer_adverts: strict mode waits the RFC's three \
             adverts (keepalived resets down_timer_adverts in strict mode); remove it"
        ]
    );
    assert_eq!(
        web_problems("unicast_ttl = 2\n"),
        [
            "test.toml:5: instances.web.unicast_ttl: unicast_ttl without unicast_peers means \
             nothing: multicast adverts leave with TTL 255 (RFC 9568 §5.1.1.3; keepalived \
             resets it); list the peers or remove it"
        ]
    );
    assert_eq!(
        problems(&format!("[global]\nstartup_delay = \"2h\"\n{WEB}")),
        [
            "test.toml:2: global.startup_delay: 7200 s is too long; the most is 4294 s, as in keepalived"
        ]
    );
}

#[test]
fn wrong_types_say_what_was_expected() {
    assert_eq!(
        web_problems("priority = \"high\"\npreempt = 1\n"),
        [
            "test.toml:5: instances.web.priority: expected a whole number, found the string \"high\"",
            "test.toml:6: instances.web.preempt: expected true or false, found the number 1",
        ]
    );
}

#[test]
fn version_is_2_or_3() {
    assert_eq!(
        web_problems("version = 4\n"),
        [
            "test.toml:5: instances.web.version: 4 is not a VRRP version; use 2 (RFC 3768) or 3 (RFC 9568)"
        ]
    );
}

#[test]
fn v2_intervals_are_whole_seconds() {
    assert_eq!(
        web_problems("version = 2\nadvert_interval = 0.5\n"),
        [
            "test.toml:6: instances.web.advert_interval: 0.5 s is not a whole number of seconds; \
             VRRPv2 carries whole seconds (1..255); use version = 3 or a whole interval"
        ]
    );
    assert_eq!(
        web_problems("version = 2\nadvert_interval = 300\n"),
        [
            "test.toml:6: instances.web.advert_interval: 300 s is out of range; VRRPv2 carries 1..255 s"
        ]
    );
}

#[test]
fn v3_intervals_are_centiseconds_up_to_40_95() {
    assert_eq!(
        web_problems("advert_interval = 41\n"),
        [
            "test.toml:5: instances.web.advert_interval: 41 s is out of range; VRRPv3 carries 0.01..40.95 s"
        ]
    );
    assert_eq!(
        web_problems("advert_interval = \"15ms\"\n"),
        [
            "test.toml:5: instances.web.advert_interval: 0.015 s is not a whole number of \
             centiseconds; VRRPv3 carries the interval in units of 10 ms (0.01..40.95 s)"
        ]
    );
    assert_eq!(
        web_problems("advert_interval = 0\n"),
        [
            "test.toml:5: instances.web.advert_interval: 0 s is out of range; VRRPv3 carries 0.01..40.95 s"
        ]
    );
    assert_eq!(
        web_problems("advert_interval = \"1 fortnight\"\n"),
        [
            "test.toml:5: instances.web.advert_interval: `fortnight` is not a unit of time in \
             \"1 fortnight\"; write seconds like 1 or 0.1, or a number with a unit: 100ms, 1.5s, 2m, 1h"
        ]
    );
}

#[test]
fn v2_is_ipv4_only() {
    assert_eq!(
        problems(
            "[instances.web6]\ninterface = \"eth0\"\nvrid = 1\nversion = 2\n\
             virtual_addresses = [\"2001:db8::1/64\"]\n"
        ),
        [
            "test.toml:4: instances.web6.version: VRRPv2 is IPv4-only (RFC 3768), but the \
             virtual addresses are IPv6; use version = 3"
        ]
    );
}

#[test]
fn authentication_is_v2_only() {
    assert_eq!(
        web_problems("version = 3\nauthentication = { type = \"pass\", password = \"1111\" }\n"),
        [
            "test.toml:6: instances.web.authentication: VRRPv3 has no authentication (RFC 9568 \
             removed it); remove it, or use version = 2"
        ]
    );
    assert_eq!(
        web_problems("authentication = { type = \"pass\", password = \"1111\" }\n"),
        [
            "test.toml:5: instances.web.authentication: VRRPv3, the default version here, has no \
             authentication (RFC 9568 removed it); keepalived defaults to VRRPv2 for IPv4, so to \
             keep talking to a keepalived peer that uses auth_type PASS, set version = 2"
        ]
    );
}

#[test]
fn passwords_are_at_most_8_bytes() {
    assert_eq!(
        web_problems(
            "version = 2\n[instances.web.authentication]\ntype = \"pass\"\npassword = \"123456789\"\n"
        ),
        [
            "test.toml:8: instances.web.authentication.password: the password is 9 bytes long; \
             VRRPv2 carries at most 8 (keepalived silently sends only the first 8)"
        ]
    );
}

/// `type = "ah"`: an IPsec Authentication Header keyed with the password, NUL-padded to 8
/// bytes as keepalived pads `auth_pass`; only "pass" and "ah" exist.
#[test]
fn ah_authentication_is_read_and_other_types_refused() {
    let config = load(&format!(
        "{WEB}version = 2\nauthentication = {{ type = \"AH\", password = \"1111\" }}\n"
    ));
    assert_eq!(
        config.instances[0].auth,
        Auth::AuthenticationHeader(*b"1111\0\0\0\0")
    );
    assert_eq!(
        web_problems("version = 2\nauthentication = { type = \"md5\", password = \"1111\" }\n"),
        [
            "test.toml:6: instances.web.authentication.type: \"md5\" is not an authentication \
             type; use \"pass\" or \"ah\""
        ]
    );
}

#[test]
fn preempt_delay_needs_preempt() {
    assert_eq!(
        web_problems("preempt = false\npreempt_delay = 5\n"),
        [
            "test.toml:6: instances.web.preempt_delay: a delay before preempting means nothing \
             with preempt = false; remove one of the two (keepalived refuses preempt_delay with \
             nopreempt too)"
        ]
    );
    assert_eq!(
        web_problems("preempt_delay = 1001\n"),
        [
            "test.toml:5: instances.web.preempt_delay: 1001 s is too long; the most is 1000 s, as in keepalived"
        ]
    );
}

#[test]
fn the_owner_always_preempts_and_keeps_its_priority() {
    assert_eq!(
        web_problems(
            "priority = 255\npreempt = false\n[instances.web.health_checks.up]\nkind = \"file\"\n\
             path = \"/run/up\"\nweight = -10\n"
        ),
        [
            "test.toml:6: instances.web.preempt: the address owner (priority 255) always takes \
             over at once (RFC 9568 §6.4.1), so preempt = false cannot hold; remove it or lower \
             the priority",
            "test.toml:10: instances.web.health_checks.up.weight: the address owner's priority \
             (255) never changes; use weight = 0 (Fault while failing) or a priority below 255",
        ]
    );
}

/// A VRRPv2 instance may have no virtual address, as keepalived's may (setups that move an
/// address from notify programs); it advertises an empty list, in IPv4.
#[test]
fn a_vrrpv2_instance_may_have_no_virtual_address() {
    let config = Config::from_str(
        "[instances.web]\ninterface = \"eth0\"\nvrid = 51\nversion = 2\n",
        Format::Toml,
        "test.toml",
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let instance = &config.instances[0];
    assert!(instance.virtual_addresses.is_empty());
    assert_eq!(instance.family(), Family::Ipv4);
}

#[test]
fn virtual_addresses_are_required_and_not_empty() {
    assert_eq!(
        problems("[instances.web]\ninterface = \"eth0\"\nvrid = 51\nvirtual_addresses = []\n"),
        [
            "test.toml:4: instances.web.virtual_addresses: is empty; a VRRPv3 instance advertises at least one address (a VRRPv2 one may have none, as in keepalived)"
        ]
    );
    assert_eq!(
        problems("[instances.web]\ninterface = \"eth0\"\nvrid = 51\n"),
        [
            "test.toml:1: instances.web.virtual_addresses: missing; a VRRPv3 instance advertises at least one address (a VRRPv2 one may have none, as in keepalived)"
        ]
    );
}

#[test]
fn missing_keys_point_at_their_table() {
    assert_eq!(
        problems("\n[instances.web]\nvirtual_addresses = [\"192.0.2.1\"]\n"),
        [
            "test.toml:2: instances.web.interface: missing; every instance names the interface it runs on",
            "test.toml:2: instances.web.vrid: missing; every instance needs its Virtual Router ID \
             (keepalived's virtual_router_id)",
        ]
    );
}

#[test]
fn addresses_are_of_one_family_and_listed_once() {
    assert_eq!(
        problems(
            "[instances.web]\ninterface = \"eth0\"\nvrid = 51\nvirtual_addresses = [\n  \
             \"192.0.2.1/24\",\n  \"2001:db8::1/64\",\n  \"192.0.2.1\",\n]\n\
             excluded_addresses = [\"192.0.2.1\"]\n"
        ),
        [
            "test.toml:6: instances.web.virtual_addresses[1]: 2001:db8::1 is IPv6 but the first \
             address, 192.0.2.1, is IPv4; an instance advertises one family (put the other in \
             excluded_addresses or in another instance)",
            "test.toml:7: instances.web.virtual_addresses[2]: 192.0.2.1 is listed twice (first at \
             instances.web.virtual_addresses[0])",
            "test.toml:9: instances.web.excluded_addresses[0]: 192.0.2.1 is listed twice (first at \
             instances.web.virtual_addresses[0])",
        ]
    );
}

#[test]
fn bad_addresses() {
    assert_eq!(
        problems(
            "[instances.web]\ninterface = \"eth0\"\nvrid = 51\n\
             virtual_addresses = [\"192.0.2.1/33\", \"192.0.2.300\", \"224.0.0.18\", \
             { address = \"2001:db8::1\", label = \"eth0:v6\" }]\n"
        ),
        [
            "test.toml:4: instances.web.virtual_addresses[0]: \"/33\" is not a prefix length for \
             192.0.2.1; use 0..32",
            "test.toml:4: instances.web.virtual_addresses[1]: \"192.0.2.300\" is not an IP address",
            "test.toml:4: instances.web.virtual_addresses[2]: 224.0.0.18 cannot be a virtual \
             address (unspecified, loopback or multicast)",
            "test.toml:4: instances.web.virtual_addresses[3].label: labels exist only for IPv4 \
             addresses (Linux has no IPv6 address labels)",
        ]
    );
}

#[test]
fn labels_begin_with_their_interface() {
    assert_eq!(
        web_problems("excluded_addresses = [{ address = \"192.0.2.7\", label = \"eth1:x\" }]\n"),
        [
            "test.toml:5: instances.web.excluded_addresses[0].label: \"eth1:x\" must begin with \
             the name of the interface the address is on, \"eth0\", as `ip address add` requires"
        ]
    );
}

#[test]
fn vrids_are_unique_per_interface_and_family() {
    let second = |interface: &str, address: &str| {
        format!(
            "{WEB}\n[instances.db]\ninterface = \"{interface}\"\nvrid = 51\n\
             virtual_addresses = [\"{address}\"]\n"
        )
    };
    assert_eq!(
        problems(&second("eth0", "192.0.2.102")),
        [
            "test.toml:3: instances.web.vrid: VRID 51 is already used on eth0 for IPv4 by \
             instance `db`; each virtual router on a link needs its own VRID"
        ]
    );
    load(&second("eth1", "192.0.2.102"));
    load(&second("eth0", "2001:db8::102"));
}

#[test]
fn one_address_belongs_to_one_instance() {
    assert_eq!(
        problems(&format!(
            "{WEB}\n[instances.db]\ninterface = \"eth0\"\nvrid = 52\n\
             virtual_addresses = [\"192.0.2.101/24\"]\n"
        )),
        [
            "test.toml:4: instances.web.virtual_addresses[0]: 192.0.2.101 is also a virtual \
             address of instance `db`"
        ]
    );
}

#[test]
fn unicast_peers_match_the_family() {
    assert_eq!(
        web_problems(
            "unicast_src = \"2001:db8::2\"\nunicast_peers = [\"192.0.2.3\", \"2001:db8::3\"]\n"
        ),
        [
            "test.toml:5: instances.web.unicast_src: 2001:db8::2 is IPv6 but the virtual \
             addresses are IPv4; adverts go out in the family of the addresses",
            "test.toml:6: instances.web.unicast_peers[1]: 2001:db8::3 is IPv6 but the virtual \
             addresses are IPv4; adverts go out in the family of the addresses",
        ]
    );
    assert_eq!(
        web_problems("unicast_src = \"192.0.2.2\"\n"),
        [
            "test.toml:5: instances.web.unicast_src: unicast_src without unicast_peers means \
             nothing (keepalived before 2.2.4 silently fell back to multicast); list the peers \
             or remove it"
        ]
    );
}

#[test]
fn the_tcp_listener_needs_tls_or_consent() {
    let api = |lines: &str| format!("[api]\n{lines}\n{WEB}");
    assert_eq!(
        problems(&api("tcp_address = \"198.51.100.1:50051\"")),
        [
            "test.toml:2: api.tcp_address: a TCP listener needs TLS (api.tls with cert and key) \
             or allow_plaintext = true; without TLS, tokens and commands cross the network in clear"
        ]
    );
    let plaintext = load(&api(
        "tcp_address = \"198.51.100.1:50051\"\nallow_plaintext = true",
    ));
    let tcp = plaintext.api.tcp.expect("a TCP listener");
    assert_eq!(tcp.security, TcpSecurity::Plaintext);
    assert_eq!(
        problems(&api("tls = { cert = \"/etc/c.pem\", key = \"k.pem\" }")),
        [
            "test.toml:2: api.tls.key: \"k.pem\" is relative; write an absolute path (a relative \
             one would depend on the daemon's working directory)",
            "test.toml:2: api.tls: TLS applies to the TCP listener, but there is none; set \
             api.tcp_address (the Unix socket needs no TLS)",
        ]
    );
}

#[test]
fn the_checksum_choice_is_for_v3_over_ipv4() {
    assert_eq!(
        web_problems("version = 2\nchecksum = \"v2-compatible\"\n"),
        [
            "test.toml:6: instances.web.checksum: the checksum form is a choice only for VRRPv3 \
             over IPv4 (VRRPv2 has one form and the kernel computes the IPv6 one); remove it"
        ]
    );
    let config = load(&format!("{WEB}checksum = \"v2-compatible\"\n"));
    assert_eq!(config.instances[0].checksum, V3Ipv4Checksum::V2Compatible);
}

#[test]
fn instance_names_can_be_named_by_variables() {
    assert_eq!(
        problems(
            "[instances.VI_1]\ninterface = \"eth0\"\nvrid = 1\nvirtual_addresses = [\"192.0.2.1\"]\n"
        ),
        [
            "test.toml:1: instances.VI_1: `VI_1` is not a usable instance name: use lowercase \
             letters, digits, `-` and single `_`, so that environment variables can name it"
        ]
    );
}

#[test]
fn health_checks_follow_the_rules_the_api_follows() {
    // One set of rules (config::check_rules): what RegisterHealthCheck refuses, the file
    // refuses, with the same reason.
    assert_eq!(
        web_problems(
            "[instances.web.health_checks.a]\nkind = \"http\"\nurl = \"https://192.0.2.1/\"\n\
             [instances.web.health_checks.b]\nkind = \"interface\"\ninterface = \"..\"\n\
             [instances.web.health_checks.c]\nkind = \"tcp\"\naddress = \"192.0.2.1:80\"\ninterval = \"5ms\"\n"
        ),
        [
            "test.toml:7: instances.web.health_checks.a.url: \"https://192.0.2.1/\": https is not \
             supported yet; use http://",
            "test.toml:10: instances.web.health_checks.b.interface: \"..\" is not an interface \
             name: 1 to 15 bytes, not . or .., without '/', ':' or spaces",
            "test.toml:14: instances.web.health_checks.c.interval: 5ms is out of range: use 10ms \
             to 86400s",
        ]
    );
}

#[test]
fn health_check_problems() {
    assert_eq!(
        web_problems(
            "[instances.web.health_checks.a]\nkind = \"ping\"\n\
             [instances.web.health_checks.b]\nkind = \"http\"\nurl = \"ftp://192.0.2.1/\"\n\
             [instances.web.health_checks.c]\nkind = \"exec\"\ncommand = [\"/bin/true\"]\nweight = 300\nadress = 1\n"
        ),
        [
            "test.toml:6: instances.web.health_checks.a.kind: \"ping\" is not one of exec, tcp, \
             http, grpc, interface, file, process",
            "test.toml:9: instances.web.health_checks.b.url: \"ftp://192.0.2.1/\" is not an \
             http:// URL",
            "test.toml:13: instances.web.health_checks.c.weight: 300 is out of range -254..254 \
             (0 puts the instance in Fault while the check fails)",
            "test.toml:14: instances.web.health_checks.c.adress: unknown key; known keys here: \
             kind, command, user, kill_grace, interval, timeout, rise, fall, weight, init_fail",
        ]
    );
}

#[test]
fn toml_syntax_errors_have_their_line() {
    let problems =
        match Config::from_str(&format!("{WEB}priority = = 3\n"), Format::Toml, "test.toml") {
            Err(error) => error.problems().to_vec(),
            Ok(_) => panic!("a syntax error loaded"),
        };
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].source_location,
        SourceLocation::Line {
            file: "test.toml".into(),
            line: 5
        }
    );
    assert!(
        problems[0].message.starts_with("not valid TOML: "),
        "{}",
        problems[0]
    );
}

#[test]
fn several_problems_are_reported_at_once_in_file_order() {
    let error = Config::load("tests/fixtures/config/many-problems.toml").expect_err("invalid");
    let file = "tests/fixtures/config/many-problems.toml";
    let expected = [
        format!(
            "{file}:3: global.log_level: \"verbose\" is not one of error, warn, info, debug, trace"
        ),
        format!(
            "{file}:7: instances.web.vrid: VRID 51 is already used on eth0 for IPv4 by instance \
             `db`; each virtual router on a link needs its own VRID"
        ),
        format!("{file}:9: instances.web.priorty: unknown key; did you mean `priority`?"),
        format!(
            "{file}:10: instances.web.advert_interval: 0.5 s is not a whole number of seconds; \
             VRRPv2 carries whole seconds (1..255); use version = 3 or a whole interval"
        ),
        format!(
            "{file}:11: instances.web.virtual_addresses[1]: 2001:db8::101 is IPv6 but the first \
             address, 192.0.2.101, is IPv4; an instance advertises one family (put the other in \
             excluded_addresses or in another instance)"
        ),
        format!(
            "{file}:12: instances.web.authentication.password: the password is 9 bytes long; \
             VRRPv2 carries at most 8 (keepalived silently sends only the first 8)"
        ),
        format!(
            "{file}:19: instances.db.preempt_delay: a delay before preempting means nothing with \
             preempt = false; remove one of the two (keepalived refuses preempt_delay with \
             nopreempt too)"
        ),
    ];
    assert_eq!(error.to_string(), expected.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Environment overrides

fn with_env(text: &str, variables: &[(&str, &str)]) -> Result<Config, Vec<String>> {
    Config::from_str_with_env(text, Format::Toml, "test.toml", variables.iter().copied())
        .map_err(|error| error.problems().iter().map(ToString::to_string).collect())
}

#[test]
fn environment_overrides_change_values() {
    let config = with_env(
        WEB,
        &[
            ("VRRP_SIDECAR__INSTANCES__WEB__PRIORITY", "90"),
            ("VRRP_SIDECAR__API__SOCKET", "/tmp/x.sock"),
            ("VRRP_SIDECAR__INSTANCES__WEB__PREEMPT", "false"),
            (
                "VRRP_SIDECAR__INSTANCES__WEB__UNICAST_PEERS",
                "192.0.2.3, 192.0.2.4",
            ),
            ("UNRELATED", "1"),
        ],
    )
    .expect("valid overrides");
    assert_eq!(config.api.socket, PathBuf::from("/tmp/x.sock"));
    let web = &config.instances[0];
    assert_eq!(web.priority, 90);
    assert_eq!(web.preempt, Preempt::Never);
    let unicast = web.unicast.as_ref().expect("peers set");
    assert_eq!(
        unicast.peer_addresses().collect::<Vec<_>>(),
        [ip("192.0.2.3"), ip("192.0.2.4")]
    );
}

#[test]
fn bad_environment_values_name_the_variable() {
    assert_eq!(
        with_env(WEB, &[("VRRP_SIDECAR__INSTANCES__WEB__PRIORITY", "900")]).unwrap_err(),
        [
            "environment VRRP_SIDECAR__INSTANCES__WEB__PRIORITY: instances.web.priority: 900 is \
             out of range 1..255 (255 means this router owns the addresses; 0 is only sent by a \
             master that stops)"
        ]
    );
    assert_eq!(
        with_env(WEB, &[("VRRP_SIDECAR__INSTANCES__WEB__PRIORTY", "90")]).unwrap_err(),
        [
            "environment VRRP_SIDECAR__INSTANCES__WEB__PRIORTY: instances.web.priorty: unknown \
             key; did you mean `priority`?"
        ]
    );
}

#[test]
fn an_override_for_an_instance_the_file_lacks_is_blamed_on_the_variable() {
    let problems = with_env(WEB, &[("VRRP_SIDECAR__INSTANCES__WBE__PRIORITY", "90")]).unwrap_err();
    assert_eq!(
        problems,
        [
            "environment VRRP_SIDECAR__INSTANCES__WBE__PRIORITY: instances.wbe.interface: \
             missing; every instance names the interface it runs on",
            "environment VRRP_SIDECAR__INSTANCES__WBE__PRIORITY: instances.wbe.vrid: missing; \
             every instance needs its Virtual Router ID (keepalived's virtual_router_id)",
            "environment VRRP_SIDECAR__INSTANCES__WBE__PRIORITY: instances.wbe.virtual_addresses: \
             missing; a VRRPv3 instance advertises at least one address (a VRRPv2 one may have \
             none, as in keepalived)",
        ]
    );
}

// ---------------------------------------------------------------------------------------
// YAML and files

#[test]
fn yaml_loads_and_its_problems_name_the_file() {
    let config = Config::load("examples/unicast-with-checks.yaml").expect("valid");
    let edge = &config.instances[0];
    assert_eq!(edge.advert_interval.centis(), 50);
    assert_eq!(
        edge.virtual_addresses[1].label.as_deref(),
        Some("eth1:edge")
    );
    assert!(matches!(
        config.api.tcp.expect("a TCP listener").security,
        TcpSecurity::Tls(_)
    ));
    let error = Config::load("tests/fixtures/config/bad.yaml").expect_err("invalid");
    assert_eq!(
        error.to_string(),
        "tests/fixtures/config/bad.yaml: instances.web.vrid: 300 is out of range 1..255 (one \
         byte; 0 is reserved)"
    );
}

#[test]
fn unreadable_files() {
    assert_eq!(
        Config::load("tests/fixtures/config/absent.toml")
            .expect_err("no such file")
            .problems()[0]
            .source_location,
        SourceLocation::File {
            file: "tests/fixtures/config/absent.toml".into()
        }
    );
    assert_eq!(
        Config::load("tests/config.rs")
            .expect_err("not a config")
            .to_string(),
        "tests/config.rs: the name does not end in .toml, .yaml or .yml, so the format is unknown"
    );
}

// ---------------------------------------------------------------------------------------
// No input panics

fn examples_text() -> Vec<(String, Format)> {
    let mut texts = Vec::new();
    for entry in std::fs::read_dir("examples").expect("examples/ exists") {
        let path = entry.expect("a readable entry").path();
        if let Some(format) = Format::from_path(&path) {
            texts.push((std::fs::read_to_string(&path).expect("readable"), format));
        }
    }
    texts
}

#[test]
fn every_truncation_of_every_example_loads_or_fails_cleanly() {
    for (text, format) in examples_text() {
        for end in (0..=text.len()).filter(|end| text.is_char_boundary(*end)) {
            let _ = Config::from_str(&text[..end], format, "truncated");
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = Config::from_str(&text, Format::Toml, "random.toml");
        let _ = Config::from_str(&text, Format::Yaml, "random.yaml");
    }

    #[test]
    fn mangled_examples_never_panic(
        example in 0usize..4,
        position in any::<prop::sample::Index>(),
        insert in "[\\[\\]{}=\"',.:#\\n a-z0-9-]{0,8}",
    ) {
        let texts = examples_text();
        let (text, format) = &texts[example % texts.len()];
        let mut at = position.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mangled = format!("{}{insert}{}", &text[..at], &text[at..]);
        let _ = Config::from_str(&mangled, *format, "mangled");
    }

    #[test]
    fn any_environment_value_is_accepted_or_reported(value in "\\PC{0,40}") {
        for key in ["PRIORITY", "ADVERT_INTERVAL", "VIRTUAL_ADDRESSES", "AUTHENTICATION"] {
            let variable = format!("VRRP_SIDECAR__INSTANCES__WEB__{key}");
            let _ = with_env(WEB, &[(variable.as_str(), value.as_str())]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Sync groups and e-mail alerts

const TWO_INSTANCES: &str = "[instances.outside]\ninterface = \"eth0\"\nvrid = 1\n\
    virtual_addresses = [\"192.0.2.1/24\"]\n\n[instances.inside]\ninterface = \"eth1\"\n\
    vrid = 2\nvirtual_addresses = [\"198.51.100.1/24\"]\n";

#[test]
fn sync_groups_name_instances_each_in_one_group() {
    let config = load(&format!(
        "{TWO_INSTANCES}\n[sync_groups.gateway]\ninstances = [\"outside\", \"inside\"]\n"
    ));
    assert_eq!(config.sync_groups.len(), 1);
    assert_eq!(config.sync_groups[0].name, "gateway");
    assert_eq!(config.sync_groups[0].instances, ["outside", "inside"]);
    assert_eq!(
        problems(&format!(
            "{TWO_INSTANCES}\n[sync_groups.a]\ninstances = [\"outside\", \"nowhere\"]\n\
             [sync_groups.b]\ninstances = [\"outside\", \"inside\"]\n[sync_groups.c]\n\
             instances = [\"inside\"]\n"
        )),
        [
            "test.toml:12: sync_groups.a.instances[1]: there is no instance `nowhere` \
             ([instances.nowhere])",
            "test.toml:14: sync_groups.b.instances[0]: `outside` is already in sync group `a`; \
             an instance follows one group",
            "test.toml:16: sync_groups.c.instances[0]: `inside` is already in sync group `b`; \
             an instance follows one group",
            "test.toml:16: sync_groups.c.instances: a sync group needs at least two instances \
             to keep together",
        ]
    );
}

#[test]
fn email_alerts_need_a_server_a_sender_and_recipients() {
    let config = load(&format!(
        "{TWO_INSTANCES}email_alerts = true\n\n[email_alerts]\nsmtp_server = \"[2001:db8::25]:2525\"\n\
         from = \"vrrp@example.com\"\nto = [\"ops@example.com\"]\n"
    ));
    let email = config.email_alerts.expect("configured");
    assert_eq!(
        (email.smtp_host.as_str(), email.smtp_port),
        ("2001:db8::25", 2525)
    );
    assert_eq!(email.connect_timeout, std::time::Duration::from_secs(30));
    assert!(
        config
            .instances
            .iter()
            .any(|instance| instance.email_alerts)
    );
    assert_eq!(
        problems(&format!("{TWO_INSTANCES}email_alerts = true\n")),
        [
            "test.toml:10: instances.inside.email_alerts: alerts need a mail server and \
          addresses: add [email_alerts] with smtp_server, from and to"
        ]
    );
    assert_eq!(
        problems(&format!(
            "{TWO_INSTANCES}\n[email_alerts]\nsmtp_server = \"mail example\"\n\
             from = \"vrrp\"\nto = []\n"
        )),
        [
            "test.toml:12: email_alerts.smtp_server: \"mail example\" is not a host with an \
             optional port, like \"192.0.2.25\", \"mail.example.com:587\" or \
             \"[2001:db8::25]:25\"",
            "test.toml:13: email_alerts.from: \"vrrp\" is not a mail address like \
             ops@example.com",
            "test.toml:14: email_alerts.to: is empty; alerts need at least one recipient",
        ]
    );
}

/// Accept mode defaults to on, as in keepalived; strict mode turns the default off except for
/// the owner; both are written back by `convert`.
#[test]
fn accept_mode_defaults_follow_strict_mode_and_round_trip() {
    let accept = |lines: &str| {
        let config = load(&format!("{WEB}{lines}"));
        let web = &config.instances[0];
        let again = load(&to_native_toml(&config));
        assert_eq!(again, config, "{lines}");
        (web.accept_mode, web.strict_mode)
    };
    assert_eq!(accept(""), (true, false));
    assert_eq!(accept("accept_mode = false\n"), (false, false));
    assert_eq!(accept("strict_mode = true\n"), (false, true));
    assert_eq!(accept("strict_mode = true\npriority = 255\n"), (true, true));
    assert_eq!(
        accept("strict_mode = true\naccept_mode = true\n"),
        (true, true)
    );
    assert_eq!(accept("strict_mode = false\n"), (true, false));
}

/// What keepalived's strict mode refuses or resets is refused here, each at its line: a
/// native file says what it means.
#[test]
fn strict_mode_refuses_what_it_cannot_run() {
    assert_eq!(
        web_problems(
            "strict_mode = true\nversion = 2\npreempt_delay = 5\naccept_mode = true\n\
             unicast_peers = [\"192.0.2.2\"]\n[instances.web.authentication]\ntype = \"pass\"\n\
             password = \"secret\"\n"
        ),
        [
            "test.toml:7: instances.web.preempt_delay: strict mode preempts at once \
             (keepalived resets preempt_delay in strict mode); remove it",
            "test.toml:8: instances.web.accept_mode: accept mode for a VRRPv2 router that does \
             not own the addresses breaks RFC 3768 (keepalived resets it in strict mode); \
             remove it, use version = 3, or priority 255",
            "test.toml:9: instances.web.unicast_peers: strict mode advertises to the VRRP \
             multicast group only (keepalived refuses unicast peers in strict mode); remove \
             the peers or strict_mode",
            "test.toml:10: instances.web.authentication: strict mode has no authentication \
             (RFC 3768 removed it; keepalived ignores it in strict mode); remove it",
        ]
    );
    assert_eq!(
        problems(
            "[instances.web]\ninterface = \"eth0\"\nvrid = 51\nversion = 2\nstrict_mode = true\n"
        ),
        [
            "test.toml:1: instances.web.virtual_addresses: strict mode needs at least one \
             virtual address (keepalived refuses an instance without in strict mode)"
        ]
    );
    assert_eq!(
        web_problems("strict_mode = \"yes\"\n"),
        [
            "test.toml:5: instances.web.strict_mode: expected true or false, found the string \"yes\""
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Virtual routes and rules

#[test]
fn virtual_routes_and_rules_are_read_and_written_back() {
    let config = load(&format!(
        "{WEB}virtual_routes = [\"198.51.100.0/24 via 192.0.2.254 dev eth0 table 100\", \
         \"blackhole default inet6 table 100 no_track protocol bird\"]\n\
         virtual_rules = [\"from 192.0.2.101/32 lookup 100 priority 100\", \
         \"inet6 to 2001:db8::/64 fwmark 0x10/0xff priority 7 unreachable\"]\n"
    ));
    let instance = &config.instances[0];
    let routes: Vec<String> = instance
        .virtual_routes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        routes,
        [
            "198.51.100.0/24 via 192.0.2.254 dev eth0 table 100",
            "blackhole default inet6 table 100 protocol bird no_track"
        ]
    );
    let rules: Vec<String> = instance
        .virtual_rules
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        rules,
        [
            "priority 100 from 192.0.2.101/32 table 100",
            "inet6 priority 7 to 2001:db8::/64 fwmark 0x10/0xff unreachable"
        ]
    );
    assert_eq!(instance.virtual_routes[1].family, Family::Ipv6);
    assert_eq!(load(&to_native_toml(&config)), config);
}

#[test]
fn bad_routes_and_rules_are_refused_at_their_line_and_field() {
    assert_eq!(
        web_problems(
            "virtual_routes = [\n  \"198.51.100.0/24 via 192.0.2.254\",\n  \
             \"198.51.100.1/24 dev eth0\",\n  \"192.0.2.0/24 gw 192.0.2.1\",\n  \
             \"192.0.2.0/25 dev eth0 protocol static\",\n  \"192.0.2.0/26 mtu 1400\",\n]\n\
             virtual_rules = [\"from 192.0.2.1 table 100\", \"from 192.0.2.1 priority 5\"]\n"
        ),
        [
            "test.toml:7: instances.web.virtual_routes[1]: \"198.51.100.1/24 dev eth0\": \
             `198.51.100.1/24`: neither a route option nor a destination (\"198.51.100.1/24\" \
             has bits set past its prefix length; the network is 198.51.100.0/24)",
            "test.toml:8: instances.web.virtual_routes[2]: \"192.0.2.0/24 gw 192.0.2.1\": `gw` \
             is keepalived's old word for `via`",
            "test.toml:9: instances.web.virtual_routes[3]: \"192.0.2.0/25 dev eth0 protocol \
             static\": protocol 4 cannot be tracked: a tracked route or rule carries protocol \
             18 (keepalived), by which its deletion is recognised; add no_track to keep \
             protocol 4",
            "test.toml:10: instances.web.virtual_routes[4]: \"192.0.2.0/26 mtu 1400\": the \
             route option `mtu` is not carried out here",
            "test.toml:12: instances.web.virtual_rules[0]: \"from 192.0.2.1 table 100\": give \
             the rule a preference (`priority N`): without one the kernel puts it before the \
             first existing rule",
            "test.toml:12: instances.web.virtual_rules[1]: \"from 192.0.2.1 priority 5\": a \
             rule needs an action: table N, goto N, nop, blackhole, unreachable or prohibit",
        ]
    );
}

#[test]
fn static_routes_and_rules_are_read_and_written_back() {
    let config = load(&format!(
        "static_routes = [\"198.51.100.0/26 via 192.0.2.254 dev eth0 table 200\"]\n\
         static_rules = [\"from 198.51.100.1/32 table 200 priority 200\"]\n{WEB}"
    ));
    assert_eq!(
        config.static_routes[0].to_string(),
        "198.51.100.0/26 via 192.0.2.254 dev eth0 table 200"
    );
    assert_eq!(
        config.static_rules[0].to_string(),
        "priority 200 from 198.51.100.1/32 table 200"
    );
    assert_eq!(load(&to_native_toml(&config)), config);
    assert_eq!(
        problems(&format!(
            "static_routes = [\"198.51.100.0/26 frob\"]\n{WEB}"
        )),
        [
            "test.toml:1: static_routes[0]: \"198.51.100.0/26 frob\": `frob`: unknown route \
          option (the destination is already given)"
        ]
    );
}

/// `tracking_weight` (keepalived's `sync_group_tracking_weight`) is off by default, and then
/// a weighted check on a member is refused at its line, naming the switch; on, it loads and
/// round-trips.
#[test]
fn a_members_weighted_check_needs_tracking_weight() {
    let weighted = format!(
        "{TWO_INSTANCES}\n[instances.inside.health_checks.uplink]\nkind = \"interface\"\n\
         interface = \"eth2\"\nweight = -20\n\n[sync_groups.gateway]\n\
         instances = [\"outside\", \"inside\"]\n"
    );
    assert_eq!(
        problems(&weighted),
        [
            "test.toml:14: instances.inside.health_checks.uplink.weight: `inside` is in sync \
             group `gateway`, whose members' weights do not move their priority; use weight = \
             0 (the group goes to Fault while it fails), or set tracking_weight = true in \
             [sync_groups.gateway]"
        ]
    );
    let config = load(&format!("{weighted}tracking_weight = true\n"));
    assert!(config.sync_groups[0].tracking_weight);
    let text = to_native_toml(&config);
    assert!(text.contains("tracking_weight = true"), "{text}");
    assert_eq!(load(&text), config);
    assert!(
        !load(&format!(
            "{TWO_INSTANCES}\n[sync_groups.gateway]\ninstances = [\"outside\", \"inside\"]\n"
        ))
        .sync_groups[0]
            .tracking_weight
    );
}

/// `static_addresses`: tables with `address` and `dev`, optionally `label` and `no_track`;
/// a missing `dev`, a label that does not start with it, an IPv6 label and a duplicate are
/// refused at their line; the list round-trips.
#[test]
fn static_addresses_need_a_device_and_round_trip() {
    let config = load(&format!(
        "static_addresses = [{{ address = \"198.51.100.10/24\", dev = \"eth1\", label = \
         \"eth1:st\" }}, {{ address = \"2001:db8::10\", dev = \"eth1\", no_track = true }}]\n\
         {WEB}"
    ));
    let addresses = &config.static_addresses;
    assert_eq!(addresses.len(), 2);
    assert_eq!(addresses[0].device(), "eth1");
    assert_eq!(addresses[0].address.label.as_deref(), Some("eth1:st"));
    assert_eq!(addresses[1].address.prefix_len, 128);
    assert!(addresses[1].no_track && !addresses[0].no_track);
    assert_eq!(load(&to_native_toml(&config)), config);
    assert_eq!(
        problems(&format!(
            "static_addresses = [\n{{ address = \"198.51.100.10/24\" }},\n\
             {{ address = \"198.51.100.11/24\", dev = \"eth1\", label = \"eth2:x\" }},\n\
             {{ address = \"2001:db8::1/64\", dev = \"eth1\", label = \"eth1:x\" }},\n\
             {{ address = \"198.51.100.12/24\", dev = \"eth1\" }},\n\
             {{ address = \"198.51.100.12/25\", dev = \"eth1\" }},\n]\n{WEB}"
        )),
        [
            "test.toml:2: static_addresses[0].dev: missing; the interface the address goes \
             on, like \"eth0\"",
            "test.toml:3: static_addresses[1].label: \"eth2:x\" must begin with the name of \
             the interface the address is on, \"eth1\", as `ip address add` requires",
            "test.toml:4: static_addresses[2].label: labels exist only for IPv4 addresses \
             (Linux has no IPv6 address labels)",
            "test.toml:6: static_addresses[4]: 198.51.100.12 on eth1 is already a static \
             address",
        ]
    );
}

/// `[link_debounce.<interface>]`: keepalived's `interface_up_down_delays`, each delay at most
/// 255 s; interface names are the kernel's (dots allowed), and the table is written back.
#[test]
fn link_debounce_is_read_checked_and_written_back() {
    use vrrp_sidecar::vrrp::DebounceDelays;
    let config = load(&format!(
        "{WEB}[link_debounce.\"eth0.100\"]\ndown_delay = \"1.5s\"\n\
         [link_debounce.eth0]\nup_delay = \"250ms\"\n"
    ));
    let entries: Vec<(&str, DebounceDelays)> = config
        .link_debounce
        .iter()
        .map(|entry| (entry.interface.as_str(), entry.delays))
        .collect();
    assert_eq!(
        entries,
        [
            (
                "eth0",
                DebounceDelays {
                    down: Duration::ZERO,
                    up: Duration::from_millis(250)
                }
            ),
            (
                "eth0.100",
                DebounceDelays {
                    down: Duration::from_millis(1500),
                    up: Duration::ZERO
                }
            ),
        ]
    );
    assert_eq!(load(&to_native_toml(&config)), config);
    assert_eq!(
        problems(&format!(
            "{WEB}[link_debounce.eth0]\ndown_delay = \"256s\"\nup_dealy = \"1s\"\n\
             [link_debounce.this-name-is-far-too-long]\n"
        )),
        [
            "test.toml:6: link_debounce.eth0.down_delay: 256 s is too long; the most is 255 s, \
             as in keepalived",
            "test.toml:7: link_debounce.eth0.up_dealy: unknown key; did you mean `up_delay`?",
            "test.toml:8: link_debounce.this-name-is-far-too-long: `this-name-is-far-too-long` \
             is not an interface name: the kernel's have 1 to 15 characters",
        ]
    );
}

/// Announcement spacing (keepalived's `vrrp_garp_interval`, `vrrp_gna_interval` and
/// `garp_group`): each address of an instance gets the spacing of its interface's group, or
/// else the global one shared by the interface; `convert` writes it back.
#[test]
fn announcement_spacing_is_per_interface_or_garp_group_and_round_trips() {
    let config = load(
        r#"[global]
garp_interval = "0.0015"
gna_interval = "20ms"
[garp_groups.uplinks]
garp_interval = "5ms"
interfaces = ["eth1", "eth2"]
[instances.web]
interface = "eth0"
vrid = 51
virtual_addresses = ["192.0.2.101/24"]
excluded_addresses = [{ address = "198.51.100.7/24", dev = "eth1" }]
[instances.web.garp]
lower_priority_repeat = 0
"#,
    );
    let web = &config.instances[0];
    let spaced: Vec<(IpAddr, &str, Spacing)> = web
        .announce_spacing
        .iter()
        .map(|paced| (paced.address, paced.shared_by.as_str(), paced.spacing))
        .collect();
    assert_eq!(
        spaced,
        [
            (
                ip("192.0.2.101"),
                "eth0",
                Spacing {
                    arp: Some(Duration::from_micros(1500)),
                    na: Some(Duration::from_millis(20)),
                }
            ),
            (
                ip("198.51.100.7"),
                "garp group uplinks",
                Spacing {
                    arp: Some(Duration::from_millis(5)),
                    na: None,
                }
            ),
        ]
    );
    assert_eq!(web.garp.lower_priority_repeat, 0);
    assert_eq!(
        web.garp.lower_priority_second_after,
        Some(Duration::from_secs(5)),
        "the lower-priority delay defaults to `delay`"
    );
    assert_eq!(load(&to_native_toml(&config)), config);
}

#[test]
fn no_spacing_leaves_the_instance_unspaced() {
    let config = load(&format!("[global]\ngarp_interval = 0\n{WEB}"));
    assert!(config.instances[0].announce_spacing.is_empty());
    assert_eq!(config.global.announce_spacing, Spacing::default());
}

#[test]
fn bad_spacing_and_groups_are_refused_at_their_line_and_field() {
    assert_eq!(
        problems(&format!("[global]\ngarp_interval = \"0.0000005\"\n{WEB}")),
        [
            "test.toml:2: global.garp_interval: 0.0000005 s is finer than a microsecond, \
             keepalived's resolution for it"
        ]
    );
    assert_eq!(
        problems(&format!(
            "[garp_groups.a]\ninterfaces = [\"eth1\"]\n[garp_groups.b]\n\
             gna_interval = \"1ms\"\ninterfaces = [\"eth2\", \"eth1\", \"eth2\"]\n{WEB}"
        )),
        [
            "test.toml:5: garp_groups.b.interfaces[1]: `eth1` is already in garp group `a`; the \
             announcements of an interface share one spacing",
            "test.toml:5: garp_groups.b.interfaces[2]: `eth2` is listed twice",
        ]
    );
    assert_eq!(
        problems(&format!(
            "[garp_groups.a]\ngna_interval = \"1h\"\ninterfaces = [\"eth1\"]\n{WEB}"
        )),
        [
            "test.toml:2: garp_groups.a.gna_interval: 3600 s is too long; the most is 2147 s, \
             as in keepalived"
        ]
    );
    assert_eq!(
        problems(&format!("[garp_groups.a]\ngarp_interval = \"10ms\"\n{WEB}")),
        [
            "test.toml:1: garp_groups.a.interfaces: missing; a garp group lists the interfaces \
             whose announcements share its spacing"
        ]
    );
    assert_eq!(
        web_problems("[instances.web.garp]\nlower_priority_repeat = 256\n"),
        [
            "test.toml:6: instances.web.garp.lower_priority_repeat: 256 is out of range 0..255 \
             announcements per burst"
        ]
    );
}
