//! Help for a key the schema does not know: the key meant, when it is close to a known one or
//! is the keepalived name of one (from the field table, [`super::schema`]).

/// The message for an unknown `key` in a table whose keys are `known`.
pub(super) fn unknown_key_message(key: &str, known: &[&str]) -> String {
    if let Some(advice) = super::schema::keepalived_advice(key) {
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
