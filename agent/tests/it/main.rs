//! End-to-end tests: the real `agent` binary, real pipes, real signals, real HTTP.

mod harness;

mod backpressure;
mod cli;
mod config_errors;
mod crash;
mod http;
mod pipelines;
mod reload;
mod shutdown;
