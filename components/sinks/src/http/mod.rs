//! `http`: send batches of events as HTTP requests (POST or PUT) to one URI.
//!
//! Built on the shared [driver](crate::driver): batching, compression, concurrency, rate limit,
//! timeouts and retries come from there; this sink only turns a batch into a request body and
//! classifies responses. A 2xx response delivers the batch. 408, 429, 5xx responses and connection
//! errors are retried (429 and 503 also make adaptive concurrency back off). Any other status is
//! permanent: the batch is counted as an error, reported `Rejected`, and not retried.
//!
//! Plain `http://` only for now: `https://` URIs are refused at build time (no TLS stack yet).

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
