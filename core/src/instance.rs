//! One virtual router's state machine (RFC 9568 §6.4, RFC 3768 §6.4), sans-IO.
//!
//! The driver feeds [`Instance`] three kinds of input, each with the time it happened:
//! [`Instance::handle_packet`] for a decoded advertisement, [`Instance::handle_timeout`] when
//! the time from [`Instance::poll_timeout`] has come, and [`Instance::handle_command`]. After
//! each input it drains [`Instance::poll_action`] and carries the actions out in order, then
//! asks [`Instance::poll_timeout`] again when to wake. Nothing here reads a clock.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::action::Action;
use super::command::{Command, CommandRejected};
use super::counters::{Counters, DropReason};
use super::instance_config::{InstanceConfig, InstanceConfigError};
use super::interval::AdvertInterval;
use super::packet::{Advertisement, Version};
use super::priority::Priority;
use super::state::{FaultCause, State, TransitionReason};
use super::timers::{self, Timer};

/// The priority a stopping or resigning master advertises (RFC 9568 §6.4.3).
const PRIORITY_STOPPING: u8 = 0;

/// How many adverts with our own priority a master sends as it steps down for a higher
/// priority (see `master_receives`): each lost with probability P, all of them with P³.
const STEP_DOWN_ADVERTS: usize = 3;

/// How many times a master announces its addresses on hearing lower priorities within one
/// advertisement interval (see `master_receives`). Two: a backup that took over at the same
/// moment as another is heard twice in quick succession, by its takeover advert and by the
/// adverts it sends as it steps down, and its own announcement, queued behind its address
/// install, can reach the hosts between the two; the second announcement is the one that
/// brings them back, and deferring it to the next advert stranded them for an interval.
const LOWER_PRIORITY_ANNOUNCEMENTS: usize = 2;

/// One virtual router on this host: its state, timers and counters.
///
/// Behaviour beyond the RFC text, each explained where it is implemented:
/// - a master that hears a lower priority advertises at once (keepalived's default), so a
///   second master that appeared during a partition steps down within one network delay;
/// - a master that hears a higher priority advertises its own before it steps down
///   (keepalived's `higher_prio_send_advert`, repeated), so the master that stays hears a
///   lower priority and announces its addresses whichever of the two spoke first after a
///   partition healed;
/// - both are switched off, as RFC 9568 §6.4.3 has it, by
///   [`InstanceConfig::apply_strict_mode`];
/// - adverts are processed even when we are the address owner (RFC 9568 erratum 8298), so two
///   owners of one VRID settle on one master instead of both forwarding;
/// - an address list that differs from ours is counted, not dropped (keepalived 2.3.3 and
///   later), so a reload that changes the list does not cause a failover;
/// - `Fault`, `Resign`, `SetPriority` and the preempt delay, documented on [`Command`] and
///   [`InstanceConfig`].
#[derive(Debug)]
pub struct Instance {
    config: InstanceConfig,
    /// The priority we advertise now: the configured one until a `SetPriority` command.
    priority: Priority,
    /// Master_Adver_Interval (RFC 9568 §6.1): ours, or in VRRPv3 the one learned from the
    /// master we follow; the skew and the master-down interval are computed from it.
    master_adver_interval: AdvertInterval,
    phase: Phase,
    preempt_hold: PreemptHold,
    /// Set by `Resign`: we accept a lower-priority successor instead of preempting it, until
    /// the hold-down ends, we become master again or our priority is set.
    yielding: Option<Yielding>,
    /// The primary address of the master we last accepted, or ours while we are master.
    master_address: Option<IpAddr>,
    /// When we last announced our addresses again on hearing a lower priority, oldest first:
    /// at most [`LOWER_PRIORITY_ANNOUNCEMENTS`] times per advertisement interval (see
    /// `master_receives`).
    lower_priority_announced: [Option<Instant>; LOWER_PRIORITY_ANNOUNCEMENTS],
    /// A lower priority was heard when that budget was spent: announce again with the next
    /// advert rather than not at all.
    lower_priority_announce_due: bool,
    /// Set by `HoldMastership`: the instance does not become master before then, and its
    /// master-down timer runs out no sooner than a full wait after it.
    mastership_held_until: Option<Instant>,
    actions: VecDeque<Action>,
    counters: Counters,
}

