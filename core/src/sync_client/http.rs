//! The default transport: one HTTP POST per sync round, and a server-sent-events stream on
//! which the server says when a round is worth running.
//!
//! Both speak to the server's `/api/v1` endpoints with the device's bearer token. The token
//! is only ever put into the `Authorization` header; it is never logged and never shown by
//! `Debug`, because a leaked device token lets anyone read and write that device's records.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

use serde::Deserialize;
use ureq::Agent;

use super::CancelToken;
use super::transport::{DEVICE_IN_USE, SyncTransport, TransportError};
use crate::wire::{MAX_RESPONSE_BYTES, WIRE_CONTENT_TYPE};

/// Where sync rounds are posted, relative to the base URL.
const SYNC_PATH: &str = "/api/v1/sync";
/// Where selection-desk commands are posted, relative to the base URL.
const DESK_PATH: &str = "/api/v1/desk/commands";
/// The largest desk answer read; answers are a few hundred bytes.
const MAX_DESK_ANSWER_BYTES: u64 = 1024 * 1024;
/// Where the push channel is opened, relative to the base URL.
const CHANGES_PATH: &str = "/api/v1/changes";
/// How long one sync round may take end to end unless the caller chooses otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long establishing a connection may take. It is short because a device that cannot
/// reach the server within two seconds is offline for the app's purposes: it shows so and
/// retries later rather than hanging (a LAN or 4G connection is made in well under a second).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the push channel may wait for the server's response headers. The body is
/// long-lived and has no deadline, but a server that never answers at all should not keep
/// the watcher stuck forever.
const PUSH_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest line, and the largest event, accepted on the push channel. Notices are small;
/// the cap keeps a broken or hostile server from making the device buffer without end.
const MAX_PUSH_LINE_BYTES: usize = 1024 * 1024;
/// How much of an error response is read to explain the error. Explanations are short, and
/// reading more would only waste memory on a misbehaving server.
const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;
/// The request header naming the replica's installation (ADR 0022): the server binds the
/// device token to the first installation that sends it and refuses any other with 409
/// `device_in_use`. A request without it is served as before.
pub const INSTALLATION_HEADER: &str = "Kam-Installation";
/// The name of the push event that announces changed documents.
const CHANGED_EVENT: &str = "changed";

/// Sends sync rounds to a KAM server over HTTP(S).
///
/// Each [`SyncTransport::exchange`] is one `POST {base_url}/api/v1/sync` carrying the encoded
/// request, authenticated with the device's bearer token. Connections are pooled, so rounds
/// in quick succession reuse one connection.
#[derive(Clone)]
pub struct HttpTransport {
    agent: Agent,
    /// The normalised base URL: the server's identity for its cursor.
    server_id: String,
    sync_url: String,
    desk_url: String,
    authorization: String,
    /// The replica's installation id, sent as [`INSTALLATION_HEADER`] when set.
    installation: Option<String>,
    timeout: Duration,
}

