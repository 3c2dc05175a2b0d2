//! Client session logic: connection pool, cookie jar, redirects, timeouts.
