//! Request deadlines on a virtual clock: each kind fires at its deadline, not a
//! nanosecond before.
#![allow(clippy::disallowed_methods)] // one Instant::now() as the virtual clock's base

use std::time::{Duration, Instant};

use sansweb_core::client::{ClientTimeout, RequestTimers, TimeoutKind};

const NS: Duration = Duration::from_nanos(1);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Asserts that exactly `kind` fires at `deadline` and nothing fires 1 ns before.
fn fires_exactly(timers: &mut RequestTimers, deadline: Instant, kind: TimeoutKind) {
    assert_eq!(
        timers.poll_timeout(),
        Some(deadline),
        "{kind:?}: next deadline"
    );
    assert_eq!(
        timers.handle_timeout(deadline - NS),
        None,
        "{kind:?} fired early"
    );
    assert_eq!(timers.handle_timeout(deadline), Some(kind));
    assert_eq!(timers.fired(), Some(kind));
    assert_eq!(
        timers.poll_timeout(),
        None,
        "timers stay off after a timeout"
    );
    assert_eq!(
        timers.handle_timeout(deadline + secs(1000)),
        None,
        "fires once"
    );
}

#[test]
fn defaults_are_aiohttps() {
    let t = ClientTimeout::default();
    assert_eq!(t.total, Some(secs(300)));
    assert_eq!(t.sock_connect, Some(secs(30)));
    assert_eq!((t.connect, t.sock_read, t.pool_queue), (None, None, None));
}

#[test]
fn total_fires_at_its_deadline() {
    let t0 = Instant::now();
    let mut t = RequestTimers::new(
        ClientTimeout {
            total: Some(secs(5)),
            ..ClientTimeout::none()
        },
        t0,
    );
    t.handle_connected(t0 + secs(1));
    t.handle_sent(t0 + secs(2));
    t.handle_bytes_received(t0 + secs(4));
    fires_exactly(&mut t, t0 + secs(5), TimeoutKind::Total);
}

#[test]
fn connect_covers_queue_and_setup() {
    let t0 = Instant::now();
    let cfg = ClientTimeout {
        connect: Some(secs(3)),
        ..ClientTimeout::none()
    };
    let mut t = RequestTimers::new(cfg, t0);
    t.handle_queued(t0);
    t.handle_connecting(t0 + secs(2));
    fires_exactly(&mut t, t0 + secs(3), TimeoutKind::Connect);
    // And it is off once connected.
    let mut t = RequestTimers::new(cfg, t0);
    t.handle_connected(t0 + secs(2));
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn sock_connect_starts_when_connecting() {
    let t0 = Instant::now();
    let cfg = ClientTimeout {
        sock_connect: Some(secs(2)),
        ..ClientTimeout::none()
    };
    let mut t = RequestTimers::new(cfg, t0);
    t.handle_queued(t0);
    assert_eq!(
        t.poll_timeout(),
        None,
        "queue wait is not sock_connect's business"
    );
    t.handle_connecting(t0 + secs(10));
    fires_exactly(&mut t, t0 + secs(12), TimeoutKind::SockConnect);
}

#[test]
fn pool_queue_fires_while_queued_only() {
    let t0 = Instant::now();
    let cfg = ClientTimeout {
        pool_queue: Some(secs(1)),
        ..ClientTimeout::none()
    };
    let mut t = RequestTimers::new(cfg, t0);
    t.handle_queued(t0 + secs(1));
    fires_exactly(&mut t, t0 + secs(2), TimeoutKind::PoolQueue);
    let mut t = RequestTimers::new(cfg, t0);
    t.handle_queued(t0);
    t.handle_connecting(t0 + Duration::from_millis(500));
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn sock_read_resets_on_every_byte() {
    let t0 = Instant::now();
    let cfg = ClientTimeout {
        sock_read: Some(secs(2)),
        ..ClientTimeout::none()
    };
    let mut t = RequestTimers::new(cfg, t0);
    t.handle_connected(t0);
    assert_eq!(
        t.poll_timeout(),
        None,
        "not armed before the request is sent"
    );
    t.handle_sent(t0 + secs(1));
    let mut now = t0 + secs(1);
    for _ in 0..5 {
        now += secs(2) - NS;
        assert_eq!(t.handle_timeout(now), None);
        t.handle_bytes_received(now);
    }
    fires_exactly(&mut t, now + secs(2), TimeoutKind::SockRead);
}

#[test]
fn sock_read_is_off_while_reading_is_paused() {
    let t0 = Instant::now();
    let cfg = ClientTimeout {
        sock_read: Some(secs(2)),
        ..ClientTimeout::none()
    };
    let mut t = RequestTimers::new(cfg, t0);
    t.handle_sent(t0);
    t.handle_read_paused();
    t.handle_bytes_received(t0 + secs(1));
    assert_eq!(t.handle_timeout(t0 + secs(100)), None);
    t.handle_read_resumed(t0 + secs(100));
    fires_exactly(&mut t, t0 + secs(102), TimeoutKind::SockRead);
}

#[test]
fn narrowest_kind_is_reported_when_deadlines_coincide_and_finish_disarms() {
    let t0 = Instant::now();
    let cfg = ClientTimeout {
        total: Some(secs(2)),
        sock_connect: Some(secs(2)),
        ..ClientTimeout::none()
    };
    let mut t = RequestTimers::new(cfg, t0);
    t.handle_connecting(t0);
    fires_exactly(&mut t, t0 + secs(2), TimeoutKind::SockConnect);
    let mut t = RequestTimers::new(ClientTimeout::default(), t0);
    t.handle_sent(t0);
    t.handle_finished();
    assert_eq!(t.poll_timeout(), None);
    assert_eq!(t.handle_timeout(t0 + secs(10_000)), None);
}
