//! The subcommands that do not run a pipeline: `validate`, `graph`, `list`, `generate`.

use std::process::ExitCode;

use strata_core::ComponentKind;
use strata_topology::Graph;

use crate::cli::{BufferCommand, ConfigArgs, GenerateArgs, GraphArgs, GraphFormat, ValidateArgs};
use crate::config_files;
use crate::registry::registry;

fn merged(paths: &[std::path::PathBuf], config: &ConfigArgs) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut args = config.clone();
    args.config.extend(paths.iter().cloned());
    config_files::resolve_paths(&args)
}

/// Checks a pipeline's files and prints every problem. Exit status 78 on errors.
pub fn validate(args: ValidateArgs) -> ExitCode {
    let paths = match merged(&args.paths, &args.config) {
        Ok(paths) => paths,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(78);
        }
    };
    match config_files::load(&paths, &args.config) {
        Ok(config) => {
            for warning in &config.warnings {
                eprintln!("warning: {warning}");
            }
            let mut warnings = config.warnings.len();
            if let Some(data_dir) = &config.global.data_dir {
                let needed = strata_topology::config::disk_buffer_bytes(&config);
                let free = fs4::available_space(existing_ancestor(data_dir)).unwrap_or(u64::MAX);
                if needed > free {
                    eprintln!(
                        "warning: disk buffers may take {needed} bytes under {}, but only {free} bytes are free",
                        data_dir.display()
                    );
                    warnings += 1;
                }
            }
            if args.deny_warnings && warnings > 0 {
                eprintln!("{warnings} warning(s), and --deny-warnings is set");
                return ExitCode::from(78);
            }
            let count = config.sources.len() + config.transforms.len() + config.sinks.len();
            println!(
                "valid: {count} components ({} sources, {} transforms, {} sinks)",
                config.sources.len(),
                config.transforms.len(),
                config.sinks.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for error in &errors {
                eprintln!("error: {error}");
            }
            eprintln!("{} error(s)", errors.len());
            ExitCode::from(78)
        }
    }
}

pub fn graph(args: GraphArgs) -> ExitCode {
    let paths = match merged(&args.paths, &args.config) {
        Ok(paths) => paths,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(78);
        }
    };
    match config_files::load(&paths, &args.config) {
        Ok(config) => {
            match args.format {
                GraphFormat::Dot => print!("{}", Graph::dot(&config)),
                GraphFormat::Mermaid => print!("{}", Graph::mermaid(&config)),
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for error in &errors {
                eprintln!("error: {error}");
            }
            ExitCode::from(78)
        }
    }
}

pub fn list() -> ExitCode {
    let registry = registry();
    let sections: [(&str, Vec<(&str, &str)>); 3] = [
        ("Sources", registry.sources.iter().map(|r| (r.type_name, r.description)).collect()),
        ("Transforms", registry.transforms.iter().map(|r| (r.type_name, r.description)).collect()),
        ("Sinks", registry.sinks.iter().map(|r| (r.type_name, r.description)).collect()),
    ];
    for (title, entries) in sections {
        println!("{title}:");
        for (name, description) in entries {
            println!("  {name:<20} {description}");
        }
        println!();
    }
    ExitCode::SUCCESS
}

fn example(kind: ComponentKind, type_name: &str) -> Option<&'static str> {
    let registry = registry();
    match kind {
        ComponentKind::Source => {
            registry.sources.iter().find(|r| r.type_name == type_name).map(|r| r.example)
        }
        ComponentKind::Transform => {
            registry.transforms.iter().find(|r| r.type_name == type_name).map(|r| r.example)
        }
        ComponentKind::Sink => registry.sinks.iter().find(|r| r.type_name == type_name).map(|r| r.example),
    }
}

/// Prints a starter config: each source feeds the first transform, transforms chain in order,
/// and every sink reads the last transform (or every source when there is none).
pub fn generate(args: GenerateArgs) -> ExitCode {
    let parts: Vec<&str> = args.expression.split('/').collect();
    if parts.len() > 3 {
        eprintln!("error: the expression is `sources/transforms/sinks`, got {} parts", parts.len());
        return ExitCode::from(2);
    }
    let list = |index: usize| -> Vec<&str> {
        parts.get(index).map(|part| part.split(',').filter(|s| !s.is_empty()).collect()).unwrap_or_default()
    };
    let kinds = [ComponentKind::Source, ComponentKind::Transform, ComponentKind::Sink];
    let mut out = String::new();
    let mut upstream: Vec<String> = Vec::new();
    let mut used: Vec<String> = Vec::new();
    for (index, kind) in kinds.into_iter().enumerate() {
        let mut this_level = Vec::new();
        for type_name in list(index) {
            let Some(example) = example(kind, type_name) else {
                let known = registry().type_names(kind).join(", ");
                eprintln!("error: unknown {kind} type `{type_name}` (known: {known})");
                return ExitCode::from(2);
            };
            let mut id = type_name.to_owned();
            let mut n = 1;
            while used.contains(&id) {
                n += 1;
                id = format!("{type_name}_{n}");
            }
            used.push(id.clone());
            out.push_str(&format!("[{}.{id}]\n", kind.table()));
            for line in example.lines() {
                if line.starts_with("inputs") {
                    let inputs: Vec<String> = upstream.iter().map(|i| format!("{i:?}")).collect();
                    out.push_str(&format!("inputs = [{}]\n", inputs.join(", ")));
                } else {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            out.push('\n');
            match kind {
                ComponentKind::Source => this_level.push(id),
                // Transforms chain: each reads the one before it.
                ComponentKind::Transform => upstream = vec![id],
                ComponentKind::Sink => {}
            }
        }
        if kind == ComponentKind::Source {
            upstream = this_level;
        }
    }
    print!("{out}");
    ExitCode::SUCCESS
}

/// The nearest existing directory at or above `path`, to ask the filesystem about free space.
fn existing_ancestor(path: &std::path::Path) -> &std::path::Path {
    path.ancestors().find(|p| p.exists()).unwrap_or(std::path::Path::new("/"))
}

/// `agent buffer inspect|verify|repair DIR`.
pub fn buffer(command: BufferCommand) -> ExitCode {
    use strata_buffers::disk;
    match command {
        BufferCommand::Inspect { dir } => match disk::inspect(&dir) {
            Ok(report) => {
                println!("{report:#?}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
        BufferCommand::Verify { dir } => {
            let decodes = |record: &[u8]| strata_event::proto::decode_batch(record).is_ok();
            match disk::verify(&dir, Some(&decodes)) {
                Ok(report) if report.is_healthy() => {
                    println!("healthy: {report:#?}");
                    ExitCode::SUCCESS
                }
                Ok(report) => {
                    println!("damaged: {report:#?}");
                    ExitCode::FAILURE
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::from(2)
                }
            }
        }
        BufferCommand::Repair { dir } => match disk::repair(&dir) {
            Ok(report) => {
                println!("{report:#?}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
    }
}
