//! One instance inside the router: the sans-IO [`Instance`] plus what carrying out its actions
//! needs (codec options, announcement schedule, VIP renewal, rate-limited logging).
//!
//! A reload changes the addresses in place: the core takes the new list for its adverts and
//! its receive check, and the driver installs, removes and announces the difference, since it
//! knows the interface each address lives on.

use std::collections::{HashMap, HashSet};
use std::mem::{Discriminant, discriminant};
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use tracing::{Span, debug, error, info, warn};

use crate::config::InstanceSettings;
use crate::net::{Interface, ReceivedAdvert, RemovedRoute, RemovedRule};
use crate::telemetry::metrics::TransitionStats;
use crate::telemetry::spans::{self, Cause, PendingCause, TransitionFields};
use crate::vrrp::{
    Action, Advertisement, Command, DecodeError, DecodeOptions, DropReason, EffectivePriority,
    FaultCause, Instance, IpHeader, Priority, State, TrackedCheck, TransitionReason,
    V3Ipv4Checksum, effective_priority,
};

use super::announce::AnnounceSchedule;
use super::email_alert::AlertMailer;
use super::notify::Notifier;
use super::routing::{HeldRouting, Removal};
use super::settings::{self, SettingsError, SocketKey};
use super::sockets::Sockets;
use super::status::{ChangeCause, DecodeErrorCounts, InstanceEvent, InstanceStatus, MasterView};
use super::sync_group::{GroupMove, GroupTransition, MemberView};
use super::vips::{InstallReason, PlacedVip, VipWorker, place};

/// How long a master that handed over keeps answering for the addresses after it heard its
/// successor. The successor's first advertisement leaves before its gratuitous ARPs (those go
/// through its VIP worker, after the install), so letting go at once leaves clients that still
/// send to our MAC without an answer for a moment: a lost probe in the benchmark. Two holders
/// for this long are harmless, since the successor's announcements move the clients.
const RESIGN_RELEASE_GRACE: Duration = Duration::from_millis(50);

/// What drivers act on the world through; the router owns it next to the drivers and lends
/// it to one driver at a time.
#[derive(Debug)]
pub struct Io {
    /// The open VRRP sockets.
    pub sockets: Sockets,
    /// Every interface the instances use, as last looked up.
    pub interfaces: HashMap<String, Interface>,
    /// The queue of VIP work.
    pub vips: VipWorker,
    /// The queue of e-mail alerts.
    pub alerts: AlertMailer,
}

/// One instance and its driver state.
#[derive(Debug)]
pub struct InstanceDriver {
    settings: InstanceSettings,
    instance: Instance,
    socket_key: SocketKey,
    decode_options: DecodeOptions,
    checksum: V3Ipv4Checksum,
    announcements: AnnounceSchedule,
    /// After a handover by `Resign` (or SIGTERM): when we let go of the addresses. See
    /// [`RESIGN_RELEASE_GRACE`].
    release_at: Option<Instant>,
    /// The span of the handover whose release is pending, for the removal's child span.
    release_span: Span,
    /// The request whose command may bring about the next transition.
    cause: PendingCause,
    /// Packets refused so far, per kind, for the log lines.
    refused: HashMap<RefusalKind, u64>,
    /// The kinds of refusal logged since the master last changed: each is logged once per
    /// master, so a misconfigured or hostile peer cannot flood the log at its packet rate.
    logged_refusals: HashSet<RefusalKind>,
    /// Advertisements the codec refused, by RFC 6527 statistic, for the API's counters.
    decode_errors: DecodeErrorCounts,
    /// The master as of the last input, to notice when it changes.
    known_master: Option<IpAddr>,
    /// The FIFO line and programs of each state change.
    notifier: Notifier,
    /// The priority before health-check weights: the configured one, or the last the API set.
    base_priority: Priority,
    /// The verdicts and weights of the health checks that move this instance's priority, as
    /// the router last handed them in (see [`InstanceDriver::set_checks`]).
    tracked: Vec<TrackedCheck>,
    /// Whether a failing weight-0 check holds the instance in Fault.
    held_by_check: bool,
    /// The health check that last moved the priority or the Fault, so the transition that
    /// follows can name it.
    moved_by_check: Option<String>,
    /// The priority in the last advert accepted from the master we follow.
    master_priority: Option<u8>,
    /// What put the instance in Fault last, so leaving Fault can say what recovered.
    fault_cause: Option<FaultCause>,
    /// When the instance last changed state and why.
    last_transition: Option<(SystemTime, ChangeCause)>,
    /// Transitions by reason and failover durations, for metrics.
    transitions: TransitionStats,
    /// Changes not yet handed to the router's event bus; the router takes them after every
    /// input (see [`InstanceDriver::take_events`]).
    events: Vec<InstanceEvent>,
    /// Sync group bookkeeping; see [`GroupStanding`].
    group: GroupStanding,
}

