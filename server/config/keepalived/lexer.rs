//! Splitting keepalived.conf text into words, braces and line ends, each with its file and
//! line.
//!
//! keepalived's syntax is line-oriented: a keyword takes the words after it on its line, so
//! the ends of lines are tokens too. Braces are tokens of their own even where they touch a
//! word (`virtual_ipaddress{`), and `#` or `!` outside quotes starts a comment that runs to
//! the end of the line.

use std::rc::Rc;

use super::Diagnostic;

/// Where a token was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Position {
    /// The file as it is named in diagnostics; shared by every token of the file.
    pub(super) file: Rc<str>,
    /// The line, counted from 1.
    pub(super) line: usize,
}

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TokenKind {
    /// A word, or a quoted string without its quotes.
    Word(String),
    /// `{`.
    Open,
    /// `}`.
    Close,
    /// The end of a line that held at least one other token.
    EndOfLine,
}

/// One token and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Token {
    /// What it is.
    pub(super) kind: TokenKind,
    /// Where it was written.
    pub(super) position: Position,
}

impl Token {
    /// The word, when this token is one.
    pub(super) fn word(&self) -> Option<&str> {
        match &self.kind {
            TokenKind::Word(word) => Some(word),
            TokenKind::Open | TokenKind::Close | TokenKind::EndOfLine => None,
        }
    }
}

/// The tokens of `text`, a file named `file`; an unterminated quote is reported in
/// `diagnostics` and taken to run to the end of its line.
pub(super) fn lex(text: &str, file: &Rc<str>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Token> {
    let mut tokens = Vec::new();
    for (index, line_text) in text.lines().enumerate() {
        let position = Position {
            file: Rc::clone(file),
            line: index + 1,
        };
        let line_start = tokens.len();
        lex_line(line_text, &position, &mut tokens, diagnostics);
        if tokens.len() > line_start {
            tokens.push(Token {
                kind: TokenKind::EndOfLine,
                position,
            });
        }
    }
    tokens
}

fn lex_line(
    line: &str,
    position: &Position,
    tokens: &mut Vec<Token>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let token = |kind| Token {
        kind,
        position: position.clone(),
    };
    let mut chars = line.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(token(TokenKind::Word(std::mem::take(word))));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '#' | '!' => break,
            '{' | '}' => {
                flush(&mut word, tokens);
                tokens.push(token(if c == '{' {
                    TokenKind::Open
                } else {
                    TokenKind::Close
                }));
            }
            '"' => {
                flush(&mut word, tokens);
                let mut quoted = String::new();
                let mut closed = false;
                for inner in chars.by_ref() {
                    if inner == '"' {
                        closed = true;
                        break;
                    }
                    quoted.push(inner);
                }
                if !closed {
                    diagnostics.push(Diagnostic::error(
                        position,
                        "a quoted string is not closed on its line; it is taken to run to \
                         the end of the line",
                    ));
                }
                tokens.push(token(TokenKind::Word(quoted)));
            }
            c if c.is_whitespace() => flush(&mut word, tokens),
            c => word.push(c),
        }
    }
    flush(&mut word, tokens);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        let mut diagnostics = Vec::new();
        lex(text, &Rc::from("t.conf"), &mut diagnostics)
            .into_iter()
            .map(|token| token.kind)
            .collect()
    }

    fn word(text: &str) -> TokenKind {
        TokenKind::Word(text.to_owned())
    }

    #[test]
    fn braces_split_from_touching_words() {
        assert_eq!(
            kinds("virtual_ipaddress{192.0.2.1}"),
            vec![
                word("virtual_ipaddress"),
                TokenKind::Open,
                word("192.0.2.1"),
                TokenKind::Close,
                TokenKind::EndOfLine
            ]
        );
    }

    #[test]
    fn comments_end_the_line_and_blank_lines_give_nothing() {
        assert_eq!(
            kinds("state MASTER # Tag 為 MASTER\n\n! whole line\nnopreempt!x"),
            vec![
                word("state"),
                word("MASTER"),
                TokenKind::EndOfLine,
                word("nopreempt"),
                TokenKind::EndOfLine
            ]
        );
    }

    #[test]
    fn quotes_keep_spaces_and_comment_marks() {
        assert_eq!(
            kinds("script \"/bin/check -x # not a comment\""),
            vec![
                word("script"),
                word("/bin/check -x # not a comment"),
                TokenKind::EndOfLine
            ]
        );
    }

    #[test]
    fn lines_are_counted_from_one() {
        let mut diagnostics = Vec::new();
        let tokens = lex("\n\na b\n", &Rc::from("t.conf"), &mut diagnostics);
        assert!(tokens.iter().all(|token| token.position.line == 3));
    }
}
