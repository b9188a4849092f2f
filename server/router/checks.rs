//! The daemon's health checks, kept by the router: the configured ones of each instance and
//! the ones applications register over the API.
//!
//! Every check runs as a task of its own (a prober from [`crate::health::runner`], or the
//! lease of a pushed check from [`crate::health::lease`]) and reports over one channel that
//! the router selects on, next to packets and commands; the router never waits for a check.
//! What the reports change is kept here, so the router holds every verdict in one place and
//! hands each instance the verdicts that concern it (see
//! [`crate::vrrp::node::Node::set_checks`]), where the sans-IO arithmetic
//! ([`crate::vrrp::effective_priority`]) turns them into a priority or a Fault.
//!
//! A reload compares the configured checks by instance and name: an unchanged check keeps its
//! task and its counts, a changed one starts again, a removed one stops. Registered checks
//! are not in the configuration, so a reload leaves them alone.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Instant, SystemTime};

use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{error, info, warn};

use crate::config::InstanceSettings;
use crate::events::EventBus;
use crate::health::runner::Probe;
use crate::health::{
    CheckMessage, CheckReport, CheckSpec, CheckState, CheckTask, LeaseInput, LeaseTask, ProbeSpec,
    ProcessMonitor, ProcessTrack, Reporting, spawn_check, spawn_lease, spawn_probe,
};
use crate::trace::Cause;
use crate::vrrp::TrackedCheck;
use crate::vrrp::node::Node;

use super::control::ControlError;
use super::instance::{InstanceDriver, Io};
use crate::events::status::{CheckOwner, CheckStatus, InstanceEvent};

/// How many messages of all checks may wait for the router; a full queue makes the check
/// tasks wait, never the router.
const MESSAGE_QUEUE: usize = 1024;

/// How many reports one check's task may have in flight to its forwarder.
const CHECK_QUEUE: usize = 4;

/// How many reports of one pushed check's stream may wait for its lease task.
const LEASE_QUEUE: usize = 16;

/// Where a check belongs: configured checks are named per instance, registered ones across
/// the daemon.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum CheckKey {
    Configured { instance: String, name: String },
    Registered { name: String },
}

/// What runs a check; dropping it stops the task.
#[derive(Debug)]
enum Runner {
    Probe {
        _task: CheckTask,
    },
    Lease {
        _task: LeaseTask,
        inputs: mpsc::Sender<LeaseInput>,
    },
    /// Followed by the process monitor, which all process checks share.
    Process {
        _track: ProcessTrack,
    },
}

#[derive(Debug)]
struct Check {
    id: u64,
    status: CheckStatus,
    tracked: Option<TrackedCheck>,
    runner: Runner,
}

/// What a check's message changed, for the router to act on.
#[derive(Debug)]
pub enum Recorded {
    /// A report was counted.
    Counted {
        /// The check.
        name: String,
        /// The instances it moves.
        instances: Vec<String>,
        /// Whether what the priority arithmetic counts for it changed.
        tracked_changed: bool,
        /// The check's status when its verdict changed.
        verdict_changed: Option<Box<CheckStatus>>,
    },
    /// A pushed check lost its lease and was removed.
    Removed {
        /// The check.
        name: String,
        /// The instances it moved.
        instances: Vec<String>,
    },
}

/// Why a registration, report stream or removal was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CheckError {
    /// A registered check already has the name.
    #[error("a health check named `{0}` is already registered")]
    AlreadyExists(String),
    /// A configured check has the name: events and metrics name checks, so a registered
    /// one needs a name of its own.
    #[error("health check `{name}` is configured for instance `{instance}`")]
    NameConfigured {
        /// The name.
        name: String,
        /// An instance whose configuration has a check of that name.
        instance: String,
    },
    /// No registered check has the name.
    #[error("no registered health check is named `{0}`")]
    NotFound(String),
    /// The check runs in the daemon; nothing can be reported for it.
    #[error("health check `{0}` is run by the daemon, not pushed; only pushed checks take reports")]
    NotPushed(String),
    /// The daemon's limit on registered checks is reached.
    #[error("{limit} health checks are already registered, the daemon's limit")]
    TooMany {
        /// The limit.
        limit: usize,
    },
    /// The check could not be set up (an unknown exec user, a bad URL).
    #[error("health check `{name}` cannot run: {reason}")]
    Setup {
        /// The check.
        name: String,
        /// Why.
        reason: String,
    },
}