/// Where an instance stands towards its sync group (untouched outside one).
#[derive(Debug, Default)]
struct GroupStanding {
    /// It belongs to a sync group (the router says so at start and on reload); only then
    /// are its transitions kept for the group rules.
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
    /// Transitions since the router last asked, for the group rules.
    transitions: Vec<GroupTransition>,
}

impl InstanceDriver {
    /// A driver for `settings`, running on `interface` (its own, looked up), in Initialize.
    pub fn new(settings: InstanceSettings, interface: &Interface) -> Result<Self, SettingsError> {
        let primary = settings::primary_address(&settings, interface)?;
        Self::with_primary(settings, primary)
    }

    /// A driver whose advertisements would come from `primary`. [`InstanceDriver::new`] takes
    /// it from the interface; the router gives an unspecified address to an instance that
    /// waits in Fault for its interface to get one, and replaces that instance once it does.
    pub fn with_primary(
        settings: InstanceSettings,
        primary: IpAddr,
    ) -> Result<Self, SettingsError> {
        let base_priority = settings::priority(&settings)?;
        let instance = Instance::new(settings::instance_config(&settings, primary)?)
            .map_err(SettingsError::Core)?;
        Ok(InstanceDriver {
            socket_key: settings::socket_key(&settings),
            decode_options: settings::decode_options(&settings),
            checksum: settings::checksum_form(&settings),
            settings,
            instance,
            announcements: AnnounceSchedule::default(),
            release_at: None,
            release_span: Span::none(),
            cause: PendingCause::default(),
            refused: HashMap::new(),
            logged_refusals: HashSet::new(),
            decode_errors: DecodeErrorCounts::default(),
            known_master: None,
            notifier: Notifier::default(),
            base_priority,
            tracked: Vec::new(),
            held_by_check: false,
            moved_by_check: None,
            master_priority: None,
            fault_cause: None,
            last_transition: None,
            transitions: TransitionStats::default(),
            events: Vec::new(),
            group: GroupStanding::default(),
        })
    }

    /// The instance as its sync group sees it.
    pub fn group_view(&self) -> MemberView {
        MemberView {
            state: self.state(),
            own_fault: self.group.own_fault,
            held_by_group: self.group.held,
            handing_over: self.instance.is_resigning(),
        }
    }

    /// Whether it belongs to a sync group, whose rules then follow its transitions.
    pub fn set_group_member(&mut self, member: bool) {
        self.group.member = member;
        if !member {
            self.group.transitions.clear();
        }
    }

    /// The transitions since the last call, oldest first, for the sync group rules (none
    /// outside a group).
    pub fn take_group_transitions(&mut self) -> Vec<GroupTransition> {
        std::mem::take(&mut self.group.transitions)
    }

    /// Carries out what the instance's sync group asks of it.
    pub async fn follow_group(&mut self, now: Instant, group_move: GroupMove, io: &Io) {
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
        self.apply(now, command, None, io).await;
        self.group.moving = false;
    }

    /// The instance's status now, for the API.
    pub fn status(&self) -> InstanceStatus {
        InstanceStatus {
            settings: self.settings.clone(),
            state: self.state(),
            base_priority: self.base_priority.get(),
            effective_priority: self.instance.priority().get(),
            master: self.master_view(),
            counters: self.instance.counters().clone(),
            decode_errors: self.decode_errors,
            last_transition: self.last_transition,
            // The router adds them: it keeps the checks.
            health_checks: Vec::new(),
            transitions: self.transitions.clone(),
        }
    }

    /// The changes since the last call, oldest first, for the router to publish.
    pub fn take_events(&mut self) -> Vec<InstanceEvent> {
        std::mem::take(&mut self.events)
    }

