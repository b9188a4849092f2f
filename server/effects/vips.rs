//! The VIP lifecycle: install with a finite kernel lifetime, refresh while master, remove,
//! clean up what an earlier run left, and announce, all applied in order by one worker task.
//!
//! Netlink requests are quick (a round trip to the kernel through the connection task), but
//! a take-over of many instances queues many of them; the router hands them to this worker
//! instead of awaiting them, so no VRRP timer ever waits for netlink. One worker applies the
//! operations in the order the router queued them, so an address is always installed before
//! it is announced and a remove never overtakes the install it undoes.
//!
//! Why a finite lifetime: a master killed with SIGKILL cannot remove its addresses, and
//! keepalived then keeps answering for them for good (its issue #2361). Ours are installed
//! with a lifetime ([`vip_lifetime`]) that the living master renews every
//! [`VIP_REFRESH_EVERY`], so the kernel deletes them by itself after the daemon dies.
//! The router renews the VIPs of every master together, on one daemon-wide tick, and the
//! worker packs them into few netlink datagrams ([`Renewals`]): renewing each instance's on
//! a clock of its own cost a netlink round trip and several task wake-ups per address.
//!
//! How long: a killed daemon's host should answer for the VIP until a backup takes over and
//! its gratuitous ARP moves the clients, so that they lose nothing, and let go soon after.
//! A backup takes over Master_Down_Interval after the last advert it heard, and the last
//! renewal came up to [`VIP_REFRESH_EVERY`] (plus a late tick) before that advert; so the
//! lifetime is the longest Master_Down_Interval any backup of the instance would use (that
//! of priority 1) plus that renewal slack, rounded up to the kernel's whole seconds. The
//! price: a killed master's VIP outlives the takeover by up to the renewal slack, the
//! rounding and the kernel's expiry delay (the removal is scheduled on a whole jiffies
//! second when that is within a quarter second, `check_lifetime` in the kernel's
//! `net/ipv4/devinet.c`): at most 5.25 s after the kill at 1 s adverts, where a backup of
//! priority 1 takes over after 3.996 s, and 1.25 s at 100 ms.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{Instrument, Span, debug, error, info, trace, warn};

use crate::config::{InstanceSettings, VirtualAddress};
use crate::net::addresses::RENEWALS_PER_DATAGRAM;
use crate::net::{Addresses, Announcer, Interface, Renewals, Routing, Vip};
use crate::trace::{self, VipWork};
use crate::vrrp::{AdvertInterval, DownTimerAdverts, Priority, Version, master_down_interval};

use super::routing::{HeldRouting, Removal};
use super::vip_firewall::VipFirewall;

/// How often the VIPs of every master are renewed. It is part of every lifetime (see
/// [`vip_lifetime`]), so it is kept short enough for a 100 ms instance's lifetime to be the
/// kernel's shortest, one second: 255 masters then cost 510 renewals a second, packed 64 to
/// a datagram.
pub const VIP_REFRESH_EVERY: Duration = Duration::from_millis(500);

/// How late a renewal may reach the kernel besides the tick itself: the router serving the
/// tick late on a loaded machine, the VIP work queued ahead of it.
const LATE_RENEWAL: Duration = Duration::from_millis(100);

/// The valid and preferred lifetime of the VIPs of an instance of `version` advertising
/// every `advert_interval` whose backups wait `down_timer_adverts` (see the module docs for
/// why): the Master_Down_Interval of a backup of priority 1, the slowest any backup can be
/// (RFC 9568 §6.1, RFC 3768 §6.1), plus the renewal slack, rounded up to whole seconds, the
/// kernel's unit.
pub fn vip_lifetime(
    version: Version,
    advert_interval: AdvertInterval,
    down_timer_adverts: DownTimerAdverts,
) -> Duration {
    let slowest_takeover =
        master_down_interval(version, Priority::MIN, advert_interval, down_timer_adverts);
    let needed = slowest_takeover + VIP_REFRESH_EVERY + LATE_RENEWAL;
    let whole_seconds = needed.as_secs() + u64::from(needed.subsec_nanos() > 0);
    Duration::from_secs(whole_seconds)
}

