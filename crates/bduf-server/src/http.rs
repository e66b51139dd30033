//! The HTTP surface: `/graphql` (GraphiQL on GET, queries on POST), `/healthz`, `/readyz`
//! and `/metrics`, with request logging and metrics around every route.

use std::time::Instant;

use anyhow::{Context, Result};
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use bduf_core::{Db, RequestContext};
use bduf_graphql::{BdufSchema, Limits};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sea_orm::ConnectionTrait;
use tower_http::trace::TraceLayer;

/// What every handler shares.
#[derive(Clone)]
struct App {
    schema: BdufSchema,
    db: Db,
    metrics: PrometheusHandle,
    graphiql: bool,
}

/// The server's routes over `db`.
pub fn router(db: Db, limits: Limits) -> Result<Router> {
    let recorder = PrometheusBuilder::new()
        .set_buckets(&[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ])
        .context("configuring metrics")?
        .build_recorder();
    let metrics = recorder.handle();
    metrics::set_global_recorder(recorder).context("installing the metrics recorder")?;
    let app = App {
        schema: bduf_graphql::schema(limits),
        db,
        metrics,
        graphiql: limits.introspection,
    };
    Ok(Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .layer(middleware::from_fn(measure))
        .layer(TraceLayer::new_for_http())
        .with_state(app))
}

async fn graphql(State(app): State<App>, request: GraphQLRequest) -> GraphQLResponse {
    bduf_graphql::execute(
        &app.schema,
        request.into_inner(),
        &app.db,
        RequestContext::default(),
    )
    .await
    .into()
}

async fn graphiql(State(app): State<App>) -> Response {
    if app.graphiql {
        Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response()
    } else {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "send GraphQL queries with POST",
        )
            .into_response()
    }
}

/// Ready when the database answers.
async fn readyz(State(app): State<App>) -> Response {
    match app.db.conn().execute_unprepared("SELECT 1").await {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn metrics_text(State(app): State<App>) -> String {
    metrics::counter!("bduf_sql_statements_total").absolute(app.db.statements());
    metrics::counter!("bduf_sql_statements_failed_total").absolute(app.db.failed_statements());
    app.metrics.render()
}

/// Counts and times every request by route and status.
async fn measure(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("bduf_http_requests_total", &labels).increment(1);
    metrics::histogram!("bduf_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
