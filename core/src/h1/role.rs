//! The two roles: which side parses requests and which parses responses.

use super::config::Config;
use super::conn::Event;
use super::error::ErrorKind;
use super::framing::{
    method_has_no_body, request_framing, response_framing, BodyFraming, FieldFacts,
};
use super::head::{RequestHead, ResponseHead};
use super::parse::{parse_request, parse_request_prefix, parse_response};
use super::scan::ScanLimits;
use bytes::{Bytes, BytesMut};
use http::{Method, StatusCode, Version};

/// The server role: parses requests, sends responses.
#[derive(Debug, Clone, Copy)]
pub enum Server {}

/// The client role: sends requests, parses responses.
#[derive(Debug, Clone, Copy)]
pub enum Client {}

/// What one received head means for the connection, whatever the role.
#[derive(Debug, Clone)]
pub(crate) struct HeadInfo {
    pub framing: BodyFraming,
    pub keep_alive: bool,
    pub kind: HeadKind,
}

/// The role-specific meaning of a received head.
#[derive(Debug, Clone)]
pub(crate) enum HeadKind {
    /// A request (server side).
    Request {
        method: Method,
        version: Version,
        wants_upgrade: bool,
        expect_continue: bool,
    },
    /// A 1xx other than 101 (client side): more heads follow.
    Informational { status: StatusCode },
    /// A final response that hands the connection over: 101, or 2xx to CONNECT.
    Switch,
    /// A final response (client side).
    Final,
}

/// One request/response exchange still open, oldest first.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    pub method: Method,
    pub version: Version,
    /// The request's sender allows the connection to persist.
    pub keep_alive: bool,
    pub wants_upgrade: bool,
    /// Server: the client waits for `100 Continue`. Client: we asked for it.
    pub expect_continue: bool,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Server {}
    impl Sealed for super::Client {}
}

/// A connection role: [`Server`] or [`Client`]. Sealed.
pub trait Role: sealed::Sealed + Sized + 'static {
    /// The head this role receives: [`RequestHead`] for servers, [`ResponseHead`] for
    /// clients.
    type Incoming: std::fmt::Debug + Clone;
    /// Whether this is the server role.
    const IS_SERVER: bool;

    #[doc(hidden)]
    #[allow(private_interfaces)] // sealed: only this crate implements or calls it
    /// Parses a complete head, given the oldest open exchange (clients need the
    /// request's method to know a response's framing).
    fn parse_head(
        head: Bytes,
        fields: usize,
        config: &Config,
        exchange: Option<&Exchange>,
    ) -> Result<(Self::Incoming, HeadInfo), ErrorKind>;

    #[doc(hidden)]
    #[allow(private_interfaces)] // sealed: only this crate implements or calls it
    /// The fast path for a head that arrived whole at the front of `buf`: found, checked
    /// and split off in one go. `info` stays `None` (nothing taken) when it cannot
    /// decide: the head is incomplete, or anything about it needs the scanner's path,
    /// which then decides exactly as it would have without this. Else `info` is the
    /// head's meaning or its fault, and on success the head comes back as the event to
    /// report, built where the caller returns it from: a head is 256 bytes, and every
    /// move of it through a temporary is a `memcpy`.
    fn parse_whole_head(
        _buf: &mut BytesMut,
        _limits: &ScanLimits,
        _config: &Config,
        _info: &mut Option<Result<HeadInfo, ErrorKind>>,
    ) -> Option<Event<Self::Incoming>> {
        None
    }

    #[doc(hidden)]
    /// Wraps an interim (1xx) head as an event. Only the client role receives them.
    fn informational(head: Self::Incoming) -> Event<Self::Incoming>;
}

impl Role for Server {
    type Incoming = RequestHead;
    const IS_SERVER: bool = true;

