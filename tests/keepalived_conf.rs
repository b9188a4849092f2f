//! keepalived.conf as a configuration source: the seed configurations users arrive with load
//! unmodified, includes work as in keepalived, everything not translated is reported at its
//! line, and the result converts to native TOML and back without change.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;
use vrrp_sidecar::config::{
    Config, Diagnostic, Format, Preempt, Probe, RemovalReport, Severity, SourceLocation,
    load_keepalived_conf, to_native_toml,
};
use vrrp_sidecar::vrrp::{AdvertInterval, Auth, HopLimits, Version};

const FIXTURES: &str = "tests/fixtures/keepalived-conf";

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

/// The configuration and warnings of a fixture that must load.
fn load(name: &str) -> (Config, Vec<Diagnostic>) {
    load_keepalived_conf(&fixture(name)).unwrap_or_else(|error| panic!("{name}:\n{error}"))
}

/// The errors of a fixture that must not load, one string each, as printed.
fn errors_of(path: &Path) -> Vec<String> {
    match load_keepalived_conf(path) {
        Ok((config, _)) => panic!("expected errors, got {config:#?}"),
        Err(error) => error.problems().iter().map(ToString::to_string).collect(),
    }
}

/// Writes `text` as a keepalived.conf of its own in a fresh directory and returns its path.
fn write_conf(test: &str, text: &str) -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("keepalived-conf")
        .join(test);
    std::fs::create_dir_all(&directory).expect("the target directory is writable");
    let path = directory.join("keepalived.conf");
    std::fs::write(&path, text).expect("the target directory is writable");
    path
}

/// `(line, severity, keyword path)` of each diagnostic, to compare with what a test expects.
fn summary(diagnostics: &[Diagnostic]) -> Vec<(usize, Severity, String)> {
    diagnostics
        .iter()
        .map(|diagnostic| match &diagnostic.source_location {
            SourceLocation::Line { line, .. } => (
                *line,
                diagnostic.severity,
                diagnostic.keyword_path.to_string(),
            ),
            other => panic!("a diagnostic without a line: {other}"),
        })
        .collect()
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("the tests write valid addresses")
}

fn password(text: &str) -> Auth {
    let mut bytes = [0; 8];
    bytes[..text.len()].copy_from_slice(text.as_bytes());
    Auth::SimplePassword(bytes)
}

// ---------------------------------------------------------------------------------------
// The seed configurations

/// The master of the seed, verbatim: one VRRPv2 instance, and a warning for each keyword
/// that does not carry over, at its line.
#[test]
fn seed_master_loads_with_its_warnings() {
    let (config, warnings) = load("seed-master.conf");
    assert_eq!(config.global.router_id.as_deref(), Some("LVS_DEVEL"));
    let [instance] = config.instances.as_slice() else {
        panic!("one instance expected: {config:#?}");
    };
    assert_eq!(instance.name, "vi_1");
    assert_eq!(instance.interface, "eth0");
    assert_eq!(instance.vrid, 51);
    assert_eq!(instance.priority, 101);
    assert_eq!(instance.version, Version::V2);
    assert_eq!(
        instance.advert_interval,
        AdvertInterval::from_secs(1).expect("1 s")
    );
    assert_eq!(instance.auth, password("1111"));
    assert_eq!(instance.virtual_addresses.len(), 1);
    assert_eq!(instance.virtual_addresses[0].address, ip("172.16.1.101"));
    assert_eq!(instance.virtual_addresses[0].prefix_len, 32);
    assert_eq!(instance.unicast, None);
    assert_eq!(instance.preempt, Preempt::After(Duration::ZERO));
    assert_eq!(
        summary(&warnings),
        vec![
            (10, Severity::Warning, "vrrp_instance VI_1".into()),
            (11, Severity::Warning, "vrrp_instance VI_1.state".into()),
            (
                16,
                Severity::Warning,
                "vrrp_instance VI_1.mcast_src_ip".into()
            ),
        ]
    );
    let printed: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert!(printed[1].starts_with(
        "tests/fixtures/keepalived-conf/seed-master.conf:11: warning: vrrp_instance VI_1.state: \
         ignored: every instance starts as backup"
    ));
    assert!(printed[2].contains("172.16.1.102"), "{}", printed[2]);
    // The e-mail settings carry over; the seed asks no instance for alerts.
    let email = config
        .email_alerts
        .as_ref()
        .expect("the seed's mail settings");
    assert_eq!(
        (email.smtp_host.as_str(), email.smtp_port),
        ("172.16.1.100", 25)
    );
    assert_eq!(email.connect_timeout, Duration::from_secs(30));
    assert_eq!(email.from, "mail@example.org");
    assert_eq!(email.to, ["user@example.com"]);
    assert!(!instance.email_alerts);
}

/// The backup of the seed: the same instance at priority 100, and no warning for
/// `state BACKUP`, which is what every instance does here.
#[test]
fn seed_backup_loads_with_its_warnings() {
    let (config, warnings) = load("seed-backup.conf");
    let (master, _) = load("seed-master.conf");
    let [instance] = config.instances.as_slice() else {
        panic!("one instance expected: {config:#?}");
    };
    assert_eq!(instance.priority, 100);
    let mut as_master = instance.clone();
    as_master.priority = 101;
    assert_eq!(as_master, master.instances[0]);
    assert_eq!(
        summary(&warnings),
        vec![
            (10, Severity::Warning, "vrrp_instance VI_1".into()),
            (
                16,
                Severity::Warning,
                "vrrp_instance VI_1.mcast_src_ip".into()
            ),
        ]
    );
}

/// The fixtures are the seed byte for byte, Chinese comments included.
#[test]
fn seed_fixtures_are_verbatim() {
    // shared/ sits beside the work tree, as on the developers' machines and in CI.
    let seed = std::fs::read_to_string("../shared/seed/keepalived-vip.txt")
        .expect("the seed, ../shared/seed/keepalived-vip.txt beside the work tree");
    for name in ["seed-master.conf", "seed-backup.conf"] {
        let text = std::fs::read_to_string(fixture(name)).expect("the fixture exists");
        assert!(
            seed.contains(&text),
            "{name} is not a verbatim part of the seed"
        );
        assert!(text.contains("權重"), "{name} lost its comments");
    }
}

// ---------------------------------------------------------------------------------------
// Includes

/// A glob relative to the including file, a `../` path, and a glob matching nothing (a
/// warning, as in keepalived); the script of another file is found by name.
#[test]
fn includes_with_glob_and_relative_path() {
    let (config, warnings) = load("include/main.conf");
    let names: Vec<&str> = config.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["db", "web"]);
    assert_eq!(config.global.router_id.as_deref(), Some("edge_a"));
    let web = &config.instances[1];
    assert_eq!(
        web.garp.repeat, 3,
        "global_defs applies to included instances"
    );
    assert_eq!(web.health_checks.len(), 1);
    assert_eq!(web.health_checks[0].name, "chk_proxy");
    // The script has no `user`: it runs as root, as in keepalived, and says so.
    assert!(config.global.exec_checks_as_root);
    let (root_scripts, others): (Vec<_>, Vec<_>) = warnings
        .iter()
        .partition(|warning| warning.message.contains("runs as root"));
    assert_eq!(root_scripts.len(), 1, "{warnings:#?}");
    let [warning] = others.as_slice() else {
        panic!("one other warning expected: {warnings:#?}");
    };
    assert_eq!(
        warning.source_location,
        SourceLocation::Line {
            file: fixture("include/main.conf").display().to_string(),
            line: 8
        }
    );
    assert!(warning.message.contains("no file matches"), "{warning}");
}

/// Diagnostics inside an included file name that file and its own line.
#[test]
fn diagnostics_name_the_included_file() {
    let directory = write_conf("included-lines", "");
    let directory = directory.parent().expect("a file has a directory");
    std::fs::write(
        directory.join("instance.conf"),
        "vrrp_instance web {\n  interface eth0\n  virtual_router_id 10\n  use_ipvlan\n  \
         virtual_ipaddress {\n    192.0.2.10\n  }\n}\n",
    )
    .expect("the target directory is writable");
    let main = directory.join("keepalived.conf");
    std::fs::write(&main, "include instance.conf\n").expect("the target directory is writable");
    let (_, warnings) = load_keepalived_conf(&main).unwrap_or_else(|error| panic!("{error}"));
    let printed: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(printed.len(), 1, "{printed:#?}");
    let expected = format!(
        "{}:4: warning: vrrp_instance web.use_ipvlan: not carried out yet (issue 17)",
        directory.join("instance.conf").display()
    );
    assert!(printed[0].starts_with(&expected), "{}", printed[0]);
}

/// a.conf includes b.conf, which includes a.conf: an error at the include that closes the
/// cycle, naming the files, instead of endless recursion.
#[test]
fn include_cycle_is_an_error() {
    let errors = errors_of(&fixture("cycle/a.conf"));
    let [error] = errors.as_slice() else {
        panic!("one error expected: {errors:#?}");
    };
    assert!(
        error.starts_with(&format!(
            "{}:2: include cycle: ",
            fixture("cycle/b.conf").display()
        )),
        "{error}"
    );
    assert!(error.contains("a.conf includes"), "{error}");
}

