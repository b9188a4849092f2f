//! Reading one field of the merged tree at a time, so one bad value never hides the next.
//!
//! serde's derived `Deserialize` stops at the first error and cannot say which keys it
//! ignored; an operator fixing a file wants every problem, each with its line. So each field
//! is converted on its own, a table remembers which keys were asked for, and whatever is left
//! over is reported as an unknown key.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use ::config::{Map, Value, ValueKind};

use super::duration::{FORMS, parse_duration};
use super::error::FieldPath;
use super::locate::is_from_environment;
use super::schema::FieldSpec;
use super::suggest::unknown_key_message;

/// A problem not yet given a location: locating needs the whole tree, so it happens last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Finding {
    pub(super) path: FieldPath,
    pub(super) message: String,
}

/// Every problem found so far.
#[derive(Debug, Default)]
pub(super) struct Findings(Vec<Finding>);

impl Findings {
    /// Records a problem with the field at `path`.
    pub(super) fn add(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.0.push(Finding {
            path: path.clone(),
            message: message.into(),
        });
    }

    /// The value of `result`, or `None` after recording its problem.
    pub(super) fn keep<T>(&mut self, result: Result<T, Finding>) -> Option<T> {
        result.map_err(|finding| self.0.push(finding)).ok()
    }

    /// Whether a problem was found at `path` or inside it.
    pub(super) fn any_within(&self, path: &FieldPath) -> bool {
        let prefix = path.to_string();
        self.0
            .iter()
            .any(|finding| finding.path.to_string().starts_with(&prefix))
    }

    /// Whether no problem was found.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems, in the order found.
    pub(super) fn into_vec(self) -> Vec<Finding> {
        self.0
    }
}

/// One value of the merged tree and its path.
#[derive(Clone, Debug)]
pub(super) struct Field {
    pub(super) path: FieldPath,
    value: Value,
}

impl Field {
    /// The field at `path` holding `value`.
    pub(super) fn new(path: FieldPath, value: Value) -> Self {
        Field { path, value }
    }

    /// A problem with this field.
    pub(super) fn problem(&self, message: impl Into<String>) -> Finding {
        Finding {
            path: self.path.clone(),
            message: message.into(),
        }
    }

    fn expected(&self, what: &str) -> Finding {
        self.problem(format!("expected {what}, found {}", describe(&self.value)))
    }

    /// A string. Numbers are taken as their digits, since `password = 1111` means "1111".
    pub(super) fn text(&self) -> Result<String, Finding> {
        match &self.value.kind {
            ValueKind::String(text) => Ok(text.clone()),
            ValueKind::I64(number) => Ok(number.to_string()),
            ValueKind::U64(number) => Ok(number.to_string()),
            _ => Err(self.expected("a string")),
        }
    }

    /// A string that is not empty.
    pub(super) fn non_empty_text(&self) -> Result<String, Finding> {
        let text = self.text()?;
        if text.trim().is_empty() {
            Err(self.problem("must not be empty"))
        } else {
            Ok(text)
        }
    }

    /// A whole number. Strings of digits count, because environment variables are strings.
    pub(super) fn integer(&self) -> Result<i64, Finding> {
        match &self.value.kind {
            ValueKind::I64(number) => Ok(*number),
            ValueKind::U64(number) => {
                i64::try_from(*number).map_err(|_| self.expected("a whole number"))
            }
            ValueKind::String(text) => text
                .trim()
                .parse()
                .map_err(|_| self.expected("a whole number")),
            _ => Err(self.expected("a whole number")),
        }
    }

    /// A whole number in `range`; `meaning` follows the range in the error, to say why.
    pub(super) fn integer_in<T: TryFrom<i64>>(
        &self,
        range: RangeInclusive<i64>,
        meaning: &str,
    ) -> Result<T, Finding> {
        let number = self.integer()?;
        if !range.contains(&number) {
            return Err(self.problem(format!(
                "{number} is out of range {}..{}{meaning}",
                range.start(),
                range.end()
            )));
        }
        // `range` lies within T for every caller: that is what T was chosen for.
        T::try_from(number).map_err(|_| self.problem(format!("{number} is out of range")))
    }

    /// `true` or `false`; also as strings, for environment variables.
    pub(super) fn boolean(&self) -> Result<bool, Finding> {
        match &self.value.kind {
            ValueKind::Boolean(flag) => Ok(*flag),
            ValueKind::String(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(self.expected("true or false")),
            },
            _ => Err(self.expected("true or false")),
        }
    }

    /// A length of time: a number of seconds or a string with a unit.
    pub(super) fn duration(&self) -> Result<Duration, Finding> {
        let text = match &self.value.kind {
            ValueKind::I64(seconds) if *seconds >= 0 => seconds.to_string(),
            ValueKind::U64(seconds) => seconds.to_string(),
            // Rust prints a float as the shortest decimal that reads back the same, so 0.1
            // becomes "0.1" and parses to exactly 100 ms.
            ValueKind::Float(seconds) if seconds.is_finite() && *seconds >= 0.0 => {
                seconds.to_string()
            }
            ValueKind::String(text) => text.clone(),
            _ => return Err(self.expected(&format!("a length of time ({FORMS})"))),
        };
        parse_duration(&text).map_err(|message| self.problem(message))
    }

