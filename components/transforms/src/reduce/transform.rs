//! The running `reduce` transform: groups in memory, a ticker that sends the expired ones.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use strata_core::{
    ComponentError, ComponentMetrics, RateLimitedLog, TaskTransform, TransformContext, TransformInput,
    TransformOutputs, TransformOutputsBuf,
};
use strata_event::{Event, EventMetadata, LogEvent, ObjectMap, Value};
use tokio::time::{Instant, MissedTickBehavior};
use vrl::compiler::{Program, TimeZone};
use vrl::path::{OwnedSegment, OwnedValuePath};

use super::MergeStrategy;
use super::config::Settings;
use super::merge::{MergeError, Merger};
use crate::vrl_program::{Runner, check};

/// The values of the `group_by` fields; `None` where a field is missing.
type GroupKey = Vec<Option<Value>>;

/// One group being merged.
struct Group {
    /// Merged fields in the order they were first seen, which is the order they are written.
    fields: Vec<(OwnedValuePath, Merger)>,
    positions: HashMap<OwnedValuePath, usize>,
    /// The first event's metadata, holding the finalizers of every event merged so far.
    metadata: EventMetadata,
    events: usize,
    started: Instant,
    last_event: Instant,
    /// Groups are sent in the order they started when several are sent at once.
    sequence: u64,
}

/// `merge_strategies`, looked up by exact path and by prefix.
struct Strategies {
    list: Vec<(OwnedValuePath, MergeStrategy)>,
    paths: HashSet<OwnedValuePath>,
}

impl Strategies {
    /// True when a strategy is set for `path` or an object above it: the walk over the event's
    /// fields leaves such fields to the strategy.
    fn covers(&self, path: &OwnedValuePath) -> bool {
        !self.paths.is_empty()
            && (1..=path.segments.len())
                .any(|len| self.paths.contains(&OwnedValuePath::from(path.segments[..len].to_vec())))
    }
}

impl Group {
    fn new(metadata: EventMetadata, now: Instant, sequence: u64) -> Self {
        Self {
            fields: Vec::new(),
            positions: HashMap::new(),
            metadata,
            events: 0,
            started: now,
            last_event: now,
            sequence,
        }
    }

    fn merge(
        &mut self,
        path: &OwnedValuePath,
        value: Value,
        strategy: Option<MergeStrategy>,
    ) -> Result<(), MergeError> {
        match self.positions.get(path) {
            Some(&position) => self.fields[position].1.add(value),
            None => {
                let merger = Merger::start(value, strategy)?;
                self.positions.insert(path.clone(), self.fields.len());
                self.fields.push((path.clone(), merger));
                Ok(())
            }
        }
    }

    /// Merges `fields` in; returns the values that could not be merged.
    fn add(
        &mut self,
        fields: Value,
        strategies: &Strategies,
        now: Instant,
    ) -> Vec<(OwnedValuePath, MergeError)> {
        let mut errors = Vec::new();
        for (path, strategy) in &strategies.list {
            if let Some(value) = fields.get(path)
                && let Err(error) = self.merge(path, value.clone(), Some(*strategy))
            {
                errors.push((path.clone(), error));
            }
        }
        // A root that is not an object (a program may make one) has no fields to merge.
        if let Value::Object(map) = fields {
            let mut path = OwnedValuePath::root();
            walk_leaves(map, &mut path, &mut |path, value| {
                if !strategies.covers(path)
                    && let Err(error) = self.merge(path, value, None)
                {
                    errors.push((path.clone(), error));
                }
            });
        }
        self.events += 1;
        self.last_event = now;
        errors
    }

    fn finish(self) -> Event {
        let mut log = LogEvent::from_map(ObjectMap::new(), self.metadata);
        for (path, merger) in self.fields {
            merger.finish(&path, &mut log);
        }
        Event::Log(log)
    }
}

/// Calls `visit` with the path and value of every field that is not a non-empty object.
fn walk_leaves(map: ObjectMap, path: &mut OwnedValuePath, visit: &mut impl FnMut(&OwnedValuePath, Value)) {
    for (key, value) in map {
        path.push_segment(OwnedSegment::Field(key));
        match value {
            Value::Object(inner) if !inner.is_empty() => walk_leaves(inner, path, visit),
            leaf => visit(path, leaf),
        }
        path.segments.pop();
    }
}

pub(super) struct Reduce {
    group_by: Vec<OwnedValuePath>,
    strategies: Strategies,
    starts_when: Option<Runner>,
    ends_when: Option<Runner>,
    expire_after: Duration,
    flush_period: Duration,
    end_every_period: Option<Duration>,
    max_events: Option<usize>,
    groups: HashMap<GroupKey, Group>,
    next_sequence: u64,
    metrics: ComponentMetrics,
    limiter: RateLimitedLog,
}

