//! One instance inside the router: what carrying out the node's outputs for it needs (its
//! settings, where its addresses live, its socket, spans, notifications, events and
//! rate-limited logs). Every decision about it is the node's ([`crate::vrrp::node`]); this
//! only acts and reports.
//!
//! A reload changes the addresses in place: the node takes the new list for the adverts and
//! the receive check, and the driver installs, removes and announces the difference, since
//! it knows the interface each address lives on.

use std::collections::{HashMap, HashSet};
use std::mem::{Discriminant, discriminant};
use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use tracing::{Span, debug, error, info, warn};

use crate::config::{InstanceSettings, UnicastSettings};
use crate::effects::email_alert::AlertMailer;
use crate::effects::notify::Notifier;
use crate::effects::routing::{HeldRouting, Removal};
use crate::effects::vip_firewall::drops_vip_traffic;
use crate::effects::vips::{InstallReason, PlacedVip, VipWorker, place};
use crate::events::stats::TransitionStats;
use crate::events::status::{ChangeCause, InstanceEvent, InstanceStatus};
use crate::net::{Carrier, Interface, RemovedRoute, RemovedRule};
use crate::trace::{self, Cause, PendingCause, TransitionFields};
use crate::vrrp::node::output::{Output, Refusal, Transition};
use crate::vrrp::node::{InstanceId, Link, MemberConfig, Node, NodeError};
use crate::vrrp::packet::ah;
use crate::vrrp::{
    Advertisement, Auth, DecodeError, DropReason, State, TransitionReason, V3Ipv4Checksum,
    VRRP_HOP_LIMIT,
};

use super::settings::{self, SettingsError};
use super::sockets::Sockets;

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

/// One instance's driver state.
#[derive(Debug)]
pub struct InstanceDriver {
    id: InstanceId,
    settings: InstanceSettings,
    link: Link,
    primary_address: IpAddr,
    checksum: V3Ipv4Checksum,
    /// The span of the transition the node reported last in the current input: the VIP work
    /// that follows it becomes its children. Cleared after each input.
    transition: Span,
    /// The span of the handover whose release is pending, for the removal's child span.
    release_span: Span,
    /// The request whose command may bring about the next transition.
    cause: PendingCause,
    /// Packets refused so far, per kind, for the log lines.
    refused: HashMap<RefusalKind, u64>,
    /// The kinds of refusal logged since the master last changed: each is logged once per
    /// master, so a misconfigured or hostile peer cannot flood the log at its packet rate.
    logged_refusals: HashSet<RefusalKind>,
    /// The master as of the last input, to notice when it changes.
    known_master: Option<IpAddr>,
    /// The FIFO line and programs of each state change.
    notifier: Notifier,
    /// A reload removed the instance: its stop is notified as a removal.
    removed_by_reload: bool,
    /// When the instance last changed state and why.
    last_transition: Option<(SystemTime, ChangeCause)>,
    /// Transitions by reason and failover durations, for metrics.
    transitions: TransitionStats,
    /// Changes not yet handed to the router's event bus; the router takes them after every
    /// input (see [`InstanceDriver::take_events`]).
    events: Vec<InstanceEvent>,
}

impl InstanceDriver {
    /// Adds an instance for `settings`, running on `interface` (its own, looked up), to
    /// `node`, in Initialize.
    pub fn new(
        node: &mut Node,
        settings: InstanceSettings,
        interface: &Interface,
    ) -> Result<Self, SettingsError> {
        let primary = settings::primary_address(&settings, interface)?;
        Self::with_primary(node, settings, primary)
    }

