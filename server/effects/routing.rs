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

use crate::config::routes::{RouteType, RuleAction};
use crate::config::{Config, InstanceSettings, VirtualRoute, VirtualRule};
use crate::net::routes::RuleAction as KernelRuleAction;
use crate::net::{RemovedRoute, RemovedRule, RouteEntry, Routing, RuleEntry};

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
                .filter(|route| !route.no_track && is_route(removed, route))
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
                .filter(|rule| !rule.no_track && is_rule(removed, rule))
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
        let result = routing.add_route(&route_entry(route)).await;
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
        let result = routing.add_rule(&rule_entry(rule)).await;
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
        let result = routing.remove_rule(&rule_entry(rule)).await;
        log_removal(instance, "rule", &rule.to_string(), result, why);
    }
    for route in &held.routes {
        let result = routing.remove_route(&route_entry(route)).await;
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

/// `route` as the kernel takes it. A route that names no scope gets universe, as
/// keepalived's `netlink_route()` sends, except local routes (host) and broadcast and anycast
/// ones (link), which is what `ip route add` gives those types.
fn route_entry(route: &VirtualRoute) -> RouteEntry {
    let default_scope = match route.kind {
        RouteType::Local => 254,
        RouteType::Broadcast | RouteType::Anycast => 253,
        _ => 0,
    };
    RouteEntry {
        family: route.family,
        kind: route.kind.number(),
        destination: (route.destination.address, route.destination.len),
        from: route.from.map(|from| (from.address, from.len)),
        source: route.source,
        via: route.via,
        device: route.device.clone(),
        table: route.table,
        scope: route.scope.unwrap_or(default_scope),
        protocol: route.effective_protocol(),
        metric: route.metric,
        tos: route.tos.unwrap_or(0),
        onlink: route.onlink,
        spec: route.to_string(),
    }
}

/// `rule` as the kernel takes it.
fn rule_entry(rule: &VirtualRule) -> RuleEntry {
    RuleEntry {
        family: rule.family,
        from: rule.from.map(|from| (from.address, from.len)),
        to: rule.to.map(|to| (to.address, to.len)),
        invert: rule.invert,
        priority: rule.priority,
        tos: rule.tos.unwrap_or(0),
        fwmark: rule.fwmark.map(|fwmark| (fwmark.mark, fwmark.mask)),
        input_device: rule.input_device.clone(),
        output_device: rule.output_device.clone(),
        suppress_prefix_len: rule.suppress_prefix_len,
        protocol: rule.effective_protocol(),
        action: match rule.action {
            RuleAction::Table(table) => KernelRuleAction::Table(table),
            RuleAction::Goto(target) => KernelRuleAction::Goto(target),
            RuleAction::Nop => KernelRuleAction::Nop,
            RuleAction::Blackhole => KernelRuleAction::Blackhole,
            RuleAction::Unreachable => KernelRuleAction::Unreachable,
            RuleAction::Prohibit => KernelRuleAction::Prohibit,
        },
        spec: rule.to_string(),
    }
}

/// Whether the deleted `removed` is `route`: the kernel tells routes of one table apart by
/// destination, TOS and metric; the metric counts only where the route names one, since the
/// kernel gives IPv6 routes 1024 by default.
fn is_route(removed: &RemovedRoute, route: &VirtualRoute) -> bool {
    removed.family == route.family
        && removed.table == route.table
        && removed.destination == (route.destination.address, route.destination.len)
        && removed.tos == route.tos.unwrap_or(0)
        && removed.protocol == route.effective_protocol()
        && route
            .metric
            .is_none_or(|metric| removed.metric == Some(metric))
}

/// Whether the deleted `removed` is `rule`: same family, preference and selectors.
fn is_rule(removed: &RemovedRule, rule: &VirtualRule) -> bool {
    let prefix = |prefix: Option<crate::config::routes::Prefix>| {
        prefix.map(|prefix| (prefix.address, prefix.len))
    };
    removed.family == rule.family
        && removed.priority == rule.priority
        && removed.from == prefix(rule.from)
        && removed.to == prefix(rule.to)
        && removed
            .protocol
            .is_none_or(|protocol| Some(protocol) == rule.effective_protocol())
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

    fn route(text: &str) -> VirtualRoute {
        crate::config::routes::read_route(text)
            .expect("a valid route")
            .value
    }

    fn rule(text: &str) -> VirtualRule {
        crate::config::routes::read_rule(text, 1)
            .expect("a valid rule")
            .value
    }

    #[test]
    fn a_deleted_route_is_recognised_by_table_destination_and_protocol() {
        let ours = route("198.51.100.0/24 via 192.0.2.1 dev eth0 table 100");
        let removed = RemovedRoute {
            family: crate::config::Family::Ipv4,
            table: 100,
            destination: ("198.51.100.0".parse().expect("an address"), 24),
            tos: 0,
            metric: None,
            protocol: crate::config::routes::PROTOCOL_KEEPALIVED,
        };
        assert!(is_route(&removed, &ours));
        assert!(!is_route(
            &removed,
            &route("198.51.100.0/24 dev eth0 table 101")
        ));
        assert!(!is_route(
            &removed,
            &route("198.51.100.0/25 dev eth0 table 100")
        ));
        assert!(!is_route(
            &removed,
            &route("198.51.100.0/24 dev eth0 table 100 metric 5")
        ));
        assert!(!is_route(
            &removed,
            &route("198.51.100.0/24 dev eth0 table 100 protocol static no_track")
        ));
    }

    #[test]
    fn a_deleted_rule_is_recognised_by_preference_and_selectors() {
        let ours = rule("from 192.0.2.10/32 table 100 priority 100");
        let removed = RemovedRule {
            family: crate::config::Family::Ipv4,
            priority: 100,
            protocol: Some(crate::config::routes::PROTOCOL_KEEPALIVED),
            from: Some(("192.0.2.10".parse().expect("an address"), 32)),
            to: None,
        };
        assert!(is_rule(&removed, &ours));
        assert!(!is_rule(
            &removed,
            &rule("from 192.0.2.10/32 table 100 priority 101")
        ));
        assert!(!is_rule(
            &removed,
            &rule("from 192.0.2.11/32 table 100 priority 100")
        ));
        let entry = rule_entry(&rule("from 192.0.2.10/32 table 100 priority 100 no_track"));
        assert_eq!(
            entry.protocol, None,
            "an untracked rule carries no protocol"
        );
        assert_eq!(entry.action, KernelRuleAction::Table(100));
        assert_eq!(route_entry(&route("local 192.0.2.7 dev eth0")).scope, 254);
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
