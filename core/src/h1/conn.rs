//! One HTTP/1.1 connection, either role.
//!
//! # Theory of operation
//!
//! A connection is two half-state-machines, one per direction, plus the list of open
//! exchanges (request/response pairs, oldest first):
//!
//! ```text
//!  reader:  Head ──head──► Body ──end──► Done ──(our response done, server)──► Head
//!             │              │                                                  
//!             └─ no body ────┴──────────► Done        Switch/CONNECT ──► Upgraded
//!           any error / EOF / close ──► Closed
//!
//!  writer:  Idle ──head──► Body ──end──► Idle   (Closed when the exchange ends the
//!             └── (client, Expect: 100-continue) ──► AwaitingContinue ──100/timeout──► Body
//! ```
//!
//! Input is buffered by `handle_input` and parsed lazily by `poll_event`, one event at a
//! time. A server does not parse the next pipelined request until its response to the
//! current one is complete, so responses always go out in order, and the unparsed
//! backlog is bounded by `Config::max_buffered_input` (`wants_read()` turns false past
//! it). Output is appended to one buffer, so every response made ready between two
//! flushes leaves in a single write; large body chunks are queued as they are, uncopied.
//!
//! Timers (head read, keep-alive idle, 100-continue wait) live in one [`TimerTable`];
//! `poll_timeout` gives the earliest, `handle_timeout(now)` acts on whichever expired.
//!
//! Errors are sticky: after one, both directions are closed. A server that fails on a
//! peer's malformed request queues the matching 4xx/5xx itself (when no response was under
//! way) and closes once it is written.

use super::chunked::{encode_chunk_size, ChunkedDecoder, ChunkedLimits, Decoded};
use super::config::Config;
use super::encode::{
    encode_request, encode_response, encode_trailers, is_valid_text, AddedFields, HeadParts,
    DATE_LEN,
};
use super::error::{Blame, Error, ErrorKind};
use super::exchanges::Exchanges;
use super::framing::{facts_of, response_has_body, BodyFraming};
use super::head::{HeaderFields, RequestHead, ResponseHead};
use super::role::{Client, Exchange, HeadInfo, HeadKind, Role, Server};
use super::scan::{HeadScanner, ScanLimits};
use crate::time::TimerTable;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode, Version};
use std::borrow::Borrow;
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::time::Instant;

const HEAD_READ: usize = 0;
const KEEP_ALIVE: usize = 1;
const EXPECT_CONTINUE: usize = 2;

/// Body chunks at least this large are queued as they are instead of copied.
const COPY_THRESHOLD: usize = 4096;

/// Output room reserved at once when a head is about to be encoded into less than
/// `OUT_MIN_ROOM` bytes: 16 pipelined small responses fit in one allocation.
const OUT_RESERVE: usize = 4096;
/// The same for a response with no request buffered behind it (see `reserve_out`).
const OUT_RESERVE_LONE: usize = 1024;
/// First allocation of an empty read buffer: a request head usually arrives whole in
/// one read and is mostly far smaller. Up to ~1 KiB the allocator serves it from its
/// per-thread cache; 8 KiB cost ~300 instructions more per keep-alive request in malloc
/// and free (callgrind). A larger head grows the buffer by doubling.
const READ_RESERVE: usize = 1024;
const OUT_MIN_ROOM: usize = 512;

/// How a received head is reported, once its meaning is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadAs {
    /// [`Event::Head`].
    Head,
    /// [`Event::Informational`] (client side).
    Informational,
}

/// What the connection tells its user, one at a time, from [`Conn::poll_event`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event<H> {
    /// A message head: a request (server) or a final response (client).
    Head(H),
    /// A piece of the body, in order.
    Data(Bytes),
    /// The trailer section of a chunked body (only when it has fields), before `End`.
    Trailers(HeaderMap),
    /// The message is complete.
    End,
    /// Client: an interim 1xx response (not 101), e.g. 103 Early Hints.
    Informational(ResponseHead),
    /// Client: after `Expect: 100-continue`, the server said 100 or the wait elapsed:
    /// send the body now.
    Continue,
    /// The connection now speaks another protocol (101, or a CONNECT tunnel): call
    /// [`Conn::into_upgraded`] once every transmit is written.
    Upgrade,
    /// The connection is finished without error (peer closed between messages, idle
    /// timeout, or `Connection: close` exchange done). Close the transport after
    /// writing what `poll_transmit` still holds.
    Closed,
    /// The connection failed; see the error for who broke the protocol. Write what
    /// `poll_transmit` still holds (a server's error response) and close.
    Error(Error),
}

/// Where an upgraded connection's bytes are, once HTTP/1.1 is done with it.
#[derive(Debug)]
pub struct Upgraded {
    /// Bytes the peer already sent that belong to the new protocol.
    pub read_buf: Bytes,
    /// Bytes still to write before the new protocol's (normally empty once the driver
    /// drained `poll_transmit`).
    pub write_buf: Bytes,
}

#[derive(Debug)]
enum BodyDecoder {
    Length { remaining: u64 },
    Chunked(ChunkedDecoder),
    CloseDelimited,
}

