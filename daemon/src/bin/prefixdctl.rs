//! `prefixdctl`: the command-line client of the prefixd HTTP API.
//!
//! Exit codes: 0 success; 1 server error (5xx) or unexpected answer; 2 usage (bad arguments, or
//! the API answered 400 to what they asked); 3 cannot connect; 4 authentication or permission
//! (401, 403); 5 not found (404); 6 refused (409, 422, or an invalid configuration for
//! `config check`).
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

/// Command-line client of the prefixd HTTP API.
#[derive(Debug, Parser)]
#[command(name = "prefixdctl", version, about = "Command-line client of the prefixd HTTP API", after_help = EXIT_CODES)]
struct Cli {
    /// API base URL.
    #[arg(short, long, env = "PREFIXD_API", default_value = "http://127.0.0.1:8080", global = true)]
    api: String,
    /// Bearer token (from the environment; a token on the command line shows in `ps`).
    #[arg(short, long, env = "PREFIXD_API_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table, global = true)]
    format: Format,
    /// PEM file of the CA certificates that sign the API's certificate (for an `https://` API
    /// with a private CA; by default the Mozilla roots are trusted).
    #[arg(long, env = "PREFIXD_CA_CERT", value_name = "FILE", global = true)]
    ca_cert: Option<std::path::PathBuf>,
    /// PEM file of this client's certificate chain, for an API that wants mutual TLS.
    #[arg(long, env = "PREFIXD_CLIENT_CERT", value_name = "FILE", global = true, requires = "client_key")]
    client_cert: Option<std::path::PathBuf>,
    /// PEM file of the client certificate's private key.
    #[arg(long, env = "PREFIXD_CLIENT_KEY", value_name = "FILE", global = true, requires = "client_cert")]
    client_key: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 ok, 1 server error, 2 usage, 3 connection, 4 auth, 5 not found, 6 refused.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Daemon health: mode, sessions, active mitigations, store.
    Status,
    /// BGP peers and their session state.
    Peers,
    /// Mitigations.
    #[command(subcommand)]
    Mitigations(Mitigations),
    /// Events.
    #[command(subcommand)]
    Events(Events),
    /// The safelist.
    #[command(subcommand)]
    Safelist(Safelist),
    /// Reload inventory, playbooks, guardrails, quotas, timers and safelist from the config file.
    Reload,
    /// Compare the desired set with every peer now and repair drift.
    Reconcile,
    /// Configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Print shell completions (bash, zsh, fish, elvish, powershell) to standard output.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to standard output.
    #[command(hide = true)]
    Man,
}

