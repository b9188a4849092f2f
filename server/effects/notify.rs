//! Notifications of state changes, as keepalived gives them: a line on a FIFO and notify
//! programs.
//!
//! For each change of an instance, in order: the FIFO gets `INSTANCE "name" STATE priority`
//! (the name is the instance's, or the `name` of its notify settings, which a translated
//! keepalived.conf sets to the name as written there);
//! the program for the new state (`on_master`, `on_backup`, `on_fault`, `on_stop`) runs with
//! its configured arguments only; the `on_change` program runs with its configured arguments
//! followed by `INSTANCE name STATE priority`, keepalived's order. STATE is
//! `MASTER`, `BACKUP`, `FAULT` or `STOP`. A sync group's changes are notified the same way
//! with `GROUP` for `INSTANCE` and priority 0, as keepalived does.
//!
//! keepalived's other events (`keepalived/vrrp/vrrp_notify.c`), each as it writes them:
//! - a reload removing an instance is its `STOP`, or as `report_removal_as` says:
//!   `FAULT` (keepalived without `notify_deleted`; nothing for an instance in Fault) or
//!   `DELETED`, which runs `on_deleted` and `on_change`;
//! - with `priority_changes`, a new advertised priority writes
//!   `INSTANCE "name" MASTER_PRIORITY priority` (as master) or `BACKUP_PRIORITY` (otherwise),
//!   a FIFO line only;
//! - a master hearing a lower priority writes `INSTANCE "name" MASTER_RX_LOWER_PRI priority`
//!   (its own) and runs `on_master_rx_lower_priority` with its configured arguments only,
//!   once per such advertisement.
//!
//! The router only queues the change: one task per instance writes and runs everything, each
//! program waited for (up to [`PROGRAM_TIMEOUT`]) before the next starts, so a program sees
//! the changes in the order they happened, which keepalived's forked scripts do not promise,
//! and a slow program never holds up a VRRP timer.
//!
//! [`FifoReaders`] makes the FIFOs and runs the programs that read them
//! (`fifo_program`, keepalived's `notify_fifo_script`).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::process::Command;
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::config::{Config, NotifySettings, RemovalReport};
use crate::vrrp::State;

/// How long a notify program may run before it is killed and the next change is handled.
pub const PROGRAM_TIMEOUT: Duration = Duration::from_secs(10);

/// How often [`drain`] looks whether the queues are empty.
const DRAIN_POLL: Duration = Duration::from_millis(10);

/// Changes queued by any instance and not yet notified. A stopped instance's task outlives
/// its driver, which the router drops; the daemon reads this through [`drain`] so that the
/// STOP notifications are not cut off by the process exiting.
static PENDING_CHANGES: AtomicUsize = AtomicUsize::new(0);

/// Waits until every queued change has been notified, or `timeout` has passed; returns
/// whether all were.
pub async fn drain(timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let max_polls = timeout.as_millis() / DRAIN_POLL.as_millis() + 1;
    for _ in 0..max_polls {
        if PENDING_CHANGES.load(Ordering::Acquire) == 0 {
            return true;
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
    PENDING_CHANGES.load(Ordering::Acquire) == 0
}

/// Whose change is notified: keepalived's first word of the FIFO line and arguments.
#[derive(Clone, Copy, Debug)]
enum Subject {
    Instance,
    Group,
}

/// What is notified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    /// A new state.
    State(State),
    /// A reload removed the instance, notified as `DELETED` (keepalived's `notify_deleted`).
    Deleted,
    /// The advertised priority changed, as master or not (keepalived's
    /// `notify_priority_changes`: `send_instance_priority_notifies()` in
    /// `keepalived/vrrp/vrrp_notify.c`); a FIFO line only.
    PriorityChanged { master: bool },
    /// As master, a lower priority was heard (keepalived's `notify_master_rx_lower_pri`).
    LowerPriorityHeard,
}

impl Event {
    /// keepalived's word for it, in the FIFO line and `on_change`'s arguments; leaving the
    /// protocol (Initialize) is its `STOP`.
    fn word(self) -> &'static str {
        match self {
            Event::State(State::Initialize) => "STOP",
            Event::State(State::Backup) => "BACKUP",
            Event::State(State::Master) => "MASTER",
            Event::State(State::Fault) => "FAULT",
            Event::Deleted => "DELETED",
            Event::PriorityChanged { master: true } => "MASTER_PRIORITY",
            Event::PriorityChanged { master: false } => "BACKUP_PRIORITY",
            Event::LowerPriorityHeard => "MASTER_RX_LOWER_PRI",
        }
    }
}

