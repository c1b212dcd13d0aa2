//! Finding and reading config files: `--config`, `--config-dir`, and the default locations.
//!
//! Only the agent reads files named by the user and the environment; the topology crate gets
//! their text.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use strata_core::ComponentKind;
use strata_topology::config::{ConfigError, LoadOptions};
use strata_topology::{Config, ConfigFile};

use crate::cli::ConfigArgs;
use crate::registry::registry;

/// Where the agent looks when no `--config` is given, in order.
pub fn default_locations() -> Vec<PathBuf> {
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")));
    let mut locations = vec![PathBuf::from("log.toml")];
    if let Some(config_home) = config_home {
        locations.push(config_home.join("log").join("config.toml"));
    }
    locations.push(PathBuf::from("/etc/agent/pipeline.toml"));
    locations
}

/// The config files to load: those named, or the first default location that exists.
pub fn resolve_paths(args: &ConfigArgs) -> anyhow::Result<Vec<PathBuf>> {
    if !args.config.is_empty() || !args.config_dir.is_empty() {
        return Ok(args.config.clone());
    }
    let locations = default_locations();
    match locations.iter().find(|path| path.is_file()) {
        Some(found) => {
            tracing::info!(path = %found.display(), "no --config given; using the default config file");
            Ok(vec![found.clone()])
        }
        None => {
            let list = locations.iter().map(|p| format!("  {}", p.display())).collect::<Vec<_>>().join("\n");
            bail!("no config file given (--config or --config-dir), and none found at:\n{list}")
        }
    }
}

fn is_config_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("toml" | "yaml" | "yml" | "json"))
}

fn sorted_entries(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read config directory {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

/// Reads every file named by `paths` and `dirs`.
pub fn read(paths: &[PathBuf], dirs: &[PathBuf]) -> anyhow::Result<Vec<ConfigFile>> {
    let mut files = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        files.push(ConfigFile::new(path.clone(), text));
    }
    for dir in dirs {
        for path in sorted_entries(dir)? {
            if path.is_file() && is_config_file(&path) {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                files.push(ConfigFile::new(path, text));
            }
        }
        for kind in [ComponentKind::Source, ComponentKind::Transform, ComponentKind::Sink] {
            let sub = dir.join(kind.table());
            if !sub.is_dir() {
                continue;
            }
            for path in sorted_entries(&sub)? {
                if !(path.is_file() && is_config_file(&path)) {
                    continue;
                }
                let id = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                files.push(ConfigFile { path, text, component: Some((kind, id)) });
            }
        }
    }
    if files.is_empty() {
        bail!("no config files found in the given directories");
    }
    Ok(files)
}

/// Reads and loads a pipeline. `Err` carries every problem, ready to print.
pub fn load(paths: &[PathBuf], args: &ConfigArgs) -> Result<Config, Vec<String>> {
    let files = read(paths, &args.config_dir).map_err(|error| vec![format!("{error:#}")])?;
    let env = |name: &str| std::env::var(name).ok();
    let options = LoadOptions { interpolate: !args.no_environment, env: &env };
    strata_topology::load(&files, &registry(), &options)
        .map_err(|errors| errors.iter().map(ConfigError::to_string).collect())
}
