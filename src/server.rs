//! The whole HTTP surface in one Route, and serving it with graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::make_sync;
use poem::middleware::SetHeader;
use poem::web::Data;
use poem::{Endpoint, EndpointExt, IntoEndpoint, Route, get, handler};

use crate::api::{self, auth::ApiGate, errors::map_error};
use crate::metrics::RouteClass;
use crate::state::AppState;
use crate::tracking::fast_path::ClicksFirst;

/// Scalar, with its web fonts switched off so `/docs` makes no request outside the instance,
/// and the Bearer key scheme preselected so a developer can paste a key straight away.
fn docs_page(svc: &poem_openapi::OpenApiService<api::Apis, ()>, spec: &str) -> String {
    // The page embeds the spec: the served one, not poem-openapi's untidied one.
    svc.scalar_html().replacen(&svc.spec(), spec, 1).replacen(
        "id=\"api-reference\"",
        "id=\"api-reference\" data-configuration='{\"withDefaultFonts\": false, \"authentication\": {\"preferredSecurityScheme\": \"BrandKey\"}}'",
        1,
    )
}

#[handler]
async fn healthz(state: Data<&AppState>) -> poem::Response {
    crate::health::healthz(&state).await
}

/// The application: API, docs, tracking links, settings pages, assets, health.
pub fn build_app(state: AppState) -> impl Endpoint<Output = poem::Response> {
    app_and_docs(state).0
}

fn app_and_docs(
    state: AppState,
) -> (
    impl Endpoint<Output = poem::Response>,
    Arc<crate::docs::Docs>,
) {
    let svc = api::service();
    let spec = api::spec_json();
    let docs = crate::docs::Docs::new(docs_page(&svc, &spec));
    let warm = docs.clone();
    let api = svc
        .into_endpoint()
        .catch_all_error(map_error)
        .with(ApiGate::new(state.config.rate_limit));
    let routes = Route::new()
        .at(
            "/api/v1/openapi.json",
            make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/json; charset=utf-8")
                    .body(spec.clone())
            }),
        )
        .nest("/api/v1", api)
        .at(
            "/docs",
            get(poem::endpoint::make(move |req| {
                let docs = docs.clone();
                async move { docs.answer(&req).await }
            })),
        )
        .at("/healthz", get(healthz));
    let app = crate::web::mount(routes)
        .with(SetHeader::new().overriding("X-Content-Type-Options", "nosniff"))
        .data(state.clone())
        .map_to_response()
        .boxed();
    let metrics = state.metrics.clone();
    (
        Measured {
            inner: ClicksFirst { state, app },
            metrics,
        },
        warm,
    )
}

/// Counts every answer by route class and status, and times it.
struct Measured<E> {
    inner: E,
    metrics: Arc<crate::metrics::Metrics>,
}

impl<E: Endpoint<Output = poem::Response>> Endpoint for Measured<E> {
    type Output = poem::Response;

    async fn call(&self, req: poem::Request) -> poem::Result<poem::Response> {
        let started = std::time::Instant::now();
        let route = RouteClass::of(req.uri().path());
        let resp = match self.inner.call(req).await {
            Ok(resp) => resp,
            Err(e) => e.into_response(),
        };
        self.metrics.request(route, resp.status().as_u16(), started);
        Ok(resp)
    }
}

/// `/metrics` alone, for the separate metrics address.
fn metrics_app(metrics: Arc<crate::metrics::Metrics>) -> impl Endpoint<Output = poem::Response> {
    Route::new()
        .at(
            "/metrics",
            get(make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
                    .body(metrics.render())
            })),
        )
        .map_to_response()
}

/// Serve until `shutdown` resolves; in-flight requests finish, then queued writes commit.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let flusher = crate::jobs::spawn_key_usage(state.key_usage.clone(), state.pool.clone());
    let holds = crate::jobs::spawn_holds(state.writer.clone());
    let window_file = state
        .config
        .data_dir
        .join(crate::db::files::UNIQUE_WINDOW_FILE);
    let snapshots = crate::jobs::spawn_unique_snapshots(state.unique.clone(), window_file.clone());
    let retention = state
        .config
        .retain_clicks_days
        .map(|days| crate::jobs::spawn_retention(days, state.writer.clone(), state.pool.clone()));
    let (app, docs) = app_and_docs(state.clone());
    // Compress /docs now, in the background, rather than for its first visitor.
    tokio::spawn(async move {
        docs.warm().await;
        // The encoders' working memory (tens of MB) is free now; without a trim glibc keeps it
        // resident for good.
        let _ = tokio::task::spawn_blocking(crate::allocator::trim).await;
    });
    let limits = crate::connections::Limits {
        client_timeout: state.config.client_timeout,
        max_connections: state.config.max_connections.unwrap_or_else(|| {
            crate::connections::default_max_connections(crate::connections::raise_fd_limit())
        }),
        shutdown_grace: Duration::from_secs(30),
    };
    let metrics = match state.config.metrics_addr {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for metrics: {e}"))?;
            let app = metrics_app(state.metrics.clone());
            let limits = crate::connections::Limits {
                max_connections: 64,
                ..limits
            };
            Some(tokio::spawn(crate::connections::serve(
                listener,
                app,
                limits,
                std::future::pending(),
            )))
        }
        None => None,
    };
    crate::connections::serve(listener, app, limits, shutdown).await?;
    if let Some(task) = metrics {
        task.abort();
    }
    flusher.abort();
    holds.abort();
    snapshots.abort();
    if let Some(r) = retention {
        r.abort();
    }
    let writer = state.writer.clone();
    let (usage, pool) = (state.key_usage.clone(), state.pool.clone());
    let unique = state.unique.clone();
    tokio::task::spawn_blocking(move || {
        writer.shutdown();
        usage.flush(&pool);
        // Everything the window holds is committed now: the next start replays nothing.
        if let Err(e) = unique.save(&window_file, crate::domain::time::now()) {
            tracing::warn!(error = %e, "saving the unique-click window failed");
        }
    })
    .await?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when
/// the future is first polled: a signal that arrives right after start-up still stops the
/// server gracefully instead of killing it.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (term, int) = signals;
            tokio::select! {
                _ = on(term) => {},
                _ = on(int) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}

#[cfg(unix)]
async fn on(signal: Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(mut s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// `trcker serve`: open the store, bind, say where everything is, serve until a signal.
pub async fn run(config: crate::Config) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    let addr = config.addr;
    let state = tokio::task::spawn_blocking(move || AppState::open(config)).await??;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let shutdown = shutdown_signal();
    let admins = state
        .db(|c| crate::store::admins::count(c))
        .await
        .map_err(|e| anyhow::anyhow!("cannot read admins: {e}"))?;
    println!(
        "trcker listening on http://{local} | data: {} | docs: http://{local}/docs",
        data_dir.join(crate::db::DB_FILE).display()
    );
    if let Some(addr) = state.config.metrics_addr {
        println!("metrics: http://{addr}/metrics");
    }
    if admins == 0 {
        // Printed, never logged: whoever can read this output may create the admin account.
        println!(
            "first run: open http://{local}/setup and enter this setup token: {}\n\
             (or create the admin headless: trcker admin create --email YOU@EXAMPLE.COM)",
            state.setup_token
        );
    }
    serve(state, listener, shutdown).await
}