/// A chain of distinct files deeper than the limit stops with an error rather than going on.
#[test]
fn include_depth_is_limited() {
    let main = write_conf("deep", "include level1.conf\n");
    let directory = main.parent().expect("a file has a directory");
    for level in 1..=20 {
        std::fs::write(
            directory.join(format!("level{level}.conf")),
            format!("include level{}.conf\n", level + 1),
        )
        .expect("the target directory is writable");
    }
    let errors = errors_of(&main);
    assert!(
        errors
            .iter()
            .any(|error| error.contains("nest deeper than")),
        "{errors:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// Translation

/// An unknown keyword is a warning at its line, and the rest loads: keepalived says
/// "Unknown keyword" and runs the file.
#[test]
fn unknown_keyword_is_reported_with_its_line() {
    let (config, warnings) = load("unknown-keyword.conf");
    let printed: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        printed,
        [format!(
            "{}:4: warning: vrrp_instance web.vrrp_frobnicate: unknown keyword \
             `vrrp_frobnicate` in vrrp_instance; skipped, as keepalived skips it (\"Unknown \
             keyword\")",
            fixture("unknown-keyword.conf").display()
        )]
    );
    assert_eq!(config.instances.len(), 1);
}

/// IPv6 instances speak VRRPv3, as in keepalived; `vrrp_version` sets the IPv4 default.
#[test]
fn ipv6_instance_gets_v3() {
    let (config, warnings) = load("ipv6.conf");
    assert!(warnings.is_empty(), "{warnings:#?}");
    let v6 = &config.instances[1];
    assert_eq!(v6.name, "v6");
    assert_eq!(v6.version, Version::V3);
    assert_eq!(
        v6.advert_interval,
        AdvertInterval::from_centis(50).expect("0.5 s")
    );
    assert_eq!(
        config.instances[0].version,
        Version::V3,
        "vrrp_version 3 applies"
    );
}

/// Without `vrrp_version`, an IPv4 instance speaks VRRPv2 (keepalived's default), an IPv6
/// one VRRPv3.
#[test]
fn default_versions_follow_keepalived() {
    let path = write_conf(
        "default-versions",
        "vrrp_instance a {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n \
         192.0.2.1\n }\n}\nvrrp_instance b {\n interface eth0\n virtual_router_id 2\n \
         virtual_ipaddress {\n 2001:db8::1\n }\n}\n",
    );
    let (config, _) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(config.instances[0].version, Version::V2);
    assert_eq!(config.instances[1].version, Version::V3);
}

/// A sync group becomes a native one, its members named as their instances are; its
/// `smtp_alert` turns the members' alerts on.
#[test]
fn sync_group_translates_with_its_members() {
    let (config, warnings) = load("sync-group.conf");
    assert_eq!(summary(&warnings), []);
    let [group] = config.sync_groups.as_slice() else {
        panic!("one group expected: {config:#?}");
    };
    assert_eq!(group.name, "vg_1");
    assert_eq!(group.instances, ["inside", "outside"]);
    assert!(
        config
            .instances
            .iter()
            .all(|instance| instance.email_alerts)
    );
    assert_round_trip(&config, "sync-group.conf");
}

/// A sync group's trackers become weight-0 checks of every member (a failure faults the
/// member and the group follows, as in keepalived); a weight written there is ignored with
/// one warning, not one per member.
#[test]
fn sync_group_trackers_become_weight_zero_checks_of_each_member() {
    let path = Path::new("tests/fixtures/keepalived-corpus/39-sync-group-track.conf");
    let (config, warnings) = load_keepalived_conf(path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        summary(&warnings),
        [(
            19,
            Severity::Warning,
            "vrrp_sync_group gateway.track_script.chk_uplink".into()
        )]
    );
    assert_eq!(config.instances.len(), 2);
    for instance in &config.instances {
        let checks: Vec<(&str, i16)> = instance
            .health_checks
            .iter()
            .map(|check| (check.name.as_str(), check.weight))
            .collect();
        assert_eq!(
            checks,
            [
                ("chk_conntrackd", 0),
                ("chk_uplink", 0),
                ("interface-eth2", 0)
            ],
            "{}",
            instance.name
        );
    }
    assert_round_trip(&config, "39-sync-group-track.conf");
}

/// A group's problems are reported at their lines: a member that is no instance (the
/// native check, at the member's line) and a group of one (a warning: it keeps nothing
/// together); a notify command with arguments carries over with them.
#[test]
fn sync_group_problems_are_reported_at_their_lines() {
    let path = write_conf(
        "sync_group_problems",
        "vrrp_sync_group VG_1 {\n  group {\n    inside\n    nowhere\n  }\n  notify_master \"/bin/echo primary\"\n}\n\
         vrrp_sync_group VG_2 {\n  group {\n    inside\n  }\n}\n\
         vrrp_instance inside {\n  interface eth0\n  virtual_router_id 30\n  virtual_ipaddress {\n    192.0.2.30\n  }\n}\n",
    );
    let errors = errors_of(&path);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains(":4: vrrp_sync_group VG_1.group.nowhere: there is no instance"),
        "{}",
        errors[0]
    );
    let path = write_conf(
        "sync_group_of_one",
        "vrrp_sync_group VG_2 {\n  group {\n    inside\n  }\n}\n\
         vrrp_instance inside {\n  interface eth0\n  virtual_router_id 30\n  virtual_ipaddress {\n    192.0.2.30\n  }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).expect("a group of one only warns");
    assert_eq!(
        summary(&warnings),
        [(1, Severity::Warning, "vrrp_sync_group VG_2".into())]
    );
    assert!(config.sync_groups.is_empty());
}

/// `smtp_alert` per instance, and the global default keepalived applies to instances that
/// do not say; without an `smtp_server` nothing is sent, as in keepalived, with a warning.
#[test]
fn smtp_alert_follows_keepalived_defaults() {
    let instances = "vrrp_instance a {\n  interface eth0\n  virtual_router_id 30\n  \
                     virtual_ipaddress {\n    192.0.2.30\n  }\n}\n\
                     vrrp_instance b {\n  interface eth0\n  virtual_router_id 31\n  smtp_alert off\n  \
                     virtual_ipaddress {\n    192.0.2.31\n  }\n}\n";
    let path = write_conf(
        "smtp_alert_defaults",
        &format!(
            "global_defs {{\n  notification_email {{\n    ops@example.com\n    \
             oncall@example.com\n  }}\n  notification_email_from vrrp@example.com\n  \
             smtp_server 2001:db8::25 2525\n  smtp_connect_timeout 5\n  smtp_alert\n}}\n{instances}"
        ),
    );
    let (config, _) = load_keepalived_conf(&path).expect("loads");
    let alerts: Vec<bool> = config.instances.iter().map(|i| i.email_alerts).collect();
    assert_eq!(alerts, [true, false]);
    let email = config.email_alerts.clone().expect("mail settings");
    assert_eq!(
        (email.smtp_host.as_str(), email.smtp_port),
        ("2001:db8::25", 2525)
    );
    assert_eq!(email.connect_timeout, Duration::from_secs(5));
    assert_eq!(email.to, ["ops@example.com", "oncall@example.com"]);
    assert_round_trip(&config, "smtp_alert_defaults");

    let path = write_conf(
        "smtp_alert_without_server",
        &format!("global_defs {{\n  smtp_alert\n}}\n{instances}"),
    );
    let (config, warnings) = load_keepalived_conf(&path).expect("loads");
    assert!(config.email_alerts.is_none());
    assert!(
        config
            .instances
            .iter()
            .all(|instance| !instance.email_alerts)
    );
    assert_eq!(
        summary(&warnings),
        [(2, Severity::Warning, "global_defs.smtp_alert".into())]
    );
}

/// Every translated keyword: scripts become exec checks with their weight, rise and fall,
/// interfaces and files become checks, unicast, auth, addresses, notify and GARP carry over.
#[test]
fn everything_translates() {
    let (config, warnings) = load("everything.conf");
    assert_eq!(
        summary(&warnings),
        vec![
            (9, Severity::Warning, "vrrp_script chk_app".into()),
            (24, Severity::Warning, "vrrp_instance EDGE_1".into())
        ]
    );
    assert!(
        config.global.exec_checks_as_root,
        "keepalived runs chk_app as root"
    );
    let edge = &config.instances[0];
    assert_eq!(edge.name, "edge_1");
    assert_eq!(edge.interface, "eth1");
    assert_eq!(
        (edge.vrid, edge.priority, edge.version),
        (7, 200, Version::V2)
    );
    assert_eq!(
        edge.advert_interval,
        AdvertInterval::from_secs(2).expect("2 s")
    );
    assert_eq!(edge.preempt, Preempt::Never);
    assert!(!edge.accept_mode);
    let unicast = edge.unicast.as_ref().expect("unicast peers were given");
    assert_eq!(unicast.source, Some(ip("198.51.100.10")));
    assert_eq!(
        unicast.peer_addresses().collect::<Vec<_>>(),
        [ip("198.51.100.11"), ip("198.51.100.12")]
    );
    // keepalived takes unicast adverts from any source without check_unicast_src.
    assert!(!unicast.check_source);
    assert_eq!(edge.auth, password("s3cret"));
    assert_eq!(edge.virtual_addresses[0].label.as_deref(), Some("eth1:vip"));
    assert_eq!(edge.virtual_addresses[0].device.as_deref(), Some("eth1"));
    assert_eq!(edge.virtual_addresses[0].prefix_len, 24);
    assert_eq!(edge.virtual_addresses[1].prefix_len, 32);
    assert_eq!(edge.excluded_addresses[0].address, ip("2001:db8::100"));
    assert_eq!(edge.garp.repeat, 2);
    assert_eq!(edge.garp.second_burst_after, Some(Duration::from_secs(10)));
    assert_eq!(edge.garp.refresh_every, Some(Duration::from_secs(60)));
    assert_eq!(
        edge.notify.on_master.as_deref(),
        Some(Path::new("/usr/local/bin/became-master"))
    );
    assert_eq!(
        edge.notify.on_change.as_deref(),
        Some(Path::new("/usr/local/bin/any-change"))
    );
    assert_eq!(
        edge.notify.fifo.as_deref(),
        Some(Path::new("/run/keepalived.fifo"))
    );

    let checks: Vec<&str> = edge.health_checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(checks, ["chk_app", "interface-eth0", "maintenance"]);
    let script = &edge.health_checks[0];
    assert_eq!(
        script.probe,
        Probe::Exec {
            command: vec![
                "/usr/local/bin/check-app".into(),
                "--port".into(),
                "8080".into()
            ],
            user: None,
            kill_grace: None,
        }
    );
    assert_eq!(script.interval, Duration::from_millis(1500));
    assert_eq!(script.timeout, Duration::from_secs(1));
    assert_eq!((script.rise, script.fall), (3, 2));
    assert_eq!(
        script.weight, 20,
        "the track_script weight overrides the script's"
    );
    let interface = &edge.health_checks[1];
    assert_eq!(
        interface.probe,
        Probe::Interface {
            name: "eth0".into()
        }
    );
    assert_eq!(interface.weight, -30);
    let file = &edge.health_checks[2];
    assert_eq!(
        file.probe,
        Probe::File {
            path: "/var/run/maintenance".into()
        }
    );
    assert_eq!(file.weight, -10);

    let second = &config.instances[1];
    assert_eq!(second.version, Version::V3);
    assert_eq!(
        second.advert_interval,
        AdvertInterval::from_centis(25).expect("0.25 s")
    );
    assert_eq!(second.preempt, Preempt::After(Duration::from_secs(5)));
    assert!(second.accept_mode);
    assert!(second.health_checks.is_empty());
}

/// A vrrp_script's own weight applies when track_script does not override it.
#[test]
fn script_weight_rise_and_fall_carry_over() {
    let (config, _) = load("include/main.conf");
    let check = &config.instances[1].health_checks[0];
    assert_eq!(
        check.probe,
        Probe::Exec {
            command: vec!["/usr/local/bin/check-proxy".into(), "--quick".into()],
            user: None,
            kill_grace: None,
        }
    );
    assert_eq!(check.weight, -20);
    assert_eq!((check.rise, check.fall), (2, 3));
    assert_eq!(check.interval, Duration::from_secs(2));
    assert_eq!(
        check.timeout,
        Duration::from_secs(2),
        "keepalived's default: the interval"
    );
}

/// A password longer than 8 bytes is cut to the 8 keepalived sends, with a warning.
#[test]
fn long_password_is_truncated_with_a_warning() {
    let path = write_conf(
        "long-password",
        "vrrp_instance a {\n interface eth0\n virtual_router_id 1\n authentication {\n  \
         auth_type PASS\n  auth_pass 0123456789\n }\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.instances[0].auth, password("01234567"));
    assert_eq!(
        summary(&warnings),
        vec![(
            6,
            Severity::Warning,
            "vrrp_instance a.authentication.auth_pass".into()
        )]
    );
}

/// Features not carried out yet (issue 17) load with a warning each, at its own line, as
/// keepalived runs them: an ipvlan interface; the virtual routes beside it are carried over
/// without one.
#[test]
fn features_not_yet_carried_out_warn_and_load() {
    let path = write_conf(
        "refused",
        "vrrp_instance a {\n interface eth0\n virtual_router_id 1\n use_ipvlan\n \
         virtual_routes {\n  \
         192.0.2.0/24 via 192.0.2.254 dev eth0\n }\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    let printed: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    let lines: Vec<&str> = printed
        .iter()
        .map(|warning| warning.split(": ").next().expect("split yields one part"))
        .collect();
    let file = path.display();
    assert_eq!(lines, [format!("{file}:4")], "{printed:#?}");
    assert!(
        printed
            .iter()
            .all(|warning| warning.contains("not carried out yet (issue 17)"))
    );
    let routes: Vec<String> = config.instances[0]
        .virtual_routes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(routes, ["192.0.2.0/24 via 192.0.2.254 dev eth0"]);
}

/// `auth_type AH` becomes `type = "ah"` with the password as the key, without a warning,
/// and the native file written from it says so.
#[test]
fn ah_authentication_is_translated() {
    let path = write_conf(
        "ah",
        "vrrp_instance a {\n interface eth0\n virtual_router_id 1\n \
         authentication {\n  auth_type AH\n  auth_pass secret1\n }\n \
         virtual_ipaddress {\n 192.0.2.1\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert!(warnings.is_empty(), "{warnings:#?}");
    assert_eq!(
        config.instances[0].auth,
        Auth::AuthenticationHeader(*b"secret1\0")
    );
    let native = to_native_toml(&config);
    assert!(
        native.contains("type = \"ah\"") && native.contains("password = \"secret1\""),
        "{native}"
    );
}

/// A value the native loader refuses is reported at the keepalived line it came from (a VRID
/// out of range); a fractional VRRPv2 interval is rounded with a warning, as keepalived
/// rounds it.
#[test]
fn native_checks_point_at_keepalived_lines() {
    let path = write_conf(
        "fractional-v2",
        "vrrp_instance a {\n interface eth0\n virtual_router_id 300\n advert_int 1.5\n \
         virtual_ipaddress {\n 192.0.2.1\n }\n}\n",
    );
    let errors = errors_of(&path);
    let file = path.display();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with(&format!("{file}:3: vrrp_instance a.virtual_router_id: ")),
        "{}",
        errors[0]
    );
    let path = write_conf(
        "fractional-v2-rounded",
        "vrrp_instance a {\n interface eth0\n virtual_router_id 30\n advert_int 1.5\n \
         virtual_ipaddress {\n 192.0.2.1\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        summary(&warnings),
        [(4, Severity::Warning, "vrrp_instance a.advert_int".into())]
    );
    assert_eq!(
        config.instances[0].advert_interval.as_duration(),
        Duration::from_secs(2)
    );
}

/// `state MASTER` and `nopreempt` together: keepalived ignores `nopreempt`, and so does the
/// translation, with a warning.
#[test]
fn nopreempt_with_state_master_is_ignored_as_in_keepalived() {
    let path = write_conf(
        "nopreempt-master",
        "vrrp_instance a {\n state MASTER\n nopreempt\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {\n 192.0.2.1\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.instances[0].preempt, Preempt::After(Duration::ZERO));
    assert_eq!(
        summary(&warnings),
        vec![
            (2, Severity::Warning, "vrrp_instance a.state".into()),
            (3, Severity::Warning, "vrrp_instance a.nopreempt".into()),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Conversion to native TOML

fn assert_round_trip(config: &Config, name: &str) {
    let text = to_native_toml(config);
    let reloaded = Config::from_str(&text, Format::Toml, name)
        .unwrap_or_else(|error| panic!("{name} as TOML does not load:\n{error}\n{text}"));
    assert_eq!(&reloaded, config, "{name} changed on the way:\n{text}");
}

/// Every fixture that loads converts to native TOML that loads back to an equal Config.
#[test]
fn keepalived_fixtures_round_trip_through_native_toml() {
    for name in [
        "seed-master.conf",
        "seed-backup.conf",
        "include/main.conf",
        "ipv6.conf",
        "everything.conf",
    ] {
        assert_round_trip(&load(name).0, name);
    }
}

/// So do the native examples, which set what keepalived.conf cannot (TLS, YAML, checks).
#[test]
fn native_examples_round_trip_through_native_toml() {
    for entry in std::fs::read_dir("examples").expect("examples/ exists in the package") {
        let path = entry.expect("a readable directory entry").path();
        if Format::from_path(&path).is_none() {
            continue;
        }
        let config = Config::load(&path).unwrap_or_else(|error| panic!("{error}"));
        assert_round_trip(&config, &path.display().to_string());
    }
}

// ---------------------------------------------------------------------------------------
// Robustness

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any text, keepalived-like or not, loads or fails with errors; it never panics.
    #[test]
    fn random_text_never_panics(
        text in r#"([a-z_ ]{0,12}|[{}#!"\n]|192\.0\.2\.[0-9]{1,3}|vrrp_instance|include \*)*"#
    ) {
        let path = write_conf("random", &text);
        let _ = load_keepalived_conf(&path);
    }

    /// Every prefix of the seed master, cut at any character, never panics.
    #[test]
    fn truncated_seed_never_panics(cut in 0usize..2000) {
        let seed = std::fs::read_to_string(fixture("seed-master.conf")).expect("the fixture exists");
        let end = seed.char_indices().map(|(index, _)| index).nth(cut).unwrap_or(seed.len());
        let path = write_conf("truncated", &seed[..end]);
        let _ = load_keepalived_conf(&path);
    }
}

/// A vrrp_script's `user` and `init_fail` carry over; a group is left out with a warning
/// (the script runs with the user's primary group).
#[test]
fn script_user_and_init_fail_carry_over() {
    let text = |user_line: &str| {
        format!(
            "vrrp_script chk {{\n  script \"/usr/local/bin/check\"\n  {user_line}\n  init_fail\n}}\n\
             vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n\
             \x20 virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n  track_script {{\n    chk\n  }}\n}}\n"
        )
    };
    let path = write_conf("script_user_and_init_fail", &text("user nobody"));
    let (config, _) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    let check = &config.instances[0].health_checks[0];
    assert_eq!(
        check.probe,
        Probe::Exec {
            command: vec!["/usr/local/bin/check".into()],
            user: Some("nobody".into()),
            kill_grace: None,
        }
    );
    assert!(check.init_fail);
    let path = write_conf("script_user_with_group", &text("user nobody nogroup"));
    let (_, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        summary(&warnings),
        [
            (3, Severity::Warning, "vrrp_script chk.user".into()),
            (6, Severity::Warning, "vrrp_instance VI_1".into())
        ]
    );
}

/// `script_user` runs every script without its own `user` as that user, so nothing runs as
/// root and `exec_checks_as_root` stays off.
#[test]
fn script_user_is_the_default_user_of_scripts() {
    let path = std::path::Path::new("tests/fixtures/keepalived-corpus/37-script-user.conf");
    let (config, _) = load_keepalived_conf(path).expect("loads");
    let users: Vec<(&str, Option<&str>)> = config.instances[0]
        .health_checks
        .iter()
        .map(|check| match &check.probe {
            Probe::Exec { user, .. } => (check.name.as_str(), user.as_deref()),
            other => panic!("not an exec check: {other:?}"),
        })
        .collect();
    assert_eq!(
        users,
        [("chk_nginx", Some("nobody")), ("chk_own", Some("daemon"))]
    );
    assert!(!config.global.exec_checks_as_root);
}

// ---------------------------------------------------------------------------------------
// keepalived 2.2.7's verdicts

/// Every keyword keepalived 2.2.7's VRRP process installs (vrrp_parser.c and
/// global_parser.c, extracted into the fixture) is in the keyword table, in its block.
#[test]
fn the_keyword_table_covers_keepalived_2_2_7() {
    use vrrp_sidecar::config::keepalived::keywords::{KEYWORDS, lookup};
    let listed = std::fs::read_to_string("tests/fixtures/keepalived-keywords/keepalived-2.2.7.txt")
        .expect("the keyword list is readable");
    let mut count = 0;
    let mut missing = Vec::new();
    for line in listed
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
    {
        let (context, keyword) = line.split_once(' ').expect("CONTEXT KEYWORD");
        let context = if context == "-" { "" } else { context };
        count += 1;
        if lookup(context, keyword).is_none() {
            missing.push(line.to_owned());
        }
    }
    assert_eq!(count, 248, "the extracted list has 248 keywords");
    assert!(missing.is_empty(), "not in the table: {missing:#?}");
    assert!(KEYWORDS.len() >= 231);
}

/// Notify programs keep the arguments written in the file, split as keepalived splits them
/// (quotes, single quotes, escapes); a bare program name is found on the PATH.
#[test]
fn notify_programs_keep_their_arguments() {
    let path = write_conf(
        "notify-arguments",
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n \
         virtual_ipaddress {\n  192.0.2.7\n }\n \
         notify_master \"/etc/keepalived/notify.sh master 'two words'\"\n \
         notify_backup '/etc/keepalived/notify.sh backup'\n \
         notify \"sh -c 'echo $1 >> /tmp/x'\"\n}\n",
    );
    let (config, _) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    let notify = &config.instances[0].notify;
    assert_eq!(
        notify.on_master.as_deref(),
        Some(Path::new("/etc/keepalived/notify.sh"))
    );
    assert_eq!(notify.arguments.on_master, ["master", "two words"]);
    assert_eq!(notify.arguments.on_backup, ["backup"]);
    let shell = notify.on_change.as_deref().expect("sh is on the PATH");
    assert!(shell.is_absolute() && shell.ends_with("sh"), "{shell:?}");
    assert_eq!(notify.arguments.on_change, ["-c", "echo $1 >> /tmp/x"]);
    assert_round_trip(&config, "notify-arguments");
}

/// An unquoted notify line: keepalived takes the third word as the user to run the program
/// as; with no such user it ignores the program, with a warning here too.
#[test]
fn an_unquoted_notify_line_names_a_user_as_keepalived_reads_it() {
    let path = write_conf(
        "notify-unquoted",
        "vrrp_instance web {\n interface eth0\n virtual_router_id 7\n \
         virtual_ipaddress {\n  192.0.2.7\n }\n \
         notify_master /etc/keepalived/notify.sh no-such-user-here\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(config.instances[0].notify.on_master, None);
    assert_eq!(
        summary(&warnings),
        [(
            7,
            Severity::Warning,
            "vrrp_instance web.notify_master".into()
        )]
    );
}

/// With `enable_script_security` and no `script_user`, keepalived 2.2.7 runs scripts and
/// notify programs as the user keepalived_script, and where there is no such user it
/// refuses root in its place: it removes every script without a `user` of its own and
/// ignores every notify program (seen in the lab: "Unable to set default user for vrrp script
/// chk - removing", "Failed to set default user for notify script ... - ignoring"). Without
/// `enable_script_security` it falls back to root.
#[test]
fn script_security_without_a_script_user_follows_keepalived() {
    let body = "vrrp_script chk {\n script /bin/true\n}\n\
                vrrp_script own {\n script /bin/true\n user root\n}\n\
                vrrp_instance web {\n interface eth0\n virtual_router_id 7\n \
                virtual_ipaddress {\n  192.0.2.7\n }\n \
                track_script {\n  chk\n  own\n }\n \
                notify_master \"/bin/true master\"\n}\n";
    let secure = write_conf(
        "script-security-default-user",
        &format!("global_defs {{\n enable_script_security\n}}\n{body}"),
    );
    let (config, warnings) =
        load_keepalived_conf(&secure).unwrap_or_else(|error| panic!("{error}"));
    let checks = |config: &Config| -> Vec<(String, Option<String>)> {
        config.instances[0]
            .health_checks
            .iter()
            .map(|check| match &check.probe {
                Probe::Exec { user, .. } => (check.name.clone(), user.clone()),
                other => panic!("not an exec check: {other:?}"),
            })
            .collect()
    };
    let has_default_user = nix::unistd::User::from_name("keepalived_script")
        .ok()
        .flatten()
        .is_some();
    if has_default_user {
        assert_eq!(
            checks(&config),
            [
                ("chk".to_owned(), Some("keepalived_script".to_owned())),
                ("own".to_owned(), Some("root".to_owned()))
            ]
        );
        assert!(config.instances[0].notify.on_master.is_some());
    } else {
        assert_eq!(
            checks(&config),
            [("own".to_owned(), Some("root".to_owned()))]
        );
        assert_eq!(config.instances[0].notify.on_master, None);
        let removed: Vec<String> = warnings
            .iter()
            .filter(|warning| warning.message.contains("no user to run it as"))
            .map(|warning| warning.keyword_path.to_string())
            .collect();
        assert_eq!(
            removed,
            ["vrrp_script chk", "vrrp_instance web.notify_master"]
        );
    }
    // Without enable_script_security, root when there is no keepalived_script.
    let open = write_conf("script-security-off", body);
    let (config, _) = load_keepalived_conf(&open).unwrap_or_else(|error| panic!("{error}"));
    let expected_chk_user = has_default_user.then(|| "keepalived_script".to_owned());
    assert_eq!(checks(&config)[0], ("chk".to_owned(), expected_chk_user));
    assert!(config.instances[0].notify.on_master.is_some());
}

/// A `user` or `script_user` naming a user or group the host does not have: keepalived 2.2.7
/// removes the scripts that would run as it and ignores the notify programs, with or without
/// `enable_script_security` (seen with `keepalived -t`: "Error setting global script uid/gid",
/// "Unable to set default user for vrrp script chk_default - removing", "Unable to set uid/gid
/// for script"). Scripts with a user of their own that exists are kept.
#[test]
fn unknown_script_users_remove_scripts_as_keepalived_does() {
    let path = write_conf(
        "unknown-script-user",
        "global_defs {\n script_user no_such_user_vrrp_sidecar_test\n}\n\
         vrrp_script chk_default {\n script /bin/true\n}\n\
         vrrp_script chk_unknown {\n script /bin/true\n user no_such_user_vrrp_sidecar_test2\n}\n\
         vrrp_script chk_bad_group {\n script /bin/true\n user nobody no_such_group_vrrp_test\n}\n\
         vrrp_script chk_known {\n script /bin/true\n user nobody\n}\n\
         vrrp_instance web {\n interface eth0\n virtual_router_id 7\n \
         virtual_ipaddress {\n  192.0.2.7\n }\n \
         track_script {\n  chk_default\n  chk_unknown\n  chk_bad_group\n  chk_known\n }\n \
         notify_master \"/bin/true master\"\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    let checks: Vec<&str> = config.instances[0]
        .health_checks
        .iter()
        .map(|check| check.name.as_str())
        .collect();
    assert_eq!(checks, ["chk_known"]);
    assert_eq!(config.instances[0].notify.on_master, None);
    let at = |line: usize| {
        warnings
            .iter()
            .find(|warning| matches!(warning.source_location, SourceLocation::Line { line: at, .. } if at == line))
            .unwrap_or_else(|| panic!("no warning at line {line}: {warnings:?}"))
            .message
            .clone()
    };
    assert!(
        at(2).contains("no user \"no_such_user_vrrp_sidecar_test\""),
        "{}",
        at(2)
    );
    assert!(at(4).contains("no user to run it as"), "{}", at(4));
    assert!(at(9).contains("removed"), "{}", at(9));
    assert!(
        at(13).contains("no group \"no_such_group_vrrp_test\""),
        "{}",
        at(13)
    );
    assert!(at(31).contains("no user to run it as"), "{}", at(31));
}

/// `check_unicast_src`, `lower_prio_no_advert` and `dont_track_primary`, per instance or for all from global_defs
/// (`vrrp_check_unicast_src`, `vrrp_lower_prio_no_advert`), as keepalived 2.2.7 reads them:
/// the instance's own `lower_prio_no_advert off` wins over the global one.
#[test]
fn unicast_source_checks_and_quiet_masters_carry_over() {
    let instance = |name: &str, vrid: u8, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n \
             virtual_ipaddress {{\n  192.0.2.{vrid}\n }}\n \
             unicast_peer {{\n  192.0.2.200\n }}\n{extra}}}\n"
        )
    };
    let local = write_conf(
        "unicast-checks-local",
        &[
            instance("plain", 1, ""),
            instance(
                "checked",
                2,
                " check_unicast_src\n lower_prio_no_advert\n dont_track_primary\n",
            ),
        ]
        .concat(),
    );
    let (config, warnings) = load_keepalived_conf(&local).unwrap_or_else(|error| panic!("{error}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    let flags = |config: &Config| -> Vec<(String, bool, bool)> {
        config
            .instances
            .iter()
            .map(|instance| {
                let unicast = instance.unicast.as_ref().expect("unicast peers were given");
                (
                    instance.name.clone(),
                    unicast.check_source,
                    instance.lower_prio_no_advert,
                )
            })
            .collect()
    };
    assert_eq!(
        flags(&config),
        [
            ("checked".to_owned(), true, true),
            ("plain".to_owned(), false, false)
        ]
    );
    let untracked: Vec<bool> = config
        .instances
        .iter()
        .map(|instance| instance.dont_track_primary)
        .collect();
    assert_eq!(
        untracked,
        [true, false],
        "dont_track_primary of checked, plain"
    );
    let global = write_conf(
        "unicast-checks-global",
        &[
            "global_defs {\n vrrp_check_unicast_src\n vrrp_lower_prio_no_advert\n}\n",
            &instance("plain", 1, ""),
            &instance("loud", 2, " lower_prio_no_advert off\n"),
        ]
        .concat(),
    );
    let (config, _) = load_keepalived_conf(&global).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        flags(&config),
        [
            ("loud".to_owned(), true, false),
            ("plain".to_owned(), true, true)
        ]
    );
    // convert keeps them.
    let native = to_native_toml(&config);
    let reloaded = Config::from_str(&native, Format::Toml, "converted.toml")
        .unwrap_or_else(|error| panic!("{error}\n{native}"));
    assert_eq!(flags(&reloaded), flags(&config));
}

/// `down_timer_adverts` (and its global form), `vrrp_startup_delay` and `unicast_ttl` carry
/// over as keepalived runs them: strict mode resets the down timer, `unicast_ttl` without
/// peers is reset, values keepalived refuses are refused at their line.
#[test]
fn timer_and_ttl_switches_carry_over_as_keepalived_runs_them() {
    let instance = |name: &str, vrid: u8, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n \
             virtual_ipaddress {{\n  192.0.2.{vrid}\n }}\n{extra}}}\n"
        )
    };
    let path = write_conf(
        "timer-switches",
        &[
            "global_defs {\n vrrp_down_timer_adverts 5\n vrrp_startup_delay 2.5\n}\n",
            &instance("inherits", 1, ""),
            &instance("own", 2, " down_timer_adverts 1\n"),
            &instance("strict", 3, " strict_mode\n"),
            &instance(
                "routed",
                4,
                " unicast_peer {\n  198.51.100.4\n }\n unicast_ttl 2\n",
            ),
            &instance("multicast_ttl", 5, " unicast_ttl 2\n"),
        ]
        .concat(),
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(config.global.startup_delay, Duration::from_millis(2500));
    let switches = |config: &Config| -> Vec<(String, u8, Option<u8>)> {
        config
            .instances
            .iter()
            .map(|instance| {
                (
                    instance.name.clone(),
                    instance.down_timer_adverts.get(),
                    instance.unicast.as_ref().map(|unicast| unicast.ttl),
                )
            })
            .collect()
    };
    assert_eq!(
        switches(&config),
        [
            ("inherits".to_owned(), 5, None),
            ("multicast_ttl".to_owned(), 5, None),
            ("own".to_owned(), 1, None),
            ("routed".to_owned(), 5, Some(2)),
            ("strict".to_owned(), 3, None),
        ]
    );
    let reset: Vec<(usize, String, String)> = warnings
        .iter()
        .filter(|warning| warning.message.contains("resets it"))
        .map(|warning| match &warning.source_location {
            SourceLocation::Line { line, .. } => (
                *line,
                warning.keyword_path.to_string(),
                warning.message.clone(),
            ),
            other => panic!("a warning without a line: {other}"),
        })
        .collect();
    assert_eq!(reset.len(), 2, "{reset:#?}");
    assert_eq!(reset[0].0, 2, "strict mode resets the global down timer");
    assert!(reset[0].2.contains("three adverts"), "{reset:#?}");
    assert_eq!(reset[1].1, "vrrp_instance multicast_ttl.unicast_ttl");
    // convert keeps them.
    let native = to_native_toml(&config);
    let reloaded = Config::from_str(&native, Format::Toml, "converted.toml")
        .unwrap_or_else(|error| panic!("{error}\n{native}"));
    assert_eq!(switches(&reloaded), switches(&config));
    assert_eq!(reloaded.global.startup_delay, config.global.startup_delay);
    // keepalived's ranges: 1..=100 adverts ("Invalid down_timer_adverts [1:100]").
    let refused = write_conf(
        "timer-switches-refused",
        &instance("a", 1, " down_timer_adverts 101\n"),
    );
    let errors = errors_of(&refused);
    assert!(
        errors
            .iter()
            .any(|error| error.contains(":7:") && error.contains("1..100")),
        "{errors:#?}"
    );
}

/// An empty `unicast_peer` block: multicast with keepalived's warning, or, with
/// `unicast_fault_no_peer`, unicast without peers, which keeps the instance in Fault.
#[test]
fn an_empty_unicast_peer_block_is_multicast_or_a_fault_as_in_keepalived() {
    let text = |extra: &str| {
        format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress {{\n  192.0.2.1\n }}\n unicast_peer {{\n }}\n{extra}}}\n"
        )
    };
    let multicast = write_conf("empty-peers-multicast", &text(""));
    let (config, warnings) =
        load_keepalived_conf(&multicast).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(config.instances[0].unicast, None);
    assert_eq!(
        summary(&warnings),
        [
            (1, Severity::Warning, "vrrp_instance VI_1".to_owned()),
            (
                7,
                Severity::Warning,
                "vrrp_instance VI_1.unicast_peer".to_owned()
            )
        ],
        "the renamed instance, and the empty block"
    );
    let parked = write_conf("empty-peers-fault", &text(" unicast_fault_no_peer\n"));
    let (config, warnings) =
        load_keepalived_conf(&parked).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(warnings.len(), 1, "only the renamed instance: {warnings:?}");
    let unicast = config.instances[0].unicast.as_ref().expect("unicast kept");
    assert!(unicast.peers.is_empty());
    let native = to_native_toml(&config);
    let reloaded = Config::from_str(&native, Format::Toml, "converted.toml")
        .unwrap_or_else(|error| panic!("{error}\n{native}"));
    assert_eq!(reloaded.instances[0].unicast, config.instances[0].unicast);
}

