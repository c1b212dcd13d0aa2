//! From config text to a validated [`Config`]: interpolate, parse, merge, build, validate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use strata_core::config::{ConfigParseError, nearest, suggest_variant};
use strata_core::{BufferConfig, ComponentKey, ComponentKind, ComponentMeta};

use super::{ComponentEntry, Config, ConfigError, GlobalConfig, Registry, graph, interpolate::interpolate};

/// The format of a config file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
    Json,
}

impl Format {
    /// `.yaml`/`.yml` and `.json` by extension; everything else is TOML.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("yaml" | "yml") => Format::Yaml,
            Some("json") => Format::Json,
            _ => Format::Toml,
        }
    }
}

/// One config file's text, read by the agent.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub text: String,
    /// For a file under `--config-dir`'s `sources/`, `transforms/` or `sinks/`: the file is one
    /// component's table, and its id is the file stem.
    pub component: Option<(ComponentKind, String)>,
}

impl ConfigFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self { path: path.into(), text: text.into(), component: None }
    }
}

pub struct LoadOptions<'a> {
    /// Replace `${VAR}` and friends with the environment's values.
    pub interpolate: bool,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

const GLOBAL_KEYS: &[&str] =
    &["data_dir", "api", "acknowledgements", "timezone", "log_schema", "expire_metrics_secs", "healthchecks"];

struct RawComponent {
    kind: ComponentKind,
    id: String,
    file: PathBuf,
    table: Value,
}

/// Loads and validates a pipeline from its files. On failure, returns every error found.
pub fn load(
    files: &[ConfigFile],
    registry: &Registry,
    options: &LoadOptions<'_>,
) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut secrets = Vec::new();
    let mut components: BTreeMap<String, RawComponent> = BTreeMap::new();
    let mut globals: Map<String, Value> = Map::new();
    let mut global_origin: BTreeMap<String, PathBuf> = BTreeMap::new();

    for file in files {
        let text = if options.interpolate {
            let result = interpolate(&file.text, options.env);
            errors.extend(result.errors.into_iter().map(|e| ConfigError::new(e).in_file(&file.path)));
            secrets.extend(result.secrets);
            result.text
        } else {
            file.text.clone()
        };
        let parsed = match parse_text(&text, &file.text, Format::from_path(&file.path)) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                errors.push(
                    ConfigError::new("the config must be a table at the top level").in_file(&file.path),
                );
                continue;
            }
            Err(message) => {
                errors.push(ConfigError::new(message).in_file(&file.path));
                continue;
            }
        };
        if let Some((kind, id)) = &file.component {
            add_component(&mut components, &mut errors, *kind, id.clone(), &file.path, Value::Object(parsed));
            continue;
        }
        for (key, value) in parsed {
            let kind = match key.as_str() {
                "sources" => ComponentKind::Source,
                "transforms" => ComponentKind::Transform,
                "sinks" => ComponentKind::Sink,
                global if GLOBAL_KEYS.contains(&global) => {
                    if let Some(previous) = globals.get(global) {
                        if previous != &value {
                            let first = global_origin[global].display().to_string();
                            errors.push(
                                ConfigError::new(format!("`{global}` is also set, differently, in {first}"))
                                    .in_file(&file.path)
                                    .at_key(global),
                            );
                        }
                    } else {
                        global_origin.insert(global.to_owned(), file.path.clone());
                        globals.insert(global.to_owned(), value);
                    }
                    continue;
                }
                unknown => {
                    let all: Vec<String> = GLOBAL_KEYS
                        .iter()
                        .chain(&["sources", "transforms", "sinks"])
                        .map(|k| k.to_string())
                        .collect();
                    let hint =
                        nearest(unknown, &all).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
                    errors.push(
                        ConfigError::new(format!("unknown top-level key{hint}"))
                            .in_file(&file.path)
                            .at_key(unknown),
                    );
                    continue;
                }
            };
            let Value::Object(table) = value else {
                errors.push(
                    ConfigError::new(format!("`{key}` must be a table of components")).in_file(&file.path),
                );
                continue;
            };
            for (id, component) in table {
                add_component(&mut components, &mut errors, kind, id, &file.path, component);
            }
        }
    }

    let mut config = Config::default();
    match strata_core::parse_options::<GlobalConfig>(Value::Object(globals)) {
        Ok(global) => config.global = global,
        Err(error) => {
            let file = global_origin.get(error.key.split('.').next().unwrap_or_default()).cloned();
            let mut located = ConfigError::new(error.to_string()).at_key(error.key.clone());
            located.file = file;
            errors.push(located);
        }
    }
    // Components that could not be built are already reported; inputs naming them are not
    // reported again as dangling.
    let mut unbuilt = std::collections::BTreeSet::new();
    for raw in components.into_values() {
        let id = raw.id.clone();
        build_component(&mut config, raw, registry, &mut errors);
        let key = ComponentKey::new(&id);
        let built = config.sources.contains_key(&key)
            || config.transforms.contains_key(&key)
            || config.sinks.contains_key(&key);
        if !built {
            unbuilt.insert(id);
        }
    }
    graph::validate(&mut config, &mut errors, &unbuilt);

    if errors.is_empty() {
        Ok(config)
    } else {
        scrub(&mut errors, &secrets);
        Err(errors)
    }
}

