//! The application: routes, middlewares, typed state, signals, sub-applications
//! (aiohttp's `web.Application`).

use super::request::Request;
use super::response::{HttpError, IntoResponse, Response};
use super::static_files::StaticDir;
use http::Method;
use sansweb_core::server::router::{Resolution, RouteId, Router, RouterError};
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

/// A boxed future a handler or middleware returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An error from a signal handler (startup, shutdown, cleanup).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

pub(crate) type BoxHandler = Arc<dyn Fn(Request) -> BoxFuture<Response> + Send + Sync>;
type BoxMiddleware = Arc<dyn Fn(Request, Next) -> BoxFuture<Response> + Send + Sync>;
type BoxSignal = Arc<dyn Fn(AppRef) -> BoxFuture<Result<(), BoxError>> + Send + Sync>;
type BoxPrepare = Arc<dyn Fn(&Request, &mut Response) + Send + Sync>;

/// Anything that can handle a request: `async fn(Request) -> impl IntoResponse`.
pub trait Handler: Send + Sync + 'static {
    /// Handles one request.
    fn call(&self, request: Request) -> BoxFuture<Response>;
}

impl<F, Fut, R> Handler for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
{
    fn call(&self, request: Request) -> BoxFuture<Response> {
        let fut = self(request);
        Box::pin(async move { fut.await.into_response() })
    }
}

/// The rest of the middleware chain, ending in the route's handler.
#[derive(Clone)]
pub struct Next {
    chain: Arc<[BoxMiddleware]>,
    index: usize,
    endpoint: BoxHandler,
}

impl Next {
    /// Runs the rest of the chain.
    pub fn run(self, request: Request) -> BoxFuture<Response> {
        match self.chain.get(self.index) {
            Some(middleware) => {
                let middleware = middleware.clone();
                let next = Next {
                    index: self.index + 1,
                    ..self
                };
                middleware(request, next)
            }
            None => (self.endpoint)(request),
        }
    }
}

/// A typed key for application state (aiohttp's `web.AppKey`).
///
/// ```
/// use sansweb::web::{App, AppKey};
/// static COUNTER: AppKey<std::sync::atomic::AtomicU64> = AppKey::new("counter");
/// let app = App::new().with_state(&COUNTER, std::sync::atomic::AtomicU64::new(0));
/// assert!(app.state().get(&COUNTER).is_some());
/// ```
pub struct AppKey<T> {
    name: &'static str,
    _type: PhantomData<fn() -> T>,
}

impl<T> AppKey<T> {
    /// A key named `name` (for messages; the type is part of the key too).
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            _type: PhantomData,
        }
    }
}

