//! Tier 2: one instance on a virtual clock, one named test per RFC rule.
//!
//! Section numbers are RFC 9568 (VRRPv3) unless the name says rfc3768 (VRRPv2).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrp_sidecar::vrrp::{
    Action, AdvertInterval, Advertisement, Auth, Command, CommandRejected, DownTimerAdverts,
    DropReason, FaultCause, Instance, InstanceConfig, InstanceConfigError, Priority, State,
    TransitionReason, Version, master_down_interval, skew_time,
};

const VRID: u8 = 7;

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test addresses are literals")
}

fn priority(value: u8) -> Priority {
    Priority::new(value).expect("test priorities are non-zero")
}

fn centis(value: u16) -> AdvertInterval {
    AdvertInterval::from_centis(value).expect("test intervals are non-zero")
}

/// Times are offsets from one fixed base, as in the simulated LAN.
struct Clock(Instant);

impl Clock {
    fn new() -> Self {
        Clock(Instant::now())
    }
    fn at(&self, offset: Duration) -> Instant {
        self.0 + offset
    }
    fn ms(&self, millis: u64) -> Instant {
        self.at(Duration::from_millis(millis))
    }
}

/// A VRRPv3 IPv4 instance at 192.0.2.10, interval 1 s, one VIP.
fn v3_config(prio: u8) -> InstanceConfig {
    InstanceConfig::new(
        VRID,
        Version::V3,
        ip("192.0.2.10"),
        priority(prio),
        vec![ip("192.0.2.100")],
    )
}

/// A VRRPv2 instance at 192.0.2.10, interval 1 s, password "secret".
fn v2_config(prio: u8) -> InstanceConfig {
    let mut config = InstanceConfig::new(
        VRID,
        Version::V2,
        ip("192.0.2.10"),
        priority(prio),
        vec![ip("192.0.2.100")],
    );
    config.auth = Auth::SimplePassword(*b"secret\0\0");
    config
}

/// A VRRPv3 IPv6 instance at fe80::10.
fn v6_config(prio: u8) -> InstanceConfig {
    InstanceConfig::new(
        VRID,
        Version::V3,
        ip("fe80::10"),
        priority(prio),
        vec![ip("fe80::100"), ip("2001:db8::100")],
    )
}

/// What a peer with `config`'s virtual router would send at `prio`.
fn advert_like(config: &InstanceConfig, prio: u8) -> Advertisement {
    Advertisement {
        version: config.version,
        vrid: config.vrid,
        priority: prio,
        advert_interval: config.advert_interval,
        addresses: config.virtual_addresses.clone(),
        auth: config.auth.clone(),
    }
}

fn drain(instance: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| instance.poll_action()).collect()
}

fn started(config: InstanceConfig, clock: &Clock) -> Instance {
    let mut instance = Instance::new(config).expect("test configurations are valid");
    instance
        .handle_command(clock.ms(0), Command::Startup)
        .expect("a new instance starts");
    drain(&mut instance);
    instance
}

/// A started instance that became master by its master-down timer.
fn master(config: InstanceConfig, clock: &Clock) -> Instance {
    let mut instance = started(config, clock);
    let deadline = instance.poll_timeout().expect("a backup runs its timer");
    instance.handle_timeout(deadline);
    drain(&mut instance);
    assert_eq!(instance.state(), State::Master);
    instance
}

fn sent_priorities(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::SendAdvertisement(advert) => Some(advert.priority),
            _ => None,
        })
        .collect()
}

fn transitions(actions: &[Action]) -> Vec<(State, State, TransitionReason)> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::StateChanged { from, to, reason } => Some((*from, *to, *reason)),
            _ => None,
        })
        .collect()
}

fn removes_addresses(actions: &[Action]) -> bool {
    actions
        .iter()
        .any(|action| matches!(action, Action::RemoveAddresses(_)))
}

// ---- Initialize (§6.4.1) ----

#[test]
fn owner_goes_to_master_at_startup_installs_advertises_and_announces_rfc9568_6_4_1() {
    let clock = Clock::new();
    let config = v3_config(255);
    let vips = config.virtual_addresses.clone();
    let mut instance = Instance::new(config.clone()).unwrap();
    instance
        .handle_command(clock.ms(0), Command::Startup)
        .unwrap();
    assert_eq!(
        drain(&mut instance),
        vec![
            Action::StateChanged {
                from: State::Initialize,
                to: State::Master,
                reason: TransitionReason::Startup
            },
            Action::InstallAddresses(vips.clone()),
            Action::SendAdvertisement(advert_like(&config, 255)),
            Action::Announce(vips),
        ]
    );
    // Adver_Timer = Advertisement_Interval.
    assert_eq!(instance.poll_timeout(), Some(clock.ms(1000)));
    assert_eq!(instance.counters().became_master, 1);
}

#[test]
fn non_owner_goes_to_backup_with_master_down_timer_rfc9568_6_4_1() {
    let clock = Clock::new();
    let mut instance = Instance::new(v3_config(100)).unwrap();
    instance
        .handle_command(clock.ms(0), Command::Startup)
        .unwrap();
    let actions = drain(&mut instance);
    assert_eq!(
        transitions(&actions),
        vec![(State::Initialize, State::Backup, TransitionReason::Startup)]
    );
    assert!(sent_priorities(&actions).is_empty());
    // 3 × 1 s + 156/256 s.
    assert_eq!(
        instance.poll_timeout(),
        Some(clock.at(Duration::from_nanos(3_609_375_000)))
    );
}

#[test]
fn second_startup_is_rejected() {
    let clock = Clock::new();
    let mut instance = started(v3_config(100), &clock);
    assert_eq!(
        instance.handle_command(clock.ms(1), Command::Startup),
        Err(CommandRejected::AlreadyStarted(State::Backup))
    );
}

// ---- Backup (§6.4.2) ----

#[test]
fn backup_becomes_master_when_master_down_timer_fires_rfc9568_6_4_2() {
    let clock = Clock::new();
    let mut instance = started(v3_config(100), &clock);
    let deadline = instance.poll_timeout().unwrap();
    instance.handle_timeout(deadline - Duration::from_nanos(1));
    assert!(drain(&mut instance).is_empty(), "nothing fires early");
    instance.handle_timeout(deadline);
    let actions = drain(&mut instance);
    assert_eq!(
        transitions(&actions),
        vec![(
            State::Backup,
            State::Master,
            TransitionReason::MasterDownTimerExpired
        )]
    );
    assert_eq!(sent_priorities(&actions), vec![100]);
    assert!(matches!(actions[1], Action::InstallAddresses(_)));
    assert!(matches!(actions[3], Action::Announce(_)));
    assert_eq!(
        instance.poll_timeout(),
        Some(deadline + Duration::from_secs(1))
    );
}

#[test]
fn backup_receiving_priority_zero_sets_master_down_timer_to_skew_time_rfc9568_6_4_2() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = started(config.clone(), &clock);
    let peer = ip("192.0.2.20");
    instance
        .handle_packet(clock.ms(500), peer, &advert_like(&config, 0))
        .unwrap();
    let skew = Duration::from_nanos(609_375_000);
    assert_eq!(instance.poll_timeout(), Some(clock.ms(500) + skew));
    instance.handle_timeout(clock.ms(500) + skew);
    assert_eq!(
        transitions(&drain(&mut instance)),
        vec![(
            State::Backup,
            State::Master,
            TransitionReason::PriorityZeroReceived
        )]
    );
    assert_eq!(instance.counters().priority_zero_received, 1);
}

