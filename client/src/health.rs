//! [`HealthReporter`]: an application's own health check, pushed to the daemon under a lease.
//!
//! The reporter registers a pushed check (`RegisterHealthCheck`), then runs a background task
//! that keeps one `ReportHealth` stream open and sends a report every `report_every`, with the
//! latest health the application gave (from a closure it polls, or through a channel). If the
//! application dies, the stream closes and the daemon counts the check as failing at once; if
//! it hangs, the reports stop and the lease runs out. A broken connection is retried with the
//! SDK's [`Backoff`](crate::Backoff); the check stays registered in the daemon meanwhile (a
//! reload keeps it), and a daemon that no longer knows it (restarted without keeping
//! registered checks) gets it registered again.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;

use crate::backoff::Backoff;
use crate::client::Client;
use crate::error::Error;
use crate::proto;

/// What a pushed check says about the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// Whether the application is healthy.
    pub passing: bool,
    /// A short text the daemon shows as the check's last output.
    pub message: String,
}

impl Health {
    /// Healthy, with `message`.
    ///
    /// ```
    /// let ready = vrrp_sidecar_client::Health::passing("serving");
    /// assert!(ready.passing);
    /// ```
    pub fn passing(message: impl Into<String>) -> Self {
        Health {
            passing: true,
            message: message.into(),
        }
    }

    /// Unhealthy, with `message`.
    ///
    /// ```
    /// let sick = vrrp_sidecar_client::Health::failing("database unreachable");
    /// assert!(!sick.passing);
    /// ```
    pub fn failing(message: impl Into<String>) -> Self {
        Health {
            passing: false,
            message: message.into(),
        }
    }
}

/// How a [`HealthReporter`] registers its check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthReporterOptions {
    name: String,
    instances: Vec<String>,
    weight: i32,
    lease_ttl: Duration,
    report_every: Duration,
    remove_on_expiry: bool,
    fall: u32,
    rise: u32,
}

impl HealthReporterOptions {
    /// A check named `name` (letters, digits, `-`, `_`, `.`) moving `instance` by `weight`
    /// (-254..254; 0 puts the instance in FAULT while failing). Defaults: a 3 s lease renewed
    /// every second, rise and fall 1, failing (not removed) when the lease runs out.
    ///
    /// ```
    /// use vrrp_sidecar_client::HealthReporterOptions;
    ///
    /// let options = HealthReporterOptions::new("web-ready", "vi_web", -60);
    /// ```
    pub fn new(name: &str, instance: &str, weight: i32) -> Self {
        HealthReporterOptions {
            name: name.to_owned(),
            instances: vec![instance.to_owned()],
            weight,
            lease_ttl: Duration::from_secs(3),
            report_every: Duration::from_secs(1),
            remove_on_expiry: false,
            fall: 1,
            rise: 1,
        }
    }

    /// Also moves `instance`.
    ///
    /// ```
    /// # use vrrp_sidecar_client::HealthReporterOptions;
    /// let options = HealthReporterOptions::new("web-ready", "vi_web", -60).instance("vi_web6");
    /// ```
    pub fn instance(mut self, instance: &str) -> Self {
        self.instances.push(instance.to_owned());
        self
    }

    /// How long the daemon waits for a report, and how often one is sent. Keep `report_every`
    /// well below `lease_ttl` (a third is a good ratio) so one late report costs nothing.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use vrrp_sidecar_client::HealthReporterOptions;
    /// let options = HealthReporterOptions::new("web-ready", "vi_web", -60)
    ///     .lease(Duration::from_millis(900), Duration::from_millis(300));
    /// ```
    pub fn lease(mut self, lease_ttl: Duration, report_every: Duration) -> Self {
        self.lease_ttl = lease_ttl;
        self.report_every = report_every;
        self
    }

