//! Ten keepalived.conf files that people really wrote (`../shared/corpus/keepalived-wild/`,
//! SOURCES.tsv names each one's project), each run at once by our daemon
//! (`--keepalived-conf`) on one host and by keepalived 2.2.7 on the other, in a namespace lab.
//!
//! Each file runs twice: ours master and keepalived backup, then the reverse. In each run the
//! master is elected alone, the backup hears it and leaves the addresses alone, the master is
//! killed (SIGKILL, keepalived's whole process tree) or stopped (SIGTERM, priority 0) and the
//! backup takes every address over within its bound, and then the new master is stopped.
//! Every notify program and check script of the file is replaced by a program that records
//! the arguments it was given; over both runs each daemon played both roles, so both must
//! have given those programs the same argument lists. tshark checks every advert both sent.
//!
//! The files are read from the shared folder at run time, never copied: they are other
//! projects' text. [`adapt`] moves each into the lab with a few small rules, each saying why.
//!
//! Needs root, keepalived and tshark; panics without them (scripts/test installs them).

mod daemon_lab;
mod keepalived_lab;
mod netns;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use daemon_lab::{MARGIN, POLL};
use keepalived_lab::{
    InteropLab, OURS, OURS_IPV4, Running, START_SLACK, THEIRS, THEIRS_IPV4, assert_adverts, other,
    require_tools,
};
use netns::wait_until;

/// Where the corpus is, beside the work tree (as in `tests/keepalived_corpus.rs`).
const WILD: &str = "../shared/corpus/keepalived-wild";

/// How a run's master leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Departure {
    /// SIGKILL: the backup notices after its Master_Down_Interval.
    Crash,
    /// SIGTERM: the master sends priority 0 and the backup takes over after its Skew_Time.
    Stop,
}

/// One corpus file and how it runs in the lab.
struct Case {
    /// Its file name in the corpus.
    file: &'static str,
    /// The `-i`/`--config-id` of the master and of the backup, for files with `@id` lines.
    config_ids: Option<(&'static str, &'static str)>,
    /// Whether its instances use a second interface (the lab's `eth1`).
    second_lan: bool,
    /// How the master leaves in both runs (the same both ways round, so that both daemons
    /// meet the same events and their notify programs must see the same arguments).
    departure: Departure,
    /// Whether the copies get `script_user root` (rule 7 of [`adapt`]).
    script_user_root: bool,
    /// The commands (`KEYWORD#N`, the N-th use of the keyword in the file) that keepalived
    /// 2.2.7 runs in these runs, and so ours too: the others are never called for (a
    /// `notify_fault`), or keepalived drops them, each case saying why.
    commands: &'static [&'static str],
}

/// The hosts' addresses on the lab's LANs: `eth0` (192.0.2.0/24) and `eth1`
/// (198.51.100.0/24). The N-th host of the lab builder is .N on both.
fn lan_address(host: &str, lan: usize) -> Ipv4Addr {
    let number = if host == OURS {
        OURS_IPV4.octets()[3]
    } else {
        THEIRS_IPV4.octets()[3]
    };
    Ipv4Addr::from(lan_prefix(lan, number))
}

/// The address `number` in the lab's LAN `lan`.
fn lan_prefix(lan: usize, number: u8) -> [u8; 4] {
    match lan {
        0 => [192, 0, 2, number],
        1 => [198, 51, 100, number],
        _ => panic!("the lab has two LANs; a file with a third interface needs a third LAN"),
    }
}

/// What one host's copy of a file is adapted for.
struct Side<'a> {
    /// The host running this copy.
    host: &'a str,
    /// Whether this copy is the backup's: lower priorities, `state BACKUP`.
    backup: bool,
    /// Makes the recording program standing in for the command tagged `tag`; returns its
    /// path.
    recorder: &'a dyn Fn(&str) -> PathBuf,
    /// The FIFO this copy's `vrrp_notify_fifo` names.
    fifo: PathBuf,
    /// Rule 7.
    script_user_root: bool,
}

/// The keywords whose value is a command keepalived runs, without a shell.
const COMMAND_KEYWORDS: [&str; 11] = [
    "script",
    "notify",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify_master_rx_lower_pri",
    "vrrp_notify_fifo_script",
    "notify_fifo_script",
    "fifo_script",
];

/// A line cut at its comment (`#` or `!` outside quotes), as keepalived's reader does.
fn code_part(line: &str) -> &str {
    let mut quote = None;
    for (index, character) in line.char_indices() {
        match (quote, character) {
            (None, '"' | '\'') => quote = Some(character),
            (Some(open), _) if open == character => quote = None,
            (None, '#' | '!') => return &line[..index],
            _ => {}
        }
    }
    line
}

/// The keyword of a line and whether it carries an `@id`/`@^id` condition; the rest of the
/// line after the keyword.
fn keyword_of(code: &str) -> (Option<&str>, bool, &str) {
    let trimmed = code.trim_start();
    let (conditional, rest) = match trimmed.strip_prefix('@') {
        Some(after) => {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (true, after[end..].trim_start())
        }
        None => (false, trimmed),
    };
    let end = rest
        .find(|character: char| character.is_whitespace() || character == '{')
        .unwrap_or(rest.len());
    let keyword = &rest[..end];
    (
        (!keyword.is_empty()).then_some(keyword),
        conditional,
        &rest[end..],
    )
}

