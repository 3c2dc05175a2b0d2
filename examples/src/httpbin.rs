//! An httpbin-compatible application: the same paths and JSON shapes as httpbin.org, so
//! the tour's stories (and any httpbin client test) run locally.
//!
//! ```no_run
//! let app = sansweb_examples::httpbin::httpbin_app();
//! sansweb::web::run_app(app, "127.0.0.1:8080".parse().unwrap()).unwrap();
//! ```

// Handlers answer with `HttpError` by design; its size does not matter here.
#![allow(clippy::result_large_err)]

use base64::Engine as _;
use bytes::Bytes;
use http::StatusCode;
use sansweb::web::{App, HttpError, Request, Response};
use serde_json::{json, Map, Value};
use std::io::Write as _;
use std::time::Duration;

type Reply = Result<Response, HttpError>;

/// Largest `n` for `/bytes`, `/stream-bytes`, `/range` (httpbin's cap).
const MAX_BYTES: usize = 100 * 1024;
/// Longest `/delay` and `/drip` (seconds).
const MAX_DELAY: f64 = 10.0;
/// Shortest pause between two pieces of a `/drip`.
const DRIP_TICK: Duration = Duration::from_millis(10);

/// The httpbin application: every route of httpbin.org this project's stories use.
pub fn httpbin_app() -> App {
    App::new()
        .get("/", index)
        .get("/ws", ws_echo)
        .get("/get", get)
        .post("/post", with_body)
        .put("/put", with_body)
        .patch("/patch", with_body)
        .delete("/delete", with_body)
        .route("*", "/anything", anything)
        .route("*", "/anything/{rest:.*}", anything)
        .get("/headers", headers)
        .get("/ip", ip)
        .get("/user-agent", user_agent)
        .route("*", "/status/{codes}", status)
        .route("*", "/delay/{secs}", delay)
        .get("/stream/{n}", stream_lines)
        .get("/bytes/{n}", random_bytes)
        .get("/stream-bytes/{n}", stream_bytes)
        .get("/drip", drip)
        .get("/redirect/{n}", redirect)
        .route("*", "/redirect-to", redirect_to)
        .get("/absolute-redirect/{n}", absolute_redirect)
        .get("/relative-redirect/{n}", relative_redirect)
        .get("/cookies", cookies)
        .get("/cookies/set", cookies_set)
        .get("/cookies/set/{name}/{value}", cookies_set_one)
        .get("/cookies/delete", cookies_delete)
        .get("/basic-auth/{user}/{passwd}", basic_auth)
        .get("/gzip", gzip)
        .get("/deflate", deflate)
        .get("/brotli", brotli)
        .get("/response-headers", response_headers)
        .post("/response-headers", response_headers)
        .get("/cache", cache)
        .get("/cache/{n}", cache_n)
        .get("/etag/{etag}", etag)
        .get("/range/{n}", range)
        .get("/html", html)
        .get("/json", json_sample)
        .get("/base64/{value}", base64_decode)
        .get("/uuid", uuid)
}

// ---- what every JSON answer is made of ----

/// `Content-Type` → `Content-Type`, `x-my-header` → `X-My-Header` (httpbin's spelling).
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Request headers as httpbin shows them: Title-Case names, repeated ones joined by ",".
fn headers_json(req: &Request) -> Value {
    let mut map = Map::new();
    for name in req.headers().keys() {
        let values: Vec<String> = req
            .headers()
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        map.insert(title_case(name.as_str()), Value::String(values.join(",")));
    }
    Value::Object(map)
}

/// Name → value pairs as httpbin's dict: one value is a string, several a list.
fn multi_dict(pairs: impl IntoIterator<Item = (String, Value)>) -> Value {
    let mut map = Map::new();
    for (k, v) in pairs {
        match map.get_mut(&k) {
            None => {
                map.insert(k, v);
            }
            Some(Value::Array(list)) => list.push(v),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, v]);
            }
        }
    }
    Value::Object(map)
}

fn args_json(req: &Request) -> Value {
    multi_dict(req.query().into_iter().map(|(k, v)| (k, Value::String(v))))
}

fn origin(req: &Request) -> String {
    match req.header("x-forwarded-for") {
        Some(xff) => xff.to_owned(),
        None => req.remote().map(|a| a.ip().to_string()).unwrap_or_default(),
    }
}

