//! The `path` template of the `file` sink: strftime specifiers and `{{ field }}` references,
//! rendered per event, and the check that keeps a rendered path inside its base directory.

use std::fmt::Write as _;
use std::path::{Component, Path};

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, SecondsFormat, Utc};
use strata_codecs::encoding::metric_to_value;
use strata_event::{Event, Value};
use vrl::path::{OwnedValuePath, parse_value_path};

/// Why a `path` option does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("`{{{{` without a closing `}}}}` in `{template}`")]
    Unclosed { template: String },
    #[error("empty field reference `{{{{ }}}}` in `{template}`")]
    EmptyField { template: String },
    #[error("invalid field path `{path}`: {reason}")]
    InvalidField { path: String, reason: String },
    #[error("invalid strftime specifier in `{text}`")]
    InvalidTime { text: String },
    #[error("the path is empty")]
    Empty,
}

/// Why one event's path could not be rendered; the event is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("field `{0}` is missing or null")]
    MissingField(String),
    #[error("field `{0}` is an object or an array, not a value for a path")]
    NotScalar(String),
    #[error("rendered path `{path}` leaves the directory `{base}`")]
    Escapes { path: String, base: String },
}

#[derive(Debug, Clone)]
enum Part {
    /// Text copied as is.
    Literal(String),
    /// Text with strftime specifiers, validated when parsed.
    Time(String),
    /// A `{{ field }}` reference: the text between the braces and its parsed path.
    Field { name: String, path: OwnedValuePath },
}

/// A parsed `path` option.
#[derive(Debug, Clone)]
pub struct PathTemplate {
    parts: Vec<Part>,
    /// The template up to the last `/` before its first placeholder: every rendered path must stay
    /// under it. Empty for a template such as `{{ name }}.log`, which must then stay relative.
    base: String,
    /// True when any part is a field reference, so metrics must be turned into values to render.
    has_fields: bool,
}

impl PathTemplate {
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        if template.is_empty() {
            return Err(TemplateError::Empty);
        }
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find("{{") {
            push_text(&mut parts, &rest[..open])?;
            let after = &rest[open + 2..];
            let close =
                after.find("}}").ok_or_else(|| TemplateError::Unclosed { template: template.to_owned() })?;
            let name = after[..close].trim();
            if name.is_empty() {
                return Err(TemplateError::EmptyField { template: template.to_owned() });
            }
            let path = parse_value_path(name).map_err(|error| TemplateError::InvalidField {
                path: name.to_owned(),
                reason: error.to_string(),
            })?;
            parts.push(Part::Field { name: name.to_owned(), path });
            rest = &after[close + 2..];
        }
        push_text(&mut parts, rest)?;
        let first_placeholder = [template.find("{{"), template.find('%')].into_iter().flatten().min();
        let base = match first_placeholder {
            None => template.to_owned(),
            Some(at) => {
                template[..at].rfind('/').map_or(String::new(), |slash| template[..=slash].to_owned())
            }
        };
        let has_fields = parts.iter().any(|part| matches!(part, Part::Field { .. }));
        Ok(Self { parts, base, has_fields })
    }

    /// The template itself when it has no placeholders: the one file this sink writes.
    pub fn static_path(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Literal(text)] => Some(text),
            _ => None,
        }
    }

    /// The directory every rendered path stays under; empty when the template starts with a
    /// placeholder.
    pub fn base_dir(&self) -> &str {
        match self.static_path() {
            Some(path) => path.rfind('/').map_or("", |slash| &path[..=slash]),
            None => &self.base,
        }
    }

    /// Renders the path of `event`. Times come from the event's `timestamp_key` field when it is a
    /// timestamp (a metric's own timestamp), otherwise from `now`.
    pub fn render(
        &self,
        event: &Event,
        timestamp_key: &str,
        now: DateTime<Utc>,
    ) -> Result<String, RenderError> {
        if let Some(path) = self.static_path() {
            return Ok(path.to_owned());
        }
        let metric_value = match event {
            Event::Metric(metric) if self.has_fields => Some(metric_to_value(metric)),
            _ => None,
        };
        let fields = match event {
            Event::Log(log) => Some(log.value()),
            Event::Trace(trace) => Some(trace.value()),
            Event::Metric(_) => metric_value.as_ref(),
        };
        let time = event_time(event, timestamp_key).unwrap_or(now);
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Time(text) => {
                    // Cannot fail: every specifier was checked when the template was parsed.
                    let _ = write!(out, "{}", time.format_with_items(StrftimeItems::new(text)));
                }
                Part::Field { name, path } => {
                    let value = fields.and_then(|fields| fields.get(path));
                    push_value(&mut out, name, value)?;
                }
            }
        }
        self.check_inside(out)
    }

    /// Refuses a rendered path that contains a NUL, a `..` component after the base directory, or
    /// (with no base directory) is absolute.
    fn check_inside(&self, rendered: String) -> Result<String, RenderError> {
        let escapes = || RenderError::Escapes { path: rendered.clone(), base: self.base.clone() };
        if rendered.contains('\0') {
            return Err(escapes());
        }
        let Some(rest) = rendered.strip_prefix(self.base.as_str()) else {
            return Err(escapes());
        };
        for component in Path::new(rest).components() {
            match component {
                Component::ParentDir => return Err(escapes()),
                Component::RootDir | Component::Prefix(_) if self.base.is_empty() => return Err(escapes()),
                _ => {}
            }
        }
        Ok(rendered)
    }
}

fn push_text(parts: &mut Vec<Part>, text: &str) -> Result<(), TemplateError> {
    if text.is_empty() {
        return Ok(());
    }
    if !text.contains('%') {
        parts.push(Part::Literal(text.to_owned()));
        return Ok(());
    }
    if StrftimeItems::new(text).any(|item| matches!(item, Item::Error)) {
        return Err(TemplateError::InvalidTime { text: text.to_owned() });
    }
    parts.push(Part::Time(text.to_owned()));
    Ok(())
}

fn event_time(event: &Event, timestamp_key: &str) -> Option<DateTime<Utc>> {
    let value = match event {
        Event::Log(log) => log.as_map()?.get(timestamp_key),
        Event::Trace(trace) => trace.get(timestamp_key),
        Event::Metric(metric) => return metric.timestamp(),
    };
    match value {
        Some(Value::Timestamp(time)) => Some(*time),
        _ => None,
    }
}

fn push_value(out: &mut String, name: &str, value: Option<&Value>) -> Result<(), RenderError> {
    match value {
        None | Some(Value::Null) => return Err(RenderError::MissingField(name.to_owned())),
        Some(Value::Bytes(bytes)) => out.push_str(&String::from_utf8_lossy(bytes)),
        Some(Value::String(text)) => out.push_str(text),
        Some(Value::Integer(n)) => {
            let _ = write!(out, "{n}");
        }
        Some(Value::Float(n)) => {
            let _ = write!(out, "{n}");
        }
        Some(Value::Boolean(b)) => {
            let _ = write!(out, "{b}");
        }
        Some(Value::Timestamp(time)) => out.push_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        Some(_) => return Err(RenderError::NotScalar(name.to_owned())),
    }
    Ok(())
}
