//! Runs `prefixd run` as a process for integration tests: its own directory, config and redb
//! file, its own loopback address for the API; stopped by PID.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running daemon.
pub struct Daemon {
    pub dir: PathBuf,
    pub api: String,
    child: Option<Child>,
    tls: bool,
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

impl Daemon {
    /// Writes `config` (with `@DIR@` replaced) to a fresh directory and starts the daemon.
    pub fn start(name: &str, api: &str, config: &str) -> Daemon {
        Daemon::start_with(name, api, config, &[])
    }

    /// A daemon serving HTTPS: readiness is checked by a TCP connect, not an HTTP request.
    pub fn start_tls(name: &str, api: &str, config: &str, files: &[(&str, &str)]) -> Daemon {
        Daemon::start_inner(name, api, config, files, true)
    }

    /// The same, with more files (name, content) beside the config.
    pub fn start_with(name: &str, api: &str, config: &str, files: &[(&str, &str)]) -> Daemon {
        Daemon::start_inner(name, api, config, files, false)
    }

    fn start_inner(name: &str, api: &str, config: &str, files: &[(&str, &str)], tls: bool) -> Daemon {
        let dir = std::env::temp_dir().join(format!("prefixd-daemon-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (f, content) in files {
            std::fs::write(dir.join(f), content).unwrap();
        }
        std::fs::write(dir.join("prefixd.toml"), config.replace("@DIR@", &dir.display().to_string())).unwrap();
        let mut d = Daemon { dir, api: format!("http://{api}"), child: None, tls };
        d.launch();
        d
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("prefixd.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_prefixd"))
            .arg("run")
            .arg("--config")
            .arg(self.dir.join("prefixd.toml"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let up = wait(Duration::from_secs(20), || {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    panic!("prefixd exited with {st}:\n{}", self.log());
                }
            }
            let ready = if self.tls {
                std::net::TcpStream::connect(self.api.trim_start_matches("http://")).is_ok()
            } else {
                self.get("/v1/health").0 == 200
            };
            ready.then_some(())
        });
        assert!(up.is_some(), "prefixd did not come up:\n{}", self.log());
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prefixd.log")).unwrap_or_default()
    }

    /// SIGKILL, as in a crash.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let end = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(Some(st)) = c.try_wait() {
                    assert!(st.success(), "prefixd exited with {st}:\n{}", self.log());
                    return;
                }
                if Instant::now() > end {
                    let _ = c.kill();
                    let _ = c.wait();
                    panic!("prefixd did not stop on SIGTERM:\n{}", self.log());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    pub fn restart(&mut self) {
        self.launch();
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        match agent().get(format!("{}{path}", self.api)).call() {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
            Err(_) => (0, Value::Null),
        }
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        match agent().post(format!("{}{path}", self.api)).send_json(body) {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
            Err(e) => panic!("POST {path}: {e}"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!("prefixd files kept in {}\n--- log ---\n{}", self.dir.display(), self.log());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub use interop_harness::wait_for as wait;

/// The `external_event_id`s of every stored event, read page by page with the cursor.
pub fn all_events(d: &Daemon) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let path = match &cursor {
            Some(c) => format!("/v1/events?limit=1000&cursor={c}"),
            None => "/v1/events?limit=1000".to_string(),
        };
        let (st, v) = d.get(&path);
        assert_eq!(st, 200, "{v}");
        for e in v["events"].as_array().unwrap() {
            out.insert(e["external_event_id"].as_str().unwrap_or("").to_string());
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
    panic!("more pages than expected");
}

/// A BIRD config with one passive FlowSpec session from `ours` to `bird`, graceful restart on.
pub fn bird_config(bird: &str, ours: &str, router_id: &str) -> String {
    format!(
        r#"log "@DIR@/bird.log" all;
router id {router_id};
protocol device {{ }}
flow4 table flowtab4;
flow6 table flowtab6;
protocol bgp prefixd {{
  local {bird} port 179 as 65001;
  neighbor {ours} port 179 as 65000;
  strict bind yes;
  multihop;
  passive on;
  graceful restart on;
  flow4 {{ table flowtab4; import all; export none; }};
  flow6 {{ table flowtab6; import all; export none; }};
}}
"#
    )
}

/// BIRD's FlowSpec routes with their attributes, one string.
pub fn bird_rules(bird: &interop_harness::Bird) -> String {
    format!("{}{}", bird.birdc("show route all table flowtab4"), bird.birdc("show route all table flowtab6"))
}

/// A `[quotas]` section no load test reaches.
pub const UNLIMITED_QUOTAS: &str = "[quotas]
max_active_per_customer = 1000000
max_active_per_pop = 1000000
max_active_global = 1000000
max_new_per_minute = 10000000
max_announcements_per_peer = 1000000
";

pub fn event(victim: &str, vector: &str, ports: &[u16], id: &str) -> Value {
    serde_json::json!({
        "timestamp": "2026-11-25T10:00:00Z",
        "source": "test",
        "victim_ip": victim,
        "vector": vector,
        "top_dst_ports": ports,
        "event_id": id,
    })
}
