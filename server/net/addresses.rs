//! Virtual addresses (VIPs) added to and removed from an interface over rtnetlink.

use std::net::IpAddr;
use std::time::Duration;

use futures_util::StreamExt;
use rtnetlink::AddressMessageBuilder;
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, CacheInfo,
};
use rtnetlink::proto::ConnectionHandle;
use rtnetlink::sys::SocketAddr;
use rtnetlink::sys::protocols::NETLINK_ROUTE;

use super::{Interface, NetError, Netlink};

/// Longest address label the kernel accepts (IFNAMSIZ less the terminating NUL).
const MAX_LABEL_LEN: usize = 15;

/// A virtual address as the router wants it installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    /// The address itself.
    pub address: IpAddr,
    /// Its prefix length: with the interface's own prefix the VIP becomes a secondary address
    /// in that subnet, as keepalived does (keepalived-baseline.md, pitfall 14).
    pub prefix_len: u8,
    /// An IPv4 label such as `eth0:vip`, shown by `ip addr`; IPv6 has no labels and the
    /// kernel ignores one, so it is not sent for IPv6.
    pub label: Option<String>,
    /// A finite valid (and preferred) lifetime. The kernel deletes the address when it runs
    /// out, so a daemon that is killed stops holding its VIPs shortly after; the living
    /// master refreshes it by adding the VIP again. `None` is forever.
    pub lifetime: Option<Duration>,
}

/// An address as the kernel reports it on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledAddress {
    /// The address.
    pub address: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// Its IPv4 label, if any.
    pub label: Option<String>,
    /// IPv6 duplicate address detection is still running: the address cannot be used yet.
    pub tentative: bool,
    /// Remaining valid lifetime; `None` when the address is permanent.
    pub valid_lifetime: Option<Duration>,
}

/// Adds, removes and lists addresses over an rtnetlink connection.
#[derive(Clone, Debug)]
pub struct Addresses {
    netlink: Netlink,
}

impl Addresses {
    /// Uses `netlink` for every request.
    pub fn new(netlink: Netlink) -> Self {
        Self { netlink }
    }

    /// Installs `vip` on `interface`, or refreshes it (lifetime, label) if already there.
    ///
    /// NLM_F_REPLACE makes this idempotent: re-adding an existing address updates it in
    /// place instead of failing with EEXIST, which is how the lifetime gets refreshed.
    pub async fn add(&self, interface: &Interface, vip: &Vip) -> Result<(), NetError> {
        let add_error = |source| NetError::AddAddress {
            interface: interface.name.clone(),
            address: vip.address,
            prefix_len: vip.prefix_len,
            source,
        };
        let mut request = self
            .netlink
            .handle
            .address()
            .add(interface.index, vip.address, vip.prefix_len)
            .replace();
        describe_vip(request.message_mut(), interface, vip)?;
        match request.execute().await {
            Ok(()) => Ok(()),
            Err(error) if netlink_errno(&error) == Some(libc::EEXIST) => Ok(()),
            Err(source) => Err(add_error(source)),
        }
    }

    /// Removes `address`/`prefix_len` from `interface`; removing an address that is not
    /// there succeeds, so a retry or a race with the kernel's expiry is harmless.
    pub async fn remove(
        &self,
        interface: &Interface,
        address: IpAddr,
        prefix_len: u8,
    ) -> Result<(), NetError> {
        let message = match address {
            IpAddr::V4(v4) => AddressMessageBuilder::<std::net::Ipv4Addr>::new()
                .index(interface.index)
                .address(v4, prefix_len)
                .build(),
            IpAddr::V6(v6) => AddressMessageBuilder::<std::net::Ipv6Addr>::new()
                .index(interface.index)
                .address(v6, prefix_len)
                .build(),
        };
        match self.netlink.handle.address().del(message).execute().await {
            Ok(()) => Ok(()),
            Err(error)
                if matches!(
                    netlink_errno(&error),
                    Some(libc::EADDRNOTAVAIL | libc::ENOENT)
                ) =>
            {
                Ok(())
            }
            Err(source) => Err(NetError::RemoveAddress {
                interface: interface.name.clone(),
                address,
                prefix_len,
                source,
            }),
        }
    }

