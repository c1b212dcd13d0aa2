//! `agent`: the Strata binary. It parses the command line and hands off to the library crates.

mod api;
mod cli;
mod commands;
mod config_files;
mod registry;
mod run;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

// mimalloc keeps per-event allocation cheap and memory flat under load; see ARCHITECTURE.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        Some(cli::Command::Validate(args)) => commands::validate(args),
        Some(cli::Command::Graph(args)) => commands::graph(args),
        Some(cli::Command::List) => commands::list(),
        Some(cli::Command::Generate(args)) => commands::generate(args),
        Some(cli::Command::Buffer(command)) => commands::buffer(command),
        None => run::run(cli.run),
    }
}
