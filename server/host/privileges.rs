//! Least privilege for a daemon started as root: it keeps only the capabilities it uses.
//!
//! VRRP needs two: CAP_NET_ADMIN (virtual addresses through rtnetlink, multicast membership)
//! and CAP_NET_RAW (IP protocol 112 sockets, gratuitous ARP and neighbour advertisements on
//! AF_PACKET). Exec health checks that run as another user also need CAP_SETUID and
//! CAP_SETGID to switch to it and CAP_KILL to stop its process group on timeout. Everything
//! else root could do (read any file, load modules, trace processes, ...) is given up for
//! good: removed from the bounding set as well, so no program the daemon runs (notify
//! scripts, checks) can get it back through a setuid or file-capability binary.
//!
//! Linux keeps capabilities per thread, and a new thread inherits its creator's. So this runs
//! in `main` before the runtime starts its threads; every thread of the daemon then has the
//! reduced sets.
//!
//! Why not the caps crate (0.5.6; it would add one crate, libc and thiserror 1 being in the
//! tree, and replace the three `unsafe` calls below, about 60 lines): its `Capability` enum
//! ends at CAP_CHECKPOINT_RESTORE (40), so a capability a newer kernel adds could not be
//! removed from the bounding set, which is what "given up for good" rests on; here every
//! number up to `/proc/sys/kernel/cap_last_cap` is dropped. And its `CapsError` is a string,
//! so telling EPERM (no CAP_SETPCAP, as in a container: leave the bounding set) from a real
//! failure would mean matching the message text.

use std::fmt;
use std::io;

use thiserror::Error;

use crate::config::{Config, Probe};

/// A capability the daemon may keep (numbers from linux/capability.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// CAP_KILL: signal an exec check's process group that runs as another user.
    Kill = 5,
    /// CAP_SETGID: switch an exec check to its user's groups.
    SetGid = 6,
    /// CAP_SETUID: switch an exec check to its user.
    SetUid = 7,
    /// CAP_NET_ADMIN: addresses through rtnetlink, multicast membership.
    NetAdmin = 12,
    /// CAP_NET_RAW: raw IP and packet sockets.
    NetRaw = 13,
}

impl Capability {
    /// What VRRP itself needs.
    pub const NETWORK: [Capability; 2] = [Capability::NetAdmin, Capability::NetRaw];
    /// What exec health checks that run as another user need besides.
    pub const EXEC_CHECKS: [Capability; 3] =
        [Capability::SetUid, Capability::SetGid, Capability::Kill];
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Capability::Kill => "CAP_KILL",
            Capability::SetGid => "CAP_SETGID",
            Capability::SetUid => "CAP_SETUID",
            Capability::NetAdmin => "CAP_NET_ADMIN",
            Capability::NetRaw => "CAP_NET_RAW",
        })
    }
}

/// Why the capabilities could not be reduced.
#[derive(Debug, Error)]
pub enum PrivilegeError {
    /// A capability could not be removed from the bounding set.
    #[error("removing capability {number} from the bounding set: {source}")]
    BoundingSet {
        /// The capability's number.
        number: u32,
        /// The kernel's answer.
        source: io::Error,
    },
    /// capset(2) refused the reduced sets.
    #[error("setting the reduced capability sets: {0}")]
    Capset(io::Error),
    /// The ambient set could not be cleared.
    #[error("clearing the ambient capabilities: {0}")]
    Ambient(io::Error),
}

