//! Component identity: ids, kinds and the labels the agent reports them under.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A component's id as written in the config: the `<id>` of `[sinks.<id>]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ComponentKey(Arc<str>);

impl ComponentKey {
    pub fn new(id: impl AsRef<str>) -> Self {
        Self(Arc::from(id.as_ref()))
    }

    pub fn id(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ComponentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ComponentKey {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

/// One output of a component: its default output (`port == None`) or a named one (`id.port`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutputId {
    pub component: ComponentKey,
    pub port: Option<String>,
}

impl OutputId {
    pub fn default_of(component: ComponentKey) -> Self {
        Self { component, port: None }
    }
}

impl fmt::Display for OutputId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.port {
            Some(port) => write!(f, "{}.{}", self.component, port),
            None => write!(f, "{}", self.component),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComponentKind {
    Source,
    Transform,
    Sink,
}

impl ComponentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Source => "source",
            ComponentKind::Transform => "transform",
            ComponentKind::Sink => "sink",
        }
    }

    /// The config table that holds components of this kind.
    pub fn table(self) -> &'static str {
        match self {
            ComponentKind::Source => "sources",
            ComponentKind::Transform => "transforms",
            ComponentKind::Sink => "sinks",
        }
    }
}

impl fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a component is, for logs, metrics, `agent list` and `agent graph`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentMeta {
    pub key: ComponentKey,
    pub kind: ComponentKind,
    pub type_name: &'static str,
    /// The optional display name (`name = "..."`).
    pub name: Option<String>,
    /// The optional `category` label.
    pub category: Option<String>,
    /// Free `tags = { key = "value" }` labels.
    pub tags: BTreeMap<String, String>,
}

impl ComponentMeta {
    pub fn new(key: ComponentKey, kind: ComponentKind, type_name: &'static str) -> Self {
        Self { key, kind, type_name, name: None, category: None, tags: BTreeMap::new() }
    }

    /// Metric labels: `component_id`, `component_kind`, `component_type`, then the display name,
    /// category and tags (as `tag_<key>`) where set.
    pub fn labels(&self) -> Vec<(String, String)> {
        let mut labels = vec![
            ("component_id".to_owned(), self.key.id().to_owned()),
            ("component_kind".to_owned(), self.kind.as_str().to_owned()),
            ("component_type".to_owned(), self.type_name.to_owned()),
        ];
        if let Some(name) = &self.name {
            labels.push(("component_name".to_owned(), name.clone()));
        }
        if let Some(category) = &self.category {
            labels.push(("component_category".to_owned(), category.clone()));
        }
        for (key, value) in &self.tags {
            labels.push((format!("tag_{key}"), value.clone()));
        }
        labels
    }
}