    /// Sets the base priority (an API `SetPriority`, a reload); the advertised one is the
    /// base moved by the health checks' weights.
    pub async fn set_base_priority(&mut self, now: Instant, priority: Priority, io: &Io) {
        self.base_priority = priority;
        self.moved_by_check = None;
        self.apply_checks(now, None, true, io).await;
    }

    /// Takes the verdicts of the instance's health checks after `check` changed (the
    /// router keeps the checks; see `super::checks`): applies the effective priority, and
    /// enters or leaves Fault for a weight-0 check. `link_up` says whether the interface is
    /// up, so a recovered check does not take the instance out of a Fault its link holds.
    pub async fn set_checks(
        &mut self,
        now: Instant,
        tracked: Vec<TrackedCheck>,
        check: Option<&str>,
        link_up: bool,
        io: &Io,
    ) {
        self.tracked = tracked;
        self.apply_checks(now, check, link_up, io).await;
    }

    /// Whether a failing weight-0 check holds the instance in Fault: a link coming back
    /// must not take it out.
    pub fn held_by_check(&self) -> bool {
        self.held_by_check
    }

    async fn apply_checks(&mut self, now: Instant, check: Option<&str>, link_up: bool, io: &Io) {
        match effective_priority(self.base_priority, self.tracked.iter().copied()) {
            EffectivePriority::Fault => {
                if !self.held_by_check {
                    self.held_by_check = true;
                    self.moved_by_check = check.map(str::to_owned);
                    let fault = Command::EnterFault(FaultCause::CheckFailed);
                    self.command_by(now, fault, check, io).await;
                }
            }
            EffectivePriority::Run(priority) => {
                if priority != self.instance.priority() {
                    // In Fault the core only stores it, for when the fault clears.
                    self.moved_by_check = check.map(str::to_owned);
                    self.command_by(now, Command::SetPriority(priority), check, io)
                        .await;
                }
                if self.held_by_check {
                    self.held_by_check = false;
                    self.moved_by_check = check.map(str::to_owned);
                    if link_up {
                        // What cleared is the check, whatever entered Fault first.
                        self.fault_cause = Some(FaultCause::CheckFailed);
                        self.command_by(now, Command::ClearFault, check, io).await;
                    }
                }
            }
        }
    }

    /// Notes that the request of `cause` may bring about the next transition (a `Resign`
    /// hands over when the successor speaks, a new priority preempts at the next timeout):
    /// that transition's span becomes a child of the request's. Both happen within
    /// Master_Down_Interval; twice that bounds how long the cause waits.
    pub fn expect_transition_from(&mut self, cause: Cause, now: Instant) {
        let window = self.master_down_interval() * 2;
        self.cause.set(cause, now, window);
    }

    /// Master_Down_Interval for the instance's priority and the master's interval (RFC 9568
    /// §6.1): the longest a resign waits for its successor.
    pub fn master_down_interval(&self) -> std::time::Duration {
        self.instance.master_down_interval()
    }

    fn master_view(&self) -> MasterView {
        let priority = if self.state() == State::Master {
            Some(self.instance.priority().get())
        } else {
            self.master_priority
        };
        // A backup whose core still names our own address (a resign that heard no
        // successor) knows of no master.
        let address = self
            .instance
            .master_address()
            .filter(|address| self.state() == State::Master || *address != self.primary_address());
        MasterView {
            address,
            priority,
            advert_interval: self.instance.master_adver_interval().as_duration(),
        }
    }

    /// The instance's name.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The settings it runs with now.
    pub fn settings(&self) -> &InstanceSettings {
        &self.settings
    }

    /// The socket it sends and receives on.
    pub fn socket_key(&self) -> &SocketKey {
        &self.socket_key
    }

    /// Its Virtual Router Identifier.
    pub fn vrid(&self) -> u8 {
        self.settings.vrid
    }

    /// Its current state.
    pub fn state(&self) -> State {
        self.instance.state()
    }

    /// Its priority before health-check weights: the configured one, or one set over the API.
    pub fn base_priority(&self) -> Priority {
        self.base_priority
    }

    /// The address its advertisements come from.
    pub fn primary_address(&self) -> IpAddr {
        self.instance.config().primary_address
    }