type StateMap = HashMap<(std::any::TypeId, &'static str), Arc<dyn Any + Send + Sync>>;

/// Typed application state, shared by every request.
#[derive(Default)]
pub struct State {
    values: RwLock<StateMap>,
}

impl State {
    /// Stores `value` under `key`.
    pub fn set<T: Any + Send + Sync>(&self, key: &AppKey<T>, value: T) {
        let mut values = self.values.write().unwrap_or_else(|e| e.into_inner());
        values.insert((std::any::TypeId::of::<T>(), key.name), Arc::new(value));
    }

    /// The value under `key`.
    pub fn get<T: Any + Send + Sync>(&self, key: &AppKey<T>) -> Option<Arc<T>> {
        let values = self.values.read().unwrap_or_else(|e| e.into_inner());
        values
            .get(&(std::any::TypeId::of::<T>(), key.name))
            .cloned()
            .and_then(|v| v.downcast::<T>().ok())
    }
}

enum Target {
    Handler(BoxHandler),
    SubApp(Arc<AppInner>),
    Static(Arc<StaticDir>),
}

/// Settings aiohttp keeps on its application.
#[derive(Debug, Clone)]
pub(crate) struct AppSettings {
    pub client_max_size: usize,
}

pub(crate) struct AppInner {
    router: Router,
    /// Indexed by `RouteId::index()`.
    targets: Vec<Option<Target>>,
    middlewares: Arc<[BoxMiddleware]>,
    pub(crate) state: State,
    pub(crate) settings: AppSettings,
    pub(crate) on_startup: Vec<BoxSignal>,
    pub(crate) on_shutdown: Vec<BoxSignal>,
    pub(crate) on_cleanup: Vec<BoxSignal>,
    pub(crate) cleanup_ctx: Vec<(BoxSignal, BoxSignal)>,
    pub(crate) on_response_prepare: Vec<BoxPrepare>,
}

/// A handle on a running (frozen) application: its state and route names.
#[derive(Clone)]
pub struct AppRef(pub(crate) Arc<AppInner>);

impl AppRef {
    /// The application's typed state.
    pub fn state(&self) -> &State {
        &self.0.state
    }

    /// Shorthand for `state().get(key)`.
    pub fn get<T: Any + Send + Sync>(&self, key: &AppKey<T>) -> Option<Arc<T>> {
        self.0.state.get(key)
    }

    /// Builds the path of named route `name` (aiohttp's `url_for`).
    pub fn url_for(&self, name: &str, params: &[(&str, &str)]) -> Option<String> {
        self.0.router.url_for(name, params, &[]).ok()
    }
}

/// An application under construction: routes, middlewares, state and signals. Frozen
/// (made immutable) when the server starts.
///
/// ```
/// use sansweb::web::{App, Request, Response};
/// async fn hello(req: Request) -> Response {
///     Response::text(format!("Hello, {}", req.param("name").unwrap_or("anonymous")))
/// }
/// let app = App::new().get("/", hello).get("/{name}", hello);
/// ```
pub struct App {
    inner: AppInner,
    middlewares: Vec<BoxMiddleware>,
    errors: Vec<RouterError>,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    /// An empty application (`client_max_size` 1 MiB).
    pub fn new() -> Self {
        Self {
            inner: AppInner {
                router: Router::new(),
                targets: Vec::new(),
                middlewares: Arc::from(Vec::new()),
                state: State::default(),
                settings: AppSettings {
                    client_max_size: 1024 * 1024,
                },
                on_startup: Vec::new(),
                on_shutdown: Vec::new(),
                on_cleanup: Vec::new(),
                cleanup_ctx: Vec::new(),
                on_response_prepare: Vec::new(),
            },
            middlewares: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Largest body `Request::read()` accepts (aiohttp's `client_max_size`; 413 past it).
    #[must_use]
    pub fn client_max_size(mut self, bytes: usize) -> Self {
        self.inner.settings.client_max_size = bytes;
        self
    }

    /// Adds a route for `method` (`"*"` for any) on `path` (`{name}` and
    /// `{name:regex}` segments).
    #[must_use]
    pub fn route(mut self, method: &str, path: &str, handler: impl Handler) -> Self {
        self.add_route(method, path, None, handler);
        self
    }

    /// Adds a named route (for `url_for`).
    #[must_use]
    pub fn named_route(
        mut self,
        method: &str,
        path: &str,
        name: &str,
        handler: impl Handler,
    ) -> Self {
        self.add_route(method, path, Some(name), handler);
        self
    }

    fn add_route(&mut self, method: &str, path: &str, name: Option<&str>, handler: impl Handler) {
        let method = match Method::from_bytes(method.as_bytes()) {
            Ok(m) => m,
            Err(_) => {
                self.errors
                    .push(RouterError::InvalidName(format!("bad method {method:?}")));
                return;
            }
        };
        let handler = Arc::new(handler);
        let boxed: BoxHandler = Arc::new(move |req| handler.call(req));
        let result = match name {
            Some(name) => self.inner.router.named_route(method, path, name),
            None => self.inner.router.route(method, path),
        };
        match result {
            Ok(id) => self.set_target(id, Target::Handler(boxed)),
            Err(e) => self.errors.push(e),
        }
    }

    /// `route("GET", ..)` (also answers HEAD).
    #[must_use]
    pub fn get(self, path: &str, handler: impl Handler) -> Self {
        self.route("GET", path, handler)
    }
    /// `route("POST", ..)`.
    #[must_use]
    pub fn post(self, path: &str, handler: impl Handler) -> Self {
        self.route("POST", path, handler)
    }
    /// `route("PUT", ..)`.
    #[must_use]
    pub fn put(self, path: &str, handler: impl Handler) -> Self {
        self.route("PUT", path, handler)
    }
    /// `route("PATCH", ..)`.
    #[must_use]
    pub fn patch(self, path: &str, handler: impl Handler) -> Self {
        self.route("PATCH", path, handler)
    }
    /// `route("DELETE", ..)`.
    #[must_use]
    pub fn delete(self, path: &str, handler: impl Handler) -> Self {
        self.route("DELETE", path, handler)
    }

    /// Serves the files under `dir` at `prefix` (aiohttp's `add_static`). Paths that
    /// leave `dir` (`..`, encoded or not, absolute, symlinks out of it) are refused.
    #[must_use]
    pub fn static_files(mut self, prefix: &str, dir: impl Into<PathBuf>) -> Self {
        match StaticDir::new(dir.into()) {
            Ok(static_dir) => self.add_prefix_target(prefix, Target::Static(Arc::new(static_dir))),
            Err(e) => self
                .errors
                .push(RouterError::InvalidName(format!("static dir: {e}"))),
        }
        self
    }

    /// Mounts `app` under `prefix` (aiohttp's `add_subapp`); its middlewares run after
    /// this application's.
    #[must_use]
    pub fn subapp(mut self, prefix: &str, app: App) -> Self {
        match app.freeze() {
            Ok(inner) => self.add_prefix_target(prefix, Target::SubApp(inner)),
            Err(e) => self.errors.push(e),
        }
        self
    }

    fn add_prefix_target(&mut self, prefix: &str, target: Target) {
        let result = self
            .inner
            .router
            .add_prefix(prefix, None)
            .and_then(|resource| {
                self.inner
                    .router
                    .add_route(resource, Method::from_bytes(b"*").expect("token"))
            });
        match result {
            Ok(id) => self.set_target(id, target),
            Err(e) => self.errors.push(e),
        }
    }

    fn set_target(&mut self, id: RouteId, target: Target) {
        let index = id.index();
        if self.inner.targets.len() <= index {
            self.inner.targets.resize_with(index + 1, || None);
        }
        self.inner.targets[index] = Some(target);
    }

    /// Adds a middleware: `async fn(Request, Next) -> Response`. Middlewares run in the
    /// order added, each around the rest; one may answer without calling `next`.
    #[must_use]
    pub fn middleware<F, Fut>(mut self, middleware: F) -> Self
    where
        F: Fn(Request, Next) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        self.middlewares
            .push(Arc::new(move |req, next| Box::pin(middleware(req, next))));
        self
    }

    /// Stores typed state.
    #[must_use]
    pub fn with_state<T: Any + Send + Sync>(self, key: &AppKey<T>, value: T) -> Self {
        self.inner.state.set(key, value);
        self
    }

    /// The state (to read while building).
    pub fn state(&self) -> &State {
        &self.inner.state
    }

    /// Runs `f` when the server starts, before it accepts connections.
    #[must_use]
    pub fn on_startup<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(AppRef) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.inner
            .on_startup
            .push(Arc::new(move |app| Box::pin(f(app))));
        self
    }

    /// Runs `f` when shutdown begins (connections still open).
    #[must_use]
    pub fn on_shutdown<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(AppRef) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.inner
            .on_shutdown
            .push(Arc::new(move |app| Box::pin(f(app))));
        self
    }

    /// Runs `f` last, after connections are closed.
    #[must_use]
    pub fn on_cleanup<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(AppRef) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.inner
            .on_cleanup
            .push(Arc::new(move |app| Box::pin(f(app))));
        self
    }

    /// A setup/teardown pair (aiohttp's `cleanup_ctx`): setups run at startup in order;
    /// the teardowns of those that succeeded run at cleanup in reverse order, even when
    /// a later setup failed.
    #[must_use]
    pub fn cleanup_ctx<S, SF, T, TF>(mut self, setup: S, teardown: T) -> Self
    where
        S: Fn(AppRef) -> SF + Send + Sync + 'static,
        SF: Future<Output = Result<(), BoxError>> + Send + 'static,
        T: Fn(AppRef) -> TF + Send + Sync + 'static,
        TF: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.inner.cleanup_ctx.push((
            Arc::new(move |app| Box::pin(setup(app))),
            Arc::new(move |app| Box::pin(teardown(app))),
        ));
        self
    }

    /// Runs `f` on every response just before its head is sent; it may change headers.
    #[must_use]
    pub fn on_response_prepare(
        mut self,
        f: impl Fn(&Request, &mut Response) + Send + Sync + 'static,
    ) -> Self {
        self.inner.on_response_prepare.push(Arc::new(f));
        self
    }

    /// Freezes the application: no more routes or signals. Fails on the first route
    /// that could not be registered.
    pub(crate) fn freeze(self) -> Result<Arc<AppInner>, RouterError> {
        if let Some(e) = self.errors.into_iter().next() {
            return Err(e);
        }
        let mut inner = self.inner;
        inner.middlewares = Arc::from(self.middlewares);
        Ok(Arc::new(inner))
    }
}

