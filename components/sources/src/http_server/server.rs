//! The running `http_server` source: an axum server whose one handler checks a request, turns
//! its body into a batch, sends the batch into the pipeline and answers when it is safe to.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::IncomingStream;
use bytes::{Bytes, BytesMut};
use chrono::Utc;
use strata_codecs::{Decoder, DeserializerConfig, FrameError};
use strata_core::{
    BuildError, ComponentError, ComponentMetrics, RateLimitedLog, ShutdownSignal, SourceContext, SourceSender,
};
use strata_event::{
    BatchNotifier, BatchStatus, Event, EventBatch, EventFinalizers, EventMetadata, KeyString, LogEvent,
};
use strata_event::{SourceId, Value};
use strata_tls::TlsAcceptor;
use tokio::net::TcpListener;

use super::HttpServerConfig;
use super::auth::Auth;
use super::body::{self, BodyError};
use super::listener::TlsListener;
use crate::common::{StandardFields, report_bad_input};

/// How long requests still in flight may take to be answered after shutdown is signalled. Every
/// handler answers 503 at once when it is waiting on the pipeline, so this only bounds a client
/// that is slow to send its body.
const DRAIN: Duration = Duration::from_secs(10);

/// Takes the listening socket, so that a port in use fails the build.
pub(super) async fn bind(address: SocketAddr) -> Result<TcpListener, BuildError> {
    TcpListener::bind(address)
        .await
        .map_err(|error| BuildError::new(format!("cannot listen on {address}: {error}")))
}

/// Loads the TLS files, if TLS is on, so that a bad file fails the build.
pub(super) fn acceptor(config: &HttpServerConfig) -> Result<Option<TlsAcceptor>, BuildError> {
    match &config.tls {
        Some(tls) => tls.acceptor().map_err(|error| BuildError::new(error.to_string())),
        None => Ok(None),
    }
}

/// The client's address, for the handler: the same for plain and TLS connections.
#[derive(Debug, Clone, Copy)]
struct ClientAddr(SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// A refused request: the status, a short message for the client, and for 401 the challenge.
#[derive(Debug)]
struct Rejection {
    status: StatusCode,
    message: String,
    challenge: Option<&'static str>,
}

impl Rejection {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), challenge: None }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let mut response = (self.status, format!("{}\n", self.message)).into_response();
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

/// What every request handler shares.
struct Shared {
    config: HttpServerConfig,
    method: Method,
    decoder: Decoder,
    /// Set for `decoding.codec = "bytes"`: frames become events as they are (the fast path).
    raw: bool,
    fields: StandardFields,
    host_key: Option<KeyString>,
    auth: Option<Auth>,
    source_id: SourceId,
    acknowledgements: bool,
    success: StatusCode,
    /// The lock is the queue: a handler holds it while `send_batch` waits for room downstream, so
    /// when the pipeline is full requests wait their turn here instead of piling up in memory.
    /// Holding a lock across `.await` is on purpose, and only ever this one.
    out: tokio::sync::Mutex<SourceSender>,
    shutdown: ShutdownSignal,
    metrics: ComponentMetrics,
    limiter: RateLimitedLog,
}