/// Removes interpolated values from messages: a secret in an env var must not reach a log.
fn scrub(errors: &mut [ConfigError], secrets: &[String]) {
    for error in errors {
        for secret in secrets.iter().filter(|secret| secret.len() >= 4) {
            if error.message.contains(secret.as_str()) {
                error.message = error.message.replace(secret.as_str(), "<redacted>");
            }
        }
    }
}

fn parse_text(text: &str, original: &str, format: Format) -> Result<Value, String> {
    match format {
        Format::Toml => toml::from_str::<Value>(text).map_err(|error| {
            // toml's own message quotes the offending line of the interpolated text, which may
            // hold a secret; quote the line as written in the file instead.
            let line = error.span().map(|span| text[..span.start].matches('\n').count() + 1);
            match line {
                Some(line) => {
                    let written = original.lines().nth(line - 1).unwrap_or_default().trim();
                    format!("invalid TOML at line {line} (`{written}`): {}", error.message())
                }
                None => format!("invalid TOML: {}", error.message()),
            }
        }),
        Format::Yaml => {
            serde_yaml_ng::from_str::<Value>(text).map_err(|error| format!("invalid YAML: {error}"))
        }
        Format::Json => serde_json::from_str::<Value>(text).map_err(|error| format!("invalid JSON: {error}")),
    }
}

fn add_component(
    components: &mut BTreeMap<String, RawComponent>,
    errors: &mut Vec<ConfigError>,
    kind: ComponentKind,
    id: String,
    file: &Path,
    table: Value,
) {
    if id.is_empty() || id.contains(['.', ' ', '*', '?', '[', ']']) {
        errors.push(
            ConfigError::new("component ids may not be empty or contain `.`, spaces or glob characters")
                .in_file(file)
                .in_component(kind, &id),
        );
        return;
    }
    if let Some(existing) = components.get(&id) {
        let message = if existing.file == file {
            format!("duplicate id: also defined as {}.{id} in the same file", existing.kind.table())
        } else {
            format!(
                "duplicate id: also defined as {}.{id} in {}",
                existing.kind.table(),
                existing.file.display()
            )
        };
        errors.push(ConfigError::new(message).in_file(file).in_component(kind, &id));
        return;
    }
    components.insert(id.clone(), RawComponent { kind, id, file: file.to_path_buf(), table });
}

/// Reads a common option (not part of the type's own config) out of the table.
fn take<T: serde::de::DeserializeOwned>(
    table: &mut Map<String, Value>,
    key: &str,
    errors: &mut Vec<ConfigError>,
    locate: &dyn Fn(ConfigError) -> ConfigError,
) -> Option<T> {
    let value = table.remove(key)?;
    match strata_core::parse_options::<T>(value) {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            let key = if error.key.is_empty() { key.to_owned() } else { format!("{key}.{}", error.key) };
            let mut message = error.to_string();
            if let Some(suggestion) = suggest_variant(&error.message) {
                message = format!("{} (did you mean `{suggestion}`?)", error.message);
            }
            errors.push(locate(ConfigError::new(message).at_key(key)));
            None
        }
    }
}