#[derive(Debug)]
enum Reader {
    Head {
        scanner: HeadScanner,
    },
    Body {
        decoder: BodyDecoder,
        received: u64,
        discard: bool,
    },
    Done,
    Upgraded,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyEncoder {
    Length {
        remaining: u64,
    },
    Chunked,
    CloseDelimited,
    /// The message has no body (HEAD, 204, 304): data is dropped.
    Discard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    Idle,
    AwaitingContinue(BodyEncoder),
    Body(BodyEncoder),
    Closed,
}

/// One HTTP/1.1 connection in role `R` ([`Server`] or [`Client`]).
#[derive(Debug)]
pub struct Conn<R: Role> {
    config: Config,
    read_buf: BytesMut,
    reader: Reader,
    writer: Writer,
    exchanges: Exchanges,
    /// Server: the current response ends the connection.
    close_after_response: bool,
    out: BytesMut,
    /// `out` is one allocation of at most `OUT_RESERVE_LONE` bytes: kept while the
    /// connection is idle (see `release_idle_buffers`).
    out_small: bool,
    /// The allocation of the read buffer last found small enough to keep while idle (its
    /// start and end addresses): a view within it needs no second look (see
    /// `release_idle_buffers`).
    idle_read_view: (usize, usize),
    /// Server: the `Date` value written on every response whose head has none (see
    /// [`Conn::set_date`]).
    date: Option<[u8; DATE_LEN]>,
    out_queue: VecDeque<Bytes>,
    timers: TimerTable<3>,
    pending: VecDeque<Event<R::Incoming>>,
    /// The `End` of a message without a body is the next event, ahead of `pending`: a
    /// flag, not an entry, because an `Event` is as large as a head and queueing one
    /// copies all of it.
    end_first: bool,
    eof: bool,
    failed: Option<Error>,
    closed_reported: bool,
    /// Closed because an exchange said so (not by EOF, timeout or error): any further
    /// input is the peer's protocol error.
    closed_by_message: bool,
    now: Instant,
    _role: PhantomData<R>,
}

impl<R: Role> Conn<R> {
    /// A new connection. A server's first head must arrive within the head read timeout
    /// from `now`.
    pub fn new(config: Config, now: Instant) -> Self {
        let mut timers = TimerTable::new();
        if R::IS_SERVER {
            if let Some(timeout) = config.head_read_timeout {
                timers.set(HEAD_READ, now + timeout);
            }
        }
        Self {
            config,
            read_buf: BytesMut::new(),
            reader: Reader::Head {
                scanner: HeadScanner::default(),
            },
            writer: Writer::Idle,
            exchanges: Exchanges::default(),
            close_after_response: false,
            out: BytesMut::new(),
            out_small: false,
            idle_read_view: (0, 0),
            date: None,
            out_queue: VecDeque::new(),
            timers,
            pending: VecDeque::new(),
            end_first: false,
            eof: false,
            failed: None,
            closed_reported: false,
            closed_by_message: false,
            now,
            _role: PhantomData,
        }
    }

    /// Bytes read from the transport.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        self.now = now;
        if bytes.is_empty() || !self.admit_input(now, self.read_buf.is_empty()) {
            return;
        }
        if self.read_buf.capacity() == 0 {
            // A fresh buffer outright: `reserve` on an empty one takes the growth path
            // (~100 instructions more per new connection or keep-alive request).
            self.read_buf = BytesMut::with_capacity(bytes.len().max(READ_RESERVE));
        }
        self.read_buf.extend_from_slice(bytes);
    }

    /// [`handle_input`](Self::handle_input) without its copy: the transport reads straight
    /// into the connection's read buffer. `read` is lent `room` zeroed bytes at the
    /// buffer's end and returns how many of them it filled (`0` when it read nothing: not
    /// ready, EOF, an error) plus whatever it wants to give its caller, which gets it back.
    /// The filled bytes are taken exactly as `handle_input` takes the same bytes (same
    /// events, same errors); the unfilled room is given back at once.
    ///
    /// Why: read into a scratch buffer and handed over, every body byte is copied once
    /// more; here a body chunk is a slice of the very memory the socket wrote. The room is
    /// zeroed because a safe reader needs an initialised slice, so it pays where reads are
    /// large (bulk bodies): a transport should lend little room for small messages.
    pub fn handle_input_with<T>(
        &mut self,
        now: Instant,
        room: usize,
        read: impl FnOnce(&mut [u8]) -> (usize, T),
    ) -> T {
        // The lent room is appended zeroed and what was not filled is cut off again, so
        // the bytes kept are admitted by `handle_input_buf` like any other appended input.
        self.handle_input_buf(now, |buf| {
            let start = buf.len();
            buf.resize(start + room, 0);
            let (filled, out) = read(&mut buf[start..]);
            buf.truncate(start + filled.min(room));
            out
        })
    }

    /// [`handle_input_with`](Self::handle_input_with) for a transport that can read into
    /// uninitialised memory: `read` gets the read buffer itself and may only append to it
    /// (reserve, then fill its spare capacity, as tokio's `try_read_buf` does). What it
    /// appended is taken exactly as `handle_input` takes the same bytes.
    ///
    /// Why: lent as a slice, the room must be zeroed first, which for a bulk download is
    /// one more pass over every byte (a quarter of the client's CPU per MiB).
    pub fn handle_input_buf<T>(
        &mut self,
        now: Instant,
        read: impl FnOnce(&mut BytesMut) -> T,
    ) -> T {
        self.now = now;
        let start = self.read_buf.len();
        let out = read(&mut self.read_buf);
        // Anything but appending is the caller's bug; never keep less than was buffered.
        let end = self.read_buf.len().max(start);
        if end > start && !self.admit_input(now, start == 0) {
            self.read_buf.truncate(start);
        }
        out
    }

    /// Whether input may be buffered now (`was_empty`: nothing was buffered before it).
    /// Input after the connection closed is dropped, and is the peer's error when an
    /// exchange closed it; a head's first byte starts its clock.
    fn admit_input(&mut self, now: Instant, was_empty: bool) -> bool {
        if matches!(self.reader, Reader::Closed) {
            if self.closed_by_message && self.failed.is_none() {
                self.fail(Error::peer(ErrorKind::DataAfterClose));
            }
            return false;
        }
        if was_empty && matches!(self.reader, Reader::Head { .. }) {
            self.head_started(now);
        }
        true
    }

