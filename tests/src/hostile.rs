//! The hostile-client suite's harness (`tests/tests/hostile.rs`): the release server on a
//! venue demo, what it acknowledged before the attack, and the checks after it — every route
//! still answers as it should, the server restarts on its own data directory, and nothing it
//! had acknowledged changed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use kam_core::model::{CustomerId, VisitId};
use serde_json::{Value, json};

use crate::{
    DeskClient, ServerProcess, Tablet, TestResult, VENUE_DEMO, add_visit, customers_of, demo_token,
    desk_setup, release_server_binary,
};

/// An answer, whole: status, headers (names lowercased) and body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error envelope's code, when the body is the envelope.
    pub fn code(&self) -> Option<String> {
        let v = self.json();
        let code = v["error"]["code"].as_str()?.to_owned();
        v["error"]["message"].as_str()?;
        Some(code)
    }
}

/// A desk command the desk answered before the attack, to be asked again after it.
#[derive(Clone, Debug)]
struct Acknowledged {
    token: String,
    key: String,
    command: Value,
    answer: (u16, Value),
}

/// A running release server on a venue demo, with what it acknowledged.
pub struct Site {
    dir: tempfile::TempDir,
    server: Option<ServerProcess>,
    args: Vec<String>,
    /// The server's base URL (it changes with each restart: port 0).
    pub url: String,
    /// The event whose desk is open.
    pub event: String,
    /// Its allotted units, by id.
    pub units: Vec<String>,
    /// Its buyers, in lottery order.
    pub buyers: Vec<String>,
    desk: Vec<Acknowledged>,
    visit: Option<(CustomerId, VisitId)>,
}

impl Site {
    /// Starts the release server on a fresh venue demo with `extra` `serve` arguments, and
    /// has it acknowledge a desk command or two and a rep's visit.
    pub fn start(extra: &[&str]) -> TestResult<Site> {
        let dir = tempfile::tempdir()?;
        let args: Vec<String> = VENUE_DEMO.iter().chain(extra).map(|s| (*s).to_owned()).collect();
        let server = start_server(dir.path(), &args)?;
        let url = server.url.clone();
        let (event, units, buyers) = desk_setup(dir.path())?;
        let mut site = Site {
            dir,
            server: Some(server),
            args,
            url,
            event,
            units,
            buyers,
            desk: Vec::new(),
            visit: None,
        };
        site.acknowledge()?;
        Ok(site)
    }

    /// The server's data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The token of a new device of `rep-01`, for a fresh tablet: a token binds the first
    /// replica that syncs with it (ADR 0022), so each tablet has its own.
    pub fn rep_device(&self) -> TestResult<String> {
        Ok(crate::enroll(self.dir(), "rep-01")?.1)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.server.as_ref().map_or(0, ServerProcess::pid)
    }

    fn acknowledge(&mut self) -> TestResult<()> {
        let free = json!({ "kind": "set_mode", "mode": "free" });
        self.ack(&demo_token("staff-01"), "ack-free", free)?;
        let hold = json!({ "kind": "hold", "unit_id": self.units[0], "buyer_id": self.buyers[0] });
        self.ack(&demo_token("staff-01"), "ack-hold", hold)?;
        let mut tablet = Tablet::new(&self.url, &self.rep_device()?)?;
        tablet.sync()?;
        let customer = customers_of(&tablet.replica, "rep-01")?
            .into_iter()
            .next()
            .ok_or("rep-01 has no customer")?;
        let before: Vec<VisitId> = tablet.replica.customer(&customer)?.visits.into_keys().collect();
        add_visit(&mut tablet.replica, "rep-01", &customer, "acknowledged before the attack")?;
        let visit = tablet
            .replica
            .customer(&customer)?
            .visits
            .into_keys()
            .find(|v| !before.contains(v))
            .ok_or("the visit was not recorded")?;
        tablet.sync()?;
        self.visit = Some((customer, visit));
        Ok(())
    }

    fn ack(&mut self, token: &str, key: &str, command: Value) -> TestResult<()> {
        let answer = DeskClient::new(&self.url, token).send(key, &self.event, &command)?;
        if answer.0 != 200 {
            return Err(format!("{command} was not accepted: {answer:?}").into());
        }
        let token = token.to_owned();
        self.desk.push(Acknowledged { token, key: key.to_owned(), command, answer });
        Ok(())
    }

