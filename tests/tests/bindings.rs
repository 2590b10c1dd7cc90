//! The generated mobile bindings driving the real core against the real server.
//!
//! `scripts/bindings` builds the kam-ffi library and the workspace's `uniffi-bindgen`, and
//! generates Kotlin, Swift and Python into `target/bindings/`. Then:
//!
//! * Python (ctypes) and Kotlin (on the JVM, through JNA, as on Android) each run a scenario
//!   (`tests/bindings/`) as a child process against a real `kam-server` on 127.0.0.1 of its
//!   own: a rep's customer, visit and ticket made offline and synced, a desk tablet's holds
//!   queued offline, shown pending, sent, one held and one refused with its reason, and the
//!   error cases an app acts on. The test then asks the server whether it really holds what
//!   the scenario reported.
//! * Swift cannot be compiled here, so its C header is: gcc compiles it and lists every
//!   function it declares, which must be exactly the functions the library exports (`nm -D`),
//!   and a program taking the address of each must link against the library.
//!
//! The tools come from `scripts/test` (`ensure_tools`): Debian's `libjna-java`, and the npm
//! package `kotlin-compiler` in `target/tools/`, whose `lib/` also ships the Kotlin standard
//! library and kotlinx-coroutines that the generated async functions need. A missing tool
//! fails the test with what to install; nothing is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kam_core::doc::{ActorId, DocId, DocKind, Document};
use kam_core::model::{TicketStatus, UserId, VisitId};
use kam_tests::{
    SMALL_DEMO, ServerProcess, demo_token, desk_setup, enroll, get_json_with_token, workspace_root,
};

/// How long one scenario may run before it is killed and the test fails. They take about a
/// second; the bound is for a hung child, not for a slow machine.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(180);

/// Where the generated bindings and the built library are.
struct Bindings {
    dir: PathBuf,
    library: PathBuf,
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Runs `scripts/bindings` once per test process, as a developer would.
fn bindings() -> &'static Bindings {
    static GENERATED: OnceLock<Bindings> = OnceLock::new();
    GENERATED.get_or_init(|| {
        let started = Instant::now();
        let mut script = Command::new("bash");
        script.arg(workspace_root().join("scripts/bindings")).current_dir(workspace_root());
        // Cargo sets this test crate's package variables; passed on to the nested build they
        // would make cargo rebuild kam-ffi's dependencies on every run (see `server_binary`).
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_MANIFEST_")
                || key == "CARGO_CRATE_NAME"
                || key == "CARGO_PRIMARY_PACKAGE"
            {
                script.env_remove(key);
            }
        }
        let output = script.output().expect("run scripts/bindings");
        assert!(
            output.status.success(),
            "scripts/bindings failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let dir = target_dir().join("bindings");
        for file in [
            "kotlin/app/kam/ffi/kam_ffi.kt",
            "python/kam_ffi.py",
            "python/libkam_ffi.so",
            "swift/KamFfi.swift",
            "swift/KamFfiFFI.h",
            "swift/KamFfiFFI.modulemap",
        ] {
            assert!(dir.join(file).is_file(), "scripts/bindings did not write {file}");
        }
        println!("bindings: built and generated in {:.1} s", started.elapsed().as_secs_f64());
        Bindings { dir, library: target_dir().join("debug/libkam_ffi.so") }
    })
}

/// A tool the test needs, or a failure saying how to get it.
fn tool(path: PathBuf, install: &str) -> PathBuf {
    assert!(path.exists(), "{} not found: {install} (scripts/test does it)", path.display());
    path
}

fn on_path(name: &str, install: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file())
    });
    found.unwrap_or_else(|| panic!("{name} not on PATH: {install}"))
}

/// The Kotlin compiler's home: `KAM_KOTLIN_HOME`, or where `scripts/test` installs it.
fn kotlin_home() -> PathBuf {
    let home = std::env::var_os("KAM_KOTLIN_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/tools/node_modules/kotlin-compiler"));
    tool(home, "npm install --prefix target/tools kotlin-compiler")
}