    /// Adds an instance whose advertisements would come from `primary`.
    /// [`InstanceDriver::new`] takes it from the interface; the router gives an unspecified
    /// address to an instance that waits in Fault for its interface to get one, and replaces
    /// that instance once it does.
    pub fn with_primary(
        node: &mut Node,
        settings: InstanceSettings,
        primary: IpAddr,
    ) -> Result<Self, SettingsError> {
        let link = settings::link(&settings);
        let id = node.add(MemberConfig {
            name: settings.name.clone(),
            link: link.clone(),
            instance: settings::instance_config(&settings, primary)?,
            decode: settings::decode_options(&settings),
            checked_peers: settings::checked_peers(&settings),
            garp: settings.garp,
        })?;
        node.set_announce_pacing(id, settings.announce_spacing.clone())
            .expect("the instance was added just now");
        Ok(InstanceDriver {
            id,
            link,
            primary_address: primary,
            checksum: settings::checksum_form(&settings),
            settings,
            transition: Span::none(),
            release_span: Span::none(),
            cause: PendingCause::default(),
            refused: HashMap::new(),
            logged_refusals: HashSet::new(),
            known_master: None,
            notifier: Notifier::default(),
            removed_by_reload: false,
            last_transition: None,
            transitions: TransitionStats::default(),
            events: Vec::new(),
        })
    }

    /// Notes that a reload removed the instance, before it is stopped: its stop is notified
    /// as its notify settings say a removal is (keepalived's `notify_deleted`).
    pub fn mark_removed_by_reload(&mut self) {
        self.removed_by_reload = true;
    }

