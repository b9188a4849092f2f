//! Accept mode off, enforced: a master that does not own its virtual addresses drops what is
//! sent to them (RFC 9568 §6.1 `Accept_Mode`, §6.4.3 "MUST NOT accept packets addressed to
//! the IPvX address(es) associated with the virtual router" unless the owner or in accept
//! mode), the way keepalived does it (keepalived/vrrp/vrrp_nftables.c): one nftables table
//! whose input chain drops packets to the blocked addresses and whose output chain drops
//! packets from them, with IPv6 neighbour solicitations and advertisements let through so the
//! address still resolves. ARP is not IP and never reaches these chains. An address is added
//! to the table's sets when its instance becomes master and taken out when it stops being
//! master; the table is deleted at exit, and one left by a killed run at the next start.
//!
//! # Why the `nft` program, fed one script per change
//! keepalived speaks nf_tables netlink through libnftnl. The choices here were:
//! - netlink by hand: nf_tables batches, sets and expression lists are several hundred lines
//!   of protocol code for what `nft` already encodes and the kernel's developers test;
//! - `nftnl` (bindings to libnftnl and libmnl): C libraries at build time and at run time;
//! - `rustables` (pure Rust netlink): few maintainers, and its API changes between minor
//!   versions;
//! - the `nftables` crate (typed JSON for `nft -j`): well kept, but it still runs the same
//!   `nft` program, and its schema types and schemars/strum derives cost more to build and
//!   read than the few fixed statements below.
//!
//! So this writes nft's own language to `nft -f -`: the one form operators read and debug
//! with (`nft list table inet vrrp_sidecar`), each change applied by the kernel as one atomic
//! transaction, nothing linked in. The price is a process per change, paid on a transition of
//! an instance with accept mode off, never per packet nor per advert. Measured on the shared
//! 2-core build machine: 6.5 ms per `nft` run at load average 7.5, 22 ms while it compiled.
//! The address install of a take-over waits for it (the rule goes in first); the first
//! take-over of a run also creates the table. And the `nft` program must be installed (Debian
//! and RHEL package `nftables`).

use std::fmt::Write as _;
use std::io;
use std::net::IpAddr;
use std::process::Stdio;
use std::time::Duration;

use thiserror::Error;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The table, in the `inet` family so one table holds both families' rules. Distinct from
/// keepalived's (`keepalived`), so the two never delete each other's.
pub const TABLE: &str = "vrrp_sidecar";

/// The program that applies the scripts.
const NFT: &str = "nft";

/// How long one `nft` run may take before it is killed: it normally takes milliseconds, and
/// the VIP work queued behind it must not wait on a hung one for ever.
const NFT_TIMEOUT: Duration = Duration::from_secs(5);

/// keepalived's base chain priority (`nftables_priority`, default -1): just before the
/// default filter chains (0), so their accept rules cannot let blocked traffic in first.
const CHAIN_PRIORITY: i32 = -1;

/// An address whose traffic is dropped, with the interface it is on: an IPv6 link-local
/// address is only meaningful on its own link, so it is matched with the interface.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockedAddress {
    /// The virtual address.
    pub address: IpAddr,
    /// The interface it is installed on.
    pub interface: String,
}

impl BlockedAddress {
    /// The set this address goes in, and its element as nft writes it.
    fn element(&self) -> (&'static str, String) {
        match self.address {
            IpAddr::V4(address) => ("vips4", address.to_string()),
            IpAddr::V6(address) if address.is_unicast_link_local() => (
                "vips6_link_local",
                format!("{address} . \"{}\"", self.interface),
            ),
            IpAddr::V6(address) => ("vips6", address.to_string()),
        }
    }
}

/// Why an nftables change was not made.
#[derive(Debug, Error)]
pub enum FirewallError {
    /// `nft` could not be started (not installed, most likely).
    #[error("cannot run `{NFT}` (is the nftables package installed?): {0}")]
    Spawn(#[source] io::Error),
    /// `nft` refused the script.
    #[error("`{NFT} -f -` failed ({status}): {stderr}")]
    Refused {
        /// How it exited.
        status: std::process::ExitStatus,
        /// What it said.
        stderr: String,
    },
    /// `nft` did not finish in time and was killed.
    #[error("`{NFT} -f -` did not finish within {NFT_TIMEOUT:?}; killed")]
    TimedOut,
    /// An interface name nft could not take as a quoted string.
    #[error("interface name {0:?} cannot be written in an nftables rule")]
    BadInterfaceName(String),
}

/// The nftables rules of accept mode off. Cheap to clone: it holds no state of its own; which
/// addresses are blocked is the kernel's, and the caller's to track.
#[derive(Clone, Debug, Default)]
pub struct Firewall;

impl Firewall {
    /// Deletes a table an earlier run left behind (killed before it could delete it) and
    /// creates the table, sets and chains empty: nothing is dropped until [`Self::block`].
    pub async fn start(&self) -> Result<(), FirewallError> {
        run(&start_script()).await
    }

    /// Drops traffic to and from `addresses`. Adding an address already blocked is not an
    /// error.
    pub async fn block(&self, addresses: &[BlockedAddress]) -> Result<(), FirewallError> {
        run(&elements_script("add", addresses)?).await
    }

    /// Lets traffic to and from `addresses` through again. An address not blocked is not an
    /// error.
    pub async fn unblock(&self, addresses: &[BlockedAddress]) -> Result<(), FirewallError> {
        run(&elements_script("delete", addresses)?).await
    }