fn full_url(req: &Request) -> String {
    let scheme = req.header("x-forwarded-proto").unwrap_or("http");
    let host = req.host().unwrap_or("localhost");
    let mut url = format!("{scheme}://{host}{}", req.path());
    if !req.query_string().is_empty() {
        url.push('?');
        url.push_str(req.query_string());
    }
    url
}

/// `args`, `headers`, `origin`, `url`: the core of every echo.
fn echo(req: &Request) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("args".into(), args_json(req));
    map.insert("headers".into(), headers_json(req));
    map.insert("origin".into(), origin(req).into());
    map.insert("url".into(), full_url(req).into());
    map
}

/// Bytes as httpbin shows a body: text if UTF-8, else a base64 data URL.
fn body_text(bytes: &[u8], content_type: &str) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => format!(
            "data:{content_type};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
    }
}

/// The echo plus the body: `data`, `files`, `form`, `json`.
async fn echo_with_body(req: &Request) -> Result<Map<String, Value>, HttpError> {
    let mut map = echo(req);
    let content_type = req.content_type();
    let (data, form, files) = if content_type == "application/x-www-form-urlencoded"
        || content_type.starts_with("multipart/")
    {
        let form = req.form().await?;
        let fields = multi_dict(form.fields.into_iter().map(|(k, v)| (k, Value::String(v))));
        let files = multi_dict(form.files.into_iter().map(|f| {
            let ct = f
                .content_type
                .unwrap_or_else(|| "application/octet-stream".into());
            (f.name, Value::String(body_text(&f.content, &ct)))
        }));
        (String::new(), fields, files)
    } else {
        let bytes = req.read().await?;
        (
            body_text(&bytes, "application/octet-stream"),
            json!({}),
            json!({}),
        )
    };
    let parsed = serde_json::from_str::<Value>(&data).unwrap_or(Value::Null);
    map.insert("data".into(), data.into());
    map.insert("files".into(), files);
    map.insert("form".into(), form);
    map.insert("json".into(), parsed);
    Ok(map)
}

fn pretty(value: &Value) -> Response {
    // httpbin indents its JSON; clients parse either way.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    Response::new(StatusCode::OK)
        .with_header("content-type", "application/json")
        .with_body(text)
}

fn param<T: std::str::FromStr>(req: &Request, name: &str) -> Result<T, HttpError> {
    req.param(name)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| HttpError::bad_request(format!("invalid {name}")))
}

// ---- randomness (no crate needed for this little) ----

fn random_u64() -> u64 {
    getrandom::u64().unwrap_or(0x9E37_79B9_7F4A_7C15)
}

/// splitmix64: a seeded stream for `/bytes/{n}?seed=`.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let word = self.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

fn rng_for(req: &Request) -> SplitMix {
    SplitMix(
        req.query_get("seed")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(random_u64),
    )
}

// ---- handlers ----

async fn index(_req: Request) -> Response {
    Response::html(
        "<!DOCTYPE html><html><body><h1>sansweb httpbin</h1><p>httpbin.org's endpoints: \
         /get /post /put /patch /delete /anything /headers /ip /user-agent /status/{codes} \
         /delay/{s} /stream/{n} /bytes/{n} /stream-bytes/{n} /drip /redirect/{n} /redirect-to \
         /absolute-redirect/{n} /relative-redirect/{n} /cookies /cookies/set /cookies/delete \
         /basic-auth/{user}/{passwd} /gzip /deflate /brotli /response-headers /cache /etag/{etag} \
         /range/{n} /html /json /base64/{value} /uuid</p></body></html>",
    )
}

async fn get(req: Request) -> Response {
    pretty(&Value::Object(echo(&req)))
}

async fn with_body(req: Request) -> Reply {
    Ok(pretty(&Value::Object(echo_with_body(&req).await?)))
}

async fn anything(req: Request) -> Reply {
    let mut map = echo_with_body(&req).await?;
    map.insert("method".into(), req.method().as_str().into());
    Ok(pretty(&Value::Object(map)))
}

async fn headers(req: Request) -> Response {
    pretty(&json!({ "headers": headers_json(&req) }))
}

async fn ip(req: Request) -> Response {
    pretty(&json!({ "origin": origin(&req) }))
}

async fn user_agent(req: Request) -> Response {
    pretty(&json!({ "user-agent": req.header("user-agent") }))
}

