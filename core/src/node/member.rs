//! One instance inside the node: the state machine plus what the node decides around it
//! (announcement schedule, handover grace, health-check holds, sync-group standing, the cause
//! of each transition), turning the state machine's actions into the node's outputs.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Instant;

use crate::action::Action;
use crate::command::{Command, CommandRejected};
use crate::counters::DecodeErrorCounts;
use crate::instance::Instance;
use crate::instance_config::InstanceConfigError;
use crate::packet::ah::{self, SequenceCounter};
use crate::packet::{Advertisement, Auth, DecodeError, DecodeOptions, HopLimits, IpHeader};
use crate::priority::{EffectivePriority, Priority, TrackedCheck, effective_priority};
use crate::state::{FaultCause, State, TransitionReason};

use super::announce::{AnnounceSchedule, GarpSettings, PacedAddresses};
use super::output::{ChangeCause, MasterView, Output, Refusal, Transition};
use super::sync_group::{GroupMove, GroupTransition, MemberView};
use super::{InstanceId, Link, MemberConfig, RESIGN_RELEASE_GRACE, Received, UnicastPeer};

/// One instance and what the node keeps with it.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) id: InstanceId,
    pub(super) name: String,
    pub(super) link: Link,
    pub(super) instance: Instance,
    decode: DecodeOptions,
    checked_peers: Option<Vec<UnicastPeer>>,
    garp: GarpSettings,
    announcements: AnnounceSchedule,
    /// Its addresses as their announcements are spaced, and which of them wait.
    pub(super) paced: PacedAddresses,
    /// After a handover by `Resign`: when we let go of the addresses (see
    /// [`RESIGN_RELEASE_GRACE`]).
    release_at: Option<Instant>,
    /// The priority before health-check weights: the configured one, or the last one set.
    pub(super) base_priority: Priority,
    /// The verdicts and weights of the health checks that move this instance's priority.
    tracked: Vec<TrackedCheck>,
    /// Whether a failing weight-0 check holds the instance in Fault.
    pub(super) held_by_check: bool,
    /// The health check that last moved the priority or the Fault, so the transition that
    /// follows can name it.
    moved_by_check: Option<String>,
    /// The priority in the last advert accepted from the master we follow.
    master_priority: Option<u8>,
    /// What put the instance in Fault last, so leaving Fault can say what recovered.
    fault_cause: Option<FaultCause>,
    /// Adverts the codec refused, by RFC 6527 statistic.
    pub(super) decode_errors: DecodeErrorCounts,
    /// With an IPsec Authentication Header: the sequence numbers sent and accepted.
    ah_sequence: SequenceCounter,
    /// Sync group bookkeeping; see [`GroupStanding`].
    group: GroupStanding,
}

/// Where an instance stands towards its sync group (untouched outside one).
#[derive(Debug, Default)]
struct GroupStanding {
    /// It belongs to a sync group; only then are its transitions kept for the group rules.
    member: bool,
    /// In Fault for a reason of its own (its interface, a check): set by every
    /// `EnterFault` that does not come from the group, cleared by `ClearFault`.
    own_fault: bool,
    /// The group holds it in Fault; a `ClearFault` then leaves it there.
    held: bool,
    /// It is handing over because the group asked, so the transition that ends the
    /// handover is the group's doing.
    handing_over: bool,
    /// The next transition is the group's doing (set just before a group move).
    moving: bool,
    /// Its group ignores the weights of its health checks (no `tracking_weight`): only
    /// weight-0 checks count.
    weights_ignored: bool,
    /// Transitions since the node last asked, for the group rules.
    transitions: Vec<GroupTransition>,
}

impl Member {
    pub(super) fn new(id: InstanceId, config: MemberConfig) -> Result<Self, InstanceConfigError> {
        let base_priority = config.instance.priority;
        Ok(Member {
            id,
            name: config.name,
            link: config.link,
            instance: Instance::new(config.instance)?,
            decode: config.decode,
            checked_peers: config.checked_peers,
            garp: config.garp,
            announcements: AnnounceSchedule::default(),
            paced: PacedAddresses::default(),
            release_at: None,
            base_priority,
            tracked: Vec::new(),
            held_by_check: false,
            moved_by_check: None,
            master_priority: None,
            fault_cause: None,
            decode_errors: DecodeErrorCounts::default(),
            ah_sequence: SequenceCounter::default(),
            group: GroupStanding::default(),
        })
    }