    /// The transport's read side ended (the peer closed or half-closed).
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        self.eof = true;
    }

    /// Acts on every timer whose deadline is at or before `now`. Early or repeated calls
    /// are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.timers.take_expired(HEAD_READ, now) && matches!(self.reader, Reader::Head { .. }) {
            self.fail(Error::peer(ErrorKind::HeadReadTimeout));
        }
        if self.timers.take_expired(KEEP_ALIVE, now)
            && matches!(self.reader, Reader::Head { .. })
            && self.read_buf.is_empty()
            && self.exchanges.is_empty()
        {
            self.reader = Reader::Closed;
            self.writer = Writer::Closed;
            self.report_closed();
        }
        if self.timers.take_expired(EXPECT_CONTINUE, now) {
            if let Writer::AwaitingContinue(encoder) = self.writer {
                self.writer = Writer::Body(encoder);
                self.pending.push_back(Event::Continue);
            }
        }
    }

    /// The next deadline at which `handle_timeout` must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// The next event, or `None` when more input (or our own response) is needed.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event<R::Incoming>> {
        if std::mem::take(&mut self.end_first) {
            return Some(Event::End);
        }
        if let Some(event) = self.pending.pop_front() {
            return Some(event);
        }
        let head_limits = self.head_limits();
        loop {
            match &mut self.reader {
                Reader::Head { scanner } => {
                    if !R::IS_SERVER && self.exchanges.is_empty() {
                        if !self.read_buf.is_empty() {
                            self.fail(Error::peer(ErrorKind::UnexpectedResponse));
                            return self.pending.pop_front();
                        }
                        if self.eof {
                            self.reader = Reader::Closed;
                            self.writer = Writer::Closed;
                            self.report_closed();
                            return self.pending.pop_front();
                        }
                        self.release_idle_buffers();
                        return None;
                    }
                    // RFC 9112 §2.2: ignore empty lines before a start line.
                    if scanner_is_fresh(scanner) {
                        while self.read_buf.starts_with(b"\r\n") {
                            let _ = self.read_buf.split_to(2);
                        }
                        if &self.read_buf[..] == b"\r" && !self.eof {
                            return None;
                        }
                    }
                    if scanner_is_fresh(scanner) && !self.read_buf.is_empty() {
                        // A head that arrived whole is found and parsed in one pass; on
                        // anything else the scanner below takes over, once per head (it
                        // is no longer fresh after looking at these bytes).
                        // The event comes back built in place (see `parse_whole_head`) and
                        // is returned as it is.
                        let mut info = None;
                        let event = R::parse_whole_head(
                            &mut self.read_buf,
                            &head_limits,
                            &self.config,
                            &mut info,
                        );
                        match info {
                            None => {}
                            Some(Ok(info)) => {
                                self.timers.clear(HEAD_READ);
                                // Only the server role takes this path, and a request is
                                // never interim: the event is the head as it is.
                                return match self.on_head_info(info) {
                                    HeadAs::Head => event,
                                    HeadAs::Informational => event.map(|event| match event {
                                        Event::Head(head) => R::informational(head),
                                        other => other,
                                    }),
                                };
                            }
                            Some(Err(kind)) => {
                                self.timers.clear(HEAD_READ);
                                self.fail(Error::peer(kind));
                                return self.pending.pop_front();
                            }
                        }
                    }
                    // Nothing buffered (a keep-alive connection between requests): the
                    // scanner would find nothing and check nothing, so skip it.
                    let scanned = if self.read_buf.is_empty() {
                        Ok(None)
                    } else {
                        scanner.scan(&self.read_buf, &head_limits)
                    };
                    let fields = scanner.field_count(&head_limits);
                    match scanned {
                        Ok(Some(len)) => {
                            let head = self.read_buf.split_to(len).freeze();
                            self.timers.clear(HEAD_READ);
                            match R::parse_head(head, fields, &self.config, self.exchanges.front())
                            {
                                Ok((head, info)) => return self.on_head(head, info),
                                Err(kind) => {
                                    self.fail(Error::peer(kind));
                                    return self.pending.pop_front();
                                }
                            }
                        }
                        Ok(None) => {
                            if self.eof {
                                if self.read_buf.is_empty() && self.exchanges.is_empty() {
                                    self.reader = Reader::Closed;
                                    self.writer = Writer::Closed;
                                    self.report_closed();
                                } else {
                                    self.fail(Error::peer(ErrorKind::IncompleteMessage));
                                }
                                return self.pending.pop_front();
                            }
                            if self.read_buf.is_empty() && self.exchanges.is_empty() {
                                self.release_idle_buffers();
                            }
                            return None;
                        }
                        Err(kind) => {
                            self.fail(Error::peer(kind));
                            return self.pending.pop_front();
                        }
                    }
                }
                Reader::Body { .. } => {
                    if R::IS_SERVER {
                        self.maybe_send_continue();
                    }
                    let Reader::Body {
                        decoder,
                        received,
                        discard,
                    } = &mut self.reader
                    else {
                        return None;
                    };
                    let discard = *discard;
                    let step = match decoder {
                        BodyDecoder::Length { remaining } => {
                            if *remaining == 0 {
                                Ok(Some(Decoded::End))
                            } else if self.read_buf.is_empty() {
                                Ok(None)
                            } else {
                                let take = (*remaining).min(self.read_buf.len() as u64);
                                *remaining -= take;
                                Ok(Some(Decoded::Data(
                                    self.read_buf.split_to(take as usize).freeze(),
                                )))
                            }
                        }
                        BodyDecoder::Chunked(chunked) => {
                            let limits = ChunkedLimits {
                                extension: self.config.max_chunk_extension_size,
                                trailer_total: self.config.max_trailer_size,
                                trailer_field: self.config.max_field_size,
                                trailer_fields: self.config.max_headers,
                            };
                            chunked.decode(&mut self.read_buf, &limits)
                        }
                        BodyDecoder::CloseDelimited => {
                            if self.read_buf.is_empty() {
                                if self.eof {
                                    Ok(Some(Decoded::End))
                                } else {
                                    Ok(None)
                                }
                            } else {
                                Ok(Some(Decoded::Data(self.read_buf.split().freeze())))
                            }
                        }
                    };
                    match step {
                        Ok(Some(Decoded::Data(data))) => {
                            *received += data.len() as u64;
                            if let Some(limit) = self.config.max_body_size {
                                if *received > limit {
                                    self.fail(Error::peer(ErrorKind::BodyTooLarge { limit }));
                                    return self.pending.pop_front();
                                }
                            }
                            if discard {
                                continue;
                            }
                            return Some(Event::Data(data));
                        }
                        Ok(Some(Decoded::Trailers(trailers))) => {
                            if discard {
                                continue;
                            }
                            return Some(Event::Trailers(trailers));
                        }
                        Ok(Some(Decoded::End)) => {
                            self.on_body_end(discard);
                            if discard {
                                if let Some(event) = self.pending.pop_front() {
                                    return Some(event);
                                }
                                continue;
                            }
                            return Some(Event::End);
                        }
                        Ok(None) => {
                            if self.eof {
                                self.fail(Error::peer(ErrorKind::IncompleteMessage));
                                return self.pending.pop_front();
                            }
                            return None;
                        }
                        Err(kind) => {
                            self.fail(Error::peer(kind));
                            return self.pending.pop_front();
                        }
                    }
                }
                Reader::Done => {
                    if self.eof {
                        // The peer half-closed after a complete message: answer it, then
                        // close.
                        self.reader = Reader::Closed;
                        if let Some(exchange) = self.exchanges.front_mut() {
                            exchange.keep_alive = false;
                        }
                        self.close_after_response = true;
                    }
                    return None;
                }
                Reader::Upgraded | Reader::Closed => return None,
            }
        }
    }

    /// The next bytes to write to the transport, in order. Call until `None` after
    /// every input and every send; all responses made ready since the last call come
    /// out together.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if let Some(bytes) = self.out_queue.pop_front() {
            return Some(bytes);
        }
        if self.out.is_empty() {
            return None;
        }
        self.note_out_size();
        Some(self.out.split().freeze())
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) has bytes to give: a driver with
    /// nothing of its own left to write can skip its write step when it has none.
    #[must_use]
    pub fn has_transmit(&self) -> bool {
        !self.out.is_empty() || !self.out_queue.is_empty()
    }

    /// Whether the driver should keep reading: false once the connection is closed or
    /// upgraded, or while the unparsed backlog is at its limit (back-pressure).
    #[must_use]
    pub fn wants_read(&self) -> bool {
        match self.reader {
            Reader::Closed | Reader::Upgraded => false,
            _ => !self.eof && self.read_buf.len() < self.config.max_buffered_input,
        }
    }

    /// Whether the next event is already known to be [`Event::End`]: right after the
    /// `Head` of a message without a body (a request with neither `Content-Length` nor
    /// `Transfer-Encoding`, a response to HEAD, a 204). A server can then skip setting
    /// up a body reader for the request; `poll_event` still delivers the `End`.
    #[must_use]
    pub fn next_event_is_end(&self) -> bool {
        self.end_first || matches!(self.pending.front(), Some(Event::End))
    }

    /// Whether nothing more will be exchanged: once `poll_transmit` is drained, close the
    /// transport.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self.reader, Reader::Closed) && matches!(self.writer, Writer::Closed)
    }

    /// The error that failed the connection, if any.
    #[must_use]
    pub fn error(&self) -> Option<&Error> {
        self.failed.as_ref()
    }

    /// After [`Event::Upgrade`]: the bytes that now belong to the new protocol.
    pub fn into_upgraded(mut self) -> Upgraded {
        let mut write_buf = BytesMut::new();
        for bytes in self.out_queue.drain(..) {
            write_buf.extend_from_slice(&bytes);
        }
        write_buf.extend_from_slice(&self.out);
        Upgraded {
            read_buf: self.read_buf.freeze(),
            write_buf: write_buf.freeze(),
        }
    }

    /// Sends a piece of the current outgoing message's body.
    pub fn send_data(&mut self, now: Instant, data: Bytes) -> Result<(), Error> {
        self.now = now;
        self.check_not_failed()?;
        let encoder = match &mut self.writer {
            Writer::Body(encoder) => encoder,
            Writer::AwaitingContinue(_) => {
                return Err(Error::local(ErrorKind::WrongState(
                    "waiting for 100 Continue: send the body after Event::Continue",
                )))
            }
            Writer::Idle => {
                return Err(Error::local(ErrorKind::WrongState("no message under way")))
            }
            Writer::Closed => return Err(Error::local(ErrorKind::BodyNotAllowed)),
        };
        match encoder {
            BodyEncoder::Length { remaining } => {
                if data.len() as u64 > *remaining {
                    return Err(Error::local(ErrorKind::BodyTooLong));
                }
                *remaining -= data.len() as u64;
                self.push_body(data);
            }
            BodyEncoder::Chunked => {
                if !data.is_empty() {
                    encode_chunk_size(&mut self.out, data.len());
                    self.push_body(data);
                    self.out.extend_from_slice(b"\r\n");
                }
            }
            BodyEncoder::CloseDelimited => self.push_body(data),
            BodyEncoder::Discard => {}
        }
        Ok(())
    }

    /// Ends the current outgoing message, with trailers if it is chunked.
    pub fn send_end(&mut self, now: Instant, trailers: Option<HeaderMap>) -> Result<(), Error> {
        self.now = now;
        self.check_not_failed()?;
        let encoder = match self.writer {
            Writer::Body(encoder) => encoder,
            Writer::AwaitingContinue(_) => {
                return Err(Error::local(ErrorKind::WrongState(
                    "waiting for 100 Continue: send the body after Event::Continue",
                )))
            }
            _ => return Err(Error::local(ErrorKind::WrongState("no message under way"))),
        };
        if trailers.as_ref().is_some_and(|t| !t.is_empty()) && encoder != BodyEncoder::Chunked {
            return Err(Error::local(ErrorKind::WrongState(
                "trailers need a chunked body",
            )));
        }
        match encoder {
            BodyEncoder::Length { remaining } if remaining > 0 => {
                let err = Error::local(ErrorKind::BodyTooShort);
                self.fail(err.clone());
                return Err(err);
            }
            BodyEncoder::Chunked => {
                let mark = self.out.len();
                self.out.extend_from_slice(b"0\r\n");
                let result = match trailers {
                    Some(trailers) => encode_trailers(&mut self.out, &trailers),
                    None => {
                        self.out.extend_from_slice(b"\r\n");
                        Ok(())
                    }
                };
                if let Err(kind) = result {
                    self.out.truncate(mark);
                    return Err(Error::local(kind));
                }
            }
            _ => {}
        }
        self.message_sent(now, encoder == BodyEncoder::CloseDelimited);
        Ok(())
    }

    fn check_not_failed(&self) -> Result<(), Error> {
        match &self.failed {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }

    fn push_body(&mut self, data: Bytes) {
        if data.len() < COPY_THRESHOLD {
            self.out.extend_from_slice(&data);
        } else {
            if !self.out.is_empty() {
                self.note_out_size();
                let head = self.out.split().freeze();
                self.out_queue.push_back(head);
            }
            self.out_queue.push_back(data);
        }
    }

    fn head_limits(&self) -> ScanLimits {
        ScanLimits {
            start_line: self.config.max_line_size,
            field: self.config.max_field_size,
            fields: self.config.max_headers,
            total: self.config.max_head_size,
            has_start_line: true,
            request: R::IS_SERVER,
            total_error: |limit| ErrorKind::HeadTooLarge { limit },
        }
    }

    /// The first byte of a head arrived (or was already waiting): start its clock.
    fn head_started(&mut self, now: Instant) {
        self.timers.clear(KEEP_ALIVE);
        if R::IS_SERVER && self.timers.get(HEAD_READ).is_none() {
            if let Some(timeout) = self.config.head_read_timeout {
                self.timers.set(HEAD_READ, now + timeout);
            }
        }
    }

    /// The reader waits for a new head: arm the idle or head timer.
    fn await_next_head(&mut self) {
        self.reader = Reader::Head {
            scanner: HeadScanner::default(),
        };
        if !R::IS_SERVER {
            return;
        }
        if self.read_buf.is_empty() {
            if let Some(timeout) = self.config.keep_alive_timeout {
                self.timers.set(KEEP_ALIVE, self.now + timeout);
            }
        } else {
            self.head_started(self.now);
        }
    }

    /// Room for a batch of responses in the output buffer. Without it the buffer grew
    /// from nothing by doubling, a reallocation every few pipelined responses; after a
    /// flush the same allocation is reclaimed here once the written bytes are dropped.
    fn reserve_out(&mut self) {
        if self.out.capacity() - self.out.len() < OUT_MIN_ROOM {
            // Nothing more buffered: most likely a lone keep-alive response, for which a
            // small allocation is served from the allocator's per-thread cache.
            let more_pipelined = !self.read_buf.is_empty();
            let fresh = self.out.capacity() == 0;
            self.out.reserve(if more_pipelined {
                OUT_RESERVE
            } else {
                OUT_RESERVE_LONE
            });
            // From nothing, `reserve` allocates exactly what it is asked for.
            if fresh {
                self.out_small = !more_pipelined;
            }
        }
    }

    /// Before `out`'s bytes are split off: a buffer that grew was reallocated from offset
    /// 0, so its capacity (length included) is its allocation; one that did not grow has
    /// at most that much left of its first allocation.
    fn note_out_size(&mut self) {
        if self.out.capacity() > OUT_RESERVE_LONE {
            self.out_small = false;
        }
    }

    fn release_idle_buffers(&mut self) {
        // An idle keep-alive connection keeps a read buffer of its first, small
        // allocation (`READ_RESERVE`): the next head is read into it in place, where
        // allocating it again (and its shared header, at the first head split off it)
        // cost two allocations per keep-alive request. `try_reclaim(READ_RESERVE)` moves
        // an empty buffer that nothing else shares back to the start of its allocation,
        // so its capacity then tells the allocation's size: only a small one is kept. A
        // buffer still shared (a head or body slice the application holds) cannot be
        // reclaimed and is given back too: kept, it could pin a large allocation for
        // the whole idle spell once the application drops its slice.
        // The verdict is remembered for the allocation it was given on: each request's
        // head, split off the front, moves the view's start but not its end, and a view
        // that still ends where that allocation ends, starting within it, is over the
        // same allocation (one that grew was reallocated: its end moved). Checking again
        // on every request cost a reclaim each time.
        let start = self.read_buf.as_ptr() as usize;
        let capacity = self.read_buf.capacity();
        let end = start.wrapping_add(capacity);
        let (known_start, known_end) = self.idle_read_view;
        let known_small = known_end != 0 && known_start <= start && end == known_end;
        if self.read_buf.is_empty() && capacity > 0 && !known_small {
            if self.read_buf.try_reclaim(READ_RESERVE) && self.read_buf.capacity() <= READ_RESERVE {
                let start = self.read_buf.as_ptr() as usize;
                self.idle_read_view = (start, start.wrapping_add(self.read_buf.capacity()));
            } else {
                self.read_buf = BytesMut::new();
            }
        }
        // It keeps a small output buffer (1 KiB, allocated for a lone response): the next
        // response reuses it in place once the last write's bytes are dropped, where
        // allocating it again (and its shared header, on the first split) cost two
        // allocations per keep-alive request. A larger one (a pipelined batch, a copied
        // body) is given back.
        if self.out.is_empty()
            && self.out_queue.is_empty()
            && self.out.capacity() > 0
            && !(self.out_small && self.out.capacity() <= OUT_RESERVE_LONE)
        {
            self.out = BytesMut::new();
            self.out_small = false;
        }
    }

    /// The exchange just finished ends the connection. Bytes the peer already sent
    /// beyond it break the protocol.
    fn close_by_message(&mut self) {
        self.reader = Reader::Closed;
        self.writer = Writer::Closed;
        self.report_closed();
        self.closed_by_message = true;
        if !self.read_buf.is_empty() {
            self.read_buf.clear();
            self.fail(Error::peer(ErrorKind::DataAfterClose));
        }
    }

    fn report_closed(&mut self) {
        if !self.closed_reported {
            self.closed_reported = true;
            self.timers.clear_all();
            self.pending.push_back(Event::Closed);
        }
    }

    /// Fails the connection (sticky). A server queues the answer to a peer's error when
    /// no response is under way.
    fn fail(&mut self, err: Error) {
        if self.failed.is_some() {
            return;
        }
        // Answer only a request that has had no answer: not one whose (early) response
        // already went out while the rest of its body was being discarded.
        let answered = matches!(self.reader, Reader::Body { discard: true, .. });
        if R::IS_SERVER && err.blame() == Blame::Peer && self.writer == Writer::Idle && !answered {
            if let Some(status) = err.status() {
                self.queue_error_response(status, &err);
            }
        }
        self.failed = Some(err.clone());
        self.reader = Reader::Closed;
        self.writer = Writer::Closed;
        self.closed_reported = true;
        self.timers.clear_all();
        self.pending.push_back(Event::Error(err));
    }

    fn queue_error_response(&mut self, status: StatusCode, err: &Error) {
        let body = format!("{}: {}\n", status, err.kind());
        let mut head = ResponseHead::new(status);
        head.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        let added = AddedFields {
            date: self.date,
            content_length: Some(body.len() as u64),
            chunked: false,
            connection: Some(b"close"),
        };
        if encode_response(&mut self.out, HeadParts::from(&head), added).is_ok() {
            self.out.extend_from_slice(body.as_bytes());
        }
    }

    fn on_head(&mut self, head: R::Incoming, info: HeadInfo) -> Option<Event<R::Incoming>> {
        match self.on_head_info(info) {
            HeadAs::Head => Some(Event::Head(head)),
            // The client role's Incoming is ResponseHead; reuse the Head slot's value
            // through the Informational variant.
            HeadAs::Informational => Some(R::informational(head)),
        }
    }

    /// What a received head means for the connection, applied; how to report the head.
    fn on_head_info(&mut self, info: HeadInfo) -> HeadAs {
        match info.kind {
            HeadKind::Request {
                method,
                version,
                wants_upgrade,
                expect_continue,
            } => {
                self.exchanges.push_back(Exchange {
                    method,
                    version,
                    keep_alive: info.keep_alive,
                    wants_upgrade,
                    expect_continue,
                });
                self.start_body(info.framing);
                HeadAs::Head
            }
            HeadKind::Informational { status } => {
                self.reader = Reader::Head {
                    scanner: HeadScanner::default(),
                };
                if status == StatusCode::CONTINUE {
                    if let Writer::AwaitingContinue(encoder) = self.writer {
                        self.timers.clear(EXPECT_CONTINUE);
                        self.writer = Writer::Body(encoder);
                        self.pending.push_back(Event::Continue);
                    }
                }
                HeadAs::Informational
            }
            HeadKind::Switch => {
                self.reader = Reader::Upgraded;
                self.writer = Writer::Closed;
                self.timers.clear_all();
                self.pending.push_back(Event::Upgrade);
                HeadAs::Head
            }
            HeadKind::Final => {
                if let Writer::AwaitingContinue(_) = self.writer {
                    // The server answered without wanting the body: it will never be
                    // sent, so this connection cannot carry another request.
                    self.timers.clear(EXPECT_CONTINUE);
                    self.writer = Writer::Closed;
                    if let Some(exchange) = self.exchanges.front_mut() {
                        exchange.keep_alive = false;
                    }
                }
                if !info.keep_alive {
                    if let Some(exchange) = self.exchanges.front_mut() {
                        exchange.keep_alive = false;
                    }
                }
                self.start_body(info.framing);
                HeadAs::Head
            }
        }
    }

    fn start_body(&mut self, framing: BodyFraming) {
        let decoder = match framing {
            BodyFraming::Empty => {
                self.on_body_end(false);
                self.end_first = true;
                return;
            }
            BodyFraming::Length(n) => BodyDecoder::Length { remaining: n },
            BodyFraming::Chunked => BodyDecoder::Chunked(ChunkedDecoder::default()),
            BodyFraming::CloseDelimited => BodyDecoder::CloseDelimited,
        };
        self.reader = Reader::Body {
            decoder,
            received: 0,
            discard: false,
        };
    }

    /// The incoming message is complete.
    fn on_body_end(&mut self, discarding: bool) {
        if R::IS_SERVER {
            if discarding {
                // Our response already went out; this was the rest of its request.
                self.await_next_head();
            } else {
                if let Some(exchange) = self.exchanges.front_mut() {
                    exchange.expect_continue = false;
                }
                self.reader = Reader::Done;
            }
            return;
        }
        // Client: a final response is complete.
        let Some(exchange) = self.exchanges.pop_front() else {
            self.reader = Reader::Closed;
            return;
        };
        let request_unfinished = self.exchanges.is_empty()
            && matches!(self.writer, Writer::Body(_) | Writer::AwaitingContinue(_));
        if !exchange.keep_alive || request_unfinished || self.writer == Writer::Closed {
            self.close_by_message();
        } else {
            self.await_next_head();
        }
    }

    /// Our outgoing message is complete.
    fn message_sent(&mut self, now: Instant, close_delimited: bool) {
        self.now = now;
        if !R::IS_SERVER {
            let keep_alive = self.exchanges.back().is_some_and(|e| e.keep_alive);
            self.writer = if keep_alive && !close_delimited {
                Writer::Idle
            } else {
                Writer::Closed
            };
            if self.writer == Writer::Closed && matches!(self.reader, Reader::Closed) {
                self.close_by_message();
            }
            return;
        }
        self.exchanges.pop_front();
        if self.close_after_response || close_delimited {
            if matches!(self.reader, Reader::Done) {
                self.close_by_message();
            } else {
                // The request is unfinished (or the peer already closed): stop here.
                self.reader = Reader::Closed;
                self.writer = Writer::Closed;
                self.report_closed();
            }
            return;
        }
        self.writer = Writer::Idle;
        match &mut self.reader {
            Reader::Done => self.await_next_head(),
            Reader::Body { discard, .. } => *discard = true,
            _ => {}
        }
    }

    fn maybe_send_continue(&mut self) {
        if self.writer != Writer::Idle {
            return;
        }
        if let Some(exchange) = self.exchanges.front_mut() {
            if exchange.expect_continue {
                exchange.expect_continue = false;
                self.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            }
        }
    }

    /// Encodes a head after the role-specific checks; decides the outgoing framing.
    fn start_message(&mut self, encoder: BodyEncoder) {
        self.writer = Writer::Body(encoder);
    }
}

