//! `vrrpctl`: look at and steer the VRRP instances of a vrrp-sidecar daemon from a shell.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde::Serialize;
use tokio_stream::StreamExt;
use vrrp_sidecar_client::proto::{self, State, TransitionReason};
use vrrp_sidecar_client::{
    Client, DEFAULT_SOCKET_PATH, Error, Event, ResetCause, ResignOptions, ServingStatus, Target,
    WatchOptions,
};

/// Exit status when the daemon could not be reached at all, so scripts can tell "no daemon"
/// from "the daemon said no" (1) and from a mistyped command line (2, clap's).
const EXIT_UNREACHABLE: u8 = 3;
const EXIT_REFUSED: u8 = 1;

/// Look at and steer the VRRP instances of a vrrp-sidecar daemon.
#[derive(Debug, Parser)]
#[command(
    name = "vrrpctl",
    version,
    after_help = "Exit status: 0 done; 1 the daemon refused or failed the request; \
                  2 bad command line; 3 the daemon could not be reached."
)]
struct Cli {
    /// The daemon's Unix socket.
    #[arg(long, value_name = "PATH", global = true, conflicts_with = "url")]
    socket: Option<PathBuf>,
    /// The daemon's TCP listener instead, e.g. https://192.0.2.10:50051.
    #[arg(long, value_name = "URL", global = true)]
    url: Option<String>,
    /// A file holding the bearer token that mutating calls over TCP need.
    #[arg(long, value_name = "PATH", global = true)]
    token_file: Option<PathBuf>,
    /// PEM CA bundle that signed the daemon's certificate (https; default: system roots).
    #[arg(long, value_name = "PATH", global = true)]
    ca_file: Option<PathBuf>,
    /// PEM client certificate, for daemons that authenticate clients by certificate.
    #[arg(long, value_name = "PATH", global = true, requires = "key")]
    cert: Option<PathBuf>,
    /// The PEM private key of --cert.
    #[arg(long, value_name = "PATH", global = true, requires = "cert")]
    key: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A table of the instances (or of one).
    Status {
        /// Only this instance.
        name: Option<String>,
    },
    /// One line per state change, until interrupted; reconnects when the daemon restarts.
    Watch {
        /// Only these instances (default: all).
        names: Vec<String>,
        /// JSON lines instead of text.
        #[arg(long)]
        json: bool,
        /// Seconds of silence before the daemon sends a heartbeat (1..300); three missed
        /// heartbeats count as a lost connection.
        #[arg(long, value_name = "SECONDS", default_value_t = 10)]
        heartbeat_interval: u64,
    },
    /// Sets an instance's base priority (1..254).
    SetPriority {
        /// The instance.
        name: String,
        /// The new base priority.
        priority: u8,
    },
    /// Hands mastership over to the best backup.
    Resign {
        /// The instance.
        name: String,
        /// Return only once a successor has taken over.
        #[arg(long)]
        wait: bool,
        /// Seconds to stay backup before preempting again (default: Master_Down_Interval).
        #[arg(long, value_name = "SECONDS")]
        hold_down: Option<u64>,
    },
    /// Rereads the daemon's configuration file, as SIGHUP does.
    Reload,
    /// The daemon's health (grpc.health.v1): exits 0 when SERVING, 1 otherwise, so it can be
    /// a container's liveness or readiness probe. Says nothing about mastership.
    Health {
        /// The service to ask about: "" (the default) for the daemon, or vrrp.v1.Sidecar.
        #[arg(long, value_name = "NAME", default_value = "")]
        service: String,
    },
    /// A table of the health checks of every instance (or of one) and how they stand.
    Checks {
        /// Only this instance's checks.
        name: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vrrpctl: {error}");
            ExitCode::from(match error {
                Error::Connect { .. } => EXIT_UNREACHABLE,
                _ => EXIT_REFUSED,
            })
        }
    }
}

