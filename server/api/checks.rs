//! The health-check RPCs' own work: reading a `HealthCheckSpec` (every refusal names the
//! field and what to put there), naming the caller as the check's owner, and running a
//! `ReportHealth` stream against the check's lease task.

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::UdsConnectInfo;
use tonic::{Request, Status, Streaming};

use crate::config::{ParamMatch, ProcessMatch, check_rules};
use crate::health::runner::Probe;
use crate::health::{
    CheckSpec, DEFAULT_HTTP_STATUSES, DEFAULT_KILL_GRACE, ExecSpec, HttpSpec, LeaseInput,
    LeaseSpec, OnLeaseExpiry, ProbeSpec,
};
use crate::router::checks::CheckError;
use crate::router::control::RouterHandle;

use super::convert;
use super::service::control_status;
use super::v1;
use super::v1::health_check_spec::Kind;

/// Acknowledgements waiting for a slow `ReportHealth` reader; a reader this far behind makes
/// its own stream wait, never the lease task.
const ACK_QUEUE: usize = 16;

/// The check a `RegisterHealthCheck` asks for, and the instances it moves.
pub fn parse_spec(spec: Option<v1::HealthCheckSpec>) -> Result<(CheckSpec, Vec<String>), Status> {
    let spec = spec.ok_or_else(|| invalid("spec", "is missing: say what to check"))?;
    check_name(&spec.name)?;
    if spec.instance_names.is_empty() {
        return Err(invalid(
            "spec.instance_names",
            "is empty: name the instances whose priority the check moves",
        ));
    }
    let weight = Some(i64::from(spec.weight))
        .filter(|weight| check_rules::WEIGHTS.contains(weight))
        .and_then(|weight| i16::try_from(weight).ok())
        .ok_or_else(|| invalid("spec.weight", "must be within -254..254"))?;
    let rise = count(spec.rise, "spec.rise")?;
    let fall = count(spec.fall, "spec.fall")?;
    let interval = period(spec.interval, "spec.interval")?.unwrap_or(check_rules::DEFAULT_INTERVAL);
    let timeout = period(spec.timeout, "spec.timeout")?.unwrap_or(interval);
    let probe = match spec.kind {
        None => {
            return Err(invalid(
                "spec.kind",
                "is missing: set one of exec, tcp, http, grpc, interface, file, process or \
                 pushed",
            ));
        }
        Some(Kind::Exec(exec)) => {
            if exec.path.is_empty() {
                return Err(invalid(
                    "spec.exec.path",
                    "is empty: name the program to run",
                ));
            }
            if exec.user.is_empty() && nix::unistd::geteuid().is_root() {
                return Err(invalid(
                    "spec.exec.user",
                    "is empty and the daemon runs as root: name an unprivileged user to run \
                     the program as",
                ));
            }
            ProbeSpec::Exec(ExecSpec {
                program: exec.path,
                args: exec.args,
                user: Some(exec.user).filter(|user| !user.is_empty()),
                kill_grace: DEFAULT_KILL_GRACE,
            })
        }
        Some(Kind::Tcp(tcp)) => ProbeSpec::Tcp {
            address: socket_address(&tcp.address, "spec.tcp.address")?,
        },
        Some(Kind::Http(http)) => {
            check_rules::http_url(&http.url)
                .map_err(|problem| invalid("spec.http.url", &problem))?;
            let mut expected_statuses = Vec::new();
            for status in http.expected_status {
                let status = Some(i64::from(status))
                    .filter(|status| check_rules::HTTP_STATUSES.contains(status))
                    .and_then(|status| u16::try_from(status).ok())
                    .ok_or_else(|| {
                        invalid(
                            "spec.http.expected_status",
                            "holds a status outside 100..599",
                        )
                    })?;
                expected_statuses.push(status..=status);
            }
            if expected_statuses.is_empty() {
                expected_statuses.push(DEFAULT_HTTP_STATUSES);
            }
            ProbeSpec::Http(HttpSpec {
                url: http.url,
                expected_statuses,
                body_contains: Some(http.body_contains).filter(|text| !text.is_empty()),
            })
        }
        Some(Kind::Grpc(grpc)) => ProbeSpec::Grpc {
            address: socket_address(&grpc.address, "spec.grpc.address")?,
            service: Some(grpc.service).filter(|service| !service.is_empty()),
        },
        Some(Kind::Interface(interface)) => {
            check_rules::interface_name(&interface.name)
                .map_err(|problem| invalid("spec.interface.name", &problem))?;
            ProbeSpec::Interface {
                name: interface.name,
            }
        }
        Some(Kind::File(file)) => {
            let path = std::path::PathBuf::from(file.path);
            check_rules::absolute_path(&path)
                .map_err(|problem| invalid("spec.file.path", &problem))?;
            ProbeSpec::File { path }
        }
        Some(Kind::Process(process)) => ProbeSpec::Process(process_match(process)?),
        Some(Kind::Pushed(pushed)) => {
            let ttl = period(pushed.lease_ttl, "spec.pushed.lease_ttl")?.ok_or_else(|| {
                invalid(
                    "spec.pushed.lease_ttl",
                    "is missing: say how long the daemon waits for a report",
                )
            })?;
            let on_expiry = match v1::pushed_check::OnLeaseExpiry::try_from(pushed.on_lease_expiry)
            {
                Ok(v1::pushed_check::OnLeaseExpiry::Remove) => OnLeaseExpiry::Remove,
                Ok(_) => OnLeaseExpiry::Fail,
                Err(_) => {
                    return Err(invalid(
                        "spec.pushed.on_lease_expiry",
                        "is not a known value: use ON_LEASE_EXPIRY_FAIL or ON_LEASE_EXPIRY_REMOVE",
                    ));
                }
            };
            ProbeSpec::Pushed(LeaseSpec { ttl, on_expiry })
        }
    };
    let check = CheckSpec {
        name: spec.name,
        probe,
        interval,
        timeout,
        rise,
        fall,
        weight,
        init_fail: spec.init_fail,
    };
    Ok((check, spec.instance_names))
}

