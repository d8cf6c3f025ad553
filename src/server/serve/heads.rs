//! Malformed request heads answered in words.
//!
//! hyper answers a request line or header it cannot parse (a raw `"` or a
//! space in the target, a bad method or version, a header without a colon,
//! a head over its limits) with an empty 400 (414, 431) and closes the
//! connection: the client is never told what was wrong. [`Checked`] wraps
//! every accepted connection, after TLS (it sees plain HTTP/1), and looks
//! at each request head before hyper does, with hyper's own parser
//! (httparse) and rules (`http::Uri`, `Content-Length`,
//! `Transfer-Encoding`, hyper's size limits). A head hyper would refuse is
//! answered here instead: the same status with the Web API's error body,
//! `{"code":400,"message":"…"}` saying what was wrong and how to send it,
//! logged once, and the connection closed.
//!
//! Everything else passes through untouched: bytes are read straight into
//! hyper's buffer and only looked at. A head that arrives in one read (the
//! usual case) is parsed where it lies; one that spans reads is copied
//! aside until its end is seen (one buffer per connection, kept). Bodies
//! are skipped by their length or chunk sizes, so every head of a
//! keep-alive connection is checked. What this cannot follow (HTTP/2, an
//! upgrade, a chunked body hyper will refuse anyway) stops the checks for
//! that connection and leaves it to hyper.
//!
//! A malformed head that arrives while an earlier request's answer is
//! still owed (pipelining) is left to hyper too, so that answers keep their
//! order: this check answers only when nothing is in flight.

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// hyper's default number of headers (`DEFAULT_MAX_HEADERS`).
const MAX_HEADERS: usize = 100;
/// hyper's default read buffer limit (`DEFAULT_MAX_BUFFER_SIZE`): a head not
/// complete within it is refused (431; 414 here when even the request line
/// has not ended).
const MAX_HEAD: usize = 8192 + 4096 * 100;
/// The longest request target hyper and `http::Uri` take (414 beyond).
const MAX_TARGET: usize = (u16::MAX - 1) as usize;
/// hyper refuses a header name this long (431).
const MAX_HEADER_NAME: usize = 1 << 16;
/// hyper's largest `Content-Length` (431 beyond).
const MAX_CONTENT_LENGTH: u64 = u64::MAX - 2;
/// How an HTTP/2 connection with prior knowledge starts.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// After the answer, what the client still sends is read and dropped (up
/// to this much, for at most this long) before the socket closes, so that
/// closing with unread data does not reset the connection before the
/// client has read the answer.
const DRAIN_BYTES: usize = 256 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(1);

/// An acceptor that wraps what `inner` accepts in [`Checked`].
#[derive(Debug, Clone)]
pub(super) struct CheckHeads<A> {
    inner: A,
}

impl<A> CheckHeads<A> {
    pub(super) fn new(inner: A) -> Self {
        CheckHeads { inner }
    }
}

impl<A, S> axum_server::accept::Accept<tokio::net::TcpStream, S> for CheckHeads<A>
where
    A: axum_server::accept::Accept<tokio::net::TcpStream, S>,
    A::Future: Send + 'static,
{
    type Stream = Checked<A::Stream>;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: tokio::net::TcpStream, service: S) -> Self::Future {
        let peer = stream.peer_addr().ok();
        let accepted = self.inner.accept(stream, service);
        Box::pin(async move {
            let (stream, service) = accepted.await?;
            Ok((Checked::new(stream, peer), service))
        })
    }
}

/// A connection whose request heads are checked before hyper reads them.
#[derive(Debug)]
pub struct Checked<S> {
    inner: S,
    scanner: Scanner,
    /// The start of a head that spans reads (hyper has these bytes too).
    held: Vec<u8>,
    /// Set once a malformed head is being answered.
    refusal: Option<Box<Refusal>>,
    peer: Option<SocketAddr>,
}

impl<S> Checked<S> {
    fn new(inner: S, peer: Option<SocketAddr>) -> Self {
        Checked {
            inner,
            scanner: Scanner::default(),
            held: Vec::new(),
            refusal: None,
            peer,
        }
    }
}

