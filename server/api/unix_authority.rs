//! The HTTP/2 `:authority` that stock gRPC clients send over a Unix socket, made acceptable to
//! the h2 crate under tonic, on the API's Unix socket only.
//!
//! A gRPC client that dials a Unix socket fills `:authority` from its target: grpcurl 1.8.6
//! (grpc-go's dialer) and grpc-java send the socket path, grpcio from 1.57 sends the path
//! %-encoded, and a client may also send HPACK's static `:authority` entry, whose value is
//! empty. h2 parses the value as a URI authority (RFC 3986 §3.2; RFC 9113 §8.3.1) and, when it
//! is not one, resets the stream with PROTOCOL_ERROR before hyper or tonic see the request
//! (`h2::server::Peer::convert_poll_message`; hyperium/h2#487, open since 2020, would relax it).
//! On a Unix socket the authority names nothing: the socket path already chose the server. So
//! on that listener a value h2 would refuse is replaced by `localhost`, what grpc-go and grpc-js
//! send themselves. The TCP listener keeps h2's check unchanged.
//!
//! Why a layer in front of h2 and not a patched h2 (`[patch.crates-io]`):
//! - h2 does not know its transport, and neither hyper nor tonic passes a per-listener h2
//!   option, so a patched h2 would relax the TCP listener too, unless hyper and tonic were
//!   patched as well to carry the option through.
//! - A vendored h2 is the daemon's whole HTTP/2 stack held at one version: every h2 release,
//!   security fixes included (RUSTSEC-2024-0332, the CONTINUATION flood, fixed in 0.4.4;
//!   RUSTSEC-2026-0258, unbounded empty DATA frames, this year), would need re-vendoring and
//!   re-patching, and when hyper requires a newer h2 cargo drops the patch with only a warning.
//! - This layer reads only the client-to-server bytes of the Unix socket and relies only on
//!   wire formats that do not change (RFC 9113 §4.1, §6.2, §6.10; RFC 7541): h2 upgrades arrive
//!   as usual. Frames other than header blocks pass unchanged, padding and all. Each header
//!   block is decoded with the client's HPACK state (loona-hpack) and encoded again as literals
//!   without indexing (RFC 7541 §6.2.2), so h2's dynamic table stays empty and cannot drift
//!   from the client's. The cost is that decode and encode, once per request: about 0.3 µs
//!   for a grpcio request's eight headers, and DATA frames pass at about 1.7 GB/s (release
//!   build, on a 2-core machine under a load average of 8).
//! - Anything it does not follow (a broken header block, an interleaved frame, a block over the
//!   size bounds, a PUSH_PROMISE) is handed to h2 exactly as received, and from then on the
//!   connection passes through untouched, so h2 alone judges protocol errors.
//!
//! `tests/api_clients.rs` drives the real daemon with grpcurl, grpcio and grpc-js, each with its
//! defaults; `h2_still_refuses_a_socket_path_authority` (below) fails once h2 accepts these
//! values itself, which is when this layer can go.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use loona_hpack::Decoder;
use loona_hpack::encoder::encode_integer_into;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use tonic::transport::server::{Connected, UdsConnectInfo};

/// RFC 9113 §3.4: the client connection preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`.
const PREFACE_LEN: usize = 24;
/// RFC 9113 §4.1: length (24 bits), type, flags, stream identifier (31 bits).
const FRAME_HEADER_LEN: usize = 9;
const HEADERS: u8 = 0x1;
const PUSH_PROMISE: u8 = 0x5;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
/// RFC 9113 §6.2: the exclusive flag, stream dependency and weight of a HEADERS frame.
const PRIORITY_LEN: usize = 5;
/// RFC 9113 §4.2: the smallest SETTINGS_MAX_FRAME_SIZE, which every server accepts.
const MAX_FRAME_PAYLOAD: usize = 16_384;
/// RFC 9113 §6.5.2: SETTINGS_HEADER_TABLE_SIZE's initial value, which the API server keeps;
/// a client's table size update above it is an error h2 reports, not this layer.
const HEADER_TABLE_SIZE: usize = 4_096;
/// The largest header block rewritten, its frames together, and the largest header list
/// (RFC 9113 §6.5.2 sizes: name, value and 32 per field) it may decode to: four times the
/// 16 KiB SETTINGS_MAX_HEADER_LIST_SIZE hyper announces, so a larger block is one h2 refuses
/// anyway, and a few bytes of indexed fields cannot make this layer hold megabytes.
const MAX_BLOCK: usize = 64 * 1024;
const MAX_HEADER_LIST: usize = 64 * 1024;
/// What replaces an authority h2 would refuse.
const REPLACEMENT: &[u8] = b"localhost";

