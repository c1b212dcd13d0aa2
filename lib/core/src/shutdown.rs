//! Shutdown signals handed to sources.

use tokio_util::sync::CancellationToken;

/// Resolves when the source must stop reading. Cloning is cheap; every clone fires together.
#[derive(Debug, Clone, Default)]
pub struct ShutdownSignal(CancellationToken);

impl ShutdownSignal {
    pub fn new() -> Self {
        Self(CancellationToken::new())
    }

    /// Completes once shutdown is requested.
    pub async fn recv(&self) {
        self.0.cancelled().await
    }

    pub fn is_triggered(&self) -> bool {
        self.0.is_cancelled()
    }

    pub fn trigger(&self) {
        self.0.cancel()
    }
}
