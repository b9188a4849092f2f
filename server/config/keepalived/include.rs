//! Reading a keepalived.conf with the files it includes, as one stream of tokens.
//!
//! Each line goes through keepalived's preprocessing first ([`super::preprocess`]), with one
//! set of definitions for the whole tree of files. `include PATTERN` (or keepalived's
//! `includer`, `includem`, `includew`, `includeb`, `includea`, which differ only in which
//! missing files keepalived reports), as the first word of a line, is replaced by the tokens
//! of every file the pattern matches, in name order. A relative pattern is taken from the directory of the
//! file that includes it, so a tree of files can be moved as a whole. A pattern that matches
//! nothing is a warning, as in keepalived; an include that leads back to a file being read is
//! an error, as is nesting deeper than [`MAX_INCLUDE_DEPTH`].

use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use super::Diagnostic;
use super::lexer::{Position, Token, lex_line};
use super::preprocess::Preprocessor;

/// How deep includes may nest. Cycles are caught by name; this bounds what names cannot
/// catch (a chain of distinct generated files) and is far beyond any real layout.
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// The tokens of the file at `path` with its includes expanded, and what went wrong on the
/// way; `Err` with a message when the top file itself cannot be read.
pub(super) fn read_with_includes(
    path: &Path,
    config_id: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Vec<Token>, String> {
    let text = read_text(path).map_err(|error| format!("cannot be read: {error}"))?;
    let mut reader = Reader {
        diagnostics,
        tokens: Vec::new(),
        chain: Vec::new(),
        preprocessor: Preprocessor::new(config_id),
    };
    reader.expand(path, &text);
    Ok(reader.tokens)
}

struct Reader<'d> {
    diagnostics: &'d mut Vec<Diagnostic>,
    tokens: Vec<Token>,
    /// The files being read, outermost first, as canonical paths (for cycles) and as named.
    chain: Vec<(PathBuf, String)>,
    preprocessor: Preprocessor,
}

/// The text of a file; bytes that are not UTF-8 (a comment in Latin-1) are replaced rather
/// than failing the file, as keepalived reads bytes.
fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()))
}

/// Whether `line` is one of keepalived's include lines (`is_include()` in `lib/parser.c`).
fn is_include(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("include") else {
        return false;
    };
    let mut chars = rest.chars();
    match chars.next() {
        Some(c) if c.is_whitespace() => true,
        Some('r' | 'm' | 'w' | 'b' | 'a') => chars.next().is_some_and(char::is_whitespace),
        _ => false,
    }
}

impl Reader<'_> {
    fn expand(&mut self, path: &Path, text: &str) {
        let name = path.display().to_string();
        // A file that cannot be canonicalized was still read; its own name stands in.
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.chain.push((canonical, name.clone()));
        let file: Rc<str> = Rc::from(name.as_str());
        for (index, raw) in text.lines().enumerate() {
            let position = Position {
                file: Rc::clone(&file),
                line: index + 1,
            };
            let Some(line) = self.preprocessor.line(raw, &position, self.diagnostics) else {
                continue;
            };
            if is_include(&line) {
                // keepalived globs the rest of the line as it is, braces and all.
                let pattern = line
                    .split_once(char::is_whitespace)
                    .map_or("", |(_, rest)| rest.trim());
                self.include(path, &position, pattern);
            } else {
                lex_line(&line, &position, &mut self.tokens);
            }
        }
        self.chain.pop();
    }

    fn include(&mut self, including: &Path, position: &Position, written: &str) {
        // A pattern in double quotes is taken without them (keepalived would look for a
        // name with quotes in it, which no one means).
        let pattern = written
            .strip_prefix('"')
            .and_then(|inner| inner.strip_suffix('"'))
            .unwrap_or(written);
        if pattern.is_empty() {
            self.error(position, "include takes a file name or pattern");
            return;
        }
        let base = including.parent().unwrap_or(Path::new(""));
        let mut matches = Vec::new();
        for alternative in expand_braces(pattern) {
            match expand_pattern(&base.join(&alternative)) {
                Ok(found) => matches.extend(found),
                Err(error) => {
                    self.error(position, format!("include {pattern}: {error}"));
                    return;
                }
            }
        }
        let pattern_path = base.join(pattern);
        if matches.is_empty() {
            self.diagnostics.push(Diagnostic::warning(
                position,
                format!(
                    "include {pattern}: no file matches {} (keepalived goes on without it \
                     too)",
                    pattern_path.display()
                ),
            ));
            return;
        }
        for file in matches {
            self.include_file(position, &file);
        }
    }

    fn include_file(&mut self, position: &Position, file: &Path) {
        let canonical = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
        if let Some(start) = self.chain.iter().position(|(path, _)| *path == canonical) {
            let cycle: Vec<&str> = self.chain[start..]
                .iter()
                .map(|(_, name)| name.as_str())
                .collect();
            self.error(
                position,
                format!(
                    "include cycle: {} includes {} again; it is left out",
                    cycle.join(" includes "),
                    file.display()
                ),
            );
            return;
        }
        if self.chain.len() > MAX_INCLUDE_DEPTH {
            self.error(
                position,
                format!(
                    "includes nest deeper than {MAX_INCLUDE_DEPTH} files; {} is left out",
                    file.display()
                ),
            );
            return;
        }
        match read_text(file) {
            Ok(text) => self.expand(file, &text),
            Err(error) => self.error(
                position,
                format!(
                    "the included file {} cannot be read: {error}",
                    file.display()
                ),
            ),
        }
    }

    fn error(&mut self, position: &Position, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::error(position, message));
    }
}

