//! The `kam-server` command.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use kam_core::demo::DemoSpec;
use kam_server::admin::{self, ADMIN_ACTOR};
use kam_server::auth::Role;
use kam_server::data;
use kam_server::desk::delegation::wire::Bundle;
use kam_server::desk::delegation::{edge as venue_edge, lend};
use kam_server::http::edge::{self, limits::Limits};
use kam_server::store::Store;
use tracing_subscriber::EnvFilter;

#[path = "cli/serve.rs"]
mod serve;

use serve::{Background, DatabaseArgs, VenueArgs, serve, venue_upstream};

// The server allocates on one thread and frees on another all the time (a request is parsed
// on a runtime worker, answered by the desk's writer, the answer freed back on a worker).
// Under desk load glibc's allocator took 4-10 % of the machine's samples on the runtime
// workers; mimalloc's thread-local free lists cost less (ADR 0012 has the measurements).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// KAM's central server.
#[derive(Debug, Parser)]
#[command(name = "kam-server", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start: the size of the `serve` variant's flags costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP on the data directory's store.
    Serve {
        /// Load the demo company into an empty data directory first.
        #[arg(long)]
        demo: bool,
        /// The demo company's size, as a multiple of the standard one: per step 5 reps, 300
        /// customers, 2,000 tickets, 3,000 units and 200 buyers (10: a company of 50 reps).
        #[arg(
            long,
            requires = "demo",
            value_parser = clap::value_parser!(u16).range(1..=i64::from(kam_core::demo::MAX_SCALE))
        )]
        scale: Option<u16>,
        /// Customers in the demo company, instead of the scale's (tests use a small one).
        #[arg(long, hide = true)]
        demo_customers: Option<usize>,
        /// Tickets in the demo company, instead of the scale's.
        #[arg(long, hide = true)]
        demo_tickets: Option<usize>,
        /// Units in the demo project, instead of the scale's.
        #[arg(long, hide = true)]
        demo_units: Option<usize>,
        /// Buyers on the demo event's list, instead of the scale's.
        #[arg(long, hide = true)]
        demo_buyers: Option<usize>,
        /// The company's policy file (TOML; values not given keep their defaults).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Data directory (created if missing).
        #[arg(long, default_value = "kam-data")]
        data: PathBuf,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Limits on connections, bodies, time, rates and streams.
        #[command(flatten)]
        limits: Limits,
        /// Reached over HTTPS through a TLS-terminating proxy: cookies are Secure and HSTS is
        /// sent.
        #[arg(long)]
        tls_proxy: bool,
        /// Run as a venue server (ADR 0021): take the event desk central lends this venue
        /// and ship its ledger upstream while the uplink is up.
        #[command(flatten)]
        venue: VenueArgs,
        /// Copy both database files into this directory every `--copy-interval-s` (SQLite's
        /// online backup): a second copy to serve from if the data directory's disk dies.
        #[arg(long)]
        copy_dir: Option<PathBuf>,
        /// Seconds between two copies into `--copy-dir`.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
        copy_interval_s: u64,
        /// Run on a shared PostgreSQL database instead of the embedded files (ADR 0024).
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Administer users, devices and customer assignment.
    Admin {
        /// Data directory.
        #[arg(long, default_value = "kam-data")]
        data: PathBuf,
        /// Administer the company whose data is in this PostgreSQL database (as `serve
        /// --database`) instead of the data directory's files.
        #[arg(long, env = "KAM_DATABASE_URL")]
        database: Option<String>,
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Create a user with a role (rep, event_staff, venue, finance, hq, admin).
    AddUser {
        /// The user id.
        user_id: String,
        /// The role.
        role: String,
        /// Display name (defaults to the id).
        #[arg(long)]
        name: Option<String>,
    },
    /// Change a user's role (rep, event_staff, venue, finance, hq, admin).
    SetRole {
        /// The user id.
        user_id: String,
        /// The new role.
        role: String,
    },
    /// Enrol a device for a user and print its token (shown only this once).
    Enroll {
        /// The user id.
        user_id: String,
        /// A label for the device.
        #[arg(long, default_value = "tablet")]
        label: String,
    },
    /// Revoke a device: its token stops working at once.
    Revoke {
        /// The device id.
        device_id: String,
    },
    /// Release a device's installation binding after the device was reinstalled without its
    /// data: the next installation that syncs with the token binds it (ADR 0022).
    ReleaseInstallation {
        /// The device id.
        device_id: String,
    },
    /// Hand a customer (and its tickets) over to another rep.
    Handover {
        /// The customer id.
        customer_id: String,
        /// The rep who takes it over.
        to: String,
    },
    /// Grant an event and its project to an event-staff or venue user.
    AssignEvent {
        /// The event id.
        event_id: String,
        /// The event's project id.
        project_id: String,
        /// The user.
        user_id: String,
    },
    /// List devices with their last sync.
    Devices,
    /// Compute and publish every active rep's scorecard for a period from the records.
    PublishScorecards {
        /// `YYYY-MM` for a month, `YYYY` for a year.
        #[arg(long)]
        period: String,
    },
    /// Set a user's dashboard password, read from the first line of standard input (never
    /// from the command line, where other users could see it).
    SetPassword {
        /// The user id.
        user_id: String,
    },
    /// Import monthly sales from the ERP: a CSV file with `customer_id,month,amount`.
    ImportSales {
        /// The CSV file.
        file: PathBuf,
    },
    /// Open an event's selection desk from its documents (units, prices, buyer list).
    OpenDesk {
        /// The event id.
        event_id: String,
        /// Size of the event's pre-numbered voucher series.
        #[arg(long, default_value_t = kam_server::desk::catalog::DEFAULT_VOUCHER_SERIES)]
        vouchers: u32,
    },
    /// Check the whole desk ledger's hash chain; exits non-zero if it is broken.
    VerifyLedger,
    /// Lend an event's desk to a venue server under a lease (ADR 0021).
    Delegate {
        /// The event id.
        #[arg(long)]
        event: String,
        /// The venue server's device id.
        #[arg(long)]
        venue_device: String,
        /// How long the lease lasts.
        #[arg(long, default_value_t = 36)]
        lease_hours: i64,
    },
    /// Take a lost venue's desk back, only after its lease has ended.
    TakeBack {
        /// The event id.
        #[arg(long)]
        event: String,
    },
    /// Import a venue's export bundle (its signed ledger segment and the event's rows).
    ImportBundle {
        /// The bundle file.
        file: PathBuf,
    },
    /// The delegations and how far behind each venue is.
    Delegations,
    /// On a venue server: stop serving the event and hand its desk back to central (the
    /// running server ships the final batch).
    HandBack,
    /// On a venue server restarted from its second copy while central cannot be reached:
    /// serve again without comparing with central first. Commands acknowledged after the
    /// copy was taken and not shipped are lost: check the papers printed since.
    AcceptCopy,
    /// On a venue server: stop serving the event and write its export bundle.
    ExportBundle {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Move a data directory's embedded store (the server's and the desk's SQLite files) into
    /// PostgreSQL, then compare the copy with the files: every table's rows, every document's
    /// stored bytes, the desk ledger's chain and tip. Stop the server on the directory first.
    /// The target must be an empty database or schema (a schema through
    /// `?options=-csearch_path%3Dname`): a table that holds rows is refused, and nothing is
    /// copied unless everything is. Exits non-zero on any difference. Ignores `--data`.
    MigrateToPostgres {
        /// The data directory to move (the server on it must be stopped).
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database: a `postgres://` URL or a key-value connection string.
        #[arg(long)]
        to: String,
    },
}

/// The log filter: `RUST_LOG` if set, else `info`; Automerge's own spans stay off unless
/// `RUST_LOG` names Automerge. Automerge instruments its change loading at INFO level with
/// the document's whole change graph as a field, so an enabled span formats the full history
/// on every merge: a third of a sync round's time, for a log line nobody reads.
fn log_filter() -> EnvFilter {
    let asked = std::env::var("RUST_LOG").unwrap_or_default();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if asked.contains("automerge") {
        return filter;
    }
    match "automerge=warn".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter(log_filter()).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    // The blocking pool is bounded by the places that admit work to it (the store's turn,
    // the readers, the password checks): it cannot grow with the number of clients.
    let blocking = match &cli.command {
        Command::Serve { limits, .. } => edge::max_blocking_threads(limits),
        Command::Admin { .. } => 2,
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(blocking)
        .build()?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve {
            demo,
            scale,
            demo_customers,
            demo_tickets,
            demo_units,
            demo_buyers,
            policy,
            data,
            listen,
            limits,
            tls_proxy,
            venue,
            copy_dir,
            copy_interval_s,
            database,
        } => {
            let scaled = DemoSpec::scaled(scale.map_or(1, usize::from));
            let spec = DemoSpec {
                customers: demo_customers.unwrap_or(scaled.customers),
                tickets: demo_tickets.unwrap_or(scaled.tickets),
                units: demo_units.unwrap_or(scaled.units),
                buyers: demo_buyers.unwrap_or(scaled.buyers),
                ..scaled
            };
            let policy = data::load_policy(policy.as_deref())?;
            let web = kam_server::web::security::WebSettings { tls_proxy };
            let upstream = venue_upstream(&venue)?;
            let copy = copy_dir.map(|d| (d, std::time::Duration::from_secs(copy_interval_s)));
            let background = Background { upstream, copy, database };
            serve(demo.then_some(spec), policy, data, listen, limits, web, background).await
        }
        Command::Admin { data, database, action } => {
            // A PostgreSQL pool's connections run on this runtime.
            let runtime = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || match action {
                // Before `--data`'s store is opened: it must not create that directory.
                AdminAction::MigrateToPostgres { from, to } => {
                    migrate_to_postgres(&from, &to, runtime)
                }
                action => {
                    let store = match database {
                        Some(url) => data::open_store_on_postgres(
                            &url,
                            4,
                            runtime,
                            kam_core::Policy::default(),
                        )?,
                        None => data::open_store(&data)?,
                    };
                    run_admin(store, action)
                }
            })
            .await?
            .map_err(|e| e as Box<dyn std::error::Error>)
        }
    }
}

