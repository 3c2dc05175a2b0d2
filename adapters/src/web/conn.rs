//! Serving one connection: the drive loop for `Conn<Server>` plus the handler of the
//! request in flight, polled together in one task.
//!
//! # Theory of operation
//!
//! ```text
//!  ┌─► core events ─► Head: build Request, start handler (middlewares → route)
//!  │                  Data/End: into the request's body window (only while the handler
//!  │                            reads and the window has room: back-pressure, 100-continue)
//!  │   handler ready ─► response head (+ full body) into the core; a streamed body is
//!  │                    pulled one chunk per flushed write (back-pressure)
//!  │   transport: gathered write of everything ready, then read if the core wants input
//!  └── timer at core.poll_timeout() ─► core.handle_timeout
//! ```
//!
//! Everything runs in the connection's own task, so a request costs no task spawn and
//! no channel. Pipelined requests are answered in order because the core hands out the
//! next head only once the current response is complete; every response made ready
//! before the task yields leaves in one write. A handler that panics becomes a 500 and
//! the connection carries on; a malformed request gets the core's 4xx and the
//! connection closes, touching no other connection.

use super::app::{AppInner, AppRef, BoxFuture};
use super::request::{BodyHandle, BodyShared, Request, RequestParts, BODY_WINDOW};
use super::response::{Body, BodyStream, HttpError, IntoResponse, Response};
use super::server::{ServerShared, WakerSlot};
use super::upgrade::{DynRuntime, OnUpgrade, Upgraded};
use crate::driver::{Sink, Transport};
use crate::rt::{Runtime, Stream, Timer};
use bytes::Bytes;
use http::HeaderValue;
use sansweb_core::h1::{Conn, Event, RequestHead, ResponseHead, Server};
use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Instant, SystemTime};

/// Most bytes of a streamed body gathered into one write...
const STREAM_GATHER: usize = 512 * 1024;
/// ...and most chunks (three slices each, within the transport's 64 per vectored write).
const STREAM_GATHER_CHUNKS: usize = 16;

/// The request being answered.
struct Exchange {
    /// `None` for a request without a body.
    body: Option<BodyHandle>,
    body_done: bool,
    /// Polled under `catch_unwind`: a panic becomes a 500, not an unwound task.
    handler: Option<BoxFuture<Response>>,
    /// A request's head (without body) kept for `on_response_prepare` and the log.
    info: Option<Request>,
    method: http::Method,
    /// The request target, for logs (a reference-counted copy, no allocation); `None`
    /// when no log that names it is on (a copy and a drop saved per request).
    uri: Option<sansweb_core::h1::RequestTarget>,
    /// When the request started, for the access log; `None` when that log is off (a
    /// clock read per request saved).
    started: Option<Instant>,
    streaming: Option<BodyStream>,
    status: u16,
    sent_bytes: u64,
}

impl Exchange {
    /// The request's path, for logs.
    fn path(&self) -> &str {
        self.uri.as_ref().map_or("-", |uri| uri.path())
    }

    /// The handler reads the body and its window has room.
    fn body_wants_more(&self) -> bool {
        self.body.as_ref().is_some_and(|body| {
            let body = body.lock().unwrap_or_else(|e| e.into_inner());
            body.wanted && body.buffered < BODY_WINDOW
        })
    }
}

enum Outcome {
    Done,
    Upgrade(OnUpgrade),
}

struct Connection<R: Runtime, S> {
    rt: R,
    conn: Conn<Server>,
    transport: Transport<S>,
    timer: Timer<R>,
    shared: Arc<ServerShared>,
    app: Arc<AppInner>,
    remote: Option<SocketAddr>,
    exchange: Option<Exchange>,
    upgrade: Option<OnUpgrade>,
    upgraded: bool,
    /// A streamed body failed: close once what was written so far is flushed.
    aborted: bool,
    /// The core's last `poll_event` gave nothing and nothing was handed to it since
    /// (input, a timeout, a send): asking again would give nothing again. A keep-alive
    /// request asked five times, three of them for nothing.
    events_drained: bool,
    id: u64,
    waker_slot: WakerSlot,
    /// The waker last left in `waker_slot`: parking again with the same one (every
    /// keep-alive request) skips the slot's lock.
    parked: Option<Waker>,
    /// What the timer is polled with: it notes that the timer fired, then wakes the task.
    timer_wake: Arc<TimerWake>,
    timer_waker: Waker,
    /// The timer was polled (and left its waker) since its deadline last moved: it need
    /// not be polled again until it fires. Polling a runtime timer registers the waker
    /// anew, a few hundred instructions on tokio, once per keep-alive request otherwise.
    timer_armed: bool,
    /// This connection's copy of the `Date` value of the current second (see
    /// [`http_date_now`]): a hit costs two comparisons, no thread-local access.
    date: Option<CachedDate>,
}

