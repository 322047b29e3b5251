//! The API's connections: plain HTTP/1.1 or HTTPS (rustls), a bound on open connections, a
//! deadline for each request's headers, and a graceful close at shutdown.
//!
//! A client gets [`Limits::header_timeout`] to send a request's headers, from its first byte or,
//! on a keep-alive connection, from the end of the previous answer: a client that trickles its
//! headers or holds an idle connection is closed instead of holding a file descriptor for ever.
//! At most [`Limits::max_connections`] connections are open at once; beyond that the listener
//! stops accepting (new clients wait in the kernel's backlog) until one closes.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;
use tracing::debug;

use crate::tls::ClientCert;

/// Bounds on the API's connections (`[http] max_connections`, `header_timeout_seconds`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time to send a request's headers, idle keep-alive time included.
    pub header_timeout: Duration,
}

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish their request at shutdown.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Serves `app` until `stop` turns true: over TLS with `tls` (each connection's verified client
/// certificate names go into its requests as [`ClientCert`]), plain HTTP/1.1 without.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    loop {
        let stopped = async {
            let _ = stop.wait_for(|v| *v).await;
        };
        let (permit, (tcp, from)) = tokio::select! {
            r = async {
                let permit = slots.clone().acquire_owned().await;
                (permit, listener.accept().await)
            } => match r {
                (Ok(p), Ok(c)) => (p, c),
                (_, Err(e)) => {
                    debug!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                (Err(_), _) => return,
            },
            () = stopped => return,
        };
        // Answers are small and go at once: no Nagle delay waiting for the client's ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            debug!(%from, "TCP_NODELAY: {e}");
        }
        let (acceptor, app, stop) = (acceptor.clone(), app.clone(), stop.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match acceptor {
                None => connection(tcp, None, app, limits, stop).await,
                Some(acceptor) => {
                    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(t)) => t,
                        Ok(Err(e)) => {
                            debug!(%from, "TLS handshake refused: {e}");
                            return;
                        }
                        Err(_) => return,
                    };
                    let cert = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .map(|c| ClientCert(crate::tls::names(c)));
                    connection(tls, cert, app, limits, stop).await
                }
            }
        });
    }
}

/// One HTTP/1.1 connection, closed gracefully when `stop` turns true.
async fn connection<I>(io: I, cert: Option<ClientCert>, app: Router, limits: Limits, mut stop: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        if let Some(c) = &cert {
            req.extensions_mut().insert(c.clone());
        }
        app.clone().oneshot(req.map(axum::body::Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = async { let _ = stop.wait_for(|v| *v).await; } => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(CLOSE_GRACE, conn).await;
        }
    }
}
