//! What a [`super::Node`] asks its driver to do, and what it reports.

use std::net::IpAddr;
use std::time::Duration;

use crate::counters::DropReason;
use crate::packet::{Advertisement, DecodeError};
use crate::state::{State, TransitionReason};

use super::InstanceId;
use super::sync_group::GroupMove;

/// One output of the node, taken with [`super::Node::poll_output`] and carried out in order.
///
/// An instance becoming master yields `Transition`, `InstallAddresses`, `Transmit`,
/// `Announce`, in that order (see [`crate::Action`] for why).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send this advertisement: to the VRRP group, or to each unicast peer (RFC 9568
    /// §5.1.1.2). Its priority is the one to put on the wire.
    Transmit {
        /// The sender.
        instance: InstanceId,
        /// What to send.
        advert: Advertisement,
        /// With an IPsec Authentication Header (auth type 2): its sequence number, one per
        /// advert whatever the number of unicast peers, as keepalived numbers them.
        ah_sequence: Option<u32>,
    },
    /// Install every address the instance holds as master.
    InstallAddresses {
        /// The new master.
        instance: InstanceId,
    },
    /// Remove every address the instance holds as master.
    RemoveAddresses {
        /// The instance letting go.
        instance: InstanceId,
        /// Whether this ends a handover's grace (see [`super::RESIGN_RELEASE_GRACE`]), long
        /// after the transition that started it, rather than belonging to the transition
        /// just reported.
        after_grace: bool,
    },
    /// Announce the instance's addresses, `messages` times each: gratuitous ARP or
    /// unsolicited Neighbor Advertisements (RFC 9568 §6.4.2, §8.1.2).
    Announce {
        /// The master announcing.
        instance: InstanceId,
        /// Messages per address.
        messages: u8,
    },
    /// Announce one of the instance's addresses once: a message of a spaced burst (see
    /// [`super::announce::Pacer`]), sent when its interface's spacing allows.
    AnnounceAddress {
        /// The master announcing.
        instance: InstanceId,
        /// The address.
        address: IpAddr,
    },
    /// The instance changed state.
    Transition(Transition),
    /// The priority the instance advertises changed.
    PriorityChanged {
        /// The instance.
        instance: InstanceId,
        /// The priority before health-check weights.
        base_priority: u8,
        /// The priority it now advertises.
        effective_priority: u8,
        /// The health check that moved it, if one did.
        check: Option<String>,
    },
    /// The instance, as master, heard a lower priority than its own (see
    /// [`crate::Action::LowerPriorityHeard`]).
    LowerPriorityHeard {
        /// The instance.
        instance: InstanceId,
        /// The advert's sender.
        from: IpAddr,
        /// The priority it carried.
        priority: u8,
    },
    /// An advertisement from the master the instance follows was accepted.
    MasterHeard {
        /// The instance.
        instance: InstanceId,
    },
    /// A received packet was refused; it changed nothing.
    Refused {
        /// The instance whose VRID it carried.
        instance: InstanceId,
        /// Its sender.
        from: IpAddr,
        /// Why.
        refusal: Refusal,
    },
    /// A received packet carried a VRID no instance runs on its link.
    UnknownVrid {
        /// Its sender.
        from: IpAddr,
        /// The VRID, if the packet was long enough to carry one.
        vrid: Option<u8>,
    },
    /// An instance's own fault cleared, but its sync group holds it in Fault while another
    /// member has a fault of its own.
    StillHeldByGroup {
        /// The instance.
        instance: InstanceId,
    },
    /// A sync group made a member move.
    GroupMoved {
        /// The member.
        instance: InstanceId,
        /// Its group.
        group: String,
        /// What it did.
        group_move: GroupMove,
    },
    /// A sync group as a whole changed state (keepalived's group notify).
    GroupStateChanged {
        /// The group.
        group: String,
        /// Its state before.
        from: State,
        /// Its state now; Initialize once none of its members runs.
        to: State,
    },
    /// The sync group rules were still moving members after
    /// [`super::sync_group::MAX_ROUNDS`] rounds of one input; the rest follow the next input.
    GroupsUnsettled,
}

impl Output {
    /// The instance the output is about; `None` for the node-wide ones.
    pub fn instance(&self) -> Option<InstanceId> {
        match self {
            Output::Transmit { instance, .. }
            | Output::InstallAddresses { instance }
            | Output::RemoveAddresses { instance, .. }
            | Output::Announce { instance, .. }
            | Output::AnnounceAddress { instance, .. }
            | Output::PriorityChanged { instance, .. }
            | Output::LowerPriorityHeard { instance, .. }
            | Output::MasterHeard { instance }
            | Output::StillHeldByGroup { instance }
            | Output::Refused { instance, .. }
            | Output::GroupMoved { instance, .. } => Some(*instance),
            Output::Transition(transition) => Some(transition.instance),
            Output::UnknownVrid { .. }
            | Output::GroupStateChanged { .. }
            | Output::GroupsUnsettled => None,
        }
    }
}

/// One state change of an instance, with what the API and the logs say about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The instance.
    pub instance: InstanceId,
    /// Its state before.
    pub from: State,
    /// Its state now.
    pub to: State,
    /// The core's reason.
    pub reason: TransitionReason,
    /// The reason as the API reports it.
    pub cause: ChangeCause,
    /// The health check that brought it about, if one did.
    pub check: Option<String>,
    /// The priority before health-check weights.
    pub base_priority: u8,
    /// The priority it advertises now.
    pub effective_priority: u8,
    /// The master as the instance sees it now.
    pub master: MasterView,
}

/// Why an instance changed state, as the API reports it: the core's reason, told apart
/// where the core's is not enough (which fault cleared, what moved the priority).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeCause {
    /// The core's reason.
    Core(TransitionReason),
    /// The interface came back.
    InterfaceRecovered,
    /// A weight-0 check passes again.
    CheckRecovered,
    /// The instance followed its sync group: it handed over because another member became
    /// backup, or left Fault because no member is in Fault any more.
    SyncGroup,
    /// A health check moved the priority, and that decided the election: a master that
    /// lowered its priority heard a higher one, or a backup that raised it preempted.
    CheckMovedPriority,
}

/// The master as one instance sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterView {
    /// The master's primary address (ours while we are master); `None` when unknown.
    pub address: Option<IpAddr>,
    /// The priority in its last advert we accepted (ours while we are master).
    pub priority: Option<u8>,
    /// Its advertisement interval: Master_Adver_Interval (RFC 9568 §6.1), learned from its
    /// adverts in VRRPv3.
    pub advert_interval: Duration,
}

/// Why a received packet was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The codec refused it (RFC 9568 §7.1's checks on the packet alone).
    Decode(DecodeError),
    /// The instance refused it (checks against its configuration and state).
    Dropped(DropReason),
    /// It came from outside the instance's unicast peers: anyone else on the link could
    /// otherwise take mastership with one higher-priority advert.
    UnknownPeer,
}