fn scanner_is_fresh(scanner: &HeadScanner) -> bool {
    scanner.is_fresh()
}

impl Conn<Server> {
    /// Sets the `Date` value (an IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) written on
    /// every response whose head carries no `Date` of its own, until it is set again; a
    /// server with a clock calls this when the second changes. Added by the encoder as
    /// one fixed-size line, it costs a response no header field to build, look up,
    /// check and drop. Refused (and `false`) unless `value` is exactly an IMF-fixdate's
    /// length of field-value bytes; `None` stops adding one.
    pub fn set_date(&mut self, value: Option<&[u8]>) -> bool {
        match value {
            None => {
                self.date = None;
                true
            }
            Some(value) => match <[u8; DATE_LEN]>::try_from(value) {
                Ok(date) if is_valid_text(&date) => {
                    self.date = Some(date);
                    true
                }
                _ => false,
            },
        }
    }

    /// Starts the response to the oldest unanswered request. Framing follows the head:
    /// `Content-Length` if set, else chunked for HTTP/1.1 clients (the header is added),
    /// else the body runs until close. 1xx heads may precede the final one; a 101 (to a
    /// request that asked to upgrade) or a 2xx to CONNECT hands the connection over.
    ///
    /// `head` may be lent (`&ResponseHead`): the head is only read, and a caller that
    /// keeps it saves moving a few hundred bytes into the call.
    pub fn send_response(
        &mut self,
        now: Instant,
        head: impl Borrow<ResponseHead>,
    ) -> Result<(), Error> {
        self.respond(now, head.borrow().into(), None)
    }