/// What an admin command returns: its errors cross the blocking task to `main`.
type AdminResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Runs one admin command on the company's store, each kind in its own function.
fn run_admin(mut store: Store, action: AdminAction) -> AdminResult {
    let now = chrono::Utc::now();
    match action {
        AdminAction::AddUser { user_id, role, name } => {
            add_user(&mut store, &user_id, &role, name.as_deref(), now)?;
        }
        AdminAction::SetRole { user_id, role } => set_role(&mut store, &user_id, &role, now)?,
        AdminAction::Enroll { user_id, label } => enroll(&mut store, &user_id, &label, now)?,
        AdminAction::Revoke { device_id } => revoke(&mut store, &device_id, now)?,
        AdminAction::ReleaseInstallation { device_id } => {
            match admin::release_installation(&mut store, ADMIN_ACTOR, &device_id, now)? {
                Some(was) => println!("device {device_id} released from installation {was}"),
                None => println!("device {device_id} was not bound to an installation"),
            }
        }
        AdminAction::Devices => list_devices(&store)?,
        AdminAction::PublishScorecards { period } => {
            let reps = admin::publish_scorecards(&mut store, &period, now)?;
            println!("published {} scorecards for {period}: {}", reps.len(), reps.join(", "));
        }
        AdminAction::SetPassword { user_id } => set_password(&mut store, &user_id, now)?,
        AdminAction::Handover { customer_id, to } => handover(&mut store, &customer_id, &to, now)?,
        AdminAction::AssignEvent { event_id, project_id, user_id } => {
            admin::assign_event(&mut store, ADMIN_ACTOR, &event_id, &project_id, &user_id, now)?;
            println!("event {event_id} assigned to {user_id}");
        }
        AdminAction::OpenDesk { event_id, vouchers } => {
            open_desk(&mut store, &event_id, vouchers, now)?;
        }
        AdminAction::VerifyLedger => verify_ledger(&store)?,
        AdminAction::Delegate { event, venue_device, lease_hours } => {
            delegate(&mut store, &event, &venue_device, lease_hours, now)?;
        }
        AdminAction::TakeBack { event } => take_back(&mut store, &event, now)?,
        AdminAction::ImportBundle { file } => import_bundle(&mut store, &file, now)?,
        AdminAction::Delegations => list_delegations(&store)?,
        AdminAction::HandBack => hand_back(&mut store, now)?,
        AdminAction::AcceptCopy => {
            admin::delegation_step_audited(
                &mut store,
                ("event.accept_copy", "venue"),
                now,
                |tx, _| Ok(tx.clear_copy_mark()?),
                |()| serde_json::json!({}),
            )?;
            println!(
                "this copy serves again without comparing with headquarters; commands acknowledged \
                 after the copy was taken and not shipped are lost: check the papers printed since"
            );
        }
        AdminAction::ExportBundle { out } => export_bundle(&mut store, &out, now)?,
        AdminAction::MigrateToPostgres { .. } => {
            return Err("migrate-to-postgres does not run on the data directory's store".into());
        }
        AdminAction::ImportSales { file } => {
            let csv = std::fs::read_to_string(&file)?;
            let source = file.display().to_string();
            let report = admin::import_sales(&mut store, ADMIN_ACTOR, &csv, &source, now)?;
            println!("{report:?}");
        }
    }
    // A handover changed a document; headquarters' rows follow before the command returns.
    store.project_all(now)?;
    Ok(())
}