/// Every dotted-quad IPv4 literal of `text`, with its byte range.
fn ipv4_literals(text: &str) -> Vec<(std::ops::Range<usize>, Ipv4Addr)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let boundary_before =
            start == 0 || !(bytes[start - 1].is_ascii_digit() || bytes[start - 1] == b'.');
        if bytes[start].is_ascii_digit() && boundary_before {
            let mut end = start;
            while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
                end += 1;
            }
            let candidate = text[start..end].trim_end_matches('.');
            if let Ok(address) = candidate.parse::<Ipv4Addr>() {
                found.push((start..start + candidate.len(), address));
            }
            start = end;
        } else {
            start += 1;
        }
    }
    found
}

/// `text` with every whole-word `from` (not part of a longer name) replaced by `to`.
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let is_name = |character: char| character.is_alphanumeric() || "_-.".contains(character);
    let mut result = String::new();
    let mut rest = text;
    while let Some(position) = rest.find(from) {
        let before = rest[..position].chars().next_back();
        let after = rest[position + from.len()..].chars().next();
        result.push_str(&rest[..position]);
        if before.is_some_and(is_name) || after.is_some_and(is_name) {
            result.push_str(from);
        } else {
            result.push_str(to);
        }
        rest = &rest[position + from.len()..];
    }
    result.push_str(rest);
    result
}

/// Whether `line` is a `$NAME=value` definition.
fn is_definition(line: &str) -> bool {
    line.trim_start().strip_prefix('$').is_some_and(|rest| {
        rest.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
    })
}

/// What the first pass learns of a file.
#[derive(Default)]
struct Shape {
    /// `$NAME=value` definitions.
    definitions: BTreeMap<String, String>,
    /// The interfaces of the instances, in order of first use: the first becomes `eth0`,
    /// the second `eth1`.
    interfaces: Vec<String>,
    /// The file's own addresses (`unicast_src_ip`, `mcast_src_ip`), with the LAN of their
    /// instance.
    own: BTreeMap<Ipv4Addr, usize>,
    /// The unicast peers, in order, with the LAN of their instance.
    peers: Vec<(Ipv4Addr, usize)>,
    /// The virtual addresses (`virtual_ipaddress` only: the excluded ones are not announced
    /// in adverts but are set all the same, which a holder check need not repeat).
    virtual_addresses: Vec<Ipv4Addr>,
    /// The VRIDs of the instances on the first interface, whose adverts cross `br0`.
    first_lan_vrids: BTreeSet<u8>,
    /// The largest advert interval of the file (keepalived's default: 1 s).
    advert_interval: Duration,
    /// The VRRP version (`vrrp_version` in global_defs; 2 by default).
    version: u8,
    /// The 1-based numbers of the lines opening an instance that has no `priority` line.
    instances_without_priority: Vec<usize>,
}

impl Shape {
    /// `text` with each `${NAME}` and `$NAME` of a definition replaced by its value, as
    /// keepalived's reader expands them.
    fn expand(&self, text: &str) -> String {
        let mut result = String::new();
        let mut rest = text;
        while let Some(position) = rest.find('$') {
            result.push_str(&rest[..position]);
            let after = &rest[position + 1..];
            let (name, consumed) = match after.strip_prefix('{') {
                Some(braced) => match braced.find('}') {
                    Some(end) => (&braced[..end], end + 2),
                    None => ("", 0),
                },
                None => {
                    let end = after
                        .find(|character: char| !(character.is_alphanumeric() || character == '_'))
                        .unwrap_or(after.len());
                    (&after[..end], end)
                }
            };
            match self.definitions.get(name) {
                Some(value) if consumed > 0 => {
                    result.push_str(value);
                    rest = &after[consumed..];
                }
                _ => {
                    result.push('$');
                    rest = after;
                }
            }
        }
        result.push_str(rest);
        result
    }

    /// The lab interface index of the file's interface `name`.
    fn lan_of(&self, name: &str) -> usize {
        self.interfaces
            .iter()
            .position(|known| *known == name)
            .unwrap_or(0)
    }
}