    /// A desk client of `user`'s demo device.
    pub fn desk(&self, user: &str) -> DeskClient {
        DeskClient::new(&self.url, &demo_token(user))
    }

    /// Sends `command` as `user` under a fresh key.
    pub fn command(&self, user: &str, command: Value) -> TestResult<(u16, Value)> {
        let key = uuid::Uuid::now_v7().to_string();
        self.desk(user).send(&key, &self.event, &command)
    }

    /// One request, whole, with no redirect followed.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> TestResult<Answer> {
        call(&self.url, method, path, headers, body)
    }

    /// GET `path` with `user`'s demo token.
    pub fn get_as(&self, user: &str, path: &str) -> TestResult<Answer> {
        let auth = format!("Bearer {}", demo_token(user));
        self.call("GET", path, &[("authorization", &auth)], None)
    }

    /// Signs `user` in on the dashboard with the demo password; the session cookie.
    pub fn sign_in(&self, user: &str) -> TestResult<String> {
        sign_in(&self.url, user)
    }

    /// Every kind of route answers as it should, and everything acknowledged before is
    /// still there. `sign_in` also signs in on the dashboard (a test that spent the sign-in
    /// rate limit on purpose leaves it out until a restart).
    pub fn check(&self, sign_in: bool) -> TestResult<()> {
        self.check_service_routes()?;
        self.check_acknowledged()?;
        if sign_in {
            let cookie = self.sign_in("hq-01")?;
            let page = self.call("GET", "/hq", &[("cookie", &cookie)], None)?;
            expect(page.status == 200 && page.text().contains("<nav"), "the overview page", &page)?;
            let board = format!("/hq/events/{}/board", self.event);
            let page = self.call("GET", &board, &[("cookie", &cookie)], None)?;
            expect(page.status == 200, "the live board", &page)?;
        }
        Ok(())
    }

    fn check_service_routes(&self) -> TestResult<()> {
        let health = self.call("GET", "/healthz", &[], None)?;
        expect(health.status == 200 && health.json()["status"] == "ok", "/healthz", &health)?;
        for path in ["/api/v1/summary", "/api/v1/policy", "/metrics", "/login"] {
            let answer = self.call("GET", path, &[], None)?;
            expect(answer.status == 200, path, &answer)?;
        }
        let overview = self.get_as("hq-01", "/api/v1/hq/overview")?;
        expect(overview.status == 200, "the HQ API", &overview)?;
        let table = self.get_as("staff-01", &format!("/api/v1/events/{}/desk", self.event))?;
        expect(table.status == 200, "the control table", &table)?;
        let verify = self.get_as("finance-01", "/api/v1/desk/ledger/verify")?;
        expect(
            verify.status == 200 && verify.json()["first_bad_seq"].is_null(),
            "the ledger",
            &verify,
        )?;
        let fresh = json!({ "kind": "set_mode", "mode": "free" });
        let (status, answer) = self.command("staff-01", fresh)?;
        if status != 200 {
            return Err(format!("a fresh desk command: {status} {answer}").into());
        }
        Ok(())
    }

    fn check_acknowledged(&self) -> TestResult<()> {
        for ack in &self.desk {
            let again =
                DeskClient::new(&self.url, &ack.token).send(&ack.key, &self.event, &ack.command)?;
            if again != ack.answer {
                return Err(format!("{} answered {again:?}, not {:?}", ack.key, ack.answer).into());
            }
        }
        let (customer, visit) = self.visit.as_ref().ok_or("nothing acknowledged")?;
        let mut tablet = Tablet::new(&self.url, &self.rep_device()?)?;
        tablet.sync()?;
        if !tablet.replica.customer(customer)?.visits.contains_key(visit) {
            return Err(format!("the acknowledged visit {visit} of {customer} is gone").into());
        }
        let table = self.get_as("staff-01", &format!("/api/v1/events/{}/desk", self.event))?.json();
        let held = table["units"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|u| u["unit_id"] == self.units[0].as_str() && u["status"] == "held");
        if !held {
            return Err("the acknowledged hold is gone".into());
        }
        Ok(())
    }

    /// Stops the server (SIGTERM), starts it again on its own data directory, and checks.
    pub fn restart(&mut self) -> TestResult<()> {
        if let Some(server) = self.server.take() {
            server.stop(Duration::from_secs(30))?;
        }
        self.start_again()
    }

    /// Kills the server (SIGKILL), starts it again on its own data directory, and checks.
    pub fn kill_and_restart(&mut self) -> TestResult<()> {
        if let Some(server) = self.server.take() {
            server.kill()?;
        }
        self.start_again()
    }

    /// Stops the server (SIGTERM) and leaves it stopped, e.g. to change its files.
    pub fn stop(&mut self) -> TestResult<()> {
        if let Some(server) = self.server.take() {
            server.stop(Duration::from_secs(30))?;
        }
        Ok(())
    }

    /// Starts the server again on its own data directory and checks it.
    pub fn resume(&mut self) -> TestResult<()> {
        self.start_again()
    }

    fn start_again(&mut self) -> TestResult<()> {
        let server = start_server(self.dir.path(), &self.args)?;
        self.url = server.url.clone();
        self.server = Some(server);
        self.check(true)
    }

    /// The server's resident memory and threads now, from `/proc`.
    pub fn rss_and_threads(&self) -> TestResult<(u64, u64)> {
        process_rss_and_threads(self.pid())
    }
}