/// How long a router that resigned leaves its lower-priority successor alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Yielding {
    /// Until our priority is set (or we become master again some other way), or until the
    /// master we follow advertises a lower priority than it last did: its own standing fell
    /// (a check failed, its operator lowered it), so the reason to leave it alone is gone. A
    /// sync group hands over this way, and its members would otherwise never take the group
    /// back from a successor whose priority dropped below theirs.
    UntilPriorityChanges {
        /// The master we follow and the priority of its last advert we accepted.
        successor: Option<(IpAddr, u8)>,
    },
    /// Until this moment: the `hold_down` of the `Resign`. Then the next advert of the
    /// lower-priority master is discarded as Preempt_Mode says, and Master_Down_Timer takes
    /// us back.
    Until(Instant),
}

/// The state together with the timers only that state runs, so a backup cannot have an
/// advertisement timer nor a master a master-down timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Initialize,
    Backup {
        master_down_timer: Instant,
        cause: DownTimerCause,
    },
    Master {
        adver_timer: Instant,
        /// `Some` while a `Resign` hands over: the latest time we keep the addresses.
        resign_deadline: Option<Instant>,
    },
    Fault(FaultCause),
}

/// Why the master-down timer is running, which becomes the reason we take over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DownTimerCause {
    /// Armed with Master_Down_Interval by startup or an accepted advertisement.
    MasterSilent,
    /// Shortened to Skew_Time by a priority 0 advertisement (RFC 9568 §6.4.2).
    PriorityZero,
    /// Left running while we discard a lower-priority master (RFC 9568 §6.4.2).
    Preempting,
    /// An owner waiting for the end of a `HoldMastership` before taking over.
    HeldAtStartup,
}

impl DownTimerCause {
    fn reason(self) -> TransitionReason {
        match self {
            DownTimerCause::MasterSilent => TransitionReason::MasterDownTimerExpired,
            DownTimerCause::PriorityZero => TransitionReason::PriorityZeroReceived,
            DownTimerCause::Preempting => TransitionReason::PreemptedLowerPriorityMaster,
            DownTimerCause::HeldAtStartup => TransitionReason::Startup,
        }
    }
}

/// The preempt delay of one stay in Backup (see [`InstanceConfig::preempt_delay`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PreemptHold {
    /// Starts at the first lower-priority advertisement.
    NotStarted,
    /// Lower-priority masters are accepted until then; once passed, they are discarded for
    /// the rest of this stay in Backup.
    Until(Instant),
}

impl Instance {
    /// A virtual router in Initialize; send it [`Command::Startup`] to start.
    pub fn new(config: InstanceConfig) -> Result<Self, InstanceConfigError> {
        config.validate()?;
        Ok(Instance {
            priority: config.priority,
            master_adver_interval: config.advert_interval,
            phase: Phase::Initialize,
            preempt_hold: PreemptHold::NotStarted,
            yielding: None,
            lower_priority_announced: [None; LOWER_PRIORITY_ANNOUNCEMENTS],
            lower_priority_announce_due: false,
            mastership_held_until: None,
            master_address: None,
            actions: VecDeque::new(),
            counters: Counters::default(),
            config,
        })
    }

    /// Replaces the virtual addresses, as a reload does: from now on our advertisements carry
    /// `addresses`, and a received advertisement is compared with them (RFC 9568 §7.1's
    /// address-list check). The state does not change. Installing, removing and announcing
    /// the difference is the caller's, which knows the interface each address lives on.
    /// Refused, leaving the instance unchanged, when the list breaks a rule of
    /// [`InstanceConfig::validate`] (empty, or another family than ours).
    pub fn set_virtual_addresses(
        &mut self,
        addresses: Vec<IpAddr>,
    ) -> Result<(), InstanceConfigError> {
        let mut changed = self.config.clone();
        changed.virtual_addresses = addresses;
        changed.validate()?;
        self.config = changed;
        Ok(())
    }