#[test]
fn repeated_priority_zero_never_pushes_the_takeover_back_rfc9568_6_4_2() {
    let clock = Clock::new();
    let config = v3_config(1);
    let mut instance = started(config.clone(), &clock);
    let peer = ip("192.0.2.20");
    instance
        .handle_packet(clock.ms(100), peer, &advert_like(&config, 0))
        .unwrap();
    let first = instance.poll_timeout().unwrap();
    assert_eq!(first, clock.ms(100) + instance.skew_time());
    // A resigning master repeats priority 0 one (jittered) interval later; Skew_Time at
    // priority 1 is 996 ms, so re-arming would move the takeover past `first`.
    instance
        .handle_packet(clock.ms(1050), peer, &advert_like(&config, 0))
        .unwrap();
    assert_eq!(instance.poll_timeout(), Some(first));
}

#[test]
fn backup_accepting_higher_or_equal_priority_resets_master_down_timer_rfc9568_6_4_2() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = started(config.clone(), &clock);
    let down = instance.master_down_interval();
    for (at, prio) in [(1000, 200), (2000, 100)] {
        instance
            .handle_packet(clock.ms(at), ip("192.0.2.20"), &advert_like(&config, prio))
            .unwrap();
        assert_eq!(instance.poll_timeout(), Some(clock.ms(at) + down));
    }
    assert_eq!(instance.master_address(), Some(ip("192.0.2.20")));
    assert!(drain(&mut instance).is_empty());
}

#[test]
fn preempting_backup_discards_lower_priority_and_its_timer_keeps_running_rfc9568_6_4_2() {
    let clock = Clock::new();
    let config = v3_config(150);
    let mut instance = started(config.clone(), &clock);
    let deadline = instance.poll_timeout().unwrap();
    instance
        .handle_packet(clock.ms(1000), ip("192.0.2.20"), &advert_like(&config, 100))
        .unwrap();
    assert_eq!(instance.poll_timeout(), Some(deadline), "timer not reset");
    assert_eq!(instance.counters().lower_priority_discarded, 1);
    instance.handle_timeout(deadline);
    assert_eq!(
        transitions(&drain(&mut instance)),
        vec![(
            State::Backup,
            State::Master,
            TransitionReason::PreemptedLowerPriorityMaster
        )]
    );
}

#[test]
fn non_preempting_backup_accepts_lower_priority_master_rfc9568_6_4_2() {
    let clock = Clock::new();
    let mut config = v3_config(150);
    config.preempt = false;
    let mut instance = started(config.clone(), &clock);
    instance
        .handle_packet(clock.ms(1000), ip("192.0.2.20"), &advert_like(&config, 100))
        .unwrap();
    assert_eq!(
        instance.poll_timeout(),
        Some(clock.ms(1000) + instance.master_down_interval())
    );
}

#[test]
fn v3_backup_learns_master_adver_interval_before_recomputing_timers_rfc9568_6_4_2() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = started(config.clone(), &clock);
    let mut advert = advert_like(&config, 200);
    advert.advert_interval = centis(10);
    instance
        .handle_packet(clock.ms(50), ip("192.0.2.20"), &advert)
        .unwrap();
    assert_eq!(instance.master_adver_interval(), centis(10));
    // 3 × 100 ms + 156/256 × 100 ms, from the learned interval, not our 1 s.
    let down = Duration::from_nanos(360_937_500);
    assert_eq!(instance.master_down_interval(), down);
    assert_eq!(instance.poll_timeout(), Some(clock.ms(50) + down));
    // Skew_Time for a later priority 0 uses the learned interval too.
    assert_eq!(instance.skew_time(), Duration::from_nanos(60_937_500));
}

#[test]
fn v2_skew_time_is_a_fraction_of_a_second_whatever_the_interval_rfc3768_6_1() {
    let clock = Clock::new();
    let mut config = v2_config(101);
    config.advert_interval = centis(300);
    let instance = started(config, &clock);
    assert_eq!(instance.skew_time(), Duration::from_nanos(605_468_750));
    assert_eq!(
        instance.master_down_interval(),
        Duration::from_nanos(9_605_468_750)
    );
}

#[test]
fn timers_match_keepalived_measurements_rfc3768_6_1_rfc9568_6_1() {
    // v2, priority 101, 1 s: keepalived 3605.47 ms.
    assert_eq!(
        master_down_interval(
            Version::V2,
            priority(101),
            centis(100),
            DownTimerAdverts::RFC
        ),
        Duration::from_nanos(3_605_468_750)
    );
    // v3, priority 101, 100 ms: keepalived 360.55 ms.
    assert_eq!(
        master_down_interval(
            Version::V3,
            priority(101),
            centis(10),
            DownTimerAdverts::RFC
        ),
        Duration::from_nanos(360_546_875)
    );
    // Skew, priority 100, 1 s: keepalived 609.4 ms.
    assert_eq!(
        skew_time(Version::V3, priority(100), centis(100)),
        Duration::from_nanos(609_375_000)
    );
    // The owner at 10 ms still skews by 39 µs.
    assert_eq!(
        skew_time(Version::V3, priority(255), centis(1)),
        Duration::from_nanos(39_062)
    );
}

#[test]
fn v2_backup_drops_advert_with_another_interval_rfc3768_7_1() {
    let clock = Clock::new();
    let config = v2_config(100);
    let mut instance = started(config.clone(), &clock);
    let deadline = instance.poll_timeout();
    let mut advert = advert_like(&config, 200);
    advert.advert_interval = centis(200);
    assert_eq!(
        instance.handle_packet(clock.ms(10), ip("192.0.2.20"), &advert),
        Err(DropReason::IntervalMismatch)
    );
    assert_eq!(instance.poll_timeout(), deadline);
    assert_eq!(instance.counters().dropped(DropReason::IntervalMismatch), 1);
}

#[test]
fn preempt_delay_accepts_a_lower_priority_master_after_startup_until_it_passes() {
    let clock = Clock::new();
    let mut config = v3_config(150);
    config.preempt_delay = Duration::from_secs(2);
    let mut instance = started(config.clone(), &clock);
    let peer = ip("192.0.2.20");
    let lower = advert_like(&config, 100);
    let down = instance.master_down_interval();
    instance
        .handle_packet(clock.ms(1000), peer, &lower)
        .unwrap();
    assert_eq!(instance.poll_timeout(), Some(clock.ms(1000) + down), "held");
    instance
        .handle_packet(clock.ms(1999), peer, &lower)
        .unwrap();
    assert_eq!(instance.poll_timeout(), Some(clock.ms(1999) + down), "held");
    // The delay ends 2 s after startup: from then on lower priorities are discarded.
    instance
        .handle_packet(clock.ms(2000), peer, &lower)
        .unwrap();
    assert_eq!(instance.poll_timeout(), Some(clock.ms(1999) + down));
    instance.handle_timeout(clock.ms(1999) + down);
    assert_eq!(instance.state(), State::Master);
}

/// An instance given keepalived's `vrrp_startup_delay` of `hold` at `clock.ms(0)`, started.
fn held_at_startup(config: InstanceConfig, hold: Duration, clock: &Clock) -> Instance {
    let mut instance = Instance::new(config).expect("test configurations are valid");
    instance
        .handle_command(clock.ms(0), Command::HoldMastership(hold))
        .expect("a hold is never refused");
    instance
        .handle_command(clock.ms(0), Command::Startup)
        .expect("a new instance starts");
    instance
}