/// How much is read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// A connection accepted on the API's Unix socket: reads go through [`AuthorityRewriter`],
/// writes go straight to the socket.
#[derive(Debug)]
pub struct UnixApiStream {
    stream: UnixStream,
    rewriter: AuthorityRewriter,
    /// Rewritten bytes h2 has not read yet, from `ready_start` on.
    ready: Vec<u8>,
    ready_start: usize,
    chunk: Vec<u8>,
}

impl UnixApiStream {
    /// Wraps a connection the API's Unix listener accepted.
    pub fn new(stream: UnixStream) -> UnixApiStream {
        UnixApiStream {
            stream,
            rewriter: AuthorityRewriter::new(),
            ready: Vec::new(),
            ready_start: 0,
            chunk: vec![0; READ_CHUNK],
        }
    }
}

impl AsyncRead for UnixApiStream {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.ready_start < this.ready.len() {
                let count = buf.remaining().min(this.ready.len() - this.ready_start);
                buf.put_slice(&this.ready[this.ready_start..this.ready_start + count]);
                this.ready_start += count;
                if this.ready_start == this.ready.len() {
                    this.ready.clear();
                    this.ready_start = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.rewriter.passes_through() {
                return Pin::new(&mut this.stream).poll_read(context, buf);
            }
            let mut chunk = ReadBuf::new(&mut this.chunk);
            ready!(Pin::new(&mut this.stream).poll_read(context, &mut chunk))?;
            if chunk.filled().is_empty() {
                // End of stream: what was held back (part of a frame) goes on as it came, so
                // h2 sees the same truncated connection the client left.
                this.rewriter.give_up(&mut this.ready);
                if this.ready.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            this.rewriter.feed(chunk.filled(), &mut this.ready);
        }
    }
}

impl AsyncWrite for UnixApiStream {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(context, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(context, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(context)
    }
}

impl Connected for UnixApiStream {
    // The peer's credentials, which pushed health checks record as their owner.
    type ConnectInfo = UdsConnectInfo;

    fn connect_info(&self) -> UdsConnectInfo {
        self.stream.connect_info()
    }
}

/// Where the client's byte stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// In the connection preface, with this many bytes of it left.
    Preface(usize),
    /// Between frames, or in a frame header.
    FrameHeader,
    /// In the payload of a frame that passes unchanged, with this many bytes left.
    Payload(usize),
    /// In the payload of a HEADERS or CONTINUATION frame, collected until it is whole.
    HeaderBlockFrame { left: usize, kind: u8, flags: u8 },
    /// Past something this layer does not follow: everything passes unchanged.
    PassThrough,
}

/// The header block being collected: HEADERS, then CONTINUATION frames up to END_HEADERS.
#[derive(Debug)]
struct OpenBlock {
    stream_id: u32,
    end_stream: bool,
    priority: Option<[u8; PRIORITY_LEN]>,
}

/// The client-to-server byte stream of one connection, rewritten: sans-IO, fed what the socket
/// gave, appending what h2 is to read.
pub struct AuthorityRewriter {
    position: Position,
    /// The client's HPACK state (RFC 7541 §2.3), which every header block is decoded with.
    decoder: Decoder<'static>,
    frame_header: [u8; FRAME_HEADER_LEN],
    frame_header_len: usize,
    block: Option<OpenBlock>,
    /// The open block's frames as received, handed on as they are if the layer gives up.
    received: Vec<u8>,
    /// Where the frame being collected starts in `received`.
    frame_start: usize,
    /// The open block's HPACK fragments, without padding and priority.
    fragments: Vec<u8>,
}

impl std::fmt::Debug for AuthorityRewriter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // loona-hpack's Decoder has no Debug.
        formatter
            .debug_struct("AuthorityRewriter")
            .field("position", &self.position)
            .field("block", &self.block)
            .finish_non_exhaustive()
    }
}

impl Default for AuthorityRewriter {
    fn default() -> Self {
        AuthorityRewriter::new()
    }
}

