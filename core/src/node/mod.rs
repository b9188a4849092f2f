//! The node: every instance of one host, sans-IO, the counterpart of quinn-proto's
//! `Endpoint` for VRRP.
//!
//! It owns the instances and routes each received packet to one by its link (interface and
//! family) and VRID. Around the state machine of each it keeps what the RFCs leave to the
//! implementation: announcement schedules, the grace of a handover, health-check holds and
//! weights, and the sync-group rules that move instances together. Every input takes the time
//! it happened (`handle_*`, `command`, …); the node answers with outputs, taken in order with
//! [`Node::poll_output`], and with the one time it next needs to be woken,
//! [`Node::poll_timeout`]. So everything it decides runs the same on a real network and on the
//! simulated LAN of the tests.
//!
//! - [`output`]: what it asks its driver to do, and what it reports.
//! - [`announce`]: when announcement bursts and refreshes are due.
//! - [`sync_group`]: the sync-group rules.

pub mod announce;
mod member;
pub mod output;
pub mod sync_group;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::command::{Command, CommandRejected};
use crate::counters::DecodeErrorCounts;
use crate::family::Family;
use crate::instance::Instance;
use crate::instance_config::{InstanceConfig, InstanceConfigError};
use crate::packet::{DecodeOptions, HopLimits, ah};
use crate::priority::{Priority, TrackedCheck};
use crate::state::State;

use announce::{GarpSettings, PacedAddress, PacedAddresses, Pacer};
use member::Member;
use output::{MasterView, Output};
use sync_group::{GroupMove, MAX_ROUNDS, SyncGroup, SyncGroups, group_state};

/// How long a master that handed over keeps answering for the addresses after it heard its
/// successor. The successor's first advertisement leaves before its gratuitous ARPs (those go
/// through its VIP worker, after the install), so letting go at once leaves clients that still
/// send to our MAC without an answer for a moment: a lost probe in the benchmark. Two holders
/// for this long are harmless, since the successor's announcements move the clients.
pub const RESIGN_RELEASE_GRACE: Duration = Duration::from_millis(50);

/// An instance of the node, stable for its life (a reload that keeps an instance keeps its
/// id; one that replaces it gives a new one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(u32);

/// Where an instance sends and receives: one per (interface, family), shared by every
/// instance there and told apart by VRID.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Link {
    /// The interface.
    pub interface: String,
    /// The family of its advertisements.
    pub family: Family,
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.interface, self.family)
    }
}

/// What the node needs to run one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberConfig {
    /// The instance's name, unique on the node; sync groups name their members by it.
    pub name: String,
    /// Where it runs.
    pub link: Link,
    /// Its state machine's configuration; its priority is the base priority.
    pub instance: InstanceConfig,
    /// How its adverts are decoded.
    pub decode: DecodeOptions,
    /// The only sources adverts are taken from, with the hop limits taken from each
    /// (unicast peers that are checked); `None` takes them from anyone, with the hop limits
    /// of [`DecodeOptions::hop_limits`].
    pub checked_peers: Option<Vec<UnicastPeer>>,
    /// Its announcements as master.
    pub garp: GarpSettings,
}

/// A unicast peer whose adverts are taken, and the TTLs / hop limits they are taken with
/// (keepalived's `unicast_peer { ADDRESS min_ttl N max_ttl M }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UnicastPeer {
    /// The peer's address: the source of its adverts.
    pub address: IpAddr,
    /// The hop limits its adverts are taken with; any unless `min_ttl` or `max_ttl` is set.
    pub hop_limits: HopLimits,
}

/// One received VRRP packet with the IP header fields the checks need.
#[derive(Clone, Copy, Debug)]
pub struct Received<'a> {
    /// The IP source.
    pub source: IpAddr,
    /// The IP destination: the group, or us for unicast.
    pub destination: IpAddr,
    /// The TTL or hop limit as received.
    pub hop_limit: u8,
    /// The IPv4 header as received, options included; empty for IPv6. An Authentication
    /// Header's ICV covers it.
    pub ip_header: &'a [u8],
    /// What follows the IP header: the VRRP packet, or the Authentication Header and the VRRP
    /// packet when `ip_header` says protocol 51.
    pub payload: &'a [u8],
}

