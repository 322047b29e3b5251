//! `prefixd flowspec decode` and `prefixd flowspec encode`.

use std::io;
use std::process::ExitCode;

use bgp_core::{hex, Afi};
use flowspec::{ActionCommunity, FlowRule, FlowSpec};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Family {
    Ipv4,
    Ipv6,
}

impl From<Family> for Afi {
    fn from(f: Family) -> Afi {
        match f {
            Family::Ipv4 => Afi::Ipv4,
            Family::Ipv6 => Afi::Ipv6,
        }
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct Common {
    /// Address family of the rule.
    #[arg(long, value_enum)]
    afi: Family,
    /// 133: FlowSpec; 134: FlowSpec VPN (the NLRI starts with a route distinguisher).
    #[arg(long, default_value_t = 133, value_parser = clap::value_parser!(u8).range(133..=134))]
    safi: u8,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Decode one NLRI (its length first, as in MP_REACH_NLRI) and print the rule text.
    /// Malformed input exits 1 with the error and its byte offset.
    Decode {
        #[command(flatten)]
        common: Common,
        /// The NLRI in hex (white space allowed).
        #[arg(num_args = 1.., required = true)]
        hex: Vec<String>,
    },
    /// Encode a rule written in the text syntax and print the NLRI in hex (length first). Actions
    /// after `then` are printed on a second line as the extended communities that carry them.
    /// A rule that does not parse exits 1 with the column of the error.
    Encode {
        #[command(flatten)]
        common: Common,
        /// The rule, e.g. `dst 192.0.2.1/32 proto =17 sport =53 then rate-bytes 125000`.
        #[arg(num_args = 1.., required = true)]
        text: Vec<String>,
    },
}

pub(crate) fn run(cmd: &Command) -> io::Result<ExitCode> {
    match cmd {
        Command::Decode { common, hex: text } => {
            let Ok(bytes) = hex::decode(&text.join(" ")) else {
                eprintln!("prefixd: not hex");
                return Ok(ExitCode::from(2));
            };
            match FlowSpec::decode(&bytes, common.afi.into(), common.safi == 134) {
                Ok((spec, used)) if used == bytes.len() => {
                    println!("{spec}");
                    Ok(ExitCode::SUCCESS)
                }
                Ok((_, used)) => {
                    eprintln!("error: {} bytes after the NLRI (at byte {used})", bytes.len() - used);
                    Ok(ExitCode::from(1))
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Encode { common, text } => {
            let text = text.join(" ");
            let mut rule = match FlowRule::parse(&text, Some(common.afi.into())) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}\n  {text}\n  {}^", " ".repeat(e.column.saturating_sub(1)));
                    return Ok(ExitCode::from(1));
                }
            };
            if (common.safi == 134) != rule.spec.rd().is_some() {
                eprintln!("error: SAFI 134 rules start with `rd ASN:N`; SAFI 133 rules have none");
                return Ok(ExitCode::from(1));
            }
            let nlri = match rule.spec.to_bytes() {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(1));
                }
            };
            println!("{}", hex::encode(&nlri));
            if !rule.actions.is_empty() {
                let communities: Vec<String> = std::mem::take(&mut rule.actions)
                    .iter()
                    .map(|a| match a.to_community() {
                        ActionCommunity::Extended(c) => format!("ext:{}", hex::encode(&c.0)),
                        ActionCommunity::Ipv6(c) => format!("ipv6-ext:{}", hex::encode(&c.0)),
                    })
                    .collect();
                println!("{}", communities.join(" "));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