/// The waker the connection's timer holds: the timer firing is recorded (so the task
/// knows to poll the timer again) and the task woken through the waker it parked with.
struct TimerWake {
    fired: AtomicBool,
    slot: WakerSlot,
}

impl Wake for TimerWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.fired.store(true, Ordering::Release);
        if let Some(waker) = &*self.slot.lock().unwrap_or_else(|e| e.into_inner()) {
            waker.wake_by_ref();
        }
    }
}

/// Serves `stream` until the connection closes (or is upgraded and handed over).
pub(crate) async fn serve_connection<R: Runtime, S: Stream>(
    rt: R,
    stream: S,
    shared: Arc<ServerShared>,
    remote: Option<SocketAddr>,
) {
    let now = rt.now();
    let timer = rt.sleep_until(now);
    let (id, waker_slot) = shared.register_connection();
    let timer_wake = Arc::new(TimerWake {
        fired: AtomicBool::new(false),
        slot: waker_slot.clone(),
    });
    let mut connection = Connection {
        timer_waker: Waker::from(timer_wake.clone()),
        timer_wake,
        timer_armed: false,
        parked: None,
        date: None,
        conn: Conn::new(shared.h1_config.clone(), now),
        transport: Transport::new(stream),
        timer,
        app: shared.app.clone(),
        id,
        waker_slot,
        shared,
        remote,
        exchange: None,
        upgrade: None,
        upgraded: false,
        aborted: false,
        events_drained: false,
        rt,
    };
    let outcome = poll_fn(|cx| connection.poll(cx)).await;
    connection.shared.unregister_connection(connection.id);
    if let Outcome::Upgrade(on_upgrade) = outcome {
        let Connection {
            conn,
            transport,
            rt,
            ..
        } = connection;
        let upgraded = conn.into_upgraded();
        let (stream, pending) = transport.into_parts();
        // The hand-over happens only once every write is flushed (see `poll`).
        debug_assert!(pending.is_empty(), "upgrade with unwritten bytes");
        on_upgrade(Upgraded {
            stream: Box::new(stream),
            read_buf: upgraded.read_buf,
            runtime: DynRuntime::new(rt),
        })
        .await;
    }
}

