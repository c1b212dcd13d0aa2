//! The pipeline graph: resolving `inputs`, checking for cycles, data types and shared resources,
//! and drawing the graph for `agent graph`.

use std::collections::{BTreeMap, BTreeSet};

use globset::Glob;
use strata_core::config::nearest;
use strata_core::{ComponentKey, ComponentKind, DataType, OutputId, REJECTED_OUTPUT, Resource};

use super::{Config, ConfigError};

/// Every output of every source and transform, with the ports named by each component.
struct Outputs {
    /// component id -> (kind, named ports, has default output)
    components: BTreeMap<String, (ComponentKind, Vec<String>, bool)>,
    /// alias -> id
    aliases: BTreeMap<String, String>,
}

fn collect_outputs(config: &Config, errors: &mut Vec<ConfigError>) -> Outputs {
    let mut outputs = Outputs { components: BTreeMap::new(), aliases: BTreeMap::new() };
    for (key, entry) in &config.sources {
        let declared = entry.inner.outputs();
        let ports = declared.iter().filter_map(|o| o.port.clone()).collect();
        let has_default = declared.iter().any(|o| o.port.is_none());
        outputs.components.insert(key.id().to_owned(), (ComponentKind::Source, ports, has_default));
    }
    for (key, entry) in &config.transforms {
        let declared = entry.inner.outputs(DataType::ALL);
        let ports = declared.iter().filter_map(|o| o.port.clone()).collect();
        let has_default = declared.iter().any(|o| o.port.is_none());
        outputs.components.insert(key.id().to_owned(), (ComponentKind::Transform, ports, has_default));
    }
    // A sink's only output is its dead-letter output, `<id>.rejected`.
    for key in config.sinks.keys() {
        let ports = vec![REJECTED_OUTPUT.to_owned()];
        outputs.components.insert(key.id().to_owned(), (ComponentKind::Sink, ports, false));
    }
    let aliased = config
        .sources
        .iter()
        .map(|(k, e)| (k, ComponentKind::Source, &e.aliases, &e.file))
        .chain(config.transforms.iter().map(|(k, e)| (k, ComponentKind::Transform, &e.aliases, &e.file)));
    for (key, kind, aliases, file) in aliased {
        for alias in aliases {
            let taken = outputs.components.contains_key(alias)
                || config.sinks.contains_key(&ComponentKey::new(alias));
            if taken || outputs.aliases.contains_key(alias) {
                errors.push(
                    ConfigError::new(format!(
                        "alias `{alias}` is already the id or alias of another component"
                    ))
                    .in_file(file)
                    .in_component(kind, key.id())
                    .at_key("aliases"),
                );
            } else {
                outputs.aliases.insert(alias.clone(), key.id().to_owned());
            }
        }
    }
    outputs
}

fn is_glob(input: &str) -> bool {
    input.contains(['*', '?', '[', '{'])
}

/// Resolves one `inputs` entry of `consumer` to outputs.
fn resolve(input: &str, consumer: &str, outputs: &Outputs) -> Result<Vec<OutputId>, String> {
    if is_glob(input) {
        let matcher = Glob::new(input).map_err(|e| format!("invalid glob `{input}`: {e}"))?.compile_matcher();
        let matched = outputs
            .components
            .iter()
            .filter(|(id, (_, _, has_default))| {
                *has_default && id.as_str() != consumer && matcher.is_match(id.as_str())
            })
            .map(|(id, _)| OutputId::default_of(ComponentKey::new(id)))
            .collect();
        return Ok(matched);
    }
    let (name, port) = match input.split_once('.') {
        Some((name, port)) => (name, Some(port)),
        None => (input, None),
    };
    let id = outputs.aliases.get(name).map(String::as_str).unwrap_or(name);
    let Some((kind, ports, has_default)) = outputs.components.get(id) else {
        let candidates: Vec<String> =
            outputs.components.keys().chain(outputs.aliases.keys()).cloned().collect();
        let hint = nearest(name, &candidates).map(|n| format!("; did you mean `{n}`?")).unwrap_or_default();
        return Err(format!("input `{input}` matches no source or transform{hint}"));
    };
    if id == consumer {
        return Err(format!("component lists itself (`{input}`) as an input"));
    }
    match port {
        Some(port) if ports.iter().any(|p| p == port) => {
            Ok(vec![OutputId { component: ComponentKey::new(id), port: Some(port.to_owned()) }])
        }
        Some(port) => Err(format!("`{id}` has no output named `{port}` (its outputs: {})", ports.join(", "))),
        None if *has_default => Ok(vec![OutputId::default_of(ComponentKey::new(id))]),
        None if *kind == ComponentKind::Sink => Err(format!(
            "input `{input}` is a sink; a sink's only output is `{id}.{REJECTED_OUTPUT}`, the events its destination refused"
        )),
        None => Err(format!(
            "`{id}` has only named outputs; use one of: {}",
            ports.iter().map(|p| format!("{id}.{p}")).collect::<Vec<_>>().join(", ")
        )),
    }
}

