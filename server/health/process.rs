//! Process checks, keepalived's `vrrp_track_process`: how many running processes match, and
//! whether that count is within the quorum. Sans-IO: the monitor task
//! ([`super::process_monitor`]) hands in what `/proc` and the kernel's process events say,
//! with the time; this module decides.
//!
//! The rules follow keepalived 2.2.7 (keepalived/core/track_process.c):
//! - A process matches on its name (`comm`, 15 bytes at most) or, with `full_command`, on
//!   the first word of its command line; `param_match` then compares the other words:
//!   exactly, as leading whole words (`partial`), or as leading words the last of which may be
//!   cut short (`initial`).
//! - A fork of a counted process counts the child too (keepalived does not look at the
//!   child's name: it inherits the parent's); an exec or a name change looks at the process
//!   again; an exit stops counting it. Threads are not processes.
//! - The check passes while `quorum <= count <= quorum_max`.
//! - A change that crosses the quorum because of a fork waits `fork_delay`, one because of an
//!   exit waits `terminate_delay`, before the verdict follows; the verdict is then the count's
//!   at that moment. A crossing back before the delay ends cancels it. Crossings through an
//!   exec, a name change or a new reading of `/proc` take effect at once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::config::{Config, ParamMatch, Probe, ProcessMatch};

/// Whether `config` has a process check.
pub fn configured_in(config: &Config) -> bool {
    config.instances.iter().any(|instance| {
        instance
            .health_checks
            .iter()
            .any(|check| matches!(check.probe, Probe::Process(_)))
    })
}

/// What `/proc` says of one process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// `/proc/PID/comm`, without its newline.
    pub comm: String,
    /// `/proc/PID/cmdline`: the words, each ended by a NUL (empty for kernel threads and
    /// zombies).
    pub cmdline: Vec<u8>,
}

impl ProcessInfo {
    /// A process named `comm` started as `words`.
    pub fn new(comm: &str, words: &[&str]) -> Self {
        let mut cmdline = Vec::new();
        for word in words {
            cmdline.extend_from_slice(word.as_bytes());
            cmdline.push(0);
        }
        ProcessInfo {
            comm: comm.to_owned(),
            cmdline,
        }
    }
}

/// Whether `process` is one that `tracked` counts.
pub fn matches(tracked: &ProcessMatch, process: &ProcessInfo) -> bool {
    if !tracked.uses_command_line() {
        return process.comm == tracked.process;
    }
    let cmdline = process.cmdline.as_slice();
    let (program, arguments) = match cmdline.iter().position(|&byte| byte == 0) {
        Some(end) => (&cmdline[..end], &cmdline[end + 1..]),
        None => (cmdline, &[][..]),
    };
    if cmdline.is_empty() || program != tracked.process.as_bytes() {
        return false;
    }
    match tracked.param_match {
        None => true,
        Some(how) => arguments_match(how, &tracked.arguments, arguments),
    }
}

/// keepalived's `check_params`: `actual` is the command line after its first word (each
/// word ended by a NUL); the configured words are compared the same way, NUL-ended.
fn arguments_match(how: ParamMatch, configured: &[String], actual: &[u8]) -> bool {
    let mut wanted = Vec::new();
    for word in configured {
        wanted.extend_from_slice(word.as_bytes());
        wanted.push(0);
    }
    match how {
        ParamMatch::Exact => actual == wanted.as_slice(),
        ParamMatch::Partial => actual.starts_with(&wanted),
        // The last word may be cut short: compare without its closing NUL.
        ParamMatch::Initial => {
            let prefix = wanted.strip_suffix(&[0]).unwrap_or(&wanted);
            actual.starts_with(prefix)
        }
    }
}

/// Why a process is counted or no longer counted: it decides which delay applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    /// A fork of a counted process: `fork_delay`.
    Fork,
    /// An exit: `terminate_delay`.
    Exit,
    /// An exec, a name change or a new reading of `/proc`: at once.
    Immediate,
}