/// The first pass: blocks followed by their braces, definitions, interfaces, addresses.
fn shape_of(text: &str) -> Shape {
    let mut shape = Shape {
        advert_interval: Duration::from_secs(1),
        version: 2,
        ..Shape::default()
    };
    for line in text.lines().filter(|line| is_definition(line)) {
        if let Some((name, value)) = line.trim().trim_start_matches('$').split_once('=') {
            shape
                .definitions
                .insert(name.trim().to_owned(), value.trim().to_owned());
        }
    }
    // The path of blocks the current line is in, e.g. ["vrrp_instance", "unicast_peer"].
    let mut blocks: Vec<String> = Vec::new();
    let mut instance_interface = String::new();
    let mut instance_vrid = None;
    let mut instance_has_priority = false;
    let mut instance_line = 0;
    for (index, line) in text.lines().enumerate() {
        if is_definition(line) {
            continue;
        }
        let expanded = shape.expand(line);
        let code = code_part(&expanded);
        let (keyword, _, rest) = keyword_of(code);
        let words: Vec<String> = rest
            .split_whitespace()
            .map(|word| shape.expand(word))
            .collect();
        let inside = blocks.iter().map(String::as_str).collect::<Vec<_>>();
        match (inside.as_slice(), keyword) {
            (["vrrp_instance"], Some("interface")) => {
                instance_interface = words.first().cloned().unwrap_or_default();
                if !shape.interfaces.contains(&instance_interface) {
                    shape.interfaces.push(instance_interface.clone());
                }
            }
            (["vrrp_instance"], Some("virtual_router_id")) => {
                instance_vrid = words.first().and_then(|word| word.parse::<u8>().ok());
            }
            (["vrrp_instance"], Some("priority")) => instance_has_priority = true,
            (["vrrp_instance"], Some("advert_int")) => {
                if let Some(seconds) = words.first().and_then(|word| word.parse::<f64>().ok()) {
                    shape.advert_interval =
                        shape.advert_interval.max(Duration::from_secs_f64(seconds));
                }
            }
            (["global_defs"], Some("vrrp_version")) => {
                shape.version = words
                    .first()
                    .and_then(|word| word.parse().ok())
                    .unwrap_or(2);
            }
            (["vrrp_instance"], Some("unicast_src_ip" | "mcast_src_ip")) => {
                if let Some(address) = words.first().and_then(|word| word.parse().ok()) {
                    shape.own.insert(address, shape.lan_of(&instance_interface));
                }
            }
            _ => {}
        }
        // Addresses listed inside a block: peers and virtual addresses.
        let in_block =
            |name: &str| inside.len() == 2 && inside[0] == "vrrp_instance" && inside[1] == name;
        let first = keyword.map(|keyword| shape.expand(keyword));
        let listed = first
            .as_deref()
            .and_then(|word| word.split('/').next())
            .and_then(|word| word.parse::<Ipv4Addr>().ok());
        if let Some(address) = listed {
            if in_block("unicast_peer") {
                shape
                    .peers
                    .push((address, shape.lan_of(&instance_interface)));
            } else if in_block("virtual_ipaddress") {
                shape.virtual_addresses.push(address);
            }
        }
        for character in code.chars() {
            match character {
                '{' => {
                    let name = keyword.unwrap_or_default().to_owned();
                    if blocks.is_empty() && name == "vrrp_instance" {
                        instance_interface.clear();
                        instance_vrid = None;
                        instance_has_priority = false;
                        instance_line = index + 1;
                    }
                    blocks.push(name);
                }
                '}' => {
                    if blocks.len() == 1 && blocks[0] == "vrrp_instance" {
                        if !instance_has_priority {
                            shape.instances_without_priority.push(instance_line);
                        }
                        if let Some(vrid) = instance_vrid
                            && shape.lan_of(&instance_interface) == 0
                        {
                            shape.first_lan_vrids.insert(vrid);
                        }
                    }
                    blocks.pop();
                }
                _ => {}
            }
        }
    }
    // A file whose last block is not closed (keepalived closes it at the end of the file).
    if blocks.first().is_some_and(|block| block == "vrrp_instance") {
        if !instance_has_priority {
            shape.instances_without_priority.push(instance_line);
        }
        if let Some(vrid) = instance_vrid
            && shape.lan_of(&instance_interface) == 0
        {
            shape.first_lan_vrids.insert(vrid);
        }
    }
    shape
}

/// Where each of the file's IPv4 addresses goes in the lab, for the host `host`.
///
/// - The file's own addresses (`unicast_src_ip`, `mcast_src_ip`) become the host's address on
///   the LAN of their instance: the file was written for one node, and each host runs it as
///   that node.
/// - The first unicast peer of each LAN becomes the other host; further peers become
///   addresses no host has (192.0.2.201 on), as peers that are down: the lab has two hosts.
/// - Every other address (virtual addresses, LVS servers, addresses in names or arguments)
///   keeps its last octet and moves to the lab LAN of the file's own address in its /24, or
///   to 192.0.2.0/24: the documentation ranges are the only ones the lab may use.
/// - Loopback, unspecified and multicast addresses stay: they mean the same in the lab.
fn address_map(text: &str, shape: &Shape, host: &str) -> BTreeMap<Ipv4Addr, Ipv4Addr> {
    let mut map = BTreeMap::new();
    for (address, lan) in &shape.own {
        map.insert(*address, lan_address(host, *lan));
    }
    let mut absent = 200u8;
    let mut peered_lans = BTreeSet::new();
    for (address, lan) in &shape.peers {
        if map.contains_key(address) {
            continue;
        }
        let target = if peered_lans.insert(*lan) {
            lan_address(other(host), *lan)
        } else {
            absent += 1;
            Ipv4Addr::from(lan_prefix(*lan, absent))
        };
        map.insert(*address, target);
    }
    let lan_of_prefix = |address: &Ipv4Addr| {
        shape
            .own
            .iter()
            .find(|(own, _)| own.octets()[..3] == address.octets()[..3])
            .map_or(0, |(_, lan)| *lan)
    };
    for (_, address) in ipv4_literals(text) {
        if map.contains_key(&address)
            || address.is_loopback()
            || address.is_unspecified()
            || address.is_multicast()
        {
            continue;
        }
        let target = Ipv4Addr::from(lan_prefix(lan_of_prefix(&address), address.octets()[3]));
        map.insert(address, target);
    }
    // Two addresses of the file on one lab address, or one on a host's own address, would
    // change what the file means: a file doing that needs a rule of its own.
    let mut seen = BTreeMap::new();
    for (from, to) in &map {
        if let Some(earlier) = seen.insert(*to, *from) {
            panic!("{earlier} and {from} both map to {to}: the file needs another rule");
        }
        let is_host = [OURS, THEIRS]
            .iter()
            .any(|host| (0..2).any(|lan| lan_address(host, lan) == *to));
        let own_or_peer =
            shape.own.contains_key(from) || shape.peers.iter().any(|(peer, _)| peer == from);
        assert!(
            !is_host || own_or_peer,
            "{from} maps onto a lab host's address {to}: the file needs another rule"
        );
    }
    map
}

