//! Structure-aware fuzz body for the client pool ([`crate::client::pool`]): the input
//! bytes decode to a sequence of operations (checkout, connect ok/failed, checkin,
//! release, peer close, cancel, time passing) run against a model of what each request
//! holds. The invariants of issue #4, checked after every operation:
//!
//! - `limit` and `limit_per_host` are never exceeded (every open connection counts);
//! - a connection is never handed to two requests, never reused after it was closed,
//!   released, checked in as not reusable, or expired;
//! - waiters of one key are served in FIFO order;
//! - the pool's counters agree with the model; after everything is given back nothing
//!   is in use, connecting or waiting.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::client::{
    Checkout, CheckoutOptions, ConnectTicket, Pool, PoolConfig, PoolEvent, PoolKey, WaiterId,
};

/// Keys the operations spread over.
const KEYS: usize = 3;
/// Most operations decoded from one input.
const MAX_OPS: usize = 512;

fn key(i: usize) -> PoolKey {
    PoolKey {
        scheme: "http".into(),
        host: format!("h{i}.example"),
        port: 80,
        tls_config: 0,
        proxy: None,
    }
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
    idle: HashMap<u32, Instant>,
    dead: HashSet<u32>,
    fifo: [VecDeque<WaiterId>; KEYS],
    next_conn: u32,
}

impl Model {
    fn held(&self, id: u32) -> bool {
        self.reqs
            .iter()
            .any(|r| matches!(r, Req::Holding(c, _) if *c == id))
    }