    /// Advertises from `address` from now on: the interface's primary address went and
    /// another took its place. keepalived moves its source the same way, without a state
    /// change (keepalived/core/keepalived_netlink.c, RTM_DELADDR). Refused, leaving the
    /// instance unchanged, for an address of the other family.
    pub fn set_primary_address(&mut self, address: IpAddr) -> Result<(), InstanceConfigError> {
        let mut changed = self.config.clone();
        changed.primary_address = address;
        changed.validate()?;
        self.config = changed;
        if self.state() == State::Master {
            self.master_address = Some(address);
        }
        Ok(())
    }

    /// The configuration the instance was created with.
    pub fn config(&self) -> &InstanceConfig {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> State {
        match self.phase {
            Phase::Initialize => State::Initialize,
            Phase::Backup { .. } => State::Backup,
            Phase::Master { .. } => State::Master,
            Phase::Fault(_) => State::Fault,
        }
    }

    /// The priority we advertise and compute timers with.
    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// Master_Adver_Interval: in VRRPv3 the interval learned from the master we follow.
    pub fn master_adver_interval(&self) -> AdvertInterval {
        self.master_adver_interval
    }

    /// Skew_Time for our priority and Master_Adver_Interval.
    pub fn skew_time(&self) -> Duration {
        timers::skew_time(
            self.config.version,
            self.priority,
            self.master_adver_interval,
        )
    }

    /// Master_Down_Interval for our priority and Master_Adver_Interval, over the configured
    /// number of missed adverts.
    pub fn master_down_interval(&self) -> Duration {
        timers::master_down_interval(
            self.config.version,
            self.priority,
            self.master_adver_interval,
            self.config.down_timer_adverts,
        )
    }

    /// Whether a `Resign` handover is in progress (we are master but advertise priority 0).
    pub fn is_resigning(&self) -> bool {
        matches!(
            self.phase,
            Phase::Master {
                resign_deadline: Some(_),
                ..
            }
        )
    }

    /// Whether the net layer should accept packets addressed to the virtual addresses:
    /// only as master, and then only as the owner or with Accept_Mode (RFC 9568 §6.4.3).
    pub fn accepts_vip_traffic(&self) -> bool {
        self.state() == State::Master && (self.config.accept_mode || self.priority.is_owner())
    }

    /// The primary address of the current master as far as we know: ours while master, the
    /// sender of the last accepted advertisement while backup.
    pub fn master_address(&self) -> Option<IpAddr> {
        self.master_address
    }

    /// The running totals.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The next action to carry out, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call [`Instance::handle_timeout`] next; `None` while no timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_timer().map(|(_, deadline)| deadline)
    }

    /// The timer that fires next and when, for tracing.
    pub fn next_timer(&self) -> Option<(Timer, Instant)> {
        match self.phase {
            Phase::Initialize | Phase::Fault(_) => None,
            Phase::Backup {
                master_down_timer, ..
            } => Some((Timer::MasterDown, master_down_timer)),
            Phase::Master {
                adver_timer,
                resign_deadline: Some(deadline),
            } if deadline < adver_timer => Some((Timer::ResignDeadline, deadline)),
            Phase::Master { adver_timer, .. } => Some((Timer::Adver, adver_timer)),
        }
    }

