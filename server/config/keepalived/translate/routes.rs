//! `virtual_routes` and `virtual_rules`, read entry by entry as keepalived 2.2.7 reads them
//! (`alloc_route()` in `keepalived/vrrp/vrrp_iproute.c`, `alloc_rule()` in
//! `keepalived/vrrp/vrrp_iprule.c`), into the native lists of `ip route` / `ip rule` text.
//!
//! keepalived skips an entry it cannot read, with an error in its log, and runs the instance
//! without it; so an entry that does not read is left out here with a warning. What it
//! corrects with a warning (`gw`, a tracked entry's protocol, a rule's missing preference, a
//! tracked route without `dev`) is corrected the same way, with a warning saying so.

use toml::Value;

use super::super::super::error::FieldPath;
use super::super::super::routes::{
    FIRST_DEFAULT_RULE_PRIORITY, Leniency, PROTOCOL_KEEPALIVED, read_route, read_rule,
};
use super::super::super::settings::Family;
use super::super::parse::Node;
use super::{InstanceTranslation, Translator};

/// The top-level `static_routes` and `static_rules` entries, as native text.
#[derive(Debug, Default)]
pub(super) struct StaticRouting {
    pub(super) routes: Vec<Value>,
    pub(super) rules: Vec<Value>,
}

/// The preference the next rule without one gets, per family, counting down in file order
/// across instances as keepalived's `next_rule_priority_ipv4` / `_ipv6` do.
#[derive(Debug)]
pub(super) struct RulePriorities {
    ipv4: u32,
    ipv6: u32,
}

impl Default for RulePriorities {
    fn default() -> Self {
        RulePriorities {
            ipv4: FIRST_DEFAULT_RULE_PRIORITY,
            ipv6: FIRST_DEFAULT_RULE_PRIORITY,
        }
    }
}

