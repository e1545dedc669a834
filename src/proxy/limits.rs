//! Request-smuggling and size checks done on the request head, before
//! anything is sent upstream. hyper already rejects malformed framing
//! (invalid or conflicting Content-Length, bad chunked encoding) with 400 and
//! oversized heads with 431; these checks cover what it lets through.

use http::{header, HeaderMap, StatusCode};

use crate::proxy::problem::Problem;

/// Refuses ambiguous message framing: Content-Length together with
/// Transfer-Encoding, repeated Content-Length, or a non-numeric one.
pub fn check_framing(h: &HeaderMap) -> Result<(), Problem> {
    let bad = |detail: &str| {
        Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "ambiguous_framing",
            "Ambiguous message framing",
            detail,
        ))
    };
    let cl: Vec<_> = h.get_all(header::CONTENT_LENGTH).iter().collect();
    if !cl.is_empty() && h.contains_key(header::TRANSFER_ENCODING) {
        return bad("both Content-Length and Transfer-Encoding are present");
    }
    if cl.len() > 1 {
        return bad("more than one Content-Length header");
    }
    if let Some(v) = cl.first() {
        let ok = v
            .to_str()
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u64>().ok())
            .is_some();
        if !ok {
            return bad("invalid Content-Length");
        }
    }
    Ok(())
}

/// Refuses CONNECT (tunnels would bypass inspection) and TRACE (it would
/// reflect request headers, including credentials, back to the client).
pub fn check_method(m: &http::Method) -> Result<(), Problem> {
    if m == http::Method::CONNECT || m == http::Method::TRACE {
        return Err(Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
            "CONNECT and TRACE are not proxied",
        ));
    }
    Ok(())
}

/// 413 when a declared Content-Length is over `limit` (0 = unlimited).
pub fn check_declared_length(h: &HeaderMap, limit: u64) -> Result<(), Problem> {
    if limit == 0 {
        return Ok(());
    }
    let declared = h
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit => Err(too_large(limit)),
        _ => Ok(()),
    }
}

/// The 413 problem.
pub fn too_large(limit: u64) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "Request body too large",
        format!("the body exceeds the {limit}-byte limit for this route"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn cl_and_te_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        assert!(check_framing(&h).is_ok());
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        assert_eq!(check_framing(&h).unwrap_err().status, 400);
        let mut h = HeaderMap::new();
        h.append(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        h.append(header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        assert!(check_framing(&h).is_err());
        assert_eq!(
            check_declared_length(
                &HeaderMap::from_iter([(header::CONTENT_LENGTH, HeaderValue::from_static("10"))]),
                5
            )
            .unwrap_err()
            .status,
            413
        );
    }
}