pub(super) fn validate(config: &mut Config, errors: &mut Vec<ConfigError>, unbuilt: &BTreeSet<String>) {
    let outputs = collect_outputs(config, errors);

    // Resolve every consumer's inputs.
    let mut resolved: BTreeMap<(ComponentKind, ComponentKey), Vec<OutputId>> = BTreeMap::new();
    let consumers: Vec<(ComponentKind, ComponentKey, Vec<String>, std::path::PathBuf)> = config
        .transforms
        .iter()
        .map(|(k, e)| (ComponentKind::Transform, k.clone(), e.inputs.clone(), e.file.clone()))
        .chain(
            config
                .sinks
                .iter()
                .map(|(k, e)| (ComponentKind::Sink, k.clone(), e.inputs.clone(), e.file.clone())),
        )
        .collect();
    for (kind, key, inputs, file) in &consumers {
        let mut list = Vec::new();
        for input in inputs {
            match resolve(input, key.id(), &outputs) {
                Ok(found) if found.is_empty() => config.warnings.push(
                    ConfigError::new(format!("input glob `{input}` matches no component"))
                        .in_file(file)
                        .in_component(*kind, key.id())
                        .at_key("inputs"),
                ),
                Ok(found) => {
                    for output in found {
                        if !list.contains(&output) {
                            list.push(output);
                        }
                    }
                }
                // The input's own error was reported where it is defined.
                Err(_)
                    if unbuilt.contains(input.split_once('.').map_or(input.as_str(), |(name, _)| name)) => {}
                Err(message) => errors.push(
                    ConfigError::new(message).in_file(file).in_component(*kind, key.id()).at_key("inputs"),
                ),
            }
        }
        resolved.insert((*kind, key.clone()), list);
    }
    for ((kind, key), list) in resolved {
        match kind {
            ComponentKind::Transform => config.transforms.get_mut(&key).map(|e| e.resolved_inputs = list),
            _ => config.sinks.get_mut(&key).map(|e| e.resolved_inputs = list),
        };
    }

    // Data types flow in graph order, which a cycle does not have; the other checks still run so
    // that every problem is reported at once.
    match topological_order(config) {
        Ok(order) => check_types(config, &order, errors),
        Err(cycle) => {
            let through_sink = cycle.iter().any(|id| config.sinks.contains_key(&ComponentKey::new(id)));
            let what = if through_sink { "components" } else { "transforms" };
            errors.push(ConfigError::new(format!("the {what} form a cycle: {}", cycle.join(" -> "))))
        }
    }
    check_resources(config, errors);
    check_disk_buffers(config, errors);
    warn_unconsumed(config);
}

/// Disk buffers live under `data_dir`, so they need one; and their options must agree.
fn check_disk_buffers(config: &Config, errors: &mut Vec<ConfigError>) {
    let consumers = config
        .transforms
        .iter()
        .map(|(k, e)| (ComponentKind::Transform, k, &e.buffer, &e.file))
        .chain(config.sinks.iter().map(|(k, e)| (ComponentKind::Sink, k, &e.buffer, &e.file)));
    for (kind, key, buffer, file) in consumers {
        for (at_key, problem) in buffer.problems() {
            errors.push(ConfigError::new(problem).in_file(file).in_component(kind, key.id()).at_key(at_key));
        }
        if config.global.data_dir.is_none() && matches!(buffer, strata_core::BufferConfig::Disk { .. }) {
            errors.push(
                ConfigError::new("a disk buffer needs the top-level `data_dir` to be set")
                    .in_file(file)
                    .in_component(kind, key.id())
                    .at_key("buffer.type"),
            );
        }
    }
}