fn start_server(dir: &Path, args: &[String]) -> TestResult<ServerProcess> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ServerProcess::start_binary(&release_server_binary()?, dir, &args, Duration::from_secs(180))
}

fn expect(ok: bool, what: &str, answer: &Answer) -> TestResult<()> {
    if ok { Ok(()) } else { Err(format!("{what}: {} {}", answer.status, answer.text()).into()) }
}

/// Signs `user` in on the dashboard at `base` with the demo password; the session cookie
/// (`kam_session=…`).
pub fn sign_in(base: &str, user: &str) -> TestResult<String> {
    let form = format!("user={user}&password=demo-{user}&next=%2Fhq");
    let answer = call(
        base,
        "POST",
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(form.as_bytes()),
    )?;
    let cookie = answer
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .filter(|c| c.starts_with("kam_session=") && c.len() > "kam_session=".len())
        .ok_or_else(|| format!("no session for {user}: {} {}", answer.status, answer.text()))?;
    Ok(cookie.to_owned())
}

/// One request to `base` + `path`, whole, with no redirect followed.
pub fn call(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> TestResult<Answer> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut request = ureq::http::Request::builder().method(method).uri(format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = match body {
        Some(body) => agent.run(request.body(body.to_vec())?)?,
        None => agent.run(request.body(())?)?,
    };
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = response.body_mut().with_config().limit(64 * 1024 * 1024).read_to_vec()?;
    Ok(Answer { status, headers, body })
}

/// Sends `head` (request line and headers, ending with the blank line) and `body` on a raw
/// connection, and reads what the server answers until it closes or `wait` passes. Returns
/// the status (0 if none) and whether the server closed the connection.
pub fn raw_exchange(url: &str, head: &str, body: &[u8], wait: Duration) -> TestResult<(u16, bool)> {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    stream.write_all(head.as_bytes())?;
    // The body may be refused before it is read: a write error then is the expected end.
    let _ = stream.write_all(body);
    let deadline = Instant::now() + wait;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok((status_of(&seen), true)),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Ok((status_of(&seen), true)),
        }
        if Instant::now() > deadline {
            return Ok((status_of(&seen), false));
        }
    }
}

fn status_of(bytes: &[u8]) -> u16 {
    String::from_utf8_lossy(bytes)
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A process's resident memory (KiB) and thread count, from `/proc/<pid>/status`.
pub fn process_rss_and_threads(pid: u32) -> TestResult<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> TestResult<u64> {
        let line = status.lines().find(|l| l.starts_with(name)).ok_or("no such field")?;
        let value = line.split_whitespace().nth(1).ok_or("no value")?;
        Ok(value.parse()?)
    };
    Ok((field("VmRSS:")?, field("Threads:")?))
}
