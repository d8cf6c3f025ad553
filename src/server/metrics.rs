//! `GET /metrics` in the Prometheus text format, served only with
//! `serve --metrics`: requests by route and status, their latency, tokens
//! issued and refused, lockouts, and the database pool in use. Labels are
//! route templates (`/api/v1/connections/{code}`), methods, statuses and
//! fixed outcome names: never a code, a user name or a secret.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// The server's metrics, kept from start to stop.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    tokens: Family<OutcomeLabels, Counter>,
    lockouts: Family<KindLabels, Counter>,
    pool_in_use: Gauge,
    pool_size: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("switchboard");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 100 µs to about 3.3 s.
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            latency.clone(),
        );
        let tokens = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "oauth_tokens",
            "Token requests: issued, or refused",
            tokens.clone(),
        );
        let lockouts = Family::<KindLabels, Counter>::default();
        registry.register(
            "lockouts",
            "Requests refused because of a lockout: login (a username or an address) or client (a connection's token requests)",
            lockouts.clone(),
        );
        let pool_in_use = Gauge::default();
        registry.register(
            "db_pool_in_use",
            "Database connections of the pool in use now",
            pool_in_use.clone(),
        );
        let pool_size = Gauge::default();
        registry.register(
            "db_pool_size",
            "Database connections the pool holds now",
            pool_size.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            tokens,
            lockouts,
            pool_in_use,
            pool_size,
        }
    }

    /// Counts one answered request.
    fn observe(&self, method: &Method, route: &str, status: StatusCode, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.as_str().to_string(),
                route: route.to_string(),
                status: status.as_u16(),
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(seconds);
        let token_route = route == crate::TOKEN_PATH && method == Method::POST;
        if token_route {
            let outcome = if status.is_success() {
                "issued"
            } else {
                "refused"
            };
            self.tokens.get_or_create(&OutcomeLabels { outcome }).inc();
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let kind = if token_route || route == crate::REVOKE_PATH {
                Some("client")
            } else if route == "/api/v1/session" {
                Some("login")
            } else {
                None
            };
            if let Some(kind) = kind {
                self.lockouts.get_or_create(&KindLabels { kind }).inc();
            }
        }
    }

    /// The text a scrape gets, with the pool's figures of now.
    fn render(&self, service: &AppState) -> String {
        let (size, idle) = service.store().pool_counts();
        self.pool_size.set(i64::from(size));
        self.pool_in_use.set(i64::from(size.saturating_sub(idle)));
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Counts every request the router answers (the route as its template;
/// "unmatched" for no route).
pub async fn count(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe(
        &method,
        &route,
        response.status(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub async fn serve_metrics(State((metrics, service)): State<(Arc<Metrics>, AppState)>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(&service),
    )
        .into_response()
}