#[derive(Debug, Subcommand)]
enum Mitigations {
    /// List, newest first.
    List {
        /// Comma-separated statuses (active,escalated,expired,withdrawn).
        #[arg(short, long)]
        status: Option<String>,
        /// Customer.
        #[arg(short, long)]
        customer: Option<String>,
        /// Victim address.
        #[arg(long)]
        victim: Option<String>,
        /// Most to show.
        #[arg(short, long, default_value_t = 50)]
        limit: usize,
        /// Continue after this cursor (printed after a full page).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// One mitigation.
    Get {
        /// Its id.
        id: String,
    },
    /// Withdraw one.
    Withdraw {
        /// Its id.
        id: String,
        /// Why (kept in the audit trail).
        #[arg(short, long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum Events {
    /// List, newest first.
    List {
        /// Victim address.
        #[arg(long)]
        victim: Option<String>,
        /// Most to show.
        #[arg(short, long, default_value_t = 50)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
enum Safelist {
    /// List.
    List,
    /// Add a prefix.
    Add {
        /// The prefix (`203.0.113.0/24`).
        prefix: String,
        /// Why.
        #[arg(short, long)]
        reason: Option<String>,
        /// Remove it after this many seconds.
        #[arg(long)]
        ttl: Option<u64>,
    },
    /// Remove a prefix.
    Remove {
        /// The prefix.
        prefix: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCmd {
    /// Validate a configuration file locally (with its inventory and playbooks files).
    Check {
        /// The TOML file.
        file: std::path::PathBuf,
    },
}

/// Why a command failed, as an exit code.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

fn fail(code: u8, message: impl Into<String>) -> Failure {
    Failure { code, message: message.into() }
}

struct Client {
    agent: ureq::Agent,
    api: String,
    token: Option<String>,
}

impl Client {
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.api.trim_end_matches('/'));
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let result = match (method, body) {
            ("GET", _) => {
                let mut r = self.agent.get(&url);
                if let Some(a) = &auth {
                    r = r.header("authorization", a);
                }
                r.call()
            }
            ("DELETE", _) => {
                let mut r = self.agent.delete(&url);
                if let Some(a) = &auth {
                    r = r.header("authorization", a);
                }
                r.call()
            }
            (_, body) => {
                let mut r = self.agent.post(&url);
                if let Some(a) = &auth {
                    r = r.header("authorization", a);
                }
                r.send_json(body.cloned().unwrap_or(json!({})))
            }
        };
        let mut resp = result.map_err(|e| fail(3, format!("cannot reach {}: {e}", self.api)))?;
        let status = resp.status().as_u16();
        let v: Value = resp.body_mut().read_json().unwrap_or(Value::Null);
        let msg = || v["error"].as_str().map_or_else(|| format!("HTTP {status}"), |e| format!("{e} (HTTP {status})"));
        match status {
            200..=299 => Ok(v),
            400 | 413 | 415 => Err(fail(2, msg())),
            401 | 403 => Err(fail(4, msg())),
            404 => Err(fail(5, msg())),
            409 | 422 => Err(fail(6, format!("refused: {}", msg()))),
            _ => Err(fail(1, msg())),
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Prints rows as aligned columns.
fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let s: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", s.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for r in rows {
        line(r.clone());
    }
}

/// A table of `items` (a JSON array) with these fields as columns.
fn columns(items: &Value, keys: &[&str]) {
    table(keys, &rows(items, keys));
}

fn rows(items: &Value, keys: &[&str]) -> Vec<Vec<String>> {
    items.as_array().map_or_else(Vec::new, |a| a.iter().map(|i| keys.iter().map(|k| text(&i[*k])).collect()).collect())
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b',' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The items of a PEM file; a file that cannot be read or parsed is a usage error.
fn pem(path: &std::path::Path) -> Result<Vec<PemItem<'static>>, Failure> {
    let bytes = std::fs::read(path).map_err(|e| fail(2, format!("{}: {e}", path.display())))?;
    ureq::tls::parse_pem(&bytes).collect::<Result<_, _>>().map_err(|e| fail(2, format!("{}: {e}", path.display())))
}

/// The certificates of a PEM file, at least one.
fn pem_certs(path: &std::path::Path) -> Result<Vec<Certificate<'static>>, Failure> {
    let certs: Vec<_> =
        pem(path)?.into_iter().filter_map(|i| if let PemItem::Certificate(c) = i { Some(c) } else { None }).collect();
    if certs.is_empty() {
        return Err(fail(2, format!("{}: no certificate in this PEM file", path.display())));
    }
    Ok(certs)
}

/// The first private key of a PEM file.
fn pem_key(path: &std::path::Path) -> Result<PrivateKey<'static>, Failure> {
    pem(path)?
        .into_iter()
        .find_map(|i| if let PemItem::PrivateKey(k) = i { Some(k) } else { None })
        .ok_or_else(|| fail(2, format!("{}: no private key in this PEM file", path.display())))
}

/// TLS settings from `--ca-cert`, `--client-cert` and `--client-key`.
fn tls_config(cli: &Cli) -> Result<TlsConfig, Failure> {
    let mut tls = TlsConfig::builder();
    if let Some(ca) = &cli.ca_cert {
        tls = tls.root_certs(RootCerts::new_with_certs(&pem_certs(ca)?));
    }
    if let (Some(cert), Some(key)) = (&cli.client_cert, &cli.client_key) {
        tls = tls.client_cert(Some(ClientCert::new_with_certs(&pem_certs(cert)?, pem_key(key)?)));
    }
    Ok(tls.build())
}

fn run(cli: &Cli) -> Result<(), Failure> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .tls_config(tls_config(cli)?)
        .build()
        .into();
    let c = Client { agent, api: cli.api.clone(), token: cli.token.clone() };
    let json_out = cli.format == Format::Json;
    let show = |v: &Value| println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "prefixdctl",
                &mut std::io::stdout(),
            );
            return Ok(());
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut out)
                .map_err(|e| fail(1, e.to_string()))?;
            use std::io::Write as _;
            let _ = std::io::stdout().write_all(&out);
            return Ok(());
        }
        Command::Config(ConfigCmd::Check { file }) => {
            return match prefixd::config::Config::load_all(file) {
                Ok(_) => {
                    println!("{}: ok", file.display());
                    Ok(())
                }
                Err(e) => Err(fail(6, e.to_string())),
            };
        }
        Command::Status => {
            let v = c.request("GET", "/v1/health/detail", None)?;
            if json_out {
                show(&v);
            } else {
                for k in ["status", "version", "pop", "mode", "uptime_seconds", "active_mitigations", "database"] {
                    println!("{k:<20} {}", text(&v[k]));
                }
                if let Some(s) = v["bgp_sessions"].as_object() {
                    for (peer, st) in s {
                        println!("{:<20} {peer} {}", "bgp_session", text(st));
                    }
                }
            }
        }
        Command::Peers => {
            let v = c.request("GET", "/v1/peers", None)?;
            if json_out {
                show(&v);
            } else {
                columns(&v, &["address", "remote_as", "state", "families"]);
            }
        }
        Command::Mitigations(Mitigations::List { status, customer, victim, limit, cursor }) => {
            let mut q = format!("/v1/mitigations?limit={limit}");
            for (k, v) in [("status", status), ("customer_id", customer), ("victim_ip", victim), ("cursor", cursor)] {
                if let Some(v) = v {
                    q.push_str(&format!("&{k}={}", encode(v)));
                }
            }
            let v = c.request("GET", &q, None)?;
            if json_out {
                show(&v);
            } else {
                columns(
                    &v["mitigations"],
                    &["mitigation_id", "status", "customer_id", "victim_ip", "action_type", "expires_at", "rule"],
                );
                println!("{} matching", text(&v["count"]));
                if let Some(c) = v["next_cursor"].as_str() {
                    println!("more: --cursor {c}");
                }
            }
        }
        Command::Mitigations(Mitigations::Get { id }) => {
            let v = c.request("GET", &format!("/v1/mitigations/{}", encode(id)), None)?;
            if json_out {
                show(&v);
            } else if let Some(o) = v.as_object() {
                for (k, val) in o {
                    println!("{k:<20} {}", text(val));
                }
            }
        }
        Command::Mitigations(Mitigations::Withdraw { id, reason }) => {
            let v = c.request(
                "POST",
                &format!("/v1/mitigations/{}/withdraw", encode(id)),
                Some(&json!({"reason": reason})),
            )?;
            if json_out {
                show(&v);
            } else {
                println!("{} {}", text(&v["mitigation_id"]), text(&v["status"]));
            }
        }
        Command::Events(Events::List { victim, limit }) => {
            let mut q = format!("/v1/events?limit={limit}");
            if let Some(v) = victim {
                q.push_str(&format!("&victim_ip={}", encode(v)));
            }
            let v = c.request("GET", &q, None)?;
            if json_out {
                show(&v);
            } else {
                columns(
                    &v["events"],
                    &[
                        "event_id",
                        "source",
                        "external_event_id",
                        "victim_ip",
                        "vector",
                        "action",
                        "status",
                        "ingested_at",
                    ],
                );
            }
        }
        Command::Safelist(Safelist::List) => {
            let v = c.request("GET", "/v1/safelist", None)?;
            if json_out {
                show(&v);
            } else {
                columns(&v, &["prefix", "added_by", "reason", "expires_at"]);
            }
        }
        Command::Safelist(Safelist::Add { prefix, reason, ttl }) => {
            let mut body = json!({"prefix": prefix});
            if let Some(r) = reason {
                body["reason"] = json!(r);
            }
            if let Some(t) = ttl {
                body["ttl_seconds"] = json!(t);
            }
            let v = c.request("POST", "/v1/safelist", Some(&body))?;
            if json_out {
                show(&v);
            } else {
                println!("added {}", text(&v["prefix"]));
            }
        }
        Command::Safelist(Safelist::Remove { prefix }) => {
            let v = c.request("DELETE", &format!("/v1/safelist/{prefix}"), None)?;
            if json_out {
                show(&v);
            } else {
                println!("removed {}", text(&v["removed"]));
            }
        }
        Command::Reload => {
            let v = c.request("POST", "/v1/config/reload", None)?;
            if json_out {
                show(&v);
            } else {
                println!("reloaded: {}", text(&v["reloaded"]));
                if v["restart_required"].as_array().is_some_and(|a| !a.is_empty()) {
                    println!("changed, need a restart: {}", text(&v["restart_required"]));
                }
            }
        }
        Command::Reconcile => {
            let v = c.request("POST", "/v1/reconcile", None)?;
            if json_out {
                show(&v);
            } else {
                for k in ["desired", "announced", "withdrawn", "replaced", "peers", "dry_run"] {
                    println!("{k:<10} {}", text(&v[k]));
                }
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    // clap exits 2 on usage errors by itself.
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("prefixdctl: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
