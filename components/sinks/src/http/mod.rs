//! `http`: send batches of events as HTTP requests (POST or PUT) to one URI.
//!
//! Built on the shared [driver](crate::driver): batching, compression, concurrency, rate limit,
//! timeouts and retries come from there; this sink only turns a batch into a request body and
//! classifies responses. A 2xx response delivers the batch. 408, 429, 5xx responses and connection
//! errors are retried (429 and 503 also make adaptive concurrency back off). Any other status is
//! permanent: the batch is counted as an error and not retried; its events go to the sink's
//! `rejected` output (`<id>.rejected`) when a component reads it, with the status in
//! `metadata.dead_letter.http_status`, and are reported `Rejected` otherwise. So do batches that
//! run out of retries (reported `Errored` when nothing reads `<id>.rejected`).
//!
//! `https://` URIs use TLS (rustls, through hyper-rustls), configured by the `tls` table: the
//! server's certificate is checked against `tls.ca_file` or the built-in Mozilla roots, and a
//! client certificate can be presented. The TLS files are read when the sink is built.

mod config;
mod service;

pub use config::{Auth, FramingMethod, HttpConfig, HttpFraming, HttpMethod};

use strata_core::SinkRegistration;

pub const REGISTRATION: SinkRegistration = SinkRegistration {
    type_name: "http",
    description: "Send batches of events to an HTTP endpoint",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_sink::<HttpConfig>,
};

#[cfg(test)]
mod tests;