/// The summed `max_size` of every disk buffer, for a free-space check.
pub fn disk_buffer_bytes(config: &Config) -> u64 {
    let buffers =
        config.transforms.values().map(|e| &e.buffer).chain(config.sinks.values().map(|e| &e.buffer));
    buffers
        .map(|buffer| match buffer {
            strata_core::BufferConfig::Disk { max_size, .. } => *max_size,
            strata_core::BufferConfig::Memory { .. } => 0,
        })
        .sum()
}

/// Transforms ordered so every transform comes after the transforms it reads from, or a cycle
/// (which may run through a sink's `rejected` output).
fn topological_order(config: &Config) -> Result<Vec<ComponentKey>, Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit(
        key: &ComponentKey,
        config: &Config,
        marks: &mut BTreeMap<ComponentKey, Mark>,
        order: &mut Vec<ComponentKey>,
        path: &mut Vec<String>,
    ) -> Result<(), Vec<String>> {
        match marks.get(key) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Visiting) => {
                let start = path.iter().position(|p| p == key.id()).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(key.id().to_owned());
                return Err(cycle);
            }
            None => {}
        }
        marks.insert(key.clone(), Mark::Visiting);
        path.push(key.id().to_owned());
        // Sinks have an output too (`<id>.rejected`), so a cycle may run through them.
        let inputs = match config.transforms.get(key) {
            Some(entry) => Some(&entry.resolved_inputs),
            None => config.sinks.get(key).map(|entry| &entry.resolved_inputs),
        };
        for input in inputs.into_iter().flatten() {
            if config.transforms.contains_key(&input.component) || config.sinks.contains_key(&input.component)
            {
                visit(&input.component, config, marks, order, path)?;
            }
        }
        path.pop();
        marks.insert(key.clone(), Mark::Done);
        if config.transforms.contains_key(key) {
            order.push(key.clone());
        }
        Ok(())
    }
    let mut marks = BTreeMap::new();
    let mut order = Vec::new();
    for key in config.transforms.keys().chain(config.sinks.keys()) {
        visit(key, config, &mut marks, &mut order, &mut Vec::new())?;
    }
    Ok(order)
}

fn check_types(config: &mut Config, order: &[ComponentKey], errors: &mut Vec<ConfigError>) {
    let mut types: BTreeMap<OutputId, DataType> = BTreeMap::new();
    for (key, entry) in &config.sources {
        for output in entry.inner.outputs() {
            types.insert(OutputId { component: key.clone(), port: output.port }, output.data_type);
        }
    }
    // A sink can only reject what it accepts; that is what its `rejected` output carries.
    for (key, entry) in &config.sinks {
        let port = Some(REJECTED_OUTPUT.to_owned());
        types.insert(OutputId { component: key.clone(), port }, entry.inner.input());
    }
    let mismatch = |input: &OutputId, carried: DataType, accepted: DataType, type_name: &str| {
        format!("input `{input}` carries {carried}, but `{type_name}` accepts only {accepted}")
    };
    for key in order {
        let entry = &config.transforms[key];
        let accepted = entry.inner.input();
        let mut reaching = DataType::NONE;
        for input in &entry.resolved_inputs {
            let carried = types.get(input).copied().unwrap_or(DataType::ALL);
            if !carried.intersects(accepted) {
                errors.push(
                    ConfigError::new(mismatch(input, carried, accepted, entry.meta.type_name))
                        .in_file(&entry.file)
                        .in_component(ComponentKind::Transform, key.id())
                        .at_key("inputs"),
                );
            }
            reaching = reaching.union(carried);
        }
        for output in entry.inner.outputs(reaching) {
            types.insert(OutputId { component: key.clone(), port: output.port }, output.data_type);
        }
    }
    for (key, entry) in &config.sinks {
        let accepted = entry.inner.input();
        for input in &entry.resolved_inputs {
            let carried = types.get(input).copied().unwrap_or(DataType::ALL);
            if !carried.intersects(accepted) {
                errors.push(
                    ConfigError::new(mismatch(input, carried, accepted, entry.meta.type_name))
                        .in_file(&entry.file)
                        .in_component(ComponentKind::Sink, key.id())
                        .at_key("inputs"),
                );
            }
        }
    }
    config.output_types = types;
}