    /// Lists every address on `interface`, both families.
    pub async fn list(&self, interface: &Interface) -> Result<Vec<InstalledAddress>, NetError> {
        let mut dump = self
            .netlink
            .handle
            .address()
            .get()
            .set_link_index_filter(interface.index)
            .execute();
        let mut installed = Vec::new();
        while let Some(message) = dump.next().await {
            let message = message.map_err(|source| NetError::Query {
                interface: interface.name.clone(),
                what: "addresses",
                source,
            })?;
            let Some(address) = message_address(&message) else {
                continue;
            };
            let mut label = None;
            let mut valid_lifetime = None;
            for attribute in &message.attributes {
                match attribute {
                    AddressAttribute::Label(text) => label = Some(text.clone()),
                    // The kernel reports "forever" as INFINITY_LIFE_TIME (all ones).
                    AddressAttribute::CacheInfo(info) if info.ifa_valid != u32::MAX => {
                        valid_lifetime = Some(Duration::from_secs(info.ifa_valid.into()));
                    }
                    _ => {}
                }
            }
            installed.push(InstalledAddress {
                address,
                prefix_len: message.header.prefix_len,
                label,
                tentative: address_flags(&message).contains(AddressFlags::Tentative),
                valid_lifetime,
            });
        }
        Ok(installed)
    }
}

/// Adds what [`Addresses::add`] and [`Renewals::renew`] send beyond the address itself:
/// the label, NODAD for IPv6 and the finite lifetime.
fn describe_vip(
    message: &mut AddressMessage,
    interface: &Interface,
    vip: &Vip,
) -> Result<(), NetError> {
    match (vip.address, &vip.label) {
        (IpAddr::V4(_), Some(label)) => {
            if label.len() > MAX_LABEL_LEN {
                return Err(NetError::LabelTooLong {
                    interface: interface.name.clone(),
                    address: vip.address,
                    label: label.clone(),
                });
            }
            message
                .attributes
                .push(AddressAttribute::Label(label.clone()));
        }
        (IpAddr::V6(_), _) => {
            // keepalived-baseline.md, pitfall 4: without NODAD the VIP stays tentative
            // for about a second after take-over and the kernel will not use it.
            message.header.flags |= AddressHeaderFlags::Nodad;
            message
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        (IpAddr::V4(_), None) => {}
    }
    if let Some(lifetime) = vip.lifetime {
        // The kernel counts whole seconds and rejects a valid lifetime of 0 (EINVAL);
        // u32::MAX would mean "forever", which a finite lifetime must not become.
        let seconds = u32::try_from(lifetime.as_secs())
            .unwrap_or(u32::MAX - 1)
            .clamp(1, u32::MAX - 1);
        let mut cache_info = CacheInfo::default();
        cache_info.ifa_preferred = seconds;
        cache_info.ifa_valid = seconds;
        message
            .attributes
            .push(AddressAttribute::CacheInfo(cache_info));
    }
    Ok(())
}

/// How many addresses [`Renewals::renew`] packs into one netlink datagram. The kernel answers
/// each with its own acknowledgement, all queued at once on our socket: 64 of them take
/// about 40 KiB of its receive buffer (208 KiB by default), and 64 requests of about 80
/// bytes make a 5 KiB datagram.
pub const RENEWALS_PER_DATAGRAM: usize = 64;

/// Renews the lifetimes of many installed addresses at once, re-adding them as
/// [`Addresses::add`] does but [`RENEWALS_PER_DATAGRAM`] to a netlink datagram.
///
/// Why: a master renews every VIP every second, and one request per address costs a
/// round trip through the netlink connection task for each (255 VIPs: 255 sends, 255
/// wake-ups of each task involved), more CPU than the advertisements themselves at a
/// 100 ms interval. rtnetlink's handle sends one message per datagram, so the renewals
/// have a connection of their own, on which netlink-proto sends a batch as one datagram.
#[derive(Clone, Debug)]
pub struct Renewals {
    connection: ConnectionHandle<RouteNetlinkMessage>,
}

impl Renewals {
    /// Opens the renewals' netlink route socket in the calling thread's network namespace
    /// and spawns its driver on the current tokio runtime.
    pub fn connect() -> Result<Self, NetError> {
        const PURPOSE: &str = "address renewals";
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| NetError::NoRuntime { purpose: PURPOSE })?;
        let (connection, handle, _unsolicited) = rtnetlink::proto::new_connection(NETLINK_ROUTE)
            .map_err(|source| NetError::Netlink {
                purpose: PURPOSE,
                source,
            })?;
        runtime.spawn(connection);
        Ok(Self { connection: handle })
    }

    /// Re-adds (NLM_F_REPLACE) each `(interface, vip)` of `batch`, which renews its
    /// lifetime, in one datagram. Returns how many the kernel refused, if any; which ones is
    /// not told (the caller can add those again one by one to find out).
    pub async fn renew(&self, batch: &[(&Interface, &Vip)]) -> Result<(), RenewalError> {
        let mut messages = Vec::with_capacity(batch.len());
        for &(interface, vip) in batch {
            let mut message = match vip.address {
                IpAddr::V4(v4) => AddressMessageBuilder::<std::net::Ipv4Addr>::new()
                    .index(interface.index)
                    .address(v4, vip.prefix_len)
                    .build(),
                IpAddr::V6(v6) => AddressMessageBuilder::<std::net::Ipv6Addr>::new()
                    .index(interface.index)
                    .address(v6, vip.prefix_len)
                    .build(),
            };
            describe_vip(&mut message, interface, vip).map_err(RenewalError::Refused)?;
            let mut request = NetlinkMessage::from(RouteNetlinkMessage::NewAddress(message));
            request.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | NLM_F_CREATE;
            messages.push(request);
        }
        let mut replies = self
            .connection
            .request_batch(messages, SocketAddr::new(0, 0))
            .map_err(|_| RenewalError::ConnectionClosed)?;
        let mut refused = 0;
        let mut first = None;
        // Plain acknowledgements are not forwarded; the stream ends once every message of
        // the batch has its answer.
        while let Some(reply) = replies.next().await {
            // As in `Addresses::add`: EEXIST is no failure.
            if let NetlinkPayload::Error(error) = reply.payload
                && error.code.is_some_and(|code| -code.get() != libc::EEXIST)
            {
                refused += 1;
                first.get_or_insert(error);
            }
        }
        match first {
            None => Ok(()),
            Some(first) => Err(RenewalError::Kernel {
                refused,
                first: rtnetlink::Error::NetlinkError(first),
            }),
        }
    }
}

