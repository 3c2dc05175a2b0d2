//! [`Task`]: one spawned future's handle, the same on every runtime.
//!
//! # Theory of operation
//!
//! `spawn` splits a future into a [`Task`] (kept by the caller) and a `Runner` (handed to
//! the runtime as a boxed, detached future). They share one small state behind a mutex:
//!
//! ```text
//!   Running ──future ready──▶ Finished(Ok(output))
//!      │  ──future panicked─▶ Finished(Err(Panicked))
//!      │  ──Task::abort / Task dropped──▶ aborted flag; the runner drops the future at
//!      │                                  its next poll ─▶ Finished(Err(Aborted))
//!      └──runtime dropped the runner (shutdown)──▶ Finished(Err(Aborted))
//! ```
//!
//! Writing this once (rather than wrapping each runtime's join handle) gives every runtime
//! the same semantics: drop means abort (as smol, unlike tokio — a forgotten handle must
//! not leak a connection task), `detach` lets it run on, and a panic is reported to the
//! joiner instead of tearing down an executor thread.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Why a [`Task`] gave no output.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoinError {
    /// The task was aborted (by [`Task::abort`], by dropping its handle, or because its
    /// runtime shut down) before it finished.
    Aborted,
    /// The task's future panicked; the message is the panic's payload when it was a string.
    Panicked(String),
}

impl std::fmt::Display for JoinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JoinError::Aborted => f.write_str("task was aborted before it finished"),
            JoinError::Panicked(msg) => write!(f, "task panicked: {msg}"),
        }
    }
}

impl std::error::Error for JoinError {}

struct State<T> {
    outcome: Option<Result<T, JoinError>>,
    finished: bool,
    aborted: bool,
    /// Woken when the task finishes.
    joiner: Option<Waker>,
    /// Woken on abort, so the runner gets polled and drops the future promptly.
    runner: Option<Waker>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock cannot leave the state half-written (every
        // critical section is a few field stores), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn finish(&self, outcome: Result<T, JoinError>) {
        let joiner = {
            let mut st = self.lock();
            if st.finished {
                return;
            }
            st.finished = true;
            st.outcome = Some(outcome);
            st.runner = None;
            st.joiner.take()
        };
        if let Some(w) = joiner {
            w.wake();
        }
    }
}

/// A handle to a spawned future.
///
/// Await it for the future's output (`Err` if it was aborted or panicked). Dropping it
/// aborts the task; call [`Task::detach`] to let the task run on by itself.
#[must_use = "dropping a Task aborts it; call .detach() to let it run"]
pub struct Task<T> {
    shared: Option<Arc<Shared<T>>>,
}

impl<T> Task<T> {
    /// Asks the task to stop: its future is dropped at the runner's next poll (promptly,
    /// the runner is woken). A task that already finished keeps its output.
    pub fn abort(&self) {
        let Some(shared) = &self.shared else { return };
        let runner = {
            let mut st = shared.lock();
            if st.finished {
                return;
            }
            st.aborted = true;
            st.runner.take()
        };
        if let Some(w) = runner {
            w.wake();
        }
    }

    /// Lets the task run to completion on its own; its output is discarded.
    pub fn detach(mut self) {
        self.shared = None;
    }

    /// Whether the task has finished (with an output, a panic or an abort).
    pub fn is_finished(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| s.lock().finished)
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.abort();
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, JoinError>;

    /// Polling again after the output was returned reports `Aborted`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(shared) = &self.shared else {
            return Poll::Ready(Err(JoinError::Aborted));
        };
        let mut st = shared.lock();
        if st.finished {
            return Poll::Ready(st.outcome.take().unwrap_or(Err(JoinError::Aborted)));
        }
        match &st.joiner {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.joiner = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// The future the runtime actually runs: the user's future plus the shared state.
pub(crate) struct Runner<F: Future> {
    future: Option<Pin<Box<F>>>,
    shared: Arc<Shared<F::Output>>,
}

/// Splits `future` into its handle and its runner.
pub(crate) fn pair<F: Future>(future: F) -> (Task<F::Output>, Runner<F>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            outcome: None,
            finished: false,
            aborted: false,
            joiner: None,
            runner: None,
        }),
    });
    let task = Task {
        shared: Some(shared.clone()),
    };
    (
        task,
        Runner {
            future: Some(Box::pin(future)),
            shared,
        },
    )
}

impl<F: Future> Future for Runner<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        {
            let mut st = this.shared.lock();
            if st.finished {
                return Poll::Ready(());
            }
            if st.aborted {
                drop(st);
                this.future = None;
                this.shared.finish(Err(JoinError::Aborted));
                return Poll::Ready(());
            }
            // Stored before polling, so an abort racing with this poll still wakes us.
            match &st.runner {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => st.runner = Some(cx.waker().clone()),
            }
        }
        let Some(future) = this.future.as_mut() else {
            return Poll::Ready(());
        };
        let outcome = match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-string panic payload".to_owned());
                tracing::error!(panic = %msg, "spawned task panicked");
                Err(JoinError::Panicked(msg))
            }
        };
        this.future = None;
        this.shared.finish(outcome);
        Poll::Ready(())
    }
}

impl<F: Future> Drop for Runner<F> {
    fn drop(&mut self) {
        // The runtime dropped us unfinished (shutdown, or a dropped private executor):
        // drop the future first, then tell the joiner it will get nothing.
        self.future = None;
        self.shared.finish(Err(JoinError::Aborted));
    }
}
