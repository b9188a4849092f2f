//! Priorities set with `SetPriority`, kept in a file so that they survive a restart when the
//! configuration names one (`[api] priorities_file`).
//!
//! The file is text, one `INSTANCE PRIORITY` line per instance whose priority differs from
//! the configured one, so an operator can read (and delete) it. The router only publishes the
//! current set; a writer task rewrites the file ([`crate::store::write_atomically`], so a crash
//! leaves the old or the new set, never half of one), off the router's path.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info};

use crate::vrrp::Priority;

/// Priorities set over the API, by instance name.
pub type PriorityOverrides = BTreeMap<String, Priority>;

/// The first line of the file, for whoever opens it.
const HEADER: &str = "# vrrp-sidecar: priorities set with SetPriority, kept across restarts \
                      (delete a line to go back to the configured priority)";

/// Why the file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PriorityStoreError {
    /// Reading failed.
    #[error("reading the stored priorities in {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A line is not `INSTANCE PRIORITY` with a priority of 1..254.
    #[error("{}:{line}: `{text}` is not `INSTANCE PRIORITY` with a priority of 1..254; fix or \
             delete the line", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// The line.
        text: String,
    },
}

/// The priorities in `path`; none when the file does not exist yet.
pub fn load(path: &Path) -> Result<PriorityOverrides, PriorityStoreError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => {
            return Err(PriorityStoreError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    parse(&text).map_err(|(line, text)| PriorityStoreError::Malformed {
        path: path.to_owned(),
        line,
        text,
    })
}

/// The overrides `text` lists; the first bad line (number, text) otherwise.
fn parse(text: &str) -> Result<PriorityOverrides, (usize, String)> {
    let mut overrides = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let parsed = match trimmed.split_whitespace().collect::<Vec<_>>().as_slice() {
            [name, value] => value
                .parse::<u8>()
                .ok()
                .and_then(Priority::new)
                .filter(|priority| !priority.is_owner())
                .map(|priority| ((*name).to_owned(), priority)),
            _ => None,
        };
        let (name, priority) = parsed.ok_or_else(|| (index + 1, line.to_owned()))?;
        overrides.insert(name, priority);
    }
    Ok(overrides)
}

fn render(overrides: &PriorityOverrides) -> String {
    let mut text = format!("{HEADER}\n");
    for (name, priority) in overrides {
        text.push_str(&format!("{name} {priority}\n"));
    }
    text
}

/// Starts the task that writes `overrides` to `path` each time they change. It ends once the
/// sender is gone, after writing the last set.
pub fn spawn_writer(
    path: PathBuf,
    mut overrides: watch::Receiver<PriorityOverrides>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut written = overrides.borrow_and_update().clone();
        loop {
            let open = overrides.changed().await.is_ok();
            let current = overrides.borrow_and_update().clone();
            if current != written {
                match write(&path, &current).await {
                    Ok(()) => {
                        info!(file = %path.display(), instances = current.len(), "stored priorities written")
                    }
                    Err(error) => {
                        error!(%error, file = %path.display(), "stored priorities not written; a restart would use the previous ones")
                    }
                }
                written = current;
            }
            if !open {
                break;
            }
        }
    })
}

async fn write(path: &Path, overrides: &PriorityOverrides) -> io::Result<()> {
    crate::store::write_atomically(path, render(overrides).as_bytes()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_reads_back_what_was_written() {
        let mut overrides = PriorityOverrides::new();
        overrides.insert("vi_1".into(), Priority::new(120).expect("not 0"));
        overrides.insert("db".into(), Priority::new(1).expect("not 0"));
        assert_eq!(parse(&render(&overrides)), Ok(overrides));
    }

    #[test]
    fn a_bad_line_is_named_by_its_number() {
        for bad in ["vi_1", "vi_1 0", "vi_1 255", "vi_1 abc", "vi_1 100 extra"] {
            let text = format!("{HEADER}\n\nweb 100\n{bad}\n");
            assert_eq!(parse(&text), Err((4, bad.to_owned())), "{bad}");
        }
    }
}
