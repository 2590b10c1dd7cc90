//! Local replica benchmark: builds a rep's replica (300 customers with 5 contacts and 12
//! visits each, 2,000 tickets, a 3,000-unit project) the way a first download would, then
//! measures it in a fresh child process so that building does not inflate the figures:
//! open time, list-screen query times, loading a document, resident memory and file size.
//!
//! Run: `cargo bench -p kam-core --bench replica`. Figures print as `name value unit target`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use kam_core::Policy;
use kam_core::demo::{self, DemoSpec};
use kam_core::doc::{self, ActorId, DocId, EditMeta};
use kam_core::model::UserId;
use kam_core::replica::{Replica, ReplicaOptions};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).single().unwrap_or_else(Utc::now)
}

fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        let path = args.get(i + 1).ok_or("--measure needs a path")?;
        return measure(Path::new(path));
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("rep.kam");
    build(&path)?;
    let status = Command::new(std::env::current_exe()?).arg("--measure").arg(&path).status()?;
    if !status.success() {
        return Err(format!("measurement process failed: {status}").into());
    }
    Ok(())
}

fn build(path: &Path) -> BenchResult<()> {
    let policy = Policy::default();
    let started = Instant::now();
    let data = demo::generate(&DemoSpec::standard(1), now(), &policy);
    let server = ActorId::random();
    let meta = EditMeta::new(&UserId::from("hq-import"), now(), "import");
    let mut docs: Vec<(DocId, Vec<u8>)> = Vec::new();
    for c in &data.customers {
        let mut d = doc::create_customer(c, server.clone(), &meta)?;
        docs.push((d.id().clone(), d.save()));
    }
    for t in &data.tickets {
        let mut d = doc::create_ticket(t, server.clone(), &meta)?;
        docs.push((d.id().clone(), d.save()));
    }
    let project_started = Instant::now();
    let mut p = doc::create_project(&data.project, server.clone(), &meta)?;
    let project_build = project_started.elapsed();
    docs.push((p.id().clone(), p.save()));
    let generated = started.elapsed();
    let saved_bytes: usize = docs.iter().map(|(_, b)| b.len()).sum();

    let import_started = Instant::now();
    let mut replica = Replica::open(path, ReplicaOptions::default())?;
    for batch in docs.chunks(200) {
        replica.import_documents(batch)?;
    }
    let imported = import_started.elapsed();
    drop(replica);
    println!("# build: {} documents", docs.len());
    row("build_documents", ms(generated), "ms", "");
    row("build_project_3000_units", ms(project_build), "ms", "");
    row("saved_document_bytes", saved_bytes as f64 / 1024.0, "KiB", "");
    row("import_first_download", ms(imported), "ms", "");
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn row(name: &str, value: f64, unit: &str, target: &str) {
    println!("{name:<32} {value:>10.3} {unit:<4} {target}");
}

/// Runs `f` `n` times and returns the median duration.
fn median<T, E: Into<Box<dyn std::error::Error>>>(
    n: usize,
    mut f: impl FnMut() -> Result<T, E>,
) -> BenchResult<Duration> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        std::hint::black_box(f().map_err(Into::into)?);
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[n / 2])
}

fn rss_mib() -> f64 {
    memory_stats::memory_stats()
        .map(|m| m.physical_mem as f64 / (1024.0 * 1024.0))
        .unwrap_or(f64::NAN)
}

fn measure(path: &Path) -> BenchResult<()> {
    let rss_before = rss_mib();
    let open_started = Instant::now();
    let mut replica = Replica::open(path, ReplicaOptions::default())?;
    let open = open_started.elapsed();
    let rep = UserId::from("rep-01");

    let first = Instant::now();
    let mine = replica.my_customers_by_tier(&rep)?;
    let first_query = first.elapsed();
    let by_tier = median(51, || replica.my_customers_by_tier(&rep))?;
    let due = median(51, || replica.visits_due(&rep, now()))?;
    let due_rows = replica.visits_due(&rep, now())?.len();
    let tickets = median(51, || replica.open_tickets_by_urgency(Some(&rep), now()))?;
    let ticket_rows = replica.open_tickets_by_urgency(Some(&rep), now())?.len();
    let search = median(51, || replica.search_customers("宏达", 50))?;

    let customer_id = mine.first().map(|c| c.id.clone()).ok_or("no customers")?;
    let detail_started = Instant::now();
    let customer = replica.customer(&customer_id)?;
    let detail = detail_started.elapsed();
    let project_id = replica
        .document_ids()?
        .into_iter()
        .find(|d| d.kind() == doc::DocKind::Project)
        .ok_or("no project")?;
    let project_started = Instant::now();
    let project = replica.project(&kam_core::model::ProjectId::from(project_id.entity()))?;
    let project_load = project_started.elapsed();
    let rss_after = rss_mib();
    let stats = replica.storage_stats()?;
    let file_bytes = std::fs::metadata(path)?.len()
        + std::fs::metadata(path.with_extension("kam-wal")).map(|m| m.len()).unwrap_or(0);

    println!(
        "# measure (fresh process): {} customers listed, {} visits due, {} open tickets, {} contacts on the first customer, {} units",
        mine.len(),
        due_rows,
        ticket_rows,
        customer.contacts.len(),
        project.units.len()
    );
    row("open_ms", ms(open), "ms", "target <= 100");
    row("query_my_customers_first_ms", ms(first_query), "ms", "");
    row("query_my_customers_by_tier_ms", ms(by_tier), "ms", "target <= 5");
    row("query_visits_due_ms", ms(due), "ms", "target <= 5");
    row("query_open_tickets_by_sla_ms", ms(tickets), "ms", "target <= 5");
    row("query_search_name_ms", ms(search), "ms", "target <= 5");
    row("load_customer_doc_ms", ms(detail), "ms", "");
    row("load_project_doc_3000_units_ms", ms(project_load), "ms", "");
    row("rss_at_start_mib", rss_before, "MiB", "");
    row("rss_after_open_queries_loads_mib", rss_after, "MiB", "target <= 50");
    row("file_bytes_mib", file_bytes as f64 / (1024.0 * 1024.0), "MiB", "");
    row("documents", stats.documents as f64, "docs", "");
    Ok(())
}