/// The checks and the channel their tasks report on; see the module documentation.
#[derive(Debug)]
pub struct HealthChecks {
    checks: BTreeMap<CheckKey, Check>,
    keys: HashMap<u64, CheckKey>,
    next_id: u64,
    sender: mpsc::Sender<(u64, CheckMessage)>,
    receiver: mpsc::Receiver<(u64, CheckMessage)>,
    registered_limit: usize,
    registered: usize,
    /// The registered checks, sent each time the set changes (for the file that keeps them
    /// across restarts).
    registrations: watch::Sender<Vec<CheckStatus>>,
    /// The task following processes for process checks; started with the first of them, so
    /// a daemon without one never opens the process events socket.
    process_monitor: Option<ProcessMonitor>,
}

impl HealthChecks {
    /// No checks yet; at most `registered_limit` may be registered over the API.
    pub fn new(registered_limit: usize) -> Self {
        let (sender, receiver) = mpsc::channel(MESSAGE_QUEUE);
        HealthChecks {
            checks: BTreeMap::new(),
            keys: HashMap::new(),
            next_id: 0,
            sender,
            receiver,
            registered_limit,
            registered: 0,
            registrations: watch::Sender::new(Vec::new()),
            process_monitor: None,
        }
    }

    /// The next message of any check, with the id of the check that sent it. Never ends:
    /// this keeps a sender.
    pub async fn next_message(&mut self) -> Option<(u64, CheckMessage)> {
        self.receiver.recv().await
    }