#[test]
fn a_startup_hold_starts_the_backups_master_down_timer_at_its_end_like_keepalived() {
    // keepalived 2.2.7, measured here: state MASTER, priority 200, alone, 1 s adverts:
    // master 3.35 s after start without vrrp_startup_delay, 6.36 s with 3 s of it.
    let clock = Clock::new();
    let config = v3_config(200);
    let mut instance = held_at_startup(config.clone(), Duration::from_secs(3), &clock);
    let down = instance.master_down_interval();
    assert_eq!(
        transitions(&drain(&mut instance)),
        vec![(State::Initialize, State::Backup, TransitionReason::Startup)]
    );
    assert_eq!(instance.poll_timeout(), Some(clock.ms(3000) + down));
    // A master heard during the hold is followed, and its silence counted from the end.
    let peer = ip("192.0.2.20");
    instance
        .handle_packet(clock.ms(1000), peer, &advert_like(&config, 250))
        .unwrap();
    assert_eq!(instance.master_address(), Some(peer));
    assert_eq!(instance.poll_timeout(), Some(clock.ms(3000) + down));
    // So is a priority 0: Skew_Time from the end.
    instance
        .handle_packet(clock.ms(2000), peer, &advert_like(&config, 0))
        .unwrap();
    assert_eq!(
        instance.poll_timeout(),
        Some(clock.ms(3000) + instance.skew_time())
    );
    // After the end, adverts re-arm the timer from when they arrive, as always.
    let mut instance = held_at_startup(config.clone(), Duration::from_secs(3), &clock);
    instance
        .handle_packet(clock.ms(3500), peer, &advert_like(&config, 250))
        .unwrap();
    assert_eq!(instance.poll_timeout(), Some(clock.ms(3500) + down));
}

#[test]
fn an_owner_held_at_startup_takes_over_when_the_hold_ends() {
    // keepalived 2.2.7, measured here: priority 255 with vrrp_startup_delay 3 became
    // master 3.1 s after start.
    let clock = Clock::new();
    let mut instance = held_at_startup(v3_config(255), Duration::from_secs(3), &clock);
    drain(&mut instance);
    assert_eq!(instance.state(), State::Backup);
    assert_eq!(instance.poll_timeout(), Some(clock.ms(3000)));
    instance.handle_timeout(clock.ms(2999));
    assert_eq!(instance.state(), State::Backup);
    instance.handle_timeout(clock.ms(3000));
    let actions = drain(&mut instance);
    assert_eq!(
        transitions(&actions),
        vec![(State::Backup, State::Master, TransitionReason::Startup)]
    );
    assert_eq!(sent_priorities(&actions), vec![255]);
}

#[test]
fn nothing_makes_a_held_instance_master_before_the_hold_ends() {
    let clock = Clock::new();
    let hold = Duration::from_secs(3);
    // A priority raised to 255 waits for the end.
    let mut instance = held_at_startup(v3_config(100), hold, &clock);
    instance
        .handle_command(clock.ms(500), Command::SetPriority(priority(255)))
        .unwrap();
    assert_eq!(instance.state(), State::Backup);
    assert_eq!(instance.poll_timeout(), Some(clock.ms(3000)));
    // A sync group's move waits for the member's own timer.
    let mut instance = held_at_startup(v3_config(100), hold, &clock);
    instance
        .handle_command(clock.ms(500), Command::FollowGroupToMaster)
        .unwrap();
    assert_eq!(instance.state(), State::Backup);
    // An owner that leaves Fault during the hold waits too.
    let mut instance = Instance::new(v3_config(255)).unwrap();
    instance
        .handle_command(clock.ms(0), Command::HoldMastership(hold))
        .unwrap();
    instance
        .handle_command(clock.ms(0), Command::EnterFault(FaultCause::InterfaceDown))
        .unwrap();
    instance
        .handle_command(clock.ms(1000), Command::ClearFault)
        .unwrap();
    assert_eq!(instance.state(), State::Backup);
    assert_eq!(instance.poll_timeout(), Some(clock.ms(3000)));
    // Once past, the same owner leaves Fault straight for Master.
    instance
        .handle_command(
            clock.ms(3100),
            Command::EnterFault(FaultCause::InterfaceDown),
        )
        .unwrap();
    instance
        .handle_command(clock.ms(3200), Command::ClearFault)
        .unwrap();
    assert_eq!(instance.state(), State::Master);
}

#[test]
fn only_a_new_configuration_ends_a_fault_for_want_of_unicast_peers() {
    // keepalived's unicast_fault_no_peer: nothing the instance hears or sees clears it.
    let clock = Clock::new();
    let mut instance = Instance::new(v3_config(255)).unwrap();
    instance
        .handle_command(clock.ms(0), Command::EnterFault(FaultCause::NoUnicastPeers))
        .unwrap();
    instance
        .handle_command(clock.ms(100), Command::ClearFault)
        .unwrap();
    instance
        .handle_command(
            clock.ms(200),
            Command::EnterFault(FaultCause::InterfaceDown),
        )
        .unwrap();
    instance
        .handle_command(clock.ms(300), Command::ClearFault)
        .unwrap();
    assert_eq!(instance.state(), State::Fault);
    assert_eq!(instance.poll_timeout(), None);
    assert_eq!(
        transitions(&drain(&mut instance)),
        vec![(
            State::Initialize,
            State::Fault,
            TransitionReason::Fault(FaultCause::NoUnicastPeers)
        )]
    );
}

#[test]
fn down_timer_adverts_counts_that_many_intervals_before_the_skew_like_keepalived() {
    let clock = Clock::new();
    let mut config = v3_config(100);
    config.down_timer_adverts = DownTimerAdverts::new(1).unwrap();
    let mut instance = started(config.clone(), &clock);
    let skew = Duration::from_nanos(609_375_000);
    assert_eq!(
        instance.master_down_interval(),
        Duration::from_secs(1) + skew
    );
    assert_eq!(
        instance.poll_timeout(),
        Some(clock.ms(0) + Duration::from_secs(1) + skew)
    );
    instance
        .handle_packet(clock.ms(500), ip("192.0.2.20"), &advert_like(&config, 150))
        .unwrap();
    assert_eq!(
        instance.poll_timeout(),
        Some(clock.ms(1500) + skew),
        "one missed advert after the master's last"
    );
}

#[test]
fn preempt_delay_starts_at_the_first_lower_priority_advert_after_leaving_master() {
    let clock = Clock::new();
    let mut config = v3_config(150);
    config.preempt_delay = Duration::from_secs(2);
    let mut instance = master(config.clone(), &clock);
    instance
        .handle_packet(
            clock.ms(10_000),
            ip("192.0.2.30"),
            &advert_like(&config, 200),
        )
        .unwrap();
    assert_eq!(instance.state(), State::Backup);
    let down = instance.master_down_interval();
    let lower = ip("192.0.2.20");
    for at in [11_000, 12_999] {
        instance
            .handle_packet(clock.ms(at), lower, &advert_like(&config, 100))
            .unwrap();
        assert_eq!(instance.poll_timeout(), Some(clock.ms(at) + down));
    }
    instance
        .handle_packet(clock.ms(13_000), lower, &advert_like(&config, 100))
        .unwrap();
    assert_eq!(instance.poll_timeout(), Some(clock.ms(12_999) + down));
}