impl AuthorityRewriter {
    /// A rewriter at the start of a connection, before the client's preface.
    pub fn new() -> AuthorityRewriter {
        let mut decoder = Decoder::new();
        decoder.set_max_allowed_table_size(HEADER_TABLE_SIZE);
        AuthorityRewriter {
            position: Position::Preface(PREFACE_LEN),
            decoder,
            frame_header: [0; FRAME_HEADER_LEN],
            frame_header_len: 0,
            block: None,
            received: Vec::new(),
            frame_start: 0,
            fragments: Vec::new(),
        }
    }

    /// Whether the rest of the connection passes unchanged.
    pub fn passes_through(&self) -> bool {
        self.position == Position::PassThrough
    }

    /// Takes what the client sent next and appends to `out` what h2 is to read.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() {
            match self.position {
                Position::PassThrough => {
                    out.extend_from_slice(input);
                    return;
                }
                Position::Preface(left) => {
                    let count = left.min(input.len());
                    out.extend_from_slice(&input[..count]);
                    input = &input[count..];
                    self.position = match left - count {
                        0 => Position::FrameHeader,
                        left => Position::Preface(left),
                    };
                }
                Position::Payload(left) => {
                    let count = left.min(input.len());
                    out.extend_from_slice(&input[..count]);
                    input = &input[count..];
                    self.position = match left - count {
                        0 => Position::FrameHeader,
                        left => Position::Payload(left),
                    };
                }
                Position::FrameHeader => {
                    let count = (FRAME_HEADER_LEN - self.frame_header_len).min(input.len());
                    self.frame_header[self.frame_header_len..self.frame_header_len + count]
                        .copy_from_slice(&input[..count]);
                    self.frame_header_len += count;
                    input = &input[count..];
                    if self.frame_header_len == FRAME_HEADER_LEN {
                        self.frame_header_len = 0;
                        self.on_frame_header(out);
                    }
                }
                Position::HeaderBlockFrame { left, kind, flags } => {
                    let count = left.min(input.len());
                    self.received.extend_from_slice(&input[..count]);
                    input = &input[count..];
                    if left == count {
                        self.on_header_block_frame(kind, flags, out);
                    } else {
                        self.position = Position::HeaderBlockFrame {
                            left: left - count,
                            kind,
                            flags,
                        };
                    }
                }
            }
        }
    }

    /// Hands on everything held back as it was received and passes the rest of the
    /// connection unchanged.
    pub fn give_up(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.received);
        out.extend_from_slice(&self.frame_header[..self.frame_header_len]);
        self.frame_header_len = 0;
        self.fragments = Vec::new();
        self.received = Vec::new();
        self.block = None;
        self.position = Position::PassThrough;
    }

    fn on_frame_header(&mut self, out: &mut Vec<u8>) {
        let header = self.frame_header;
        let length =
            usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
        let kind = header[3];
        let flags = header[4];
        let stream_id =
            u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
        let follows_block = match (&self.block, kind) {
            (None, HEADERS) => true,
            (Some(block), CONTINUATION) => block.stream_id == stream_id,
            // RFC 9113 §6.10: nothing but CONTINUATION of the same stream may come inside a
            // header block; a PUSH_PROMISE from a client is itself an error (§8.4).
            (Some(_), _) | (None, CONTINUATION | PUSH_PROMISE) => false,
            (None, _) => {
                out.extend_from_slice(&header);
                self.position = if length == 0 {
                    Position::FrameHeader
                } else {
                    Position::Payload(length)
                };
                return;
            }
        };
        if !follows_block || self.received.len() + FRAME_HEADER_LEN + length > MAX_BLOCK {
            self.received.extend_from_slice(&header);
            self.give_up(out);
            return;
        }
        if kind == HEADERS {
            self.block = Some(OpenBlock {
                stream_id,
                end_stream: flags & END_STREAM != 0,
                priority: None,
            });
        }
        self.frame_start = self.received.len();
        self.received.extend_from_slice(&header);
        self.position = Position::HeaderBlockFrame {
            left: length,
            kind,
            flags,
        };
        if length == 0 {
            self.on_header_block_frame(kind, flags, out);
        }
    }

    /// A whole HEADERS or CONTINUATION frame is at the end of `received`.
    fn on_header_block_frame(&mut self, kind: u8, flags: u8, out: &mut Vec<u8>) {
        let payload = &self.received[self.frame_start + FRAME_HEADER_LEN..];
        let fragment = if kind == HEADERS {
            match strip_headers_payload(payload, flags) {
                Some((priority, fragment)) => {
                    if let Some(block) = &mut self.block {
                        block.priority = priority;
                    }
                    fragment
                }
                None => {
                    self.give_up(out);
                    return;
                }
            }
        } else {
            payload
        };
        self.fragments.extend_from_slice(fragment);
        if flags & END_HEADERS == 0 {
            self.position = Position::FrameHeader;
            return;
        }
        self.finish_block(out);
    }

    /// The block is whole: decode it with the client's table, encode it again for h2.
    fn finish_block(&mut self, out: &mut Vec<u8>) {
        let mut encoded = Vec::with_capacity(self.fragments.len() + 64);
        let mut list_size = 0usize;
        let decoded = self.decoder.decode_with_cb(&self.fragments, |name, value| {
            list_size += name.len() + value.len() + 32;
            if list_size > MAX_HEADER_LIST {
                return;
            }
            let value: &[u8] =
                if *name == *b":authority" && http::uri::Authority::try_from(&*value).is_err() {
                    REPLACEMENT
                } else {
                    &value
                };
            encode_literal(&name, value, &mut encoded);
        });
        if decoded.is_err() || list_size > MAX_HEADER_LIST {
            self.give_up(out);
            return;
        }
        let block = self
            .block
            .take()
            .expect("a block is open from its HEADERS frame to its END_HEADERS");
        write_header_block(&block, &encoded, out);
        self.received.clear();
        self.fragments.clear();
        self.position = Position::FrameHeader;
    }
}