/// What a reload removing an instance in `state` is notified as, if anything.
fn removal_event(report: RemovalReport, state: State) -> Option<Event> {
    match report {
        RemovalReport::Stop => Some(Event::State(State::Initialize)),
        // keepalived's `clear_diff_vrrp()`: an instance in Fault has said so already.
        RemovalReport::Fault if state == State::Fault => None,
        RemovalReport::Fault => Some(Event::State(State::Fault)),
        RemovalReport::Deleted => Some(Event::Deleted),
    }
}

/// One change to notify.
#[derive(Debug)]
struct Change {
    subject: Subject,
    /// The instance's or group's own name (the settings may give another for scripts).
    name: String,
    event: Event,
    priority: u8,
    settings: NotifySettings,
}

/// How many lower priorities heard may wait to be notified. keepalived runs
/// `notify_master_rx_lower_pri` for each one without waiting for it; here each program is
/// waited for, so when the program is slower than the adverts arrive (or a flood of forged
/// ones), the ones past this many are dropped rather than queued without bound.
const MAX_QUEUED_LOWER_PRIORITIES: usize = 4;

/// The notifications of one instance or sync group. The task behind it starts with the first
/// change that has something to notify, so one without notify settings costs nothing.
#[derive(Debug, Default)]
pub struct Notifier {
    changes: Option<mpsc::UnboundedSender<Change>>,
    /// Lower priorities heard, queued and not yet notified.
    queued_lower_priorities: Arc<AtomicUsize>,
}

impl Notifier {
    /// Queues the notifications of `instance` entering `state` at `priority`, as `settings`
    /// (the instance's current ones) ask; returns at once. Must run inside a tokio runtime.
    pub fn state_changed(
        &mut self,
        instance: &str,
        state: State,
        priority: u8,
        settings: &NotifySettings,
    ) {
        self.queue(
            Subject::Instance,
            instance,
            Event::State(state),
            priority,
            settings,
        );
    }

    /// Queues the notifications of a reload removing `instance`, which was in `state` at
    /// `priority`, as `settings` ask: its stop, or as keepalived reports it (see
    /// [`RemovalReport`]).
    pub fn removed(
        &mut self,
        instance: &str,
        state: State,
        priority: u8,
        settings: &NotifySettings,
    ) {
        if let Some(event) = removal_event(settings.report_removal_as, state) {
            self.queue(Subject::Instance, instance, event, priority, settings);
        }
    }

    /// Queues the FIFO line of `instance`'s advertised priority becoming `priority`, in
    /// `state`, when `settings` ask for priority changes.
    pub fn priority_changed(
        &mut self,
        instance: &str,
        state: State,
        priority: u8,
        settings: &NotifySettings,
    ) {
        if settings.priority_changes && settings.fifo.is_some() {
            let event = Event::PriorityChanged {
                master: state == State::Master,
            };
            self.queue(Subject::Instance, instance, event, priority, settings);
        }
    }