impl HttpTransport {
    /// Creates a transport for the server at `base_url` (for example
    /// `https://kam.example.com`), authenticating as the device that owns `device_token`.
    /// Each round may take 30 seconds end to end; see [`HttpTransport::with_timeout`].
    pub fn new(base_url: &str, device_token: &str) -> HttpTransport {
        HttpTransport {
            agent: request_agent(DEFAULT_TIMEOUT),
            server_id: normalise_base_url(base_url),
            sync_url: endpoint(base_url, SYNC_PATH),
            desk_url: endpoint(base_url, DESK_PATH),
            authorization: bearer(device_token),
            installation: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Sends `installation` (the replica's [`crate::replica::Replica::installation_id`]) with
    /// every sync round and desk command, so the server can bind the device token to this
    /// installation and refuse a second one with [`TransportError::is_device_in_use`].
    pub fn with_installation(self, installation: &str) -> Self {
        HttpTransport { installation: Some(installation.to_owned()), ..self }
    }

    /// A POST to `url` with the token and, when set, the installation header.
    fn post(&self, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        let request = self.agent.post(url).header("Authorization", &self.authorization);
        match &self.installation {
            Some(installation) => request.header(INSTALLATION_HEADER, installation),
            None => request,
        }
    }

    /// Sets how long one round may take end to end, from connecting to reading the last
    /// byte of the response. Connecting alone is still limited to 2 seconds.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        HttpTransport { agent: request_agent(timeout), timeout, ..self }
    }
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is left out on purpose: debug output ends up in logs and crash reports.
        f.debug_struct("HttpTransport")
            .field("server_id", &self.server_id)
            .field("sync_url", &self.sync_url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SyncTransport for HttpTransport {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        tracing::debug!(url = %self.sync_url, bytes = request.len(), "sending sync round");
        let mut response = self
            .post(&self.sync_url)
            .header("Content-Type", WIRE_CONTENT_TYPE)
            .send(request)
            .map_err(network_error)?;
        let status = response.status().as_u16();
        tracing::debug!(url = %self.sync_url, status, "sync round answered");
        if !response.status().is_success() {
            return Err(status_error(status, response.body_mut()));
        }
        response
            .body_mut()
            .with_config()
            .limit(u64::try_from(MAX_RESPONSE_BYTES).unwrap_or(u64::MAX))
            .read_to_vec()
            .map_err(network_error)
    }

    /// The normalised base URL: `https://Kam.Example.com:443/` and `https://kam.example.com`
    /// are one server, with one cursor.
    fn server_id(&self) -> String {
        self.server_id.clone()
    }

    /// Runs the request on a thread of its own and stops waiting when cancelled: a blocking
    /// socket cannot be interrupted, and a cancelled sync must give the app back at once.
    fn exchange_cancellable(
        &self,
        request: Vec<u8>,
        cancel: &CancelToken,
    ) -> Option<Result<Vec<u8>, TransportError>> {
        let this = self.clone();
        cancel.run_abandonable(move || this.exchange(&request))
    }
}

impl crate::desk::DeskTransport for HttpTransport {
    fn send_command(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        tracing::debug!(url = %self.desk_url, "sending desk command");
        let mut response = self
            .post(&self.desk_url)
            .header("Content-Type", "application/json")
            .send(request)
            .map_err(network_error)?;
        let status = response.status().as_u16();
        // 409 is the desk's refusal: an answer like 200, stored under the key.
        if !(response.status().is_success() || status == 409) {
            return Err(status_error(status, response.body_mut()));
        }
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_DESK_ANSWER_BYTES)
            .read_to_vec()
            .map_err(network_error)?;
        // A 409 refusing the token itself (bound to another installation) is no answer of the
        // desk: the command was not looked at.
        if status == 409
            && let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(&bytes)
            && envelope.error.code == DEVICE_IN_USE
        {
            let ErrorDetail { code, message } = envelope.error;
            return Err(TransportError::Rejected { status, code, message });
        }
        Ok(bytes)
    }
}

/// One push notice: the server's change cursor and the documents that changed, as
/// `kind/id` strings (for example `customer/0b6f…`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ChangeNotice {
    /// The server's change cursor after these changes; it only grows.
    pub cursor: u64,
    /// The changed documents, as `kind/id`.
    pub docs: Vec<String>,
}

/// What the push channel should do after a notice has been handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchControl {
    /// Keep listening for further notices.
    Continue,
    /// Close the channel; [`watch_changes`] then returns `Ok(())`.
    Stop,
}

