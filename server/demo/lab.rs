//! The demo's throwaway lab: a bridge namespace, three host namespaces and a client, wired
//! with veth pairs and addressed from 192.0.2.0/24 (RFC 5737, documentation only), plus the
//! daemons it starts and a scratch directory for their configurations and logs.
//!
//! Everything is created with `ip` inside namespaces named `vsdemo-<pid>-…`, never on the
//! root namespace's links. [`Lab`] undoes all of it when dropped, also on an error or an
//! interrupted run: the daemons are killed first (a process left in a deleted namespace would
//! keep running), then the namespaces are deleted (which deletes their links), then the
//! directory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use thiserror::Error;

/// Prefix of every namespace and directory the demo creates, so leftovers are easy to spot
/// (`ip netns list | grep vsdemo-`).
pub const PREFIX: &str = "vsdemo";

/// The virtual address the hosts share.
pub const VIP: &str = "192.0.2.100";

/// The client's address; the hosts are 192.0.2.1 to .3.
pub const CLIENT_ADDRESS: &str = "192.0.2.50";

/// The interface every host and the client have on the LAN.
pub const INTERFACE: &str = "eth0";

/// Where `ip netns add` keeps the namespaces it names.
const NETNS_DIRECTORY: &str = "/run/netns";

/// What went wrong while building or driving the lab.
#[derive(Debug, Error)]
pub enum LabError {
    /// A program could not be started at all (not installed, not executable).
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why it could not start.
        source: io::Error,
    },
    /// A command ran and failed.
    #[error("`{command}` failed: {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// What it printed on standard error.
        stderr: String,
    },
    /// A file or directory of the scratch directory could not be written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A signal could not be delivered to a daemon.
    #[error("cannot send {signal} to the daemon on {host}: {source}")]
    Signal {
        /// The host whose daemon it was.
        host: String,
        /// The signal.
        signal: Signal,
        /// Why.
        source: nix::Error,
    },
    /// Whether a daemon has exited could not be asked.
    #[error("cannot check whether the daemon on {host} exited: {source}")]
    Wait {
        /// The host whose daemon it is.
        host: String,
        /// Why.
        source: io::Error,
    },
    /// Asked about a daemon the lab is not running.
    #[error("no daemon is running on {host}")]
    NoDaemon {
        /// The host.
        host: String,
    },
}

/// The namespaces, daemons and scratch directory of one demo run; see the module docs.
#[derive(Debug)]
pub struct Lab {
    /// `vsdemo-<pid>`: the start of every name.
    base: String,
    /// Namespaces created so far, deleted in reverse order on drop.
    namespaces: Vec<String>,
    /// Configurations, logs and API sockets.
    directory: PathBuf,
    /// The running daemon of each host, by host name.
    daemons: BTreeMap<String, Child>,
}

impl Lab {
    /// Creates the scratch directory and an empty lab; nothing exists in the kernel yet.
    pub fn new() -> Result<Lab, LabError> {
        let base = format!("{PREFIX}-{}", std::process::id());
        let directory = std::env::temp_dir().join(&base);
        std::fs::create_dir_all(&directory).map_err(|source| LabError::File {
            path: directory.clone(),
            source,
        })?;
        Ok(Lab {
            base,
            namespaces: Vec::new(),
            directory,
            daemons: BTreeMap::new(),
        })
    }

    /// The scratch directory.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The namespace name of `host` (`h1`, `client`).
    pub fn namespace(&self, host: &str) -> String {
        format!("{}-{host}", self.base)
    }

    /// The file `ip netns add` made for `host`'s namespace, which `setns` takes.
    pub fn namespace_file(&self, host: &str) -> PathBuf {
        Path::new(NETNS_DIRECTORY).join(self.namespace(host))
    }