    /// Sends a whole response with its body in one step (Content-Length is set for it).
    /// `head` may be lent, as for [`Conn::send_response`].
    pub fn send_full_response(
        &mut self,
        now: Instant,
        head: impl Borrow<ResponseHead>,
        body: Bytes,
    ) -> Result<(), Error> {
        self.send_full(now, head.borrow().into(), body)
    }

    /// [`Conn::send_full_response`] for a head kept as its parts (a server's response
    /// type that holds them): nothing is moved into a [`ResponseHead`] for the call.
    /// The head is `HTTP/1.1`; `reason` `None` sends the canonical one.
    pub fn send_full_response_parts(
        &mut self,
        now: Instant,
        status: StatusCode,
        reason: Option<&[u8]>,
        headers: &HeaderFields,
        body: Bytes,
    ) -> Result<(), Error> {
        self.send_full(now, HeadParts::http11(status, reason, headers), body)
    }

    /// [`Conn::send_response`] for a head kept as its parts, as
    /// [`Conn::send_full_response_parts`].
    pub fn send_response_parts(
        &mut self,
        now: Instant,
        status: StatusCode,
        reason: Option<&[u8]>,
        headers: &HeaderFields,
    ) -> Result<(), Error> {
        self.respond(now, HeadParts::http11(status, reason, headers), None)
    }