/// Where the byte stream is.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// At (or inside) a request head.
    Head,
    /// This many body bytes to skip (`Content-Length`).
    Body(u64),
    /// A chunked body.
    Chunked(Chunk),
    /// Not looked at any more (HTTP/2, an upgrade, a body hyper refuses, a
    /// malformed head left to hyper).
    Off,
}

#[derive(Debug)]
struct Scanner {
    phase: Phase,
    /// Complete heads seen on this connection.
    heads: u64,
    /// A head was passed on and its answer is not yet known to be sent.
    owed: bool,
    /// hyper wrote since the last head (a flush then means its answer left).
    wrote: bool,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            phase: Phase::Head,
            heads: 0,
            owed: false,
            wrote: false,
        }
    }
}

/// What a look at some bytes found.
enum Scan {
    /// Nothing wrong; a head starts at `Some(offset)` and is not complete.
    Fine(Option<usize>),
    /// The head starting at this offset is malformed.
    Bad(usize, Bad),
}

/// A refused head: the status and what to tell the client.
#[derive(Debug)]
struct Bad {
    status: u16,
    message: String,
}

impl Scanner {
    /// Follows `data`, the next bytes of the connection.
    fn scan(&mut self, data: &[u8]) -> Scan {
        let mut pos = 0;
        while pos < data.len() {
            match &mut self.phase {
                Phase::Off => return Scan::Fine(None),
                Phase::Body(left) => {
                    let n = (*left).min((data.len() - pos) as u64);
                    *left -= n;
                    pos += n as usize;
                    if *left == 0 {
                        self.phase = Phase::Head;
                    }
                }
                Phase::Chunked(chunk) => match chunk.feed(&data[pos..]) {
                    Some((used, done)) => {
                        pos += used;
                        if done {
                            self.phase = Phase::Head;
                        }
                    }
                    None => {
                        // hyper refuses the body itself; nothing to follow.
                        self.phase = Phase::Off;
                        return Scan::Fine(None);
                    }
                },
                Phase::Head => {
                    let rest = &data[pos..];
                    if self.heads == 0 {
                        if rest.starts_with(H2_PREFACE) {
                            self.phase = Phase::Off;
                            return Scan::Fine(None);
                        }
                        if H2_PREFACE.starts_with(rest) {
                            return Scan::Fine(Some(pos));
                        }
                    }
                    match check_head(rest) {
                        Head::Partial => return Scan::Fine(Some(pos)),
                        Head::Complete { len, next } => {
                            pos += len;
                            self.heads += 1;
                            self.owed = true;
                            self.wrote = false;
                            self.phase = next;
                        }
                        Head::Bad(bad) => return Scan::Bad(pos, bad),
                    }
                }
            }
        }
        Scan::Fine(None)
    }
}

/// What the caller of [`Checked::look`] does with the bytes just read.
enum Look {
    /// Hand them all to hyper.
    Pass,
    /// Hand the first `keep` to hyper, then answer `bad` and close
    /// (`method` and `path` are the refused head's, for the log).
    Refuse {
        keep: usize,
        bad: Bad,
        method: String,
        path: String,
    },
}

impl<S> Checked<S> {
    /// Looks at `new`, the bytes just read into hyper's buffer.
    fn look(&mut self, new: &[u8]) -> Look {
        let (keep, bad, method, path) = if self.held.is_empty() {
            match self.scanner.scan(new) {
                Scan::Fine(None) => return Look::Pass,
                Scan::Fine(Some(from)) => {
                    self.held.reserve((new.len() - from).max(1024));
                    self.held.extend_from_slice(&new[from..]);
                    return Look::Pass;
                }
                Scan::Bad(at, bad) => {
                    let (method, path) = method_and_path(&new[at..]);
                    (at, bad, method, path)
                }
            }
        } else {
            let before = self.held.len();
            self.held.extend_from_slice(new);
            // Parsed again only when its end may have come (as hyper does),
            // so a head sent a byte at a time costs no more than once.
            let may_end = (self.scanner.heads == 0 && self.held.len() <= H2_PREFACE.len())
                || head_may_end(&self.held, before)
                || self.held.len() >= MAX_HEAD;
            if !may_end {
                return Look::Pass;
            }
            let held = std::mem::take(&mut self.held);
            let scan = self.scanner.scan(&held);
            self.held = held;
            match scan {
                Scan::Fine(None) => {
                    if self.held.capacity() > 16 * 1024 {
                        // A large head is rare: its buffer is not kept.
                        self.held = Vec::new();
                    } else {
                        self.held.clear();
                    }
                    return Look::Pass;
                }
                Scan::Fine(Some(from)) => {
                    self.held.drain(..from);
                    return Look::Pass;
                }
                Scan::Bad(at, bad) => {
                    let (method, path) = method_and_path(&self.held[at..]);
                    (at.saturating_sub(before), bad, method, path)
                }
            }
        };
        self.held.clear();
        if self.scanner.owed {
            // An earlier answer may not have left yet: hyper answers this
            // one after it, as before.
            self.scanner.phase = Phase::Off;
            return Look::Pass;
        }
        Look::Refuse {
            keep,
            bad,
            method,
            path,
        }
    }