    #[allow(private_interfaces)]
    fn parse_head(
        head: Bytes,
        fields: usize,
        config: &Config,
        _exchange: Option<&Exchange>,
    ) -> Result<(RequestHead, HeadInfo), ErrorKind> {
        let (request, facts) = parse_request(head, fields, config.accept_unregistered_methods)?;
        let info = request_info(&request.method, request.version, &facts, config)?;
        Ok((request, info))
    }

    #[allow(private_interfaces)]
    fn parse_whole_head(
        buf: &mut BytesMut,
        limits: &ScanLimits,
        config: &Config,
        info: &mut Option<Result<HeadInfo, ErrorKind>>,
    ) -> Option<Event<RequestHead>> {
        let parsed = parse_request_prefix(buf, limits, config.accept_unregistered_methods)?;
        // Split off even when the head is all the buffer holds: the buffer left behind
        // keeps the allocation, which an idle keep-alive connection reads its next head
        // into once this head is dropped (no allocation per request; see
        // `Conn::release_idle_buffers`).
        let head = buf.split_to(parsed.len).freeze();
        parsed.finish(
            head,
            |method, version, facts| request_info(method, version, facts, config),
            info,
        )
    }

    fn informational(head: RequestHead) -> Event<RequestHead> {
        // Requests are never interim; parse_head never classifies one so.
        Event::Head(head)
    }
}

/// What a parsed request means for the connection: framing, persistence, upgrade.
fn request_info(
    method: &Method,
    version: Version,
    facts: &FieldFacts,
    config: &Config,
) -> Result<HeadInfo, ErrorKind> {
    let mut framing = request_framing(facts, version, config.require_host)?;
    let mut keep_alive = facts.keep_alive(version);
    if method_has_no_body(method) {
        // Bytes after a CONNECT head are tunnel data; if the tunnel is refused they
        // must not be read as a request, so the connection closes after the answer.
        framing = BodyFraming::Empty;
        keep_alive = false;
    }
    if let (BodyFraming::Length(n), Some(limit)) = (framing, config.max_body_size) {
        if n > limit {
            return Err(ErrorKind::BodyTooLarge { limit });
        }
    }
    Ok(HeadInfo {
        framing,
        keep_alive,
        kind: HeadKind::Request {
            method: method.clone(),
            version,
            wants_upgrade: facts.wants_upgrade(),
            expect_continue: facts.expect_continue
                && version == Version::HTTP_11
                && framing != BodyFraming::Empty,
        },
    })
}

impl Role for Client {
    type Incoming = ResponseHead;
    const IS_SERVER: bool = false;

    #[allow(private_interfaces)]
    fn parse_head(
        head: Bytes,
        fields: usize,
        config: &Config,
        exchange: Option<&Exchange>,
    ) -> Result<(ResponseHead, HeadInfo), ErrorKind> {
        let exchange = exchange.ok_or(ErrorKind::UnexpectedResponse)?;
        let (response, facts) = parse_response(head, fields)?;
        let status = response.status;
        let framing = response_framing(&facts, status, &exchange.method)?;
        if let (BodyFraming::Length(n), Some(limit)) = (framing, config.max_body_size) {
            if n > limit {
                return Err(ErrorKind::BodyTooLarge { limit });
            }
        }
        let kind = if status == StatusCode::SWITCHING_PROTOCOLS {
            if !exchange.wants_upgrade {
                return Err(ErrorKind::UnexpectedUpgrade);
            }
            HeadKind::Switch
        } else if status.is_informational() {
            HeadKind::Informational { status }
        } else if exchange.method == Method::CONNECT && status.is_success() {
            HeadKind::Switch
        } else {
            HeadKind::Final
        };
        let keep_alive =
            facts.keep_alive(response.version) && framing != BodyFraming::CloseDelimited;
        Ok((
            response,
            HeadInfo {
                framing,
                keep_alive,
                kind,
            },
        ))
    }

    fn informational(head: ResponseHead) -> Event<ResponseHead> {
        Event::Informational(head)
    }
}
