//! What is wrong with a configuration, and where each problem is.

use std::fmt;

use thiserror::Error;

/// Where the value behind a problem came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceLocation {
    /// A line of a file, counted from 1. TOML files get lines: their parser keeps positions.
    Line {
        /// The file as the caller named it.
        file: String,
        /// The line of the key (or list element) the problem is about.
        line: usize,
    },
    /// A file as a whole: YAML files (the YAML reader keeps no positions) and problems
    /// about a TOML file that no key carries, such as a missing section.
    File {
        /// The file as the caller named it.
        file: String,
    },
    /// An environment variable that overrode the file.
    Environment {
        /// The variable's name, in upper case as it is usually written.
        variable: String,
    },
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceLocation::Line { file, line } => write!(f, "{file}:{line}"),
            SourceLocation::File { file } => f.write_str(file),
            SourceLocation::Environment { variable } => write!(f, "environment {variable}"),
        }
    }
}

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathSegment {
    /// A key of a table.
    Key(String),
    /// A position in a list, counted from 0.
    Index(usize),
}

/// The path of a field in the configuration tree, written like `instances.web.vrid` or
/// `instances.web.virtual_addresses[1]`; empty for the configuration as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(Vec<PathSegment>);

impl FieldPath {
    /// The path of the whole configuration.
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// This path extended by a table key.
    pub fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Key(key.to_owned()));
        FieldPath(segments)
    }

    /// This path extended by a list position.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Index(index));
        FieldPath(segments)
    }

    /// The steps from the root, in order.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    /// Whether this is the path of the whole configuration.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Key(key) if position == 0 => f.write_str(key)?,
                PathSegment::Key(key) => write!(f, ".{key}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// One thing wrong with a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where the offending value (or its nearest enclosing table) was written.
    pub source_location: SourceLocation,
    /// The field the problem is about.
    pub field_path: FieldPath,
    /// What is wrong and, where there is one, how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field_path.is_root() {
            write!(f, "{}: {}", self.source_location, self.message)
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.source_location, self.field_path, self.message
            )
        }
    }
}

/// A configuration that cannot be used, with every problem found in it (never none).
///
/// Its `Display` prints one problem per line, in the order of the file, so an operator fixes
/// them all in one pass instead of one per restart.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{}", one_per_line(.problems))]
pub struct ConfigError {
    problems: Vec<Problem>,
}

impl ConfigError {
    /// An error of these problems; the caller guarantees there is at least one.
    pub(super) fn new(problems: Vec<Problem>) -> Self {
        debug_assert!(!problems.is_empty(), "a ConfigError needs a problem");
        ConfigError { problems }
    }

    /// Every problem found, in the order of the file (environment overrides last).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

fn one_per_line(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
