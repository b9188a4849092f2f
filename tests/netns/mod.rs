//! A network namespace lab for tests that need a real kernel: hosts on a bridge, all in
//! namespaces this process creates and deletes, never touching the root namespace's links.
//!
//! Each test binary uses a different part of this module, so unused items are expected.
#![allow(dead_code)]

use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Prefix of every namespace name, so leftovers are easy to find: `ip netns list | grep vst-`.
pub const PREFIX: &str = "vst";

static NEXT_LAB: AtomicUsize = AtomicUsize::new(0);

/// Fails the test unless it runs as root. Tests that need root are `#[ignore]`d with the
/// reason, so plain `cargo test` reports them as ignored; one that runs anyway (`scripts/test`,
/// `--include-ignored`) must not pass by doing nothing.
pub fn require_root(test: &str) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let effective_uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .map(str::to_owned);
    assert!(
        effective_uid.as_deref() == Some("0"),
        "{test} needs root (network namespaces, raw sockets): scripts/test runs it as root"
    );
}

/// Fails the test unless it runs as root with every `(tool, Debian package)` of `tools` on
/// PATH, naming the packages to install; see [`require_root`].
pub fn require_tools(test: &str, tools: &[(&str, &str)]) {
    require_root(test);
    let path = std::env::var("PATH").unwrap_or_default();
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(tool, _)| {
            !std::env::split_paths(&path).any(|directory| directory.join(tool).is_file())
        })
        .map(|(_, package)| *package)
        .collect();
    assert!(
        missing.is_empty(),
        "{test} needs the Debian packages {missing:?}: scripts/install-test-deps.sh installs them"
    );
}

/// Polls `condition` every `poll` until it holds or `timeout` passes; also stops after
/// `timeout / poll + 1` tries so a slow condition cannot stretch the wait unboundedly.
pub fn wait_until(timeout: Duration, poll: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    let max_tries = timeout.as_millis() / poll.as_millis().max(1) + 1;
    for _ in 0..max_tries {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(poll);
    }
    condition()
}

/// Runs `program args` and returns its output; panics only if it cannot be started.
fn run_command(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program} {args:?}: {error}"))
}

