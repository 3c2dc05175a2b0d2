//! URL routing, aiohttp's `UrlDispatcher` semantics, sans-IO: a table of resources
//! (path patterns) each with per-method routes, resolved against a request's method and
//! path to a route, a 404, or a 405 with the `Allow` list.
//!
//! # Theory of operation
//!
//! Registration compiles each pattern once (see `pattern.rs`: static, whole-segment
//! `{name}`, or one anchored regex) and files the resource in an index under aiohttp's
//! key: the static text before its first parameter, cut back to a whole segment
//! (`/users/{id}` → `/users`, `/{name}` → `/`, `/static` prefix → `/static`).
//!
//! Resolution canonicalizes the path (decode `%XX` except `%2F`/`%25`, see `path.rs`),
//! then walks the path from its longest prefix to `/`, looking each prefix up in the
//! index; the resources filed under one key are tried in registration order:
//!
//! ```text
//!   /users/42/posts ─▶ index["/users/42/posts"]? ─▶ index["/users/42"]? ─▶ index["/users"]?
//!        ─▶ index["/"]? ─▶ done
//!   each candidate:  path matches? ── no ──▶ next candidate
//!                        │ yes
//!                    a route for the method (or `*`, or GET for HEAD)? ── yes ──▶ Match
//!                        │ no: remember its methods for Allow, go on
//!   after the walk:  some path matched ─▶ MethodNotAllowed { allow } ; else NotFound
//! ```
//!
//! So the most specific static prefix is tried first and, among resources under the same
//! key, the first registered wins — aiohttp ≥ 3.9's order. A static route costs one hash
//! lookup; `{name}` routes cost a split and string compares; only `{name:regex}` routes
//! run a regex (compiled at registration, never at match time).
//!
//! Percent-decoding: parameters are returned decoded. A value that decodes to invalid
//! UTF-8 makes the whole path unmatchable (routes are UTF-8; the result is `NotFound`).
//! A parameter whose value held `%2F` is refused (the path does not match that
//! resource) unless its own regex accepts the decoded value with its `/`. Dot segments
//! are not interpreted: serving files under a prefix must refuse `..` itself.
//!
//! ```
//! use http::Method;
//! use sansweb_core::server::router::{Resolution, Router};
//!
//! let mut router = Router::new();
//! let user = router.route(Method::GET, "/users/{id}").unwrap();
//! router.route(Method::POST, "/users").unwrap();
//! match router.resolve(&Method::GET, "/users/ren%C3%A9") {
//!     Resolution::Match(m) => {
//!         assert_eq!(m.route, user);
//!         assert_eq!(m.params.get("id"), Some("rené"));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! assert!(matches!(
//!     router.resolve(&Method::GET, "/users"),
//!     Resolution::MethodNotAllowed { allow } if allow == [Method::POST]
//! ));
//! assert_eq!(router.resolve(&Method::GET, "/nope"), Resolution::NotFound);
//! ```

mod path;
mod pattern;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use http::Method;

use pattern::Pattern;

/// Identifies a resource (a path pattern) of a [`Router`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceId(usize);

/// Identifies a route (a resource and a method) of a [`Router`]; the server maps it to
/// a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteId(usize);

impl RouteId {
    /// The route's position in registration order (0-based), to index a handler table.
    pub fn index(self) -> usize {
        self.0
    }
}

impl ResourceId {
    /// The resource's position in registration order (0-based).
    pub fn index(self) -> usize {
        self.0
    }
}

/// Which methods a route answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodFilter {
    /// Every method (aiohttp's `"*"`).
    Any,
    /// One method. A GET route also answers HEAD when the resource has no HEAD route.
    Exact(Method),
}

impl From<Method> for MethodFilter {
    /// The method `*` (a valid extension-method token) means [`MethodFilter::Any`], as
    /// aiohttp's `add_route("*", ..)`.
    fn from(method: Method) -> Self {
        if method.as_str() == "*" {
            MethodFilter::Any
        } else {
            MethodFilter::Exact(method)
        }
    }
}

/// Path parameters of a match, percent-decoded, in pattern order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    /// The first parameter, in place: most patterns have one (`/users/{id}`, the
    /// catch-all `/{tail:.*}`), and a vector for it was an allocation per request.
    first: Option<(Arc<str>, String)>,
    rest: Vec<(Arc<str>, String)>,
}

impl Params {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Params {
            first: None,
            rest: Vec::with_capacity(n.saturating_sub(1)),
        }
    }

    pub(crate) fn push(&mut self, name: Arc<str>, value: String) {
        if self.first.is_none() {
            self.first = Some((name, value));
        } else {
            self.rest.push((name, value));
        }
    }

    fn entries(&self) -> impl Iterator<Item = &(Arc<str>, String)> {
        self.first.iter().chain(&self.rest)
    }

    /// The decoded value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `(name, value)` pairs in pattern order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries().map(|(n, v)| (&**n, v.as_str()))
    }

    /// How many parameters there are.
    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }
}

