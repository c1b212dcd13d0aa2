//! `http_server`: events sent to this agent in HTTP request bodies, as Vector's `http_server`
//! source (formerly `http`).
//!
//! The source listens on `address` and accepts `method` requests on `path` (or below it when
//! `strict_path` is false). It checks `auth`, reads the body up to `max_body_bytes`, undoes a
//! `Content-Encoding` of `gzip`, `zstd` or `deflate` with the same limit applied to the
//! decompressed size (so a small "zip bomb" is refused after at most `max_body_bytes` + 1 bytes),
//! then frames and decodes the body with `framing` and `decoding`. Each event gets the standard
//! fields, the request path in `path_key`, the client's IP address in `host_key`, and the
//! requested `headers` and `query_parameters`.
//!
//! Answers: `response_code` (200) when the events are accepted; 400 when the body does not decode
//! (nothing of it is sent on), 401 with `WWW-Authenticate` without valid credentials, 404 on
//! another path, 405 for another method, 413 for a body too large before or after
//! decompression, 415 for an unknown `Content-Encoding`, 503 when the pipeline is closed or the
//! agent is shutting down.
//!
//! Backpressure: a request's handler waits until its batch is sent into the pipeline; when the
//! pipeline is full, requests wait in turn and so do their clients.
//!
//! Delivery: with acknowledgements (a sink downstream asked for them), the response waits until
//! every event of the request is finalized: `response_code` when delivered, 400 when a sink
//! rejected them for good, 503 when delivery failed so that the client retries. This is
//! at-least-once for clients that retry on 5xx. Without acknowledgements the response is sent as
//! soon as the batch is in the pipeline, and events not yet delivered when the agent stops or
//! crashes are lost.
//!
//! HTTPS: with `tls.enabled = true` the source speaks only TLS (rustls, through `strata-tls`);
//! with `tls.verify_certificate = true` every client must present a certificate signed by
//! `tls.ca_file`. The files are read at build time. Handshakes run beside the accept loop, each
//! with a 10 s deadline; a failed one (a plaintext client, a missing or foreign client
//! certificate) is counted in `component_errors_total` and logged at a bounded rate, and the
//! listener goes on.
//!
//! On shutdown the source stops accepting connections; requests waiting on the pipeline are
//! answered 503, and connections still open after a short deadline are closed.
//!
//! Not supported yet: the client certificate's subject in events, the `http` type alias (the
//! registry holds one line per source), wildcards in `headers`, Vector's `encoding` (use
//! `decoding`), `keepalive` options, `auth.strategy = "custom"`, and the `vector` log namespace.

mod auth;
mod body;
mod config;
mod listener;
mod server;

pub use config::{AuthConfig, HttpMethod, HttpServerConfig};

use strata_core::SourceRegistration;

pub const REGISTRATION: SourceRegistration = SourceRegistration {
    type_name: "http_server",
    description: "Receive events in the bodies of HTTP requests",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_source::<HttpServerConfig>,
};

#[cfg(test)]
mod tests;
