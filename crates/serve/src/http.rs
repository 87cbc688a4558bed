//! The endpoints. Each reads the last published evaluation (an `Arc`
//! load, no lock held while writing the answer).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::metrics;
use crate::state::{Shared, SourceStatus};

const NOT_YET: &str = "no evaluation yet: the first one is still running\n";

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/report") }))
        .route("/metrics", get(metrics_text))
        .route("/report", get(report_page))
        .route("/api/v1/report", get(report_json))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(shared)
}

fn with_type(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut response = (status, body).into_response();
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

async fn report_page(State(shared): State<Arc<Shared>>) -> Response {
    let Some(current) = shared.current() else {
        return with_type(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            NOT_YET.into(),
        );
    };
    with_type(
        StatusCode::OK,
        "text/html; charset=utf-8",
        with_stale_notice(&current.html, &shared.sources()),
    )
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    if shared.current().is_some() {
        with_type(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "ready\n".into(),
        )
    } else {
        with_type(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            NOT_YET.into(),
        )
    }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page with a notice, first in its body, naming each stale source:
/// the findings shown are from its last good read.
fn with_stale_notice(html: &str, sources: &[SourceStatus]) -> String {
    let stale: Vec<String> = sources
        .iter()
        .filter(|s| s.stale)
        .map(|s| {
            format!(
                "<li><strong>{}</strong> is stale (last read {}): {}</li>",
                escape_html(&s.name),
                escape_html(s.last_success.as_deref().unwrap_or("never")),
                escape_html(s.last_error.as_deref().unwrap_or("unknown error")),
            )
        })
        .collect();
    if stale.is_empty() {
        return html.to_string();
    }
    let notice = format!(
        "<div class=\"stale-sources\" role=\"alert\" style=\"border:2px solid #b45309;\
         background:#fffbeb;padding:0.5em 1em;margin:0.5em\">Showing the last good \
         evaluation; data sources could not be read:<ul>{}</ul></div>",
        stale.concat()
    );
    let at = html
        .find("<body")
        .and_then(|b| html[b..].find('>').map(|e| b + e + 1))
        .unwrap_or(0);
    format!("{}{notice}{}", &html[..at], &html[at..])
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
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
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

    #[test]
    fn stale_sources_are_named_escaped_at_the_top_of_the_body() {
        let sources = vec![SourceStatus {
            name: "kubernetes".into(),
            stale: true,
            last_success: Some("2026-11-26T05:01:51Z".into()),
            last_success_unix: Some(0),
            last_error: Some("<script>x</script>".into()),
            errors: 1,
        }];
        let page = with_stale_notice("<html><body class=\"x\"><h1>r</h1></body></html>", &sources);
        assert!(
            page.starts_with("<html><body class=\"x\"><div class=\"stale-sources\""),
            "{page}"
        );
        assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(!page.contains("<script>"));
        let fresh = SourceStatus {
            stale: false,
            ..sources[0].clone()
        };
        assert_eq!(
            with_stale_notice("<body>x</body>", &[fresh]),
            "<body>x</body>"
        );
    }
}
