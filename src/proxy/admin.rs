//! Admin listener: `/metrics` (Prometheus text), `/healthz` (the process
//! answers), `/readyz` (rules loaded, upstream reachable, not draining).
//! Plain HTTP/1.1: bind it to a private interface.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use http::{header, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::proxy::problem::full;
use crate::proxy::server::Shared;
use crate::proxy::upstream::UpBody;

/// Serves the admin endpoints until shutdown.
/// It keeps answering while draining (readyz = 503); the server task aborts it at the end.
pub async fn serve(sh: Arc<Shared>, tcp: TcpListener) {
    loop {
        let Ok((stream, _)) = tcp.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let sh = sh.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let sh = sh.clone();
                async move { Ok::<_, std::convert::Infallible>(route(&sh, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(5))
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn text(status: StatusCode, ct: &'static str, body: impl Into<bytes::Bytes>) -> Response<UpBody> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(ct));
    r
}

async fn route(sh: &Shared, req: Request<Incoming>) -> Response<UpBody> {
    match req.uri().path() {
        "/metrics" => text(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            sh.metrics.render(),
        ),
        "/healthz" => text(StatusCode::OK, "text/plain", "ok\n"),
        "/readyz" => {
            if sh.draining.load(Ordering::Relaxed) {
                return text(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "draining\n");
            }
            if !sh.upstream.reachable().await {
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    "upstream unreachable\n",
                );
            }
            let v = sh.engine.load().version().to_string();
            text(StatusCode::OK, "text/plain", format!("ready rules={v}\n"))
        }
        _ => text(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    }
}