#[test]
fn backup_shutdown_goes_to_initialize_without_sending_rfc9568_6_4_2() {
    let clock = Clock::new();
    let mut instance = started(v3_config(100), &clock);
    instance
        .handle_command(clock.ms(5), Command::Shutdown)
        .unwrap();
    let actions = drain(&mut instance);
    assert_eq!(
        transitions(&actions),
        vec![(State::Backup, State::Initialize, TransitionReason::Shutdown)]
    );
    assert!(sent_priorities(&actions).is_empty());
    assert_eq!(instance.poll_timeout(), None);
    instance
        .handle_command(clock.ms(6), Command::Shutdown)
        .unwrap();
    assert!(drain(&mut instance).is_empty(), "shutdown is idempotent");
}

// ---- Master (§6.4.3) ----

#[test]
fn master_advertises_each_time_adver_timer_fires_rfc9568_6_4_3() {
    let clock = Clock::new();
    let mut instance = started(v3_config(255), &clock);
    for n in 1..=3 {
        instance.handle_timeout(clock.ms(1000 * n));
        assert_eq!(sent_priorities(&drain(&mut instance)), vec![255]);
        assert_eq!(instance.poll_timeout(), Some(clock.ms(1000 * (n + 1))));
    }
    assert_eq!(instance.counters().adverts_sent, 4);
}

#[test]
fn master_answers_priority_zero_with_an_advert_at_once_rfc9568_6_4_3() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = master(config.clone(), &clock);
    let now = clock.ms(4000);
    instance
        .handle_packet(now, ip("192.0.2.20"), &advert_like(&config, 0))
        .unwrap();
    assert_eq!(sent_priorities(&drain(&mut instance)), vec![100]);
    assert_eq!(instance.state(), State::Master);
    assert_eq!(instance.poll_timeout(), Some(now + Duration::from_secs(1)));
}

#[test]
fn master_yields_to_higher_priority_removes_addresses_and_learns_interval_rfc9568_6_4_3() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = master(config.clone(), &clock);
    let mut advert = advert_like(&config, 101);
    advert.advert_interval = centis(50);
    let now = clock.ms(5000);
    instance
        .handle_packet(now, ip("192.0.2.5"), &advert)
        .unwrap();
    let actions = drain(&mut instance);
    assert_eq!(
        transitions(&actions),
        vec![(
            State::Master,
            State::Backup,
            TransitionReason::HigherPriorityAdvert
        )]
    );
    assert!(removes_addresses(&actions));
    // Adverts with our own priority first (keepalived's higher_prio_send_advert, three
    // times as nothing acknowledges them), so the master that stays hears a lower priority
    // and announces; none after that.
    assert_eq!(sent_priorities(&actions), vec![100, 100, 100]);
    assert!(
        matches!(actions[0], Action::SendAdvertisement(_)),
        "the advert goes before the transition: {actions:?}"
    );
    assert_eq!(instance.master_adver_interval(), centis(50));
    let down = master_down_interval(
        Version::V3,
        priority(100),
        centis(50),
        DownTimerAdverts::RFC,
    );
    assert_eq!(instance.poll_timeout(), Some(now + down));
}

#[test]
fn master_yields_to_equal_priority_from_higher_ipv4_address_rfc9568_6_4_3() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = master(config.clone(), &clock);
    instance
        .handle_packet(clock.ms(5000), ip("192.0.2.11"), &advert_like(&config, 100))
        .unwrap();
    assert_eq!(instance.state(), State::Backup);
}

#[test]
fn master_keeps_mastership_against_equal_priority_from_lower_ipv4_address_rfc9568_6_4_3() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = master(config.clone(), &clock);
    instance
        .handle_packet(clock.ms(5000), ip("192.0.2.9"), &advert_like(&config, 100))
        .unwrap();
    assert_eq!(instance.state(), State::Master);
    assert_eq!(sent_priorities(&drain(&mut instance)), vec![100]);
}

#[test]
fn master_ties_by_ipv6_address_compared_as_unsigned_integers_rfc9568_6_4_3() {
    let clock = Clock::new();
    let config = v6_config(100);
    let mut keeps = master(config.clone(), &clock);
    keeps
        .handle_packet(clock.ms(5000), ip("fe80::f"), &advert_like(&config, 100))
        .unwrap();
    assert_eq!(keeps.state(), State::Master);
    let mut yields = master(config.clone(), &clock);
    yields
        .handle_packet(clock.ms(5000), ip("fe80::1:0"), &advert_like(&config, 100))
        .unwrap();
    assert_eq!(yields.state(), State::Backup);
}

#[test]
fn master_answers_lower_priority_with_an_advert_at_once_like_keepalived() {
    let clock = Clock::new();
    let config = v3_config(200);
    let mut instance = master(config.clone(), &clock);
    let now = clock.ms(4200);
    instance
        .handle_packet(now, ip("192.0.2.99"), &advert_like(&config, 100))
        .unwrap();
    assert_eq!(sent_priorities(&drain(&mut instance)), vec![200]);
    assert_eq!(instance.state(), State::Master);
    assert_eq!(instance.poll_timeout(), Some(now + Duration::from_secs(1)));
}

/// After a partition heals, hosts may still send to the second master, which stops answering
/// for the addresses: the master that stayed master announces them again (keepalived's
/// default; its issue 166), but not for priority 0, which comes from a master stopping.
#[test]
fn master_announces_its_addresses_again_on_lower_priority_like_keepalived() {
    let clock = Clock::new();
    let config = v3_config(200);
    let mut instance = master(config.clone(), &clock);
    instance
        .handle_packet(clock.ms(4200), ip("192.0.2.99"), &advert_like(&config, 100))
        .unwrap();
    let announced: Vec<Vec<IpAddr>> = drain(&mut instance)
        .into_iter()
        .filter_map(|action| match action {
            Action::Announce(addresses) => Some(addresses),
            _ => None,
        })
        .collect();
    assert_eq!(announced, vec![config.virtual_addresses.clone()]);

    // At most two announcements per interval (1 s here) as they arrive, however many
    // lower-priority adverts come.
    let announcements = |instance: &mut Instance| {
        drain(instance)
            .into_iter()
            .filter(|action| matches!(action, Action::Announce(_)))
            .count()
    };
    instance
        .handle_packet(clock.ms(4250), ip("192.0.2.99"), &advert_like(&config, 100))
        .unwrap();
    assert_eq!(
        announcements(&mut instance),
        1,
        "the second within the interval"
    );
    for at in [4700, 5199] {
        instance
            .handle_packet(clock.ms(at), ip("192.0.2.99"), &advert_like(&config, 100))
            .unwrap();
        assert_eq!(announcements(&mut instance), 0, "at {at} ms");
    }
    instance
        .handle_packet(clock.ms(5200), ip("192.0.2.99"), &advert_like(&config, 100))
        .unwrap();
    assert_eq!(announcements(&mut instance), 1);

    instance
        .handle_packet(clock.ms(6300), ip("192.0.2.99"), &advert_like(&config, 0))
        .unwrap();
    let actions = drain(&mut instance);
    assert!(
        !actions
            .iter()
            .any(|action| matches!(action, Action::Announce(_))),
        "{actions:?}"
    );
}

