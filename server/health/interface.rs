//! Interface checks (keepalived's `track_interface`): the link passes while it is
//! administratively up and running (IFF_UP and IFF_RUNNING: a veth whose peer is down, or a
//! NIC without carrier, is up but not running).
//!
//! Each run asks the kernel over rtnetlink rather than reading `/sys/class/net/<if>/operstate`:
//! sysfs shows the network namespace of whoever mounted it, while a netlink socket belongs to
//! the namespace of the thread that opened it, which is the daemon's (and a test's lab
//! namespace). Runs come on the interval, so rise/fall keep meaning "runs in a row" as for
//! every other check, and also as soon as a link changes ([`InterfaceProbe::take_link_events`]):
//! keepalived acts on a tracked interface's netlink event at once
//! (keepalived/core/keepalived_netlink.c), and a poll alone would lag it by up to an interval.

use std::time::Duration;

use futures_util::TryStreamExt;
use rtnetlink::packet_route::link::LinkFlags;

use crate::net::{LinkEvent, LinkEvents, NetError, Netlink};

use super::HealthError;
use super::outcome::RunResult;
use super::runner::{Observation, observe};

/// An interface check with its netlink connection.
pub struct InterfaceProbe {
    name: String,
    netlink: Netlink,
    /// The namespace's link events, until the runner takes them.
    link_events: Option<LinkEvents>,
}

impl std::fmt::Debug for InterfaceProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterfaceProbe")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl InterfaceProbe {
    /// A check of the interface `name` in the calling thread's network namespace. Must be
    /// called within a tokio runtime, which drives the netlink connections.
    pub fn new(name: String) -> Result<Self, HealthError> {
        let netlink = Netlink::connect().map_err(|source| HealthError::Link { source })?;
        let link_events =
            LinkEvents::subscribe_links().map_err(|source| HealthError::Link { source })?;
        Ok(Self {
            name,
            netlink,
            link_events: Some(link_events),
        })
    }

    /// The link events of the probe's namespace, for the runner to run the check again as
    /// soon as a link changes; `None` once taken.
    pub fn take_link_events(&mut self) -> Option<LinkEvents> {
        self.link_events.take()
    }

    /// Reads the link's flags once.
    pub async fn run(&self, timeout: Duration) -> RunResult {
        observe(timeout, async {
            let link = self
                .netlink
                .handle
                .link()
                .get()
                .match_name(self.name.clone())
                .execute()
                .try_next()
                .await
                .map_err(|source| HealthError::Link {
                    source: NetError::Query {
                        interface: self.name.clone(),
                        what: "link",
                        source,
                    },
                })?;
            let Some(link) = link else {
                return Err(HealthError::Link {
                    source: NetError::NoSuchInterface {
                        interface: self.name.clone(),
                    },
                });
            };
            let flags = link.header.flags;
            Ok(
                match (
                    flags.contains(LinkFlags::Up),
                    flags.contains(LinkFlags::Running),
                ) {
                    (true, true) => Observation::passed(format!("{} is up", self.name)),
                    (true, false) => Observation::failed(format!(
                        "{} is administratively up but not running (no carrier)",
                        self.name
                    )),
                    (false, _) => {
                        Observation::failed(format!("{} is administratively down", self.name))
                    }
                },
            )
        })
        .await
    }
}

/// Waits for the next change that may concern a link: one going up or down, or lost
/// events. Never resolves without `events` or once their socket closed.
pub async fn link_changed(events: &mut Option<LinkEvents>) {
    let Some(stream) = events else {
        return std::future::pending().await;
    };
    loop {
        match stream.next().await {
            Some(LinkEvent::LinkUp(_) | LinkEvent::LinkDown(_) | LinkEvent::Overrun) => return,
            Some(_) => {}
            None => {
                *events = None;
                return std::future::pending().await;
            }
        }
    }
}