/// A netlink call slower than this is logged at warn: it held up the VIP work of every
/// instance queued behind it.
const SLOW_NETLINK_CALL: Duration = Duration::from_millis(50);

/// A virtual address together with the interface it goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedVip {
    /// The interface, as last looked up.
    pub interface: Interface,
    /// The address, its prefix, label and lifetime.
    pub vip: Vip,
}

impl PlacedVip {
    /// `address` on `interface`, with the finite `lifetime` of [`vip_lifetime`].
    pub fn new(interface: Interface, address: &VirtualAddress, lifetime: Duration) -> Self {
        PlacedVip {
            interface,
            vip: Vip {
                address: address.address,
                prefix_len: address.prefix_len,
                label: address.label.clone(),
                lifetime: Some(lifetime),
            },
        }
    }
}

/// The addresses `settings` holds, placed on their interfaces as last looked up, with the
/// instance's [`vip_lifetime`]. The daemon looks up every interface an instance names before
/// creating it, so none should be missing; one that is gets its address skipped with an
/// error rather than stop the others.
pub fn place(
    settings: &InstanceSettings,
    interfaces: &HashMap<String, Interface>,
) -> Vec<PlacedVip> {
    let lifetime = vip_lifetime(
        settings.version,
        settings.advert_interval,
        settings.down_timer_adverts,
    );
    settings
        .held_addresses()
        .filter_map(|address| {
            let name = settings.interface_of(address);
            let Some(interface) = interfaces.get(name) else {
                error!(
                    instance = %settings.name,
                    interface = name,
                    address = %address.address,
                    "interface unknown; virtual address skipped"
                );
                return None;
            };
            Some(PlacedVip::new(interface.clone(), address, lifetime))
        })
        .collect()
}

/// Why addresses are being installed, which decides how loudly it is logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallReason {
    /// The instance became master.
    TakeOver,
    /// The periodic renewal of the lifetime, one by one after a batch of renewals failed.
    Refresh,
    /// Someone else deleted the address while we are master.
    PutBack,
    /// A reload added the address while we are master.
    Reload,
}

#[derive(Debug)]
enum Operation {
    Install {
        instance: String,
        vips: Vec<PlacedVip>,
        reason: InstallReason,
    },
    Remove {
        instance: String,
        vips: Vec<PlacedVip>,
    },
    RemoveStale {
        instance: String,
        vips: Vec<PlacedVip>,
    },
    Announce {
        instance: String,
        vips: Vec<PlacedVip>,
        messages: u8,
    },
    Prepare {
        instance: String,
        vips: Vec<PlacedVip>,
    },
    Renew {
        vips: Vec<(String, PlacedVip)>,
    },
    Block {
        instance: String,
        vips: Vec<PlacedVip>,
    },
    InstallRouting {
        instance: String,
        held: HeldRouting,
        reason: InstallReason,
    },
    RemoveRouting {
        instance: String,
        held: HeldRouting,
        why: Removal,
    },
}

/// The router's handle on the VIP worker: queues operations and never waits. Not `Clone`:
/// the router holds the only one, so dropping it is what lets the worker finish.
#[derive(Debug)]
pub struct VipWorker {
    // Unbounded on purpose: a bounded queue would make the router wait when it is full,
    // which is exactly what the worker exists to avoid. The queue cannot grow without
    // bound: the router adds at most a few operations per instance per advert interval and
    // each takes well under a millisecond.
    // Each operation with the span current when it was queued: a transition's, whose child
    // the work becomes, or none.
    operations: mpsc::UnboundedSender<(Operation, Span)>,
}

