//! The daemon's status and events as `vrrp.v1` messages.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::config::{Family, InstanceSettings, ParamMatch, Preempt, ProcessMatch};
use crate::events::status::{
    ChangeCause, CheckOwner, CheckStatus, InstanceEvent, InstanceStatus, MasterView,
};
use crate::health::{CheckSpec, OnLeaseExpiry, ProbeSpec};
use crate::net::vmac::{mac_text, virtual_router_mac};
use crate::vrrp::{Auth, FaultCause, State, TransitionReason, Version};

use super::v1;
use super::v1::watch_state_response::Kind;

/// A protobuf timestamp; times before 1970 (a badly set clock) become 1970.
pub fn timestamp(at: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(at)
}

/// A protobuf duration; every duration the daemon reports is far below its limit.
pub fn duration(length: Duration) -> prost_types::Duration {
    prost_types::Duration::try_from(length).unwrap_or(prost_types::Duration {
        seconds: i64::MAX,
        nanos: 0,
    })
}

/// The protobuf state.
pub fn state(state: State) -> v1::State {
    match state {
        State::Initialize => v1::State::Init,
        State::Backup => v1::State::Backup,
        State::Master => v1::State::Master,
        State::Fault => v1::State::Fault,
    }
}

/// The protobuf reason of a transition.
pub fn reason(cause: ChangeCause) -> v1::TransitionReason {
    match cause {
        ChangeCause::Core(reason) => match reason {
            TransitionReason::Startup => v1::TransitionReason::Startup,
            TransitionReason::MasterDownTimerExpired => v1::TransitionReason::MasterDownTimer,
            TransitionReason::PriorityZeroReceived => v1::TransitionReason::PriorityZeroReceived,
            TransitionReason::PreemptedLowerPriorityMaster => v1::TransitionReason::Preemption,
            TransitionReason::HigherPriorityAdvert => v1::TransitionReason::HigherPriorityAdvert,
            TransitionReason::Shutdown => v1::TransitionReason::Shutdown,
            TransitionReason::Resigned | TransitionReason::PriorityChanged => {
                v1::TransitionReason::Command
            }
            TransitionReason::Fault(FaultCause::CheckFailed) => v1::TransitionReason::HealthCheck,
            TransitionReason::Fault(FaultCause::InterfaceDown | FaultCause::NoSourceAddress) => {
                v1::TransitionReason::Interface
            }
            TransitionReason::Fault(FaultCause::SyncGroup) | TransitionReason::SyncGroup => {
                v1::TransitionReason::SyncGroup
            }
            TransitionReason::Fault(FaultCause::NoUnicastPeers) => {
                v1::TransitionReason::NoUnicastPeers
            }
            // The driver turns FaultCleared into one of the two causes below.
            TransitionReason::FaultCleared => v1::TransitionReason::Unspecified,
        },
        ChangeCause::InterfaceRecovered => v1::TransitionReason::Interface,
        ChangeCause::CheckRecovered | ChangeCause::CheckMovedPriority => {
            v1::TransitionReason::HealthCheck
        }
        ChangeCause::SyncGroup => v1::TransitionReason::SyncGroup,
    }
}

/// The master as an instance sees it.
pub fn master(view: &MasterView) -> v1::MasterInfo {
    v1::MasterInfo {
        address: view
            .address
            .map(|address| address.to_string())
            .unwrap_or_default(),
        priority: view.priority.map(u32::from).unwrap_or_default(),
        advert_interval: Some(duration(view.advert_interval)),
    }
}

/// The RFC 6527 statistics: the core's counters plus the codec's refusals.
pub fn counters(status: &InstanceStatus) -> v1::Counters {
    let core = &status.counters;
    let errors = status.receive_errors();
    v1::Counters {
        adverts_sent: core.adverts_sent,
        adverts_received: core.adverts_received,
        became_master: core.became_master,
        priority_zero_sent: core.priority_zero_sent,
        priority_zero_received: core.priority_zero_received,
        ttl_errors: errors.ttl,
        version_errors: errors.version,
        type_errors: errors.kind,
        length_errors: errors.length,
        checksum_errors: errors.checksum,
        vrid_errors: errors.vrid,
        auth_errors: errors.auth,
        interval_errors: errors.interval,
        address_list_errors: errors.address_list,
    }
}

