//! Commands from the operator, the daemon and the health checks.

use std::time::Duration;

use thiserror::Error;

use super::priority::Priority;
use super::state::{FaultCause, State};

/// An input that does not come from the network or a timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// RFC 9568 §6.4.1's Startup event: leave Initialize for Backup, or Master if we own the
    /// addresses.
    Startup,
    /// RFC 9568's Shutdown event: a master sends priority 0 and removes its addresses; every
    /// state goes to Initialize. Idempotent.
    Shutdown,
    /// Hand mastership over on purpose, make-before-break: send priority 0 but keep the
    /// addresses until the successor's advertisement is heard, or Master_Down_Interval passes,
    /// then remove them and become Backup. Afterwards the instance does not preempt its
    /// successor (as if `preempt` were off) for `hold_down` from the command, or, without
    /// one, until it becomes master again, its priority is set, or the successor advertises
    /// a lower priority than it did before. Only a master can resign; resigning twice is a
    /// no-op.
    Resign {
        /// How long the successor is left alone; `None`: until a priority change.
        hold_down: Option<Duration>,
    },
    /// Change the priority we advertise and compute timers with, for instance after a
    /// tracked check changed the effective priority. It takes effect at once:
    /// - a backup given 255 (owner) takes over at once, as an owner does at startup;
    /// - another backup keeps its master-down deadline unless the new Skew_Time or
    ///   Master_Down_Interval, counted from now, ends sooner; if it now outranks the master,
    ///   the preemption rule discards the master's advertisements and the timer runs out;
    /// - a master advertises the new priority at once, so a backup that now outranks it
    ///   starts preempting without waiting for the next Adver_Timer;
    /// - in Initialize, Fault or while resigning the value is only stored.
    ///
    /// A new priority also ends the "do not preempt the successor" rule left by `Resign`.
    SetPriority(Priority),
    /// Enter Fault. From Master this sends priority 0 and removes the addresses; from
    /// Initialize it parks the instance before it ever started (keepalived starts in FAULT
    /// when an interface is down). Idempotent.
    EnterFault(FaultCause),
    /// Become master now, from Backup, as if Master_Down_Timer had fired: another instance of
    /// the same sync group became master, and keepalived's sync groups move every member at
    /// once. A master handing over (`Resign`) stops handing over and advertises its priority
    /// at once. A no-op in any other state.
    FollowGroupToMaster,
    /// Leave Fault for Backup with a fresh Master_Down_Interval from our own interval (the
    /// learned one is stale), or for Master if we own the addresses. A no-op outside Fault,
    /// and in a Fault only a new configuration ends ([`FaultCause::NoUnicastPeers`]).
    ClearFault,
    /// Keep the instance from becoming master for this long from now (keepalived's
    /// `vrrp_startup_delay`, for hosts whose links pass traffic late after boot). It runs as
    /// usual meanwhile: a backup hears adverts and follows a master, but its master-down
    /// timer counts from the end of the hold, and an owner waits for the end to take over.
    /// The daemon sends it before `Startup`, at its own start only.
    HoldMastership(Duration),
}

/// Why a command was refused; the instance is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum CommandRejected {
    /// `Startup` when the instance has already started.
    #[error("the instance is already running (state {0})")]
    AlreadyStarted(State),
    /// `Resign` when the instance is not master.
    #[error("only a master can resign (state {0})")]
    NotMaster(State),
}