impl VipWorker {
    /// Starts the worker on the current runtime. It ends once every handle is dropped and
    /// the queue is drained, which is how the daemon waits for its last removals.
    ///
    /// The receiver reports each announcement sent (see [`AnnouncementSent`]).
    pub fn spawn(
        addresses: Addresses,
        renewals: Renewals,
        routing: Routing,
    ) -> (
        VipWorker,
        JoinHandle<()>,
        mpsc::UnboundedReceiver<AnnouncementSent>,
    ) {
        let (operations, queue) = mpsc::unbounded_channel();
        let (sent, sent_reports) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(queue, addresses, renewals, routing, sent));
        (VipWorker { operations }, task, sent_reports)
    }

    /// Adds `held`'s routes and rules (see [`super::routing`]), after any address work
    /// queued before.
    pub fn install_routing(&self, instance: &str, held: HeldRouting, reason: InstallReason) {
        if !held.is_empty() {
            self.queue(Operation::InstallRouting {
                instance: instance.to_owned(),
                held,
                reason,
            });
        }
    }

    /// Removes `held`'s routes and rules; one already gone is not an error.
    pub fn remove_routing(&self, instance: &str, held: HeldRouting, why: Removal) {
        if !held.is_empty() {
            self.queue(Operation::RemoveRouting {
                instance: instance.to_owned(),
                held,
                why,
            });
        }
    }

    /// Installs (or renews) `vips`.
    pub fn install(&self, instance: &str, vips: Vec<PlacedVip>, reason: InstallReason) {
        self.queue(Operation::Install {
            instance: instance.to_owned(),
            vips,
            reason,
        });
    }

    /// Renews the lifetime of `vips`, each with the instance that holds it, in as few
    /// netlink datagrams as they fit in.
    pub fn renew(&self, vips: Vec<(String, PlacedVip)>) {
        self.queue(Operation::Renew { vips });
    }

    /// Removes `vips`; an address already gone is not an error.
    pub fn remove(&self, instance: &str, vips: Vec<PlacedVip>) {
        self.queue(Operation::Remove {
            instance: instance.to_owned(),
            vips,
        });
    }

    /// Removes those of `vips` an earlier run left on their interfaces (see
    /// [`remove_stale`]).
    pub fn remove_stale(&self, instance: &str, vips: Vec<PlacedVip>) {
        self.queue(Operation::RemoveStale {
            instance: instance.to_owned(),
            vips,
        });
    }

    /// Sends `messages` gratuitous ARPs (IPv4) or unsolicited NAs (IPv6) for each of `vips`.
    pub fn announce(&self, instance: &str, vips: Vec<PlacedVip>, messages: u8) {
        self.queue(Operation::Announce {
            instance: instance.to_owned(),
            vips,
            messages,
        });
    }

    /// Drops traffic to and from `vips` (accept mode off) until they are removed; queued
    /// before their install (see [`super::vip_firewall`]).
    pub fn block(&self, instance: &str, vips: Vec<PlacedVip>) {
        self.queue(Operation::Block {
            instance: instance.to_owned(),
            vips,
        });
    }

    /// Opens the announcement sockets `vips` will need, so that a takeover's first
    /// gratuitous ARP does not wait for a socket to be created.
    pub fn prepare(&self, instance: &str, vips: Vec<PlacedVip>) {
        self.queue(Operation::Prepare {
            instance: instance.to_owned(),
            vips,
        });
    }

    fn queue(&self, operation: Operation) {
        if let Err(lost) = self.operations.send((operation, Span::current())) {
            // The worker only stops after every handle is gone, so this means it panicked.
            error!(operation = ?lost.0.0, "the VIP worker is gone; operation lost");
        }
    }
}

