//! The web server: aiohttp's `aiohttp.web`, in Rust, on every runtime.
//!
//! ```no_run
//! use sansweb::web::{self, App, Request, Response};
//!
//! async fn hello(req: Request) -> Response {
//!     let name = req.param("name").unwrap_or("Anonymous");
//!     Response::text(format!("Hello, {name}"))
//! }
//!
//! let app = App::new().get("/", hello).get("/{name}", hello);
//! web::run_app(app, "127.0.0.1:8080".parse().unwrap()).unwrap();
//! ```

mod app;
mod conn;
pub mod multipart;
mod request;
mod response;
mod server;
mod static_files;
mod stream_response;
mod upgrade;

pub use app::{App, AppKey, AppRef, BoxError, BoxFuture, Handler, Next, State};
pub use multipart::{Form, FormFile, Multipart, Part};
pub use request::Request;
pub use response::{Body, BodyStream, HttpError, IntoResponse, Response};
#[cfg(any(
    feature = "runtime-tokio",
    feature = "runtime-smol",
    feature = "runtime-async-std"
))]
pub use server::run_app;
pub use server::{run_app_on, Server, ServerConfig, ServerHandle};
pub use static_files::file_response_for;
pub use stream_response::{StreamResponse, StreamWriter};
pub use upgrade::{DynRuntime, OnUpgrade, Upgraded};