/// `migrate-to-postgres`: the directory `from` copied into the database `to` and compared;
/// the report printed, an error on any difference.
fn migrate_to_postgres(from: &Path, to: &str, runtime: tokio::runtime::Handle) -> AdminResult {
    let pool = kam_server::db::postgres::PgPool::new(to, 2, runtime)?;
    match kam_server::migrate::migrate_to_postgres(from, &pool) {
        Ok(report) => {
            println!("{report}");
            Ok(())
        }
        Err(e) => {
            // Said in plain words; the returned error only sets the exit status.
            eprintln!("migrate-to-postgres: {e}");
            Err("the migration did not complete".into())
        }
    }
}

/// `add-user`: a user with a role.
fn add_user(
    store: &mut Store,
    user_id: &str,
    role: &str,
    name: Option<&str>,
    now: DateTime<Utc>,
) -> AdminResult {
    let role = Role::parse(role).ok_or_else(|| format!("unknown role {role}"))?;
    admin::add_user(store, ADMIN_ACTOR, user_id, name.unwrap_or(user_id), role, now)?;
    println!("user {user_id} ({}) created", role.as_str());
    Ok(())
}

/// `set-role`: a user's role changed.
fn set_role(store: &mut Store, user_id: &str, role: &str, now: DateTime<Utc>) -> AdminResult {
    let role = Role::parse(role).ok_or_else(|| format!("unknown role {role}"))?;
    let before = admin::set_role(store, ADMIN_ACTOR, user_id, role, now)?;
    println!("user {user_id}: {} -> {}", before.as_str(), role.as_str());
    Ok(())
}