    /// The instance's id on the node.
    pub fn id(&self) -> InstanceId {
        self.id
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
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// The IP protocol its adverts travel in.
    pub fn carrier(&self) -> Carrier {
        settings::carrier(&self.settings)
    }

    /// The address its advertisements come from.
    pub fn primary_address(&self) -> IpAddr {
        self.primary_address
    }

    /// Advertises from `address` from now on, in the core too: the interface's primary
    /// address went and another took its place.
    pub fn move_source(&mut self, node: &mut Node, address: IpAddr) -> Result<(), NodeError> {
        node.set_primary_address(self.id, address)?;
        self.primary_address = address;
        Ok(())
    }

    /// Whether its source is whatever the interface's primary address is: no source was
    /// configured (keepalived moves or loses the source of such an instance with the
    /// interface's address, and leaves a configured one alone).
    pub fn follows_interface_source(&self) -> bool {
        self.settings
            .unicast
            .as_ref()
            .is_none_or(|unicast| unicast.source.is_none())
    }

    /// The instance's status now, for the API.
    pub fn status(&self, node: &Node) -> InstanceStatus {
        let instance = node
            .instance(self.id)
            .expect("a driver's instance stays on the node until the driver is dropped");
        InstanceStatus {
            settings: self.settings.clone(),
            state: instance.state(),
            base_priority: node
                .base_priority(self.id)
                .map_or(0, |priority| priority.get()),
            effective_priority: instance.priority().get(),
            master: node
                .master_view(self.id)
                .expect("a driver's instance stays on the node until the driver is dropped"),
            counters: instance.counters().clone(),
            decode_errors: node.decode_errors(self.id).unwrap_or_default(),
            last_transition: self.last_transition,
            // The router adds them: it keeps the checks.
            health_checks: Vec::new(),
            transitions: self.transitions.clone(),
            // The router adds it: it keeps the links.
            link_debounce: None,
            weights_ignored: node.weights_ignored(self.id).unwrap_or(false),
            // The router adds it: it keeps the groups.
            sync_group: None,
        }
    }

    /// The changes since the last call, oldest first, for the router to publish.
    pub fn take_events(&mut self) -> Vec<InstanceEvent> {
        std::mem::take(&mut self.events)
    }

    /// Notes that the request of `cause` may bring about the next transition (a `Resign`
    /// hands over when the successor speaks, a new priority preempts at the next timeout):
    /// that transition's span becomes a child of the request's. Both happen within
    /// Master_Down_Interval; twice that bounds how long the cause waits.
    pub fn expect_transition_from(&mut self, cause: Cause, now: Instant, node: &Node) {
        if let Some(instance) = node.instance(self.id) {
            self.cause
                .set(cause, now, instance.master_down_interval() * 2);
        }
    }

    /// Carries out one output of the node about this instance (every kind but `Transmit`,
    /// which the router sends, and the node-wide ones).
    pub fn carry_out(&mut self, now: Instant, output: Output, node: &Node, io: &Io) {
        // Only an accepted advert or a transition changes the master we follow.
        let master_may_change =
            matches!(output, Output::Transition(_) | Output::MasterHeard { .. });
        match output {
            Output::Transition(transition) => self.on_transition(now, &transition, io),
            Output::InstallAddresses { .. } => self.transition.in_scope(|| {
                // Accept mode off: the rule goes in before the address, as keepalived orders
                // them, so nothing reaches a service through the address in between.
                if drops_vip_traffic(&self.settings) {
                    io.vips.block(self.name(), self.held_vips(io));
                }
                io.vips
                    .install(self.name(), self.held_vips(io), InstallReason::TakeOver);
                io.vips.install_routing(
                    self.name(),
                    HeldRouting::of(&self.settings),
                    InstallReason::TakeOver,
                );
            }),
            Output::RemoveAddresses { after_grace, .. } => {
                let span = std::mem::replace(&mut self.release_span, Span::none());
                let parent = if after_grace {
                    span
                } else {
                    self.transition.clone()
                };
                parent.in_scope(|| self.release(io));
            }
            Output::Announce { messages, .. } => self.transition.in_scope(|| {
                io.vips.announce(self.name(), self.held_vips(io), messages);
            }),
            Output::AnnounceAddress { address, .. } => self.transition.in_scope(|| {
                let placed: Vec<PlacedVip> = self
                    .held_vips(io)
                    .into_iter()
                    .filter(|placed| placed.vip.address == address)
                    .collect();
                io.vips.announce(self.name(), placed, 1);
            }),
            Output::PriorityChanged {
                base_priority,
                effective_priority,
                check,
                ..
            } => {
                if let Some(instance) = node.instance(self.id) {
                    self.notifier.priority_changed(
                        &self.settings.name,
                        instance.state(),
                        effective_priority,
                        &self.settings.notify,
                    );
                }
                self.events.push(InstanceEvent::PriorityChanged {
                    instance: self.name().to_owned(),
                    base_priority,
                    effective_priority,
                    check,
                });
            }
            Output::LowerPriorityHeard { from, priority, .. } => {
                debug!(instance = self.name(), %from, priority, "master heard a lower priority");
                if let Some(instance) = node.instance(self.id) {
                    self.notifier.lower_priority_heard(
                        &self.settings.name,
                        instance.priority().get(),
                        &self.settings.notify,
                    );
                }
            }
            Output::MasterHeard { .. } => self.transitions.heard_master(now),
            Output::StillHeldByGroup { .. } => info!(
                instance = self.name(),
                "fault cleared; staying in Fault while the sync group is"
            ),
            Output::Refused { from, refusal, .. } => self.refuse(from, &refusal),
            Output::Transmit { .. }
            | Output::UnknownVrid { .. }
            | Output::GroupMoved { .. }
            | Output::GroupStateChanged { .. }
            | Output::GroupsUnsettled => {}
        }
        if master_may_change {
            let master = node
                .instance(self.id)
                .and_then(|instance| instance.master_address());
            if master != self.known_master {
                self.known_master = master;
                self.logged_refusals.clear();
            }
        }
    }

    /// The input whose outputs were carried out is over: VIP work that follows belongs to
    /// no transition.
    pub fn end_input(&mut self) {
        self.transition = Span::none();
    }

    fn on_transition(&mut self, now: Instant, transition: &Transition, io: &Io) {
        let Transition {
            from,
            to,
            reason,
            cause,
            ref check,
            base_priority,
            effective_priority,
            ref master,
            ..
        } = *transition;
        info!(
            instance = self.name(),
            vrid = self.settings.vrid,
            %from,
            %to,
            %reason,
            "state changed"
        );
        if self.removed_by_reload && to == State::Initialize {
            self.notifier.removed(
                &self.settings.name,
                from,
                effective_priority,
                &self.settings.notify,
            );
        } else {
            self.notifier.state_changed(
                &self.settings.name,
                to,
                effective_priority,
                &self.settings.notify,
            );
        }
        if self.settings.email_alerts {
            io.alerts
                .state_changed(&self.settings.name, to, effective_priority);
        }
        self.logged_refusals.clear();
        self.last_transition = Some((SystemTime::now(), cause));
        self.transitions
            .transition(now, &self.settings.name, to, cause);
        let request = self.cause.take(now);
        let span = trace::transition(
            &TransitionFields {
                instance: self.name(),
                vrid: self.settings.vrid,
                from,
                to,
                reason,
                base_priority,
                effective_priority,
                master: master.address,
            },
            request,
        );
        // Every transition ends a pending release, or starts one: a handover's removal comes
        // after the grace, as a child of the transition that began it.
        self.release_span = if from == State::Master && reason == TransitionReason::Resigned {
            span.clone()
        } else {
            Span::none()
        };
        self.events.push(InstanceEvent::Transition {
            instance: self.name().to_owned(),
            from,
            to,
            cause,
            check: check.clone(),
            base_priority,
            effective_priority,
            master: master.clone(),
            trace: trace::trace_ids(&span),
        });
        self.transition = span;
    }

    /// Counts a refused packet under its kind and logs it: a warning the first time the kind
    /// is seen under the current master, a debug line after that.
    fn refuse(&mut self, from: IpAddr, refusal: &Refusal) {
        let kind = match refusal {
            // Initialize and Fault ignore every packet by design: nothing to report.
            Refusal::Dropped(DropReason::NotRunning) => {
                debug!(instance = self.name(), %from, "advertisement ignored while not running");
                return;
            }
            Refusal::Dropped(reason) => RefusalKind::Dropped(*reason),
            Refusal::Decode(error) => RefusalKind::Decode(discriminant(error)),
            Refusal::UnknownPeer => RefusalKind::UnknownPeer,
        };
        let count = self.refused.entry(kind).or_default();
        *count += 1;
        let refused_so_far = *count;
        let why: &dyn std::fmt::Display = match refusal {
            Refusal::Dropped(reason) => reason,
            Refusal::Decode(error) => error,
            Refusal::UnknownPeer => &"the sender is not one of the configured unicast peers",
        };
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

    /// The addresses whose kernel lifetime the router's periodic renewal renews: every one
    /// the instance holds while master (a resigning master still holds them), none in any
    /// other state.
    pub fn renewable_vips(&self, node: &Node, io: &Io) -> Vec<PlacedVip> {
        if node.state(self.id) == Some(State::Master) {
            self.held_vips(io)
        } else {
            Vec::new()
        }
    }

    /// Someone (or the kernel) deleted `address` from the interface with `index`: while we
    /// are master and it is ours, put it back and announce it.
    pub fn address_removed(&self, index: u32, address: IpAddr, node: &Node, io: &Io) {
        if node.state(self.id) != Some(State::Master) {
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
    /// cannot): the node takes the new addresses, decoding, peers and announcements; a master
    /// installs added addresses, removes dropped ones and announces the added ones. The
    /// priority is the router's to set (a priority set over the API may stay).
    pub fn reconfigure(&mut self, new: InstanceSettings, node: &mut Node, io: &Io) {
        let old = std::mem::replace(&mut self.settings, new);
        self.checksum = settings::checksum_form(&self.settings);
        if let Err(error) = node.reconfigure(
            self.id,
            settings::advertised_addresses(&self.settings),
            settings::decode_options(&self.settings),
            settings::checked_peers(&self.settings),
            self.settings.garp,
        ) {
            error!(instance = self.name(), %error, "addresses not changed in the protocol core");
        }
        if let Err(error) =
            node.set_announce_pacing(self.id, self.settings.announce_spacing.clone())
        {
            error!(instance = self.name(), %error, "announcement spacing not changed");
        }
        if node.state(self.id) != Some(State::Master) {
            return;
        }
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

    /// Queues the removal of everything the master holds: its routes and rules, then its
    /// addresses (see [`crate::effects::routing`] for the order).
    fn release(&self, io: &Io) {
        io.vips.remove_routing(
            self.name(),
            HeldRouting::of(&self.settings),
            Removal::Release,
        );
        io.vips.remove(self.name(), self.held_vips(io));
    }

    /// Someone deleted a route of keepalived's protocol: while we are master and it is one
    /// of our tracked routes, put it back (see [`crate::effects::routing`] for why, where
    /// keepalived leaves Master).
    pub fn route_removed(&self, removed: &RemovedRoute, node: &Node, io: &Io) {
        if node.state(self.id) == Some(State::Master) {
            let lost = HeldRouting::tracked_route(&self.settings, removed);
            io.vips
                .install_routing(self.name(), lost, InstallReason::PutBack);
        }
    }

    /// Someone deleted a rule: while we are master and it is one of our tracked rules, put
    /// it back.
    pub fn rule_removed(&self, removed: &RemovedRule, node: &Node, io: &Io) {
        if node.state(self.id) == Some(State::Master) {
            let lost = HeldRouting::tracked_rule(&self.settings, removed);
            io.vips
                .install_routing(self.name(), lost, InstallReason::PutBack);
        }
    }

    /// Sends `advert` to the group, or to each unicast peer (RFC 9568 §5.1.1.2 allows a
    /// unicast destination where multicast is not available); under an IPsec Authentication
    /// Header with `ah_sequence` when the instance uses one.
    pub async fn send(&self, advert: &Advertisement, ah_sequence: Option<u32>, io: &Io) {
        let carrier = self.carrier();
        let Some(socket) = io.sockets.get(&self.link, carrier) else {
            error!(instance = self.name(), socket = %self.link, "no socket to advertise on");
            return;
        };
        let unicast = self.settings.unicast.as_ref();
        let unicast_ttl = unicast.map(|unicast| unicast.ttl);
        let peers = unicast
            .into_iter()
            .flat_map(UnicastSettings::peer_addresses);
        let group = unicast.is_none().then(|| self.link.family.vrrp_group());
        for destination in peers.chain(group) {
            // The VRRPv3 checksum covers a pseudo-header with the destination, so each
            // peer gets its own encoding.
            let payload = match advert.encode(self.primary_address, destination, self.checksum) {
                Ok(payload) => payload,
                Err(error) => {
                    error!(instance = self.name(), %error, "cannot encode the advertisement");
                    return;
                }
            };
            let payload = match (&advert.auth, ah_sequence, self.primary_address, destination) {
                (
                    Auth::AuthenticationHeader(key),
                    Some(sequence),
                    IpAddr::V4(source),
                    IpAddr::V4(destination),
                ) => ah::seal(&payload, source, destination, sequence, key, unicast_ttl),
                _ => payload,
            };
            let hop_limit = unicast_ttl.unwrap_or(VRRP_HOP_LIMIT);
            if let Err(error) = socket.send(&payload, destination, hop_limit).await {
                warn!(instance = self.name(), %error, priority = advert.priority, "advertisement not sent");
            }
        }
    }

    /// Every address the master holds, placed on its interface.
    fn held_vips(&self, io: &Io) -> Vec<PlacedVip> {
        place(&self.settings, &io.interfaces)
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
    fn a_new_driver_adds_its_instance_in_initialize_with_no_timer() {
        let mut node = Node::new();
        let driver = InstanceDriver::new(
            &mut node,
            settings(
                "[instances.a]\ninterface = \"eth0\"\nvrid = 7\nvirtual_addresses = [\"192.0.2.100/24\"]\n",
            ),
            &eth0(),
        )
        .expect("driver");
        assert_eq!(node.state(driver.id()), Some(State::Initialize));
        assert_eq!(node.poll_timeout(), None);
        assert_eq!(
            driver.primary_address(),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
        );
        assert_eq!(
            node.instance(driver.id())
                .map(|instance| instance.config().vrid),
            Some(7)
        );
    }

    #[test]
    fn an_ipv6_instance_needs_a_link_local_address() {
        let mut node = Node::new();
        let error = InstanceDriver::new(
            &mut node,
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
        assert_eq!(node.ids().count(), 0, "nothing added to the node");
    }
}
