//! The statement tree of a keepalived.conf turned into a native configuration document,
//! with, for every native field, the keepalived line it came from.
//!
//! What the native schema cannot hold is reported rather than dropped: see the module
//! documentation of [`super`] for when that is a warning and when an error.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use toml::{Table, Value};

use crate::vrrp::{VRRP_GROUP_V4, VRRP_GROUP_V6};

use super::super::duration::seconds_text;
use super::super::error::{FieldPath, PathSegment, Problem, SourceLocation};
use super::super::schema;
use super::super::settings::{RemovalReport, host_name};
use super::command;
use super::keywords::{Treatment, lookup};
use super::lexer::Position;
use super::parse::Node;
use super::{Diagnostic, Severity};

mod routes;
mod static_addresses;

/// VRRPv2 carries an 8-byte password; keepalived sends the first 8 bytes of a longer one.
const PASSWORD_BYTES: usize = 8;
/// The priority of the address owner, which keepalived starts as master whatever `state` says.
const OWNER_PRIORITY: i64 = 255;

/// Where a native field's value was written in the keepalived.conf.
#[derive(Clone, Debug)]
struct Origin {
    position: Position,
    keyword_path: FieldPath,
}

/// The native document and where each of its fields came from.
pub(super) struct Translation {
    native: Table,
    origins: BTreeMap<FieldPath, Origin>,
    top_file: String,
}

impl Translation {
    /// The native document as TOML text.
    pub(super) fn native_toml(&self) -> String {
        // The document holds only strings, integers, booleans, arrays and tables, which
        // TOML can always write.
        toml::to_string(&self.native).expect("a table of plain values serializes")
    }

    /// A problem the native loader found in the document, as an error at the keepalived
    /// line of the nearest field that has one (the top file when none has).
    pub(super) fn blame(&self, problem: &Problem) -> Diagnostic {
        let segments = problem.field_path.segments();
        let origin = (0..=segments.len())
            .rev()
            .find_map(|length| self.origins.get(&path_of(&segments[..length])));
        match origin {
            Some(origin) => Diagnostic::new(
                Severity::Error,
                &origin.position,
                origin.keyword_path.clone(),
                format!(
                    "{} (checked as native `{}`)",
                    problem.message, problem.field_path
                ),
            ),
            None => Diagnostic {
                severity: Severity::Error,
                source_location: SourceLocation::File {
                    file: self.top_file.clone(),
                },
                keyword_path: FieldPath::root(),
                message: problem.message.clone(),
            },
        }
    }
}

fn path_of(segments: &[PathSegment]) -> FieldPath {
    segments
        .iter()
        .fold(FieldPath::root(), |path, segment| match segment {
            PathSegment::Key(key) => path.key(key),
            PathSegment::Index(index) => path.index(*index),
        })
}

/// Translates `nodes`, the top level of the keepalived.conf named `top_file`, reporting what does not carry
/// over in `diagnostics`.
pub(super) fn translate(
    nodes: &[Node],
    top_file: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Translation {
    let mut translator = Translator {
        diagnostics,
        origins: BTreeMap::new(),
        globals: Globals::default(),
        group_members: BTreeMap::new(),
        group_alerts: Vec::new(),
        group_priority_changes: BTreeMap::new(),
        groups_with_tracking_weight: BTreeSet::new(),
        groups_keeping_weights: BTreeSet::new(),
        static_tracking: static_addresses::StaticTracking::default(),
        group_tracks: BTreeMap::new(),
        scripts: BTreeMap::new(),
        track_files: BTreeMap::new(),
        track_processes: BTreeMap::new(),
        group_of: BTreeMap::new(),
        claimed: BTreeMap::new(),
        garp_group_of: BTreeMap::new(),
        current_instance: None,
        rule_priorities: routes::RulePriorities::default(),
        static_routing: routes::StaticRouting::default(),
        link_debounce: Table::new(),
    };
    // Definitions first: keepalived lets an instance refer to a script defined after it.
    // global_defs before the scripts, wherever it is: its script_user applies to them all.
    for node in nodes.iter().filter(|node| node.keyword == "global_defs") {
        translator.global_defs(node);
    }
    for node in nodes {
        match node.keyword.as_str() {
            "vrrp_script" => translator.vrrp_script(node),
            "vrrp_track_file" | "track_file" => translator.vrrp_track_file(node),
            "vrrp_track_process" => translator.vrrp_track_process(node),
            _ => {}
        }
    }
    // Before the instances: a group's trackers become checks of its members.
    for node in nodes
        .iter()
        .filter(|node| node.keyword == "vrrp_sync_group")
    {
        translator.collect_group_tracks(node);
        translator.collect_group_members(node);
    }
    translator.collect_static_tracking(nodes);
    let mut instances = Table::new();
    let mut sync_groups = Table::new();
    let mut garp_groups = Table::new();
    for node in nodes {
        match node.keyword.as_str() {
            "global_defs" | "vrrp_script" | "vrrp_track_file" | "track_file"
            | "vrrp_track_process" => {}
            "vrrp_instance" => translator.instance(node, &mut instances),
            "vrrp_sync_group" => translator.sync_group(node, &mut sync_groups),
            "interface_up_down_delays" => translator.interface_up_down_delays(node),
            "static_routes" | "static_rules" => {
                translator.static_routing(&static_addresses::without_track_groups(node));
            }
            "static_ipaddress" => translator.static_ipaddress(node),
            // Read by `collect_static_tracking`; checked below.
            "track_group" => {}
            "garp_group" => translator.garp_group(node, &mut garp_groups),
            _ => translator.not_translated(node, &FieldPath::root().key(&named(node)), ""),
        }
    }
    for group in std::mem::take(&mut translator.groups_keeping_weights) {
        if let Some(Value::Table(table)) = sync_groups.get_mut(&native_name(&group)) {
            table.insert(
                schema::sync_group::TRACKING_WEIGHT.key.into(),
                Value::Boolean(true),
            );
        }
    }
    let instance_names: Vec<String> = nodes
        .iter()
        .filter(|node| node.keyword == "vrrp_instance")
        .filter_map(|node| node.arguments.first().cloned())
        .collect();
    translator.unknown_track_group_members(nodes, &instance_names);
    translator.unread_fifo_programs();
    let mut native = Table::new();
    let mut global = Table::new();
    if let Some(router_id) = translator.globals.router_id.take() {
        global.insert(
            schema::global::ROUTER_ID.key.into(),
            Value::String(router_id),
        );
    }
    if translator.globals.scripts_as_root {
        global.insert(
            schema::global::EXEC_CHECKS_AS_ROOT.key.into(),
            Value::Boolean(true),
        );
    }
    if let Some((delay, origin)) = translator.globals.startup_delay.take() {
        let global_path = FieldPath::root().key(schema::top_level::GLOBAL.key);
        translator.set(
            &mut global,
            &global_path,
            schema::global::STARTUP_DELAY.key,
            Value::String(delay),
            origin,
        );
    }
    let global_path = FieldPath::root().key(schema::top_level::GLOBAL.key);
    for (key, (value, origin)) in std::mem::take(&mut translator.globals.spacing) {
        translator.set(&mut global, &global_path, key, value, origin);
    }
    if !global.is_empty() {
        native.insert(schema::top_level::GLOBAL.key.into(), Value::Table(global));
    }
    if !garp_groups.is_empty() {
        native.insert(
            schema::top_level::GARP_GROUPS.key.into(),
            Value::Table(garp_groups),
        );
    }
    translator.email_alerts(&mut native, &mut instances);
    native.insert(
        schema::top_level::INSTANCES.key.into(),
        Value::Table(instances),
    );
    let link_debounce = std::mem::take(&mut translator.link_debounce);
    if !link_debounce.is_empty() {
        native.insert(
            schema::top_level::LINK_DEBOUNCE.key.into(),
            Value::Table(link_debounce),
        );
    }
    let static_addresses = std::mem::take(&mut translator.static_tracking.addresses);
    if !static_addresses.is_empty() {
        native.insert(
            schema::top_level::STATIC_ADDRESSES.key.into(),
            Value::Array(static_addresses),
        );
    }
    let static_routing = std::mem::take(&mut translator.static_routing);
    if !static_routing.routes.is_empty() {
        native.insert(
            schema::top_level::STATIC_ROUTES.key.into(),
            Value::Array(static_routing.routes),
        );
    }
    if !static_routing.rules.is_empty() {
        native.insert(
            schema::top_level::STATIC_RULES.key.into(),
            Value::Array(static_routing.rules),
        );
    }
    if !sync_groups.is_empty() {
        native.insert(
            schema::top_level::SYNC_GROUPS.key.into(),
            Value::Table(sync_groups),
        );
    }
    Translation {
        native,
        origins: translator.origins,
        top_file: top_file.to_owned(),
    }
}

/// What `global_defs` sets for every instance.
#[derive(Default)]
struct Globals {
    router_id: Option<String>,
    /// `vmac_prefix`: the name of a virtual MAC interface not named by its instance is
    /// `PREFIX.VRID` (keepalived's default prefix: `vrrp`).
    vmac_prefix: Option<(String, Origin)>,
    /// A `vrrp_script` without `user` and no `script_user`: keepalived would run it as root.
    scripts_as_root: bool,
    /// `script_user`: the user of every `vrrp_script` that names none.
    script_user: Option<(String, Origin)>,
    /// A `script_user` naming a user or group this host does not have: keepalived then has
    /// no default script user at all ("Error setting global script uid/gid").
    unknown_script_user: Option<String>,
    /// `enable_script_security`: keepalived then refuses root as the fallback script user.
    script_security: bool,
    /// `vrrp_version`: the version of IPv4 instances that do not say.
    version: Option<(i64, Origin)>,
    /// `vrrp_garp_master_*` and `vrrp_garp_lower_prio_*`, by native `garp` key.
    garp: BTreeMap<&'static str, (Value, Origin)>,
    /// `vrrp_garp_interval` and `vrrp_gna_interval`, by native `global` key.
    spacing: BTreeMap<&'static str, (Value, Origin)>,
    /// `notify_fifo` / `vrrp_notify_fifo`, and which of the two it was (the last written).
    fifo: Option<(String, Origin)>,
    fifo_keyword: Option<String>,
    /// `notify_fifo_script` / `vrrp_notify_fifo_script`: the program, by the keyword of
    /// the FIFO it reads (`notify_fifo` / `vrrp_notify_fifo`).
    fifo_programs: BTreeMap<String, (Value, Origin, Node, FieldPath)>,
    /// `vrrp_notify_priority_changes`, on or off.
    priority_changes: Option<(bool, Origin)>,
    /// `notification_email`: the recipients.
    email_to: Vec<(String, Origin)>,
    /// `notification_email_from`.
    email_from: Option<(String, Origin)>,
    /// `smtp_server`, as native `host:port`.
    smtp_server: Option<(String, Origin)>,
    /// `smtp_connect_timeout`, in seconds as written.
    smtp_timeout: Option<(String, Origin)>,
    /// `smtp_helo_name`.
    smtp_helo: Option<(String, Origin)>,
    /// `smtp_alert` / `smtp_alert_vrrp`: whether instances that do not say send alerts;
    /// `smtp_alert_vrrp` wins, as in keepalived.
    smtp_alert: Option<(bool, Origin)>,
    smtp_alert_vrrp: Option<(bool, Origin)>,
    /// `vrrp_strict`: strict mode for every instance that does not say otherwise.
    strict: Option<Origin>,
    /// `vrrp_check_unicast_src`: every unicast instance checks its adverts' sources.
    check_unicast_src: Option<Origin>,
    /// `vrrp_lower_prio_no_advert`, on or off: the default of every instance.
    lower_prio_no_advert: Option<(bool, Origin)>,
    /// `vrrp_down_timer_adverts`: the default of every instance, as written.
    down_timer_adverts: Option<(Value, Origin)>,
    /// `vrrp_startup_delay`, in seconds as written.
    startup_delay: Option<(String, Origin)>,
}

/// A `vrrp_script` or `vrrp_track_file`, translated once and copied into every instance
/// that tracks it.
struct CheckDefinition {
    /// The native check's fields.
    fields: Table,
    /// Where each field came from, by native key.
    origins: BTreeMap<String, Origin>,
    /// Whether a problem in the definition was already reported.
    has_error: bool,
}

impl CheckDefinition {
    /// A definition of a native check of `kind` (`exec`, `file`, `process`), no field read yet.
    fn of_kind(kind: &str) -> Self {
        let mut fields = Table::new();
        fields.insert(
            schema::health_check::KIND.key.into(),
            Value::String(kind.into()),
        );
        CheckDefinition {
            fields,
            origins: BTreeMap::new(),
            has_error: false,
        }
    }

    /// Sets native field `key` to `value`, remembering the keepalived line it came from.
    fn set(&mut self, key: &str, value: Value, origin: Origin) {
        self.fields.insert(key.to_owned(), value);
        self.origins.insert(key.to_owned(), origin);
    }
}

/// keepalived's `sync_group_tracking_weight`: a sync group's members keep their weights.
const TRACKING_WEIGHT: &str = "sync_group_tracking_weight";
/// keepalived's deprecated name for it.
const GLOBAL_TRACKING: &str = "global_tracking";

struct Translator<'d> {
    diagnostics: &'d mut Vec<Diagnostic>,
    origins: BTreeMap<FieldPath, Origin>,
    globals: Globals,
    /// The native names of each sync group's members, by keepalived group name.
    group_members: BTreeMap<String, Vec<String>>,
    /// Each sync group's `smtp_alert`, which applies to its members.
    group_alerts: Vec<(String, bool, Origin)>,
    /// `notify_priority_changes` of each sync group, by its name as written.
    group_priority_changes: BTreeMap<String, (bool, Origin)>,
    /// The sync groups (names as written) with `sync_group_tracking_weight` or
    /// `global_tracking`, whose members keep the weights of their trackers.
    groups_with_tracking_weight: BTreeSet<String>,
    /// The sync groups (names as written) without it whose members' tracked interfaces or
    /// processes keep their weight all the same, as keepalived 2.2.7 keeps them.
    groups_keeping_weights: BTreeSet<String>,
    /// `track_group`s, what the static items that name one make its instances track, and
    /// the static addresses.
    static_tracking: static_addresses::StaticTracking,
    /// The `track_*` blocks of each member's sync group, by the member's name as written,
    /// with the group's keyword path: each member tracks them itself.
    group_tracks: BTreeMap<String, Vec<(Node, FieldPath)>>,
    scripts: BTreeMap<String, CheckDefinition>,
    track_files: BTreeMap<String, CheckDefinition>,
    track_processes: BTreeMap<String, CheckDefinition>,
    /// The sync group of each member, by names as written.
    group_of: BTreeMap<String, String>,
    /// Each advertised address and the instance (name as written) that advertises it first.
    claimed: BTreeMap<IpAddr, String>,
    /// Each interface a `garp_group` holds, and the (native) name of the first group holding
    /// it.
    garp_group_of: BTreeMap<String, String>,
    /// The instance being translated, name as written.
    current_instance: Option<String>,
    /// The preferences rules without one get.
    rule_priorities: routes::RulePriorities,
    /// The top-level `static_routes` and `static_rules`.
    static_routing: routes::StaticRouting,
    /// `interface_up_down_delays`, as native `[link_debounce]` entries by interface.
    link_debounce: Table,
}

