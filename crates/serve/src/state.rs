//! What the server shows: the last good evaluation (swapped atomically, so
//! requests never wait for an evaluation) and each data source's status.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use axum::body::Bytes;
use doctor_core::findings::Report;
use doctor_core::overview::{self, Overview};
use doctor_core::report::{html, render, Format, RenderOptions};

/// One evaluation, with the JSON rendered once; the page also shows the
/// sources' status, so it is rendered again (once) when that changes.
#[derive(Debug)]
pub struct Published {
    pub report: Report,
    pub overview: Overview,
    pub json: Bytes,
    /// The last page rendered, and the sources it shows.
    page: tokio::sync::Mutex<Option<(Vec<overview::SourceStatus>, Bytes)>>,
    pub evaluated_at: SystemTime,
    /// Loading plus rules.
    pub duration: Duration,
}

impl Published {
    pub fn new(
        report: Report,
        overview: Overview,
        evaluated_at: SystemTime,
        duration: Duration,
    ) -> Published {
        Published {
            json: Bytes::from(render(&report, Format::Json, &RenderOptions::default())),
            page: tokio::sync::Mutex::new(None),
            report,
            overview,
            evaluated_at,
            duration,
        }
    }

    /// The report page, with `sources` as they are now.
    pub fn page(&self, sources: &[SourceStatus]) -> String {
        self.page_of(shown(sources))
    }

    fn page_of(&self, sources: Vec<overview::SourceStatus>) -> String {
        let mut overview = self.overview.clone();
        overview.sources = sources;
        html::page(&self.report, &overview)
    }

    /// [`Published::page`], rendered on a blocking thread only when the
    /// sources shown changed since the last one; requests meanwhile wait
    /// for that one rendering (asynchronously) instead of each doing it.
    pub async fn cached_page(self: &Arc<Self>, sources: Vec<SourceStatus>) -> Bytes {
        let shown = shown(&sources);
        let mut cache = self.page.lock().await;
        if let Some((key, page)) = &*cache {
            if *key == shown {
                return page.clone();
            }
        }
        let me = self.clone();
        let key = shown.clone();
        let page = tokio::task::spawn_blocking(move || Bytes::from(me.page_of(key)))
            .await
            .unwrap_or_else(|_| Bytes::from_static(b"rendering the page failed\n"));
        *cache = Some((shown, page.clone()));
        page
    }
}

/// What the page shows of the sources.
fn shown(sources: &[SourceStatus]) -> Vec<overview::SourceStatus> {
    sources
        .iter()
        .map(|s| overview::SourceStatus {
            name: s.name.clone(),
            stale: s.stale,
            last_success: s.last_success.clone(),
            error: s.last_error.clone(),
        })
        .collect()
}

/// A data source (`files`, `kubernetes`, `aws`) as the page and the
/// metrics show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatus {
    pub name: String,
    /// The last read failed: what is shown comes from an earlier one.
    pub stale: bool,
    /// RFC 3339, UTC.
    pub last_success: Option<String>,
    pub last_success_unix: Option<u64>,
    pub last_error: Option<String>,
    /// Failed reads since start.
    pub errors: u64,
}

impl SourceStatus {
    fn new(name: &str) -> SourceStatus {
        SourceStatus {
            name: name.to_string(),
            stale: false,
            last_success: None,
            last_success_unix: None,
            last_error: None,
            errors: 0,
        }
    }
}

/// `serve --policy-report`: how the writes of the reports go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyReportStatus {
    /// Reports created or patched since start.
    pub writes: u64,
    /// Syncs that failed since start.
    pub errors: u64,
    /// The last sync failed: why (the call and what to grant or install).
    pub last_error: Option<String>,
    /// When the cluster last held the reports of an evaluation (Unix time).
    pub last_success_unix: Option<u64>,
}

#[derive(Debug)]
pub struct Shared {
    current: ArcSwapOption<Published>,
    sources: Mutex<Vec<SourceStatus>>,
    evaluations: AtomicU64,
    evaluation_errors: AtomicU64,
    /// `None` unless `--policy-report`.
    policy_report: Mutex<Option<PolicyReportStatus>>,
}

impl Shared {
    pub fn new(sources: &[&str]) -> Shared {
        Shared {
            current: ArcSwapOption::empty(),
            sources: Mutex::new(sources.iter().map(|s| SourceStatus::new(s)).collect()),
            evaluations: AtomicU64::new(0),
            evaluation_errors: AtomicU64::new(0),
            policy_report: Mutex::new(None),
        }
    }

