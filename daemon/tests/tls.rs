//! HTTPS and mutual TLS: a client certificate from the configured CA is mapped to its role by
//! name; one the CA did not sign is refused in the handshake; a verified certificate without a
//! role gets 403; prefixdctl speaks to it with `--ca-cert`, `--client-cert` and `--client-key`.
//! Address: 127.0.84.1:8443.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use common::Daemon;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    Ca { pem: cert.pem(), issuer: Issuer::new(p, key) }
}

/// A leaf certificate signed by `ca`: (cert PEM, key PEM, cert DER, key DER).
fn leaf(ca: &Ca, cn: &str, sans: &[&str]) -> (String, String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.issuer).unwrap();
    let der = cert.der().clone();
    let key_der = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    (cert.pem(), key.serialize_pem(), der, key_der)
}

/// One HTTPS request with an optional client certificate: Ok(status line and body) or the
/// handshake error.
fn request(
    ca_pem: &str,
    client: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
    req: &str,
) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile_certs(ca_pem) {
        roots.add(c).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some((c, k)) => b.with_client_auth_cert(vec![c], k).unwrap(),
        None => b.with_no_client_auth(),
    };
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("127.0.84.1").unwrap().to_owned())
            .unwrap();
    let mut sock = TcpStream::connect("127.0.84.1:8443").unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    tls.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    match tls.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if !out.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e.to_string()),
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn rustls_pemfile_certs(pem: &str) -> Vec<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem.as_bytes()).map(Result::unwrap).collect()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.84.1\r\nConnection: close\r\n\r\n")
}

fn post_event(id: &str) -> String {
    let body = format!(
        r#"{{"timestamp":"2026-11-25T10:00:00Z","source":"fnm","victim_ip":"203.0.113.4","vector":"udp_flood","event_id":"{id}"}}"#
    );
    format!(
        "POST /v1/events HTTP/1.1\r\nHost: 127.0.84.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn mtls_maps_certificates_to_roles_and_refuses_strangers() {
    let trusted = ca("prefixd test CA");
    let stranger_ca = ca("someone else");
    let (server_pem, server_key, _, _) = leaf(&trusted, "prefixd", &["127.0.84.1"]);
    let detector = leaf(&trusted, "fastnetmon", &["fastnetmon.example.net"]);
    let viewer = leaf(&trusted, "grafana.example.net", &[]);
    let nobody = leaf(&trusted, "nobody", &["nobody.example.net"]);
    let stranger = leaf(&stranger_ca, "fastnetmon", &["fastnetmon.example.net"]);
    let config = r#"
[http]
listen = "127.0.84.1:8443"
[http.tls]
cert_path = "server.pem"
key_path = "server.key"
client_ca_path = "ca.pem"
[http.auth]
mode = "mtls"
[[http.auth.clients]]
name = "fastnetmon.example.net"
role = "detector"
[[http.auth.clients]]
name = "grafana.example.net"
role = "viewer"
[storage]
path = "@DIR@/prefixd.redb"
"#;
    let d = Daemon::start_tls(
        "tls",
        "127.0.84.1:8443",
        config,
        &[("server.pem", &server_pem), ("server.key", &server_key), ("ca.pem", &trusted.pem)],
    );
    let ok = |r: Result<String, String>| r.unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    // The detector may post, not read; the viewer may read, not post (role by SAN, then by CN).
    assert!(ok(request(&trusted.pem, Some((detector.2.clone(), detector.3.clone_key())), &post_event("t1")))
        .starts_with("HTTP/1.1 202"));
    assert!(ok(request(&trusted.pem, Some((detector.2.clone(), detector.3.clone_key())), &get("/v1/mitigations")))
        .starts_with("HTTP/1.1 403"));
    assert!(ok(request(&trusted.pem, Some((viewer.2.clone(), viewer.3.clone_key())), &get("/v1/mitigations")))
        .starts_with("HTTP/1.1 200"));
    assert!(ok(request(&trusted.pem, Some((viewer.2.clone(), viewer.3.clone_key())), &post_event("t2")))
        .starts_with("HTTP/1.1 403"));
    // Verified, but no role for its names.
    let r = ok(request(&trusted.pem, Some((nobody.2.clone(), nobody.3.clone_key())), &get("/v1/stats")));
    assert!(r.starts_with("HTTP/1.1 403") && r.contains("no role"), "{r}");
    // A certificate from another CA, or none at all: refused in the handshake.
    assert!(
        request(&trusted.pem, Some((stranger.2.clone(), stranger.3.clone_key())), &get("/v1/health"))
            .map_or(true, |r| r.is_empty()),
        "a stranger got through"
    );
    assert!(
        request(&trusted.pem, None, &get("/v1/health")).map_or(true, |r| r.is_empty()),
        "no certificate got through"
    );
    // The audit actor is the certificate's name.
    let r = ok(request(
        &trusted.pem,
        Some((viewer.2.clone(), viewer.3.clone_key())),
        &get("/v1/audit?action=event_accepted"),
    ));
    assert!(r.contains(r#""actor_id":"fastnetmon.example.net""#), "{r}");

    // prefixdctl with the private CA and a client certificate.
    let files = d.dir().to_path_buf();
    for (name, body) in [("viewer.pem", &viewer.0), ("viewer.key", &viewer.1), ("stranger.pem", &stranger.0)] {
        std::fs::write(files.join(name), body).unwrap();
    }
    std::fs::write(files.join("stranger.key"), &stranger.1).unwrap();
    let ctl = |tls: &[&str], args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_prefixdctl"));
        c.current_dir(&files).env_remove("PREFIXD_API_TOKEN").env("PREFIXD_API", "https://127.0.84.1:8443");
        for v in ["PREFIXD_CA_CERT", "PREFIXD_CLIENT_CERT", "PREFIXD_CLIENT_KEY"] {
            c.env_remove(v);
        }
        let out = c.args(tls).args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let viewer_tls = ["--ca-cert", "ca.pem", "--client-cert", "viewer.pem", "--client-key", "viewer.key"];
    let (code, out) = ctl(&viewer_tls, &["-f", "json", "events", "list"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(r#""external_event_id": "t1""#), "{out}");
    // The viewer may not reload: auth exit code.
    assert_eq!(ctl(&viewer_tls, &["reload"]).0, 4);
    // No client certificate, a stranger's, or the default roots (which do not know our CA): the
    // handshake fails, a connection error.
    assert_eq!(ctl(&["--ca-cert", "ca.pem"], &["status"]).0, 3);
    assert_eq!(
        ctl(&["--ca-cert", "ca.pem", "--client-cert", "stranger.pem", "--client-key", "stranger.key"], &["status"]).0,
        3
    );
    assert_eq!(ctl(&viewer_tls[2..], &["status"]).0, 3);
    // A certificate without its key, or a file that is not PEM: usage errors.
    assert_eq!(ctl(&["--ca-cert", "ca.pem", "--client-cert", "viewer.pem"], &["status"]).0, 2);
    let (code, out) = ctl(&["--ca-cert", "viewer.key"], &["status"]);
    assert!(code == 2 && out.contains("no certificate"), "{code} {out}");
}
