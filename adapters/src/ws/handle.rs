//! The user's side of a connection: [`WebSocket`], and its halves [`WsSender`] and
//! [`WsReceiver`] (see the [module docs](super) for how they reach the socket task).

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_lite::Stream;
use sansweb_core::ws::{CloseCode, LocalError, State, WebSocket as CoreWs};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::settings::{SEND_BATCH, SEND_HIGH_WATER};
use super::task::{lock, push_waker, SharedRef};
use super::{WsError, WsMessage};
use crate::web::{BoxFuture, DynRuntime};

/// Facts of the connection the handles report.
#[derive(Debug, Clone)]
pub(crate) struct Info {
    pub(crate) protocol: Option<String>,
    pub(crate) compressed: bool,
    pub(crate) receive_timeout: Option<Duration>,
}

/// One counted reference to the connection: when the last is dropped, the socket task
/// closes the connection.
struct Handle {
    shared: SharedRef,
    rt: DynRuntime,
    info: Info,
}

impl Handle {
    fn new(shared: SharedRef, rt: DynRuntime, info: Info) -> Self {
        lock(&shared).handles += 1;
        Handle { shared, rt, info }
    }
}

impl Clone for Handle {
    fn clone(&self) -> Self {
        Handle::new(self.shared.clone(), self.rt.clone(), self.info.clone())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let mut sh = lock(&self.shared);
        sh.handles -= 1;
        if sh.handles == 0 {
            sh.wake_task();
        }
    }
}

/// The sending half of a WebSocket; clone it to send from several tasks.
#[derive(Clone)]
pub struct WsSender {
    handle: Handle,
}

/// The receiving half of a WebSocket; also a [`Stream`] of messages.
pub struct WsReceiver {
    handle: Handle,
    /// The receive-timeout timer of the `Stream` implementation. Only reached through
    /// `&mut self` (`get_mut`, no locking); the mutex makes the receiver `Sync`, so a
    /// `&WebSocket` can be held across an `.await` in a `Send` future.
    stream_timer: Mutex<Option<BoxFuture<()>>>,
}

/// A WebSocket connection, client or server (aiohttp's `WebSocketResponse` and
/// `ClientWebSocketResponse`). [`split`](Self::split) it to send and receive from two
/// tasks.
pub struct WebSocket {
    tx: WsSender,
    rx: WsReceiver,
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("protocol", &self.tx.handle.info.protocol)
            .field("compressed", &self.tx.handle.info.compressed)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WsSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsSender").finish_non_exhaustive()
    }
}

impl fmt::Debug for WsReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsReceiver").finish_non_exhaustive()
    }
}

impl WebSocket {
    pub(crate) fn new(shared: SharedRef, rt: DynRuntime, info: Info) -> Self {
        let tx = WsSender {
            handle: Handle::new(shared.clone(), rt.clone(), info.clone()),
        };
        let rx = WsReceiver {
            handle: Handle::new(shared, rt, info),
            stream_timer: Mutex::new(None),
        };
        WebSocket { tx, rx }
    }

    /// Splits into a sender and a receiver usable from two tasks.
    #[must_use]
    pub fn split(self) -> (WsSender, WsReceiver) {
        (self.tx, self.rx)
    }

    /// A sender for this connection, to send from another task while keeping this one.
    #[must_use]
    pub fn sender(&self) -> WsSender {
        self.tx.clone()
    }

    /// The subprotocol both sides agreed on.
    #[must_use]
    pub fn protocol(&self) -> Option<&str> {
        self.tx.handle.info.protocol.as_deref()
    }

    /// Whether permessage-deflate was agreed.
    #[must_use]
    pub fn compressed(&self) -> bool {
        self.tx.handle.info.compressed
    }

    /// The peer's close code, once its close frame arrived (aiohttp's `close_code`).
    #[must_use]
    pub fn close_code(&self) -> Option<CloseCode> {
        self.tx.close_code()
    }

