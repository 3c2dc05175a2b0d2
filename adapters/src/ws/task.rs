//! The socket task: the one place a WebSocket connection meets its transport.
//!
//! # Theory of operation
//!
//! The task and the user's handles share a [`Shared`] behind a mutex: the core
//! `WebSocket`, the queue of received messages and the wakers of whoever waits. The
//! task's poll runs this loop until the transport is closed:
//!
//! ```text
//!   ┌─► act on expired core deadlines (heartbeat ping, dead peer, close timeout)
//!   │   every handle dropped and still open? ─► core.send_close(1000)
//!   │   read (unless the receive queue is full) ─► core.handle_input ─► events ─► queue
//!   │   write everything the core queued (one gathered write)
//!   │   core.should_close_transport() and nothing left to write ─► close ─► done
//!   └── sleep until: readable | writable | a handle's wake-up | core.poll_timeout()
//! ```
//!
//! Reads are bounded per poll (a fast peer cannot starve the executor) and paused
//! while the queue is full, so a slow receiver holds at most one queue of messages.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use sansweb_core::ws::{CloseCode, Error as CoreError, Event, State, WebSocket as CoreWs};

use super::handle::{Info, WebSocket};
use super::settings::{RECV_QUEUE_BYTES, RECV_QUEUE_MESSAGES};
use super::{WsError, WsMessage};
use crate::driver::Transport;
use crate::rt::Stream;
use crate::web::{BoxFuture, DynRuntime};

/// Most reads in one poll before the task yields to the executor.
const READS_PER_POLL: usize = 16;

/// Why the connection ended badly, kept for `close()` to report.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    Core(CoreError),
    Io(io::ErrorKind),
}

impl Failure {
    pub(crate) fn to_error(&self) -> WsError {
        match self {
            Failure::Core(e) => WsError::Connection(e.clone()),
            Failure::Io(kind) => WsError::Io((*kind).into()),
        }
    }
}

/// State shared by the socket task and the user's handles.
pub(crate) struct Shared {
    pub(crate) ws: CoreWs,
    pub(crate) autoping: bool,
    pub(crate) incoming: VecDeque<WsMessage>,
    pub(crate) incoming_bytes: usize,
    /// The task stopped reading because the queue was full.
    pub(crate) read_paused: bool,
    /// Nothing more will be read: the peer's close, a failure or EOF was seen.
    pub(crate) read_finished: bool,
    /// We sent a close frame (`close()` or every handle dropped).
    pub(crate) local_close: bool,
    /// The transport is closed and the task has ended.
    pub(crate) done: bool,
    pub(crate) failure: Option<Failure>,
    /// The peer's close code, once its close frame arrived.
    pub(crate) peer_close_code: Option<CloseCode>,
    /// Bytes sent since the last complete flush (an upper bound of what is unwritten).
    pub(crate) backlog: usize,
    pub(crate) handles: usize,
    pub(crate) task_waker: Option<Waker>,
    pub(crate) recv_waker: Option<Waker>,
    pub(crate) send_wakers: Vec<Waker>,
    pub(crate) close_wakers: Vec<Waker>,
}

pub(crate) type SharedRef = Arc<Mutex<Shared>>;

/// Locks `shared`. A panic while it was held cannot leave it half-updated in a way that
/// matters more than losing the connection, so poisoning is ignored.
pub(crate) fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

fn store_waker(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) if w.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

pub(crate) fn push_waker(list: &mut Vec<Waker>, waker: &Waker) {
    if !list.iter().any(|w| w.will_wake(waker)) {
        list.push(waker.clone());
    }
}

impl Shared {
    pub(crate) fn new(ws: CoreWs, autoping: bool) -> Self {
        Shared {
            ws,
            autoping,
            incoming: VecDeque::new(),
            incoming_bytes: 0,
            read_paused: false,
            read_finished: false,
            local_close: false,
            done: false,
            failure: None,
            peer_close_code: None,
            backlog: 0,
            handles: 0,
            task_waker: None,
            recv_waker: None,
            send_wakers: Vec::new(),
            close_wakers: Vec::new(),
        }
    }

    pub(crate) fn wake_task(&mut self) {
        if let Some(w) = &self.task_waker {
            w.wake_by_ref();
        }
    }

    pub(crate) fn wake_receiver(&mut self) {
        if let Some(w) = self.recv_waker.take() {
            w.wake();
        }
    }

    fn wake_senders(&mut self) {
        for w in self.send_wakers.drain(..) {
            w.wake();
        }
    }

    fn queue_full(&self) -> bool {
        self.incoming.len() >= RECV_QUEUE_MESSAGES || self.incoming_bytes >= RECV_QUEUE_BYTES
    }

    fn push(&mut self, msg: WsMessage) {
        self.incoming_bytes += msg.weight();
        self.incoming.push_back(msg);
        self.wake_receiver();
    }