async fn run(cli: Cli) -> Result<(), Error> {
    let client = connect(&cli).await?;
    match cli.command {
        Command::Status { name } => {
            let instances = match name {
                Some(name) => vec![client.get_instance(&name).await?],
                None => client.list_instances().await?,
            };
            print!("{}", status_table(&instances));
            if let Some(routing) = routing_table(&instances) {
                print!("\n{routing}");
            }
            if let Some(vmacs) = virtual_mac_table(&instances) {
                print!("\n{vmacs}");
            }
            if let Some(peers) = unicast_peer_table(&instances) {
                print!("\n{peers}");
            }
            if let Some(processes) = tracked_process_table(&instances) {
                print!("\n{processes}");
            }
            if let Some(groups) = sync_group_table(&instances) {
                print!("\n{groups}");
            }
            if let Some(links) = link_debounce_table(&instances) {
                print!("\n{links}");
            }
        }
        Command::Watch {
            names,
            json,
            heartbeat_interval,
        } => {
            let options = names.into_iter().fold(
                WatchOptions::default().heartbeat_interval(Duration::from_secs(heartbeat_interval)),
                WatchOptions::instance,
            );
            let mut events = client.watch(options);
            while let Some(event) = events.next().await {
                let line = EventLine::from(event?);
                if json {
                    // A struct of strings, numbers and booleans always serialises.
                    println!(
                        "{}",
                        serde_json::to_string(&line).expect("plain data serialises")
                    );
                } else {
                    println!("{}", line.to_text());
                }
            }
        }
        Command::SetPriority { name, priority } => {
            let instance = client.set_priority(&name, priority).await?;
            println!(
                "{}: priority {}/{} (base/effective), {}",
                instance.name,
                instance.base_priority,
                instance.effective_priority,
                state_name(instance.state())
            );
        }
        Command::Resign {
            name,
            wait,
            hold_down,
        } => {
            let mut options = ResignOptions::default();
            if wait {
                options = options.wait_for_successor();
            }
            if let Some(seconds) = hold_down {
                options = options.hold_down(Duration::from_secs(seconds));
            }
            let resigned = client.resign(&name, options).await?;
            match resigned.successor {
                Some(successor) => println!(
                    "{}: {}, {} took over",
                    resigned.instance.name,
                    state_name(resigned.instance.state()),
                    successor.address
                ),
                None => println!(
                    "{}: {}",
                    resigned.instance.name,
                    state_name(resigned.instance.state())
                ),
            }
        }
        Command::Reload => {
            let reloaded = client.reload().await?;
            for (label, names) in [
                ("added", &reloaded.added_instances),
                ("removed", &reloaded.removed_instances),
                ("changed", &reloaded.changed_instances),
            ] {
                if !names.is_empty() {
                    println!("{label}: {}", names.join(", "));
                }
            }
            for warning in &reloaded.warnings {
                println!("warning: {warning}");
            }
            println!("reloaded");
        }
        Command::Health { service } => {
            // grpc.health.v1's own names, as grpcurl and grpc_health_probe print them.
            let name = match client.health(&service).await? {
                ServingStatus::Serving => {
                    println!("SERVING");
                    return Ok(());
                }
                ServingStatus::NotServing => "NOT_SERVING",
                ServingStatus::Unknown => "UNKNOWN",
            };
            println!("{name}");
            return Err(Error::Rpc {
                code: vrrp_sidecar_client::Code::Unavailable,
                message: format!("the daemon is {name}"),
            });
        }
        Command::Checks { name } => {
            let instances = match name {
                Some(name) => vec![client.get_instance(&name).await?],
                None => client.list_instances().await?,
            };
            print!("{}", checks_table(&instances));
        }
    }
    Ok(())
}

async fn connect(cli: &Cli) -> Result<Client, Error> {
    let target = match (&cli.socket, &cli.url) {
        (_, Some(url)) => Target::Url(url.clone()),
        (Some(path), None) => Target::UnixSocket(path.clone()),
        (None, None) => Target::UnixSocket(PathBuf::from(DEFAULT_SOCKET_PATH)),
    };
    let mut builder = Client::builder(target);
    if let Some(path) = &cli.token_file {
        let token = std::fs::read_to_string(path).map_err(|error| {
            Error::InvalidSettings(format!("reading {}: {error}", path.display()))
        })?;
        builder = builder.bearer_token(token.trim());
    }
    if let Some(path) = &cli.ca_file {
        builder = builder.ca_file(path);
    }
    if let (Some(certificate), Some(key)) = (&cli.cert, &cli.key) {
        builder = builder.client_identity(certificate, key);
    }
    builder.connect().await
}

/// The most characters of a check's last output the `checks` table shows.
const OUTPUT_COLUMN: usize = 48;

/// The `checks` table: one row per check of each instance.
fn checks_table(instances: &[proto::Instance]) -> String {
    let header = [
        "INSTANCE", "CHECK", "KIND", "WEIGHT", "RESULT", "PASSES", "FAILS", "OWNER", "OUTPUT",
    ]
    .map(String::from);
    let rows: Vec<[String; 9]> = instances
        .iter()
        .flat_map(|instance| {
            instance.health_checks.iter().map(|check| {
                let spec = check.spec.clone().unwrap_or_default();
                let result = match (check.passing, check.last_run_time.is_some()) {
                    (true, _) => "pass",
                    (false, true) => "fail",
                    (false, false) => "pending",
                };
                let output: String = check
                    .last_output
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(OUTPUT_COLUMN)
                    .collect();
                [
                    instance.name.clone(),
                    spec.name.clone(),
                    check_kind(&spec).to_owned(),
                    spec.weight.to_string(),
                    result.to_owned(),
                    check.consecutive_passes.to_string(),
                    check.consecutive_failures.to_string(),
                    check.owner.clone(),
                    output,
                ]
            })
        })
        .collect();
    table(header, &rows)
}