    /// Whether the connection is closed or closing (aiohttp's `closed`).
    #[must_use]
    pub fn closed(&self) -> bool {
        self.tx.closed()
    }

    /// Sends a text message.
    pub async fn send_str(&self, text: &str) -> Result<(), WsError> {
        self.tx.send_str(text).await
    }

    /// Sends a binary message.
    pub async fn send_bytes(&self, data: &[u8]) -> Result<(), WsError> {
        self.tx.send_bytes(data).await
    }

    /// Sends a binary message whose buffer the caller gives away; see
    /// [`WsSender::send_bytes_owned`].
    pub async fn send_bytes_owned(&self, data: impl Into<Bytes>) -> Result<(), WsError> {
        self.tx.send_bytes_owned(data).await
    }

    /// Sends `value` as a JSON text message.
    pub async fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), WsError> {
        self.tx.send_json(value).await
    }

    /// Sends one frame of a text message sent in pieces; see
    /// [`WsSender::send_str_fragment`].
    pub async fn send_str_fragment(&self, text: &str, fin: bool) -> Result<(), WsError> {
        self.tx.send_str_fragment(text, fin).await
    }

    /// Sends one frame of a binary message sent in pieces; see
    /// [`WsSender::send_str_fragment`].
    pub async fn send_bytes_fragment(&self, data: &[u8], fin: bool) -> Result<(), WsError> {
        self.tx.send_bytes_fragment(data, fin).await
    }

    /// Sends a ping (payload at most 125 bytes).
    pub async fn ping(&self, payload: &[u8]) -> Result<(), WsError> {
        self.tx.ping(payload).await
    }

    /// Sends a pong (to answer pings yourself when autoping is off).
    pub async fn pong(&self, payload: &[u8]) -> Result<(), WsError> {
        self.tx.pong(payload).await
    }

    /// Starts the close handshake and waits until the connection is closed; see
    /// [`WsSender::close`].
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<(), WsError> {
        self.tx.close(code, reason).await
    }

    /// The next message; see [`WsReceiver::receive`].
    pub async fn receive(&mut self) -> WsMessage {
        self.rx.receive().await
    }

    /// The next message, which must be text.
    pub async fn receive_str(&mut self) -> Result<String, WsError> {
        self.rx.receive_str().await
    }

    /// The next message, which must be binary.
    pub async fn receive_bytes(&mut self) -> Result<Bytes, WsError> {
        self.rx.receive_bytes().await
    }

    /// The next message, a JSON text message decoded as `T`.
    pub async fn receive_json<T: DeserializeOwned>(&mut self) -> Result<T, WsError> {
        self.rx.receive_json().await
    }
}

impl Stream for WebSocket {
    type Item = WsMessage;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WsMessage>> {
        Pin::new(&mut self.rx).poll_next(cx)
    }
}

impl WsSender {
    /// Sends a text message.
    pub async fn send_str(&self, text: &str) -> Result<(), WsError> {
        self.send(text.len(), |ws| ws.send_text(text)).await
    }

    /// Sends a binary message.
    pub async fn send_bytes(&self, data: &[u8]) -> Result<(), WsError> {
        self.send(data.len(), |ws| ws.send_binary(data)).await
    }

    /// Sends a binary message whose buffer the caller gives away (a `Bytes` received,
    /// a `Vec<u8>`): a large payload is written from that buffer without a copy (a
    /// client masks it in place when nobody else holds it). Without compression this is
    /// the cheapest way to send, or echo, big messages.
    pub async fn send_bytes_owned(&self, data: impl Into<Bytes>) -> Result<(), WsError> {
        let data = data.into();
        self.send(data.len(), |ws| ws.send_binary_owned(data)).await
    }