    fn send_full(&mut self, now: Instant, head: HeadParts<'_>, body: Bytes) -> Result<(), Error> {
        self.respond(now, head, Some(&body))?;
        // The usual case, a body framed by its length: it is the whole message, so it
        // goes out and the message ends here, without `send_data`'s and `send_end`'s
        // checks of a state `respond` has just set.
        if self.writer
            == (Writer::Body(BodyEncoder::Length {
                remaining: body.len() as u64,
            }))
        {
            if !body.is_empty() {
                self.push_body(body);
            }
            self.message_sent(now, false);
            return Ok(());
        }
        if !body.is_empty() {
            self.send_data(now, body)?;
        }
        self.send_end(now, None)
    }

    fn respond(
        &mut self,
        now: Instant,
        head: HeadParts<'_>,
        body: Option<&Bytes>,
    ) -> Result<(), Error> {
        self.now = now;
        self.check_not_failed()?;
        if self.writer != Writer::Idle {
            return Err(Error::local(ErrorKind::WrongState(
                "a response is already under way",
            )));
        }
        let Some(exchange) = self.exchanges.front() else {
            return Err(Error::local(ErrorKind::WrongState("no request to answer")));
        };
        let status = head.status;
        // The lines the connection adds start with the `Date` it was given, if any (a
        // head that has its own keeps it: `write_fields` drops ours then).
        let dated = AddedFields {
            date: self.date,
            ..AddedFields::default()
        };
        if status.is_informational() {
            if body.is_some() {
                return Err(Error::local(ErrorKind::BodyNotAllowed));
            }
            if status == StatusCode::SWITCHING_PROTOCOLS {
                if !exchange.wants_upgrade {
                    return Err(Error::local(ErrorKind::InvalidOutgoingHead(
                        "101 to a request that did not ask to upgrade",
                    )));
                }
                if !matches!(self.reader, Reader::Done) {
                    return Err(Error::local(ErrorKind::WrongState(
                        "101 before the request body was read",
                    )));
                }
                encode_response(&mut self.out, head, dated).map_err(Error::local)?;
                self.switch_protocols();
                return Ok(());
            }
            encode_response(&mut self.out, head, dated).map_err(Error::local)?;
            if status == StatusCode::CONTINUE {
                if let Some(exchange) = self.exchanges.front_mut() {
                    exchange.expect_continue = false;
                }
            }
            return Ok(());
        }
        if exchange.method == Method::CONNECT && status.is_success() {
            encode_response(&mut self.out, head, dated).map_err(Error::local)?;
            self.switch_protocols();
            return Ok(());
        }
        let facts = facts_of(head.headers.iter_fields()).map_err(Error::local)?;
        let mut added = dated;
        let mut keep_alive = exchange.keep_alive
            && !facts.connection_close
            && !self.eof
            && !matches!(self.reader, Reader::Closed);
        // If the client still waits for 100 Continue, its body may or may not follow:
        // the connection cannot be trusted for another request.
        if exchange.expect_continue && !matches!(self.reader, Reader::Done) {
            keep_alive = false;
        }
        let encoder = if !response_has_body(status, &exchange.method) {
            BodyEncoder::Discard
        } else if facts.transfer_encoding {
            if !facts.chunked_final || facts.content_length.is_some() {
                return Err(Error::local(ErrorKind::InvalidOutgoingHead(
                    "Transfer-Encoding must end in chunked, without Content-Length",
                )));
            }
            if exchange.version == Version::HTTP_10 {
                return Err(Error::local(ErrorKind::InvalidOutgoingHead(
                    "chunked response to an HTTP/1.0 client",
                )));
            }
            BodyEncoder::Chunked
        } else if let Some(n) = facts.content_length {
            if body.is_some_and(|b| b.len() as u64 != n) {
                return Err(Error::local(ErrorKind::InvalidOutgoingHead(
                    "Content-Length differs from the body's length",
                )));
            }
            BodyEncoder::Length { remaining: n }
        } else if let Some(body) = body {
            added.content_length = Some(body.len() as u64);
            BodyEncoder::Length {
                remaining: body.len() as u64,
            }
        } else if exchange.version == Version::HTTP_11 {
            added.chunked = true;
            BodyEncoder::Chunked
        } else {
            keep_alive = false;
            BodyEncoder::CloseDelimited
        };
        if !keep_alive && !facts.connection_close {
            added.connection = Some(b"close");
        } else if keep_alive && exchange.version == Version::HTTP_10 && !facts.connection_keep_alive
        {
            added.connection = Some(b"keep-alive");
        }
        self.reserve_out();
        encode_response(&mut self.out, head, added).map_err(Error::local)?;
        self.close_after_response = !keep_alive;
        self.start_message(encoder);
        Ok(())
    }