    /// The earliest time it needs to be woken: a protocol timer, an announcement or the end
    /// of a handover's release grace. (The router renews the VIPs' lifetimes for every
    /// master at once.)
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.instance.poll_timeout(),
            self.announcements.next_deadline(),
            self.release_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether it handed over and still answers for the addresses for a moment (50 ms after
    /// hearing its successor, so the successor's gratuitous ARP lands first).
    pub fn is_releasing(&self) -> bool {
        self.release_at.is_some()
    }

    /// Applies `command` and carries out what follows. While the instance's sync group holds
    /// it in Fault, a `ClearFault` only notes that its own fault is over.
    pub async fn command(&mut self, now: Instant, command: Command, io: &Io) {
        self.command_by(now, command, None, io).await;
    }

    /// Applies `command`, sent because of health check `check` if any, and carries out what
    /// follows; the sync group's bookkeeping first.
    async fn command_by(&mut self, now: Instant, command: Command, check: Option<&str>, io: &Io) {
        match command {
            Command::EnterFault(_) => self.group.own_fault = true,
            Command::ClearFault => {
                self.group.own_fault = false;
                if self.group.held {
                    info!(
                        instance = self.name(),
                        "fault cleared; staying in Fault while the sync group is"
                    );
                    return;
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
        self.apply(now, command, check, io).await;
    }

    async fn apply(&mut self, now: Instant, command: Command, check: Option<&str>, io: &Io) {
        let priority_before = self.instance.priority();
        if let Err(rejected) = self.instance.handle_command(now, command) {
            debug!(instance = self.name(), ?command, %rejected, "command not applied");
        }
        if self.instance.priority() != priority_before {
            self.events.push(InstanceEvent::PriorityChanged {
                instance: self.name().to_owned(),
                base_priority: self.base_priority.get(),
                effective_priority: self.instance.priority().get(),
                check: check.map(str::to_owned),
            });
        }
        self.carry_out(now, io).await;
    }

    /// Decodes and processes one received packet whose VRID is ours.
    pub async fn receive(&mut self, now: Instant, packet: &ReceivedAdvert, io: &Io) {
        // An instance with unicast peers talks to those peers only: anyone else on the link
        // could otherwise take mastership with one higher-priority advert.
        if let Some(unicast) = &self.settings.unicast
            && !unicast.peers.contains(&packet.source)
        {
            self.refuse(
                RefusalKind::UnknownPeer,
                packet.source,
                &"the sender is not one of the configured unicast peers",
            );
            return;
        }
        let header = IpHeader {
            source: packet.source,
            destination: packet.destination,
            hop_limit: packet.hop_limit,
        };
        match Advertisement::decode(&packet.payload, &header, &self.decode_options) {
            Ok(advert) => match self.instance.handle_packet(now, packet.source, &advert) {
                // Initialize and Fault ignore every packet by design: nothing to report.
                Err(DropReason::NotRunning) => {
                    debug!(instance = self.name(), from = %packet.source, "advertisement ignored while not running");
                }
                Err(reason) => self.refuse(RefusalKind::Dropped(reason), packet.source, &reason),
                Ok(()) if self.instance.master_address() == Some(packet.source) => {
                    self.master_priority = Some(advert.priority);
                    self.transitions.heard_master(now);
                }
                Ok(()) => {}
            },
            Err(error) => {
                self.decode_errors.count(&error);
                self.refuse(
                    RefusalKind::Decode(discriminant(&error)),
                    packet.source,
                    &error,
                );
            }
        }
        self.carry_out(now, io).await;
    }

    /// Counts a refused packet under its kind and logs it: a warning the first time the kind
    /// is seen under the current master, a debug line after that.
    fn refuse(&mut self, kind: RefusalKind, from: IpAddr, why: &dyn std::fmt::Display) {
        let count = self.refused.entry(kind).or_default();
        *count += 1;
        let refused_so_far = *count;
        if self.logged_refusals.insert(kind) {
            warn!(
                instance = self.name(),
                %from,
                error = %why,
                refused_so_far,
                "advertisement refused (RFC 9568 §7.1); this reason is logged again only after \
                 the master changes"
            );
        } else {
            debug!(instance = self.name(), %from, error = %why, refused_so_far, "advertisement refused");
        }
    }

    /// Runs whatever is due at `now`.
    pub async fn on_timeout(&mut self, now: Instant, io: &Io) {
        if self.instance.poll_timeout().is_some_and(|due| due <= now) {
            self.instance.handle_timeout(now);
            self.carry_out(now, io).await;
        }
        if self.release_at.is_some_and(|due| due <= now) {
            self.release_at = None;
            let handover = std::mem::replace(&mut self.release_span, Span::none());
            handover.in_scope(|| self.release(io));
        }
        if self.state() != State::Master {
            return;
        }
        if let Some(messages) = self.announcements.take_due(now, &self.settings.garp) {
            io.vips.announce(self.name(), self.held_vips(io), messages);
        }
    }

    /// The addresses whose kernel lifetime the router's periodic renewal renews: every one
    /// the instance holds while master (a resigning master still holds them), none in any
    /// other state.
    pub fn renewable_vips(&self, io: &Io) -> Vec<PlacedVip> {
        if self.state() == State::Master {
            self.held_vips(io)
        } else {
            Vec::new()
        }
    }

    /// Someone (or the kernel) deleted `address` from the interface with `index`: while we
    /// are master and it is ours, put it back and announce it.
    pub fn address_removed(&mut self, index: u32, address: IpAddr, io: &Io) {
        if self.state() != State::Master {
            return;
        }
        let lost: Vec<PlacedVip> = self
            .held_vips(io)
            .into_iter()
            .filter(|placed| placed.interface.index == index && placed.vip.address == address)
            .collect();
        if lost.is_empty() {
            return;
        }
        io.vips
            .install(self.name(), lost.clone(), InstallReason::PutBack);
        io.vips
            .announce(self.name(), lost, self.settings.garp.repeat);
    }

    /// Moves to `new` settings in place (see [`settings::restart_needed`] for which changes
    /// cannot): a new priority takes effect at once, unless `set_over_api` holds a priority
    /// set over the API, which stays; a master installs added addresses, removes dropped ones
    /// and announces the added ones.
    pub async fn reconfigure(
        &mut self,
        now: Instant,
        new: InstanceSettings,
        set_over_api: Option<Priority>,
        io: &Io,
    ) {
        let old = std::mem::replace(&mut self.settings, new);
        self.decode_options = settings::decode_options(&self.settings);
        self.checksum = settings::checksum_form(&self.settings);
        if let Err(error) = self
            .instance
            .set_virtual_addresses(settings::advertised_addresses(&self.settings))
        {
            error!(instance = self.name(), %error, "addresses not changed in the protocol core");
        }
        if self.state() == State::Master {
            let before = place(&old, &io.interfaces);
            let after = self.held_vips(io);
            let added: Vec<PlacedVip> = after
                .iter()
                .filter(|vip| !before.contains(vip))
                .cloned()
                .collect();
            let dropped: Vec<PlacedVip> = before
                .into_iter()
                .filter(|vip| !after.iter().any(|kept| same_address(kept, vip)))
                .collect();
            if !added.is_empty() {
                io.vips
                    .install(self.name(), added.clone(), InstallReason::Reload);
                io.vips
                    .announce(self.name(), added, self.settings.garp.repeat);
            }
            if !dropped.is_empty() {
                io.vips.remove(self.name(), dropped);
            }
            let (before, after) = (HeldRouting::of(&old), HeldRouting::of(&self.settings));
            io.vips
                .remove_routing(self.name(), before.without(&after), Removal::Release);
            io.vips
                .install_routing(self.name(), after.without(&before), InstallReason::Reload);
        }
        match settings::priority(&self.settings) {
            Ok(configured) => {
                // Applied in one step, so no advert and no event carries the configured
                // priority when a priority set over the API is to stay.
                let priority = set_over_api
                    .filter(|_| !configured.is_owner())
                    .unwrap_or(configured);
                if priority != self.base_priority {
                    info!(instance = self.name(), from = %self.base_priority, to = %priority, "priority changed by reload");
                    self.set_base_priority(now, priority, io).await;
                }
            }
            Err(error) => error!(instance = self.name(), %error, "priority not changed"),
        }
    }

    /// Carries out every pending action of the core, in order.
    async fn carry_out(&mut self, now: Instant, io: &Io) {
        // Set by a Master → Backup transition of a handover, for the removal that follows it.
        let mut handing_over = false;
        // The span of the transition the following actions belong to: the VIP work they
        // queue becomes its children.
        let mut transition = Span::none();
        while let Some(action) = self.instance.poll_action() {
            match action {
                Action::StateChanged { from, to, reason } => {
                    info!(
                        instance = self.name(),
                        vrid = self.vrid(),
                        %from,
                        %to,
                        %reason,
                        "state changed"
                    );
                    let priority = self.instance.priority().get();
                    self.notifier.state_changed(
                        &self.settings.name,
                        to,
                        priority,
                        &self.settings.notify,
                    );
                    if self.settings.email_alerts {
                        io.alerts.state_changed(&self.settings.name, to, priority);
                    }
                    if from == State::Master {
                        self.announcements.stop();
                    }
                    if to == State::Master {
                        // Still installed: the take-over's install renews them in place.
                        self.release_at = None;
                    }
                    if from == State::Master && reason == TransitionReason::Resigned {
                        handing_over = true;
                    }
                    self.logged_refusals.clear();
                    // Every transition ends a pending release (below, or by taking over), so
                    // the earlier handover's span must not be kept open for it.
                    self.release_span = Span::none();
                    transition = self.record_transition(now, from, to, reason);
                    if matches!(to, State::Initialize | State::Fault)
                        && self.release_at.take().is_some()
                    {
                        // Stopping or faulty: no grace, nothing may stay behind.
                        transition.in_scope(|| self.release(io));
                    }
                }
                Action::InstallAddresses(_) => transition.in_scope(|| {
                    io.vips
                        .install(self.name(), self.held_vips(io), InstallReason::TakeOver);
                    io.vips.install_routing(
                        self.name(),
                        HeldRouting::of(&self.settings),
                        InstallReason::TakeOver,
                    );
                }),
                Action::RemoveAddresses(_) if handing_over => {
                    self.release_at = Some(now + RESIGN_RELEASE_GRACE);
                    self.release_span = transition.clone();
                }
                Action::RemoveAddresses(_) => {
                    self.release_at = None;
                    self.release_span = Span::none();
                    transition.in_scope(|| self.release(io));
                }
                Action::Announce(_) => {
                    let messages = self.announcements.start(now, &self.settings.garp);
                    transition
                        .in_scope(|| io.vips.announce(self.name(), self.held_vips(io), messages));
                }
                Action::SendAdvertisement(advert) => {
                    self.send(&advert, io).await;
                }
            }
        }
        if self.instance.master_address() != self.known_master {
            self.known_master = self.instance.master_address();
            self.logged_refusals.clear();
        }
    }

    /// Notes a state change for the API: when and why, and an event to publish carrying the
    /// ids of the transition's span, which it returns.
    fn record_transition(
        &mut self,
        now: Instant,
        from: State,
        to: State,
        reason: TransitionReason,
    ) -> Span {
        let group_handover = from == State::Master
            && std::mem::take(&mut self.group.handing_over)
            && reason == TransitionReason::Resigned;
        let caused_by_group = self.group.moving || group_handover;
        if self.group.member {
            self.group.transitions.push(GroupTransition {
                instance: self.name().to_owned(),
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
        self.last_transition = Some((SystemTime::now(), cause));
        let name = self.settings.name.as_str();
        self.transitions.transition(now, name, to, cause);
        let master = self.master_view();
        let request = self.cause.take(now);
        let span = spans::transition(
            &TransitionFields {
                instance: self.name(),
                vrid: self.vrid(),
                from,
                to,
                reason,
                base_priority: self.base_priority.get(),
                effective_priority: self.instance.priority().get(),
                master: master.address,
            },
            request,
        );
        self.events.push(InstanceEvent::Transition {
            instance: self.name().to_owned(),
            from,
            to,
            cause,
            check,
            base_priority: self.base_priority.get(),
            effective_priority: self.instance.priority().get(),
            master,
            trace: spans::trace_ids(&span),
        });
        span
    }

    /// Sends `advert` to the group, or to each unicast peer (RFC 9568 §5.1.1.2 allows a
    /// unicast destination where multicast is not available).
    async fn send(&self, advert: &Advertisement, io: &Io) {
        let Some(socket) = io.sockets.get(&self.socket_key) else {
            error!(instance = self.name(), socket = %self.socket_key, "no socket to advertise on");
            return;
        };
        let source = self.primary_address();
        let group = [self.socket_key.family.vrrp_group()];
        let destinations = match &self.settings.unicast {
            Some(unicast) => unicast.peers.as_slice(),
            None => &group,
        };
        for &destination in destinations {
            // The VRRPv3 checksum covers a pseudo-header with the destination, so each
            // peer gets its own encoding.
            let payload = match advert.encode(source, destination, self.checksum) {
                Ok(payload) => payload,
                Err(error) => {
                    error!(instance = self.name(), %error, "cannot encode the advertisement");
                    return;
                }
            };
            if let Err(error) = socket.send(&payload, destination).await {
                warn!(instance = self.name(), %error, priority = advert.priority, "advertisement not sent");
            }
        }
    }

    /// Every address the master holds, placed on its interface.
    fn held_vips(&self, io: &Io) -> Vec<PlacedVip> {
        place(&self.settings, &io.interfaces)
    }

    /// Queues the removal of everything the master holds: its routes and rules, then its
    /// addresses (see [`super::routing`] for the order).
    fn release(&self, io: &Io) {
        io.vips.remove_routing(
            self.name(),
            HeldRouting::of(&self.settings),
            Removal::Release,
        );
        io.vips.remove(self.name(), self.held_vips(io));
    }

    /// Someone deleted a route of keepalived's protocol: while we are master and it is one
    /// of our tracked routes, put it back (see [`super::routing`] for why, where keepalived
    /// leaves Master).
    pub fn route_removed(&self, removed: &RemovedRoute, io: &Io) {
        if self.state() == State::Master {
            let lost = HeldRouting::tracked_route(&self.settings, removed);
            io.vips
                .install_routing(self.name(), lost, InstallReason::PutBack);
        }
    }

    /// Someone deleted a rule: while we are master and it is one of our tracked rules, put
    /// it back.
    pub fn rule_removed(&self, removed: &RemovedRule, io: &Io) {
        if self.state() == State::Master {
            let lost = HeldRouting::tracked_rule(&self.settings, removed);
            io.vips
                .install_routing(self.name(), lost, InstallReason::PutBack);
        }
    }
}

/// What a refused packet is counted and logged under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum RefusalKind {
    /// The codec refused it (RFC 9568 §7.1 checks on the packet alone).
    Decode(Discriminant<DecodeError>),
    /// The core refused it (checks against the instance's configuration).
    Dropped(DropReason),
    /// It came from outside the configured unicast peers.
    UnknownPeer,
}

fn same_address(a: &PlacedVip, b: &PlacedVip) -> bool {
    a.interface.index == b.interface.index && a.vip.address == b.vip.address
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::config::{Config, Format};

    fn settings(text: &str) -> InstanceSettings {
        Config::from_str(text, Format::Toml, "test.toml")
            .expect("valid test config")
            .instances
            .remove(0)
    }

    fn eth0() -> Interface {
        Interface {
            name: "eth0".into(),
            index: 2,
            mac: [2, 0, 0, 0, 0, 1],
            link_local: None,
            primary_ipv4: Some(Ipv4Addr::new(192, 0, 2, 1)),
            running: true,
        }
    }

    #[test]
    fn a_new_driver_waits_in_initialize_with_no_timer() {
        let driver = InstanceDriver::new(
            settings(
                "[instances.a]\ninterface = \"eth0\"\nvrid = 7\nvirtual_addresses = [\"192.0.2.100/24\"]\n",
            ),
            &eth0(),
        )
        .expect("driver");
        assert_eq!(driver.state(), State::Initialize);
        assert_eq!(driver.next_deadline(), None);
        assert_eq!(
            driver.primary_address(),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
        );
        assert_eq!(driver.vrid(), 7);
    }

    #[test]
    fn an_ipv6_instance_needs_a_link_local_address() {
        let error = InstanceDriver::new(
            settings(
                "[instances.a]\ninterface = \"eth0\"\nvrid = 7\nvirtual_addresses = [\"2001:db8::100/64\"]\n",
            ),
            &eth0(),
        )
        .expect_err("no link-local address");
        assert!(
            matches!(error, SettingsError::NoSourceAddress { .. }),
            "{error}"
        );
    }
}