    /// Unregister the check when the lease runs out, instead of counting it as failing.
    ///
    /// ```
    /// # use vrrp_sidecar_client::HealthReporterOptions;
    /// let options = HealthReporterOptions::new("batch-worker", "vi_web", 10).remove_on_expiry();
    /// ```
    pub fn remove_on_expiry(mut self) -> Self {
        self.remove_on_expiry = true;
        self
    }

    /// Reports in a row that make a failing check pass (`rise`) or a passing one fail (`fall`).
    ///
    /// ```
    /// # use vrrp_sidecar_client::HealthReporterOptions;
    /// let options = HealthReporterOptions::new("web-ready", "vi_web", -60).rise_fall(3, 2);
    /// ```
    pub fn rise_fall(mut self, rise: u32, fall: u32) -> Self {
        self.rise = rise;
        self.fall = fall;
        self
    }

    fn spec(&self) -> proto::HealthCheckSpec {
        let expiry = if self.remove_on_expiry {
            proto::pushed_check::OnLeaseExpiry::Remove
        } else {
            proto::pushed_check::OnLeaseExpiry::Fail
        };
        proto::HealthCheckSpec {
            name: self.name.clone(),
            instance_names: self.instances.clone(),
            weight: self.weight,
            rise: self.rise,
            fall: self.fall,
            kind: Some(proto::health_check_spec::Kind::Pushed(proto::PushedCheck {
                lease_ttl: prost_types::Duration::try_from(self.lease_ttl).ok(),
                on_lease_expiry: expiry as i32,
            })),
            ..proto::HealthCheckSpec::default()
        }
    }
}

/// An application's pushed health check, kept alive by a background task; see the module
/// documentation. Dropping it stops the reports (the daemon then fails or removes the check
/// when the stream closes); [`HealthReporter::unregister`] removes the check for good.
///
/// From a channel: the application says when its health changes.
///
/// ```no_run
/// # async fn run() -> Result<(), vrrp_sidecar_client::Error> {
/// use vrrp_sidecar_client::{Client, Health, HealthReporter, HealthReporterOptions, Target};
///
/// let client = Client::connect(Target::default()).await?;
/// let options = HealthReporterOptions::new("web-ready", "vi_web", -60);
/// let reporter = HealthReporter::register(&client, options, Health::failing("starting")).await?;
/// // ... once the application can serve:
/// reporter.set(Health::passing("serving"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct HealthReporter {
    client: Client,
    name: String,
    health: watch::Sender<Health>,
    task: JoinHandle<()>,
}

impl HealthReporter {
    /// Registers the check and starts reporting `initial`; change it with
    /// [`HealthReporter::set`]. Fails when the daemon refuses the check (a taken name:
    /// `Code::AlreadyExists`; a bad option: `Code::InvalidArgument`).
    pub async fn register(
        client: &Client,
        options: HealthReporterOptions,
        initial: Health,
    ) -> Result<HealthReporter, Error> {
        let spec = options.spec();
        client
            .grpc()
            .register_health_check(proto::RegisterHealthCheckRequest {
                spec: Some(spec.clone()),
            })
            .await?;
        let (health, receiver) = watch::channel(initial);
        let task = tokio::spawn(keep_reporting(
            client.clone(),
            spec,
            options.report_every,
            receiver,
        ));
        Ok(HealthReporter {
            client: client.clone(),
            name: options.name,
            health,
            task,
        })
    }