    fn switch_protocols(&mut self) {
        self.exchanges.clear();
        self.reader = Reader::Upgraded;
        self.writer = Writer::Closed;
        self.timers.clear_all();
        self.pending.push_back(Event::Upgrade);
    }
}

impl Conn<Client> {
    /// Sends a request head. The body's framing follows the head: `Content-Length`,
    /// or `Transfer-Encoding: chunked`, or no body. `Host` is added from the URI when
    /// missing. With `Expect: 100-continue` and a body, wait for [`Event::Continue`]
    /// before sending it.
    pub fn send_request(&mut self, now: Instant, mut head: RequestHead) -> Result<(), Error> {
        self.now = now;
        self.check_not_failed()?;
        if self.writer != Writer::Idle {
            return Err(Error::local(ErrorKind::WrongState(
                "the previous request is still being sent",
            )));
        }
        if !head.headers.contains_key(http::header::HOST) {
            match head.uri.authority() {
                Some(authority) => {
                    let value = http::HeaderValue::from_str(authority.as_str()).map_err(|_| {
                        Error::local(ErrorKind::InvalidOutgoingHead(
                            "authority is not a valid Host",
                        ))
                    })?;
                    head.headers.insert(http::header::HOST, value);
                }
                None if head.version == Version::HTTP_11 => {
                    return Err(Error::local(ErrorKind::InvalidOutgoingHead(
                        "HTTP/1.1 request without Host and without an authority in its URI",
                    )))
                }
                None => {}
            }
        }
        let facts = facts_of(head.headers.iter_fields()).map_err(Error::local)?;
        let encoder = if facts.transfer_encoding {
            if !facts.chunked_final || facts.unknown_coding || facts.content_length.is_some() {
                return Err(Error::local(ErrorKind::InvalidOutgoingHead(
                    "request Transfer-Encoding must be exactly chunked, without Content-Length",
                )));
            }
            BodyEncoder::Chunked
        } else {
            match facts.content_length {
                Some(n) => BodyEncoder::Length { remaining: n },
                None => BodyEncoder::Length { remaining: 0 },
            }
        };
        let has_body = encoder != BodyEncoder::Length { remaining: 0 };
        encode_request(&mut self.out, &head, AddedFields::default()).map_err(Error::local)?;
        let expect_continue = facts.expect_continue && has_body;
        self.exchanges.push_back(Exchange {
            method: head.method,
            version: head.version,
            keep_alive: facts.keep_alive(head.version),
            wants_upgrade: facts.wants_upgrade(),
            expect_continue,
        });
        if matches!(self.reader, Reader::Head { .. }) && self.exchanges.len() == 1 {
            self.timers.clear(KEEP_ALIVE);
        }
        if expect_continue {
            self.timers
                .set(EXPECT_CONTINUE, now + self.config.expect_continue_timeout);
            self.writer = Writer::AwaitingContinue(encoder);
        } else {
            self.start_message(encoder);
        }
        Ok(())
    }