impl Translator<'_> {
    fn report(
        &mut self,
        severity: Severity,
        node: &Node,
        keyword_path: &FieldPath,
        message: impl Into<String>,
    ) {
        let diagnostic = Diagnostic::new(severity, &node.position, keyword_path.clone(), message);
        // A sync group's tracker is translated once per member; its problems are said once.
        if !self.diagnostics.contains(&diagnostic) {
            self.diagnostics.push(diagnostic);
        }
    }

    fn warn(&mut self, node: &Node, keyword_path: &FieldPath, message: impl Into<String>) {
        self.report(Severity::Warning, node, keyword_path, message);
    }

    fn error(&mut self, node: &Node, keyword_path: &FieldPath, message: impl Into<String>) {
        self.report(Severity::Error, node, keyword_path, message);
    }

    /// `interface_up_down_delays { IFNAME DOWN_DELAY [UP_DELAY] ... }`, as
    /// `alloc_if_up_down_delay()` in keepalived 2.2.7's keepalived/vrrp/vrrp_parser.c reads
    /// it: seconds to the microsecond, 0 to 255; an omitted up delay is 0 (the man page
    /// says it is the down delay, the code does not); a line without delays, or with one
    /// keepalived cannot read, is skipped, and words after the up delay are ignored. The
    /// delays are fitted to the instances when the daemon starts, as keepalived fits them.
    fn interface_up_down_delays(&mut self, node: &Node) {
        let path = FieldPath::root().key(&node.keyword);
        self.origins
            .entry(path.clone())
            .or_insert_with(|| Self::origin(node, &path));
        for line in self.block(node, &path) {
            let line_path = path.key(&line.keyword);
            let origin = Self::origin(line, &line_path);
            if line.block.is_some() {
                self.error(
                    line,
                    &line_path,
                    "an interface's delays are values, not a block",
                );
                continue;
            }
            let Some(down) = line.arguments.first() else {
                self.warn(
                    line,
                    &line_path,
                    "skipped, as keepalived skips it: no delays given (IFNAME DOWN_DELAY \
                     [UP_DELAY])",
                );
                continue;
            };
            if line.arguments.len() > 2 {
                self.warn(
                    line,
                    &line_path,
                    "only the down and up delays are read; the words after them are \
                     ignored, as keepalived ignores them",
                );
            }
            let mut delays = Vec::new();
            for (which, text) in [("down", Some(down)), ("up", line.arguments.get(1))] {
                let Some(text) = text else {
                    // keepalived 2.2.7: no up delay means none.
                    delays.push(0);
                    continue;
                };
                match keepalived_timer_micros(text) {
                    Ok((micros, rounded)) => {
                        if rounded {
                            self.warn(
                                line,
                                &line_path,
                                format!(
                                    "{which} delay {text} has more than 6 decimal places; \
                                     rounded to the microsecond, as keepalived rounds it"
                                ),
                            );
                        }
                        delays.push(micros);
                    }
                    Err(why) => {
                        self.warn(
                            line,
                            &line_path,
                            format!(
                                "skipped, as keepalived skips it: invalid {which} delay \
                                 {text}: {why}"
                            ),
                        );
                        break;
                    }
                }
            }
            let [down_micros, up_micros] = delays[..] else {
                continue;
            };
            let entry_path = FieldPath::root()
                .key(schema::top_level::LINK_DEBOUNCE.key)
                .key(&line.keyword);
            let mut entry = Table::new();
            for (spec, micros) in [
                (&schema::link_debounce::DOWN_DELAY, down_micros),
                (&schema::link_debounce::UP_DELAY, up_micros),
            ] {
                let text = seconds_text(std::time::Duration::from_micros(micros));
                self.set(
                    &mut entry,
                    &entry_path,
                    spec.key,
                    Value::String(text),
                    origin.clone(),
                );
            }
            // keepalived keeps the last line for an interface.
            self.link_debounce
                .insert(line.keyword.clone(), Value::Table(entry));
        }
    }

    fn origin(node: &Node, keyword_path: &FieldPath) -> Origin {
        Origin {
            position: node.position.clone(),
            keyword_path: keyword_path.clone(),
        }
    }

    /// Sets `key` of `table`, the native table at `table_path`, remembering its origin.
    fn set(
        &mut self,
        table: &mut Table,
        table_path: &FieldPath,
        key: &str,
        value: Value,
        origin: Origin,
    ) {
        table.insert(key.to_owned(), value);
        self.origins.insert(table_path.key(key), origin);
    }

    /// Reports a keyword that is not translated, as [`super::keywords`] says, or as unknown;
    /// `context` names the block it was found in, as the keyword table names it. Either way
    /// it is left out with a warning, as keepalived skips what it does not use.
    fn not_translated(&mut self, node: &Node, keyword_path: &FieldPath, context: &str) {
        let message = match lookup(context, &node.keyword).map(|keyword| keyword.treatment) {
            Some(Treatment::Ignored(why)) => format!("ignored: {why}"),
            Some(Treatment::NotYet(instead)) => {
                format!("not carried out yet (issue 17), left out: {instead}")
            }
            Some(Treatment::Translated) => {
                format!("`{}` is not read in this form here; left out", node.keyword)
            }
            None => {
                let block = if context.is_empty() {
                    "at the top level".to_owned()
                } else {
                    format!("in {context}")
                };
                format!(
                    "unknown keyword `{}` {block}; skipped, as keepalived skips it (\"Unknown \
                     keyword\")",
                    node.keyword
                )
            }
        };
        self.warn(node, keyword_path, message);
    }

    /// The one argument of `node`, or `None` after reporting why there is not one.
    fn one_argument<'n>(&mut self, node: &'n Node, keyword_path: &FieldPath) -> Option<&'n str> {
        if node.block.is_some() {
            self.error(
                node,
                keyword_path,
                format!("`{}` takes a value, not a block", node.keyword),
            );
            return None;
        }
        match node.arguments.as_slice() {
            [argument] => Some(argument),
            arguments => {
                self.error(
                    node,
                    keyword_path,
                    format!(
                        "`{}` takes one value, but {} are written (quote a value with spaces)",
                        node.keyword,
                        arguments.len()
                    ),
                );
                None
            }
        }
    }

    /// Checks that a flag such as `nopreempt` has no block. Words after it are ignored
    /// with a warning, as keepalived's handlers for flags never read them (`nopreempt 1`).
    fn flag(&mut self, node: &Node, keyword_path: &FieldPath) -> bool {
        if node.block.is_some() {
            self.error(
                node,
                keyword_path,
                format!("`{}` takes no block", node.keyword),
            );
            return false;
        }
        if !node.arguments.is_empty() {
            self.warn(
                node,
                keyword_path,
                format!(
                    "`{}` takes no value: \"{}\" is ignored, as keepalived ignores it",
                    node.keyword,
                    node.arguments.join(" ")
                ),
            );
        }
        true
    }

    /// The statements of `node`'s block, or none after reporting that it has no block.
    fn block<'n>(&mut self, node: &'n Node, keyword_path: &FieldPath) -> &'n [Node] {
        match &node.block {
            Some(children) => children,
            None => {
                self.error(
                    node,
                    keyword_path,
                    format!(
                        "`{}` needs a block: {} {{ ... }}",
                        node.keyword, node.keyword
                    ),
                );
                &[]
            }
        }
    }

    fn global_defs(&mut self, node: &Node) {
        let block_path = FieldPath::root().key("global_defs");
        for child in self.block(node, &block_path) {
            let keyword_path = block_path.key(&child.keyword);
            let origin = Self::origin(child, &keyword_path);
            match child.keyword.as_str() {
                "script_user" => match unknown_account(&child.arguments) {
                    Some(missing) => {
                        self.warn(
                            child,
                            &keyword_path,
                            format!(
                                "{missing}, so keepalived has no default script user: it \
                                 removes every vrrp_script without a `user` and ignores every \
                                 notify program without one, as here"
                            ),
                        );
                        self.globals.unknown_script_user = Some(missing);
                    }
                    None => {
                        if let Some((_, Value::String(user))) =
                            self.script_user(child, &keyword_path)
                        {
                            self.globals.script_user = Some((user, origin));
                        }
                    }
                },
                // Where a static address without `dev` goes: read by
                // `collect_static_tracking`; checked here.
                "default_interface" => {
                    self.one_argument(child, &keyword_path);
                }
                "router_id" => {
                    if let Some(router_id) = self.one_argument(child, &keyword_path) {
                        self.globals.router_id = Some(router_id.to_owned());
                        self.origins.insert(
                            FieldPath::root()
                                .key(schema::top_level::GLOBAL.key)
                                .key(schema::global::ROUTER_ID.key),
                            origin,
                        );
                    }
                }
                "vrrp_version" => {
                    let Some(text) = self.one_argument(child, &keyword_path) else {
                        continue;
                    };
                    match text.parse::<i64>() {
                        Ok(version @ (2 | 3)) => self.globals.version = Some((version, origin)),
                        _ => self.error(
                            child,
                            &keyword_path,
                            format!("\"{text}\" is not a VRRP version; use 2 or 3"),
                        ),
                    }
                }
                "vrrp_garp_interval" | "vrrp_gna_interval" => {
                    self.global_spacing(child, &keyword_path, origin);
                }
                "vrrp_min_garp" => {
                    if self.boolean_flag(child, &keyword_path) == Some(true) {
                        self.min_garp(origin);
                    }
                }
                "vrrp_garp_master_delay"
                | "vrrp_garp_master_repeat"
                | "vrrp_garp_master_refresh"
                | "vrrp_garp_lower_prio_delay"
                | "vrrp_garp_lower_prio_repeat" => {
                    if let Some(text) = self.one_argument(child, &keyword_path) {
                        let key = garp_key(&child.keyword);
                        self.globals
                            .garp
                            .insert(key, (number_or_text(text), origin));
                    }
                }
                "vrrp_mcast_group4" | "vrrp_mcast_group6" => {
                    self.multicast_group(child, &keyword_path)
                }
                "notify_fifo" | "vrrp_notify_fifo" => {
                    if let Some(fifo) = self.one_argument(child, &keyword_path) {
                        self.globals.fifo = Some((fifo.to_owned(), origin));
                        self.globals.fifo_keyword = Some(child.keyword.clone());
                    }
                }
                "notify_fifo_script" | "vrrp_notify_fifo_script" => {
                    if let Some((_, program)) = self.notify_program(child, &keyword_path) {
                        let fifo = child.keyword.trim_end_matches("_script").to_owned();
                        self.globals
                            .fifo_programs
                            .insert(fifo, (program, origin, child.clone(), keyword_path.clone()));
                    }
                }
                "vrrp_notify_priority_changes" => {
                    if let Some(enabled) = self.boolean_flag(child, &keyword_path) {
                        self.globals.priority_changes = Some((enabled, origin));
                    }
                }
                "notification_email" => {
                    for address in self.block(child, &keyword_path) {
                        let address_path = keyword_path.key(&address.keyword);
                        if address.arguments.is_empty() && address.block.is_none() {
                            let origin = Self::origin(address, &address_path);
                            self.globals
                                .email_to
                                .push((address.keyword.clone(), origin));
                        } else {
                            self.error(address, &address_path, "write one address per line");
                        }
                    }
                }
                "notification_email_from" | "smtp_helo_name" | "smtp_connect_timeout" => {
                    let Some(text) = self.one_argument(child, &keyword_path) else {
                        continue;
                    };
                    let value = Some((text.to_owned(), origin));
                    match child.keyword.as_str() {
                        "notification_email_from" => self.globals.email_from = value,
                        "smtp_helo_name" => self.globals.smtp_helo = value,
                        _ => self.globals.smtp_timeout = value,
                    }
                }
                "smtp_server" => {
                    let server = match child.arguments.as_slice() {
                        [host] => Some(host_and_port(host, "25")),
                        [host, port] => Some(host_and_port(host, port)),
                        _ => None,
                    };
                    match server {
                        Some(server) if child.block.is_none() => {
                            self.globals.smtp_server = Some((server, origin));
                        }
                        _ => self.error(child, &keyword_path, "write `smtp_server HOST [PORT]`"),
                    }
                }
                "smtp_alert" | "smtp_alert_vrrp" => {
                    if let Some(enabled) = self.boolean_flag(child, &keyword_path) {
                        let value = Some((enabled, origin));
                        if child.keyword == "smtp_alert" {
                            self.globals.smtp_alert = value;
                        } else {
                            self.globals.smtp_alert_vrrp = value;
                        }
                    }
                }
                "vrrp_strict" => {
                    if self.flag(child, &keyword_path) {
                        self.globals.strict = Some(Self::origin(child, &keyword_path));
                    }
                }
                "vrrp_check_unicast_src" => {
                    if self.flag(child, &keyword_path) {
                        self.globals.check_unicast_src = Some(origin);
                    }
                }
                "vrrp_lower_prio_no_advert" => {
                    if let Some(quiet) = self.boolean_flag(child, &keyword_path) {
                        self.globals.lower_prio_no_advert = Some((quiet, origin));
                    }
                }
                "vrrp_down_timer_adverts" => {
                    if let Some(text) = self.one_argument(child, &keyword_path) {
                        self.globals.down_timer_adverts = Some((number_or_text(text), origin));
                    }
                }
                "vrrp_startup_delay" => {
                    if let Some(text) = self.one_argument(child, &keyword_path) {
                        self.globals.startup_delay = Some((text.to_owned(), origin));
                    }
                }
                "vmac_prefix" => {
                    if let Some(text) = self.one_argument(child, &keyword_path) {
                        self.globals.vmac_prefix = Some((text.to_owned(), origin));
                    }
                }
                "enable_script_security" => {
                    self.globals.script_security = true;
                    self.not_translated(child, &keyword_path, "global_defs");
                }
                _ => self.not_translated(child, &keyword_path, "global_defs"),
            }
        }
    }

    /// Why keepalived has no user to run a script or notify program that names none, if it
    /// has none (`set_default_script_user()` in `lib/notify.c`; keepalived 2.2.7 logs
    /// "Unable to set default user for vrrp script" and "Failed to set default user for
    /// notify script"):
    /// - global_defs's `script_user` names a user or group this host does not have;
    /// - `enable_script_security`, no `script_user` and no user `keepalived_script`: it
    ///   refuses to fall back to root.
    fn no_default_script_user(&self) -> Option<String> {
        if let Some(missing) = &self.globals.unknown_script_user {
            return Some(format!(
                "global_defs's `script_user` cannot be used ({missing}), so keepalived has no \
                 user to run it as"
            ));
        }
        let refused = self.globals.script_security
            && self.globals.script_user.is_none()
            && !user_exists(DEFAULT_SCRIPT_USER);
        refused.then(|| {
            "`enable_script_security` is set, global_defs has no `script_user` and there is no \
             user keepalived_script here, so keepalived has no user to run it as"
                .to_owned()
        })
    }

    /// `vrrp_mcast_group4/6` and `mcast_dst_ip`: harmless when they name the standard group.
    fn multicast_group(&mut self, node: &Node, keyword_path: &FieldPath) {
        let Some(text) = self.one_argument(node, keyword_path) else {
            return;
        };
        // RFC 9568 §5.1.1.2 and §5.1.2.2: the only groups adverts go to here.
        let (v4, v6) = (IpAddr::V4(VRRP_GROUP_V4), IpAddr::V6(VRRP_GROUP_V6));
        let standard = text
            .parse::<IpAddr>()
            .is_ok_and(|group| group == v4 || group == v6);
        if standard {
            self.warn(
                node,
                keyword_path,
                format!("ignored: {text} is the standard VRRP group, which is always used here"),
            );
        } else {
            self.error(
                node,
                keyword_path,
                format!(
                    "not supported: adverts go to the standard group ({v4} or {v6}) here, so \
                     peers listening on {text} would not hear them; use unicast_peer for a \
                     private channel"
                ),
            );
        }
    }

    fn vrrp_script(&mut self, node: &Node) {
        let keyword_path = FieldPath::root().key(&named(node));
        let Some(name) = self.definition_name(node, &keyword_path) else {
            return;
        };
        let mut definition = CheckDefinition::of_kind("exec");
        for child in self.block(node, &keyword_path) {
            let child_path = keyword_path.key(&child.keyword);
            let errors_before = self.error_count();
            let native_key = match child.keyword.as_str() {
                "script" => self
                    .script_command(child, &child_path)
                    .map(|words| (schema::health_check::COMMAND.key, Value::Array(words))),
                "interval" | "timeout" => self
                    .one_argument(child, &child_path)
                    .map(|text| (child.keyword.as_str(), Value::String(text.to_owned()))),
                "rise" | "fall" => self
                    .one_argument(child, &child_path)
                    .map(|text| (child.keyword.as_str(), number_or_text(text))),
                "weight" => self
                    .weight(child, &child_path, &child.arguments)
                    .map(|weight| (schema::health_check::WEIGHT.key, weight)),
                "user" => match unknown_account(&child.arguments) {
                    Some(missing) => {
                        // keepalived: "Unable to set uid/gid for script"; the script is
                        // removed, and its trackers go on without it.
                        self.warn(
                            child,
                            &child_path,
                            format!(
                                "the script is removed, as keepalived removes it: {missing}; \
                                 the instances that track it run without it"
                            ),
                        );
                        definition.has_error = true;
                        None
                    }
                    None => self.script_user(child, &child_path),
                },
                "init_fail" if child.arguments.is_empty() && child.block.is_none() => {
                    Some((schema::health_check::INIT_FAIL.key, Value::Boolean(true)))
                }
                "init_fail" => {
                    self.error(child, &child_path, "`init_fail` takes no value");
                    None
                }
                _ => {
                    self.not_translated(child, &child_path, "vrrp_script");
                    None
                }
            };
            if let Some((key, value)) = native_key {
                definition.set(key, value, Self::origin(child, &child_path));
            }
            definition.has_error |= self.error_count() > errors_before;
        }
        if !definition
            .fields
            .contains_key(schema::health_check::COMMAND.key)
            && !definition.has_error
        {
            // keepalived: "No script set for vrrp_script - removing"; its trackers then
            // find nothing and go on without it.
            self.warn(
                node,
                &keyword_path,
                "removed, as keepalived removes it: there is no usable `script \"PROGRAM \
                 ARGS\"`; the instances that track it run without it",
            );
            definition.has_error = true;
        }
        if !definition
            .fields
            .contains_key(schema::health_check::USER.key)
            && !definition.has_error
            && let Some(reason) = self.no_default_script_user()
        {
            self.warn(
                node,
                &keyword_path,
                format!(
                    "removed, as keepalived removes it: {reason}; the instances that track it \
                     run without it (give it a `user`, or global_defs a `script_user` that exists)"
                ),
            );
            definition.has_error = true;
        }
        if !definition
            .fields
            .contains_key(schema::health_check::USER.key)
            && !definition.has_error
            && let Some((user, origin)) = self.globals.script_user.clone()
        {
            definition.set(schema::health_check::USER.key, Value::String(user), origin);
        }
        if !definition
            .fields
            .contains_key(schema::health_check::USER.key)
            && !definition.has_error
            && user_exists(DEFAULT_SCRIPT_USER)
        {
            // keepalived's script user when global_defs names none, where it exists.
            let origin = Self::origin(node, &keyword_path);
            definition.set(
                schema::health_check::USER.key,
                Value::String(DEFAULT_SCRIPT_USER.into()),
                origin,
            );
        }
        if !definition
            .fields
            .contains_key(schema::health_check::USER.key)
            && !definition.has_error
        {
            // keepalived runs a script without `user` (and without `script_user`) as root; so
            // does the translation, but only because it says so out loud.
            self.globals.scripts_as_root = true;
            self.warn(
                node,
                &keyword_path,
                "runs as root, as keepalived runs a script without `user`; the translation \
                 sets `exec_checks_as_root`: give the script a `user` to run it unprivileged",
            );
        }
        self.scripts.insert(name, definition);
    }

    /// keepalived's `user USER [GROUP]` of a vrrp_script. The script runs with the user's
    /// primary group here; a group is left out with a warning.
    fn script_user(
        &mut self,
        node: &Node,
        keyword_path: &FieldPath,
    ) -> Option<(&'static str, Value)> {
        match node.arguments.as_slice() {
            [user] => Some((schema::health_check::USER.key, Value::String(user.clone()))),
            [user, group] => {
                self.warn(
                    node,
                    keyword_path,
                    format!(
                        "the script runs with {user}'s primary group here, not with {group} \
                         as keepalived runs it"
                    ),
                );
                Some((schema::health_check::USER.key, Value::String(user.clone())))
            }
            _ => {
                self.error(node, keyword_path, "`user` takes a user name");
                None
            }
        }
    }

    fn vrrp_track_file(&mut self, node: &Node) {
        let keyword_path = FieldPath::root().key(&named(node));
        let Some(name) = self.definition_name(node, &keyword_path) else {
            return;
        };
        let mut definition = CheckDefinition::of_kind("file");
        // keepalived's default weight for a tracked file: the value read is added as is.
        definition
            .fields
            .insert(schema::health_check::WEIGHT.key.into(), Value::Integer(1));
        for child in self.block(node, &keyword_path) {
            let child_path = keyword_path.key(&child.keyword);
            let errors_before = self.error_count();
            let native_key = match child.keyword.as_str() {
                "file" => self.one_argument(child, &child_path).map(|path| {
                    (
                        schema::health_check::PATH.key,
                        Value::String(path.to_owned()),
                    )
                }),
                "weight" => self
                    .weight(child, &child_path, &child.arguments)
                    .map(|weight| (schema::health_check::WEIGHT.key, weight)),
                _ => {
                    self.not_translated(child, &child_path, "vrrp_track_file");
                    None
                }
            };
            if let Some((key, value)) = native_key {
                definition.set(key, value, Self::origin(child, &child_path));
            }
            definition.has_error |= self.error_count() > errors_before;
        }
        self.track_files.insert(name, definition);
    }

    /// `vrrp_track_process NAME { ... }`: a check of kind `process`
    /// (keepalived/vrrp/vrrp_parser.c, the `vrrp_tprocess_*` handlers).
    fn vrrp_track_process(&mut self, node: &Node) {
        use schema::health_check as field;
        let keyword_path = FieldPath::root().key(&named(node));
        let Some(name) = self.definition_name(node, &keyword_path) else {
            return;
        };
        let mut definition = CheckDefinition::of_kind("process");
        let mut quorum_given = false;
        let mut quorum_max_zero = None;
        for child in self.block(node, &keyword_path) {
            let child_path = keyword_path.key(&child.keyword);
            let errors_before = self.error_count();
            let origin = Self::origin(child, &child_path);
            match child.keyword.as_str() {
                // `process PATH [ARGUMENT...]`: arguments make keepalived compare the command
                // line, exactly unless param_match says otherwise.
                "process" => match child.arguments.split_first() {
                    Some((process, arguments)) if child.block.is_none() => {
                        definition.set(
                            field::PROCESS.key,
                            Value::String(process.clone()),
                            origin.clone(),
                        );
                        if !arguments.is_empty() {
                            let words = arguments.iter().cloned().map(Value::String).collect();
                            definition.set(
                                field::ARGUMENTS.key,
                                Value::Array(words),
                                origin.clone(),
                            );
                            definition.set(field::FULL_COMMAND.key, Value::Boolean(true), origin);
                        }
                    }
                    _ => self.error(child, &child_path, "write `process NAME [ARGUMENT...]`"),
                },
                "param_match" => {
                    let how = match child.arguments.as_slice() {
                        [] => Some("exact"),
                        [how] if how == "partial" || how == "initial" => Some(how.as_str()),
                        _ => None,
                    };
                    match how {
                        Some(how) => {
                            definition.set(
                                field::PARAM_MATCH.key,
                                Value::String(how.into()),
                                origin.clone(),
                            );
                            definition.set(field::FULL_COMMAND.key, Value::Boolean(true), origin);
                        }
                        // keepalived: "Invalid param_match type - ignoring".
                        None => self.warn(
                            child,
                            &child_path,
                            "ignored, as keepalived ignores it: write `param_match`, \
                             `param_match partial` or `param_match initial`",
                        ),
                    }
                }
                "full_command" => {
                    if self.flag(child, &child_path) {
                        definition.set(field::FULL_COMMAND.key, Value::Boolean(true), origin);
                    }
                }
                "weight" => {
                    if let Some(weight) = self.weight(child, &child_path, &child.arguments) {
                        definition.set(field::WEIGHT.key, weight, origin);
                    }
                }
                "quorum" | "quorum_max" => {
                    if let Some(text) = self.one_argument(child, &child_path) {
                        let key = if child.keyword == "quorum" {
                            quorum_given = true;
                            field::QUORUM.key
                        } else {
                            quorum_max_zero = (text == "0").then(|| origin.clone());
                            field::QUORUM_MAX.key
                        };
                        definition.set(key, number_or_text(text), origin);
                    }
                }
                "delay" | "fork_delay" | "terminate_delay" => {
                    if let Some(text) = self.one_argument(child, &child_path) {
                        let value = Value::String(text.to_owned());
                        if child.keyword != "terminate_delay" {
                            definition.set(field::FORK_DELAY.key, value.clone(), origin.clone());
                        }
                        if child.keyword != "fork_delay" {
                            definition.set(field::TERMINATE_DELAY.key, value, origin);
                        }
                    }
                }
                _ => self.not_translated(child, &child_path, "vrrp_track_process"),
            }
            definition.has_error |= self.error_count() > errors_before;
        }
        // keepalived: `quorum_max 0` without a quorum means "passes while none runs".
        if let (Some(origin), false) = (quorum_max_zero, quorum_given) {
            definition.set(field::QUORUM.key, Value::Integer(0), origin);
        }
        if !definition.fields.contains_key(field::PROCESS.key) {
            // keepalived: "process name not specified", and the tracker is dropped; its
            // instances then run without it ("not found, ignoring").
            self.warn(
                node,
                &keyword_path,
                "removed, as keepalived removes it: it names no `process`; the instances \
                 that track it run without it",
            );
            definition.has_error = true;
        }
        self.track_processes.insert(name, definition);
    }

    fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
            .count()
    }

    fn definition_name(&mut self, node: &Node, keyword_path: &FieldPath) -> Option<String> {
        match node.arguments.as_slice() {
            [name] => Some(name.clone()),
            _ => {
                self.error(
                    node,
                    keyword_path,
                    format!(
                        "`{}` takes one name: {} NAME {{ ... }}",
                        node.keyword, node.keyword
                    ),
                );
                None
            }
        }
    }

    /// The program and arguments of a `script` statement, split as keepalived splits them
    /// ([`command::split`]): the statement's second word is the command, split again into
    /// the program and its arguments; words after the command are ignored, as keepalived
    /// ignores them.
    fn script_command(&mut self, node: &Node, keyword_path: &FieldPath) -> Option<Vec<Value>> {
        let words = self.statement_words(node, keyword_path)?;
        let Some(command) = words.get(1) else {
            self.warn(node, keyword_path, "ignored: `script` names no program");
            return None;
        };
        if words.len() > 2 {
            self.warn(
                node,
                keyword_path,
                format!(
                    "only \"{command}\" is the command, as keepalived reads it: the words after \
                     it ({}) are ignored; quote the whole command to pass them as arguments",
                    words[2..].join(" ")
                ),
            );
        }
        let argv = self.command_words(node, keyword_path, command)?;
        Some(argv.into_iter().map(Value::String).collect())
    }

    /// The words of `node`'s statement, split as keepalived splits a program's statement;
    /// `None` after a warning when keepalived could not split it either.
    fn statement_words(&mut self, node: &Node, keyword_path: &FieldPath) -> Option<Vec<String>> {
        match command::split(&node.text) {
            Ok(words) => Some(words),
            Err(why) => {
                self.warn(
                    node,
                    keyword_path,
                    format!("ignored, as keepalived ignores it: {why}"),
                );
                None
            }
        }
    }

    /// `command` split into the program and its arguments; `None` after a warning when it
    /// is empty or cannot be split.
    fn command_words(
        &mut self,
        node: &Node,
        keyword_path: &FieldPath,
        command: &str,
    ) -> Option<Vec<String>> {
        match command::split(command) {
            Ok(words) if !words.is_empty() => Some(words),
            Ok(_) => {
                self.warn(node, keyword_path, "ignored: the command is empty");
                None
            }
            Err(why) => {
                self.warn(
                    node,
                    keyword_path,
                    format!("ignored, as keepalived ignores it: {why}"),
                );
                None
            }
        }
    }

    /// An address as keepalived's `inet_stosockaddr()` reads it: anything from a `/` or `-`
    /// on (a prefix length, a range) is dropped, with a warning here.
    /// An advert lists at most 255 addresses (its Count IPvX Addrs is one byte, RFC 9568
    /// §5.2.5); keepalived 2.2.7 moves the rest of `virtual_ipaddress` to the excluded ones
    /// ("excess moved to eVIPs", vrrp.c, `vrrp_complete_instance`) and runs, as measured
    /// here with 314: all of them were added. So does this translation, with the warning.
    fn move_excess_addresses(&mut self, instance: &mut InstanceTranslation, path: &FieldPath) {
        const MOST_ADVERTISED: usize = u8::MAX as usize;
        let key = schema::instance::VIRTUAL_ADDRESSES.key;
        let excluded_key = schema::instance::EXCLUDED_ADDRESSES.key;
        let Some(Value::Array(addresses)) = instance.table.get_mut(key) else {
            return;
        };
        if addresses.len() <= MOST_ADVERTISED {
            return;
        }
        let count = addresses.len();
        let excess = addresses.split_off(MOST_ADVERTISED);
        let mut excluded = match instance.table.remove(excluded_key) {
            Some(Value::Array(excluded)) => excluded,
            _ => Vec::new(),
        };
        for (offset, address) in excess.into_iter().enumerate() {
            if let Some(origin) = self
                .origins
                .remove(&path.key(key).index(MOST_ADVERTISED + offset))
            {
                self.origins
                    .insert(path.key(excluded_key).index(excluded.len()), origin);
            }
            excluded.push(address);
        }
        instance
            .table
            .insert(excluded_key.into(), Value::Array(excluded));
        self.warn_field(
            &path.key(key),
            format!(
                "{count} addresses exceed the {MOST_ADVERTISED} an advert carries: the last {} \
                 are held but not advertised (moved to virtual_ipaddress_excluded), as \
                 keepalived moves them",
                count - MOST_ADVERTISED
            ),
        );
    }

    /// `use_vmac [NAME] [MAC]` as the native `virtual_mac` value. keepalived 2.2.7 tells
    /// the MAC by its colons (an interface name has none) and fills a 5-octet one with the
    /// VRID; here the macvlan always gets the virtual router MAC, so a MAC is left out with
    /// a warning, and one keepalived cannot read gets its warning.
    fn use_vmac(&mut self, node: &Node, keyword_path: &FieldPath) -> Option<Value> {
        if node.block.is_some() {
            self.error(
                node,
                keyword_path,
                "`use_vmac` takes a name and a MAC, not a block",
            );
            return None;
        }
        let (macs, names): (Vec<&String>, Vec<&String>) =
            node.arguments.iter().partition(|word| word.contains(':'));
        for mac in macs {
            let octets: Vec<&str> = mac.split(':').collect();
            let readable = matches!(octets.len(), 5 | 6)
                && octets.iter().all(|octet| {
                    (1..=2).contains(&octet.len()) && u8::from_str_radix(octet, 16).is_ok()
                });
            let message = if readable {
                format!(
                    "the MAC {mac} is left out: the virtual MAC interface gets the virtual router \
                     MAC 00:00:5e:00:01:VRID (00:00:5e:00:02:VRID for IPv6, RFC 9568 §7.3), which \
                     this daemon does not replace yet"
                )
            } else {
                format!(
                    "invalid MAC address {mac}; the virtual router MAC is used, as keepalived \
                     uses it"
                )
            };
            self.warn(node, keyword_path, message);
        }
        match names.as_slice() {
            [] => Some(Value::Boolean(true)),
            [name, rest @ ..] => {
                if !rest.is_empty() {
                    let ignored: Vec<&str> = rest.iter().map(|word| word.as_str()).collect();
                    self.warn(
                        node,
                        keyword_path,
                        format!("\"{}\" after the name is ignored", ignored.join(" ")),
                    );
                }
                Some(Value::String((*name).clone()))
            }
        }
    }

    /// The `min_ttl N` / `max_ttl N` options after a unicast peer's address, as native
    /// fields, read as keepalived 2.2.7 reads them (`vrrp_parser.c`, `unicast_peer_handler`):
    /// a bad number skips its option with a warning, an unknown option or a missing value
    /// ends the line with one, and a minimum above the maximum is kept, with keepalived's
    /// warning that every advert from the peer is then refused.
    fn peer_hop_limits(&mut self, peer: &Node, peer_path: &FieldPath) -> Table {
        let mut limits = Table::new();
        let mut options = peer.arguments.iter();
        while let Some(option) = options.next() {
            let key = match option.as_str() {
                "min_ttl" => schema::unicast_peer::MIN_TTL.key,
                "max_ttl" => schema::unicast_peer::MAX_TTL.key,
                other => {
                    let message = if options.len() == 0 {
                        format!("`{other}` is missing a value; the rest of the line is ignored")
                    } else {
                        format!(
                            "unknown unicast_peer option `{other}`; the rest of the line is \
                             ignored, as keepalived ignores it"
                        )
                    };
                    self.warn(peer, peer_path, message);
                    break;
                }
            };
            let Some(value) = options.next() else {
                self.warn(
                    peer,
                    peer_path,
                    format!("`{option}` is missing a value; ignored, as keepalived ignores it"),
                );
                break;
            };
            match value.parse::<u8>() {
                Ok(hop_limit) => {
                    limits.insert(key.into(), Value::Integer(hop_limit.into()));
                }
                Err(_) => self.warn(
                    peer,
                    peer_path,
                    format!(
                        "`{option} {value}` ignored, as keepalived ignores it: a TTL is a \
                         whole number 0..255"
                    ),
                ),
            }
        }
        let limit = |key: &str| limits.get(key).and_then(Value::as_integer);
        if let (Some(lowest), Some(highest)) = (
            limit(schema::unicast_peer::MIN_TTL.key),
            limit(schema::unicast_peer::MAX_TTL.key),
        ) && lowest > highest
        {
            self.warn(
                peer,
                peer_path,
                format!(
                    "min_ttl {lowest} is above max_ttl {highest}: every advert from this peer \
                     is refused, as keepalived refuses them"
                ),
            );
        }
        limits
    }

    fn bare_address(&mut self, node: &Node, keyword_path: &FieldPath, text: &str) -> String {
        match text.find(['/', '-']) {
            Some(cut) => {
                let address = &text[..cut];
                self.warn(
                    node,
                    keyword_path,
                    format!(
                        "\"{}\" after the address is ignored, as keepalived ignores it: {address} \
                         is used",
                        &text[cut..]
                    ),
                );
                address.to_owned()
            }
            None => text.to_owned(),
        }
    }

    /// The value of `weight N`, or of a track line's `weight N` arguments.
    fn weight(&mut self, node: &Node, keyword_path: &FieldPath, words: &[String]) -> Option<Value> {
        match words {
            [number] => Some(number_or_text(number)),
            [_, reverse] if reverse == "reverse" => {
                self.error(
                    node,
                    keyword_path,
                    "not supported: `reverse` weights are not translated; invert the check \
                     instead",
                );
                None
            }
            _ => {
                self.error(
                    node,
                    keyword_path,
                    "write the weight as `weight N`, N in -253..253",
                );
                None
            }
        }
    }

    fn instance(&mut self, node: &Node, instances: &mut Table) {
        let keyword_path = FieldPath::root().key(&named(node));
        let Some(name) = self.definition_name(node, &keyword_path) else {
            return;
        };
        let native = native_name(&name);
        if native != name {
            self.warn(
                node,
                &keyword_path,
                format!(
                    "called `{native}` here: native names are lowercase letters, digits, `-` \
                     and `_`, so that environment variables can name them"
                ),
            );
        }
        if instances.contains_key(&native) {
            self.error(
                node,
                &keyword_path,
                format!(
                    "`{name}` becomes `{native}` here, as an instance before it did; rename one"
                ),
            );
            return;
        }
        let path = FieldPath::root()
            .key(schema::top_level::INSTANCES.key)
            .key(&native);
        self.origins
            .insert(path.clone(), Self::origin(node, &keyword_path));
        let mut instance = InstanceTranslation {
            keepalived_name: Some(name.clone()),
            ..InstanceTranslation::default()
        };
        self.current_instance = Some(name.clone());
        for child in self.block(node, &keyword_path) {
            self.instance_keyword(child, &keyword_path, &path, &mut instance);
        }
        for (track, group_path) in self.group_tracks.get(&name).cloned().unwrap_or_default() {
            self.tracks(
                &track,
                &group_path.key(&track.keyword),
                &path.key(schema::instance::HEALTH_CHECKS.key),
                &mut instance,
                Tracker::SyncGroup,
            );
        }
        self.static_tracks(
            &name,
            &path.key(schema::instance::HEALTH_CHECKS.key),
            &mut instance,
        );
        self.finish_instance(&keyword_path, &path, &mut instance);
        instances.insert(native, Value::Table(instance.table));
    }

    fn instance_keyword(
        &mut self,
        child: &Node,
        instance_path: &FieldPath,
        path: &FieldPath,
        instance: &mut InstanceTranslation,
    ) {
        let keyword_path = instance_path.key(&child.keyword);
        let origin = Self::origin(child, &keyword_path);
        match child.keyword.as_str() {
            "state" => {
                if let Some(state) = self.one_argument(child, &keyword_path) {
                    match state {
                        "MASTER" => instance.state_master = Some(child.clone()),
                        "BACKUP" => {}
                        other => self.error(
                            child,
                            &keyword_path,
                            format!(
                                "\"{other}\" is not a state; keepalived takes MASTER or BACKUP"
                            ),
                        ),
                    }
                }
            }
            "interface" | "virtual_router_id" | "priority" | "advert_int" | "version"
            | "preempt_delay" => {
                let Some(text) = self.one_argument(child, &keyword_path) else {
                    return;
                };
                let field = instance_field(&child.keyword);
                let value = match field.kind {
                    schema::Kind::Integer | schema::Kind::Choice(_) => number_or_text(text),
                    _ => Value::String(text.to_owned()),
                };
                match child.keyword.as_str() {
                    "priority" => instance.priority = text.parse().ok(),
                    "advert_int" => instance.advert_int = Some((child.clone(), text.to_owned())),
                    _ => {}
                }
                self.set(&mut instance.table, path, field.key, value, origin);
            }
            "mcast_src_ip" | "unicast_src_ip" => {
                if let Some(text) = self.one_argument(child, &keyword_path) {
                    let address = self.bare_address(child, &keyword_path, text);
                    instance.source = Some((address, child.clone(), keyword_path));
                }
            }
            "mcast_dst_ip" => self.multicast_group(child, &keyword_path),
            "unicast_peer" => {
                let mut peers = Vec::new();
                for peer in self.block(child, &keyword_path) {
                    let peer_path = keyword_path.key(&peer.keyword);
                    if peer.block.is_some() {
                        self.error(
                            peer,
                            &peer_path,
                            "a unicast peer takes `min_ttl N` and `max_ttl N`, not a block",
                        );
                        continue;
                    }
                    self.origins.insert(
                        path.key(schema::instance::UNICAST_PEERS.key)
                            .index(peers.len()),
                        Self::origin(peer, &peer_path),
                    );
                    let address = self.bare_address(peer, &peer_path, &peer.keyword);
                    let hop_limits = self.peer_hop_limits(peer, &peer_path);
                    if hop_limits.is_empty() {
                        peers.push(Value::String(address));
                        continue;
                    }
                    instance
                        .peer_hop_limits
                        .get_or_insert(Self::origin(peer, &peer_path));
                    let mut table = Table::new();
                    table.insert(
                        schema::unicast_peer::ADDRESS.key.into(),
                        Value::String(address),
                    );
                    table.extend(hop_limits);
                    peers.push(Value::Table(table));
                }
                if peers.is_empty() {
                    // Settled once the whole block is read: it depends on
                    // unicast_fault_no_peer.
                    instance.empty_unicast_peer = Some(origin);
                    return;
                }
                instance.has_peers = true;
                self.set(
                    &mut instance.table,
                    path,
                    schema::instance::UNICAST_PEERS.key,
                    Value::Array(peers),
                    origin,
                );
            }
            "authentication" => {
                let errors_before = self.error_count();
                let auth = self.authentication(
                    child,
                    &keyword_path,
                    &path.key(schema::instance::AUTHENTICATION.key),
                );
                // A block left out (AH, an unknown type, no type) gives no native
                // authentication, as keepalived runs such an instance without.
                let Some(auth) = auth else {
                    return;
                };
                if self.error_count() > errors_before {
                    return;
                }
                instance.authentication = Some(child.clone());
                self.set(
                    &mut instance.table,
                    path,
                    schema::instance::AUTHENTICATION.key,
                    Value::Table(auth),
                    origin,
                );
            }
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                let key = instance_field(&child.keyword).key;
                let addresses = self.addresses(child, &keyword_path, &path.key(key));
                if key == schema::instance::VIRTUAL_ADDRESSES.key {
                    instance.family_is_ipv6 = addresses.first().and_then(|first| {
                        let text = match first {
                            Value::String(text) => Some(text.as_str()),
                            Value::Table(table) => table
                                .get(schema::address::ADDRESS.key)
                                .and_then(Value::as_str),
                            _ => None,
                        }?;
                        let address = text.split('/').next()?.parse::<IpAddr>().ok()?;
                        Some(address.is_ipv6())
                    });
                }
                self.set(
                    &mut instance.table,
                    path,
                    key,
                    Value::Array(addresses),
                    origin,
                );
            }
            "nopreempt" => {
                if self.flag(child, &keyword_path) {
                    instance.nopreempt = Some(child.clone());
                }
            }
            "accept" | "no_accept" => {
                if self.flag(child, &keyword_path) {
                    let accept = child.keyword == "accept";
                    self.set(
                        &mut instance.table,
                        path,
                        schema::instance::ACCEPT_MODE.key,
                        Value::Boolean(accept),
                        origin,
                    );
                }
            }
            "garp_master_delay"
            | "garp_master_repeat"
            | "garp_master_refresh"
            | "garp_lower_prio_delay"
            | "garp_lower_prio_repeat" => {
                if let Some(text) = self.one_argument(child, &keyword_path) {
                    let key = garp_key(&child.keyword);
                    instance.garp.insert(key, (number_or_text(text), origin));
                }
            }
            "notify_master"
            | "notify_backup"
            | "notify_fault"
            | "notify_stop"
            | "notify"
            | "notify_master_rx_lower_pri" => {
                if let Some((key, program)) = self.notify_program(child, &keyword_path) {
                    self.origins
                        .insert(path.key(schema::instance::NOTIFY.key).key(key), origin);
                    instance.notify.insert(key.to_owned(), program);
                }
            }
            // keepalived's `vrrp_notify_deleted_handler()`: the keyword alone reports a
            // removal as DELETED rather than FAULT; with a program, it also runs that.
            "notify_deleted" => {
                if child.arguments.is_empty() && child.block.is_none() {
                    instance.notify_deleted = Some(origin);
                } else if let Some((key, program)) = self.notify_program(child, &keyword_path) {
                    self.origins.insert(
                        path.key(schema::instance::NOTIFY.key).key(key),
                        origin.clone(),
                    );
                    instance.notify.insert(key.to_owned(), program);
                    instance.notify_deleted = Some(origin);
                }
            }
            "notify_priority_changes" => {
                if let Some(enabled) = self.boolean_flag(child, &keyword_path) {
                    instance.priority_changes = Some((enabled, origin));
                }
            }
            "track_script" | "track_file" | "track_interface" | "track_process" => self.tracks(
                child,
                &keyword_path,
                &path.key(schema::instance::HEALTH_CHECKS.key),
                instance,
                Tracker::Instance,
            ),
            "smtp_alert" => {
                if let Some(enabled) = self.boolean_flag(child, &keyword_path) {
                    self.set(
                        &mut instance.table,
                        path,
                        schema::instance::EMAIL_ALERTS.key,
                        Value::Boolean(enabled),
                        origin,
                    );
                }
            }
            "dont_track_primary" => {
                if self.flag(child, &keyword_path) {
                    self.set(
                        &mut instance.table,
                        path,
                        schema::instance::DONT_TRACK_PRIMARY.key,
                        Value::Boolean(true),
                        origin,
                    );
                }
            }
            "check_unicast_src" => {
                if self.flag(child, &keyword_path) {
                    instance.check_unicast_src = Some(origin);
                }
            }
            "down_timer_adverts" => {
                if let Some(text) = self.one_argument(child, &keyword_path) {
                    instance.down_timer_adverts = Some((number_or_text(text), origin));
                }
            }
            "unicast_fault_no_peer" => {
                if self.flag(child, &keyword_path) {
                    instance.unicast_fault_no_peer = true;
                }
            }
            "unicast_ttl" => {
                if let Some(text) = self.one_argument(child, &keyword_path) {
                    instance.unicast_ttl = Some((number_or_text(text), origin));
                }
            }
            "lower_prio_no_advert" => {
                // An optional on/off, which wins over vrrp_lower_prio_no_advert either way.
                if let Some(quiet) = self.boolean_flag(child, &keyword_path) {
                    instance.lower_prio_no_advert = Some((quiet, origin));
                }
            }
            "strict_mode" => {
                // keepalived 2.2.7 takes an optional on/off (vrrp_parser.c), which wins over
                // vrrp_strict either way.
                if let Some(strict) = self.boolean_flag(child, &keyword_path) {
                    instance.strict = Some((strict, origin));
                }
            }
            "virtual_routes" => self.virtual_routes(child, &keyword_path, path, instance),
            "virtual_rules" => self.virtual_rules(child, &keyword_path, path, instance),
            "use_vmac" => {
                // `use_vmac [NAME] [MAC]` (vrrp_parser.c): without a name, keepalived's
                // `vrrp.VRID`.
                let value = self.use_vmac(child, &keyword_path);
                if let Some(value) = value {
                    self.set(
                        &mut instance.table,
                        path,
                        schema::instance::VIRTUAL_MAC.key,
                        value,
                        origin,
                    );
                }
            }
            "vmac_xmit_base" => {
                if self.flag(child, &keyword_path) {
                    self.set(
                        &mut instance.table,
                        path,
                        schema::instance::VIRTUAL_MAC_XMIT_BASE.key,
                        Value::Boolean(true),
                        origin,
                    );
                }
            }
            _ => self.not_translated(child, &keyword_path, "vrrp_instance"),
        }
    }

    /// Notes the sync group of each member of sync group `node`.
    fn collect_group_members(&mut self, node: &Node) {
        let Some(group) = node.arguments.first() else {
            return;
        };
        let members = node
            .block
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|child| child.keyword == "group")
            .flat_map(|child| child.block.as_deref().unwrap_or_default());
        for member in members {
            self.group_of.insert(member.keyword.clone(), group.clone());
        }
        if node
            .block
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|child| matches!(child.keyword.as_str(), TRACKING_WEIGHT | GLOBAL_TRACKING))
        {
            self.groups_with_tracking_weight.insert(group.clone());
        }
        // keepalived's `vrrp_sg_notify_priority_changes_handler()`: the default of the
        // members that do not say (`vrrp_complete_instance()` in `keepalived/vrrp/vrrp.c`).
        let keyword_path = FieldPath::root().key(&named(node));
        for child in node.block.as_deref().unwrap_or_default() {
            if child.keyword != "notify_priority_changes" || child.block.is_some() {
                continue;
            }
            let enabled = match child.arguments.as_slice() {
                [] => Some(true),
                [value] => match value.to_ascii_lowercase().as_str() {
                    "on" | "true" | "yes" => Some(true),
                    "off" | "false" | "no" => Some(false),
                    _ => None,
                },
                _ => None,
            };
            if let Some(enabled) = enabled {
                let origin = Self::origin(child, &keyword_path.key(&child.keyword));
                self.group_priority_changes
                    .insert(group.clone(), (enabled, origin));
            }
        }
    }

    /// Notes the `track_*` blocks of sync group `node` for each of its members.
    fn collect_group_tracks(&mut self, node: &Node) {
        if node.arguments.is_empty() {
            // `sync_group` reports the missing name.
            return;
        }
        let keyword_path = FieldPath::root().key(&named(node));
        let children = node.block.as_deref().unwrap_or_default();
        let tracks: Vec<(Node, FieldPath)> = children
            .iter()
            .filter(|child| {
                matches!(
                    child.keyword.as_str(),
                    "track_script" | "track_file" | "track_interface" | "track_process"
                )
            })
            .map(|child| (child.clone(), keyword_path.clone()))
            .collect();
        if tracks.is_empty() {
            return;
        }
        let members = children
            .iter()
            .filter(|child| child.keyword == "group")
            .flat_map(|group| group.block.as_deref().unwrap_or_default())
            .map(|member| member.keyword.clone());
        for member in members {
            self.group_tracks
                .entry(member)
                .or_default()
                .extend(tracks.iter().cloned());
        }
    }

    /// A `notify*` keyword of an instance or a sync group: the native key and the program
    /// with its arguments, split as keepalived splits them (`notify_script_init()` in
    /// `lib/notify.c`): the second word of the statement is the command, the third and
    /// fourth the user and group to run it as.
    fn notify_program(
        &mut self,
        node: &Node,
        keyword_path: &FieldPath,
    ) -> Option<(&'static str, Value)> {
        let words = self.statement_words(node, keyword_path)?;
        let Some(command) = words.get(1) else {
            self.warn(
                node,
                keyword_path,
                format!("ignored: `{}` names no program", node.keyword),
            );
            return None;
        };
        if words.get(2).is_none()
            && let Some(reason) = self.no_default_script_user()
        {
            self.warn(
                node,
                keyword_path,
                format!(
                    "ignored, as keepalived ignores it: {reason} (give global_defs a \
                     `script_user` that exists)"
                ),
            );
            return None;
        }
        if let Some(user) = words.get(2) {
            if !user_exists(user) {
                self.warn(
                    node,
                    keyword_path,
                    format!(
                        "ignored, as keepalived ignores it: keepalived reads \"{user}\" as the \
                         user to run \"{command}\" as, and there is no such user here (quote \
                         the command to give it arguments)"
                    ),
                );
                return None;
            }
            self.warn(
                node,
                keyword_path,
                format!(
                    "runs as the daemon's user, not as \"{user}\": notify programs have no user \
                     of their own here"
                ),
            );
        }
        let mut argv = self.command_words(node, keyword_path, command)?;
        match resolve_program(&argv[0]) {
            Some(program) => argv[0] = program,
            None => {
                self.warn(
                    node,
                    keyword_path,
                    format!(
                        "ignored, as keepalived ignores it: there is no program \"{}\" on the \
                         PATH",
                        argv[0]
                    ),
                );
                return None;
            }
        }
        let key = schema::from_keepalived(schema::notify::FIELDS, &node.keyword)
            .expect("notify_program is given only the notify keywords of the field table")
            .key;
        let value = if argv.len() == 1 {
            Value::String(argv.remove(0))
        } else {
            Value::Array(argv.into_iter().map(Value::String).collect())
        };
        Some((key, value))
    }

    /// `smtp_alert` alone (on), or with a value keepalived reads as a boolean.
    fn boolean_flag(&mut self, node: &Node, keyword_path: &FieldPath) -> Option<bool> {
        if node.block.is_some() {
            self.error(
                node,
                keyword_path,
                format!("`{}` takes no block", node.keyword),
            );
            return None;
        }
        match node.arguments.as_slice() {
            [] => Some(true),
            [value] => match value.to_ascii_lowercase().as_str() {
                "on" | "true" | "yes" => Some(true),
                "off" | "false" | "no" => Some(false),
                _ => {
                    self.error(
                        node,
                        keyword_path,
                        format!("\"{value}\" is not on/off, true/false or yes/no"),
                    );
                    None
                }
            },
            _ => {
                self.error(
                    node,
                    keyword_path,
                    format!("`{}` takes one value", node.keyword),
                );
                None
            }
        }
    }

    /// The program of the global FIFO (`notify_fifo_script` for `notify_fifo`,
    /// `vrrp_notify_fifo_script` for `vrrp_notify_fifo`) into `notify`, a notify table
    /// that writes it.
    fn fifo_program(&mut self, notify_path: &FieldPath, notify: &mut Table) {
        let Some(keyword) = &self.globals.fifo_keyword else {
            return;
        };
        if let Some((program, origin, _, _)) = self.globals.fifo_programs.get(keyword) {
            self.origins.insert(
                notify_path.key(schema::notify::FIFO_PROGRAM.key),
                origin.clone(),
            );
            notify.insert(schema::notify::FIFO_PROGRAM.key.into(), program.clone());
        }
    }

    /// A FIFO program without its FIFO: keepalived starts none (`fifo_open()` in
    /// `lib/notify.c` looks at the FIFO's name first).
    fn unread_fifo_programs(&mut self) {
        let programs = std::mem::take(&mut self.globals.fifo_programs);
        for (fifo, (_, _, node, keyword_path)) in programs {
            if self.globals.fifo_keyword.as_deref() != Some(fifo.as_str()) {
                self.warn(
                    &node,
                    &keyword_path,
                    format!(
                        "ignored, as keepalived ignores it: there is no `{fifo}` for it to read"
                    ),
                );
            }
        }
    }

    /// `vrrp_sync_group NAME { group { VI_1 VI_2 } smtp_alert }`.
    /// `vrrp_garp_interval` / `vrrp_gna_interval`: seconds with up to six decimals, kept as
    /// written for the native reader, which refuses what keepalived refuses at the same line.
    fn global_spacing(&mut self, node: &Node, keyword_path: &FieldPath, origin: Origin) {
        let Some(text) = self.one_argument(node, keyword_path) else {
            return;
        };
        let key = if node.keyword == "vrrp_garp_interval" {
            schema::global::GARP_INTERVAL.key
        } else {
            schema::global::GNA_INTERVAL.key
        };
        match text.parse::<f64>() {
            // keepalived 2.2.7 reads it with a least value of one microsecond
            // (`core/global_parser.c`), reports 0 as invalid and goes on without spacing:
            // keepalived's own sample configuration writes 0, so it runs here too.
            Ok(0.0) => self.warn(
                node,
                keyword_path,
                format!(
                    "keepalived 2.2.7 reports \"{}\" as invalid (its least value is                      0.000001) and spaces nothing; nothing is spaced here either",
                    text
                ),
            ),
            Ok(seconds) if seconds >= 1.0 => {
                self.warn(
                    node,
                    keyword_path,
                    format!(
                        "{text} s between two messages is very large (keepalived says so                          too); it is kept"
                    ),
                );
                self.globals
                    .spacing
                    .insert(key, (Value::String(text.to_owned()), origin));
            }
            _ => {
                self.globals
                    .spacing
                    .insert(key, (Value::String(text.to_owned()), origin));
            }
        }
    }

    /// `vrrp_min_garp`: one message per address, no second burst and no refresh, for each
    /// of those that does not hold a value of its own yet (keepalived compares with its
    /// defaults, `vrrp_min_garp_handler` in `core/global_parser.c`, so a later keyword still
    /// overrides it). The lower-priority answer follows, as its defaults are these.
    fn min_garp(&mut self, origin: Origin) {
        for (field, default, minimal) in [
            (&schema::garp::REPEAT, 5, 1),
            (&schema::garp::DELAY, 5, 0),
            (&schema::garp::REFRESH, 0, 0),
        ] {
            let untouched = match self.globals.garp.get(field.key) {
                None => true,
                Some((value, _)) => {
                    value == &Value::Integer(default)
                        || value == &Value::String(default.to_string())
                }
            };
            if untouched {
                self.globals
                    .garp
                    .insert(field.key, (Value::Integer(minimal), origin.clone()));
            }
        }
    }

    /// keepalived's `garp_lower_prio_repeat` and `_delay` default to the global
    /// `vrrp_garp_master_repeat` and `_delay` (`vrrp.c`), not to the instance's own, where
    /// the native defaults are the instance's `repeat` and `delay`: an instance that sets
    /// its own gets the global values written out.
    fn lower_priority_garp_defaults(
        &mut self,
        garp: &mut Table,
        path: &FieldPath,
        own: &BTreeMap<&'static str, (Value, Origin)>,
    ) {
        for (lower, base) in [
            (&schema::garp::LOWER_PRIORITY_REPEAT, &schema::garp::REPEAT),
            (&schema::garp::LOWER_PRIORITY_DELAY, &schema::garp::DELAY),
        ] {
            if garp.contains_key(lower.key) {
                continue;
            }
            let Some((_, origin)) = own.get(base.key) else {
                continue;
            };
            let global = match self.globals.garp.get(base.key) {
                Some((value, _)) => value.clone(),
                None => Value::Integer(KEEPALIVED_GARP_DEFAULT),
            };
            self.set(
                garp,
                &path.key(schema::instance::GARP.key),
                lower.key,
                global,
                origin.clone(),
            );
        }
    }

    /// A `garp_group`: interfaces whose announcements share one spacing. keepalived's
    /// groups have no name; they are numbered in the order written.
    fn garp_group(&mut self, node: &Node, garp_groups: &mut Table) {
        let keyword_path = FieldPath::root().key(&named(node));
        let name = format!("garp_group_{}", garp_groups.len() + 1);
        let path = FieldPath::root()
            .key(schema::top_level::GARP_GROUPS.key)
            .key(&name);
        let mut table = Table::new();
        let mut interfaces: Vec<Value> = Vec::new();
        let origin = Self::origin(node, &keyword_path);
        for child in self.block(node, &keyword_path) {
            let child_path = keyword_path.key(&child.keyword);
            let child_origin = Self::origin(child, &child_path);
            match child.keyword.as_str() {
                "garp_interval" | "gna_interval" => {
                    if let Some(text) = self.one_argument(child, &child_path) {
                        let field =
                            schema::from_keepalived(schema::garp_group::FIELDS, &child.keyword)
                                .expect("both intervals are in the garp_group field table");
                        self.set(
                            &mut table,
                            &path,
                            field.key,
                            Value::String(text.to_owned()),
                            child_origin,
                        );
                    }
                }
                "interface" => {
                    if let Some(interface) = self.one_argument(child, &child_path) {
                        self.garp_group_interface(
                            child,
                            &child_path,
                            interface,
                            &name,
                            &mut interfaces,
                        );
                    }
                }
                "interfaces" => {
                    let entries = self.block(child, &child_path);
                    if entries.is_empty() {
                        self.warn(
                            child,
                            &child_path,
                            "the block names no interface (keepalived warns \"empty garp_group \
                             interfaces block\")",
                        );
                    }
                    // keepalived reads the block as words, several to a line if written so.
                    for entry in entries {
                        let entry_path = child_path.key(&entry.keyword);
                        for interface in std::iter::once(&entry.keyword).chain(&entry.arguments) {
                            self.garp_group_interface(
                                entry,
                                &entry_path,
                                interface,
                                &name,
                                &mut interfaces,
                            );
                        }
                    }
                }
                _ => self.not_translated(child, &child_path, "garp_group"),
            }
        }
        if interfaces.is_empty() {
            self.warn(
                node,
                &keyword_path,
                "it names no interface it can take, so it spaces nothing (keepalived keeps it                  unused too)",
            );
            return;
        }
        self.set(
            &mut table,
            &path,
            schema::garp_group::INTERFACES.key,
            Value::Array(interfaces),
            origin,
        );
        garp_groups.insert(name, Value::Table(table));
    }

    /// One interface of garp group `group`: keepalived keeps an interface in the first group
    /// naming it and ignores the others ("garp_group already specified for ... - ignoring").
    fn garp_group_interface(
        &mut self,
        node: &Node,
        keyword_path: &FieldPath,
        interface: &str,
        group: &str,
        interfaces: &mut Vec<Value>,
    ) {
        match self.garp_group_of.get(interface) {
            Some(first) => {
                let message = format!(
                    "`{interface}` is already in an earlier garp_group ({first} here);                      keepalived ignores it in this one (\"garp_group already specified\"),                      and so does this daemon"
                );
                self.warn(node, keyword_path, message);
            }
            None => {
                self.garp_group_of
                    .insert(interface.to_owned(), group.to_owned());
                interfaces.push(Value::String(interface.to_owned()));
            }
        }
    }

    fn sync_group(&mut self, node: &Node, sync_groups: &mut Table) {
        let keyword_path = FieldPath::root().key(&named(node));
        let Some(name) = self.definition_name(node, &keyword_path) else {
            return;
        };
        let path = FieldPath::root()
            .key(schema::top_level::SYNC_GROUPS.key)
            .key(&native_name(&name));
        let mut members: Vec<(Value, Origin)> = Vec::new();
        let mut notify = Table::new();
        let mut group_line = None;
        let mut tracking_weight = false;
        for child in self.block(node, &keyword_path) {
            let child_path = keyword_path.key(&child.keyword);
            match child.keyword.as_str() {
                "group" => {
                    group_line = Some(Self::origin(child, &child_path));
                    for member in self.block(child, &child_path) {
                        let member_path = child_path.key(&member.keyword);
                        if !member.arguments.is_empty() || member.block.is_some() {
                            self.error(member, &member_path, "write one instance name per line");
                            continue;
                        }
                        members.push((
                            Value::String(native_name(&member.keyword)),
                            Self::origin(member, &member_path),
                        ));
                    }
                }
                "smtp_alert" => {
                    if let Some(enabled) = self.boolean_flag(child, &child_path) {
                        self.group_alerts.push((
                            name.clone(),
                            enabled,
                            Self::origin(child, &child_path),
                        ));
                    }
                }
                // Taken by `collect_group_tracks` into each member.
                "track_script" | "track_file" | "track_interface" | "track_process" => {}
                // Taken by `collect_group_members` for the members; checked here.
                "notify_priority_changes" => {
                    self.boolean_flag(child, &child_path);
                }
                // Taken by `collect_group_members`, which the members' trackers follow.
                TRACKING_WEIGHT | GLOBAL_TRACKING => {
                    if !child.arguments.is_empty() || child.block.is_some() {
                        self.warn(
                            child,
                            &child_path,
                            "what follows the keyword is ignored, as keepalived ignores it",
                        );
                    }
                    if child.keyword == GLOBAL_TRACKING {
                        // keepalived's `vrrp_gglobal_tracking_handler()` in
                        // `keepalived/vrrp/vrrp_parser.c` reports this and sets
                        // `sgroup_tracking_weight`.
                        self.warn(
                            child,
                            &child_path,
                            format!(
                                "({name}) global_tracking is deprecated. Use \
                                 track_interface/script/file on the sync group; taken as \
                                 sync_group_tracking_weight (tracking_weight = true)"
                            ),
                        );
                    }
                    tracking_weight = true;
                }
                "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                    if let Some((key, program)) = self.notify_program(child, &child_path) {
                        self.origins.insert(
                            path.key(schema::sync_group::NOTIFY.key).key(key),
                            Self::origin(child, &child_path),
                        );
                        notify.insert(key.to_owned(), program);
                    }
                }
                _ => self.not_translated(child, &child_path, "vrrp_sync_group"),
            }
        }
        let Some(group_origin) = group_line else {
            self.error(
                node,
                &keyword_path,
                "a sync group lists its instances: group { VI_1 VI_2 }",
            );
            return;
        };
        if members.len() < 2 {
            self.warn(
                node,
                &keyword_path,
                "ignored: a sync group of one instance keeps nothing together",
            );
            return;
        }
        let instances_path = path.key(schema::sync_group::INSTANCES.key);
        self.origins.insert(instances_path.clone(), group_origin);
        let mut values = Vec::new();
        for (index, (member, origin)) in members.into_iter().enumerate() {
            self.origins.insert(instances_path.index(index), origin);
            values.push(member);
        }
        self.group_members.insert(
            name.clone(),
            values
                .iter()
                .filter_map(|value| value.as_str().map(str::to_owned))
                .collect(),
        );
        let mut table = Table::new();
        table.insert(
            schema::sync_group::INSTANCES.key.into(),
            Value::Array(values),
        );
        if tracking_weight {
            table.insert(
                schema::sync_group::TRACKING_WEIGHT.key.into(),
                Value::Boolean(true),
            );
        }
        // keepalived writes a group's changes to the global FIFO too (`GROUP "name" ...`).
        if let Some((fifo, origin)) = self.globals.fifo.clone() {
            self.origins.insert(
                path.key(schema::sync_group::NOTIFY.key)
                    .key(schema::notify::FIFO.key),
                origin,
            );
            notify.insert(schema::notify::FIFO.key.into(), Value::String(fifo));
            self.fifo_program(&path.key(schema::sync_group::NOTIFY.key), &mut notify);
        }
        if !notify.is_empty() {
            // Scripts match on the name as written, not the native one.
            if native_name(&name) != name {
                notify.insert(schema::notify::NAME.key.into(), Value::String(name.clone()));
            }
            table.insert(schema::sync_group::NOTIFY.key.into(), Value::Table(notify));
        }
        sync_groups.insert(native_name(&name), Value::Table(table));
    }

    /// `[email_alerts]` from `global_defs`, and `email_alerts` of the instances that send
    /// alerts by the global default or their sync group's `smtp_alert`.
    fn email_alerts(&mut self, native: &mut Table, instances: &mut Table) {
        let globals = &self.globals;
        let default = globals
            .smtp_alert_vrrp
            .clone()
            .or_else(|| globals.smtp_alert.clone());
        let mut wanted: Vec<(String, Origin)> = Vec::new();
        for (name, instance) in instances.iter() {
            let explicit = instance
                .get(schema::instance::EMAIL_ALERTS.key)
                .and_then(Value::as_bool);
            match (explicit, &default) {
                (Some(true), _) => {
                    if let Some(origin) = self.origins.get(
                        &FieldPath::root()
                            .key(schema::top_level::INSTANCES.key)
                            .key(name)
                            .key(schema::instance::EMAIL_ALERTS.key),
                    ) {
                        wanted.push((name.clone(), origin.clone()));
                    }
                }
                (None, Some((true, origin))) => wanted.push((name.clone(), origin.clone())),
                _ => {}
            }
        }
        for (group, enabled, origin) in std::mem::take(&mut self.group_alerts) {
            let members = self.group_members.get(&group).cloned().unwrap_or_default();
            for member in members {
                wanted.retain(|(name, _)| *name != member);
                if enabled && instances.contains_key(&member) {
                    wanted.push((member, origin.clone()));
                }
            }
        }
        let globals = &self.globals;
        let configured = globals.smtp_server.is_some() && !globals.email_to.is_empty();
        if wanted.is_empty()
            && configured
            && let Some(placeholder) = unusable_mail_setting(globals)
            && let Some((_, origin)) = globals.smtp_server.clone()
        {
            // keepalived sends no mail unless smtp_alert says so (its default is off), so it
            // never looks at these; neither does the native configuration.
            self.diagnostics.push(Diagnostic::new(
                Severity::Warning,
                &origin.position,
                origin.keyword_path.clone(),
                format!(
                    "ignored: the mail settings are not used (no smtp_alert), and \
                     \"{placeholder}\" is no usable address, so they are left out"
                ),
            ));
            return;
        }
        if !configured {
            let missing = if globals.smtp_server.is_none() {
                "smtp_server"
            } else {
                "notification_email"
            };
            let reports: Vec<Origin> = wanted.iter().map(|(_, origin)| origin.clone()).collect();
            for origin in reports {
                self.diagnostics.push(Diagnostic::new(
                    Severity::Warning,
                    &origin.position,
                    origin.keyword_path.clone(),
                    format!("ignored: there is no {missing}, so keepalived sends no mail either"),
                ));
            }
            for name in instances.keys().cloned().collect::<Vec<_>>() {
                if let Some(Value::Table(table)) = instances.get_mut(&name) {
                    table.remove(schema::instance::EMAIL_ALERTS.key);
                }
            }
            return;
        }
        let path = FieldPath::root().key(schema::top_level::EMAIL_ALERTS.key);
        let mut table = Table::new();
        let server_origin = match globals.smtp_server.clone() {
            Some((server, origin)) => {
                self.set(
                    &mut table,
                    &path,
                    schema::email_alerts::SMTP_SERVER.key,
                    Value::String(server),
                    origin.clone(),
                );
                origin
            }
            None => return,
        };
        let globals = &self.globals;
        let (timeout, helo, from, to) = (
            globals.smtp_timeout.clone(),
            globals.smtp_helo.clone(),
            globals.email_from.clone(),
            globals.email_to.clone(),
        );
        if let Some((seconds, origin)) = timeout {
            self.set(
                &mut table,
                &path,
                schema::email_alerts::CONNECT_TIMEOUT.key,
                Value::String(format!("{seconds}s")),
                origin,
            );
        }
        if let Some((helo, origin)) = helo {
            self.set(
                &mut table,
                &path,
                schema::email_alerts::HELO_NAME.key,
                Value::String(helo),
                origin,
            );
        }
        let from = match from {
            Some((from, origin)) => {
                self.origins
                    .insert(path.key(schema::email_alerts::FROM.key), origin);
                from
            }
            None => {
                // keepalived's default sender.
                let from = format!("keepalived@{}", host_name());
                self.diagnostics.push(Diagnostic::new(
                    Severity::Warning,
                    &server_origin.position,
                    server_origin.keyword_path.clone(),
                    format!("no notification_email_from: alerts are sent from {from}, as keepalived does"),
                ));
                from
            }
        };
        table.insert(schema::email_alerts::FROM.key.into(), Value::String(from));
        let mut recipients = Vec::new();
        for (index, (address, origin)) in to.into_iter().enumerate() {
            self.origins
                .insert(path.key(schema::email_alerts::TO.key).index(index), origin);
            recipients.push(Value::String(address));
        }
        table.insert(
            schema::email_alerts::TO.key.into(),
            Value::Array(recipients),
        );
        native.insert(
            schema::top_level::EMAIL_ALERTS.key.into(),
            Value::Table(table),
        );
        for (name, origin) in wanted {
            if let Some(Value::Table(instance)) = instances.get_mut(&name) {
                instance.insert(
                    schema::instance::EMAIL_ALERTS.key.into(),
                    Value::Boolean(true),
                );
                self.origins.insert(
                    FieldPath::root()
                        .key(schema::top_level::INSTANCES.key)
                        .key(&name)
                        .key(schema::instance::EMAIL_ALERTS.key),
                    origin,
                );
            }
        }
    }

    fn authentication(
        &mut self,
        node: &Node,
        keyword_path: &FieldPath,
        native_path: &FieldPath,
    ) -> Option<Table> {
        let mut auth = Table::new();
        let mut ignored = false;
        for child in self.block(node, keyword_path) {
            let child_path = keyword_path.key(&child.keyword);
            let origin = Self::origin(child, &child_path);
            match child.keyword.as_str() {
                "auth_type" => match self.one_argument(child, &child_path) {
                    Some("PASS") => self.set(
                        &mut auth,
                        native_path,
                        schema::authentication::TYPE.key,
                        Value::String("pass".into()),
                        origin,
                    ),
                    Some("AH") => self.set(
                        &mut auth,
                        native_path,
                        schema::authentication::TYPE.key,
                        Value::String("ah".into()),
                        origin,
                    ),
                    Some(other) => {
                        self.warn(
                            child,
                            &child_path,
                            format!(
                                "\"{other}\" is not an authentication type (PASS or AH): \
                                 keepalived ignores it and runs the instance without \
                                 authentication, as here"
                            ),
                        );
                        ignored = true;
                    }
                    None => {}
                },
                "auth_pass" => {
                    let Some(password) = self.one_argument(child, &child_path) else {
                        continue;
                    };
                    let sent = self.sent_password(child, &child_path, password);
                    self.set(
                        &mut auth,
                        native_path,
                        schema::authentication::PASSWORD.key,
                        Value::String(sent),
                        origin,
                    );
                }
                _ => self.not_translated(child, &child_path, "vrrp_instance.authentication"),
            }
        }
        if !ignored
            && auth.contains_key(schema::authentication::TYPE.key)
            && !auth.contains_key(schema::authentication::PASSWORD.key)
        {
            // vrrp.c: "Authentication specified but no password given. Ignoring".
            self.warn(
                node,
                keyword_path,
                "ignored, as keepalived ignores it: there is no auth_pass, so the instance runs \
                 without authentication",
            );
            return None;
        }
        (!ignored && auth.contains_key(schema::authentication::TYPE.key)).then_some(auth)
    }

    /// The part of `password` keepalived sends: its first 8 bytes.
    fn sent_password(&mut self, node: &Node, keyword_path: &FieldPath, password: &str) -> String {
        if password.len() <= PASSWORD_BYTES {
            return password.to_owned();
        }
        if !password.is_char_boundary(PASSWORD_BYTES) {
            self.error(
                node,
                keyword_path,
                "the password is longer than the 8 bytes VRRPv2 carries, and its 8th byte \
                 falls inside a character, so keepalived's truncated password cannot be \
                 written as text; shorten it",
            );
            return password.to_owned();
        }
        let sent = &password[..PASSWORD_BYTES];
        self.warn(
            node,
            keyword_path,
            format!(
                "the password is {} bytes long; VRRPv2 carries 8, so \"{sent}\" is used, as \
                 keepalived does",
                password.len()
            ),
        );
        sent.to_owned()
    }

    /// The entries of `virtual_ipaddress` or `virtual_ipaddress_excluded`.
    /// The options after an address in `virtual_ipaddress`, `virtual_ipaddress_excluded`
    /// or `static_ipaddress`, read as keepalived's `parse_ipaddress()` reads them
    /// (keepalived/vrrp/vrrp_ipaddress.c): `dev` and `label` as native keys; for a static
    /// address `no_track` too, and `track_group`, which `collect_static_tracking` reads; the
    /// other options keepalived knows are left out with a warning, and an unknown one ends
    /// the line with one. `None` when an option lacks its value (an error).
    fn address_options(
        &mut self,
        entry: &Node,
        entry_path: &FieldPath,
        kind: AddressKind,
    ) -> Option<Table> {
        let mut options = Table::new();
        let mut words = entry.arguments.iter();
        let mut usable = true;
        while let Some(option) = words.next() {
            let key = match (option.as_str(), kind) {
                ("dev", _) => schema::address::DEV.key,
                ("label", _) => schema::address::LABEL.key,
                ("no_track", AddressKind::Static) => {
                    options.insert(
                        schema::static_address::NO_TRACK.key.into(),
                        Value::Boolean(true),
                    );
                    continue;
                }
                ("track_group", AddressKind::Static) => {
                    words.next();
                    continue;
                }
                // keepalived's other options, with the number of words each takes.
                (other, _) => {
                    let values = match other {
                        "brd" | "broadcast" | "scope" | "preferred_lft" | "peer"
                        | "track_group" => 1,
                        "no_track" | "home" | "-nodad" | "nodad" | "noprefixroute" | "autojoin"
                        | "mngtmpaddr" => 0,
                        _ => {
                            self.warn(
                                entry,
                                entry_path,
                                format!(
                                    "ignored, as keepalived ignores it: `{other}` is not an \
                                     address option; the words after it too"
                                ),
                            );
                            break;
                        }
                    };
                    let value: Vec<&String> = words.by_ref().take(values).collect();
                    let written = std::iter::once(other)
                        .chain(value.iter().map(|word| word.as_str()))
                        .collect::<Vec<_>>()
                        .join(" ");
                    let removal = match kind {
                        AddressKind::Virtual => "; removed when it goes, whatever no_track says",
                        AddressKind::Static => "",
                    };
                    self.warn(
                        entry,
                        entry_path,
                        format!(
                            "`{written}` is left out: the address is added with its prefix, \
                             device and label only (the kernel's broadcast and scope \
                             defaults{removal})"
                        ),
                    );
                    continue;
                }
            };
            match words.next() {
                Some(value) => {
                    options.insert(key.to_owned(), Value::String(value.clone()));
                }
                None => {
                    self.error(entry, entry_path, format!("`{option}` needs a value"));
                    usable = false;
                }
            }
        }
        usable.then_some(options)
    }

    fn addresses(
        &mut self,
        node: &Node,
        keyword_path: &FieldPath,
        native_path: &FieldPath,
    ) -> Vec<Value> {
        let mut addresses = Vec::new();
        let mut first_family: Option<bool> = None;
        for entry in self.block(node, keyword_path) {
            let entry_path = keyword_path.key(&entry.keyword);
            if entry.block.is_some() {
                self.warn(
                    entry,
                    &entry_path,
                    "skipped, as keepalived skips it: an entry is one line, not a block",
                );
                continue;
            }
            let Some(mut options) = self.address_options(entry, &entry_path, AddressKind::Virtual)
            else {
                continue;
            };
            // keepalived's parse_ipaddress(): an entry that is no address is skipped ("VRRP
            // parsed invalid IP ... skipping IP"), and the instance runs without it.
            if address_family(&entry.keyword).is_none() {
                self.warn(
                    entry,
                    &entry_path,
                    format!(
                        "skipped, as keepalived skips it: \"{}\" is not an address",
                        entry.keyword
                    ),
                );
                continue;
            }
            // keepalived's alloc_vrrp_vip(): an advertised address of the other family than
            // the instance's first is ignored ("address family must match VRRP instance").
            let family = address_family(&entry.keyword);
            if node.keyword == "virtual_ipaddress"
                && let (Some(first), Some(this)) = (first_family, family)
                && first != this
            {
                self.warn(
                    entry,
                    &entry_path,
                    "ignored, as keepalived ignores it: its family differs from the \
                     instance's first address (list it in virtual_ipaddress_excluded to hold \
                     it without advertising it)",
                );
                continue;
            }
            if first_family.is_none() {
                first_family = family;
            }
            if node.keyword == "virtual_ipaddress"
                && let Some(holder) = self.shared_in_group(&entry.keyword)
            {
                // keepalived lets two instances advertise one address; in one sync group
                // they are master together, so the first one holding it is enough.
                self.warn(
                    entry,
                    &entry_path,
                    format!(
                        "left out: `{holder}`, of the same sync group, advertises it too and \
                         holds it whenever this instance does"
                    ),
                );
                continue;
            }
            self.origins.insert(
                native_path.index(addresses.len()),
                Self::origin(entry, &entry_path),
            );
            let address = Value::String(entry.keyword.clone());
            if options.is_empty() {
                addresses.push(address);
            } else {
                options.insert(schema::address::ADDRESS.key.into(), address);
                addresses.push(Value::Table(options));
            }
        }
        addresses
    }

    /// `track_script`, `track_file`, `track_interface` and `track_process`, as native health
    /// checks.
    fn tracks(
        &mut self,
        node: &Node,
        keyword_path: &FieldPath,
        checks_path: &FieldPath,
        instance: &mut InstanceTranslation,
        tracker: Tracker,
    ) {
        for track in self.block(node, keyword_path) {
            let track_path = keyword_path.key(&track.keyword);
            let weight_words = match track.arguments.split_first() {
                None => None,
                Some((keyword, rest)) if keyword == "weight" => Some(rest),
                Some(_) => {
                    self.error(track, &track_path, "write `NAME` or `NAME weight N`");
                    continue;
                }
            };
            let weight = match weight_words {
                Some(words) => match self.weight(track, &track_path, words) {
                    Some(weight) => Some(weight),
                    None => continue,
                },
                None => None,
            };
            let (check_name, mut check, origins) = match node.keyword.as_str() {
                "track_interface" => {
                    let mut check = Table::new();
                    check.insert(
                        schema::health_check::KIND.key.into(),
                        Value::String("interface".into()),
                    );
                    check.insert(
                        schema::health_check::INTERFACE.key.into(),
                        Value::String(track.keyword.clone()),
                    );
                    // keepalived's default: a tracked interface going down means Fault.
                    check.insert(schema::health_check::WEIGHT.key.into(), Value::Integer(0));
                    (
                        native_name(&format!("interface-{}", track.keyword)),
                        check,
                        BTreeMap::new(),
                    )
                }
                kind => {
                    let (definitions, defined_by) = match kind {
                        "track_script" => (&self.scripts, "vrrp_script"),
                        "track_process" => (&self.track_processes, "vrrp_track_process"),
                        _ => (&self.track_files, "vrrp_track_file"),
                    };
                    match definitions.get(&track.keyword) {
                        // Its problems were reported where it is defined.
                        Some(definition) if definition.has_error => continue,
                        Some(definition) => (
                            native_name(&track.keyword),
                            definition.fields.clone(),
                            definition.origins.clone(),
                        ),
                        None => {
                            self.warn(
                                track,
                                &track_path,
                                format!(
                                    "ignored: there is no {defined_by} named `{}`; the \
                                     instance runs without this check, as keepalived's does \
                                     (\"not found, ignoring\")",
                                    track.keyword
                                ),
                            );
                            continue;
                        }
                    }
                }
            };
            let weight = if tracker == Tracker::Instance {
                match self.member_weight(node, track, &track_path, weight, &check) {
                    Some(weight) => weight,
                    None => continue,
                }
            } else {
                weight
            };
            if let Some(Value::Table(existing)) = instance.checks.get_mut(&check_name) {
                if tracker == Tracker::SyncGroup {
                    // keepalived tracks it for the group as well as for the member, and a
                    // member of a sync group has no weights: its failure faults the group.
                    existing.insert(schema::health_check::WEIGHT.key.into(), Value::Integer(0));
                    self.warn(
                        track,
                        &track_path,
                        format!(
                            "the member also tracks `{check_name}` itself; it is tracked once, \
                             with weight 0, as a sync group's trackers are"
                        ),
                    );
                } else {
                    self.warn(
                        track,
                        &track_path,
                        format!("ignored: `{check_name}` is already tracked by this instance"),
                    );
                }
                continue;
            }
            let check_path = checks_path.key(&check_name);
            for (key, origin) in origins {
                self.origins.insert(check_path.key(&key), origin);
            }
            self.origins
                .insert(check_path.clone(), Self::origin(track, &track_path));
            let weight = match tracker {
                Tracker::Instance => weight,
                Tracker::SyncGroup => {
                    if weight.is_some() {
                        self.warn(
                            track,
                            &track_path,
                            "ignored: a sync group's tracker puts the whole group in Fault \
                             when it fails, whatever its weight, as in keepalived",
                        );
                    }
                    Some(Value::Integer(0))
                }
            };
            if let Some(weight) = weight {
                check.insert(schema::health_check::WEIGHT.key.into(), weight);
                self.origins.insert(
                    check_path.key(schema::health_check::WEIGHT.key),
                    Self::origin(track, &track_path),
                );
            }
            instance
                .check_statements
                .insert(check_name.clone(), (track.clone(), track_path.clone()));
            instance.checks.insert(check_name, Value::Table(check));
        }
    }

    /// The weight a tracker of the current instance keeps when the instance is a member of a
    /// sync group without `sync_group_tracking_weight`, as keepalived 2.2.7's
    /// `vrrp_complete_instance()` (`keepalived/vrrp/vrrp.c`) decides, with its messages: a
    /// script with a weight is not tracked, a file keeps weight 0 if its weight was the
    /// default 1 and is not tracked otherwise. An interface's weight is cleared only after it
    /// was copied to the interface's tracking list, so it keeps counting despite the message
    /// (measured: "Changing effective priority from 150 to 90"), and a process's is never
    /// cleared; those two keep their weight, and the member's group gets `tracking_weight` so
    /// that the weight counts here too. `weight` is the one written on the tracker, `check`
    /// the definition's fields; `None`: not tracked.
    fn member_weight(
        &mut self,
        block: &Node,
        track: &Node,
        track_path: &FieldPath,
        weight: Option<Value>,
        check: &Table,
    ) -> Option<Option<Value>> {
        let instance = self.current_instance.clone().unwrap_or_default();
        let weights_ignored = self
            .group_of
            .get(&instance)
            .is_some_and(|group| !self.groups_with_tracking_weight.contains(group));
        let effective = weight
            .as_ref()
            .or_else(|| check.get(schema::health_check::WEIGHT.key))
            .and_then(Value::as_integer)
            .unwrap_or(0);
        if !weights_ignored || effective == 0 {
            return Some(weight);
        }
        let name = &track.keyword;
        let zero = Some(Some(Value::Integer(0)));
        match block.keyword.as_str() {
            "track_interface" | "track_process" => {
                let message = if block.keyword == "track_interface" {
                    format!(
                        "({instance}) ignoring {name} tracked interface weight due to SYNC \
                         group, keepalived says, yet it keeps applying the weight {effective} \
                         (cleared after being copied to the interface's list); so does this \
                         daemon: the group gets tracking_weight = true"
                    )
                } else {
                    format!(
                        "keepalived 2.2.7 applies a member's tracked process weight \
                         {effective} despite the SYNC group, and so does this daemon: the \
                         group gets tracking_weight = true"
                    )
                };
                self.warn(track, track_path, message);
                if let Some(group) = self.group_of.get(&instance).cloned() {
                    self.groups_keeping_weights.insert(group);
                }
                Some(weight)
            }
            "track_file" if effective == 1 => {
                self.warn(
                    track,
                    track_path,
                    format!(
                        "({instance}) ignoring weight from tracked file {name} due to SYNC \
                         group. specify weight 0 (taken as weight 0, as keepalived does)"
                    ),
                );
                zero
            }
            kind => {
                let what = if kind == "track_file" {
                    "file"
                } else {
                    "script"
                };
                self.warn(
                    track,
                    track_path,
                    format!(
                        "({instance}) ignoring tracked {what} {name} with weight {effective} \
                         due to SYNC group: not tracked, as in keepalived; set \
                         sync_group_tracking_weight on the group to keep it"
                    ),
                );
                None
            }
        }
    }

    /// What depends on several keywords of one instance, and on `global_defs`.
    fn finish_instance(
        &mut self,
        keyword_path: &FieldPath,
        path: &FieldPath,
        instance: &mut InstanceTranslation,
    ) {
        let is_owner = instance.priority == Some(OWNER_PRIORITY);
        if let Some(state) = &instance.state_master
            && !is_owner
        {
            self.warn(
                state,
                &keyword_path.key("state"),
                "ignored: every instance starts as backup and the priority decides (only the \
                 owner, priority 255, starts as master); keepalived 2.2.7 does the same below \
                 255",
            );
        }
        if let Some(nopreempt) = &instance.nopreempt {
            if instance.state_master.is_some() || is_owner {
                self.warn(
                    nopreempt,
                    &keyword_path.key("nopreempt"),
                    "ignored, as keepalived ignores it with state MASTER or priority 255: \
                     this instance preempts",
                );
            } else {
                let origin = Self::origin(nopreempt, &keyword_path.key("nopreempt"));
                self.set(
                    &mut instance.table,
                    path,
                    schema::instance::PREEMPT.key,
                    Value::Boolean(false),
                    origin,
                );
            }
        }
        if !instance.table.contains_key(schema::instance::VERSION.key) {
            // keepalived's default: VRRPv2 for IPv4 unless vrrp_version says otherwise;
            // IPv6 is always VRRPv3.
            let (version, origin) = match (instance.family_is_ipv6, &self.globals.version) {
                (Some(true), _) => (3, None),
                (_, Some((version, origin))) => (*version, Some(origin.clone())),
                (_, None) => (2, None),
            };
            instance.table.insert(
                schema::instance::VERSION.key.into(),
                Value::Integer(version),
            );
            if let Some(origin) = origin {
                self.origins
                    .insert(path.key(schema::instance::VERSION.key), origin);
            }
        }
        let version = instance
            .table
            .get(schema::instance::VERSION.key)
            .and_then(Value::as_integer);
        let strict_origin = match (&instance.strict, &self.globals.strict) {
            (Some((strict, origin)), _) => strict.then(|| origin.clone()),
            (None, global) => global.clone(),
        };
        let strict = strict_origin.is_some();
        // An instance's own down_timer_adverts, else vrrp_down_timer_adverts; strict mode
        // resets either to three (vrrp.c: "down_timer_adverts is incompatible with strict
        // mode - resetting").
        let down_timer_adverts = instance
            .down_timer_adverts
            .take()
            .or_else(|| self.globals.down_timer_adverts.clone());
        if let Some((adverts, origin)) = down_timer_adverts {
            if strict && adverts != Value::Integer(3) {
                self.diagnostics.push(Diagnostic::new(
                    Severity::Warning,
                    &origin.position,
                    origin.keyword_path,
                    "ignored, as keepalived resets it: strict mode waits the RFC's three adverts",
                ));
            } else {
                self.set(
                    &mut instance.table,
                    path,
                    schema::instance::DOWN_TIMER_ADVERTS.key,
                    adverts,
                    origin,
                );
            }
        }
        if let Some(origin) = strict_origin {
            self.set(
                &mut instance.table,
                path,
                schema::instance::STRICT_MODE.key,
                Value::Boolean(true),
                origin,
            );
            self.strict_corrections(path, instance, version, is_owner);
        }
        // Strict mode may have changed it.
        let version = instance
            .table
            .get(schema::instance::VERSION.key)
            .and_then(Value::as_integer);
        if strict && let Some(statement) = instance.authentication.take() {
            // vrrp.c: "Strict mode does not support authentication. Ignoring."
            instance.table.remove(schema::instance::AUTHENTICATION.key);
            self.warn(
                &statement,
                &keyword_path.key("authentication"),
                "ignored, as keepalived ignores it: strict mode has no authentication",
            );
        }
        if version == Some(3)
            && let Some(statement) = instance.authentication.take()
        {
            // vrrp.c: "VRRP version 3 does not support authentication. Ignoring."
            instance.table.remove(schema::instance::AUTHENTICATION.key);
            self.warn(
                &statement,
                &keyword_path.key("authentication"),
                "ignored, as keepalived ignores it: VRRPv3 has no authentication (RFC 9568)",
            );
        }
        if version == Some(2)
            && let Some((statement, text)) = instance.advert_int.take()
            && let Ok(seconds) = text.parse::<f64>()
            && seconds.fract() != 0.0
            && seconds > 0.0
            && seconds < 255.0
        {
            // vrrp.c: "VRRPv2 advertisement interval must be an integer. rounding", to the
            // nearest second, and never below one.
            let rounded = (seconds.round() as i64).max(1);
            self.warn(
                &statement,
                &keyword_path.key("advert_int"),
                format!(
                    "VRRPv2 carries whole seconds: {text} s is rounded to {rounded} s, as \
                     keepalived rounds it"
                ),
            );
            instance.table.insert(
                schema::instance::ADVERT_INTERVAL.key.into(),
                Value::Integer(rounded),
            );
        }
        if is_owner {
            self.owner_checks(instance);
        }
        let advertises_none = instance
            .table
            .get(schema::instance::VIRTUAL_ADDRESSES.key)
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        if advertises_none
            && version == Some(2)
            && !strict
            && let Some(origin) = self.origins.get(path).cloned()
        {
            // vrrp.c: "No VIP specified; at least one is sensible" (a VRRPv3 instance is
            // refused, by keepalived and by the native check).
            self.diagnostics.push(Diagnostic::new(
                Severity::Warning,
                &origin.position,
                origin.keyword_path,
                "no virtual address, as keepalived allows with a warning: the instance elects \
                 and notifies, and its adverts list no address",
            ));
        }
        if instance.has_peers {
            // keepalived takes unicast adverts from any source unless told to check them
            // (`check_unicast_src`); the native default checks, so the translation says which.
            let check = instance
                .check_unicast_src
                .clone()
                .or_else(|| self.globals.check_unicast_src.clone())
                .or_else(|| instance.peer_hop_limits.clone());
            let key = schema::instance::CHECK_UNICAST_SRC.key;
            match check {
                Some(origin) => {
                    self.set(&mut instance.table, path, key, Value::Boolean(true), origin)
                }
                None => {
                    instance.table.insert(key.into(), Value::Boolean(false));
                }
            }
        } else if let Some(origin) = instance.check_unicast_src.clone() {
            self.diagnostics.push(Diagnostic::new(
                Severity::Warning,
                &origin.position,
                origin.keyword_path,
                "ignored, as keepalived ignores it: the instance has no unicast_peer, so there \
                 is no source to check",
            ));
        }
        if !instance.has_peers
            && let Some(origin) = instance.empty_unicast_peer.take()
        {
            if instance.unicast_fault_no_peer {
                // vrrp.c: "Cannot use unicast without any peers - going to fault state".
                self.set(
                    &mut instance.table,
                    path,
                    schema::instance::UNICAST_PEERS.key,
                    Value::Array(Vec::new()),
                    origin,
                );
            } else {
                // vrrp.c: "A unicast keyword has been specified without any unicast peers.
                // Defaulting to multicast."
                self.diagnostics.push(Diagnostic::new(
                    Severity::Warning,
                    &origin.position,
                    origin.keyword_path,
                    "no peer listed: the instance advertises to the multicast group, as \
                     keepalived defaults to it (`unicast_fault_no_peer` would keep it in Fault)",
                ));
            }
        }
        match instance.unicast_ttl.take() {
            Some((ttl, origin)) if instance.has_peers => {
                let key = schema::instance::UNICAST_TTL.key;
                self.set(&mut instance.table, path, key, ttl, origin);
            }
            // vrrp.c: "Cannot use unicast_ttl without unicast peers - resetting".
            Some((_, origin)) => self.diagnostics.push(Diagnostic::new(
                Severity::Warning,
                &origin.position,
                origin.keyword_path,
                "ignored, as keepalived resets it: multicast adverts leave with TTL 255",
            )),
            None => {}
        }
        let quiet = instance
            .lower_prio_no_advert
            .clone()
            .or_else(|| self.globals.lower_prio_no_advert.clone());
        if let Some((true, origin)) = quiet {
            self.set(
                &mut instance.table,
                path,
                schema::instance::LOWER_PRIO_NO_ADVERT.key,
                Value::Boolean(true),
                origin,
            );
        }
        self.move_excess_addresses(instance, path);
        if let (Some((prefix, origin)), Some(Value::Boolean(true)), Some(vrid)) = (
            self.globals.vmac_prefix.clone(),
            instance.table.get(schema::instance::VIRTUAL_MAC.key),
            instance
                .table
                .get(schema::instance::VRID.key)
                .and_then(Value::as_integer),
        ) {
            self.set(
                &mut instance.table,
                path,
                schema::instance::VIRTUAL_MAC.key,
                Value::String(format!("{prefix}.{vrid}")),
                origin,
            );
        }
        let vmac_without_xmit_base = instance
            .table
            .contains_key(schema::instance::VIRTUAL_MAC.key)
            && instance.table.get(schema::instance::VIRTUAL_MAC.key)
                != Some(&Value::Boolean(false))
            && !instance
                .table
                .contains_key(schema::instance::VIRTUAL_MAC_XMIT_BASE.key);
        if instance.has_peers && vmac_without_xmit_base {
            // vrrp.c: "unicast with use_vmac requires vmac_xmit_base - setting".
            instance.table.insert(
                schema::instance::VIRTUAL_MAC_XMIT_BASE.key.into(),
                Value::Boolean(true),
            );
            self.warn_field(
                &path.key(schema::instance::VIRTUAL_MAC.key),
                "unicast adverts leave from the interface itself: vmac_xmit_base is set, as \
                 keepalived sets it with unicast peers",
            );
        }
        if let Some((source, source_node, source_path)) = instance.source.take() {
            if instance.has_peers {
                let origin = Self::origin(&source_node, &source_path);
                self.set(
                    &mut instance.table,
                    path,
                    schema::instance::UNICAST_SRC.key,
                    Value::String(source),
                    origin,
                );
            } else {
                self.warn(
                    &source_node,
                    &source_path,
                    format!(
                        "ignored: multicast adverts are sent from the interface's primary \
                         address; if that is not {source}, peers see another source, which \
                         matters only to break a tie between equal priorities (the higher \
                         address wins)"
                    ),
                );
            }
        }
        let mut garp = Table::new();
        for (key, (value, origin)) in self
            .globals
            .garp
            .clone()
            .into_iter()
            .chain(instance.garp.clone())
        {
            self.set(
                &mut garp,
                &path.key(schema::instance::GARP.key),
                key,
                value,
                origin,
            );
        }
        self.lower_priority_garp_defaults(&mut garp, path, &instance.garp);
        if strict {
            // vrrp.c: "Strict mode requires no repeat garps. resetting" (and the delay):
            // what the instance set is dropped with a warning; native strict mode sends
            // nothing on hearing a lower priority, whatever the global settings.
            for field in [
                &schema::garp::LOWER_PRIORITY_REPEAT,
                &schema::garp::LOWER_PRIORITY_DELAY,
            ] {
                let own = instance.garp.get(field.key).is_some_and(|(value, _)| {
                    value != &Value::Integer(0) && value != &Value::String("0".to_owned())
                });
                if garp.remove(field.key).is_some() && own {
                    self.warn_field(
                        &path.key(schema::instance::GARP.key).key(field.key),
                        "ignored, as keepalived resets it: strict mode sends no announcement \
                         on hearing a lower priority",
                    );
                }
            }
        }
        if !garp.is_empty() {
            instance
                .table
                .insert(schema::instance::GARP.key.into(), Value::Table(garp));
        }
        let notify_path = path.key(schema::instance::NOTIFY.key);
        if let Some((fifo, origin)) = self.globals.fifo.clone() {
            self.origins
                .insert(notify_path.key(schema::notify::FIFO.key), origin);
            instance
                .notify
                .insert(schema::notify::FIFO.key.into(), Value::String(fifo));
            self.fifo_program(&notify_path, &mut instance.notify);
            // The instance's own, else its sync group's, else global_defs'
            // (`vrrp_complete_instance()` in `keepalived/vrrp/vrrp.c`).
            let group = instance
                .keepalived_name
                .as_ref()
                .and_then(|name| self.group_of.get(name))
                .and_then(|group| self.group_priority_changes.get(group));
            let priority_changes = instance
                .priority_changes
                .clone()
                .or_else(|| group.cloned())
                .or_else(|| self.globals.priority_changes.clone());
            if let Some((true, origin)) = priority_changes {
                self.origins.insert(
                    notify_path.key(schema::notify::PRIORITY_CHANGES.key),
                    origin,
                );
                instance.notify.insert(
                    schema::notify::PRIORITY_CHANGES.key.into(),
                    Value::Boolean(true),
                );
            }
        }
        if !instance.notify.is_empty() {
            // A reload removing the instance: keepalived reports it as FAULT unless
            // `notify_deleted` says DELETED (`clear_diff_vrrp()` in keepalived/vrrp/vrrp.c).
            let report = match &instance.notify_deleted {
                Some(origin) => {
                    self.origins.insert(
                        notify_path.key(schema::notify::REPORT_REMOVAL_AS.key),
                        origin.clone(),
                    );
                    RemovalReport::Deleted
                }
                None => RemovalReport::Fault,
            };
            instance.notify.insert(
                schema::notify::REPORT_REMOVAL_AS.key.into(),
                Value::String(report.as_str().to_owned()),
            );
        }
        if !instance.notify.is_empty() {
            let mut notify = std::mem::take(&mut instance.notify);
            // Scripts match on the name as written (`VI_1`), not the native one.
            if let Some(name) = &instance.keepalived_name
                && native_name(name) != *name
            {
                notify.insert(schema::notify::NAME.key.into(), Value::String(name.clone()));
            }
            instance
                .table
                .insert(schema::instance::NOTIFY.key.into(), Value::Table(notify));
        }
        if !instance.checks.is_empty() {
            let checks = std::mem::take(&mut instance.checks);
            instance.table.insert(
                schema::instance::HEALTH_CHECKS.key.into(),
                Value::Table(checks),
            );
        }
    }
}

