//! The API's connection limits: a client that trickles its headers, or holds an idle connection,
//! is closed after `header_timeout_seconds`; no more than `max_connections` are served at once,
//! and a client beyond that is answered once a slot frees. Made-up HTTP methods do not grow the
//! metrics. Without authentication, a cross-site Origin or a foreign Host is refused. Address: 127.0.89.1:8080 (API only, dry-run).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Daemon;

const API: &str = "127.0.89.1:8080";

/// Reads until the server closes the connection or `within` passes: (closed, bytes read).
fn read_until_closed(s: &mut TcpStream, within: Duration) -> (bool, String) {
    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let end = Instant::now() + within;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        match s.read(&mut buf) {
            Ok(0) => return (true, String::from_utf8_lossy(&out).into_owned()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (true, String::from_utf8_lossy(&out).into_owned())
            }
            Err(_) => {}
        }
    }
    (false, String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn slow_and_idle_clients_are_closed_and_connections_are_bounded() {
    let config = r#"
[http]
listen = "127.0.89.1:8080"
header_timeout_seconds = 2
max_connections = 2
[storage]
path = "@DIR@/prefixd.redb"
"#;
    let d = Daemon::start("connections", API, config);

    // Headers trickled and never finished: closed without an answer to the request.
    let mut slow = TcpStream::connect(API).unwrap();
    slow.write_all(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.89.1:8080\r\n").unwrap();
    let (closed, got) = read_until_closed(&mut slow, Duration::from_secs(15));
    assert!(closed && !got.contains("200 OK"), "{got}");

    // A keep-alive connection that went idle after its answer is closed too.
    let mut idle = TcpStream::connect(API).unwrap();
    idle.write_all(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.89.1:8080\r\n\r\n").unwrap();
    let (closed, got) = read_until_closed(&mut idle, Duration::from_secs(15));
    assert!(closed && got.starts_with("HTTP/1.1 200"), "{got}");

    // Two silent connections take both slots: a third client waits, and is answered once the
    // server has closed them (header timeout).
    let hold: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(API).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut third = TcpStream::connect(API).unwrap();
    third.write_all(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.89.1:8080\r\nConnection: close\r\n\r\n").unwrap();
    third.set_read_timeout(Some(Duration::from_millis(800))).unwrap();
    let mut buf = [0u8; 64];
    assert!(third.read(&mut buf).is_err(), "answered while both slots were held");
    let (closed, got) = read_until_closed(&mut third, Duration::from_secs(15));
    assert!(closed && got.starts_with("HTTP/1.1 200"), "{got}");
    drop(hold);

    // Made-up methods: 405, and they share one label in the metrics.
    for i in 0..20 {
        let mut s = TcpStream::connect(API).unwrap();
        write!(s, "M{i}X /v1/health HTTP/1.1\r\nHost: 127.0.89.1:8080\r\nConnection: close\r\n\r\n").unwrap();
        let (_, got) = read_until_closed(&mut s, Duration::from_secs(10));
        assert!(got.starts_with("HTTP/1.1 405"), "{got}");
    }
    let mut s = TcpStream::connect(API).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.89.1:8080\r\nConnection: close\r\n\r\n").unwrap();
    let (_, metrics) = read_until_closed(&mut s, Duration::from_secs(10));
    assert!(metrics.contains(r#"method="other""#), "{metrics}");
    assert!(!metrics.contains("M1X"), "{metrics}");

    // Auth mode none: a browser page cannot drive the API, by a cross-site POST or by DNS
    // rebinding; a local client can.
    let ask = |req: String| {
        let mut s = TcpStream::connect(API).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        read_until_closed(&mut s, Duration::from_secs(10)).1
    };
    let post = |headers: &str| {
        format!("POST /v1/reconcile HTTP/1.1\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n")
    };
    let r = ask(post("Host: 127.0.89.1:8080\r\nOrigin: https://evil.example\r\n"));
    assert!(r.starts_with("HTTP/1.1 403") && r.contains("origin"), "{r}");
    let r = ask(post("Host: evil.example:8080\r\n"));
    assert!(r.starts_with("HTTP/1.1 403") && r.contains("host"), "{r}");
    let r = ask(post("Host: localhost:8080\r\nOrigin: http://localhost:8080\r\n"));
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    drop(d);
}