/// `side.host`'s copy of the corpus file `text`, moved into the lab. The rules, each for a
/// reason:
///
/// 1. Interfaces: the instances' interfaces, in order of first use, become `eth0` and `eth1`,
///    everywhere the name appears as a word (`interface`, `dev`, `track_interface`, labels
///    like `em1:1`, `$NAME=` definitions): the lab's hosts have those two links only.
/// 2. IPv4 addresses: see [`address_map`]. (None of the ten files has an IPv6 address.)
/// 3. Commands (`script`, `notify*`, FIFO scripts): the program, the first word of the
///    command, becomes a recording program; the file's quoting and other words stay, so
///    what is checked is how each daemon splits the file's command line. The programs the
///    files name (`/etc/keepalived/notify.sh`, `killall`, `python`, `/bin/bash`) are not in
///    the lab; the recorder exits 0, a check that succeeds.
/// 4. Users: a `script_user` or script `user` the lab does not have becomes root:
///    keepalived drops scripts whose user does not exist (`Script user 'keepalived' does
///    not exist`), and the file's scripts are what is under test.
/// 5. The FIFO (`vrrp_notify_fifo`) moves into the lab's scratch directory, one per host:
///    the hosts' namespaces share one file system.
/// 6. Roles: the backup's copy gets `state BACKUP` and half of each priority (an instance
///    with no priority gets 50, under keepalived's default of 100), so the master and the
///    backup are defined whatever the file says; lines under `@id` conditions are left to
///    the configuration ids, which pick the roles themselves.
/// 7. Only where the case asks: `script_user root` after `enable_script_security`. Without
///    a `script_user`, keepalived runs nothing of such a file on a host without the user
///    keepalived_script, as the lab's hosts (044 shows it, on both daemons); a file whose
///    programs are under test gets a user.
fn adapt(text: &str, side: &Side) -> String {
    let shape = shape_of(text);
    let map = address_map(text, &shape, side.host);
    let mut occurrences: BTreeMap<String, usize> = BTreeMap::new();
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        // Rule 2.
        let mut line = line.to_owned();
        for (range, address) in ipv4_literals(&line).into_iter().rev() {
            if let Some(target) = map.get(&address) {
                line.replace_range(range, &target.to_string());
            }
        }
        // Rule 1.
        for (position, name) in shape.interfaces.iter().enumerate() {
            let lab_name = format!("eth{position}");
            if *name != lab_name {
                line = replace_word(&line, name, &lab_name);
            }
        }
        let (keyword, conditional, rest) = keyword_of(code_part(&line));
        let keyword = keyword.map(str::to_owned);
        let rest_start = line.len() - line.trim_start().len()
            + (code_part(&line).trim_start().len() - rest.len());
        match keyword.as_deref() {
            // Rule 3.
            Some(name) if COMMAND_KEYWORDS.contains(&name) => {
                let count = occurrences.entry(name.to_owned()).or_default();
                *count += 1;
                let tag = format!("{name}#{count}");
                let value_start = rest_start + (rest.len() - rest.trim_start().len());
                let value = &line[value_start..];
                let (program_start, quote) = match value.chars().next() {
                    Some(quote @ ('"' | '\'')) => (value_start + 1, Some(quote)),
                    _ => (value_start, None),
                };
                let program_end = line[program_start..]
                    .find(|character: char| character.is_whitespace() || Some(character) == quote)
                    .map_or(line.len(), |end| program_start + end);
                let recorder = (side.recorder)(&tag);
                line.replace_range(program_start..program_end, &recorder.display().to_string());
            }
            // Rule 7.
            Some("enable_script_security") if side.script_user_root => {
                let indent = &line[..line.len() - line.trim_start().len()];
                line = format!("{line}\n{indent}script_user root");
            }
            // Rule 4.
            Some("script_user" | "user") => {
                let user = rest.split_whitespace().next().unwrap_or_default();
                if !user_exists(user) {
                    let indent = &line[..line.len() - line.trim_start().len()];
                    line = format!("{indent}{} root", keyword.as_deref().unwrap_or_default());
                }
            }
            // Rule 5.
            Some("vrrp_notify_fifo" | "notify_fifo") => {
                let indent = &line[..line.len() - line.trim_start().len()];
                line = format!(
                    "{indent}{} {}",
                    keyword.as_deref().unwrap_or_default(),
                    side.fifo.display()
                );
            }
            // Rule 6.
            Some("state") if side.backup && !conditional => {
                line = line.replacen("MASTER", "BACKUP", 1);
            }
            Some("priority") if side.backup && !conditional => {
                let priority: u32 = rest.trim().parse().unwrap_or_else(|_| {
                    panic!("line {}: priority {rest:?} is not a number", index + 1)
                });
                let indent = &line[..line.len() - line.trim_start().len()];
                line = format!("{indent}priority {}", (priority / 2).max(1));
            }
            _ => {}
        }
        lines.push(line);
        if side.backup && shape.instances_without_priority.contains(&(index + 1)) {
            lines.push("    priority 50".to_owned());
        }
    }
    let mut adapted = lines.join("\n");
    adapted.push('\n');
    adapted
}