impl Translator<'_> {
    /// What keepalived 2.2.7's strict mode resets and runs on (`vrrp_complete_instance` in
    /// keepalived/vrrp/vrrp.c), each with a warning as keepalived logs one, so the native
    /// instance is what keepalived runs. What it refuses (unicast peers, no virtual address)
    /// is left for the errors, here and in the native checks.
    fn strict_corrections(
        &mut self,
        path: &FieldPath,
        instance: &mut InstanceTranslation,
        version: Option<i64>,
        is_owner: bool,
    ) {
        if version == Some(2) && instance.family_is_ipv6 == Some(true) {
            // vrrp.c: "cannot use IPv6 with VRRP version 2; setting version 3".
            instance
                .table
                .insert(schema::instance::VERSION.key.into(), Value::Integer(3));
            self.warn_field(
                &path.key(schema::instance::VERSION.key),
                "IPv6 needs VRRPv3 in strict mode: version 3 is used, as keepalived sets it",
            );
        }
        let delay_given = instance
            .table
            .get(schema::instance::PREEMPT_DELAY.key)
            .and_then(Value::as_str)
            .is_some_and(|text| text.parse::<f64>() != Ok(0.0));
        if delay_given {
            // vrrp.c: "preempt_delay is incompatible with strict mode - resetting".
            self.warn_field(
                &path.key(schema::instance::PREEMPT_DELAY.key),
                "ignored, as keepalived resets it: strict mode preempts at once",
            );
            instance.table.remove(schema::instance::PREEMPT_DELAY.key);
        }
        if instance
            .table
            .remove(schema::instance::VIRTUAL_MAC_XMIT_BASE.key)
            .is_some()
        {
            // vrrp.c: "xmit_base is incompatible with strict mode - resetting".
            self.warn_field(
                &path.key(schema::instance::VIRTUAL_MAC_XMIT_BASE.key),
                "ignored, as keepalived resets it: strict mode sends adverts from the virtual \
                 MAC interface",
            );
        }
        let v2 = instance
            .table
            .get(schema::instance::VERSION.key)
            .and_then(Value::as_integer)
            == Some(2);
        if v2
            && !is_owner
            && instance.table.get(schema::instance::ACCEPT_MODE.key) == Some(&Value::Boolean(true))
        {
            // vrrp.c: "accept mode for VRRP version 2 does not comply with RFC3768 -
            // resetting".
            self.warn_field(
                &path.key(schema::instance::ACCEPT_MODE.key),
                "accept mode for a VRRPv2 router that does not own the addresses breaks RFC \
                 3768: no_accept is used, as keepalived resets it in strict mode",
            );
            instance.table.insert(
                schema::instance::ACCEPT_MODE.key.into(),
                Value::Boolean(false),
            );
        }
        let first_ipv6 = instance
            .table
            .get(schema::instance::VIRTUAL_ADDRESSES.key)
            .and_then(Value::as_array)
            .and_then(|addresses| addresses.first())
            // A bare address, or a table with its options.
            .and_then(|first| {
                first
                    .as_str()
                    .or_else(|| first.get(schema::address::ADDRESS.key)?.as_str())
            })
            .and_then(|text| text.split('/').next())
            .and_then(|address| address.parse::<std::net::Ipv6Addr>().ok());
        if let Some(first) = first_ipv6
            && !first.is_unicast_link_local()
            && !instance.has_peers
        {
            // vrrp.c logs "the first IPv6 VIP address must be link local" and runs on.
            self.warn_field(
                &path.key(schema::instance::VIRTUAL_ADDRESSES.key),
                format!(
                    "strict mode wants the first IPv6 virtual address link-local (RFC 9568 \
                     §5.2.9), not {first}; it runs as keepalived runs it"
                ),
            );
        }
    }

    /// A warning at the keepalived statement a native field came from; with none known (a
    /// default), at nothing.
    fn warn_field(&mut self, field: &FieldPath, message: impl Into<String>) {
        if let Some(origin) = self.origins.get(field).cloned() {
            self.diagnostics.push(Diagnostic::new(
                Severity::Warning,
                &origin.position,
                origin.keyword_path,
                message,
            ));
        }
    }

    /// The checks of an address owner (priority 255), whose priority never changes: as
    /// keepalived's vrrp_complete_instance() does, a weighted script or interface is
    /// dropped, a tracked file's default weight becomes 0 and any other weight drops it.
    fn owner_checks(&mut self, instance: &mut InstanceTranslation) {
        let names: Vec<String> = instance.checks.keys().cloned().collect();
        for name in names {
            let Some(Value::Table(check)) = instance.checks.get_mut(&name) else {
                continue;
            };
            let weight = check
                .get(schema::health_check::WEIGHT.key)
                .and_then(Value::as_integer)
                .unwrap_or(0);
            if weight == 0 {
                continue;
            }
            let is_file = check
                .get(schema::health_check::KIND.key)
                .and_then(Value::as_str)
                == Some("file");
            let Some((statement, path)) = instance.check_statements.get(&name).cloned() else {
                continue;
            };
            if is_file && weight == 1 {
                check.insert(schema::health_check::WEIGHT.key.into(), Value::Integer(0));
                self.warn(
                    &statement,
                    &path,
                    "the address owner's priority never changes: the file's weight is 0 \
                     (a non-zero value means Fault), as keepalived sets it",
                );
            } else {
                instance.checks.remove(&name);
                self.warn(
                    &statement,
                    &path,
                    format!(
                        "ignored, as keepalived ignores it: the address owner's priority never \
                         changes, so a check with weight {weight} is dropped"
                    ),
                );
            }
        }
    }
}