impl Translator<'_> {
    /// `virtual_routes { ... }` of an instance.
    pub(super) fn virtual_routes(
        &mut self,
        node: &Node,
        keyword_path: &FieldPath,
        path: &FieldPath,
        instance: &mut InstanceTranslation,
    ) {
        let routes = self.route_entries(node, keyword_path, &path.key("virtual_routes"));
        let origin = Self::origin(node, keyword_path);
        self.set(&mut instance.table, path, "virtual_routes", routes, origin);
    }

    /// `virtual_rules { ... }` of an instance.
    pub(super) fn virtual_rules(
        &mut self,
        node: &Node,
        keyword_path: &FieldPath,
        path: &FieldPath,
        instance: &mut InstanceTranslation,
    ) {
        let rules = self.rule_entries(node, keyword_path, &path.key("virtual_rules"));
        let origin = Self::origin(node, keyword_path);
        self.set(&mut instance.table, path, "virtual_rules", rules, origin);
    }

    /// A top-level `static_routes { ... }` or `static_rules { ... }`, added to those of
    /// earlier blocks (keepalived lets a file have several).
    pub(super) fn static_routing(&mut self, node: &Node) {
        let path = FieldPath::root().key(&node.keyword);
        let origin = Self::origin(node, &path);
        self.origins.entry(path.clone()).or_insert(origin);
        let routes = node.keyword == "static_routes";
        let first = if routes {
            self.static_routing.routes.len()
        } else {
            self.static_routing.rules.len()
        };
        let entries = if routes {
            self.route_entries_from(node, &path, &path, first)
        } else {
            self.rule_entries_from(node, &path, &path, first)
        };
        if routes {
            self.static_routing.routes.extend(entries);
        } else {
            self.static_routing.rules.extend(entries);
        }
    }

    fn route_entries(
        &mut self,
        node: &Node,
        keyword_path: &FieldPath,
        native_path: &FieldPath,
    ) -> Value {
        Value::Array(self.route_entries_from(node, keyword_path, native_path, 0))
    }

    fn rule_entries(
        &mut self,
        node: &Node,
        keyword_path: &FieldPath,
        native_path: &FieldPath,
    ) -> Value {
        Value::Array(self.rule_entries_from(node, keyword_path, native_path, 0))
    }

    /// The routes of `node`'s block as native text; the first is element `first` of the
    /// native list at `native_path`.
    fn route_entries_from(
        &mut self,
        node: &Node,
        keyword_path: &FieldPath,
        native_path: &FieldPath,
        first: usize,
    ) -> Vec<Value> {
        let mut routes = Vec::new();
        for entry in self.block(node, keyword_path) {
            let entry_path = keyword_path.key(&entry.keyword);
            let Some(text) = self.entry_text(entry, &entry_path) else {
                continue;
            };
            let read = match read_route(&text) {
                Ok(read) => read,
                Err(message) => {
                    self.warn(entry, &entry_path, skipped(&message));
                    continue;
                }
            };
            for leniency in &read.leniencies {
                self.warn(entry, &entry_path, corrected(leniency));
            }
            let mut route = read.value;
            if !route.no_track && route.device.is_none() {
                // vrrp_iproute.c: "cannot track route ... with no interface specified, not
                // tracking".
                self.warn(
                    entry,
                    &entry_path,
                    "not tracked, as keepalived does not track a route without `dev`: \
                     deleting it is not undone (written as no_track)",
                );
                route.no_track = true;
            }
            self.origins.insert(
                native_path.index(first + routes.len()),
                Self::origin(entry, &entry_path),
            );
            routes.push(Value::String(route.to_string()));
        }
        routes
    }

    /// The rules of `node`'s block as native text; the first is element `first` of the
    /// native list at `native_path`.
    fn rule_entries_from(
        &mut self,
        node: &Node,
        keyword_path: &FieldPath,
        native_path: &FieldPath,
        first: usize,
    ) -> Vec<Value> {
        let mut rules = Vec::new();
        for entry in self.block(node, keyword_path) {
            let entry_path = keyword_path.key(&entry.keyword);
            let Some(text) = self.entry_text(entry, &entry_path) else {
                continue;
            };
            // Read once to learn the family, whose counter gives a missing preference.
            let family = match read_rule(&text, 0) {
                Ok(read) => read.value.family,
                Err(message) => {
                    self.warn(entry, &entry_path, skipped(&message));
                    continue;
                }
            };
            let counter = match family {
                Family::Ipv4 => self.rule_priorities.ipv4,
                Family::Ipv6 => self.rule_priorities.ipv6,
            };
            let read = match read_rule(&text, counter) {
                Ok(read) => read,
                Err(message) => {
                    self.warn(entry, &entry_path, skipped(&message));
                    continue;
                }
            };
            for leniency in &read.leniencies {
                let message = match leniency {
                    Leniency::NoRulePriority => {
                        let next = counter.saturating_sub(1);
                        match family {
                            Family::Ipv4 => self.rule_priorities.ipv4 = next,
                            Family::Ipv6 => self.rule_priorities.ipv6 = next,
                        }
                        format!(
                            "the rule has no preference; it gets {}, as keepalived gives it \
                             (counting down from 16384 in file order), which is probably not \
                             what you want",
                            read.value.priority
                        )
                    }
                    other => corrected(other),
                };
                self.warn(entry, &entry_path, message);
            }
            self.origins.insert(
                native_path.index(first + rules.len()),
                Self::origin(entry, &entry_path),
            );
            rules.push(Value::String(read.value.to_string()));
        }
        rules
    }

    /// The words of one entry as one line, or `None` after reporting a block in it.
    fn entry_text(&mut self, entry: &Node, entry_path: &FieldPath) -> Option<String> {
        if entry.block.is_some() {
            self.warn(
                entry,
                entry_path,
                "skipped, as keepalived skips it: an entry is one line, not a block",
            );
            return None;
        }
        Some(
            std::iter::once(entry.keyword.as_str())
                .chain(entry.arguments.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
        )
    }
}

fn skipped(message: &str) -> String {
    if message.contains("is not carried out here") {
        format!("not carried out yet (issue 17), left out: {message}")
    } else {
        format!("skipped, as keepalived skips it: {message}")
    }
}

fn corrected(leniency: &Leniency) -> String {
    match leniency {
        Leniency::Gateway => "`gw` is deprecated; read as `via`, as keepalived reads it".into(),
        Leniency::ProtocolReset(protocol) => format!(
            "protocol {protocol} is replaced by {PROTOCOL_KEEPALIVED} (keepalived), as keepalived \
             replaces it on a tracked entry; add no_track to keep {protocol}"
        ),
        Leniency::NoRulePriority => leniency.to_string(),
    }
}