/// Whether the lab's hosts (which share /etc/passwd) have the user `name`.
fn user_exists(name: &str) -> bool {
    std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .any(|line| line.split(':').next() == Some(name))
}

/// The recording program for `tag` on `host`: appends a line `TAG [ARG]...` (every argument
/// in brackets, so spaces inside an argument show) to `record` in one write (programs run
/// at once must not interleave their lines), and exits 0.
fn make_recorder(directory: &Path, host: &str, tag: &str, record: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = directory.join(format!("{host}-{}.sh", tag.replace('#', "-")));
    let text = format!(
        "#!/bin/sh\nline='{tag}'\nfor argument in \"$@\"; do line=\"$line [$argument]\"; done\n\
         printf '%s\\n' \"$line\" >> '{}'\n",
        record.display()
    );
    std::fs::write(&path, text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    path
}

/// The lines recorded so far in `record`.
fn recorded(record: &Path) -> Vec<String> {
    std::fs::read_to_string(record)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until neither record grows for half a second (notify programs run after the state
/// change that started them; a stopping daemon's last ones after it exited), at most 5 s.
fn wait_records_settle(records: &[&Path]) {
    let sizes = || {
        records
            .iter()
            .map(|record| std::fs::metadata(record).map_or(0, |metadata| metadata.len()))
            .collect::<Vec<_>>()
    };
    let mut last = sizes();
    let mut stable_since = Instant::now();
    wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        let now = sizes();
        if now != last {
            last = now;
            stable_since = Instant::now();
        }
        stable_since.elapsed() >= Duration::from_millis(500)
    });
}

/// Whether `host` holds `address` on any of its links.
fn holds(interop: &InteropLab, host: &str, address: Ipv4Addr) -> bool {
    let wanted = address.to_string();
    interop
        .lab
        .ns(host)
        .ip_json(&["addr", "show"])
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|link| link["addr_info"].as_array().cloned().unwrap_or_default())
        .any(|entry| entry["local"].as_str() == Some(wanted.as_str()))
}

/// The hosts holding each of `addresses`, in order.
fn holders(interop: &InteropLab, addresses: &[Ipv4Addr]) -> Vec<Vec<&'static str>> {
    addresses
        .iter()
        .map(|address| {
            [OURS, THEIRS]
                .into_iter()
                .filter(|host| holds(interop, host, *address))
                .collect()
        })
        .collect()
}

/// Whether `host` alone holds every one of `addresses`.
fn sole_holder(interop: &InteropLab, host: &'static str, addresses: &[Ipv4Addr]) -> bool {
    holders(interop, addresses)
        .iter()
        .all(|holding| *holding == [host])
}

/// Whether a line recorded after the first `since` says the instance became master: the
/// `notify_master` program ran, or `notify` was told MASTER.
fn notified_master(record: &Path, since: usize) -> bool {
    recorded(record)
        .iter()
        .skip(since)
        .any(|line| line.starts_with("notify_master#") || line.contains(" [MASTER] "))
}

