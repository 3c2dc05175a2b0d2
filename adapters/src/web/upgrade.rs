//! Handing a connection to another protocol after `101 Switching Protocols`.

use super::app::BoxFuture;
use crate::rt::{Runtime, Stream};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Instant;

/// The connection after a 101: the stream, and the bytes the peer already sent that
/// belong to the new protocol. Also a handle on the runtime for timers and tasks.
pub struct Upgraded {
    /// The transport, now speaking the new protocol.
    pub stream: Box<dyn Stream>,
    /// Bytes already read that belong to the new protocol; consume them first.
    pub read_buf: Bytes,
    /// The runtime the connection runs on.
    pub runtime: DynRuntime,
}

/// What a handler gives to be called with the upgraded connection.
pub type OnUpgrade = Box<dyn FnOnce(Upgraded) -> BoxFuture<()> + Send + 'static>;

trait ErasedRuntime: Send + Sync {
    fn now(&self) -> Instant;
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()>;
    fn spawn(&self, future: BoxFuture<()>);
}

impl<R: Runtime> ErasedRuntime for R {
    fn now(&self) -> Instant {
        Runtime::now(self)
    }
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        Box::pin(Runtime::sleep_until(self, deadline))
    }
    fn spawn(&self, future: BoxFuture<()>) {
        self.spawn_boxed(future);
    }
}

/// A runtime with its type erased: the clock, sleeping and spawning.
#[derive(Clone)]
pub struct DynRuntime(Arc<dyn ErasedRuntime>);

impl DynRuntime {
    pub(crate) fn new<R: Runtime>(rt: R) -> Self {
        Self(Arc::new(rt))
    }

    /// The runtime's clock.
    pub fn now(&self) -> Instant {
        self.0.now()
    }

    /// Completes at `deadline` (at once if it passed).
    pub fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        self.0.sleep_until(deadline)
    }

    /// Runs `future` detached.
    pub fn spawn(&self, future: BoxFuture<()>) {
        self.0.spawn(future);
    }
}