/// What a check looks at, in one word; "?" for a kind this vrrpctl does not know (a newer
/// daemon's).
fn check_kind(spec: &proto::HealthCheckSpec) -> &'static str {
    use proto::health_check_spec::Kind;
    match spec.kind {
        Some(Kind::Exec(_)) => "exec",
        Some(Kind::Tcp(_)) => "tcp",
        Some(Kind::Http(_)) => "http",
        Some(Kind::Grpc(_)) => "grpc",
        Some(Kind::Pushed(_)) => "pushed",
        Some(Kind::Interface(_)) => "interface",
        Some(Kind::File(_)) => "file",
        Some(Kind::Process(_)) => "process",
        None => "?",
    }
}

/// Rows under a header, columns padded to their widest cell.
fn table<const N: usize>(header: [String; N], rows: &[[String; N]]) -> String {
    let mut widths = header.clone().map(|cell| cell.len());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}

/// The AUTH column: keepalived's auth_type words.
fn auth_name(auth: proto::AuthType) -> &'static str {
    match auth {
        proto::AuthType::Unspecified => "-",
        proto::AuthType::None => "none",
        proto::AuthType::Pass => "pass",
        proto::AuthType::Ah => "ah",
    }
}

/// The `status` table: one row per instance, columns padded to their widest cell.
fn status_table(instances: &[proto::Instance]) -> String {
    let header = [
        "NAME",
        "INTERFACE",
        "VRID",
        "STATE",
        "PRIORITY",
        "MASTER",
        "ACCEPT",
        "STRICT",
        "AUTH",
    ]
    .map(String::from);
    let yes_no = |flag: bool| if flag { "yes" } else { "no" }.to_owned();
    let rows: Vec<[String; 9]> = instances
        .iter()
        .map(|instance| {
            [
                instance.name.clone(),
                instance.interface.clone(),
                instance.vrid.to_string(),
                state_name(instance.state()).to_owned(),
                format!("{}/{}", instance.base_priority, instance.effective_priority),
                master_address(instance.master.as_ref()),
                yes_no(instance.accept_mode),
                yes_no(instance.strict_mode),
                auth_name(instance.auth_type()).to_owned(),
            ]
        })
        .collect();
    table(header, &rows)
}