    /// Registers the check and reports what `probe` returns, calling it before each report.
    /// The closure must be quick: a report waits for it.
    ///
    /// ```no_run
    /// # async fn run(client: vrrp_sidecar_client::Client) -> Result<(), vrrp_sidecar_client::Error> {
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use vrrp_sidecar_client::{Health, HealthReporter, HealthReporterOptions};
    ///
    /// let ready = Arc::new(AtomicBool::new(false));
    /// let flag = ready.clone();
    /// let options = HealthReporterOptions::new("web-ready", "vi_web", -60);
    /// let reporter = HealthReporter::from_fn(&client, options, move || {
    ///     if flag.load(Ordering::Relaxed) {
    ///         Health::passing("serving")
    ///     } else {
    ///         Health::failing("warming up")
    ///     }
    /// })
    /// .await?;
    /// ready.store(true, Ordering::Relaxed);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn from_fn(
        client: &Client,
        options: HealthReporterOptions,
        mut probe: impl FnMut() -> Health + Send + 'static,
    ) -> Result<HealthReporter, Error> {
        let every = options.report_every;
        let reporter = HealthReporter::register(client, options, probe()).await?;
        let health = reporter.health.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Ends when the reporter is dropped: no one reads the health any more.
            while !health.is_closed() {
                ticks.tick().await;
                health.send_replace(probe());
            }
        });
        Ok(reporter)
    }

    /// Reports `health` from now on (sent at once, and with every report after).
    ///
    /// ```no_run
    /// # fn run(reporter: vrrp_sidecar_client::HealthReporter) {
    /// use vrrp_sidecar_client::Health;
    /// reporter.set(Health::failing("draining"));
    /// # }
    /// ```
    pub fn set(&self, health: Health) {
        self.health.send_replace(health);
    }

    /// A sender for `health` that other tasks can hold: the channel form of
    /// [`HealthReporter::set`].
    ///
    /// ```no_run
    /// # fn run(reporter: &vrrp_sidecar_client::HealthReporter) {
    /// use vrrp_sidecar_client::Health;
    /// let health = reporter.sender();
    /// std::thread::spawn(move || { health.send_replace(Health::passing("ok")); });
    /// # }
    /// ```
    pub fn sender(&self) -> watch::Sender<Health> {
        self.health.clone()
    }

    /// Stops reporting and removes the check from the daemon.
    ///
    /// ```no_run
    /// # async fn run(reporter: vrrp_sidecar_client::HealthReporter) -> Result<(), vrrp_sidecar_client::Error> {
    /// reporter.unregister().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn unregister(self) -> Result<(), Error> {
        self.task.abort();
        self.client
            .grpc()
            .unregister_health_check(proto::UnregisterHealthCheckRequest {
                name: self.name.clone(),
            })
            .await?;
        Ok(())
    }
}

impl Drop for HealthReporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Keeps a report stream open, sending the current health every `every` and at once when it
/// changes; reconnects with backoff when the stream breaks, and registers `spec` again when
/// the daemon no longer knows it.
async fn keep_reporting(
    client: Client,
    spec: proto::HealthCheckSpec,
    every: Duration,
    mut health: watch::Receiver<Health>,
) {
    let backoff = Backoff::default();
    let mut attempt = 0_u32;
    let name = spec.name.clone();
    loop {
        let (reports, outgoing) = tokio::sync::mpsc::channel(4);
        let stream = tokio_stream::wrappers::ReceiverStream::new(outgoing);
        let mut grpc = client.grpc();
        let name = name.clone();
        let sending = async {
            let mut ticks = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    changed = health.changed() => if changed.is_err() { return },
                }
                let current = health.borrow_and_update().clone();
                let report = proto::HealthReport {
                    check_name: name.clone(),
                    passing: current.passing,
                    message: current.message,
                };
                if reports.send(report).await.is_err() {
                    return;
                }
            }
        };
        let receiving = async {
            let mut acks = grpc.report_health(stream).await?.into_inner();
            while let Some(ack) = acks.next().await {
                ack?;
                attempt = 0;
            }
            Ok::<(), tonic::Status>(())
        };
        let ended = tokio::select! {
            () = sending => return,
            ended = receiving => ended,
        };
        if ended.is_err_and(|status| status.code() == tonic::Code::NotFound) {
            // Refused again if it is back meanwhile (ALREADY_EXISTS): either way it exists.
            let _ = client
                .grpc()
                .register_health_check(proto::RegisterHealthCheckRequest {
                    spec: Some(spec.clone()),
                })
                .await;
        }
        tokio::time::sleep(backoff.delay(attempt)).await;
        attempt = attempt.saturating_add(1);
    }
}
