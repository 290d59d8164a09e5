//! What the server counts for Prometheus: requests by route class and status with their
//! latency, commits of clicks and conversions, the writer's batches and queue, and the size of
//! the database and its WAL.
//!
//! Served at `/metrics` on `--metrics-addr` only, never on the public address: traffic figures
//! are a brand's business data, and a scraper carries no key. Off unless that flag is given.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Which part of the surface a request went to (a bounded label: never the raw path).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum RouteClass {
    Click,
    Api,
    Docs,
    Web,
    Assets,
    Health,
    Other,
}

impl RouteClass {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteClass::Click => "click",
            RouteClass::Api => "api",
            RouteClass::Docs => "docs",
            RouteClass::Web => "web",
            RouteClass::Assets => "assets",
            RouteClass::Health => "health",
            RouteClass::Other => "other",
        }
    }

    pub fn of(path: &str) -> RouteClass {
        if path.starts_with("/c/") {
            RouteClass::Click
        } else if path.starts_with("/api/") {
            RouteClass::Api
        } else if path == "/docs" || path.starts_with("/docs/") {
            RouteClass::Docs
        } else if path.starts_with("/assets/") {
            RouteClass::Assets
        } else if path == "/healthz" {
            RouteClass::Health
        } else if path == "/"
            || ["/settings", "/login", "/logout", "/setup"]
                .iter()
                .any(|p| {
                    // The page itself or below it (no allocation: this runs per request).
                    path.strip_prefix(p)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                })
        {
            RouteClass::Web
        } else {
            RouteClass::Other
        }
    }
}

impl EncodeLabelValue for RouteClass {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        encoder.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: RouteClass,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: RouteClass,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    clicks: Counter,
    conversions: Counter,
    batches: Histogram,
    commit_seconds: Histogram,
    queue_depth: Gauge,
    db_bytes: Gauge,
    wal_bytes: Gauge,
    /// The database file, whose size (and its WAL's) is read at each scrape.
    db_path: Option<PathBuf>,
}

impl Metrics {
    pub fn new(db_path: Option<PathBuf>) -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("trcker");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route class and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.1 ms .. ~3.3 s
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's headers to its answer, by route class",
            latency.clone(),
        );
        let clicks = Counter::default();
        registry.register(
            "clicks_committed",
            "Clicks written to the database",
            clicks.clone(),
        );
        let conversions = Counter::default();
        registry.register(
            "conversion_writes_committed",
            "Conversions and conversion status changes written to the database",
            conversions.clone(),
        );
        let batches = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        registry.register(
            "writer_batch_size",
            "Writes committed together in one transaction by the writer",
            batches.clone(),
        );
        let commit_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 14));
        registry.register(
            "writer_commit_duration_seconds",
            "Time the writer took to write and commit one batch",
            commit_seconds.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "writer_queue_depth",
            "Writes waiting for the writer",
            queue_depth.clone(),
        );
        let db_bytes = Gauge::default();
        registry.register("database_bytes", "Size of trcker.db", db_bytes.clone());
        let wal_bytes = Gauge::default();
        registry.register(
            "database_wal_bytes",
            "Size of trcker.db-wal",
            wal_bytes.clone(),
        );
        Arc::new(Metrics {
            registry,
            requests,
            latency,
            clicks,
            conversions,
            batches,
            commit_seconds,
            queue_depth,
            db_bytes,
            wal_bytes,
            db_path,
        })
    }

    pub fn request(&self, route: RouteClass, status: u16, started: Instant) {
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(started.elapsed().as_secs_f64());
    }

    /// Clicks committed since start.
    pub fn clicks_committed(&self) -> u64 {
        self.clicks.get()
    }

    /// One committed batch of the writer: how many clicks and conversion writes it held.
    pub fn batch(&self, clicks: u64, conversions: u64, started: Instant) {
        self.clicks.inc_by(clicks);
        self.conversions.inc_by(conversions);
        self.batches.observe((clicks + conversions) as f64);
        self.commit_seconds.observe(started.elapsed().as_secs_f64());
    }

    pub fn set_queue_depth(&self, depth: usize) {
        self.queue_depth.set(depth as i64);
    }

    /// The text exposition (OpenMetrics, which Prometheus reads natively).
    pub fn render(&self) -> String {
        if let Some(db) = &self.db_path {
            let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            self.db_bytes.set(size(db) as i64);
            let mut wal = db.clone().into_os_string();
            wal.push("-wal");
            self.wal_bytes.set(size(std::path::Path::new(&wal)) as i64);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fall_into_bounded_classes() {
        assert_eq!(RouteClass::of("/c/1/2"), RouteClass::Click);
        assert_eq!(RouteClass::of("/api/v1/offers"), RouteClass::Api);
        assert_eq!(RouteClass::of("/docs"), RouteClass::Docs);
        assert_eq!(RouteClass::of("/settings/api-keys"), RouteClass::Web);
        assert_eq!(RouteClass::of("/login"), RouteClass::Web);
        assert_eq!(RouteClass::of("/loginx"), RouteClass::Other);
        assert_eq!(RouteClass::of("/healthz"), RouteClass::Health);
        assert_eq!(RouteClass::of("/wp-admin.php"), RouteClass::Other);
    }

    #[test]
    fn the_exposition_names_every_family() {
        let m = Metrics::new(None);
        m.request(RouteClass::Click, 302, Instant::now());
        m.batch(12, 1, Instant::now());
        let text = m.render();
        for name in [
            "trcker_http_requests_total{route=\"click\",status=\"302\"} 1",
            "trcker_http_request_duration_seconds_bucket",
            "trcker_clicks_committed_total 12",
            "trcker_conversion_writes_committed_total 1",
            "trcker_writer_batch_size_count 1",
            "trcker_writer_queue_depth",
            "trcker_database_wal_bytes",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }
}
