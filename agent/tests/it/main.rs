//! End-to-end tests: the real `agent` binary, real pipes, real signals, real HTTP.

mod harness;

mod backpressure;
mod bad_input;
mod cli;
mod config_errors;
mod crash;
mod crash_http;
mod dead_letter;
mod disk_full;
mod files;
mod http;
mod http_delivery;
mod pipelines;
mod reload;
mod rsyslog;
mod shutdown;
mod tls;