/// `unicast_peer { ADDRESS min_ttl N max_ttl M }` is read as keepalived 2.2.7 reads it, as
/// measured here with `keepalived -d`: a valid option sets the peer's range and turns the
/// source check on; a bad number is skipped and an unknown option ends the line, each with a
/// warning; a minimum above the maximum is kept with one. The result converts to native TOML
/// and back unchanged.
#[test]
fn unicast_peer_ttl_ranges_are_read_as_keepalived_reads_them() {
    let text = |peers: &str| {
        format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress {{\n  192.0.2.1\n }}\n unicast_peer {{\n{peers} }}\n}}\n"
        )
    };
    let range = |lowest: u8, highest: u8| HopLimits { lowest, highest };
    /// The peer lines; the peers and ranges read; whether the source is checked; the lines
    /// warned about.
    type Case<'a> = (&'a str, &'a [(&'a str, HopLimits)], bool, &'a [usize]);
    let cases: [Case; 6] = [
        (
            "  192.0.2.2 min_ttl 3 max_ttl 10\n  192.0.2.3 max_ttl 64\n  192.0.2.4\n",
            &[
                ("192.0.2.2", range(3, 10)),
                ("192.0.2.3", range(0, 64)),
                ("192.0.2.4", HopLimits::ANY),
            ],
            true,
            &[],
        ),
        (
            "  192.0.2.2 min_ttl 300\n",
            &[("192.0.2.2", HopLimits::ANY)],
            false,
            &[8],
        ),
        (
            "  192.0.2.2 min_ttl x max_ttl 7\n",
            &[("192.0.2.2", range(0, 7))],
            true,
            &[8],
        ),
        (
            "  192.0.2.2 foo 3 min_ttl 5\n",
            &[("192.0.2.2", HopLimits::ANY)],
            false,
            &[8],
        ),
        (
            "  192.0.2.2 min_ttl 2 max_ttl\n",
            &[("192.0.2.2", range(2, 255))],
            true,
            &[8],
        ),
        (
            "  192.0.2.2 min_ttl 10 max_ttl 3\n",
            &[("192.0.2.2", range(10, 3))],
            true,
            &[8],
        ),
    ];
    for (peers, expected, checked, warned_lines) in cases {
        let path = write_conf("unicast-peer-ttl", &text(peers));
        let (config, warnings) =
            load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{peers}: {error}"));
        let unicast = config.instances[0].unicast.as_ref().expect("unicast");
        let got: Vec<(IpAddr, HopLimits)> = unicast
            .peers
            .iter()
            .map(|peer| (peer.address, peer.hop_limits))
            .collect();
        let want: Vec<(IpAddr, HopLimits)> = expected
            .iter()
            .map(|(address, limits)| (ip(address), *limits))
            .collect();
        assert_eq!(got, want, "{peers}");
        assert_eq!(unicast.check_source, checked, "{peers}");
        let peer_warnings: Vec<usize> = summary(&warnings)
            .into_iter()
            .filter(|(_, _, path)| path.contains("unicast_peer"))
            .map(|(line, severity, _)| {
                assert_eq!(severity, Severity::Warning);
                line
            })
            .collect();
        assert_eq!(peer_warnings, warned_lines, "{peers}: {warnings:#?}");
        let native = to_native_toml(&config);
        let reloaded = Config::from_str(&native, Format::Toml, "converted.toml")
            .unwrap_or_else(|error| panic!("{error}\n{native}"));
        assert_eq!(reloaded.instances[0].unicast, config.instances[0].unicast);
    }
}