    pub(super) fn state(&self) -> State {
        self.instance.state()
    }

    /// The instance as its sync group sees it.
    pub(super) fn group_view(&self) -> MemberView {
        MemberView {
            state: self.state(),
            own_fault: self.group.own_fault,
            held_by_group: self.group.held,
            handing_over: self.instance.is_resigning(),
        }
    }

    /// Joins or leaves a sync group; `weights_ignored` says whether the group ignores the
    /// weights of the member's checks. A change of that re-applies the checks, which may
    /// move the priority (never the Fault: weight-0 checks count either way).
    pub(super) fn set_group_member(
        &mut self,
        now: Instant,
        member: bool,
        weights_ignored: bool,
        out: &mut VecDeque<Output>,
    ) {
        let before = self.group.weights_ignored;
        self.join_group(member, weights_ignored);
        if self.group.weights_ignored != before {
            self.apply_checks(now, None, false, out);
        }
    }

    /// [`Member::set_group_member`] for a new member, which has no checks to re-apply yet.
    pub(super) fn join_group(&mut self, member: bool, weights_ignored: bool) {
        self.group.member = member;
        if !member {
            self.group.transitions.clear();
        }
        self.group.weights_ignored = member && weights_ignored;
    }

    /// Whether its sync group ignores the weights of its health checks.
    pub(super) fn weights_ignored(&self) -> bool {
        self.group.weights_ignored
    }

    pub(super) fn take_group_transitions(&mut self) -> Vec<GroupTransition> {
        std::mem::take(&mut self.group.transitions)
    }

    /// The earliest time the instance needs to be woken: a protocol timer, an announcement
    /// or the end of a handover's grace.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        [
            self.instance.poll_timeout(),
            self.announcements.next_deadline(),
            self.release_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub(super) fn is_releasing(&self) -> bool {
        self.release_at.is_some()
    }

    pub(super) fn master_view(&self) -> MasterView {
        let priority = if self.state() == State::Master {
            Some(self.instance.priority().get())
        } else {
            self.master_priority
        };
        // A backup whose core still names our own address (a resign that heard no
        // successor) knows of no master.
        let primary = self.instance.config().primary_address;
        let address = self
            .instance
            .master_address()
            .filter(|address| self.state() == State::Master || *address != primary);
        MasterView {
            address,
            priority,
            advert_interval: self.instance.master_adver_interval().as_duration(),
        }
    }

    /// Carries out what the instance's sync group asks of it.
    pub(super) fn follow_group(
        &mut self,
        now: Instant,
        group_move: GroupMove,
        out: &mut VecDeque<Output>,
    ) {
        let command = match group_move {
            GroupMove::HoldInFault => {
                self.group.held = true;
                Command::EnterFault(FaultCause::SyncGroup)
            }
            GroupMove::ReleaseFault => {
                self.group.held = false;
                if self.group.own_fault {
                    return;
                }
                Command::ClearFault
            }
            GroupMove::TakeOver => {
                self.group.handing_over = false;
                Command::FollowGroupToMaster
            }
            GroupMove::HandOver => {
                self.group.handing_over = true;
                Command::Resign { hold_down: None }
            }
        };
        self.group.moving = true;
        // A group move that does not apply (a take-over of an instance that just left
        // Backup) changes nothing, which is what the group wants.
        let _ = self.apply(now, command, None, out);
        self.group.moving = false;
    }

    /// Sets the base priority; the advertised one is the base moved by the checks' weights.
    pub(super) fn set_base_priority(
        &mut self,
        now: Instant,
        priority: Priority,
        out: &mut VecDeque<Output>,
    ) {
        self.base_priority = priority;
        self.moved_by_check = None;
        self.apply_checks(now, None, true, out);
    }

    /// Takes the verdicts of the instance's health checks after `check` changed.
    pub(super) fn set_checks(
        &mut self,
        now: Instant,
        tracked: Vec<TrackedCheck>,
        check: Option<&str>,
        link_up: bool,
        out: &mut VecDeque<Output>,
    ) {
        self.tracked = tracked;
        self.apply_checks(now, check, link_up, out);
    }

