//! Virtual routes and rules: installed when an instance becomes master, after its addresses
//! (a route's `src` is often a virtual address, which the kernel wants present), and removed
//! when it leaves Master, before its addresses, the order keepalived 2.2.7 keeps
//! (`vrrp_state_become_master()` and `vrrp_restore_interface()` in `keepalived/vrrp/vrrp.c`).
//! The work goes through the VIP worker's queue, so that order holds and no VRRP timer waits
//! for netlink.
//!
//! A tracked route or rule (not `no_track`) that someone deletes while we are master is put
//! back, as the VIPs are. keepalived 2.2.7 instead leaves MASTER when that happens:
//! `netlink_route_filter()` and `netlink_rule_filter()` in `keepalived/core/keepalived_netlink.c`
//! call `set_vrrp_backup()`, which sends a priority-0 advert, removes the addresses, routes and
//! rules, and arms a Skew_Time master-down timer, so that the instance (or a peer) takes over
//! again a moment later and adds everything back. The end state is the same routes on a
//! master; putting back in place reaches it without the failover, which is what
//! keepalived's users ask for (its issues #836 and #2479) and what this daemon does for VIPs.

use std::time::Instant;

use tracing::{error, info, warn};

use crate::config::{Config, InstanceSettings, VirtualRoute, VirtualRule};
use crate::net::{RemovedRoute, RemovedRule, Routing};

use super::vips::{InstallReason, VipWorker, micros};

/// The routes and rules an instance holds while master, in the order they are added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeldRouting {
    /// Routes, added first.
    pub routes: Vec<VirtualRoute>,
    /// Rules, added after the routes (a rule may send packets to a table they fill).
    pub rules: Vec<VirtualRule>,
}

impl HeldRouting {
    /// Every route and rule `settings` holds as master.
    pub fn of(settings: &InstanceSettings) -> Self {
        HeldRouting {
            routes: settings.virtual_routes.clone(),
            rules: settings.virtual_rules.clone(),
        }
    }

    /// Whether there is nothing to hold.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.rules.is_empty()
    }

    /// The static routes and rules of `config` (keepalived's `static_routes` and
    /// `static_rules`).
    pub fn static_of(config: &Config) -> Self {
        HeldRouting {
            routes: config.static_routes.clone(),
            rules: config.static_rules.clone(),
        }
    }

    /// The tracked routes of `settings` that `removed` is.
    pub fn tracked_route(settings: &InstanceSettings, removed: &RemovedRoute) -> Self {
        Self::of(settings).tracked_route_among(removed)
    }

    /// The tracked rules of `settings` that `removed` is.
    pub fn tracked_rule(settings: &InstanceSettings, removed: &RemovedRule) -> Self {
        Self::of(settings).tracked_rule_among(removed)
    }

    /// Those of these tracked routes that `removed` is.
    fn tracked_route_among(&self, removed: &RemovedRoute) -> Self {
        HeldRouting {
            routes: self
                .routes
                .iter()
                .filter(|route| !route.no_track && removed.is(route))
                .cloned()
                .collect(),
            rules: Vec::new(),
        }
    }

    /// Those of these tracked rules that `removed` is.
    fn tracked_rule_among(&self, removed: &RemovedRule) -> Self {
        HeldRouting {
            routes: Vec::new(),
            rules: self
                .rules
                .iter()
                .filter(|rule| !rule.no_track && removed.is(rule))
                .cloned()
                .collect(),
        }
    }

    /// What `self` holds that `other` does not.
    pub fn without(&self, other: &HeldRouting) -> HeldRouting {
        HeldRouting {
            routes: self
                .routes
                .iter()
                .filter(|route| !other.routes.contains(route))
                .cloned()
                .collect(),
            rules: self
                .rules
                .iter()
                .filter(|rule| !other.rules.contains(rule))
                .cloned()
                .collect(),
        }
    }
}

/// What the log lines of static routes and rules name as their instance.
const STATIC: &str = "(static)";

/// The static routes and rules (keepalived's `static_routes` and `static_rules`): added when
/// the daemon starts, whatever the instances' states, removed when it stops, put back when
/// someone deletes a tracked one (as keepalived's `reinstate_static_route()` and
/// `reinstate_static_rule()` do), and changed by a reload. keepalived 2.2.7 adds them at
/// start and removes them at exit too (`keepalived/vrrp/vrrp_daemon.c`).
#[derive(Debug, Default)]
pub struct StaticRouting {
    held: HeldRouting,
}

impl StaticRouting {
    /// The static routes and rules of a configuration, not added yet.
    pub fn new(held: HeldRouting) -> Self {
        StaticRouting { held }
    }

    /// Adds them all.
    pub fn start(&self, vips: &VipWorker) {
        vips.install_routing(STATIC, self.held.clone(), InstallReason::TakeOver);
    }

    /// Removes them all.
    pub fn stop(&self, vips: &VipWorker) {
        vips.remove_routing(STATIC, self.held.clone(), Removal::Release);
    }