/// `enroll`: a device for a user, its token printed this once.
fn enroll(store: &mut Store, user_id: &str, label: &str, now: DateTime<Utc>) -> AdminResult {
    let e = admin::enroll(store, ADMIN_ACTOR, user_id, label, now)?;
    println!("device {}", e.device_id);
    println!("token {}", e.token);
    println!("The token is shown only now; the server keeps only its hash.");
    Ok(())
}

/// `revoke`: a device's token stops working.
fn revoke(store: &mut Store, device_id: &str, now: DateTime<Utc>) -> AdminResult {
    let was_active = admin::revoke(store, ADMIN_ACTOR, device_id, now)?;
    println!("device {device_id} {}", if was_active { "revoked" } else { "was not active" });
    Ok(())
}

/// `devices`: every device with its last sync.
fn list_devices(store: &Store) -> AdminResult {
    for d in kam_server::auth::list_devices(store.conn())? {
        let last = d.last_seen_at.as_deref().unwrap_or("never");
        let state = if d.revoked_at.is_some() { "revoked" } else { "active" };
        println!("{}\t{}\t{}\t{state}\tlast sync {last}", d.device_id, d.user_id, d.label);
    }
    Ok(())
}

/// `set-password`: a user's dashboard password, from the first line of standard input.
fn set_password(store: &mut Store, user_id: &str, now: DateTime<Utc>) -> AdminResult {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    let hash = admin::hash_new_password(password)?;
    admin::set_password_hash(store, ADMIN_ACTOR, user_id, &hash, now)?;
    println!("password set for {user_id}");
    Ok(())
}

/// `handover`: a customer and its tickets to another rep.
fn handover(store: &mut Store, customer_id: &str, to: &str, now: DateTime<Utc>) -> AdminResult {
    let h = admin::handover(store, ADMIN_ACTOR, customer_id, to, now)?;
    println!("customer {} handed over from {} to {}", h.customer_id, h.from.join(","), h.to);
    Ok(())
}

/// `open-desk`: an event's selection desk, loaded from its documents.
fn open_desk(store: &mut Store, event_id: &str, vouchers: u32, now: DateTime<Utc>) -> AdminResult {
    let opened = admin::open_desk(store, event_id, vouchers, now)?;
    println!(
        "desk of event {} open: {} units, {} allotted, {} buyers",
        opened.event_id, opened.units, opened.allotted, opened.buyers
    );
    Ok(())
}