fn build_component(
    config: &mut Config,
    raw: RawComponent,
    registry: &Registry,
    errors: &mut Vec<ConfigError>,
) {
    let RawComponent { kind, id, file, table } = raw;
    let locate = |error: ConfigError| error.in_file(&file).in_component(kind, &id);
    let Value::Object(mut table) = table else {
        errors.push(locate(ConfigError::new("a component must be a table")));
        return;
    };
    let fingerprint = {
        let mut copy = table.clone();
        copy.remove("inputs");
        Value::Object(copy)
    };
    let type_name = match table.remove("type") {
        Some(Value::String(type_name)) => type_name,
        Some(_) => return errors.push(locate(ConfigError::new("must be a string").at_key("type"))),
        None => return errors.push(locate(ConfigError::new("missing `type`").at_key("type"))),
    };
    let inputs: Option<Vec<String>> = take(&mut table, "inputs", errors, &locate);
    let name: Option<String> = take(&mut table, "name", errors, &locate);
    let aliases: Vec<String> = take(&mut table, "aliases", errors, &locate).unwrap_or_default();
    let category: Option<String> = take(&mut table, "category", errors, &locate);
    let tags: BTreeMap<String, String> = take(&mut table, "tags", errors, &locate).unwrap_or_default();
    let buffer: Option<BufferConfig> =
        if kind == ComponentKind::Source { None } else { take(&mut table, "buffer", errors, &locate) };
    let acknowledgements: Option<super::AckSetting> = if kind == ComponentKind::Sink {
        take(&mut table, "acknowledgements", errors, &locate)
    } else {
        None
    };
    match (kind, &inputs) {
        (ComponentKind::Source, Some(_)) => {
            errors.push(locate(ConfigError::new("sources take no `inputs`").at_key("inputs")));
        }
        (ComponentKind::Transform | ComponentKind::Sink, None) => {
            errors.push(locate(
                ConfigError::new("missing `inputs`: list the components this one reads from")
                    .at_key("inputs"),
            ));
        }
        (ComponentKind::Transform | ComponentKind::Sink, Some(list)) if list.is_empty() => {
            errors.push(locate(ConfigError::new("`inputs` is empty").at_key("inputs")));
        }
        _ => {}
    }
    if kind == ComponentKind::Source && table.contains_key("buffer") {
        errors.push(locate(
            ConfigError::new("sources have no `buffer`; set it on the components that read them")
                .at_key("buffer"),
        ));
        table.remove("buffer");
    }

    let Some(static_type) = registry.type_names(kind).into_iter().find(|known| *known == type_name) else {
        let known = registry.type_names(kind);
        let candidates: Vec<String> = known.iter().map(|k| k.to_string()).collect();
        let hint =
            nearest(&type_name, &candidates).map(|n| format!("; did you mean `{n}`?")).unwrap_or_default();
        errors.push(locate(
            ConfigError::new(format!(
                "unknown {kind} type `{type_name}`{hint} (known: {})",
                known.join(", ")
            ))
            .at_key("type"),
        ));
        return;
    };
    let mut meta = ComponentMeta::new(ComponentKey::new(&id), kind, static_type);
    meta.name = name;
    meta.category = category;
    meta.tags = tags;
    let options = Value::Object(table);
    let report = |error: ConfigParseError, errors: &mut Vec<ConfigError>| {
        let mut message = error.to_string();
        if error.suggestion.is_none()
            && let Some(suggestion) = suggest_variant(&error.message)
        {
            message = format!("{} (did you mean `{suggestion}`?)", error.message);
        }
        errors.push(locate(ConfigError::new(message).at_key(error.key)));
    };
    let key = ComponentKey::new(&id);
    let shared = Shared {
        inputs: inputs.unwrap_or_default(),
        aliases,
        buffer: buffer.unwrap_or_default(),
        acknowledgements: acknowledgements.and_then(super::AckSetting::enabled),
        file: file.clone(),
        fingerprint,
    };
    match kind {
        ComponentKind::Source => {
            let Some(registration) = registry.sources.iter().find(|r| r.type_name == static_type) else {
                return;
            };
            match (registration.parse)(options) {
                Ok(parsed) => {
                    errors.extend(parsed.validate().into_iter().map(|m| locate(ConfigError::new(m))));
                    config.sources.insert(key, shared.entry(meta, parsed));
                }
                Err(error) => report(error, errors),
            }
        }
        ComponentKind::Transform => {
            let Some(registration) = registry.transforms.iter().find(|r| r.type_name == static_type) else {
                return;
            };
            match (registration.parse)(options) {
                Ok(parsed) => {
                    errors.extend(parsed.validate().into_iter().map(|m| locate(ConfigError::new(m))));
                    config.transforms.insert(key, shared.entry(meta, parsed));
                }
                Err(error) => report(error, errors),
            }
        }
        ComponentKind::Sink => {
            let Some(registration) = registry.sinks.iter().find(|r| r.type_name == static_type) else {
                return;
            };
            match (registration.parse)(options) {
                Ok(parsed) => {
                    errors.extend(parsed.validate().into_iter().map(|m| locate(ConfigError::new(m))));
                    config.sinks.insert(key, shared.entry(meta, parsed));
                }
                Err(error) => report(error, errors),
            }
        }
    }
}

/// The common options of one component, shared by whichever kind it turns out to be.
struct Shared {
    inputs: Vec<String>,
    aliases: Vec<String>,
    buffer: BufferConfig,
    acknowledgements: Option<bool>,
    file: PathBuf,
    fingerprint: Value,
}

impl Shared {
    fn entry<T: ?Sized>(&self, meta: ComponentMeta, inner: Box<T>) -> ComponentEntry<T> {
        ComponentEntry {
            meta,
            inputs: self.inputs.clone(),
            resolved_inputs: Vec::new(),
            aliases: self.aliases.clone(),
            buffer: self.buffer.clone(),
            acknowledgements: self.acknowledgements,
            file: self.file.clone(),
            fingerprint: self.fingerprint.clone(),
            inner,
        }
    }
}
