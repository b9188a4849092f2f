//! A minimal SMTP client (RFC 5321) on tokio: enough to hand one plain-text message to a
//! relay, as keepalived's alerts do. No TLS and no authentication: keepalived has neither,
//! and alerts go to a relay on the management network.
//!
//! Every step is bounded: the connection and each reply must come within the configured
//! timeout, and a reply's lines and their count are capped (`MAX_REPLY_LINE` bytes,
//! `MAX_REPLY_LINES` lines), so a stuck or hostile server costs a bounded wait.
//!
//! Why not lettre's tokio transport (`AsyncSmtpTransport<Tokio1Executor>::send_raw`), measured
//! in December 2026 with lettre 0.11.23, `default-features = false`, features `smtp-transport`
//! and `tokio1`:
//! - it adds 33 crates to the daemon's dependency tree (`cargo tree -e normal` before and after:
//!   url, idna and the ICU normalisation stack under it, nom, email_address, base64 0.23, ...);
//!   35 with STARTTLS over the rustls already in the tree (`tokio1-rustls`, `ring`,
//!   `rustls-native-certs`);
//! - a release binary that sends one message grows from 757,992 to 996,568 bytes stripped
//!   (+238,576, the same tokio in both), and compiling those crates took 36 s of CPU time
//!   (`cargo build --release`, user time, on this 2-core machine);
//! - what alerts need is the dialogue below, 192 lines of code with their bounds; lettre's gains
//!   are STARTTLS and AUTH, which keepalived's alerts do not have either. An operator asking
//!   for them is the time to move to lettre rather than grow this file.

use std::net::SocketAddr;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// The longest reply line read (RFC 5321 §4.5.3.1.5 allows 512 bytes with the CRLF).
const MAX_REPLY_LINE: u64 = 1024;
/// The most lines of one multi-line reply read before giving up.
const MAX_REPLY_LINES: usize = 64;

/// Where and how to deliver.
#[derive(Clone, Debug)]
pub struct Relay<'a> {
    /// The server's host name or address.
    pub host: &'a str,
    /// Its port.
    pub port: u16,
    /// The name given in `HELO`.
    pub helo_name: &'a str,
    /// How long connecting and each reply may take.
    pub timeout: Duration,
}

/// One message: the envelope and the text (headers, a blank line, the body).
#[derive(Clone, Debug)]
pub struct Message<'a> {
    /// The envelope sender (`MAIL FROM`).
    pub from: &'a str,
    /// The envelope recipients (`RCPT TO`), at least one.
    pub to: &'a [String],
    /// Headers and body, lines separated by `\n` or `\r\n`.
    pub text: &'a str,
}