/// The process checks of the instances, one row each, with the processes they count now;
/// `None` when no instance has one.
fn tracked_process_table(instances: &[proto::Instance]) -> Option<String> {
    use proto::health_check_spec::Kind;
    /// The most PIDs a row lists; the count says how many there are.
    const PIDS_SHOWN: usize = 8;
    let rows: Vec<[String; 6]> = instances
        .iter()
        .flat_map(|instance| {
            instance.health_checks.iter().filter_map(|check| {
                let spec = check.spec.as_ref()?;
                let Some(Kind::Process(process)) = &spec.kind else {
                    return None;
                };
                let mut pids: Vec<String> = check
                    .process_ids
                    .iter()
                    .take(PIDS_SHOWN)
                    .map(u32::to_string)
                    .collect();
                if check.process_ids.len() > PIDS_SHOWN {
                    pids.push("...".to_owned());
                }
                Some([
                    instance.name.clone(),
                    spec.name.clone(),
                    process.process.clone(),
                    format!(
                        "{} ({}..{})",
                        check.process_count, process.quorum, process.quorum_max
                    ),
                    if check.passing { "pass" } else { "fail" }.to_owned(),
                    pids.join(","),
                ])
            })
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let header = [
        "INSTANCE",
        "CHECK",
        "PROCESS",
        "COUNT (QUORUM)",
        "RESULT",
        "PIDS",
    ]
    .map(String::from);
    Some(table(header, &rows))
}

/// The sync group of each member instance, and whether the group counts the weights of the
/// member's health checks (`tracking_weight`); `None` when no instance is in a group.
fn sync_group_table(instances: &[proto::Instance]) -> Option<String> {
    let rows: Vec<[String; 3]> = instances
        .iter()
        .filter(|instance| !instance.sync_group.is_empty())
        .map(|instance| {
            let weights = if instance.health_check_weights_ignored {
                "ignored (weight 0 only)"
            } else {
                "counted"
            };
            [
                instance.name.clone(),
                instance.sync_group.clone(),
                weights.to_owned(),
            ]
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let header = ["INSTANCE", "SYNC GROUP", "CHECK WEIGHTS"].map(String::from);
    Some(table(header, &rows))
}

/// The routes and rules the instances add while master, one row each; `None` when no
/// instance has any.
fn routing_table(instances: &[proto::Instance]) -> Option<String> {
    let yes_no = |flag: bool| if flag { "yes" } else { "no" }.to_owned();
    let rows: Vec<[String; 5]> = instances
        .iter()
        .flat_map(|instance| {
            let routes = instance.virtual_routes.iter().map(|entry| ("route", entry));
            let rules = instance.virtual_rules.iter().map(|entry| ("rule", entry));
            routes.chain(rules).map(|(kind, entry)| {
                [
                    instance.name.clone(),
                    kind.to_owned(),
                    yes_no(entry.installed),
                    yes_no(entry.tracked),
                    entry.spec.clone(),
                ]
            })
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let header = ["INSTANCE", "KIND", "INSTALLED", "TRACKED", "SPEC"].map(String::from);
    Some(table(header, &rows))
}

/// The virtual MAC interfaces of the instances that have one, one row each; `None` when no
/// instance has one.
fn virtual_mac_table(instances: &[proto::Instance]) -> Option<String> {
    let rows: Vec<[String; 4]> = instances
        .iter()
        .filter_map(|instance| {
            let vmac = instance.virtual_mac.as_ref()?;
            let adverts_from = if vmac.xmit_base {
                instance.interface.clone()
            } else {
                vmac.interface.clone()
            };
            Some([
                instance.name.clone(),
                vmac.interface.clone(),
                vmac.mac.clone(),
                adverts_from,
            ])
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let header = ["INSTANCE", "VIRTUAL MAC", "MAC", "ADVERTS FROM"].map(String::from);
    Some(table(header, &rows))
}

/// The unicast peers of the instances that advertise to peers, one row each, with the
/// TTLs their adverts are taken with (`-` when any source is taken); `None` when no instance
/// is unicast.
fn unicast_peer_table(instances: &[proto::Instance]) -> Option<String> {
    let rows: Vec<[String; 4]> = instances
        .iter()
        .flat_map(|instance| {
            let unicast = instance.unicast.as_ref();
            unicast.into_iter().flat_map(move |unicast| {
                unicast.peers.iter().map(move |peer| {
                    let heard_with = if unicast.check_source {
                        format!("{}..{}", peer.min_ttl, peer.max_ttl)
                    } else {
                        "-".to_owned()
                    };
                    [
                        instance.name.clone(),
                        peer.address.clone(),
                        unicast.ttl.to_string(),
                        heard_with,
                    ]
                })
            })
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let header = ["INSTANCE", "UNICAST PEER", "TTL SENT", "TTL TAKEN"].map(String::from);
    Some(table(header, &rows))
}

/// The link delays of the instances whose interface has them, one row each, with the
/// change waiting out its delay; `None` when no interface has delays.
fn link_debounce_table(instances: &[proto::Instance]) -> Option<String> {
    let seconds = |delay: Option<&prost_types::Duration>| {
        let delay = delay.copied().unwrap_or_default();
        format!(
            "{:.3}s",
            delay.seconds as f64 + f64::from(delay.nanos) / 1e9
        )
    };
    let rows: Vec<[String; 5]> = instances
        .iter()
        .filter_map(|instance| {
            let link = instance.link_debounce.as_ref()?;
            let pending = match &link.pending {
                Some(pending) => format!(
                    "{} in {}",
                    if pending.up { "up" } else { "down" },
                    seconds(pending.remaining.as_ref())
                ),
                None => "-".to_owned(),
            };
            Some([
                instance.name.clone(),
                instance.interface.clone(),
                seconds(link.down_delay.as_ref()),
                seconds(link.up_delay.as_ref()),
                pending,
            ])
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let header = ["INSTANCE", "INTERFACE", "DOWN DELAY", "UP DELAY", "PENDING"].map(String::from);
    Some(table(header, &rows))
}

/// "MASTER" for `State::Master`: the names operators know, without the proto prefix.
fn state_name(state: State) -> &'static str {
    let name = state.as_str_name();
    name.strip_prefix("STATE_").unwrap_or(name)
}

fn reason_name(reason: TransitionReason) -> &'static str {
    let name = reason.as_str_name();
    name.strip_prefix("TRANSITION_REASON_").unwrap_or(name)
}

fn reset_cause_name(cause: ResetCause) -> &'static str {
    match cause {
        ResetCause::SubscriberLagged => "SUBSCRIBER_LAGGED",
        ResetCause::RevisionNotInHistory => "REVISION_NOT_IN_HISTORY",
        ResetCause::EpochChanged => "EPOCH_CHANGED",
        ResetCause::SnapshotRestarted => "SNAPSHOT_RESTARTED",
        ResetCause::Unspecified => "UNSPECIFIED",
    }
}

fn master_address(master: Option<&proto::MasterInfo>) -> String {
    match master {
        Some(master) if !master.address.is_empty() => master.address.clone(),
        _ => "-".to_owned(),
    }
}

/// One `watch` output line, as text or as a JSON object tagged by `event`.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum EventLine {
    Snapshot {
        instance: String,
        state: &'static str,
        base_priority: u32,
        effective_priority: u32,
        master: String,
    },
    SnapshotComplete {
        epoch: String,
        revision: u64,
    },
    Transition {
        instance: String,
        from: &'static str,
        to: &'static str,
        reason: &'static str,
        base_priority: u32,
        effective_priority: u32,
        master: String,
    },
    PriorityChanged {
        instance: String,
        base_priority: u32,
        effective_priority: u32,
        health_check: String,
    },
    HealthCheck {
        check: String,
        passing: bool,
        output: String,
    },
    Reset {
        cause: &'static str,
    },
    InstanceRemoved {
        instance: String,
    },
    Disconnected {
        error: String,
    },
}

impl From<Event> for EventLine {
    fn from(event: Event) -> Self {
        match event {
            Event::Snapshot(instance) => EventLine::Snapshot {
                state: state_name(instance.state()),
                master: master_address(instance.master.as_ref()),
                base_priority: instance.base_priority,
                effective_priority: instance.effective_priority,
                instance: instance.name,
            },
            Event::SnapshotComplete { epoch, revision } => {
                EventLine::SnapshotComplete { epoch, revision }
            }
            Event::Transition(transition) => EventLine::Transition {
                from: state_name(transition.from()),
                to: state_name(transition.to()),
                reason: reason_name(transition.reason()),
                master: master_address(transition.master.as_ref()),
                base_priority: transition.base_priority,
                effective_priority: transition.effective_priority,
                instance: transition.instance_name,
            },
            Event::PriorityChanged(change) => EventLine::PriorityChanged {
                instance: change.instance_name,
                base_priority: change.base_priority,
                effective_priority: change.effective_priority,
                health_check: change.health_check_name,
            },
            Event::HealthCheckResult(check) => EventLine::HealthCheck {
                check: check.spec.map(|spec| spec.name).unwrap_or_default(),
                passing: check.passing,
                output: check.last_output,
            },
            Event::Reset { cause } => EventLine::Reset {
                cause: reset_cause_name(cause),
            },
            Event::InstanceRemoved { instance_name } => EventLine::InstanceRemoved {
                instance: instance_name,
            },
            Event::Disconnected { error } => EventLine::Disconnected {
                error: error.to_string(),
            },
        }
    }
}

impl EventLine {
    fn to_text(&self) -> String {
        match self {
            EventLine::Snapshot {
                instance,
                state,
                base_priority,
                effective_priority,
                master,
            } => format!(
                "snapshot {instance} {state} priority={base_priority}/{effective_priority} master={master}"
            ),
            EventLine::SnapshotComplete { epoch, revision } => {
                format!("snapshot-complete epoch={epoch} revision={revision}")
            }
            EventLine::Transition {
                instance,
                from,
                to,
                reason,
                base_priority,
                effective_priority,
                master,
            } => format!(
                "transition {instance} {from}->{to} reason={reason} priority={base_priority}/{effective_priority} master={master}"
            ),
            EventLine::PriorityChanged {
                instance,
                base_priority,
                effective_priority,
                health_check,
            } => format!(
                "priority {instance} priority={base_priority}/{effective_priority} check={}",
                if health_check.is_empty() {
                    "-"
                } else {
                    health_check
                }
            ),
            EventLine::HealthCheck {
                check,
                passing,
                output,
            } => format!(
                "health-check {check} {} output={output:?}",
                if *passing { "passing" } else { "failing" }
            ),
            EventLine::Reset { cause } => format!("reset cause={cause} (a fresh snapshot follows)"),
            EventLine::InstanceRemoved { instance } => format!("instance-removed {instance}"),
            EventLine::Disconnected { error } => format!("disconnected ({error}); reconnecting"),
        }
    }
}
