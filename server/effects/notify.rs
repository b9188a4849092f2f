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
//! The router only queues the change: one task per instance writes and runs everything, each
//! program waited for (up to [`PROGRAM_TIMEOUT`]) before the next starts, so a program sees
//! the changes in the order they happened, which keepalived's forked scripts do not promise,
//! and a slow program never holds up a VRRP timer.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::process::Command;
use tokio::sync::mpsc;
use tracing::{error, warn};

use crate::config::NotifySettings;
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

/// One state change to notify.
#[derive(Debug)]
struct Change {
    subject: Subject,
    /// The instance's or group's own name (the settings may give another for scripts).
    name: String,
    state: State,
    priority: u8,
    settings: NotifySettings,
}

/// The notifications of one instance or sync group. The task behind it starts with the first
/// change that has something to notify, so one without notify settings costs nothing.
#[derive(Debug, Default)]
pub struct Notifier {
    changes: Option<mpsc::UnboundedSender<Change>>,
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
        self.queue(Subject::Instance, instance, state, priority, settings);
    }

    /// Queues the notifications of sync group `group` entering `state` as a whole, as
    /// `settings` (the group's) ask; returns at once. Must run inside a tokio runtime.
    pub fn group_state_changed(&mut self, group: &str, state: State, settings: &NotifySettings) {
        self.queue(Subject::Group, group, state, 0, settings);
    }

    fn queue(
        &mut self,
        subject: Subject,
        name: &str,
        state: State,
        priority: u8,
        settings: &NotifySettings,
    ) {
        if *settings == NotifySettings::default() {
            return;
        }
        let change = Change {
            subject,
            name: name.to_owned(),
            state,
            priority,
            settings: settings.clone(),
        };
        let changes = self.changes.get_or_insert_with(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(notify_in_order(receiver));
            sender
        });
        PENDING_CHANGES.fetch_add(1, Ordering::AcqRel);
        if changes.send(change).is_err() {
            PENDING_CHANGES.fetch_sub(1, Ordering::AcqRel);
            error!(name, "the notification task is gone; change not notified");
        }
    }
}

/// keepalived's word for a state; leaving the protocol (Initialize) is its `STOP`.
fn keepalived_state(state: State) -> &'static str {
    match state {
        State::Initialize => "STOP",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
    }
}

/// Handles the changes one after the other until the instance's driver is dropped.
async fn notify_in_order(mut changes: mpsc::UnboundedReceiver<Change>) {
    let mut open_fifo = None;
    while let Some(change) = changes.recv().await {
        notify(&change, &mut open_fifo).await;
        PENDING_CHANGES.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Writes the FIFO line and runs the programs of one change. `open_fifo` keeps the FIFO
/// open between changes: a FIFO drops what it holds once nobody has it open, so closing it
/// after each line would lose the lines a reader has not read yet.
async fn notify(change: &Change, open_fifo: &mut Option<(PathBuf, File)>) {
    let settings = &change.settings;
    let state = keepalived_state(change.state);
    let name = settings.name.as_deref().unwrap_or(&change.name);
    let subject = match change.subject {
        Subject::Instance => "INSTANCE",
        Subject::Group => "GROUP",
    };
    if let Some(fifo) = &settings.fifo {
        let line = format!("{subject} \"{name}\" {state} {}\n", change.priority);
        if let Err(error) = write_fifo(open_fifo, fifo, &line) {
            *open_fifo = None;
            warn!(name = %change.name, fifo = %fifo.display(), %error, "notify FIFO not written");
        }
    }
    let configured = &settings.arguments;
    let (for_state, its_arguments) = match change.state {
        State::Master => (&settings.on_master, &configured.on_master),
        State::Backup => (&settings.on_backup, &configured.on_backup),
        State::Fault => (&settings.on_fault, &configured.on_fault),
        State::Initialize => (&settings.on_stop, &configured.on_stop),
    };
    if let Some(program) = for_state {
        let arguments: Vec<&str> = its_arguments.iter().map(String::as_str).collect();
        run(program, &arguments, &change.name).await;
    }
    if let Some(program) = &settings.on_change {
        let priority = change.priority.to_string();
        let arguments: Vec<&str> = configured
            .on_change
            .iter()
            .map(String::as_str)
            .chain([subject, name, state, priority.as_str()])
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
            if !std::fs::metadata(fifo)?.file_type().is_fifo() {
                return Err(std::io::Error::other("not a FIFO"));
            }
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(fifo)?;
            &mut open_fifo.insert((fifo.to_path_buf(), file)).1
        }
    };
    file.write_all(line.as_bytes())
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