    /// Builds the LAN: a bridge in its own namespace, then each of `hosts` with
    /// 192.0.2.N/24 (N from 1, in order) and the client with 192.0.2.50/24, each on `eth0`.
    pub fn build(&mut self, hosts: &[&str]) -> Result<(), LabError> {
        let bridge = self.add_namespace("br")?;
        ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &bridge, "link", "set", "br0", "up"])?;
        let numbered = hosts
            .iter()
            .zip(1..)
            .map(|(host, number)| (*host, format!("192.0.2.{number}/24")));
        let client = std::iter::once(("client", format!("{CLIENT_ADDRESS}/24")));
        for (host, address) in numbered.chain(client) {
            let namespace = self.add_namespace(host)?;
            // The bridge port is named after the host; its peer moves into the host's
            // namespace as eth0, so no link ever exists in the root namespace.
            ip(&[
                "-n", &bridge, "link", "add", host, "type", "veth", "peer", "name", INTERFACE,
                "netns", &namespace,
            ])?;
            ip(&["-n", &bridge, "link", "set", host, "master", "br0", "up"])?;
            ip(&["-n", &namespace, "addr", "add", &address, "dev", INTERFACE])?;
            ip(&["-n", &namespace, "link", "set", INTERFACE, "up"])?;
            ip(&["-n", &namespace, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    fn add_namespace(&mut self, host: &str) -> Result<String, LabError> {
        let namespace = self.namespace(host);
        ip(&["netns", "add", &namespace])?;
        self.namespaces.push(namespace.clone());
        Ok(namespace)
    }

    /// Writes `text` as `host`'s configuration file and returns its path.
    pub fn write_config(&self, host: &str, text: &str) -> Result<PathBuf, LabError> {
        let path = self.directory.join(format!("{host}.toml"));
        std::fs::write(&path, text).map_err(|source| LabError::File {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// Where `host`'s daemon writes its log.
    pub fn log_path(&self, host: &str) -> PathBuf {
        self.directory.join(format!("{host}.log"))
    }

    /// Where `host`'s daemon serves its gRPC API.
    pub fn api_socket_path(&self, host: &str) -> PathBuf {
        self.directory.join(format!("{host}.sock"))
    }

    /// Starts `program args` inside `host`'s namespace, in a process group of its own so
    /// that a Ctrl-C at the terminal reaches only the demo, which then stops everything in
    /// order. `ip netns exec` execs the program, so the child's PID is the program's own.
    pub fn spawn_in(
        &self,
        host: &str,
        program: &Path,
        args: &[&str],
        stdout: Stdio,
        stderr: Stdio,
    ) -> Result<Child, LabError> {
        let namespace = self.namespace(host);
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &namespace])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0);
        command.spawn().map_err(|source| LabError::Spawn {
            command: format!("{command:?}"),
            source,
        })
    }

    /// Starts this same binary as `host`'s daemon with `config`, logging to
    /// [`Lab::log_path`]. A previous daemon of `host` (one the demo killed) is reaped first.
    pub fn start_daemon(
        &mut self,
        host: &str,
        program: &Path,
        config: &Path,
    ) -> Result<(), LabError> {
        if let Some(mut previous) = self.daemons.remove(host) {
            // Killing an exited child is harmless; waiting reaps it so no zombie remains.
            let _ = previous.kill();
            previous.wait().map_err(|source| LabError::Wait {
                host: host.to_owned(),
                source,
            })?;
        }
        let log_path = self.log_path(host);
        let open_log = || {
            File::options()
                .create(true)
                .append(true)
                .open(&log_path)
                .map_err(|source| LabError::File {
                    path: log_path.clone(),
                    source,
                })
        };
        let config = config.display().to_string();
        // Namespaces share the file system: each daemon needs an API socket of its own, or
        // the second would find the first one's live socket and refuse to start.
        let socket = self.api_socket_path(host).display().to_string();
        let child = self.spawn_in(
            host,
            program,
            &["--config", &config, "--api-socket", &socket],
            Stdio::from(open_log()?),
            Stdio::from(open_log()?),
        )?;
        self.daemons.insert(host.to_owned(), child);
        Ok(())
    }

    /// Sends `signal` to `host`'s daemon.
    pub fn signal_daemon(&self, host: &str, signal: Signal) -> Result<(), LabError> {
        let child = self.daemons.get(host).ok_or_else(|| LabError::NoDaemon {
            host: host.to_owned(),
        })?;
        kill(child_pid(child), signal).map_err(|source| LabError::Signal {
            host: host.to_owned(),
            signal,
            source,
        })
    }

    /// Whether `host`'s daemon has exited; an exited daemon is forgotten (and reaped).
    pub fn daemon_exited(&mut self, host: &str) -> Result<bool, LabError> {
        let child = self
            .daemons
            .get_mut(host)
            .ok_or_else(|| LabError::NoDaemon {
                host: host.to_owned(),
            })?;
        let exited = child
            .try_wait()
            .map_err(|source| LabError::Wait {
                host: host.to_owned(),
                source,
            })?
            .is_some();
        if exited {
            self.daemons.remove(host);
        }
        Ok(exited)
    }

    /// Sets `host`'s eth0 up or down.
    pub fn set_link(&self, host: &str, up: bool) -> Result<(), LabError> {
        let state = if up { "up" } else { "down" };
        ip(&["-n", &self.namespace(host), "link", "set", INTERFACE, state])?;
        Ok(())
    }

    /// Whether `host` has the VIP on eth0, as the kernel reports it.
    pub fn holds_vip(&self, host: &str) -> Result<bool, LabError> {
        let addresses = ip(&[
            "-n",
            &self.namespace(host),
            "-4",
            "-o",
            "addr",
            "show",
            "dev",
            INTERFACE,
        ])?;
        let vip_with_prefix = format!(" {VIP}/");
        Ok(addresses.contains(&vip_with_prefix))
    }

    /// The hosts among `hosts` that hold the VIP.
    pub fn vip_holders<'a>(&self, hosts: &[&'a str]) -> Result<Vec<&'a str>, LabError> {
        let mut holders = Vec::new();
        for host in hosts {
            if self.holds_vip(host)? {
                holders.push(*host);
            }
        }
        Ok(holders)
    }

    /// The last `lines` lines of `host`'s daemon log, for an error report.
    pub fn log_tail(&self, host: &str, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path(host)).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (host, child) in &mut self.daemons {
            // SIGKILL: clean-up must not wait for handovers; the namespaces go next anyway.
            if let Err(error) = child.kill() {
                eprintln!("could not kill the daemon on {host}: {error}");
            }
            if let Err(error) = child.wait() {
                eprintln!("could not reap the daemon on {host}: {error}");
            }
        }
        for namespace in self.namespaces.iter().rev() {
            if let Err(error) = ip(&["netns", "delete", namespace]) {
                eprintln!("could not delete namespace {namespace}: {error}");
            }
        }
        if let Err(error) = std::fs::remove_dir_all(&self.directory) {
            eprintln!("could not remove {}: {error}", self.directory.display());
        }
    }
}