/// Runs `program args`, panicking with its stderr if it fails; returns stdout.
fn run_checked(program: &str, args: &[&str]) -> String {
    let output = run_command(program, args);
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// One network namespace of a lab.
#[derive(Debug, Clone)]
pub struct Netns {
    /// Its full name, as `ip netns list` shows it.
    pub name: String,
}

impl Netns {
    /// Runs a command inside the namespace (`ip netns exec`) and returns its output.
    pub fn run(&self, command: &[&str]) -> Output {
        let mut args = vec!["netns", "exec", self.name.as_str()];
        args.extend_from_slice(command);
        run_command("ip", &args)
    }

    /// Runs a command inside the namespace, panicking if it fails; returns stdout.
    pub fn run_ok(&self, command: &[&str]) -> String {
        let mut args = vec!["netns", "exec", self.name.as_str()];
        args.extend_from_slice(command);
        run_checked("ip", &args)
    }

    /// Runs `ip -n NAME args`, panicking if it fails; returns stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        run_checked("ip", &full)
    }

    /// Runs `ip -n NAME -j args` and parses the JSON it prints.
    pub fn ip_json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["-j"];
        full.extend_from_slice(args);
        let text = self.ip(&full);
        serde_json::from_str(if text.trim().is_empty() { "[]" } else { &text })
            .unwrap_or_else(|error| panic!("ip -j {args:?} printed invalid JSON: {error}"))
    }

    /// Runs `f` on a fresh thread that has joined this namespace, so sockets and netlink
    /// connections it opens live here (they stay here when handed back to another thread).
    /// A panic in `f` is re-raised in the caller.
    pub fn enter<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        match self.spawn_inside(f).join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Like [`Netns::enter`] but returns at once with the thread's handle.
    pub fn spawn_inside<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> thread::JoinHandle<T> {
        let path = format!("/run/netns/{}", self.name);
        thread::spawn(move || {
            let namespace = File::open(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
            // setns affects only the calling thread, which is this fresh one.
            setns(&namespace, CloneFlags::CLONE_NEWNET)
                .unwrap_or_else(|error| panic!("setns {path}: {error}"));
            f()
        })
    }

    /// The MAC address of `interface` in this namespace.
    pub fn mac(&self, interface: &str) -> [u8; 6] {
        let links = self.ip_json(&["link", "show", "dev", interface]);
        let text = links[0]["address"]
            .as_str()
            .unwrap_or_else(|| panic!("{interface} in {} has no MAC: {links}", self.name));
        parse_mac(text)
    }

    /// The addresses on `interface` as `ip -j addr` reports them (`addr_info` entries).
    pub fn addresses(&self, interface: &str) -> Vec<serde_json::Value> {
        let links = self.ip_json(&["addr", "show", "dev", interface]);
        links[0]["addr_info"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The link-local address of `interface`, once it exists.
    pub fn link_local(&self, interface: &str) -> Option<Ipv6Addr> {
        self.addresses(interface).iter().find_map(|entry| {
            let address: Ipv6Addr = entry["local"].as_str()?.parse().ok()?;
            address.is_unicast_link_local().then_some(address)
        })
    }
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(text: &str) -> [u8; 6] {
    let octets: Vec<u8> = text
        .split(':')
        .map(|part| u8::from_str_radix(part, 16).unwrap_or_else(|_| panic!("bad MAC {text}")))
        .collect();
    octets
        .try_into()
        .unwrap_or_else(|_| panic!("bad MAC {text}"))
}

/// A host of the lab: its namespace and the addresses it got on each LAN.
#[derive(Debug, Clone)]
pub struct Host {
    /// The short name given to the builder (`h1`), also the bridge port's name.
    pub short_name: String,
    /// Its namespace.
    pub ns: Netns,
    /// 192.0.2.N/24 on `eth0`.
    pub ipv4: Ipv4Addr,
    /// 2001:db8::N/64 on `eth0`.
    pub ipv6: Ipv6Addr,
    /// 198.51.100.N/24 on `eth1`, with the second LAN.
    pub second_ipv4: Option<Ipv4Addr>,
}

/// Describes a lab before it is built.
#[derive(Debug, Default)]
pub struct LabBuilder {
    hosts: Vec<String>,
    second_lan: bool,
    duplicate_address_detection: bool,
}

impl LabBuilder {
    /// Adds a host; the N-th host (from 1) gets 192.0.2.N and 2001:db8::N.
    pub fn host(mut self, short_name: &str) -> Self {
        assert!(
            short_name.len() <= 12,
            "{short_name}: bridge port names must stay short"
        );
        self.hosts.push(short_name.to_owned());
        self
    }

    /// Adds a second bridge and `eth1` on every host with 198.51.100.N/24.
    pub fn second_lan(mut self) -> Self {
        self.second_lan = true;
        self
    }

    /// Keeps IPv6 duplicate address detection on (off by default, so link-local addresses
    /// are usable at once); a test of nodad needs it on.
    pub fn duplicate_address_detection(mut self) -> Self {
        self.duplicate_address_detection = true;
        self
    }

    /// Creates the namespaces, bridges and links. On any failure the namespaces made so
    /// far are deleted (the partly built lab is dropped).
    pub fn build(self) -> Lab {
        let id = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let base = format!("{PREFIX}-{}-{id}", std::process::id());
        let mut lab = Lab {
            namespaces: Vec::new(),
            bridge: Netns {
                name: format!("{base}-br"),
            },
            hosts: Vec::new(),
            children: Mutex::new(Vec::new()),
        };
        let bridge = lab.bridge.clone();
        lab.add_namespace(&bridge, self.duplicate_address_detection);
        bridge.ip(&["link", "add", "br0", "type", "bridge"]);
        bridge.ip(&["link", "set", "br0", "up"]);
        if self.second_lan {
            bridge.ip(&["link", "add", "br1", "type", "bridge"]);
            bridge.ip(&["link", "set", "br1", "up"]);
        }
        for (position, short_name) in self.hosts.iter().enumerate() {
            let number = u8::try_from(position + 1).expect("fewer than 255 hosts");
            let ns = Netns {
                name: format!("{base}-{short_name}"),
            };
            lab.add_namespace(&ns, self.duplicate_address_detection);
            let ipv4 = Ipv4Addr::new(192, 0, 2, number);
            let ipv6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, number.into());
            connect(&bridge, "br0", short_name, &ns, "eth0");
            ns.ip(&["addr", "add", &format!("{ipv4}/24"), "dev", "eth0"]);
            ns.ip(&["addr", "add", &format!("{ipv6}/64"), "dev", "eth0"]);
            ns.ip(&["link", "set", "eth0", "up"]);
            let second_ipv4 = self.second_lan.then(|| {
                let address = Ipv4Addr::new(198, 51, 100, number);
                connect(&bridge, "br1", &format!("{short_name}-b"), &ns, "eth1");
                ns.ip(&["addr", "add", &format!("{address}/24"), "dev", "eth1"]);
                ns.ip(&["link", "set", "eth1", "up"]);
                address
            });
            lab.hosts.push(Host {
                short_name: short_name.clone(),
                ns,
                ipv4,
                ipv6,
                second_ipv4,
            });
        }
        for host in &lab.hosts {
            let ready = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
                host.ns.addresses("eth0").iter().any(|entry| {
                    entry["scope"] == "link"
                        && entry["family"] == "inet6"
                        && entry["tentative"].is_null()
                })
            });
            assert!(
                ready,
                "{}: link-local address still tentative after 5 s",
                host.ns.name
            );
        }
        lab
    }
}

