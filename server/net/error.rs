//! Errors from the kernel-facing layer, each naming the interface and address involved.

use std::io;
use std::net::IpAddr;

use super::Family;

/// An operation on a socket, an address or a link failed.
///
/// Every variant names the interface (and the address, where there is one) so a log line is
/// enough to find what went wrong without the call site.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Opening or configuring the raw VRRP socket failed.
    #[error("VRRP {family} socket on {interface}: {step}: {source}")]
    Socket {
        /// The interface the socket is for.
        interface: String,
        /// IPv4 or IPv6.
        family: Family,
        /// Which socket call failed (for example "join 224.0.0.18").
        step: &'static str,
        /// The error the kernel returned.
        source: io::Error,
    },
    /// Sending an advertisement failed.
    #[error("sending a VRRP advertisement on {interface} to {destination}: {source}")]
    Send {
        /// The interface the socket is bound to.
        interface: String,
        /// Where the advertisement was going.
        destination: IpAddr,
        /// The error the kernel returned.
        source: io::Error,
    },
    /// Receiving on the VRRP socket failed.
    #[error("receiving on the VRRP {family} socket on {interface}: {source}")]
    Receive {
        /// The interface the socket is bound to.
        interface: String,
        /// IPv4 or IPv6.
        family: Family,
        /// The error the kernel returned.
        source: io::Error,
    },
    /// The interface lacks an address the operation needs (for example no IPv6 link-local
    /// address, which RFC 9568 §5.1.2.1 requires as the advertisement source).
    #[error("{interface} has no {what}")]
    MissingAddress {
        /// The interface that was looked up.
        interface: String,
        /// What was missing, in words.
        what: &'static str,
    },
    /// No interface has this name.
    #[error("no interface named {interface} on this host (`ip link` lists the ones it has)")]
    NoSuchInterface {
        /// The name that was looked up.
        interface: String,
    },
    /// Adding a virtual address failed.
    #[error("adding {address}/{prefix_len} to {interface}: {source}")]
    AddAddress {
        /// The interface the address was going to.
        interface: String,
        /// The virtual address.
        address: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
        /// What netlink answered.
        source: rtnetlink::Error,
    },
    /// Removing a virtual address failed (other than because it was already gone).
    #[error("removing {address}/{prefix_len} from {interface}: {source}")]
    RemoveAddress {
        /// The interface the address was on.
        interface: String,
        /// The virtual address.
        address: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
        /// What netlink answered.
        source: rtnetlink::Error,
    },
    /// An address label the kernel would refuse (longer than IFNAMSIZ - 1 bytes).
    #[error("label {label:?} for {address} on {interface} is longer than 15 bytes")]
    LabelTooLong {
        /// The interface the address was going to.
        interface: String,
        /// The virtual address.
        address: IpAddr,
        /// The rejected label.
        label: String,
    },
    /// A netlink dump (links or addresses) failed.
    #[error("reading {what} of {interface} over netlink: {source}")]
    Query {
        /// The interface being read.
        interface: String,
        /// What was being read ("link", "addresses").
        what: &'static str,
        /// What netlink answered.
        source: rtnetlink::Error,
    },
    /// Opening a netlink socket failed.
    #[error("opening a netlink socket ({purpose}): {source}")]
    Netlink {
        /// What the socket was for.
        purpose: &'static str,
        /// The error the kernel returned.
        source: io::Error,
    },
    /// A netlink connection needs a tokio runtime to drive it and there was none.
    #[error("netlink connection ({purpose}) opened outside a tokio runtime")]
    NoRuntime {
        /// What the connection was for.
        purpose: &'static str,
    },
    /// Opening the AF_PACKET socket for announcements failed.
    #[error("opening the announcement (AF_PACKET) socket on {interface}: {source}")]
    AnnounceSocket {
        /// The interface announcements leave by.
        interface: String,
        /// The error the kernel returned.
        source: io::Error,
    },
    /// Sending a gratuitous ARP or an unsolicited NA failed.
    #[error("announcing {address} on {interface}: {source}")]
    Announce {
        /// The interface the announcement leaves by.
        interface: String,
        /// The virtual address being announced.
        address: IpAddr,
        /// The error the kernel returned.
        source: io::Error,
    },
}
