//! Files the daemon keeps across restarts (priorities set over the API, registered checks),
//! and the one way they are written.

pub mod priorities;

use std::io;
use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

/// Replaces `path` with `bytes` so that a crash or a power loss at any moment leaves either the
/// old content or the new, never a mix or an empty file: the bytes go to `PATH.new`, which is
/// flushed to disk before it is renamed over `path` (rename(2) is atomic within a file
/// system), and the directory is flushed after, so the rename itself is durable.
pub async fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    let mut file = tokio::fs::File::create(&temporary).await?;
    file.write_all(bytes).await?;
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(&temporary, path).await?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    tokio::fs::File::open(directory).await?.sync_all().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_file_holds_the_last_bytes_written_and_no_temporary_is_left() {
        let directory = std::env::temp_dir().join(format!("vrrp-store-{}", std::process::id()));
        std::fs::create_dir_all(&directory).expect("the temporary directory is writable");
        let path = directory.join("priorities");
        write_atomically(&path, b"vi_1 200\n")
            .await
            .expect("first write");
        write_atomically(&path, b"vi_1 150\n")
            .await
            .expect("second write");
        assert_eq!(std::fs::read(&path).expect("written"), b"vi_1 150\n");
        let names: Vec<_> = std::fs::read_dir(&directory)
            .expect("listable")
            .map(|entry| entry.expect("an entry").file_name())
            .collect();
        assert_eq!(names, ["priorities"]);
        std::fs::remove_dir_all(&directory).expect("removable");
    }
}