/// Creates a veth pair: `port` enslaved to `bridge_name` in the bridge namespace, and
/// `interface` in `host`. Both ends are created inside namespaces, never in the root one.
fn connect(bridge: &Netns, bridge_name: &str, port: &str, host: &Netns, interface: &str) {
    bridge.ip(&[
        "link", "add", port, "type", "veth", "peer", "name", interface, "netns", &host.name,
    ]);
    bridge.ip(&["link", "set", port, "master", bridge_name, "up"]);
}

/// A built lab. Dropping it (also while a test panics) kills the processes it spawned and
/// deletes every namespace it created, which removes their links too.
#[derive(Debug)]
pub struct Lab {
    namespaces: Vec<String>,
    /// The namespace holding the bridges.
    pub bridge: Netns,
    hosts: Vec<Host>,
    children: Mutex<Vec<Child>>,
}

impl Lab {
    /// Starts describing a lab.
    pub fn builder() -> LabBuilder {
        LabBuilder::default()
    }

    /// The host called `short_name`; panics if the builder had none, a bug in the test.
    pub fn host(&self, short_name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|host| host.short_name == short_name)
            .unwrap_or_else(|| panic!("the lab has no host {short_name}"))
    }

    /// Names of every namespace this lab created.
    pub fn namespace_names(&self) -> Vec<String> {
        self.namespaces.clone()
    }

    /// Starts `command` in `ns` in the background; it is killed when the lab is dropped.
    pub fn spawn(&self, ns: &Netns, command: &[&str]) -> u32 {
        let child = Command::new("ip")
            .args(["netns", "exec", ns.name.as_str()])
            .args(command)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?} in {}: {error}", ns.name));
        let pid = child.id();
        self.children
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(child);
        pid
    }

    /// Starts `command` in `ns` in the background with `environment` added, its standard
    /// output and error appended to `log`; it is killed when the lab is dropped. `ip netns
    /// exec` execs the command, so the returned PID is the command's own and signals sent
    /// to it reach the command itself.
    pub fn spawn_logged(
        &self,
        ns: &Netns,
        command: &[&str],
        environment: &[(&str, &str)],
        log: &Path,
    ) -> u32 {
        let open_log = || {
            File::options()
                .create(true)
                .append(true)
                .open(log)
                .unwrap_or_else(|error| panic!("{}: {error}", log.display()))
        };
        let child = Command::new("ip")
            .args(["netns", "exec", ns.name.as_str()])
            .args(command)
            .envs(environment.iter().copied())
            .stdin(Stdio::null())
            .stdout(open_log())
            .stderr(open_log())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?} in {}: {error}", ns.name));
        let pid = child.id();
        self.children
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(child);
        pid
    }

    /// Sends `signal` to `pid`, a process this lab started; panics if it is not one, so a
    /// test can never signal a process it does not own.
    pub fn signal(&self, pid: u32, signal: Signal) {
        let children = self
            .children
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert!(
            children.iter().any(|child| child.id() == pid),
            "{pid} was not started by this lab"
        );
        let target = Pid::from_raw(i32::try_from(pid).expect("PIDs fit in i32"));
        kill(target, signal).unwrap_or_else(|error| panic!("kill -{signal} {pid}: {error}"));
    }

    /// Waits up to `timeout` for `pid`, a process this lab started, to exit; returns its
    /// status, or `None` if it is still running.
    pub fn wait_exit(&self, pid: u32, timeout: Duration) -> Option<ExitStatus> {
        let mut status = None;
        wait_until(timeout, Duration::from_millis(20), || {
            let mut children = self
                .children
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let child = children
                .iter_mut()
                .find(|child| child.id() == pid)
                .unwrap_or_else(|| panic!("{pid} was not started by this lab"));
            status = child.try_wait().unwrap_or(None);
            status.is_some()
        });
        status
    }

    fn add_namespace(&mut self, ns: &Netns, duplicate_address_detection: bool) {
        run_checked("ip", &["netns", "add", &ns.name]);
        // Registered before anything else can fail, so Drop deletes it.
        self.namespaces.push(ns.name.clone());
        // Pitfall 4: IPv6 drops even static addresses on link down unless told not to.
        // "default" must be set before the links exist so they inherit it.
        let mut settings = vec![
            "net.ipv6.conf.all.keep_addr_on_down=1",
            "net.ipv6.conf.default.keep_addr_on_down=1",
        ];
        if !duplicate_address_detection {
            settings.extend([
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ]);
        }
        let mut command = vec!["sysctl", "-qw"];
        command.extend(settings);
        ns.run_ok(&command);
        ns.ip(&["link", "set", "lo", "up"]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let mut children = self
            .children
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for child in children.iter_mut() {
            // The child may have exited already; either way it is reaped below.
            let _ = child.kill();
            let _ = child.wait();
        }
        for name in self.namespaces.iter().rev() {
            let output = run_command("ip", &["netns", "del", name]);
            if !output.status.success() {
                eprintln!(
                    "could not delete namespace {name}: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
        }
    }
}

/// Which of `names` `ip netns list` still shows. Tests in one binary run in parallel, so
/// each checks its own lab's names rather than every name with this process's prefix.
pub fn still_listed(names: &[String]) -> Vec<String> {
    run_checked("ip", &["netns", "list"])
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|listed| names.iter().any(|name| name == listed))
        .map(str::to_owned)
        .collect()
}

/// Drops `lab` and asserts that every namespace it made is gone.
pub fn tear_down(lab: Lab) {
    let names = lab.namespace_names();
    drop(lab);
    let left = still_listed(&names);
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}

/// A current-thread tokio runtime with IO and timers, for use inside [`Netns::enter`].
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("building a current-thread runtime only fails when out of resources")
}