/// A second master is heard twice in quick succession, by its takeover advert and by the
/// adverts it sends as it steps down; its own announcement, queued behind its address
/// install, can reach the hosts between the two, so the second is announced at once too
/// (deferring it stranded the chaos lab's client for an interval). Past two announcements
/// within an interval, a lower priority is answered with the next advert, not dropped.
#[test]
fn a_lower_priority_heard_soon_after_two_announcements_is_announced_with_the_next_advert() {
    let clock = Clock::new();
    let config = v3_config(200);
    let mut instance = master(config.clone(), &clock);
    let announcements = |actions: &[Action]| {
        actions
            .iter()
            .filter(|action| matches!(action, Action::Announce(_)))
            .count()
    };
    instance
        .handle_packet(clock.ms(4200), ip("192.0.2.99"), &advert_like(&config, 100))
        .unwrap();
    assert_eq!(announcements(&drain(&mut instance)), 1);
    // The same second master stepping down, with its own priority: announced at once.
    instance
        .handle_packet(clock.ms(4203), ip("192.0.2.99"), &advert_like(&config, 100))
        .unwrap();
    assert_eq!(announcements(&drain(&mut instance)), 1);
    instance
        .handle_packet(clock.ms(4204), ip("192.0.2.98"), &advert_like(&config, 150))
        .unwrap();
    assert_eq!(announcements(&drain(&mut instance)), 0);
    // advertise_now moved the Adver_Timer to one interval after the third advert.
    let next = instance
        .poll_timeout()
        .expect("a master runs its Adver_Timer");
    assert_eq!(next, clock.ms(5204));
    instance.handle_timeout(next);
    let actions = drain(&mut instance);
    assert_eq!(sent_priorities(&actions), vec![200]);
    assert_eq!(announcements(&actions), 1);
    // Only once: the advert after that announces nothing.
    let next = instance
        .poll_timeout()
        .expect("a master runs its Adver_Timer");
    instance.handle_timeout(next);
    assert_eq!(announcements(&drain(&mut instance)), 0);
}

#[test]
fn master_shutdown_sends_priority_zero_and_removes_addresses_rfc9568_6_4_3() {
    let clock = Clock::new();
    let mut instance = master(v3_config(100), &clock);
    instance
        .handle_command(clock.ms(5000), Command::Shutdown)
        .unwrap();
    let actions = drain(&mut instance);
    assert_eq!(sent_priorities(&actions), vec![0]);
    assert!(removes_addresses(&actions));
    assert_eq!(
        transitions(&actions),
        vec![(State::Master, State::Initialize, TransitionReason::Shutdown)]
    );
    assert_eq!(instance.poll_timeout(), None);
    assert_eq!(instance.counters().priority_zero_sent, 1);
}

#[test]
fn accept_mode_lets_a_non_owner_master_accept_vip_traffic_rfc9568_6_4_3() {
    let clock = Clock::new();
    let mut config = v3_config(100);
    assert!(!started(config.clone(), &clock).accepts_vip_traffic());
    assert!(!master(config.clone(), &clock).accepts_vip_traffic());
    config.accept_mode = true;
    assert!(!started(config.clone(), &clock).accepts_vip_traffic());
    assert!(master(config, &clock).accepts_vip_traffic());
    assert!(
        started(v3_config(255), &clock).accepts_vip_traffic(),
        "the owner always does"
    );
}

// ---- Fault ----

#[test]
fn fault_from_master_sends_priority_zero_and_removes_addresses() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = master(config.clone(), &clock);
    instance
        .handle_command(clock.ms(5000), Command::EnterFault(FaultCause::CheckFailed))
        .unwrap();
    let actions = drain(&mut instance);
    assert_eq!(sent_priorities(&actions), vec![0]);
    assert!(removes_addresses(&actions));
    assert_eq!(
        transitions(&actions),
        vec![(
            State::Master,
            State::Fault,
            TransitionReason::Fault(FaultCause::CheckFailed)
        )]
    );
    assert_eq!(instance.poll_timeout(), None, "nothing is sent in Fault");
    assert_eq!(
        instance.handle_packet(clock.ms(5100), ip("192.0.2.20"), &advert_like(&config, 200)),
        Err(DropReason::NotRunning)
    );
}

#[test]
fn leaving_fault_goes_to_backup_and_forgets_the_learned_interval() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = started(config.clone(), &clock);
    let mut advert = advert_like(&config, 200);
    advert.advert_interval = centis(10);
    instance
        .handle_packet(clock.ms(10), ip("192.0.2.20"), &advert)
        .unwrap();
    instance
        .handle_command(clock.ms(20), Command::EnterFault(FaultCause::InterfaceDown))
        .unwrap();
    let actions = drain(&mut instance);
    assert!(sent_priorities(&actions).is_empty());
    instance
        .handle_command(clock.ms(30), Command::ClearFault)
        .unwrap();
    assert_eq!(
        transitions(&drain(&mut instance)),
        vec![(State::Fault, State::Backup, TransitionReason::FaultCleared)]
    );
    assert_eq!(instance.master_adver_interval(), centis(100));
    assert_eq!(
        instance.poll_timeout(),
        Some(clock.ms(30) + Duration::from_nanos(3_609_375_000))
    );
}

#[test]
fn owner_leaving_fault_goes_straight_to_master() {
    let clock = Clock::new();
    let mut instance = started(v3_config(255), &clock);
    instance
        .handle_command(clock.ms(10), Command::EnterFault(FaultCause::InterfaceDown))
        .unwrap();
    instance
        .handle_command(clock.ms(20), Command::ClearFault)
        .unwrap();
    let actions = drain(&mut instance);
    assert_eq!(
        transitions(&actions).last(),
        Some(&(State::Fault, State::Master, TransitionReason::FaultCleared))
    );
    assert!(
        actions
            .iter()
            .any(|action| matches!(action, Action::InstallAddresses(_)))
    );
}

// ---- Resign (make-before-break) ----

#[test]
fn resign_sends_priority_zero_but_keeps_addresses_until_successor_is_heard() {
    let clock = Clock::new();
    let config = v3_config(200);
    let mut instance = master(config.clone(), &clock);
    instance
        .handle_command(clock.ms(5000), Command::Resign { hold_down: None })
        .unwrap();
    let actions = drain(&mut instance);
    assert_eq!(sent_priorities(&actions), vec![0]);
    assert!(!removes_addresses(&actions));
    assert!(instance.is_resigning());
    assert_eq!(instance.state(), State::Master);
    // The successor (lower priority) takes over after its skew and advertises.
    let successor = ip("192.0.2.20");
    instance
        .handle_packet(clock.ms(5600), successor, &advert_like(&config, 100))
        .unwrap();
    let actions = drain(&mut instance);
    assert!(removes_addresses(&actions));
    assert_eq!(
        transitions(&actions),
        vec![(State::Master, State::Backup, TransitionReason::Resigned)]
    );
    // And we do not preempt the lower-priority successor afterwards.
    let later = clock.ms(6600);
    instance
        .handle_packet(later, successor, &advert_like(&config, 100))
        .unwrap();
    assert_eq!(
        instance.poll_timeout(),
        Some(later + instance.master_down_interval())
    );
}

#[test]
fn resign_with_a_hold_down_preempts_the_successor_again_once_it_ends() {
    let clock = Clock::new();
    let config = v3_config(200);
    let mut instance = master(config.clone(), &clock);
    instance
        .handle_command(
            clock.ms(5000),
            Command::Resign {
                hold_down: Some(Duration::from_secs(2)),
            },
        )
        .unwrap();
    let successor = ip("192.0.2.20");
    instance
        .handle_packet(clock.ms(5600), successor, &advert_like(&config, 100))
        .unwrap();
    drain(&mut instance);
    assert_eq!(instance.state(), State::Backup);
    // Within the hold-down the successor's adverts are accepted: the timer restarts.
    let within = clock.ms(6900);
    instance
        .handle_packet(within, successor, &advert_like(&config, 100))
        .unwrap();
    assert_eq!(
        instance.poll_timeout(),
        Some(within + instance.master_down_interval())
    );
    // After it, Preempt_Mode discards them, and the timer last set takes us back.
    let deadline = instance.poll_timeout().expect("the master-down timer runs");
    instance
        .handle_packet(clock.ms(7100), successor, &advert_like(&config, 100))
        .unwrap();
    assert_eq!(instance.poll_timeout(), Some(deadline));
    instance.handle_timeout(deadline);
    assert_eq!(
        transitions(&drain(&mut instance)),
        vec![(
            State::Backup,
            State::Master,
            TransitionReason::PreemptedLowerPriorityMaster
        )]
    );
}

