//! Running components as tasks: start, supervise, reload and shut down.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use strata_core::buffer::memory_buffer;
use strata_core::disk_buffer::{DiskPumps, disk_buffer};
use strata_core::fanout::ControlSender;
use strata_core::{
    BufferConfig, BufferReceiver, BufferSender, ComponentError, ComponentKey, ComponentKind,
    ComponentMetrics, ControlMessage, Fanout, GlobalOptions, OutputId, REJECTED_OUTPUT, RejectedOutput,
    ShutdownSignal, SinkContext, SinkInput, SourceContext, SourceSender, Transform, TransformContext,
    TransformInput, TransformOutputs, TransformOutputsBuf, WeakBufferSender,
};
use strata_event::SourceId;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::Config;

/// Components that could not be built, one message each, naming the component.
pub type BuildErrors = Vec<String>;

/// How a component's task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// It ran to completion: its input ended, or (for a source) its own input ended.
    Finished,
    Failed(String),
    Panicked(String),
}

/// Reported once for every task that ends.
#[derive(Debug, Clone)]
pub struct TaskExit {
    pub key: ComponentKey,
    pub kind: ComponentKind,
    pub outcome: TaskOutcome,
    /// False when the task belonged to a component that a reload replaced or removed.
    pub current: bool,
}

struct RunningTask {
    kind: ComponentKind,
    generation: u64,
    handle: JoinHandle<()>,
    abort: tokio::task::AbortHandle,
}

