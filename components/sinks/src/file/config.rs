//! Options of the `file` sink.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_codecs::{Encoder, EncodingConfig, SinkFraming};
use strata_core::config::Resource;
use strata_core::{BuildError, DataType, Healthcheck, Sink, SinkConfig, SinkContext};

use super::sink::FileSink;
use super::template::PathTemplate;

pub(super) const EXAMPLE: &str = r#"type = "file"
inputs = ["my_source"]
path = "/var/log/strata/{{ .host }}/app-%Y-%m-%d.log"
encoding.codec = "json"
compression = "gzip"
idle_timeout_secs = 30
"#;

fn default_idle_timeout_secs() -> u64 {
    30
}

/// How the bytes of each file are compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// Plain bytes.
    #[default]
    None,
    /// A gzip stream; every time a file is reopened a new gzip member is appended.
    Gzip,
    /// A zstd stream; every time a file is reopened a new zstd frame is appended.
    Zstd,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The file to write each event to: a template with strftime specifiers (`%Y-%m-%d`, from the
    /// event's timestamp field, else the current time, in UTC) and field references
    /// (`{{ host }}`, `{{ .kubernetes.pod_name }}`). An event whose field is missing, or whose
    /// rendered path leaves the directory before the first placeholder (a `..` component), is
    /// rejected and not written. Required.
    pub path: String,
    /// How events are written (`encoding.codec` = `json`, `text`, `logfmt`, `csv`, ...), one per
    /// line. Required.
    pub encoding: EncodingConfig,
    /// `none`, `gzip` or `zstd`. Default: `none`.
    #[serde(default)]
    pub compression: Compression,
    /// Close a file that has not been written to for this many seconds; it is reopened, in append
    /// mode, by the next event for it. Default: 30.
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
}

#[async_trait]
impl SinkConfig for FileConfig {
    async fn build(&self, cx: SinkContext) -> Result<(Box<dyn Sink>, Healthcheck), BuildError> {
        let template = PathTemplate::parse(&self.path)
            .map_err(|error| BuildError::new(format!("option `path`: {error}")))?;
        let encoder = Encoder::new(&self.encoding, SinkFraming::NewlineDelimited)
            .map_err(|error| BuildError::new(format!("option `encoding`: {error}")))?;
        if self.idle_timeout_secs == 0 {
            return Err(BuildError::new("option `idle_timeout_secs`: must be above zero"));
        }
        let base = PathBuf::from(template.base_dir());
        let sink = FileSink::new(
            template,
            encoder,
            self.compression,
            Duration::from_secs(self.idle_timeout_secs),
            cx.globals.log_schema.timestamp_key.clone(),
            cx.metrics,
        )
        .with_rejected(cx.rejected);
        Ok((Box::new(sink), healthcheck(base)))
    }

    fn input(&self) -> DataType {
        DataType::ALL
    }

    fn resources(&self) -> Vec<Resource> {
        match PathTemplate::parse(&self.path) {
            Ok(template) => {
                template.static_path().map(|path| Resource::Path(path.into())).into_iter().collect()
            }
            Err(_) => Vec::new(),
        }
    }
}

/// Passes when the directory before the first placeholder exists or can be created.
fn healthcheck(base: PathBuf) -> Healthcheck {
    Box::pin(async move {
        if base.as_os_str().is_empty() {
            return Ok(());
        }
        let shown = base.display().to_string();
        match tokio::task::spawn_blocking(move || std::fs::create_dir_all(&base)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!("creating directory {shown} failed: {error}")),
            Err(error) => Err(format!("creating directory {shown} failed: {error}")),
        }
    })
}
