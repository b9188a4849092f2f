//! Help for a key the schema does not know: the key meant, when it is close to a known one or
//! is the keepalived name of one.

/// keepalived names people carry over, with what to write instead.
const KEEPALIVED_NAMES: &[(&str, &str)] = &[
    ("virtual_router_id", "this is `vrid` here"),
    ("advert_int", "this is `advert_interval` here"),
    ("virtual_ipaddress", "this is `virtual_addresses` here"),
    (
        "virtual_ipaddress_excluded",
        "this is `excluded_addresses` here",
    ),
    ("unicast_src_ip", "this is `unicast_src` here"),
    ("unicast_peer", "this is `unicast_peers` here"),
    ("nopreempt", "write `preempt = false`"),
    (
        "auth_type",
        "write `authentication = { type = \"pass\", password = \"...\" }`",
    ),
    (
        "auth_pass",
        "write `authentication = { type = \"pass\", password = \"...\" }`",
    ),
    (
        "track_script",
        "checks are listed under `health_checks` here",
    ),
    ("notify_master", "this is `notify.on_master` here"),
    ("notify_backup", "this is `notify.on_backup` here"),
    ("notify_fault", "this is `notify.on_fault` here"),
    ("notify_stop", "this is `notify.on_stop` here"),
    (
        "state",
        "keepalived's `state` has no equivalent: every instance starts as backup and the \
         highest priority takes over (priority 255 starts as master at once)",
    ),
];

/// The message for an unknown `key` in a table whose keys are `known`.
pub(super) fn unknown_key_message(key: &str, known: &[&str]) -> String {
    if let Some((_, advice)) = KEEPALIVED_NAMES.iter().find(|(name, _)| *name == key) {
        return format!("unknown key; {advice}");
    }
    match closest(key, known) {
        Some(near) => format!("unknown key; did you mean `{near}`?"),
        None if known.is_empty() => "unknown key".to_owned(),
        None => format!("unknown key; known keys here: {}", known.join(", ")),
    }
}

/// The known key nearest to `key` when it is near enough to be a typo of it: at most a
/// third of its letters (and at least one) changed, added or removed.
fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let allowed = (key.chars().count() / 3).max(1);
    known
        .iter()
        .map(|candidate| (edit_distance(key, candidate), *candidate))
        .filter(|(distance, _)| *distance <= allowed)
        .min()
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance: the fewest one-character insertions, deletions and substitutions
/// that turn `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != *b_char);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("priorty", "priority"), 1);
        assert_eq!(edit_distance("vrid", "vrid"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn typos_get_the_key_meant() {
        let known = ["priority", "preempt", "vrid"];
        assert_eq!(
            unknown_key_message("priorty", &known),
            "unknown key; did you mean `priority`?"
        );
        assert_eq!(
            unknown_key_message("colour", &known),
            "unknown key; known keys here: priority, preempt, vrid"
        );
        assert_eq!(
            unknown_key_message("virtual_router_id", &known),
            "unknown key; this is `vrid` here"
        );
    }
}
