//! What keepalived does to each line before it looks at words: comments, conditional lines
//! (`@id`, `@^id`), definitions (`$NAME=value`) and their use (`$NAME`, `${NAME}`).
//!
//! The rules are those of keepalived 2.2.7's `read_line()`, `decomment()`,
//! `check_definition()`, `find_definition()` and `replace_param()` in `lib/parser.c`:
//!
//! - a `#` or `!` outside double quotes starts a comment; `\#` and `\!` outside quotes are
//!   the characters themselves;
//! - a line starting `@ID ` is kept (without `@ID`) only when ID is the configuration id,
//!   `@^ID ` only when it is not; the id is `--config-id`, by default the host name up to
//!   its first dot, as keepalived's `-i`;
//! - a line `$NAME=value` defines NAME for every later line, in this file and the files
//!   it includes or that follow it; `$NAME` (followed by a blank, `,`, `)` or the end of
//!   the line) and `${NAME}` are replaced by the value; a name never defined is left as
//!   written, as keepalived leaves it; keepalived 2.2.7's own names `_PWD`, `_INSTANCE`,
//!   `_HASH` and `_BANG` are defined from the start (`${_ENV}` came with 2.4.0).

use std::collections::BTreeMap;

use super::Diagnostic;
use super::lexer::Position;

/// How many rounds of replacement one line may take: a definition that uses another is
/// replaced again; one that uses itself would never end.
const MAX_REPLACEMENT_ROUNDS: usize = 32;

/// keepalived's line buffer (`MAXBUF` in `lib/parser.h`): a replacement that would make the
/// line longer is not made.
const MAX_LINE_BYTES: usize = 1024;

/// keepalived's definitions and configuration id, which carry from line to line and across
/// included files.
pub(super) struct Preprocessor {
    config_id: String,
    definitions: BTreeMap<String, String>,
}

impl Preprocessor {
    /// A preprocessor for configuration id `config_id`, with keepalived 2.2.7's standard
    /// definitions.
    pub(super) fn new(config_id: &str) -> Self {
        let mut definitions = BTreeMap::new();
        let directory = std::env::current_dir()
            .map(|path| path.display().to_string())
            .unwrap_or_default();
        definitions.insert("_PWD".to_owned(), directory);
        definitions.insert("_INSTANCE".to_owned(), config_id.to_owned());
        definitions.insert("_HASH".to_owned(), "#".to_owned());
        definitions.insert("_BANG".to_owned(), "!".to_owned());
        Preprocessor {
            config_id: config_id.to_owned(),
            definitions,
        }
    }

    /// The line as keepalived reads it, or `None` when keepalived skips it: blank or
    /// comment only, a definition, or a conditional line for another id.
    pub(super) fn line(
        &mut self,
        raw: &str,
        position: &Position,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<String> {
        let mut line = decomment(raw, position, diagnostics);
        for _ in 0..MAX_REPLACEMENT_ROUNDS {
            if line.is_empty() {
                return None;
            }
            if let Some(rest) = line.strip_prefix('@') {
                let (wanted, reverse) = match rest.strip_prefix('^') {
                    Some(id) => (id, true),
                    None => (rest, false),
                };
                // keepalived drops a conditional line with nothing after the id.
                let (id, kept) = wanted.split_once([' ', '\t'])?;
                if (id == self.config_id) == reverse {
                    return None;
                }
                line = kept.trim_start_matches([' ', '\t']).to_owned();
                continue;
            }
            if line.starts_with('$') && self.define(&line, position, diagnostics) {
                return None;
            }
            if line.starts_with('~') {
                diagnostics.push(Diagnostic::warning(
                    position,
                    "ignored: keepalived's ~SEQ and ~LST line generators are not read here; \
                     write the lines out",
                ));
                return None;
            }
            match self.replace(&line) {
                Some(replaced) => {
                    line = decomment(&replaced, position, diagnostics);
                    if !line.starts_with('@') && !line.contains('$') {
                        return (!line.is_empty()).then_some(line);
                    }
                }
                None => return Some(line),
            }
        }
        diagnostics.push(Diagnostic::error(
            position,
            format!(
                "definitions are still being replaced after {MAX_REPLACEMENT_ROUNDS} rounds; \
                 a definition uses itself"
            ),
        ));
        None
    }

    /// Reads `$NAME=value`; false when the line is not a definition (keepalived then reads
    /// it as an ordinary line).
    fn define(
        &mut self,
        line: &str,
        position: &Position,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> bool {
        let body = &line[1..];
        let name_length = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let name = &body[..name_length];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return false;
        }
        let Some(value) = body[name_length..]
            .trim_start_matches([' ', '\t'])
            .strip_prefix('=')
        else {
            return false;
        };
        let value = value.trim_start_matches([' ', '\t']);
        if value.ends_with('\\') {
            diagnostics.push(Diagnostic::error(
                position,
                format!(
                    "${name} is a multi-line definition (its value ends with `\\`), which is not \
                     read here; write it on one line"
                ),
            ));
            return true;
        }
        self.definitions.insert(name.to_owned(), value.to_owned());
        true
    }

    /// `line` with every defined `$NAME` and `${NAME}` replaced, or `None` when none is.
    fn replace(&self, line: &str) -> Option<String> {
        let mut replaced = String::with_capacity(line.len());
        let mut rest = line;
        let mut found = false;
        while let Some(dollar) = rest.find('$') {
            replaced.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            match self.reference(after) {
                Some((value, used)) => {
                    replaced.push_str(value);
                    rest = &after[used..];
                    found = true;
                }
                None => {
                    replaced.push('$');
                    rest = after;
                }
            }
        }
        replaced.push_str(rest);
        (found && replaced.len() < MAX_LINE_BYTES).then_some(replaced)
    }

    /// The value of the definition `text` (what follows a `$`) starts with, and how many
    /// bytes of `text` name it.
    fn reference(&self, text: &str) -> Option<(&str, usize)> {
        let (braced, name_start) = match text.strip_prefix('{') {
            Some(inner) => (true, inner),
            None => (false, text),
        };
        if !name_start.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            return None;
        }
        let length = name_start
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(name_start.len());
        let name = &name_start[..length];
        let follower = name_start[length..].chars().next();
        let used = if braced {
            if follower != Some('}') {
                return None;
            }
            length + 2
        } else {
            if !matches!(follower, None | Some(' ' | '\t' | ',' | ')')) {
                return None;
            }
            length
        };
        self.definitions
            .get(name)
            .map(|value| (value.as_str(), used))
    }
}