    fn apply_checks(
        &mut self,
        now: Instant,
        check: Option<&str>,
        link_up: bool,
        out: &mut VecDeque<Output>,
    ) {
        let weights_ignored = self.group.weights_ignored;
        let counted = self
            .tracked
            .iter()
            .copied()
            .filter(|check| !weights_ignored || check.weight == 0);
        match effective_priority(self.base_priority, counted) {
            EffectivePriority::Fault => {
                if !self.held_by_check {
                    self.held_by_check = true;
                    self.moved_by_check = check.map(str::to_owned);
                    let fault = Command::EnterFault(FaultCause::CheckFailed);
                    let _ = self.command_by(now, fault, check, out);
                }
            }
            EffectivePriority::Run(priority) => {
                if priority != self.instance.priority() {
                    // In Fault the core only stores it, for when the fault clears.
                    self.moved_by_check = check.map(str::to_owned);
                    let _ = self.command_by(now, Command::SetPriority(priority), check, out);
                }
                if self.held_by_check {
                    self.held_by_check = false;
                    self.moved_by_check = check.map(str::to_owned);
                    if link_up {
                        // What cleared is the check, whatever entered Fault first.
                        self.fault_cause = Some(FaultCause::CheckFailed);
                        let _ = self.command_by(now, Command::ClearFault, check, out);
                    }
                }
            }
        }
    }

    /// Applies `command`, sent because of health check `check` if any; the sync group's
    /// bookkeeping first. While the group holds the instance in Fault, a `ClearFault` only
    /// notes that its own fault is over.
    pub(super) fn command_by(
        &mut self,
        now: Instant,
        command: Command,
        check: Option<&str>,
        out: &mut VecDeque<Output>,
    ) -> Result<(), CommandRejected> {
        match command {
            Command::EnterFault(_) => self.group.own_fault = true,
            Command::ClearFault => {
                self.group.own_fault = false;
                if self.group.held {
                    out.push_back(Output::StillHeldByGroup { instance: self.id });
                    return Ok(());
                }
            }
            Command::Shutdown => {
                self.group = GroupStanding {
                    member: self.group.member,
                    ..GroupStanding::default()
                };
            }
            _ => {}
        }
        self.apply(now, command, check, out)
    }

    fn apply(
        &mut self,
        now: Instant,
        command: Command,
        check: Option<&str>,
        out: &mut VecDeque<Output>,
    ) -> Result<(), CommandRejected> {
        let priority_before = self.instance.priority();
        let result = self.instance.handle_command(now, command);
        if self.instance.priority() != priority_before {
            out.push_back(Output::PriorityChanged {
                instance: self.id,
                base_priority: self.base_priority.get(),
                effective_priority: self.instance.priority().get(),
                check: check.map(str::to_owned),
            });
        }
        self.carry_out(now, out);
        result
    }

    /// Decodes and processes one received packet whose VRID is ours.
    pub(super) fn receive(
        &mut self,
        now: Instant,
        packet: &Received<'_>,
        out: &mut VecDeque<Output>,
    ) {
        let peer_hop_limits = match &self.checked_peers {
            None => None,
            Some(peers) => match peers.iter().find(|peer| peer.address == packet.source) {
                Some(peer) => Some(peer.hop_limits),
                None => {
                    out.push_back(self.refused(packet.source, Refusal::UnknownPeer));
                    return;
                }
            },
        };
        let header = IpHeader {
            source: packet.source,
            destination: packet.destination,
            hop_limit: packet.hop_limit,
        };
        match self.decode(packet, &header, peer_hop_limits) {
            Ok(advert) => match self.instance.handle_packet(now, packet.source, &advert) {
                Err(reason) => {
                    out.push_back(self.refused(packet.source, Refusal::Dropped(reason)));
                }
                Ok(()) if self.instance.master_address() == Some(packet.source) => {
                    self.master_priority = Some(advert.priority);
                    out.push_back(Output::MasterHeard { instance: self.id });
                }
                Ok(()) => {}
            },
            Err(error) => {
                self.decode_errors.count(&error);
                out.push_back(self.refused(packet.source, Refusal::Decode(error)));
            }
        }
        self.carry_out(now, out);
    }

