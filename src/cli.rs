//! Command-line definitions (clap).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Terminal cockpit for blue/green cutovers of AI gateways behind nginx.
#[derive(Debug, Parser)]
#[command(name = "cutover", version, about, long_about = None)]
pub struct Cli {
    /// Fleet configuration file.
    #[arg(short = 'c', long = "config", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Session-wide flags.
    #[command(flatten)]
    pub global: GlobalFlags,
    /// What to do; without one, the cockpit on the configured fleet.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags valid with every command.
#[derive(Debug, Args, Clone)]
pub struct GlobalFlags {
    /// Who is operating (default: the login user).
    #[arg(long, global = true, value_name = "NAME")]
    pub actor: Option<String>,
    /// Change ticket recorded with every action.
    #[arg(long, global = true, value_name = "ID")]
    pub ticket: Option<String>,
    /// Disable every mutating key and command.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Theme name (built-in or from a themes directory).
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Turn the 5xx auto-rollback into an alarm only.
    #[arg(long, global = true)]
    pub no_auto_rollback: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The cockpit on a simulated in-process fleet (no network, no config needed).
    Demo(DemoArgs),
}

/// Arguments of `cutover demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Training scenario to play (see --list-scenarios).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Clock speed: 10 runs ten simulated seconds per second (default: the scenario's).
    #[arg(long, value_name = "X")]
    pub speed: Option<f64>,
    /// Random seed; the same seed and keys give the same session.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// List the scenarios and exit.
    #[arg(long)]
    pub list_scenarios: bool,
}