impl AppInner {
    /// Routes `request` (whose path relative to this app is `path`) through the
    /// middlewares to its handler, a sub-application or a static file.
    pub(crate) fn dispatch(self: &Arc<Self>, request: Request, path: &str) -> BoxFuture<Response> {
        let resolution = self.router.resolve(&request.inner.method, path);
        self.dispatch_resolved(request, resolution)
    }

    /// [`AppInner::dispatch`] on the request's own path (a top-level application's): the
    /// path is read where the request holds it, no copy of the target kept for it.
    pub(crate) fn dispatch_by_target(self: &Arc<Self>, request: Request) -> BoxFuture<Response> {
        let resolution = self
            .router
            .resolve(&request.inner.method, request.inner.uri.path());
        self.dispatch_resolved(request, resolution)
    }

    fn dispatch_resolved(
        self: &Arc<Self>,
        mut request: Request,
        resolution: Resolution,
    ) -> BoxFuture<Response> {
        let endpoint: BoxHandler = match resolution {
            Resolution::Match(m) => {
                request.inner.match_info = m.params;
                match self.targets.get(m.route.index()).and_then(Option::as_ref) {
                    // No middleware: the handler is called where it is, with no chain
                    // to build and no reference counts to take and drop per request.
                    Some(Target::Handler(h)) if self.middlewares.is_empty() => return h(request),
                    Some(Target::Handler(h)) => h.clone(),
                    Some(Target::SubApp(sub)) => {
                        let sub = sub.clone();
                        let tail = m.tail.unwrap_or_default();
                        let tail = if tail.is_empty() {
                            "/".to_owned()
                        } else {
                            tail
                        };
                        Arc::new(move |mut req: Request| {
                            req.inner.app = AppRef(sub.clone());
                            req.inner.rel_path = Some(tail.clone());
                            sub.dispatch(req, &tail)
                        })
                    }
                    Some(Target::Static(dir)) => {
                        let dir = dir.clone();
                        let tail = m.tail.unwrap_or_default();
                        Arc::new(move |req: Request| {
                            let dir = dir.clone();
                            let tail = tail.clone();
                            Box::pin(async move { dir.serve(&req, &tail) })
                        })
                    }
                    None => error_handler(HttpError::not_found()),
                }
            }
            Resolution::NotFound => error_handler(HttpError::not_found()),
            Resolution::MethodNotAllowed { allow } => {
                error_handler(HttpError::method_not_allowed(&allow))
            }
        };
        Next {
            chain: self.middlewares.clone(),
            index: 0,
            endpoint,
        }
        .run(request)
    }
}

fn error_handler(error: HttpError) -> BoxHandler {
    Arc::new(move |_req| {
        let response = error.clone().into_response();
        Box::pin(async move { response })
    })
}