    /// Decodes `packet`, through its Authentication Header when the instance uses one: the
    /// header must be there, verify, and carry a sequence number above the last one
    /// (keepalived/vrrp/vrrp.c, `vrrp_check_packet`). `peer_hop_limits`: those taken from
    /// the checked peer that sent it, instead of the instance's.
    fn decode(
        &mut self,
        packet: &Received<'_>,
        header: &IpHeader,
        peer_hop_limits: Option<HopLimits>,
    ) -> Result<Advertisement, DecodeError> {
        let options = match peer_hop_limits {
            Some(hop_limits) if hop_limits != self.decode.hop_limits => Cow::Owned(DecodeOptions {
                hop_limits,
                ..self.decode.clone()
            }),
            _ => Cow::Borrowed(&self.decode),
        };
        let with_ah = ah::carries_authentication_header(packet.ip_header);
        match (&options.v2_auth, with_ah) {
            (Auth::AuthenticationHeader(key), true) => {
                let (authentication, decoded) = ah::decode(
                    packet.ip_header,
                    packet.payload,
                    header,
                    key,
                    self.checked_peers.is_some(),
                    &options,
                )?;
                self.ah_sequence.accept(authentication.sequence)?;
                Ok(decoded.advertisement)
            }
            (Auth::AuthenticationHeader(_), false) => Err(DecodeError::AuthenticationHeaderMissing),
            (_, true) => Err(DecodeError::UnexpectedAuthenticationHeader),
            (_, false) => Advertisement::decode(packet.payload, header, &options),
        }
    }

    fn refused(&self, from: IpAddr, refusal: Refusal) -> Output {
        Output::Refused {
            instance: self.id,
            from,
            refusal,
        }
    }

    /// Runs whatever is due at `now`.
    pub(super) fn on_timeout(&mut self, now: Instant, out: &mut VecDeque<Output>) {
        if self.instance.poll_timeout().is_some_and(|due| due <= now) {
            self.instance.handle_timeout(now);
            self.carry_out(now, out);
        }
        if self.release_at.is_some_and(|due| due <= now) {
            self.release_at = None;
            out.push_back(Output::RemoveAddresses {
                instance: self.id,
                after_grace: true,
            });
        }
        if self.state() != State::Master {
            return;
        }
        if let Some(messages) = self.announcements.take_due(now, &self.garp) {
            out.push_back(Output::Announce {
                instance: self.id,
                messages,
            });
        }
    }

    /// Takes new settings in place: the addresses the adverts carry and are checked against,
    /// decoding, unicast peers and announcements. The priority goes through
    /// [`Member::set_base_priority`].
    pub(super) fn reconfigure(
        &mut self,
        addresses: Vec<IpAddr>,
        decode: DecodeOptions,
        checked_peers: Option<Vec<UnicastPeer>>,
        garp: GarpSettings,
    ) -> Result<(), InstanceConfigError> {
        self.decode = decode;
        self.checked_peers = checked_peers;
        self.garp = garp;
        self.instance.set_virtual_addresses(addresses)
    }

