//! Splitting keepalived.conf lines into words, braces and line ends, each with its file and
//! line.
//!
//! keepalived's syntax is line-oriented: a keyword takes the words after it on its line, so
//! the ends of lines are tokens too. Braces are tokens of their own even where they touch a
//! word (`virtual_ipaddress{`). The lines come from [`super::preprocess`], comments already
//! removed; words are split as keepalived's `alloc_strvec_r()` splits them: at blanks, a
//! double-quoted string being one word without its quotes.

use std::rc::Rc;

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
    /// The line it is on, as keepalived reads it (comments removed, definitions replaced).
    pub(super) line: Rc<str>,
    /// Where on `line` it starts, in bytes.
    pub(super) column: usize,
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

/// The tokens of `line`, one line as keepalived reads it, followed by an end of line when
/// there is at least one.
pub(super) fn lex_line(line: &str, position: &Position, tokens: &mut Vec<Token>) {
    let shared: Rc<str> = Rc::from(line);
    let token = |kind, column| Token {
        kind,
        position: position.clone(),
        line: Rc::clone(&shared),
        column,
    };
    let line_start = tokens.len();
    let mut chars = line.char_indices().peekable();
    let mut word = String::new();
    let mut word_start = 0;
    let flush = |word: &mut String, start: usize, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(token(TokenKind::Word(std::mem::take(word)), start));
        }
    };
    while let Some((index, c)) = chars.next() {
        match c {
            '{' | '}' => {
                flush(&mut word, word_start, tokens);
                tokens.push(token(
                    if c == '{' {
                        TokenKind::Open
                    } else {
                        TokenKind::Close
                    },
                    index,
                ));
            }
            '"' => {
                flush(&mut word, word_start, tokens);
                let mut quoted = String::new();
                let mut closed = false;
                for (_, inner) in chars.by_ref() {
                    if inner == '"' {
                        closed = true;
                        break;
                    }
                    quoted.push(inner);
                }
                // keepalived drops an unclosed quote with the rest of the line; the
                // preprocessor has said so.
                if closed {
                    tokens.push(token(TokenKind::Word(quoted), index));
                }
            }
            c if c.is_whitespace() => flush(&mut word, word_start, tokens),
            c => {
                if word.is_empty() {
                    word_start = index;
                }
                word.push(c);
            }
        }
    }
    flush(&mut word, word_start, tokens);
    if tokens.len() > line_start {
        tokens.push(token(TokenKind::EndOfLine, line.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        let mut tokens = Vec::new();
        let position = Position {
            file: Rc::from("t.conf"),
            line: 1,
        };
        for line in text.lines() {
            lex_line(line, &position, &mut tokens);
        }
        tokens.into_iter().map(|token| token.kind).collect()
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
    fn blank_lines_give_nothing() {
        assert_eq!(
            kinds("state MASTER\n\n"),
            vec![word("state"), word("MASTER"), TokenKind::EndOfLine]
        );
    }

    #[test]
    fn double_quotes_keep_spaces_and_single_quotes_do_not() {
        assert_eq!(
            kinds("script \"/bin/check -x # not a comment\" 'a b'"),
            vec![
                word("script"),
                word("/bin/check -x # not a comment"),
                word("'a"),
                word("b'"),
                TokenKind::EndOfLine
            ]
        );
    }
}
