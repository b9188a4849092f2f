//! `static_ipaddress` and `track_group`, read as keepalived 2.2.7 reads them
//! (`alloc_ipaddress()` with `static_addr` in `keepalived/vrrp/vrrp_ipaddress.c`,
//! `keepalived/vrrp/vrrp_static_track.c`).
//!
//! A `track_group NAME { group { VI_1 VI_2 } }` names instances; a static address, route or
//! rule that says `track_group NAME` makes those instances track its interface (the
//! address's `dev`, the route's `dev`/`oif`, the rule's `iif`/`dev`) with weight 0:
//! `static_track_group_init()` calls `add_vrrp_to_interface(..., 0, ..., TRACK_SADDR)` for
//! each, so the instances go to Fault while that link is down. Deleting the item itself
//! does nothing to them: keepalived puts it back (`reinstate_static_address()`,
//! `reinstate_static_route()`, `reinstate_static_rule()`). So a track group becomes, on each
//! named instance, the interface check (weight 0) that does the same.

use std::collections::BTreeMap;

use toml::Value;

use super::super::super::error::FieldPath;
use super::super::super::schema;
use super::super::parse::Node;
use super::{AddressKind, Translator, address_family, named};

/// keepalived's interface for a static address without `dev` when `default_interface` is
/// not set (`DFLT_INT` in `keepalived/include/vrrp_ipaddress.h`).
const DEFAULT_INTERFACE: &str = "eth0";

/// The track groups and what their instances track.
#[derive(Debug, Default)]
pub(super) struct StaticTracking {
    /// Each `track_group`'s instances (names as written), by group name, once defined.
    groups: BTreeMap<String, Vec<String>>,
    /// The interfaces each instance (name as written) tracks for static items, with the
    /// entry that asks for it and its keyword path.
    pub(super) interfaces: BTreeMap<String, Vec<(String, Node, FieldPath)>>,
    /// `global_defs`' `default_interface`, where a static address without `dev` goes.
    default_interface: Option<String>,
    /// The static addresses, as native tables, in the order written.
    pub(super) addresses: Vec<Value>,
}