    /// Starts, keeps or stops the configured checks to match `instances`; the caller then
    /// works out every instance's priority again.
    pub fn sync_configured(&mut self, instances: &[InstanceSettings]) {
        let mut wanted: BTreeMap<CheckKey, CheckSpec> = BTreeMap::new();
        for instance in instances {
            for check in &instance.health_checks {
                let key = CheckKey::Configured {
                    instance: instance.name.clone(),
                    name: check.name.clone(),
                };
                wanted.insert(key, CheckSpec::from(check));
            }
        }
        let stale: Vec<CheckKey> = self
            .checks
            .iter()
            .filter(|(key, check)| {
                matches!(key, CheckKey::Configured { .. })
                    && wanted.get(*key) != Some(&check.status.spec)
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in stale {
            if let Some(check) = self.remove(&key) {
                info!(check = %check.status.spec.name, instances = ?check.status.instances, "configured health check stopped");
            }
        }
        for (key, spec) in wanted {
            if self.checks.contains_key(&key) {
                continue;
            }
            let CheckKey::Configured { instance, .. } = &key else {
                continue;
            };
            let instances = vec![instance.clone()];
            let name = spec.name.clone();
            if let Err(error) = self.start(key, spec, None, instances, CheckOwner::Config) {
                error!(%error, check = %name, "configured health check not started");
            }
        }
        self.warn_about_registered(instances);
    }

    /// After a reload, names what makes a registered check confusing: a configured check
    /// that now has its name, or instances that are gone. The check stays registered (its
    /// owner may still report to it) and applies again to an instance a later reload brings
    /// back.
    fn warn_about_registered(&self, instances: &[InstanceSettings]) {
        for (key, check) in &self.checks {
            let CheckKey::Registered { name } = key else {
                continue;
            };
            if let Some(instance) = self.configured_instance_of(name) {
                warn!(check = %name, %instance, "a configured health check has the name of a registered one; events and metrics now name both");
            }
            let gone: Vec<&str> = check
                .status
                .instances
                .iter()
                .filter(|name| !instances.iter().any(|settings| &settings.name == *name))
                .map(String::as_str)
                .collect();
            if !gone.is_empty() {
                warn!(check = %name, instances = ?gone, "a registered health check follows instances the configuration no longer has; it moves them again if they come back");
            }
        }
    }

    /// Registers a check from the API: probed by the daemon (with `probe` when the caller
    /// set it up, else set up here), or pushed with a lease. Registering a check that exists
    /// with the same spec and instances returns it, with the caller as its owner.
    pub fn register(
        &mut self,
        spec: CheckSpec,
        probe: Option<Probe>,
        instances: Vec<String>,
        owner: String,
    ) -> Result<CheckStatus, CheckError> {
        let key = CheckKey::Registered {
            name: spec.name.clone(),
        };
        if let Some(check) = self.checks.get_mut(&key) {
            // The same check again (an application that restarted while the daemon kept
            // its registration): the existing one, now owned by the caller.
            if check.status.spec == spec && check.status.instances == instances {
                check.status.owner = CheckOwner::Registered(owner);
                let status = check.status.clone();
                self.registrations.send_replace(self.registered());
                return Ok(status);
            }
            return Err(CheckError::AlreadyExists(spec.name));
        }
        if let Some(instance) = self.configured_instance_of(&spec.name) {
            return Err(CheckError::NameConfigured {
                name: spec.name,
                instance: instance.to_owned(),
            });
        }
        if self.registered >= self.registered_limit {
            return Err(CheckError::TooMany {
                limit: self.registered_limit,
            });
        }
        let status = self.start(key, spec, probe, instances, CheckOwner::Registered(owner))?;
        self.registered += 1;
        self.registrations.send_replace(self.registered());
        Ok(status)
    }

    /// An instance with a configured check named `name`, if any has one.
    fn configured_instance_of(&self, name: &str) -> Option<&str> {
        self.checks.keys().find_map(|key| match key {
            CheckKey::Configured {
                instance,
                name: configured,
            } if configured == name => Some(instance.as_str()),
            _ => None,
        })
    }

    /// Removes the registered check `name`; returns the instances it moved.
    pub fn unregister(&mut self, name: &str) -> Result<Vec<String>, CheckError> {
        let key = CheckKey::Registered {
            name: name.to_owned(),
        };
        let check = self
            .remove(&key)
            .ok_or_else(|| CheckError::NotFound(name.to_owned()))?;
        Ok(check.status.instances)
    }

    /// Where the reports of the pushed check `name` go.
    pub fn lease_inputs(&self, name: &str) -> Result<mpsc::Sender<LeaseInput>, CheckError> {
        let key = CheckKey::Registered {
            name: name.to_owned(),
        };
        match self.checks.get(&key).map(|check| &check.runner) {
            Some(Runner::Lease { inputs, .. }) => Ok(inputs.clone()),
            Some(Runner::Probe { .. } | Runner::Process { .. }) => {
                Err(CheckError::NotPushed(name.to_owned()))
            }
            None => Err(CheckError::NotFound(name.to_owned())),
        }
    }

    /// The registered checks, updated each time one is added or removed.
    pub fn registrations(&self) -> watch::Receiver<Vec<CheckStatus>> {
        self.registrations.subscribe()
    }

    /// Every registered check, sorted by name.
    pub fn registered(&self) -> Vec<CheckStatus> {
        self.checks
            .iter()
            .filter(|(key, _)| matches!(key, CheckKey::Registered { .. }))
            .map(|(_, check)| check.status.clone())
            .collect()
    }

    /// Counts a message of the check with `id`; `None` for a check removed meanwhile.
    pub fn record(&mut self, id: u64, message: CheckMessage) -> Option<Recorded> {
        let key = self.keys.get(&id)?.clone();
        match message {
            CheckMessage::Report(report) => {
                let check = self.checks.get_mut(&key)?;
                let tracked = report.tracked_check();
                let tracked_changed = tracked != check.tracked;
                check.tracked = tracked;
                update_status(&mut check.status, &report);
                Some(Recorded::Counted {
                    name: check.status.spec.name.clone(),
                    instances: check.status.instances.clone(),
                    tracked_changed,
                    verdict_changed: report.transition.map(|_| Box::new(check.status.clone())),
                })
            }
            CheckMessage::Lost { why } => {
                let check = self.remove(&key)?;
                warn!(check = %check.status.spec.name, %why, "pushed health check removed: its lease ended");
                Some(Recorded::Removed {
                    name: check.status.spec.name,
                    instances: check.status.instances,
                })
            }
        }
    }

    /// What the priority arithmetic counts for the checks of `instance` (pending checks
    /// count for nothing).
    pub fn tracked_for(&self, instance: &str) -> Vec<TrackedCheck> {
        self.checks
            .values()
            .filter(|check| check.status.instances.iter().any(|name| name == instance))
            .filter_map(|check| check.tracked)
            .collect()
    }

    /// The status of every check of `instance`, sorted by name.
    pub fn statuses_for(&self, instance: &str) -> Vec<CheckStatus> {
        let mut statuses: Vec<CheckStatus> = self
            .checks
            .values()
            .filter(|check| check.status.instances.iter().any(|name| name == instance))
            .map(|check| check.status.clone())
            .collect();
        statuses.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
        statuses
    }

    /// Starts the task of a check and keeps it under `key`; a probed check without a `probe`
    /// set up beforehand is set up here.
    fn start(
        &mut self,
        key: CheckKey,
        spec: CheckSpec,
        probe: Option<Probe>,
        instances: Vec<String>,
        owner: CheckOwner,
    ) -> Result<CheckStatus, CheckError> {
        let id = self.next_id;
        self.next_id += 1;
        let runner = match &spec.probe {
            ProbeSpec::Pushed(lease) => {
                let (inputs, inputs_receiver) = mpsc::channel(LEASE_QUEUE);
                let (messages, messages_receiver) = mpsc::channel(CHECK_QUEUE);
                let counting = CheckState::new(spec.rise, spec.fall, spec.init_fail);
                let task = spawn_lease(
                    spec.name.clone(),
                    spec.weight,
                    counting,
                    *lease,
                    inputs_receiver,
                    messages,
                );
                forward(id, messages_receiver, self.sender.clone(), |message| {
                    message
                });
                Runner::Lease {
                    _task: task,
                    inputs,
                }
            }
            ProbeSpec::Process(tracked) => {
                let (reports, reports_receiver) = mpsc::channel(CHECK_QUEUE);
                let monitor = self
                    .process_monitor
                    .get_or_insert_with(ProcessMonitor::spawn);
                let track = monitor.track(&spec.name, spec.weight, tracked.clone(), reports);
                forward(
                    id,
                    reports_receiver,
                    self.sender.clone(),
                    CheckMessage::Report,
                );
                Runner::Process { _track: track }
            }
            _ => {
                let (reports, reports_receiver) = mpsc::channel(CHECK_QUEUE);
                // Every run, not only verdict changes: the status shows the last output and
                // the counts.
                let task = match probe {
                    Some(probe) => spawn_probe(spec.clone(), probe, reports, Reporting::EveryRun),
                    None => spawn_check(spec.clone(), reports, Reporting::EveryRun).map_err(
                        |error| CheckError::Setup {
                            name: spec.name.clone(),
                            reason: error.to_string(),
                        },
                    )?,
                };
                forward(
                    id,
                    reports_receiver,
                    self.sender.clone(),
                    CheckMessage::Report,
                );
                Runner::Probe { _task: task }
            }
        };
        let status = CheckStatus {
            passing: false,
            consecutive_passes: 0,
            consecutive_failures: 0,
            last_run: None,
            spec,
            instances,
            owner,
        };
        info!(check = %status.spec.name, instances = ?status.instances, "health check started");
        self.keys.insert(id, key.clone());
        self.checks.insert(
            key,
            Check {
                id,
                status: status.clone(),
                tracked: None,
                runner,
            },
        );
        Ok(status)
    }

    /// Stops and forgets the check under `key`.
    fn remove(&mut self, key: &CheckKey) -> Option<Check> {
        let check = self.checks.remove(key)?;
        self.keys.remove(&check.id);
        if matches!(key, CheckKey::Registered { .. }) {
            self.registered -= 1;
            self.registrations.send_replace(self.registered());
        }
        Some(check)
    }
}

/// The API's requests about registered checks.
#[derive(Debug)]
pub enum CheckCommand {
    /// Register a check for `instances`.
    Register {
        /// The check.
        spec: CheckSpec,
        /// Its probe, set up by the caller; `None` for a pushed check. Boxed: a probe is
        /// large next to the other commands.
        probe: Option<Box<Probe>>,
        /// The instances it moves; each must exist.
        instances: Vec<String>,
        /// Who registers it.
        owner: String,
        /// The check as started.
        reply: oneshot::Sender<Result<CheckStatus, ControlError>>,
    },
    /// Remove a registered check.
    Unregister {
        /// Its name.
        name: String,
        /// Done, or why not.
        reply: oneshot::Sender<Result<(), ControlError>>,
    },
    /// Where the reports of a pushed check go.
    Reports {
        /// Its name.
        name: String,
        /// The lease task's input.
        reply: oneshot::Sender<Result<mpsc::Sender<LeaseInput>, ControlError>>,
    },
}

/// Carries out a [`CheckCommand`]; a reply whose asker went away is dropped.
pub async fn on_command(
    checks: &mut HealthChecks,
    command: CheckCommand,
    router: &mut RouterView<'_>,
) {
    match command {
        CheckCommand::Register {
            spec,
            probe,
            instances,
            owner,
            reply,
        } => {
            let unknown = instances
                .iter()
                .find(|name| !router.drivers.iter().any(|driver| driver.name() == *name));
            let result = match unknown {
                Some(name) => Err(ControlError::NotFound(name.clone())),
                None => checks
                    .register(spec, probe.map(|probe| *probe), instances, owner)
                    .map_err(ControlError::from),
            };
            let _ = reply.send(result);
        }
        CheckCommand::Unregister { name, reply } => match checks.unregister(&name) {
            Ok(instances) => {
                let _ = reply.send(Ok(()));
                let instances: BTreeSet<String> = instances.into_iter().collect();
                apply_checks(checks, &instances, Some(&name), router).await;
            }
            Err(error) => {
                let _ = reply.send(Err(error.into()));
            }
        },
        CheckCommand::Reports { name, reply } => {
            let _ = reply.send(checks.lease_inputs(&name).map_err(ControlError::from));
        }
    }
}

/// What the router lends [`apply_checks`] and [`on_message`]: its instances, their I/O, the
/// links it knows are down and its event bus.
pub struct RouterView<'a> {
    /// Every instance's protocol state.
    pub node: &'a mut Node,
    /// Every instance's driver.
    pub drivers: &'a mut [InstanceDriver],
    /// What the instances act through.
    pub io: &'a Io,
    /// Interfaces whose link is down, by index.
    pub links_down: &'a HashSet<u32>,
    /// Where check results are published.
    pub events: &'a mut EventBus<InstanceEvent>,
}

/// Hands each instance named in `instances` the current verdicts of its checks; `check` is
/// the check whose change led here, if one did.
pub async fn apply_checks(
    checks: &HealthChecks,
    instances: &BTreeSet<String>,
    check: Option<&str>,
    router: &mut RouterView<'_>,
) {
    let now = Instant::now();
    for driver in router.drivers.iter_mut() {
        if !instances.contains(driver.name()) {
            continue;
        }
        // keepalived's `dont_track_primary`: the instance's own link going down is no fault.
        let link_up = driver.settings().dont_track_primary
            || router
                .io
                .interfaces
                .get(&driver.settings().interface)
                .is_none_or(|interface| !router.links_down.contains(&interface.index));
        let tracked = checks.tracked_for(driver.name());
        if let Err(error) = router
            .node
            .set_checks(now, driver.id(), tracked, check, link_up)
        {
            error!(instance = driver.name(), %error, "check verdicts not applied");
        }
    }
}

/// Counts a message from the check with `id`: publishes a changed verdict for each instance
/// the check moves, and hands those instances the new verdicts when what they count changed.
pub async fn on_message(
    checks: &mut HealthChecks,
    id: u64,
    message: CheckMessage,
    router: &mut RouterView<'_>,
) {
    // A verdict that changed leaves its run's span with the instances it moves, so the
    // transition it brings about (at once, or after Master_Down_Interval) is its child.
    let deciding_run = match &message {
        CheckMessage::Report(report) if report.transition.is_some() => Some(report.span.clone()),
        _ => None,
    };
    let Some(recorded) = checks.record(id, message) else {
        return;
    };
    let (name, instances, reapply) = match recorded {
        Recorded::Counted {
            name,
            instances,
            tracked_changed,
            verdict_changed,
        } => {
            if let Some(span) = &deciding_run {
                let now = Instant::now();
                for driver in router.drivers.iter_mut() {
                    if instances.iter().any(|instance| instance == driver.name()) {
                        driver.expect_transition_from(Cause::of(span), now, router.node);
                    }
                }
            }
            if let Some(status) = verdict_changed {
                let now = SystemTime::now();
                for instance in &instances {
                    router.events.publish(
                        now,
                        InstanceEvent::CheckResult {
                            instance: instance.clone(),
                            check: status.clone(),
                        },
                    );
                }
            }
            (name, instances, tracked_changed)
        }
        Recorded::Removed { name, instances } => (name, instances, true),
    };
    if reapply {
        let instances: BTreeSet<String> = instances.into_iter().collect();
        apply_checks(checks, &instances, Some(&name), router).await;
    }
}

/// Hands the messages of one check's task to the router's channel, tagged with the check's
/// id; ends when the task ends (its sender drops) or the router is gone.
fn forward<T: Send + 'static>(
    id: u64,
    mut from: mpsc::Receiver<T>,
    to: mpsc::Sender<(u64, CheckMessage)>,
    wrap: fn(T) -> CheckMessage,
) {
    tokio::spawn(async move {
        while let Some(message) = from.recv().await {
            if to.send((id, wrap(message))).await.is_err() {
                return;
            }
        }
    });
}

