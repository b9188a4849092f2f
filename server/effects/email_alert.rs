//! E-mail alerts of state changes, keepalived's `smtp_alert`: one message per change of an
//! instance that asks for alerts, to every recipient of `[email_alerts]`, saying the host,
//! the instance, the new state, its priority and when.
//!
//! The router only queues the change ([`AlertMailer::state_changed`] never waits): one task
//! sends the messages in order through [`super::smtp`]. The queue is bounded
//! ([`ALERT_QUEUE`]): a mail server that is down for long makes the newest alerts be dropped
//! and logged, never the router wait or the memory grow. A message that fails is retried
//! after each of [`RETRY_AFTER`], then given up with an error in the log.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::config::{EmailAlertSettings, host_name};
use crate::vrrp::State;

use super::smtp::{self, Message, Relay};

/// Alerts waiting to be sent at most.
pub const ALERT_QUEUE: usize = 64;

/// The waits before the second and third attempt at one message.
pub const RETRY_AFTER: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(5)];

/// How often [`AlertMailer::drain`] looks whether the queue is empty.
const DRAIN_POLL: Duration = Duration::from_millis(10);

/// One change to mail.
#[derive(Debug)]
struct Alert {
    settings: Arc<EmailAlertSettings>,
    host: String,
    instance: String,
    state: State,
    priority: u8,
    at: SystemTime,
}

/// The router's handle on the alert task.
#[derive(Clone, Debug)]
pub struct AlertMailer {
    queue: mpsc::Sender<Alert>,
    settings: Option<Arc<EmailAlertSettings>>,
    /// How this host is named in alerts: the router id, or the host name.
    host: String,
    /// Alerts queued and not yet sent or given up.
    pending: Arc<AtomicUsize>,
}

impl AlertMailer {
    /// Starts the alert task; must run inside a tokio runtime. `host` names this host in
    /// the alerts.
    pub fn spawn(settings: Option<EmailAlertSettings>, host: String) -> Self {
        let (queue, alerts) = mpsc::channel(ALERT_QUEUE);
        let pending = Arc::new(AtomicUsize::new(0));
        tokio::spawn(send_in_order(alerts, Arc::clone(&pending)));
        AlertMailer {
            queue,
            settings: settings.map(Arc::new),
            host,
            pending,
        }
    }

    /// Uses `settings` for the alerts queued from now on (after a reload).
    pub fn reconfigure(&mut self, settings: Option<EmailAlertSettings>) {
        if self.settings.as_deref() != settings.as_ref() {
            self.settings = settings.map(Arc::new);
        }
    }

    /// Queues the alert of `instance` entering `state` at `priority`; returns at once.
    /// Leaving the protocol (Initialize) is not mailed, as keepalived mails only MASTER,
    /// BACKUP and FAULT.
    pub fn state_changed(&self, instance: &str, state: State, priority: u8) {
        let Some(settings) = &self.settings else {
            return;
        };
        if state == State::Initialize {
            return;
        }
        let alert = Alert {
            settings: Arc::clone(settings),
            host: self.host.clone(),
            instance: instance.to_owned(),
            state,
            priority,
            at: SystemTime::now(),
        };
        self.pending.fetch_add(1, Ordering::AcqRel);
        match self.queue.try_send(alert) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(alert)) => {
                self.pending.fetch_sub(1, Ordering::AcqRel);
                warn!(
                    instance = %alert.instance,
                    state = %alert.state,
                    queued = ALERT_QUEUE,
                    "e-mail alert dropped: the alerts before it are still waiting for the mail server"
                );
            }
            Err(mpsc::error::TrySendError::Closed(alert)) => {
                self.pending.fetch_sub(1, Ordering::AcqRel);
                error!(instance = %alert.instance, "the e-mail alert task is gone; alert not sent");
            }
        }
    }

    /// Waits until every queued alert was sent or given up, or `timeout` has passed;
    /// returns whether all were.
    pub async fn drain(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let max_polls = timeout.as_millis() / DRAIN_POLL.as_millis() + 1;
        for _ in 0..max_polls {
            if self.pending.load(Ordering::Acquire) == 0 {
                return true;
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(DRAIN_POLL).await;
        }
        self.pending.load(Ordering::Acquire) == 0
    }
}