/// Why a message was not delivered.
#[derive(Debug, Error)]
pub enum SmtpError {
    /// The host name did not resolve.
    #[error("no address for {host}: {source}")]
    Resolve {
        /// The host.
        host: String,
        /// Why.
        source: std::io::Error,
    },
    /// No address of the server accepted a connection.
    #[error("cannot connect to {host}: {reason}")]
    Connect {
        /// The host.
        host: String,
        /// The last address's failure.
        reason: String,
    },
    /// The server did not answer in time.
    #[error("no reply within {} ms while waiting for {step}", .timeout.as_millis())]
    Timeout {
        /// What was waited for.
        step: &'static str,
        /// The timeout.
        timeout: Duration,
    },
    /// The server refused a step.
    #[error("the server refused {step}: {reply}")]
    Refused {
        /// The step.
        step: &'static str,
        /// Its reply, as sent.
        reply: String,
    },
    /// The server's reply is not an SMTP reply.
    #[error("the server's reply to {step} is not SMTP: {reply:?}")]
    Malformed {
        /// The step.
        step: &'static str,
        /// What came.
        reply: String,
    },
    /// The connection failed.
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Delivers `message` through `relay`; returns once the server accepted it, or why not.
pub async fn send(relay: &Relay<'_>, message: &Message<'_>) -> Result<(), SmtpError> {
    let stream = connect(relay).await?;
    let (read, write) = stream.into_split();
    let mut session = Session {
        read: BufReader::new(read),
        write,
        timeout: relay.timeout,
    };
    session.expect("the greeting", 220).await?;
    session
        .command("HELO", &format!("HELO {}", relay.helo_name), 250)
        .await?;
    session
        .command("MAIL FROM", &format!("MAIL FROM:<{}>", message.from), 250)
        .await?;
    for recipient in message.to {
        session
            .command("RCPT TO", &format!("RCPT TO:<{recipient}>"), 250)
            .await?;
    }
    session.command("DATA", "DATA", 354).await?;
    session
        .write
        .write_all(data_block(message.text).as_bytes())
        .await?;
    session.expect("the message", 250).await?;
    // The message is accepted; a server that drops the connection on QUIT changes nothing.
    let _ = session.command("QUIT", "QUIT", 221).await;
    Ok(())
}

/// Resolves the host and connects to the first address that answers within the timeout.
async fn connect(relay: &Relay<'_>) -> Result<TcpStream, SmtpError> {
    let resolved = tokio::time::timeout(
        relay.timeout,
        tokio::net::lookup_host((relay.host, relay.port)),
    )
    .await
    .map_err(|_| SmtpError::Timeout {
        step: "the name lookup",
        timeout: relay.timeout,
    })?
    .map_err(|source| SmtpError::Resolve {
        host: relay.host.to_owned(),
        source,
    })?;
    let addresses: Vec<SocketAddr> = resolved.collect();
    let mut reason = String::from("the name has no address");
    for address in addresses {
        match tokio::time::timeout(relay.timeout, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => reason = format!("{address}: {error}"),
            Err(_) => {
                reason = format!(
                    "{address}: no answer within {} ms",
                    relay.timeout.as_millis()
                )
            }
        }
    }
    Err(SmtpError::Connect {
        host: relay.host.to_owned(),
        reason,
    })
}

/// The message text as the DATA block: CRLF line ends, a leading `.` doubled (RFC 5321
/// §4.5.2), and the closing `.` line.
fn data_block(text: &str) -> String {
    let mut block = String::with_capacity(text.len() + 16);
    for line in text.lines() {
        if line.starts_with('.') {
            block.push('.');
        }
        block.push_str(line);
        block.push_str("\r\n");
    }
    block.push_str(".\r\n");
    block
}

struct Session {
    read: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
    timeout: Duration,
}

impl Session {
    /// Sends `line` and expects a reply with `code`.
    async fn command(
        &mut self,
        step: &'static str,
        line: &str,
        code: u16,
    ) -> Result<(), SmtpError> {
        self.write
            .write_all(format!("{line}\r\n").as_bytes())
            .await?;
        self.expect(step, code).await
    }

    /// Reads one reply, all its lines, and checks its code.
    async fn expect(&mut self, step: &'static str, code: u16) -> Result<(), SmtpError> {
        let timeout = self.timeout;
        let reply = tokio::time::timeout(timeout, self.reply(step))
            .await
            .map_err(|_| SmtpError::Timeout { step, timeout })??;
        if reply.0 == code {
            Ok(())
        } else {
            Err(SmtpError::Refused {
                step,
                reply: reply.1,
            })
        }
    }