#[test]
fn resign_without_hold_down_ends_when_the_successor_lowers_its_priority() {
    // A sync group hands over this way: the yield keeps two hosts that rank the members
    // differently from taking the group from each other in turn, but must not outlive a
    // successor whose own priority fell (its check failed).
    let clock = Clock::new();
    let config = v3_config(150);
    let mut instance = master(config.clone(), &clock);
    instance
        .handle_command(clock.ms(5000), Command::Resign { hold_down: None })
        .unwrap();
    let successor = ip("192.0.2.20");
    instance
        .handle_packet(clock.ms(5600), successor, &advert_like(&config, 200))
        .unwrap();
    drain(&mut instance);
    assert_eq!(instance.state(), State::Backup);
    // Its adverts at an unchanged priority keep the yield: the timer restarts.
    let within = clock.ms(6600);
    instance
        .handle_packet(within, successor, &advert_like(&config, 200))
        .unwrap();
    assert_eq!(
        instance.poll_timeout(),
        Some(within + instance.master_down_interval())
    );
    // The successor drops to 100, below our 150: its advert is discarded as Preempt_Mode
    // says, and the timer last set takes us back.
    let deadline = instance.poll_timeout().expect("the master-down timer runs");
    instance
        .handle_packet(clock.ms(7600), successor, &advert_like(&config, 100))
        .unwrap();
    assert_eq!(instance.poll_timeout(), Some(deadline));
    instance.handle_timeout(deadline);
    assert_eq!(
        transitions(&drain(&mut instance)),
        vec![(
            State::Backup,
            State::Master,
            TransitionReason::PreemptedLowerPriorityMaster
        )]
    );
}

#[test]
fn resign_without_successor_lets_go_after_master_down_interval_repeating_priority_zero() {
    let clock = Clock::new();
    let mut instance = master(v3_config(200), &clock);
    let start = clock.ms(5000);
    instance
        .handle_command(start, Command::Resign { hold_down: None })
        .unwrap();
    drain(&mut instance);
    let deadline = start + instance.master_down_interval();
    let mut repeats = 0;
    while let Some(next) = instance.poll_timeout() {
        if next >= deadline {
            break;
        }
        instance.handle_timeout(next);
        assert_eq!(sent_priorities(&drain(&mut instance)), vec![0]);
        repeats += 1;
    }
    assert_eq!(repeats, 3, "priority 0 again at each Adver_Timer");
    instance.handle_timeout(deadline);
    assert!(removes_addresses(&drain(&mut instance)));
    assert_eq!(instance.state(), State::Backup);
}

#[test]
fn only_a_master_can_resign() {
    let clock = Clock::new();
    let mut instance = started(v3_config(100), &clock);
    assert_eq!(
        instance.handle_command(clock.ms(1), Command::Resign { hold_down: None }),
        Err(CommandRejected::NotMaster(State::Backup))
    );
}

// ---- SetPriority ----

#[test]
fn backup_set_to_owner_priority_takes_over_at_once_rfc9568_6_4_1() {
    let clock = Clock::new();
    let mut instance = started(v3_config(100), &clock);
    instance
        .handle_command(clock.ms(100), Command::SetPriority(Priority::OWNER))
        .unwrap();
    assert_eq!(
        transitions(&drain(&mut instance)),
        vec![(
            State::Backup,
            State::Master,
            TransitionReason::PriorityChanged
        )]
    );
}

#[test]
fn backup_priority_change_recomputes_timers_keeping_the_earlier_deadline() {
    let clock = Clock::new();
    let mut instance = started(v3_config(1), &clock);
    let before = instance.poll_timeout().unwrap();
    instance
        .handle_command(clock.ms(0), Command::SetPriority(priority(254)))
        .unwrap();
    let down = Duration::from_nanos(3_007_812_500);
    assert_eq!(instance.master_down_interval(), down);
    assert_eq!(instance.poll_timeout(), Some(clock.ms(0) + down));
    assert!(clock.ms(0) + down < before);
    instance
        .handle_command(clock.ms(0), Command::SetPriority(priority(1)))
        .unwrap();
    assert_eq!(
        instance.poll_timeout(),
        Some(clock.ms(0) + down),
        "a later deadline is not taken"
    );
}

#[test]
fn master_priority_change_is_advertised_at_once() {
    let clock = Clock::new();
    let mut instance = master(v3_config(200), &clock);
    instance
        .handle_command(clock.ms(5000), Command::SetPriority(priority(50)))
        .unwrap();
    assert_eq!(sent_priorities(&drain(&mut instance)), vec![50]);
    assert_eq!(instance.priority(), priority(50));
}

// ---- Receive checks (§7.1, RFC 3768 §7.1) ----

#[test]
fn advert_in_initialize_is_dropped_as_not_running() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = Instance::new(config.clone()).unwrap();
    assert_eq!(
        instance.handle_packet(clock.ms(0), ip("192.0.2.20"), &advert_like(&config, 100)),
        Err(DropReason::NotRunning)
    );
    assert_eq!(instance.counters().dropped(DropReason::NotRunning), 1);
}

#[test]
fn advert_of_other_version_is_dropped_rfc9568_7_1() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = started(config.clone(), &clock);
    let mut advert = advert_like(&config, 200);
    advert.version = Version::V2;
    assert_eq!(
        instance.handle_packet(clock.ms(1), ip("192.0.2.20"), &advert),
        Err(DropReason::WrongVersion)
    );
    assert_eq!(instance.counters().dropped(DropReason::WrongVersion), 1);
}

#[test]
fn advert_of_other_family_is_dropped_rfc9568_1() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = started(config.clone(), &clock);
    assert_eq!(
        instance.handle_packet(clock.ms(1), ip("fe80::20"), &advert_like(&config, 200)),
        Err(DropReason::WrongFamily)
    );
    let mut advert = advert_like(&config, 200);
    advert.addresses = vec![ip("2001:db8::1")];
    assert_eq!(
        instance.handle_packet(clock.ms(1), ip("192.0.2.20"), &advert),
        Err(DropReason::WrongFamily)
    );
    assert_eq!(instance.counters().dropped(DropReason::WrongFamily), 2);
}

#[test]
fn advert_for_other_vrid_is_dropped_rfc9568_7_1() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = started(config.clone(), &clock);
    let mut advert = advert_like(&config, 200);
    advert.vrid = VRID + 1;
    assert_eq!(
        instance.handle_packet(clock.ms(1), ip("192.0.2.20"), &advert),
        Err(DropReason::WrongVrid)
    );
    assert_eq!(instance.counters().dropped(DropReason::WrongVrid), 1);
}

#[test]
fn our_own_advert_is_dropped() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = master(config.clone(), &clock);
    assert_eq!(
        instance.handle_packet(clock.ms(4000), ip("192.0.2.10"), &advert_like(&config, 100)),
        Err(DropReason::OwnAdvertisement)
    );
    assert_eq!(instance.counters().dropped(DropReason::OwnAdvertisement), 1);
}