/// `/status/200,201:2,500`: a weighted random pick; 3xx redirect to `/redirect/1`.
async fn status(req: Request) -> Reply {
    let codes = req.param("codes").unwrap_or("");
    let mut choices = Vec::new();
    for item in codes.split(',') {
        let (code, weight) = item.split_once(':').unwrap_or((item, "1"));
        let code: u16 = code.trim().parse().map_err(|_| invalid_status())?;
        let weight: f64 = weight.trim().parse().map_err(|_| invalid_status())?;
        if !(200..=599).contains(&code) || !weight.is_finite() || weight < 0.0 {
            return Err(invalid_status());
        }
        choices.push((code, weight));
    }
    let total: f64 = choices.iter().map(|c| c.1).sum();
    let mut pick = (random_u64() as f64 / u64::MAX as f64) * total;
    let mut code = choices.first().map(|c| c.0).ok_or_else(invalid_status)?;
    for (c, w) in &choices {
        if pick < *w {
            code = *c;
            break;
        }
        pick -= w;
    }
    let status = StatusCode::from_u16(code).map_err(|_| invalid_status())?;
    let response = Response::new(status);
    Ok(match code {
        301 | 302 | 303 | 305 | 307 => response.with_header("location", "/redirect/1"),
        401 => response.with_header("www-authenticate", "Basic realm=\"Fake Realm\""),
        407 => response.with_header("proxy-authenticate", "Basic realm=\"Fake Realm\""),
        418 => response
            .with_header("x-more-info", "http://tools.ietf.org/html/rfc2324")
            .with_body("\n    -=[ teapot ]=-\n\n       _...._\n     .'  _ _ `.\n    | .\"` ^ `\". _,\n    \\_;`\"---\"`|//\n      |       ;/\n      \\_     _/\n        `\"\"\"`\n"),
        _ => response,
    })
}

fn invalid_status() -> HttpError {
    HttpError::bad_request("Invalid status code")
}

async fn delay(req: Request) -> Reply {
    let secs: f64 = param(&req, "secs")?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(HttpError::bad_request("invalid delay"));
    }
    req.sleep(Duration::from_secs_f64(secs.min(MAX_DELAY)))
        .await;
    Ok(pretty(&Value::Object(echo_with_body(&req).await?)))
}

/// `n` JSON lines (at most 100), one chunk each.
async fn stream_lines(req: Request) -> Reply {
    let n: usize = param::<usize>(&req, "n")?.min(100);
    let mut base = echo(&req);
    let lines: Vec<Result<Bytes, std::io::Error>> = (0..n)
        .map(|id| {
            base.insert("id".into(), id.into());
            let mut line = serde_json::to_vec(&base).unwrap_or_default();
            line.push(b'\n');
            Ok(Bytes::from(line))
        })
        .collect();
    Ok(Response::stream(futures_lite::stream::iter(lines))
        .with_header("content-type", "application/json"))
}

async fn random_bytes(req: Request) -> Reply {
    let n = param::<usize>(&req, "n")?.min(MAX_BYTES);
    let mut buf = vec![0; n];
    rng_for(&req).fill(&mut buf);
    Ok(Response::bytes(buf))
}

async fn stream_bytes(req: Request) -> Reply {
    let n = param::<usize>(&req, "n")?.min(MAX_BYTES);
    let chunk_size = req
        .query_get("chunk_size")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(10 * 1024)
        .clamp(1, MAX_BYTES);
    let mut rng = rng_for(&req);
    let mut left = n;
    let chunks = futures_lite::stream::poll_fn(move |_| {
        if left == 0 {
            return std::task::Poll::Ready(None);
        }
        let mut buf = vec![0; left.min(chunk_size)];
        rng.fill(&mut buf);
        left -= buf.len();
        std::task::Poll::Ready(Some(Ok(Bytes::from(buf))))
    });
    Ok(Response::stream(chunks).with_header("content-type", "application/octet-stream"))
}