    /// Sends `value` as a JSON text message.
    pub async fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), WsError> {
        let text = serde_json::to_string(value)?;
        self.send_str(&text).await
    }

    /// Sends one frame of a text message sent in pieces (a message whose size is not
    /// known up front, or too big to hold at once); `fin` ends the message. The peer
    /// receives one message. Pings, pongs and the close may go between the pieces; a
    /// new data message may not (`WsError::Local(FragmentInProgress)`), so send the
    /// pieces of one message from one task. With permessage-deflate the pieces are
    /// compressed as one stream, each flushed so it goes out at once.
    pub async fn send_str_fragment(&self, text: &str, fin: bool) -> Result<(), WsError> {
        self.send(text.len(), |ws| ws.send_text_fragment(text, fin))
            .await
    }

    /// Sends one frame of a binary message sent in pieces; `fin` ends the message (see
    /// [`send_str_fragment`](Self::send_str_fragment)).
    pub async fn send_bytes_fragment(&self, data: &[u8], fin: bool) -> Result<(), WsError> {
        self.send(data.len(), |ws| ws.send_binary_fragment(data, fin))
            .await
    }

    /// Sends a ping (payload at most 125 bytes).
    pub async fn ping(&self, payload: &[u8]) -> Result<(), WsError> {
        self.send(payload.len(), |ws| ws.send_ping(payload)).await
    }

    /// Sends a pong.
    pub async fn pong(&self, payload: &[u8]) -> Result<(), WsError> {
        self.send(payload.len(), |ws| ws.send_pong(payload)).await
    }

    /// Starts the close handshake with `code` and `reason` (at most 123 bytes) and waits
    /// until the peer answered and the transport is closed, at most the close timeout.
    /// `Ok` when the connection ended cleanly (also when it was already closed cleanly);
    /// the failure otherwise (`Connection(CloseTimeout)` if the peer never answered).
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<(), WsError> {
        {
            let shared = &self.handle.shared;
            let mut sh = lock(shared);
            if !sh.done && !sh.local_close && sh.ws.state() == State::Open {
                let now = self.handle.rt.now();
                sh.ws.send_close(now, code, reason)?;
                sh.local_close = true;
                sh.wake_task();
                sh.wake_receiver();
            }
        }
        poll_fn(|cx| {
            let mut sh = lock(&self.handle.shared);
            if sh.done {
                return Poll::Ready(match &sh.failure {
                    Some(f) => Err(f.to_error()),
                    None => Ok(()),
                });
            }
            push_waker(&mut sh.close_wakers, cx.waker());
            Poll::Pending
        })
        .await
    }

    /// The peer's close code, once its close frame arrived.
    #[must_use]
    pub fn close_code(&self) -> Option<CloseCode> {
        lock(&self.handle.shared).peer_close_code
    }

    /// Whether the connection is closed or closing.
    #[must_use]
    pub fn closed(&self) -> bool {
        let sh = lock(&self.handle.shared);
        sh.done || sh.local_close || sh.read_finished
    }

    /// Waits for room in the send queue, then encodes with `op` and wakes the task.
    async fn send(
        &self,
        weight: usize,
        op: impl FnOnce(&mut CoreWs) -> Result<(), LocalError>,
    ) -> Result<(), WsError> {
        let shared = &self.handle.shared;
        poll_fn(|cx| {
            let mut sh = lock(shared);
            if sh.done {
                return Poll::Ready(Err(WsError::Closed));
            }
            if sh.backlog > SEND_HIGH_WATER {
                push_waker(&mut sh.send_wakers, cx.waker());
                return Poll::Pending;
            }
            Poll::Ready(Ok(()))
        })
        .await?;
        let crossed = {
            let mut sh = lock(shared);
            if sh.done {
                return Err(WsError::Closed);
            }
            op(&mut sh.ws)?;
            let before = sh.backlog;
            sh.backlog += weight;
            sh.wake_task();
            // Small messages only: a large one is a batch by itself, and yielding after
            // each 1 MiB message measured slower (0.089 -> 0.101 s for 100 of them).
            weight < SEND_BATCH && sh.backlog / SEND_BATCH != before / SEND_BATCH
        };
        if crossed {
            // Pending once, woken at once: the executor runs the tasks woken meanwhile,
            // the socket task among them, before this sender goes on.
            futures_lite::future::yield_now().await;
        }
        Ok(())
    }
}

