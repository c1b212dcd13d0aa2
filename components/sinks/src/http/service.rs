//! The running `http` sink's half of the driver contract: a batch becomes a body, a body becomes
//! a request, a response becomes an outcome.

use std::future::Future;

use base64::Engine;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use strata_codecs::{Encoder, SerializerKind};
use strata_core::BuildError;
use strata_event::Event;

use super::config::{Auth, HttpConfig, HttpMethod};
use crate::driver::{Payload, Service, SinkError};

/// How encoded events are put together into a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyShape {
    /// `[e1,e2,...]`: the `json` codec without framing.
    JsonArray,
    /// Each event with its own framing, back to back.
    Concatenated,
}

pub(crate) struct HttpService {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    uri: Uri,
    method: Method,
    /// Content type, auth and the user's headers, resolved once.
    headers: HeaderMap,
    encoder: Encoder,
    shape: BodyShape,
}

fn header_error(name: &str, error: impl std::fmt::Display) -> BuildError {
    BuildError::new(format!("option `headers.{name}`: {error}"))
}

impl HttpService {
    pub(crate) fn new(config: &HttpConfig, encoder: Encoder, shape: BodyShape) -> Result<Self, BuildError> {
        let uri: Uri = config.uri.parse().map_err(|error| {
            BuildError::new(format!("option `uri`: invalid URI `{}`: {error}", config.uri))
        })?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(BuildError::new(format!(
                "option `uri`: `{}` is not an http:// or https:// URI",
                config.uri
            )));
        }
        let mut headers = HeaderMap::new();
        let content_type = match (shape, encoder.kind()) {
            (BodyShape::JsonArray, _) => "application/json",
            (BodyShape::Concatenated, SerializerKind::Json) => "application/x-ndjson",
            _ => "text/plain",
        };
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Some(auth) = &config.auth {
            let value = match auth {
                Auth::Basic { user, password } => {
                    let credentials =
                        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                    format!("Basic {credentials}")
                }
                Auth::Bearer { token } => format!("Bearer {token}"),
            };
            // The message must not repeat the secret.
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                BuildError::new("option `auth`: credentials contain characters not allowed in a header")
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        for (name, value) in &config.headers {
            let header =
                HeaderName::from_bytes(name.as_bytes()).map_err(|error| header_error(name, error))?;
            let value = HeaderValue::from_str(value).map_err(|error| header_error(name, error))?;
            headers.insert(header, value);
        }
        let method = match config.method {
            HttpMethod::Post => Method::POST,
            HttpMethod::Put => Method::PUT,
        };
        let client = Client::builder(TokioExecutor::new()).build(connector(config)?);
        Ok(Self { client, uri, method, headers, encoder, shape })
    }

    fn request(
        &self,
        method: Method,
        body: Bytes,
        content_encoding: Option<&'static str>,
    ) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        if let Some(encoding) = content_encoding {
            request.headers_mut().insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        request
    }

    /// A `HEAD` request to the URI: reachable and not failing (below 500) passes.
    pub(crate) fn healthcheck(&self) -> impl Future<Output = Result<(), String>> + Send + 'static {
        let client = self.client.clone();
        let request = self.request(Method::HEAD, Bytes::new(), None);
        let uri = self.uri.clone();
        async move {
            let response = client
                .request(request)
                .await
                .map_err(|error| format!("HEAD {uri} failed: {}", chain(&error)))?;
            let status = response.status();
            if status.is_server_error() { Err(format!("HEAD {uri} answered {status}")) } else { Ok(()) }
        }
    }
}

/// A connector for both schemes: TLS for `https://` URIs, with the `tls` options. They are read
/// (and their files checked) even for an `http://` URI, so that a bad file is found at once and
/// not when the URI changes.
fn connector(config: &HttpConfig) -> Result<HttpsConnector<HttpConnector>, BuildError> {
    let tls = config.tls.clone().unwrap_or_default();
    let tls_error = |error: strata_tls::TlsError| BuildError::new(error.to_string());
    let builder =
        HttpsConnectorBuilder::new().with_tls_config(tls.client_config().map_err(tls_error)?).https_or_http();
    let builder = match &tls.server_name {
        Some(name) => builder.with_server_name_resolver(FixedServerNameResolver::new(
            tls.server_name(name).map_err(tls_error)?,
        )),
        None => builder,
    };
    let mut http = HttpConnector::new();
    // The scheme is the TLS layer's business; the TCP layer must take `https://` URIs too.
    http.enforce_http(false);
    Ok(builder.enable_http1().wrap_connector(http))
}

/// An error with its causes, which hold the useful part (`connection refused`).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Which statuses are worth retrying, and which are the destination asking us to slow down.
pub(crate) fn classify(status: StatusCode) -> Result<(), SinkError> {
    let message = || format!("the server answered {status}");
    match status.as_u16() {
        200..=299 => Ok(()),
        429 => Err(SinkError::backpressure("http_too_many_requests", message())),
        503 => Err(SinkError::backpressure("http_service_unavailable", message())),
        408 => Err(SinkError::retryable("http_request_timeout", message())),
        500..=599 => Err(SinkError::retryable("http_server_error", message())),
        _ => Err(SinkError::permanent("http_client_error", message())),
    }
}

impl Service for HttpService {
    fn encode(&self, events: &[Event]) -> Result<Vec<u8>, SinkError> {
        let mut body = Vec::with_capacity(events.len() * 256);
        match self.shape {
            BodyShape::JsonArray => {
                body.push(b'[');
                for (index, event) in events.iter().enumerate() {
                    if index > 0 {
                        body.push(b',');
                    }
                    self.encoder.encode(event, &mut body);
                }
                body.push(b']');
            }
            BodyShape::Concatenated => {
                for event in events {
                    self.encoder.encode(event, &mut body);
                }
            }
        }
        Ok(body)
    }

    fn send(&self, payload: &Payload) -> impl Future<Output = Result<(), SinkError>> + Send {
        let request =
            self.request(self.method.clone(), payload.body.clone(), payload.compression.content_encoding());
        let response = self.client.request(request);
        async move {
            let response = response.await.map_err(|error| {
                SinkError::retryable("http_request_failed", format!("request failed: {}", chain(&error)))
            })?;
            let status = response.status();
            // Reading the body to its end lets the connection go back to the pool; a body that
            // fails to arrive does not change the outcome the status already gave.
            let _ = response.into_body().collect().await;
            classify(status).map_err(|error| error.with_http_status(status.as_u16()))
        }
    }
}
