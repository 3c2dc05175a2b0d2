//! The connection state machine: one WebSocket, either role.
//!
//! # Theory of operation
//!
//! Bytes read from the transport go in with [`WebSocket::handle_input`]; the machine
//! parses frames, reassembles messages and queues [`Event`]s, and queues by itself every
//! reply the protocol mandates (pong for ping, the close echo, a close frame with
//! 1002/1007/1009 when the peer breaks the rules). The application sends with `send_*`.
//! After every input the driver drains [`poll_event`](WebSocket::poll_event) and
//! [`poll_transmit`](WebSocket::poll_transmit) (bytes to write, in order), closes the
//! transport once [`should_close_transport`](WebSocket::should_close_transport) says so,
//! and sleeps until [`poll_timeout`](WebSocket::poll_timeout), then calls
//! [`handle_timeout`](WebSocket::handle_timeout). End of input is
//! [`handle_eof`](WebSocket::handle_eof).
//!
//! ```text
//!            send_close                 peer Close
//!   Open ───────────────▶ CloseSent ───────────────▶ HandshakeDone ──┐
//!    │ peer Close (echo queued)                           ▲          │ server: close TCP now
//!    └────────────────────────────────────────────────────┘          │ client: wait for the
//!    │ peer breaks protocol (close 1002/1007/1009 queued),           │ server's TCP close,
//!    │ close timeout, heartbeat timeout, EOF before handshake        │ at most close_timeout
//!    ▼                                                               ▼
//!   Failed ───────────────────── close TCP now ─────────────────▶ Closed
//! ```
//!
//! RFC 6455 §7.1.1 wants the server to close TCP first, so the client (not the server)
//! holds the TIME_WAIT state; the client closes only if the server does not in time.
//!
//! # Masking keys
//!
//! The client role masks every frame with a fresh key (RFC 6455 §5.3), and the core has
//! no RNG, so the caller supplies keys through a [`MaskKeySource`]: adapters pass one
//! backed by the OS RNG; tests and fuzzing use the deterministic [`SeededMaskKeys`]. A
//! trait object (one virtual call per frame) keeps `WebSocket` free of a type parameter.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::close::{CloseCode, CloseFrame, MAX_CONTROL_PAYLOAD};
use super::config::Config;
use super::deflate::{Deflater, Inflater};
use super::error::{Error, LocalError, ProtocolError};
use super::frame::{encode_frame, FrameHeader, FrameRules, OpCode, Role};
use super::mask::{apply_mask_at, mask_copy};
use super::message::{Assembler, Message};
use super::readbuf::ReadBuf;
use super::writebuf::{WritePool, POOL_MIN};
use crate::time::TimerTable;

/// Where client-role masking keys come from. Keys must be unpredictable to anyone who
/// can choose the payload (RFC 6455 §10.3), so adapters back this with the OS RNG.
pub trait MaskKeySource: Send {
    /// The key for the next frame.
    fn next_key(&mut self) -> [u8; 4];
}

impl<F: FnMut() -> [u8; 4] + Send> MaskKeySource for F {
    fn next_key(&mut self) -> [u8; 4] {
        self()
    }
}

/// A deterministic key stream (xorshift64*) from a caller-provided seed. Unpredictable
/// only as long as the seed is secret and random; meant for tests, fuzzing and callers
/// that seed it from a CSPRNG and accept a non-cryptographic stream.
#[derive(Debug, Clone)]
pub struct SeededMaskKeys {
    state: u64,
}

impl SeededMaskKeys {
    /// Seeds the stream (a zero seed is replaced, as xorshift would stick at zero).
    #[must_use]
    pub fn new(seed: [u8; 8]) -> Self {
        let s = u64::from_le_bytes(seed);
        SeededMaskKeys {
            state: if s == 0 { 0x9E37_79B9_7F4A_7C15 } else { s },
        }
    }
}

impl MaskKeySource for SeededMaskKeys {
    fn next_key(&mut self) -> [u8; 4] {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        let out = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let b = (out >> 32).to_le_bytes();
        [b[0], b[1], b[2], b[3]]
    }
}

/// What the connection reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A complete text message (validated UTF-8).
    Text(String),
    /// A complete binary message.
    Binary(Bytes),
    /// A ping (already answered if autoping is on).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame. If we had not sent a close yet, the echo is already
    /// queued. An empty close payload is reported as [`CloseCode::NO_STATUS`].
    Close(CloseFrame),
    /// The connection failed; no more messages will come.
    Failed(Error),
}