    /// Runs every timer that is due at `now`. Calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Backup {
                master_down_timer,
                cause,
            } if now >= master_down_timer => {
                // RFC 9568 §6.4.2: Master_Down_Timer fired.
                self.become_master(now, cause.reason());
            }
            Phase::Master {
                resign_deadline: Some(deadline),
                ..
            } if now >= deadline => {
                // The successor never spoke up within Master_Down_Interval: stop answering for
                // the addresses anyway, so a resign always completes.
                self.leave_master(now, None, TransitionReason::Resigned);
            }
            Phase::Master {
                adver_timer,
                resign_deadline,
            } if now >= adver_timer => {
                // RFC 9568 §6.4.3: Adver_Timer fired. A resigning master repeats priority 0,
                // so one lost packet does not cost the backups a whole Master_Down_Interval.
                let priority = match resign_deadline {
                    Some(_) => PRIORITY_STOPPING,
                    None => self.priority.get(),
                };
                self.send_advertisement(priority);
                if std::mem::take(&mut self.lower_priority_announce_due)
                    && priority != PRIORITY_STOPPING
                {
                    self.announce_on_lower_priority(now);
                }
                self.phase = Phase::Master {
                    adver_timer: now + self.config.advert_interval.as_duration(),
                    resign_deadline,
                };
            }
            _ => {}
        }
    }

    /// Applies a command. A refused command changes nothing.
    pub fn handle_command(
        &mut self,
        now: Instant,
        command: Command,
    ) -> Result<(), CommandRejected> {
        match command {
            Command::Startup => self.start(now),
            Command::Shutdown => {
                self.shut_down();
                Ok(())
            }
            Command::Resign { hold_down } => self.resign(now, hold_down),
            Command::SetPriority(priority) => {
                self.set_priority(now, priority);
                Ok(())
            }
            Command::EnterFault(cause) => {
                self.enter_fault(cause);
                Ok(())
            }
            Command::ClearFault => {
                self.clear_fault(now);
                Ok(())
            }
            Command::HoldMastership(hold) => {
                self.mastership_held_until = Some(now + hold);
                Ok(())
            }
            Command::FollowGroupToMaster => {
                self.follow_group_to_master(now);
                Ok(())
            }
        }
    }

    /// Processes an advertisement the codec accepted, sent from `from` (the IP source, the
    /// sender's primary address).
    ///
    /// Runs the receive checks of RFC 9568 §7.1 / RFC 3768 §7.1 that need this instance's
    /// configuration, then the rules of the current state. A refused advertisement is counted
    /// under its [`DropReason`] and changes nothing else.
    ///
    /// Two checks are deliberately not drops: an address list that differs from ours (RFC 9568
    /// §7.1 makes checking it optional and then drops when the sender is not the owner; we
    /// count it and go on, as keepalived does since 2.3.3, because dropping turns a config
    /// mismatch into a second master), and being the address owner ourselves (erratum 8298
    /// to RFC 9568 §7.1 turned "MUST discard" into "SHOULD log", because two owners that
    /// discard each other both stay master).
    pub fn handle_packet(
        &mut self,
        now: Instant,
        from: IpAddr,
        advert: &Advertisement,
    ) -> Result<(), DropReason> {
        if let Err(reason) = self.check_advertisement(from, advert) {
            self.counters.count_drop(reason);
            return Err(reason);
        }
        self.counters.adverts_received += 1;
        if advert.priority == PRIORITY_STOPPING {
            self.counters.priority_zero_received += 1;
        }
        if !self.lists_our_addresses(advert) {
            self.counters.address_list_mismatches += 1;
        }
        if self.priority.is_owner() {
            self.counters.owner_conflicts += 1;
        }
        match self.phase {
            Phase::Backup {
                master_down_timer, ..
            } => self.backup_receives(now, from, advert, master_down_timer),
            Phase::Master {
                resign_deadline, ..
            } => self.master_receives(now, from, advert, resign_deadline.is_some()),
            // check_advertisement refuses advertisements in these states.
            Phase::Initialize | Phase::Fault(_) => {}
        }
        Ok(())
    }

    fn check_advertisement(&self, from: IpAddr, advert: &Advertisement) -> Result<(), DropReason> {
        if matches!(self.phase, Phase::Initialize | Phase::Fault(_)) {
            return Err(DropReason::NotRunning);
        }
        if advert.version != self.config.version {
            return Err(DropReason::WrongVersion);
        }
        let ipv4 = self.config.primary_address.is_ipv4();
        if from.is_ipv4() != ipv4 || advert.addresses.iter().any(|a| a.is_ipv4() != ipv4) {
            return Err(DropReason::WrongFamily);
        }
        if advert.vrid != self.config.vrid {
            return Err(DropReason::WrongVrid);
        }
        if from == self.config.primary_address {
            return Err(DropReason::OwnAdvertisement);
        }
        // An instance without addresses of its own (VRRPv2, as keepalived allows) hears
        // peers like it, whose adverts list none.
        if advert.addresses.is_empty() && !self.config.virtual_addresses.is_empty() {
            return Err(DropReason::EmptyAddressList);
        }
        if self.config.version == Version::V2 {
            if advert.auth != self.config.auth {
                return Err(DropReason::AuthMismatch);
            }
            if advert.advert_interval != self.config.advert_interval {
                return Err(DropReason::IntervalMismatch);
            }
        }
        Ok(())
    }

    fn lists_our_addresses(&self, advert: &Advertisement) -> bool {
        let ours = &self.config.virtual_addresses;
        advert.addresses.len() == ours.len() && advert.addresses.iter().all(|a| ours.contains(a))
    }

    /// RFC 9568 §6.4.2, "If an ADVERTISEMENT is received".
    fn backup_receives(
        &mut self,
        now: Instant,
        from: IpAddr,
        advert: &Advertisement,
        master_down_timer: Instant,
    ) {
        if advert.priority == PRIORITY_STOPPING {
            // RFC 9568 §6.4.2 sets the timer to Skew_Time. We never set it later than it
            // already is: a resigning master repeats priority 0 every interval, and at a low
            // priority Skew_Time is nearly a whole interval, so re-arming on each repeat
            // (with a little jitter) could push the takeover back indefinitely.
            self.phase = Phase::Backup {
                master_down_timer: master_down_timer
                    .min(self.down_timer_from(now, self.skew_time())),
                cause: DownTimerCause::PriorityZero,
            };
        } else {
            // Evaluated on every advert, whatever its priority: a yield follows the
            // successor's priority, which may fall below ours later.
            let preempts = self.preempts(now, from, advert.priority);
            if advert.priority >= self.priority.get() || !preempts || self.preempt_held(now) {
                // VRRPv3 learns the interval before recomputing the timers from it; in
                // VRRPv2 a different interval was dropped above, so ours is already the
                // master's.
                if self.config.version == Version::V3 {
                    self.master_adver_interval = advert.advert_interval;
                }
                self.master_address = Some(from);
                self.phase = Phase::Backup {
                    master_down_timer: self.down_timer_from(now, self.master_down_interval()),
                    cause: DownTimerCause::MasterSilent,
                };
            } else {
                // A lower-priority master: discard it and leave the timer running, so we
                // take over when it fires.
                self.counters.lower_priority_discarded += 1;
                self.phase = Phase::Backup {
                    master_down_timer,
                    cause: DownTimerCause::Preempting,
                };
            }
        }
    }

    /// RFC 9568 §6.4.3, "If an ADVERTISEMENT is received".
    fn master_receives(
        &mut self,
        now: Instant,
        from: IpAddr,
        advert: &Advertisement,
        resigning: bool,
    ) {
        if resigning {
            // Any live master but ourselves is the successor: it now answers for the
            // addresses, so we can let go of them (make-before-break).
            if advert.priority != PRIORITY_STOPPING {
                self.master_address = Some(from);
                self.leave_master(now, Some(advert), TransitionReason::Resigned);
            }
            return;
        }
        let theirs = advert.priority;
        let ours = self.priority.get();
        if theirs != PRIORITY_STOPPING
            && (theirs > ours || (theirs == ours && from > self.config.primary_address))
        {
            // Addresses of one family compare as unsigned integers in network byte order,
            // which is what `IpAddr`'s ordering does (RFC 9568 §6.4.3).
            //
            // Before stepping down, an advert with our priority, as keepalived's
            // `higher_prio_send_advert` does: after a partition heals, hosts that followed
            // our announcements still send to us, and only the other master can move them.
            // If it spoke first it has not heard us since the heal, and RFC 9568 §6.4.3
            // leaves it nothing else to react to; this advert is the lower priority that
            // makes it announce its addresses again. Nothing acknowledges it, so it is
            // repeated as gratuitous ARPs are: one lost would strand those hosts.
            if self.config.advertise_before_stepping_down {
                for _ in 0..STEP_DOWN_ADVERTS {
                    self.send_advertisement(ours);
                }
            }
            self.master_address = Some(from);
            self.leave_master(now, Some(advert), TransitionReason::HigherPriorityAdvert);
        } else {
            if theirs != PRIORITY_STOPPING && (theirs < ours || from < self.config.primary_address)
            {
                self.actions.push_back(Action::LowerPriorityHeard {
                    from,
                    priority: theirs,
                });
            }
            // Priority 0: RFC 9568 §6.4.3 says advertise at once so the backups do not wait.
            // Lower priority: the RFC discards it; like keepalived we also advertise at once
            // (unless configured off, as strict mode does), so a second master (after a
            // partition heals) steps down without waiting for our Adver_Timer.
            if theirs == PRIORITY_STOPPING || self.config.advertise_on_lower_priority {
                self.advertise_now(now);
            }
            if theirs != PRIORITY_STOPPING && self.config.announce_on_lower_priority {
                // And announce the addresses again, as keepalived does by default: hosts
                // that followed the second master's announcements still send to it, and
                // it stops answering for the addresses when it steps down (keepalived
                // issue 166). Nothing else would correct them before their ARP or
                // neighbour entries expire, since this master never changed state.
                //
                // At most LOWER_PRIORITY_ANNOUNCEMENTS times per advertisement interval, so
                // a flood of forged lower-priority adverts cannot turn each into a burst of
                // gratuitous ARPs; one heard past that budget is answered with the next
                // advert instead of not at all. It may be the second master's advert as it
                // steps down, and its own announcement, queued behind its address install,
                // can reach the hosts after ours did.
                let [oldest, ..] = self.lower_priority_announced;
                let announced_lately = oldest.is_some_and(|at| {
                    now.saturating_duration_since(at) < self.config.advert_interval.as_duration()
                });
                if announced_lately {
                    self.lower_priority_announce_due = true;
                } else {
                    self.announce_on_lower_priority(now);
                }
            }
        }
    }

    fn announce_on_lower_priority(&mut self, now: Instant) {
        self.lower_priority_announced.rotate_left(1);
        self.lower_priority_announced[LOWER_PRIORITY_ANNOUNCEMENTS - 1] = Some(now);
        self.lower_priority_announce_due = false;
        self.actions
            .push_back(Action::Announce(self.config.virtual_addresses.clone()));
    }

    fn start(&mut self, now: Instant) -> Result<(), CommandRejected> {
        if self.phase != Phase::Initialize {
            return Err(CommandRejected::AlreadyStarted(self.state()));
        }
        // RFC 9568 §6.4.1: the owner takes over at once, anyone else waits as backup.
        if self.priority.is_owner() && self.held_until(now).is_none() {
            self.become_master(now, TransitionReason::Startup);
        } else {
            self.enter_backup(now, TransitionReason::Startup);
            self.preempt_hold = PreemptHold::Until(now + self.config.preempt_delay);
        }
        Ok(())
    }

    fn shut_down(&mut self) {
        match self.phase {
            Phase::Initialize => return,
            // RFC 9568 §6.4.3 Shutdown: send priority 0 so a backup takes over after Skew_Time
            // instead of Master_Down_Interval.
            Phase::Master { .. } => self.release_mastership(),
            Phase::Backup { .. } | Phase::Fault(_) => {}
        }
        self.record_transition(State::Initialize, TransitionReason::Shutdown);
        self.phase = Phase::Initialize;
        self.master_address = None;
        self.yielding = None;
    }

    fn resign(&mut self, now: Instant, hold_down: Option<Duration>) -> Result<(), CommandRejected> {
        match self.phase {
            Phase::Master {
                resign_deadline: Some(_),
                ..
            } => Ok(()),
            Phase::Master {
                resign_deadline: None,
                ..
            } => {
                self.send_advertisement(PRIORITY_STOPPING);
                self.yielding = Some(match hold_down {
                    Some(hold_down) => Yielding::Until(now + hold_down),
                    None => Yielding::UntilPriorityChanges { successor: None },
                });
                self.phase = Phase::Master {
                    adver_timer: now + self.config.advert_interval.as_duration(),
                    resign_deadline: Some(now + self.master_down_interval()),
                };
                Ok(())
            }
            _ => Err(CommandRejected::NotMaster(self.state())),
        }
    }

    /// See [`Command::FollowGroupToMaster`].
    fn follow_group_to_master(&mut self, now: Instant) {
        match self.phase {
            // keepalived/vrrp/vrrp.c, vrrp_state_goto_master: not before a startup delay ends;
            // the member's own timer takes it over then.
            Phase::Backup { .. } if self.held_until(now).is_some() => {}
            Phase::Backup { .. } => self.become_master(now, TransitionReason::SyncGroup),
            // Handing over while the group goes the other way: stay, and say so at once
            // with our real priority, so the successor's Skew_Time wait ends in a backup.
            Phase::Master {
                resign_deadline: Some(_),
                adver_timer,
            } => {
                self.yielding = None;
                self.phase = Phase::Master {
                    adver_timer,
                    resign_deadline: None,
                };
                self.advertise_now(now);
            }
            Phase::Initialize | Phase::Fault(_) | Phase::Master { .. } => {}
        }
    }

    /// See [`Command::SetPriority`] for what a new priority does in each state.
    fn set_priority(&mut self, now: Instant, priority: Priority) {
        if priority == self.priority {
            return;
        }
        self.priority = priority;
        self.yielding = None;
        match self.phase {
            Phase::Backup {
                master_down_timer, ..
            } if priority.is_owner() => match self.held_until(now) {
                None => self.become_master(now, TransitionReason::PriorityChanged),
                Some(until) => {
                    self.phase = Phase::Backup {
                        master_down_timer: master_down_timer.min(until),
                        cause: DownTimerCause::HeldAtStartup,
                    };
                }
            },
            Phase::Backup {
                master_down_timer,
                cause,
            } => {
                let wait = match cause {
                    DownTimerCause::PriorityZero => self.skew_time(),
                    DownTimerCause::MasterSilent
                    | DownTimerCause::Preempting
                    | DownTimerCause::HeldAtStartup => self.master_down_interval(),
                };
                self.phase = Phase::Backup {
                    master_down_timer: master_down_timer.min(self.down_timer_from(now, wait)),
                    cause,
                };
            }
            Phase::Master {
                resign_deadline: None,
                ..
            } => self.advertise_now(now),
            _ => {}
        }
    }

    fn enter_fault(&mut self, cause: FaultCause) {
        match self.phase {
            Phase::Fault(_) => return,
            // Like a shutdown: priority 0 lets a backup take over after Skew_Time.
            Phase::Master { .. } => self.release_mastership(),
            Phase::Initialize | Phase::Backup { .. } => {}
        }
        self.record_transition(State::Fault, TransitionReason::Fault(cause));
        self.phase = Phase::Fault(cause);
        self.master_address = None;
        self.yielding = None;
    }

    fn clear_fault(&mut self, now: Instant) {
        if !matches!(self.phase, Phase::Fault(_))
            || self.phase == Phase::Fault(FaultCause::NoUnicastPeers)
        {
            return;
        }
        if self.priority.is_owner() && self.held_until(now).is_none() {
            self.become_master(now, TransitionReason::FaultCleared);
        } else {
            self.enter_backup(now, TransitionReason::FaultCleared);
        }
    }

    /// RFC 9568 §6.4.1 (non-owner startup) and the same on leaving Fault, where whatever
    /// interval we learned before is stale (keepalived resets it there too).
    fn enter_backup(&mut self, now: Instant, reason: TransitionReason) {
        self.record_transition(State::Backup, reason);
        self.master_adver_interval = self.config.advert_interval;
        self.preempt_hold = PreemptHold::NotStarted;
        self.master_address = None;
        self.phase = match self.held_until(now) {
            // Only a startup hold keeps an owner in Backup: it takes over when the hold ends.
            Some(until) if self.priority.is_owner() => Phase::Backup {
                master_down_timer: until,
                cause: DownTimerCause::HeldAtStartup,
            },
            _ => Phase::Backup {
                master_down_timer: self.down_timer_from(now, self.master_down_interval()),
                cause: DownTimerCause::MasterSilent,
            },
        };
    }

    /// The end of a `HoldMastership` still to come at `now`.
    fn held_until(&self, now: Instant) -> Option<Instant> {
        self.mastership_held_until.filter(|&until| now < until)
    }

    /// When a master-down timer armed at `now` to wait `wait` runs out: `wait` from the end
    /// of a startup hold still running, as keepalived restarts every backup's timer when its
    /// `vrrp_startup_delay` ends (keepalived/vrrp/vrrp_scheduler.c), else from now.
    fn down_timer_from(&self, now: Instant, wait: Duration) -> Instant {
        self.held_until(now).unwrap_or(now) + wait
    }

    /// RFC 9568 §6.4.1 (owner startup) and §6.4.2 (Master_Down_Timer fired).
    fn become_master(&mut self, now: Instant, reason: TransitionReason) {
        self.record_transition(State::Master, reason);
        self.counters.became_master += 1;
        // While master we use our own interval; a learned one is only for following others.
        self.master_adver_interval = self.config.advert_interval;
        self.yielding = None;
        self.lower_priority_announce_due = false;
        self.master_address = Some(self.config.primary_address);
        self.actions.push_back(Action::InstallAddresses(
            self.config.virtual_addresses.clone(),
        ));
        self.send_advertisement(self.priority.get());
        self.actions
            .push_back(Action::Announce(self.config.virtual_addresses.clone()));
        self.phase = Phase::Master {
            adver_timer: now + self.config.advert_interval.as_duration(),
            resign_deadline: None,
        };
    }

    /// RFC 9568 §6.4.3: a master that yields becomes backup, learning (VRRPv3) the interval
    /// of the advertisement that made it yield, if any.
    fn leave_master(
        &mut self,
        now: Instant,
        heard: Option<&Advertisement>,
        reason: TransitionReason,
    ) {
        self.record_transition(State::Backup, reason);
        self.actions.push_back(Action::RemoveAddresses(
            self.config.virtual_addresses.clone(),
        ));
        self.master_adver_interval = match heard {
            Some(advert) if self.config.version == Version::V3 => advert.advert_interval,
            _ => self.config.advert_interval,
        };
        self.preempt_hold = PreemptHold::NotStarted;
        self.phase = Phase::Backup {
            master_down_timer: now + self.master_down_interval(),
            cause: DownTimerCause::MasterSilent,
        };
    }

    /// Sends priority 0 and removes the addresses: the master's part of Shutdown and Fault.
    fn release_mastership(&mut self) {
        self.send_advertisement(PRIORITY_STOPPING);
        self.actions.push_back(Action::RemoveAddresses(
            self.config.virtual_addresses.clone(),
        ));
    }

    /// A master's out-of-turn advertisement; the next one follows a full interval later.
    fn advertise_now(&mut self, now: Instant) {
        self.send_advertisement(self.priority.get());
        if let Phase::Master {
            resign_deadline, ..
        } = self.phase
        {
            self.phase = Phase::Master {
                adver_timer: now + self.config.advert_interval.as_duration(),
                resign_deadline,
            };
        }
    }

    fn send_advertisement(&mut self, priority: u8) {
        self.counters.adverts_sent += 1;
        if priority == PRIORITY_STOPPING {
            self.counters.priority_zero_sent += 1;
        }
        self.actions
            .push_back(Action::SendAdvertisement(Advertisement {
                version: self.config.version,
                vrid: self.config.vrid,
                priority,
                advert_interval: self.config.advert_interval,
                addresses: self.config.virtual_addresses.clone(),
                auth: self.config.auth.clone(),
            }));
    }

    fn record_transition(&mut self, to: State, reason: TransitionReason) {
        self.actions.push_back(Action::StateChanged {
            from: self.state(),
            to,
            reason,
        });
    }

    /// Whether a lower-priority master is to be preempted (Preempt_Mode, RFC 9568 §6.1),
    /// unless we resigned in its favour and the hold-down has not ended; `from` advertised
    /// `theirs`, which a yield without hold-down follows.
    fn preempts(&mut self, now: Instant, from: IpAddr, theirs: u8) -> bool {
        let yielding = match &mut self.yielding {
            None => false,
            Some(Yielding::UntilPriorityChanges { successor }) => {
                let dropped =
                    successor.is_some_and(|(master, known)| master == from && theirs < known);
                *successor = Some((from, theirs));
                if dropped {
                    self.yielding = None;
                }
                !dropped
            }
            Some(Yielding::Until(end)) => now < *end,
        };
        self.config.preempt && !yielding
    }

    /// Whether the preempt delay still holds off preemption at `now`, starting it if this is
    /// the first lower-priority master of this stay in Backup.
    fn preempt_held(&mut self, now: Instant) -> bool {
        match self.preempt_hold {
            PreemptHold::Until(until) => now < until,
            PreemptHold::NotStarted if self.config.preempt_delay.is_zero() => false,
            PreemptHold::NotStarted => {
                self.preempt_hold = PreemptHold::Until(now + self.config.preempt_delay);
                true
            }
        }
    }
}
