//! Transforms: synchronous event-at-a-time functions, or tasks that own their input stream.

use async_trait::async_trait;
use strata_event::{Event, EventBatch};

use crate::{
    BufferReceiver, ComponentError, ComponentKey, ComponentMeta, ComponentMetrics, Fanout, GlobalOptions,
};

/// Everything a transform may use while it is built.
pub struct TransformContext {
    pub key: ComponentKey,
    pub meta: ComponentMeta,
    pub globals: GlobalOptions,
    pub metrics: ComponentMetrics,
}

/// A transform that handles one event at a time and writes results to its outputs. The runtime
/// reads input batches, calls it for each event, and sends what it wrote, a batch per output.
pub trait SyncTransform: Send + 'static {
    fn transform(&mut self, event: Event, out: &mut TransformOutputsBuf);

    /// A fresh instance for running batches in parallel, for transforms whose output for an
    /// event depends only on that event (remap, filter, route). `None`, the default, keeps the
    /// transform on one task, as stateful transforms need.
    fn clone_for_concurrency(&self) -> Option<Box<dyn SyncTransform>> {
        None
    }
}

/// A transform that runs as its own task: for state across time (windows, timeouts, merging).
#[async_trait]
pub trait TaskTransform: Send + 'static {
    async fn run(self: Box<Self>, input: TransformInput, out: TransformOutputs)
    -> Result<(), ComponentError>;
}

pub enum Transform {
    Sync(Box<dyn SyncTransform>),
    Task(Box<dyn TaskTransform>),
}

/// Where a [`SyncTransform`] puts its results: the default output and named ones.
#[derive(Debug, Default)]
pub struct TransformOutputsBuf {
    primary: Vec<Event>,
    named: Vec<(String, Vec<Event>)>,
}

impl TransformOutputsBuf {
    pub fn new(ports: &[String]) -> Self {
        Self { primary: Vec::new(), named: ports.iter().map(|port| (port.clone(), Vec::new())).collect() }
    }

    /// To the default output.
    pub fn push(&mut self, event: Event) {
        self.primary.push(event);
    }

    /// To a named output. Unknown names are a bug in the transform; the event goes nowhere and
    /// is reported as not delivered.
    pub fn push_named(&mut self, port: &str, event: Event) {
        match self.named.iter_mut().find(|(name, _)| name == port) {
            Some((_, events)) => events.push(event),
            None => debug_assert!(false, "transform wrote to undeclared output {port}"),
        }
    }

    /// To the named output at `index` in the order the ports were declared.
    pub fn push_index(&mut self, index: usize, event: Event) {
        if let Some((_, events)) = self.named.get_mut(index) {
            events.push(event);
        }
    }

    pub fn primary(&self) -> &[Event] {
        &self.primary
    }

    pub fn named(&self, port: &str) -> &[Event] {
        self.named.iter().find(|(name, _)| name == port).map_or(&[], |(_, events)| events.as_slice())
    }

    pub fn is_empty(&self) -> bool {
        self.primary.is_empty() && self.named.iter().all(|(_, events)| events.is_empty())
    }
}

/// Runs a [`SyncTransform`] over its input on one task until the input ends.
pub async fn run_sync(
    mut transform: Box<dyn SyncTransform>,
    mut input: TransformInput,
    mut outputs: TransformOutputs,
    ports: &[String],
) {
    let mut buf = TransformOutputsBuf::new(ports);
    while let Some(batch) = input.recv().await {
        for event in batch {
            transform.transform(event, &mut buf);
        }
        outputs.send_buf(&mut buf).await;
    }
}

/// A transform's input stream, counted as received.
pub struct TransformInput {
    rx: BufferReceiver,
    metrics: ComponentMetrics,
}

impl TransformInput {
    pub fn new(rx: BufferReceiver, metrics: ComponentMetrics) -> Self {
        Self { rx, metrics }
    }

    /// The next input batch; `None` when every upstream has finished.
    pub async fn recv(&mut self) -> Option<EventBatch> {
        let batch = self.rx.recv().await?;
        self.metrics.received(batch.len(), 0);
        Some(batch)
    }
}

/// A transform's outputs, counted as sent.
pub struct TransformOutputs {
    primary: Option<Fanout>,
    named: Vec<(String, Fanout)>,
    metrics: ComponentMetrics,
}

impl TransformOutputs {
    pub fn new(primary: Option<Fanout>, named: Vec<(String, Fanout)>, metrics: ComponentMetrics) -> Self {
        Self { primary, named, metrics }
    }

    /// Sends and empties everything in `buf`, one batch per output.
    pub async fn send_buf(&mut self, buf: &mut TransformOutputsBuf) {
        if !buf.primary.is_empty() {
            let batch = EventBatch::new(std::mem::take(&mut buf.primary));
            self.send(None, batch).await;
        }
        for index in 0..buf.named.len() {
            if buf.named[index].1.is_empty() {
                continue;
            }
            let batch = EventBatch::new(std::mem::take(&mut buf.named[index].1));
            let port = buf.named[index].0.clone();
            self.send(Some(&port), batch).await;
        }
    }

    /// Sends one batch to the default output (`None`) or a named one.
    pub async fn send(&mut self, port: Option<&str>, batch: EventBatch) {
        let events = batch.len();
        let fanout = match port {
            None => self.primary.as_mut(),
            Some(port) => self.named.iter_mut().find(|(name, _)| name == port).map(|(_, fanout)| fanout),
        };
        // An output nobody listens to drops its events; they report as not delivered.
        let Some(fanout) = fanout else { return };
        if fanout.send(batch).await > 0 {
            match port {
                None => self.metrics.sent(events, 0),
                Some(port) => self.metrics.sent_to(port, events),
            }
        }
    }
}