/// Sets up the probe of a check the daemon is to run, here rather than in the router: an exec
/// check's user is looked up in the user database, which may be slow (NSS, LDAP), so that runs
/// on a blocking thread. `None` for a pushed check, which has nothing to probe, and for a
/// process check, which the process monitor follows.
pub async fn prepare_probe(spec: &CheckSpec) -> Result<Option<Box<Probe>>, Status> {
    let refused = |error: crate::health::HealthError| {
        check_status(&CheckError::Setup {
            name: spec.name.clone(),
            reason: error.to_string(),
        })
    };
    match &spec.probe {
        ProbeSpec::Pushed(_) | ProbeSpec::Process(_) => Ok(None),
        ProbeSpec::Exec(_) => {
            let exec = spec.clone();
            tokio::task::spawn_blocking(move || Probe::new(&exec))
                .await
                .map_err(|error| Status::internal(format!("setting up the check: {error}")))?
                .map(|probe| Some(Box::new(probe)))
                .map_err(refused)
        }
        _ => Probe::new(spec)
            .map(|probe| Some(Box::new(probe)))
            .map_err(refused),
    }
}

/// Who calls: the peer's address over TCP, its user and process over the Unix socket.
pub fn owner<T>(request: &Request<T>) -> String {
    if let Some(address) = request.remote_addr() {
        return address.to_string();
    }
    let credentials = request
        .extensions()
        .get::<UdsConnectInfo>()
        .and_then(|info| info.peer_cred);
    match credentials {
        Some(credentials) => match credentials.pid() {
            Some(pid) => format!("uid {} pid {pid}", credentials.uid()),
            None => format!("uid {}", credentials.uid()),
        },
        None => "unknown peer".to_owned(),
    }
}

/// The status of a refused health-check request, with what to do about it.
pub fn check_status(error: &CheckError) -> Status {
    match error {
        CheckError::AlreadyExists(_) => Status::already_exists(format!(
            "{error}; pick another name, or UnregisterHealthCheck it first"
        )),
        CheckError::NameConfigured { .. } => Status::already_exists(format!(
            "{error}; a registered check needs a name no configured check has"
        )),
        CheckError::NotFound(_) => Status::not_found(format!(
            "{error}; GetInstance lists each instance's checks, RegisterHealthCheck adds one"
        )),
        CheckError::NotPushed(_) => Status::failed_precondition(error.to_string()),
        CheckError::TooMany { .. } => Status::resource_exhausted(format!(
            "{error}; unregister checks that are no longer used"
        )),
        CheckError::Setup { .. } => Status::invalid_argument(error.to_string()),
    }
}

/// The acknowledgements of a `ReportHealth` stream.
pub type AckStream = Pin<Box<dyn Stream<Item = Result<v1::HealthReportAck, Status>> + Send>>;

/// Feeds the reports of `reports` to their check's lease task and answers each with an
/// acknowledgement. The first report names the check; the stream ending, failing or naming
/// another check tells the lease task the stream closed (a failure, or removal). Refusals
/// end the returned stream with their status.
pub fn report_stream(router: RouterHandle, reports: Streaming<v1::HealthReport>) -> AckStream {
    let (acks, ack_stream) = mpsc::channel(ACK_QUEUE);
    tokio::spawn(async move {
        if let Err(status) = feed_lease(router, reports, &acks).await {
            let _ = acks.send(Err(status)).await;
        }
    });
    Box::pin(ReceiverStream::new(ack_stream))
}

