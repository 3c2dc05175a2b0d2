//! The open exchanges of a connection, oldest first: a queue that keeps its first entry
//! in place.
//!
//! Why not a plain `VecDeque`: almost every connection has one exchange open at a time
//! (pipelining is rare), and a `VecDeque` allocates on its first push; for a fresh
//! connection's first request that was one allocation (and its free) of three. The
//! second and later exchanges open at once (pipelined requests) go to a `VecDeque`.

use super::role::Exchange;
use std::collections::VecDeque;

/// A FIFO of [`Exchange`]s. Invariant: `first` is `None` only when `rest` is empty.
#[derive(Debug, Default)]
pub(crate) struct Exchanges {
    first: Option<Exchange>,
    rest: VecDeque<Exchange>,
}

impl Exchanges {
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    pub fn front(&self) -> Option<&Exchange> {
        self.first.as_ref()
    }

    pub fn front_mut(&mut self) -> Option<&mut Exchange> {
        self.first.as_mut()
    }

    pub fn back(&self) -> Option<&Exchange> {
        self.rest.back().or(self.first.as_ref())
    }

    pub fn push_back(&mut self, exchange: Exchange) {
        if self.first.is_none() {
            self.first = Some(exchange);
        } else {
            self.rest.push_back(exchange);
        }
    }

    pub fn pop_front(&mut self) -> Option<Exchange> {
        let first = self.first.take();
        self.first = self.rest.pop_front();
        first
    }

    pub fn clear(&mut self) {
        self.first = None;
        self.rest.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Method, Version};

    fn exchange(n: u8) -> Exchange {
        Exchange {
            method: Method::from_bytes(format!("M{n}").as_bytes()).expect("token"),
            version: Version::HTTP_11,
            keep_alive: n % 2 == 0,
            wants_upgrade: false,
            expect_continue: false,
        }
    }

    /// Every sequence of operations (`p` push, `o` pop, `c` clear) gives what a
    /// `VecDeque` gives, at every step.
    #[test]
    fn behaves_as_a_vec_deque() {
        let key = |e: Option<&Exchange>| e.map(|e| e.method.to_string());
        for script in [
            "", "p", "po", "ppo", "pppooo", "ppopopoo", "pppcpo", "oppp", "popopp",
        ] {
            let mut ours = Exchanges::default();
            let mut model = VecDeque::new();
            for (n, op) in script.bytes().enumerate() {
                let n = u8::try_from(n).expect("short script");
                match op {
                    b'p' => {
                        ours.push_back(exchange(n));
                        model.push_back(exchange(n));
                    }
                    b'o' => assert_eq!(
                        key(ours.pop_front().as_ref()),
                        key(model.pop_front().as_ref())
                    ),
                    _ => {
                        ours.clear();
                        model.clear();
                    }
                }
                assert_eq!(ours.len(), model.len(), "{script} at {n}");
                assert_eq!(ours.is_empty(), model.is_empty());
                assert_eq!(key(ours.front()), key(model.front()));
                assert_eq!(key(ours.back()), key(model.back()));
                if let (Some(a), Some(b)) = (ours.front_mut(), model.front_mut()) {
                    a.keep_alive = !a.keep_alive;
                    b.keep_alive = !b.keep_alive;
                }
                assert_eq!(
                    ours.front().map(|e| e.keep_alive),
                    model.front().map(|e| e.keep_alive)
                );
            }
        }
    }
}