/// The PID of a child this process spawned. PIDs fit in `pid_t` on Linux (at most 2^22), so
/// the conversion cannot fail.
fn child_pid(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).expect("Linux PIDs are at most 2^22"))
}

/// What the demo needs of the machine and does not have, each with its fix; empty when the lab
/// can be built. Root is checked before this, by the caller.
pub fn missing_prerequisites() -> Vec<String> {
    let mut missing = Vec::new();
    if !Path::new("/proc/self/ns/net").exists() {
        missing.push(
            "this kernel has no network namespaces (CONFIG_NET_NS); the demo needs them".to_owned(),
        );
    }
    match Command::new("ip")
        .args(["netns", "list"])
        .stdin(Stdio::null())
        .output()
    {
        Err(error) if error.kind() == io::ErrorKind::NotFound => missing.push(
            "`ip` is not installed: install iproute2 (apt-get install iproute2, dnf install \
             iproute)"
                .to_owned(),
        ),
        Err(error) => missing.push(format!("`ip` cannot be run: {error}")),
        Ok(output) if !output.status.success() => missing.push(format!(
            "`ip netns list` failed, so `ip` cannot manage namespaces here: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Ok(_) => {}
    }
    missing
}

/// Runs `ip args` and returns its standard output.
fn ip(args: &[&str]) -> Result<String, LabError> {
    let command_line = || format!("ip {}", args.join(" "));
    let output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| LabError::Spawn {
            command: command_line(),
            source,
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(LabError::Failed {
            command: command_line(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}