/// Listens on the server's push channel and calls `on_event` for every change notice, until
/// `on_event` returns [`WatchControl::Stop`] or the server ends the stream.
///
/// This opens `GET {base_url}/api/v1/changes` as a server-sent-events stream and blocks the
/// calling thread while it is open, so callers run it on a thread of its own. Events other
/// than `changed`, keep-alive comments and notices whose data does not parse are skipped.
/// Both a stop and the end of the stream return `Ok(())`; a caller that wants to keep
/// listening reconnects, ideally after a sync round, because notices sent while the channel
/// was closed are not replayed.
///
/// `installation`, when given, is sent as [`INSTALLATION_HEADER`] as
/// [`HttpTransport::with_installation`] does, so a token bound to another installation is
/// refused here too ([`TransportError::is_device_in_use`]).
///
/// HTTP errors map as for [`HttpTransport`]; a line or event longer than 1 MiB ends the
/// channel with [`TransportError::Network`].
pub fn watch_changes(
    base_url: &str,
    device_token: &str,
    installation: Option<&str>,
    on_event: &mut dyn FnMut(ChangeNotice) -> WatchControl,
) -> Result<(), TransportError> {
    let url = endpoint(base_url, CHANGES_PATH);
    tracing::debug!(url = %url, "opening push channel");
    let request = push_agent()
        .get(&url)
        .header("Authorization", bearer(device_token))
        .header("Accept", "text/event-stream");
    let request = match installation {
        Some(installation) => request.header(INSTALLATION_HEADER, installation),
        None => request,
    };
    let mut response = request.call().map_err(network_error)?;
    let status = response.status().as_u16();
    tracing::debug!(url = %url, status, "push channel answered");
    if !response.status().is_success() {
        return Err(status_error(status, response.body_mut()));
    }
    // The body has no overall limit because the stream lives for hours; the per-line and
    // per-event caps in `read_events` bound the memory instead.
    let reader = BufReader::new(response.body_mut().with_config().reader());
    let result = read_events(reader, on_event);
    tracing::debug!(url = %url, ok = result.is_ok(), "push channel closed");
    result
}

/// Reads server-sent events from `reader` and hands every `changed` notice to `on_event`.
///
/// This follows the parts of the event-stream format the server uses: `event:` and `data:`
/// fields, multi-line data joined with newlines, comments starting with `:`, and events ended
/// by a blank line. Lines may end in `\n` or `\r\n`. An event cut off by the end of the stream
/// is dropped, as the format requires.
fn read_events<R: BufRead>(
    mut reader: R,
    on_event: &mut dyn FnMut(ChangeNotice) -> WatchControl,
) -> Result<(), TransportError> {
    let mut event = EventBuffer::default();
    let mut raw = Vec::new();
    let mut first_line = true;
    loop {
        raw.clear();
        // One byte more than the cap tells a line of exactly the cap from a longer one.
        let read = reader
            .by_ref()
            .take(MAX_PUSH_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut raw)
            .map_err(read_error)?;
        if read == 0 {
            return Ok(());
        }
        if raw.last() != Some(&b'\n') {
            if raw.len() > MAX_PUSH_LINE_BYTES {
                return Err(too_long());
            }
            // An unterminated last line: the stream ends right after it, and the event it
            // belongs to was never completed, so it is dropped.
            continue;
        }
        raw.pop();
        if raw.last() == Some(&b'\r') {
            raw.pop();
        }
        let text = String::from_utf8_lossy(&raw);
        let mut line: &str = &text;
        if first_line {
            // The format allows a byte-order mark before the first line.
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
            first_line = false;
        }
        let Some((name, data)) = event.feed(line)? else {
            continue;
        };
        if name != CHANGED_EVENT {
            tracing::trace!(event = %name, "ignoring push event");
            continue;
        }
        match serde_json::from_str::<ChangeNotice>(&data) {
            Ok(notice) => {
                if on_event(notice) == WatchControl::Stop {
                    return Ok(());
                }
            }
            Err(error) => {
                // A notice is only a hint to sync soon, so a bad one is skipped rather than
                // closing a channel that may carry good ones next.
                tracing::warn!(%error, "ignoring malformed change notice");
            }
        }
    }
}

/// The fields of the event being read, until a blank line completes it.
#[derive(Default)]
struct EventBuffer {
    name: String,
    data: String,
    has_data: bool,
}

