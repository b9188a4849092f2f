//! The simulated LAN: instances on one virtual wire, driven by one virtual clock.
//!
//! Time is a fixed base `Instant` plus offsets; the next thing to happen is either a packet
//! arriving or an instance's timer, whichever is earlier, so a run is a pure function of its
//! seed. On a tie timers go first: what happens at one instant is concurrent, and a packet sent
//! at that instant cannot have been heard before a timer due at the same instant fired. The LAN carries out the instances' actions: it remembers who
//! holds the virtual addresses and puts each advertisement on the wire to every other node,
//! subject to the partition, the loss rate and the delay at the moment it is sent. Each link
//! is first-in first-out, as an Ethernet segment is: jitter spreads arrivals but never lets a
//! later advertisement overtake an earlier one from the same sender.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use vrrp_sidecar::vrrp::{
    Action, Advertisement, Command, DropReason, Instance, InstanceConfig, State, TransitionReason,
};

use super::rng::Rng;

/// How the wire treats a packet: delivered after `delay_min` plus up to `jitter`, unless lost.
#[derive(Clone, Copy, Debug)]
pub struct WireModel {
    pub delay_min: Duration,
    pub jitter: Duration,
    /// Probability that one copy (one sender to one receiver) is lost.
    pub loss: f64,
}

impl WireModel {
    pub fn max_delay(&self) -> Duration {
        self.delay_min + self.jitter
    }
}

/// One host on the LAN.
pub struct Node {
    pub config: InstanceConfig,
    /// `None` while the host is dead: off the wire, its timers stopped.
    pub instance: Option<Instance>,
    /// Whether the host has the virtual addresses installed.
    pub holds_vip: bool,
    /// Partition group: packets only cross between nodes of one group.
    pub group: u8,
}

impl Node {
    pub fn address(&self) -> IpAddr {
        self.config.primary_address
    }

    pub fn state(&self) -> Option<State> {
        self.instance.as_ref().map(Instance::state)
    }
}

/// Something that happened, kept to explain a failing seed.
pub enum TraceEvent {
    Sent {
        node: usize,
        priority: u8,
    },
    Lost {
        from: usize,
        to: usize,
    },
    Dropped {
        node: usize,
        reason: DropReason,
    },
    Transition {
        node: usize,
        from: State,
        to: State,
        reason: TransitionReason,
    },
    Command {
        node: usize,
        command: Command,
    },
    Crash {
        node: usize,
    },
    Restart {
        node: usize,
    },
    Wire {
        model: WireModel,
        groups: Vec<u8>,
    },
    Check {
        what: String,
    },
    Announced {
        node: usize,
        heard_by_client: bool,
    },
}

pub struct TraceLine {
    pub at: Duration,
    pub event: TraceEvent,
}

impl fmt::Display for TraceLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>14.6}ms  ", self.at.as_nanos() as f64 / 1e6)?;
        match &self.event {
            TraceEvent::Sent { node, priority } => {
                write!(f, "n{node} sends advert prio {priority}")
            }
            TraceEvent::Lost { from, to } => write!(f, "n{from} -> n{to} lost"),
            TraceEvent::Dropped { node, reason } => write!(f, "n{node} drops advert: {reason}"),
            TraceEvent::Transition {
                node,
                from,
                to,
                reason,
            } => {
                write!(f, "n{node} {from} -> {to} ({reason})")
            }
            TraceEvent::Command { node, command } => write!(f, "n{node} command {command:?}"),
            TraceEvent::Crash { node } => write!(f, "n{node} crashes"),
            TraceEvent::Restart { node } => write!(f, "n{node} restarts"),
            TraceEvent::Wire { model, groups } => write!(
                f,
                "wire: delay {:?}+{:?}, loss {:.2}, groups {groups:?}",
                model.delay_min, model.jitter, model.loss
            ),
            TraceEvent::Check { what } => write!(f, "check: {what}"),
            TraceEvent::Announced {
                node,
                heard_by_client,
            } => write!(
                f,
                "n{node} announces the addresses{}",
                if *heard_by_client {
                    ", the client follows"
                } else {
                    " out of the client's reach"
                }
            ),
        }
    }
}

