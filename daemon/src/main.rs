//! `prefixd`: the prefixd daemon and its BGP tools.
//!
//! For now it offers the message tools operators use on captured packets:
//! `prefixd decode` (hex to JSON), `prefixd encode` (JSON to hex), and
//! `prefixd flowspec decode|encode` (FlowSpec NLRI to rule text and back).
#![forbid(unsafe_code)]

mod announce;
mod codec_cli;
mod flowspec_cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc malloc: under event load glibc's allocator (malloc_consolidate,
/// _int_malloc) took about a third of the daemon's CPU (perf, docs/PERFORMANCE.md). Built with
/// `no_thp`: with transparent huge pages, re-used purged pages were zeroed 2 MiB at a time
/// (clear_page_erms was ~10% of CPU at 40k events/s).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// prefixd: DDoS events to BGP FlowSpec rules, and BGP message tools.
#[derive(Debug, Parser)]
#[command(name = "prefixd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: API, policy, store and BGP. Without --config, safe embedded defaults:
    /// dry-run, API on 127.0.0.1:8080, state in ./prefixd-data/prefixd.redb, no peers.
    Run {
        /// The TOML configuration file.
        #[arg(long, short)]
        config: Option<std::path::PathBuf>,
    },
    /// Decode whole BGP messages given in hex (marker included) to one JSON object per message.
    ///
    /// Reads the arguments, or standard input when there are none. Several messages may follow one
    /// another; white space, `:` separators and lines starting with `#` are ignored. A malformed
    /// message prints a JSON object with "error" (offset, NOTIFICATION, RFC 7606 action) and exits 1.
    Decode(codec_cli::DecodeArgs),
    /// Encode JSON messages (as printed by `decode`) to hex, one line per message.
    Encode(codec_cli::EncodeArgs),
    /// Announce FlowSpec rules from a file to BGP peers until interrupted (a static injector).
    Announce(announce::AnnounceArgs),
    /// Validate a prefixd configuration file without starting anything; exits 1 with the file,
    /// line and key of the first error.
    CheckConfig {
        /// The TOML file.
        file: std::path::PathBuf,
    },
    /// FlowSpec NLRI tools: `decode` (hex to rule text) and `encode` (rule text to hex).
    #[command(subcommand)]
    Flowspec(flowspec_cli::Command),
    /// Print the man page (roff) to standard output.
    #[command(hide = true)]
    Man,
    /// Print shell completions for prefixd.
    #[command(hide = true)]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { config } => run(config),
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out).map(|()| {
                use std::io::Write as _;
                let _ = std::io::stdout().write_all(&out);
                ExitCode::SUCCESS
            })
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "prefixd",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Decode(args) => codec_cli::decode(&args),
        Command::Encode(args) => codec_cli::encode(&args),
        Command::Flowspec(cmd) => flowspec_cli::run(&cmd),
        Command::Announce(args) => announce::run(&args),
        Command::CheckConfig { file } => Ok(match prefixd::config::Config::load_all(&file) {
            Ok(_) => {
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("prefixd: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(config: Option<std::path::PathBuf>) -> std::io::Result<ExitCode> {
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    Ok(match rt.block_on(prefixd::service::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("prefixd: {e}");
            ExitCode::from(1)
        }
    })
}