/// Sends the alerts one after the other until every handle is dropped.
async fn send_in_order(mut alerts: mpsc::Receiver<Alert>, pending: Arc<AtomicUsize>) {
    while let Some(alert) = alerts.recv().await {
        deliver(&alert).await;
        pending.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Sends one alert, retrying after each of [`RETRY_AFTER`].
async fn deliver(alert: &Alert) {
    let settings = &alert.settings;
    let text = compose(alert);
    // keepalived's default: the host name (a router id may hold spaces, which HELO cannot).
    let helo_name = settings.helo_name.clone().unwrap_or_else(host_name);
    let relay = Relay {
        host: &settings.smtp_host,
        port: settings.smtp_port,
        helo_name: &helo_name,
        timeout: settings.connect_timeout,
    };
    let message = Message {
        from: &settings.from,
        to: &settings.to,
        text: &text,
    };
    let attempts = RETRY_AFTER.len() + 1;
    for attempt in 1..=attempts {
        match smtp::send(&relay, &message).await {
            Ok(()) => {
                info!(instance = %alert.instance, state = %alert.state, recipients = settings.to.len(), "e-mail alert sent");
                return;
            }
            Err(error) if attempt < attempts => {
                let wait = RETRY_AFTER[attempt - 1];
                warn!(instance = %alert.instance, state = %alert.state, %error, attempt, retry_in_ms = wait.as_millis() as u64, "e-mail alert not sent; retrying");
                tokio::time::sleep(wait).await;
            }
            Err(error) => {
                error!(instance = %alert.instance, state = %alert.state, %error, attempts, "e-mail alert not sent; giving up");
            }
        }
    }
}

/// keepalived's word for a state.
fn state_word(state: State) -> &'static str {
    match state {
        State::Initialize => "STOP",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
    }
}

/// Text that goes into a header: no line breaks or other control characters, which would
/// start a header of their own.
fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The message: headers (RFC 5322) and a body that says the same line by line.
fn compose(alert: &Alert) -> String {
    let host = header_safe(&alert.host);
    let state = state_word(alert.state);
    let date = httpdate::fmt_http_date(alert.at);
    format!(
        "From: {from}\nTo: {to}\nSubject: [{host}] VRRP instance {instance} is now {state}\n\
         Date: {date}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\
         Auto-Submitted: auto-generated\n\n\
         Host: {host}\nInstance: {instance}\nState: {state}\nPriority: {priority}\n\
         Time: {date}\n",
        from = alert.settings.from,
        to = alert.settings.to.join(", "),
        instance = alert.instance,
        priority = alert.priority,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(host: &str) -> Alert {
        Alert {
            settings: Arc::new(EmailAlertSettings {
                smtp_host: "192.0.2.25".into(),
                smtp_port: 25,
                connect_timeout: Duration::from_secs(30),
                helo_name: None,
                from: "vrrp@example.com".into(),
                to: vec!["ops@example.com".into(), "oncall@example.com".into()],
            }),
            host: host.into(),
            instance: "vi_1".into(),
            state: State::Master,
            priority: 150,
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        }
    }

    #[test]
    fn an_alert_says_host_instance_state_priority_and_time() {
        assert_eq!(
            compose(&alert("lb1")),
            "From: vrrp@example.com\nTo: ops@example.com, oncall@example.com\n\
             Subject: [lb1] VRRP instance vi_1 is now MASTER\n\
             Date: Fri, 15 Jan 2027 08:00:00 GMT\nMIME-Version: 1.0\n\
             Content-Type: text/plain; charset=utf-8\nAuto-Submitted: auto-generated\n\n\
             Host: lb1\nInstance: vi_1\nState: MASTER\nPriority: 150\n\
             Time: Fri, 15 Jan 2027 08:00:00 GMT\n"
        );
    }

    #[test]
    fn a_host_name_cannot_add_a_header() {
        let text = compose(&alert("lb1\nBcc: someone@example.com"));
        assert!(!text.contains("\nBcc:"), "{text}");
    }
}
