//! E-mail alerts through a real SMTP server: Python's aiosmtpd, in the namespace of a second
//! host, stores every message it receives in a maildir. The daemon starts before the server,
//! so its first alert (BACKUP at start-up) fails and is retried; the alert of becoming master
//! follows, in order, with the host, instance, state, priority and time.

mod daemon_lab;
mod netns;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use daemon_lab::{DaemonLab, InstanceSpec, POLL, config_text};
use netns::{Lab, require_root, wait_until};

/// Where `.ci/run` installs aiosmtpd.
const CI_PYTHON: &str = "/opt/grpcurl/bin/python3";

/// The SMTP server's port (unprivileged, like a test relay).
const SMTP_PORT: u16 = 2525;

/// The retries wait 1 s and then 5 s; the alert of the start-up is in by then, with margin.
const DELIVERED: Duration = Duration::from_secs(15);

/// The Python that has aiosmtpd; the test fails without one.
fn python_with_aiosmtpd(test: &str) -> PathBuf {
    let importable = |python: &Path| {
        Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|output| output.status.success())
    };
    for python in [Path::new(CI_PYTHON), Path::new("python3")] {
        if importable(python) {
            return python.to_owned();
        }
    }
    panic!("{test} needs Python's aiosmtpd: scripts/install-test-deps.sh installs it");
}

/// Every message in the maildir, oldest first (the file names start with the time).
fn messages(maildir: &Path) -> Vec<String> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(maildir.join("new"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|(_, path)| std::fs::read_to_string(path).ok())
        .collect()
}

#[test]
#[ignore = "lab: needs root, aiosmtpd; scripts/test runs it"]
fn a_transition_is_mailed_through_a_real_smtp_server_and_a_failed_attempt_retried() {
    let test = "a_transition_is_mailed_through_a_real_smtp_server_and_a_failed_attempt_retried";
    require_root(test);
    let python = python_with_aiosmtpd(test);
    let lab = DaemonLab::new(Lab::builder().host("h1").host("mail").build());
    let server_address = lab.lab.host("mail").ipv4;
    let text = format!(
        "{}\n[email_alerts]\nsmtp_server = \"{server_address}:{SMTP_PORT}\"\n\
         connect_timeout = \"2s\"\nfrom = \"vrrp@example.com\"\n\
         to = [\"ops@example.com\", \"oncall@example.com\"]\n",
        config_text(&[InstanceSpec::v3(150).with("email_alerts = true")]).replacen(
            "[global]\n",
            "[global]\nrouter_id = \"lab-h1\"\n",
            1
        )
    );
    let daemon = lab.start_with_config("h1", &text, &lab.api_socket("h1"));
    assert!(
        wait_until(Duration::from_secs(5), POLL, || !daemon
            .logged("e-mail alert not sent; retrying")
            .is_empty()),
        "the first alert did not fail while no server listened\n{}",
        daemon.log_text()
    );

    let maildir = lab.scratch("maildir");
    let maildir_text = maildir.display().to_string();
    let listen = format!("{server_address}:{SMTP_PORT}");
    let python_text = python.display().to_string();
    lab.lab.spawn_logged(
        lab.ns("mail"),
        &[
            &python_text,
            "-m",
            "aiosmtpd",
            "--nosetuid",
            "--listen",
            &listen,
            "--class",
            "aiosmtpd.handlers.Mailbox",
            &maildir_text,
        ],
        &[],
        &lab.scratch("aiosmtpd.log"),
    );

    assert!(
        wait_until(DELIVERED, POLL, || messages(&maildir).len() >= 2),
        "the alerts did not arrive: {:?}\n{}\n{}",
        messages(&maildir),
        daemon.log_text(),
        std::fs::read_to_string(lab.scratch("aiosmtpd.log")).unwrap_or_default()
    );
    let received = messages(&maildir);
    for (message, state) in received.iter().zip(["BACKUP", "MASTER"]) {
        for expected in [
            "From: vrrp@example.com",
            "To: ops@example.com, oncall@example.com",
            &format!("Subject: [lab-h1] VRRP instance vi is now {state}"),
            "Host: lab-h1",
            "Instance: vi",
            &format!("State: {state}"),
            "Priority: 150",
            "Time: ",
            // aiosmtpd records the envelope: both recipients got it.
            "X-RcptTo: ops@example.com, oncall@example.com",
        ] {
            assert!(
                message.contains(expected),
                "{expected:?} missing in\n{message}"
            );
        }
    }
    assert!(
        daemon.logged("e-mail alert not sent; giving up").is_empty(),
        "{}",
        daemon.log_text()
    );
    lab.finish();
}