/// `numbytes` asterisks spread over `duration` seconds after `delay`, with `code`.
async fn drip(req: Request) -> Reply {
    let number = |name: &str, default: f64| -> Result<f64, HttpError> {
        match req.query_get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| HttpError::bad_request(format!("invalid {name}"))),
        }
    };
    let duration = number("duration", 2.0)?.min(MAX_DELAY);
    let delay = number("delay", 0.0)?.min(MAX_DELAY);
    let numbytes = (number("numbytes", 10.0)? as usize).min(10 * 1024 * 1024);
    let code = number("code", 200.0)? as u16;
    let status = StatusCode::from_u16(code).map_err(|_| invalid_status())?;
    if numbytes == 0 {
        return Err(HttpError::bad_request("number of bytes must be positive"));
    }
    req.sleep(Duration::from_secs_f64(delay)).await;
    // httpbin sends one byte per pause; here at most one piece per DRIP_TICK, so that many
    // bytes over a short duration still take about `duration` (one byte per pause made a
    // 10 MiB drip over 1 s 10M writes behind sub-microsecond timers: over 20 s on
    // async-std).
    let pieces = ((duration / DRIP_TICK.as_secs_f64()) as usize).clamp(1, numbytes);
    let pause = Duration::from_secs_f64(duration / pieces as f64);
    let runtime = req.runtime().cloned();
    let chunks = futures_lite::stream::unfold(0usize, move |piece| {
        let runtime = runtime.clone();
        async move {
            if piece == pieces {
                return None;
            }
            if let (true, Some(runtime)) = (piece > 0, &runtime) {
                runtime.sleep_until(runtime.now() + pause).await;
            }
            // Piece i carries bytes [i * n / pieces, (i + 1) * n / pieces).
            let len = (piece + 1) * numbytes / pieces - piece * numbytes / pieces;
            Some((Ok(Bytes::from(vec![b'*'; len])), piece + 1))
        }
    });
    Ok(Response::stream(chunks)
        .with_status(status)
        .with_header("content-type", "application/octet-stream")
        .with_header("content-length", &numbytes.to_string()))
}

fn found(location: &str) -> HttpError {
    HttpError::found(location)
}

async fn redirect(req: Request) -> Reply {
    let n: u32 = param(&req, "n")?;
    if req.query_get("absolute").as_deref() == Some("true") {
        return absolute_redirect(req).await;
    }
    Err(match n {
        0 => return Err(HttpError::bad_request("n must be positive")),
        1 => found("/get"),
        n => found(&format!("/relative-redirect/{}", n - 1)),
    })
}

async fn relative_redirect(req: Request) -> Reply {
    let n: u32 = param(&req, "n")?;
    Err(match n {
        0 => HttpError::bad_request("n must be positive"),
        1 => found("/get"),
        n => found(&format!("/relative-redirect/{}", n - 1)),
    })
}

async fn absolute_redirect(req: Request) -> Reply {
    let n: u32 = param(&req, "n")?;
    let base = format!("http://{}", req.host().unwrap_or("localhost"));
    Err(match n {
        0 => HttpError::bad_request("n must be positive"),
        1 => found(&format!("{base}/get")),
        n => found(&format!("{base}/absolute-redirect/{}", n - 1)),
    })
}

async fn redirect_to(req: Request) -> Reply {
    let url = req
        .query_get("url")
        .ok_or_else(|| HttpError::bad_request("url is required"))?;
    let code = req
        .query_get("status_code")
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| (300..400).contains(c))
        .unwrap_or(302);
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::FOUND);
    // A location with bytes a header cannot carry is the client's error, not ours.
    if http::HeaderValue::from_str(&url).is_err() {
        return Err(HttpError::bad_request("invalid url"));
    }
    Err(HttpError::redirect(status, &url))
}

async fn cookies(req: Request) -> Response {
    let map: Map<String, Value> = req
        .cookies()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    pretty(&json!({ "cookies": map }))
}

/// A cookie name and value that fit a `Set-Cookie` line (no `;`, `=`, controls).
fn cookie_safe(name: &str, value: &str) -> bool {
    let ok = |s: &str, extra: &[char]| {
        s.chars().all(|c| {
            c.is_ascii_graphic() && !matches!(c, ';' | ',' | '"' | '\\') && !extra.contains(&c)
        })
    };
    !name.is_empty() && ok(name, &['=']) && ok(value, &[])
}

async fn cookies_set(req: Request) -> Reply {
    let mut response = found_response("/cookies");
    for (name, value) in req.query() {
        if !cookie_safe(&name, &value) {
            return Err(HttpError::bad_request(format!("invalid cookie {name:?}")));
        }
        response = response.with_cookie(&name, &value, "Path=/");
    }
    Ok(response)
}

async fn cookies_set_one(req: Request) -> Reply {
    let name = req.param("name").unwrap_or("");
    let value = req.param("value").unwrap_or("");
    if !cookie_safe(name, value) {
        return Err(HttpError::bad_request("invalid cookie"));
    }
    Ok(found_response("/cookies").with_cookie(name, value, "Path=/"))
}