async fn feed_lease(
    router: RouterHandle,
    mut reports: Streaming<v1::HealthReport>,
    acks: &mpsc::Sender<Result<v1::HealthReportAck, Status>>,
) -> Result<(), Status> {
    let Some(first) = reports.message().await? else {
        return Err(invalid(
            "the stream",
            "ended before its first report: send HealthReport messages naming the check",
        ));
    };
    let name = first.check_name.clone();
    let lease = router
        .check_reports(name.clone())
        .await
        .map_err(|error| control_status(&error))?;
    let fed = feed_reports(&name, first, &mut reports, &lease, acks).await;
    // The application is gone or misbehaved: its lease task decides what that means.
    let _ = lease.send(LeaseInput::StreamClosed).await;
    fed
}

async fn feed_reports(
    name: &str,
    first: v1::HealthReport,
    reports: &mut Streaming<v1::HealthReport>,
    lease: &mpsc::Sender<LeaseInput>,
    acks: &mpsc::Sender<Result<v1::HealthReportAck, Status>>,
) -> Result<(), Status> {
    let mut next = Some(first);
    while let Some(report) = next {
        if report.check_name != name {
            return Err(invalid(
                "check_name",
                &format!(
                    "is {:?}, but this stream feeds {name:?}: open a stream per check",
                    report.check_name
                ),
            ));
        }
        let (ack, acked) = oneshot::channel();
        let input = LeaseInput::Report {
            passing: report.passing,
            message: report.message,
            ack,
        };
        lease.send(input).await.map_err(|_| removed(name))?;
        let ack = acked.await.map_err(|_| removed(name))?;
        let reply = v1::HealthReportAck {
            check: Some(report_check(&ack.report)),
            lease_expires: Some(convert::timestamp(ack.expires)),
        };
        if acks.send(Ok(reply)).await.is_err() {
            // The caller went away.
            return Ok(());
        }
        // A failed read is the application's connection breaking: the stream closed.
        next = reports.message().await.ok().flatten();
    }
    Ok(())
}

/// The check status an acknowledgement carries: the counts and last output of the report.
fn report_check(report: &crate::health::CheckReport) -> v1::HealthCheck {
    v1::HealthCheck {
        spec: Some(v1::HealthCheckSpec {
            name: report.check_name.clone(),
            weight: i32::from(report.weight),
            ..v1::HealthCheckSpec::default()
        }),
        passing: report.passing(),
        consecutive_passes: report.consecutive_passes,
        consecutive_failures: report.consecutive_failures,
        last_output: report.last_run.output.clone(),
        ..v1::HealthCheck::default()
    }
}

fn removed(name: &str) -> Status {
    Status::not_found(format!(
        "health check `{name}` was removed meanwhile; register it again"
    ))
}

fn check_name(name: &str) -> Result<(), Status> {
    check_rules::registered_name(name).map_err(|problem| invalid("spec.name", &problem))
}

fn count(value: u32, field: &str) -> Result<u8, Status> {
    match value {
        0 => Ok(1),
        value => Some(i64::from(value))
            .filter(|value| check_rules::COUNTS.contains(value))
            .and_then(|value| u8::try_from(value).ok())
            .ok_or_else(|| invalid(field, "must be within 1..255 (0 means the default, 1)")),
    }
}

fn period(value: Option<prost_types::Duration>, field: &str) -> Result<Option<Duration>, Status> {
    let Some(value) = value else {
        return Ok(None);
    };
    let period = Duration::try_from(value).map_err(|_| invalid(field, "is negative"))?;
    check_rules::period(period)
        .map(Some)
        .map_err(|problem| invalid(field, &problem))
}

fn socket_address(text: &str, field: &str) -> Result<SocketAddr, Status> {
    text.parse().map_err(|_| {
        invalid(
            field,
            &format!(
                "{text:?} is not an address and port like 192.0.2.10:8080 or [2001:db8::1]:8080"
            ),
        )
    })
}

fn invalid(field: &str, problem: &str) -> Status {
    Status::invalid_argument(format!("{field} {problem}"))
}

