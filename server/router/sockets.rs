//! The raw VRRP sockets of the daemon: one per (interface, family, carrier), shared by the
//! instances there, each with a receiver task that forwards what arrives to the router. An
//! Authentication Header socket (protocol 51) is opened only where an instance uses AH.
//!
//! Receiving in small tasks lets the router wait on one channel instead of a changing set of
//! sockets; the router still does all the protocol work, in arrival order per socket.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::net::{Carrier, Interface, NetError, ReceivedAdvert, VrrpSocket};

use crate::vrrp::node::Link;

/// How long a receiver waits after a failed receive before trying again, so a socket that
/// keeps failing cannot spin.
const RECEIVE_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// A packet and the socket it came from.
pub type Arrival = (Link, ReceivedAdvert);

/// The open sockets, by what they serve.
#[derive(Debug)]
pub struct Sockets {
    open: HashMap<(Link, Carrier), OpenSocket>,
    arrivals: mpsc::Sender<Arrival>,
}

#[derive(Debug)]
struct OpenSocket {
    socket: Arc<VrrpSocket>,
    interface: Interface,
    receiver: JoinHandle<()>,
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        // The receiver holds the other reference to the socket; ending it closes the socket.
        self.receiver.abort();
    }
}

impl Sockets {
    /// No sockets yet; receivers will forward to `arrivals`.
    pub fn new(arrivals: mpsc::Sender<Arrival>) -> Self {
        Sockets {
            open: HashMap::new(),
            arrivals,
        }
    }

    /// Makes sure the socket for `key` and `carrier` is open on `interface` as it is now,
    /// reopening it if the interface changed since (a new link-local address is the IPv6
    /// source).
    pub fn ensure(
        &mut self,
        key: &Link,
        carrier: Carrier,
        interface: &Interface,
    ) -> Result<(), NetError> {
        let open_key = (key.clone(), carrier);
        if self
            .open
            .get(&open_key)
            .is_some_and(|open| open.interface == *interface)
        {
            return Ok(());
        }
        let socket = Arc::new(VrrpSocket::open(interface, key.family, carrier)?);
        let receiver = tokio::spawn(receive(
            key.clone(),
            Arc::clone(&socket),
            self.arrivals.clone(),
        ));
        let reopened = self.open.insert(
            open_key,
            OpenSocket {
                socket,
                interface: interface.clone(),
                receiver,
            },
        );
        info!(
            socket = %key,
            %carrier,
            reopened = reopened.is_some(),
            "VRRP socket open"
        );
        Ok(())
    }

    /// Closes every socket `in_use` says no instance needs any more.
    pub fn close_unused(&mut self, in_use: impl Fn(&Link, Carrier) -> bool) {
        self.open.retain(|(key, carrier), _| {
            let keep = in_use(key, *carrier);
            if !keep {
                info!(socket = %key, %carrier, "VRRP socket closed");
            }
            keep
        });
    }

    /// The socket for `key` and `carrier`, if open.
    pub fn get(&self, key: &Link, carrier: Carrier) -> Option<&VrrpSocket> {
        self.open
            .get(&(key.clone(), carrier))
            .map(|open| open.socket.as_ref())
    }
}

async fn receive(key: Link, socket: Arc<VrrpSocket>, arrivals: mpsc::Sender<Arrival>) {
    let mut failing = false;
    loop {
        match socket.recv().await {
            Ok(packet) => {
                failing = false;
                // The router is gone: the daemon is stopping.
                if arrivals.send((key.clone(), packet)).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                // One line per run of failures, not one per retry.
                if !failing {
                    warn!(socket = %key, %error, "receive failed; retrying");
                    failing = true;
                }
                tokio::time::sleep(RECEIVE_RETRY_PAUSE).await;
            }
        }
    }
}
