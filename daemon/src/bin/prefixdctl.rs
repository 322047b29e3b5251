//! `prefixdctl`: the command-line client of the prefixd HTTP API.
//!
//! The API it talks to does not exist yet; until it does, this binary only answers `--help` and
//! `--version`, and any command exits 2 saying so.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

/// Command-line client of the prefixd HTTP API (not available yet).
#[derive(Debug, Parser)]
#[command(name = "prefixdctl", version, about)]
struct Cli {
    /// Command and arguments.
    args: Vec<String>,
}

fn main() -> ExitCode {
    let _ = Cli::parse();
    eprintln!("prefixdctl: the prefixd HTTP API is not implemented yet");
    ExitCode::from(2)
}
