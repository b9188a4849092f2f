//! Turning tokens into a tree of statements: `keyword args...`, each optionally followed by
//! a `{ ... }` block of further statements.
//!
//! The opening brace may end the keyword's line or stand on the next one. Inside list blocks
//! such as `virtual_ipaddress` every line is a statement too, its first word the "keyword"
//! (an address, a peer, a script name): the translation decides what each block means.

use super::Diagnostic;
use super::lexer::{Position, Token, TokenKind};

/// One statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Node {
    /// The first word.
    pub(super) keyword: String,
    /// The words after it on its line.
    pub(super) arguments: Vec<String>,
    /// The statement as keepalived hands it to a keyword's handler: its line from the
    /// keyword to the first brace outside double quotes. Programs are split from it again,
    /// with keepalived's rules for quotes and escapes.
    pub(super) text: String,
    /// Where the first word was written.
    pub(super) position: Position,
    /// The statements of its `{ ... }`, when it has one.
    pub(super) block: Option<Vec<Node>>,
}

/// A statement whose block is still being read.
struct OpenBlock {
    /// `None` for a `{` that no keyword opened: its contents are read and dropped.
    node: Option<Node>,
    /// Where the `{` was.
    open: Position,
    children: Vec<Node>,
}

/// The statements of `tokens`; unbalanced braces are reported in `diagnostics`.
///
/// Works with an explicit stack rather than recursion, so no nesting depth, however
/// absurd, can overflow the thread's stack.
pub(super) fn parse(tokens: &[Token], diagnostics: &mut Vec<Diagnostic>) -> Vec<Node> {
    let mut top_level = Vec::new();
    let mut open_blocks: Vec<OpenBlock> = Vec::new();
    let mut index = 0;
    while index < tokens.len() {
        let token = &tokens[index];
        index += 1;
        match &token.kind {
            TokenKind::EndOfLine => {}
            TokenKind::Close => match open_blocks.pop() {
                Some(finished) => {
                    if let Some(mut node) = finished.node {
                        node.block = Some(finished.children);
                        push(&mut open_blocks, &mut top_level, node);
                    }
                }
                None => diagnostics.push(Diagnostic::error(
                    &token.position,
                    "`}` closes no block; it is ignored",
                )),
            },
            TokenKind::Open => {
                diagnostics.push(Diagnostic::error(
                    &token.position,
                    "`{` follows no keyword; the block is ignored",
                ));
                open_blocks.push(OpenBlock {
                    node: None,
                    open: token.position.clone(),
                    children: Vec::new(),
                });
            }
            TokenKind::Word(keyword) => {
                let mut arguments = Vec::new();
                while let Some(word) = tokens.get(index).and_then(Token::word) {
                    arguments.push(word.to_owned());
                    index += 1;
                }
                let node = Node {
                    keyword: keyword.clone(),
                    arguments,
                    text: statement_text(&token.line[token.column..]).to_owned(),
                    position: token.position.clone(),
                    block: None,
                };
                // The `{` may stand alone on a following line.
                let mut lookahead = index;
                while tokens.get(lookahead).map(|token| &token.kind) == Some(&TokenKind::EndOfLine)
                {
                    lookahead += 1;
                }
                match tokens.get(lookahead) {
                    Some(open) if open.kind == TokenKind::Open => {
                        open_blocks.push(OpenBlock {
                            node: Some(node),
                            open: open.position.clone(),
                            children: Vec::new(),
                        });
                        index = lookahead + 1;
                    }
                    _ => push(&mut open_blocks, &mut top_level, node),
                }
            }
        }
    }
    for unclosed in open_blocks.iter().rev() {
        let what = match &unclosed.node {
            Some(node) => format!("the block of `{}`", node.keyword),
            None => "the block".to_owned(),
        };
        diagnostics.push(Diagnostic::error(
            &unclosed.open,
            format!("{what} opened here is never closed with `}}`; it is ignored"),
        ));
    }
    top_level
}

/// `rest`, a line from a statement's first word on, up to the first `{` or `}` outside
/// double quotes, without the blanks before it (keepalived's `read_line()` splits a line
/// there).
fn statement_text(rest: &str) -> &str {
    let mut in_quote = false;
    let end = rest
        .char_indices()
        .find(|&(_, c)| {
            if c == '"' {
                in_quote = !in_quote;
            }
            !in_quote && (c == '{' || c == '}')
        })
        .map_or(rest.len(), |(index, _)| index);
    rest[..end].trim_end()
}

/// Adds a finished statement to the innermost open block, or to the top level.
fn push(open_blocks: &mut [OpenBlock], top_level: &mut Vec<Node>, node: Node) {
    match open_blocks.last_mut() {
        Some(parent) => parent.children.push(node),
        None => top_level.push(node),
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::super::lexer::lex_line;
    use super::*;

    fn tree(text: &str) -> (Vec<Node>, Vec<Diagnostic>) {
        let mut diagnostics = Vec::new();
        let mut tokens = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let position = Position {
                file: Rc::from("t.conf"),
                line: index + 1,
            };
            lex_line(line, &position, &mut tokens);
        }
        let nodes = parse(&tokens, &mut diagnostics);
        (nodes, diagnostics)
    }

    #[test]
    fn a_statement_keeps_its_text_up_to_a_brace() {
        let (nodes, _) = tree("vrrp_script x { script \"a '{' b\" x }");
        let script = &nodes[0].block.as_ref().expect("a block")[0];
        assert_eq!(script.text, "script \"a '{' b\" x");
    }

    #[test]
    fn brace_on_the_next_line_opens_the_block() {
        let (nodes, diagnostics) = tree("vrrp_instance A\n{\n  priority 5\n}\nnext 1\n");
        assert!(diagnostics.is_empty());
        assert_eq!(nodes.len(), 2);
        let block = nodes[0].block.as_ref().expect("a block was written");
        assert_eq!(block[0].keyword, "priority");
        assert_eq!(block[0].arguments, vec!["5"]);
        assert_eq!(block[0].position.line, 3);
    }

    #[test]
    fn one_line_blocks_nest() {
        let (nodes, diagnostics) = tree("a { b { c d } e }");
        assert!(diagnostics.is_empty());
        let a = nodes[0].block.as_ref().expect("a has a block");
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].block.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn unbalanced_braces_are_reported() {
        assert_eq!(tree("a {\n").1.len(), 1);
        assert_eq!(tree("}\n").1.len(), 1);
    }
}