/// The connection's phase (see the module's state diagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's.
    CloseSent,
    /// Both close frames went through; only the transport remains to close.
    HandshakeDone,
    /// The connection failed (see the [`Event::Failed`] reported).
    Failed,
    /// The transport is (to be) closed; nothing more happens.
    Closed,
}

/// Spare bytes offered per read when no large frame is arriving.
const READ_CHUNK: usize = 64 * 1024;
/// The smallest read worth making (less spare than this and the buffer grows first).
const MIN_READ: usize = 4 * 1024;
/// A frame's payload may be given room ahead of its arrival up to this many times what
/// already arrived of it (see `read_want`).
const AHEAD_FACTOR: usize = 16;
/// Owned payloads at least this long are queued as they are rather than copied.
const ZERO_COPY_MIN: usize = 16 * 1024;

/// A payload to send: borrowed (copied into the output) or given away.
enum Payload<'a> {
    Borrowed(&'a [u8]),
    Owned(Bytes),
}

impl Payload<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Payload::Borrowed(b) => b,
            Payload::Owned(b) => b,
        }
    }
}

const T_CLOSE: usize = 0;
const T_TRANSPORT: usize = 1;
const T_PING: usize = 2;
const T_PONG: usize = 3;
/// Drops the large payloads (read) and frame buffers (write) kept for recycling once they
/// sat unused this long.
const T_RECYCLE: usize = 4;
/// How long kept payloads may sit unused (so an idle connection holds no buffer).
const RECYCLE_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// One WebSocket connection, either role, after the opening handshake.
pub struct WebSocket {
    role: Role,
    config: Config,
    state: State,
    rules: FrameRules,
    rbuf: ReadBuf,
    pending_header: Option<FrameHeader>,
    /// Payload bytes of the pending frame already unmasked in place.
    unmasked: usize,
    assembler: Assembler,
    deflater: Option<Deflater>,
    /// Kind (text = true) of the fragmented message we are sending, if any.
    sending_fragmented: Option<bool>,
    /// Whether the message being sent is compressed (decided on its first frame).
    sending_compressed: bool,
    mask_keys: Option<Box<dyn MaskKeySource>>,
    /// Bytes to write that precede `out` (large payloads queued without a copy).
    queued: VecDeque<Bytes>,
    out: BytesMut,
    /// Buffers of large frames we copied, taken back once written (see `writebuf`).
    wpool: WritePool,
    events: VecDeque<Event>,
    timers: TimerTable<5>,
    close_transport: bool,
    /// We stop reading after the peer's close frame (RFC 6455 §5.5.1).
    peer_closed: bool,
    ping_counter: u64,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("buffered_in", &self.rbuf.len())
            .field("buffered_out", &self.out.len())
            .finish_non_exhaustive()
    }
}

impl WebSocket {
    /// A server-role connection (frames from the client must be masked).
    #[must_use]
    pub fn server(config: Config, now: Instant) -> Self {
        Self::build(Role::Server, config, None, now)
    }

    /// A client-role connection; `mask_keys` supplies a masking key per frame sent.
    #[must_use]
    pub fn client(config: Config, mask_keys: impl MaskKeySource + 'static, now: Instant) -> Self {
        Self::build(Role::Client, config, Some(Box::new(mask_keys)), now)
    }

    fn build(
        role: Role,
        config: Config,
        mask_keys: Option<Box<dyn MaskKeySource>>,
        now: Instant,
    ) -> Self {
        let (ours_nct, peers_nct, our_window_bits) = match (&config.deflate, role) {
            (Some(d), Role::Server) => (
                d.server_no_context_takeover,
                d.client_no_context_takeover,
                d.server_max_window_bits,
            ),
            (Some(d), Role::Client) => (
                d.client_no_context_takeover,
                d.server_no_context_takeover,
                d.client_max_window_bits,
            ),
            (None, _) => (false, false, 15),
        };
        let deflater = config
            .deflate
            .map(|d| Deflater::new(d.compression_level, ours_nct, our_window_bits));
        let inflater = config.deflate.map(|_| Inflater::new(peers_nct));
        let mut timers = TimerTable::new();
        if let Some(hb) = config.heartbeat {
            timers.set(T_PING, now + hb.interval);
        }
        WebSocket {
            role,
            rules: FrameRules {
                role,
                allow_rsv1: config.deflate.is_some(),
                max_frame_size: config.max_frame_size,
            },
            assembler: Assembler::new(config.max_message_size, inflater),
            config,
            state: State::Open,
            rbuf: ReadBuf::default(),
            pending_header: None,
            unmasked: 0,
            deflater,
            sending_fragmented: None,
            sending_compressed: false,
            mask_keys,
            queued: VecDeque::new(),
            out: BytesMut::new(),
            wpool: WritePool::default(),
            events: VecDeque::new(),
            timers,
            close_transport: false,
            peer_closed: false,
            ping_counter: 0,
        }
    }