    /// A whole reply: its code and its text (RFC 5321 §4.2: `250-` continues, `250 ` ends).
    async fn reply(&mut self, step: &'static str) -> Result<(u16, String), SmtpError> {
        let mut text = String::new();
        for _ in 0..MAX_REPLY_LINES {
            let mut line = String::new();
            let read = (&mut self.read)
                .take(MAX_REPLY_LINE)
                .read_line(&mut line)
                .await?;
            if read == 0 {
                return Err(SmtpError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("the server closed the connection before replying to {step}"),
                )));
            }
            let line = line.trim_end();
            let malformed = || SmtpError::Malformed {
                step,
                reply: line.to_owned(),
            };
            let code: u16 = line
                .get(..3)
                .and_then(|digits| digits.parse().ok())
                .ok_or_else(malformed)?;
            text.push_str(line);
            match line.as_bytes().get(3) {
                Some(b'-') => text.push(' '),
                None | Some(b' ') => return Ok((code, text)),
                Some(_) => return Err(malformed()),
            }
        }
        Err(SmtpError::Malformed {
            step,
            reply: format!("more than {MAX_REPLY_LINES} lines"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::net::TcpListener;

    #[test]
    fn the_data_block_doubles_leading_dots_and_ends_with_a_dot_line() {
        assert_eq!(
            data_block("Subject: x\n\n.hidden\nplain\r\n"),
            "Subject: x\r\n\r\n..hidden\r\nplain\r\n.\r\n"
        );
    }

    /// A scripted server: the first reply is the greeting, each next one answers a command
    /// (or the end of the message text); it returns everything the client sent.
    async fn scripted(
        replies: &'static [&'static str],
    ) -> (SocketAddr, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("loopback");
        let address = listener.local_addr().expect("bound");
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.expect("a client");
            let (read, mut write) = stream.into_split();
            let mut read = BufReader::new(read);
            let mut seen = String::new();
            let mut in_data = false;
            let mut replies = replies.iter();
            let greeting = replies.next().expect("a greeting");
            write
                .write_all(greeting.as_bytes())
                .await
                .expect("greeting");
            for reply in replies {
                loop {
                    let mut line = String::new();
                    if read.read_line(&mut line).await.expect("reads") == 0 {
                        return seen;
                    }
                    seen.push_str(&line);
                    let answered = if in_data { line == ".\r\n" } else { true };
                    in_data = (in_data && !answered) || (!in_data && line == "DATA\r\n");
                    if answered {
                        break;
                    }
                }
                write.write_all(reply.as_bytes()).await.expect("reply");
            }
            seen
        });
        (address, server)
    }

    fn relay(address: SocketAddr) -> (String, u16) {
        (address.ip().to_string(), address.port())
    }

    #[tokio::test]
    async fn a_message_goes_through_the_whole_dialogue() {
        let (address, server) = scripted(&[
            "220 mail ready\r\n",
            "250-mail\r\n250 HELP\r\n",
            "250 ok\r\n",
            "250 ok\r\n",
            "354 go on\r\n",
            "250 queued\r\n",
            "221 bye\r\n",
        ])
        .await;
        let (host, port) = relay(address);
        let to = ["ops@example.com".to_owned()];
        send(
            &Relay {
                host: &host,
                port,
                helo_name: "h1",
                timeout: Duration::from_secs(5),
            },
            &Message {
                from: "vrrp@example.com",
                to: &to,
                text: "Subject: test\n\nbody",
            },
        )
        .await
        .expect("delivered");
        let seen = server.await.expect("the server ends");
        assert_eq!(
            seen,
            "HELO h1\r\nMAIL FROM:<vrrp@example.com>\r\nRCPT TO:<ops@example.com>\r\nDATA\r\n\
             Subject: test\r\n\r\nbody\r\n.\r\nQUIT\r\n"
        );
    }

    #[tokio::test]
    async fn a_refused_recipient_is_an_error_with_the_reply() {
        let (address, _server) = scripted(&[
            "220 mail ready\r\n",
            "250 hello\r\n",
            "250 ok\r\n",
            "550 no such user\r\n",
        ])
        .await;
        let (host, port) = relay(address);
        let to = ["nobody@example.com".to_owned()];
        let error = send(
            &Relay {
                host: &host,
                port,
                helo_name: "h1",
                timeout: Duration::from_secs(5),
            },
            &Message {
                from: "vrrp@example.com",
                to: &to,
                text: "Subject: test\n\nbody",
            },
        )
        .await
        .expect_err("refused");
        assert!(
            matches!(&error, SmtpError::Refused { step: "RCPT TO", reply } if reply == "550 no such user"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("loopback");
        let (host, port) = relay(listener.local_addr().expect("bound"));
        let to = ["ops@example.com".to_owned()];
        let error = send(
            &Relay {
                host: &host,
                port,
                helo_name: "h1",
                timeout: Duration::from_millis(100),
            },
            &Message {
                from: "vrrp@example.com",
                to: &to,
                text: "x",
            },
        )
        .await
        .expect_err("no greeting");
        assert!(matches!(error, SmtpError::Timeout { .. }), "{error}");
        drop(listener);
    }
}