#[test]
fn advert_without_addresses_is_dropped_rfc9568_5_2_5() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = started(config.clone(), &clock);
    let mut advert = advert_like(&config, 200);
    advert.addresses.clear();
    assert_eq!(
        instance.handle_packet(clock.ms(1), ip("192.0.2.20"), &advert),
        Err(DropReason::EmptyAddressList)
    );
    assert_eq!(instance.counters().dropped(DropReason::EmptyAddressList), 1);
}

/// keepalived runs a VRRPv2 instance without addresses (cloud setups that move an address
/// from notify programs); such an instance hears its peers' adverts, which list none, and
/// a VRRPv3 one is refused, as keepalived refuses it.
#[test]
fn a_v2_instance_without_addresses_hears_adverts_listing_none() {
    let clock = Clock::new();
    let mut config = v2_config(100);
    config.virtual_addresses.clear();
    assert_eq!(config.validate(), Ok(()));
    let mut instance = started(config.clone(), &clock);
    let advert = advert_like(&config, 200);
    assert!(advert.addresses.is_empty());
    instance
        .handle_packet(clock.ms(1000), ip("192.0.2.20"), &advert)
        .unwrap();
    assert_eq!(instance.master_address(), Some(ip("192.0.2.20")));
    let mut v3 = v3_config(100);
    v3.virtual_addresses.clear();
    assert_eq!(v3.validate(), Err(InstanceConfigError::NoVirtualAddresses));
}

#[test]
fn v2_advert_with_other_authentication_is_dropped_rfc3768_7_1() {
    let clock = Clock::new();
    let config = v2_config(100);
    let mut instance = started(config.clone(), &clock);
    let mut advert = advert_like(&config, 200);
    advert.auth = Auth::SimplePassword(*b"guess\0\0\0");
    assert_eq!(
        instance.handle_packet(clock.ms(1), ip("192.0.2.20"), &advert),
        Err(DropReason::AuthMismatch)
    );
    advert.auth = Auth::None;
    assert_eq!(
        instance.handle_packet(clock.ms(1), ip("192.0.2.20"), &advert),
        Err(DropReason::AuthMismatch)
    );
    assert_eq!(instance.counters().dropped(DropReason::AuthMismatch), 2);
    assert_eq!(instance.counters().adverts_received, 0);
}

#[test]
fn address_list_mismatch_is_accepted_and_counted_rfc9568_7_1() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = started(config.clone(), &clock);
    let mut advert = advert_like(&config, 200);
    advert.addresses = vec![ip("192.0.2.101")];
    instance
        .handle_packet(clock.ms(1000), ip("192.0.2.20"), &advert)
        .unwrap();
    assert_eq!(
        instance.poll_timeout(),
        Some(clock.ms(1000) + instance.master_down_interval())
    );
    assert_eq!(instance.counters().address_list_mismatches, 1);
    assert_eq!(instance.counters().adverts_received, 1);
    assert_eq!(instance.counters().dropped_total(), 0);
}

/// A reload's new address list is what the instance advertises and compares received
/// advertisements with; the state and its timers do not move.
#[test]
fn new_virtual_addresses_are_advertised_and_checked_from_then_on_rfc9568_7_1() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut backup = started(config.clone(), &clock);
    let mut master = master(v3_config(200), &clock);
    let reloaded = vec![ip("192.0.2.100"), ip("192.0.2.101")];
    backup.set_virtual_addresses(reloaded.clone()).unwrap();
    master.set_virtual_addresses(reloaded.clone()).unwrap();
    assert_eq!(backup.config().virtual_addresses, reloaded);
    assert_eq!(master.state(), State::Master);
    assert!(
        drain(&mut master).is_empty(),
        "a new list alone sends nothing"
    );

    let deadline = master
        .poll_timeout()
        .expect("a master runs its advert timer");
    master.handle_timeout(deadline);
    let sent = drain(&mut master);
    let advert = sent
        .iter()
        .find_map(|action| match action {
            Action::SendAdvertisement(advert) => Some(advert.clone()),
            _ => None,
        })
        .expect("the advert timer sends an advertisement");
    assert_eq!(advert.addresses, reloaded);

    backup
        .handle_packet(deadline, ip("192.0.2.20"), &advert)
        .unwrap();
    assert_eq!(backup.counters().address_list_mismatches, 0);
    let mut old_list = advert.clone();
    old_list.addresses = config.virtual_addresses.clone();
    backup
        .handle_packet(deadline, ip("192.0.2.20"), &old_list)
        .unwrap();
    assert_eq!(backup.counters().address_list_mismatches, 1);
}

#[test]
fn new_virtual_addresses_that_break_the_rules_are_refused_and_change_nothing() {
    let clock = Clock::new();
    let config = v3_config(100);
    let mut instance = started(config.clone(), &clock);
    assert_eq!(
        instance.set_virtual_addresses(Vec::new()),
        Err(InstanceConfigError::NoVirtualAddresses)
    );
    assert_eq!(
        instance.set_virtual_addresses(vec![ip("2001:db8::100")]),
        Err(InstanceConfigError::MixedFamilies(ip("2001:db8::100")))
    );
    assert_eq!(
        instance.config().virtual_addresses,
        config.virtual_addresses
    );
}

#[test]
fn owner_processes_adverts_so_duplicate_owners_settle_rfc9568_7_1_erratum_8298() {
    let clock = Clock::new();
    let config = v3_config(255);
    let mut instance = started(config.clone(), &clock);
    instance
        .handle_packet(clock.ms(100), ip("192.0.2.11"), &advert_like(&config, 255))
        .unwrap();
    assert_eq!(instance.state(), State::Backup, "the higher address wins");
    assert_eq!(instance.counters().owner_conflicts, 1);
}

// ---- Configuration ----

#[test]
fn configurations_the_protocol_cannot_run_are_refused() {
    let mut v2_ipv6 = v6_config(100);
    v2_ipv6.version = Version::V2;
    assert_eq!(
        Instance::new(v2_ipv6).unwrap_err(),
        InstanceConfigError::V2IsIpv4Only
    );
    let mut v2_fraction = v2_config(100);
    v2_fraction.advert_interval = centis(150);
    assert_eq!(
        Instance::new(v2_fraction).unwrap_err(),
        InstanceConfigError::V2IntervalNotWholeSeconds(centis(150))
    );
    let mut vrid_zero = v3_config(100);
    vrid_zero.vrid = 0;
    assert_eq!(
        Instance::new(vrid_zero).unwrap_err(),
        InstanceConfigError::VridZero
    );
    let mut mixed = v3_config(100);
    mixed.virtual_addresses.push(ip("2001:db8::1"));
    assert_eq!(
        Instance::new(mixed).unwrap_err(),
        InstanceConfigError::MixedFamilies(ip("2001:db8::1"))
    );
    let mut v3_auth = v3_config(100);
    v3_auth.auth = Auth::SimplePassword([0; 8]);
    assert_eq!(
        Instance::new(v3_auth).unwrap_err(),
        InstanceConfigError::V3HasNoAuthentication
    );
    let mut empty = v3_config(100);
    empty.virtual_addresses.clear();
    assert_eq!(
        Instance::new(empty).unwrap_err(),
        InstanceConfigError::NoVirtualAddresses
    );
}

// ---- Sync groups (keepalived's vrrp_sync_group) ----

#[test]
fn a_backup_follows_its_group_to_master_at_once() {
    let clock = Clock::new();
    let mut instance = started(v3_config(100), &clock);
    instance
        .handle_command(clock.ms(5), Command::FollowGroupToMaster)
        .expect("always accepted");
    let actions = drain(&mut instance);
    assert_eq!(
        transitions(&actions),
        [(State::Backup, State::Master, TransitionReason::SyncGroup)]
    );
    assert_eq!(sent_priorities(&actions), [100]);
    assert!(
        actions
            .iter()
            .any(|action| matches!(action, Action::InstallAddresses(_)))
    );
}

