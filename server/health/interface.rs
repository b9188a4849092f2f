//! Interface checks (keepalived's `track_interface`): the link passes while it is
//! administratively up and running (IFF_UP and IFF_RUNNING: a veth whose peer is down, or a
//! NIC without carrier, is up but not running).
//!
//! Each run asks the kernel over rtnetlink rather than reading `/sys/class/net/<if>/operstate`:
//! sysfs shows the network namespace of whoever mounted it, while a netlink socket belongs to
//! the namespace of the thread that opened it, which is the daemon's (and a test's lab
//! namespace). Polling on the interval, rather than following [`crate::net::LinkEvents`],
//! keeps rise/fall meaning "runs in a row" as for every other check, and the event stream
//! reports nothing about an interface until it changes.

use std::time::Duration;

use futures_util::TryStreamExt;
use rtnetlink::packet_route::link::LinkFlags;

use crate::net::{NetError, Netlink};

use super::HealthError;
use super::outcome::RunResult;
use super::runner::{Observation, observe};

/// An interface check with its netlink connection.
#[derive(Clone, Debug)]
pub struct InterfaceProbe {
    name: String,
    netlink: Netlink,
}

impl InterfaceProbe {
    /// A check of the interface `name` in the calling thread's network namespace. Must be
    /// called within a tokio runtime, which drives the netlink connection.
    pub fn new(name: String) -> Result<Self, HealthError> {
        let netlink = Netlink::connect().map_err(|source| HealthError::Link { source })?;
        Ok(Self { name, netlink })
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
