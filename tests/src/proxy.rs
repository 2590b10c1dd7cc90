//! A loopback TCP proxy whose uplink a test can cut and restore: the venue's network to
//! headquarters failing and coming back, without touching either process.
//!
//! [`CutProxy`] listens on `127.0.0.1:0` and forwards every connection's bytes both ways to
//! its upstream, one thread per direction (the tests are synchronous; a connection here is a
//! test's few requests, not a load). [`CutProxy::cut`] closes every open connection at once and
//! from then on closes each new one as soon as it is accepted, so a client sees a network
//! error at once rather than a timeout; [`CutProxy::restore`] forwards again.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the proxy waits to connect to its upstream before it drops the client.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A loopback proxy to one upstream address. Dropping it stops it and closes every
/// connection.
pub struct CutProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

/// What the accepting thread and every connection's threads share with the handle.
struct Shared {
    upstream: SocketAddr,
    stopped: AtomicBool,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    /// Whether the uplink is cut, and the open connections' sockets (client side, upstream
    /// side) to close when it is. One lock, so a connection set up while the cut happens is
    /// either closed by the cut or sees it.
    links: Mutex<Links>,
}

#[derive(Default)]
struct Links {
    cut: bool,
    next_id: u64,
    open: Vec<(u64, TcpStream, TcpStream)>,
}

impl Shared {
    fn links(&self) -> MutexGuard<'_, Links> {
        self.links.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl CutProxy {
    /// Starts a proxy on `127.0.0.1:0` forwarding to `upstream`.
    pub fn start(upstream: SocketAddr) -> std::io::Result<CutProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            stopped: AtomicBool::new(false),
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
            links: Mutex::new(Links::default()),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("cut-proxy-accept".into())
                .spawn(move || accept_loop(&listener, &shared))?
        };
        Ok(CutProxy { addr, shared, accept: Some(accept) })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cuts the uplink: every open connection is closed now, and every new one is closed as
    /// soon as it is accepted, until [`CutProxy::restore`].
    pub fn cut(&self) {
        let mut links = self.shared.links();
        links.cut = true;
        for (_, client, upstream) in links.open.drain(..) {
            close(&client, &upstream);
        }
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.shared.links().cut = false;
    }

    /// Whether the uplink is cut.
    pub fn is_cut(&self) -> bool {
        self.shared.links().cut
    }

    /// Bytes forwarded from clients to the upstream.
    pub fn bytes_up(&self) -> u64 {
        self.shared.bytes_up.load(Ordering::Acquire)
    }

    /// Bytes forwarded from the upstream to clients.
    pub fn bytes_down(&self) -> u64 {
        self.shared.bytes_down.load(Ordering::Acquire)
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::Release);
        self.cut();
        // The accepting thread is blocked in `accept`: one more connection wakes it to see
        // that it is stopped. The connection threads end as their sockets were closed.
        drop(TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT));
        if let Some(accept) = self.accept.take() {
            drop(accept.join());
        }
    }
}

/// Accepts connections until the proxy stops; each is set up on a thread of its own, so a
/// slow upstream does not hold up the next client.
fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stopped.load(Ordering::Acquire) {
            return;
        }
        let Ok(client) = client else {
            // Out of file descriptors or a connection reset before it was accepted: a test's
            // client will retry or fail; the proxy goes on.
            continue;
        };
        if shared.links().cut {
            drop(client.shutdown(Shutdown::Both));
            continue;
        }
        let shared = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name("cut-proxy-link".into())
            .spawn(move || link(client, &shared));
        drop(spawned);
    }
}

/// Forwards one connection both ways until either side closes it or the uplink is cut.
fn link(client: TcpStream, shared: &Arc<Shared>) {
    let Ok(upstream) = TcpStream::connect_timeout(&shared.upstream, CONNECT_TIMEOUT) else {
        drop(client.shutdown(Shutdown::Both));
        return;
    };
    drop(client.set_nodelay(true));
    drop(upstream.set_nodelay(true));
    let Some(id) = register(&client, &upstream, shared) else {
        return;
    };
    let up = match (client.try_clone(), upstream.try_clone()) {
        (Ok(from), Ok(to)) => {
            let shared = Arc::clone(shared);
            std::thread::Builder::new()
                .name("cut-proxy-up".into())
                .spawn(move || pump(from, to, &shared.bytes_up))
                .ok()
        }
        _ => None,
    };
    match up {
        Some(up) => {
            pump(upstream, client, &shared.bytes_down);
            drop(up.join());
        }
        None => close(&client, &upstream),
    }
    shared.links().open.retain(|(open, ..)| *open != id);
}