#[test]
fn a_handing_over_master_stays_when_its_group_goes_master() {
    let clock = Clock::new();
    let mut instance = master(v3_config(100), &clock);
    instance
        .handle_command(clock.ms(5000), Command::Resign { hold_down: None })
        .expect("a master resigns");
    drain(&mut instance);
    assert!(instance.is_resigning());
    instance
        .handle_command(clock.ms(5010), Command::FollowGroupToMaster)
        .expect("always accepted");
    let actions = drain(&mut instance);
    assert!(!instance.is_resigning());
    assert_eq!(instance.state(), State::Master);
    assert_eq!(transitions(&actions), []);
    // Its real priority at once, so the successor's Skew_Time ends in a backup.
    assert_eq!(sent_priorities(&actions), [100]);
}

#[test]
fn following_the_group_to_master_does_nothing_in_fault_or_initialize() {
    let clock = Clock::new();
    let mut instance = started(v3_config(100), &clock);
    instance
        .handle_command(clock.ms(1), Command::EnterFault(FaultCause::SyncGroup))
        .expect("always accepted");
    drain(&mut instance);
    instance
        .handle_command(clock.ms(2), Command::FollowGroupToMaster)
        .expect("always accepted");
    assert_eq!(drain(&mut instance), []);
    assert_eq!(instance.state(), State::Fault);
}

/// Strict mode (keepalived 2.2.7's `vrrp_strict`, vrrp.c `vrrp_complete_instance`): a
/// master that hears a lower priority only discards it (RFC 9568 §6.4.3), with no advert
/// and no announcement, and the advert timer is left as it was.
#[test]
fn strict_master_discards_lower_priority_without_advert_or_announcement_rfc9568_6_4_3() {
    let clock = Clock::new();
    let mut config = v3_config(200);
    config.apply_strict_mode();
    let mut instance = master(config.clone(), &clock);
    let timer = instance.poll_timeout();
    instance
        .handle_packet(clock.ms(3500), ip("192.0.2.99"), &advert_like(&config, 100))
        .unwrap();
    // Reported for notify_master_rx_lower_pri, which strict mode leaves alone.
    assert_eq!(
        drain(&mut instance),
        vec![Action::LowerPriorityHeard {
            from: ip("192.0.2.99"),
            priority: 100
        }]
    );
    assert_eq!(instance.state(), State::Master);
    assert_eq!(instance.poll_timeout(), timer);
    // Priority 0 is still answered at once: RFC 9568 §6.4.3 asks for that.
    let now = clock.ms(3600);
    instance
        .handle_packet(now, ip("192.0.2.99"), &advert_like(&config, 0))
        .unwrap();
    assert_eq!(sent_priorities(&drain(&mut instance)), vec![200]);
    assert_eq!(instance.poll_timeout(), Some(now + Duration::from_secs(1)));
}

/// Strict mode: a master steps down for a higher priority without a last advert of its own
/// (keepalived's `higher_prio_send_advert` is forced off).
#[test]
fn strict_master_steps_down_for_higher_priority_without_sending_rfc9568_6_4_3() {
    let clock = Clock::new();
    let mut config = v3_config(100);
    config.apply_strict_mode();
    let mut instance = master(config.clone(), &clock);
    instance
        .handle_packet(clock.ms(5000), ip("192.0.2.5"), &advert_like(&config, 101))
        .unwrap();
    let actions = drain(&mut instance);
    assert_eq!(sent_priorities(&actions), Vec::<u8>::new());
    assert!(removes_addresses(&actions));
    assert_eq!(instance.state(), State::Backup);
}

/// Each of strict mode's answers is a switch of its own, for the keywords that set one of
/// them outside strict mode: no advert on a lower priority still announces.
#[test]
fn lower_priority_announcement_without_the_advert() {
    let clock = Clock::new();
    let mut config = v3_config(200);
    config.advertise_on_lower_priority = false;
    let mut instance = master(config.clone(), &clock);
    instance
        .handle_packet(clock.ms(3500), ip("192.0.2.99"), &advert_like(&config, 100))
        .unwrap();
    let actions = drain(&mut instance);
    assert_eq!(sent_priorities(&actions), Vec::<u8>::new());
    assert_eq!(
        actions,
        vec![
            Action::LowerPriorityHeard {
                from: ip("192.0.2.99"),
                priority: 100
            },
            Action::Announce(config.virtual_addresses.clone())
        ]
    );
}

fn lower_priorities_heard(actions: &[Action]) -> Vec<(IpAddr, u8)> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::LowerPriorityHeard { from, priority } => Some((*from, *priority)),
            _ => None,
        })
        .collect()
}

/// keepalived's `notify_master_rx_lower_pri` (`vrrp_state_master_rx()` in
/// `keepalived/vrrp/vrrp.c`): a master reports every advert with a lower priority, or ours
/// from a lower address; not priority 0 (a master stopping), not a higher priority (it steps
/// down), and not as backup.
#[test]
fn master_reports_each_lower_priority_it_hears_like_keepalived() {
    let clock = Clock::new();
    let config = v3_config(200);
    let mut instance = master(config.clone(), &clock);
    let lower = ip("192.0.2.99");
    for (at, heard) in [(4100, 100), (4200, 100), (4300, 0)] {
        instance
            .handle_packet(clock.ms(at), lower, &advert_like(&config, heard))
            .unwrap();
    }
    assert_eq!(
        lower_priorities_heard(&drain(&mut instance)),
        vec![(lower, 100), (lower, 100)]
    );
    instance
        .handle_packet(clock.ms(4400), ip("192.0.2.9"), &advert_like(&config, 200))
        .unwrap();
    assert_eq!(
        lower_priorities_heard(&drain(&mut instance)),
        vec![(ip("192.0.2.9"), 200)]
    );
    instance
        .handle_packet(clock.ms(4500), ip("192.0.2.5"), &advert_like(&config, 201))
        .unwrap();
    assert_eq!(lower_priorities_heard(&drain(&mut instance)), Vec::new());
    assert_eq!(instance.state(), State::Backup);
    instance
        .handle_packet(clock.ms(4600), lower, &advert_like(&config, 100))
        .unwrap();
    assert_eq!(lower_priorities_heard(&drain(&mut instance)), Vec::new());
}

/// The interface's primary address went and another took its place: a master advertises
/// from the new one without a state change, as keepalived moves its source
/// (keepalived/core/keepalived_netlink.c); an address of the other family is refused.
#[test]
fn a_master_moves_its_source_address_without_a_transition() {
    let clock = Clock::new();
    let config = v3_config(150);
    let mut instance = master(config, &clock);
    instance
        .set_primary_address(ip("198.51.100.10"))
        .expect("an IPv4 address for an IPv4 instance");
    assert_eq!(instance.state(), State::Master);
    assert_eq!(instance.master_address(), Some(ip("198.51.100.10")));
    assert_eq!(instance.config().primary_address, ip("198.51.100.10"));
    assert!(drain(&mut instance).is_empty());
    assert!(instance.set_primary_address(ip("fe80::10")).is_err());
    assert_eq!(instance.config().primary_address, ip("198.51.100.10"));
    let deadline = instance.poll_timeout().expect("a master runs its timer");
    instance.handle_timeout(deadline);
    assert_eq!(sent_priorities(&drain(&mut instance)), [150]);
}