    fn grant(&mut self, checkout: Checkout<u32>, k: usize) -> Req {
        match checkout {
            Checkout::Reuse(id) => {
                assert!(!self.dead.contains(&id), "reused a dead connection {id}");
                assert!(!self.held(id), "connection {id} handed to two requests");
                let Some(expires) = self.idle.remove(&id) else {
                    panic!("reused connection {id} was not idle");
                };
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

    fn position(&self, pred: impl Fn(&Req) -> bool) -> Option<usize> {
        self.reqs.iter().position(pred)
    }

    fn drain(&mut self) {
        while let Some(ev) = self.pool.poll_event() {
            match ev {
                PoolEvent::WaiterReady { waiter, checkout } => {
                    assert!(
                        !matches!(checkout, Checkout::Wait(_)),
                        "ready to wait again"
                    );
                    let Some(i) =
                        self.position(|r| matches!(r, Req::Waiting(w, _) if *w == waiter))
                    else {
                        panic!("event for an unknown waiter");
                    };
                    let Req::Waiting(_, k) = self.reqs[i] else {
                        unreachable!("position matched a waiter")
                    };
                    assert_eq!(self.fifo[k].pop_front(), Some(waiter), "FIFO order broken");
                    self.reqs[i] = self.grant(checkout, k);
                }
                PoolEvent::WaiterTimedOut { waiter } => {
                    let Some(i) =
                        self.position(|r| matches!(r, Req::Waiting(w, _) if *w == waiter))
                    else {
                        panic!("timeout for an unknown waiter");
                    };
                    if let Req::Waiting(_, k) = self.reqs.remove(i) {
                        self.fifo[k].retain(|w| *w != waiter);
                    }
                }
                PoolEvent::CloseIdle(id) => {
                    assert!(
                        self.idle.remove(&id).is_some(),
                        "CloseIdle for non-idle {id}"
                    );
                    self.dead.insert(id);
                }
                PoolEvent::Close(id) => {
                    assert!(!self.held(id), "Close for a held connection {id}");
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

    fn apply(&mut self, op: u8, arg: u8, arg2: u8) {
        let n = usize::from(arg);
        match op % 10 {
            0 | 1 => {
                let k = n % KEYS;
                let opts = CheckoutOptions {
                    fresh: arg2 % 10 == 0,
                    queue_deadline: (arg2 % 4 == 1)
                        .then(|| self.now + Duration::from_millis(u64::from(arg2) * 50)),
                };
                let c = self.pool.checkout_with(&key(k), self.now, opts);
                let r = self.grant(c, k);
                self.reqs.push(r);
            }
            2 | 3 => {
                if let Some(i) = self.nth(n, |r| matches!(r, Req::Connecting(..))) {
                    if let Req::Connecting(t, k) = self.reqs[i] {
                        self.next_conn += 1;
                        let ok = self.pool.connected(t, self.next_conn, self.now);
                        assert!(ok.is_ok(), "valid ticket refused: {ok:?}");
                        self.reqs[i] = Req::Holding(self.next_conn, k);
                    }
                }
            }
            4 => {
                if let Some(i) = self.nth(n, |r| matches!(r, Req::Connecting(..))) {
                    if let Req::Connecting(t, _) = self.reqs.remove(i) {
                        assert!(self.pool.connect_failed(t, self.now).is_ok());
                    }
                }
            }
            5 | 6 => {
                if let Some(i) = self.nth(n, |r| matches!(r, Req::Holding(..))) {
                    if let Req::Holding(id, _) = self.reqs.remove(i) {
                        let reusable = arg2 % 4 != 0;
                        let hint =
                            (arg2 % 3 == 0).then(|| Duration::from_millis(u64::from(arg2) * 100));
                        assert!(self.pool.checkin(id, reusable, hint, self.now).is_ok());
                        let idle_for =
                            hint.map_or(self.config.keep_alive, |h| h.min(self.config.keep_alive));
                        if reusable && !idle_for.is_zero() {
                            self.idle.insert(id, self.now + idle_for);
                        } else {
                            self.dead.insert(id);
                        }
                    }
                }
            }
            7 => {
                if let Some(i) = self.nth(n, |r| matches!(r, Req::Holding(..))) {
                    if let Req::Holding(id, _) = self.reqs.remove(i) {
                        if arg2 % 2 == 0 {
                            assert!(self.pool.release(id, self.now).is_ok());
                        } else {
                            assert!(self.pool.closed(id, self.now).is_ok());
                        }
                        self.dead.insert(id);
                    }
                } else {
                    let mut ids: Vec<u32> = self.idle.keys().copied().collect();
                    ids.sort_unstable();
                    if let Some(&id) = ids.get(n % ids.len().max(1)) {
                        assert!(self.pool.closed(id, self.now).is_ok());
                        self.idle.remove(&id);
                        self.dead.insert(id);
                    }
                }
            }
            8 => {
                if let Some(i) = self.nth(n, |r| matches!(r, Req::Waiting(..))) {
                    if let Req::Waiting(w, k) = self.reqs.remove(i) {
                        assert!(
                            self.pool.cancel_wait(w, self.now),
                            "live waiter not cancelled"
                        );
                        self.fifo[k].retain(|x| *x != w);
                    }
                }
            }
            _ => {
                self.now += Duration::from_millis(u64::from(arg) * 100 + u64::from(arg2));
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
        for k in 0..KEYS {
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
            assert!(p.is_idle(*id), "model idle {id} not idle in the pool");
        }
    }

    fn release_all(&mut self) {
        while let Some(r) = self.reqs.pop() {
            match r {
                Req::Waiting(w, k) => {
                    assert!(self.pool.cancel_wait(w, self.now));
                    self.fifo[k].retain(|x| *x != w);
                }
                Req::Connecting(t, _) => assert!(self.pool.connect_failed(t, self.now).is_ok()),
                Req::Holding(id, _) => {
                    assert!(self.pool.release(id, self.now).is_ok());
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

/// Runs one input: byte 0 picks the limits, then every 3 bytes are one operation.
pub fn pool_ops(data: &[u8]) {
    let Some((&limits, ops)) = data.split_first() else {
        return;
    };
    let config = PoolConfig {
        limit: usize::from(limits & 7),
        limit_per_host: usize::from((limits >> 3) & 3),
        keep_alive: Duration::from_millis(u64::from(limits >> 5) * 700),
        ..PoolConfig::default()
    };
    #[allow(clippy::disallowed_methods)] // the fuzz harness's one clock reading
    let now = Instant::now();
    let mut model = Model {
        pool: Pool::new(config.clone()),
        config,
        now,
        reqs: Vec::new(),
        idle: HashMap::new(),
        dead: HashSet::new(),
        fifo: Default::default(),
        next_conn: 0,
    };
    for op in ops.chunks_exact(3).take(MAX_OPS) {
        model.apply(op[0], op[1], op[2]);
    }
    model.release_all();
}
