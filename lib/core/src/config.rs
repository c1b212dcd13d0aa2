//! What a component implements to be configured and built, and how the registries list them.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use strata_event::DataType;

use crate::{SinkContext, SourceContext, TransformContext};
use crate::{sink::Healthcheck, sink::Sink, transform::Transform};

/// One output of a component and the kinds of data it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// `None` for the default output; a name for `<id>.<name>`.
    pub port: Option<String>,
    pub data_type: DataType,
}

impl Output {
    pub fn default(data_type: DataType) -> Self {
        Self { port: None, data_type }
    }

    pub fn named(port: impl Into<String>, data_type: DataType) -> Self {
        Self { port: Some(port.into()), data_type }
    }
}

/// Something a component takes for itself; two components may not take the same one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    /// A listening socket.
    Tcp(SocketAddr),
    Udp(SocketAddr),
    /// A Unix socket or a file only this component may write.
    Path(PathBuf),
    /// The process's standard input.
    Stdin,
}

impl Resource {
    /// True when the two cannot both be held: the same path, stdin twice, or the same port and
    /// protocol on addresses that overlap (one of them the unspecified address, or equal).
    pub fn conflicts_with(&self, other: &Resource) -> bool {
        fn overlap(a: &SocketAddr, b: &SocketAddr) -> bool {
            a.port() == b.port() && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
        }
        match (self, other) {
            (Resource::Tcp(a), Resource::Tcp(b)) | (Resource::Udp(a), Resource::Udp(b)) => overlap(a, b),
            (Resource::Path(a), Resource::Path(b)) => a == b,
            (Resource::Stdin, Resource::Stdin) => true,
            _ => false,
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Tcp(address) => write!(f, "tcp address {address}"),
            Resource::Udp(address) => write!(f, "udp address {address}"),
            Resource::Path(path) => write!(f, "path {}", path.display()),
            Resource::Stdin => f.write_str("standard input"),
        }
    }
}

/// A failure to build a component from a valid config: a port taken, a file unreadable, a
/// program that does not compile.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct BuildError {
    pub message: String,
}

impl BuildError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

/// A running component stopped with an error.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct ComponentError {
    pub message: String,
}

impl ComponentError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

/// Options every component sees, from the top of the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalOptions {
    /// Where components keep state (checkpoints, disk buffers). `None` when not configured.
    pub data_dir: Option<PathBuf>,
    /// The default time zone for parsing and formatting, an IANA name or `local`.
    pub timezone: Option<String>,
    /// Whether sinks wait for and report delivery, unless a sink says otherwise.
    pub acknowledgements: bool,
    /// The field names of a log's standard fields.
    pub log_schema: LogSchema,
}

/// Field names the sources use for the standard fields of a log (`log_schema`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSchema {
    /// Default: `message`.
    pub message_key: String,
    /// Default: `timestamp`.
    pub timestamp_key: String,
    /// Default: `host`.
    pub host_key: String,
    /// Default: `source_type`.
    pub source_type_key: String,
    /// Default: `metadata`.
    pub metadata_key: String,
}

impl Default for LogSchema {
    fn default() -> Self {
        Self {
            message_key: "message".into(),
            timestamp_key: "timestamp".into(),
            host_key: "host".into(),
            source_type_key: "source_type".into(),
            metadata_key: "metadata".into(),
        }
    }
}

/// A sink's `acknowledgements` option: `true`/`false` or `{ enabled = ... }`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgementsConfig {
    /// Wait for this sink's delivery before sources acknowledge. Default: the global setting.
    pub enabled: Option<bool>,
}

/// A source's options and how to build it.
#[async_trait]
pub trait SourceConfig: fmt::Debug + Send + Sync + 'static {
    /// Starts nothing yet: returns the future that runs the source. Take listening sockets here
    /// so a port that is taken fails the build instead of a running pipeline.
    async fn build(&self, cx: SourceContext) -> Result<crate::source::Source, BuildError>;

    /// The source's outputs. Most have one default output.
    fn outputs(&self) -> Vec<Output>;

    /// What the source takes for itself: addresses, paths, stdin.
    fn resources(&self) -> Vec<Resource> {
        Vec::new()
    }

    /// True when the source can hold back its acknowledgement (a checkpoint, a response, an
    /// offset commit) until its events are delivered.
    fn can_acknowledge(&self) -> bool {
        false
    }

    /// Checks that serde cannot express, as messages naming the option.
    fn validate(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A transform's options and how to build it.
#[async_trait]
pub trait TransformConfig: fmt::Debug + Send + Sync + 'static {
    async fn build(&self, cx: &TransformContext) -> Result<Transform, BuildError>;

    /// The kinds of data the transform accepts.
    fn input(&self) -> DataType;

    /// The transform's outputs given the kinds of data that reach it.
    fn outputs(&self, input: DataType) -> Vec<Output>;

    fn validate(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A sink's options and how to build it.
#[async_trait]
pub trait SinkConfig: fmt::Debug + Send + Sync + 'static {
    async fn build(&self, cx: SinkContext) -> Result<(Box<dyn Sink>, Healthcheck), BuildError>;

    /// The kinds of data the sink accepts.
    fn input(&self) -> DataType;

    fn resources(&self) -> Vec<Resource> {
        Vec::new()
    }

    fn validate(&self) -> Vec<String> {
        Vec::new()
    }
}

/// An option that does not deserialize: where, what, and a suggestion where one is close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigParseError {
    /// The option's path inside the component, such as `encoding.codec`; empty for the table.
    pub key: String,
    pub message: String,
    pub suggestion: Option<String>,
}