impl Translator<'_> {
    /// Before the instances, in file order as keepalived reads it (a group is known only
    /// after its definition): the track groups, and the interfaces the static items that
    /// name one make its instances track.
    pub(super) fn collect_static_tracking(&mut self, nodes: &[Node]) {
        for node in nodes {
            match node.keyword.as_str() {
                "global_defs" => {
                    let default = node
                        .block
                        .as_deref()
                        .unwrap_or_default()
                        .iter()
                        .rev()
                        .find(|child| child.keyword == "default_interface")
                        .and_then(|child| child.arguments.first());
                    if let Some(default) = default {
                        self.static_tracking.default_interface = Some(default.clone());
                    }
                }
                "track_group" => self.collect_track_group(node),
                "static_ipaddress" | "static_routes" | "static_rules" => {
                    self.collect_static_tracks(node);
                }
                _ => {}
            }
        }
    }

    /// `track_group NAME { group { VI_1 VI_2 } }`; a nameless or repeated one is skipped with
    /// keepalived's message (`static_track_group_handler()` in `vrrp_parser.c`).
    fn collect_track_group(&mut self, node: &Node) {
        let keyword_path = FieldPath::root().key(&named(node));
        let [name] = node.arguments.as_slice() else {
            self.warn(
                node,
                &keyword_path,
                "track_group must have a name - skipping, as keepalived does",
            );
            return;
        };
        if self.static_tracking.groups.contains_key(name) {
            self.warn(
                node,
                &keyword_path,
                format!("track_group {name} already defined: skipped, as keepalived skips it"),
            );
            return;
        }
        let members: Vec<String> = node
            .block
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|child| child.keyword == "group")
            .flat_map(|group| group.block.as_deref().unwrap_or_default())
            .map(|member| member.keyword.clone())
            .collect();
        if members.is_empty() {
            // vrrp_static_track.c: "Static track group %s has no virtual router(s)".
            self.warn(
                node,
                &keyword_path,
                format!("ignored: track group {name} has no virtual router(s), as keepalived says"),
            );
        }
        self.static_tracking.groups.insert(name.clone(), members);
    }

    /// The interface each entry of a static block with `track_group` makes its group's
    /// instances track.
    fn collect_static_tracks(&mut self, node: &Node) {
        let keyword_path = FieldPath::root().key(&node.keyword);
        for entry in node.block.as_deref().unwrap_or_default() {
            let entry_path = keyword_path.key(&entry.keyword);
            let words: Vec<&str> = std::iter::once(entry.keyword.as_str())
                .chain(entry.arguments.iter().map(String::as_str))
                .collect();
            let Some(group) = value_after(&words, "track_group") else {
                continue;
            };
            let Some(instances) = self.static_tracking.groups.get(group).cloned() else {
                // vrrp_ipaddress.c / vrrp_iproute.c / vrrp_iprule.c.
                self.warn(
                    entry,
                    &entry_path,
                    format!("track_group {group} not found, as keepalived says: not tracked"),
                );
                continue;
            };
            let interface = match node.keyword.as_str() {
                "static_ipaddress" => value_after(&words, "dev")
                    .map(str::to_owned)
                    .or_else(|| Some(self.default_interface())),
                "static_routes" => value_after(&words, "dev")
                    .or_else(|| value_after(&words, "oif"))
                    .map(str::to_owned),
                _ => value_after(&words, "iif")
                    .or_else(|| value_after(&words, "dev"))
                    .map(str::to_owned),
            };
            let Some(interface) = interface else {
                self.warn(
                    entry,
                    &entry_path,
                    "track_group is not used without an interface (`dev`, or `iif` for a \
                     rule), as keepalived does not use it",
                );
                continue;
            };
            if words.contains(&"no_track") {
                // vrrp_static_track.c: "Static address has both track_group and no_track
                // set - not tracking".
                self.warn(
                    entry,
                    &entry_path,
                    "both track_group and no_track are set: not tracking, as keepalived",
                );
                continue;
            }
            for instance in instances {
                self.static_tracking
                    .interfaces
                    .entry(instance)
                    .or_default()
                    .push((interface.clone(), entry.clone(), entry_path.clone()));
            }
        }
    }

    /// The instances a track group names that have no `vrrp_instance`, reported once the
    /// instances are known, as keepalived reports them ("vrrp instance %s specified in
    /// track group %s doesn't exist - ignoring").
    pub(super) fn unknown_track_group_members(&mut self, nodes: &[Node], known: &[String]) {
        for node in nodes.iter().filter(|node| node.keyword == "track_group") {
            let keyword_path = FieldPath::root().key(&named(node));
            // A nameless one was reported by `collect_track_group`.
            let [name] = node.arguments.as_slice() else {
                continue;
            };
            for child in self.block(node, &keyword_path).to_vec() {
                let child_path = keyword_path.key(&child.keyword);
                if child.keyword != "group" {
                    self.not_translated(&child, &child_path, "track_group");
                    continue;
                }
                for member in self.block(&child, &child_path).to_vec() {
                    if !known.contains(&member.keyword) {
                        self.warn(
                            &member,
                            &child_path.key(&member.keyword),
                            format!(
                                "vrrp instance {} specified in track group {name} doesn't \
                                 exist - ignoring, as keepalived does",
                                member.keyword
                            ),
                        );
                    }
                }
            }
        }
    }

    /// Where a static address without `dev` goes.
    fn default_interface(&self) -> String {
        self.static_tracking
            .default_interface
            .clone()
            .unwrap_or_else(|| DEFAULT_INTERFACE.to_owned())
    }

    /// `static_ipaddress { ... }`: each entry becomes an element of `static_addresses`.
    pub(super) fn static_ipaddress(&mut self, node: &Node) {
        let keyword_path = FieldPath::root().key(&node.keyword);
        let native_path = FieldPath::root().key(schema::top_level::STATIC_ADDRESSES.key);
        let origin = Self::origin(node, &keyword_path);
        self.origins.entry(native_path.clone()).or_insert(origin);
        for entry in self.block(node, &keyword_path).to_vec() {
            let entry_path = keyword_path.key(&entry.keyword);
            if entry.block.is_some() {
                self.warn(
                    &entry,
                    &entry_path,
                    "skipped, as keepalived skips it: an entry is one line, not a block",
                );
                continue;
            }
            if address_family(&entry.keyword).is_none() {
                self.warn(
                    &entry,
                    &entry_path,
                    format!(
                        "skipped, as keepalived skips it: \"{}\" is not an address",
                        entry.keyword
                    ),
                );
                continue;
            }
            let Some(mut table) = self.address_options(&entry, &entry_path, AddressKind::Static)
            else {
                continue;
            };
            table.insert(
                schema::static_address::ADDRESS.key.into(),
                Value::String(entry.keyword.clone()),
            );
            if !table.contains_key(schema::static_address::DEV.key) {
                let default = self.default_interface();
                self.warn(
                    &entry,
                    &entry_path,
                    format!(
                        "no dev: the address goes on {default}, keepalived's default \
                         interface, as there"
                    ),
                );
                table.insert(
                    schema::static_address::DEV.key.into(),
                    Value::String(default),
                );
            }
            let element = native_path.index(self.static_tracking.addresses.len());
            let entry_origin = Self::origin(&entry, &entry_path);
            for key in table.keys() {
                self.origins.insert(element.key(key), entry_origin.clone());
            }
            self.origins.insert(element, entry_origin);
            self.static_tracking.addresses.push(Value::Table(table));
        }
    }

    /// The interface checks the static items with a track group give instance `name` (as
    /// written), added to its health checks at `checks_path`.
    pub(super) fn static_tracks(
        &mut self,
        name: &str,
        checks_path: &FieldPath,
        instance: &mut super::InstanceTranslation,
    ) {
        let tracks = self
            .static_tracking
            .interfaces
            .get(name)
            .cloned()
            .unwrap_or_default();
        for (interface, entry, entry_path) in tracks {
            let track = Node {
                keyword: "track_interface".into(),
                arguments: Vec::new(),
                text: entry.text.clone(),
                position: entry.position.clone(),
                block: Some(vec![Node {
                    keyword: interface,
                    arguments: Vec::new(),
                    text: entry.text.clone(),
                    position: entry.position.clone(),
                    block: None,
                }]),
            };
            self.tracks(
                &track,
                &entry_path,
                checks_path,
                instance,
                super::Tracker::Instance,
            );
        }
    }
}

/// The word after `keyword` in `words`.
fn value_after<'w>(words: &[&'w str], keyword: &str) -> Option<&'w str> {
    words
        .iter()
        .position(|word| *word == keyword)
        .and_then(|at| words.get(at + 1))
        .copied()
}

/// `node` without its entries' `track_group NAME` words, which [`Translator::
/// collect_static_tracks`] took: what is left reads as `ip route` / `ip rule` text.
pub(super) fn without_track_groups(node: &Node) -> Node {
    let mut node = node.clone();
    for entry in node.block.iter_mut().flatten() {
        let mut kept = Vec::new();
        let mut words = entry.arguments.iter();
        while let Some(word) = words.next() {
            if word == "track_group" {
                words.next();
            } else {
                kept.push(word.clone());
            }
        }
        entry.arguments = kept;
    }
    node
}