/// A successful resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The route that answers.
    pub route: RouteId,
    /// Its resource.
    pub resource: ResourceId,
    /// Path parameters, decoded.
    pub params: Params,
    /// For a prefix resource: the rest of the path after the prefix, `""` or starting
    /// with `/`, in canonical form (only `%2F` and `%25` still encoded). It can be
    /// resolved again by a sub-router as is.
    pub tail: Option<String>,
}

/// What [`Router::resolve`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// A route answers this method on this path.
    Match(Match),
    /// No resource matches the path: answer 404.
    NotFound,
    /// Resources match the path, none for this method: answer 405 with `Allow: allow`
    /// (sorted, without duplicates).
    MethodNotAllowed {
        /// The methods the matching resources answer.
        allow: Vec<Method>,
    },
}

/// A route table could not take a registration: the application's mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouterError {
    /// The pattern is malformed (bad braces, bad name, bad regex, too long, ...).
    InvalidPattern {
        /// The pattern (its first 200 characters).
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The route name is not dotted/dashed identifiers (aiohttp's rule).
    InvalidName(String),
    /// Another resource already has this name.
    DuplicateName(String),
    /// The resource already has a route for this method (or a `*` route), so the new
    /// route could never be reached.
    DuplicateRoute {
        /// The resource's pattern.
        pattern: String,
        /// The method, or `*`.
        method: String,
    },
    /// The resource id is not from this router.
    UnknownResource,
}

impl std::fmt::Display for RouterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouterError::InvalidPattern { pattern, reason } => {
                write!(f, "invalid route pattern {pattern:?}: {reason}")
            }
            RouterError::InvalidName(name) => write!(f, "invalid route name {name:?}"),
            RouterError::DuplicateName(name) => write!(f, "duplicate route name {name:?}"),
            RouterError::DuplicateRoute { pattern, method } => write!(
                f,
                "route {method} {pattern} would never run: the resource already answers it"
            ),
            RouterError::UnknownResource => f.write_str("resource id is not from this router"),
        }
    }
}

impl std::error::Error for RouterError {}

/// A URL could not be built: the caller's mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlForError {
    /// No resource has this name.
    UnknownName(String),
    /// The pattern needs this parameter.
    MissingParam(String),
    /// The pattern has no such parameter.
    UnknownParam(String),
    /// The value would not match the parameter (empty, holds `/` or braces for `{name}`,
    /// fails the regex for `{name:regex}`), so the URL would not route back here.
    InvalidParam {
        /// The parameter.
        name: String,
        /// The value refused.
        value: String,
    },
}

impl std::fmt::Display for UrlForError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlForError::UnknownName(n) => write!(f, "no route named {n:?}"),
            UrlForError::MissingParam(p) => write!(f, "missing URL parameter {p:?}"),
            UrlForError::UnknownParam(p) => write!(f, "the route has no parameter {p:?}"),
            UrlForError::InvalidParam { name, value } => {
                write!(f, "value {value:?} does not match URL parameter {name:?}")
            }
        }
    }
}

impl std::error::Error for UrlForError {}

#[derive(Debug)]
struct Resource {
    pattern: Pattern,
    name: Option<String>,
    routes: Vec<(MethodFilter, RouteId)>,
}

impl Resource {
    /// The route for `method`: exact or `*` in registration order, then GET for HEAD.
    fn route_for(&self, method: &Method) -> Option<RouteId> {
        let direct = self.routes.iter().find(|(filter, _)| match filter {
            MethodFilter::Any => true,
            MethodFilter::Exact(m) => m == method,
        });
        let fallback = || {
            (method == Method::HEAD)
                .then(|| {
                    self.routes
                        .iter()
                        .find(|(f, _)| *f == MethodFilter::Exact(Method::GET))
                })
                .flatten()
        };
        direct.or_else(fallback).map(|(_, id)| *id)
    }
}

/// A route table. Build it at startup, then share it read-only: resolving takes `&self`.
#[derive(Debug, Default)]
pub struct Router {
    resources: Vec<Resource>,
    /// `RouteId` → its resource.
    routes: Vec<ResourceId>,
    index: HashMap<String, Vec<ResourceId>, BuildHasherDefault<PathHasher>>,
    /// `key_lengths[n]`: some index key is `n` bytes long. Lets the walk skip the hash
    /// lookup for most prefixes of a request path.
    key_lengths: Vec<bool>,
    names: HashMap<String, ResourceId>,
    /// The table's only resource, when it is a catch-all (`/{tail:.*}`): every path
    /// resolves to it, so the walk over the index is skipped.
    sole_catch_all: Option<ResourceId>,
}