    /// Puts back the tracked static route `removed` is, if it is one.
    pub fn route_removed(&self, removed: &RemovedRoute, vips: &VipWorker) {
        let lost = self.held.tracked_route_among(removed);
        vips.install_routing(STATIC, lost, InstallReason::PutBack);
    }

    /// Puts back the tracked static rule `removed` is, if it is one.
    pub fn rule_removed(&self, removed: &RemovedRule, vips: &VipWorker) {
        let lost = self.held.tracked_rule_among(removed);
        vips.install_routing(STATIC, lost, InstallReason::PutBack);
    }

    /// Moves to the static routes and rules of a reloaded configuration: removes those that
    /// went, adds those that came.
    pub fn reload(&mut self, new: HeldRouting, vips: &VipWorker) {
        vips.remove_routing(STATIC, self.held.without(&new), Removal::Release);
        vips.install_routing(STATIC, new.without(&self.held), InstallReason::Reload);
        self.held = new;
    }
}

/// Adds `held`: routes first, then rules.
pub async fn install(routing: &Routing, instance: &str, held: &HeldRouting, reason: InstallReason) {
    for route in &held.routes {
        let started = Instant::now();
        let result = routing.add_route(route).await;
        log_install(
            instance,
            "route",
            &route.to_string(),
            result,
            reason,
            started,
        );
    }
    for rule in &held.rules {
        let started = Instant::now();
        let result = routing.add_rule(rule).await;
        log_install(instance, "rule", &rule.to_string(), result, reason, started);
    }
}

/// Why routes and rules are removed, which decides what is logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// The instance left Master (or stops, or a reload dropped them).
    Release,
    /// Before the instance first enters Backup: an earlier run killed while master left
    /// them, and a backup must not route as the master does. The delete carries every
    /// attribute of the entry (its protocol, where it has one), so it removes only an
    /// identical one.
    Stale,
}

/// Removes `held`: rules first, then routes, the reverse of [`install`].
pub async fn remove(routing: &Routing, instance: &str, held: &HeldRouting, why: Removal) {
    for rule in &held.rules {
        let result = routing.remove_rule(rule).await;
        log_removal(instance, "rule", &rule.to_string(), result, why);
    }
    for route in &held.routes {
        let result = routing.remove_route(route).await;
        log_removal(instance, "route", &route.to_string(), result, why);
    }
}

fn log_removal(
    instance: &str,
    what: &str,
    spec: &str,
    result: Result<bool, crate::net::RoutingError>,
    why: Removal,
) {
    match (result, why) {
        (Err(error), _) => error!(instance, %error, "could not remove a virtual {what}"),
        (Ok(true), Removal::Release) => {
            info!(instance, what, spec, "removed a virtual route or rule")
        }
        (Ok(true), Removal::Stale) => warn!(
            instance,
            what,
            spec,
            "removed a virtual route or rule left by an earlier run before starting as backup"
        ),
        (Ok(false), _) => {}
    }
}

fn log_install(
    instance: &str,
    what: &str,
    spec: &str,
    result: Result<(), crate::net::RoutingError>,
    reason: InstallReason,
    started: Instant,
) {
    let elapsed_us = micros(started.elapsed());
    match (result, reason) {
        (Err(error), _) => error!(instance, %error, "could not install a virtual {what}"),
        (Ok(()), InstallReason::PutBack) => {
            warn!(
                instance,
                what, spec, elapsed_us, "put back a virtual route or rule someone removed"
            );
        }
        (Ok(()), _) => info!(
            instance,
            what, spec, elapsed_us, "installed a virtual route or rule"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Format};

    fn settings() -> InstanceSettings {
        Config::from_str(
            "[instances.a]\ninterface = \"eth0\"\nvrid = 7\n\
             virtual_addresses = [\"192.0.2.100/24\"]\n\
             virtual_routes = [\"198.51.100.0/24 dev eth0 table 100\", \
             \"198.51.100.0/24 dev eth0 table 101 no_track\"]\n\
             virtual_rules = [\"from 192.0.2.100 table 100 priority 100\"]\n",
            Format::Toml,
            "test.toml",
        )
        .expect("valid test config")
        .instances
        .remove(0)
    }

    #[test]
    fn a_reload_removes_what_went_and_adds_what_came() {
        let before = HeldRouting::of(&settings());
        let mut changed = settings();
        changed.virtual_routes.remove(0);
        changed.virtual_rules[0].priority = 200;
        let after = HeldRouting::of(&changed);
        let removed = before.without(&after);
        assert_eq!(removed.routes, [settings().virtual_routes[0].clone()]);
        assert_eq!(removed.rules, settings().virtual_rules);
        let added = after.without(&before);
        assert!(added.routes.is_empty());
        assert_eq!(added.rules, changed.virtual_rules);
        assert!(HeldRouting::default().is_empty());
    }
}