    /// Deletes the table and with it every rule; at exit.
    pub async fn remove(&self) -> Result<(), FirewallError> {
        run(&delete_table_script()).await
    }
}

/// `add` then `delete` makes the deletion succeed whether or not the table exists, in one
/// transaction (nft's `destroy` needs nft 1.0.8, newer than Debian 12's 1.0.6).
fn delete_table_script() -> String {
    format!("add table inet {TABLE}\ndelete table inet {TABLE}\n")
}

fn start_script() -> String {
    let mut script = delete_table_script();
    let nd = "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept";
    // Written out in full, so `nft list table inet vrrp_sidecar` shows the same thing.
    let _ = write!(
        script,
        "table inet {TABLE} {{\n\
         \tset vips4 {{ type ipv4_addr; }}\n\
         \tset vips6 {{ type ipv6_addr; }}\n\
         \tset vips6_link_local {{ type ipv6_addr . ifname; }}\n\
         \tchain vip_in {{\n\
         \t\ttype filter hook input priority {CHAIN_PRIORITY}; policy accept;\n\
         \t\t{nd}\n\
         \t\tip daddr @vips4 counter drop\n\
         \t\tip6 daddr @vips6 counter drop\n\
         \t\tip6 daddr . iifname @vips6_link_local counter drop\n\
         \t}}\n\
         \tchain vip_out {{\n\
         \t\ttype filter hook output priority {CHAIN_PRIORITY}; policy accept;\n\
         \t\t{nd}\n\
         \t\tip saddr @vips4 counter drop\n\
         \t\tip6 saddr @vips6 counter drop\n\
         \t\tip6 saddr . oifname @vips6_link_local counter drop\n\
         \t}}\n\
         }}\n"
    );
    script
}

/// `verb` (`add` or `delete`) each address's element. A deletion is preceded by an addition
/// of the same element, so that deleting one already gone succeeds, as with the table.
fn elements_script(verb: &str, addresses: &[BlockedAddress]) -> Result<String, FirewallError> {
    let mut script = String::new();
    for blocked in addresses {
        // nft strings are double-quoted with no escapes; Linux names may hold anything but
        // '/', whitespace and NUL.
        if blocked.interface.contains('"') || blocked.interface.contains('\\') {
            return Err(FirewallError::BadInterfaceName(blocked.interface.clone()));
        }
        let (set, element) = blocked.element();
        if verb == "delete" {
            let _ = writeln!(script, "add element inet {TABLE} {set} {{ {element} }}");
        }
        let _ = writeln!(script, "{verb} element inet {TABLE} {set} {{ {element} }}");
    }
    Ok(script)
}

/// Applies `script` with `nft -f -`, as one transaction.
async fn run(script: &str) -> Result<(), FirewallError> {
    if script.is_empty() {
        return Ok(());
    }
    let mut child = Command::new(NFT)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(FirewallError::Spawn)?;
    let mut stdin = child
        .stdin
        .take()
        .expect("stdin was set to a pipe just above");
    let finished = async {
        stdin.write_all(script.as_bytes()).await?;
        // nft reads to the end of its input before it applies anything.
        drop(stdin);
        child.wait_with_output().await
    };
    let output = tokio::time::timeout(NFT_TIMEOUT, finished)
        .await
        .map_err(|_| FirewallError::TimedOut)?
        .map_err(FirewallError::Spawn)?;
    if output.status.success() {
        Ok(())
    } else {
        Err(FirewallError::Refused {
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(address: &str, interface: &str) -> BlockedAddress {
        BlockedAddress {
            address: address.parse().expect("test addresses are literals"),
            interface: interface.to_owned(),
        }
    }

    #[test]
    fn each_family_goes_in_its_set_and_link_local_with_its_interface() {
        let script = elements_script(
            "add",
            &[
                blocked("192.0.2.10", "eth0"),
                blocked("2001:db8::10", "eth0"),
                blocked("fe80::10", "eth1"),
            ],
        )
        .unwrap();
        assert_eq!(
            script,
            "add element inet vrrp_sidecar vips4 { 192.0.2.10 }\n\
             add element inet vrrp_sidecar vips6 { 2001:db8::10 }\n\
             add element inet vrrp_sidecar vips6_link_local { fe80::10 . \"eth1\" }\n"
        );
    }

    #[test]
    fn a_deletion_adds_first_so_a_missing_element_is_not_an_error() {
        let script = elements_script("delete", &[blocked("192.0.2.10", "eth0")]).unwrap();
        assert_eq!(
            script,
            "add element inet vrrp_sidecar vips4 { 192.0.2.10 }\n\
             delete element inet vrrp_sidecar vips4 { 192.0.2.10 }\n"
        );
    }

    #[test]
    fn an_interface_name_that_would_break_the_quoting_is_refused() {
        let error = elements_script("add", &[blocked("fe80::1", "a\"b")]).unwrap_err();
        assert!(matches!(error, FirewallError::BadInterfaceName(_)));
    }

    #[test]
    fn the_start_replaces_any_old_table_in_the_same_transaction() {
        let script = start_script();
        assert!(script.starts_with(
            "add table inet vrrp_sidecar\ndelete table inet vrrp_sidecar\ntable inet vrrp_sidecar {"
        ));
        assert!(script.contains("ip daddr @vips4 counter drop"));
        assert!(script.contains("ip saddr @vips4 counter drop"));
    }
}