/// FxHash (rustc's), for the index: every lookup hashes a request-path prefix, and SipHash
/// was most of a static route's cost. Flooding is not a concern here: the keys in the
/// table are the application's own; a peer's path only chooses which bucket to probe.
#[derive(Default)]
struct PathHasher(u64);

impl Hasher for PathHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn valid_name(name: &str) -> bool {
    name.split(['.', ':', '-']).all(|part| {
        let mut chars = part.chars();
        matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
            && chars.all(|c| c == '_' || c.is_alphanumeric())
    })
}

impl Router {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn insert(&mut self, pattern: Pattern, name: Option<&str>) -> Result<ResourceId, RouterError> {
        if let Some(name) = name {
            if !valid_name(name) {
                return Err(RouterError::InvalidName(name.to_owned()));
            }
            if self.names.contains_key(name) {
                return Err(RouterError::DuplicateName(name.to_owned()));
            }
        }
        let id = ResourceId(self.resources.len());
        let key = pattern.index_key();
        if self.key_lengths.len() <= key.len() {
            self.key_lengths.resize(key.len() + 1, false);
        }
        self.key_lengths[key.len()] = true;
        self.index.entry(key).or_default().push(id);
        if let Some(name) = name {
            self.names.insert(name.to_owned(), id);
        }
        self.sole_catch_all = (id.0 == 0 && pattern.matches_every_path()).then_some(id);
        self.resources.push(Resource {
            pattern,
            name: name.map(str::to_owned),
            routes: Vec::new(),
        });
        Ok(id)
    }

    /// Registers a resource for `pattern` (`/users/{id}`, `/files/{tail:.*}`), optionally
    /// named for [`Router::url_for`].
    pub fn add_resource(
        &mut self,
        pattern: &str,
        name: Option<&str>,
    ) -> Result<ResourceId, RouterError> {
        self.insert(Pattern::parse(pattern)?, name)
    }

    /// Registers a prefix resource: it matches `prefix` and every path under `prefix/`,
    /// and its matches carry the rest of the path in [`Match::tail`] (static files,
    /// sub-applications).
    pub fn add_prefix(
        &mut self,
        prefix: &str,
        name: Option<&str>,
    ) -> Result<ResourceId, RouterError> {
        self.insert(Pattern::prefix(prefix)?, name)
    }

    /// Adds a route for `method` to `resource`. Refused if the resource already answers
    /// that method (or has a `*` route): the new route could never run.
    pub fn add_route(
        &mut self,
        resource: ResourceId,
        method: impl Into<MethodFilter>,
    ) -> Result<RouteId, RouterError> {
        let method = method.into();
        let route = RouteId(self.routes.len());
        let res = self
            .resources
            .get_mut(resource.0)
            .ok_or(RouterError::UnknownResource)?;
        let shadowed = res
            .routes
            .iter()
            .any(|(existing, _)| *existing == MethodFilter::Any || *existing == method);
        if shadowed {
            return Err(RouterError::DuplicateRoute {
                pattern: res.pattern.source.clone(),
                method: match &method {
                    MethodFilter::Any => "*".to_owned(),
                    MethodFilter::Exact(m) => m.to_string(),
                },
            });
        }
        res.routes.push((method, route));
        self.routes.push(resource);
        Ok(route)
    }

    /// `add_resource` + `add_route`, as aiohttp's `router.add_route(method, path)`: if
    /// the last registered resource is unnamed and has the same pattern, the route is
    /// added to it (so `GET` and `POST` on one path share one resource).
    pub fn route(
        &mut self,
        method: impl Into<MethodFilter>,
        pattern: &str,
    ) -> Result<RouteId, RouterError> {
        let reuse = self
            .resources
            .last()
            .filter(|r| r.name.is_none() && r.pattern.source == pattern)
            .map(|_| ResourceId(self.resources.len() - 1));
        let resource = match reuse {
            Some(id) => id,
            None => self.add_resource(pattern, None)?,
        };
        self.add_route(resource, method)
    }

    /// A named resource with one route.
    pub fn named_route(
        &mut self,
        method: impl Into<MethodFilter>,
        pattern: &str,
        name: &str,
    ) -> Result<RouteId, RouterError> {
        let resource = self.add_resource(pattern, Some(name))?;
        self.add_route(resource, method)
    }

    /// The resource a route belongs to.
    pub fn resource_of(&self, route: RouteId) -> Option<ResourceId> {
        self.routes.get(route.0).copied()
    }