impl Translator<'_> {
    /// The instance, of the current one's sync group, that advertises the address `text`
    /// before it; the address is claimed for the current instance when none does.
    fn shared_in_group(&mut self, text: &str) -> Option<String> {
        let address: IpAddr = text.split('/').next()?.parse().ok()?;
        let current = self.current_instance.clone()?;
        match self.claimed.get(&address) {
            Some(holder) if *holder != current => {
                let same_group = matches!(
                    (self.group_of.get(holder), self.group_of.get(&current)),
                    (Some(a), Some(b)) if a == b
                );
                same_group.then(|| holder.clone())
            }
            Some(_) => None,
            None => {
                self.claimed.insert(address, current);
                None
            }
        }
    }
}

/// Whose `track_*` block is translated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tracker {
    /// The instance's own: weights as written.
    Instance,
    /// Its sync group's: a failure puts the whole group in Fault, as in keepalived (a member's
    /// weight-0 check faults it and the group follows), so the weight is 0.
    SyncGroup,
}

/// Where an address is written, for the options it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AddressKind {
    /// `virtual_ipaddress` or `virtual_ipaddress_excluded`.
    Virtual,
    /// `static_ipaddress`.
    Static,
}

/// What an instance's keywords set, gathered before the keywords that depend on each other
/// are resolved.
#[derive(Default)]
struct InstanceTranslation {
    table: Table,
    priority: Option<i64>,
    state_master: Option<Node>,
    nopreempt: Option<Node>,
    /// `mcast_src_ip` / `unicast_src_ip` (keepalived treats them as one setting), with the
    /// statement and its keyword path.
    source: Option<(String, Node, FieldPath)>,
    has_peers: bool,
    /// Whether the first virtual address is IPv6; `None` when there is none or it is bad.
    family_is_ipv6: Option<bool>,
    garp: BTreeMap<&'static str, (Value, Origin)>,
    notify: Table,
    checks: Table,
    /// The instance's name as written, which notifications keep.
    keepalived_name: Option<String>,
    /// The `authentication` statement, when it gave a native one.
    authentication: Option<Node>,
    /// The `advert_int` statement and its value as written.
    advert_int: Option<(Node, String)>,
    /// The `track_*` statement each check came from, by native check name.
    check_statements: BTreeMap<String, (Node, FieldPath)>,
    /// `strict_mode`, on or off, where it was written.
    strict: Option<(bool, Origin)>,
    /// `check_unicast_src`, where it was written.
    check_unicast_src: Option<Origin>,
    /// The first unicast peer with a `min_ttl` or `max_ttl`, which turns the source check
    /// on as `check_unicast_src` does.
    peer_hop_limits: Option<Origin>,
    /// `lower_prio_no_advert`, on or off, where it was written.
    lower_prio_no_advert: Option<(bool, Origin)>,
    /// `down_timer_adverts` as written.
    down_timer_adverts: Option<(Value, Origin)>,
    /// `unicast_ttl` as written.
    unicast_ttl: Option<(Value, Origin)>,
    /// A `unicast_peer` block without a peer.
    empty_unicast_peer: Option<Origin>,
    /// `unicast_fault_no_peer`.
    unicast_fault_no_peer: bool,
    /// `notify_deleted`, where it was written.
    notify_deleted: Option<Origin>,
    /// `notify_priority_changes`, on or off, where it was written.
    priority_changes: Option<(bool, Origin)>,
}