/// `pattern` with its `{a,b}` alternatives spelled out, as glob's GLOB_BRACE, which
/// keepalived uses, does: `x{a,b}y` is `xay` and `xby`; nested braces work; a brace without
/// a partner is an ordinary character.
fn expand_braces(pattern: &str) -> Vec<String> {
    let bytes = pattern.as_bytes();
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_owned()];
    };
    let mut depth = 0;
    let mut commas = Vec::new();
    let mut close = None;
    for (index, &byte) in bytes.iter().enumerate().skip(open) {
        match byte {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(index);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(index),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_owned()];
    };
    let (prefix, suffix) = (&pattern[..open], &pattern[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(&commas);
    bounds.push(close);
    let mut expanded = Vec::new();
    for window in bounds.windows(2) {
        let alternative = &pattern[window[0] + 1..window[1]];
        for rest in expand_braces(&format!("{alternative}{suffix}")) {
            expanded.push(format!("{prefix}{rest}"));
        }
    }
    expanded
}

/// The files `pattern` names, sorted: `*`, `?` and `[...]` work in any component, as in a
/// shell, except that they do not match a leading `.`.
fn expand_pattern(pattern: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut candidates = vec![PathBuf::new()];
    for component in pattern.components() {
        let part = match component {
            Component::Normal(part) => part,
            other => {
                for candidate in &mut candidates {
                    candidate.push(other.as_os_str());
                }
                continue;
            }
        };
        let part_text = part.to_string_lossy();
        if !part_text.contains(['*', '?', '[']) {
            for candidate in &mut candidates {
                candidate.push(part);
            }
            continue;
        }
        let wanted: Vec<char> = part_text.chars().collect();
        let mut next = Vec::new();
        for directory in &candidates {
            let listing = if directory.as_os_str().is_empty() {
                Path::new(".")
            } else {
                directory.as_path()
            };
            // A directory that does not exist or cannot be listed just matches nothing.
            let Ok(entries) = std::fs::read_dir(listing) else {
                continue;
            };
            for entry in entries {
                let name = entry?.file_name();
                let name_chars: Vec<char> = name.to_string_lossy().chars().collect();
                let hidden = name_chars.first() == Some(&'.') && wanted.first() != Some(&'.');
                if !hidden && wildcard_match(&wanted, &name_chars) {
                    next.push(directory.join(&name));
                }
            }
        }
        candidates = next;
    }
    let mut files: Vec<PathBuf> = candidates
        .into_iter()
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// Whether `name` matches the shell pattern `pattern`. Backtracks only to the last `*`, so
/// the time is at most the product of the lengths, whatever the pattern.
fn wildcard_match(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some('*') => {
                last_star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => Some(p + 1),
            Some('[') => match character_class(pattern, p, name[n]) {
                Some((true, after)) => Some(after),
                Some((false, _)) => None,
                None => (name[n] == '[').then_some(p + 1),
            },
            Some(&literal) => (literal == name[n]).then_some(p + 1),
            None => None,
        };
        match (step, last_star) {
            (Some(after), _) => {
                p = after;
                n += 1;
            }
            (None, Some((star, matched_until))) => {
                p = star + 1;
                n = matched_until + 1;
                last_star = Some((star, matched_until + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Whether `c` is in the class `[...]` opening at `pattern[open]`, and the index after the
/// class; `None` when the class is not closed (the `[` is then an ordinary character).
fn character_class(pattern: &[char], open: usize, c: char) -> Option<(bool, usize)> {
    let mut index = open + 1;
    let negated = matches!(pattern.get(index), Some('!' | '^'));
    if negated {
        index += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &member = pattern.get(index)?;
        if member == ']' && !first {
            return Some((matched != negated, index + 1));
        }
        first = false;
        if pattern.get(index + 1) == Some(&'-')
            && let Some(&last) = pattern.get(index + 2)
            && last != ']'
        {
            matched |= (member..=last).contains(&c);
            index += 3;
        } else {
            matched |= member == c;
            index += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        let pattern: Vec<char> = pattern.chars().collect();
        let name: Vec<char> = name.chars().collect();
        wildcard_match(&pattern, &name)
    }

    #[test]
    fn braces_spell_out_alternatives() {
        assert_eq!(expand_braces("a{b,c}d"), ["abd", "acd"]);
        assert_eq!(
            expand_braces("{x,y{1,2}}.conf"),
            ["x.conf", "y1.conf", "y2.conf"]
        );
        assert_eq!(expand_braces("a{b"), ["a{b"]);
        assert_eq!(expand_braces("plain"), ["plain"]);
    }

    #[test]
    fn wildcards() {
        assert!(matches("*.conf", "vi_1.conf"));
        assert!(!matches("*.conf", "vi_1.conf.bak"));
        assert!(matches("vi_?.conf", "vi_2.conf"));
        assert!(matches("vi_[0-9].conf", "vi_7.conf"));
        assert!(!matches("vi_[!0-9].conf", "vi_7.conf"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxbyy"));
        assert!(matches("[x", "[x"));
        assert!(matches("*", ""));
    }
}
