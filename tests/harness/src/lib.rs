//! Real BGP daemons for interop tests: each test gives its own loopback addresses, the daemon runs
//! with a config written into a fresh directory, and is stopped by its PID when dropped.
//!
//! A daemon that is not installed makes [`available`] return false with a loud message, or panic
//! under `CI=true` (CI installs every daemon with `tests/interop/install.sh`).
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// True if `program` runs. Under `CI=true` a missing program is a test failure.
pub fn available(program: &str, version_flag: &str) -> bool {
    let ok = Command::new(program).arg(version_flag).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !ok {
        assert!(std::env::var("CI").is_err(), "{program} is missing under CI: .ci/run must install it");
        eprintln!("*** {program} is not installed: this interop test DID NOT RUN ***");
    }
    ok
}

/// A fresh directory for one test's daemon files.
pub fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("prefixd-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test directory");
    dir
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `timeout`.
pub fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Removes a run directory, unless the test is failing: then it stays for the post-mortem.
fn cleanup(dir: &Path) {
    if std::thread::panicking() {
        eprintln!("daemon files kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The async form of [`wait_for`], for tokio tests: polls every 100 ms.
pub async fn poll<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let end = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if tokio::time::Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn kill(pid: u32) {
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let gone = wait_for(Duration::from_secs(5), || {
        (!Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z ")))
        .then_some(())
    });
    if gone.is_none() {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
}

/// A BIRD 2 instance.
pub struct Bird {
    dir: PathBuf,
    pid: u32,
}

impl Bird {
    /// Starts BIRD with `config` (a whole bird.conf; `@DIR@` is replaced by the run directory).
    /// Returns `None` (after saying so) when BIRD is not installed outside CI.
    pub fn start(name: &str, config: &str) -> Option<Bird> {
        if !available("bird", "--version") {
            return None;
        }
        let dir = test_dir(name);
        std::fs::write(dir.join("bird.conf"), config.replace("@DIR@", &dir.display().to_string()))
            .expect("write config");
        Some(Bird::launch(dir, &[]))
    }

    /// Kills BIRD with SIGKILL (its sessions drop without NOTIFICATION, as in a crash) and starts
    /// it again from the same directory with `extra` arguments (e.g. `-R`, graceful restart
    /// recovery).
    pub fn crash_and_restart(self, extra: &[&str]) -> Bird {
        let _ = Command::new("kill").args(["-9", &self.pid.to_string()]).status();
        wait_for(Duration::from_secs(5), || {
            (!Path::new(&format!("/proc/{}/cmdline", self.pid)).exists()).then_some(())
        });
        let dir = self.dir.clone();
        std::mem::forget(self);
        let _ = std::fs::remove_file(dir.join("bird.pid"));
        let _ = std::fs::remove_file(dir.join("bird.ctl"));
        Bird::launch(dir, extra)
    }

    fn launch(dir: PathBuf, extra: &[&str]) -> Bird {
        let st = Command::new("bird")
            .args(extra)
            .arg("-c")
            .arg(dir.join("bird.conf"))
            .arg("-s")
            .arg(dir.join("bird.ctl"))
            .arg("-P")
            .arg(dir.join("bird.pid"))
            .status()
            .expect("run bird");
        assert!(st.success(), "bird did not start; see {}", dir.display());
        let pid = wait_for(Duration::from_secs(5), || {
            std::fs::read_to_string(dir.join("bird.pid")).ok().and_then(|p| p.trim().parse().ok())
        })
        .expect("bird pid file");
        Bird { dir, pid }
    }

    /// Runs a `birdc` command and returns its output.
    pub fn birdc(&self, cmd: &str) -> String {
        let out = Command::new("birdc")
            .arg("-s")
            .arg(self.dir.join("bird.ctl"))
            .args(cmd.split(' '))
            .output()
            .expect("birdc");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Number of routes in a table.
    pub fn count(&self, table: &str) -> usize {
        let out = self.birdc(&format!("show route table {table} count"));
        out.lines()
            .find(|l| l.contains("routes for"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// The run directory (config, log, control socket).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        kill(self.pid);
        cleanup(&self.dir);
    }
}

/// A GoBGP instance (gobgpd plus the gobgp CLI pointed at its gRPC address).
pub struct Gobgp {
    child: Child,
    api: String,
    dir: PathBuf,
}

impl Gobgp {
    /// Starts gobgpd with `config` (TOML) and its gRPC API on `api` (e.g. `127.0.63.2:50051`).
    pub fn start(name: &str, config: &str, api: &str) -> Option<Gobgp> {
        if !available("gobgpd", "--version") {
            return None;
        }
        let dir = test_dir(name);
        std::fs::write(dir.join("gobgpd.toml"), config).expect("write config");
        let log = std::fs::File::create(dir.join("gobgpd.log")).expect("log");
        let child = Command::new("gobgpd")
            .arg("-f")
            .arg(dir.join("gobgpd.toml"))
            .args(["-t", "toml", "--api-hosts", api, "--pprof-disable"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("run gobgpd");
        let g = Gobgp { child, api: api.to_owned(), dir };
        wait_for(Duration::from_secs(10), || g.cli(&["global"]).contains("AS:").then_some(())).expect("gobgpd API up");
        Some(g)
    }

    /// Runs the gobgp CLI against this instance.
    pub fn cli(&self, args: &[&str]) -> String {
        let (host, port) = self.api.rsplit_once(':').unwrap_or((&self.api, "50051"));
        let out = Command::new("gobgp").args(["-u", host, "-p", port]).args(args).output().expect("gobgp");
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    /// The run directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Gobgp {
    fn drop(&mut self) {
        kill(self.child.id());
        let _ = self.child.wait();
        cleanup(&self.dir);
    }
}

/// An FRR bgpd running alone (no zebra).
pub struct Frr {
    dir: PathBuf,
    pid: u32,
}

impl Frr {
    /// Starts bgpd with `config` (frr.conf) listening on `addr`:`port`.
    pub fn start(name: &str, config: &str, addr: &str, port: u16) -> Option<Frr> {
        if !available("/usr/lib/frr/bgpd", "--version") {
            return None;
        }
        let dir = test_dir(name);
        std::fs::write(dir.join("frr.conf"), config).expect("write config");
        let st = Command::new("/usr/lib/frr/bgpd")
            .arg("-d")
            .arg("-f")
            .arg(dir.join("frr.conf"))
            .arg("-i")
            .arg(dir.join("bgpd.pid"))
            .arg("--vty_socket")
            .arg(&dir)
            .args(["-l", addr, "-p", &port.to_string(), "-Z", "-S", "-P", "0"])
            .arg("--log")
            .arg(format!("file:{}", dir.join("frr.log").display()))
            .status()
            .expect("run bgpd");
        assert!(st.success(), "bgpd did not start; see {}", dir.display());
        let pid = wait_for(Duration::from_secs(5), || {
            std::fs::read_to_string(dir.join("bgpd.pid")).ok().and_then(|p| p.trim().parse().ok())
        })
        .expect("bgpd pid file");
        wait_for(Duration::from_secs(5), || dir.join("bgpd.vty").exists().then_some(())).expect("bgpd vty socket");
        Some(Frr { dir, pid })
    }

    /// Runs a vtysh command.
    pub fn vtysh(&self, cmd: &str) -> String {
        let out = Command::new("vtysh").arg("--vty_socket").arg(&self.dir).args(["-c", cmd]).output().expect("vtysh");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        kill(self.pid);
        cleanup(&self.dir);
    }
}

/// An ExaBGP instance.
pub struct Exabgp {
    child: Child,
    dir: PathBuf,
}

impl Exabgp {
    /// Starts ExaBGP with `config`, listening on `addr`:`port`.
    pub fn start(name: &str, config: &str, addr: &str, port: u16) -> Option<Exabgp> {
        if !available("exabgp", "--version") {
            return None;
        }
        let dir = test_dir(name);
        std::fs::write(dir.join("exabgp.conf"), config).expect("write config");
        let log = std::fs::File::create(dir.join("exabgp.log")).expect("log");
        let child = Command::new("exabgp")
            .arg(dir.join("exabgp.conf"))
            .env("exabgp_daemon_user", "root")
            .env("exabgp_daemon_daemonize", "false")
            .env("exabgp_tcp_bind", addr)
            .env("exabgp_tcp_port", port.to_string())
            .env("exabgp_api_cli", "false")
            .env("exabgp_log_destination", "stdout")
            .env("exabgp_log_packets", "true")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("run exabgp");
        Some(Exabgp { child, dir })
    }

    /// ExaBGP's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("exabgp.log")).unwrap_or_default()
    }
}

impl Drop for Exabgp {
    fn drop(&mut self) {
        kill(self.child.id());
        let _ = self.child.wait();
        cleanup(&self.dir);
    }
}
