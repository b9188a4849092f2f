//! What the API asks of the router, and the router's answers.
//!
//! Every request is a [`RouterCommand`] carrying a oneshot for the reply, so the router
//! answers in the same step that reads or changes its state and never waits for the caller:
//! a caller that went away only makes the reply's send fail.

use std::time::Duration;

use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use crate::events::{Epoch, ResumeRefused, Resumed, Subscription};
use crate::health::runner::Probe;
use crate::health::{CheckSpec, LeaseInput};
use crate::trace::Cause;
use crate::vrrp::{Priority, State};

use super::checks::{CheckCommand, CheckError};
use super::event_loop::RouterCommand;
use super::reload::Reload;
use crate::events::status::{CheckStatus, InstanceEvent, InstanceStatus};

/// Where a watcher that reconnects left off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumePoint {
    /// The epoch the revision belongs to.
    pub epoch: String,
    /// The last revision the watcher received.
    pub after: u64,
}

/// How a watch starts: the snapshot and the subscription taken in one router step.
#[derive(Debug)]
pub struct WatchStart {
    /// This run's epoch.
    pub epoch: Epoch,
    /// Either a snapshot or the replay of a resume.
    pub beginning: WatchBeginning,
}

/// The first part of a watch.
#[derive(Debug)]
pub enum WatchBeginning {
    /// Every instance's status, then the events after `subscription.start_revision`.
    Snapshot {
        /// Why a resume was refused, when one was asked for.
        refused: Option<ResumeRefused>,
        /// Every instance, sorted by name.
        statuses: Vec<InstanceStatus>,
        /// The events after the snapshot.
        subscription: Subscription<InstanceEvent>,
    },
    /// The events the watcher missed, then the live ones.
    Resumed(Resumed<InstanceEvent>),
}

/// A resign under way.
#[derive(Debug)]
pub struct ResignStarted {
    /// The instance right after the command (still master, advertising priority 0).
    pub status: InstanceStatus,
    /// Master_Down_Interval: the longest the handover takes.
    pub bound: Duration,
    /// The events from the command on, to see the instance become backup.
    pub subscription: Subscription<InstanceEvent>,
}

/// What a reload changed, by instance name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadOutcome {
    /// Instances the new configuration created.
    pub added: Vec<String>,
    /// Instances it removed.
    pub removed: Vec<String>,
    /// Instances whose settings changed (in place or by a restart).
    pub changed: Vec<String>,
}

/// Why the router refused a request.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ControlError {
    /// No instance has that name.
    #[error("no instance is named `{0}`")]
    NotFound(String),
    /// The instance owns its addresses (priority 255): its priority never changes and it
    /// cannot hand over (RFC 9568 §6.1).
    #[error("instance `{0}` is the address owner (priority 255)")]
    Owner(String),
    /// Only a master can resign.
    #[error("instance `{instance}` is {state}, not MASTER")]
    NotMaster {
        /// The instance.
        instance: String,
        /// Its state.
        state: State,
    },
    /// The daemon's limit on concurrent watchers is reached.
    #[error("{limit} watchers are already connected, the daemon's limit")]
    TooManyWatchers {
        /// The limit.
        limit: usize,
    },
    /// The daemon is stopping: the router no longer takes requests.
    #[error("the daemon is shutting down")]
    Stopping,
    /// A health-check request was refused.
    #[error(transparent)]
    Check(#[from] CheckError),
}

/// A cloneable way to ask the router things; one per API connection handler.
#[derive(Clone, Debug)]
pub struct RouterHandle {
    commands: mpsc::Sender<RouterCommand>,
}

impl RouterHandle {
    /// A handle that sends on `commands`.
    pub fn new(commands: mpsc::Sender<RouterCommand>) -> Self {
        RouterHandle { commands }
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> RouterCommand,
    ) -> Result<T, ControlError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| ControlError::Stopping)?;
        answer.await.map_err(|_| ControlError::Stopping)
    }

    /// Every instance's status, sorted by name.
    pub async fn statuses(&self) -> Result<Vec<InstanceStatus>, ControlError> {
        self.ask(|reply| RouterCommand::Statuses { reply }).await
    }

    /// Starts a watch: a snapshot, or the replay after `resume`, and the live events.
    pub async fn watch(&self, resume: Option<ResumePoint>) -> Result<WatchStart, ControlError> {
        self.ask(|reply| RouterCommand::Watch { resume, reply })
            .await?
    }

    /// A subscription to every change from now on, for a relay that hands them on to
    /// watchers: not counted as a watcher, and never refused for their number.
    pub async fn relay(&self) -> Result<(Epoch, Subscription<InstanceEvent>), ControlError> {
        self.ask(|reply| RouterCommand::Relay { reply }).await
    }

    /// Sets `instance`'s base priority.
    pub async fn set_priority(
        &self,
        instance: String,
        priority: Priority,
    ) -> Result<InstanceStatus, ControlError> {
        self.ask(|reply| RouterCommand::SetPriority {
            instance,
            priority,
            cause: Cause::current(),
            reply,
        })
        .await?
    }

    /// Makes `instance` hand mastership over and leave its successor alone for `hold_down`
    /// (`None`: until its priority changes).
    pub async fn resign(
        &self,
        instance: String,
        hold_down: Option<Duration>,
    ) -> Result<ResignStarted, ControlError> {
        self.ask(|reply| RouterCommand::Resign {
            instance,
            hold_down,
            cause: Cause::current(),
            reply,
        })
        .await?
    }

    /// Registers a health check from an application; `probe` is its probe, set up by the
    /// caller (`None` for a pushed check).
    pub async fn register_check(
        &self,
        spec: CheckSpec,
        probe: Option<Box<Probe>>,
        instances: Vec<String>,
        owner: String,
    ) -> Result<CheckStatus, ControlError> {
        self.ask(|reply| {
            RouterCommand::Checks(CheckCommand::Register {
                spec,
                probe,
                instances,
                owner,
                reply,
            })
        })
        .await?
    }

    /// Removes a registered health check.
    pub async fn unregister_check(&self, name: String) -> Result<(), ControlError> {
        self.ask(|reply| RouterCommand::Checks(CheckCommand::Unregister { name, reply }))
            .await?
    }

    /// Where the reports of the pushed check `name` go.
    pub async fn check_reports(
        &self,
        name: String,
    ) -> Result<mpsc::Sender<LeaseInput>, ControlError> {
        self.ask(|reply| RouterCommand::Checks(CheckCommand::Reports { name, reply }))
            .await?
    }

    /// Applies a configuration prepared as SIGHUP prepares it.
    pub async fn reload(&self, reload: Reload) -> Result<ReloadOutcome, ControlError> {
        self.ask(|reply| RouterCommand::Reload {
            reload: Box::new(reload),
            reply: Some(reply),
        })
        .await
    }
}