impl<R: Runtime, S: Stream> Connection<R, S> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Outcome> {
        // A read that found nothing registered this task's waker for readability; asking
        // the socket again before this call returns only repeats that (a keep-alive
        // request went round the loop three times, reading twice after its head).
        let mut read_blocked = false;
        loop {
            // Answer everything already buffered before writing, so pipelined responses
            // leave together.
            let mut progress = false;
            loop {
                let mut step = self.drain_events();
                step |= self.poll_handler(cx);
                if !step {
                    break;
                }
                progress = true;
            }
            // A streamed body's ready chunks, one gathered write at a time: back-pressure
            // from the socket.
            progress |= self.poll_streaming_body(cx);
            let had_pending_writes = self.transport.has_pending_writes();
            // Most rounds of the loop have nothing to write: skip the write poll (the
            // sink, the flush) then.
            if self.conn.has_transmit() || !self.transport.is_write_idle() {
                match self.transport.poll_write_from(cx, &mut self.conn) {
                    Poll::Ready(Err(_)) => return Poll::Ready(Outcome::Done),
                    Poll::Ready(Ok(())) | Poll::Pending => {}
                }
            }
            let flushed = !self.transport.has_pending_writes();
            // Writes that were waiting for the socket just drained: a streamed body's
            // next chunk is pulled only once they have (above), and nothing else would
            // wake this task for it, so go round again.
            progress |= had_pending_writes && flushed;
            if self.upgraded && flushed {
                if let Some(on_upgrade) = self.upgrade.take() {
                    return Poll::Ready(Outcome::Upgrade(on_upgrade));
                }
                return Poll::Ready(Outcome::Done);
            }
            if (self.conn.is_closed() || self.aborted) && flushed {
                let _ = self.transport.poll_close(cx);
                return Poll::Ready(Outcome::Done);
            }
            if self.shared.is_shutting_down() && self.exchange.is_none() && flushed {
                // Graceful shutdown: idle connections close; busy ones finish first.
                let _ = self.transport.poll_close(cx);
                return Poll::Ready(Outcome::Done);
            }
            if !read_blocked && self.conn.wants_read() && !self.transport.read_closed() {
                let rt = &self.rt;
                let mut sink = DatedConn {
                    conn: &mut self.conn,
                    date: &mut self.date,
                };
                match self.transport.poll_read_into(cx, &mut sink, || rt.now()) {
                    Poll::Ready(Ok(_)) => {
                        self.events_drained = false;
                        progress = true;
                    }
                    Poll::Ready(Err(_)) => return Poll::Ready(Outcome::Done),
                    Poll::Pending => read_blocked = true,
                }
            }
            if progress {
                continue;
            }
            // The timer is looked at only once nothing else moves, just before parking:
            // polling it registers the waker (a few hundred instructions on tokio), which
            // only the poll that returns `Pending` needs. A deadline that passed while the
            // loop was busy is acted on here, before the task sleeps.
            if let Some(deadline) = self.conn.poll_timeout() {
                // Re-arm only for an earlier deadline. A later one (the keep-alive timer
                // pushed back by every request) waits for the armed timer to fire; the
                // core ignores an early `handle_timeout` and the timer is then moved on.
                // That keeps the runtime's timer wheel out of the per-request path.
                if deadline < self.timer.deadline() {
                    self.timer.reset(deadline);
                    self.timer_armed = false;
                }
                // An armed timer is polled again only once it fired (its waker says so).
                let fired = self.timer_wake.fired.load(Ordering::Acquire)
                    && self.timer_wake.fired.swap(false, Ordering::Acquire);
                if !self.timer_armed || fired {
                    let mut timer_cx = Context::from_waker(&self.timer_waker);
                    if Pin::new(&mut self.timer).poll(&mut timer_cx).is_ready() {
                        let now = self.rt.now();
                        // A timeout may make the core answer (408) on its own.
                        refresh_date(&mut self.conn, &mut self.date, now);
                        self.conn.handle_timeout(now);
                        self.events_drained = false;
                        if let Some(next) = self.conn.poll_timeout() {
                            self.timer.reset(next);
                        }
                        self.timer_armed = false;
                        progress = true;
                    } else {
                        self.timer_armed = true;
                    }
                }
            }
            if !progress {
                self.park(cx.waker());
                // The timer may have fired before the waker it wakes was in the slot.
                if self.timer_wake.fired.load(Ordering::Acquire) {
                    continue;
                }
                return Poll::Pending;
            }
        }
    }

    /// Leaves `waker` where shutdown and the timer find it (skipped while it is the one
    /// already there).
    fn park(&mut self, waker: &Waker) {
        if self.parked.as_ref().is_some_and(|w| w.will_wake(waker)) {
            return;
        }
        self.shared.park(&self.waker_slot, waker);
        self.parked = Some(waker.clone());
    }

    /// Takes events from the core while someone wants them.
    fn drain_events(&mut self) -> bool {
        let mut progress = false;
        loop {
            if let Some(ex) = &self.exchange {
                if ex.body_done || !ex.body_wants_more() {
                    break;
                }
            }
            if self.events_drained {
                break;
            }
            let Some(event) = self.conn.poll_event() else {
                self.events_drained = true;
                break;
            };
            progress = true;
            match event {
                Event::Head(head) => {
                    // Most requests have no body: their `End` is known with the head,
                    // so take it now and set up no body channel.
                    let bodiless = self.conn.next_event_is_end();
                    if bodiless {
                        let _ = self.conn.poll_event();
                    }
                    self.start_request(head, bodiless);
                }
                Event::Data(data) => self.with_body(|b| {
                    b.buffered += data.len();
                    b.chunks.push_back(data);
                }),
                Event::Trailers(trailers) => self.with_body(|b| b.trailers = Some(trailers)),
                Event::End => {
                    self.with_body(|b| b.ended = true);
                    if let Some(ex) = &mut self.exchange {
                        ex.body_done = true;
                    }
                }
                Event::Error(error) => {
                    tracing::debug!(target: "sansweb::server", "connection from {:?}: {error}", self.remote);
                    let message = error.to_string();
                    self.with_body(|b| b.error = Some(message));
                    if let Some(ex) = &mut self.exchange {
                        ex.body_done = true;
                    }
                }
                Event::Upgrade => self.upgraded = true,
                _ => {}
            }
        }
        progress
    }

    fn with_body(&mut self, f: impl FnOnce(&mut BodyShared)) {
        if let Some(body) = self.exchange.as_ref().and_then(|ex| ex.body.as_ref()) {
            let mut body = body.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut body);
            if let Some(waker) = body.waker.take() {
                waker.wake();
            }
        }
    }

    fn start_request(&mut self, head: RequestHead, bodiless: bool) {
        let body: Option<BodyHandle> =
            (!bodiless).then(|| Arc::new(Mutex::new(BodyShared::default())));
        let started = tracing::enabled!(target: "sansweb::access", tracing::Level::INFO)
            .then(|| self.rt.now());
        // Kept only for a log that can be seen: the access log, or an error's.
        let uri = (started.is_some()
            || tracing::enabled!(target: "sansweb::server", tracing::Level::ERROR))
        .then(|| head.uri.clone());
        let request = Request::from_parts(RequestParts {
            method: head.method,
            uri: head.uri,
            version: head.version,
            headers: head.headers,
            match_info: Default::default(),
            remote: self.remote,
            app: AppRef(self.app.clone()),
            body: body.clone(),
            client_max_size: self.app.settings.client_max_size,
            rel_path: None,
            runtime: Some(self.shared.runtime.clone()),
        });
        let info = (!self.app.on_response_prepare.is_empty()).then(|| request.head_only());
        let method = request.inner.method.clone();
        let handler = self.app.dispatch_by_target(request);
        self.exchange = Some(Exchange {
            body,
            body_done: bodiless,
            handler: Some(handler),
            info,
            method,
            uri,
            started,
            streaming: None,
            status: 0,
            sent_bytes: 0,
        });
    }

    fn poll_handler(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(ex) = &mut self.exchange else {
            return false;
        };
        if ex.handler.is_none() {
            return false;
        }
        let can_drain = |ex: &Exchange| !ex.body_done && ex.body_wants_more();
        let could_drain = can_drain(ex);
        let Some(handler) = &mut ex.handler else {
            return false;
        };
        // The response stays where the poll put it and is taken apart there: moving it
        // (a few hundred bytes) into a local and again into `start_response` were two
        // copies per request.
        // Caught here, around the poll itself: a wrapper future that caught it copied
        // the response once more on its way out.
        let mut polled = std::panic::catch_unwind(AssertUnwindSafe(|| handler.as_mut().poll(cx)));
        let response = match &mut polled {
            // The handler, in this poll, asked for the body or emptied a full window:
            // body events can flow now, and nothing else would wake this task for them.
            Ok(Poll::Pending) => return !could_drain && can_drain(ex),
            Ok(Poll::Ready(response)) => response,
            Err(_) => {
                tracing::error!(target: "sansweb::server", "handler for {} {} panicked", ex.method, ex.path());
                ex.handler = None;
                let mut error =
                    HttpError::new(http::StatusCode::INTERNAL_SERVER_ERROR).into_response();
                self.start_response(&mut error);
                return true;
            }
        };
        ex.handler = None;
        self.start_response(response);
        true
    }

    fn start_response(&mut self, response: &mut Response) {
        let Some(ex) = &mut self.exchange else { return };
        // A send can give the core events: the next pipelined head, an upgrade.
        self.events_drained = false;
        if let Some(info) = &ex.info {
            for hook in &self.app.on_response_prepare {
                hook(info, response);
            }
        }
        let now = self.rt.now();
        refresh_date(&mut self.conn, &mut self.date, now);
        // The head is lent where the response holds it: moving its fields into a
        // `ResponseHead` copied them and left an emptied set to drop.
        let status = response.status;
        let reason = response.reason.as_deref();
        let headers = &response.headers;
        ex.status = status.as_u16();
        if let Some(on_upgrade) = response.on_upgrade.take() {
            match self.conn.send_response_parts(now, status, reason, headers) {
                Ok(()) => {
                    self.upgrade = Some(on_upgrade);
                    // The core switched protocols on this send. Its `Event::Upgrade` may
                    // never be polled: `drain_events` stops at an exchange whose body is
                    // done, and the exchange of a GET upgrade is exactly that.
                    self.upgraded = true;
                }
                Err(e) => {
                    tracing::error!(target: "sansweb::server", "upgrade response refused: {e}");
                    self.send_internal_error(now);
                }
            }
            return;
        }
        let body = std::mem::replace(&mut response.body, Body::Full(Bytes::new()));
        let result = match body {
            Body::Full(bytes) => {
                ex.sent_bytes = bytes.len() as u64;
                self.conn
                    .send_full_response_parts(now, status, reason, headers, bytes)
            }
            Body::Stream(stream) => {
                ex.streaming = Some(stream);
                self.conn.send_response_parts(now, status, reason, headers)
            }
        };
        match result {
            Ok(()) if ex.streaming.is_none() => self.finish_exchange(),
            Ok(()) => {}
            Err(e) => {
                tracing::error!(target: "sansweb::server", "response for {} {} refused: {e}", ex.method, ex.path());
                ex.streaming = None;
                self.send_internal_error(now);
            }
        }
    }

    fn send_internal_error(&mut self, now: Instant) {
        self.events_drained = false;
        let head = ResponseHead::new(http::StatusCode::INTERNAL_SERVER_ERROR);
        let _ = self.conn.send_full_response(
            now,
            head,
            Bytes::from_static(b"500: Internal Server Error"),
        );
        self.finish_exchange();
    }

    /// Pulls the chunks of a streamed body that are ready, once the last write drained,
    /// up to [`STREAM_GATHER`] bytes
    /// and [`STREAM_GATHER_CHUNKS`] chunks: they leave in one gathered write (the core frames
    /// each without copying it). One write per 64 KiB piece cost a syscall, and on
    /// loopback a TCP push, per piece: 29,972 writes for 112 downloads of 16 MiB, where
    /// hyper, which gathers too, made 1,188.
    fn poll_streaming_body(&mut self, cx: &mut Context<'_>) -> bool {
        if self.transport.has_pending_writes() {
            return false;
        }
        let mut progress = false;
        let mut gathered = 0;
        for _ in 0..STREAM_GATHER_CHUNKS {
            if gathered >= STREAM_GATHER {
                break;
            }
            let Some(ex) = &mut self.exchange else {
                break;
            };
            let Some(stream) = &mut ex.streaming else {
                break;
            };
            let polled = stream.as_mut().poll_next(cx);
            if polled.is_ready() {
                // What follows sends to the core (or ends the exchange).
                self.events_drained = false;
            }
            match polled {
                Poll::Pending => break,
                Poll::Ready(Some(Ok(chunk))) => {
                    gathered += chunk.len().max(1);
                    ex.sent_bytes += chunk.len() as u64;
                    if let Err(e) = self.conn.send_data(self.rt.now(), chunk) {
                        tracing::error!(target: "sansweb::server", "streamed body for {}: {e}", ex.path());
                        ex.streaming = None;
                    }
                }
                Poll::Ready(None) => {
                    ex.streaming = None;
                    if let Err(e) = self.conn.send_end(self.rt.now(), None) {
                        tracing::error!(target: "sansweb::server", "streamed body for {}: {e}", ex.path());
                    }
                    self.finish_exchange();
                    return true;
                }
                Poll::Ready(Some(Err(e))) => {
                    // The body failed halfway: end the connection so the client sees a
                    // truncated response, not a complete one.
                    tracing::error!(target: "sansweb::server", "streamed body for {} failed: {e}", ex.path());
                    ex.streaming = None;
                    self.exchange = None;
                    self.aborted = true;
                    return true;
                }
            }
            progress = true;
        }
        progress
    }

    fn finish_exchange(&mut self) {
        // Logged and dropped in place: taking the exchange out of its slot first copied
        // all of it once per request.
        if let Some(ex) = &self.exchange {
            tracing::info!(
                target: "sansweb::access",
                "{} \"{} {}\" {} {} {:.6}s",
                self.remote.map(|a| a.ip().to_string()).unwrap_or_else(|| "-".into()),
                ex.method,
                ex.path(),
                ex.status,
                ex.sent_bytes,
                ex.started
                    .map_or(0.0, |started| self.rt.now().saturating_duration_since(started).as_secs_f64()),
            );
        }
        self.exchange = None;
    }
}