/// `verify-ledger`: the desk ledger's whole hash chain; an error if it is broken, so the
/// command exits non-zero.
fn verify_ledger(store: &Store) -> AdminResult {
    let v = kam_server::desk::ledger::verify(store.desk())?;
    match v.first_bad_seq {
        None => println!("ledger intact: {} entries, tip {}", v.entries, v.tip_hash),
        Some(seq) => {
            return Err(format!(
                "ledger broken at entry {seq} ({} entries verified before it)",
                v.entries
            )
            .into());
        }
    }
    for s in lend::verify_segments(store.desk())? {
        match &s.fault {
            None => println!(
                "venue segment of {} generation {} intact: {} entries, tip {}",
                s.event_id, s.generation, s.entries, s.tip_hash
            ),
            Some(fault) => {
                return Err(format!(
                    "venue segment of {} generation {} broken: {fault}",
                    s.event_id, s.generation
                )
                .into());
            }
        }
    }
    Ok(())
}

/// `delegate`: lends an event's desk to a venue server.
fn delegate(
    store: &mut Store,
    event: &str,
    venue_device: &str,
    lease_hours: i64,
    now: DateTime<Utc>,
) -> AdminResult {
    if !(1..=24 * 14).contains(&lease_hours) {
        return Err("--lease-hours is 1 to 336".into());
    }
    let lent = admin::delegate(store, event, venue_device, lease_hours, now)?;
    println!(
        "event {} lent to venue {} (generation {}) until {}; central refuses its commands now",
        lent.event_id, lent.venue_name, lent.generation, lent.lease_until
    );
    Ok(())
}

/// `take-back`: a lost venue's desk, after its lease.
fn take_back(store: &mut Store, event: &str, now: DateTime<Utc>) -> AdminResult {
    let generation = admin::delegation_step_audited(
        store,
        ("event.take_back", event),
        now,
        |tx, tip| lend::take_back(tx, tip, event, ADMIN_ACTOR, now),
        |generation| serde_json::json!({ "generation": generation }),
    )?;
    println!("event {event} taken back (generation {generation}); central serves it again");
    Ok(())
}

/// `import-bundle`: a venue's export bundle.
fn import_bundle(store: &mut Store, file: &Path, now: DateTime<Utc>) -> AdminResult {
    let bundle: Bundle = serde_json::from_slice(&std::fs::read(file)?)?;
    let entries = bundle.shipment.entries.len();
    let event = bundle.shipment.event_id.clone();
    let ack = admin::delegation_step_audited(
        store,
        ("event.import_bundle", &event),
        now,
        |tx, tip| lend::import_bundle(tx, tip, &bundle, now),
        |ack| serde_json::json!({ "entries": entries, "shipped": ack.shipped }),
    )?;
    println!(
        "bundle imported: {entries} entries, venue tip {} {}",
        ack.shipped.seq, ack.shipped.hash
    );
    Ok(())
}

/// `delegations`: each generation and its venue's lag.
fn list_delegations(store: &Store) -> AdminResult {
    for d in store.desk().delegations()? {
        let lag = d.venue_tip_seq.saturating_sub(d.shipped.seq);
        println!(
            "{}\tgeneration {}\t{}\t{}\t{}\tlease until {}\tshipped {}\tunshipped {lag}\tlast heard {}",
            d.event_id,
            d.generation,
            d.side.as_str(),
            d.state.as_str(),
            d.venue_name,
            d.lease_until,
            d.shipped.seq,
            d.last_heard_at.as_deref().unwrap_or("never"),
        );
    }
    Ok(())
}

/// `hand-back` (venue): stops serving; the running server ships the final batch.
fn hand_back(store: &mut Store, now: DateTime<Utc>) -> AdminResult {
    let event = admin::delegation_step_audited(
        store,
        ("event.hand_back", "venue"),
        now,
        |tx, _| venue_edge::hand_back(tx, now),
        |event| serde_json::json!({ "event": event }),
    )?;
    println!(
        "event {event}: the venue no longer serves it; the final batch ships when central is reachable"
    );
    Ok(())
}

/// `export-bundle` (venue): stops serving and writes the signed bundle.
fn export_bundle(store: &mut Store, out: &Path, now: DateTime<Utc>) -> AdminResult {
    let bundle = admin::delegation_step_audited(
        store,
        ("event.export_bundle", "venue"),
        now,
        |tx, _| venue_edge::export_bundle(tx, now),
        |b| serde_json::json!({ "entries": b.shipment.entries.len(), "tip": b.shipment.venue_tip }),
    )?;
    let bytes = serde_json::to_vec(&bundle)?;
    let tmp = out.with_extension("partial");
    std::fs::write(&tmp, &bytes)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, out)?;
    println!(
        "bundle written to {}: {} entries, tip {} {}",
        out.display(),
        bundle.shipment.entries.len(),
        bundle.shipment.venue_tip.seq,
        bundle.shipment.venue_tip.hash
    );
    Ok(())
}
