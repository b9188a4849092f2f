//! Mapping a field path back to where its value was written.
//!
//! The `config` crate merges the file and the environment into one tree and keeps, per value,
//! only whether it came from the environment. Lines come from parsing the TOML text a second
//! time with the `toml` crate's spanned parser and walking it along the same path.

use ::config::{Value, ValueKind};
use toml::de::{DeTable, DeValue};

use super::error::{FieldPath, PathSegment, SourceLocation};

/// The prefix of environment overrides, before the separator.
pub(super) const ENV_PREFIX: &str = "VRRP_SIDECAR";
/// Separates the prefix and the levels of a path in an override's name. Two underscores,
/// because keys themselves contain single ones (`advert_interval`).
pub(super) const ENV_SEPARATOR: &str = "__";
/// The origin the `config` crate gives every value read from the environment.
const ENVIRONMENT_ORIGIN: &str = "the environment";

/// Whether `value` was set by an environment variable.
pub(super) fn is_from_environment(value: &Value) -> bool {
    value.origin() == Some(ENVIRONMENT_ORIGIN)
}

/// The environment variable that sets the field at `path`; list positions are dropped
/// because a variable sets a whole list.
pub(super) fn variable_name(path: &FieldPath) -> String {
    let mut name = ENV_PREFIX.to_owned();
    for segment in path.segments() {
        match segment {
            PathSegment::Key(key) => {
                name.push_str(ENV_SEPARATOR);
                name.push_str(&key.to_uppercase());
            }
            PathSegment::Index(_) => break,
        }
    }
    name
}

/// Finds where the value at a field path was written.
pub(super) struct Locator<'a> {
    file_name: &'a str,
    text: &'a str,
    toml: Option<&'a DeTable<'a>>,
    merged: &'a Value,
}

impl<'a> Locator<'a> {
    /// A locator for a file named `file_name` holding `text`, parsed as TOML into `toml` when
    /// it is TOML, and merged with the environment into `merged`.
    pub(super) fn new(
        file_name: &'a str,
        text: &'a str,
        toml: Option<&'a DeTable<'a>>,
        merged: &'a Value,
    ) -> Self {
        Locator {
            file_name,
            text,
            toml,
            merged,
        }
    }

    /// Where the value at `path` was written; for a value that does not exist (a missing
    /// key), where its nearest existing parent was.
    pub(super) fn locate(&self, path: &FieldPath) -> SourceLocation {
        let (merged_path, merged_node) = deepest_merged(self.merged, path);
        // A value set by a variable, or a table that only variables filled (an override
        // naming an instance the file does not have), is the variable's doing.
        if let Some(variable_path) = environment_only(merged_node, &merged_path) {
            return SourceLocation::Environment {
                variable: variable_name(&variable_path),
            };
        }
        match self.toml.and_then(|table| deepest_toml_offset(table, path)) {
            Some(offset) => SourceLocation::Line {
                file: self.file_name.to_owned(),
                line: line_of(self.text, offset),
            },
            None => self.whole_file(),
        }
    }

    /// The location of the file as a whole.
    pub(super) fn whole_file(&self) -> SourceLocation {
        SourceLocation::File {
            file: self.file_name.to_owned(),
        }
    }
}

/// The 1-based line holding byte `offset` of `text`.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count()
        + 1
}

/// The deepest value of the merged tree along `path`, with its own path.
fn deepest_merged<'v>(root: &'v Value, path: &FieldPath) -> (FieldPath, &'v Value) {
    let mut node = root;
    let mut reached = FieldPath::root();
    for segment in path.segments() {
        let next = match (segment, &node.kind) {
            (PathSegment::Key(key), ValueKind::Table(table)) => table.get(key),
            (PathSegment::Index(index), ValueKind::Array(items)) => items.get(*index),
            _ => None,
        };
        match next {
            Some(child) => {
                node = child;
                reached = match segment {
                    PathSegment::Key(key) => reached.key(key),
                    PathSegment::Index(index) => reached.index(*index),
                };
            }
            None => break,
        }
    }
    (reached, node)
}

/// When every value under `node` (itself included) came from the environment, the smallest
/// path among them; `None` when any came from the file, or there are none.
fn environment_only(node: &Value, path: &FieldPath) -> Option<FieldPath> {
    match &node.kind {
        ValueKind::Table(table) => {
            let mut first = None;
            for (key, child) in table {
                let child_path = environment_only(child, &path.key(key))?;
                first = earliest(first, child_path);
            }
            first
        }
        ValueKind::Array(items) if !is_from_environment(node) => {
            let mut first = None;
            for (index, child) in items.iter().enumerate() {
                let child_path = environment_only(child, &path.index(index))?;
                first = earliest(first, child_path);
            }
            first
        }
        _ => is_from_environment(node).then(|| path.clone()),
    }
}

/// The smaller of two paths, so the variable named does not depend on hash order.
fn earliest(so_far: Option<FieldPath>, candidate: FieldPath) -> Option<FieldPath> {
    Some(match so_far {
        Some(path) => path.min(candidate),
        None => candidate,
    })
}

/// The byte offset, in the TOML text, of the deepest key (or list element) along `path`.
fn deepest_toml_offset(root: &DeTable<'_>, path: &FieldPath) -> Option<usize> {
    let mut table = Some(root);
    let mut value: Option<&DeValue<'_>> = None;
    let mut offset = None;
    for segment in path.segments() {
        match segment {
            PathSegment::Key(key) => {
                let Some((spanned_key, spanned_value)) =
                    table.and_then(|table| table.get_key_value(key.as_str()))
                else {
                    break;
                };
                offset = Some(spanned_key.span().start);
                value = Some(spanned_value.get_ref());
            }
            PathSegment::Index(index) => {
                let Some(element) = value.and_then(|value| value.get(*index)) else {
                    break;
                };
                offset = Some(element.span().start);
                value = Some(element.get_ref());
            }
        }
        table = value.and_then(DeValue::as_table);
    }
    offset
}