impl fmt::Display for ConfigParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, " (did you mean `{suggestion}`?)")?;
        }
        Ok(())
    }
}

/// Deserializes a component's options, keeping the path of the option that failed.
pub fn parse_options<C: DeserializeOwned>(options: serde_json::Value) -> Result<C, ConfigParseError> {
    let error = match serde_path_to_error::deserialize(&options) {
        Ok(parsed) => return Ok(parsed),
        Err(error) => error,
    };
    let path = error.path().to_string();
    let message = error.inner().to_string();
    let (key, suggestion) = match unknown_field(&message) {
        // An enum tagged by a field (`mode = "tcp"`) hides the path from serde; find the key.
        Some((field, expected)) if path == "." => {
            (find_key(&options, &field).unwrap_or_default(), nearest(&field, &expected))
        }
        // The path already ends at the unknown field.
        Some((field, expected)) => (path, nearest(&field, &expected)),
        None => (if path == "." { String::new() } else { path }, None),
    };
    Err(ConfigParseError { key, message, suggestion })
}

/// The dotted path of the first key named `wanted` in `value`, depth first.
fn find_key(value: &serde_json::Value, wanted: &str) -> Option<String> {
    let serde_json::Value::Object(map) = value else { return None };
    if map.contains_key(wanted) {
        return Some(wanted.to_owned());
    }
    map.iter().find_map(|(key, inner)| find_key(inner, wanted).map(|path| format!("{key}.{path}")))
}

/// Reads serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown variant").
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let candidates = expected.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    Some((field.to_owned(), candidates))
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn nearest(word: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate.clone())
}

/// Suggests among the variants named in serde's "unknown variant `x`, expected one of ...".
pub fn suggest_variant(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown variant `")?;
    let (word, expected) = rest.split_once('`')?;
    let candidates: Vec<String> = expected.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    nearest(word, &candidates)
}

/// One source type in a registry.
pub struct SourceRegistration {
    pub type_name: &'static str,
    pub description: &'static str,
    /// A starter config for `agent generate`, without the `[sources.<id>]` header.
    pub example: &'static str,
    pub parse: fn(serde_json::Value) -> Result<Box<dyn SourceConfig>, ConfigParseError>,
}

/// One transform type in a registry.
pub struct TransformRegistration {
    pub type_name: &'static str,
    pub description: &'static str,
    pub example: &'static str,
    pub parse: fn(serde_json::Value) -> Result<Box<dyn TransformConfig>, ConfigParseError>,
}

/// One sink type in a registry.
pub struct SinkRegistration {
    pub type_name: &'static str,
    pub description: &'static str,
    pub example: &'static str,
    pub parse: fn(serde_json::Value) -> Result<Box<dyn SinkConfig>, ConfigParseError>,
}

/// `parse` for a registration: `parse: boxed_source::<StdinConfig>`.
pub fn boxed_source<C: SourceConfig + DeserializeOwned>(
    options: serde_json::Value,
) -> Result<Box<dyn SourceConfig>, ConfigParseError> {
    parse_options::<C>(options).map(|config| Box::new(config) as Box<dyn SourceConfig>)
}

pub fn boxed_transform<C: TransformConfig + DeserializeOwned>(
    options: serde_json::Value,
) -> Result<Box<dyn TransformConfig>, ConfigParseError> {
    parse_options::<C>(options).map(|config| Box::new(config) as Box<dyn TransformConfig>)
}

pub fn boxed_sink<C: SinkConfig + DeserializeOwned>(
    options: serde_json::Value,
) -> Result<Box<dyn SinkConfig>, ConfigParseError> {
    parse_options::<C>(options).map(|config| Box::new(config) as Box<dyn SinkConfig>)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Options {
        max_length: usize,
        encoding: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        codec: String,
    }

    #[test]
    fn unknown_option_names_the_key_and_the_nearest_one() {
        let error = parse_options::<Options>(serde_json::json!({"max_lenght": 3})).unwrap_err();
        assert_eq!(error.key, "max_lenght");
        assert_eq!(error.suggestion.as_deref(), Some("max_length"));
    }

    #[test]
    fn nested_wrong_type_names_the_path() {
        let value = serde_json::json!({"max_length": 3, "encoding": {"codec": 5}});
        let error = parse_options::<Options>(value).unwrap_err();
        assert_eq!(error.key, "encoding.codec");
        assert!(error.message.contains("invalid type"), "{}", error.message);
    }

    #[derive(Debug, Deserialize)]
    #[serde(tag = "mode", rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Tagged {
        Tcp(Options),
    }

    #[test]
    fn an_unknown_key_inside_a_tagged_enum_is_still_named() {
        let value = serde_json::json!({"mode": "tcp", "max_length": 3, "encoding": {"codek": "json"}});
        let error = parse_options::<Tagged>(value).unwrap_err();
        assert_eq!(error.key, "encoding.codek");
        assert_eq!(error.suggestion.as_deref(), Some("codec"));
    }

    #[test]
    fn ports_conflict_on_overlapping_addresses() {
        let any: SocketAddr = "0.0.0.0:514".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:514".parse().unwrap();
        assert!(Resource::Tcp(any).conflicts_with(&Resource::Tcp(local)));
        assert!(!Resource::Tcp(any).conflicts_with(&Resource::Udp(local)));
    }
}
