//! The accept loop: connections capped, headers and idle connections timed out, graceful
//! shutdown.
//!
//! `axum::serve` has no connection limit and no header timeout, so a client that opens
//! thousands of connections, or sends its headers one byte a minute, holds the server's
//! sockets and memory for as long as it likes. This loop takes a permit per connection
//! (further clients wait in the kernel's accept queue) and serves each with hyper's HTTP/1
//! server, whose header-read timeout also closes a kept-alive connection that stays idle
//! between requests. Slow bodies and slow handlers are cut by the router's layers (see
//! `routes::app`). A connection is closed gracefully, so that its last answer is not lost
//! to a reset (`linger`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::limits::Limits;

/// How long a stopping server waits for open connections.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The wait after a failed accept: 10 ms, doubling to a second; logged at most once a second.
#[derive(Debug, Default)]
struct AcceptBackoff {
    wait: Option<std::time::Duration>,
    failures: u64,
    last_log: Option<std::time::Instant>,
}

impl AcceptBackoff {
    fn reset(&mut self) {
        self.wait = None;
    }

    async fn failed(&mut self, error: &std::io::Error) {
        self.failures = self.failures.saturating_add(1);
        let second = std::time::Duration::from_secs(1);
        if self.last_log.is_none_or(|at| at.elapsed() >= second) {
            tracing::warn!(%error, failures = self.failures, "accept failed; backing off");
            self.last_log = Some(std::time::Instant::now());
        }
        let wait = self.wait.map_or(std::time::Duration::from_millis(10), |w| w.saturating_mul(2));
        let wait = wait.min(second);
        self.wait = Some(wait);
        tokio::time::sleep(wait).await;
    }
}

/// Raises the process's soft limit on open files towards `wanted` (as far as the hard limit
/// allows): each connection is a file, and a default soft limit of 1,024 would refuse
/// connections far below `--max-connections`. Returns the soft limit in force.
pub fn raise_open_files(wanted: u64) -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let current = getrlimit(Resource::Nofile);
    let soft = current.current.unwrap_or(u64::MAX);
    if soft >= wanted {
        return soft;
    }
    let target = current.maximum.map_or(wanted, |hard| hard.min(wanted));
    let raised = rustix::process::Rlimit { current: Some(target), maximum: current.maximum };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => target,
        Err(error) => {
            tracing::warn!(%error, "could not raise the open-files limit");
            soft
        }
    }
}

/// Binds `address` with a listen queue of `backlog` connections (the kernel caps it at
/// `net.core.somaxconn`). The standard bind's queue is 1,024: when a thousand clients connect
/// at once (a venue's uplink back, a flood) while the accept loop waits for a core, the queue
/// overflows, the kernel answers with SYN cookies, and a cookie that fails to validate resets
/// a connection whose request was already sent (the edge benchmark's flood saw it: 23 resets,
/// 23 failed cookies). The queue is sized to the connections the server is meant to hold
/// (`--max-connections`).
pub fn bind(address: SocketAddr, backlog: usize) -> std::io::Result<TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As the standard bind does on Unix: a restarted server takes its port back at once.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(u32::try_from(backlog).unwrap_or(u32::MAX).max(1))
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let trusted: Arc<[std::net::IpAddr]> = limits.trusted_proxies.clone().into();
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout()).keep_alive(true);
    tokio::pin!(shutdown);
    let mut backoff = AcceptBackoff::default();
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (socket, address) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff.reset();
                    accepted
                }
                Err(error) => {
                    // Out of file descriptors and the like: retrying at once would spin and
                    // flood the log; wait a little longer each time, and say so once a second.
                    backoff.failed(&error).await;
                    continue;
                }
            },
        };
        // Answers go out as headers then a body; without this the body may wait for the
        // client's delayed ACK (tens of milliseconds on every sync round).
        if let Err(error) = socket.set_nodelay(true) {
            tracing::warn!(%error, "could not set TCP_NODELAY on a connection");
        }
        let trusted = Arc::clone(&trusted);
        let service = app.clone().map_request(move |mut request: axum::http::Request<Incoming>| {
            let client = super::forwarded::client_address(address, request.headers(), &trusted);
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(client));
            request
        });
        // hyper gives the socket back when it is done, to be closed without losing the
        // last answer (see `linger`).
        let (socket, returned) = super::linger::returning(socket);
        let connection =
            http.serve_connection(TokioIo::new(socket), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            if let Ok(socket) = returned.await {
                super::linger::close(socket).await;
            }
            drop(permit);
        });
    }
    drop(listener);
    // Requests under way finish; an event stream never does by itself, so the wait is bounded.
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::info!("connections still open after the grace period are closed");
    }
    Ok(())
}