    /// Queues the notifications of `instance`, master at `priority`, hearing a lower
    /// priority: the FIFO line and `on_master_rx_lower_priority`.
    pub fn lower_priority_heard(
        &mut self,
        instance: &str,
        priority: u8,
        settings: &NotifySettings,
    ) {
        if settings.fifo.is_none() && settings.on_master_rx_lower_priority.is_none() {
            return;
        }
        if self.queued_lower_priorities.load(Ordering::Acquire) >= MAX_QUEUED_LOWER_PRIORITIES {
            debug!(
                instance,
                "lower priority heard while earlier ones wait; not notified"
            );
            return;
        }
        self.queued_lower_priorities.fetch_add(1, Ordering::AcqRel);
        self.queue(
            Subject::Instance,
            instance,
            Event::LowerPriorityHeard,
            priority,
            settings,
        );
    }

    /// Queues the notifications of sync group `group` entering `state` as a whole, as
    /// `settings` (the group's) ask; returns at once. Must run inside a tokio runtime.
    pub fn group_state_changed(&mut self, group: &str, state: State, settings: &NotifySettings) {
        self.queue(Subject::Group, group, Event::State(state), 0, settings);
    }

    fn queue(
        &mut self,
        subject: Subject,
        name: &str,
        event: Event,
        priority: u8,
        settings: &NotifySettings,
    ) {
        if *settings == NotifySettings::default() {
            return;
        }
        let change = Change {
            subject,
            name: name.to_owned(),
            event,
            priority,
            settings: settings.clone(),
        };
        let queued_lower_priorities = &self.queued_lower_priorities;
        let changes = self.changes.get_or_insert_with(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(notify_in_order(receiver, queued_lower_priorities.clone()));
            sender
        });
        PENDING_CHANGES.fetch_add(1, Ordering::AcqRel);
        if changes.send(change).is_err() {
            PENDING_CHANGES.fetch_sub(1, Ordering::AcqRel);
            if event == Event::LowerPriorityHeard {
                self.queued_lower_priorities.fetch_sub(1, Ordering::AcqRel);
            }
            error!(name, "the notification task is gone; change not notified");
        }
    }
}