/// keepalived's `decomment()`: leading and trailing blanks and the comment removed, `\#` and
/// `\!` outside quotes made plain characters.
pub(super) fn decomment(
    line: &str,
    position: &Position,
    diagnostics: &mut Vec<Diagnostic>,
) -> String {
    let line = line.trim_start_matches([' ', '\t']);
    let mut kept = String::with_capacity(line.len());
    let mut in_quote = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_quote = !in_quote;
                kept.push(c);
            }
            '\\' => match chars.peek() {
                Some(&next @ ('#' | '!')) if !in_quote => {
                    kept.push(next);
                    chars.next();
                }
                Some(&next) => {
                    kept.push(c);
                    kept.push(next);
                    chars.next();
                }
                None => kept.push(c),
            },
            '#' | '!' if !in_quote => break,
            c => kept.push(c),
        }
    }
    if in_quote {
        diagnostics.push(Diagnostic::warning(
            position,
            "a double quote is not closed on its line; what follows it is left out, as \
             keepalived leaves it out",
        ));
    }
    kept.trim_end_matches([' ', '\t', '\r']).to_owned()
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;

    fn position() -> Position {
        Position {
            file: Rc::from("t.conf"),
            line: 1,
        }
    }

    fn lines(config_id: &str, text: &str) -> Vec<String> {
        let mut preprocessor = Preprocessor::new(config_id);
        let mut diagnostics = Vec::new();
        text.lines()
            .filter_map(|line| preprocessor.line(line, &position(), &mut diagnostics))
            .collect()
    }

    #[test]
    fn conditional_lines_follow_the_config_id() {
        let text = "@lb1 priority 150\n@^lb1 priority 100\n@lb2 priority 50\n@lb1\n";
        assert_eq!(lines("lb1", text), vec!["priority 150"]);
        assert_eq!(lines("lb2", text), vec!["priority 100", "priority 50"]);
    }

    #[test]
    fn definitions_are_replaced_bare_and_braced() {
        let text = "$IF=eth0\n$VIP = 192.0.2.1/24\ninterface $IF\n${VIP} dev ${IF}\n\
                    $IFX stays\n$UNDEFINED stays\nsay ${_HASH}x\n";
        assert_eq!(
            lines("a", text),
            vec![
                "interface eth0",
                "192.0.2.1/24 dev eth0",
                "$IFX stays",
                "$UNDEFINED stays",
                "say"
            ]
        );
    }

    #[test]
    fn definitions_may_hold_conditional_lines_and_other_definitions() {
        let text = "$A=@h1 priority $P\n$P=10\n$A\n";
        assert_eq!(lines("h1", text), vec!["priority 10"]);
        assert!(lines("h2", text).is_empty());
    }

    #[test]
    fn comments_respect_double_quotes_and_escapes() {
        let mut diagnostics = Vec::new();
        assert_eq!(
            decomment("  script \"a # b\" # c", &position(), &mut diagnostics),
            "script \"a # b\""
        );
        assert_eq!(
            decomment("auth_pass pa\\!ss ! x", &position(), &mut diagnostics),
            "auth_pass pa!ss"
        );
        assert_eq!(
            decomment("script 'a # b'", &position(), &mut diagnostics),
            "script 'a"
        );
        assert!(diagnostics.is_empty());
    }

    #[test]
    fn a_definition_using_itself_ends() {
        let mut preprocessor = Preprocessor::new("a");
        let mut diagnostics = Vec::new();
        preprocessor.line("$X=$X", &position(), &mut diagnostics);
        assert_eq!(preprocessor.line("$X", &position(), &mut diagnostics), None);
        assert_eq!(diagnostics.len(), 1);
        // One that doubles stops at keepalived's line length.
        preprocessor.line("$Y=$Y $Y", &position(), &mut diagnostics);
        let line = preprocessor.line("$Y", &position(), &mut diagnostics);
        assert!(line.is_some_and(|line| line.len() < MAX_LINE_BYTES));
    }
}
