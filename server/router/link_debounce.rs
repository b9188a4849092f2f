//! The delays before the router acts on a link change (`[link_debounce]`, keepalived's
//! `interface_up_down_delays`): one [`LinkDebouncer`] per listed interface that an instance
//! runs on. The timing rules are the core's ([`crate::vrrp::link_debounce`]); this keeps
//! them by interface name and fits the delays to the instances on each interface.

use std::collections::HashMap;
use std::time::Instant;

use tracing::{info, warn};

use crate::config::{InstanceSettings, LinkDebounceSettings};
use crate::events::status::{LinkDebounceStatus, PendingLinkChange};
use crate::net::Interface;
use crate::vrrp::{DelayFit, LinkDebouncer, LinkVerdict, fit_delays};

/// The debounced links, by interface name.
#[derive(Debug, Default)]
pub struct LinkDebounce {
    links: HashMap<String, LinkDebouncer>,
}

impl LinkDebounce {
    /// Takes up `entries` for the interfaces some instance of `instances` runs on. The
    /// delays are fitted to every such instance as keepalived 2.2.7 does
    /// (`vrrp_complete_instance()` in keepalived/vrrp/vrrp.c), with its log lines. A link
    /// already debounced keeps its state and pending change; a new one starts from
    /// `interfaces`' view of the link.
    pub fn configure<'a>(
        &mut self,
        entries: &[LinkDebounceSettings],
        instances: impl Iterator<Item = &'a InstanceSettings> + Clone,
        interfaces: &HashMap<String, Interface>,
    ) {
        let mut links = HashMap::new();
        for entry in entries {
            let mut delays = entry.delays;
            let mut used = false;
            for instance in instances
                .clone()
                .filter(|instance| instance.interface == entry.interface)
            {
                used = true;
                let (fitted, fit) = fit_delays(
                    delays,
                    instance.down_timer_adverts,
                    instance.advert_interval,
                );
                match fit {
                    DelayFit::Kept => {}
                    DelayFit::Shortened { limit } => warn!(
                        instance = %instance.name,
                        interface = %entry.interface,
                        limit_us = limit.as_micros(),
                        "link_debounce delay(s) not less than {} * advert_int; shortened, as \
                         keepalived does",
                        instance.down_timer_adverts.get() - 1,
                    ),
                    DelayFit::TurnedOff => warn!(
                        instance = %instance.name,
                        interface = %entry.interface,
                        "cannot use link_debounce delays with down_timer_adverts = 1; turned \
                         off, as keepalived does"
                    ),
                }
                delays = fitted;
            }
            if !used {
                warn!(interface = %entry.interface, "link_debounce: no instance runs on this interface; its delays do nothing");
                continue;
            }
            let Some(interface) = interfaces.get(&entry.interface) else {
                continue;
            };
            let link = match self.links.remove(&entry.interface) {
                Some(mut link) => {
                    link.set_delays(delays);
                    link
                }
                None => LinkDebouncer::new(delays, interface.running),
            };
            info!(
                interface = %entry.interface,
                down_delay_us = delays.down.as_micros(),
                up_delay_us = delays.up.as_micros(),
                "link changes are debounced"
            );
            links.insert(entry.interface.clone(), link);
        }
        self.links = links;
    }

    /// What the link of `interface` going `up` (or down) at `now` means; links without
    /// delays are acted on at once.
    pub fn link_changed(&mut self, now: Instant, interface: &str, up: bool) -> LinkVerdict {
        let Some(link) = self.links.get_mut(interface) else {
            return LinkVerdict::Apply(up);
        };
        let verdict = link.link_changed(now, up);
        let direction = if up { "up" } else { "down" };
        match verdict {
            LinkVerdict::Delayed(pending) => info!(
                %interface,
                delay_ms = pending.at.saturating_duration_since(now).as_millis(),
                "link {direction}; acted on when its delay ends, unless it changes back"
            ),
            LinkVerdict::Cancelled => info!(
                %interface,
                "link {direction} again before its delay ended; nothing changes"
            ),
            LinkVerdict::Apply(_) | LinkVerdict::Unchanged => {}
        }
        verdict
    }

    /// When the next delay ends.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.links
            .values()
            .filter_map(LinkDebouncer::poll_timeout)
            .min()
    }

    /// The changes whose delay has ended by `now`: interface name, and whether its link is
    /// now taken as up.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<(String, bool)> {
        let mut due = Vec::new();
        for (name, link) in &mut self.links {
            if let Some(up) = link.handle_timeout(now) {
                info!(interface = %name, up, "link stayed so for its delay; acting on it");
                due.push((name.clone(), up));
            }
        }
        due
    }

    /// What an operator sees of `interface`'s debouncing at `now`.
    pub fn status(&self, interface: &str, now: Instant) -> Option<LinkDebounceStatus> {
        let link = self.links.get(interface)?;
        let delays = link.delays();
        Some(LinkDebounceStatus {
            down_delay: delays.down,
            up_delay: delays.up,
            pending: link.pending().map(|pending| PendingLinkChange {
                up: pending.up,
                remaining: pending.at.saturating_duration_since(now),
            }),
        })
    }
}