    /// The resource registered under `name`.
    pub fn resource_named(&self, name: &str) -> Option<ResourceId> {
        self.names.get(name).copied()
    }

    /// How many resources are registered.
    pub fn resource_count(&self) -> usize {
        self.resources.len()
    }

    /// Resolves `method` on `path` (the request target's path; anything from `?` on is
    /// ignored). See the module docs for the order and decoding rules.
    #[must_use]
    pub fn resolve(&self, method: &Method, path: &str) -> Resolution {
        let path = match path::find_either(b'?', b'#', path.as_bytes()) {
            Some(end) => &path[..end],
            None => path,
        };
        if !path.starts_with('/') {
            return Resolution::NotFound;
        }
        let Some(path) = path::canonicalize(path) else {
            return Resolution::NotFound;
        };
        if let Some(id) = self.sole_catch_all {
            // What the walk would find, found directly. A method without a route goes
            // the long way, for its `Allow` list.
            let resource = &self.resources[id.0];
            if let Some(route) = resource.route_for(method) {
                if let Some((params, tail)) = resource.pattern.matches(&path) {
                    return Resolution::Match(Match {
                        route,
                        resource: id,
                        params,
                        tail,
                    });
                }
            }
        }
        let mut allow: Vec<Method> = Vec::new();
        let mut part: &str = &path;
        loop {
            let candidates = match self.key_lengths.get(part.len()) {
                Some(true) => self.index.get(part).map(Vec::as_slice),
                _ => None,
            };
            for &id in candidates.unwrap_or_default() {
                let resource = &self.resources[id.0];
                let Some((params, tail)) = resource.pattern.matches(&path) else {
                    continue;
                };
                if let Some(route) = resource.route_for(method) {
                    return Resolution::Match(Match {
                        route,
                        resource: id,
                        params,
                        tail,
                    });
                }
                for (filter, _) in &resource.routes {
                    if let MethodFilter::Exact(m) = filter {
                        allow.push(m.clone());
                        if *m == Method::GET {
                            allow.push(Method::HEAD);
                        }
                    }
                }
            }
            if part == "/" {
                break;
            }
            part = match path::rfind_byte(b'/', part.as_bytes()) {
                Some(0) | None => "/",
                Some(slash) => &part[..slash],
            };
        }
        if allow.is_empty() {
            Resolution::NotFound
        } else {
            allow.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            allow.dedup();
            Resolution::MethodNotAllowed { allow }
        }
    }

    /// Builds the URL of the resource named `name`: `params` fill its parameters
    /// (percent-encoded; each must be a value the pattern would match), `query` is
    /// appended form-urlencoded. A prefix resource takes an optional `filename` param.
    pub fn url_for(
        &self,
        name: &str,
        params: &[(&str, &str)],
        query: &[(&str, &str)],
    ) -> Result<String, UrlForError> {
        let id = self
            .names
            .get(name)
            .ok_or_else(|| UrlForError::UnknownName(name.to_owned()))?;
        let mut url = self.resources[id.0].pattern.build(params)?;
        if !query.is_empty() {
            url.push('?');
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.extend_pairs(query);
            url.push_str(&q.finish());
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The catch-all as the only resource (resolved without the walk), and as one of two
    /// (resolved by the walk): every path and method resolves the same.
    fn pair() -> (Router, Router) {
        let mut sole = Router::new();
        sole.route(Method::GET, "/{tail:.*}").expect("valid");
        let mut walked = Router::new();
        walked.route(Method::GET, "/{tail:.*}").expect("valid");
        walked.route(Method::GET, "/zz/never").expect("valid");
        assert!(sole.sole_catch_all.is_some() && walked.sole_catch_all.is_none());
        (sole, walked)
    }

    #[test]
    fn sole_catch_all_resolves_as_the_walk_does() {
        let (sole, walked) = pair();
        for path in [
            "/",
            "/a/b",
            "/a%2Fb/c",
            "/%FF",
            "/x?q=1",
            "a",
            "",
            "/caf%C3%A9/",
        ] {
            for method in [Method::GET, Method::HEAD, Method::POST] {
                assert_eq!(
                    sole.resolve(&method, path),
                    walked.resolve(&method, path),
                    "{method} {path}"
                );
            }
        }
        match sole.resolve(&Method::GET, "/a/b%20c") {
            Resolution::Match(m) => assert_eq!(m.params.get("tail"), Some("a/b c")),
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        #[test]
        fn sole_catch_all_agrees_with_the_walk(path in "[/a-y%0-9A-F.?#]{0,24}") {
            let (sole, walked) = pair();
            for method in [Method::GET, Method::POST] {
                prop_assert_eq!(sole.resolve(&method, &path), walked.resolve(&method, &path));
            }
        }
    }
}