    /// Carries out every pending action of the state machine, in order.
    fn carry_out(&mut self, now: Instant, out: &mut VecDeque<Output>) {
        // Set by a Master → Backup transition of a handover, for the removal that follows it.
        let mut handing_over = false;
        // Set by a transition to Master: its announcement is the take-over's; any other is
        // the answer to a lower priority.
        let mut taking_over = false;
        while let Some(action) = self.instance.poll_action() {
            match action {
                Action::StateChanged { from, to, reason } => {
                    if from == State::Master {
                        self.announcements.stop();
                        self.paced.forget();
                    }
                    if to == State::Master {
                        taking_over = true;
                        // Still installed: the take-over's install renews them in place.
                        self.release_at = None;
                    }
                    if from == State::Master && reason == TransitionReason::Resigned {
                        handing_over = true;
                    }
                    out.push_back(Output::Transition(self.transition(from, to, reason)));
                    if matches!(to, State::Initialize | State::Fault)
                        && self.release_at.take().is_some()
                    {
                        // Stopping or faulty: no grace, nothing may stay behind.
                        out.push_back(Output::RemoveAddresses {
                            instance: self.id,
                            after_grace: false,
                        });
                    }
                }
                Action::InstallAddresses(_) => {
                    out.push_back(Output::InstallAddresses { instance: self.id });
                }
                Action::RemoveAddresses(_) if handing_over => {
                    self.release_at = Some(now + RESIGN_RELEASE_GRACE);
                }
                Action::RemoveAddresses(_) => {
                    self.release_at = None;
                    out.push_back(Output::RemoveAddresses {
                        instance: self.id,
                        after_grace: false,
                    });
                }
                Action::Announce(_) => {
                    let messages = if taking_over {
                        self.announcements.start(now, &self.garp)
                    } else {
                        self.announcements.lower_priority(now, &self.garp)
                    };
                    if messages == 0 {
                        continue;
                    }
                    out.push_back(Output::Announce {
                        instance: self.id,
                        messages,
                    });
                }
                Action::LowerPriorityHeard { from, priority } => {
                    out.push_back(Output::LowerPriorityHeard {
                        instance: self.id,
                        from,
                        priority,
                    });
                }
                Action::SendAdvertisement(advert) => {
                    let ah_sequence = matches!(advert.auth, Auth::AuthenticationHeader(_))
                        .then(|| self.ah_sequence.next_to_send());
                    out.push_back(Output::Transmit {
                        instance: self.id,
                        advert,
                        ah_sequence,
                    });
                }
            }
        }
    }