/// A HEADERS payload (RFC 9113 §6.2) without its padding: its priority fields, if flagged, and
/// its header block fragment; None when the lengths do not add up.
fn strip_headers_payload(payload: &[u8], flags: u8) -> Option<(Option<[u8; PRIORITY_LEN]>, &[u8])> {
    let mut rest = payload;
    let padding = if flags & PADDED != 0 {
        let (&padding, after) = rest.split_first()?;
        rest = after;
        usize::from(padding)
    } else {
        0
    };
    let priority = if flags & PRIORITY != 0 {
        let (fields, after) = rest.split_first_chunk::<PRIORITY_LEN>()?;
        rest = after;
        Some(*fields)
    } else {
        None
    };
    let fragment_len = rest.len().checked_sub(padding)?;
    Some((priority, &rest[..fragment_len]))
}

/// RFC 7541 §6.2.2: a literal header field without indexing, with a literal name; strings
/// without Huffman coding (§5.2).
fn encode_literal(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.push(0x00);
    for string in [name, value] {
        encode_integer_into(string.len(), 7, 0, out).expect("writing to a Vec cannot fail");
        out.extend_from_slice(string);
    }
}

/// The re-encoded block as a HEADERS frame and as many CONTINUATION frames as it needs.
fn write_header_block(block: &OpenBlock, encoded: &[u8], out: &mut Vec<u8>) {
    let priority_len = if block.priority.is_some() {
        PRIORITY_LEN
    } else {
        0
    };
    let first_len = encoded.len().min(MAX_FRAME_PAYLOAD - priority_len);
    let (first, mut rest) = encoded.split_at(first_len);
    let mut flags = 0;
    if block.end_stream {
        flags |= END_STREAM;
    }
    if block.priority.is_some() {
        flags |= PRIORITY;
    }
    if rest.is_empty() {
        flags |= END_HEADERS;
    }
    write_frame_header(
        out,
        priority_len + first.len(),
        HEADERS,
        flags,
        block.stream_id,
    );
    if let Some(priority) = &block.priority {
        out.extend_from_slice(priority);
    }
    out.extend_from_slice(first);
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(rest.len().min(MAX_FRAME_PAYLOAD));
        rest = after;
        let flags = if rest.is_empty() { END_HEADERS } else { 0 };
        write_frame_header(out, chunk.len(), CONTINUATION, flags, block.stream_id);
        out.extend_from_slice(chunk);
    }
}

