//! Options of the `dedupe` transform.

use std::num::NonZeroUsize;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_core::{BuildError, DataType, LogSchema, Output, Transform, TransformConfig, TransformContext};
use vrl::path::{OwnedValuePath, parse_value_path};

pub(super) const EXAMPLE: &str = r#"type = "dedupe"
inputs = ["my_source"]
fields.match = ["message", "host"]
cache.num_events = 5000
"#;

/// The default `cache.num_events`.
pub const DEFAULT_NUM_EVENTS: usize = 5000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupeConfig {
    /// Which fields make two events the same. Default: `match` on the log schema's `timestamp`,
    /// `host` and `message` fields.
    #[serde(default)]
    pub fields: FieldsConfig,
    /// How many events to remember.
    #[serde(default)]
    pub cache: CacheConfig,
}

/// Set one of `match` and `ignore`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldsConfig {
    /// Field paths compared; events equal on all of them are repeats. Default: see `fields`.
    #[serde(default, rename = "match")]
    pub match_fields: Option<Vec<String>>,
    /// Field paths left out; events equal on every other field are repeats. Default: none.
    #[serde(default)]
    pub ignore: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// The most events remembered; the least recently seen is forgotten first. Default: 5000.
    #[serde(default = "default_num_events")]
    pub num_events: NonZeroUsize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self { num_events: default_num_events() }
    }
}

fn default_num_events() -> NonZeroUsize {
    NonZeroUsize::new(DEFAULT_NUM_EVENTS).unwrap_or(NonZeroUsize::MIN)
}

/// What the running transform compares.
pub(super) enum Comparison {
    Match(Vec<OwnedValuePath>),
    Ignore(Vec<OwnedValuePath>),
}

impl DedupeConfig {
    pub(super) fn comparison(&self, schema: &LogSchema) -> Result<Comparison, String> {
        let paths = |option: &str, fields: &[String]| -> Result<Vec<OwnedValuePath>, String> {
            fields
                .iter()
                .map(|field| match parse_value_path(field) {
                    Ok(path) if !path.is_root() => Ok(path),
                    _ => Err(format!("option `fields.{option}`: `{field}` is not a field path")),
                })
                .collect()
        };
        match (&self.fields.match_fields, &self.fields.ignore) {
            (Some(_), Some(_)) => Err("options `fields.match` and `fields.ignore`: set only one".to_owned()),
            (Some(fields), None) if fields.is_empty() => {
                Err("option `fields.match`: list at least one field".to_owned())
            }
            (Some(fields), None) => paths("match", fields).map(Comparison::Match),
            (None, Some(fields)) => paths("ignore", fields).map(Comparison::Ignore),
            (None, None) => {
                let defaults =
                    [&schema.timestamp_key, &schema.host_key, &schema.message_key].map(String::clone);
                paths("match", &defaults).map(Comparison::Match)
            }
        }
    }
}

#[async_trait]
impl TransformConfig for DedupeConfig {
    async fn build(&self, cx: &TransformContext) -> Result<Transform, BuildError> {
        let comparison = self.comparison(&cx.globals.log_schema).map_err(BuildError::new)?;
        let dedupe = super::transform::Dedupe::new(comparison, self.cache.num_events.get(), cx);
        Ok(Transform::Sync(Box::new(dedupe)))
    }

    fn input(&self) -> DataType {
        DataType::LOG
    }

    fn outputs(&self, input: DataType) -> Vec<Output> {
        vec![Output::default(input)]
    }

    fn validate(&self) -> Vec<String> {
        // The log schema only matters when neither list is set, and then any schema is valid.
        match self.comparison(&LogSchema::default()) {
            Ok(_) => Vec::new(),
            Err(problem) => vec![problem],
        }
    }
}