async fn run(
    mut queue: mpsc::UnboundedReceiver<(Operation, Span)>,
    addresses: Addresses,
    renewals: Renewals,
    routing: Routing,
    sent: mpsc::UnboundedSender<AnnouncementSent>,
) {
    let mut announcers = Announcers {
        sent,
        ..Announcers::default()
    };
    let mut firewall = VipFirewall::default();
    // Operations taken off the queue early, to look past an announcement; served first.
    let mut looked_ahead = VecDeque::new();
    loop {
        let next = match looked_ahead.pop_front() {
            Some(next) => Some(next),
            None => queue.recv().await,
        };
        let Some((operation, parent)) = next else {
            break;
        };
        match operation {
            Operation::Install {
                instance,
                vips,
                reason,
            } => {
                let _span = trace::vip_work(&parent, VipWork::Install, &instance, vips.len());
                if matches!(reason, InstallReason::Reload | InstallReason::PutBack) {
                    firewall.extend(&instance, &vips).await;
                }
                for placed in &vips {
                    install(&addresses, &instance, placed, reason).await;
                }
            }
            Operation::Remove { instance, vips } => {
                let _span = trace::vip_work(&parent, VipWork::Remove, &instance, vips.len());
                for placed in &vips {
                    remove(&addresses, &instance, placed).await;
                }
                firewall.release(&instance, &vips).await;
            }
            Operation::Block { instance, vips } => firewall.block(&instance, &vips).await,
            Operation::RemoveStale { instance, vips } => {
                remove_stale(&addresses, &instance, &vips).await;
            }
            Operation::Announce {
                instance,
                vips,
                messages,
            } => {
                // An instance that stepped down while its announcement waited here (two
                // backups that took over at once, the loser hearing the winner) must not
                // announce addresses it is about to drop: sent after the winner's own
                // announcement, it would draw the hosts to an address nobody answers for.
                while let Ok(queued) = queue.try_recv() {
                    looked_ahead.push_back(queued);
                }
                let removed_next = looked_ahead.iter().any(|(queued, _)| {
                    matches!(queued, Operation::Remove { instance: removed, .. } if *removed == instance)
                });
                if removed_next {
                    info!(
                        instance,
                        "announcement dropped: the addresses are removed right after it"
                    );
                    continue;
                }
                let _span = trace::vip_work(&parent, VipWork::Announce, &instance, vips.len());
                announcers.announce(&instance, &vips, messages).await;
            }
            Operation::Prepare { instance, vips } => {
                for placed in &vips {
                    announcers.for_interface(&instance, &placed.interface);
                }
            }
            Operation::Renew { vips } => {
                for batch in vips.chunks(RENEWALS_PER_DATAGRAM) {
                    renew(&addresses, &renewals, batch).await;
                }
            }
            Operation::InstallRouting {
                instance,
                held,
                reason,
            } => {
                super::routing::install(&routing, &instance, &held, reason)
                    .instrument(parent)
                    .await;
            }
            Operation::RemoveRouting {
                instance,
                held,
                why,
            } => {
                super::routing::remove(&routing, &instance, &held, why)
                    .instrument(parent)
                    .await;
            }
        }
    }
    // Every handle is gone: the daemon is stopping, its last removals are done.
    firewall.finish().await;
}

/// Renews `batch` in one datagram; if the kernel refused any of it, adds each again on its
/// own, which names the address that fails and puts back one that went missing.
async fn renew(addresses: &Addresses, renewals: &Renewals, batch: &[(String, PlacedVip)]) {
    let started = Instant::now();
    let placed: Vec<(&Interface, &Vip)> = batch
        .iter()
        .map(|(_, placed)| (&placed.interface, &placed.vip))
        .collect();
    let result = renewals.renew(&placed).await;
    let elapsed = started.elapsed();
    if elapsed > SLOW_NETLINK_CALL {
        warn!(
            addresses = batch.len(),
            elapsed_us = micros(elapsed),
            "slow netlink call renewing virtual addresses"
        );
    }
    match result {
        Ok(()) => trace!(
            addresses = batch.len(),
            elapsed_us = micros(elapsed),
            "renewed virtual addresses"
        ),
        Err(error) => {
            warn!(%error, addresses = batch.len(), "renewing virtual addresses together failed; renewing them one by one");
            for (instance, placed) in batch {
                install(addresses, instance, placed, InstallReason::Refresh).await;
            }
        }
    }
}

async fn install(addresses: &Addresses, instance: &str, placed: &PlacedVip, reason: InstallReason) {
    let started = Instant::now();
    let result = addresses.add(&placed.interface, &placed.vip).await;
    let elapsed = started.elapsed();
    let address = placed.vip.address;
    let interface = placed.interface.name.as_str();
    let elapsed_us = micros(elapsed);
    match (result, reason) {
        (Err(error), _) => error!(instance, %error, "could not install a virtual address"),
        (Ok(()), InstallReason::Refresh) => {
            trace!(instance, %address, interface, elapsed_us, "renewed a virtual address");
        }
        (Ok(()), InstallReason::PutBack) => {
            warn!(instance, %address, interface, elapsed_us, "put back a virtual address someone removed");
        }
        (Ok(()), InstallReason::TakeOver | InstallReason::Reload) => {
            info!(instance, %address, interface, elapsed_us, "installed a virtual address");
        }
    }
    note_slow_call(instance, "add", address, elapsed);
}

