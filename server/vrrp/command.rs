//! Commands from the operator, the daemon and the health checks.

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
    /// successor (as if `preempt` were off) until it becomes master again or its priority is
    /// set. Only a master can resign; resigning twice is a no-op.
    Resign,
    /// Change the priority we advertise and compute timers with, for instance after a
    /// tracked check changed the effective priority.
    SetPriority(Priority),
    /// Enter Fault. From Master this sends priority 0 and removes the addresses. Idempotent.
    EnterFault(FaultCause),
    /// Leave Fault for Backup (or Master for the address owner). A no-op outside Fault.
    ClearFault,
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