pub(super) async fn run(
    config: HttpServerConfig,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    cx: SourceContext,
) -> Result<(), ComponentError> {
    let address = listener.local_addr().map_err(|e| ComponentError::new(format!("http_server: {e}")))?;
    let raw = config.decoding.codec == DeserializerConfig::Bytes;
    let host_key = config.host_key.clone().unwrap_or_else(|| cx.globals.log_schema.host_key.clone());
    let shared = Arc::new(Shared {
        method: config.method.as_http(),
        decoder: Decoder::new(&config.framing(), &config.decoding),
        raw,
        // The host here is the client's address, added per request, not this machine's name.
        fields: StandardFields::new(&cx.globals.log_schema, "http_server", Some("")),
        host_key: (!host_key.is_empty()).then(|| KeyString::from(host_key.as_str())),
        auth: config.auth.as_ref().map(Auth::new),
        source_id: cx.source_id,
        acknowledgements: cx.acknowledgements,
        // `validate` keeps the code within 200..=299.
        success: StatusCode::from_u16(config.response_code).unwrap_or(StatusCode::OK),
        out: tokio::sync::Mutex::new(cx.out),
        shutdown: cx.shutdown.clone(),
        metrics: cx.metrics.clone(),
        limiter: RateLimitedLog::default(),
        config,
    });
    let app = Router::new().fallback(handle).with_state(shared);
    let signal = cx.shutdown.clone();
    let stopped = async move { signal.recv().await };
    let make_service = app.into_make_service_with_connect_info::<ClientAddr>();
    let serve: std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> = match tls {
        None => Box::pin(axum::serve(listener, make_service).with_graceful_shutdown(stopped).into_future()),
        Some(acceptor) => {
            let listener = TlsListener::new(listener, acceptor, cx.metrics);
            Box::pin(axum::serve(listener, make_service).with_graceful_shutdown(stopped).into_future())
        }
    };
    let deadline = async {
        cx.shutdown.recv().await;
        tokio::time::sleep(DRAIN).await;
    };
    tokio::select! {
        result = serve => {
            result.map_err(|error| ComponentError::new(format!("http server on {address} failed: {error}")))
        }
        () = deadline => Ok(()),
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(ClientAddr(peer)): ConnectInfo<ClientAddr>,
    request: Request,
) -> Response {
    match shared.accept(peer, request).await {
        Ok(status) => status.into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

impl Shared {
    async fn accept(self: &Arc<Self>, peer: SocketAddr, request: Request) -> Result<StatusCode, Rejection> {
        let (parts, body) = request.into_parts();
        self.check_route(parts.uri.path(), &parts.method)?;
        if let Some(auth) = &self.auth
            && !auth.allows(&parts.headers)
        {
            return Err(Rejection {
                challenge: Some(auth.challenge()),
                ..Rejection::new(StatusCode::UNAUTHORIZED, "unauthorized")
            });
        }
        let limit = self.config.max_body_bytes;
        let encodings = body::encodings(&parts.headers).map_err(|error| self.body_rejection(error))?;
        let body =
            body::read(&parts.headers, body, limit).await.map_err(|error| self.body_rejection(error))?;
        let received = body.len();
        let shared = Arc::clone(self);
        let extra = self.request_fields(peer, &parts);
        let events = tokio::task::spawn_blocking(move || {
            let body =
                body::decompress(body, &encodings, limit).map_err(|error| shared.body_rejection(error))?;
            shared.decode(body, extra)
        })
        .await
        .map_err(|_| Rejection::new(StatusCode::INTERNAL_SERVER_ERROR, "decoding the request failed"))??;
        if events.is_empty() {
            return Ok(self.success);
        }
        self.metrics.received(events.len(), received);
        self.deliver(events).await
    }

    fn check_route(&self, path: &str, method: &Method) -> Result<(), Rejection> {
        let base = self.config.path.as_str();
        let matches = if self.config.strict_path {
            path == base
        } else {
            // Under `/logs`: `/logs`, `/logs/` and `/logs/app`, not `/logsx`.
            path.strip_prefix(base.trim_end_matches('/'))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if !matches {
            return Err(Rejection::new(StatusCode::NOT_FOUND, format!("no events are accepted on {path}")));
        }
        if method != self.method {
            return Err(Rejection::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("method {method} is not allowed, use {}", self.method),
            ));
        }
        Ok(())
    }

    fn body_rejection(&self, error: BodyError) -> Rejection {
        let error_type = match error {
            BodyError::TooLarge { .. } => "oversized",
            _ => "decode_failed",
        };
        report_bad_input(&self.metrics, &self.limiter, error_type, &error);
        Rejection::new(error.status(), error.to_string())
    }

    /// Frames and decodes a whole body; any bad frame refuses the whole request, so a client that
    /// retries after fixing it does not send the good part twice.
    /// Frames and decodes a body into events carrying the request's fields (`extra`), keeping any
    /// field of the same name the body already set.
    fn decode(&self, body: Bytes, extra: Vec<(KeyString, Value)>) -> Result<Vec<Event>, Rejection> {
        let now = Utc::now();
        let metadata = EventMetadata::new(self.source_id, "http_server", now);
        // Raw lines share one schema per request, the request's fields included: no map per line.
        let raw = self.raw.then(|| self.fields.raw_schema_with(extra.iter().cloned()));
        let mut decoder = self.decoder.clone();
        let mut buffer = BytesMut::from(body);
        let mut events = Vec::new();
        loop {
            let frame = match decoder.framer.next_frame(&mut buffer) {
                Ok(None) => decoder.framer.finish(&mut buffer),
                other => other,
            };
            let frame = match frame {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error @ FrameError::TooLong { .. }) => {
                    report_bad_input(&self.metrics, &self.limiter, "oversized", &error);
                    return Err(Rejection::new(StatusCode::BAD_REQUEST, error.to_string()));
                }
            };
            if let Some(schema) = &raw {
                events.push(Event::Log(LogEvent::raw(frame, now, schema, metadata.clone())));
                continue;
            }
            let start = events.len();
            if let Err(error) = decoder.deserialize(frame, &metadata, &mut events) {
                report_bad_input(&self.metrics, &self.limiter, "decode_failed", &error);
                return Err(Rejection::new(StatusCode::BAD_REQUEST, error.to_string()));
            }
            for event in &mut events[start..] {
                self.fields.apply(event, now);
                let Event::Log(log) = event else { continue };
                let Value::Object(map) = log.value_mut() else { continue };
                for (key, value) in &extra {
                    map.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
        }
        Ok(events)
    }

    /// The request's fields for its events: path, client address, headers, query parameters.
    fn request_fields(
        &self,
        peer: SocketAddr,
        parts: &axum::http::request::Parts,
    ) -> Vec<(KeyString, Value)> {
        let mut extra: Vec<(KeyString, Value)> = Vec::new();
        if !self.config.path_key.is_empty() {
            let path = Bytes::copy_from_slice(parts.uri.path().as_bytes());
            extra.push((KeyString::from(self.config.path_key.as_str()), Value::Bytes(path)));
        }
        if let Some(key) = &self.host_key {
            extra.push((key.clone(), Value::Bytes(Bytes::from(peer.ip().to_string()))));
        }
        for name in &self.config.headers {
            let value =
                parts.headers.get(name.as_str()).map(|value| Bytes::copy_from_slice(value.as_bytes()));
            extra.push((KeyString::from(name.as_str()), value.map_or(Value::Null, Value::Bytes)));
        }
        if !self.config.query_parameters.is_empty() {
            let pairs: Vec<(String, String)> =
                form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                    .map(|(name, value)| (name.into_owned(), value.into_owned()))
                    .collect();
            for name in &self.config.query_parameters {
                let mut values: Vec<Value> = pairs
                    .iter()
                    .filter(|(key, _)| key == name)
                    .map(|(_, value)| Value::Bytes(Bytes::from(value.clone())))
                    .collect();
                let value = match values.len() {
                    0 => Value::Null,
                    1 => values.remove(0),
                    _ => Value::Array(values),
                };
                extra.push((KeyString::from(name.as_str()), value));
            }
        }
        extra
    }

    /// Sends the batch and answers: at once without acknowledgements, after delivery with them.
    async fn deliver(&self, mut events: Vec<Event>) -> Result<StatusCode, Rejection> {
        let shutting_down = || Rejection::new(StatusCode::SERVICE_UNAVAILABLE, "the agent is shutting down");
        let receipt = self.acknowledgements.then(|| {
            let (notifier, receipt) = BatchNotifier::new();
            for event in &mut events {
                event.metadata_mut().add_finalizers(EventFinalizers::new(Arc::clone(&notifier)));
            }
            receipt
        });
        let sent = tokio::select! {
            biased;
            () = self.shutdown.recv() => return Err(shutting_down()),
            sent = async { self.out.lock().await.send_batch(EventBatch::new(events)).await } => sent,
        };
        if sent.is_err() {
            return Err(Rejection::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the pipeline is not accepting events",
            ));
        }
        let Some(receipt) = receipt else { return Ok(self.success) };
        let status = tokio::select! {
            () = self.shutdown.recv() => return Err(shutting_down()),
            status = receipt => status,
        };
        match status {
            BatchStatus::Delivered => Ok(self.success),
            BatchStatus::Rejected => {
                Err(Rejection::new(StatusCode::BAD_REQUEST, "events were rejected downstream"))
            }
            BatchStatus::Errored => {
                Err(Rejection::new(StatusCode::SERVICE_UNAVAILABLE, "events were not delivered, retry later"))
            }
        }
    }
}