/// Why the node refused a command.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NodeError {
    /// No instance has this id (it was removed).
    #[error("no instance {0:?} on this node")]
    NotFound(InstanceId),
    /// The state machine refused the command.
    #[error(transparent)]
    Rejected(#[from] CommandRejected),
    /// The new settings break a rule of the protocol (the addresses stay as they were).
    #[error(transparent)]
    Config(#[from] InstanceConfigError),
}

/// Every instance of one host, and the rules between them.
#[derive(Debug, Default)]
pub struct Node {
    members: Vec<Member>,
    next_id: u32,
    groups: SyncGroups,
    /// Each group's state as a whole, as last reported.
    group_states: BTreeMap<String, State>,
    /// Cleared while the daemon stops: instances stop one by one, and a group following
    /// them would take the others down in the wrong order.
    stopping: bool,
    outputs: VecDeque<Output>,
    /// The spacing of announcements on each interface, shared by its instances.
    pacer: Pacer,
}

impl Node {
    /// A node without instances.
    pub fn new() -> Self {
        Node::default()
    }

    /// Adds an instance, in Initialize: send it [`Command::Startup`] to start.
    pub fn add(&mut self, config: MemberConfig) -> Result<InstanceId, InstanceConfigError> {
        let id = InstanceId(self.next_id);
        let mut member = Member::new(id, config)?;
        self.next_id += 1;
        member.join_group(
            self.groups.contains(&member.name),
            self.groups.ignores_weights_of(&member.name),
        );
        self.members.push(member);
        Ok(id)
    }

    /// Removes an instance (stopped first with [`Command::Shutdown`], so it let go of
    /// everything); its group sees it as not running.
    pub fn remove(&mut self, now: Instant, id: InstanceId) -> bool {
        let before = self.members.len();
        self.members.retain(|member| member.id != id);
        let removed = self.members.len() != before;
        if removed {
            self.settle(now);
        }
        removed
    }

    /// Sets the sync groups (at start and on reload). An instance the new groups no longer
    /// hold together leaves a group's Fault.
    pub fn set_sync_groups(&mut self, now: Instant, groups: &[SyncGroup]) {
        self.groups = SyncGroups::new(groups);
        self.group_states
            .retain(|name, _| groups.iter().any(|group| &group.name == name));
        for member in &mut self.members {
            let in_group = self.groups.contains(&member.name);
            let weights_ignored = self.groups.ignores_weights_of(&member.name);
            member.set_group_member(now, in_group, weights_ignored, &mut self.outputs);
            if !in_group && member.group_view().held_by_group {
                member.follow_group(now, GroupMove::ReleaseFault, &mut self.outputs);
            }
        }
        self.settle(now);
    }

    /// The daemon is stopping: sync groups stop moving their members.
    pub fn begin_stopping(&mut self) {
        self.stopping = true;
    }

    /// Handles one packet received on `link`.
    pub fn handle_packet(&mut self, now: Instant, link: &Link, packet: Received<'_>) {
        // The VRID is the second byte of both versions' header (RFC 9568 §5.1, RFC 3768
        // §5.1), after the Authentication Header if there is one; the instance's own options
        // are needed to decode the rest.
        let vrrp_at = if ah::carries_authentication_header(packet.ip_header) {
            ah::HEADER_LEN
        } else {
            0
        };
        let vrid = packet.payload.get(vrrp_at + 1).copied();
        let member = self
            .members
            .iter_mut()
            .find(|member| member.link == *link && Some(member.instance.config().vrid) == vrid);
        match member {
            Some(member) => member.receive(now, &packet, &mut self.outputs),
            None => self.outputs.push_back(Output::UnknownVrid {
                from: packet.source,
                vrid,
            }),
        }
        self.settle(now);
    }

    /// Runs whatever is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for member in &mut self.members {
            if member.next_deadline().is_some_and(|due| due <= now) {
                member.on_timeout(now, &mut self.outputs);
            }
        }
        self.send_waiting_announcements(now);
        self.settle(now);
    }

    /// Applies a command to one instance.
    pub fn command(
        &mut self,
        now: Instant,
        id: InstanceId,
        command: Command,
    ) -> Result<(), NodeError> {
        let member = member_mut(&mut self.members, id)?;
        let result = member.command_by(now, command, None, &mut self.outputs);
        self.settle(now);
        result.map_err(NodeError::from)
    }

    /// Sets an instance's priority before health-check weights (a `SetPriority`, a reload).
    pub fn set_base_priority(
        &mut self,
        now: Instant,
        id: InstanceId,
        priority: Priority,
    ) -> Result<(), NodeError> {
        let member = member_mut(&mut self.members, id)?;
        member.set_base_priority(now, priority, &mut self.outputs);
        self.settle(now);
        Ok(())
    }

    /// Takes the verdicts of an instance's health checks after `check` changed: applies the
    /// effective priority, and enters or leaves Fault for a weight-0 check. `link_up` says
    /// whether the interface is up, so a recovered check does not take the instance out of
    /// a Fault its link holds.
    pub fn set_checks(
        &mut self,
        now: Instant,
        id: InstanceId,
        tracked: Vec<TrackedCheck>,
        check: Option<&str>,
        link_up: bool,
    ) -> Result<(), NodeError> {
        let member = member_mut(&mut self.members, id)?;
        member.set_checks(now, tracked, check, link_up, &mut self.outputs);
        self.settle(now);
        Ok(())
    }

    /// Takes an instance's new settings in place, as a reload does: the addresses its
    /// adverts carry and are checked against, decoding, unicast peers and announcements.
    /// Addresses that break a rule of the protocol are refused and the old ones stay; the
    /// other settings are taken anyway.
    /// Installing and removing the difference is the driver's, which knows where each
    /// address lives; the priority goes through [`Node::set_base_priority`].
    pub fn reconfigure(
        &mut self,
        id: InstanceId,
        addresses: Vec<IpAddr>,
        decode: DecodeOptions,
        checked_peers: Option<Vec<UnicastPeer>>,
        garp: GarpSettings,
    ) -> Result<(), NodeError> {
        let member = member_mut(&mut self.members, id)?;
        member.reconfigure(addresses, decode, checked_peers, garp)?;
        Ok(())
    }

    /// Sets how an instance's announcements are spaced: its addresses in order, each with
    /// the interface (or `garp_group`) whose spacing it shares with other instances. An
    /// instance with no spacing on any address sends each burst back to back, as
    /// [`Output::Announce`]; a spaced one sends [`Output::AnnounceAddress`] messages.
    pub fn set_announce_pacing(
        &mut self,
        id: InstanceId,
        addresses: Vec<PacedAddress>,
    ) -> Result<(), NodeError> {
        let member = member_mut(&mut self.members, id)?;
        member.paced = PacedAddresses::new(addresses);
        Ok(())
    }

    /// The driver sent an announcement of `address` for instance `id` at `sent_at`: its
    /// spacing counts from then if that is later than the node's own count (the message
    /// may have waited behind an address install), as keepalived counts from the send.
    pub fn announcement_sent(&mut self, id: InstanceId, address: IpAddr, sent_at: Instant) {
        if let Ok(member) = member_mut(&mut self.members, id) {
            self.pacer.sent(&member.paced, address, sent_at);
        }
    }

    /// The next output to carry out, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The earliest time the node needs [`Node::handle_timeout`]: its one timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.members
            .iter()
            .flat_map(|member| {
                [
                    member.next_deadline(),
                    self.pacer.next_deadline(&member.paced),
                ]
            })
            .flatten()
            .min()
    }

    /// Whether a backup's master-down timer is due at `now`: the driver then reads the
    /// packets already queued first, since one of them may show the master alive.
    pub fn master_down_due(&self, now: Instant) -> bool {
        self.members.iter().any(|member| {
            member.state() == State::Backup && member.next_deadline().is_some_and(|due| due <= now)
        })
    }

    /// Every instance, in the order added.
    pub fn ids(&self) -> impl Iterator<Item = InstanceId> + '_ {
        self.members.iter().map(|member| member.id)
    }

    /// The instance called `name`.
    pub fn find(&self, name: &str) -> Option<InstanceId> {
        self.members
            .iter()
            .find(|member| member.name == name)
            .map(|member| member.id)
    }

    /// The state machine of an instance, for its state, priority, counters and timers.
    pub fn instance(&self, id: InstanceId) -> Option<&Instance> {
        self.member(id).map(|member| &member.instance)
    }

    /// An instance's name.
    pub fn name(&self, id: InstanceId) -> Option<&str> {
        self.member(id).map(|member| member.name.as_str())
    }

    /// An instance's link.
    pub fn link(&self, id: InstanceId) -> Option<&Link> {
        self.member(id).map(|member| &member.link)
    }

    /// An instance's state; `None` for an id no longer on the node.
    pub fn state(&self, id: InstanceId) -> Option<State> {
        self.member(id).map(Member::state)
    }

    /// Makes instance `id` advertise from `address` (see [`Instance::set_primary_address`]).
    pub fn set_primary_address(
        &mut self,
        id: InstanceId,
        address: IpAddr,
    ) -> Result<(), NodeError> {
        let member = member_mut(&mut self.members, id)?;
        member.instance.set_primary_address(address)?;
        Ok(())
    }

    /// An instance's priority before health-check weights.
    pub fn base_priority(&self, id: InstanceId) -> Option<Priority> {
        self.member(id).map(|member| member.base_priority)
    }

    /// The master as an instance sees it.
    pub fn master_view(&self, id: InstanceId) -> Option<MasterView> {
        self.member(id).map(Member::master_view)
    }

    /// The adverts an instance's codec refused, by RFC 6527 statistic.
    pub fn decode_errors(&self, id: InstanceId) -> Option<DecodeErrorCounts> {
        self.member(id).map(|member| member.decode_errors)
    }

    /// Whether the instance's sync group ignores the weights of its health checks (the
    /// group has no [`SyncGroup::tracking_weight`]); `None` for an unknown instance.
    pub fn weights_ignored(&self, id: InstanceId) -> Option<bool> {
        self.member(id).map(Member::weights_ignored)
    }

    /// Whether a failing weight-0 check holds the instance in Fault: a link coming back must
    /// not take it out.
    pub fn held_by_check(&self, id: InstanceId) -> bool {
        self.member(id).is_some_and(|member| member.held_by_check)
    }

    /// Whether the instance handed over and still answers for the addresses for a moment
    /// (see [`RESIGN_RELEASE_GRACE`]).
    pub fn is_releasing(&self, id: InstanceId) -> bool {
        self.member(id).is_some_and(Member::is_releasing)
    }

    fn member(&self, id: InstanceId) -> Option<&Member> {
        let position = position_of(&self.members, id).ok()?;
        Some(&self.members[position])
    }

    /// After every input: the sync groups follow the transitions it caused, then each
    /// group whose state as a whole changed is reported.
    fn settle(&mut self, now: Instant) {
        if !self.groups.is_empty() {
            self.follow_sync_groups(now);
            self.report_group_states();
        }
        self.space_announcements(now);
    }

    /// Turns each burst of an instance whose announcements are spaced into the messages
    /// its interfaces' spacing lets out now; the others wait in the pacer (see
    /// [`Pacer`]). Bursts of other instances go out as they are, back to back.
    fn space_announcements(&mut self, now: Instant) {
        // The member (by position) of a burst to space, and the burst.
        let spaced = |members: &[Member], output: &Output| match output {
            Output::Announce { instance, messages } => position_of(members, *instance)
                .ok()
                .filter(|position| members[*position].paced.is_spaced())
                .map(|position| (position, *instance, *messages)),
            _ => None,
        };
        if !self
            .outputs
            .iter()
            .any(|output| spaced(&self.members, output).is_some())
        {
            return;
        }
        for output in std::mem::take(&mut self.outputs) {
            let Some((position, instance, messages)) = spaced(&self.members, &output) else {
                self.outputs.push_back(output);
                continue;
            };
            let member = &mut self.members[position];
            for address in self.pacer.burst(now, &mut member.paced, messages) {
                self.outputs
                    .push_back(Output::AnnounceAddress { instance, address });
            }
        }
    }

    /// Sends the waiting announcements whose spacing has passed at `now`, instances in the
    /// order added (keepalived's `vrrp_arp_thread`).
    fn send_waiting_announcements(&mut self, now: Instant) {
        for member in &mut self.members {
            if member.state() != State::Master {
                member.paced.forget();
                continue;
            }
            for address in self.pacer.due(now, &mut member.paced) {
                self.outputs.push_back(Output::AnnounceAddress {
                    instance: member.id,
                    address,
                });
            }
        }
    }

    /// Makes the members of each sync group follow the transitions of the last input (see
    /// [`sync_group`]), round after round, since a move may cause transitions of its own.
    fn follow_sync_groups(&mut self, now: Instant) {
        for _ in 0..MAX_ROUNDS {
            let transitions: Vec<_> = self
                .members
                .iter_mut()
                .flat_map(Member::take_group_transitions)
                .collect();
            if self.stopping {
                return;
            }
            let members = &self.members;
            let moves = self.groups.moves(&transitions, |name| {
                members
                    .iter()
                    .find(|member| member.name == name)
                    .map(Member::group_view)
            });
            if moves.is_empty() {
                return;
            }
            for found in moves {
                if let Some(member) = self
                    .members
                    .iter_mut()
                    .find(|member| member.name == found.instance)
                {
                    self.outputs.push_back(Output::GroupMoved {
                        instance: member.id,
                        group: found.group,
                        group_move: found.group_move,
                    });
                    member.follow_group(now, found.group_move, &mut self.outputs);
                }
            }
        }
        self.outputs.push_back(Output::GroupsUnsettled);
    }

    /// Reports each sync group whose state as a whole changed (see
    /// [`sync_group::group_state`]); a group's last change is to Initialize (keepalived's
    /// STOP), once none of its members runs.
    fn report_group_states(&mut self) {
        for group in self.groups.groups() {
            let members: Vec<Option<State>> = group
                .instances
                .iter()
                .map(|name| {
                    self.members
                        .iter()
                        .find(|member| &member.name == name)
                        .map(Member::state)
                })
                .collect();
            let before = self
                .group_states
                .get(&group.name)
                .copied()
                .unwrap_or(State::Initialize);
            let state = group_state(&members, before);
            if state != before {
                self.group_states.insert(group.name.clone(), state);
                self.outputs.push_back(Output::GroupStateChanged {
                    group: group.name.clone(),
                    from: before,
                    to: state,
                });
            }
        }
    }
}