    /// A state change as the node reports it: its cause, told apart from the core's reason
    /// where the node knows more (a sync group's move, which fault cleared, a check that
    /// moved the priority), and its note for the sync group rules.
    fn transition(&mut self, from: State, to: State, reason: TransitionReason) -> Transition {
        let group_handover = from == State::Master
            && std::mem::take(&mut self.group.handing_over)
            && reason == TransitionReason::Resigned;
        let caused_by_group = self.group.moving || group_handover;
        if self.group.member {
            self.group.transitions.push(GroupTransition {
                instance: self.name.clone(),
                from,
                to,
                caused_by_group,
            });
        }
        let (cause, check) = match (reason, self.fault_cause) {
            (TransitionReason::FaultCleared | TransitionReason::Resigned, _) if caused_by_group => {
                (ChangeCause::SyncGroup, None)
            }
            (
                TransitionReason::FaultCleared,
                Some(FaultCause::InterfaceDown | FaultCause::NoSourceAddress),
            ) => (ChangeCause::InterfaceRecovered, None),
            (TransitionReason::FaultCleared, _) => {
                (ChangeCause::CheckRecovered, self.moved_by_check.take())
            }
            (TransitionReason::Fault(FaultCause::CheckFailed), _) => {
                (ChangeCause::Core(reason), self.moved_by_check.take())
            }
            (
                TransitionReason::HigherPriorityAdvert
                | TransitionReason::PreemptedLowerPriorityMaster,
                _,
            ) if self.moved_by_check.is_some() => {
                (ChangeCause::CheckMovedPriority, self.moved_by_check.take())
            }
            (reason, _) => (ChangeCause::Core(reason), None),
        };
        if let TransitionReason::Fault(fault) = reason {
            self.fault_cause = Some(fault);
        }
        Transition {
            instance: self.id,
            from,
            to,
            reason,
            cause,
            check,
            base_priority: self.base_priority.get(),
            effective_priority: self.instance.priority().get(),
            master: self.master_view(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::super::{Family, Node};
    use super::*;
    use crate::instance_config::InstanceConfig;
    use crate::interval::AdvertInterval;
    use crate::packet::{V3Ipv4Checksum, Version};

    const KEY: ah::Key = *b"secret1\0";
    const OURS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
    const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

    fn link() -> Link {
        Link {
            interface: "eth0".into(),
            family: Family::Ipv4,
        }
    }

    /// A backup at priority 50 under AH, started.
    fn node(now: Instant) -> (Node, InstanceId) {
        started(now, Auth::AuthenticationHeader(KEY), None)
    }

    /// A VRRPv2 backup at priority 50 with `auth`, taking adverts from `checked_peers`
    /// alone when given, started.
    fn started(
        now: Instant,
        auth: Auth,
        checked_peers: Option<Vec<UnicastPeer>>,
    ) -> (Node, InstanceId) {
        let mut instance = InstanceConfig::new(
            51,
            Version::V2,
            OURS.into(),
            Priority::new(50).expect("50 is a priority"),
            vec![VIP.into()],
        );
        instance.advert_interval = AdvertInterval::from_secs(1).expect("1 s is an interval");
        instance.auth = auth.clone();
        let mut node = Node::new();
        let id = node
            .add(MemberConfig {
                name: "vi".into(),
                link: link(),
                instance,
                decode: DecodeOptions {
                    version: Some(Version::V2),
                    v2_auth: auth,
                    hop_limits: if checked_peers.is_some() {
                        HopLimits::ANY
                    } else {
                        HopLimits::LINK_ONLY
                    },
                    ..DecodeOptions::default()
                },
                checked_peers,
                garp: GarpSettings {
                    lower_priority_repeat: 5,
                    lower_priority_second_after: Some(std::time::Duration::from_secs(5)),
                    repeat: 1,
                    second_burst_after: None,
                    refresh_every: None,
                },
            })
            .expect("a valid instance");
        node.command(now, id, Command::Startup).expect("starts");
        while node.poll_output().is_some() {}
        (node, id)
    }

    /// The peer's advert at `priority` under AH with `key` and `sequence`, as the IPv4
    /// packet on the wire.
    fn peer_packet(priority: u8, sequence: u32, key: &ah::Key) -> Vec<u8> {
        let advert = Advertisement {
            version: Version::V2,
            vrid: 51,
            priority,
            advert_interval: AdvertInterval::from_secs(1).expect("1 s is an interval"),
            addresses: vec![VIP.into()],
            auth: Auth::AuthenticationHeader(*key),
        };
        let vrrp = advert
            .encode(PEER.into(), GROUP.into(), V3Ipv4Checksum::WithPseudoHeader)
            .expect("a valid advert");
        ah::seal(&vrrp, PEER, GROUP, sequence, key, None)
    }

    fn receive(node: &mut Node, now: Instant, packet: &[u8]) {
        let (ip_header, payload) = packet.split_at(ah::IPV4_HEADER_LEN);
        deliver(node, now, ip_header, payload);
    }

    /// Hands the node one packet from the peer, as received, and drops its outputs.
    fn deliver(node: &mut Node, now: Instant, ip_header: &[u8], payload: &[u8]) {
        node.handle_packet(
            now,
            &link(),
            Received {
                source: PEER.into(),
                destination: GROUP.into(),
                hop_limit: 255,
                ip_header,
                payload,
            },
        );
        while node.poll_output().is_some() {}
    }

    /// Hands the node a plain VRRPv2 advert at priority 100 unicast from `source` with
    /// `hop_limit`; returns the refusal, if any.
    fn unicast_advert(
        node: &mut Node,
        now: Instant,
        source: Ipv4Addr,
        hop_limit: u8,
    ) -> Option<Refusal> {
        let advert = Advertisement {
            version: Version::V2,
            vrid: 51,
            priority: 100,
            advert_interval: AdvertInterval::from_secs(1).expect("1 s is an interval"),
            addresses: vec![VIP.into()],
            auth: Auth::None,
        };
        let payload = advert
            .encode(source.into(), OURS.into(), V3Ipv4Checksum::WithPseudoHeader)
            .expect("a valid advert");
        node.handle_packet(
            now,
            &link(),
            Received {
                source: source.into(),
                destination: OURS.into(),
                hop_limit,
                ip_header: &[],
                payload: &payload,
            },
        );
        std::iter::from_fn(|| node.poll_output())
            .filter_map(|output| match output {
                Output::Refused { refusal, .. } => Some(refusal),
                _ => None,
            })
            .last()
    }

    /// keepalived's `unicast_peer { ADDRESS min_ttl N max_ttl M }`: a checked peer's adverts
    /// are taken within its range alone and the others counted as TTL errors
    /// (keepalived/vrrp/vrrp.c, `vrrp_check_packet`, `ip_ttl_err`); a peer without a range
    /// is heard with any hop limit, and a source that is no peer not at all.
    #[test]
    fn a_checked_peer_is_heard_within_its_hop_limits_alone() {
        const OTHER_PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 3);
        const STRANGER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 9);
        let now = Instant::now();
        let ranged = HopLimits {
            lowest: 250,
            highest: 254,
        };
        let peers = vec![
            UnicastPeer {
                address: PEER.into(),
                hop_limits: ranged,
            },
            UnicastPeer {
                address: OTHER_PEER.into(),
                hop_limits: HopLimits::ANY,
            },
        ];
        let (mut node, id) = started(now, Auth::None, Some(peers));
        let counts = |node: &Node| {
            (
                node.instance(id)
                    .expect("added")
                    .counters()
                    .adverts_received,
                node.decode_errors(id).expect("added").ttl,
            )
        };
        for hop_limit in [255, 249, 1] {
            assert_eq!(
                unicast_advert(&mut node, now, PEER, hop_limit),
                Some(Refusal::Decode(DecodeError::HopLimit {
                    received: hop_limit,
                    accepted: ranged,
                }))
            );
        }
        assert_eq!(counts(&node), (0, 3));
        for hop_limit in [250, 254] {
            assert_eq!(unicast_advert(&mut node, now, PEER, hop_limit), None);
        }
        assert_eq!(unicast_advert(&mut node, now, OTHER_PEER, 3), None);
        assert_eq!(counts(&node), (3, 3));
        assert_eq!(
            unicast_advert(&mut node, now, STRANGER, 255),
            Some(Refusal::UnknownPeer)
        );
        assert_eq!(counts(&node), (3, 3));
        assert_eq!(
            DecodeError::HopLimit {
                received: 255,
                accepted: ranged
            }
            .to_string(),
            "TTL/hop limit is 255, must be 250..=254"
        );
    }

    #[test]
    fn authenticated_adverts_count_and_wrong_keys_replays_and_bare_adverts_do_not() {
        let now = Instant::now();
        let (mut node, id) = node(now);
        let received = |node: &Node| {
            node.instance(id)
                .expect("added")
                .counters()
                .adverts_received
        };
        let auth_errors = |node: &Node| node.decode_errors(id).expect("added").auth;

        receive(&mut node, now, &peer_packet(100, 7, &KEY));
        assert_eq!((received(&node), auth_errors(&node)), (1, 0));
        assert_eq!(node.instance(id).map(Instance::state), Some(State::Backup));

        // A replay (the same or a lower sequence number) and a wrong key are refused.
        receive(&mut node, now, &peer_packet(100, 7, &KEY));
        receive(&mut node, now, &peer_packet(100, 3, &KEY));
        receive(&mut node, now, &peer_packet(100, 8, b"secret2\0"));
        assert_eq!((received(&node), auth_errors(&node)), (1, 3));

        // The same advert without its Authentication Header is refused too.
        let packet = peer_packet(100, 9, &KEY);
        let bare = &packet[ah::IPV4_HEADER_LEN + ah::HEADER_LEN..];
        let mut plain_ip = packet[..ah::IPV4_HEADER_LEN].to_vec();
        plain_ip[9] = crate::packet::IP_PROTOCOL;
        deliver(&mut node, now, &plain_ip, bare);
        assert_eq!((received(&node), auth_errors(&node)), (1, 4));

        receive(&mut node, now, &peer_packet(100, 8, &KEY));
        assert_eq!((received(&node), auth_errors(&node)), (2, 4));
    }

    #[test]
    fn a_backup_taking_over_continues_the_sequence_it_heard() {
        let now = Instant::now();
        let (mut node, _) = node(now);
        receive(&mut node, now, &peer_packet(100, 41, &KEY));
        let later = now + std::time::Duration::from_secs(10);
        node.handle_timeout(later);
        let sequences: Vec<Option<u32>> = std::iter::from_fn(|| node.poll_output())
            .filter_map(|output| match output {
                Output::Transmit { ah_sequence, .. } => Some(ah_sequence),
                _ => None,
            })
            .collect();
        assert_eq!(sequences, [Some(42)]);
    }
}