async fn remove(addresses: &Addresses, instance: &str, placed: &PlacedVip) {
    let started = Instant::now();
    let result = addresses
        .remove(&placed.interface, placed.vip.address, placed.vip.prefix_len)
        .await;
    let elapsed = started.elapsed();
    let address = placed.vip.address;
    match result {
        Ok(()) => info!(
            instance,
            %address,
            interface = placed.interface.name.as_str(),
            elapsed_us = micros(elapsed),
            "removed a virtual address"
        ),
        Err(error) => error!(instance, %error, "could not remove a virtual address"),
    }
    note_slow_call(instance, "remove", address, elapsed);
}

fn note_slow_call(instance: &str, call: &str, address: IpAddr, elapsed: Duration) {
    if elapsed > SLOW_NETLINK_CALL {
        warn!(
            instance,
            call,
            %address,
            elapsed_us = micros(elapsed),
            "slow netlink call"
        );
    }
}

/// `duration` in whole microseconds as a `u64`, which log lines record as a number (a
/// `u128` would become a string in JSON); saturates after half a million years.
pub fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Removes those of `vips` found on their interfaces, before the instance first enters
/// Backup: a daemon killed while master leaves them behind until their lifetime runs out
/// (or for good, if an older version or another tool installed them), and a backup holding
/// the VIP would answer for it next to the real master (keepalived does the same at init).
pub async fn remove_stale(addresses: &Addresses, instance: &str, vips: &[PlacedVip]) {
    let mut listed: HashMap<u32, Vec<IpAddr>> = HashMap::new();
    for placed in vips {
        let found = match listed.entry(placed.interface.index) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => match addresses.list(&placed.interface).await {
                Ok(installed) => entry.insert(installed.iter().map(|a| a.address).collect()),
                Err(error) => {
                    warn!(instance, %error, "could not look for stale virtual addresses");
                    entry.insert(Vec::new())
                }
            },
        };
        let present = found.contains(&placed.vip.address);
        if present {
            warn!(
                instance,
                address = %placed.vip.address,
                interface = placed.interface.name.as_str(),
                "removing a virtual address left by an earlier run before starting as backup"
            );
            remove(addresses, instance, placed).await;
        }
    }
}

/// An address the worker announced, and when its last message left: an interface's
/// announcement spacing counts from there, as keepalived sets the next allowed time after
/// sending (`send_gratuitous_arp_immediate` in `vrrp/vrrp_arp.c`), not from when the node
/// asked, which may be an address install earlier.
#[derive(Debug)]
pub struct AnnouncementSent {
    /// The instance that announced it.
    pub instance: String,
    /// The address.
    pub address: IpAddr,
    /// When its last message was handed to the kernel.
    pub at: Instant,
}

/// One announcement socket per interface, reopened when the interface's details change (a
/// new link-local address after a link flap is the source of the NAs).
struct Announcers {
    open: HashMap<u32, (Interface, Announcer)>,
    /// Where each announcement sent is reported; nobody listening is not an error.
    sent: mpsc::UnboundedSender<AnnouncementSent>,
}

impl Default for Announcers {
    fn default() -> Self {
        Announcers {
            open: HashMap::new(),
            sent: mpsc::unbounded_channel().0,
        }
    }
}

impl Announcers {
    async fn announce(&mut self, instance: &str, vips: &[PlacedVip], messages: u8) {
        for placed in vips {
            let Some(announcer) = self.for_interface(instance, &placed.interface) else {
                continue;
            };
            let address = placed.vip.address;
            let router = match address {
                IpAddr::V4(_) => false,
                IpAddr::V6(_) => forwards_ipv6(&placed.interface.name),
            };
            for _ in 0..messages {
                let sent = match address {
                    IpAddr::V4(v4) => announcer.gratuitous_arp(v4).await,
                    IpAddr::V6(v6) => announcer.unsolicited_na(v6, router).await,
                };
                if let Err(error) = sent {
                    warn!(instance, %error, "could not announce a virtual address");
                    break;
                }
            }
            // The router may have stopped listening while it shuts down.
            let _ = self.sent.send(AnnouncementSent {
                instance: instance.to_owned(),
                address,
                at: Instant::now(),
            });
            debug!(instance, %address, messages, "announced a virtual address");
        }
    }