fn member_mut(members: &mut [Member], id: InstanceId) -> Result<&mut Member, NodeError> {
    let position = position_of(members, id).map_err(|_| NodeError::NotFound(id))?;
    Ok(&mut members[position])
}

/// Where instance `id` is: members are kept in the order added, and ids only grow, so the
/// list is sorted by id (a lookup per output of 255 instances at 10 ms adverts is a binary
/// search, not a scan).
fn position_of(members: &[Member], id: InstanceId) -> Result<usize, usize> {
    members.binary_search_by_key(&id, |member| member.id)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::announce::Spacing;
    use super::*;
    use crate::interval::AdvertInterval;
    use crate::packet::{Advertisement, Auth, V3Ipv4Checksum, Version};

    const MS: Duration = Duration::from_millis(1);
    const OURS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
    const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

    fn link() -> Link {
        Link {
            interface: "eth0".into(),
            family: Family::Ipv4,
        }
    }

    fn garp(repeat: u8) -> GarpSettings {
        GarpSettings {
            repeat,
            second_burst_after: Some(Duration::from_secs(5)),
            refresh_every: None,
            lower_priority_repeat: repeat,
            lower_priority_second_after: Some(Duration::from_secs(5)),
        }
    }

    /// An instance of `priority` holding `addresses` on eth0, each spaced by `spacing`.
    fn add(
        node: &mut Node,
        vrid: u8,
        priority: u8,
        addresses: &[Ipv4Addr],
        garp: GarpSettings,
        spacing: Spacing,
    ) -> InstanceId {
        let addresses: Vec<IpAddr> = addresses.iter().copied().map(IpAddr::V4).collect();
        let mut instance = InstanceConfig::new(
            vrid,
            Version::V2,
            OURS.into(),
            Priority::new(priority).expect("a priority"),
            addresses.clone(),
        );
        instance.advert_interval = AdvertInterval::from_secs(1).expect("1 s is an interval");
        let id = node
            .add(MemberConfig {
                name: format!("vi{vrid}"),
                link: link(),
                instance,
                decode: DecodeOptions {
                    version: Some(Version::V2),
                    ..DecodeOptions::default()
                },
                checked_peers: None,
                garp,
            })
            .expect("a valid instance");
        let paced = addresses
            .into_iter()
            .map(|address| PacedAddress {
                address,
                shared_by: "eth0".into(),
                spacing,
            })
            .collect();
        node.set_announce_pacing(id, paced).expect("just added");
        id
    }

    /// The announcements among the node's outputs: (instance, address or `None` for a
    /// whole burst, messages).
    fn announcements(node: &mut Node) -> Vec<(InstanceId, Option<IpAddr>, u8)> {
        std::iter::from_fn(|| node.poll_output())
            .filter_map(|output| match output {
                Output::Announce { instance, messages } => Some((instance, None, messages)),
                Output::AnnounceAddress { instance, address } => Some((instance, Some(address), 1)),
                _ => None,
            })
            .collect()
    }

    /// Runs the node's timer until `until`; returns each announcement with its time.
    fn run_until(
        node: &mut Node,
        until: Instant,
    ) -> Vec<(Instant, InstanceId, Option<IpAddr>, u8)> {
        let mut sent = Vec::new();
        while let Some(due) = node.poll_timeout().filter(|due| *due <= until) {
            node.handle_timeout(due);
            sent.extend(
                announcements(node)
                    .into_iter()
                    .map(|(instance, address, messages)| (due, instance, address, messages)),
            );
        }
        sent
    }

    fn v4(address: Ipv4Addr) -> Option<IpAddr> {
        Some(IpAddr::V4(address))
    }

    #[test]
    fn two_masters_on_one_interface_wait_for_each_other() {
        let start = Instant::now();
        let spacing = Spacing {
            arp: Some(10 * MS),
            na: None,
        };
        let (a1, a2) = (Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(192, 0, 2, 11));
        let b1 = Ipv4Addr::new(192, 0, 2, 20);
        let mut node = Node::new();
        let a = add(&mut node, 1, 255, &[a1, a2], garp(5), spacing);
        let b = add(&mut node, 2, 255, &[b1], garp(5), spacing);
        node.command(start, a, Command::Startup).expect("starts");
        node.command(start, b, Command::Startup).expect("starts");
        // Owners take over at once: a's first address goes out, everything else waits.
        assert_eq!(announcements(&mut node), vec![(a, v4(a1), 1)]);
        let spaced = run_until(&mut node, start + Duration::from_secs(1));
        assert_eq!(
            spaced,
            vec![
                (start + 10 * MS, a, v4(a1), 1),
                (start + 20 * MS, a, v4(a2), 1),
                (start + 30 * MS, b, v4(b1), 1),
            ]
        );
        // The second burst, 5 s later, is spaced the same way.
        let second = run_until(&mut node, start + Duration::from_secs(6));
        let at = start + Duration::from_secs(5);
        assert_eq!(
            second,
            vec![
                (at, a, v4(a1), 1),
                (at + 10 * MS, a, v4(a1), 1),
                (at + 20 * MS, a, v4(a2), 1),
                (at + 30 * MS, b, v4(b1), 1),
            ]
        );
    }

    #[test]
    fn without_spacing_a_burst_is_one_output_as_before() {
        let start = Instant::now();
        let mut node = Node::new();
        let vip = Ipv4Addr::new(192, 0, 2, 10);
        let a = add(&mut node, 1, 255, &[vip], garp(5), Spacing::default());
        node.command(start, a, Command::Startup).expect("starts");
        assert_eq!(announcements(&mut node), vec![(a, None, 5)]);
    }

    #[test]
    fn a_master_leaving_drops_its_waiting_addresses() {
        let start = Instant::now();
        let spacing = Spacing {
            arp: Some(10 * MS),
            na: None,
        };
        let mut node = Node::new();
        let vips = [Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(192, 0, 2, 11)];
        let a = add(&mut node, 1, 255, &vips, garp(1), spacing);
        node.command(start, a, Command::Startup).expect("starts");
        announcements(&mut node);
        node.command(start + MS, a, Command::Shutdown)
            .expect("stops");
        assert!(run_until(&mut node, start + Duration::from_secs(10)).is_empty());
    }

    /// The peer's advert at `priority`, as received.
    fn hear(node: &mut Node, now: Instant, vrid: u8, priority: u8, vip: Ipv4Addr) {
        let advert = Advertisement {
            version: Version::V2,
            vrid,
            priority,
            advert_interval: AdvertInterval::from_secs(1).expect("1 s is an interval"),
            addresses: vec![vip.into()],
            auth: Auth::None,
        };
        let payload = advert
            .encode(PEER.into(), GROUP.into(), V3Ipv4Checksum::WithPseudoHeader)
            .expect("a valid advert");
        let mut ip_header = [0u8; 20];
        ip_header[0] = 0x45;
        ip_header[8] = 255;
        ip_header[9] = crate::packet::IP_PROTOCOL;
        node.handle_packet(
            now,
            &link(),
            Received {
                source: PEER.into(),
                destination: GROUP.into(),
                hop_limit: 255,
                ip_header: &ip_header,
                payload: &payload,
            },
        );
    }

    #[test]
    fn a_lower_priority_is_answered_with_its_own_repeat_and_delay() {
        let start = Instant::now();
        let vip = Ipv4Addr::new(192, 0, 2, 10);
        let settings = GarpSettings {
            repeat: 5,
            second_burst_after: None,
            refresh_every: None,
            lower_priority_repeat: 2,
            lower_priority_second_after: Some(Duration::from_secs(3)),
        };
        let mut node = Node::new();
        let a = add(&mut node, 1, 200, &[vip], settings, Spacing::default());
        node.command(start, a, Command::Startup).expect("starts");
        // Priority 200 waits Master_Down_Interval as backup, then takes over.
        let took_over = run_until(&mut node, start + Duration::from_secs(4));
        assert_eq!(took_over.len(), 1);
        assert_eq!(took_over[0].3, 5);
        let heard = start + Duration::from_secs(10);
        hear(&mut node, heard, 1, 100, vip);
        assert_eq!(announcements(&mut node), vec![(a, None, 2)]);
        let later = run_until(&mut node, heard + Duration::from_secs(4));
        assert_eq!(later, vec![(heard + Duration::from_secs(3), a, None, 2)]);
    }

    #[test]
    fn a_lower_priority_repeat_of_zero_sends_no_announcement() {
        let start = Instant::now();
        let vip = Ipv4Addr::new(192, 0, 2, 10);
        let settings = GarpSettings {
            lower_priority_repeat: 0,
            ..garp(5)
        };
        let mut node = Node::new();
        let a = add(&mut node, 1, 255, &[vip], settings, Spacing::default());
        node.command(start, a, Command::Startup).expect("starts");
        announcements(&mut node);
        let heard = start + Duration::from_secs(1);
        hear(&mut node, heard, 1, 100, vip);
        assert!(announcements(&mut node).is_empty());
    }
}
