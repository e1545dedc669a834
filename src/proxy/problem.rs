//! RFC 9457 `application/problem+json` responses. Every field is built
//! from reason codes and fixed texts: a problem body never echoes request
//! data, so it can never leak personal data.

use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body_util::{BodyExt, Full};

use crate::proxy::body::BoxError;
use crate::proxy::upstream::UpBody;

/// A refusal.
#[derive(Debug, Clone)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable reason code (also the last segment of `type`).
    pub reason: &'static str,
    /// Short fixed title.
    pub title: &'static str,
    /// PII-free detail.
    pub detail: String,
}

impl Problem {
    /// A new problem.
    pub fn new(
        status: StatusCode,
        reason: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Problem {
        Problem {
            status,
            reason,
            title,
            detail: detail.into(),
        }
    }

    /// The response, tagged with the request id.
    pub fn into_response(self, request_id: &str) -> Response<UpBody> {
        let body = serde_json::json!({
            "type": format!("urn:deskguard:problem:{}", self.reason),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
            "reason": self.reason,
            "request_id": request_id,
        });
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut resp = Response::new(full(bytes));
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        h.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        if let Ok(v) = header::HeaderValue::from_str(request_id) {
            h.insert(crate::proxy::headers::X_REQUEST_ID, v);
        }
        resp
    }
}

/// A complete in-memory body as the proxy's body type.
pub fn full(bytes: impl Into<Bytes>) -> UpBody {
    Full::new(bytes.into())
        .map_err(|never| -> BoxError { match never {} })
        .boxed_unsync()
}
