//! A server-sent event stream (a device's push stream `GET /api/v1/changes`, a console's)
//! on a raw connection, for the tests that watch it end: open it, then read until it ends or
//! a bound passes. Every read has a timeout; nothing sleeps.

// Test helpers may panic on a broken connection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Opens a stream with a raw GET of `path` with `headers`; the connection and the status.
pub fn open_stream(url: &str, path: &str, headers: &[(&str, &str)]) -> (TcpStream, u16) {
    let mut stream = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    let mut head = format!("GET {path} HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the headers");
        seen.extend_from_slice(&buf[..n]);
    }
    let status = String::from_utf8_lossy(&seen).split(' ').nth(1).unwrap().parse().unwrap();
    (stream, status)
}

/// Opens the push stream of `token`; the connection and the status.
pub fn open_push_stream(url: &str, token: &str) -> (TcpStream, u16) {
    open_stream(url, "/api/v1/changes", &[("authorization", &format!("Bearer {token}"))])
}

/// Reads `stream` until it ends (the connection closes or the chunked body's last chunk
/// arrives) or `bound` passes; how long it took, if it ended, and what it read.
pub fn until_the_stream_ends(
    stream: &mut TcpStream,
    bound: Duration,
) -> (Option<Duration>, String) {
    let started = Instant::now();
    stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < bound {
        match stream.read(&mut buf) {
            Ok(0) => return (Some(started.elapsed()), String::from_utf8_lossy(&seen).into()),
            Ok(n) => {
                seen.extend_from_slice(&buf[..n]);
                if seen.windows(5).any(|w| w == b"0\r\n\r\n") {
                    return (Some(started.elapsed()), String::from_utf8_lossy(&seen).into());
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (Some(started.elapsed()), String::from_utf8_lossy(&seen).into()),
        }
    }
    (None, String::from_utf8_lossy(&seen).into())
}
