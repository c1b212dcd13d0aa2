//! Compiling and running VRL programs against events, shared by `remap`, `filter` and `route`.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use strata_event::{Event, KeyString, Metric, ObjectMap, Value};
use vrl::compiler::runtime::{Runtime, Terminate};
use vrl::compiler::{CompileConfig, Function, Program, TargetValueRef, TimeZone, TypeState};
use vrl::diagnostic::Formatter;
use vrl::value::Secrets;

/// The VRL standard library, built once.
fn functions() -> &'static [Box<dyn Function>] {
    static FUNCTIONS: OnceLock<Vec<Box<dyn Function>>> = OnceLock::new();
    FUNCTIONS.get_or_init(vrl::stdlib::all)
}

/// A compiled program and what the compiler said about it.
pub struct Compiled {
    pub program: Arc<Program>,
    /// Warnings, formatted as VRL formats them.
    pub warnings: Option<String>,
}

/// Compiles `source`; on failure returns VRL's own diagnostic, formatted.
pub fn compile(source: &str) -> Result<Compiled, String> {
    let state = TypeState::default();
    match vrl::compiler::compile_with_state(source, functions(), &state, CompileConfig::default()) {
        Ok(result) => {
            let warnings =
                (!result.warnings.is_empty()).then(|| Formatter::new(source, result.warnings).to_string());
            Ok(Compiled { program: Arc::new(result.program), warnings })
        }
        Err(diagnostics) => Err(Formatter::new(source, diagnostics).to_string()),
    }
}

/// Parses a time zone option: an IANA name or `local`.
pub fn timezone(name: Option<&str>) -> Result<TimeZone, String> {
    match name {
        None => Ok(TimeZone::default()),
        Some(name) => TimeZone::parse(name).ok_or_else(|| format!("unknown time zone `{name}`")),
    }
}

/// Runs a program against events, one at a time.
pub struct Runner {
    pub program: Arc<Program>,
    timezone: TimeZone,
    runtime: Runtime,
}

impl Runner {
    pub fn new(program: Arc<Program>, timezone: TimeZone) -> Self {
        Self { program, timezone, runtime: Runtime::default() }
    }

    /// Another runner of the same program with its own runtime state.
    pub fn fork(&self) -> Self {
        Self::new(Arc::clone(&self.program), self.timezone)
    }

    /// Runs the program with `event` as its target, changing it in place. Returns the value of the
    /// program's last expression.
    pub fn run(&mut self, event: &mut Event) -> Result<Value, Terminate> {
        let mut secrets = Secrets::default();
        let result = match event {
            Event::Log(log) => {
                let (value, metadata) = log.parts_mut();
                let mut target =
                    TargetValueRef { value, metadata: metadata.value_mut(), secrets: &mut secrets };
                self.runtime.resolve(&mut target, &self.program, &self.timezone)
            }
            Event::Trace(trace) => {
                let (value, metadata) = trace.parts_mut();
                let mut target =
                    TargetValueRef { value, metadata: metadata.value_mut(), secrets: &mut secrets };
                self.runtime.resolve(&mut target, &self.program, &self.timezone)
            }
            Event::Metric(metric) => self.run_metric(metric, &mut secrets),
        };
        self.runtime.clear();
        result
    }

    /// Metrics are seen by VRL as `{name, namespace, tags, kind, type, timestamp}`; `name`,
    /// `namespace`, `tags` and `timestamp` may be changed.
    fn run_metric(&mut self, metric: &mut Metric, secrets: &mut Secrets) -> Result<Value, Terminate> {
        let mut view = metric_view(metric);
        let mut target =
            TargetValueRef { value: &mut view, metadata: metric.metadata_mut().value_mut(), secrets };
        let result = self.runtime.resolve(&mut target, &self.program, &self.timezone)?;
        apply_metric_view(metric, &view);
        Ok(result)
    }
}

fn metric_view(metric: &Metric) -> Value {
    let mut map = ObjectMap::new();
    map.insert("name".into(), Value::from(metric.name()));
    if let Some(namespace) = metric.namespace() {
        map.insert("namespace".into(), Value::from(namespace));
    }
    let tags: ObjectMap =
        metric.tags().iter().map(|(k, v)| (KeyString::from(k.as_str()), Value::from(v.as_str()))).collect();
    map.insert("tags".into(), Value::Object(tags));
    let kind = match metric.kind() {
        strata_event::MetricKind::Incremental => "incremental",
        strata_event::MetricKind::Absolute => "absolute",
    };
    map.insert("kind".into(), Value::from(kind));
    map.insert("type".into(), Value::from(metric.value().type_name()));
    if let Some(timestamp) = metric.timestamp() {
        map.insert("timestamp".into(), Value::Timestamp(timestamp));
    }
    Value::Object(map)
}

fn apply_metric_view(metric: &mut Metric, view: &Value) {
    let Some(map) = view.as_object() else { return };
    let text = |value: &Value| value.to_string_lossy().into_owned();
    let mut rebuilt = Metric::new(
        map.get("name").map(text).unwrap_or_else(|| metric.name().to_owned()),
        metric.kind(),
        metric.value().clone(),
    )
    .with_namespace(map.get("namespace").filter(|v| !v.is_null()).map(text))
    .with_timestamp(match map.get("timestamp") {
        Some(Value::Timestamp(timestamp)) => Some(*timestamp),
        _ => None,
    })
    .with_metadata(metric.metadata().clone());
    if let Some(Value::Object(tags)) = map.get("tags") {
        let tags: BTreeMap<String, String> = tags.iter().map(|(k, v)| (k.to_string(), text(v))).collect();
        rebuilt = rebuilt.with_tags(tags);
    }
    *metric = rebuilt;
}

/// A VRL condition: `condition = ".status >= 500"` or `{ type = "vrl", source = "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConditionConfig {
    Source(String),
    Typed {
        #[serde(rename = "type")]
        kind: ConditionType,
        source: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionType {
    Vrl,
}

impl ConditionConfig {
    pub fn source(&self) -> &str {
        match self {
            ConditionConfig::Source(source) | ConditionConfig::Typed { source, .. } => source,
        }
    }

    /// Compiles the condition and checks that it yields a boolean.
    pub fn compile(&self) -> Result<Arc<Program>, String> {
        let compiled = compile(self.source())?;
        let result = compiled.program.final_type_info().result;
        let kind = result.kind();
        if !kind.contains_boolean() {
            return Err(format!("the condition must return a boolean, but it returns {kind}"));
        }
        Ok(compiled.program)
    }
}

/// Evaluates a condition where a failure must not stop the event: a runtime error counts as
/// false, is counted in `component_errors_total` and logged at a bounded rate. `what` names the
/// condition in the log, such as "filter condition".
pub fn check_or_false(
    runner: &mut Runner,
    event: &mut Event,
    metrics: &strata_core::ComponentMetrics,
    limiter: &strata_core::RateLimitedLog,
    what: &str,
) -> bool {
    match check(runner, event) {
        Ok(matched) => matched,
        Err(error) => {
            metrics.error("condition_failed", "processing");
            if let Some(suppressed) = limiter.check() {
                tracing::warn!(suppressed, "{what} failed; taking it as false: {error}");
            }
            false
        }
    }
}

/// Evaluates a condition against the event itself, as Vector does: a condition that assigns
/// changes the event. Non-boolean results count as false.
pub fn check(runner: &mut Runner, event: &mut Event) -> Result<bool, Terminate> {
    runner.run(event).map(|value| matches!(value, Value::Boolean(true)))
}