/// The highest capability number when /proc does not say (Linux 5.9 to 6.x: 40).
const LAST_CAPABILITY_FALLBACK: u32 = 40;

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets in two 32-bit halves.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapabilityHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapabilityData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Whether the process runs as root, the only case where [`keep_only`] has work to do (a
/// daemon started as another user has only what its service manager or file capabilities
/// gave it).
pub fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Reduces the calling thread's capabilities, and those of every thread and program it starts
/// afterwards, to those of `keep` it has: the bounding set first (that needs CAP_SETPCAP,
/// which the second step gives up; without it, as in a container that dropped it, the
/// bounding set is left as it is), then the effective and permitted sets, with nothing
/// inheritable or ambient. Call it before starting threads.
pub fn keep_only(keep: &[Capability]) -> Result<(), PrivilegeError> {
    let permitted = permitted_of_this_thread();
    let keep: Vec<Capability> = keep
        .iter()
        .copied()
        .filter(|capability| permitted & (1 << *capability as u32) != 0)
        .collect();
    let kept = |number: u32| keep.iter().any(|capability| *capability as u32 == number);
    for number in (0..=last_capability()).filter(|number| !kept(*number)) {
        // SAFETY: PR_CAPBSET_DROP takes the capability number and no pointer.
        let result = unsafe {
            libc::prctl(
                libc::PR_CAPBSET_DROP,
                libc::c_ulong::from(number),
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        if result != 0 {
            let source = io::Error::last_os_error();
            match source.raw_os_error() {
                // A number this kernel does not know (the fallback guessed high).
                Some(libc::EINVAL) => {}
                // No CAP_SETPCAP: the bounding set is not ours to change.
                Some(libc::EPERM) => break,
                _ => return Err(PrivilegeError::BoundingSet { number, source }),
            }
        }
    }
    let mut data = [CapabilityData::default(); 2];
    for capability in &keep {
        let number = *capability as u32;
        let half = &mut data[(number / 32) as usize];
        half.effective |= 1 << (number % 32);
        half.permitted |= 1 << (number % 32);
    }
    let mut header = CapabilityHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    // SAFETY: capset(2) with version 3 reads one header and two data structs, which live
    // until the call returns; pid 0 is the calling thread.
    let result = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapabilityHeader,
            data.as_ptr(),
        )
    };
    if result != 0 {
        return Err(PrivilegeError::Capset(io::Error::last_os_error()));
    }
    // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL takes no pointer.
    let result = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if result != 0 {
        return Err(PrivilegeError::Ambient(io::Error::last_os_error()));
    }
    Ok(())
}

/// The network capabilities the daemon cannot work without that the calling thread lacks in
/// its effective set: a daemon started as neither root nor with them granted fails on its
/// first socket or address, so it is better told at once.
pub fn missing_network_capabilities() -> Vec<Capability> {
    let effective = capability_set_of_this_thread("CapEff:").unwrap_or(0);
    [Capability::NetAdmin, Capability::NetRaw]
        .into_iter()
        .filter(|capability| effective & (1 << *capability as u32) == 0)
        .collect()
}

/// The calling thread's permitted set, from /proc; empty when it cannot be read, so that
/// nothing is asked for that the kernel would refuse.
fn permitted_of_this_thread() -> u64 {
    capability_set_of_this_thread("CapPrm:").unwrap_or(0)
}

fn capability_set_of_this_thread(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    let hex = status.lines().find_map(|line| line.strip_prefix(field))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// What a daemon started as root keeps of its capabilities for `config`: the network pair,
/// and what exec health checks need when it has any.
pub fn needed_by(config: &Config) -> Vec<Capability> {
    let has_exec_checks = config.instances.iter().any(|instance| {
        instance
            .health_checks
            .iter()
            .any(|check| matches!(check.probe, Probe::Exec { .. }))
    });
    let mut keep = Capability::NETWORK.to_vec();
    if has_exec_checks {
        keep.extend(Capability::EXEC_CHECKS);
    }
    keep
}

fn last_capability() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(LAST_CAPABILITY_FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_thread_keeps_exactly_what_it_asked_for() {
        if !running_as_root() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI runs the tests as root"
            );
            eprintln!("skipped: needs root to have capabilities to drop");
            return;
        }
        // Its own thread: capabilities are per thread, and the test harness's others keep
        // theirs.
        let effective = std::thread::spawn(|| {
            keep_only(&Capability::NETWORK).expect("root may reduce its capabilities");
            (
                capability_set_of_this_thread("CapEff:"),
                capability_set_of_this_thread("CapBnd:"),
            )
        })
        .join()
        .expect("the thread");
        let network = (1 << 12) | (1 << 13);
        assert_eq!(effective, (Some(network), Some(network)));
    }
}
