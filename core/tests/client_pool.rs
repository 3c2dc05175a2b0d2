//! Connection pool properties on a virtual clock: random operation sequences against a
//! model of what each request holds.
#![allow(clippy::disallowed_methods)] // one Instant::now() as the virtual clock's base

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use sansweb_core::client::{
    Checkout, CheckoutOptions, ConnectTicket, Pool, PoolConfig, PoolEvent, PoolKey, WaiterId,
};

fn key(i: usize) -> PoolKey {
    PoolKey {
        scheme: "http".into(),
        host: format!("h{i}.example"),
        port: 80,
        tls_config: 0,
        proxy: None,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Checkout {
        key: usize,
        fresh: bool,
    },
    ConnectOk(usize),
    ConnectFail(usize),
    Checkin {
        req: usize,
        reusable: bool,
        hint_ms: Option<u16>,
    },
    Release(usize),
    ServerCloseHeld(usize),
    ServerCloseIdle(usize),
    CancelWait(usize),
    Advance(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, proptest::bool::weighted(0.1)).prop_map(|(key, fresh)| Op::Checkout { key, fresh }),
        3 => any::<usize>().prop_map(Op::ConnectOk),
        1 => any::<usize>().prop_map(Op::ConnectFail),
        3 => (any::<usize>(), proptest::bool::weighted(0.7), proptest::option::of(0..20_000u16))
            .prop_map(|(req, reusable, hint_ms)| Op::Checkin { req, reusable, hint_ms }),
        1 => any::<usize>().prop_map(Op::Release),
        1 => any::<usize>().prop_map(Op::ServerCloseHeld),
        1 => any::<usize>().prop_map(Op::ServerCloseIdle),
        1 => any::<usize>().prop_map(Op::CancelWait),
        2 => (0..20_000u16).prop_map(Op::Advance),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Req {
    Waiting(WaiterId, usize),
    Connecting(ConnectTicket, usize),
    Holding(u32, usize),
}

struct Model {
    pool: Pool<u32>,
    config: PoolConfig,
    now: Instant,
    reqs: Vec<Req>,
    /// Idle connections and when they expire (as the model computes it).
    idle: HashMap<u32, Instant>,
    /// Connections that must never be handed out again.
    dead: HashSet<u32>,
    fifo: [VecDeque<WaiterId>; 3],
    next_conn: u32,
}

impl Model {
    fn new(config: PoolConfig) -> Self {
        Self {
            pool: Pool::new(config.clone()),
            config,
            now: Instant::now(),
            reqs: Vec::new(),
            idle: HashMap::new(),
            dead: HashSet::new(),
            fifo: Default::default(),
            next_conn: 0,
        }
    }

    fn held_by_someone(&self, id: u32) -> bool {
        self.reqs
            .iter()
            .any(|r| matches!(r, Req::Holding(c, _) if *c == id))
    }

    /// Records what a request got, checking the grant is legitimate.
    fn grant(&mut self, checkout: Checkout<u32>, k: usize) -> Req {
        match checkout {
            Checkout::Reuse(id) => {
                assert!(!self.dead.contains(&id), "reused a dead connection {id}");
                assert!(
                    !self.held_by_someone(id),
                    "connection {id} handed to two requests"
                );
                let expires = self
                    .idle
                    .remove(&id)
                    .expect("reused connection was not idle");
                assert!(self.now < expires, "reused an expired connection {id}");
                Req::Holding(id, k)
            }
            Checkout::Connect(t) => Req::Connecting(t, k),
            Checkout::Wait(w) => {
                self.fifo[k].push_back(w);
                Req::Waiting(w, k)
            }
        }
    }

    fn drain(&mut self) {
        while let Some(ev) = self.pool.poll_event() {
            match ev {
                PoolEvent::WaiterReady { waiter, checkout } => {
                    assert!(!matches!(checkout, Checkout::Wait(_)));
                    let i = self
                        .reqs
                        .iter()
                        .position(|r| matches!(r, Req::Waiting(w, _) if *w == waiter))
                        .expect("event for an unknown waiter");
                    let Req::Waiting(_, k) = self.reqs[i] else {
                        unreachable!()
                    };
                    assert_eq!(
                        self.fifo[k].pop_front(),
                        Some(waiter),
                        "FIFO order broken for key {k}"
                    );
                    self.reqs[i] = self.grant(checkout, k);
                }
                PoolEvent::WaiterTimedOut { waiter } => {
                    let i = self
                        .reqs
                        .iter()
                        .position(|r| matches!(r, Req::Waiting(w, _) if *w == waiter))
                        .expect("timeout for an unknown waiter");
                    let Req::Waiting(_, k) = self.reqs.remove(i) else {
                        unreachable!()
                    };
                    self.fifo[k].retain(|w| *w != waiter);
                }
                PoolEvent::CloseIdle(id) => {
                    assert!(
                        self.idle.remove(&id).is_some(),
                        "CloseIdle for non-idle {id}"
                    );
                    self.dead.insert(id);
                }
                PoolEvent::Close(id) => {
                    assert!(!self.held_by_someone(id));
                    self.dead.insert(id);
                }
            }
        }
    }

    fn nth(&self, n: usize, pred: impl Fn(&Req) -> bool) -> Option<usize> {
        let idx: Vec<usize> = (0..self.reqs.len())
            .filter(|i| pred(&self.reqs[*i]))
            .collect();
        (!idx.is_empty()).then(|| idx[n % idx.len()])
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Checkout { key: k, fresh } => {
                let opts = CheckoutOptions {
                    fresh,
                    queue_deadline: None,
                };
                let c = self.pool.checkout_with(&key(k), self.now, opts);
                let r = self.grant(c, k);
                self.reqs.push(r);
            }
            Op::ConnectOk(n) => {
                if let Some(i) = self.nth(n, |r| matches!(r, Req::Connecting(..))) {
                    let Req::Connecting(t, k) = self.reqs[i] else {
                        unreachable!()
                    };
                    self.next_conn += 1;
                    self.pool
                        .connected(t, self.next_conn, self.now)
                        .expect("valid ticket");
                    self.reqs[i] = Req::Holding(self.next_conn, k);
                }
            }
            Op::ConnectFail(n) => {
                if let Some(i) = self.nth(n, |r| matches!(r, Req::Connecting(..))) {
                    let Req::Connecting(t, _) = self.reqs.remove(i) else {
                        unreachable!()
                    };
                    self.pool.connect_failed(t, self.now).expect("valid ticket");
                }
            }
            Op::Checkin {
                req,
                reusable,
                hint_ms,
            } => {
                if let Some(i) = self.nth(req, |r| matches!(r, Req::Holding(..))) {
                    let Req::Holding(id, _) = self.reqs.remove(i) else {
                        unreachable!()
                    };
                    let hint = hint_ms.map(|ms| Duration::from_millis(u64::from(ms)));
                    self.pool
                        .checkin(id, reusable, hint, self.now)
                        .expect("held");
                    let idle_for =
                        hint.map_or(self.config.keep_alive, |h| h.min(self.config.keep_alive));
                    if reusable && !idle_for.is_zero() {
                        self.idle.insert(id, self.now + idle_for);
                    } else {
                        self.dead.insert(id);
                    }
                }
            }
            Op::Release(n) => {
                if let Some(i) = self.nth(n, |r| matches!(r, Req::Holding(..))) {
                    let Req::Holding(id, _) = self.reqs.remove(i) else {
                        unreachable!()
                    };
                    self.pool.release(id, self.now).expect("held");
                    self.dead.insert(id);
                }
            }
            Op::ServerCloseHeld(n) => {
                if let Some(i) = self.nth(n, |r| matches!(r, Req::Holding(..))) {
                    let Req::Holding(id, _) = self.reqs.remove(i) else {
                        unreachable!()
                    };
                    self.pool.closed(id, self.now).expect("held");
                    self.dead.insert(id);
                }
            }
            Op::ServerCloseIdle(n) => {
                let mut ids: Vec<u32> = self.idle.keys().copied().collect();
                ids.sort_unstable();
                if !ids.is_empty() {
                    let id = ids[n % ids.len()];
                    self.pool.closed(id, self.now).expect("idle");
                    self.idle.remove(&id);
                    self.dead.insert(id);
                }
            }
            Op::CancelWait(n) => {
                if let Some(i) = self.nth(n, |r| matches!(r, Req::Waiting(..))) {
                    let Req::Waiting(w, k) = self.reqs.remove(i) else {
                        unreachable!()
                    };
                    assert!(self.pool.cancel_wait(w, self.now));
                    self.fifo[k].retain(|x| *x != w);
                }
            }
            Op::Advance(ms) => {
                self.now += Duration::from_millis(u64::from(ms));
                if self.pool.poll_timeout().is_some_and(|t| t <= self.now) {
                    self.pool.handle_timeout(self.now);
                }
            }
        }
        self.drain();
        self.check();
    }

    fn check(&self) {
        let p = &self.pool;
        if self.config.limit > 0 {
            assert!(p.open_count() <= self.config.limit, "over limit");
        }
        for k in 0..3 {
            if self.config.limit_per_host > 0 {
                assert!(
                    p.open_count_for(&key(k)) <= self.config.limit_per_host,
                    "over limit_per_host"
                );
            }
        }
        let count = |f: fn(&Req) -> bool| self.reqs.iter().filter(|r| f(r)).count();
        assert_eq!(p.in_use_count(), count(|r| matches!(r, Req::Holding(..))));
        assert_eq!(
            p.connecting_count(),
            count(|r| matches!(r, Req::Connecting(..)))
        );
        assert_eq!(p.waiting_count(), count(|r| matches!(r, Req::Waiting(..))));
        assert_eq!(p.idle_count(), self.idle.len());
        for id in self.idle.keys() {
            assert!(p.is_idle(*id));
        }
    }

    /// Gives everything back; afterwards nothing may be in use, connecting or waiting.
    fn release_all(&mut self) {
        while let Some(r) = self.reqs.pop() {
            match r {
                Req::Waiting(w, k) => {
                    assert!(self.pool.cancel_wait(w, self.now));
                    self.fifo[k].retain(|x| *x != w);
                }
                Req::Connecting(t, _) => self.pool.connect_failed(t, self.now).expect("ticket"),
                Req::Holding(id, _) => {
                    self.pool.release(id, self.now).expect("held");
                    self.dead.insert(id);
                }
            }
            self.drain();
            self.check();
        }
        assert_eq!(self.pool.in_use_count(), 0);
        assert_eq!(self.pool.connecting_count(), 0);
        assert_eq!(self.pool.waiting_count(), 0);
        assert_eq!(self.pool.open_count(), self.pool.idle_count());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn pool_invariants_hold_for_any_operation_sequence(
        limit in 0..5usize,
        limit_per_host in 0..3usize,
        keep_alive_ms in 1..30_000u64,
        queue_timeout_ms in proptest::option::of(1..30_000u64),
        force_close in proptest::bool::weighted(0.1),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let config = PoolConfig {
            limit,
            limit_per_host,
            keep_alive: Duration::from_millis(keep_alive_ms),
            force_close,
            queue_timeout: queue_timeout_ms.map(Duration::from_millis),
        };
        let mut m = Model::new(config);
        if force_close {
            // The model's idle bookkeeping assumes reuse; force_close means none.
            m.config.keep_alive = Duration::ZERO;
        }
        for op in &ops {
            m.apply(op);
        }
        m.release_all();
    }
}

// ---- deterministic scenarios -------------------------------------------------------

fn events(pool: &mut Pool<u32>) -> Vec<PoolEvent<u32>> {
    std::iter::from_fn(|| pool.poll_event()).collect()
}

fn connect(pool: &mut Pool<u32>, k: &PoolKey, id: u32, now: Instant) {
    let Checkout::Connect(t) = pool.checkout(k, now) else {
        panic!("expected Connect")
    };
    pool.connected(t, id, now).expect("ticket");
}

#[test]
fn waiters_are_served_in_fifo_order_and_get_the_returned_connection() {
    let t0 = Instant::now();
    let k = key(0);
    let mut pool = Pool::new(PoolConfig {
        limit: 1,
        ..PoolConfig::default()
    });
    connect(&mut pool, &k, 1, t0);
    let waiters: Vec<WaiterId> = (0..3)
        .map(|_| match pool.checkout(&k, t0) {
            Checkout::Wait(w) => w,
            other => panic!("expected Wait, got {other:?}"),
        })
        .collect();
    for w in &waiters {
        pool.checkin(1, true, None, t0).expect("held");
        assert_eq!(
            events(&mut pool),
            vec![PoolEvent::WaiterReady {
                waiter: *w,
                checkout: Checkout::Reuse(1)
            }]
        );
    }
    // A new checkout may not overtake a queued waiter of its key.
    let late = pool.checkout(&k, t0);
    pool.checkin(1, false, None, t0).expect("held");
    let Checkout::Wait(late) = late else {
        panic!("overtook")
    };
    let ev = events(&mut pool);
    assert_eq!(ev[0], PoolEvent::Close(1));
    assert!(
        matches!(ev[1], PoolEvent::WaiterReady { waiter, checkout: Checkout::Connect(_) } if waiter == late)
    );
}

#[test]
fn keep_alive_hint_shortens_idle_expiry_to_the_nanosecond() {
    let t0 = Instant::now();
    let k = key(0);
    let mut pool = Pool::new(PoolConfig::default());
    connect(&mut pool, &k, 7, t0);
    pool.checkin(7, true, Some(Duration::from_secs(5)), t0)
        .expect("held");
    assert_eq!(pool.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    pool.handle_timeout(t0 + Duration::from_secs(5) - Duration::from_nanos(1));
    assert_eq!(events(&mut pool), vec![]);
    assert!(pool.is_idle(7));
    pool.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(events(&mut pool), vec![PoolEvent::CloseIdle(7)]);
    // A longer hint than the configured keep-alive does not lengthen it.
    connect(&mut pool, &k, 8, t0);
    pool.checkin(8, true, Some(Duration::from_secs(60)), t0)
        .expect("held");
    assert_eq!(pool.poll_timeout(), Some(t0 + Duration::from_secs(15)));
    // An expired idle connection is never handed out, even before handle_timeout ran.
    let later = t0 + Duration::from_secs(15);
    assert!(matches!(pool.checkout(&k, later), Checkout::Connect(_)));
    assert_eq!(events(&mut pool), vec![PoolEvent::CloseIdle(8)]);
}

#[test]
fn queue_timeout_fires_at_its_deadline_and_frees_the_queue() {
    let t0 = Instant::now();
    let k = key(0);
    let cfg = PoolConfig {
        limit: 1,
        queue_timeout: Some(Duration::from_millis(300)),
        ..PoolConfig::default()
    };
    let mut pool = Pool::new(cfg);
    connect(&mut pool, &k, 1, t0);
    let Checkout::Wait(w) = pool.checkout(&k, t0) else {
        panic!()
    };
    assert_eq!(pool.poll_timeout(), Some(t0 + Duration::from_millis(300)));
    pool.handle_timeout(t0 + Duration::from_millis(300) - Duration::from_nanos(1));
    assert_eq!(events(&mut pool), vec![]);
    pool.handle_timeout(t0 + Duration::from_millis(300));
    assert_eq!(
        events(&mut pool),
        vec![PoolEvent::WaiterTimedOut { waiter: w }]
    );
    assert_eq!(pool.waiting_count(), 0);
}

#[test]
fn cancelled_waiter_gives_its_grant_to_the_next_one() {
    let t0 = Instant::now();
    let k = key(0);
    let mut pool = Pool::new(PoolConfig {
        limit: 1,
        ..PoolConfig::default()
    });
    connect(&mut pool, &k, 1, t0);
    let Checkout::Wait(a) = pool.checkout(&k, t0) else {
        panic!()
    };
    let Checkout::Wait(b) = pool.checkout(&k, t0) else {
        panic!()
    };
    pool.checkin(1, true, None, t0).expect("held");
    // `a` was served but gave up before its driver polled the event.
    assert!(pool.cancel_wait(a, t0));
    assert_eq!(
        events(&mut pool),
        vec![PoolEvent::WaiterReady {
            waiter: b,
            checkout: Checkout::Reuse(1)
        }]
    );
    assert!(!pool.cancel_wait(a, t0));
}

#[test]
fn total_limit_evicts_an_idle_connection_of_another_key() {
    let t0 = Instant::now();
    let mut pool = Pool::new(PoolConfig {
        limit: 1,
        ..PoolConfig::default()
    });
    connect(&mut pool, &key(0), 1, t0);
    pool.checkin(1, true, None, t0).expect("held");
    assert!(matches!(pool.checkout(&key(1), t0), Checkout::Connect(_)));
    assert_eq!(events(&mut pool), vec![PoolEvent::CloseIdle(1)]);
    assert_eq!(pool.open_count(), 1);
}

#[test]
fn limit_per_host_queues_only_that_host() {
    let t0 = Instant::now();
    let mut pool = Pool::new(PoolConfig {
        limit_per_host: 1,
        ..PoolConfig::default()
    });
    connect(&mut pool, &key(0), 1, t0);
    assert!(matches!(pool.checkout(&key(0), t0), Checkout::Wait(_)));
    assert!(matches!(pool.checkout(&key(1), t0), Checkout::Connect(_)));
}

#[test]
fn force_close_and_release_never_keep_a_connection() {
    let t0 = Instant::now();
    let k = key(0);
    let mut pool = Pool::new(PoolConfig {
        force_close: true,
        ..PoolConfig::default()
    });
    connect(&mut pool, &k, 1, t0);
    pool.checkin(1, true, None, t0).expect("held");
    assert_eq!(events(&mut pool), vec![PoolEvent::Close(1)]);
    let mut pool = Pool::new(PoolConfig::default());
    connect(&mut pool, &k, 2, t0);
    pool.release(2, t0).expect("held");
    assert_eq!(events(&mut pool), vec![PoolEvent::Close(2)]);
    assert_eq!(
        pool.checkin(2, true, None, t0),
        Err(sansweb_core::client::PoolError::UnknownConnection)
    );
    assert_eq!(pool.open_count(), 0);
}

#[test]
fn retry_only_idempotent_requests_that_failed_on_a_reused_connection_before_any_byte() {
    use http::Method;
    use sansweb_core::client::should_retry;
    let table = [
        (Method::GET, true, false, true),
        (Method::PUT, true, false, true),
        (Method::DELETE, true, false, true),
        (Method::HEAD, true, false, true),
        (Method::POST, true, false, false),
        (Method::PATCH, true, false, false),
        (Method::GET, false, false, false),
        (Method::GET, true, true, false),
    ];
    for (m, reused, seen, want) in table {
        assert_eq!(
            should_retry(&m, reused, seen),
            want,
            "{m} reused={reused} seen={seen}"
        );
    }
}