/// `vrrp_instance VI_1` for a named block, the keyword alone otherwise.
fn named(node: &Node) -> String {
    match node.arguments.first() {
        Some(name) if node.block.is_some() => format!("{} {name}", node.keyword),
        _ => node.keyword.clone(),
    }
}

/// A keepalived name as a native one: lowercase, other characters as `_`, no `__`.
fn native_name(name: &str) -> String {
    let mut native = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-') => c,
            _ => '_',
        };
        if !(c == '_' && native.ends_with('_')) {
            native.push(c);
        }
    }
    if native.is_empty() {
        native.push_str("unnamed");
    }
    native
}

/// The user keepalived runs scripts and notify programs as when global_defs has no
/// `script_user`, if it exists (`lib/notify.c`); otherwise root, which
/// `enable_script_security` refuses.
const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// Whether the system has a user called `name`.
fn user_exists(name: &str) -> bool {
    matches!(nix::unistd::User::from_name(name), Ok(Some(_)))
}

/// What keepalived cannot find of a `USER [GROUP]` pair (`set_uid_gid()` in `lib/notify.c`
/// looks both up, and any failure makes the pair unusable), if anything.
fn unknown_account(arguments: &[String]) -> Option<String> {
    match arguments {
        [user, ..] if !user_exists(user) => Some(format!("there is no user \"{user}\" here")),
        [_, group] if !matches!(nix::unistd::Group::from_name(group), Ok(Some(_))) => {
            Some(format!("there is no group \"{group}\" here"))
        }
        _ => None,
    }
}