fn jna_jar() -> PathBuf {
    let jar = std::env::var_os("KAM_JNA_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java/jna.jar"));
    tool(jar, "apt-get install libjna-java")
}

/// What a scenario printed and how long it ran.
struct Run {
    lines: Vec<String>,
    result: BTreeMap<String, String>,
    elapsed: Duration,
}

/// Runs a scenario child process against `server` (event `event`, replicas in `work`), with
/// a bounded wait, and returns its output. Fails the test with the output if it fails.
fn run_scenario(
    mut command: Command,
    label: &str,
    server: &ServerProcess,
    event: &str,
    work: &Path,
) -> Run {
    let out = work.join(format!("{label}.out"));
    let err = work.join(format!("{label}.err"));
    let started = Instant::now();
    let mut child = command
        .env("KAM_URL", &server.url)
        .env("KAM_EVENT", event)
        .env("KAM_WORKDIR", work)
        // The panics the listeners test on purpose need no backtraces in the output.
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{label}: cannot start {command:?}: {e}"));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > SCENARIO_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{label} scenario still running after {SCENARIO_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let stdout = std::fs::read_to_string(&out).unwrap();
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert!(status.success(), "{label} scenario failed ({status}):\n{stdout}\n{stderr}");
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    let result = lines
        .iter()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("{label} printed no RESULT line:\n{stdout}"))
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Run { lines, result, elapsed }
}

/// GETs a document from the server as the device holding `token`, and loads it.
fn server_document(server: &ServerProcess, kind: DocKind, id: &str, token: &str) -> Document {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = format!("{}/api/v1/documents/{kind}/{id}", server.url);
    let mut response =
        agent.get(&url).header("Authorization", &format!("Bearer {token}")).call().unwrap();
    assert_eq!(response.status().as_u16(), 200, "{url}");
    let bytes = response.body_mut().read_to_vec().unwrap();
    Document::load(DocId::new(kind, id), &bytes, ActorId::random()).unwrap()
}

/// Checks on the server what a scenario says it did: the rep's customer with its visit and
/// ticket arrived, and the unit it held is held for its buyer.
fn check_on_server(server: &ServerProcess, rep: &str, event: &str, run: &Run) {
    let r = &run.result;
    let token = demo_token(rep);
    let customer = server_document(server, DocKind::Customer, &r["customer"], &token);
    let customer = kam_core::doc::read_customer(&customer).unwrap();
    assert!(
        customer.visits.contains_key(&VisitId::from(r["visit"].as_str())),
        "the visit reached the server: {customer:?}"
    );
    assert_eq!(customer.owners, vec![UserId::from(rep)]);
    let ticket = server_document(server, DocKind::Ticket, &r["ticket"], &token);
    let ticket = kam_core::doc::read_ticket(&ticket).unwrap();
    assert_eq!(ticket.status, TicketStatus::InProgress, "the ticket's move reached the server");
    assert_eq!(ticket.customer_id.as_str(), r["customer"]);

    let desk = format!("{}/api/v1/events/{event}/desk", server.url);
    let (status, table) = get_json_with_token(&desk, &demo_token("staff-01")).unwrap();
    assert_eq!(status, 200, "{table}");
    let unit = table["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit_id"] == r["unit"].as_str())
        .unwrap_or_else(|| panic!("unit {} not on the desk: {table}", r["unit"]));
    assert_eq!(unit["status"], "held", "{unit}");
    assert_eq!(unit["buyer_id"], r["buyer"].as_str(), "{unit}");
    assert_eq!(r["refused_code"], "unit_not_available");
}

fn print_run(label: &str, run: &Run) {
    for line in &run.lines {
        println!("  {line}");
    }
    println!("{label}: scenario process ran {:.2} s", run.elapsed.as_secs_f64());
}