/// An instance's full status.
pub fn instance(status: &InstanceStatus) -> v1::Instance {
    let settings = &status.settings;
    let (preempt, preempt_delay) = match settings.preempt {
        Preempt::After(delay) => (true, Some(duration(delay))),
        Preempt::Never => (false, None),
    };
    v1::Instance {
        name: settings.name.clone(),
        interface: settings.interface.clone(),
        vrid: u32::from(settings.vrid),
        version: match status.version() {
            Version::V2 => 2,
            Version::V3 => 3,
        },
        family: match settings.family() {
            Family::Ipv4 => v1::AddressFamily::Ipv4,
            Family::Ipv6 => v1::AddressFamily::Ipv6,
        } as i32,
        state: state(status.state) as i32,
        base_priority: u32::from(status.base_priority),
        effective_priority: u32::from(status.effective_priority),
        advert_interval: Some(duration(settings.advert_interval.as_duration())),
        master: Some(master(&status.master)),
        virtual_addresses: status
            .virtual_addresses()
            .iter()
            .map(|vip| format!("{}/{}", vip.address, vip.prefix_len))
            .collect(),
        preempt,
        preempt_delay,
        accept_mode: settings.accept_mode,
        strict_mode: settings.strict_mode,
        auth_type: match settings.auth {
            Auth::None => v1::AuthType::None,
            Auth::SimplePassword(_) => v1::AuthType::Pass,
            Auth::AuthenticationHeader(_) => v1::AuthType::Ah,
        } as i32,
        counters: Some(counters(status)),
        health_checks: status.health_checks.iter().map(health_check).collect(),
        sync_group: status.sync_group.clone().unwrap_or_default(),
        health_check_weights_ignored: status.weights_ignored,
        last_transition_time: status.last_transition.map(|(at, _)| timestamp(at)),
        last_transition_reason: status
            .last_transition
            .map_or(v1::TransitionReason::Unspecified, |(_, cause)| {
                reason(cause)
            }) as i32,
        virtual_routes: settings
            .virtual_routes
            .iter()
            .map(|route| v1::RoutingEntry {
                spec: route.to_string(),
                installed: status.holds_routes(),
                tracked: !route.no_track,
            })
            .collect(),
        virtual_rules: settings
            .virtual_rules
            .iter()
            .map(|rule| v1::RoutingEntry {
                spec: rule.to_string(),
                installed: status.holds_routes(),
                tracked: !rule.no_track,
            })
            .collect(),
        link_debounce: status.link_debounce.as_ref().map(|link| v1::LinkDebounce {
            down_delay: Some(duration(link.down_delay)),
            up_delay: Some(duration(link.up_delay)),
            pending: link.pending.as_ref().map(|pending| v1::PendingLinkChange {
                up: pending.up,
                remaining: Some(duration(pending.remaining)),
            }),
        }),
        virtual_mac: settings.virtual_mac.as_ref().map(|vmac| v1::VirtualMac {
            interface: vmac.name.clone(),
            mac: mac_text(&virtual_router_mac(settings.family(), settings.vrid)),
            xmit_base: vmac.xmit_base,
        }),
        unicast: settings.unicast.as_ref().map(|unicast| v1::Unicast {
            source: unicast
                .source
                .map(|source| source.to_string())
                .unwrap_or_default(),
            peers: unicast
                .peers
                .iter()
                .map(|peer| v1::UnicastPeer {
                    address: peer.address.to_string(),
                    min_ttl: peer.hop_limits.lowest.into(),
                    max_ttl: peer.hop_limits.highest.into(),
                })
                .collect(),
            check_source: unicast.check_source,
            ttl: unicast.ttl.into(),
        }),
        announcements: Some(announcements(settings)),
    }
}

/// The instance's announcement settings and the spacing of each address.
fn announcements(settings: &InstanceSettings) -> v1::Announcements {
    let garp = &settings.garp;
    v1::Announcements {
        repeat: u32::from(garp.repeat),
        second_burst_after: garp.second_burst_after.map(duration),
        refresh_every: garp.refresh_every.map(duration),
        lower_priority_repeat: u32::from(garp.lower_priority_repeat),
        lower_priority_second_after: garp.lower_priority_second_after.map(duration),
        spacing: settings
            .announce_spacing
            .iter()
            .map(|paced| v1::AnnouncementSpacing {
                address: paced.address.to_string(),
                shared_by: paced.shared_by.clone(),
                interval: match paced.address {
                    IpAddr::V4(_) => paced.spacing.arp,
                    IpAddr::V6(_) => paced.spacing.na,
                }
                .map(duration),
            })
            .collect(),
    }
}

/// The snapshot item of a name in a watch filter that no instance has.
pub fn unknown_instance(name: &str) -> v1::Instance {
    v1::Instance {
        name: name.to_owned(),
        state: v1::State::Unknown as i32,
        ..v1::Instance::default()
    }
}

/// The message kind of a published event.
pub fn event(event: &InstanceEvent) -> Kind {
    match event {
        InstanceEvent::Transition {
            instance,
            from,
            to,
            cause,
            check,
            base_priority,
            effective_priority,
            master: view,
            trace,
        } => Kind::Transition(v1::Transition {
            instance_name: instance.clone(),
            from: state(*from) as i32,
            to: state(*to) as i32,
            reason: reason(*cause) as i32,
            health_check_name: check.clone().unwrap_or_default(),
            base_priority: u32::from(*base_priority),
            effective_priority: u32::from(*effective_priority),
            master: Some(master(view)),
            trace: trace.as_ref().map(|ids| v1::TraceContext {
                trace_id: ids.trace_id.clone(),
                span_id: ids.span_id.clone(),
            }),
        }),
        InstanceEvent::PriorityChanged {
            instance,
            base_priority,
            effective_priority,
            check,
        } => Kind::PriorityChange(v1::PriorityChange {
            instance_name: instance.clone(),
            base_priority: u32::from(*base_priority),
            effective_priority: u32::from(*effective_priority),
            health_check_name: check.clone().unwrap_or_default(),
        }),
        InstanceEvent::CheckResult { check, .. } => {
            Kind::HealthCheckResult(v1::HealthCheckResult {
                check: Some(health_check(check)),
            })
        }
        InstanceEvent::Added(status) => Kind::Snapshot(v1::InstanceSnapshot {
            instance: Some(Box::new(instance(status))),
        }),
        InstanceEvent::Removed { instance } => Kind::InstanceRemoved(v1::InstanceRemoved {
            instance_name: instance.clone(),
        }),
    }
}