    fn report_status(&self) -> std::sync::MutexGuard<'_, Option<PolicyReportStatus>> {
        self.policy_report.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `--policy-report` is on.
    pub fn policy_report_enabled(&self) {
        self.report_status().get_or_insert_with(Default::default);
    }

    /// The policy reports' status; `None` when they are not written.
    pub fn policy_report(&self) -> Option<PolicyReportStatus> {
        self.report_status().clone()
    }

    /// The cluster holds the reports of the last evaluation (`writes` made now).
    pub fn policy_report_ok(&self, writes: u64, at: SystemTime) {
        if let Some(status) = &mut *self.report_status() {
            if status.last_error.take().is_some() {
                eprintln!("policy report: written again");
            }
            status.writes += writes;
            status.last_success_unix = at
                .duration_since(SystemTime::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs());
        }
    }

    /// A write of the reports failed; told once per distinct error.
    pub fn policy_report_failed(&self, error: &str) {
        if let Some(status) = &mut *self.report_status() {
            if status.last_error.as_deref() != Some(error) {
                eprintln!("policy report not written: {error} (serve goes on)");
            }
            status.errors += 1;
            status.last_error = Some(error.to_string());
        }
    }

    /// The last good evaluation; `None` before the first.
    pub fn current(&self) -> Option<Arc<Published>> {
        self.current.load_full()
    }

    pub fn publish(&self, published: Published) {
        self.current.store(Some(Arc::new(published)));
        self.evaluations.fetch_add(1, Ordering::Relaxed);
    }

    pub fn evaluations(&self) -> u64 {
        self.evaluations.load(Ordering::Relaxed)
    }

    pub fn evaluation_failed(&self, why: &str) {
        self.evaluation_errors.fetch_add(1, Ordering::Relaxed);
        eprintln!("evaluation failed (the last good one is still served): {why}");
    }

    pub fn evaluation_errors(&self) -> u64 {
        self.evaluation_errors.load(Ordering::Relaxed)
    }

    pub fn sources(&self) -> Vec<SourceStatus> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SourceStatus>> {
        self.sources.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_source(&self, name: &str, change: impl FnOnce(&mut SourceStatus)) {
        if let Some(source) = self.lock().iter_mut().find(|s| s.name == name) {
            change(source);
        }
    }

    /// A read of `name` succeeded at `at`.
    pub fn source_ok(&self, name: &str, at: SystemTime) {
        self.with_source(name, |s| {
            if s.stale {
                eprintln!("{name}: reachable again");
            }
            s.stale = false;
            s.last_success = Some(doctor_live::snapshot::rfc3339(at));
            s.last_success_unix = at
                .duration_since(SystemTime::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_secs());
        });
    }

    /// A read of `name` failed: it is stale until the next success.
    pub fn source_failed(&self, name: &str, error: &str) {
        self.with_source(name, |s| {
            if !s.stale || s.last_error.as_deref() != Some(error) {
                eprintln!("{name}: {error} (serving the last good evaluation)");
            }
            s.stale = true;
            s.errors += 1;
            s.last_error = Some(error.to_string());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Pipeline;
    use doctor_core::knowledge::Knowledge;
    use doctor_core::load::{load_paths, LoadOptions};

    fn demo() -> Arc<Published> {
        let pipeline = Pipeline {
            knowledge: Knowledge::embedded().clone(),
            suppressions: Default::default(),
            load: LoadOptions::default(),
            check: Default::default(),
        };
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo");
        let loaded = load_paths(&[dir], &pipeline.load).unwrap();
        let (report, overview) = pipeline.evaluate(loaded);
        Arc::new(Published::new(
            report,
            overview,
            SystemTime::now(),
            Duration::ZERO,
        ))
    }

    /// Issue 18: the page was rendered anew for every request.
    #[tokio::test]
    async fn the_page_is_rendered_once_per_sources_state() {
        let published = demo();
        let shared = Shared::new(&["kubernetes"]);
        let first = published.cached_page(shared.sources()).await;
        let again = published.cached_page(shared.sources()).await;
        assert_eq!(
            first.as_ptr(),
            again.as_ptr(),
            "the same bytes, not a new page"
        );
        assert!(!String::from_utf8_lossy(&first).contains("Stale data."));
        shared.source_failed("kubernetes", "get /version: no answer");
        let stale = published.cached_page(shared.sources()).await;
        assert_ne!(stale.as_ptr(), first.as_ptr());
        assert!(String::from_utf8_lossy(&stale).contains("Stale data."));
    }
}