impl WsReceiver {
    /// The next message (aiohttp's `receive()`): data, or with autoping off pings and
    /// pongs, then `Close` (the peer closed), `Closing` (our close is under way), `Closed`
    /// (for ever after), or `Error` (the connection failed, or the receive timeout
    /// elapsed). Cancel-safe: dropping the future loses no message.
    pub async fn receive(&mut self) -> WsMessage {
        let recv = poll_fn(|cx| self.poll_receive(cx));
        match self.handle.info.receive_timeout {
            None => recv.await,
            Some(timeout) => {
                let sleep = self.handle.rt.sleep_until(self.handle.rt.now() + timeout);
                futures_lite::future::or(recv, async {
                    sleep.await;
                    WsMessage::Error(WsError::ReceiveTimeout)
                })
                .await
            }
        }
    }

    /// The next message, which must be text.
    pub async fn receive_str(&mut self) -> Result<String, WsError> {
        match self.receive().await {
            WsMessage::Text(t) => Ok(t),
            WsMessage::Error(e) => Err(e),
            other => Err(WsError::UnexpectedMessage {
                expected: "text",
                got: other.kind(),
            }),
        }
    }

    /// The next message, which must be binary.
    pub async fn receive_bytes(&mut self) -> Result<Bytes, WsError> {
        match self.receive().await {
            WsMessage::Binary(b) => Ok(b),
            WsMessage::Error(e) => Err(e),
            other => Err(WsError::UnexpectedMessage {
                expected: "binary",
                got: other.kind(),
            }),
        }
    }

    /// The next message, a JSON text message decoded as `T`.
    pub async fn receive_json<T: DeserializeOwned>(&mut self) -> Result<T, WsError> {
        let text = self.receive_str().await?;
        Ok(serde_json::from_str(&text)?)
    }

    /// The peer's close code, once its close frame arrived.
    #[must_use]
    pub fn close_code(&self) -> Option<CloseCode> {
        lock(&self.handle.shared).peer_close_code
    }

    fn poll_receive(&self, cx: &mut Context<'_>) -> Poll<WsMessage> {
        poll_receive(&self.handle, cx)
    }
}

fn poll_receive(handle: &Handle, cx: &mut Context<'_>) -> Poll<WsMessage> {
    let mut sh = lock(&handle.shared);
    if let Some(msg) = sh.incoming.pop_front() {
        sh.incoming_bytes -= msg.weight();
        if sh.read_paused {
            sh.wake_task();
        }
        return Poll::Ready(msg);
    }
    if sh.done || sh.read_finished {
        return Poll::Ready(WsMessage::Closed);
    }
    if sh.local_close {
        return Poll::Ready(WsMessage::Closing);
    }
    let waker = cx.waker();
    if !sh.recv_waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
        sh.recv_waker = Some(waker.clone());
    }
    Poll::Pending
}

/// Yields data messages (and pings/pongs with autoping off) and errors; ends at the
/// close, like aiohttp's `async for msg in ws`. The receive timeout applies to each item.
impl Stream for WsReceiver {
    type Item = WsMessage;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WsMessage>> {
        let this = &mut *self;
        let stream_timer = this
            .stream_timer
            .get_mut()
            .unwrap_or_else(|p| p.into_inner());
        if let Poll::Ready(msg) = poll_receive(&this.handle, cx) {
            *stream_timer = None;
            return Poll::Ready(if msg.is_end() { None } else { Some(msg) });
        }
        if let Some(timeout) = this.handle.info.receive_timeout {
            let rt = &this.handle.rt;
            let timer = stream_timer.get_or_insert_with(|| rt.sleep_until(rt.now() + timeout));
            if timer.as_mut().poll(cx).is_ready() {
                *stream_timer = None;
                return Poll::Ready(Some(WsMessage::Error(WsError::ReceiveTimeout)));
            }
        }
        Poll::Pending
    }
}