/// A program as keepalived finds it: a name with a `/` as written (relative to the
/// directory the daemon starts in, `/` for a service), a bare name on the PATH as `execvp`
/// finds it; `None` for a bare name found nowhere.
fn resolve_program(name: &str) -> Option<String> {
    if name.contains('/') {
        return Some(if name.starts_with('/') {
            name.to_owned()
        } else {
            format!("/{}", name.trim_start_matches("./"))
        });
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|directory| directory.join(name))
        .find(|candidate| candidate.is_file())
        .map(|found| found.display().to_string())
}

/// The first mail setting that is a placeholder rather than an address or host
/// (`notification_email_from root`, `smtp_server **`), if any.
fn unusable_mail_setting(globals: &Globals) -> Option<String> {
    let addresses = globals
        .email_from
        .iter()
        .chain(&globals.email_to)
        .map(|(address, _)| address);
    for address in addresses {
        if !address.contains('@') {
            return Some(address.clone());
        }
    }
    let (server, _) = globals.smtp_server.as_ref()?;
    let host_like = server
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
    (!host_like).then(|| server.clone())
}

/// Whether an address as written (`192.0.2.1/24`) is IPv6; `None` when it is no address.
fn address_family(text: &str) -> Option<bool> {
    let address = text.split('/').next()?.parse::<IpAddr>().ok()?;
    Some(address.is_ipv6())
}