/// A process check's rules, checked as the configuration file checks them.
fn process_match(process: v1::ProcessCheck) -> Result<ProcessMatch, Status> {
    use v1::process_check::ParamMatch as Wire;
    let param_match = match Wire::try_from(process.param_match) {
        Ok(Wire::Unspecified) if process.arguments.is_empty() => None,
        Ok(Wire::Unspecified | Wire::Exact) => Some(ParamMatch::Exact),
        Ok(Wire::Partial) => Some(ParamMatch::Partial),
        Ok(Wire::Initial) => Some(ParamMatch::Initial),
        Err(_) => {
            return Err(invalid(
                "spec.process.param_match",
                "is not a known value: use PARAM_MATCH_EXACT, PARAM_MATCH_PARTIAL or \
                 PARAM_MATCH_INITIAL",
            ));
        }
    };
    let count = |value: u32, field: &str| {
        Some(i64::from(value))
            .filter(|value| check_rules::PROCESS_COUNTS.contains(value))
            .and_then(|value| u16::try_from(value).ok())
            .ok_or_else(|| invalid(field, "must be within 0..65535"))
    };
    let quorum = match process.quorum {
        0 => 1,
        quorum => count(quorum, "spec.process.quorum")?,
    };
    let quorum_max = match process.quorum_max {
        0 => u16::MAX,
        quorum_max => count(quorum_max, "spec.process.quorum_max")?,
    };
    let delay = |value: Option<prost_types::Duration>, field: &str| {
        let value = match value {
            None => return Ok(Duration::ZERO),
            Some(value) => {
                Duration::try_from(value).map_err(|_| invalid(field, "must not be negative"))?
            }
        };
        check_rules::process_delay(value).map_err(|problem| invalid(field, &problem))
    };
    let tracked = ProcessMatch {
        full_command: process.full_command,
        arguments: process.arguments,
        param_match,
        quorum,
        quorum_max,
        fork_delay: delay(process.fork_delay, "spec.process.fork_delay")?,
        terminate_delay: delay(process.terminate_delay, "spec.process.terminate_delay")?,
        process: process.process,
    };
    check_rules::process_name(&tracked.process, tracked.uses_command_line())
        .map_err(|problem| invalid("spec.process.process", &problem))?;
    check_rules::process_quorum(tracked.quorum, tracked.quorum_max)
        .map_err(|problem| invalid("spec.process.quorum", &problem))?;
    Ok(tracked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: Kind) -> Option<v1::HealthCheckSpec> {
        Some(v1::HealthCheckSpec {
            name: "link".into(),
            instance_names: vec!["vi".into()],
            kind: Some(kind),
            ..v1::HealthCheckSpec::default()
        })
    }

    fn refusal(kind: Kind) -> String {
        let status = parse_spec(spec(kind)).expect_err("refused");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        status.message().to_owned()
    }

    #[test]
    fn interface_and_file_checks_round_trip_through_the_api() {
        for kind in [
            Kind::Interface(v1::InterfaceCheck {
                name: "eth0".into(),
            }),
            Kind::File(v1::FileCheck {
                path: "/run/app/weight".into(),
            }),
            Kind::Process(v1::ProcessCheck {
                process: "/usr/bin/keydb-server".into(),
                full_command: true,
                arguments: vec!["*:6379".into()],
                param_match: v1::process_check::ParamMatch::Partial as i32,
                quorum: 2,
                quorum_max: 4,
                fork_delay: Some(prost_types::Duration {
                    seconds: 0,
                    nanos: 0,
                }),
                terminate_delay: Some(prost_types::Duration {
                    seconds: 2,
                    nanos: 0,
                }),
            }),
        ] {
            let (check, instances) = parse_spec(spec(kind.clone())).expect("valid");
            assert_eq!(
                convert::check_spec(&check, &instances).kind,
                Some(kind),
                "{check:?}"
            );
        }
    }

    #[test]
    fn bad_interface_names_and_relative_paths_say_which_field() {
        for name in [
            "",
            "a-name-over-15-bytes",
            "eth0:1",
            "a/b",
            "..",
            "has space",
        ] {
            let message = refusal(Kind::Interface(v1::InterfaceCheck { name: name.into() }));
            assert!(message.starts_with("spec.interface.name "), "{message}");
        }
        let message = refusal(Kind::File(v1::FileCheck {
            path: "run/flag".into(),
        }));
        assert!(message.starts_with("spec.file.path "), "{message}");
        let message = refusal(Kind::Process(v1::ProcessCheck {
            process: "a-very-long-daemon".into(),
            ..v1::ProcessCheck::default()
        }));
        assert!(message.starts_with("spec.process.process "), "{message}");
        let message = refusal(Kind::Process(v1::ProcessCheck {
            process: "app".into(),
            quorum: 5,
            quorum_max: 2,
            ..v1::ProcessCheck::default()
        }));
        assert!(message.starts_with("spec.process.quorum "), "{message}");
    }
}