/// One run of a file: `master_host` elected, the backup hears it, the master departs, the
/// backup takes over, and then stops. Returns the takeover time.
fn run(
    interop: &InteropLab,
    case: &Case,
    text: &str,
    master_host: &'static str,
    record_of: &dyn Fn(&str) -> PathBuf,
    run_number: usize,
) -> Duration {
    let test = interop.test;
    let backup_host = other(master_host);
    let shape = shape_of(text);
    let addresses: Vec<Ipv4Addr> = {
        let map = address_map(text, &shape, master_host);
        shape
            .virtual_addresses
            .iter()
            .map(|address| map[address])
            .collect()
    };
    let directory = interop.lab.scratch("");
    let copy_for = |host: &'static str, backup: bool| {
        let directory = directory.clone();
        let record = record_of(host);
        let recorder = move |tag: &str| make_recorder(&directory, host, tag, &record);
        adapt(
            text,
            &Side {
                host,
                backup,
                recorder: &recorder,
                fifo: interop
                    .lab
                    .scratch(&format!("{host}-{run_number}-vrrp.fifo")),
                script_user_root: case.script_user_root,
            },
        )
    };
    let start = |host: &'static str, backup: bool| -> Running {
        let copy = copy_for(host, backup);
        let config_id = case
            .config_ids
            .map(|(master, backup_id)| if backup { backup_id } else { master });
        if host == OURS {
            let arguments: Vec<&str> = config_id
                .map(|id| vec!["--config-id", id])
                .unwrap_or_default();
            Running::Ours(
                interop
                    .lab
                    .start_keepalived_conf_with(host, &copy, &arguments)
                    .0,
            )
        } else {
            let arguments: Vec<&str> = config_id.map(|id| vec!["-i", id]).unwrap_or_default();
            Running::Keepalived(interop.start_keepalived_with(host, &copy, &arguments))
        }
    };
    let advert = shape.advert_interval;
    // A first election from BACKUP: Master_Down_Interval (3 adverts and a skew under one).
    let election = advert * 4 + START_SLACK + MARGIN;
    let master_record = record_of(master_host);
    let backup_record = record_of(backup_host);
    let is_master = |host: &'static str, record: &Path, since: usize| {
        if addresses.is_empty() {
            notified_master(record, since)
        } else {
            sole_holder(interop, host, &addresses)
        }
    };

    let master_since = recorded(&master_record).len();
    let master = start(master_host, false);
    assert!(
        wait_until(election, POLL, || is_master(
            master_host,
            &master_record,
            master_since
        )),
        "{test}: run {run_number}: {master_host} was not elected within {election:?}: holders \
         {:?}\n{}",
        holders(interop, &addresses),
        master.log_text()
    );
    let backup_since = recorded(&backup_record).len();
    let backup = start(backup_host, true);
    // Four of the master's adverts reach the backup, which must leave everything alone.
    std::thread::sleep(advert * 4 + MARGIN);
    assert!(
        is_master(master_host, &master_record, master_since)
            && !notified_master(&backup_record, backup_since),
        "{test}: run {run_number}: not a single master in steady state: holders {:?}\n\
         {master_host}:\n{}\n{backup_host}:\n{}",
        holders(interop, &addresses),
        master.log_text(),
        backup.log_text()
    );

    let bound = match case.departure {
        // Master_Down_Interval: 3 adverts and the backup's Skew_Time, under one advert.
        Departure::Crash => advert * 4 + MARGIN,
        // Skew_Time after the priority 0 advert.
        Departure::Stop => advert + MARGIN,
    };
    let departed = Instant::now();
    match case.departure {
        Departure::Crash => interop.crash(&master),
        Departure::Stop => interop.stop(&master),
    }
    // A crashed master leaves its addresses set (nothing ran to remove them): the backup
    // holds them too then; a stopped one removes them, so the backup holds them alone.
    let taken_over = || match (addresses.is_empty(), case.departure) {
        (true, _) => notified_master(&backup_record, backup_since),
        (false, Departure::Crash) => addresses
            .iter()
            .all(|address| holds(interop, backup_host, *address)),
        (false, Departure::Stop) => sole_holder(interop, backup_host, &addresses),
    };
    assert!(
        wait_until(bound, POLL, taken_over),
        "{test}: run {run_number}: {backup_host} did not take over within {bound:?} of the \
         master's {:?}: holders {:?}\n{backup_host}:\n{}",
        case.departure,
        holders(interop, &addresses),
        backup.log_text()
    );
    let takeover = departed.elapsed();
    println!(
        "{test}: run {run_number}: {master_host} master, {:?}: {backup_host} took over after \
         {takeover:?} (bound {bound:?})",
        case.departure
    );
    interop.stop(&backup);
    // What the crash left on the master's host goes, as the daemon's next start would
    // remove it, so that the next run starts from a clean host.
    if case.departure == Departure::Crash {
        for address in &addresses {
            let interfaces: &[&str] = if case.second_lan {
                &["eth0", "eth1"]
            } else {
                &["eth0"]
            };
            for interface in interfaces {
                let prefixes = interop
                    .lab
                    .ns(master_host)
                    .addresses(interface)
                    .into_iter()
                    .filter(|entry| entry["local"].as_str() == Some(address.to_string().as_str()))
                    .filter_map(|entry| entry["prefixlen"].as_u64())
                    .collect::<Vec<_>>();
                for prefix in prefixes {
                    interop.lab.ns(master_host).ip(&[
                        "addr",
                        "del",
                        &format!("{address}/{prefix}"),
                        "dev",
                        *interface,
                    ]);
                }
            }
        }
    }
    assert_eq!(
        holders(interop, &addresses),
        vec![Vec::<&str>::new(); addresses.len()],
        "{test}: run {run_number}: addresses left after both daemons stopped"
    );
    takeover
}

/// The lines of `record`, each once, with the lab's host addresses and scratch paths named
/// by role, so that what ours recorded on its host compares with what keepalived recorded
/// on the other.
fn normalized(record: &Path, host: &str, scratch: &Path) -> BTreeSet<String> {
    let scratch = scratch.display().to_string();
    recorded(record)
        .iter()
        .map(|line| {
            let mut line = line.replace(&scratch, "SCRATCH/");
            for lan in 0..2 {
                line = replace_word(&line, &lan_address(host, lan).to_string(), "OWN");
                line = replace_word(&line, &lan_address(other(host), lan).to_string(), "PEER");
            }
            for name in [OURS, THEIRS] {
                line = line.replace(&format!("SCRATCH/{name}-"), "SCRATCH/HOST-");
            }
            line
        })
        .collect()
}

/// The commands whose arguments are known to differ, each with why: a command listed here
/// that both daemons run alike fails the test, so the list only shrinks.
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[];

