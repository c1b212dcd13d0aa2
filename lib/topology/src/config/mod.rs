//! The pipeline config: its model, how it is loaded from text, and how it is validated.
//!
//! Loading never stops at the first problem: every error is collected, each naming the file, the
//! component and the option, so one run of `agent validate` shows all there is to fix.

mod graph;
mod interpolate;
mod load;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use strata_core::config::{SinkRegistration, SourceRegistration, TransformRegistration};
use strata_core::{
    BufferConfig, ComponentKey, ComponentKind, ComponentMeta, DataType, LogSchema, OutputId, SinkConfig,
    SourceConfig, TransformConfig,
};

pub use graph::{Graph, disk_buffer_bytes};
pub use interpolate::{Interpolated, interpolate};
pub use load::{ConfigFile, Format, LoadOptions, load};

/// Every component type the agent knows, one static list per component crate.
#[derive(Clone, Copy)]
pub struct Registry {
    pub sources: &'static [SourceRegistration],
    pub transforms: &'static [TransformRegistration],
    pub sinks: &'static [SinkRegistration],
}

impl Registry {
    pub fn type_names(&self, kind: ComponentKind) -> Vec<&'static str> {
        match kind {
            ComponentKind::Source => self.sources.iter().map(|r| r.type_name).collect(),
            ComponentKind::Transform => self.transforms.iter().map(|r| r.type_name).collect(),
            ComponentKind::Sink => self.sinks.iter().map(|r| r.type_name).collect(),
        }
    }
}

/// A problem in the config, located as precisely as it can be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    pub component: Option<(ComponentKind, String)>,
    /// The option, such as `encoding.codec`.
    pub key: Option<String>,
    pub message: String,
}

impl ConfigError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { file: None, component: None, key: None, message: message.into() }
    }

    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub fn in_component(mut self, kind: ComponentKind, id: impl Into<String>) -> Self {
        self.component = Some((kind, id.into()));
        self
    }

    pub fn at_key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        self.key = if key.is_empty() { None } else { Some(key) };
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        if let Some((kind, id)) = &self.component {
            write!(f, "{}.{}: ", kind.table(), id)?;
        }
        if let Some(key) = &self.key {
            write!(f, "option `{key}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The `[api]` table: the admin listener with `/health` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Serve `/health` and `/metrics`. Default: false, as in Vector.
    #[serde(default)]
    pub enabled: bool,
    /// Where to listen. Default: `127.0.0.1:8686` (loopback only).
    #[serde(default = "default_api_address")]
    pub address: SocketAddr,
    /// Accepted for compatibility with Vector configs; Strata has no GraphQL playground.
    #[serde(default)]
    pub playground: bool,
}

fn default_api_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8686))
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self { enabled: false, address: default_api_address(), playground: false }
    }
}

/// `acknowledgements = true` or `acknowledgements.enabled = true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AckSetting {
    Flag(bool),
    Table {
        #[serde(default)]
        enabled: Option<bool>,
    },
}

impl AckSetting {
    pub fn enabled(self) -> Option<bool> {
        match self {
            AckSetting::Flag(flag) => Some(flag),
            AckSetting::Table { enabled } => enabled,
        }
    }
}

/// `[healthchecks]`: whether sinks check their destination at start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthchecksConfig {
    /// Run sink healthchecks at start. Default: true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Refuse to start when a healthcheck fails. Default: false.
    #[serde(default)]
    pub require_healthy: bool,
}

fn yes() -> bool {
    true
}

impl Default for HealthchecksConfig {
    fn default() -> Self {
        Self { enabled: true, require_healthy: false }
    }
}

/// The top-level options of a config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Where components keep state: checkpoints, disk buffers. Default: none (components that
    /// need it say so).
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub api: ApiConfig,
    /// Whether sinks acknowledge delivery to sources by default. Default: false.
    #[serde(default)]
    pub acknowledgements: Option<AckSetting>,
    /// The default time zone, an IANA name or `local`. Default: `local`.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub log_schema: LogSchema,
    /// Forget internal metrics not updated for this long. Default: never.
    #[serde(default)]
    pub expire_metrics_secs: Option<f64>,
    #[serde(default)]
    pub healthchecks: HealthchecksConfig,
}

/// One component as configured: its common options and its type's own config.
pub struct ComponentEntry<T: ?Sized> {
    pub meta: ComponentMeta,
    /// `inputs` as written: component ids, aliases, globs, and `<id>.<output>` for a named
    /// output, such as a `route`'s, `remap`'s `<id>.dropped`, or any sink's `<id>.rejected` (the
    /// events its destination refused for good, each annotated under `metadata.dead_letter`).
    /// Globs match default outputs only.
    pub inputs: Vec<String>,
    /// `inputs` resolved to outputs (aliases, globs and `id.port` expanded).
    pub resolved_inputs: Vec<OutputId>,
    pub aliases: Vec<String>,
    pub buffer: BufferConfig,
    pub acknowledgements: Option<bool>,
    pub file: PathBuf,
    /// Everything that defines the running component except its inputs, to tell on reload
    /// whether it changed.
    pub fingerprint: serde_json::Value,
    pub inner: Box<T>,
}

impl<T: ?Sized> fmt::Debug for ComponentEntry<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentEntry").field("meta", &self.meta).field("inputs", &self.inputs).finish()
    }
}

/// A loaded, validated pipeline.
#[derive(Debug, Default)]
pub struct Config {
    pub global: GlobalConfig,
    pub sources: BTreeMap<ComponentKey, ComponentEntry<dyn SourceConfig>>,
    pub transforms: BTreeMap<ComponentKey, ComponentEntry<dyn TransformConfig>>,
    pub sinks: BTreeMap<ComponentKey, ComponentEntry<dyn SinkConfig>>,
    /// Problems that do not stop the pipeline (a source nobody reads, a glob that matches nothing).
    pub warnings: Vec<ConfigError>,
    /// The data type flowing out of every output, worked out during validation.
    pub output_types: BTreeMap<OutputId, DataType>,
}

impl Config {
    pub fn global_acknowledgements(&self) -> bool {
        self.global.acknowledgements.and_then(AckSetting::enabled).unwrap_or(false)
    }

    /// The sink's effective `acknowledgements.enabled`.
    pub fn sink_acknowledges(&self, key: &ComponentKey) -> bool {
        self.sinks
            .get(key)
            .and_then(|sink| sink.acknowledgements)
            .unwrap_or_else(|| self.global_acknowledgements())
    }

    pub fn component_meta(&self) -> impl Iterator<Item = &ComponentMeta> {
        self.sources
            .values()
            .map(|c| &c.meta)
            .chain(self.transforms.values().map(|c| &c.meta))
            .chain(self.sinks.values().map(|c| &c.meta))
    }

    /// `(input, consumer)` for every edge of the graph.
    pub fn edges(&self) -> Vec<(OutputId, ComponentKey)> {
        let transforms = self.transforms.iter().map(|(key, entry)| (key, &entry.resolved_inputs));
        let sinks = self.sinks.iter().map(|(key, entry)| (key, &entry.resolved_inputs));
        transforms
            .chain(sinks)
            .flat_map(|(key, inputs)| inputs.iter().map(move |input| (input.clone(), key.clone())))
            .collect()
    }
}