/// More than 255 virtual addresses: keepalived 2.2.7 moves the rest to the excluded ones
/// with a warning and runs (314 were all added in the lab here); so does the translation,
/// and the result converts to native TOML and back unchanged.
#[test]
fn addresses_beyond_255_are_held_unadvertised_as_keepalived_holds_them() {
    let addresses: String = (1..=254)
        .map(|host| format!("  198.51.100.{host}/32\n"))
        .chain((100..160).map(|host| format!("  192.0.2.{host}/32\n")))
        .collect();
    let path = write_conf(
        "many-addresses",
        &format!(
            "vrrp_instance vi {{\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress {{\n{addresses} }}\n virtual_ipaddress_excluded {{\n  \
             192.0.2.200/32\n }}\n}}\n"
        ),
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    let instance = &config.instances[0];
    assert_eq!(instance.virtual_addresses.len(), 255);
    assert_eq!(
        instance.virtual_addresses[254].address,
        ip("192.0.2.100"),
        "the first 255 as written"
    );
    let excluded: Vec<IpAddr> = instance
        .excluded_addresses
        .iter()
        .map(|address| address.address)
        .collect();
    assert_eq!(excluded.len(), 60);
    assert_eq!(excluded[0], ip("192.0.2.200"), "the excluded ones first");
    assert_eq!(excluded[1], ip("192.0.2.101"));
    assert_eq!(
        summary(&warnings),
        [(
            4,
            Severity::Warning,
            "vrrp_instance vi.virtual_ipaddress".to_owned()
        )]
    );
    let native = to_native_toml(&config);
    let reloaded = Config::from_str(&native, Format::Toml, "converted.toml")
        .unwrap_or_else(|error| panic!("{error}\n{native}"));
    assert_eq!(reloaded.instances, config.instances);
}

/// Script lines are split as keepalived splits them: a single-quoted command, a command
/// with nested quotes, words after the command ignored with a warning.
#[test]
fn script_lines_are_split_as_keepalived_splits_them() {
    let path = write_conf(
        "script-quotes",
        "vrrp_script a {\n script 'pidof haproxy'\n}\n\
         vrrp_script b {\n script \"/bin/sh -c 'curl -s http://127.0.0.1/ | grep -q ok'\"\n}\n\
         vrrp_script c {\n script /usr/bin/killall -0 haproxy\n}\n\
         vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n \
         virtual_ipaddress {\n  192.0.2.7\n }\n track_script {\n  a\n  b\n  c\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    let commands: Vec<Vec<String>> = config.instances[0]
        .health_checks
        .iter()
        .map(|check| match &check.probe {
            Probe::Exec { command, .. } => command.clone(),
            other => panic!("not an exec check: {other:?}"),
        })
        .collect();
    assert_eq!(
        commands,
        [
            vec!["pidof", "haproxy"],
            vec!["/bin/sh", "-c", "curl -s http://127.0.0.1/ | grep -q ok"],
            vec!["/usr/bin/killall"],
        ]
    );
    assert!(
        summary(&warnings).contains(&(8, Severity::Warning, "vrrp_script c.script".into())),
        "{warnings:#?}"
    );
}

/// keepalived's `$NAME=value`, `${NAME}` and `@id` / `@^id` lines, with `--config-id`. A
/// bare `$NAME` is replaced only before a blank, `,`, `)` or the end of the line, as in
/// keepalived's find_definition(): `$VIP/24` stays as written, and is skipped as no address,
/// as keepalived skips it.
#[test]
fn definitions_and_conditional_lines_follow_keepalived() {
    use vrrp_sidecar::config::{KeepalivedOptions, load_keepalived_conf_with};
    let path = write_conf(
        "conditional",
        "$IF=eth0\n$VIP=192.0.2.9\nvrrp_instance VI_${IF} {\n interface $IF\n \
         virtual_router_id 9\n@lb1 priority 150\n@^lb1 priority 100\n \
         virtual_ipaddress {\n  ${VIP}/24\n  $VIP/24\n }\n}\n",
    );
    let priority = |id: &str| {
        let options = KeepalivedOptions {
            config_id: Some(id.to_owned()),
            strict: false,
        };
        let (config, _) =
            load_keepalived_conf_with(&path, &options).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(config.instances[0].interface, "eth0");
        assert_eq!(
            config.instances[0].virtual_addresses[0].address,
            ip("192.0.2.9")
        );
        config.instances[0].priority
    };
    // keepalived 2.2.7: "VRRP parsed invalid IP $VIP/24. skipping IP...", and it runs.
    let (_, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert!(
        summary(&warnings).contains(&(
            10,
            Severity::Warning,
            "vrrp_instance VI_eth0.virtual_ipaddress.$VIP/24".into()
        )),
        "{warnings:#?}"
    );
    assert_eq!(priority("lb1"), 150);
    assert_eq!(priority("lb2"), 100);
}

/// A VRRPv2 instance without virtual addresses loads with a warning, as keepalived runs it;
/// a VRRPv3 one is refused, as keepalived refuses it.
#[test]
fn instances_without_addresses_load_for_vrrpv2_only() {
    let path = write_conf(
        "no-vip",
        "vrrp_instance web {\n interface eth0\n virtual_router_id 7\n \
         notify_master /usr/local/bin/take-eip\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert!(config.instances[0].virtual_addresses.is_empty());
    assert_eq!(config.instances[0].version, Version::V2);
    assert_eq!(
        summary(&warnings),
        [(1, Severity::Warning, "vrrp_instance web".into())]
    );
    assert_round_trip(&config, "no-vip");
    let path = write_conf(
        "no-vip-v3",
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n version 3\n}\n",
    );
    assert_eq!(errors_of(&path).len(), 1, "{:#?}", errors_of(&path));
}

/// `strict` turns every warning into an error.
#[test]
fn strict_makes_warnings_errors() {
    use vrrp_sidecar::config::{KeepalivedOptions, load_keepalived_conf_with};
    let strict = KeepalivedOptions {
        config_id: None,
        strict: true,
    };
    let path = fixture("unknown-keyword.conf");
    let error = load_keepalived_conf_with(&path, &strict).expect_err("a warning fails");
    assert_eq!(error.problems().len(), 1);
    assert!(
        error.to_string().contains("(an error with --strict)"),
        "{error}"
    );
}

/// `vrrp_strict` drops authentication, as keepalived's strict mode does (so both ends of a
/// link send the same adverts), and refuses unicast peers, as keepalived does.
#[test]
fn strict_mode_drops_authentication_and_refuses_unicast() {
    let text = |peers: &str| {
        format!(
            "global_defs {{\n vrrp_strict\n}}\nvrrp_instance web {{\n interface eth0\n \
             virtual_router_id 7\n authentication {{\n  auth_type PASS\n  auth_pass secret\n }}\n\
             {peers} virtual_ipaddress {{\n  192.0.2.7\n }}\n}}\n"
        )
    };
    let path = write_conf("strict", &text(""));
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(config.instances[0].auth, Auth::None);
    assert!(config.instances[0].strict_mode);
    // keepalived's default in strict mode: accept mode for the owner only.
    assert!(!config.instances[0].accept_mode);
    assert_eq!(
        summary(&warnings),
        [(
            7,
            Severity::Warning,
            "vrrp_instance web.authentication".into()
        )]
    );
    let path = write_conf(
        "strict-unicast",
        &text(" unicast_peer {\n  192.0.2.8\n }\n"),
    );
    let errors = errors_of(&path);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains(":11: vrrp_instance web.unicast_peer: "),
        "{errors:#?}"
    );
}

/// What keepalived 2.2.7 resets in strict mode and runs on (vrrp.c,
/// `vrrp_complete_instance`) is reset here too, each with a warning at its line; the
/// instance's own `strict_mode off` wins over `vrrp_strict`; and the result converts to
/// native TOML and back unchanged.
#[test]
fn strict_mode_resets_what_keepalived_resets_with_a_warning_each() {
    let text = [
        "global_defs {",
        " vrrp_strict",
        " vrrp_version 2",
        "}",
        "vrrp_instance six {",
        " interface eth0",
        " virtual_router_id 6",
        " version 2",
        " preempt_delay 5",
        " virtual_ipaddress {",
        "  2001:db8::6/64 dev eth0",
        " }",
        "}",
        "vrrp_instance four {",
        " interface eth0",
        " virtual_router_id 4",
        " accept",
        " virtual_ipaddress {",
        "  192.0.2.4/24",
        " }",
        "}",
        "vrrp_instance owner {",
        " interface eth0",
        " virtual_router_id 5",
        " priority 255",
        " virtual_ipaddress {",
        "  192.0.2.5/24",
        " }",
        "}",
        "vrrp_instance loose {",
        " interface eth0",
        " virtual_router_id 8",
        " strict_mode off",
        " preempt_delay 5",
        " virtual_ipaddress {",
        "  192.0.2.8/24",
        " }",
        "}",
    ]
    .join("\n");
    let path = write_conf("strict-resets", &text);
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    let instance = |name: &str| {
        config
            .instances
            .iter()
            .find(|instance| instance.name == name)
            .unwrap_or_else(|| panic!("no instance {name}"))
    };
    let six = instance("six");
    assert!(six.strict_mode);
    assert_eq!(six.version, Version::V3);
    assert_eq!(six.preempt, Preempt::After(Duration::ZERO));
    assert!(!six.accept_mode);
    let four = instance("four");
    assert!(four.strict_mode);
    assert!(
        !four.accept_mode,
        "accept is reset for VRRPv2 in strict mode"
    );
    let owner = instance("owner");
    assert!(owner.strict_mode);
    assert!(owner.accept_mode, "the owner accepts in strict mode");
    let loose = instance("loose");
    assert!(!loose.strict_mode);
    assert!(loose.accept_mode);
    assert_eq!(loose.preempt, Preempt::After(Duration::from_secs(5)));
    assert_eq!(
        summary(&warnings),
        [
            (8, Severity::Warning, "vrrp_instance six.version".into()),
            (
                9,
                Severity::Warning,
                "vrrp_instance six.preempt_delay".into()
            ),
            (
                10,
                Severity::Warning,
                "vrrp_instance six.virtual_ipaddress".into()
            ),
            (17, Severity::Warning, "vrrp_instance four.accept".into()),
        ]
    );
    assert_round_trip(&config, "strict-resets");
}

/// Strict mode refuses what keepalived refuses: a VRRPv2 instance without addresses.
#[test]
fn strict_mode_refuses_an_instance_without_addresses() {
    let path = write_conf(
        "strict-no-vip",
        "global_defs {\n vrrp_strict\n}\nvrrp_instance bare {\n interface eth0\n \
         virtual_router_id 9\n}\n",
    );
    let errors = errors_of(&path);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("strict mode needs at least one virtual address"),
        "{errors:#?}"
    );
}

/// `virtual_routes`, `virtual_rules`, `static_routes` and `static_rules` are carried over as
/// keepalived reads them: what it corrects is corrected with a warning at the entry's line
/// (`gw`, a tracked route's protocol or missing `dev`, a rule's missing preference, counted
/// down from 16384 across the file), and what it skips is skipped with one.
#[test]
fn routes_and_rules_carry_over_with_keepalived_corrections() {
    let path = write_conf(
        "routes",
        "static_routes {\n 198.51.100.0/26 via 192.0.2.254 dev eth0 table 200\n}\n\
         static_rules {\n from 198.51.100.1/32 table 200\n}\n\
         vrrp_instance a {\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {\n  192.0.2.1\n }\n virtual_routes {\n  \
         192.0.2.0/25 gw 192.0.2.254 dev eth0 protocol static\n  \
         198.51.100.128/25 via 192.0.2.254\n  198.51.100.0/24 mtu 1400 dev eth0\n  \
         nonsense\n }\n virtual_rules {\n  from 192.0.2.1 table 100\n  \
         inet6 from 2001:db8::1 table 100\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    let routes: Vec<String> = config.instances[0]
        .virtual_routes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        routes,
        [
            "192.0.2.0/25 via 192.0.2.254 dev eth0 protocol keepalived",
            "198.51.100.128/25 via 192.0.2.254 no_track"
        ]
    );
    let rules: Vec<String> = config.instances[0]
        .virtual_rules
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        rules,
        [
            "priority 16383 from 192.0.2.1/32 table 100",
            "inet6 priority 16384 from 2001:db8::1/128 table 100"
        ]
    );
    assert_eq!(
        config.static_routes[0].to_string(),
        "198.51.100.0/26 via 192.0.2.254 dev eth0 table 200"
    );
    assert_eq!(
        config.static_rules[0].to_string(),
        "priority 16384 from 198.51.100.1/32 table 200"
    );
    let printed: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    let file = path.display();
    let lines: Vec<String> = printed
        .iter()
        .map(|warning| warning.split(": ").next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        lines,
        [5, 14, 14, 15, 16, 17, 20, 21].map(|line| format!("{file}:{line}")),
        "{printed:#?}"
    );
    assert!(printed[3].contains("not tracked"), "{printed:#?}");
    assert!(printed[4].contains("not carried out yet"), "{printed:#?}");
    assert!(
        printed[5].contains("skipped, as keepalived skips it"),
        "{printed:#?}"
    );
    assert_round_trip(&config, "routes");
}

