//! The running `socket` source: its options become a bound socket and settings for the shared
//! machinery in `listener`.

use strata_core::{BuildError, ComponentError, SourceContext};

use super::SocketConfig;
use super::listener::{Bound, Settings};

/// Binds the configured socket and loads its TLS files; a taken address or a bad file fails here,
/// at build time.
pub(super) async fn bind(config: &SocketConfig) -> Result<Bound, BuildError> {
    Bound::bind(&config.address(), config.tls()).await
}

pub(super) async fn run(settings: Settings, bound: Bound, cx: SourceContext) -> Result<(), ComponentError> {
    bound.serve(settings, cx).await
}