    /// One of `choices`, by name.
    pub(super) fn choice<T: Copy>(&self, choices: &[(&str, T)]) -> Result<T, Finding> {
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        let expected = || self.expected(&format!("one of {}", names.join(", ")));
        let ValueKind::String(text) = &self.value.kind else {
            return Err(expected());
        };
        choices
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text.trim()))
            .map(|(_, value)| *value)
            .ok_or_else(|| self.problem(format!("\"{text}\" is not one of {}", names.join(", "))))
    }

    /// A list. An environment variable holds a list as comma-separated items.
    pub(super) fn list(&self) -> Result<Vec<Field>, Finding> {
        match &self.value.kind {
            ValueKind::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(index, item)| Field::new(self.path.index(index), item.clone()))
                .collect()),
            ValueKind::String(text) if is_from_environment(&self.value) => Ok(text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .enumerate()
                .map(|(index, item)| {
                    let origin = self.value.origin().map(str::to_owned);
                    Field::new(
                        self.path.index(index),
                        Value::new(origin.as_ref(), item.to_owned()),
                    )
                })
                .collect()),
            _ => Err(self.expected("a list")),
        }
    }

    /// A table.
    pub(super) fn table(&self) -> Result<Table, Finding> {
        match &self.value.kind {
            ValueKind::Table(entries) => Ok(Table::new(self.path.clone(), entries)),
            _ => Err(self.expected("a table")),
        }
    }

    /// Whether this is a table (as opposed to a string or number form of the same field).
    pub(super) fn is_table(&self) -> bool {
        matches!(self.value.kind, ValueKind::Table(_))
    }

    /// Whether this is a list (as opposed to a string form of the same field).
    pub(super) fn is_list(&self) -> bool {
        matches!(self.value.kind, ValueKind::Array(_))
    }
}

/// A table being read: it hands out fields by key and remembers the keys asked for, so that
/// [`Table::finish`] can report the rest as unknown.
#[derive(Debug)]
pub(super) struct Table {
    path: FieldPath,
    // Sorted, so problems come out in the same order on every run; the `config` crate's
    // map is a HashMap.
    entries: BTreeMap<String, Value>,
    known: Vec<&'static str>,
}

impl Table {
    fn new(path: FieldPath, entries: &Map<String, Value>) -> Self {
        Table {
            path,
            entries: entries
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
            known: Vec::new(),
        }
    }

    /// The path of the table itself.
    pub(super) fn path(&self) -> &FieldPath {
        &self.path
    }

    /// The field `spec`, if present. YAML's `~` (null) counts as absent.
    pub(super) fn get(&mut self, spec: &'static FieldSpec) -> Option<Field> {
        let key = spec.key;
        self.known.push(key);
        self.entries
            .get(key)
            .filter(|value| !matches!(value.kind, ValueKind::Nil))
            .map(|value| Field::new(self.path.key(key), value.clone()))
    }

    /// The field under `key`; when absent, records that it is missing and says `why` it is
    /// needed.
    pub(super) fn require(
        &mut self,
        spec: &'static FieldSpec,
        why: &str,
        findings: &mut Findings,
    ) -> Option<Field> {
        let field = self.get(spec);
        if field.is_none() {
            findings.add(&self.path.key(spec.key), format!("missing; {why}"));
        }
        field
    }

    /// Every entry, for tables keyed by names of the operator's choosing.
    pub(super) fn named_entries(self) -> Vec<(String, Field)> {
        self.entries
            .into_iter()
            .map(|(name, value)| {
                let path = self.path.key(&name);
                (name, Field::new(path, value))
            })
            .collect()
    }

    /// Reports every key not asked for as unknown, suggesting the key probably meant.
    pub(super) fn finish(self, findings: &mut Findings) {
        for key in self.entries.keys() {
            if !self.known.contains(&key.as_str()) {
                findings.add(&self.path.key(key), unknown_key_message(key, &self.known));
            }
        }
    }
}

/// A value as an error message names it.
fn describe(value: &Value) -> String {
    match &value.kind {
        ValueKind::Nil => "nothing".to_owned(),
        ValueKind::Boolean(flag) => flag.to_string(),
        ValueKind::I64(number) => format!("the number {number}"),
        ValueKind::I128(number) => format!("the number {number}"),
        ValueKind::U64(number) => format!("the number {number}"),
        ValueKind::U128(number) => format!("the number {number}"),
        ValueKind::Float(number) => format!("the number {number}"),
        ValueKind::String(text) => format!("the string \"{text}\""),
        ValueKind::Table(_) => "a table".to_owned(),
        ValueKind::Array(_) => "a list".to_owned(),
    }
}