/// Handles the changes one after the other until the instance's driver is dropped.
async fn notify_in_order(
    mut changes: mpsc::UnboundedReceiver<Change>,
    queued_lower_priorities: Arc<AtomicUsize>,
) {
    let mut open_fifo = None;
    while let Some(change) = changes.recv().await {
        notify(&change, &mut open_fifo).await;
        if change.event == Event::LowerPriorityHeard {
            queued_lower_priorities.fetch_sub(1, Ordering::AcqRel);
        }
        PENDING_CHANGES.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Writes the FIFO line and runs the programs of one change. `open_fifo` keeps the FIFO
/// open between changes: a FIFO drops what it holds once nobody has it open, so closing it
/// after each line would lose the lines a reader has not read yet.
async fn notify(change: &Change, open_fifo: &mut Option<(PathBuf, File)>) {
    let settings = &change.settings;
    let word = change.event.word();
    let name = settings.name.as_deref().unwrap_or(&change.name);
    let subject = match change.subject {
        Subject::Instance => "INSTANCE",
        Subject::Group => "GROUP",
    };
    if let Some(fifo) = &settings.fifo {
        let line = format!("{subject} \"{name}\" {word} {}\n", change.priority);
        if let Err(error) = write_fifo(open_fifo, fifo, &line) {
            *open_fifo = None;
            warn!(name = %change.name, fifo = %fifo.display(), %error, "notify FIFO not written");
        }
    }
    let configured = &settings.arguments;
    let (own, its_arguments, with_on_change) = match change.event {
        Event::State(State::Master) => (&settings.on_master, &configured.on_master, true),
        Event::State(State::Backup) => (&settings.on_backup, &configured.on_backup, true),
        Event::State(State::Fault) => (&settings.on_fault, &configured.on_fault, true),
        Event::State(State::Initialize) => (&settings.on_stop, &configured.on_stop, true),
        Event::Deleted => (&settings.on_deleted, &configured.on_deleted, true),
        // keepalived's `send_event_notify()`: the program with its own arguments only.
        Event::LowerPriorityHeard => (
            &settings.on_master_rx_lower_priority,
            &configured.on_master_rx_lower_priority,
            false,
        ),
        Event::PriorityChanged { .. } => return,
    };
    if let Some(program) = own {
        let arguments: Vec<&str> = its_arguments.iter().map(String::as_str).collect();
        run(program, &arguments, &change.name).await;
    }
    if with_on_change && let Some(program) = &settings.on_change {
        let priority = change.priority.to_string();
        let arguments: Vec<&str> = configured
            .on_change
            .iter()
            .map(String::as_str)
            .chain([subject, name, word, priority.as_str()])
            .collect();
        run(program, &arguments, &change.name).await;
    }
}

/// Writes `line` in one `write`, so lines of several writers never interleave (a line is
/// far below PIPE_BUF). Opened read-write and non-blocking: the open succeeds without a
/// reader and the line waits in the pipe for one, as long as the pipe has room.
fn write_fifo(
    open_fifo: &mut Option<(PathBuf, File)>,
    fifo: &Path,
    line: &str,
) -> std::io::Result<()> {
    let file = match open_fifo {
        Some((path, file)) if path == fifo => file,
        _ => {
            let file = open_for_writing(fifo)?;
            &mut open_fifo.insert((fifo.to_path_buf(), file)).1
        }
    };
    file.write_all(line.as_bytes())
}

/// Opens the FIFO at `path` read-write and non-blocking: the open succeeds without a
/// reader, and what is written waits in the pipe for one, as long as the pipe has room.
fn open_for_writing(path: &Path) -> std::io::Result<File> {
    if !std::fs::metadata(path)?.file_type().is_fifo() {
        return Err(std::io::Error::other("not a FIFO"));
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Runs `program` with `arguments` and waits for it, at most [`PROGRAM_TIMEOUT`].
async fn run(program: &Path, arguments: &[&str], whose: &str) {
    let child = Command::new(program)
        .args(arguments)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            warn!(name = whose, program = %program.display(), %error, "notify program not started");
            return;
        }
    };
    match tokio::time::timeout(PROGRAM_TIMEOUT, child.wait()).await {
        Ok(Ok(status)) if status.success() => {}
        Ok(Ok(status)) => {
            warn!(name = whose, program = %program.display(), %status, "notify program failed");
        }
        Ok(Err(error)) => {
            warn!(name = whose, program = %program.display(), %error, "notify program not waited for");
        }
        Err(_) => {
            // kill_on_drop ends it when `child` goes out of scope here.
            warn!(
                name = whose,
                program = %program.display(),
                timeout_s = PROGRAM_TIMEOUT.as_secs(),
                "notify program killed: it ran too long"
            );
        }
    }
}

/// How long a FIFO's program has to exit after SIGTERM before it is killed.
const FIFO_PROGRAM_STOP_GRACE: Duration = Duration::from_secs(1);

/// The notify FIFOs of the configuration and the programs that read them, as keepalived's
/// `fifo_open()` (`lib/notify.c`) has them: a FIFO that does not exist is made (mode 0644,
/// less the umask) and removed at exit; a FIFO's `fifo_program` is started with the
/// FIFO's path as its last argument, runs as long as it likes, and is not restarted when it
/// exits (its exit is logged); at exit it gets SIGTERM, as keepalived sends. keepalived
/// sends it before writing the last (STOP) lines; here it is sent after, so the program can
/// read them.
///
/// A reload keeps a FIFO and its program running when both are unchanged (keepalived
/// restarts the program and makes the FIFO again); a changed program is stopped and the new
/// one started; a FIFO no longer configured is given up as at exit.
#[derive(Clone, Debug, Default)]
pub struct FifoReaders {
    fifos: Arc<std::sync::Mutex<Vec<Fifo>>>,
    /// FIFOs a reload no longer writes, until [`FifoReaders::release_unused`].
    leaving: Arc<std::sync::Mutex<Vec<Fifo>>>,
}

/// A FIFO's program and its arguments, before the FIFO's path.
type FifoProgram = (PathBuf, Vec<String>);

/// One FIFO of the configuration.
#[derive(Debug)]
struct Fifo {
    path: PathBuf,
    program: Option<FifoProgram>,
    /// Whether the daemon made the FIFO, and so removes it.
    made: bool,
    /// The FIFO, open for as long as it is configured, as keepalived keeps it: its program
    /// sees no end of file while instances come and go (a FIFO's reader gets one once no
    /// writer has it open), only its SIGTERM.
    held: Option<File>,
    reader: Option<Reader>,
}

/// A started FIFO program.
#[derive(Debug)]
struct Reader {
    pid: Option<u32>,
    /// Ends when the program has exited and been waited for.
    exited: tokio::task::JoinHandle<()>,
}

/// The FIFOs the configuration writes, each with the first program configured for it.
fn configured_fifos(config: &Config) -> Vec<(PathBuf, Option<FifoProgram>)> {
    let mut fifos: Vec<(PathBuf, Option<FifoProgram>)> = Vec::new();
    let settings = config
        .instances
        .iter()
        .map(|instance| &instance.notify)
        .chain(config.sync_groups.iter().map(|group| &group.notify));
    for notify in settings {
        let Some(path) = &notify.fifo else { continue };
        let program = notify
            .fifo_program
            .clone()
            .map(|program| (program, notify.arguments.fifo_program.clone()));
        match fifos.iter_mut().find(|(known, _)| known == path) {
            Some((_, known_program)) => {
                if known_program.is_none() {
                    *known_program = program;
                }
            }
            None => fifos.push((path.clone(), program)),
        }
    }
    fifos
}

impl FifoReaders {
    /// Makes the FIFOs `config` writes and starts their programs. Must run inside a tokio
    /// runtime.
    pub fn start(config: &Config) -> Self {
        let readers = FifoReaders::default();
        readers.reconcile(config);
        readers
    }

    /// Brings the FIFOs and programs to what `config` (a reload's) asks.
    pub fn reconcile(&self, config: &Config) {
        let wanted = configured_fifos(config);
        let mut fifos = self
            .fifos
            .lock()
            .expect("no code panics holding the FIFO list");
        let (kept, gone): (Vec<Fifo>, Vec<Fifo>) = std::mem::take(&mut *fifos)
            .into_iter()
            .partition(|fifo| wanted.iter().any(|(path, _)| *path == fifo.path));
        self.leaving
            .lock()
            .expect("no code panics holding the FIFO list")
            .extend(gone);
        *fifos = kept;
        for (path, program) in wanted {
            match fifos.iter_mut().find(|fifo| fifo.path == path) {
                Some(fifo) if fifo.program == program => {}
                Some(fifo) => {
                    // The old program stops before the new one starts, so no line is split
                    // between them; meanwhile lines wait in the FIFO, which stays open.
                    let old = fifo.reader.take();
                    fifo.program = program.clone();
                    let readers = self.clone();
                    tokio::spawn(async move {
                        if let Some(old) = old {
                            old.stop().await;
                        }
                        let mut fifos = readers
                            .fifos
                            .lock()
                            .expect("no code panics holding the FIFO list");
                        if let Some(fifo) = fifos.iter_mut().find(|fifo| fifo.path == path)
                            && fifo.program == program
                            && fifo.reader.is_none()
                        {
                            fifo.reader = fifo.start_program();
                        }
                    });
                }
                None => {
                    let made = match make_fifo(&path) {
                        Ok(made) => made,
                        Err(error) => {
                            warn!(fifo = %path.display(), %error, "notify FIFO not made");
                            false
                        }
                    };
                    let held = open_for_writing(&path)
                        .inspect_err(|error| {
                            warn!(fifo = %path.display(), %error, "notify FIFO not opened");
                        })
                        .ok();
                    let mut fifo = Fifo {
                        path,
                        program,
                        made,
                        held,
                        reader: None,
                    };
                    fifo.reader = fifo.start_program();
                    fifos.push(fifo);
                }
            }
        }
    }

    /// Gives up the FIFOs the last [`FifoReaders::reconcile`] found unwritten, once the
    /// notifications queued by then (the last lines of the instances a reload removed) are
    /// written. For the router, after it has queued those.
    pub fn release_unused(&self) {
        let leaving = std::mem::take(
            &mut *self
                .leaving
                .lock()
                .expect("no code panics holding the FIFO list"),
        );
        for fifo in leaving {
            tokio::spawn(async move {
                drain(FIFO_PROGRAM_STOP_GRACE * 2).await;
                fifo.give_up().await;
            });
        }
    }

    /// Stops every program (SIGTERM, then SIGKILL after `FIFO_PROGRAM_STOP_GRACE`) and
    /// removes the FIFOs the daemon made; for the daemon's exit, after the last lines.
    pub async fn stop(&self) {
        let mut fifos = std::mem::take(
            &mut *self
                .fifos
                .lock()
                .expect("no code panics holding the FIFO list"),
        );
        fifos.extend(std::mem::take(
            &mut *self
                .leaving
                .lock()
                .expect("no code panics holding the FIFO list"),
        ));
        for fifo in fifos {
            fifo.give_up().await;
        }
    }
}

impl Fifo {
    /// Starts the program, if there is one, with the FIFO's path last.
    fn start_program(&self) -> Option<Reader> {
        let (program, arguments) = self.program.as_ref()?;
        let child = Command::new(program)
            .args(arguments)
            .arg(&self.path)
            .stdin(std::process::Stdio::null())
            // Should the daemon end without `stop` (a start-up error), the runtime drops the
            // task that owns the child, which then ends it.
            .kill_on_drop(true)
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(error) => {
                warn!(program = %program.display(), fifo = %self.path.display(), %error, "notify FIFO program not started");
                return None;
            }
        };
        let pid = child.id();
        let (program, fifo) = (program.clone(), self.path.clone());
        let exited = tokio::spawn(async move {
            match child.wait().await {
                Ok(status) => {
                    info!(program = %program.display(), fifo = %fifo.display(), %status, "notify FIFO program exited");
                }
                Err(error) => {
                    warn!(program = %program.display(), %error, "notify FIFO program not waited for");
                }
            }
        });
        Some(Reader { pid, exited })
    }

    /// Stops the program, once it has read what the FIFO holds (for a bounded time), and
    /// removes the FIFO if the daemon made it.
    async fn give_up(self) {
        if let Some(reader) = self.reader {
            if let Some(held) = &self.held {
                let deadline = Instant::now() + FIFO_PROGRAM_STOP_GRACE;
                // Only a program still running can read them.
                while unread_bytes(held) > 0
                    && !reader.exited.is_finished()
                    && Instant::now() < deadline
                {
                    tokio::time::sleep(DRAIN_POLL).await;
                }
            }
            reader.stop().await;
        }
        drop(self.held);
        if self.made
            && let Err(error) = std::fs::remove_file(&self.path)
        {
            warn!(fifo = %self.path.display(), %error, "notify FIFO not removed");
        }
    }
}

impl Reader {
    async fn stop(mut self) {
        let Some(pid) = self.pid.and_then(|pid| i32::try_from(pid).ok()) else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(pid);
        if self.exited.is_finished() {
            return;
        }
        // Not yet waited for, so the pid is still this program's.
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        if tokio::time::timeout(FIFO_PROGRAM_STOP_GRACE, &mut self.exited)
            .await
            .is_err()
        {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = self.exited.await;
        }
    }
}

/// How many bytes `fifo` holds that no reader has read yet; 0 if that cannot be told.
fn unread_bytes(fifo: &File) -> usize {
    use std::os::fd::AsRawFd;
    let mut unread: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points at `unread`, alive
    // for the call; the descriptor is `fifo`'s, open for the call.
    let result = unsafe { libc::ioctl(fifo.as_raw_fd(), libc::FIONREAD, &raw mut unread) };
    if result == 0 {
        usize::try_from(unread).unwrap_or(0)
    } else {
        0
    }
}

/// Makes a FIFO at `path` unless something is there; returns whether it made one.
fn make_fifo(path: &Path) -> std::io::Result<bool> {
    match nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644)) {
        Ok(()) => Ok(true),
        Err(nix::errno::Errno::EEXIST) => Ok(false),
        Err(errno) => Err(errno.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words keepalived 2.2.7's `notify_fifo()` (`keepalived/vrrp/vrrp_notify.c`)
    /// writes for each event.
    #[test]
    fn events_have_keepalived_s_words() {
        let words: Vec<&str> = [
            Event::State(State::Initialize),
            Event::State(State::Backup),
            Event::State(State::Master),
            Event::State(State::Fault),
            Event::Deleted,
            Event::PriorityChanged { master: true },
            Event::PriorityChanged { master: false },
            Event::LowerPriorityHeard,
        ]
        .into_iter()
        .map(Event::word)
        .collect();
        assert_eq!(
            words,
            [
                "STOP",
                "BACKUP",
                "MASTER",
                "FAULT",
                "DELETED",
                "MASTER_PRIORITY",
                "BACKUP_PRIORITY",
                "MASTER_RX_LOWER_PRI"
            ]
        );
    }

    /// keepalived's `clear_diff_vrrp()`: without `notify_deleted` a removed instance says
    /// FAULT, unless in Fault already; with it, DELETED; the native default is STOP.
    #[test]
    fn a_removal_is_reported_as_configured() {
        use RemovalReport::{Deleted, Fault, Stop};
        let cases = [
            (Stop, State::Master, Some(Event::State(State::Initialize))),
            (Fault, State::Master, Some(Event::State(State::Fault))),
            (Fault, State::Backup, Some(Event::State(State::Fault))),
            (Fault, State::Fault, None),
            (Deleted, State::Fault, Some(Event::Deleted)),
            (Deleted, State::Master, Some(Event::Deleted)),
        ];
        for (report, state, event) in cases {
            assert_eq!(
                removal_event(report, state),
                event,
                "{report:?} from {state:?}"
            );
        }
    }

    /// The FIFO the daemon makes is a FIFO, one already there is left as it is, and the
    /// daemon removes only the one it made.
    #[tokio::test]
    async fn fifos_are_made_where_missing_and_removed_only_if_made() {
        use std::os::unix::fs::FileTypeExt;
        let directory = std::env::temp_dir().join(format!("notify-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&directory).expect("the temporary directory is made");
        let missing = directory.join("made.fifo");
        let existing = directory.join("existing.fifo");
        assert!(make_fifo(&existing).expect("a FIFO is made"));
        assert!(!make_fifo(&existing).expect("an existing FIFO is fine"));
        let mut config = crate::config::Config::from_str(
            &format!(
                "[instances.a]\ninterface = \"eth0\"\nvrid = 1\n\
                 virtual_addresses = [\"192.0.2.1/24\"]\nnotify = {{ fifo = \"{}\" }}\n\
                 [instances.b]\ninterface = \"eth0\"\nvrid = 2\n\
                 virtual_addresses = [\"192.0.2.2/24\"]\nnotify = {{ fifo = \"{}\" }}\n",
                missing.display(),
                existing.display()
            ),
            crate::config::Format::Toml,
            "test.toml",
        )
        .expect("the configuration is valid");
        let readers = FifoReaders::start(&config);
        let file_type = std::fs::metadata(&missing)
            .expect("the FIFO is made")
            .file_type();
        assert!(file_type.is_fifo());
        // A reload without the first FIFO gives it up.
        config.instances.remove(0);
        readers.reconcile(&config);
        assert!(
            missing.exists(),
            "kept until the removed instances' last lines"
        );
        readers.release_unused();
        for _ in 0..200 {
            if !missing.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!missing.exists(), "the FIFO no longer written is removed");
        readers.stop().await;
        assert!(existing.exists(), "a FIFO the daemon did not make stays");
        std::fs::remove_dir_all(&directory).expect("the temporary directory is removed");
    }
}