/// A health check and how it stands.
pub fn health_check(status: &CheckStatus) -> v1::HealthCheck {
    let process_ids = status
        .last_run
        .as_ref()
        .and_then(|(_, run)| run.processes.clone())
        .unwrap_or_default();
    let (last_run_time, last_output, last_run_duration) = match &status.last_run {
        Some((at, run)) => {
            let output = if run.output.is_empty() {
                run.summary.clone()
            } else {
                format!("{}: {}", run.summary, run.output)
            };
            (Some(timestamp(*at)), output, Some(duration(run.duration)))
        }
        None => (None, String::new(), None),
    };
    v1::HealthCheck {
        spec: Some(check_spec(&status.spec, &status.instances)),
        owner: match &status.owner {
            CheckOwner::Config => "config".to_owned(),
            CheckOwner::Registered(owner) => owner.clone(),
        },
        passing: status.passing,
        consecutive_passes: status.consecutive_passes,
        consecutive_failures: status.consecutive_failures,
        last_run_time,
        last_output,
        last_run_duration,
        process_count: u32::try_from(process_ids.len()).unwrap_or(u32::MAX),
        process_ids,
    }
}

/// A check's spec as the API describes it.
pub fn check_spec(spec: &CheckSpec, instances: &[String]) -> v1::HealthCheckSpec {
    use v1::health_check_spec::Kind as CheckKind;
    let kind = match &spec.probe {
        ProbeSpec::Exec(exec) => Some(CheckKind::Exec(v1::ExecCheck {
            path: exec.program.clone(),
            args: exec.args.clone(),
            user: exec.user.clone().unwrap_or_default(),
        })),
        ProbeSpec::Tcp { address } => Some(CheckKind::Tcp(v1::TcpCheck {
            address: address.to_string(),
        })),
        ProbeSpec::Http(http) => Some(CheckKind::Http(v1::HttpCheck {
            url: http.url.clone(),
            expected_status: http
                .expected_statuses
                .iter()
                .flat_map(|range| range.clone().map(u32::from))
                .collect(),
            body_contains: http.body_contains.clone().unwrap_or_default(),
        })),
        ProbeSpec::Grpc { address, service } => Some(CheckKind::Grpc(v1::GrpcHealthCheck {
            address: address.to_string(),
            service: service.clone().unwrap_or_default(),
        })),
        ProbeSpec::Interface { name } => Some(CheckKind::Interface(v1::InterfaceCheck {
            name: name.clone(),
        })),
        ProbeSpec::File { path } => Some(CheckKind::File(v1::FileCheck {
            path: path.display().to_string(),
        })),
        ProbeSpec::Process(tracked) => Some(CheckKind::Process(process_check(tracked))),
        ProbeSpec::Pushed(lease) => Some(CheckKind::Pushed(v1::PushedCheck {
            lease_ttl: Some(duration(lease.ttl)),
            on_lease_expiry: match lease.on_expiry {
                OnLeaseExpiry::Fail => v1::pushed_check::OnLeaseExpiry::Fail,
                OnLeaseExpiry::Remove => v1::pushed_check::OnLeaseExpiry::Remove,
            } as i32,
        })),
    };
    v1::HealthCheckSpec {
        name: spec.name.clone(),
        instance_names: instances.to_vec(),
        weight: i32::from(spec.weight),
        interval: Some(duration(spec.interval)),
        timeout: Some(duration(spec.timeout)),
        rise: u32::from(spec.rise),
        fall: u32::from(spec.fall),
        init_fail: spec.init_fail,
        kind,
    }
}

/// A process check's matching rules as the API describes them.
fn process_check(tracked: &ProcessMatch) -> v1::ProcessCheck {
    use v1::process_check::ParamMatch as Wire;
    v1::ProcessCheck {
        process: tracked.process.clone(),
        full_command: tracked.full_command,
        arguments: tracked.arguments.clone(),
        param_match: match tracked.param_match {
            None => Wire::Unspecified,
            Some(ParamMatch::Exact) => Wire::Exact,
            Some(ParamMatch::Partial) => Wire::Partial,
            Some(ParamMatch::Initial) => Wire::Initial,
        } as i32,
        quorum: u32::from(tracked.quorum),
        quorum_max: u32::from(tracked.quorum_max),
        fork_delay: Some(duration(tracked.fork_delay)),
        terminate_delay: Some(duration(tracked.terminate_delay)),
    }
}
