//! The states of a virtual router and the reasons it moves between them.

use std::fmt;

/// The state of one virtual router on this host.
///
/// RFC 9568 §6.4 calls the forwarding state "Active"; we say `Master`, the name RFC 3768 used and
/// keepalived operators know. `Fault` is not in either RFC: like keepalived, we park an instance
/// there while a health check with weight 0 fails or its interface is down, so it neither
/// advertises nor takes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Not running: before startup and after shutdown (RFC 9568 §6.4.1).
    Initialize,
    /// Watching the master's advertisements, ready to take over (RFC 9568 §6.4.2).
    Backup,
    /// Holding the virtual addresses and advertising (RFC 9568 §6.4.3, "Active").
    Master,
    /// Held down by a failed check or interface; sends nothing and ignores advertisements.
    Fault,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        })
    }
}

/// What put an instance in [`State::Fault`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultCause {
    /// A tracked health check with weight 0 fails.
    CheckFailed,
    /// The interface the instance runs on is down.
    InterfaceDown,
    /// The interface has no address to advertise from yet: no primary IPv4 address, or no
    /// IPv6 link-local address (one still in duplicate address detection after the link
    /// came up). RFC 9568 §5.1.1.1 and §5.1.2.1 allow no other source.
    NoSourceAddress,
    /// Another instance of its sync group is in Fault: keepalived's `vrrp_sync_group` keeps
    /// the members in one state, so addresses that only work together move together.
    SyncGroup,
    /// The instance advertises to unicast peers and has none (keepalived's
    /// `unicast_fault_no_peer`): it cannot be heard, so it must not hold the addresses. Only
    /// a configuration with peers ends it; `ClearFault` does not.
    NoUnicastPeers,
}

/// Why a state change happened, reported with every [`crate::Action::StateChanged`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransitionReason {
    /// The Startup event (RFC 9568 §6.4.1): to Backup, or to Master for the address owner.
    Startup,
    /// The master fell silent for Master_Down_Interval (RFC 9568 §6.4.2).
    MasterDownTimerExpired,
    /// The master sent priority 0 and we took over after Skew_Time (RFC 9568 §6.4.2).
    PriorityZeroReceived,
    /// We discarded a lower-priority master's advertisements (preempt on) until our
    /// master-down timer fired (RFC 9568 §6.4.2).
    PreemptedLowerPriorityMaster,
    /// A master heard a higher priority, or an equal one from a higher primary address
    /// (RFC 9568 §6.4.3).
    HigherPriorityAdvert,
    /// The `Shutdown` command (RFC 9568 §6.4.2, §6.4.3).
    Shutdown,
    /// A `Resign` command completed: the successor was heard or the bound passed.
    Resigned,
    /// A `SetPriority` command made a backup the address owner.
    PriorityChanged,
    /// A check failed or the interface went down.
    Fault(FaultCause),
    /// The fault cleared.
    FaultCleared,
    /// Another instance of its sync group became master, and this one followed
    /// ([`crate::Command::FollowGroupToMaster`]).
    SyncGroup,
}

impl fmt::Display for TransitionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransitionReason::Startup => f.write_str("startup"),
            TransitionReason::MasterDownTimerExpired => f.write_str("master-down timer expired"),
            TransitionReason::PriorityZeroReceived => f.write_str("priority 0 received"),
            TransitionReason::PreemptedLowerPriorityMaster => {
                f.write_str("preempted a lower-priority master")
            }
            TransitionReason::HigherPriorityAdvert => f.write_str("higher-priority advert"),
            TransitionReason::Shutdown => f.write_str("shutdown command"),
            TransitionReason::Resigned => f.write_str("resign command"),
            TransitionReason::PriorityChanged => f.write_str("priority command"),
            TransitionReason::Fault(FaultCause::CheckFailed) => f.write_str("fault: check failed"),
            TransitionReason::Fault(FaultCause::InterfaceDown) => {
                f.write_str("fault: interface down")
            }
            TransitionReason::Fault(FaultCause::NoSourceAddress) => {
                f.write_str("fault: no source address")
            }
            TransitionReason::Fault(FaultCause::SyncGroup) => {
                f.write_str("fault: a sync group member is in fault")
            }
            TransitionReason::Fault(FaultCause::NoUnicastPeers) => {
                f.write_str("fault: unicast without any peer")
            }
            TransitionReason::FaultCleared => f.write_str("fault cleared"),
            TransitionReason::SyncGroup => f.write_str("sync group member became master"),
        }
    }
}
