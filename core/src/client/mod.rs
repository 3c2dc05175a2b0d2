//! Client session logic that is not the HTTP codec: the cookie jar, the connection pool,
//! the redirect policy and the timeout deadlines of aiohttp's `ClientSession`.
//!
//! Every piece is sans-IO: no sockets, no clock. The wall clock comes in as
//! `now: SystemTime` (cookies) and the monotonic clock as `now: Instant` (pool, timers).

pub mod cookie_date;
pub mod cookie_jar;
pub mod cookie_persist;
pub mod set_cookie;

pub use cookie_date::CookieDate;
pub use cookie_jar::{CookieJar, CookieJarConfig, CookieRejected, StoredCookie};
pub use cookie_persist::CookieLoadError;
pub use set_cookie::{parse_set_cookie, ParsedSetCookie, SameSite};

mod fast_hash;
pub mod pool;
pub use pool::{
    should_retry, Checkout, CheckoutOptions, ConnectTicket, Pool, PoolConfig, PoolError, PoolEvent,
    PoolKey, WaiterId,
};

pub mod timeout;
pub use timeout::{ClientTimeout, RequestTimers, TimeoutKind};

pub mod redirect;
pub use redirect::{
    FollowRedirect, RedirectBody, RedirectDecision, RedirectError, RedirectHop, RedirectPolicy,
    RedirectRequest, Redirects,
};

pub mod happy_eyeballs;
pub use happy_eyeballs::{interleave, HappyEyeballs, DEFAULT_ATTEMPT_DELAY};
