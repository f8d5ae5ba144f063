//! Building HTTP answers: JSON envelopes (PHP-style), error envelopes, HTML error pages, and
//! the broken answers of fault injection.

use std::io;

use bytes::Bytes;
use futures::stream;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use serde_json::Value;

use crate::json_out::to_php_json;
use crate::portal::{Api, MethodError};

/// The body type of every answer.
pub(crate) type Body = BoxBody<Bytes, io::Error>;

/// A complete body.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

fn with_type(status: u16, content_type: &'static str, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A JSON answer, PHP-style.
pub(crate) fn json(status: u16, value: &Value) -> Response<Body> {
    json_bytes(status, to_php_json(value))
}

/// A JSON answer from bytes already written.
pub(crate) fn json_bytes(status: u16, bytes: Vec<u8>) -> Response<Body> {
    with_type(status, "application/json; charset=utf-8", full(bytes))
}

/// An XML answer (`.xml` paths).
pub(crate) fn xml(status: u16, bytes: Vec<u8>) -> Response<Body> {
    with_type(status, "text/xml; charset=utf-8", full(bytes))
}

/// A portal error in the envelope of `api`.
pub(crate) fn error(api: Api, e: &MethodError) -> Response<Body> {
    let body = match api {
        Api::V3 if !e.oauth_layer => e.v3_body(),
        _ => e.v2_body(),
    };
    json(e.status, &body)
}

/// An HTML error page, as a proxy in front of the portal sends.
pub(crate) fn html(status: u16) -> Response<Body> {
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    let page = format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    with_type(status, "text/html", full(page))
}

/// A plain-text answer (for routes outside the REST API).
pub(crate) fn text(status: u16, text: &'static str) -> Response<Body> {
    with_type(status, "text/plain; charset=utf-8", full(text))
}

/// Half of `bytes`, announced with the full length, then a broken stream: the client sees a
/// truncated body and a closed connection.
pub(crate) fn truncated(status: u16, bytes: Vec<u8>) -> Response<Body> {
    let full_len = bytes.len();
    let half = Bytes::from(bytes).slice(..full_len / 2);
    let frames: Vec<Result<Frame<Bytes>, io::Error>> = vec![
        Ok(Frame::data(half)),
        Err(io::Error::new(io::ErrorKind::ConnectionAborted, "truncated by fault injection")),
    ];
    let body = StreamBody::new(stream::iter(frames)).boxed();
    let mut response = with_type(status, "application/json; charset=utf-8", body);
    if let Ok(len) = HeaderValue::from_str(&full_len.to_string()) {
        response.headers_mut().insert(header::CONTENT_LENGTH, len);
    }
    response
}

/// Bytes that are not valid JSON although they start like an envelope.
pub(crate) fn invalid_json() -> Response<Body> {
    json_bytes(200, b"{\"result\":[{\"ID\":\"1\",\"TITLE\":\"broken".to_vec())
}