/// A packet on its way to one receiver.
struct InFlight {
    at: Duration,
    sequence: u64,
    from: usize,
    to: usize,
    advert: Rc<Advertisement>,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for InFlight {}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InFlight {
    /// Reversed, so the max-heap yields the earliest arrival; the sequence number breaks ties
    /// in sending order, which keeps runs deterministic.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}

pub struct Lan {
    base: Instant,
    now: Duration,
    pub nodes: Vec<Node>,
    wire: WireModel,
    in_flight: BinaryHeap<InFlight>,
    /// The latest arrival scheduled on each (from, to) link, to keep links FIFO.
    last_arrival: Vec<Vec<Duration>>,
    sequence: u64,
    rng: Rng,
    pub trace: Vec<TraceLine>,
    /// The node whose announcement (gratuitous ARP or unsolicited NA) the client heard last,
    /// which is where its neighbour entry sends traffic for the addresses; `None` before any,
    /// when it would resolve the addresses and reach whoever holds them. The client sits in
    /// partition group [`CLIENT_GROUP`].
    pub client: Option<usize>,
}

/// The partition group the client is in.
pub const CLIENT_GROUP: u8 = 0;

impl Lan {
    pub fn new(configs: Vec<InstanceConfig>, wire: WireModel, rng: Rng) -> Self {
        let nodes = configs
            .into_iter()
            .map(|config| Node {
                instance: Some(
                    Instance::new(config.clone()).expect("scenarios build valid configs"),
                ),
                config,
                holds_vip: false,
                group: 0,
            })
            .collect::<Vec<_>>();
        let count = nodes.len();
        Lan {
            last_arrival: vec![vec![Duration::ZERO; count]; count],
            base: Instant::now(),
            now: Duration::ZERO,
            nodes,
            wire,
            in_flight: BinaryHeap::new(),
            sequence: 0,
            rng,
            trace: Vec::new(),
            client: None,
        }
    }

    pub fn now(&self) -> Duration {
        self.now
    }

    pub fn wire(&self) -> WireModel {
        self.wire
    }

    fn record(&mut self, event: TraceEvent) {
        self.trace.push(TraceLine {
            at: self.now,
            event,
        });
    }

    pub fn note(&mut self, what: String) {
        self.record(TraceEvent::Check { what });
    }

    pub fn set_wire(&mut self, wire: WireModel, groups: Vec<u8>) {
        for (node, group) in self.nodes.iter_mut().zip(&groups) {
            node.group = *group;
        }
        self.wire = wire;
        self.record(TraceEvent::Wire {
            model: wire,
            groups,
        });
    }

    /// Gives `command` to node `index`'s instance; the caller expects it to be accepted.
    pub fn command(&mut self, index: usize, command: Command) {
        self.record(TraceEvent::Command {
            node: index,
            command,
        });
        let now = self.base + self.now;
        let instance = self.nodes[index]
            .instance
            .as_mut()
            .expect("commands go to live nodes");
        instance
            .handle_command(now, command)
            .expect("the scenario only gives commands the state allows");
        self.carry_out(index);
    }

    /// The host dies: it leaves the wire and its timers stop. Its addresses die with it.
    pub fn crash(&mut self, index: usize) {
        self.record(TraceEvent::Crash { node: index });
        self.nodes[index].instance = None;
        self.nodes[index].holds_vip = false;
    }

    /// The host comes back with a fresh instance, which starts.
    pub fn restart(&mut self, index: usize) {
        self.record(TraceEvent::Restart { node: index });
        let config = self.nodes[index].config.clone();
        self.nodes[index].instance =
            Some(Instance::new(config).expect("scenarios build valid configs"));
        self.command(index, Command::Startup);
    }

    /// Runs every packet and timer due up to and including `until`, calling `observe` after
    /// each step so properties can be checked at every instant something changes.
    pub fn run_until(&mut self, until: Duration, mut observe: impl FnMut(&Lan)) {
        loop {
            let next_packet = self.in_flight.peek().map(|packet| packet.at);
            let next_timer = self
                .nodes
                .iter()
                .enumerate()
                .filter_map(|(index, node)| {
                    let deadline = node.instance.as_ref()?.poll_timeout()?;
                    Some((deadline - self.base, index))
                })
                .min();
            match (next_packet, next_timer) {
                (Some(at), timer) if at <= until && timer.is_none_or(|(t, _)| at < t) => {
                    let packet = self.in_flight.pop().expect("peeked above");
                    self.now = at;
                    self.deliver(packet);
                }
                (_, Some((at, index))) if at <= until => {
                    self.now = at;
                    let now = self.base + at;
                    let instance = self.nodes[index]
                        .instance
                        .as_mut()
                        .expect("only live nodes have timers");
                    instance.handle_timeout(now);
                    self.carry_out(index);
                }
                _ => break,
            }
            observe(self);
        }
        self.now = until;
    }

    fn deliver(&mut self, packet: InFlight) {
        let from = self.nodes[packet.from].address();
        let now = self.base + self.now;
        let Some(instance) = self.nodes[packet.to].instance.as_mut() else {
            return;
        };
        if let Err(reason) = instance.handle_packet(now, from, &packet.advert) {
            self.record(TraceEvent::Dropped {
                node: packet.to,
                reason,
            });
        }
        self.carry_out(packet.to);
    }

    fn carry_out(&mut self, index: usize) {
        while let Some(action) = self.nodes[index]
            .instance
            .as_mut()
            .and_then(Instance::poll_action)
        {
            match action {
                Action::SendAdvertisement(advert) => self.broadcast(index, advert),
                Action::InstallAddresses(_) => self.nodes[index].holds_vip = true,
                Action::RemoveAddresses(_) => self.nodes[index].holds_vip = false,
                Action::Announce(_) => {
                    let heard_by_client = self.nodes[index].group == CLIENT_GROUP;
                    if heard_by_client {
                        self.client = Some(index);
                    }
                    self.record(TraceEvent::Announced {
                        node: index,
                        heard_by_client,
                    });
                }
                Action::StateChanged { from, to, reason } => self.record(TraceEvent::Transition {
                    node: index,
                    from,
                    to,
                    reason,
                }),
                // A notification only; the simulated LAN has no notify programs.
                Action::LowerPriorityHeard { .. } => {}
            }
        }
    }

    fn broadcast(&mut self, from: usize, advert: Advertisement) {
        self.record(TraceEvent::Sent {
            node: from,
            priority: advert.priority,
        });
        let advert = Rc::new(advert);
        for to in 0..self.nodes.len() {
            if to == from || self.nodes[to].group != self.nodes[from].group {
                continue;
            }
            if self.wire.loss > 0.0 && self.rng.chance(self.wire.loss) {
                self.record(TraceEvent::Lost { from, to });
                continue;
            }
            let at = (self.now + self.wire.delay_min + self.rng.duration_up_to(self.wire.jitter))
                .max(self.last_arrival[from][to]);
            self.last_arrival[from][to] = at;
            self.sequence += 1;
            self.in_flight.push(InFlight {
                at,
                sequence: self.sequence,
                from,
                to,
                advert: Rc::clone(&advert),
            });
        }
    }

    /// Live nodes currently in `state`.
    pub fn in_state(&self, state: State) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&index| self.nodes[index].state() == Some(state))
            .collect()
    }

    /// Live nodes holding the virtual addresses.
    pub fn vip_holders(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&index| self.nodes[index].instance.is_some() && self.nodes[index].holds_vip)
            .collect()
    }

    /// Whether the client's traffic for the addresses reaches a holder: it follows the last
    /// announcement it heard to a live node holding them, or it heard none and resolves them.
    pub fn client_reaches_a_holder(&self) -> bool {
        match self.client {
            None => true,
            Some(node) => self.vip_holders().contains(&node),
        }
    }

    /// The trace, one event per line.
    pub fn render_trace(&self) -> String {
        self.trace.iter().map(|line| format!("{line}\n")).collect()
    }
}