    fn for_interface(&mut self, instance: &str, interface: &Interface) -> Option<&Announcer> {
        let current = self
            .open
            .get(&interface.index)
            .is_some_and(|(known, _)| known == interface);
        if !current {
            match Announcer::open(interface) {
                Ok(announcer) => {
                    self.open
                        .insert(interface.index, (interface.clone(), announcer));
                }
                Err(error) => {
                    error!(instance, %error, "cannot announce virtual addresses");
                    return None;
                }
            }
        }
        self.open
            .get(&interface.index)
            .map(|(_, announcer)| announcer)
    }
}

/// Whether the host forwards IPv6 on `interface`: RFC 4861 §4.4 sets the Router flag of a
/// neighbour advertisement when the sender is a router, and clearing it on a router would
/// make hosts drop it from their default router list (RFC 4861 §7.2.5).
fn forwards_ipv6(interface: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{interface}/forwarding"))
        .is_ok_and(|value| value.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(centiseconds: u16) -> AdvertInterval {
        AdvertInterval::from_centis(centiseconds).expect("a non-zero interval")
    }

    #[test]
    fn a_100ms_instance_gets_the_kernels_shortest_lifetime_one_second() {
        // 300 ms + 255/256 × 100 ms + 500 ms + 100 ms = 999.6 ms.
        assert_eq!(
            vip_lifetime(Version::V3, interval(10), DownTimerAdverts::RFC),
            Duration::from_secs(1)
        );
        assert_eq!(
            vip_lifetime(Version::V3, interval(1), DownTimerAdverts::RFC),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn a_1s_instance_outlives_the_slowest_backups_takeover_3_996s_by_the_slack() {
        // 3 s + 255/256 s + 600 ms = 4.596 s, rounded up.
        assert_eq!(
            vip_lifetime(Version::V3, interval(100), DownTimerAdverts::RFC),
            Duration::from_secs(5)
        );
        assert_eq!(
            vip_lifetime(Version::V2, interval(100), DownTimerAdverts::RFC),
            Duration::from_secs(5)
        );
        // VRRPv2's skew stays a fraction of a second at longer intervals (RFC 3768 §6.1).
        assert_eq!(
            vip_lifetime(Version::V2, interval(300), DownTimerAdverts::RFC),
            Duration::from_secs(11)
        );
    }

    #[test]
    fn a_backup_that_takes_over_after_one_missed_advert_shortens_the_lifetime() {
        // down_timer_adverts 1 at 1 s: 1 s + 255/256 s + 600 ms = 2.596 s, rounded up.
        let one = DownTimerAdverts::new(1).unwrap();
        assert_eq!(
            vip_lifetime(Version::V3, interval(100), one),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn no_lifetime_is_shorter_than_the_slowest_takeover_plus_the_slack_nor_a_second_longer() {
        let missed = [DownTimerAdverts::RFC, DownTimerAdverts::new(1).unwrap()];
        for (version, adverts) in [Version::V2, Version::V3]
            .into_iter()
            .flat_map(|version| missed.map(|adverts| (version, adverts)))
        {
            for centiseconds in (1..=4095).step_by(7) {
                if version == Version::V2 && centiseconds % 100 != 0 {
                    continue;
                }
                let interval = interval(centiseconds);
                let needed = master_down_interval(version, Priority::MIN, interval, adverts)
                    + VIP_REFRESH_EVERY
                    + LATE_RENEWAL;
                let lifetime = vip_lifetime(version, interval, adverts);
                assert!(lifetime >= needed, "{version:?} {interval}: {lifetime:?}");
                assert!(
                    lifetime < needed + Duration::from_secs(1),
                    "{version:?} {interval}: {lifetime:?}"
                );
                assert_eq!(lifetime.subsec_nanos(), 0);
            }
        }
    }
}