/// The `Date` value of the current second and the second's bounds, on the monotonic
/// clock the connection reads anyway.
#[derive(Clone)]
struct CachedDate {
    from: Instant,
    until: Instant,
    value: HeaderValue,
}

thread_local! {
    static DATE: RefCell<Option<CachedDate>> = const { RefCell::new(None) };
}

/// Tells the core the `Date` of `now`'s second unless it has it already (two comparisons).
/// The core writes it on every response that has none, its own error answers included:
/// told once per second, not pushed into (and looked up in, and dropped from) each
/// response's fields. Called before anything that can make the core answer: a response
/// of ours, input (a malformed request gets a 400 from the core), a timeout.
#[inline]
fn refresh_date(conn: &mut Conn<Server>, cached: &mut Option<CachedDate>, now: Instant) {
    if !matches!(cached, Some(date) if date.from <= now && now < date.until) {
        set_new_date(conn, cached, now);
    }
}

/// Once a second: out of line, so the check above stays a few inlined instructions.
#[cold]
#[inline(never)]
fn set_new_date(conn: &mut Conn<Server>, cached: &mut Option<CachedDate>, now: Instant) {
    let date = http_date_now(now);
    let _ = conn.set_date(Some(date.value.as_bytes()));
    *cached = Some(date);
}