    /// Logs the refusal (once) and prepares the answer.
    fn refuse(&mut self, bad: Bad, method: &str, path: &str) {
        tracing::info!(
            peer = %self.peer.map_or_else(|| "-".to_string(), |p| p.to_string()),
            status = bad.status,
            method = ?method,
            path = ?path,
            reason = %bad.message,
            "malformed request refused"
        );
        let status =
            http::StatusCode::from_u16(bad.status).unwrap_or(http::StatusCode::BAD_REQUEST);
        let body = serde_json::json!({"code": bad.status, "message": bad.message}).to_string();
        let answer = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            body.len(),
        );
        self.scanner.phase = Phase::Off;
        self.held = Vec::new();
        self.refusal = Some(Box::new(Refusal {
            answer: answer.into_bytes(),
            written: 0,
            stage: Stage::Write,
        }));
    }
}

/// The method and the path (no query) of a head, cut, for the log.
fn method_and_path(head: &[u8]) -> (String, String) {
    let head = &head[skip_empty_lines(head)..];
    let line = &head[..head.iter().position(|&b| b == b'\n').unwrap_or(head.len())];
    let mut parts = line.splitn(2, |&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let path_end = target
        .iter()
        .position(|&b| matches!(b, b'?' | b' ' | b'\r'))
        .unwrap_or(target.len());
    (
        cut(&String::from_utf8_lossy(method), 16),
        cut(&String::from_utf8_lossy(&target[..path_end]), 256),
    )
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The answer to a malformed head, on its way out.
#[derive(Debug)]
struct Refusal {
    answer: Vec<u8>,
    written: usize,
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    Write,
    Flush,
    Shutdown,
    Drain {
        left: usize,
        until: Pin<Box<tokio::time::Sleep>>,
    },
    Done,
}

impl Refusal {
    /// Writes the answer and shuts the writing side down; then, with
    /// `scratch` (hyper's buffer, given back untouched), reads and drops
    /// what the client still sends. Ready when the connection may close.
    fn poll<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        inner: &mut S,
        cx: &mut Context<'_>,
        mut scratch: Option<&mut ReadBuf<'_>>,
    ) -> Poll<()> {
        loop {
            match &mut self.stage {
                Stage::Write => {
                    while self.written < self.answer.len() {
                        match ready!(
                            Pin::new(&mut *inner).poll_write(cx, &self.answer[self.written..])
                        ) {
                            Ok(n) if n > 0 => self.written += n,
                            _ => {
                                self.stage = Stage::Done;
                                return Poll::Ready(());
                            }
                        }
                    }
                    self.stage = Stage::Flush;
                }
                Stage::Flush => {
                    self.stage = match ready!(Pin::new(&mut *inner).poll_flush(cx)) {
                        Ok(()) => Stage::Shutdown,
                        Err(_) => Stage::Done,
                    };
                }
                Stage::Shutdown => {
                    self.stage = match ready!(Pin::new(&mut *inner).poll_shutdown(cx)) {
                        Ok(()) => Stage::Drain {
                            left: DRAIN_BYTES,
                            until: Box::pin(tokio::time::sleep(DRAIN_TIME)),
                        },
                        Err(_) => Stage::Done,
                    };
                }
                Stage::Drain { left, until } => {
                    let Some(buf) = scratch.as_deref_mut() else {
                        return Poll::Ready(());
                    };
                    if until.as_mut().poll(cx).is_ready() || buf.remaining() == 0 {
                        self.stage = Stage::Done;
                        continue;
                    }
                    let before = buf.filled().len();
                    let read = ready!(Pin::new(&mut *inner).poll_read(cx, buf));
                    let n = buf.filled().len() - before;
                    buf.set_filled(before);
                    if read.is_err() || n == 0 || n >= *left {
                        self.stage = Stage::Done;
                    } else {
                        *left -= n;
                    }
                }
                Stage::Done => return Poll::Ready(()),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Checked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(refusal) = this.refusal.as_mut() {
            // Then end of stream: hyper closes the connection.
            ready!(refusal.poll(&mut this.inner, cx, Some(buf)));
            return Poll::Ready(Ok(()));
        }
        if matches!(this.scanner.phase, Phase::Off) {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if buf.filled().len() == before {
            return Poll::Ready(Ok(()));
        }
        let keep = match this.look(&buf.filled()[before..]) {
            Look::Pass => return Poll::Ready(Ok(())),
            Look::Refuse {
                keep,
                bad,
                method,
                path,
            } => {
                this.refuse(bad, &method, &path);
                keep
            }
        };
        buf.set_filled(before + keep);
        if keep > 0 {
            // What came before the malformed head first; the answer at the
            // next read.
            return Poll::Ready(Ok(()));
        }
        let refusal = this.refusal.as_mut().expect("just set");
        ready!(refusal.poll(&mut this.inner, cx, Some(buf)));
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Checked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.refusal.is_some() {
            // The connection ends with the answer already written.
            return Poll::Ready(Ok(buf.len()));
        }
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        this.scanner.wrote |= n > 0;
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.refusal.is_some() {
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        let n = ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
        this.scanner.wrote |= n > 0;
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.refusal.is_some() {
            return Poll::Ready(Ok(()));
        }
        ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
        if this.scanner.wrote {
            // Everything hyper wrote since the last head has left.
            this.scanner.wrote = false;
            this.scanner.owed = false;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(refusal) = this.refusal.as_mut() {
            // The answer goes out before the connection closes.
            ready!(refusal.poll(&mut this.inner, cx, None));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// hyper's test for whether bytes added at `from` may end a head.
fn head_may_end(bytes: &[u8], from: usize) -> bool {
    let bytes = &bytes[from.saturating_sub(3)..];
    bytes
        .windows(2)
        .enumerate()
        .any(|(i, w)| (w == b"\n\n") || (w == b"\n\r" && bytes.get(i + 2) == Some(&b'\n')))
}

/// A chunked body's framing (hyper's decoder, states only).
#[derive(Debug, Clone, Copy)]
struct Chunk {
    state: ChunkState,
    size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    Start,
    Size,
    SizeLws,
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    EndCr,
    Trailer,
    TrailerLf,
    EndLf,
}

impl Chunk {
    fn new() -> Self {
        Chunk {
            state: ChunkState::Start,
            size: 0,
        }
    }

    /// Follows `data`: the bytes used and whether the body ended, or
    /// `None` when hyper would refuse it.
    fn feed(&mut self, data: &[u8]) -> Option<(usize, bool)> {
        use ChunkState::*;
        let mut i = 0;
        while i < data.len() {
            if self.state == Data {
                let n = self.size.min((data.len() - i) as u64);
                self.size -= n;
                i += n as usize;
                if self.size == 0 {
                    self.state = DataCr;
                }
                continue;
            }
            let b = data[i];
            i += 1;
            self.state = match (self.state, b) {
                (Start | Size, b) if hex(b).is_some() => {
                    self.size = self.size.checked_mul(16)?.checked_add(u64::from(hex(b)?))?;
                    Size
                }
                (Size | SizeLws, b'\t' | b' ') => SizeLws,
                (Size | SizeLws, b';') => Extension,
                (Size | SizeLws | Extension, b'\r') => SizeLf,
                (Extension, b'\n') => return None,
                (Extension, _) => Extension,
                (SizeLf, b'\n') if self.size == 0 => EndCr,
                (SizeLf, b'\n') => Data,
                (DataCr, b'\r') => DataLf,
                (DataLf, b'\n') => Start,
                (EndCr, b'\r') => EndLf,
                (EndCr | Trailer, b) if b != b'\r' => Trailer,
                (Trailer, b'\r') => TrailerLf,
                (TrailerLf, b'\n') => EndCr,
                (EndLf, b'\n') => return Some((i, true)),
                _ => return None,
            };
        }
        Some((i, false))
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// What a head (from its first byte) is.
enum Head {
    Partial,
    Complete { len: usize, next: Phase },
    Bad(Bad),
}

fn bad(status: u16, message: impl Into<String>) -> Head {
    Head::Bad(Bad {
        status,
        message: message.into(),
    })
}

/// Checks a head as hyper would take it (`hyper::proto::h1::role`).
fn check_head(head: &[u8]) -> Head {
    let mut headers = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(head, &mut headers) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if head.len() >= MAX_HEAD => {
            return Head::Bad(too_large(head));
        }
        Ok(httparse::Status::Partial) => return Head::Partial,
        Err(e) => return Head::Bad(diagnose(head, e)),
    };
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Head::Partial;
    };
    if target.len() > MAX_TARGET {
        return bad(
            414,
            format!(
                "the request target is {} bytes long, over the {MAX_TARGET} accepted: shorten it (a long search can be split into several requests)",
                target.len()
            ),
        );
    }
    if http::Method::from_bytes(method.as_bytes()).is_err() {
        return bad(
            400,
            "the request method is not a valid method: a method is a word such as GET or POST",
        );
    }
    let http11 = version == 1;
    let mut wants_upgrade = method == "CONNECT";
    let mut content_length: Option<u64> = None;
    let mut is_cl = false;
    let mut is_te = false;
    let mut chunked = false;
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        if name.len() >= MAX_HEADER_NAME {
            return bad(
                431,
                "a header name is over 64 KiB long: send shorter header names",
            );
        }
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            if !http11 {
                return bad(
                    400,
                    "an HTTP/1.0 request cannot have Transfer-Encoding: send Content-Length, or use HTTP/1.1",
                );
            }
            is_te = true;
            if is_cl {
                content_length = None;
            }
            chunked = ends_in_chunked(h.value);
        } else if name.eq_ignore_ascii_case(b"content-length") {
            is_cl = true;
            if is_te {
                continue;
            }
            let Some(n) = digits(h.value) else {
                return bad(
                    400,
                    "Content-Length must be the body's length in bytes: digits only",
                );
            };
            match content_length {
                Some(prev) if prev != n => {
                    return bad(
                        400,
                        "the request has Content-Length headers that disagree: send one",
                    );
                }
                Some(_) => continue,
                None => {}
            }
            if n > MAX_CONTENT_LENGTH {
                return bad(431, "Content-Length is too large");
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            wants_upgrade = http11;
        }
    }
    if is_te && !chunked {
        return bad(
            400,
            "Transfer-Encoding must end with chunked, the only transfer coding accepted",
        );
    }
    if !target_ok(target.as_bytes()) {
        return bad(400, target_problem(target.as_bytes()));
    }
    let next = if wants_upgrade {
        // The connection may become something else: not followed further.
        Phase::Off
    } else if chunked {
        Phase::Chunked(Chunk::new())
    } else {
        match content_length {
            Some(n) if n > 0 => Phase::Body(n),
            _ => Phase::Head,
        }
    };
    Head::Complete { len, next }
}

/// hyper's `is_chunked_`: visible ASCII, last coding `chunked`.
fn ends_in_chunked(value: &[u8]) -> bool {
    if !value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        return false;
    }
    let last = value.rsplit(|&b| b == b',').next().unwrap_or_default();
    last.trim_ascii().eq_ignore_ascii_case(b"chunked")
}

/// hyper's `from_digits`.
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// Bytes `http::Uri` takes in a path (WHATWG path state, plus `"`, `{`,
/// `}`, which it accepts for parity with clients that send them raw).
fn path_byte(b: u8) -> bool {
    matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x40..=0x5F | 0x61..=0x7A | 0x7C | 0x7E | b'"' | b'{' | b'}')
}

/// Bytes `http::Uri` takes in a query.
fn query_byte(b: u8) -> bool {
    matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x3F..=0x7E)
}

/// Whether every byte of `target` is fine anywhere in an origin-form target
/// (path and query alike, and `?`): visible ASCII but `"#<>`{}`. Branch-free,
/// so it runs many bytes at a time: the common case is decided without
/// building a `Uri`.
fn all_plain(target: &[u8]) -> bool {
    let mut bad = false;
    for &b in target {
        bad |= (b.wrapping_sub(0x21) > 0x7e - 0x21)
            | (b == b'"')
            | (b == b'#')
            | (b == b'<')
            | (b == b'>')
            | (b == b'`')
            | (b == b'{')
            | (b == b'}');
    }
    !bad
}

/// Whether hyper takes `target` (`http::Uri::from_maybe_shared`).
fn target_ok(target: &[u8]) -> bool {
    if target.first() == Some(&b'/') && all_plain(target) {
        return true;
    }
    http::Uri::try_from(target).is_ok()
}

/// Why `http::Uri` refuses `target`, in words.
fn target_problem(t: &[u8]) -> String {
    if t.first() != Some(&b'/') {
        let first = t
            .first()
            .map_or_else(|| "nothing".to_string(), |&b| describe(b));
        return format!(
            "the request target must start with `/` (or be a whole http:// URL), not {first}"
        );
    }
    let mut in_query = false;
    for (i, &b) in t.iter().enumerate() {
        if b == b'#' {
            break;
        }
        if b == b'?' && !in_query {
            in_query = true;
            continue;
        }
        if b >= 0x80 {
            continue;
        }
        let fine = if in_query {
            query_byte(b)
        } else {
            path_byte(b)
        };
        if !fine {
            return refused_byte(b, i + 1, in_query);
        }
    }
    if std::str::from_utf8(t).is_err() {
        return "the request target holds bytes that are not UTF-8: percent-encode them".into();
    }
    "the request target is not a valid URI: percent-encode what is not a letter, a digit or one of -._~/?&=".into()
}

/// The message for a byte that must be percent-encoded.
fn refused_byte(b: u8, position: usize, in_query: bool) -> String {
    let hint = if in_query {
        " (curl: -G --data-urlencode 'name=value' encodes a query value)"
    } else {
        ""
    };
    let place = if in_query { "its query" } else { "its path" };
    format!(
        "the request target holds {} at position {position} (in {place}), which must be percent-encoded as %{b:02X}{hint}",
        describe(b)
    )
}

/// A byte, for a message.
fn describe(b: u8) -> String {
    match b {
        b' ' => "a space".into(),
        b'\t' => "a tab".into(),
        b'\r' => "a carriage return (CR)".into(),
        b'\n' => "a line feed (LF)".into(),
        0 => "a NUL byte (0x00)".into(),
        0x21..=0x7e => format!("`{}`", b as char),
        _ => format!("the byte 0x{b:02X}"),
    }
}

/// httparse's skipping of empty lines before the request line.
fn skip_empty_lines(head: &[u8]) -> usize {
    let mut i = 0;
    loop {
        match head.get(i..) {
            Some([b'\r', b'\n', ..]) => i += 2,
            Some([b'\n', ..]) => i += 1,
            _ => return i,
        }
    }
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// httparse's request-target bytes.
fn is_uri_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// A header name to show: only a plain one (letters and `-`), never what
/// could be a credential sent where a name belongs.
fn name_hint(name: &[u8]) -> String {
    if !name.is_empty()
        && name.len() <= 40
        && name.iter().all(|&b| b.is_ascii_alphabetic() || b == b'-')
    {
        format!(" (`{}`)", String::from_utf8_lossy(name))
    } else {
        String::new()
    }
}

const LINE_FORM: &str =
    "a request line is METHOD TARGET HTTP/1.1, e.g. `GET /api/rest/v1/products HTTP/1.1`";

/// A head (possibly incomplete) over hyper's limit.
fn too_large(head: &[u8]) -> Bad {
    let start = skip_empty_lines(head);
    if !head[start..].contains(&b'\n') {
        return Bad {
            status: 414,
            message: format!(
                "the request line is over {MAX_HEAD} bytes long and has not ended: shorten the target (at most {MAX_TARGET} bytes)"
            ),
        };
    }
    Bad {
        status: 431,
        message: format!(
            "the request head (request line and headers) is over {MAX_HEAD} bytes long and has not ended (an empty line ends it)"
        ),
    }
}

/// What httparse refused, in words.
fn diagnose(head: &[u8], e: httparse::Error) -> Bad {
    let head = &head[skip_empty_lines(head)..];
    let line_end = head.iter().position(|&b| b == b'\n');
    let line = &head[..line_end.unwrap_or(head.len())];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let message = match e {
        httparse::Error::Token => token_problem(line, line_end.is_some()),
        httparse::Error::Version => version_problem(line),
        httparse::Error::NewLine => newline_problem(head, line),
        httparse::Error::HeaderName => header_name_problem(head, line_end),
        httparse::Error::HeaderValue => header_value_problem(head, line_end),
        httparse::Error::TooManyHeaders => {
            return Bad {
                status: 431,
                message: format!("the request has more than {MAX_HEADERS} header lines"),
            };
        }
        httparse::Error::Status => format!("the request line could not be read: {LINE_FORM}"),
    };
    Bad {
        status: 400,
        message,
    }
}

/// A method or target byte httparse refused.
fn token_problem(line: &[u8], complete: bool) -> String {
    let m = line
        .iter()
        .position(|&b| !is_token(b))
        .unwrap_or(line.len());
    if m == 0 {
        return match line.first() {
            Some(0x16) => "this is a TLS handshake, but this port serves plain HTTP: use http:// (or serve with --tls-cert and --tls-key)".into(),
            Some(b' ') => format!("the request line starts with a space: {LINE_FORM}"),
            Some(&b) => format!(
                "the request line must start with a method such as GET or POST, not {}: {LINE_FORM}",
                describe(b)
            ),
            None => format!("the request line is empty: {LINE_FORM}"),
        };
    }
    if m == line.len() {
        return if complete {
            format!("the request line holds only a method: {LINE_FORM}")
        } else {
            format!("the request line could not be read: {LINE_FORM}")
        };
    }
    if line[m] != b' ' {
        return format!(
            "the request method holds {} at position {}: a method is a word such as GET, POST or PATCH",
            describe(line[m]),
            m + 1
        );
    }
    let target = &line[m + 1..];
    match target.first() {
        None => format!("the request line ends after the method: {LINE_FORM}"),
        Some(b' ') => format!("the request line has two spaces after the method: {LINE_FORM}"),
        Some(_) => match target.iter().position(|&b| !is_uri_byte(b)) {
            Some(t) => refused_byte(target[t], t + 1, target[..t].contains(&b'?')),
            None => format!("the request line has no version after the target: {LINE_FORM}"),
        },
    }
}

/// A version httparse refused: often a space inside the target.
fn version_problem(line: &[u8]) -> String {
    let mut words = line.split(|&b| b == b' ');
    let method_len = words.next().map_or(0, <[u8]>::len);
    let target_len = words.next().map_or(0, <[u8]>::len);
    let rest = line.get(method_len + target_len + 2..).unwrap_or_default();
    let last = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    if rest.contains(&b' ') && last.starts_with(b"HTTP/") {
        let in_query = line[method_len + 1..method_len + 1 + target_len].contains(&b'?');
        return refused_byte(b' ', target_len + 1, in_query);
    }
    let shown = cut(&rest.escape_ascii().to_string(), 24);
    if rest.starts_with(b"HTTP/2") || rest.starts_with(b"HTTP/3") {
        return format!(
            "the request line names `{shown}`: this server speaks HTTP/1.1 (and HTTP/2 when a connection starts as HTTP/2); send HTTP/1.1"
        );
    }
    format!("the request line must end with the version HTTP/1.1 (or HTTP/1.0), not `{shown}`")
}

/// A line end httparse refused: a bare CR, or something after the version.
fn newline_problem(head: &[u8], line: &[u8]) -> String {
    if let Some(v) = line.windows(5).rposition(|w| w == b"HTTP/") {
        let after = line.get(v + 8..).unwrap_or_default();
        if let Some(&b) = after.first() {
            return format!(
                "the request line must end right after its version (HTTP/1.1), but {} follows it",
                describe(b)
            );
        }
    }
    let bare_cr = head.windows(2).position(|w| w[0] == b'\r' && w[1] != b'\n');
    match bare_cr {
        Some(i) => {
            let n = head[..i].iter().filter(|&&b| b == b'\n').count();
            if n == 0 {
                "the request line holds a carriage return (CR) not followed by a line feed: lines end with CRLF".into()
            } else {
                format!(
                    "header line {n} holds a carriage return (CR) not followed by a line feed: lines end with CRLF"
                )
            }
        }
        None => "a line of the request head does not end with CRLF".into(),
    }
}

/// The header lines of `head`, numbered from 1, after the request line.
fn header_lines(head: &[u8], line_end: Option<usize>) -> impl Iterator<Item = (usize, &[u8])> {
    let rest = line_end.map_or(&[][..], |e| &head[e + 1..]);
    rest.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take_while(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| (i + 1, l))
}

/// A header name httparse refused.
fn header_name_problem(head: &[u8], line_end: Option<usize>) -> String {
    for (n, line) in header_lines(head, line_end) {
        if matches!(line.first(), Some(b' ' | b'\t')) {
            return format!(
                "header line {n} starts with whitespace: folded (multi-line) header values are not accepted; put each header on one line"
            );
        }
        let i = line
            .iter()
            .position(|&b| !is_token(b))
            .unwrap_or(line.len());
        let hint = name_hint(&line[..i]);
        match line.get(i) {
            Some(b':') if i == 0 => return format!("header line {n} has no name before its colon"),
            Some(b':') => continue,
            None => {
                return format!("header line {n}{hint} has no colon: a header is `Name: value`");
            }
            Some(b' ' | b'\t') => {
                let before_colon = line[i..].iter().position(|&b| !matches!(b, b' ' | b'\t'));
                if before_colon.is_some_and(|j| line[i + j] == b':') {
                    return format!(
                        "header line {n}{hint} has a space between its name and the colon: a header is `Name: value`"
                    );
                }
                return format!(
                    "header line {n}{hint} has no colon after its name: a header is `Name: value`"
                );
            }
            Some(&b) => {
                return format!(
                    "header line {n}{hint}: its name holds {} at position {}, which a header name cannot hold (a header is `Name: value`)",
                    describe(b),
                    i + 1
                );
            }
        }
    }
    "a header line is not `Name: value`".into()
}

/// A header value httparse refused.
fn header_value_problem(head: &[u8], line_end: Option<usize>) -> String {
    let value_byte = |b: u8| b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80;
    for (n, line) in header_lines(head, line_end) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = &line[colon + 1..];
        if let Some(p) = value.iter().position(|&b| !value_byte(b)) {
            return format!(
                "the value on header line {n}{} holds {} at position {}, which a header value cannot hold",
                name_hint(&line[..colon]),
                describe(value[p]),
                p + 1
            );
        }
    }
    "a header value holds a byte a header value cannot hold".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_target_check_takes_only_what_http_takes() {
        for b in 0..=255u8 {
            for target in [
                vec![b'/', b],
                vec![b'/', b'?', b],
                vec![b'/', b'a', b, b'z'],
            ] {
                let http = http::Uri::try_from(&target[..]).is_ok();
                assert!(!all_plain(&target) || http, "{target:?}");
                assert_eq!(target_ok(&target), http, "{target:?}");
            }
        }
    }

    #[test]
    fn chunked_bodies_are_followed_to_their_end_however_they_arrive() {
        let body = b"5;x=y\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n\r\n";
        for split in 0..body.len() {
            let mut chunk = Chunk::new();
            assert_eq!(chunk.feed(&body[..split]), Some((split, false)));
            assert_eq!(chunk.feed(&body[split..]), Some((body.len() - split, true)));
        }
        let mut chunk = Chunk::new();
        assert_eq!(chunk.feed(b"0\r\n\r\nGET"), Some((5, true)));
        for bad in [
            &b"x\r\n"[..],
            b"5\r\nhelloX",
            b"5;a\nb",
            b"1\r\na\r\n0\r\n\rx",
        ] {
            assert_eq!(Chunk::new().feed(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_head_may_end_only_with_an_empty_line() {
        assert!(head_may_end(b"GET / HTTP/1.1\r\n\r\n", 15));
        assert!(head_may_end(b"GET / HTTP/1.1\n\n", 15));
        assert!(!head_may_end(b"GET / HTTP/1.1\r\nHost: x\r\n", 10));
    }
}