/// Runs `case` both ways round and compares what the notify programs and scripts recorded.
fn corpus_file(test: &'static str, case: &Case) {
    require_tools(test);
    let path = Path::new(WILD).join(case.file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut interop = if case.second_lan {
        InteropLab::with_second_lan(test)
    } else {
        InteropLab::new(test)
    };
    let record_of = |host: &str| interop.lab.scratch(&format!("{host}.records"));
    let mut takeovers = Vec::new();
    for (run_number, master_host) in [OURS, THEIRS].into_iter().enumerate() {
        takeovers.push(run(
            &interop,
            case,
            &text,
            master_host,
            &record_of,
            run_number + 1,
        ));
    }
    wait_records_settle(&[&record_of(OURS), &record_of(THEIRS)]);

    let scratch = interop.lab.scratch("");
    let ours = normalized(&record_of(OURS), OURS, &scratch);
    let theirs = normalized(&record_of(THEIRS), THEIRS, &scratch);
    let tags = |lines: &BTreeSet<String>| -> BTreeSet<String> {
        lines
            .iter()
            .filter_map(|line| line.split(' ').next().map(str::to_owned))
            .collect()
    };
    let known: Vec<&str> = KNOWN_DIFFERENCES
        .iter()
        .filter(|(file, _, _)| *file == case.file)
        .map(|(_, tag, _)| *tag)
        .collect();
    let without_known = |lines: &BTreeSet<String>| -> BTreeSet<String> {
        lines
            .iter()
            .filter(|line| !known.iter().any(|tag| line.starts_with(&format!("{tag} "))))
            .cloned()
            .collect()
    };
    println!(
        "{test}: ours recorded {} distinct command lines, keepalived {}",
        ours.len(),
        theirs.len()
    );
    for line in &theirs {
        println!("{test}:   keepalived: {line}");
    }
    for line in ours.symmetric_difference(&theirs) {
        let side = if ours.contains(line) {
            "only ours"
        } else {
            "only keepalived"
        };
        println!("{test}:   {side}: {line}");
    }
    let expected: BTreeSet<String> = case.commands.iter().map(|tag| (*tag).to_owned()).collect();
    assert_eq!(
        tags(&theirs),
        expected,
        "{test}: keepalived did not run the commands the case expects"
    );
    assert_eq!(
        without_known(&ours),
        without_known(&theirs),
        "{test}: the programs got different arguments from the two daemons"
    );
    for tag in &known {
        assert!(
            tags(&theirs).contains(*tag) && !tags(&ours).contains(*tag),
            "{test}: {tag} is listed in KNOWN_DIFFERENCES but the daemons no longer differ \
             there: remove it from the list"
        );
    }
    // Both daemons were master once: both sent adverts for every instance on br0.
    let shape = shape_of(&text);
    let adverts = interop.adverts();
    assert_adverts(
        test,
        &adverts,
        [(OURS, OURS_IPV4.into()), (THEIRS, THEIRS_IPV4.into())],
        shape.version,
    );
    for (host, source) in [(OURS, OURS_IPV4), (THEIRS, THEIRS_IPV4)] {
        let vrids: BTreeSet<u8> = adverts
            .iter()
            .filter(|advert| advert.source == IpAddr::from(source))
            .map(|advert| advert.vrid)
            .collect();
        assert!(
            shape.first_lan_vrids.is_subset(&vrids),
            "{test}: {host} sent adverts for VRIDs {vrids:?}, not all of {:?}",
            shape.first_lan_vrids
        );
    }
    println!(
        "{test}: takeover ours→keepalived {:?}, keepalived→ours {:?} ({:?})",
        takeovers[0], takeovers[1], case.departure
    );
    interop.finish();
}

macro_rules! corpus_test {
    ($name:ident, $case:expr) => {
        #[test]
        #[ignore = "lab: needs root, keepalived, tshark; scripts/test runs it"]
        fn $name() {
            corpus_file(stringify!($name), &$case);
        }
    };
}

// Notify programs with arguments (`"/etc/keepalived/notify.sh Master"`), tab indentation,
// nopreempt, unicast, a check script (rule 7: run as root, so that they run at all).
corpus_test!(
    file_034_notify_arguments_unicast,
    Case {
        file: "034-linode-db-unicast-tabs.conf",
        config_ids: None,
        second_lan: false,
        departure: Departure::Crash,
        script_user_root: true,
        commands: &["notify_backup#1", "notify_master#1", "script#1"],
    }
);

// Notify programs behind an interpreter with a single-quoted UTF-8 argument inside double
// quotes, a script user the lab lacks, an address with `dev` and `label`.
corpus_test!(
    file_057_notify_single_quoted_utf8,
    Case {
        file: "057-k8s-ingress-notify-utf8-args.conf",
        config_ids: None,
        second_lan: false,
        departure: Departure::Stop,
        script_user_root: false,
        commands: &["notify_backup#1", "notify_master#1", "script#1"],
    }
);

// Two LVS `virtual_server` blocks skipped, a sync group over two interfaces with VRID 51 on
// both, a misspelled keyword. No command runs: in the unquoted `notify_master script parth`
// keepalived reads `parth` as the user, which no host has, and no instance tracks the
// script.
corpus_test!(
    file_052_lvs_sync_group_two_lans,
    Case {
        file: "052-lvs-dr-syncgroup-typos.conf",
        config_ids: None,
        second_lan: true,
        departure: Departure::Crash,
        script_user_root: false,
        commands: &[],
    }
);

// A `/bin/sh -c '...'` script, per-entry track_script weights, two instances.
corpus_test!(
    file_022_sh_c_quoted_script,
    Case {
        file: "022-mysql-vip-track-weights.conf",
        config_ids: None,
        second_lan: false,
        departure: Departure::Stop,
        script_user_root: false,
        commands: &["script#1", "script#2"],
    }
);

// Scripts `/bin/bash -c '... $(echo 2*0.9|bc) ...'`, preempt_delay, a weight override.
// `enable_script_security` without `script_user` on hosts without the user
// keepalived_script: keepalived removes the three scripts, and so must ours.
corpus_test!(
    file_044_bash_c_scripts_preempt_delay,
    Case {
        file: "044-rancher-ingress-vip.conf",
        config_ids: None,
        second_lan: false,
        departure: Departure::Crash,
        script_user_root: false,
        commands: &[],
    }
);

// No virtual address; a script with a pipe and nested quotes; unquoted notify_master; two
// unicast peers (one absent).
corpus_test!(
    file_032_no_vip_pipe_script,
    Case {
        file: "032-failover-watcher-no-vip.conf",
        config_ids: None,
        second_lan: false,
        departure: Departure::Stop,
        script_user_root: false,
        commands: &["notify_master#1", "script#1"],
    }
);

// No virtual address; notify_master/backup/fault/stop unquoted; UTF-8 comments; nopreempt.
corpus_test!(
    file_037_no_vip_notify_stop,
    Case {
        file: "037-aliyun-eni-no-vip-utf8.conf",
        config_ids: None,
        second_lan: false,
        departure: Departure::Crash,
        script_user_root: false,
        commands: &[
            "notify_backup#1",
            "notify_master#1",
            "notify_stop#1",
            "script#1"
        ],
    }
);

// `$NAME=value` definitions and `${NAME}` in scripts, addresses and the FIFO script.
corpus_test!(
    file_023_definitions_fifo,
    Case {
        file: "023-mysql-vip-fifo-params.conf",
        config_ids: None,
        second_lan: false,
        departure: Departure::Stop,
        script_user_root: false,
        commands: &[
            "script#1",
            "script#2",
            "script#3",
            "vrrp_notify_fifo_script#1"
        ],
    }
);

// `@id` and `@^id` lines choosing state and priority by `-i`/`--config-id`; names with '/'.
corpus_test!(
    file_021_config_id_conditionals,
    Case {
        file: "021-k8s-keepalived-operator.conf",
        config_ids: Some((
            "keepalivedgroup-workers-x7k2p",
            "keepalivedgroup-workers-other"
        )),
        second_lan: false,
        departure: Departure::Crash,
        script_user_root: false,
        commands: &["script#1"],
    }
);

// VRRPv3 with an LVS NAT block skipped, `vrrp_iptables`, unicast to two peers (one absent);
// the file has no command.
corpus_test!(
    file_045_v3_lvs_unicast,
    Case {
        file: "045-kube-keepalived-vip-lvs.conf",
        config_ids: None,
        second_lan: false,
        departure: Departure::Stop,
        script_user_root: false,
        commands: &[],
    }
);

/// The adaptation rules on a file of their own, without the lab: what each rule does.
#[test]
fn adaptation_rules() {
    let text = "$IF=em1\nglobal_defs {\n    script_user nosuchuser\n    vrrp_notify_fifo /run/x.fifo\n}\n\
                vrrp_script chk {\n    script \"/bin/sh -c 'ping 10.1.2.3'\" # comment\n}\n\
                vrrp_instance VI/10.1.2.50 {\n    state MASTER\n    interface $IF\n    \
                unicast_src_ip 10.1.2.11\n    unicast_peer {\n        10.1.2.12\n        10.1.2.13\n    }\n    \
                virtual_ipaddress {\n        10.9.9.60/24 dev em1 label em1:1\n    }\n    \
                notify_master /etc/notify.sh master\n    @high priority 200\n}\n\
                vrrp_instance B {\n    interface em2\n    priority 90\n}\n";
    let recorder = |tag: &str| PathBuf::from(format!("/lab/{tag}"));
    let side = |backup| Side {
        host: OURS,
        backup,
        recorder: &recorder,
        fifo: PathBuf::from("/lab/fifo"),
        script_user_root: false,
    };
    let master = adapt(text, &side(false));
    let backup = adapt(text, &side(true));
    for expected in [
        "$IF=eth0",
        "script_user root",
        "vrrp_notify_fifo /lab/fifo",
        "script \"/lab/script#1 -c 'ping 192.0.2.3'\" # comment",
        "vrrp_instance VI/192.0.2.50 {",
        "unicast_src_ip 192.0.2.1",
        "        192.0.2.2\n        192.0.2.201\n",
        "192.0.2.60/24 dev eth0 label eth0:1",
        "notify_master /lab/notify_master#1 master",
        "@high priority 200",
        "interface eth1",
        "state MASTER",
        "priority 90",
    ] {
        assert!(master.contains(expected), "{expected:?} not in\n{master}");
    }
    // The first instance's only priority is conditional: the configuration id decides.
    assert!(backup.contains("state BACKUP"), "{backup}");
    assert!(backup.contains("priority 45"), "{backup}");
    assert!(!backup.contains("priority 50"), "{backup}");
    let shape = shape_of(text);
    assert_eq!(shape.interfaces, ["em1", "em2"]);
    assert_eq!(shape.first_lan_vrids, BTreeSet::new());
    assert_eq!(
        shape.virtual_addresses,
        ["10.9.9.60".parse::<Ipv4Addr>().unwrap()]
    );
}
