//! CPU time a process has used, from /proc, to tell what each delivery costs on each side:
//! the figures in `run.sh`'s CPU table are the time used while a row's changes were made,
//! divided by the deliveries.

/// User plus system CPU time of process `pid` ("self" for this one), in nanoseconds; `None`
/// when /proc cannot say (the process is gone).
pub fn cpu_nanos(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: the fields are counted after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of proc(5), so 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second).ok().filter(|&hz| hz > 0)?;
    Some(ticks * 1_000_000_000 / per_second)
}

/// The CPU time used between `before` and `after` per delivery, in µs, or "?".
pub fn per_delivery(before: Option<u64>, after: Option<u64>, deliveries: usize) -> String {
    match (before, after) {
        (Some(before), Some(after)) if deliveries > 0 => format!(
            "{:.1} µs",
            after.saturating_sub(before) as f64 / 1e3 / deliveries as f64
        ),
        _ => "?".into(),
    }
}
