//! `agent` with no subcommand: run the pipeline until its input ends or a signal stops it.
//!
//! SIGINT and SIGTERM stop the sources and drain every event in flight to the sinks, within
//! `--graceful-shutdown-limit-secs`; a second signal exits at once. SIGHUP (and, with
//! `--watch-config`, a change to a config file) reloads: the new config is validated and, if it
//! is good, only changed components are rebuilt; if not, its errors are logged and the running
//! pipeline carries on.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use strata_topology::{TaskOutcome, Topology};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::api::Api;
use crate::cli::RunArgs;
use crate::config_files;
use crate::telemetry;

/// Exit status for an invalid config (sysexits' EX_CONFIG), as Vector uses.
const EXIT_CONFIG: u8 = 78;

pub fn run(args: RunArgs) -> ExitCode {
    telemetry::init_logging(args.log_format);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("agent-worker");
    if let Some(threads) = args.threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run_async(args));
    // Components that ignored shutdown must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

fn report(errors: &[String]) {
    for error in errors {
        tracing::error!("{error}");
    }
}

async fn run_async(args: RunArgs) -> ExitCode {
    let paths = match config_files::resolve_paths(&args.config) {
        Ok(paths) => paths,
        Err(error) => {
            tracing::error!("{error:#}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    for path in &paths {
        tracing::info!(path = %path.display(), "loading config");
    }
    let mut config = match config_files::load(&paths, &args.config) {
        Ok(config) => config,
        Err(errors) => {
            tracing::error!("the config has {} problem(s):", errors.len());
            report(&errors);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    if args.require_healthy {
        config.global.healthchecks.require_healthy = true;
    }
    let expire = config.global.expire_metrics_secs.map(Duration::from_secs_f64);
    let metrics = match telemetry::install_metrics(expire) {
        Ok(handle) => handle,
        Err(error) => {
            tracing::error!("{error:#}");
            return ExitCode::FAILURE;
        }
    };
    let started = std::time::Instant::now();
    let uptime = metrics::gauge!("agent_uptime_seconds");
    let upkeep_handle = metrics.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(5));
        loop {
            ticker.tick().await;
            uptime.set(started.elapsed().as_secs_f64());
            upkeep_handle.run_upkeep();
        }
    });
    let api = if config.global.api.enabled {
        match Api::start(config.global.api.address, metrics).await {
            Ok(api) => Some(api),
            Err(error) => {
                tracing::error!("{error:#}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let mut topology = match Topology::start(config).await {
        Ok(topology) => topology,
        Err(errors) => {
            tracing::error!("the pipeline could not start:");
            report(&errors);
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("pipeline started");
    let code = supervise(&mut topology, &args, &paths).await;
    if let Some(api) = api {
        api.stop();
    }
    let limit = Duration::from_secs(args.graceful_shutdown_limit_secs);
    match topology.shutdown(limit).await {
        Ok(()) => {
            tracing::info!("stopped");
            code
        }
        Err(stuck) => {
            tracing::error!(components = ?stuck, "did not drain within {}s; aborted", limit.as_secs());
            ExitCode::FAILURE
        }
    }
}

/// Watches signals, reload triggers and component exits until the agent should stop. Returns the
/// exit code to use once the pipeline has drained.
async fn supervise(topology: &mut Topology, args: &RunArgs, paths: &[PathBuf]) -> ExitCode {
    let (mut interrupt, mut terminate, mut hangup) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(i), Ok(t), Ok(h)) => (i, t, h),
        _ => {
            tracing::error!("cannot install signal handlers");
            return ExitCode::FAILURE;
        }
    };
    let (reload_tx, mut reload_rx) = mpsc::channel::<()>(1);
    let _watcher = if args.watch_config { watch(paths, &args.config.config_dir, reload_tx) } else { None };
    loop {
        tokio::select! {
            _ = interrupt.recv() => break shutdown_on_signal("SIGINT", interrupt_again(interrupt, terminate)),
            _ = terminate.recv() => break shutdown_on_signal("SIGTERM", interrupt_again(interrupt, terminate)),
            _ = hangup.recv() => reload(topology, args, paths).await,
            Some(()) = reload_rx.recv() => reload(topology, args, paths).await,
            exit = topology.next_exit() => {
                let Some(exit) = exit else { break ExitCode::SUCCESS };
                let component = format!("{}.{}", exit.kind.table(), exit.key);
                match exit.outcome {
                    TaskOutcome::Finished => tracing::debug!(component, "finished"),
                    TaskOutcome::Failed(message) => {
                        metrics::counter!("agent_component_failures_total", "component_id" => exit.key.to_string()).increment(1);
                        tracing::error!(component, "failed: {message}");
                        if exit.current { break ExitCode::FAILURE; }
                    }
                    TaskOutcome::Panicked(message) => {
                        metrics::counter!("agent_component_failures_total", "component_id" => exit.key.to_string()).increment(1);
                        tracing::error!(component, "panicked: {message}");
                        if exit.current { break ExitCode::FAILURE; }
                    }
                }
                if topology.is_finished() {
                    tracing::info!("every component has finished");
                    break ExitCode::SUCCESS;
                }
            }
        }
    }
}

/// A second SIGINT or SIGTERM during the drain exits at once.
async fn interrupt_again(
    mut interrupt: tokio::signal::unix::Signal,
    mut terminate: tokio::signal::unix::Signal,
) {
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
}

fn shutdown_on_signal(name: &str, again: impl std::future::Future<Output = ()> + Send + 'static) -> ExitCode {
    tracing::info!("{name} received; draining the pipeline (send it again to exit at once)");
    tokio::spawn(async move {
        again.await;
        tracing::warn!("second signal: exiting without draining");
        std::process::exit(1);
    });
    ExitCode::SUCCESS
}

async fn reload(topology: &mut Topology, args: &RunArgs, paths: &[PathBuf]) {
    tracing::info!("reloading the config");
    let config = match config_files::load(paths, &args.config) {
        Ok(config) => config,
        Err(errors) => {
            tracing::error!("the new config has {} problem(s); keeping the running pipeline:", errors.len());
            report(&errors);
            return;
        }
    };
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    if config.global.api != topology.config().global.api {
        tracing::warn!("`api` changed; the change takes effect on restart");
    }
    match topology.reload(config).await {
        Ok(summary) => tracing::info!("reloaded: {summary}"),
        Err(errors) => {
            tracing::error!("the new config could not be built; keeping the running pipeline:");
            report(&errors);
        }
    }
}

/// Watches the config files' directories and asks for a reload after a change settles.
fn watch(
    paths: &[PathBuf],
    dirs: &[PathBuf],
    reload: mpsc::Sender<()>,
) -> Option<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut watcher = match notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && (event.kind.is_modify() || event.kind.is_create() || event.kind.is_remove())
        {
            let _ = tx.send(());
        }
    }) {
        Ok(watcher) => watcher,
        Err(error) => {
            tracing::error!("cannot watch config files: {error}");
            return None;
        }
    };
    for path in paths {
        if let Err(error) = watcher.watch(path, RecursiveMode::NonRecursive) {
            tracing::warn!(path = %path.display(), "cannot watch: {error}");
        }
    }
    for dir in dirs {
        if let Err(error) = watcher.watch(dir, RecursiveMode::Recursive) {
            tracing::warn!(path = %dir.display(), "cannot watch: {error}");
        }
    }
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Editors write in several steps; wait for the burst to end.
            tokio::time::sleep(Duration::from_millis(500)).await;
            while rx.try_recv().is_ok() {}
            if reload.send(()).await.is_err() {
                break;
            }
        }
    });
    Some(watcher)
}
