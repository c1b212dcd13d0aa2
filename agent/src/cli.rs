//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "agent",
    version,
    about = "Strata: an observability pipeline agent for logs, metrics and traces"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check config files and report every problem found.
    Validate(ValidateArgs),
    /// Print the pipeline graph as DOT or Mermaid.
    Graph(GraphArgs),
    /// List the component types this build knows.
    List,
    /// Print a starter config, such as `agent generate stdin/remap/console`.
    Generate(GenerateArgs),
    /// Look into, check or repair a disk buffer directory (`<data_dir>/buffer/<component id>`).
    #[command(subcommand)]
    Buffer(BufferCommand),
}

#[derive(Debug, Subcommand)]
pub enum BufferCommand {
    /// Segments, records, sizes and the reader's position.
    Inspect { dir: PathBuf },
    /// Check every record's checksum and that it decodes; exit status 0 only when healthy.
    Verify { dir: PathBuf },
    /// Rewrite the buffer without its corrupt records, and report what was lost.
    Repair { dir: PathBuf },
}

/// Where the config comes from.
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArgs {
    /// A config file (TOML, YAML or JSON by extension). May be given several times; the files
    /// are merged.
    #[arg(short, long = "config", value_name = "FILE", env = "AGENT_CONFIG", value_delimiter = ',')]
    pub config: Vec<PathBuf>,
    /// A directory of config files; files under its `sources/`, `transforms/` and `sinks/`
    /// subdirectories each define one component named after the file.
    #[arg(long = "config-dir", value_name = "DIR")]
    pub config_dir: Vec<PathBuf>,
    /// Do not replace `${VAR}` with environment variables.
    #[arg(long)]
    pub no_environment: bool,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Reload when a config file changes (as on SIGHUP).
    #[arg(short, long)]
    pub watch_config: bool,
    /// Worker threads. Default: the number of CPUs.
    #[arg(short, long, env = "AGENT_THREADS")]
    pub threads: Option<usize>,
    /// How long to wait for events in flight to drain on shutdown, in seconds.
    #[arg(long, default_value_t = 60, env = "AGENT_GRACEFUL_SHUTDOWN_LIMIT_SECS")]
    pub graceful_shutdown_limit_secs: u64,
    /// Format of the agent's own log on standard error. The level comes from `AGENT_LOG`.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "AGENT_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Refuse to start when a sink's healthcheck fails.
    #[arg(long)]
    pub require_healthy: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Config files to check together as one pipeline.
    #[arg(value_name = "FILE")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Fail on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum GraphFormat {
    #[default]
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[arg(value_name = "FILE")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// `sources/transforms/sinks`, each a comma-separated list of types, such as
    /// `stdin/remap/console` or `demo_logs,stdin//blackhole`.
    pub expression: String,
}