async fn cookies_delete(req: Request) -> Reply {
    let mut response = found_response("/cookies");
    for (name, _) in req.query() {
        if !cookie_safe(&name, "") {
            return Err(HttpError::bad_request(format!("invalid cookie {name:?}")));
        }
        response = response.with_cookie(
            &name,
            "",
            "Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
        );
    }
    Ok(response)
}

/// A 302 as a response, to add cookies to.
fn found_response(location: &str) -> Response {
    sansweb::web::IntoResponse::into_response(found(location))
}

async fn basic_auth(req: Request) -> Reply {
    let user = req.param("user").unwrap_or("");
    let passwd = req.param("passwd").unwrap_or("");
    let given = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok());
    if given.as_deref() == Some(&format!("{user}:{passwd}")) {
        return Ok(pretty(&json!({ "authenticated": true, "user": user })));
    }
    Ok(Response::new(StatusCode::UNAUTHORIZED)
        .with_header("www-authenticate", "Basic realm=\"Fake Realm\""))
}

fn encoded_echo(
    req: &Request,
    flag: &str,
    coding: &str,
    encode: fn(&[u8]) -> std::io::Result<Vec<u8>>,
) -> Reply {
    let body = json!({
        flag: true,
        "headers": headers_json(req),
        "method": req.method().as_str(),
        "origin": origin(req),
    });
    let text = serde_json::to_vec_pretty(&body).unwrap_or_default();
    let compressed = encode(&text).map_err(|e| HttpError::internal(e.to_string()))?;
    Ok(Response::new(StatusCode::OK)
        .with_header("content-type", "application/json")
        .with_header("content-encoding", coding)
        .with_body(compressed))
}

async fn gzip(req: Request) -> Reply {
    encoded_echo(&req, "gzipped", "gzip", |data| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data)?;
        e.finish()
    })
}

async fn deflate(req: Request) -> Reply {
    encoded_echo(&req, "deflated", "deflate", |data| {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data)?;
        e.finish()
    })
}

async fn brotli(req: Request) -> Reply {
    encoded_echo(&req, "brotli", "br", |data| {
        let mut w = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
        w.write_all(data)?;
        w.flush()?;
        Ok(w.into_inner())
    })
}

/// Sets the query's headers on the response and echoes them, Content-Length included
/// (computed until it describes itself, as httpbin does).
async fn response_headers(req: Request) -> Reply {
    let query = req.query();
    let mut response =
        Response::new(StatusCode::OK).with_header("content-type", "application/json");
    for (name, value) in &query {
        let hn = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::bad_request(format!("invalid header name {name:?}")))?;
        let hv = http::HeaderValue::from_str(value)
            .map_err(|_| HttpError::bad_request(format!("invalid header value for {name:?}")))?;
        response.headers_mut().append(hn, hv);
    }
    let mut pairs: Vec<(String, Value)> = query
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    pairs.push(("Content-Type".into(), "application/json".into()));
    let mut length = 0usize;
    let mut body = Vec::new();
    for _ in 0..5 {
        let mut with_length = pairs.clone();
        with_length.push(("Content-Length".into(), length.to_string().into()));
        body = serde_json::to_vec_pretty(&multi_dict(with_length)).unwrap_or_default();
        body.push(b'\n');
        if body.len() == length {
            break;
        }
        length = body.len();
    }
    Ok(response.with_body(body))
}

async fn cache(req: Request) -> Response {
    if req.header("if-modified-since").is_some() || req.header("if-none-match").is_some() {
        return Response::new(StatusCode::NOT_MODIFIED);
    }
    let now = httpdate::fmt_http_date(std::time::SystemTime::now());
    pretty(&Value::Object(echo(&req)))
        .with_header("last-modified", &now)
        .with_header("etag", &format!("\"{:032x}\"", random_u64()))
}

async fn cache_n(req: Request) -> Reply {
    let n: u64 = param(&req, "n")?;
    Ok(pretty(&Value::Object(echo(&req)))
        .with_header("cache-control", &format!("public, max-age={n}")))
}

/// `If-None-Match` with the tag → 304; `If-Match` without it → 412.
async fn etag(req: Request) -> Reply {
    let tag = req.param("etag").unwrap_or("").to_owned();
    let quoted = format!("\"{tag}\"");
    let listed = |header: &str| {
        req.header(header).map(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == "*" || t == quoted || t == tag)
        })
    };
    if listed("if-none-match") == Some(true) {
        return Ok(Response::new(StatusCode::NOT_MODIFIED).with_header("etag", &quoted));
    }
    if listed("if-match") == Some(false) {
        return Err(HttpError::new(StatusCode::PRECONDITION_FAILED));
    }
    Ok(pretty(&Value::Object(echo(&req))).with_header("etag", &quoted))
}