/// `vrrp_track_process` blocks become process checks with keepalived's rules: arguments make
/// the command line compared exactly, `param_match` implies `full_command`, `delay` sets both
/// delays, `quorum_max 0` alone means "none may run", the instance's `weight` overrides; and
/// the result converts to native TOML and back unchanged.
#[test]
fn track_process_translates_with_keepalived_rules() {
    use vrrp_sidecar::config::{ParamMatch, ProcessMatch};
    let path = write_conf(
        "track_process",
        "vrrp_track_process haproxy {\n process haproxy\n quorum 2\n quorum_max 4\n delay 2\n \
         weight -30\n}\n\
         vrrp_track_process keydb {\n process /usr/bin/keydb-server *:6379 --port\n \
         param_match initial\n fork_delay 0.5\n}\n\
         vrrp_track_process nobody {\n process maintenance\n quorum_max 0\n}\n\
         vrrp_track_process nameless {\n weight 10\n}\n\
         vrrp_instance a {\n interface eth0\n virtual_router_id 1\n priority 150\n \
         virtual_ipaddress {\n 192.0.2.1\n }\n track_process {\n haproxy weight -50\n keydb\n \
         nobody\n nameless\n missing\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    let printed: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(summary(&warnings).len(), 2, "{printed:#?}");
    assert!(printed[0].contains("names no `process`"), "{printed:#?}");
    assert!(
        printed[1].contains("no vrrp_track_process named `missing`"),
        "{printed:#?}"
    );
    let checks = &config.instances[0].health_checks;
    let names: Vec<&str> = checks.iter().map(|check| check.name.as_str()).collect();
    assert_eq!(names, ["haproxy", "keydb", "nobody"]);
    let base = ProcessMatch {
        process: String::new(),
        full_command: false,
        arguments: Vec::new(),
        param_match: None,
        quorum: 1,
        quorum_max: u16::MAX,
        fork_delay: Duration::ZERO,
        terminate_delay: Duration::ZERO,
    };
    assert_eq!(
        checks[0].probe,
        Probe::Process(ProcessMatch {
            process: "haproxy".into(),
            quorum: 2,
            quorum_max: 4,
            fork_delay: Duration::from_secs(2),
            terminate_delay: Duration::from_secs(2),
            ..base.clone()
        })
    );
    assert_eq!(checks[0].weight, -50, "the instance's weight overrides");
    assert_eq!(
        checks[1].probe,
        Probe::Process(ProcessMatch {
            process: "/usr/bin/keydb-server".into(),
            full_command: true,
            arguments: vec!["*:6379".into(), "--port".into()],
            param_match: Some(ParamMatch::Initial),
            fork_delay: Duration::from_millis(500),
            ..base.clone()
        })
    );
    assert_eq!(checks[1].weight, 0, "keepalived's default weight: Fault");
    assert_eq!(
        checks[2].probe,
        Probe::Process(ProcessMatch {
            process: "maintenance".into(),
            quorum: 0,
            quorum_max: 0,
            ..base
        })
    );
    assert_round_trip(&config, "track_process");
}

/// The two corpus files with `track_process` load as keepalived runs them: envoy adds 100 while
/// it runs; haproxy puts the instance in Fault 2 s after its last process exits.
#[test]
fn the_corpus_files_with_track_process_mean_what_keepalived_does() {
    // Where tests/keepalived_corpus.rs reads the corpus from.
    let corpus = Path::new("../shared/corpus/keepalived-wild");
    let (envoy, _) = load_keepalived_conf(&corpus.join("038-yawol-envoy-track-process.conf"))
        .unwrap_or_else(|error| panic!("{error}"));
    let check = &envoy.instances[0].health_checks[0];
    assert_eq!(check.weight, 100);
    let Probe::Process(tracked) = &check.probe else {
        panic!("{check:#?}");
    };
    assert_eq!(
        (tracked.process.as_str(), tracked.full_command),
        ("envoy", false)
    );
    assert_eq!((tracked.quorum, tracked.quorum_max), (1, u16::MAX));
    let (keydb, _) = load_keepalived_conf(&corpus.join("048-keydb-track-process-garp.conf"))
        .unwrap_or_else(|error| panic!("{error}"));
    let check = &keydb.instances[0].health_checks[0];
    assert_eq!(check.weight, 0);
    let Probe::Process(tracked) = &check.probe else {
        panic!("{check:#?}");
    };
    assert_eq!(tracked.process, "haproxy");
    assert_eq!(tracked.terminate_delay, Duration::from_secs(2));
    assert_eq!(tracked.fork_delay, Duration::from_secs(2));
}

/// Issue 17's notify switches translate without a warning: `vrrp_notify_fifo_script` with
/// its arguments (the FIFO's path is added when it runs), `notify_priority_changes` from
/// the instance, else its sync group, else `vrrp_notify_priority_changes` (keepalived's
/// `vrrp_complete_instance()`), `notify_master_rx_lower_pri`, and `notify_deleted` (with
/// or without a program; without it a removal is reported as keepalived's FAULT).
#[test]
fn notify_switches_translate_as_keepalived_applies_them() {
    let path = write_conf(
        "notify-switches",
        "global_defs {\n script_user root\n vrrp_notify_fifo /run/ka.fifo\n \
         vrrp_notify_fifo_script \"/usr/local/bin/reader --flag\"\n \
         vrrp_notify_priority_changes\n}\n\
         vrrp_sync_group G {\n group {\n  a\n  b\n }\n notify_priority_changes off\n}\n\
         vrrp_instance a {\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {\n  192.0.2.1\n }\n notify_priority_changes on\n \
         notify_master_rx_lower_pri \"/usr/local/bin/lower one\"\n notify_deleted\n}\n\
         vrrp_instance b {\n interface eth0\n virtual_router_id 2\n \
         virtual_ipaddress {\n  192.0.2.2\n }\n notify_deleted /usr/local/bin/gone\n}\n\
         vrrp_instance c {\n interface eth0\n virtual_router_id 3\n \
         virtual_ipaddress {\n  192.0.2.3\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(summary(&warnings), [], "{warnings:#?}");
    let notify = |name: &str| {
        &config
            .instances
            .iter()
            .find(|instance| instance.name == name)
            .unwrap_or_else(|| panic!("instance {name}"))
            .notify
    };
    for name in ["a", "b", "c"] {
        assert_eq!(
            notify(name).fifo_program.as_deref(),
            Some(Path::new("/usr/local/bin/reader"))
        );
        assert_eq!(notify(name).arguments.fifo_program, ["--flag"]);
    }
    // a: its own; b: its group's off; c: no group, the global default.
    assert!(notify("a").priority_changes);
    assert!(!notify("b").priority_changes);
    assert!(notify("c").priority_changes);
    assert_eq!(
        notify("a").on_master_rx_lower_priority.as_deref(),
        Some(Path::new("/usr/local/bin/lower"))
    );
    assert_eq!(notify("a").arguments.on_master_rx_lower_priority, ["one"]);
    assert_eq!(notify("a").report_removal_as, RemovalReport::Deleted);
    assert_eq!(notify("a").on_deleted, None);
    assert_eq!(notify("b").report_removal_as, RemovalReport::Deleted);
    assert_eq!(
        notify("b").on_deleted.as_deref(),
        Some(Path::new("/usr/local/bin/gone"))
    );
    assert_eq!(notify("c").report_removal_as, RemovalReport::Fault);
    assert_round_trip(&config, "notify-switches");
}

/// A FIFO program without its FIFO is ignored with a warning, as keepalived starts none.
#[test]
fn a_fifo_program_without_its_fifo_is_ignored_with_a_warning() {
    let path = write_conf(
        "fifo-program-alone",
        "global_defs {\n script_user root\n notify_fifo_script /usr/local/bin/reader\n}\n\
         vrrp_instance a {\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(config.instances[0].notify.fifo_program, None);
    let printed: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(printed.len(), 1, "{printed:#?}");
    assert!(
        printed[0].contains(":3:") && printed[0].contains("no `notify_fifo` for it to read"),
        "{printed:#?}"
    );
}

/// `static_ipaddress` becomes `static_addresses`: `dev`, `label` and `no_track` carry over,
/// an entry without `dev` goes on keepalived's default interface (`default_interface`, else
/// eth0) with a warning, options the daemon does not apply are left out with one.
/// `track_group` makes the group's instances track the interface of each static address,
/// route (`dev`) and rule (`iif`) that names it, with weight 0, as keepalived's
/// `static_track_group_init()` does; a group defined after its use, or with `no_track`, is
/// not used, and an unknown member is reported, all as keepalived does.
#[test]
fn static_addresses_and_track_groups_carry_over_as_keepalived_reads_them() {
    let path = write_conf(
        "static_addresses",
        "global_defs {\n default_interface eth2\n}\n\
         track_group uplink {\n group {\n  a\n  ghost\n }\n}\n\
         static_ipaddress {\n 192.0.2.50/24 dev eth1 label eth1:st track_group uplink\n \
         198.51.100.7/24\n 2001:db8::7/64 dev eth3 no_track\n 192.0.2.51/24 dev eth1 scope link\n \
         192.0.2.52 dev eth4 track_group later\n}\n\
         static_routes {\n 198.51.100.128/25 via 192.0.2.254 dev eth5 track_group uplink\n}\n\
         static_rules {\n from 192.0.2.50 table 7 iif eth6 priority 7 track_group uplink\n}\n\
         track_group later {\n group {\n  a\n }\n}\n\
         vrrp_instance a {\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {\n  192.0.2.1/24\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    let printed: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    let addresses: Vec<(String, &str, Option<&str>, bool)> = config
        .static_addresses
        .iter()
        .map(|address| {
            (
                format!("{}/{}", address.address.address, address.address.prefix_len),
                address.device(),
                address.address.label.as_deref(),
                address.no_track,
            )
        })
        .collect();
    assert_eq!(
        addresses,
        [
            ("192.0.2.50/24".to_owned(), "eth1", Some("eth1:st"), false),
            ("198.51.100.7/24".to_owned(), "eth2", None, false),
            ("2001:db8::7/64".to_owned(), "eth3", None, true),
            ("192.0.2.51/24".to_owned(), "eth1", None, false),
            ("192.0.2.52/32".to_owned(), "eth4", None, false),
        ]
    );
    let tracked: Vec<(String, i16)> = config.instances[0]
        .health_checks
        .iter()
        .map(|check| match &check.probe {
            Probe::Interface { name } => (name.clone(), check.weight),
            other => panic!("only interface checks expected, got {other:?}"),
        })
        .collect();
    assert_eq!(
        tracked,
        [
            ("eth1".to_owned(), 0),
            ("eth5".to_owned(), 0),
            ("eth6".to_owned(), 0)
        ],
        "{printed:#?}"
    );
    assert_eq!(
        config.static_routes[0].to_string(),
        "198.51.100.128/25 via 192.0.2.254 dev eth5"
    );
    let mut lines: Vec<usize> = summary(&warnings).iter().map(|(line, ..)| *line).collect();
    lines.sort_unstable();
    assert_eq!(lines, [7, 12, 14, 15], "{printed:#?}");
    for expected in [
        ":7: ",
        "ghost specified in track group uplink",
        ":12: ",
        "goes on eth2",
        ":14: ",
        "`scope link` is left out",
        ":15: ",
        "track_group later not found",
    ]
    .chunks(2)
    {
        assert!(
            printed
                .iter()
                .any(|line| line.contains(expected[0]) && line.contains(expected[1])),
            "{expected:?} in {printed:#?}"
        );
    }
    assert_round_trip(&config, "static_addresses");
}

/// `sync_group_tracking_weight` and `global_tracking` (with keepalived's deprecation
/// warning) become `tracking_weight = true`; without them a member's weighted trackers are
/// treated as keepalived 2.2.7's `vrrp_complete_instance()` treats them, each with its
/// message: a script with a weight is not tracked, a file at the default weight 1 keeps
/// weight 0, one with another weight is not tracked, and an interface keeps its weight
/// (keepalived's message says otherwise; `interop_keepalived.rs` measures it), which takes
/// `tracking_weight` on the group.
#[test]
fn sync_group_tracking_weight_carries_over_and_member_weights_follow_keepalived() {
    let members = "vrrp_script chk {\n script \"/bin/true\"\n user nobody\n weight -20\n}\n\
         vrrp_script plain {\n script \"/bin/true\"\n user nobody\n}\n\
         vrrp_track_file flag {\n file /run/flag\n}\n\
         vrrp_track_file heavy {\n file /run/heavy\n weight 5\n}\n\
         vrrp_instance a {\n interface eth0\n virtual_router_id 1\n \
         virtual_ipaddress {\n  192.0.2.1/24\n }\n track_interface {\n  eth1 weight -30\n }\n \
         track_script {\n  chk\n  plain\n }\n track_file {\n  flag\n  heavy\n }\n}\n\
         vrrp_instance b {\n interface eth1\n virtual_router_id 2\n \
         virtual_ipaddress {\n  198.51.100.1/24\n }\n}\n";
    let weights = |config: &Config| -> Vec<(String, i16)> {
        config.instances[0]
            .health_checks
            .iter()
            .map(|check| (check.name.clone(), check.weight))
            .collect()
    };

    let plain = write_conf(
        "sync_group_weights",
        &format!("{members}vrrp_sync_group g {{\n group {{\n  a\n  b\n }}\n}}\n"),
    );
    let (config, warnings) = load_keepalived_conf(&plain).unwrap_or_else(|error| panic!("{error}"));
    let printed: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    // The tracked interface keeps its weight, as in keepalived 2.2.7 (see `member_weight`),
    // which takes tracking_weight on the group.
    assert!(config.sync_groups[0].tracking_weight);
    assert_eq!(
        weights(&config),
        [
            ("flag".to_owned(), 0),
            ("interface-eth1".to_owned(), -30),
            ("plain".to_owned(), 0)
        ],
        "{printed:#?}"
    );
    let mut lines: Vec<usize> = summary(&warnings).iter().map(|(line, ..)| *line).collect();
    lines.sort_unstable();
    assert_eq!(lines, [24, 27, 31, 32], "{printed:#?}");
    for (line, message) in [
        (
            24,
            "(a) ignoring eth1 tracked interface weight due to SYNC group",
        ),
        (
            27,
            "(a) ignoring tracked script chk with weight -20 due to SYNC group",
        ),
        (
            31,
            "(a) ignoring weight from tracked file flag due to SYNC group",
        ),
        (
            32,
            "(a) ignoring tracked file heavy with weight 5 due to SYNC group",
        ),
    ] {
        assert!(
            printed
                .iter()
                .any(|text| text.contains(&format!(":{line}: ")) && text.contains(message)),
            "{line} {message} in {printed:#?}"
        );
    }
    assert_round_trip(&config, "sync_group_weights");

    for (keyword, extra_warning) in [
        ("sync_group_tracking_weight", false),
        ("global_tracking", true),
    ] {
        let path = write_conf(
            keyword,
            &format!("{members}vrrp_sync_group g {{\n group {{\n  a\n  b\n }}\n {keyword}\n}}\n"),
        );
        let (config, warnings) =
            load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
        let printed: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert!(config.sync_groups[0].tracking_weight, "{keyword}");
        assert_eq!(
            weights(&config),
            [
                ("chk".to_owned(), -20),
                ("flag".to_owned(), 1),
                ("heavy".to_owned(), 5),
                ("interface-eth1".to_owned(), -30),
                ("plain".to_owned(), 0)
            ],
            "{keyword}: {printed:#?}"
        );
        assert_eq!(printed.len(), usize::from(extra_warning), "{printed:#?}");
        if extra_warning {
            assert!(
                printed[0].contains("(g) global_tracking is deprecated"),
                "{printed:#?}"
            );
        }
        assert_round_trip(&config, keyword);
    }
}

// ---------------------------------------------------------------------------------------
// interface_up_down_delays

/// `interface_up_down_delays` becomes `[link_debounce.<interface>]` as keepalived 2.2.7
/// reads it (keepalived/vrrp/vrrp_parser.c): down delay first; no up delay means 0 (the
/// code, not the man page); a line without delays or with one keepalived cannot read is
/// skipped with a warning; more than six decimal places are rounded with a warning; the
/// result converts to native TOML and back.
#[test]
fn interface_up_down_delays_become_link_debounce_entries() {
    use vrrp_sidecar::vrrp::DebounceDelays;
    let path = write_conf(
        "up-down-delays",
        "interface_up_down_delays {\n eth0 1.5 0.25\n eth1 2\n eth2\n eth3 256\n \
         eth4 x 1\n eth5 0.0000015 1 extra\n}\n\
         vrrp_instance a {\n interface eth0\n virtual_router_id 1\n advert_int 2\n \
         virtual_ipaddress {\n 192.0.2.1\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    let entries: Vec<(&str, DebounceDelays)> = config
        .link_debounce
        .iter()
        .map(|entry| (entry.interface.as_str(), entry.delays))
        .collect();
    let delays = |down: u64, up: u64| DebounceDelays {
        down: Duration::from_micros(down),
        up: Duration::from_micros(up),
    };
    assert_eq!(
        entries,
        [
            ("eth0", delays(1_500_000, 250_000)),
            ("eth1", delays(2_000_000, 0)),
            ("eth5", delays(2, 1_000_000)),
        ]
    );
    let path_of = |interface: &str| format!("interface_up_down_delays.{interface}");
    assert_eq!(
        summary(&warnings),
        [
            (4, Severity::Warning, path_of("eth2")),
            (5, Severity::Warning, path_of("eth3")),
            (6, Severity::Warning, path_of("eth4")),
            (7, Severity::Warning, path_of("eth5")),
            (7, Severity::Warning, path_of("eth5")),
        ],
        "{warnings:#?}"
    );
    assert!(
        warnings[1].message.contains("outside 0 to 255 seconds"),
        "{}",
        warnings[1].message
    );
    assert_round_trip(&config, "up-down-delays");
}

/// `track_src_ip` is left out with a warning at its line: keepalived 2.2.7 acts on nothing
/// for it (measured in `interop_keepalived.rs`), and neither does this daemon.
#[test]
fn track_src_ip_is_ignored_with_keepalived_2_2_7s_verdict() {
    let path = write_conf(
        "track-src-ip",
        "vrrp_instance a {\n interface eth0\n virtual_router_id 1\n track_src_ip\n \
         virtual_ipaddress {\n 192.0.2.1\n }\n}\n",
    );
    let (_, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        summary(&warnings),
        [(4, Severity::Warning, "vrrp_instance a.track_src_ip".into())]
    );
    assert!(
        warnings[0]
            .message
            .contains("keepalived 2.2.7 does not act on it"),
        "{}",
        warnings[0].message
    );
}

// ---------------------------------------------------------------------------------------
// Announcement spacing and the answer to a lower priority (keepalived's vrrp_arp.c,
// vrrp_ndisc.c, vrrp_if.c and vrrp.c)

/// `vrrp_garp_interval`, `vrrp_gna_interval` and `garp_group` become the global spacing and
/// numbered `garp_groups`; each address gets its interface's; `convert` writes them back.
#[test]
fn garp_spacing_and_groups_translate_per_interface() {
    let path = write_conf(
        "garp-spacing",
        "global_defs {\n vrrp_garp_interval 0.001\n vrrp_gna_interval 0.0025\n}\n\
         garp_group {\n garp_interval 0.005\n interface eth1\n}\n\
         garp_group {\n gna_interval 0.5\n interfaces {\n  eth2 eth3\n  eth1\n }\n}\n\
         vrrp_instance a {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  \
         192.0.2.1\n  198.51.100.1 dev eth1\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        summary(&warnings),
        [(
            13,
            Severity::Warning,
            "garp_group.interfaces.eth1".to_owned()
        )],
        "{warnings:#?}"
    );
    assert!(
        warnings[0].message.contains("already specified"),
        "{}",
        warnings[0]
    );
    assert_eq!(
        config.global.announce_spacing.arp,
        Some(Duration::from_millis(1))
    );
    assert_eq!(
        config.global.announce_spacing.na,
        Some(Duration::from_micros(2500))
    );
    let groups: Vec<(&str, Vec<&str>)> = config
        .garp_groups
        .iter()
        .map(|group| {
            (
                group.name.as_str(),
                group.interfaces.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("garp_group_1", vec!["eth1"]),
            ("garp_group_2", vec!["eth2", "eth3"])
        ]
    );
    let spaced: Vec<(IpAddr, &str, Option<Duration>)> = config.instances[0]
        .announce_spacing
        .iter()
        .map(|paced| (paced.address, paced.shared_by.as_str(), paced.spacing.arp))
        .collect();
    assert_eq!(
        spaced,
        [
            (ip("192.0.2.1"), "eth0", Some(Duration::from_millis(1))),
            (
                ip("198.51.100.1"),
                "garp group garp_group_1",
                Some(Duration::from_millis(5))
            ),
        ]
    );
    assert_round_trip(&config, "garp-spacing");
}

/// keepalived 2.2.7 reports `vrrp_garp_interval 0` (in its own sample file) as invalid and
/// spaces nothing: it loads here with a warning and nothing spaced; a value finer than a
/// microsecond is refused at its line, as keepalived refuses it.
#[test]
fn a_zero_or_too_fine_garp_interval_is_handled_as_keepalived_does() {
    let path = write_conf(
        "garp-interval-zero",
        "global_defs {\n vrrp_garp_interval 0\n vrrp_gna_interval 0\n}\n\
         vrrp_instance a {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  \
         192.0.2.1\n }\n}\n",
    );
    let (config, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        summary(&warnings)
            .into_iter()
            .map(|(line, ..)| line)
            .collect::<Vec<_>>(),
        [2, 3]
    );
    assert!(
        warnings
            .iter()
            .all(|warning| warning.message.contains("invalid"))
    );
    assert!(config.instances[0].announce_spacing.is_empty());

    let path = write_conf(
        "garp-interval-fine",
        "global_defs {\n vrrp_garp_interval 0.0000001\n}\n\
         vrrp_instance a {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  \
         192.0.2.1\n }\n}\n",
    );
    let errors = errors_of(&path);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with(&format!("{}:2:", path.display()))
            && errors[0].contains("finer than a microsecond"),
        "{errors:#?}"
    );
}

/// `vrrp_min_garp`: one message, no second burst, no refresh, unless a keyword set its own
/// before (a later one overrides it); the lower-priority answer follows.
#[test]
fn min_garp_sends_one_message_and_no_second_burst() {
    let conf = |globals: &str| {
        let path = write_conf(
            "min-garp",
            &format!(
                "global_defs {{\n{globals}}}\nvrrp_instance a {{\n interface eth0\n \
                 virtual_router_id 1\n virtual_ipaddress {{\n  192.0.2.1\n }}\n}}\n"
            ),
        );
        let (config, _) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
        config.instances[0].garp
    };
    let minimal = conf(" vrrp_min_garp\n");
    assert_eq!(
        (
            minimal.repeat,
            minimal.second_burst_after,
            minimal.refresh_every
        ),
        (1, None, None)
    );
    assert_eq!(
        (
            minimal.lower_priority_repeat,
            minimal.lower_priority_second_after
        ),
        (1, None)
    );
    let kept = conf(" vrrp_garp_master_repeat 3\n vrrp_min_garp true\n");
    assert_eq!((kept.repeat, kept.second_burst_after), (3, None));
    let overridden = conf(" vrrp_min_garp\n vrrp_garp_master_delay 2\n");
    assert_eq!(
        (overridden.repeat, overridden.second_burst_after),
        (1, Some(Duration::from_secs(2)))
    );
    let off = conf(" vrrp_min_garp false\n");
    assert_eq!((off.repeat, off.lower_priority_repeat), (5, 5));
}

/// `garp_lower_prio_repeat` / `_delay`, per instance and global; their defaults are the
/// global `vrrp_garp_master_*`, not the instance's own; strict mode resets them to none.
#[test]
fn lower_priority_garp_follows_keepalived_defaults() {
    let conf = |globals: &str, instance: &str| {
        let path = write_conf(
            "lower-prio-garp",
            &format!(
                "global_defs {{\n{globals}}}\nvrrp_instance a {{\n interface eth0\n \
                 virtual_router_id 1\n{instance} virtual_ipaddress {{\n  192.0.2.1\n }}\n}}\n"
            ),
        );
        let (config, _) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
        assert_round_trip(&config, "lower-prio-garp");
        let garp = config.instances[0].garp;
        (garp.lower_priority_repeat, garp.lower_priority_second_after)
    };
    let secs = |seconds| Some(Duration::from_secs(seconds));
    assert_eq!(conf("", ""), (5, secs(5)));
    assert_eq!(
        conf("", " garp_master_repeat 2\n garp_master_delay 1\n"),
        (5, secs(5)),
        "keepalived's default is the global repeat and delay"
    );
    assert_eq!(
        conf(" vrrp_garp_master_repeat 3\n", " garp_master_repeat 2\n"),
        (3, secs(5))
    );
    assert_eq!(conf(" vrrp_garp_master_repeat 3\n", ""), (3, secs(5)));
    assert_eq!(
        conf(
            " vrrp_garp_lower_prio_repeat 1\n",
            " garp_lower_prio_delay 0\n"
        ),
        (1, None)
    );
    assert_eq!(
        conf("", " garp_lower_prio_repeat 4\n garp_lower_prio_delay 7\n"),
        (4, secs(7))
    );
    assert_eq!(
        conf(" vrrp_strict\n", " garp_lower_prio_repeat 4\n"),
        (0, None)
    );
    let path = write_conf(
        "lower-prio-garp-strict",
        "vrrp_instance a {\n interface eth0\n virtual_router_id 1\n strict_mode\n \
         garp_lower_prio_repeat 4\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n",
    );
    let (_, warnings) = load_keepalived_conf(&path).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        summary(&warnings),
        [(
            5,
            Severity::Warning,
            "vrrp_instance a.garp_lower_prio_repeat".to_owned()
        )],
        "{warnings:#?}"
    );
    assert!(
        warnings[0]
            .message
            .contains("strict mode sends no announcement"),
        "{}",
        warnings[0]
    );
}