    /// Our role.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role
    }

    /// The connection's phase.
    #[must_use]
    pub fn state(&self) -> State {
        self.state
    }

    // ----- inputs -----

    /// Feeds bytes read from the transport.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        if self.peer_closed || matches!(self.state, State::Failed | State::Closed) {
            return; // nothing may follow the peer's close frame; a failed link is dead
        }
        let want = self.read_want();
        self.rbuf.extend_from_slice(data, want);
        self.after_input(now);
    }

    /// A buffer to read transport bytes into, for drivers that want to skip the copy
    /// [`handle_input`](Self::handle_input) makes: read into the returned slice, then
    /// call [`handle_read`](Self::handle_read) with the count. The slice is at least
    /// 4 KiB and, while a large frame arrives, sized for the rest of it (up to a bound
    /// that grows with the bytes the peer really sent, so a declared length alone
    /// cannot make the buffer grow). Empty once nothing more will be read.
    #[must_use]
    pub fn input_buffer(&mut self) -> &mut [u8] {
        if self.peer_closed || matches!(self.state, State::Failed | State::Closed) {
            return &mut [];
        }
        let want = self.read_want();
        let min = match &self.pending_header {
            // Room for the rest of the frame (within the bound), so it arrives in
            // place instead of in a buffer that must grow and copy midway.
            Some(_) => want,
            None => MIN_READ,
        };
        self.rbuf.spare_mut(min, want)
    }

    /// `n` bytes were read into the start of the slice [`input_buffer`](Self::input_buffer)
    /// gave; processes them like [`handle_input`](Self::handle_input).
    pub fn handle_read(&mut self, now: Instant, n: usize) {
        if self.peer_closed || matches!(self.state, State::Failed | State::Closed) {
            return;
        }
        self.rbuf.commit(n);
        self.after_input(now);
    }

    fn after_input(&mut self, now: Instant) {
        self.process(now);
        self.arm_recycle_timer(now);
        if self.rbuf.is_empty()
            && (self.rbuf.capacity() > READ_CHUNK || self.rbuf.spare_len() < MIN_READ)
        {
            // Idle connections should not pin a large buffer from one big message, nor
            // (through a small leftover tail) the allocation a message handed out lives in.
            self.rbuf.release();
        }
    }

    /// How many spare bytes the read buffer should offer. While a frame's payload
    /// arrives, room for the rest of it, but never more than `AHEAD_FACTOR` times what
    /// the peer already sent of it: the declared length is only a claim, and reserving
    /// all of it up front let a few bytes of header pin `max_frame_size` of memory per
    /// connection (websocket-rs CVE-2022-35922). Within that bound, a large frame lands
    /// in one allocation that becomes the message, with at most one early regrowth.
    fn read_want(&self) -> usize {
        let Some(h) = &self.pending_header else {
            return READ_CHUNK;
        };
        // The length was checked against max_frame_size, so it fits in usize.
        let len = usize::try_from(h.payload_len).unwrap_or(usize::MAX);
        let have = self.rbuf.len();
        let bound = have.saturating_mul(AHEAD_FACTOR).max(READ_CHUNK);
        len.saturating_sub(have).min(bound).max(MIN_READ)
    }

    /// The transport reached end of input (the peer closed its side).
    pub fn handle_eof(&mut self, _now: Instant) {
        match self.state {
            State::HandshakeDone => self.state = State::Closed,
            State::Open | State::CloseSent => {
                self.events.push_back(Event::Failed(Error::AbnormalClosure));
                self.state = State::Failed;
            }
            State::Failed | State::Closed => {}
        }
        self.shut_down();
    }

    /// Acts on every deadline at or before `now` (early calls do nothing).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.take_expired(T_RECYCLE, now) {
            if !self.rbuf.take_activity() {
                self.rbuf.drop_recycled();
            }
            if !self.wpool.take_activity() {
                self.wpool.drop_all();
            }
        }
        if self.timers.take_expired(T_CLOSE, now) && self.state == State::CloseSent {
            self.events.push_back(Event::Failed(Error::CloseTimeout));
            self.state = State::Failed;
            self.shut_down();
        }
        if self.timers.take_expired(T_TRANSPORT, now) && self.state == State::HandshakeDone {
            // The server did not close TCP in time; the client does it itself.
            self.state = State::Closed;
            self.shut_down();
        }
        if self.timers.take_expired(T_PONG, now) && self.state == State::Open {
            // The peer is presumed dead: no close frame, it would not be read.
            self.events
                .push_back(Event::Failed(Error::PeerUnresponsive));
            self.state = State::Failed;
            self.shut_down();
        }
        if self.timers.take_expired(T_PING, now) && self.state == State::Open {
            if let Some(hb) = self.config.heartbeat {
                self.ping_counter += 1;
                let payload = self.ping_counter.to_be_bytes();
                self.write_frame(OpCode::Ping, true, false, &payload);
                self.timers.set(T_PONG, now + hb.timeout);
            }
        }
        self.arm_recycle_timer(now);
    }

    /// Starts the recycle timer when buffers are kept and it is not running. `send_*`
    /// take no clock, so buffers kept by sending are timed from the next input or timer
    /// (until then a send-only connection holds at most the pool's few frames).
    fn arm_recycle_timer(&mut self, now: Instant) {
        if (self.rbuf.has_recycled() || self.wpool.has_kept())
            && self.timers.get(T_RECYCLE).is_none()
            && !matches!(self.state, State::Failed | State::Closed)
        {
            self.timers.set(T_RECYCLE, now + RECYCLE_IDLE);
        }
    }

    // ----- outputs -----

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next bytes to write to the transport, in order.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if let Some(bytes) = self.queued.pop_front() {
            return Some(bytes);
        }
        if self.out.is_empty() {
            None
        } else {
            Some(self.out.split().freeze())
        }
    }

    /// The next deadline at which [`handle_timeout`](Self::handle_timeout) must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Whether the driver should close the transport now: true once everything queued
    /// was taken by [`poll_transmit`](Self::poll_transmit) and the role's closing rule
    /// says so (see the module docs).
    #[must_use]
    pub fn should_close_transport(&self) -> bool {
        self.close_transport && self.out.is_empty() && self.queued.is_empty()
    }

    // ----- sending -----

    /// Sends a whole text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), LocalError> {
        self.send_data(true, Payload::Borrowed(text.as_bytes()), true, false)
    }

    /// Sends a whole binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), LocalError> {
        self.send_data(false, Payload::Borrowed(data), true, false)
    }

    /// Sends a whole binary message the caller gives away. Without compression, a large
    /// payload is queued as it is, without a copy: as is on the server, masked in place
    /// on the client when `data` is its buffer's only owner (otherwise it is copied once,
    /// like [`send_binary`](Self::send_binary)).
    pub fn send_binary_owned(&mut self, data: Bytes) -> Result<(), LocalError> {
        self.send_data(false, Payload::Owned(data), true, false)
    }

    /// Sends one fragment of a text message; `fin` ends the message. Control frames may
    /// be sent between fragments; other messages may not.
    pub fn send_text_fragment(&mut self, text: &str, fin: bool) -> Result<(), LocalError> {
        self.send_data(true, Payload::Borrowed(text.as_bytes()), fin, true)
    }

    /// Sends one fragment of a binary message; `fin` ends the message.
    pub fn send_binary_fragment(&mut self, data: &[u8], fin: bool) -> Result<(), LocalError> {
        self.send_data(false, Payload::Borrowed(data), fin, true)
    }

    /// Sends a ping (payload at most 125 bytes).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), LocalError> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Sends an unsolicited pong, or a reply when autoping is off.
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), LocalError> {
        self.send_control(OpCode::Pong, payload)
    }

    /// Starts (or, after the peer's close, is refused for) the close handshake.
    pub fn send_close(
        &mut self,
        now: Instant,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), LocalError> {
        if self.state != State::Open {
            return Err(LocalError::Closing);
        }
        CloseFrame::validate_outgoing(code, reason)?;
        let mut payload = Vec::with_capacity(2 + reason.len());
        CloseFrame::encode_payload(code, reason, &mut payload);
        self.write_frame(OpCode::Close, true, false, &payload);
        self.state = State::CloseSent;
        self.timers.clear(T_PING);
        self.timers.clear(T_PONG);
        self.timers.set(T_CLOSE, now + self.config.close_timeout);
        Ok(())
    }

    fn send_control(&mut self, op: OpCode, payload: &[u8]) -> Result<(), LocalError> {
        if self.state != State::Open {
            return Err(LocalError::Closing);
        }
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(LocalError::ControlPayloadTooLong(payload.len()));
        }
        self.write_frame(op, true, false, payload);
        Ok(())
    }

    fn send_data(
        &mut self,
        text: bool,
        data: Payload<'_>,
        fin: bool,
        fragment_api: bool,
    ) -> Result<(), LocalError> {
        if self.state != State::Open {
            return Err(LocalError::Closing);
        }
        let opcode = match self.sending_fragmented {
            None if text => OpCode::Text,
            None => OpCode::Binary,
            Some(_) if !fragment_api => return Err(LocalError::FragmentInProgress),
            Some(kind) if kind != text => return Err(LocalError::FragmentKindMismatch),
            Some(_) => OpCode::Continuation,
        };
        let first = opcode != OpCode::Continuation;
        if first {
            self.sending_compressed = self
                .deflater
                .as_ref()
                .is_some_and(|d| d.may_compress(fin, data.as_slice().len()));
        }
        match self.deflater.as_mut().filter(|_| self.sending_compressed) {
            Some(d) => {
                let mut compressed = Vec::new();
                d.compress(data.as_slice(), fin, &mut compressed);
                self.write_frame(opcode, fin, first, &compressed);
            }
            None => match data {
                Payload::Borrowed(data) => self.write_frame(opcode, fin, false, data),
                Payload::Owned(data) => self.write_frame_owned(opcode, fin, data),
            },
        }
        self.sending_fragmented = if fin { None } else { Some(text) };
        Ok(())
    }

    fn write_frame(&mut self, opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) {
        let mask = self.mask_keys.as_mut().map(|k| k.next_key());
        if payload.len() >= POOL_MIN {
            return self.write_frame_pooled(opcode, fin, rsv1, mask, payload);
        }
        encode_frame(&mut self.out, opcode, fin, rsv1, mask, payload);
    }

    /// A large frame whose payload we must copy: into a recycled buffer of its own
    /// (header and payload, one write slice), masked as it is copied (see `writebuf`).
    #[inline(never)]
    fn write_frame_pooled(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv1: bool,
        mask: Option<[u8; 4]>,
        payload: &[u8],
    ) {
        let (head, head_len) =
            FrameHeader::for_payload(opcode, fin, rsv1, mask, payload).to_array();
        let mut buf = self.wpool.take(head_len + payload.len());
        let (dst_head, dst_payload) = buf.split_at_mut(head_len);
        dst_head.copy_from_slice(&head[..head_len]);
        match mask {
            Some(k) => mask_copy(dst_payload, payload, k),
            None => dst_payload.copy_from_slice(payload),
        }
        let frame = buf.freeze();
        self.wpool.keep(&frame);
        // Bytes already encoded go first.
        if !self.out.is_empty() {
            self.queued.push_back(self.out.split().freeze());
        }
        self.queued.push_back(frame);
    }

    /// Like `write_frame`, but a large payload goes out as its own `Bytes`, uncopied.
    fn write_frame_owned(&mut self, opcode: OpCode, fin: bool, payload: Bytes) {
        if payload.len() < ZERO_COPY_MIN {
            // An extra write slice costs more than copying a small payload.
            return self.write_frame(opcode, fin, false, &payload);
        }
        let mask = self.mask_keys.as_mut().map(|k| k.next_key());
        let payload = match mask {
            None => payload,
            Some(k) => match payload.try_into_mut() {
                Ok(mut owned) => {
                    apply_mask_at(&mut owned, k, 0);
                    owned.freeze()
                }
                // Someone else still holds these bytes: masking needs our own copy.
                Err(shared) => {
                    if shared.len() >= POOL_MIN {
                        return self.write_frame_pooled(opcode, fin, false, mask, &shared);
                    }
                    encode_frame(&mut self.out, opcode, fin, false, mask, &shared);
                    return;
                }
            },
        };
        let header = FrameHeader {
            fin,
            rsv1: false,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        header.encode(&mut self.out);
        self.queued.push_back(self.out.split().freeze());
        self.queued.push_back(payload);
    }

    // ----- receiving -----

    fn process(&mut self, now: Instant) {
        loop {
            let header = match self.pending_header.take() {
                Some(h) => h,
                None => match FrameHeader::parse(self.rbuf.data(), &self.rules) {
                    Ok(None) => break,
                    Err(e) => return self.fail(e),
                    Ok(Some((h, n))) => {
                        if !h.opcode.is_control() {
                            if let Err(e) = self.assembler.check_header(&h) {
                                return self.fail(e);
                            }
                        }
                        self.rbuf.advance(n);
                        h
                    }
                },
            };
            // The length was checked against max_frame_size, so it fits in usize.
            let len = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
            // Unmask what arrived of the payload now, while it is still in cache (the
            // buffer's growth is bounded in `read_want`, not here).
            let have = self.rbuf.len().min(len);
            if let Some(k) = header.mask {
                let from = self.unmasked;
                apply_mask_at(&mut self.rbuf.data_mut()[from..have], k, from);
            }
            if have < len {
                self.unmasked = have;
                self.pending_header = Some(header);
                break;
            }
            self.unmasked = 0;
            // The payload is the first `len` bytes of `rbuf`, unmasked in place; whoever
            // handles it takes it out (zero-copy for binary, one copy into a String).
            self.on_frame(now, &header, len);
            if self.peer_closed || self.state == State::Failed {
                break;
            }
        }
    }

    fn on_frame(&mut self, now: Instant, h: &FrameHeader, len: usize) {
        if let (Some(hb), State::Open) = (self.config.heartbeat, self.state) {
            // Anything from the peer proves it alive.
            self.timers.set(T_PING, now + hb.interval);
            self.timers.clear(T_PONG);
        }
        if !h.opcode.is_control() {
            match self.assembler.push(h, &mut self.rbuf, len) {
                Ok(None) => {}
                Ok(Some(Message::Text(s))) => self.events.push_back(Event::Text(s)),
                Ok(Some(Message::Binary(b))) => self.events.push_back(Event::Binary(b)),
                Err(e) => self.fail(e),
            }
            return;
        }
        let payload = self.rbuf.split_to(len);
        match h.opcode {
            OpCode::Ping => {
                if self.config.autoping && self.state == State::Open {
                    self.write_frame(OpCode::Pong, true, false, &payload);
                }
                self.events.push_back(Event::Ping(payload.freeze()));
            }
            OpCode::Pong => self.events.push_back(Event::Pong(payload.freeze())),
            OpCode::Close => match CloseFrame::parse(&payload) {
                Err(e) => self.fail(e),
                Ok(frame) => self.on_close(now, frame),
            },
            // Data frames were handled above.
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {}
        }
    }

    fn on_close(&mut self, now: Instant, frame: CloseFrame) {
        self.peer_closed = true;
        self.assembler.clear();
        self.rbuf.release_all();
        self.pending_header = None;
        self.unmasked = 0;
        if self.state == State::Open {
            // Echo the code (not the reason, which only costs bytes); an empty close is
            // echoed empty, since 1005 may not be sent.
            let mut echo = Vec::new();
            if frame.code != CloseCode::NO_STATUS {
                echo.extend_from_slice(&frame.code.0.to_be_bytes());
            }
            self.write_frame(OpCode::Close, true, false, &echo);
        }
        self.state = State::HandshakeDone;
        self.timers.clear_all();
        match self.role {
            Role::Server => self.close_transport = true,
            Role::Client => self
                .timers
                .set(T_TRANSPORT, now + self.config.close_timeout),
        }
        self.events.push_back(Event::Close(frame));
    }

    /// The peer broke the protocol: report, answer with a close frame carrying the
    /// matching code (unless ours is already sent), and drop the transport.
    fn fail(&mut self, e: ProtocolError) {
        if self.state == State::Open {
            let mut payload = Vec::new();
            CloseFrame::encode_payload(e.close_code(), "", &mut payload);
            self.write_frame(OpCode::Close, true, false, &payload);
        }
        self.events.push_back(Event::Failed(Error::Protocol(e)));
        self.state = State::Failed;
        self.shut_down();
    }

    fn shut_down(&mut self) {
        self.close_transport = true;
        self.timers.clear_all();
        self.wpool.drop_all();
        self.assembler.clear();
        self.rbuf.release_all();
        self.pending_header = None;
        self.unmasked = 0;
    }

    /// Whether a fragmented message is being received (for diagnostics and tests).
    #[must_use]
    pub fn receiving_fragmented(&self) -> bool {
        self.assembler.in_progress()
    }
}
