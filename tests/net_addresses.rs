//! VIPs through rtnetlink, checked against what `ip -j addr` shows.

mod netns;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::thread;
use std::time::{Duration, Instant};

use netns::{Lab, Netns, require_root, runtime, tear_down, wait_until};
use vrrp_sidecar::net::addresses::RENEWALS_PER_DATAGRAM;
use vrrp_sidecar::net::{Addresses, Interface, Netlink, RenewalError, Renewals, Vip};

const VIP4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);
const POLL: Duration = Duration::from_millis(50);

fn vip(address: IpAddr, prefix_len: u8, label: Option<&str>, lifetime: Option<Duration>) -> Vip {
    Vip {
        address,
        prefix_len,
        label: label.map(str::to_owned),
        lifetime,
    }
}

/// The `addr_info` entry for `address` on h1's eth0, if the kernel has it.
fn kernel_entry(ns: &Netns, address: IpAddr) -> Option<serde_json::Value> {
    ns.addresses("eth0")
        .into_iter()
        .find(|entry| entry["local"].as_str() == Some(&address.to_string()))
}

/// Every address on h1's eth0, from one `ip -j addr`: a loaded machine takes tens of
/// milliseconds to run each, so a check of many addresses lists them once.
fn kernel_addresses(ns: &Netns) -> Vec<IpAddr> {
    ns.addresses("eth0")
        .iter()
        .filter_map(|entry| entry["local"].as_str()?.parse().ok())
        .collect()
}

/// Runs `body` inside h1 with an address handle and h1's eth0.
fn in_h1<T: Send + 'static>(
    lab: &Lab,
    body: impl AsyncFnOnce(Addresses, Interface) -> T + Send + 'static,
) -> T {
    lab.host("h1").ns.enter(|| {
        runtime().block_on(async {
            let netlink = Netlink::connect().expect("netlink socket");
            let eth0 = Interface::lookup(&netlink, "eth0").await.expect("eth0");
            body(Addresses::new(netlink), eth0).await
        })
    })
}

#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn vips_appear_with_label_and_without_tentative_then_go_idempotently() {
    require_root("vips_appear_with_label_and_without_tentative_then_go_idempotently");
    // DAD on, so that "not tentative" proves the nodad flag rather than the lab's setting.
    let lab = Lab::builder()
        .host("h1")
        .duplicate_address_detection()
        .build();
    let ns = lab.host("h1").ns.clone();
    in_h1(&lab, async move |addresses, eth0| {
        let vip4 = vip(VIP4.into(), 24, Some("eth0:vip"), None);
        let vip6 = vip(VIP6.into(), 64, None, None);
        for round in 0..2 {
            addresses
                .add(&eth0, &vip4)
                .await
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
            addresses
                .add(&eth0, &vip6)
                .await
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
        }

        let entry4 = kernel_entry(&ns, VIP4.into()).expect("IPv4 VIP installed");
        assert_eq!(entry4["label"], "eth0:vip");
        assert_eq!(entry4["prefixlen"], 24);
        // Pitfall 14: in the interface's own /24 the VIP is a secondary address.
        assert_eq!(entry4["secondary"], true);
        let entry6 = kernel_entry(&ns, VIP6.into()).expect("IPv6 VIP installed");
        assert!(entry6["tentative"].is_null(), "VIP6 is tentative: {entry6}");
        assert_eq!(entry6["nodad"], true);

        let listed = addresses.list(&eth0).await.expect("list");
        let listed4 = listed
            .iter()
            .find(|a| a.address == IpAddr::V4(VIP4))
            .expect("listed");
        assert_eq!(listed4.label.as_deref(), Some("eth0:vip"));
        assert_eq!(listed4.valid_lifetime, None);
        let listed6 = listed
            .iter()
            .find(|a| a.address == IpAddr::V6(VIP6))
            .expect("listed");
        assert!(!listed6.tentative);

        for round in 0..2 {
            addresses
                .remove(&eth0, VIP4.into(), 24)
                .await
                .unwrap_or_else(|e| panic!("{round}: {e}"));
            addresses
                .remove(&eth0, VIP6.into(), 64)
                .await
                .unwrap_or_else(|e| panic!("{round}: {e}"));
        }
        assert_eq!(kernel_entry(&ns, VIP4.into()), None);
        assert_eq!(kernel_entry(&ns, VIP6.into()), None);
        // The lab's own addresses are untouched.
        assert!(kernel_entry(&ns, Ipv4Addr::new(192, 0, 2, 1).into()).is_some());
    });
    tear_down(lab);
}