fn update_status(status: &mut CheckStatus, report: &CheckReport) {
    status.passing = report.passing();
    status.consecutive_passes = report.consecutive_passes;
    status.consecutive_failures = report.consecutive_failures;
    status.last_run = Some((SystemTime::now(), report.last_run.clone()));
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::health::{LeaseSpec, OnLeaseExpiry};

    fn pushed(name: &str) -> CheckSpec {
        CheckSpec {
            name: name.into(),
            probe: ProbeSpec::Pushed(LeaseSpec {
                ttl: Duration::from_secs(60),
                on_expiry: OnLeaseExpiry::Fail,
            }),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            rise: 1,
            fall: 1,
            weight: -10,
            init_fail: false,
        }
    }

    #[tokio::test]
    async fn registration_refuses_a_taken_name_and_past_the_limit() {
        let mut checks = HealthChecks::new(2);
        let vi = || vec!["vi".to_owned()];
        checks
            .register(pushed("a"), None, vi(), "me".into())
            .expect("first");
        let mut other = pushed("a");
        other.weight = -20;
        assert_eq!(
            checks.register(other, None, vi(), "me".into()),
            Err(CheckError::AlreadyExists("a".into()))
        );
        assert_eq!(
            checks.register(pushed("a"), None, vec!["other".into()], "me".into()),
            Err(CheckError::AlreadyExists("a".into()))
        );
        let again = checks
            .register(pushed("a"), None, vi(), "restarted".into())
            .expect("the same check again");
        assert_eq!(again.owner, CheckOwner::Registered("restarted".into()));
        checks
            .register(pushed("b"), None, vi(), "me".into())
            .expect("second");
        assert_eq!(
            checks.register(pushed("c"), None, vi(), "me".into()),
            Err(CheckError::TooMany { limit: 2 })
        );
        assert_eq!(checks.unregister("a"), Ok(vi()));
        assert_eq!(
            checks.unregister("a"),
            Err(CheckError::NotFound("a".into()))
        );
        checks
            .register(pushed("c"), None, vi(), "me".into())
            .expect("room again");
        assert_eq!(
            checks
                .registered()
                .iter()
                .map(|c| c.spec.name.as_str())
                .collect::<Vec<_>>(),
            ["b", "c"]
        );
        // Registered checks count for the instances they name; pending ones count nothing.
        assert!(checks.tracked_for("vi").is_empty());
        assert_eq!(checks.statuses_for("vi").len(), 2);
        assert!(checks.statuses_for("other").is_empty());
    }

    #[tokio::test]
    async fn a_registered_check_may_not_take_a_configured_name() {
        let text = "[instances.vi]\ninterface = \"eth0\"\nvrid = 7\npriority = 120\n\
                    virtual_addresses = [\"192.0.2.100/24\"]\n\
                    [instances.vi.health_checks.ready]\nkind = \"file\"\n\
                    path = \"/nonexistent/vrrp-sidecar-test\"\n";
        let instances =
            crate::config::Config::from_str(text, crate::config::Format::Toml, "t.toml")
                .expect("valid test config")
                .instances;
        let mut checks = HealthChecks::new(2);
        checks.sync_configured(&instances);
        assert_eq!(
            checks.register(pushed("ready"), None, vec!["vi".into()], "me".into()),
            Err(CheckError::NameConfigured {
                name: "ready".into(),
                instance: "vi".into()
            })
        );
        checks
            .register(pushed("app"), None, vec!["vi".into()], "me".into())
            .expect("a name of its own");
    }

    #[tokio::test]
    async fn a_reload_leaves_registered_checks_alone() {
        let mut checks = HealthChecks::new(2);
        checks
            .register(pushed("app"), None, vec!["vi".into()], "me".into())
            .expect("registered");
        checks.sync_configured(&[]);
        assert_eq!(checks.registered().len(), 1);
        assert!(checks.lease_inputs("app").is_ok());
    }
}
