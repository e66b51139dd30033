//! The HTTP surface: `/graphql` (GraphiQL on GET, queries on POST), `/healthz`, `/readyz`
//! and `/metrics`, with request logging and metrics around every route.
//!
//! A query on `/graphql` passes, in order: admission (at most `in_flight` run at once, a
//! queue as long as its expected wait fits the budget, the rest `503` with `Retry-After`;
//! `admission.rs`), the body limit (`413`, after the rest of the body is read and dropped
//! so the client reads it), JSON parsing
//! (`400`), and the request timeout (a `TIMEOUT` error). What it asks is bounded by the
//! schema's depth and cost limits (`QUERY_TOO_DEEP`, `QUERY_TOO_COSTLY`), and each of its
//! statements by PostgreSQL's `statement_timeout`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use async_graphql::http::GraphiQLSource;
use axum::Router;
use axum::body::{Body, BodyDataStream};
use futures_util::StreamExt as _;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use bduf_core::{Db, RequestContext};
use bduf_graphql::{BdufSchema, Limits};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sea_orm::ConnectionTrait;
use serde_json::json;
use tower_http::trace::TraceLayer;

use crate::admission::{Gate, Refused, Settings as Admission};

/// Everything the HTTP surface is configured with.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub limits: Limits,
    pub admission: Admission,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// The longest a query may run.
    pub request_timeout: Duration,
}

/// What every handler shares.
#[derive(Clone)]
struct App {
    schema: BdufSchema,
    db: Db,
    gate: Gate,
    settings: Settings,
    metrics: PrometheusHandle,
}

/// The server's routes over `db`.
pub fn router(db: Db, settings: Settings) -> Result<Router> {
    let recorder = PrometheusBuilder::new()
        .set_buckets(&[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ])
        .context("configuring metrics")?
        .build_recorder();
    let metrics = recorder.handle();
    metrics::set_global_recorder(recorder).context("installing the metrics recorder")?;
    let app = App {
        schema: bduf_graphql::schema(settings.limits),
        db,
        gate: Gate::new(settings.admission),
        settings,
        metrics,
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

/// A GraphQL-shaped error response: `{"data": null, "errors": [{message, extensions}]}`.
fn error_response(status: StatusCode, message: &str, extensions: serde_json::Value) -> Response {
    let body = json!({
        "data": null,
        "errors": [{ "message": message, "extensions": extensions }],
    });
    (status, axum::Json(body)).into_response()
}

/// How much of a body over the limit is read on and dropped before the refusal, and for
/// how long at most.
const DRAIN_BYTES: usize = 16 << 20;
const DRAIN_FOR: Duration = Duration::from_secs(2);

/// The request body, if it is at most `max` bytes long; else what is left of it unread.
async fn read_body(body: Body, max: usize) -> Result<Vec<u8>, BodyDataStream> {
    let mut rest = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = rest.next().await {
        match chunk {
            Ok(chunk) if bytes.len() + chunk.len() <= max => bytes.extend_from_slice(&chunk),
            _ => return Err(rest),
        }
    }
    Ok(bytes)
}

/// Reads the rest of a body over the limit and drops it — at most [`DRAIN_BYTES`] for at
/// most [`DRAIN_FOR`] — so that a client still sending it reads the refusal instead of
/// having its connection reset (closing a socket with unread data sends a reset), as a
/// web server's lingering close does. A longer or slower body is cut off.
async fn drain(mut rest: BodyDataStream) {
    let reading = async {
        let mut left = DRAIN_BYTES;
        while let Some(Ok(chunk)) = rest.next().await {
            let Some(after) = left.checked_sub(chunk.len()) else {
                return;
            };
            left = after;
        }
    };
    let _ = tokio::time::timeout(DRAIN_FOR, reading).await;
}

/// The answer to a request that was not admitted: come back in a second.
fn busy(reason: Refused) -> Response {
    metrics::counter!("bduf_http_refused_total", "reason" => reason.label()).increment(1);
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is busy; try again shortly",
        json!({ "code": "SERVER_BUSY" }),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    response
}

/// The request's context from its headers: `Authorization: Bearer <token>`,
/// `X-Organization-Id: <uuid>` (the organization to act in), `Idempotency-Key`,
/// `User-Agent`, and the peer
/// address (for sessions and sign-in throttling; behind a proxy, the proxy's).
fn context(headers: &HeaderMap, peer: Option<SocketAddr>) -> Result<RequestContext, Box<Response>> {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let token = match text(header::AUTHORIZATION) {
        None => None,
        Some(value) => match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                Some(token.trim().to_owned())
            }
            _ => {
                return Err(Box::new(error_response(
                    StatusCode::UNAUTHORIZED,
                    "Authorization: only `Bearer <token>` is accepted",
                    json!({ "code": "UNAUTHENTICATED" }),
                )));
            }
        },
    };
    let organization = match text(header::HeaderName::from_static("x-organization-id")) {
        None => None,
        Some(value) => Some(value.parse::<uuid::Uuid>().map_err(|_| {
            Box::new(error_response(
                StatusCode::BAD_REQUEST,
                "X-Organization-Id: must be a UUID",
                json!({ "code": "BAD_USER_INPUT", "field": "X-Organization-Id" }),
            ))
        })?),
    };
    let collaboration_session =
        match text(header::HeaderName::from_static("x-collaboration-session")) {
            None => None,
            Some(value) => Some(value.parse::<uuid::Uuid>().map_err(|_| {
                Box::new(error_response(
                    StatusCode::BAD_REQUEST,
                    "X-Collaboration-Session: must be a UUID",
                    json!({ "code": "BAD_USER_INPUT", "field": "X-Collaboration-Session" }),
                ))
            })?),
        };
    Ok(RequestContext {
        token,
        organization,
        collaboration_session,
        user_agent: text(header::USER_AGENT).map(|a| a.chars().take(500).collect()),
        ip: peer.map(|p| p.ip()),
        idempotency_key: headers
            .get(header::HeaderName::from_static("idempotency-key"))
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned()),
    })
}

