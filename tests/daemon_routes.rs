//! Virtual routes and rules in a namespace lab: added by the master and by it alone, removed
//! when it leaves Master and when it stops, put back when someone deletes a tracked one and
//! left deleted with `no_track`; and the same keepalived.conf run by our daemon and by
//! keepalived 2.2.7 side by side, each way round, the routes and rules moving with mastership.
//!
//! Needs root (and keepalived for the interop cells); without them the tests fail saying so.

mod api_lab;
mod daemon_lab;
mod netns;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use vrrp_sidecar_client::proto;

use daemon_lab::{Daemon, DaemonLab, ELECTION, InstanceSpec, MARGIN, POLL, VIP};
use netns::{Lab, wait_until};

const MASTER: &str = "gw1";
const BACKUP: &str = "gw2";

/// The table the lab's routes go in, and that the rules send to.
const TABLE: &str = "100";

/// The routes of the native tests: a tracked route through a gateway on the LAN, one from
/// the VIP (which the kernel takes only once the VIP is there), an IPv6 one, and an
/// untracked blackhole.
const ROUTES: [&str; 4] = [
    "198.51.100.0/25 via 192.0.2.254 dev eth0 table 100",
    "198.51.100.192/26 dev eth0 src 192.0.2.100 table 100 scope link",
    "2001:db8:0:0:1::/80 dev eth0 table 100",
    "blackhole 198.51.100.128/25 table 100 no_track",
];

/// The rules of the native tests: a tracked IPv4 one and an untracked IPv6 one.
const RULES: [&str; 2] = [
    "from 192.0.2.100/32 table 100 priority 100",
    "inet6 from 2001:db8::100/128 table 100 priority 101 no_track",
];

/// How long a deleted tracked route may take to come back: the event, the router and the
/// VIP worker's queue, on a loaded two-core machine.
const PUT_BACK: Duration = Duration::from_secs(2);

/// How long an untracked route is watched to stay deleted.
const STAYS_DELETED: Duration = Duration::from_secs(1);

/// How long a stopping daemon may take to exit.
const EXIT_WAIT: Duration = Duration::from_secs(5);

fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("\"{item}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

fn instance(priority: u8) -> InstanceSpec {
    InstanceSpec::v3(priority)
        .with(&format!("virtual_routes = {}", quoted_list(&ROUTES)))
        .with(&format!("virtual_rules = {}", quoted_list(&RULES)))
}

/// What `ip -j ARGS` lists in `host`; nothing when the table listed does not exist (the
/// kernel creates a table with its first route and deletes it with its last).
fn listing(lab: &DaemonLab, host: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let command = [&["ip", "-j"], args].concat();
    let output = lab.ns(host).run(&command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        assert!(
            stderr.contains("table does not exist"),
            "{command:?} failed: {stderr}"
        );
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let parsed: serde_json::Value =
        serde_json::from_str(if text.trim().is_empty() { "[]" } else { &text })
            .unwrap_or_else(|error| panic!("{command:?} printed invalid JSON: {error}"));
    parsed.as_array().cloned().unwrap_or_default()
}

/// The routes of table 100 on `host`, both families, as `dst protocol` pairs, sorted.
fn routes(lab: &DaemonLab, host: &str) -> Vec<String> {
    let mut found = Vec::new();
    for family in ["-4", "-6"] {
        let listed = listing(lab, host, &[family, "route", "show", "table", TABLE]);
        for route in &listed {
            let destination = route["dst"].as_str().unwrap_or("?");
            let kind = route["type"].as_str().unwrap_or("unicast");
            let protocol = route["protocol"].as_str().unwrap_or("?");
            found.push(format!("{kind} {destination} proto {protocol}"));
        }
    }
    found.sort();
    found
}

/// The rules on `host` that send to table 100, as `family priority source`, sorted.
fn rules(lab: &DaemonLab, host: &str) -> Vec<String> {
    let mut found = Vec::new();
    for family in ["-4", "-6"] {
        let listed = listing(lab, host, &[family, "rule", "show"]);
        for rule in &listed {
            if rule["table"].as_str() != Some(TABLE) {
                continue;
            }
            let priority = rule["priority"].as_u64().unwrap_or(0);
            let source = rule["src"].as_str().unwrap_or("all");
            found.push(format!("{family} {priority} from {source}"));
        }
    }
    found.sort();
    found
}

/// Everything `ip -j` says of the routes of table 100 and the rules sending to it on
/// `host`, both families: what must be the same whichever daemon added them.
fn full_listing(lab: &DaemonLab, host: &str) -> Vec<serde_json::Value> {
    let mut everything = Vec::new();
    for family in ["-4", "-6"] {
        everything.extend(listing(
            lab,
            host,
            &[family, "route", "show", "table", TABLE],
        ));
        everything.extend(
            listing(lab, host, &[family, "rule", "show"])
                .into_iter()
                .filter(|rule| rule["table"].as_str() == Some(TABLE)),
        );
    }
    everything
}

const EXPECTED_ROUTES: [&str; 4] = [
    "blackhole 198.51.100.128/25 proto keepalived",
    "unicast 198.51.100.0/25 proto keepalived",
    "unicast 198.51.100.192/26 proto keepalived",
    "unicast 2001:db8:0:0:1::/80 proto keepalived",
];

const EXPECTED_RULES: [&str; 2] = ["-4 100 from 192.0.2.100", "-6 101 from 2001:db8::100"];

fn expected(items: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = items.iter().map(|item| (*item).to_owned()).collect();
    items.sort();
    items
}

/// Waits until `host` has exactly the expected routes and rules (`held`) or none.
fn wait_routing(lab: &DaemonLab, host: &str, held: bool, timeout: Duration) -> bool {
    let (want_routes, want_rules) = if held {
        (expected(&EXPECTED_ROUTES), expected(&EXPECTED_RULES))
    } else {
        (Vec::new(), Vec::new())
    };
    wait_until(timeout, POLL, || {
        routes(lab, host) == want_routes && rules(lab, host) == want_rules
    })
}

/// What `GetInstance` says of the instance's routes and rules on `host`: `(spec, installed,
/// tracked)` each, routes then rules.
fn api_routing(lab: &DaemonLab, host: &str) -> Vec<(String, bool, bool)> {
    let socket = lab.api_socket(host);
    let instance = api_lab::runtime().block_on(async move {
        let mut grpc = api_lab::connect(&socket).await;
        grpc.get_instance(proto::GetInstanceRequest { name: "vi".into() })
            .await
            .expect("GetInstance answers")
            .into_inner()
    });
    instance
        .virtual_routes
        .iter()
        .chain(&instance.virtual_rules)
        .map(|entry| (entry.spec.clone(), entry.installed, entry.tracked))
        .collect()
}

/// What [`api_routing`] must say of the lab's routes and rules.
fn expected_api_routing(installed: bool) -> Vec<(String, bool, bool)> {
    ROUTES
        .iter()
        .chain(&RULES)
        .map(|spec| {
            let written = if spec.starts_with("from") {
                // Rules are written back with their preference first.
                "priority 100 from 192.0.2.100/32 table 100".to_owned()
            } else if spec.starts_with("inet6") {
                "inet6 priority 101 from 2001:db8::100/128 table 100 no_track".to_owned()
            } else {
                (*spec).to_owned()
            };
            (written, installed, !spec.contains("no_track"))
        })
        .collect()
}

fn stop(lab: &DaemonLab, daemon: &Daemon) {
    lab.signal(daemon, Signal::SIGTERM);
    assert!(
        lab.wait_exit(daemon, EXIT_WAIT).is_some(),
        "the daemon did not stop on SIGTERM\n{}",
        daemon.log_text()
    );
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn routes_and_rules_follow_mastership_and_go_at_exit() {
    netns::require_root("routes_and_rules_follow_mastership_and_go_at_exit");
    let lab = DaemonLab::new(Lab::builder().host(MASTER).host(BACKUP).build());
    let (master, backup) = lab.start_pair(MASTER, instance(150), BACKUP, instance(100));
    assert!(
        wait_routing(&lab, MASTER, true, ELECTION),
        "the master's routes {:?} and rules {:?}\n{}",
        routes(&lab, MASTER),
        rules(&lab, MASTER),
        master.log_text()
    );
    assert_eq!(routes(&lab, BACKUP), Vec::<String>::new());
    assert_eq!(rules(&lab, BACKUP), Vec::<String>::new());
    assert_eq!(api_routing(&lab, MASTER), expected_api_routing(true));
    assert_eq!(api_routing(&lab, BACKUP), expected_api_routing(false));

    // The master stops (priority 0): it removes its routes and rules, the backup adds them.
    stop(&lab, &master);
    assert!(
        wait_routing(&lab, MASTER, false, MARGIN),
        "left on the stopped master: {:?} {:?}",
        routes(&lab, MASTER),
        rules(&lab, MASTER)
    );
    assert!(
        wait_routing(&lab, BACKUP, true, ELECTION),
        "the new master's routes {:?} and rules {:?}\n{}",
        routes(&lab, BACKUP),
        rules(&lab, BACKUP),
        backup.log_text()
    );

    // The first master comes back and preempts: the routes move back.
    let master = lab.start(MASTER, &[instance(150)]);
    assert!(
        wait_routing(&lab, MASTER, true, ELECTION),
        "the returning master's routes {:?} and rules {:?}\n{}",
        routes(&lab, MASTER),
        rules(&lab, MASTER),
        master.log_text()
    );
    assert!(
        wait_routing(&lab, BACKUP, false, MARGIN),
        "left on the preempted backup: {:?} {:?}\n{}",
        routes(&lab, BACKUP),
        rules(&lab, BACKUP),
        backup.log_text()
    );
    assert!(lab.holds(MASTER, VIP));

    stop(&lab, &master);
    assert!(wait_routing(&lab, BACKUP, true, ELECTION));
    stop(&lab, &backup);
    assert!(
        wait_routing(&lab, BACKUP, false, Duration::ZERO),
        "left at exit: {:?} {:?}",
        routes(&lab, BACKUP),
        rules(&lab, BACKUP)
    );
    lab.finish();
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_deleted_tracked_route_or_rule_is_put_back_and_an_untracked_one_is_not() {
    netns::require_root("a_deleted_tracked_route_or_rule_is_put_back_and_an_untracked_one_is_not");
    let lab = DaemonLab::new(Lab::builder().host(MASTER).build());
    let master = lab.start(MASTER, &[instance(150)]);
    assert!(
        wait_routing(&lab, MASTER, true, ELECTION),
        "routes {:?} rules {:?}\n{}",
        routes(&lab, MASTER),
        rules(&lab, MASTER),
        master.log_text()
    );
    let ns = lab.ns(MASTER);

    // Tracked: deleted, then back.
    ns.ip(&["route", "del", "198.51.100.0/25", "table", TABLE]);
    ns.ip(&["-6", "route", "del", "2001:db8:0:0:1::/80", "table", TABLE]);
    ns.ip(&["rule", "del", "priority", "100"]);
    assert!(
        wait_routing(&lab, MASTER, true, PUT_BACK),
        "not put back: {:?} {:?}\n{}",
        routes(&lab, MASTER),
        rules(&lab, MASTER),
        master.log_text()
    );
    assert_eq!(
        master
            .logged("put back a virtual route or rule someone removed")
            .len(),
        3,
        "{}",
        master.log_text()
    );

    // Untracked: deleted, and stays so.
    ns.ip(&[
        "route",
        "del",
        "blackhole",
        "198.51.100.128/25",
        "table",
        TABLE,
    ]);
    ns.ip(&["-6", "rule", "del", "priority", "101"]);
    std::thread::sleep(STAYS_DELETED);
    let mut left_routes = expected(&EXPECTED_ROUTES);
    left_routes.retain(|route| !route.starts_with("blackhole"));
    assert_eq!(routes(&lab, MASTER), left_routes);
    assert_eq!(rules(&lab, MASTER), ["-4 100 from 192.0.2.100"]);
    assert_eq!(master.states(), ["BACKUP", "MASTER"], "mastership kept");

    stop(&lab, &master);
    assert!(
        wait_routing(&lab, MASTER, false, Duration::ZERO),
        "left at exit: {:?} {:?}",
        routes(&lab, MASTER),
        rules(&lab, MASTER)
    );
    lab.finish();
}

/// The routes and rules of a keepalived.conf both daemons run, one line of it apart: the
/// priority. keepalived tracks a route only with `dev`, so every tracked one has it.
fn keepalived_conf(priority: u8) -> String {
    format!(
        "global_defs {{\n    router_id vst_routes\n    vrrp_version 3\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id 51\n    priority {priority}\n    advert_int 0.1\n    \
         virtual_ipaddress {{\n        {VIP}/24\n    }}\n    \
         virtual_routes {{\n        198.51.100.0/25 via 192.0.2.254 dev eth0 table 100\n        \
         198.51.100.192/26 dev eth0 src 192.0.2.100 scope link table 100\n        \
         2001:db8:0:0:1::/80 dev eth0 table 100\n        \
         blackhole 198.51.100.128/25 table 100 no_track\n    }}\n    \
         virtual_rules {{\n        from 192.0.2.100/32 table 100 priority 100\n        \
         from 2001:db8::100/128 table 100 priority 101 no_track\n    }}\n}}\n"
    )
}

/// keepalived processes started by a test, killed with their children when it ends.
#[derive(Default)]
struct Keepalived {
    parents: Mutex<Vec<u32>>,
}

impl Keepalived {
    /// Starts keepalived in the foreground (`-n`), VRRP only (`-P`), logging to its standard
    /// error (`-l`), with pid files of its own.
    fn start(&self, lab: &DaemonLab, host: &str, text: &str) -> (u32, PathBuf) {
        let count = self.parents.lock().unwrap_or_else(|p| p.into_inner()).len();
        let file = |suffix: &str| {
            lab.scratch(&format!("{host}-{count}.{suffix}"))
                .display()
                .to_string()
        };
        let conf = file("keepalived.conf");
        std::fs::write(&conf, text).unwrap_or_else(|error| panic!("{conf}: {error}"));
        let log = PathBuf::from(file("keepalived.log"));
        let parent = lab.lab.spawn_logged(
            lab.ns(host),
            &[
                "keepalived",
                "-n",
                "-l",
                "-P",
                "-f",
                &conf,
                "-p",
                &file("pid"),
                "-r",
                &file("vrrp.pid"),
            ],
            &[],
            &log,
        );
        self.parents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(parent);
        (parent, log)
    }

    /// Kills every keepalived started, children first (a parent killed alone lets its VRRP
    /// child stop gracefully; a child killed alone is respawned).
    fn kill_all(&self) {
        for parent in self
            .parents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            let parent_pid = Pid::from_raw(i32::try_from(parent).expect("PIDs fit in i32"));
            let _ = kill(parent_pid, Signal::SIGSTOP);
            for child in children_of(parent) {
                let _ = kill(
                    Pid::from_raw(i32::try_from(child).expect("PIDs fit in i32")),
                    Signal::SIGKILL,
                );
            }
            let _ = kill(parent_pid, Signal::SIGKILL);
        }
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// The PIDs whose parent is `parent`, from `/proc/*/stat`.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|candidate| {
            let stat =
                std::fs::read_to_string(format!("/proc/{candidate}/stat")).unwrap_or_default();
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                == Some(parent)
        })
        .collect()
}

/// One direction of the interop cell: `ours_master` says whether our daemon (from the
/// keepalived.conf) has the higher priority. The master's routes and rules are the same
/// whichever daemon added them; a graceful stop of the master moves them to the backup.
fn interop(test: &str, ours_master: bool) {
    netns::require_tools(test, &[("keepalived", "keepalived")]);
    let lab = DaemonLab::new(Lab::builder().host(MASTER).host(BACKUP).build());
    let keepalived = Keepalived::default();
    let (master_conf, backup_conf) = (keepalived_conf(150), keepalived_conf(100));
    // The master starts first and is elected alone; then the backup joins.
    let (ours, theirs) = if ours_master {
        let (ours, _) = lab.start_keepalived_conf(MASTER, &master_conf);
        assert!(
            wait_routing(&lab, MASTER, true, ELECTION),
            "ours as master: {:?} {:?}\n{}",
            routes(&lab, MASTER),
            rules(&lab, MASTER),
            ours.log_text()
        );
        let theirs = keepalived.start(&lab, BACKUP, &backup_conf);
        (ours, theirs)
    } else {
        let theirs = keepalived.start(&lab, MASTER, &master_conf);
        assert!(
            wait_routing(&lab, MASTER, true, ELECTION),
            "keepalived as master: {:?} {:?}\n{}",
            routes(&lab, MASTER),
            rules(&lab, MASTER),
            std::fs::read_to_string(&theirs.1).unwrap_or_default()
        );
        let (ours, _) = lab.start_keepalived_conf(BACKUP, &backup_conf);
        (ours, theirs)
    };
    let theirs_log = || std::fs::read_to_string(&theirs.1).unwrap_or_default();
    // Several adverts later the backup still holds nothing.
    std::thread::sleep(MARGIN);
    assert!(
        wait_routing(&lab, BACKUP, false, Duration::ZERO),
        "the backup holds {:?} {:?}\nours:\n{}\nkeepalived:\n{}",
        routes(&lab, BACKUP),
        rules(&lab, BACKUP),
        ours.log_text(),
        theirs_log()
    );
    assert!(lab.holds(MASTER, VIP) && !lab.holds(BACKUP, VIP));
    let first_master = full_listing(&lab, MASTER);

    // A graceful stop of the master (priority 0): the routes and rules move to the backup.
    let master_pid = if ours_master { ours.pid } else { theirs.0 };
    lab.lab.signal(master_pid, Signal::SIGTERM);
    assert!(
        wait_routing(&lab, BACKUP, true, ELECTION),
        "the backup did not take the routes {:?} {:?}\nours:\n{}\nkeepalived:\n{}",
        routes(&lab, BACKUP),
        rules(&lab, BACKUP),
        ours.log_text(),
        theirs_log()
    );
    assert!(
        lab.lab.wait_exit(master_pid, EXIT_WAIT).is_some(),
        "the master did not stop"
    );
    assert!(
        wait_routing(&lab, MASTER, false, MARGIN),
        "the stopped master left {:?} {:?}",
        routes(&lab, MASTER),
        rules(&lab, MASTER)
    );
    assert!(lab.holds(BACKUP, VIP));
    // The same kernel entries, attribute for attribute, whichever daemon added them.
    assert_eq!(
        full_listing(&lab, BACKUP),
        first_master,
        "the two daemons' routes and rules differ"
    );
    println!(
        "{test}: both masters held {} entries: {first_master:?}",
        first_master.len()
    );
    let backup_pid = if ours_master { theirs.0 } else { ours.pid };
    lab.lab.signal(backup_pid, Signal::SIGTERM);
    assert!(lab.lab.wait_exit(backup_pid, EXIT_WAIT).is_some());
    assert!(
        wait_routing(&lab, BACKUP, false, MARGIN),
        "left at exit: {:?} {:?}",
        routes(&lab, BACKUP),
        rules(&lab, BACKUP)
    );
    keepalived.kill_all();
    drop(keepalived);
    lab.finish();
}

#[test]
#[ignore = "lab: needs root, keepalived; scripts/test runs it"]
fn interop_routes_ours_master_keepalived_backup() {
    interop("interop_routes_ours_master_keepalived_backup", true);
}

#[test]
#[ignore = "lab: needs root, keepalived; scripts/test runs it"]
fn interop_routes_keepalived_master_ours_backup() {
    interop("interop_routes_keepalived_master_ours_backup", false);
}

/// Static routes and rules (keepalived's `static_routes` / `static_rules`): on every host
/// while its daemon runs, master or backup; put back when deleted; removed at exit.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn static_routes_and_rules_stay_while_the_daemon_runs() {
    netns::require_root("static_routes_and_rules_stay_while_the_daemon_runs");
    let lab = DaemonLab::new(Lab::builder().host(MASTER).host(BACKUP).build());
    let text = |priority: u8| {
        format!(
            "static_routes = [\"198.51.100.0/26 via 192.0.2.254 dev eth0 table 200\"]\n\
             static_rules = [\"from 198.51.100.1/32 table 200 priority 200\"]\n{}",
            daemon_lab::config_text(&[InstanceSpec::v3(priority)])
        )
    };
    let static_held = |host: &str| {
        let routes = listing(&lab, host, &["-4", "route", "show", "table", "200"]);
        let rules: Vec<serde_json::Value> = listing(&lab, host, &["-4", "rule", "show"])
            .into_iter()
            .filter(|rule| rule["table"].as_str() == Some("200"))
            .collect();
        routes.len() == 1
            && routes[0]["dst"] == "198.51.100.0/26"
            && rules.len() == 1
            && rules[0]["priority"] == 200
    };
    let master = lab.start_with_config(MASTER, &text(150), &lab.api_socket(MASTER));
    assert!(
        lab.wait_holding(MASTER, VIP, true, ELECTION).is_some(),
        "{}",
        master.log_text()
    );
    let backup = lab.start_with_config(BACKUP, &text(100), &lab.api_socket(BACKUP));
    assert!(backup.wait_state_count("BACKUP", 1, ELECTION));
    for host in [MASTER, BACKUP] {
        assert!(
            wait_until(ELECTION, POLL, || static_held(host)),
            "{host} lacks its static routes"
        );
    }
    assert!(!lab.holds(BACKUP, VIP));

    // Deleted on the backup: put back, as keepalived's reinstate_static_route() does.
    let ns = lab.ns(BACKUP);
    ns.ip(&["route", "del", "198.51.100.0/26", "table", "200"]);
    ns.ip(&["rule", "del", "priority", "200"]);
    assert!(
        wait_until(PUT_BACK, POLL, || static_held(BACKUP)),
        "not put back\n{}",
        backup.log_text()
    );

    stop(&lab, &backup);
    assert!(
        wait_until(MARGIN, POLL, || {
            listing(&lab, BACKUP, &["-4", "route", "show", "table", "200"]).is_empty()
        }),
        "a static route left at exit"
    );
    assert!(static_held(MASTER));
    stop(&lab, &master);
    assert!(listing(&lab, MASTER, &["-4", "route", "show", "table", "200"]).is_empty());
    lab.finish();
}

/// A master killed with SIGKILL cannot remove its routes and rules (keepalived's stay too);
/// the next start removes those of keepalived's protocol before entering Backup, so a
/// backup does not route as the master does.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn a_restart_removes_what_a_killed_master_left() {
    netns::require_root("a_restart_removes_what_a_killed_master_left");
    let lab = DaemonLab::new(Lab::builder().host(MASTER).host(BACKUP).build());
    let (master, backup) = lab.start_pair(MASTER, instance(150), BACKUP, instance(100));
    assert!(wait_routing(&lab, MASTER, true, ELECTION));
    lab.signal(&master, Signal::SIGKILL);
    assert!(lab.wait_exit(&master, EXIT_WAIT).is_some());
    assert!(
        wait_routing(&lab, BACKUP, true, ELECTION),
        "{}",
        backup.log_text()
    );
    // Left behind by the kill, beside the new master's.
    assert!(wait_routing(&lab, MASTER, true, Duration::ZERO));
    let restarted = lab.start(MASTER, &[instance(50)]);
    assert!(restarted.wait_state_count("BACKUP", 1, ELECTION));
    assert!(
        wait_routing(&lab, MASTER, false, MARGIN),
        "left after the restart: {:?} {:?}\n{}",
        routes(&lab, MASTER),
        rules(&lab, MASTER),
        restarted.log_text()
    );
    assert!(
        !restarted
            .logged(
                "removed a virtual route or rule left by an earlier run before starting as backup"
            )
            .is_empty()
    );
    assert!(wait_routing(&lab, BACKUP, true, Duration::ZERO));
    stop(&lab, &restarted);
    stop(&lab, &backup);
    lab.finish();
}