/// A VIP with a finite lifetime disappears by itself; this is what frees the VIP of a
/// killed daemon. Prints the measured expiry for the record.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn vip_with_a_two_second_lifetime_expires_by_itself() {
    require_root("vip_with_a_two_second_lifetime_expires_by_itself");
    let lab = Lab::builder().host("h1").build();
    let ns = lab.host("h1").ns.clone();
    let lifetime = Some(Duration::from_secs(2));
    in_h1(&lab, async move |addresses, eth0| {
        addresses
            .add(&eth0, &vip(VIP4.into(), 24, None, lifetime))
            .await
            .expect("add v4");
        addresses
            .add(&eth0, &vip(VIP6.into(), 64, None, lifetime))
            .await
            .expect("add v6");
        let added = Instant::now();
        let entry4 = kernel_entry(&ns, VIP4.into()).expect("IPv4 VIP installed");
        assert_eq!(entry4["valid_life_time"], 2, "{entry4}");
        let listed = addresses.list(&eth0).await.expect("list");
        let listed4 = listed
            .iter()
            .find(|a| a.address == IpAddr::V4(VIP4))
            .expect("listed");
        assert!(listed4.valid_lifetime <= Some(Duration::from_secs(2)));

        let mut gone = [None, None];
        let all_gone = wait_until(Duration::from_secs(6), POLL, || {
            for (slot, address) in gone.iter_mut().zip([IpAddr::V4(VIP4), IpAddr::V6(VIP6)]) {
                if slot.is_none() && kernel_entry(&ns, address).is_none() {
                    *slot = Some(added.elapsed());
                }
            }
            gone.iter().all(Option::is_some)
        });
        assert!(
            all_gone,
            "VIPs still present 6 s after a 2 s lifetime: {gone:?}"
        );
        eprintln!(
            "lifetime 2 s: IPv4 VIP gone after {:?}, IPv6 after {:?}",
            gone[0], gone[1]
        );
        for expired in gone.into_iter().flatten() {
            assert!(
                expired >= Duration::from_millis(1900),
                "expired early: {expired:?}"
            );
            assert!(
                expired <= Duration::from_millis(3500),
                "expired late: {expired:?}"
            );
        }
    });
    tear_down(lab);
}

/// Re-adding (NLM_F_REPLACE) restarts the lifetime: the living master keeps its VIP.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn re_adding_a_vip_refreshes_its_lifetime() {
    require_root("re_adding_a_vip_refreshes_its_lifetime");
    let lab = Lab::builder().host("h1").build();
    let ns = lab.host("h1").ns.clone();
    let lifetime = Some(Duration::from_secs(2));
    in_h1(&lab, async move |addresses, eth0| {
        let vips = [
            vip(VIP4.into(), 24, None, lifetime),
            vip(VIP6.into(), 64, None, lifetime),
        ];
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(4) {
            for vip in &vips {
                addresses.add(&eth0, vip).await.expect("refresh");
            }
            for vip in &vips {
                assert!(
                    kernel_entry(&ns, vip.address).is_some(),
                    "{} expired at {:?} despite refreshes",
                    vip.address,
                    started.elapsed()
                );
            }
            thread::sleep(Duration::from_millis(500));
        }
        let expired = wait_until(Duration::from_secs(6), POLL, || {
            vips.iter()
                .all(|vip| kernel_entry(&ns, vip.address).is_none())
        });
        assert!(expired, "VIPs outlived their last refresh by 6 s");
    });
    tear_down(lab);
}

/// A full datagram of renewals (IPv4 and IPv6 together) keeps every address alive past its
/// lifetime; one the kernel refuses (an interface that does not exist) is counted while the
/// rest of its datagram still goes through.
#[test]
#[ignore = "lab: needs root; scripts/test runs it"]
fn renewing_a_batch_refreshes_every_lifetime_and_counts_refusals() {
    require_root("renewing_a_batch_refreshes_every_lifetime_and_counts_refusals");
    let lab = Lab::builder().host("h1").build();
    let ns = lab.host("h1").ns.clone();
    let lifetime = Some(Duration::from_secs(2));
    in_h1(&lab, async move |_addresses, eth0| {
        let renewals = Renewals::connect().expect("netlink socket");
        let half = u8::try_from(RENEWALS_PER_DATAGRAM / 2).expect("a small batch");
        let vips: Vec<Vip> = (0..half)
            .map(|n| vip(Ipv4Addr::new(192, 0, 2, 100 + n).into(), 24, None, lifetime))
            .chain((0..half).map(|n| {
                let address = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 1, n.into());
                vip(address.into(), 64, None, lifetime)
            }))
            .collect();
        let batch: Vec<(&Interface, &Vip)> = vips.iter().map(|vip| (&eth0, vip)).collect();
        assert_eq!(batch.len(), RENEWALS_PER_DATAGRAM);
        // The first renewal installs them (NLM_F_CREATE), the later ones renew them.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(4) {
            renewals.renew(&batch).await.expect("renewed");
            let listed = kernel_addresses(&ns);
            let missing: Vec<IpAddr> = vips
                .iter()
                .map(|vip| vip.address)
                .filter(|address| !listed.contains(address))
                .collect();
            assert!(
                missing.is_empty(),
                "missing at {:?} despite renewals: {missing:?}",
                started.elapsed()
            );
            thread::sleep(Duration::from_millis(500));
        }

        let nowhere = Interface {
            index: 999_999,
            ..eth0.clone()
        };
        let mut with_refusal = batch.clone();
        with_refusal[1].0 = &nowhere;
        match renewals.renew(&with_refusal).await {
            Err(RenewalError::Kernel { refused: 1, .. }) => {}
            other => panic!("expected one refusal, got {other:?}"),
        }
        let last = vips.last().expect("a batch");
        let entry = kernel_entry(&ns, last.address).expect("renewed after the refusal");
        assert_eq!(entry["valid_life_time"], 2, "{entry}");

        let expired = wait_until(Duration::from_secs(6), POLL, || {
            let listed = kernel_addresses(&ns);
            vips.iter().all(|vip| !listed.contains(&vip.address))
        });
        assert!(expired, "addresses outlived their last renewal by 6 s");
    });
    tear_down(lab);
}