/// The core as the transport's reader sees it, with the `Date` brought up to date before
/// each input: the core may answer a malformed request within `handle_input`, and an
/// idle connection's date (or a new one's: none yet) would be stale there.
struct DatedConn<'a> {
    conn: &'a mut Conn<Server>,
    date: &'a mut Option<CachedDate>,
}

impl Sink for DatedConn<'_> {
    #[inline]
    fn input(&mut self, now: Instant, bytes: &[u8]) {
        refresh_date(self.conn, self.date, now);
        self.conn.handle_input(now, bytes);
    }
    fn eof(&mut self, now: Instant) {
        refresh_date(self.conn, self.date, now);
        self.conn.handle_eof(now);
    }
    fn transmit(&mut self) -> Option<Bytes> {
        self.conn.poll_transmit()
    }
}

/// The `Date` header at `now` (the runtime's monotonic clock) and the second it holds
/// for, formatted at most once per second per thread. A hit is two comparisons of `now`, which the caller read anyway: no
/// wall-clock read per response. The wall clock is read when the second is formatted, and
/// the second's end is mapped onto the monotonic clock, so a wall clock that steps is
/// followed within a second.
fn http_date_now(now: Instant) -> CachedDate {
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        match &*cached {
            Some(date) if date.from <= now && now < date.until => date.clone(),
            _ => {
                let wall = SystemTime::now();
                let since_epoch = wall
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default();
                // What is left of the current wall-clock second.
                let left = std::time::Duration::from_secs(1).saturating_sub(
                    std::time::Duration::from_nanos(u64::from(since_epoch.subsec_nanos())),
                );
                let text = httpdate::fmt_http_date(wall);
                let value =
                    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""));
                let date = CachedDate {
                    from: now,
                    until: now.checked_add(left).unwrap_or(now),
                    value,
                };
                *cached = Some(date.clone());
                date
            }
        }
    })
}