/// A component built and wired but not yet spawned.
enum Piece {
    Source(BoxFuture<'static, Result<(), ComponentError>>, ShutdownSignal),
    Transform {
        transform: Transform,
        input: BufferReceiver,
        outputs: TransformOutputs,
        ports: Vec<String>,
        metrics: ComponentMetrics,
        pumps: Option<DiskPumps>,
    },
    Sink(Box<dyn strata_core::Sink>, BufferReceiver, ComponentMetrics, Option<DiskPumps>),
}

struct Built {
    pieces: Vec<(ComponentKey, ComponentKind, Piece)>,
    outputs: HashMap<OutputId, ControlSender>,
    inputs: HashMap<ComponentKey, BufferSender>,
    healthchecks: Vec<(ComponentKey, strata_core::Healthcheck)>,
}

/// The running pipeline.
pub struct Topology {
    config: Config,
    outputs: HashMap<OutputId, ControlSender>,
    /// Weak, so that a component's input closes once its last upstream finishes (stdin at end of
    /// input, a `count` reached): the fan-outs hold the only real senders.
    inputs: HashMap<ComponentKey, WeakBufferSender>,
    shutdowns: HashMap<ComponentKey, ShutdownSignal>,
    tasks: HashMap<ComponentKey, RunningTask>,
    retired: Vec<(ComponentKey, RunningTask)>,
    generation: u64,
    exits_tx: mpsc::UnboundedSender<(ComponentKey, u64, TaskOutcome)>,
    exits_rx: mpsc::UnboundedReceiver<(ComponentKey, u64, TaskOutcome)>,
}

fn globals(config: &Config) -> GlobalOptions {
    GlobalOptions {
        data_dir: config.global.data_dir.clone(),
        timezone: config.global.timezone.clone(),
        acknowledgements: config.global_acknowledgements(),
        log_schema: config.global.log_schema.clone(),
    }
}

/// True when some sink downstream of `source` wants acknowledgements.
fn source_acknowledges(config: &Config, source: &ComponentKey) -> bool {
    let edges = config.edges();
    let mut frontier = vec![source.clone()];
    let mut seen = BTreeSet::new();
    while let Some(current) = frontier.pop() {
        if !seen.insert(current.clone()) {
            continue;
        }
        for (input, consumer) in &edges {
            if input.component == current {
                if config.sinks.contains_key(consumer) && config.sink_acknowledges(consumer) {
                    return true;
                }
                frontier.push(consumer.clone());
            }
        }
    }
    false
}

fn fanouts_for(
    key: &ComponentKey,
    ports: Vec<Option<String>>,
    outputs: &mut HashMap<OutputId, ControlSender>,
) -> (Option<Fanout>, Vec<(String, Fanout)>) {
    let mut default = None;
    let mut named = Vec::new();
    for port in ports {
        let (fanout, control) = Fanout::new();
        outputs.insert(OutputId { component: key.clone(), port: port.clone() }, control);
        match port {
            None => default = Some(fanout),
            Some(port) => named.push((port, fanout)),
        }
    }
    (default, named)
}

/// The fan-out behind a sink's `rejected` output.
fn rejected_fanout(key: &ComponentKey, outputs: &mut HashMap<OutputId, ControlSender>) -> Fanout {
    let (fanout, control) = Fanout::new();
    outputs.insert(OutputId { component: key.clone(), port: Some(REJECTED_OUTPUT.to_owned()) }, control);
    fanout
}

/// How long a rebuilt component's disk buffer waits for its predecessor to release the files.
const RELOAD_LOCK_WAIT: Duration = Duration::from_secs(60);

async fn build(
    config: &Config,
    keys: &BTreeSet<ComponentKey>,
    reloading: bool,
) -> Result<Built, BuildErrors> {
    let mut built = Built {
        pieces: Vec::new(),
        outputs: HashMap::new(),
        inputs: HashMap::new(),
        healthchecks: Vec::new(),
    };
    let mut errors = Vec::new();
    let globals = globals(config);

    for (key, entry) in config.transforms.iter().filter(|(key, _)| keys.contains(*key)) {
        let metrics = ComponentMetrics::new(&entry.meta);
        let cx = TransformContext {
            key: key.clone(),
            meta: entry.meta.clone(),
            globals: globals.clone(),
            metrics: metrics.clone(),
        };
        match entry.inner.build(&cx).await {
            Ok(transform) => {
                let (tx, rx, pumps) = match input_buffer(config, key, &entry.buffer, &metrics, reloading) {
                    Ok(parts) => parts,
                    Err(message) => {
                        errors.push(format!("transforms.{key}: {message}"));
                        continue;
                    }
                };
                let reaching =
                    entry.resolved_inputs.iter().fold(strata_core::DataType::NONE, |acc, input| {
                        acc.union(
                            config.output_types.get(input).copied().unwrap_or(strata_core::DataType::ALL),
                        )
                    });
                let ports: Vec<Option<String>> =
                    entry.inner.outputs(reaching).into_iter().map(|o| o.port).collect();
                let named_ports: Vec<String> = ports.iter().flatten().cloned().collect();
                let (default, named) = fanouts_for(key, ports, &mut built.outputs);
                let outputs = TransformOutputs::new(default, named, metrics.clone());
                built.inputs.insert(key.clone(), tx);
                built.pieces.push((
                    key.clone(),
                    ComponentKind::Transform,
                    Piece::Transform { transform, input: rx, outputs, ports: named_ports, metrics, pumps },
                ));
            }
            Err(error) => errors.push(format!("transforms.{key}: {error}")),
        }
    }
    for (key, entry) in config.sinks.iter().filter(|(key, _)| keys.contains(*key)) {
        let metrics = ComponentMetrics::new(&entry.meta);
        // Every sink has a `rejected` output; with no consumer it costs an idle fan-out. Its control
        // sender joins the others, so `connect` wires and rewires it on reload like a transform's.
        let rejected =
            RejectedOutput::new(rejected_fanout(key, &mut built.outputs), &entry.meta, metrics.clone());
        let cx = SinkContext {
            key: key.clone(),
            meta: entry.meta.clone(),
            globals: globals.clone(),
            metrics: metrics.clone(),
            acknowledgements: config.sink_acknowledges(key),
            rejected,
        };
        match entry.inner.build(cx).await {
            Ok((sink, healthcheck)) => {
                let (tx, rx, pumps) = match input_buffer(config, key, &entry.buffer, &metrics, reloading) {
                    Ok(parts) => parts,
                    Err(message) => {
                        errors.push(format!("sinks.{key}: {message}"));
                        continue;
                    }
                };
                built.inputs.insert(key.clone(), tx);
                built.healthchecks.push((key.clone(), healthcheck));
                built.pieces.push((key.clone(), ComponentKind::Sink, Piece::Sink(sink, rx, metrics, pumps)));
            }
            Err(error) => errors.push(format!("sinks.{key}: {error}")),
        }
    }
    for (key, entry) in config.sources.iter().filter(|(key, _)| keys.contains(*key)) {
        let metrics = ComponentMetrics::new(&entry.meta);
        let ports = entry.inner.outputs().into_iter().map(|o| o.port).collect();
        let mut outputs = HashMap::new();
        let (default, named) = fanouts_for(key, ports, &mut outputs);
        let shutdown = ShutdownSignal::new();
        let cx = SourceContext {
            key: key.clone(),
            meta: entry.meta.clone(),
            source_id: SourceId::intern(key.id()),
            globals: globals.clone(),
            shutdown: shutdown.clone(),
            out: SourceSender::new(default, named, metrics.clone()),
            acknowledgements: source_acknowledges(config, key),
            metrics,
        };
        match entry.inner.build(cx).await {
            Ok(future) => {
                built.outputs.extend(outputs);
                built.pieces.push((key.clone(), ComponentKind::Source, Piece::Source(future, shutdown)));
            }
            Err(error) => errors.push(format!("sources.{key}: {error}")),
        }
    }
    if errors.is_empty() { Ok(built) } else { Err(errors) }
}

/// The input buffer of a transform or sink: in memory, or on disk under
/// `<data_dir>/buffer/<component id>`.
fn input_buffer(
    config: &Config,
    key: &ComponentKey,
    buffer: &BufferConfig,
    metrics: &ComponentMetrics,
    reloading: bool,
) -> Result<(BufferSender, BufferReceiver, Option<DiskPumps>), String> {
    match buffer {
        BufferConfig::Memory { .. } => {
            let (tx, rx) = memory_buffer(buffer, metrics);
            Ok((tx, rx, None))
        }
        BufferConfig::Disk { .. } => {
            let data_dir =
                config.global.data_dir.as_ref().ok_or("`buffer.type = \"disk\"` needs `data_dir`")?;
            let dir = data_dir.join("buffer").join(key.id());
            let wait = reloading.then_some(RELOAD_LOCK_WAIT);
            let (tx, rx, pumps) = disk_buffer(dir, buffer, metrics, wait)?;
            Ok((tx, rx, Some(pumps)))
        }
    }
}

/// Runs a component and, when it has a disk buffer, waits for the buffer to close too.
async fn with_pumps(
    component: impl std::future::Future<Output = Result<(), ComponentError>>,
    pumps: Option<DiskPumps>,
) -> Result<(), ComponentError> {
    let result = component.await;
    match pumps {
        None => result,
        Some(pumps) if result.is_err() => {
            pumps.abort();
            result
        }
        Some(pumps) => pumps.join().await,
    }
}

async fn run_sync_transform(
    transform: Box<dyn strata_core::SyncTransform>,
    input: TransformInput,
    outputs: TransformOutputs,
    ports: Vec<String>,
) -> Result<(), ComponentError> {
    let parallelism = std::thread::available_parallelism().map_or(1, |n| n.get());
    if parallelism > 1
        && let Some(first) = transform.clone_for_concurrency()
    {
        return run_concurrent(transform, first, parallelism, input, outputs, ports).await;
    }
    strata_core::transform::run_sync(transform, input, outputs, &ports).await;
    Ok(())
}

/// Runs up to `limit` batches at once on spawned tasks, each with its own instance of the
/// transform, and sends results in input order. Spawned tasks can be stolen by idle workers,
/// which is what spreads a CPU-heavy transform (VRL parsing) over the cores.
async fn run_concurrent(
    prototype: Box<dyn strata_core::SyncTransform>,
    first: Box<dyn strata_core::SyncTransform>,
    limit: usize,
    mut input: TransformInput,
    mut outputs: TransformOutputs,
    ports: Vec<String>,
) -> Result<(), ComponentError> {
    use futures::StreamExt;
    use futures::stream::FuturesOrdered;
    let mut idle: Vec<Box<dyn strata_core::SyncTransform>> = vec![first];
    let mut in_flight = FuturesOrdered::new();
    let mut input_open = true;
    while input_open || !in_flight.is_empty() {
        tokio::select! {
            batch = input.recv(), if input_open && in_flight.len() < limit => match batch {
                Some(batch) => {
                    let mut transform = match idle.pop().or_else(|| prototype.clone_for_concurrency()) {
                        Some(transform) => transform,
                        None => return Err(ComponentError::new("the transform stopped offering instances")),
                    };
                    let ports = ports.clone();
                    in_flight.push_back(tokio::spawn(async move {
                        let mut buf = TransformOutputsBuf::new(&ports);
                        for event in batch {
                            transform.transform(event, &mut buf);
                        }
                        (transform, buf)
                    }));
                }
                None => input_open = false,
            },
            Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                let (transform, mut buf) = done.map_err(|error| {
                    let message = if error.is_panic() { panic_message(&*error.into_panic()) } else { error.to_string() };
                    ComponentError::new(format!("a transform batch failed: {message}"))
                })?;
                idle.push(transform);
                outputs.send_buf(&mut buf).await;
            }
        }
    }
    Ok(())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

impl Topology {
    /// Builds and starts every component of `config`.
    pub async fn start(config: Config) -> Result<Self, BuildErrors> {
        let keys: BTreeSet<ComponentKey> = all_keys(&config);
        let built = build(&config, &keys, false).await?;
        let (exits_tx, exits_rx) = mpsc::unbounded_channel();
        let mut topology = Self {
            config,
            outputs: HashMap::new(),
            inputs: HashMap::new(),
            shutdowns: HashMap::new(),
            tasks: HashMap::new(),
            retired: Vec::new(),
            generation: 0,
            exits_tx,
            exits_rx,
        };
        let require_healthy = topology.config.global.healthchecks.require_healthy;
        let enabled = topology.config.global.healthchecks.enabled;
        let Built { pieces, outputs, inputs, healthchecks } = built;
        topology.outputs = outputs;
        topology.inputs = inputs.iter().map(|(key, sender)| (key.clone(), sender.downgrade())).collect();
        if enabled {
            let failures = run_healthchecks(healthchecks, require_healthy).await;
            if require_healthy && !failures.is_empty() {
                return Err(failures);
            }
        }
        let new_edges = topology.config.edges();
        topology.connect(&new_edges, &BTreeSet::new(), &keys, &[]);
        // The control messages now hold the real senders; ours may go.
        drop(inputs);
        for (key, kind, piece) in pieces {
            topology.spawn(key, kind, piece);
        }
        Ok(topology)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Sends the fan-out changes that take the graph from `old_edges` to the current config.
    fn connect(
        &mut self,
        new_edges: &[(OutputId, ComponentKey)],
        old_edges: &BTreeSet<(OutputId, ComponentKey)>,
        rebuilt: &BTreeSet<ComponentKey>,
        removed: &[ComponentKey],
    ) {
        let new_set: BTreeSet<_> = new_edges.iter().cloned().collect();
        for (output, consumer) in new_edges {
            let Some(control) = self.outputs.get(output) else { continue };
            let Some(sender) = self.inputs.get(consumer).and_then(WeakBufferSender::upgrade) else {
                tracing::warn!(component_id = %consumer, input = %output, "not connected: the component has already finished");
                continue;
            };
            let message = if rebuilt.contains(&output.component)
                || !old_edges.contains(&(output.clone(), consumer.clone()))
            {
                Some(ControlMessage::Add(consumer.clone(), sender))
            } else if rebuilt.contains(consumer) {
                Some(ControlMessage::Replace(consumer.clone(), sender))
            } else {
                None
            };
            if let Some(message) = message {
                // A closed control channel means the producer has already finished; nothing to do.
                let _ = control.send(message);
            }
        }
        for (output, consumer) in old_edges.difference(&new_set) {
            if rebuilt.contains(&output.component) || removed.contains(&output.component) {
                continue;
            }
            if let Some(control) = self.outputs.get(output) {
                let _ = control.send(ControlMessage::Remove(consumer.clone()));
            }
        }
    }

    fn spawn(&mut self, key: ComponentKey, kind: ComponentKind, piece: Piece) {
        self.generation += 1;
        let generation = self.generation;
        let future: BoxFuture<'static, Result<(), ComponentError>> = match piece {
            Piece::Source(future, shutdown) => {
                self.shutdowns.insert(key.clone(), shutdown);
                future
            }
            Piece::Transform {
                transform: Transform::Sync(transform),
                input,
                outputs,
                ports,
                metrics,
                pumps,
            } => Box::pin(with_pumps(
                run_sync_transform(transform, TransformInput::new(input, metrics), outputs, ports),
                pumps,
            )),
            Piece::Transform { transform: Transform::Task(task), input, outputs, metrics, pumps, .. } => {
                Box::pin(with_pumps(
                    async move { task.run(TransformInput::new(input, metrics), outputs).await },
                    pumps,
                ))
            }
            Piece::Sink(sink, rx, metrics, pumps) => {
                Box::pin(with_pumps(async move { sink.run(SinkInput::new(rx, metrics)).await }, pumps))
            }
        };
        let exits = self.exits_tx.clone();
        let task_key = key.clone();
        let span = tracing::info_span!("component", component_id = %key, component_kind = kind.as_str());
        let inner = tokio::spawn(tracing::Instrument::instrument(future, span));
        let abort = inner.abort_handle();
        let handle = tokio::spawn(async move {
            let outcome = match inner.await {
                Ok(Ok(())) => TaskOutcome::Finished,
                Ok(Err(error)) => TaskOutcome::Failed(error.message),
                Err(error) if error.is_panic() => TaskOutcome::Panicked(panic_message(&*error.into_panic())),
                Err(_) => TaskOutcome::Failed("the task was cancelled".to_owned()),
            };
            let _ = exits.send((task_key, generation, outcome));
        });
        if let Some(previous) =
            self.tasks.insert(key.clone(), RunningTask { kind, generation, handle, abort })
        {
            self.retired.push((key, previous));
        }
    }