impl EventBuffer {
    /// Takes one line without its line ending. Returns the event's name and data when the line
    /// completes an event that carries data, and nothing otherwise.
    fn feed(&mut self, line: &str) -> Result<Option<(String, String)>, TransportError> {
        if line.is_empty() {
            let name = std::mem::take(&mut self.name);
            let data = std::mem::take(&mut self.data);
            let has_data = std::mem::replace(&mut self.has_data, false);
            if !has_data {
                return Ok(None);
            }
            let name = if name.is_empty() { "message".to_owned() } else { name };
            return Ok(Some((name, data)));
        }
        if line.starts_with(':') {
            // A comment; the server sends these as keep-alives.
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.name),
            "data" => {
                if self.data.len() + value.len() + 1 > MAX_PUSH_LINE_BYTES {
                    return Err(too_long());
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            // `id` and `retry` matter only to browsers that reconnect on their own; unknown
            // fields are ignored as the format requires.
            _ => {}
        }
        Ok(None)
    }
}

/// The error for a push line or event over the cap.
fn too_long() -> TransportError {
    TransportError::Network(format!(
        "push channel sent a line or event longer than {MAX_PUSH_LINE_BYTES} bytes"
    ))
}

/// The agent for sync rounds: every round has an end-to-end deadline.
fn request_agent(timeout: Duration) -> Agent {
    let config = Agent::config_builder()
        // Error statuses come back as responses so their bodies can explain the error.
        .http_status_as_error(false)
        // The endpoints never redirect; following one would drop the token and hide the real
        // answer behind a 401, so a redirect is reported as it is.
        .max_redirects(0)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(timeout))
        .build();
    Agent::new_with_config(config)
}

/// The agent for the push channel: no overall deadline, because the stream stays open for as
/// long as the device listens, but bounded connecting and waiting for the response headers.
fn push_agent() -> Agent {
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(PUSH_RESPONSE_TIMEOUT))
        .timeout_global(None)
        .build();
    Agent::new_with_config(config)
}

/// Joins the base URL and an absolute path, tolerating a trailing slash on the base.
fn endpoint(base_url: &str, path: &str) -> String {
    format!("{}{path}", base_url.trim_end_matches('/'))
}

/// A base URL reduced to what names the server: lowercased scheme and host, the port unless it
/// is the scheme's default, and the path without trailing slashes. User info, query and
/// fragment are dropped. A URL that does not parse is kept as given, trimmed.
fn normalise_base_url(base_url: &str) -> String {
    let trimmed = base_url.trim();
    let Ok(uri) = trimmed.parse::<ureq::http::Uri>() else {
        return trimmed.trim_end_matches('/').to_owned();
    };
    let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return trimmed.trim_end_matches('/').to_owned();
    };
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    let port = match uri.port_u16() {
        Some(port) if Some(port) != default_port => format!(":{port}"),
        _ => String::new(),
    };
    let path = uri.path().trim_end_matches('/');
    format!("{scheme}://{}{port}{path}", host.to_ascii_lowercase())
}

/// The `Authorization` header value for a device token.
fn bearer(device_token: &str) -> String {
    format!("Bearer {device_token}")
}

/// Maps a failure to reach the server or to read its answer. None of ureq's error messages
/// contain request headers, so the token cannot leak through them.
fn network_error(error: ureq::Error) -> TransportError {
    match error {
        ureq::Error::BodyExceedsLimit(limit) => {
            TransportError::Network(format!("response larger than {limit} bytes"))
        }
        ureq::Error::Timeout(which) => TransportError::Network(format!("timed out ({which})")),
        other => TransportError::Network(other.to_string()),
    }
}

/// Maps an I/O error from a body reader; ureq wraps its own errors in these.
fn read_error(error: std::io::Error) -> TransportError {
    network_error(ureq::Error::from(error))
}

/// The error envelope the server puts in every error response.
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorDetail,
}

/// The machine-readable part of an error response.
#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

/// Maps a non-success status, reading the error body only where it adds information.
fn status_error(status: u16, body: &mut ureq::Body) -> TransportError {
    match status {
        401 => TransportError::Unauthorized,
        429 | 500..=599 => TransportError::Server { status },
        _ => {
            let (code, message) = parse_error_body(&read_error_body(body));
            if status == 403 {
                TransportError::Forbidden(message)
            } else {
                TransportError::Rejected { status, code, message }
            }
        }
    }
}

