//! `prefixd decode` and `prefixd encode`.

use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;

use bgp_core::framer::Framer;
use bgp_core::iana::MAX_EXTENDED_MESSAGE_LEN;
use bgp_core::message::{Message, WireContext};
use bgp_core::{hex, DecodeError, Family};
use serde_json::json;

/// How the session the messages came from was negotiated.
#[derive(Debug, clap::Args)]
pub(crate) struct SessionArgs {
    /// The session did not negotiate 4-octet AS numbers (RFC 6793): AS_PATH and AGGREGATOR carry
    /// 2-octet AS numbers.
    #[arg(long)]
    as2: bool,
    /// NLRI of this family carry ADD-PATH path identifiers (RFC 7911), e.g. `ipv4-unicast`.
    /// Repeat for several families.
    #[arg(long = "add-path", value_name = "FAMILY")]
    add_path: Vec<Family>,
    /// Extended messages (RFC 8654) were negotiated: accept and produce messages up to 65535 bytes.
    #[arg(long)]
    extended: bool,
    /// iBGP session: LOCAL_PREF is mandatory.
    #[arg(long)]
    ibgp: bool,
}

impl SessionArgs {
    fn context(&self) -> WireContext {
        WireContext {
            four_octet_as: !self.as2,
            add_path_receive: self.add_path.clone(),
            add_path_send: self.add_path.clone(),
            ibgp: self.ibgp,
            ..WireContext::default()
        }
        .with_extended_messages(self.extended)
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct DecodeArgs {
    /// Hex of one or more whole messages; standard input when absent.
    hex: Vec<String>,
    #[command(flatten)]
    session: SessionArgs,
    /// Pretty-print the JSON.
    #[arg(long)]
    pretty: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct EncodeArgs {
    /// JSON messages; standard input when absent. Several may follow one another.
    json: Vec<String>,
    #[command(flatten)]
    session: SessionArgs,
}

/// Reads the arguments or, when there are none, standard input, dropping `#` comment lines.
fn input(args: &[String]) -> io::Result<String> {
    if !args.is_empty() {
        return Ok(args.join("\n"));
    }
    let mut text = String::new();
    for line in io::stdin().lock().lines() {
        let line = line?;
        if !line.trim_start().starts_with('#') {
            text.push_str(&line);
            text.push('\n');
        }
    }
    Ok(text)
}

fn error_json(e: &DecodeError, stream_offset: usize, bytes: Option<&[u8]>) -> serde_json::Value {
    let n = e.notification();
    let mut v = json!({
        "error": {
            "message": e.kind.to_string(),
            "offset": e.offset + stream_offset,
            "notification": {
                "code": n.code,
                "subcode": n.subcode,
                "data": hex::encode(&n.data),
                "name": format!("{} / {}", n.code_name(), n.subcode_name()),
            },
            "action": e.action(),
        }
    });
    if let (Some(b), Some(obj)) = (bytes, v.get_mut("error").and_then(|e| e.as_object_mut())) {
        obj.insert("hex".into(), json!(hex::encode(b)));
    }
    v
}

fn print(out: &mut impl Write, v: &impl serde::Serialize, pretty: bool) -> io::Result<()> {
    let text = if pretty { serde_json::to_string_pretty(v) } else { serde_json::to_string(v) };
    writeln!(out, "{}", text.map_err(io::Error::other)?)
}

pub(crate) fn decode(args: &DecodeArgs) -> io::Result<ExitCode> {
    let text = input(&args.hex)?;
    let bytes = match hex::decode(&text) {
        Ok(b) => b,
        Err(at) => {
            eprintln!("prefixd: not hex at character {at}");
            return Ok(ExitCode::from(2));
        }
    };
    let ctx = args.session.context();
    let mut framer = Framer::new(if args.session.extended { MAX_EXTENDED_MESSAGE_LEN } else { ctx.max_message_len });
    framer.extend(&bytes);
    let mut stdout = io::stdout().lock();
    let mut offset = 0usize;
    let mut failed = false;
    loop {
        match framer.next_message() {
            Ok(Some(m)) => {
                match Message::decode(&m, &ctx) {
                    Ok(msg) => print(&mut stdout, &msg, args.pretty)?,
                    Err(e) => {
                        print(&mut stdout, &error_json(&e, offset, Some(&m)), args.pretty)?;
                        failed = true;
                    }
                }
                offset += m.len();
            }
            Ok(None) => break,
            Err(e) => {
                // The stream is out of step: nothing after this point can be framed.
                print(&mut stdout, &error_json(&e, 0, None), args.pretty)?;
                return Ok(ExitCode::from(1));
            }
        }
    }
    if framer.buffered() > 0 {
        let v = json!({"error": {"message": "incomplete message at the end of the input", "offset": offset, "bytes": framer.buffered()}});
        print(&mut stdout, &v, args.pretty)?;
        failed = true;
    }
    if offset == 0 && !failed {
        eprintln!("prefixd: no message in the input");
        return Ok(ExitCode::from(2));
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

pub(crate) fn encode(args: &EncodeArgs) -> io::Result<ExitCode> {
    let text = if args.json.is_empty() {
        let mut t = String::new();
        io::stdin().read_to_string(&mut t)?;
        t
    } else {
        args.json.join("\n")
    };
    let ctx = args.session.context();
    let mut stdout = io::stdout().lock();
    let mut count = 0usize;
    for item in serde_json::Deserializer::from_str(&text).into_iter::<Message>() {
        let msg = match item {
            Ok(m) => m,
            Err(e) => {
                eprintln!("prefixd: message {}: {e}", count + 1);
                return Ok(ExitCode::from(1));
            }
        };
        match msg.to_bytes(&ctx) {
            Ok(b) => writeln!(stdout, "{}", hex::encode(&b))?,
            Err(e) => {
                eprintln!("prefixd: message {}: cannot encode: {e}", count + 1);
                return Ok(ExitCode::from(1));
            }
        }
        count += 1;
    }
    if count == 0 {
        eprintln!("prefixd: no message in the input");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