/// Why a batch of renewals did not all go through.
#[derive(Debug, thiserror::Error)]
pub enum RenewalError {
    /// An address could not even be described (a label too long).
    #[error(transparent)]
    Refused(NetError),
    /// The kernel refused some of the batch.
    #[error("the kernel refused {refused} renewal(s), the first with: {first}")]
    Kernel {
        /// How many.
        refused: usize,
        /// The first refusal.
        first: rtnetlink::Error,
    },
    /// The connection's driver task is gone.
    #[error("the netlink connection for address renewals is closed")]
    ConnectionClosed,
}

/// The interface's own address in an address message: IFA_LOCAL where present (for IPv4 on
/// a point-to-point link IFA_ADDRESS is the peer), IFA_ADDRESS otherwise (IPv6).
pub(crate) fn message_address(message: &AddressMessage) -> Option<IpAddr> {
    let local = message
        .attributes
        .iter()
        .find_map(|attribute| match attribute {
            AddressAttribute::Local(address) => Some(*address),
            _ => None,
        });
    local.or_else(|| {
        message
            .attributes
            .iter()
            .find_map(|attribute| match attribute {
                AddressAttribute::Address(address) => Some(*address),
                _ => None,
            })
    })
}

/// The full 32-bit flags: IFA_FLAGS when the kernel sent it, else the 8-bit header field.
pub(crate) fn address_flags(message: &AddressMessage) -> AddressFlags {
    message
        .attributes
        .iter()
        .find_map(|attribute| match attribute {
            AddressAttribute::Flags(flags) => Some(*flags),
            _ => None,
        })
        .unwrap_or_else(|| AddressFlags::from_bits_retain(message.header.flags.bits().into()))
}

/// The positive errno of a netlink error reply, if that is what `error` is.
pub(crate) fn netlink_errno(error: &rtnetlink::Error) -> Option<i32> {
    match error {
        rtnetlink::Error::NetlinkError(message) => Some(-message.raw_code()),
        _ => None,
    }
}