/// One process check's count and verdict.
#[derive(Clone, Debug)]
struct Tracker {
    spec: ProcessMatch,
    pids: BTreeSet<u32>,
    passing: bool,
    /// When a quorum crossed by a fork takes effect.
    fork_deadline: Option<Instant>,
    /// When a quorum crossed by an exit takes effect.
    terminate_deadline: Option<Instant>,
}

impl Tracker {
    fn in_quorum(&self, count: usize) -> bool {
        (usize::from(self.spec.quorum)..=usize::from(self.spec.quorum_max)).contains(&count)
    }

    /// Counts or stops counting `pid`; returns whether the set changed.
    fn set_counted(&mut self, pid: u32, counted: bool, cause: Cause, now: Instant) -> bool {
        let before = self.pids.len();
        let changed = if counted {
            self.pids.insert(pid)
        } else {
            self.pids.remove(&pid)
        };
        if changed {
            self.count_changed(before, cause, now);
        }
        changed
    }

    /// Applies a count that moved from `before` to the current one.
    fn count_changed(&mut self, before: usize, cause: Cause, now: Instant) {
        let now_in = self.in_quorum(self.pids.len());
        if self.in_quorum(before) == now_in {
            return;
        }
        match cause {
            // A crossing back through a fork cancels a pending exit's delay (the verdict
            // never moved); otherwise the fork's delay applies.
            Cause::Fork => {
                if self.terminate_deadline.take().is_some() || self.spec.fork_delay.is_zero() {
                    self.passing = now_in;
                } else {
                    self.fork_deadline = Some(now + self.spec.fork_delay);
                }
            }
            Cause::Exit => {
                if self.fork_deadline.take().is_some() || self.spec.terminate_delay.is_zero() {
                    self.passing = now_in;
                } else {
                    self.terminate_deadline = Some(now + self.spec.terminate_delay);
                }
            }
            Cause::Immediate => {
                self.fork_deadline = None;
                self.terminate_deadline = None;
                self.passing = now_in;
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match (self.fork_deadline, self.terminate_deadline) {
            (Some(fork), Some(terminate)) => Some(fork.min(terminate)),
            (fork, terminate) => fork.or(terminate),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        let expired = |deadline: &mut Option<Instant>| {
            if deadline.is_some_and(|at| at <= now) {
                *deadline = None;
                true
            } else {
                false
            }
        };
        let fork = expired(&mut self.fork_deadline);
        let terminate = expired(&mut self.terminate_deadline);
        if fork || terminate {
            self.passing = self.in_quorum(self.pids.len());
        }
    }
}

/// How a process check stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackerStatus {
    /// Whether it passes.
    pub passing: bool,
    /// The processes it counts, by PID.
    pub pids: Vec<u32>,
    /// Whether a fork or exit delay is running.
    pub delayed: bool,
}

/// Every process check of the daemon, by an id of the caller's choosing, and which of them
/// counts each process.
#[derive(Debug, Default)]
pub struct ProcessTable {
    trackers: BTreeMap<u64, Tracker>,
    /// The checks counting each process, so a fork or an exit costs a look-up.
    counted_by: BTreeMap<u32, BTreeSet<u64>>,
    /// Checks whose count or verdict changed since [`ProcessTable::take_changed`].
    changed: BTreeSet<u64>,
}

impl ProcessTable {
    /// No checks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether any check reads command lines (so an exec must read `/proc/PID/cmdline`).
    pub fn uses_command_lines(&self) -> bool {
        self.trackers
            .values()
            .any(|tracker| tracker.spec.uses_command_line())
    }

    /// Whether there are no checks.
    pub fn is_empty(&self) -> bool {
        self.trackers.is_empty()
    }

    /// Adds check `id`, counting the `processes` running now; its verdict is the count's at
    /// once, as keepalived's initial reading of `/proc` decides. `processes` is empty when
    /// process events cannot be followed: the check then counts none, as keepalived's does.
    pub fn add(
        &mut self,
        id: u64,
        spec: ProcessMatch,
        processes: impl IntoIterator<Item = (u32, ProcessInfo)>,
    ) {
        let pids: BTreeSet<u32> = processes
            .into_iter()
            .filter(|(_, info)| matches(&spec, info))
            .map(|(pid, _)| pid)
            .collect();
        for pid in &pids {
            self.counted_by.entry(*pid).or_default().insert(id);
        }
        let mut tracker = Tracker {
            spec,
            pids,
            passing: false,
            fork_deadline: None,
            terminate_deadline: None,
        };
        tracker.passing = tracker.in_quorum(tracker.pids.len());
        self.trackers.insert(id, tracker);
        self.changed.insert(id);
    }

    /// Removes check `id`.
    pub fn remove(&mut self, id: u64) {
        if let Some(tracker) = self.trackers.remove(&id) {
            for pid in tracker.pids {
                self.uncount_index(pid, id);
            }
        }
        self.changed.remove(&id);
    }

    fn uncount_index(&mut self, pid: u32, id: u64) {
        if let Some(ids) = self.counted_by.get_mut(&pid) {
            ids.remove(&id);
            if ids.is_empty() {
                self.counted_by.remove(&pid);
            }
        }
    }

    fn set_counted(&mut self, id: u64, pid: u32, counted: bool, cause: Cause, now: Instant) {
        let Some(tracker) = self.trackers.get_mut(&id) else {
            return;
        };
        if tracker.set_counted(pid, counted, cause, now) {
            self.changed.insert(id);
            if counted {
                self.counted_by.entry(pid).or_default().insert(id);
            } else {
                self.uncount_index(pid, id);
            }
        }
    }

    /// Process `parent` created process `child`: the checks counting the parent count the
    /// child too.
    pub fn handle_fork(&mut self, now: Instant, parent: u32, child: u32) {
        let Some(ids) = self.counted_by.get(&parent).cloned() else {
            return;
        };
        for id in ids {
            self.set_counted(id, child, true, Cause::Fork, now);
        }
    }

    /// Process `pid` executed a new program, which `/proc` describes as `info` (`None`: it
    /// is already gone, and its exit will follow).
    pub fn handle_exec(&mut self, now: Instant, pid: u32, info: Option<&ProcessInfo>) {
        let Some(info) = info else {
            return;
        };
        let ids: Vec<u64> = self.trackers.keys().copied().collect();
        for id in ids {
            let counted = matches(&self.trackers[&id].spec, info);
            self.set_counted(id, pid, counted, Cause::Immediate, now);
        }
    }

    /// Process `pid` is now named `comm`: the checks on names look at it again; those on
    /// command lines do not (a name change leaves the command line as it was).
    pub fn handle_comm(&mut self, now: Instant, pid: u32, comm: &str) {
        let info = ProcessInfo {
            comm: comm.to_owned(),
            cmdline: Vec::new(),
        };
        let ids: Vec<u64> = self
            .trackers
            .iter()
            .filter(|(_, tracker)| !tracker.spec.uses_command_line())
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let counted = matches(&self.trackers[&id].spec, &info);
            self.set_counted(id, pid, counted, Cause::Immediate, now);
        }
    }

    /// Process `pid` ended.
    pub fn handle_exit(&mut self, now: Instant, pid: u32) {
        let Some(ids) = self.counted_by.get(&pid).cloned() else {
            return;
        };
        for id in ids {
            self.set_counted(id, pid, false, Cause::Exit, now);
        }
    }

    /// Counts again from a full reading of `/proc` (after lost events): a process no longer
    /// there counts as exited (its `terminate_delay` applies), others take effect at once.
    pub fn rescan(&mut self, now: Instant, processes: &[(u32, ProcessInfo)]) {
        let ids: Vec<u64> = self.trackers.keys().copied().collect();
        for id in ids {
            let spec = self.trackers[&id].spec.clone();
            let now_matching: BTreeSet<u32> = processes
                .iter()
                .filter(|(_, info)| matches(&spec, info))
                .map(|(pid, _)| *pid)
                .collect();
            let before: Vec<u32> = self.trackers[&id].pids.iter().copied().collect();
            for pid in before {
                if !now_matching.contains(&pid) {
                    self.set_counted(id, pid, false, Cause::Exit, now);
                }
            }
            for pid in now_matching {
                self.set_counted(id, pid, true, Cause::Immediate, now);
            }
        }
    }

    /// Ends the delays due by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for (id, tracker) in &mut self.trackers {
            if tracker.deadline().is_some_and(|at| at <= now) {
                tracker.handle_timeout(now);
                self.changed.insert(*id);
            }
        }
    }

    /// When [`ProcessTable::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.trackers.values().filter_map(Tracker::deadline).min()
    }

    /// The checks whose count or verdict changed since the last call, with how they stand.
    pub fn take_changed(&mut self) -> Vec<(u64, TrackerStatus)> {
        let changed = std::mem::take(&mut self.changed);
        changed
            .into_iter()
            .filter_map(|id| Some((id, self.status(id)?)))
            .collect()
    }

    /// How check `id` stands.
    pub fn status(&self, id: u64) -> Option<TrackerStatus> {
        let tracker = self.trackers.get(&id)?;
        Some(TrackerStatus {
            passing: tracker.passing,
            pids: tracker.pids.iter().copied().collect(),
            delayed: tracker.deadline().is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn by_name(name: &str) -> ProcessMatch {
        ProcessMatch {
            process: name.into(),
            full_command: false,
            arguments: Vec::new(),
            param_match: None,
            quorum: 1,
            quorum_max: u16::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
        }
    }

    fn by_command(program: &str, arguments: &[&str], how: Option<ParamMatch>) -> ProcessMatch {
        ProcessMatch {
            full_command: true,
            arguments: arguments.iter().map(|word| (*word).to_owned()).collect(),
            param_match: how,
            ..by_name(program)
        }
    }

    fn passing(table: &ProcessTable, id: u64) -> bool {
        table.status(id).expect("the check exists").passing
    }

    fn count(table: &ProcessTable, id: u64) -> usize {
        table.status(id).expect("the check exists").pids.len()
    }

    #[test]
    fn names_match_exactly() {
        let spec = by_name("haproxy");
        assert!(matches(
            &spec,
            &ProcessInfo::new("haproxy", &["/usr/sbin/haproxy"])
        ));
        assert!(!matches(&spec, &ProcessInfo::new("haproxy2", &["haproxy"])));
        assert!(!matches(&spec, &ProcessInfo::new("hap", &["haproxy"])));
    }

    #[test]
    fn full_command_matches_the_first_word_of_the_command_line() {
        let spec = by_command("/usr/sbin/haproxy", &[], None);
        assert!(matches(
            &spec,
            &ProcessInfo::new("haproxy", &["/usr/sbin/haproxy", "-f", "/etc/haproxy.cfg"])
        ));
        assert!(!matches(&spec, &ProcessInfo::new("haproxy", &["haproxy"])));
        // Kernel threads and zombies have no command line.
        assert!(!matches(&spec, &ProcessInfo::new("haproxy", &[])));
    }

    #[test]
    fn param_match_exact_partial_and_initial_compare_as_keepalived() {
        let process = ProcessInfo::new("keydb", &["keydb-server", "*:6379", "--port", "6379"]);
        let exact = by_command(
            "keydb-server",
            &["*:6379", "--port", "6379"],
            Some(ParamMatch::Exact),
        );
        assert!(matches(&exact, &process));
        let exact_short = by_command("keydb-server", &["*:6379"], Some(ParamMatch::Exact));
        assert!(!matches(&exact_short, &process));
        let partial = by_command(
            "keydb-server",
            &["*:6379", "--port"],
            Some(ParamMatch::Partial),
        );
        assert!(matches(&partial, &process));
        // Partial compares whole words: "--po" is not "--port".
        let partial_cut = by_command(
            "keydb-server",
            &["*:6379", "--po"],
            Some(ParamMatch::Partial),
        );
        assert!(!matches(&partial_cut, &process));
        let initial_cut = by_command(
            "keydb-server",
            &["*:6379", "--po"],
            Some(ParamMatch::Initial),
        );
        assert!(matches(&initial_cut, &process));
        // Exact with no words: the process must have no arguments.
        let bare = by_command("keydb-server", &[], Some(ParamMatch::Exact));
        assert!(!matches(&bare, &process));
        assert!(matches(
            &bare,
            &ProcessInfo::new("keydb", &["keydb-server"])
        ));
    }

    #[test]
    fn the_first_reading_decides_at_once() {
        let now = Instant::now();
        let mut table = ProcessTable::new();
        table.add(
            1,
            by_name("sleep"),
            [(10, ProcessInfo::new("sleep", &["sleep", "9"]))],
        );
        table.add(
            2,
            by_name("nginx"),
            [(10, ProcessInfo::new("sleep", &["sleep", "9"]))],
        );
        assert!(passing(&table, 1));
        assert!(!passing(&table, 2));
        let changed: Vec<u64> = table.take_changed().into_iter().map(|(id, _)| id).collect();
        assert_eq!(changed, vec![1, 2]);
        table.handle_timeout(now);
        assert!(table.take_changed().is_empty());
    }

    #[test]
    fn an_exit_below_quorum_fails_at_once_without_a_delay() {
        let now = Instant::now();
        let mut table = ProcessTable::new();
        table.add(1, by_name("sleep"), [(10, ProcessInfo::new("sleep", &[]))]);
        table.take_changed();
        table.handle_exit(now, 99);
        assert!(
            table.take_changed().is_empty(),
            "an untracked exit changes nothing"
        );
        table.handle_exit(now, 10);
        assert!(!passing(&table, 1));
        assert_eq!(count(&table, 1), 0);
        assert_eq!(table.take_changed().len(), 1);
    }

    #[test]
    fn forks_are_counted_and_threads_and_exits_of_others_are_not() {
        let now = Instant::now();
        let mut table = ProcessTable::new();
        let mut spec = by_name("worker");
        spec.quorum = 3;
        table.add(1, spec, [(10, ProcessInfo::new("worker", &[]))]);
        table.handle_fork(now, 10, 11);
        table.handle_fork(now, 99, 12);
        assert_eq!(count(&table, 1), 2);
        assert!(!passing(&table, 1));
        table.handle_fork(now, 11, 13);
        assert_eq!(count(&table, 1), 3);
        assert!(passing(&table, 1));
    }

    #[test]
    fn quorum_max_fails_when_too_many_run() {
        let now = Instant::now();
        let mut table = ProcessTable::new();
        let mut spec = by_name("singleton");
        spec.quorum_max = 1;
        table.add(1, spec, [(10, ProcessInfo::new("singleton", &[]))]);
        assert!(passing(&table, 1));
        table.handle_fork(now, 10, 11);
        assert!(!passing(&table, 1));
        table.handle_exit(now, 11);
        assert!(passing(&table, 1));
    }

    #[test]
    fn quorum_zero_passes_while_none_runs() {
        let now = Instant::now();
        let mut table = ProcessTable::new();
        let mut spec = by_name("maintenance");
        spec.quorum = 0;
        spec.quorum_max = 0;
        table.add(1, spec, std::iter::empty());
        assert!(passing(&table, 1));
        table.handle_exec(now, 20, Some(&ProcessInfo::new("maintenance", &[])));
        assert!(!passing(&table, 1));
    }

    #[test]
    fn terminate_delay_holds_the_verdict_and_a_return_cancels_it() {
        let start = Instant::now();
        let mut table = ProcessTable::new();
        let mut spec = by_name("app");
        spec.terminate_delay = Duration::from_secs(2);
        spec.fork_delay = Duration::from_secs(5);
        table.add(1, spec, [(10, ProcessInfo::new("app", &[]))]);
        table.take_changed();
        table.handle_exit(start, 10);
        assert!(passing(&table, 1), "still passing during terminate_delay");
        assert_eq!(table.poll_timeout(), Some(start + Duration::from_secs(2)));
        table.handle_timeout(start + Duration::from_millis(1999));
        assert!(passing(&table, 1));
        table.handle_timeout(start + Duration::from_secs(2));
        assert!(!passing(&table, 1));
        assert_eq!(table.poll_timeout(), None);

        // A fork back (a supervisor's restart) during the delay cancels it: the verdict never
        // moves, and the fork's own delay does not apply.
        let mut table = ProcessTable::new();
        let mut spec = by_name("app");
        spec.terminate_delay = Duration::from_secs(2);
        spec.fork_delay = Duration::from_secs(5);
        table.add(
            1,
            spec,
            [
                (10, ProcessInfo::new("app", &[])),
                (11, ProcessInfo::new("app", &[])),
            ],
        );
        table.handle_exit(start, 10);
        table.handle_exit(start, 11);
        assert!(passing(&table, 1));
        table.handle_exec(start, 12, Some(&ProcessInfo::new("app", &[])));
        assert!(passing(&table, 1));
        assert_eq!(table.poll_timeout(), None, "the exec cancelled the delay");
    }

    #[test]
    fn fork_delay_holds_a_gained_quorum_and_an_exit_cancels_it() {
        let start = Instant::now();
        let mut table = ProcessTable::new();
        let mut spec = by_name("pool");
        spec.quorum = 2;
        spec.fork_delay = Duration::from_secs(1);
        table.add(1, spec.clone(), [(10, ProcessInfo::new("pool", &[]))]);
        table.handle_fork(start, 10, 11);
        assert!(!passing(&table, 1), "fork_delay still running");
        table.handle_timeout(start + Duration::from_secs(1));
        assert!(passing(&table, 1));

        let mut table = ProcessTable::new();
        table.add(1, spec, [(10, ProcessInfo::new("pool", &[]))]);
        table.handle_fork(start, 10, 11);
        table.handle_exit(start + Duration::from_millis(10), 11);
        assert!(!passing(&table, 1));
        assert_eq!(table.poll_timeout(), None);
    }

    #[test]
    fn an_exec_into_another_program_or_a_rename_stops_the_count() {
        let now = Instant::now();
        let mut table = ProcessTable::new();
        table.add(1, by_name("sleep"), [(10, ProcessInfo::new("sleep", &[]))]);
        table.add(
            2,
            by_command("sleep", &[], None),
            [(10, ProcessInfo::new("sleep", &["sleep"]))],
        );
        table.handle_comm(now, 10, "renamed");
        assert!(!passing(&table, 1));
        assert!(passing(&table, 2), "a rename leaves the command line alone");
        table.handle_exec(now, 10, Some(&ProcessInfo::new("true", &["true"])));
        assert!(!passing(&table, 2));
        table.handle_exec(now, 10, Some(&ProcessInfo::new("sleep", &["sleep"])));
        assert!(passing(&table, 1) && passing(&table, 2));
    }

    #[test]
    fn a_rescan_counts_again_with_exits_delayed() {
        let now = Instant::now();
        let mut table = ProcessTable::new();
        let mut spec = by_name("app");
        spec.terminate_delay = Duration::from_secs(1);
        table.add(1, spec, [(10, ProcessInfo::new("app", &[]))]);
        table.rescan(now, &[(20, ProcessInfo::new("app", &[]))]);
        assert_eq!(table.status(1).unwrap().pids, vec![20]);
        assert!(passing(&table, 1));
        table.rescan(now, &[]);
        assert!(passing(&table, 1));
        table.handle_timeout(now + Duration::from_secs(1));
        assert!(!passing(&table, 1));
    }

    #[test]
    fn removing_a_check_forgets_its_processes() {
        let now = Instant::now();
        let mut table = ProcessTable::new();
        table.add(1, by_name("a"), [(10, ProcessInfo::new("a", &[]))]);
        table.add(2, by_name("a"), [(10, ProcessInfo::new("a", &[]))]);
        table.remove(1);
        table.take_changed();
        table.handle_exit(now, 10);
        assert_eq!(
            table
                .take_changed()
                .into_iter()
                .map(|(id, _)| id)
                .collect::<Vec<_>>(),
            vec![2]
        );
        table.remove(2);
        assert!(table.is_empty());
        assert!(table.counted_by.is_empty());
    }
}
