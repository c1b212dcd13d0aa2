//! The admin listener: `/health` and `/metrics` (Prometheus text format).

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use tokio::sync::Notify;

pub struct Api {
    stop: Arc<Notify>,
}

impl Api {
    /// Binds now (so a taken port is a start-up error) and serves in the background.
    pub async fn start(address: SocketAddr, metrics: PrometheusHandle) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address} for the API (`api.address`)"))?;
        let address = listener.local_addr()?;
        let router = Router::new()
            .route(
                "/health",
                get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{\"ok\":true}") }),
            )
            .route(
                "/metrics",
                get(move || {
                    let metrics = metrics.clone();
                    async move {
                        (
                            StatusCode::OK,
                            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                            metrics.render(),
                        )
                            .into_response()
                    }
                }),
            );
        let stop = Arc::new(Notify::new());
        let notified = Arc::clone(&stop);
        tokio::spawn(async move {
            let serve = axum::serve(listener, router)
                .with_graceful_shutdown(async move { notified.notified().await });
            if let Err(error) = serve.await {
                tracing::error!("the API listener failed: {error}");
            }
        });
        tracing::info!(%address, "API listening: /health and /metrics");
        Ok(Self { stop })
    }

    pub fn stop(&self) {
        // `notify_one` keeps a permit if the server is not waiting yet.
        self.stop.notify_one();
    }
}