/// Reads at most [`MAX_ERROR_BODY_BYTES`] of an error body. A body that cannot be read is
/// treated as empty, because the status alone already decides the error.
fn read_error_body(body: &mut ureq::Body) -> String {
    let mut bytes = Vec::new();
    let read = body.with_config().reader().take(MAX_ERROR_BODY_BYTES).read_to_end(&mut bytes);
    if let Err(error) = read {
        tracing::debug!(%error, "could not read error body");
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Splits an error body into code and message, falling back to code `unknown` and the raw
/// text when the body is not the server's JSON envelope (for example a proxy's HTML page).
fn parse_error_body(text: &str) -> (String, String) {
    match serde_json::from_str::<ErrorEnvelope>(text) {
        Ok(envelope) => (envelope.error.code, envelope.error.message),
        Err(_) => ("unknown".to_owned(), text.trim().to_owned()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::io::{self, Write};
    use std::net::{TcpListener, TcpStream};
    use std::thread::{self, JoinHandle};

    use super::*;

    /// A one-connection HTTP server on loopback. It reads one request, lets `respond` answer
    /// it, and hands back the raw request text when joined.
    fn serve_once(
        respond: impl FnOnce(&mut TcpStream) + Send + 'static,
    ) -> (String, JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let handle = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let request = read_request(&mut stream);
            respond(&mut stream);
            request
        });
        (base_url, handle)
    }

    /// Reads the request head and as much body as its `Content-Length` announces.
    fn read_request(stream: &mut TcpStream) -> String {
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .map(|value| value.trim().parse::<usize>().unwrap())
                    .unwrap_or(0);
                if raw.len() >= end + 4 + length {
                    break;
                }
            }
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&raw).into_owned()
    }

    /// Writes a complete response with a fixed length and closes the connection afterwards.
    fn respond_with(
        status: &'static str,
        content_type: &'static str,
        body: &'static [u8],
    ) -> impl FnOnce(&mut TcpStream) + Send + 'static {
        move |stream| {
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(body).unwrap();
            stream.flush().unwrap();
        }
    }

    /// Blocks until the client closes its end, so a test can tell the client hung up.
    fn wait_for_close(stream: &mut TcpStream) {
        let mut buf = [0u8; 1024];
        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
    }

    /// Writes one chunk of a chunked body, ignoring a client that already hung up.
    fn write_chunk(stream: &mut TcpStream, data: &str) -> bool {
        let chunk = format!("{:x}\r\n{data}\r\n", data.len());
        stream.write_all(chunk.as_bytes()).is_ok() && stream.flush().is_ok()
    }

    const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                            Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";

    #[test]
    fn success_returns_the_body_and_sends_token_and_content_type() {
        let (base_url, server) =
            serve_once(respond_with("200 OK", WIRE_CONTENT_TYPE, b"KAMS response bytes"));
        let transport = HttpTransport::new(&format!("{base_url}/"), "secret-token");
        let answer = transport.exchange(b"KAMS request bytes").unwrap();
        assert_eq!(answer, b"KAMS response bytes");

        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(request.starts_with("POST /api/v1/sync HTTP/1.1\r\n"), "{request}");
        assert!(lower.contains("authorization: bearer secret-token\r\n"), "{request}");
        assert!(lower.contains("content-type: application/vnd.kam.sync.v1\r\n"), "{request}");
        assert!(request.ends_with("\r\n\r\nKAMS request bytes"), "{request}");
        assert!(!lower.contains("kam-installation"), "no installation unless one is set");
    }

    #[test]
    fn the_installation_is_sent_with_rounds_and_a_token_in_use_elsewhere_is_recognised() {
        const IN_USE: &[u8] = br#"{"error":{"code":"device_in_use","message":"bound"}}"#;
        let (base_url, server) =
            serve_once(respond_with("409 Conflict", "application/json", IN_USE));
        let transport = HttpTransport::new(&base_url, "t").with_installation("inst-a");
        let error = transport.exchange(b"x").unwrap_err();
        assert!(error.is_device_in_use(), "{error:?}");
        assert!(!error.is_retryable());
        let request = server.join().unwrap().to_ascii_lowercase();
        assert!(request.contains("kam-installation: inst-a\r\n"), "{request}");

        // At the desk a 409 is normally an answer; this one is not.
        let (base_url, server) =
            serve_once(respond_with("409 Conflict", "application/json", IN_USE));
        let transport = HttpTransport::new(&base_url, "t").with_installation("inst-a");
        let error = crate::desk::DeskTransport::send_command(&transport, b"{}").unwrap_err();
        assert!(error.is_device_in_use(), "{error:?}");
        let request = server.join().unwrap().to_ascii_lowercase();
        assert!(request.contains("kam-installation: inst-a\r\n"), "{request}");
        let other = TransportError::Rejected {
            status: 409,
            code: "event_delegated".into(),
            message: String::new(),
        };
        assert!(!other.is_device_in_use());
    }

    #[test]
    fn unauthorized_maps_to_unauthorized() {
        let (base_url, server) = serve_once(respond_with(
            "401 Unauthorized",
            "application/json",
            br#"{"error":{"code":"unauthorized","message":"unknown token"}}"#,
        ));
        let error = HttpTransport::new(&base_url, "t").exchange(b"x").unwrap_err();
        assert_eq!(error, TransportError::Unauthorized);
        assert!(!error.is_retryable());
        server.join().unwrap();
    }

    #[test]
    fn forbidden_carries_the_server_message() {
        let (base_url, server) = serve_once(respond_with(
            "403 Forbidden",
            "application/json",
            br#"{"error":{"code":"out_of_scope","message":"ticket/t9 is not yours"}}"#,
        ));
        let error = HttpTransport::new(&base_url, "t").exchange(b"x").unwrap_err();
        assert_eq!(error, TransportError::Forbidden("ticket/t9 is not yours".to_owned()));
        server.join().unwrap();
    }

    #[test]
    fn unprocessable_maps_to_rejected_with_code_and_message() {
        let (base_url, server) = serve_once(respond_with(
            "422 Unprocessable Entity",
            "application/json",
            br#"{"error":{"code":"bad_wire_version","message":"wire version 9 is not supported"}}"#,
        ));
        let error = HttpTransport::new(&base_url, "t").exchange(b"x").unwrap_err();
        assert_eq!(
            error,
            TransportError::Rejected {
                status: 422,
                code: "bad_wire_version".to_owned(),
                message: "wire version 9 is not supported".to_owned(),
            }
        );
        assert!(!error.is_retryable());
        server.join().unwrap();
    }

    #[test]
    fn a_cursor_ahead_of_the_server_is_recognised_as_such() {
        // The envelope the server's HTTP edge gives `ServerError::Invalid { field: "cursor" }`.
        let (base_url, server) = serve_once(respond_with(
            "422 Unprocessable Entity",
            "application/json",
            br#"{"error":{"code":"invalid_field","message":"invalid cursor: ahead of the server"}}"#,
        ));
        let error = HttpTransport::new(&base_url, "t").exchange(b"x").unwrap_err();
        assert!(error.is_cursor_refused(), "{error:?}");
        server.join().unwrap();
        let other = TransportError::Rejected {
            status: 422,
            code: "invalid_field".to_owned(),
            message: "invalid messages: customer/c1 twice".to_owned(),
        };
        assert!(!other.is_cursor_refused());
    }

    #[test]
    fn the_server_id_is_the_normalised_base_url() {
        let id = |url: &str| HttpTransport::new(url, "t").server_id();
        assert_eq!(id("https://Kam.Example.COM"), "https://kam.example.com");
        assert_eq!(id("HTTPS://kam.example.com:443/"), "https://kam.example.com");
        assert_eq!(id(" https://kam.example.com/kam//"), "https://kam.example.com/kam");
        assert_eq!(id("http://192.168.1.10:8080/"), "http://192.168.1.10:8080");
        assert_eq!(id("http://venue.local:80"), "http://venue.local");
        assert_eq!(id("https://kam.example.com/Kam"), "https://kam.example.com/Kam");
        assert_ne!(id("http://venue.local:8080"), id("http://venue.local:8081"));
        assert_ne!(id("http://kam.example.com"), id("https://kam.example.com"));
        let dyn_transport: &dyn SyncTransport = &HttpTransport::new("https://a.example/", "t");
        assert_eq!((&dyn_transport).server_id(), "https://a.example", "the &T impl forwards");
    }

    #[test]
    fn rejection_without_json_falls_back_to_raw_text() {
        let (base_url, server) =
            serve_once(respond_with("413 Payload Too Large", "text/plain", b"too big\n"));
        let error = HttpTransport::new(&base_url, "t").exchange(b"x").unwrap_err();
        assert_eq!(
            error,
            TransportError::Rejected {
                status: 413,
                code: "unknown".to_owned(),
                message: "too big".to_owned(),
            }
        );
        server.join().unwrap();
    }

    #[test]
    fn unavailable_maps_to_retryable_server_error() {
        let (base_url, server) = serve_once(respond_with(
            "503 Service Unavailable",
            "text/plain",
            b"down for maintenance",
        ));
        let error = HttpTransport::new(&base_url, "t").exchange(b"x").unwrap_err();
        assert_eq!(error, TransportError::Server { status: 503 });
        assert!(error.is_retryable());
        server.join().unwrap();
    }

    #[test]
    fn too_many_requests_maps_to_retryable_server_error() {
        let (base_url, server) =
            serve_once(respond_with("429 Too Many Requests", "text/plain", b""));
        let error = HttpTransport::new(&base_url, "t").exchange(b"x").unwrap_err();
        assert_eq!(error, TransportError::Server { status: 429 });
        assert!(error.is_retryable());
        server.join().unwrap();
    }

    #[test]
    fn closed_port_maps_to_network() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let error = HttpTransport::new(&format!("http://127.0.0.1:{port}"), "t")
            .exchange(b"x")
            .unwrap_err();
        assert!(matches!(error, TransportError::Network(_)), "{error:?}");
        assert!(error.is_retryable());
    }

    #[test]
    fn silent_server_times_out_as_network() {
        let (base_url, server) = serve_once(wait_for_close);
        let error = HttpTransport::new(&base_url, "t")
            .with_timeout(Duration::from_millis(200))
            .exchange(b"x")
            .unwrap_err();
        assert!(
            matches!(&error, TransportError::Network(text) if text.contains("timed out")),
            "{error:?}"
        );
        server.join().unwrap();
    }

    #[test]
    fn debug_output_hides_the_token() {
        let transport = HttpTransport::new("https://kam.example.com", "secret-token");
        let shown = format!("{transport:?}");
        assert!(shown.contains("https://kam.example.com/api/v1/sync"), "{shown}");
        assert!(!shown.contains("secret-token"), "{shown}");
    }

    #[test]
    fn watcher_parses_changed_events_and_stops_on_request() {
        let (base_url, server) = serve_once(|stream| {
            stream.write_all(SSE_HEAD.as_bytes()).unwrap();
            let chunks = [
                ": keep-alive\n\n",
                "event: changed\ndata: {\"cursor\":",
                "7,\"docs\":[\"customer/c1\"]}\n",
                "\n",
                "event: presence\ndata: {\"device\":\"d2\"}\n\n",
                ":\n",
                "event: changed\r\ndata: {\"cursor\": 9, \"docs\": [\"ticket/t1\", \"project/p2\"]}\r\n\r\n",
                "event: changed\ndata: {\"cursor\":10,\"docs\":[]}\n\n",
            ];
            for chunk in chunks {
                if !write_chunk(stream, chunk) {
                    break;
                }
            }
            // The stream stays open: only the client's stop can end this test.
            wait_for_close(stream);
        });
        let mut notices = Vec::new();
        watch_changes(&base_url, "secret-token", Some("inst-1"), &mut |notice| {
            notices.push(notice);
            if notices.len() == 2 { WatchControl::Stop } else { WatchControl::Continue }
        })
        .unwrap();
        assert_eq!(
            notices,
            vec![
                ChangeNotice { cursor: 7, docs: vec!["customer/c1".to_owned()] },
                ChangeNotice {
                    cursor: 9,
                    docs: vec!["ticket/t1".to_owned(), "project/p2".to_owned()],
                },
            ]
        );

        let request = server.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(request.starts_with("GET /api/v1/changes HTTP/1.1\r\n"), "{request}");
        assert!(lower.contains("authorization: bearer secret-token\r\n"), "{request}");
        assert!(lower.contains("accept: text/event-stream\r\n"), "{request}");
        assert!(lower.contains("kam-installation: inst-1\r\n"), "{request}");
    }

    #[test]
    fn watcher_returns_ok_when_the_stream_ends() {
        let (base_url, server) = serve_once(|stream| {
            stream.write_all(SSE_HEAD.as_bytes()).unwrap();
            assert!(write_chunk(
                stream,
                "event: changed\ndata: {\"cursor\":1,\"docs\":[\"event/e1\"]}\n\n"
            ));
            // An event cut off by the end of the stream is never delivered.
            assert!(write_chunk(stream, "event: changed\ndata: {\"cursor\":2,\"docs\":[]}\n"));
            stream.write_all(b"0\r\n\r\n").unwrap();
        });
        let mut notices = Vec::new();
        watch_changes(&base_url, "t", None, &mut |notice| {
            notices.push(notice.cursor);
            WatchControl::Continue
        })
        .unwrap();
        assert_eq!(notices, vec![1]);
        server.join().unwrap();
    }

    #[test]
    fn watcher_maps_http_errors() {
        let (base_url, server) = serve_once(respond_with("401 Unauthorized", "text/plain", b"no"));
        let result = watch_changes(&base_url, "t", None, &mut |_| WatchControl::Continue);
        assert_eq!(result, Err(TransportError::Unauthorized));
        server.join().unwrap();
    }

    /// A reader that hands out one byte per read, so every line is split across reads.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((byte, rest)), Some(slot)) => {
                    *slot = *byte;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn parser_handles_byte_by_byte_input_multiline_data_and_bad_notices() {
        let stream = "\u{feff}: hello\n\
                      event: changed\ndata: not json\n\n\
                      event: changed\ndata: {\"cursor\":3,\ndata: \"docs\":[\"customer/c1\"],\"extra\":true}\n\n\
                      data: {\"cursor\":4,\"docs\":[]}\n\n\
                      event: changed\n\n\
                      event: changed\ndata:{\"cursor\":5,\"docs\":[]}\n\n";
        let mut notices = Vec::new();
        read_events(BufReader::with_capacity(1, Trickle(stream.as_bytes())), &mut |notice| {
            notices.push(notice.cursor);
            WatchControl::Continue
        })
        .unwrap();
        // 3 spans two data lines; 4 is an unnamed event; the empty event carries no data.
        assert_eq!(notices, vec![3, 5]);
    }

    #[test]
    fn parser_refuses_an_over_long_line() {
        let mut stream = b"data: ".to_vec();
        stream.extend_from_slice(&vec![b'x'; MAX_PUSH_LINE_BYTES + 10]);
        stream.extend_from_slice(b"\n\n");
        let result = read_events(stream.as_slice(), &mut |_| WatchControl::Continue);
        assert!(matches!(result, Err(TransportError::Network(_))), "{result:?}");
    }

    #[test]
    fn parser_refuses_an_over_large_event() {
        let line = format!("data: {}\n", "x".repeat(1000));
        let stream = line.repeat(MAX_PUSH_LINE_BYTES / 1000 + 1);
        let result = read_events(stream.as_bytes(), &mut |_| WatchControl::Continue);
        assert!(matches!(result, Err(TransportError::Network(_))), "{result:?}");
    }

    #[test]
    fn parser_accepts_a_line_of_exactly_the_cap() {
        let padding = MAX_PUSH_LINE_BYTES - "data: {\"cursor\":1,\"docs\":[]}".len();
        let stream = format!(
            "data: {{\"cursor\":1,\"docs\":[]}}{}\nevent: changed\n\n",
            " ".repeat(padding)
        );
        assert_eq!(stream.find('\n'), Some(MAX_PUSH_LINE_BYTES));
        let mut notices = Vec::new();
        read_events(stream.as_bytes(), &mut |notice| {
            notices.push(notice);
            WatchControl::Continue
        })
        .unwrap();
        assert_eq!(notices.len(), 1);
    }
}