impl Reduce {
    pub(super) fn new(
        settings: Settings,
        starts_when: Option<Arc<Program>>,
        ends_when: Option<Arc<Program>>,
        timezone: TimeZone,
        cx: &TransformContext,
    ) -> Self {
        let paths = settings.strategies.iter().map(|(path, _)| path.clone()).collect();
        Self {
            group_by: settings.group_by,
            strategies: Strategies { list: settings.strategies, paths },
            starts_when: starts_when.map(|program| Runner::new(program, timezone)),
            ends_when: ends_when.map(|program| Runner::new(program, timezone)),
            expire_after: settings.expire_after,
            flush_period: settings.flush_period,
            end_every_period: settings.end_every_period,
            max_events: settings.max_events,
            groups: HashMap::new(),
            next_sequence: 0,
            metrics: cx.metrics.clone(),
            limiter: RateLimitedLog::default(),
        }
    }

    fn handle(&mut self, mut event: Event, now: Instant, out: &mut TransformOutputsBuf) {
        if !matches!(event, Event::Log(_)) {
            return out.push(event);
        }
        let starts =
            evaluate(self.starts_when.as_mut(), "starts_when", &self.metrics, &self.limiter, &mut event);
        let ends = evaluate(self.ends_when.as_mut(), "ends_when", &self.metrics, &self.limiter, &mut event);
        let Event::Log(log) = event else { return };
        let key: GroupKey = self.group_by.iter().map(|path| log.get_path(path).cloned()).collect();
        if starts && let Some(previous) = self.groups.remove(&key) {
            out.push(previous.finish());
        }
        let (fields, mut metadata) = log.into_parts();
        let group = match self.groups.entry(key.clone()) {
            Entry::Occupied(entry) => {
                let group = entry.into_mut();
                group.metadata.add_finalizers(metadata.take_finalizers());
                group
            }
            Entry::Vacant(entry) => {
                self.next_sequence += 1;
                entry.insert(Group::new(metadata, now, self.next_sequence))
            }
        };
        let errors = group.add(fields, &self.strategies, now);
        let full = self.max_events.is_some_and(|max| group.events >= max);
        for (path, error) in errors {
            self.metrics.error("merge_failed", "processing");
            if let Some(suppressed) = self.limiter.check() {
                tracing::warn!(suppressed, field = %path, "reduce left a value out: {error}");
            }
        }
        if (ends || full)
            && let Some(group) = self.groups.remove(&key)
        {
            out.push(group.finish());
        }
    }

    /// Sends the groups that have expired or are older than `end_every_period`.
    fn flush_expired(&mut self, now: Instant, out: &mut TransformOutputsBuf) {
        let (expire_after, end_every_period) = (self.expire_after, self.end_every_period);
        let due = |group: &Group| {
            now.duration_since(group.last_event) >= expire_after
                || end_every_period.is_some_and(|period| now.duration_since(group.started) >= period)
        };
        let keys: Vec<GroupKey> =
            self.groups.iter().filter(|(_, group)| due(group)).map(|(k, _)| k.clone()).collect();
        let mut groups: Vec<Group> = keys.iter().filter_map(|key| self.groups.remove(key)).collect();
        groups.sort_by_key(|group| group.sequence);
        for group in groups {
            out.push(group.finish());
        }
    }

    fn flush_all(&mut self, out: &mut TransformOutputsBuf) {
        let mut groups: Vec<Group> = self.groups.drain().map(|(_, group)| group).collect();
        groups.sort_by_key(|group| group.sequence);
        for group in groups {
            out.push(group.finish());
        }
    }
}

/// Evaluates a condition, if there is one; one that fails counts as false.
fn evaluate(
    runner: Option<&mut Runner>,
    name: &str,
    metrics: &ComponentMetrics,
    limiter: &RateLimitedLog,
    event: &mut Event,
) -> bool {
    let Some(runner) = runner else { return false };
    match check(runner, event) {
        Ok(result) => result,
        Err(error) => {
            metrics.error("condition_failed", "processing");
            if let Some(suppressed) = limiter.check() {
                tracing::warn!(suppressed, "reduce `{name}` condition failed; taking it as false: {error}");
            }
            false
        }
    }
}

#[async_trait]
impl TaskTransform for Reduce {
    async fn run(
        mut self: Box<Self>,
        mut input: TransformInput,
        mut out: TransformOutputs,
    ) -> Result<(), ComponentError> {
        let mut ticker = tokio::time::interval(self.flush_period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut buf = TransformOutputsBuf::new(&[]);
        loop {
            tokio::select! {
                batch = input.recv() => {
                    // Every upstream is done: nothing more can join a group.
                    let Some(batch) = batch else { break };
                    let now = Instant::now();
                    for event in batch {
                        self.handle(event, now, &mut buf);
                    }
                }
                _ = ticker.tick() => self.flush_expired(Instant::now(), &mut buf),
            }
            out.send_buf(&mut buf).await;
        }
        self.flush_all(&mut buf);
        out.send_buf(&mut buf).await;
        Ok(())
    }
}