    /// Turns the core's events into messages for the user.
    fn drain_events(&mut self) {
        while let Some(event) = self.ws.poll_event() {
            match event {
                Event::Text(t) => self.push(WsMessage::Text(t)),
                Event::Binary(b) => self.push(WsMessage::Binary(b)),
                // aiohttp: with autoping, pings are answered and pongs consumed silently.
                Event::Ping(p) if !self.autoping => self.push(WsMessage::Ping(p)),
                Event::Pong(p) if !self.autoping => self.push(WsMessage::Pong(p)),
                Event::Ping(_) | Event::Pong(_) => {}
                Event::Close(frame) => {
                    self.read_finished = true;
                    self.peer_close_code = Some(frame.code);
                    // After our own close, the peer's frame is only the reply.
                    if !self.local_close {
                        self.push(WsMessage::Close {
                            code: frame.code,
                            reason: frame.reason,
                        });
                    } else {
                        self.wake_receiver();
                    }
                }
                Event::Failed(e) => {
                    self.read_finished = true;
                    self.failure.get_or_insert(Failure::Core(e.clone()));
                    self.push(WsMessage::Error(WsError::Connection(e)));
                }
                // `Event` is non-exhaustive; nothing else exists today.
                _ => {}
            }
        }
    }

    /// The task is over: nothing more will be read or written.
    fn finish(&mut self, io_error: Option<io::Error>) {
        if let Some(e) = io_error {
            if !self.read_finished {
                self.failure.get_or_insert(Failure::Io(e.kind()));
                self.push(WsMessage::Error(WsError::Io(e)));
            }
        }
        self.done = true;
        self.read_finished = true;
        self.task_waker = None;
        self.wake_receiver();
        self.wake_senders();
        for w in self.close_wakers.drain(..) {
            w.wake();
        }
    }
}

/// Spawns the socket task for `ws` over `stream`, after feeding it `read_buf` (bytes
/// that arrived with the handshake), and gives the user's handle on it.
pub(crate) fn spawn(
    rt: &DynRuntime,
    mut ws: CoreWs,
    autoping: bool,
    stream: Box<dyn Stream>,
    read_buf: &[u8],
    info: Info,
) -> WebSocket {
    if !read_buf.is_empty() {
        ws.handle_input(rt.now(), read_buf);
    }
    let shared = Arc::new(Mutex::new(Shared::new(ws, autoping)));
    lock(&shared).drain_events();
    // The handles exist before the task first runs: on a multi-threaded executor it may
    // run at once, and with no handle counted it would close the connection.
    let handle = WebSocket::new(shared.clone(), rt.clone(), info);
    let task = SocketTask {
        shared,
        transport: Transport::new(stream),
        rt: rt.clone(),
        sleep: None,
    };
    rt.spawn(Box::pin(task.run()));
    handle
}

struct SocketTask {
    shared: SharedRef,
    transport: Transport<Box<dyn Stream>>,
    rt: DynRuntime,
    sleep: Option<(Instant, BoxFuture<()>)>,
}

impl SocketTask {
    async fn run(mut self) {
        poll_fn(|cx| self.poll(cx)).await;
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let shared = self.shared.clone();
        let mut sh = lock(&shared);
        store_waker(&mut sh.task_waker, cx.waker());
        loop {
            let now = self.rt.now();
            if sh.ws.poll_timeout().is_some_and(|d| d <= now) {
                sh.ws.handle_timeout(now);
                sh.drain_events();
            }
            if sh.handles == 0 && !sh.local_close && sh.ws.state() == State::Open {
                // Nobody can send or receive any more: close cleanly, as aiohttp does
                // when a handler returns.
                if sh.ws.send_close(now, CloseCode::NORMAL, "").is_ok() {
                    sh.local_close = true;
                }
            }
            // Read.
            let mut reads = 0;
            let mut yield_now = false;
            loop {
                sh.read_paused = sh.queue_full();
                if sh.read_paused || self.transport.read_closed() || sh.ws.should_close_transport()
                {
                    break;
                }
                if reads == READS_PER_POLL {
                    yield_now = true;
                    break;
                }
                let rt = &self.rt;
                match self.transport.poll_read_ws(cx, &mut sh.ws, || rt.now()) {
                    Poll::Ready(Ok(_)) => {
                        reads += 1;
                        sh.drain_events();
                    }
                    Poll::Ready(Err(e)) => {
                        sh.finish(Some(e));
                        return Poll::Ready(());
                    }
                    Poll::Pending => break,
                }
            }
            // Write.
            match self.transport.poll_write_from(cx, &mut sh.ws) {
                Poll::Ready(Ok(())) => {
                    sh.backlog = 0;
                    sh.wake_senders();
                }
                Poll::Ready(Err(e)) => {
                    sh.finish(Some(e));
                    return Poll::Ready(());
                }
                Poll::Pending => {}
            }
            // Close.
            if sh.ws.should_close_transport() && !self.transport.has_pending_writes() {
                return match self.transport.poll_close(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(_) => {
                        // A failed shutdown changes nothing: the connection is over.
                        sh.finish(None);
                        Poll::Ready(())
                    }
                };
            }
            // Sleep until the core's next deadline.
            match sh.ws.poll_timeout() {
                Some(deadline) => {
                    if self.sleep.as_ref().map(|(d, _)| *d) != Some(deadline) {
                        self.sleep = Some((deadline, self.rt.sleep_until(deadline)));
                    }
                    if let Some((_, sleep)) = &mut self.sleep {
                        if Pin::new(sleep).poll(cx).is_ready() {
                            self.sleep = None;
                            continue;
                        }
                    }
                }
                None => self.sleep = None,
            }
            if yield_now {
                cx.waker().wake_by_ref();
            }
            return Poll::Pending;
        }
    }
}