    /// The next task to end, with whether it belongs to the current config. `None` when no task
    /// is left at all.
    pub async fn next_exit(&mut self) -> Option<TaskExit> {
        if self.tasks.is_empty() && self.retired.is_empty() {
            return None;
        }
        let (key, generation, outcome) = self.exits_rx.recv().await?;
        let current = self.tasks.get(&key).is_some_and(|task| task.generation == generation);
        let kind = if current {
            self.tasks.remove(&key).map(|task| task.kind)
        } else {
            let index = self.retired.iter().position(|(k, task)| k == &key && task.generation == generation);
            index.map(|index| self.retired.remove(index).1.kind)
        };
        if current && matches!(kind, Some(ComponentKind::Source)) {
            self.shutdowns.remove(&key);
        }
        Some(TaskExit { key, kind: kind.unwrap_or(ComponentKind::Source), outcome, current })
    }

    /// True when every component of the current config has finished.
    pub fn is_finished(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Stops the sources and waits for every event in flight to reach the sinks, up to `deadline`.
    /// Returns the components still running at the deadline, which are then aborted.
    pub async fn shutdown(mut self, deadline: Duration) -> Result<(), Vec<String>> {
        for shutdown in self.shutdowns.values() {
            shutdown.trigger();
        }
        // The topology's own copies of input senders would keep every buffer open forever.
        self.inputs.clear();
        self.outputs.clear();
        let tasks: Vec<(ComponentKey, RunningTask)> =
            self.tasks.drain().chain(self.retired.drain(..)).collect();
        let mut handles: Vec<_> =
            tasks.into_iter().map(|(key, task)| (key, task.abort, task.handle)).collect();
        let all = futures::future::join_all(handles.iter_mut().map(|(_, _, handle)| handle));
        match tokio::time::timeout(deadline, all).await {
            Ok(_) => Ok(()),
            Err(_) => {
                let stuck: Vec<String> = handles
                    .iter()
                    .filter(|(_, _, h)| !h.is_finished())
                    .map(|(k, _, _)| k.to_string())
                    .collect();
                for (_, abort, _) in &handles {
                    abort.abort();
                }
                Err(stuck)
            }
        }
    }

    /// Replaces the running config with `new`, rebuilding only components whose config changed.
    /// Nothing changes when a new component fails to build.
    pub async fn reload(&mut self, new: Config) -> Result<ReloadSummary, BuildErrors> {
        let old_keys = all_keys(&self.config);
        let new_keys = all_keys(&new);
        let mut summary = ReloadSummary::default();
        for key in &new_keys {
            match (self.fingerprint(key), fingerprint_of(&new, key)) {
                (None, _) => summary.added.insert(key.clone()),
                (Some(old), Some(new)) if old != new => summary.changed.insert(key.clone()),
                _ => false,
            };
        }
        summary.removed = old_keys.difference(&new_keys).cloned().collect();
        let rebuilt: BTreeSet<ComponentKey> = summary.added.union(&summary.changed).cloned().collect();

        // Sources that are replaced must release their sockets before their successors bind.
        let changed_sources: BTreeSet<ComponentKey> = summary
            .changed
            .iter()
            .filter(|k| self.config.sources.contains_key(*k) && new.sources.contains_key(*k))
            .cloned()
            .collect();
        let first: BTreeSet<ComponentKey> = rebuilt.difference(&changed_sources).cloned().collect();
        let mut built = build(&new, &first, true).await?;

        let stopping: Vec<ComponentKey> = summary
            .removed
            .iter()
            .chain(summary.changed.iter())
            .filter(|k| self.config.sources.contains_key(*k))
            .cloned()
            .collect();
        self.stop_sources(&stopping).await;
        match build(&new, &changed_sources, true).await {
            Ok(more) => {
                built.pieces.extend(more.pieces);
                built.outputs.extend(more.outputs);
            }
            Err(errors) => {
                // Put the old sources back so the pipeline keeps running as it was.
                let restore: BTreeSet<ComponentKey> = changed_sources.clone();
                if let Ok(old) = build(&self.config, &restore, true).await {
                    for (key, kind, piece) in old.pieces {
                        self.outputs.extend(
                            old.outputs
                                .iter()
                                .filter(|(o, _)| o.component == key)
                                .map(|(o, c)| (o.clone(), c.clone())),
                        );
                        self.spawn(key, kind, piece);
                    }
                    let edges = self.config.edges();
                    self.connect(&edges, &BTreeSet::new(), &restore, &[]);
                }
                return Err(errors);
            }
        }

        let old_edges: BTreeSet<(OutputId, ComponentKey)> = self.config.edges().into_iter().collect();
        for key in summary.removed.iter().chain(summary.changed.iter()) {
            self.inputs.remove(key);
            self.outputs.retain(|output, _| &output.component != key);
        }
        let Built { pieces, outputs, inputs, healthchecks } = built;
        self.outputs.extend(outputs);
        self.inputs.extend(inputs.iter().map(|(key, sender)| (key.clone(), sender.downgrade())));
        self.config = new;
        let removed: Vec<ComponentKey> = summary.removed.iter().cloned().collect();
        let new_edges = self.config.edges();
        self.connect(&new_edges, &old_edges, &rebuilt, &removed);
        drop(inputs);
        if self.config.global.healthchecks.enabled {
            tokio::spawn(run_healthchecks(healthchecks, false));
        }
        for (key, kind, piece) in pieces {
            self.spawn(key, kind, piece);
        }
        for key in &summary.removed {
            if let Some(task) = self.tasks.remove(key) {
                self.retired.push((key.clone(), task));
            }
        }
        Ok(summary)
    }

    async fn stop_sources(&mut self, keys: &[ComponentKey]) {
        let mut waiting = Vec::new();
        for key in keys {
            if let Some(shutdown) = self.shutdowns.remove(key) {
                shutdown.trigger();
            }
            if let Some(task) = self.tasks.remove(key) {
                waiting.push((key.clone(), task));
            }
        }
        for (key, task) in waiting {
            let finished = tokio::time::timeout(Duration::from_secs(30), async {
                while !task.handle.is_finished() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            });
            if finished.await.is_err() {
                tracing::warn!(component_id = %key, "source did not stop within 30s; aborting it");
                task.abort.abort();
            }
            self.retired.push((key, task));
        }
    }

    fn fingerprint(&self, key: &ComponentKey) -> Option<(ComponentKind, &serde_json::Value)> {
        fingerprint_of(&self.config, key)
    }
}

fn fingerprint_of<'a>(
    config: &'a Config,
    key: &ComponentKey,
) -> Option<(ComponentKind, &'a serde_json::Value)> {
    if let Some(entry) = config.sources.get(key) {
        return Some((ComponentKind::Source, &entry.fingerprint));
    }
    if let Some(entry) = config.transforms.get(key) {
        return Some((ComponentKind::Transform, &entry.fingerprint));
    }
    config.sinks.get(key).map(|entry| (ComponentKind::Sink, &entry.fingerprint))
}

fn all_keys(config: &Config) -> BTreeSet<ComponentKey> {
    config.sources.keys().chain(config.transforms.keys()).chain(config.sinks.keys()).cloned().collect()
}

async fn run_healthchecks(
    checks: Vec<(ComponentKey, strata_core::Healthcheck)>,
    required: bool,
) -> Vec<String> {
    let timeout = Duration::from_secs(10);
    let results = futures::future::join_all(checks.into_iter().map(|(key, check)| async move {
        match tokio::time::timeout(timeout, check.catch_unwind_safe()).await {
            Ok(Ok(())) => {
                tracing::debug!(component_id = %key, "healthcheck passed");
                None
            }
            Ok(Err(error)) => Some(format!("sinks.{key}: healthcheck failed: {error}")),
            Err(_) => Some(format!("sinks.{key}: healthcheck timed out after {}s", timeout.as_secs())),
        }
    }))
    .await;
    let failures: Vec<String> = results.into_iter().flatten().collect();
    for failure in &failures {
        if required {
            tracing::error!("{failure}");
        } else {
            tracing::warn!("{failure}");
        }
    }
    failures
}

trait CatchUnwindSafe {
    fn catch_unwind_safe(self) -> BoxFuture<'static, Result<(), String>>;
}

impl CatchUnwindSafe for strata_core::Healthcheck {
    fn catch_unwind_safe(self) -> BoxFuture<'static, Result<(), String>> {
        Box::pin(std::panic::AssertUnwindSafe(self).catch_unwind().map(|result| match result {
            Ok(result) => result,
            Err(payload) => Err(format!("healthcheck panicked: {}", panic_message(&*payload))),
        }))
    }
}

/// What a reload changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReloadSummary {
    pub added: BTreeSet<ComponentKey>,
    pub changed: BTreeSet<ComponentKey>,
    pub removed: BTreeSet<ComponentKey>,
}

impl std::fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |set: &BTreeSet<ComponentKey>| set.iter().map(|k| k.id()).collect::<Vec<_>>().join(", ");
        write!(
            f,
            "added [{}], changed [{}], removed [{}]",
            list(&self.added),
            list(&self.changed),
            list(&self.removed)
        )
    }
}