/// Records an open connection so a cut can close it; `None` (and both sockets closed) if
/// the uplink is cut meanwhile.
fn register(client: &TcpStream, upstream: &TcpStream, shared: &Shared) -> Option<u64> {
    let mut links = shared.links();
    let (Ok(c), Ok(u)) = (client.try_clone(), upstream.try_clone()) else {
        close(client, upstream);
        return None;
    };
    if links.cut {
        close(client, upstream);
        return None;
    }
    let id = links.next_id;
    links.next_id += 1;
    links.open.push((id, c, u));
    Some(id)
}

/// Copies bytes from `from` to `to` until `from` ends, adding them to `count`; then passes
/// the end on (a half close), or closes both on an error.
fn pump(mut from: TcpStream, mut to: TcpStream, count: &AtomicU64) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) => {
                drop(to.shutdown(Shutdown::Write));
                return;
            }
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    close(&from, &to);
                    return;
                }
                count.fetch_add(n as u64, Ordering::AcqRel);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => {
                close(&from, &to);
                return;
            }
        }
    }
}

/// Closes both sockets of a connection.
fn close(a: &TcpStream, b: &TcpStream) {
    drop(a.shutdown(Shutdown::Both));
    drop(b.shutdown(Shutdown::Both));
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::time::Instant;

    use super::*;

    /// A tiny HTTP server: every request is answered 200 with its request line as the body,
    /// and the connection is closed.
    fn http_server() -> SocketAddr {
        serve_each(|stream| {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let body = request_line.trim_end();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        })
    }

    /// A raw echo server: every connection gets its bytes back until it closes.
    fn echo_server() -> SocketAddr {
        serve_each(|mut stream| {
            let mut buf = [0u8; 1024];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        })
    }

    fn serve_each(handle: fn(TcpStream)) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || handle(stream));
            }
        });
        addr
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into()
    }

    fn get(url: &str) -> Result<String, ureq::Error> {
        agent().get(url).call()?.body_mut().read_to_string()
    }

    /// Polls `done` every few milliseconds for at most 5 s.
    fn wait_until(what: &str, done: impl Fn() -> bool) {
        let began = Instant::now();
        while !done() {
            assert!(began.elapsed() < Duration::from_secs(5), "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn forwards_a_request_and_counts_the_bytes() {
        let proxy = CutProxy::start(http_server()).unwrap();
        assert!(proxy.url().starts_with("http://127.0.0.1:"), "{}", proxy.url());
        assert_eq!(proxy.url(), format!("http://{}", proxy.addr()));
        let body = get(&format!("{}/hello?x=1", proxy.url())).unwrap();
        assert_eq!(body, "GET /hello?x=1 HTTP/1.1");
        wait_until("the counters", || proxy.bytes_up() > 20 && proxy.bytes_down() > 40);
        assert!(!proxy.is_cut());
        let addr = proxy.addr();
        drop(proxy);
        assert!(TcpStream::connect(addr).is_err(), "a dropped proxy no longer listens");
    }

    #[test]
    fn a_cut_fails_requests_at_once_closes_open_connections_and_a_restore_heals() {
        let http = CutProxy::start(http_server()).unwrap();
        let raw = CutProxy::start(echo_server()).unwrap();
        get(&http.url()).unwrap();
        let mut open = TcpStream::connect(raw.addr()).unwrap();
        open.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        open.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        open.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");

        http.cut();
        raw.cut();
        assert!(http.is_cut() && raw.is_cut());
        let began = Instant::now();
        let refused = get(&http.url());
        assert!(refused.is_err(), "{refused:?}");
        assert!(began.elapsed() < Duration::from_secs(1), "failed after {:?}", began.elapsed());
        let began = Instant::now();
        let read = open.read(&mut buf);
        assert!(
            matches!(read, Ok(0))
                || read.is_err_and(|e| e.kind() != std::io::ErrorKind::WouldBlock
                    && e.kind() != std::io::ErrorKind::TimedOut)
        );
        assert!(began.elapsed() < Duration::from_secs(1), "closed after {:?}", began.elapsed());

        http.restore();
        assert!(!http.is_cut());
        assert_eq!(get(&format!("{}/again", http.url())).unwrap(), "GET /again HTTP/1.1");
    }
}
