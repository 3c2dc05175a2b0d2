//! Fuzz body for the router: arbitrary patterns are registered (each either compiles or
//! is refused with a typed error), then arbitrary paths are resolved and arbitrary URLs
//! built. Never a panic; matches must be self-consistent.

use http::Method;

use crate::server::router::{Resolution, Router};

const METHODS: [&str; 5] = ["GET", "POST", "*", "HEAD", "PUT"];

/// Input layout: lines. A line starting with `R` registers the rest as a pattern (with a
/// method picked by the line's length), `P` registers a prefix, `U` builds a URL for the
/// route named after the line number with the rest as every parameter's value; any other
/// line is resolved as a path with GET and HEAD. Invalid UTF-8 lines are skipped.
pub fn router(data: &[u8]) {
    let mut router = Router::new();
    let mut names: Vec<String> = Vec::new();
    // Bounded work per input, whatever its size.
    for (n, line) in data.split(|&b| b == b'\n').take(64).enumerate() {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        // The kind is one ASCII byte, so the rest starts on a char boundary.
        let (kind, rest) = match line.as_bytes().first() {
            Some(&k @ (b'R' | b'P' | b'U')) => (k, &line[1..]),
            _ => (b'/', line),
        };
        match kind {
            b'R' => {
                let name = format!("r{n}");
                let method = Method::from_bytes(METHODS[rest.len() % METHODS.len()].as_bytes())
                    .unwrap_or(Method::GET);
                if router.named_route(method, rest, &name).is_ok() {
                    names.push(name);
                }
            }
            b'P' => {
                let name = format!("r{n}");
                if let Ok(res) = router.add_prefix(rest, Some(&name)) {
                    if router.add_route(res, Method::GET).is_ok() {
                        names.push(name);
                    }
                }
            }
            b'U' => {
                for name in &names {
                    let params = [("x", rest), ("tail", rest), ("filename", rest)];
                    for k in 0..=params.len() {
                        if let Ok(url) = router.url_for(name, &params[..k], &[("q", rest)]) {
                            check(&router, &url);
                        }
                    }
                }
            }
            _ => check(&router, line),
        }
    }
}

fn check(router: &Router, path: &str) {
    for method in [Method::GET, Method::HEAD, Method::DELETE] {
        match router.resolve(&method, path) {
            Resolution::Match(m) => {
                // The route belongs to the resource reported.
                assert_eq!(router.resource_of(m.route), Some(m.resource));
            }
            Resolution::MethodNotAllowed { allow } => {
                assert!(!allow.is_empty());
                assert!(!allow.contains(&method));
            }
            Resolution::NotFound => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn seeds_do_not_panic() {
        let seeds: &[&[u8]] = &[
            b"",
            b"R/users/{id}\n/users/1\nU42",
            b"R/{a:(}\nR/{\nR/}\nR/{a}{a}\n/x",
            b"R/t/{tail:.*}\nU/a/b%2F\n/t/a%2Fb",
            b"P/static\n/static/../x\nU../x",
            b"R/{x:\\d{1,3}}\n/123\n/%FF\n/%\n\xff\xfe",
            b"R/a\nR/a\nR/{x}.{y}\n/a.b.c\nU.",
        ];
        for seed in seeds {
            super::router(seed);
        }
    }
}
