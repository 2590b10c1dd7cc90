//! Closing a connection without losing its last answer (a "lingering close", as nginx and
//! Go's `net/http` do).
//!
//! The edge refuses a body before reading it: an unauthenticated 8 MiB sync body is answered
//! 401 after its first kilobytes, and the connection closes. Closing a TCP socket whose
//! receive queue still holds unread bytes makes the kernel send a reset instead of a FIN, and
//! a reset may overtake the answer written just before it (on loopback the two can take
//! different CPUs' queues): the client then reads "connection reset" where a 401 was sent.
//! The edge benchmark's flood saw it once in five thousand refusals.
//!
//! So hyper never closes the socket itself: when it drops the connection's I/O, the socket
//! goes back to the connection's task ([`returning`]), which shuts down the sending side
//! (a FIN after the answer) and reads and discards what the client still sends until it
//! closes its side, for at most [`LINGER`] and [`LINGER_MAX_BYTES`], before closing.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// The longest a closed connection waits for its client to close its side.
pub const LINGER: Duration = Duration::from_secs(2);
/// The most a closed connection reads and discards from its client.
pub const LINGER_MAX_BYTES: usize = 1024 * 1024;

/// A connection's socket lent to hyper: when hyper drops it, the socket goes back through
/// the channel instead of closing.
#[derive(Debug)]
pub struct Returning {
    stream: Option<TcpStream>,
    back: Option<oneshot::Sender<TcpStream>>,
}

/// Lends `stream` to hyper; the receiver gets it back when hyper is done with it.
pub fn returning(stream: TcpStream) -> (Returning, oneshot::Receiver<TcpStream>) {
    let (back, returned) = oneshot::channel();
    (Returning { stream: Some(stream), back: Some(back) }, returned)
}

impl Returning {
    fn stream(&mut self) -> std::io::Result<Pin<&mut TcpStream>> {
        self.stream.as_mut().map(Pin::new).ok_or_else(|| std::io::ErrorKind::NotConnected.into())
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        if let (Some(stream), Some(back)) = (self.stream.take(), self.back.take()) {
            // The task that would close it is gone (the runtime is stopping): it closes here.
            let _ = back.send(stream);
        }
    }
}

impl AsyncRead for Returning {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.stream() {
            Ok(stream) => stream.poll_read(cx, buf),
            Err(error) => Poll::Ready(Err(error)),
        }
    }
}

impl AsyncWrite for Returning {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.stream() {
            Ok(stream) => stream.poll_write(cx, buf),
            Err(error) => Poll::Ready(Err(error)),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.stream() {
            Ok(stream) => stream.poll_write_vectored(cx, bufs),
            Err(error) => Poll::Ready(Err(error)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(AsyncWrite::is_write_vectored)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.stream() {
            Ok(stream) => stream.poll_flush(cx),
            Err(error) => Poll::Ready(Err(error)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.stream() {
            Ok(stream) => stream.poll_shutdown(cx),
            Err(error) => Poll::Ready(Err(error)),
        }
    }
}

/// Closes `stream` gracefully: a FIN after everything written, then what the client still
/// sends read and discarded until it closes its side, an error, [`LINGER`] or
/// [`LINGER_MAX_BYTES`] — only then the socket is closed, with nothing unread that would
/// turn the close into a reset.
pub async fn close(mut stream: TcpStream) {
    // Already shut down by hyper in the usual case; a second shutdown is harmless.
    let _ = stream.shutdown().await;
    let drain = async {
        let mut discarded = 0_usize;
        let mut scratch = vec![0_u8; 4096];
        while discarded < LINGER_MAX_BYTES {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(read) => discarded = discarded.saturating_add(read),
            }
        }
    };
    // Out of time is the end of the wait, nothing to report.
    let _ = tokio::time::timeout(LINGER, drain).await;
}

#[cfg(test)]
mod tests {
    use std::future::pending;

    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::post;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use crate::http::edge::limits::Limits;

    /// A server whose one route refuses a body without reading it, as the edge refuses an
    /// unauthenticated one.
    async fn refusing_server() -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Router::new().route("/refuse", post(|| async { StatusCode::UNAUTHORIZED }));
        tokio::spawn(async move {
            let limits = Limits::default();
            super::super::serve::serve(listener, app, &limits, pending()).await
        });
        address
    }

    /// Reads until the server closes its side; the bytes read, or the error that ended it.
    async fn read_to_close(stream: &mut tokio::net::TcpStream) -> Result<Vec<u8>, std::io::Error> {
        let mut read = Vec::new();
        let mut chunk = [0_u8; 1024];
        loop {
            match stream.read(&mut chunk).await? {
                0 => return Ok(read),
                n => read.extend_from_slice(&chunk[..n]),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_refused_unread_gets_its_answer_then_a_fin_never_a_reset() {
        let address = refusing_server().await;
        for round in 0..20 {
            let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
            let head = "POST /refuse HTTP/1.1\r\nHost: kam\r\nContent-Length: 8388608\r\n\r\n";
            client.write_all(head.as_bytes()).await.unwrap();
            client.write_all(&[0_u8; 64 * 1024]).await.unwrap();
            let answer = read_to_close(&mut client).await;
            let answer = answer.unwrap_or_else(|e| panic!("round {round}: the answer lost: {e}"));
            let answer = String::from_utf8_lossy(&answer);
            assert!(answer.starts_with("HTTP/1.1 401"), "round {round}: {answer}");
            // The server still reads what a slow client sends after the answer, so this
            // neither fails nor makes the server reset the connection.
            client.write_all(&[0_u8; 64 * 1024]).await.unwrap();
            client.shutdown().await.unwrap();
            let rest = read_to_close(&mut client).await;
            assert!(matches!(&rest, Ok(rest) if rest.is_empty()), "round {round}: {rest:?}");
        }
    }
}