    /// Whether the connection can carry another request now: nothing in flight, no
    /// error, both sides allowed keep-alive. What a pool checks before reuse.
    #[must_use]
    pub fn is_reusable(&self) -> bool {
        self.failed.is_none()
            && self.exchanges.is_empty()
            && self.writer == Writer::Idle
            && matches!(self.reader, Reader::Head { .. })
            && self.read_buf.is_empty()
            && !self.eof
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::disallowed_methods)] // one clock reading as the virtual clock's base
    use super::*;

    /// `next_event_is_end` is true right after the head of a bodiless request (and the
    /// `End` still comes), false after a head with a body; whole or byte by byte.
    #[test]
    fn end_is_known_with_a_bodiless_head() {
        let input: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let with_body: &[u8] = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi";
        let now = Instant::now();
        for (bytes, bodiless) in [(input, true), (with_body, false)] {
            for step in [bytes.len(), 1] {
                let mut conn = Conn::<Server>::new(Config::server(), now);
                let mut head = None;
                for chunk in bytes.chunks(step) {
                    conn.handle_input(now, chunk);
                    if head.is_none() {
                        head = conn.poll_event();
                    }
                }
                assert!(matches!(head, Some(Event::Head(_))), "{bytes:?}");
                assert_eq!(conn.next_event_is_end(), bodiless, "{bytes:?} by {step}");
                if bodiless {
                    assert_eq!(conn.poll_event(), Some(Event::End));
                } else {
                    assert!(matches!(conn.poll_event(), Some(Event::Data(_))));
                }
            }
        }
    }

    /// Answers every request buffered in `conn` with `body`, drains the output, and
    /// lets the connection go idle (the `poll_event` that finds nothing).
    fn answer_all(conn: &mut Conn<Server>, now: Instant, body: &'static [u8]) {
        while let Some(event) = conn.poll_event() {
            if matches!(event, Event::End) {
                let head = ResponseHead::new(StatusCode::OK);
                conn.send_full_response(now, head, Bytes::from_static(body))
                    .expect("response");
            }
        }
        while conn.poll_transmit().is_some() {}
        assert!(conn.poll_event().is_none());
    }

    /// An idle keep-alive connection keeps its small first buffers (reused in place by
    /// the next exchange) and gives back larger ones (a pipelined batch, a long head, a
    /// copied body).
    #[test]
    fn idle_connection_keeps_only_small_buffers() {
        let now = Instant::now();
        let get: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let mut conn = Conn::<Server>::new(Config::server(), now);
        for _ in 0..3 {
            conn.handle_input(now, get);
            answer_all(&mut conn, now, b"hello");
            assert!((1..=READ_RESERVE).contains(&conn.read_buf.capacity()));
            assert!((1..=OUT_RESERVE_LONE).contains(&conn.out.capacity()));
        }
        // A pipelined batch that outgrows the small buffer: the larger one is given back.
        let batch = get.repeat(8);
        conn.handle_input(now, &batch);
        answer_all(&mut conn, now, &[b'x'; 300]);
        assert_eq!(conn.out.capacity(), 0);
        // A head longer than the first read allocation: the grown read buffer goes.
        let mut conn = Conn::<Server>::new(Config::server(), now);
        let long = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Long: {}\r\n\r\n",
            "a".repeat(2000)
        );
        conn.handle_input(now, long.as_bytes());
        answer_all(&mut conn, now, b"hello");
        assert_eq!(conn.read_buf.capacity(), 0);
        // A grown read buffer still shared with a body slice the application holds
        // cannot be reclaimed: it is given back rather than kept (it could pin the large
        // allocation through the idle spell once the slice is dropped).
        let mut conn = Conn::<Server>::new(Config::server(), now);
        let post = format!(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3000\r\n\r\n{}",
            "b".repeat(3000)
        );
        conn.handle_input(now, post.as_bytes());
        let mut held = Vec::new();
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Data(data) => held.push(data),
                Event::End => break,
                _ => {}
            }
        }
        assert_eq!(held.iter().map(Bytes::len).sum::<usize>(), 3000);
        conn.send_full_response(now, ResponseHead::new(StatusCode::OK), Bytes::new())
            .expect("response");
        while conn.poll_transmit().is_some() {}
        assert!(conn.poll_event().is_none());
        assert_eq!(
            conn.read_buf.capacity(),
            0,
            "a shared grown buffer is given back"
        );
        drop(held);
        // A body copied into the output buffer past its first allocation.
        let mut conn = Conn::<Server>::new(Config::server(), now);
        conn.handle_input(now, get);
        answer_all(&mut conn, now, &[b'x'; 3000]);
        assert_eq!(conn.out.capacity(), 0);
    }
}