/// `n` bytes of the alphabet, repeated, with single-range support.
async fn range(req: Request) -> Reply {
    let n: usize = param(&req, "n")?;
    if n == 0 || n > MAX_BYTES {
        return Err(HttpError::bad_request(format!(
            "number of bytes must be in the range (0, {MAX_BYTES}]"
        )));
    }
    let data: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
    let response = Response::new(StatusCode::OK)
        .with_header("content-type", "application/octet-stream")
        .with_header("etag", &format!("range{n}"))
        .with_header("accept-ranges", "bytes");
    let Some(spec) = req.header("range") else {
        return Ok(response.with_body(data));
    };
    match parse_range(spec, n) {
        Some((start, end)) => Ok(response
            .with_status(StatusCode::PARTIAL_CONTENT)
            .with_header("content-range", &format!("bytes {start}-{end}/{n}"))
            .with_body(data[start..=end].to_vec())),
        None => Ok(response
            .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
            .with_header("content-range", &format!("bytes */{n}"))),
    }
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-k` → inclusive bounds within `len`.
fn parse_range(spec: &str, len: usize) -> Option<(usize, usize)> {
    let (a, b) = spec.trim().strip_prefix("bytes=")?.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = if a.is_empty() {
        let k: usize = b.parse().ok().filter(|&k| k > 0)?;
        (len.saturating_sub(k), len - 1)
    } else {
        let start: usize = a.parse().ok()?;
        let end = if b.is_empty() {
            len - 1
        } else {
            b.parse::<usize>().ok()?.min(len - 1)
        };
        (start, end)
    };
    (start <= end && start < len).then_some((start, end))
}

async fn html(_req: Request) -> Response {
    Response::html(
        "<!DOCTYPE html>\n<html>\n  <head>\n  </head>\n  <body>\n      <h1>Herman Melville - Moby-Dick</h1>\n\n      <div>\n        <p>\n          Availing himself of the mild, summer-cool weather that now reigned in these latitudes, and in preparation for the peculiarly active pursuits shortly to be anticipated, Perth, the begrimed, blistered old blacksmith, had not removed his portable forge to the hold again, after concluding his contributory work for Ahab's leg, but still retained it on deck, fast lashed to ringbolts by the foremast.\n        </p>\n      </div>\n  </body>\n</html>",
    )
}

async fn json_sample(_req: Request) -> Response {
    pretty(&json!({
        "slideshow": {
            "author": "Yours Truly",
            "date": "date of publication",
            "slides": [
                { "title": "Wake up to WonderWidgets!", "type": "all" },
                {
                    "items": ["Why <em>WonderWidgets</em> are great", "Who <em>buys</em> WonderWidgets"],
                    "title": "Overview",
                    "type": "all"
                }
            ],
            "title": "Sample Slide Show"
        }
    }))
}

async fn base64_decode(req: Request) -> Response {
    let value = req.param("value").unwrap_or("");
    let engine = &base64::engine::general_purpose::URL_SAFE;
    let padded = format!("{value}{}", "=".repeat((4 - value.len() % 4) % 4));
    match engine.decode(padded.as_bytes()) {
        Ok(bytes) => Response::new(StatusCode::OK)
            .with_header("content-type", "text/html; charset=utf-8")
            .with_body(bytes),
        Err(_) => Response::html("Incorrect Base64 data try: SFRUUEJJTiBpcyBhd2Vzb21l"),
    }
}

async fn uuid(_req: Request) -> Response {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        SplitMix(random_u64()).fill(&mut b);
    }
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let id = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    pretty(&json!({ "uuid": id }))
}

#[cfg(test)]
mod tests;

/// `/ws`: WebSocket echo (text and binary; permessage-deflate when offered).
async fn ws_echo(req: Request) -> Result<Response, HttpError> {
    sansweb::ws::WebSocketResponse::new()
        .compress(true)
        .prepare(&req, |mut ws| async move {
            use sansweb::ws::WsMessage;
            loop {
                let sent = match ws.receive().await {
                    WsMessage::Text(text) => ws.send_str(&text).await,
                    WsMessage::Binary(bytes) => ws.send_bytes(&bytes).await,
                    _ => break,
                };
                if sent.is_err() {
                    break;
                }
            }
        })
}
