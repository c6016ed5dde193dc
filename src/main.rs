//! The `cutover` binary: parse the command line and hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cutover::cli::Cli::parse();
    cutover::commands::run::main(cli)
}