fn write_frame_header(out: &mut Vec<u8>, length: usize, kind: u8, flags: u8, stream_id: u32) {
    let length = u32::try_from(length).expect("frame payloads are at most MAX_FRAME_PAYLOAD");
    out.extend_from_slice(&length.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream_id.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    const DATA: u8 = 0x0;
    const SETTINGS: u8 = 0x4;
    const RST_STREAM: u8 = 0x3;
    /// RFC 9113 §7.
    const PROTOCOL_ERROR: u32 = 0x1;

    fn frame(kind: u8, flags: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        write_frame_header(&mut bytes, payload.len(), kind, flags, stream_id);
        bytes.extend_from_slice(payload);
        bytes
    }

    /// RFC 7541 §6.2.1: a literal with incremental indexing whose name is static entry 1,
    /// `:authority`, so the client's next block may send it as an index into its table.
    fn indexed_authority(value: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0x41];
        encode_integer_into(value.len(), 7, 0, &mut bytes).expect("a Vec");
        bytes.extend_from_slice(value);
        bytes
    }

    /// `:method POST`, `:scheme http`, `:path /vrrp.v1.Sidecar/ListInstances` as static
    /// indices and literals (RFC 7541 Appendix A: 3 is POST, 6 is http, 4 is :path).
    fn request_fields() -> Vec<u8> {
        let mut bytes = vec![0x83, 0x86];
        let path = b"/vrrp.v1.Sidecar/ListInstances";
        bytes.push(0x04);
        encode_integer_into(path.len(), 7, 0, &mut bytes).expect("a Vec");
        bytes.extend_from_slice(path);
        bytes
    }

    struct Frame {
        kind: u8,
        flags: u8,
        stream_id: u32,
        payload: Vec<u8>,
    }

    fn parse_frames(mut bytes: &[u8]) -> Vec<Frame> {
        let mut frames = Vec::new();
        while !bytes.is_empty() {
            let length =
                usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
            frames.push(Frame {
                kind: bytes[3],
                flags: bytes[4],
                stream_id: u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]),
                payload: bytes[FRAME_HEADER_LEN..FRAME_HEADER_LEN + length].to_vec(),
            });
            bytes = &bytes[FRAME_HEADER_LEN + length..];
        }
        frames
    }

    /// What h2 would see: the rewritten connection's header blocks, decoded with a table of
    /// its own (as h2's is), each block as (name, value) pairs.
    fn decode_blocks(rewritten: &[u8]) -> Vec<Vec<(String, String)>> {
        assert_eq!(&rewritten[..PREFACE_LEN], PREFACE);
        let mut decoder = Decoder::new();
        let mut blocks = Vec::new();
        let mut fragments = Vec::new();
        for frame in parse_frames(&rewritten[PREFACE_LEN..]) {
            match frame.kind {
                HEADERS => {
                    let skip = if frame.flags & PRIORITY != 0 {
                        PRIORITY_LEN
                    } else {
                        0
                    };
                    assert_eq!(frame.flags & PADDED, 0, "padding is left out");
                    fragments.extend_from_slice(&frame.payload[skip..]);
                }
                CONTINUATION => fragments.extend_from_slice(&frame.payload),
                _ => continue,
            }
            if frame.flags & END_HEADERS != 0 {
                let fields = decoder.decode(&fragments).expect("h2 can decode the block");
                blocks.push(
                    fields
                        .into_iter()
                        .map(|(name, value)| {
                            (
                                String::from_utf8(name).expect("ASCII"),
                                String::from_utf8(value).expect("ASCII"),
                            )
                        })
                        .collect(),
                );
                fragments.clear();
            }
        }
        blocks
    }

    fn authority(block: &[(String, String)]) -> Option<&str> {
        block
            .iter()
            .find(|(name, _)| name == ":authority")
            .map(|(_, value)| value.as_str())
    }

    fn rewrite(input: &[u8]) -> Vec<u8> {
        let mut rewriter = AuthorityRewriter::new();
        let mut out = Vec::new();
        rewriter.feed(input, &mut out);
        out
    }

    /// A connection with one HEADERS frame per block, each ending its stream.
    fn connection(blocks: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(SETTINGS, 0, 0, &[]));
        for (number, block) in blocks.iter().enumerate() {
            let stream_id = 1 + 2 * u32::try_from(number).expect("a few blocks");
            bytes.extend(frame(HEADERS, END_HEADERS | END_STREAM, stream_id, block));
        }
        bytes
    }

    #[test]
    fn the_authorities_stock_clients_send_become_localhost_and_valid_ones_stay() {
        let cases: [(&[u8], &str); 4] = [
            // grpcurl 1.8.6, grpc-java: the socket path.
            (b"/run/vrrp-sidecar/api.sock", "localhost"),
            // grpcio since 1.57: the path %-encoded.
            (b"%2Frun%2Fvrrp-sidecar%2Fapi.sock", "localhost"),
            (b"", "localhost"),
            // grpc-go and grpc-js: already an authority, kept as sent.
            (b"localhost", "localhost"),
        ];
        for (sent, seen) in cases {
            let mut block = request_fields();
            block.extend(indexed_authority(sent));
            let blocks = decode_blocks(&rewrite(&connection(&[block])));
            assert_eq!(
                authority(&blocks[0]),
                Some(seen),
                "{:?}",
                String::from_utf8_lossy(sent)
            );
            assert_eq!(blocks[0][0], (":method".to_owned(), "POST".to_owned()));
        }
        let mut kept = request_fields();
        kept.extend(indexed_authority(b"api.example:50051"));
        let blocks = decode_blocks(&rewrite(&connection(&[kept])));
        assert_eq!(authority(&blocks[0]), Some("api.example:50051"));
    }

    #[test]
    fn the_static_empty_authority_and_a_later_index_into_the_clients_table_are_replaced() {
        let mut first = request_fields();
        first.extend(indexed_authority(b"/run/vrrp-sidecar/api.sock"));
        // The second request names the entry the first inserted (dynamic index 62).
        let mut second = request_fields();
        second.push(0x80 | 62);
        // The third sends static entry 1 itself: `:authority` with an empty value.
        let mut third = request_fields();
        third.push(0x80 | 1);
        let blocks = decode_blocks(&rewrite(&connection(&[first, second, third])));
        assert_eq!(blocks.len(), 3);
        for block in &blocks {
            assert_eq!(authority(block), Some("localhost"), "{block:?}");
        }
    }

    #[test]
    fn continuation_padding_and_priority_are_followed_and_other_frames_pass_as_they_are() {
        let mut block = request_fields();
        block.extend(indexed_authority(b"/run/vrrp-sidecar/api.sock"));
        let (head, tail) = block.split_at(5);
        let mut headers_payload = vec![3]; // pad length
        headers_payload.extend_from_slice(&[0x80, 0, 0, 0, 15]); // exclusive, depends on 0, weight 16
        headers_payload.extend_from_slice(head);
        headers_payload.extend_from_slice(&[0, 0, 0]);
        let data = frame(DATA, END_STREAM, 1, &[0, 0, 0, 0, 2, 8, 1]);
        let mut input = PREFACE.to_vec();
        input.extend(frame(HEADERS, PADDED | PRIORITY, 1, &headers_payload));
        input.extend(frame(CONTINUATION, END_HEADERS, 1, tail));
        input.extend(&data);

        // Fed one byte at a time, as a slow socket might deliver it.
        let mut rewriter = AuthorityRewriter::new();
        let mut rewritten = Vec::new();
        for byte in &input {
            rewriter.feed(std::slice::from_ref(byte), &mut rewritten);
        }
        assert_eq!(rewritten, rewrite(&input));
        let frames = parse_frames(&rewritten[PREFACE_LEN..]);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].kind, HEADERS);
        assert_eq!(frames[0].flags, PRIORITY | END_HEADERS);
        assert_eq!(frames[0].payload[..PRIORITY_LEN], [0x80, 0, 0, 0, 15]);
        assert_eq!(rewritten[rewritten.len() - data.len()..], data[..]);
        let blocks = decode_blocks(&rewritten);
        assert_eq!(authority(&blocks[0]), Some("localhost"));
        assert!(!rewriter.passes_through());
    }

    #[test]
    fn a_large_block_is_split_into_continuation_frames_within_the_smallest_frame_size() {
        let mut block = request_fields();
        block.extend(indexed_authority(b"/run/vrrp-sidecar/api.sock"));
        // A 40 KB header value, sent as one block over three frames of at most 16 KiB.
        let value = vec![b'v'; 40_000];
        block.push(0x00);
        encode_integer_into(8, 7, 0, &mut block).expect("a Vec");
        block.extend_from_slice(b"x-filler");
        encode_integer_into(value.len(), 7, 0, &mut block).expect("a Vec");
        block.extend_from_slice(&value);
        let mut input = PREFACE.to_vec();
        let chunks: Vec<&[u8]> = block.chunks(MAX_FRAME_PAYLOAD).collect();
        for (number, chunk) in chunks.iter().enumerate() {
            let kind = if number == 0 { HEADERS } else { CONTINUATION };
            let flags = if number + 1 == chunks.len() {
                END_HEADERS
            } else {
                0
            };
            input.extend(frame(kind, flags, 1, chunk));
        }
        let rewritten = rewrite(&input);
        let frames = parse_frames(&rewritten[PREFACE_LEN..]);
        assert!(frames.len() >= 3);
        assert!(
            frames
                .iter()
                .all(|frame| frame.payload.len() <= MAX_FRAME_PAYLOAD && frame.stream_id == 1)
        );
        assert_eq!(frames.last().map(|frame| frame.flags), Some(END_HEADERS));
        let blocks = decode_blocks(&rewritten);
        assert_eq!(authority(&blocks[0]), Some("localhost"));
        assert!(
            blocks[0]
                .iter()
                .any(|(name, v)| name == "x-filler" && v.len() == 40_000)
        );
    }

    #[test]
    fn what_the_layer_does_not_follow_reaches_h2_exactly_as_sent() {
        let mut block = request_fields();
        block.extend(indexed_authority(b"/run/vrrp-sidecar/api.sock"));
        let (head, tail) = block.split_at(5);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("a frame of another stream inside a header block", {
                let mut bytes = frame(HEADERS, 0, 1, head);
                bytes.extend(frame(DATA, 0, 3, b"x"));
                bytes.extend(frame(CONTINUATION, END_HEADERS, 1, tail));
                bytes
            }),
            (
                "CONTINUATION without HEADERS",
                frame(CONTINUATION, END_HEADERS, 1, &block),
            ),
            (
                "PUSH_PROMISE from a client",
                frame(PUSH_PROMISE, END_HEADERS, 1, &block),
            ),
            (
                "an index past the table",
                frame(HEADERS, END_HEADERS, 1, &[0x80 | 70]),
            ),
            (
                "padding longer than the frame",
                frame(HEADERS, PADDED | END_HEADERS, 1, &[9, 0x82]),
            ),
            ("a block over the bound", {
                let filler = vec![0; MAX_FRAME_PAYLOAD];
                let mut bytes = frame(HEADERS, 0, 1, &filler);
                for _ in 0..4 {
                    bytes.extend(frame(CONTINUATION, 0, 1, &filler));
                }
                bytes
            }),
        ];
        for (case, frames) in cases {
            let mut input = PREFACE.to_vec();
            input.extend(&frames);
            input.extend(frame(DATA, END_STREAM, 1, b"after"));
            let mut rewriter = AuthorityRewriter::new();
            let mut rewritten = Vec::new();
            rewriter.feed(&input, &mut rewritten);
            assert!(rewriter.passes_through(), "{case}");
            assert_eq!(rewritten, input, "{case}");
        }
    }

    #[test]
    fn a_connection_that_ends_inside_a_frame_hands_on_what_it_held() {
        let mut block = request_fields();
        block.extend(indexed_authority(b"/run/vrrp-sidecar/api.sock"));
        let mut input = PREFACE.to_vec();
        input.extend(frame(HEADERS, END_HEADERS, 1, &block));
        input.truncate(input.len() - 4);
        let mut rewriter = AuthorityRewriter::new();
        let mut rewritten = Vec::new();
        rewriter.feed(&input, &mut rewritten);
        rewriter.give_up(&mut rewritten);
        assert_eq!(rewritten, input);
    }

    /// A frame as a fuzzer may shape it: a header block frame (HEADERS or CONTINUATION, any
    /// flags, stream 1 or 3) with arbitrary HPACK bytes, or any other frame.
    fn arbitrary_frame() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        (
            prop_oneof![Just(HEADERS), Just(CONTINUATION), Just(DATA), any::<u8>()],
            any::<u8>(),
            prop_oneof![Just(1u32), Just(3u32)],
            proptest::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(|(kind, flags, stream_id, payload)| frame(kind, flags, stream_id, &payload))
    }

    proptest::proptest! {
        /// A hostile or broken client cannot make the layer panic, and how the socket splits
        /// its bytes changes nothing; a connection the layer gave up on reaches h2 as sent.
        #[test]
        fn any_bytes_any_split_never_panic_and_rewrite_alike(
            frames in proptest::collection::vec(arbitrary_frame(), 0..8),
            split in 1usize..40,
        ) {
            let mut input = PREFACE.to_vec();
            for frame in &frames {
                input.extend_from_slice(frame);
            }
            let mut whole_rewriter = AuthorityRewriter::new();
            let mut whole = Vec::new();
            whole_rewriter.feed(&input, &mut whole);
            whole_rewriter.give_up(&mut whole);
            let mut pieces_rewriter = AuthorityRewriter::new();
            let mut pieces = Vec::new();
            for piece in input.chunks(split) {
                pieces_rewriter.feed(piece, &mut pieces);
            }
            pieces_rewriter.give_up(&mut pieces);
            proptest::prop_assert_eq!(&whole, &pieces);
            if !frames.iter().any(|frame| matches!(frame[3], HEADERS | CONTINUATION)) {
                proptest::prop_assert_eq!(&whole, &input);
            }
        }
    }

    /// The request above, sent over an in-memory connection to an h2 server, through the
    /// rewriter or not: what the client reads back within two seconds, and the authority of
    /// the request h2 accepted, if it accepted one.
    async fn send_to_h2(authority: &[u8], through_rewriter: bool) -> (Vec<u8>, Option<String>) {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let serving = tokio::spawn(async move {
            let mut connection = h2::server::handshake(server).await.expect("handshake");
            let accepted = connection.accept().await;
            let authority = match accepted {
                Some(Ok((request, mut respond))) => {
                    let response = http::Response::new(());
                    respond.send_response(response, true).expect("respond");
                    request.uri().authority().map(ToString::to_string)
                }
                _ => None,
            };
            // Keep driving the connection so what it queued reaches the client.
            let _ = tokio::time::timeout(Duration::from_millis(300), connection.accept()).await;
            authority
        });
        let mut block = request_fields();
        block.extend(indexed_authority(authority));
        let input = connection(&[block]);
        let sent = if through_rewriter {
            rewrite(&input)
        } else {
            input
        };
        client.write_all(&sent).await.expect("write");
        let mut received = Vec::new();
        let mut buffer = [0; 4096];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while let Ok(Ok(read)) = tokio::time::timeout_at(deadline, client.read(&mut buffer)).await {
            if read == 0 {
                break;
            }
            received.extend_from_slice(&buffer[..read]);
            let frames = parse_frames_lenient(&received);
            if frames
                .iter()
                .any(|frame| frame.stream_id == 1 && matches!(frame.kind, RST_STREAM | HEADERS))
            {
                break;
            }
        }
        drop(client);
        let authority = serving.await.expect("the server task");
        (received, authority)
    }

    /// Whole frames at the start of `bytes`.
    fn parse_frames_lenient(bytes: &[u8]) -> Vec<Frame> {
        let mut whole = 0;
        while whole + FRAME_HEADER_LEN <= bytes.len() {
            let length = usize::from(bytes[whole]) << 16
                | usize::from(bytes[whole + 1]) << 8
                | usize::from(bytes[whole + 2]);
            if whole + FRAME_HEADER_LEN + length > bytes.len() {
                break;
            }
            whole += FRAME_HEADER_LEN + length;
        }
        parse_frames(&bytes[..whole])
    }

    /// What stock clients send on a Unix socket: a path, its %-encoding, nothing.
    const REFUSED_BY_H2: [&[u8]; 3] = [
        b"/run/vrrp-sidecar/api.sock",
        b"%2Frun%2Fvrrp-sidecar%2Fapi.sock",
        b"",
    ];

    /// The reason this layer exists. When an h2 upgrade makes this fail (h2 accepts these
    /// values as `:authority`, as hyperium/h2#487 proposes for the first), the layer can go.
    #[tokio::test]
    async fn h2_still_refuses_a_socket_path_authority() {
        for authority in REFUSED_BY_H2 {
            let (received, accepted) = send_to_h2(authority, false).await;
            let shown = String::from_utf8_lossy(authority);
            let reset = parse_frames_lenient(&received)
                .into_iter()
                .find(|frame| frame.kind == RST_STREAM && frame.stream_id == 1)
                .unwrap_or_else(|| panic!("h2 accepted {shown:?}: this layer may go"));
            assert_eq!(reset.payload, PROTOCOL_ERROR.to_be_bytes(), "{shown:?}");
            assert_eq!(accepted, None, "{shown:?}");
        }
    }

    #[tokio::test]
    async fn through_the_rewriter_h2_accepts_the_request_with_localhost() {
        for authority in REFUSED_BY_H2 {
            let shown = String::from_utf8_lossy(authority);
            let (received, accepted) = send_to_h2(authority, true).await;
            assert_eq!(accepted.as_deref(), Some("localhost"), "{shown:?}");
            let frames = parse_frames_lenient(&received);
            assert!(
                frames
                    .iter()
                    .any(|frame| frame.kind == HEADERS && frame.stream_id == 1),
                "h2 answered the request with {shown:?}"
            );
            assert!(
                !frames
                    .iter()
                    .any(|frame| frame.kind == RST_STREAM && frame.stream_id == 1),
                "{shown:?}"
            );
        }
    }
}
