//! Who may call a mutating RPC.
//!
//! On the Unix socket the file's permissions (0660) are the authentication: whoever can
//! connect may mutate. On TCP a mutating call needs a verified client certificate or a
//! bearer token from `api.tokens_file`.
//!
//! The tokens file has one token per line: `NAME TOKEN`, optionally followed by the word
//! `read-only` for a token that may watch and read but not mutate. Empty lines and lines
//! starting with `#` are ignored.

use std::path::{Path, PathBuf};

use thiserror::Error;
use tonic::{Request, Status};

/// Why the tokens file cannot be used.
#[derive(Debug, Error)]
pub enum TokensError {
    /// It cannot be read.
    #[error("reading the API tokens file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `NAME TOKEN [read-only]`.
    #[error("{path}:{line}: expected `NAME TOKEN` or `NAME TOKEN read-only`")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
    },
}

/// One line of the tokens file.
#[derive(Debug)]
pub struct Token {
    secret: String,
    may_mutate: bool,
}

/// The rule of one listener for mutating calls.
#[derive(Debug)]
pub enum MutationGuard {
    /// The Unix socket: its permissions already decided who connects.
    SocketPermissions,
    /// TCP: a client certificate, or a bearer token from this list.
    Credentials(Vec<Token>),
}

impl MutationGuard {
    /// The TCP guard with the tokens of `tokens_file` (none when it is not configured).
    pub fn for_tcp(tokens_file: Option<&Path>) -> Result<Self, TokensError> {
        let Some(path) = tokens_file else {
            return Ok(MutationGuard::Credentials(Vec::new()));
        };
        let text = std::fs::read_to_string(path).map_err(|source| TokensError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut tokens = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let token = match words.as_slice() {
                [_, secret] => Token {
                    secret: (*secret).to_owned(),
                    may_mutate: true,
                },
                [_, secret, "read-only"] => Token {
                    secret: (*secret).to_owned(),
                    may_mutate: false,
                },
                _ => {
                    return Err(TokensError::Malformed {
                        path: path.to_owned(),
                        line: index + 1,
                    });
                }
            };
            tokens.push(token);
        }
        Ok(MutationGuard::Credentials(tokens))
    }

    /// Lets `request` mutate, or says why not (UNAUTHENTICATED, PERMISSION_DENIED).
    pub fn check<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let MutationGuard::Credentials(tokens) = self else {
            return Ok(());
        };
        // tonic only hands over certificates the TLS handshake verified against client_ca.
        if request
            .peer_certs()
            .is_some_and(|certificates| !certificates.is_empty())
        {
            return Ok(());
        }
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let Some(presented) = presented else {
            return Err(Status::unauthenticated(
                "mutating calls over TCP need a client certificate or an \
                 `authorization: Bearer TOKEN` header with a token from the daemon's \
                 api.tokens_file; or use the Unix socket",
            ));
        };
        match tokens
            .iter()
            .find(|token| constant_time_eq(token.secret.as_bytes(), presented.as_bytes()))
        {
            Some(token) if token.may_mutate => Ok(()),
            Some(_) => Err(Status::permission_denied(
                "this token is read-only in api.tokens_file; use a token without \
                 `read-only` to mutate",
            )),
            None => Err(Status::unauthenticated(
                "the bearer token is not in the daemon's api.tokens_file; check the token",
            )),
        }
    }
}

/// Compares two secrets in a time that depends only on their lengths, so a caller cannot
/// find a token byte by byte by timing the answers.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(tokens: &str) -> MutationGuard {
        let path = std::env::temp_dir().join(format!("vst-tokens-{}", std::process::id()));
        std::fs::write(&path, tokens).expect("a temporary file");
        let guard = MutationGuard::for_tcp(Some(&path));
        let _ = std::fs::remove_file(&path);
        guard.expect("a valid tokens file")
    }

    fn with_token(token: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        if let Some(token) = token {
            let value = format!("Bearer {token}").parse().expect("ASCII");
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    #[test]
    fn the_socket_lets_everyone_mutate() {
        assert!(
            MutationGuard::SocketPermissions
                .check(&with_token(None))
                .is_ok()
        );
    }

    #[test]
    fn tcp_needs_a_token_that_may_mutate() {
        let guard = guard("# comment\n\nops s3cret\nviewer l00k read-only\n");
        let code = |token| {
            guard
                .check(&with_token(token))
                .map_err(|status| status.code())
        };
        assert_eq!(code(None), Err(tonic::Code::Unauthenticated));
        assert_eq!(code(Some("nope")), Err(tonic::Code::Unauthenticated));
        assert_eq!(code(Some("l00k")), Err(tonic::Code::PermissionDenied));
        assert_eq!(code(Some("s3cret")), Ok(()));
    }

    #[test]
    fn a_malformed_line_is_reported_with_its_number() {
        let path = std::env::temp_dir().join(format!("vst-bad-tokens-{}", std::process::id()));
        std::fs::write(&path, "ops s3cret\njust-one-word\n").expect("a temporary file");
        let error = MutationGuard::for_tcp(Some(&path)).expect_err("malformed");
        let _ = std::fs::remove_file(&path);
        assert!(
            matches!(error, TokensError::Malformed { line: 2, .. }),
            "{error}"
        );
    }
}
