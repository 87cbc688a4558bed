//! The endpoints. Each reads the last published evaluation (an `Arc`
//! load, no lock held while writing the answer); the page is rendered off
//! the async workers, once per evaluation and sources' state, so probes
//! never wait behind it. Every answer carries `X-Content-Type-Options:
//! nosniff`, a `Content-Security-Policy` with `frame-ancestors 'none'`
//! and `Cache-Control: no-store`; a request without `Host` gets 400.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::metrics;
use crate::state::Shared;

const NOT_YET: &str = "no evaluation yet: the first one is still running\n";

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/report") }))
        .route("/metrics", get(metrics_text))
        .route("/report", get(report_page))
        .route("/api/v1/report", get(report_json))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .fallback(|| async {
            with_type(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "not found\n",
            )
        })
        .with_state(shared)
        .layer(middleware::from_fn(harden))
}

/// For answers that set no policy of their own (all but the page).
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The headers of every answer, and 400 for a request without `Host`.
async fn harden(request: Request, next: Next) -> Response {
    let mut response =
        if request.headers().contains_key(header::HOST) || request.uri().authority().is_some() {
            next.run(request).await
        } else {
            with_type(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=utf-8",
                "a request needs a Host header\n",
            )
        };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(DEFAULT_CSP));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn with_type(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut response = (status, body.into()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Every answer is the state of now: never from a cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn metrics_text(State(shared): State<Arc<Shared>>) -> Response {
    with_type(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        metrics::render(&shared),
    )
}

async fn report_json(State(shared): State<Arc<Shared>>) -> Response {
    match shared.current() {
        Some(current) => with_type(StatusCode::OK, "application/json", current.json.clone()),
        None => with_type(
            StatusCode::SERVICE_UNAVAILABLE,
            "application/json",
            serde_json::json!({ "error": NOT_YET.trim_end() }).to_string(),
        ),
    }
}

/// Before the first evaluation: that, and why each failing source fails
/// (an API server down from the start is said, not just "no evaluation").
fn not_yet(shared: &Shared) -> String {
    let mut text = NOT_YET.to_string();
    for source in shared.sources() {
        if let Some(error) = source.last_error.filter(|_| source.stale) {
            text.push_str(&format!("{}: {error}\n", source.name));
        }
    }
    text
}

async fn report_page(State(shared): State<Arc<Shared>>) -> Response {
    let Some(current) = shared.current() else {
        return with_type(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            not_yet(&shared),
        );
    };
    let page = current.cached_page(shared.sources()).await;
    let mut response = with_type(StatusCode::OK, "text/html; charset=utf-8", page);
    if let Ok(policy) = HeaderValue::from_str(&doctor_core::report::html::content_security_policy())
    {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    if shared.current().is_some() {
        // A failing PolicyReport write is told here, but is no reason to
        // take the server out of its Service.
        let mut text = "ready\n".to_string();
        if let Some(error) = shared.policy_report().and_then(|r| r.last_error) {
            text.push_str(&format!("policy report not written: {error}\n"));
        }
        with_type(StatusCode::OK, "text/plain; charset=utf-8", text)
    } else {
        with_type(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            not_yet(&shared),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(shared: Arc<Shared>, path: &str) -> (StatusCode, String) {
        let response = router(shared)
            .oneshot(
                Request::get(path)
                    .header("host", "doctor")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn not_ready_before_the_first_evaluation() {
        let shared = Arc::new(Shared::new(&["kubernetes"]));
        assert_eq!(get(shared.clone(), "/healthz").await.0, StatusCode::OK);
        for path in ["/readyz", "/report", "/api/v1/report"] {
            let (status, _) = get(shared.clone(), path).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        }
        let (status, metrics) = get(shared, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(metrics.contains("eks_cilium_doctor_ready 0"));
    }
}