fn check_resources(config: &Config, errors: &mut Vec<ConfigError>) {
    let mut held: Vec<(ComponentKind, &ComponentKey, Resource, &std::path::Path)> = Vec::new();
    for (key, entry) in &config.sources {
        held.extend(
            entry
                .inner
                .resources()
                .into_iter()
                .map(|r| (ComponentKind::Source, key, r, entry.file.as_path())),
        );
    }
    for (key, entry) in &config.sinks {
        held.extend(
            entry.inner.resources().into_iter().map(|r| (ComponentKind::Sink, key, r, entry.file.as_path())),
        );
    }
    for (index, (kind, key, resource, file)) in held.iter().enumerate() {
        for (other_kind, other_key, other, _) in &held[..index] {
            if resource.conflicts_with(other) {
                errors.push(
                    ConfigError::new(format!(
                        "{resource} is also used by {}.{other_key}",
                        other_kind.table()
                    ))
                    .in_file(*file)
                    .in_component(*kind, key.id()),
                );
            }
        }
    }
}

fn warn_unconsumed(config: &mut Config) {
    let consumed: BTreeSet<ComponentKey> =
        config.edges().into_iter().map(|(input, _)| input.component).collect();
    let mut warnings = Vec::new();
    for (key, entry) in &config.sources {
        if !consumed.contains(key) {
            warnings.push(
                ConfigError::new("no transform or sink reads from this source")
                    .in_file(&entry.file)
                    .in_component(ComponentKind::Source, key.id()),
            );
        }
    }
    for (key, entry) in &config.transforms {
        if !consumed.contains(key) {
            warnings.push(
                ConfigError::new("no transform or sink reads from this transform")
                    .in_file(&entry.file)
                    .in_component(ComponentKind::Transform, key.id()),
            );
        }
    }
    config.warnings.extend(warnings);
}

/// Draws a validated config for `agent graph`.
pub struct Graph;

impl Graph {
    fn label(config: &Config, key: &ComponentKey) -> (String, &'static str, &'static str) {
        let find = |kind| config.component_meta().find(|m| &m.key == key && m.kind == kind);
        let (meta, shape) = if let Some(meta) = find(ComponentKind::Source) {
            (meta, "trapezium")
        } else if let Some(meta) = find(ComponentKind::Transform) {
            (meta, "diamond")
        } else if let Some(meta) = find(ComponentKind::Sink) {
            (meta, "invtrapezium")
        } else {
            return (key.id().to_owned(), "box", "");
        };
        let name = meta.name.clone().unwrap_or_else(|| key.id().to_owned());
        (format!("{name}\\n({})", meta.type_name), shape, meta.kind.as_str())
    }

    pub fn dot(config: &Config) -> String {
        let mut out = String::from("digraph {\n");
        for meta in config.component_meta() {
            let (label, shape, _) = Self::label(config, &meta.key);
            out.push_str(&format!("  \"{}\" [shape=\"{shape}\", label=\"{label}\"]\n", meta.key));
        }
        for (input, consumer) in config.edges() {
            match &input.port {
                Some(port) => {
                    out.push_str(&format!("  \"{}\" -> \"{consumer}\" [label=\"{port}\"]\n", input.component))
                }
                None => out.push_str(&format!("  \"{}\" -> \"{consumer}\"\n", input.component)),
            }
        }
        out.push_str("}\n");
        out
    }

    pub fn mermaid(config: &Config) -> String {
        let mut out = String::from("flowchart LR\n");
        for meta in config.component_meta() {
            let name = meta.name.clone().unwrap_or_else(|| meta.key.id().to_owned());
            let (open, close) = match meta.kind {
                ComponentKind::Source => ("[/", "/]"),
                ComponentKind::Transform => ("{", "}"),
                ComponentKind::Sink => ("[\\", "\\]"),
            };
            out.push_str(&format!("  {}{open}\"{name} ({})\"{close}\n", meta.key, meta.type_name));
        }
        for (input, consumer) in config.edges() {
            match &input.port {
                Some(port) => out.push_str(&format!("  {} -->|{port}| {consumer}\n", input.component)),
                None => out.push_str(&format!("  {} --> {consumer}\n", input.component)),
            }
        }
        out
    }
}