#[test]
fn python_drives_the_real_core_against_the_real_server() {
    let python = on_path("python3", "install Python 3");
    let bindings = bindings();
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), SMALL_DEMO, Duration::from_secs(120)).unwrap();
    let (event, _, _) = desk_setup(dir.path()).unwrap();
    let (_, phone_token) = enroll(dir.path(), "rep-01").unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut command = Command::new(python);
    command.env("KAM_PHONE_TOKEN", phone_token);
    command
        .arg(workspace_root().join("tests/bindings/scenario.py"))
        .env("PYTHONPATH", bindings.dir.join("python"));
    let run = run_scenario(command, "python", &server, &event, work.path());
    check_on_server(&server, "rep-01", &event, &run);
    print_run("python", &run);
    server.stop(Duration::from_secs(30)).unwrap();
}

#[test]
fn kotlin_drives_the_real_core_on_the_jvm_through_jna() {
    let java = on_path("java", "install a JDK (17 or later)");
    let home = kotlin_home();
    let jna = jna_jar();
    let stdlib = tool(home.join("lib/kotlin-stdlib.jar"), "reinstall kotlin-compiler");
    let coroutines =
        tool(home.join("lib/kotlinx-coroutines-core-jvm.jar"), "reinstall kotlin-compiler");
    let bindings = bindings();
    let jar = compile_kotlin(&home, &[&jna, &coroutines], bindings);

    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), SMALL_DEMO, Duration::from_secs(120)).unwrap();
    let (event, _, _) = desk_setup(dir.path()).unwrap();
    let (_, phone_token) = enroll(dir.path(), "rep-02").unwrap();
    let work = tempfile::tempdir().unwrap();
    let classpath = std::env::join_paths([&jar, &jna, &stdlib, &coroutines]).unwrap();
    let mut command = Command::new(java);
    command.env("KAM_PHONE_TOKEN", phone_token);
    command
        .arg(format!("-Djna.library.path={}", bindings.library.parent().unwrap().display()))
        .arg("-cp")
        .arg(classpath)
        .arg("ScenarioKt");
    let run = run_scenario(command, "kotlin", &server, &event, work.path());
    check_on_server(&server, "rep-02", &event, &run);
    print_run("kotlin", &run);
    server.stop(Duration::from_secs(30)).unwrap();
}