async fn graphql(State(app): State<App>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(p)| *p);
    let context = context(request.headers(), peer);
    let body = request.into_body();
    let context = match context {
        Ok(context) => context,
        Err(response) => return *response,
    };
    let turn = match app.gate.admit().await {
        Ok(turn) => turn,
        Err(reason) => return busy(reason),
    };
    let max = app.settings.max_body_bytes;
    let bytes = match read_body(body, max).await {
        Ok(bytes) => bytes,
        Err(rest) => {
            drop(turn);
            drain(rest).await;
            let mut response = error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the request body is larger than {max} bytes"),
                json!({ "code": "PAYLOAD_TOO_LARGE", "max": max }),
            );
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            return response;
        }
    };
    let request: async_graphql::Request = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(err) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request in JSON: {err}"),
                json!({ "code": "BAD_REQUEST" }),
            );
        }
    };
    let timeout = app.settings.request_timeout;
    let execution = bduf_graphql::execute(&app.schema, request, &app.db, context);
    let Ok(answer) = tokio::time::timeout(timeout, execution).await else {
        metrics::counter!("bduf_http_timed_out_total").increment(1);
        return error_response(
            StatusCode::OK,
            "the query took too long and was stopped; ask for less",
            json!({ "code": "TIMEOUT", "timeoutMs": timeout.as_millis() }),
        );
    };
    drop(turn);
    if answer.busy {
        return busy(Refused::NoConnection);
    }
    let response = answer.response;
    let headers = response.http_headers.clone();
    let mut answer = (StatusCode::OK, axum::Json(response)).into_response();
    answer.headers_mut().extend(headers);
    answer
}

async fn graphiql(State(app): State<App>) -> Response {
    if app.settings.limits.introspection {
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
    let documents = app.schema.document_stats();
    metrics::counter!("bduf_graphql_documents_parsed_total").absolute(documents.parsed);
    metrics::counter!("bduf_graphql_documents_validated_total").absolute(documents.validated);
    #[allow(clippy::cast_precision_loss)]
    {
        metrics::gauge!("bduf_http_in_flight").set(app.gate.in_flight() as f64);
        metrics::gauge!("bduf_http_queued").set(app.gate.queued() as f64);
        let admission = app.settings.admission;
        metrics::gauge!("bduf_http_in_flight_max").set(admission.in_flight as f64);
        metrics::gauge!("bduf_http_queue_max").set(admission.queue as f64);
        metrics::gauge!("bduf_http_queue_wait_budget_seconds").set(admission.wait.as_secs_f64());
        metrics::gauge!("bduf_http_service_seconds").set(app.gate.service_time().as_secs_f64());
        metrics::gauge!("bduf_http_expected_wait_seconds")
            .set(app.gate.expected_wait_now().as_secs_f64());
        let (size, idle) = app.db.pool_status();
        metrics::gauge!("bduf_graphql_documents_cached").set(documents.cached as f64);
        metrics::gauge!("bduf_db_pool_connections").set(f64::from(size));
        metrics::gauge!("bduf_db_pool_idle").set(idle as f64);
    }
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
