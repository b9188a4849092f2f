//! The command line of the real binary: `check`, `--version`, `--help` and refusing to run
//! a broken configuration. No network, no root.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const BINARY: &str = env!("CARGO_BIN_EXE_vrrp-sidecar");

/// sysexits.h's "configuration error", which a bad configuration exits with.
const EX_CONFIG: i32 = 78;

static NEXT_FILE: AtomicUsize = AtomicUsize::new(0);

/// A config file in the temporary directory, deleted on drop.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn new(text: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "vst-cli-{}-{}.toml",
            std::process::id(),
            NEXT_FILE.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        ConfigFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("temporary paths are UTF-8 here")
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {BINARY}: {error}"))
}

const VALID: &str = "[instances.vi]\ninterface = \"eth0\"\nvrid = 51\npriority = 150\n\
                     advert_interval = \"100ms\"\nvirtual_addresses = [\"192.0.2.100/24\"]\n";

#[test]
fn check_accepts_a_valid_configuration() {
    let file = ConfigFile::new(VALID);
    let output = run(&["check", "--config", file.path()]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("valid, 1 instance(s)"), "{stdout}");
}

#[test]
fn check_lists_every_problem_with_file_line_and_field() {
    let file = ConfigFile::new(
        "[instances.vi]\ninterface = \"eth0\"\nvrid = 0\npriority = 300\n\
         virtual_addresses = [\"192.0.2.100/24\"]\n",
    );
    let output = run(&["check", "--config", file.path()]);
    assert_eq!(output.status.code(), Some(EX_CONFIG), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with(&format!("{}:3: instances.vi.vrid: ", file.path())),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with(&format!("{}:4: instances.vi.priority: ", file.path())),
        "{stderr}"
    );
}

#[test]
fn running_a_broken_configuration_fails_before_touching_anything() {
    let file = ConfigFile::new("[instances.vi]\nvrid = 51\n");
    let output = run(&["--config", file.path()]);
    assert_eq!(output.status.code(), Some(EX_CONFIG), "{output:?}");
    assert!(!output.stderr.is_empty());
}

#[test]
fn version_help_and_a_missing_config() {
    let version = run(&["--version"]);
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("vrrp-sidecar {}", env!("CARGO_PKG_VERSION"))
    );
    let help = run(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for expected in [
        "check",
        "--config",
        "--log-format",
        "SIGTERM",
        "Type=notify",
    ] {
        assert!(text.contains(expected), "--help lacks {expected}:\n{text}");
    }
    let missing = run(&[]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--config"));
}