/// `smtp_server HOST [PORT]` as a native `host:port`, an IPv6 address in brackets.
fn host_and_port(host: &str, port: &str) -> String {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// An integer when `text` is one, so the native loader sees a number; otherwise the text,
/// which it then refuses with a message about the value as written.
/// A keepalived timer (`read_timer()` in lib/parser.c): seconds with at most six decimal
/// places, from 0 to 255 here; more places are rounded (`true`), as keepalived rounds them.
fn keepalived_timer_micros(text: &str) -> Result<(u64, bool), &'static str> {
    const MAX_MICROS: u64 = 255_000_000;
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if text.starts_with('-') {
        return Err("negative");
    }
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err("not a number of seconds");
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "too large")?
    };
    let rounded = fraction.len() > 6;
    let mut places: String = fraction.chars().take(6).collect();
    while places.len() < 6 {
        places.push('0');
    }
    let mut micros = whole
        .checked_mul(1_000_000)
        .and_then(|micros| micros.checked_add(places.parse::<u64>().unwrap_or(0)))
        .ok_or("too large")?;
    if rounded && fraction.as_bytes()[6] >= b'5' {
        micros += 1;
    }
    if micros > MAX_MICROS {
        return Err("outside 0 to 255 seconds");
    }
    Ok((micros, rounded))
}