/// Compiles the generated Kotlin with the scenario into a jar, once for each version of the
/// two sources and the compiler: kotlinc takes most of a minute on two cores, so an unchanged
/// jar from an earlier run is reused.
fn compile_kotlin(home: &Path, classpath: &[&Path], bindings: &Bindings) -> PathBuf {
    let generated = bindings.dir.join("kotlin/app/kam/ffi/kam_ffi.kt");
    let flows = bindings.dir.join("kotlin/app/kam/ffi/KamFlows.kt");
    let scenario = workspace_root().join("tests/bindings/Scenario.kt");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in [&generated, &flows, &scenario, &home.join("build.txt")] {
        std::fs::read(file).unwrap().hash(&mut hasher);
    }
    let out = target_dir().join("bindings-test");
    let jar = out.join(format!("scenario-{:016x}.jar", hasher.finish()));
    if jar.exists() {
        println!("kotlin: scenario jar unchanged, not recompiled");
        return jar;
    }
    std::fs::create_dir_all(&out).unwrap();
    let started = Instant::now();
    let partial = jar.with_extension("partial.jar");
    let output = Command::new(home.join("bin/kotlinc"))
        .args(["-nowarn", "-cp"])
        .arg(std::env::join_paths(classpath).unwrap())
        .arg(&generated)
        .arg(&flows)
        .arg(&scenario)
        .arg("-d")
        .arg(&partial)
        .output()
        .expect("run kotlinc");
    assert!(
        output.status.success(),
        "kotlinc failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Renamed only once complete, so an interrupted compile is never mistaken for a good jar.
    std::fs::rename(&partial, &jar).unwrap();
    println!("kotlin: compiled bindings and scenario in {:.1} s", started.elapsed().as_secs_f64());
    jar
}

#[test]
fn swift_c_header_declares_exactly_what_the_library_exports() {
    let gcc = on_path("gcc", "apt-get install gcc");
    let nm = on_path("nm", "apt-get install binutils");
    let bindings = bindings();
    let swift = bindings.dir.join("swift");
    let source = std::fs::read_to_string(swift.join("KamFfi.swift")).unwrap();
    assert!(source.contains("import KamFfiFFI"), "the Swift sources import the C module");
    let modulemap = std::fs::read_to_string(swift.join("KamFfiFFI.modulemap")).unwrap();
    assert!(modulemap.contains("KamFfiFFI.h"), "{modulemap}");

    // Compile the header as C. `_Nonnull`/`_Nullable` are clang's nullability annotations for
    // Swift's importer; gcc does not know them, and they change no type.
    let work = tempfile::tempdir().unwrap();
    let check = work.path().join("check.c");
    std::fs::write(&check, "#include \"KamFfiFFI.h\"\nint main(void) { return 0; }\n").unwrap();
    let protos = work.path().join("protos.txt");
    let nullability = ["-D_Nonnull=", "-D_Nullable=", "-D_Null_unspecified="];
    let compiled = Command::new(&gcc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror"])
        .args(nullability)
        .arg(format!("-I{}", swift.display()))
        .arg("-aux-info")
        .arg(&protos)
        .args(["-c", "-o"])
        .arg(work.path().join("check.o"))
        .arg(&check)
        .output()
        .unwrap();
    assert!(compiled.status.success(), "{}", String::from_utf8_lossy(&compiled.stderr));

    // gcc's -aux-info lists every function declaration with the file it came from.
    let declared: BTreeSet<String> = std::fs::read_to_string(&protos)
        .unwrap()
        .lines()
        .filter(|l| l.contains("KamFfiFFI.h:"))
        .filter_map(|l| l.split('(').next()?.split_whitespace().last().map(str::to_owned))
        .map(|name| name.trim_start_matches('*').to_owned())
        .collect();
    assert!(
        declared.contains("uniffi_kam_ffi_fn_method_kamreplica_sync_now")
            && declared.contains("ffi_kam_ffi_uniffi_contract_version"),
        "{declared:?}"
    );

    let listed =
        Command::new(&nm).args(["-D", "--defined-only"]).arg(&bindings.library).output().unwrap();
    assert!(listed.status.success());
    let exported: BTreeSet<String> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [_, "T", name] => Some(name.to_owned()),
            _ => None,
        })
        .filter(|name| name.starts_with("uniffi_kam_ffi_") || name.starts_with("ffi_kam_ffi_"))
        .collect();
    let missing: Vec<_> = declared.difference(&exported).collect();
    let undeclared: Vec<_> = exported.difference(&declared).collect();
    assert!(missing.is_empty(), "declared but not exported: {missing:?}");
    assert!(undeclared.is_empty(), "exported but not in the header: {undeclared:?}");

    // And the linker agrees: a program referring to every declared function links.
    let mut program = String::from("#include \"KamFfiFFI.h\"\nvoid *const used[] = {\n");
    for name in &declared {
        program.push_str(&format!("    (void *)&{name},\n"));
    }
    program.push_str("};\nint main(void) { return used[0] == 0; }\n");
    let linked_c = work.path().join("link.c");
    std::fs::write(&linked_c, program).unwrap();
    let linked = Command::new(&gcc)
        .args(["-std=c11", "-Wall", "-Wno-pedantic"])
        .args(nullability)
        .arg(format!("-I{}", swift.display()))
        .arg(&linked_c)
        .arg(format!("-L{}", bindings.library.parent().unwrap().display()))
        .args(["-lkam_ffi", "-o"])
        .arg(work.path().join("link"))
        .output()
        .unwrap();
    assert!(linked.status.success(), "{}", String::from_utf8_lossy(&linked.stderr));
    println!(
        "swift: header compiles with gcc; {} functions declared, {} exported by {}, all linked",
        declared.len(),
        exported.len(),
        bindings.library.file_name().unwrap().to_string_lossy()
    );
}