/// keepalived's `vrrp_garp_master_repeat` and `vrrp_garp_master_delay` default (`VRRP_GARP_REP`,
/// `VRRP_GARP_DELAY`): 5 messages, 5 s.
const KEEPALIVED_GARP_DEFAULT: i64 = 5;

fn number_or_text(text: &str) -> Value {
    text.parse::<i64>()
        .map(Value::Integer)
        .unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The native `garp` key of a keepalived GARP keyword (global or per instance).
fn garp_key(keyword: &str) -> &'static str {
    schema::from_keepalived(schema::garp::FIELDS, keyword)
        .expect("garp_key is given only the GARP keywords of the field table")
        .key
}

/// The instance field that keepalived keyword `keyword` of a `vrrp_instance` becomes.
fn instance_field(keyword: &str) -> &'static schema::FieldSpec {
    schema::from_keepalived(schema::instance::FIELDS, keyword)
        .expect("instance_field is given only keywords the field table maps")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keywords translated through the field table all have a field there (the lookups
    /// in `instance_field`, `garp_key` and `notify_program` rely on it).
    #[test]
    fn translated_keywords_are_in_the_field_table() {
        for keyword in [
            "interface",
            "virtual_router_id",
            "priority",
            "advert_int",
            "version",
            "preempt_delay",
            "virtual_ipaddress",
            "virtual_ipaddress_excluded",
        ] {
            instance_field(keyword);
        }
        for keyword in [
            "garp_master_delay",
            "garp_master_repeat",
            "garp_master_refresh",
            "vrrp_garp_master_delay",
            "vrrp_garp_master_repeat",
            "vrrp_garp_master_refresh",
            "garp_lower_prio_delay",
            "garp_lower_prio_repeat",
            "vrrp_garp_lower_prio_delay",
            "vrrp_garp_lower_prio_repeat",
        ] {
            garp_key(keyword);
        }
        for keyword in [
            "notify_master",
            "notify_backup",
            "notify_fault",
            "notify_stop",
            "notify",
        ] {
            assert!(schema::from_keepalived(schema::notify::FIELDS, keyword).is_some());
        }
    }

    #[test]
    fn names_become_native() {
        assert_eq!(native_name("VI_1"), "vi_1");
        assert_eq!(native_name("chk__x.y"), "chk_x_y");
        assert_eq!(native_name("interface-eth0.100"), "interface-eth0_100");
        assert_eq!(native_name(""), "unnamed");
    }
}
