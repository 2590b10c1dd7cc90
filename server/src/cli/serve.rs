//! `kam-server serve`: its flags beyond the edge's limits, opening the store (embedded files
//! or a PostgreSQL database shared with other nodes), starting the desk, the background work
//! and the HTTP edge, and stopping on a signal.

use std::net::SocketAddr;
use std::path::PathBuf;

use kam_core::demo::DemoSpec;
use kam_server::data;
use kam_server::db::postgres::PgPool;
use kam_server::desk::Desk;
use kam_server::desk::delegation::uplink::{self, Upstream};
use kam_server::health::Health;
use kam_server::http::edge::{self, limits::Limits};
use kam_server::http::{AppState, routes};

/// The shared database's flags: several nodes over one PostgreSQL database (ADR 0024).
#[derive(Debug, clap::Args)]
pub(crate) struct DatabaseArgs {
    /// Keep everything in this PostgreSQL database (`postgres://user@host:port/db`; a
    /// `?options=-csearch_path%3Dschema` part picks a schema) instead of the data directory's
    /// SQLite files. Every node of a company names the same database; any node answers any
    /// request. The schema is created or upgraded at start.
    #[arg(long, env = "KAM_DATABASE_URL", conflicts_with_all = ["copy_dir", "upstream"])]
    database: Option<String>,
    /// Connections this node opens to PostgreSQL at most: its readers (`--readers`) hold
    /// theirs for the node's life, the store, the desk and the leases take eight more.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(12..=2000))]
    database_connections: u32,
    /// How this node hears of other nodes' commits (for device streams, consoles and the
    /// leased tasks): `notify` (a NOTIFY after each commit, read at least every second) or
    /// `follow` (read the change sequence every 100 ms, no notices).
    #[arg(long, value_enum, default_value_t = kam_server::cluster::ChangeNotices::Notify)]
    change_notices: kam_server::cluster::ChangeNotices,
}

/// The venue server's flags.
#[derive(Debug, clap::Args)]
pub(crate) struct VenueArgs {
    /// Run as a venue server.
    #[arg(long, requires = "upstream")]
    venue: bool,
    /// Central's base URL (https://…).
    #[arg(long)]
    upstream: Option<String>,
    /// The venue device's token. Other users of the machine can read a command line:
    /// prefer `--token-file`.
    #[arg(long, conflicts_with = "token_file")]
    token: Option<String>,
    /// A file holding the venue device's token.
    #[arg(long)]
    token_file: Option<PathBuf>,
}

/// The venue's upstream from its flags, the token read from its file.
pub(crate) fn venue_upstream(
    args: &VenueArgs,
) -> Result<Option<Upstream>, Box<dyn std::error::Error>> {
    if !args.venue {
        return Ok(None);
    }
    let Some(url) = &args.upstream else { return Err("--venue needs --upstream".into()) };
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => token.trim().to_owned(),
        (None, Some(file)) => std::fs::read_to_string(file)?.trim().to_owned(),
        (None, None) => return Err("--venue needs --token-file (or --token)".into()),
    };
    if token.is_empty() {
        return Err("the venue device's token is empty".into());
    }
    // The installation is the venue's own, read from its store when the server starts.
    Ok(Some(Upstream { url: url.clone(), token, installation: String::new() }))
}

/// The background work a server runs besides its own: a venue's uplink, the second copy.
pub(crate) struct Background {
    pub(crate) upstream: Option<Upstream>,
    pub(crate) copy: Option<(PathBuf, std::time::Duration)>,
    pub(crate) database: DatabaseArgs,
}

pub(crate) async fn serve(
    demo: Option<DemoSpec>,
    policy: kam_core::Policy,
    dir: PathBuf,
    listen: SocketAddr,
    limits: Limits,
    web: kam_server::web::security::WebSettings,
    background: Background,
) -> Result<(), Box<dyn std::error::Error>> {
    let Background { upstream, copy, database } = background;
    let reps = demo.as_ref().map_or(0, |s| s.reps);
    let pool = match &database.database {
        Some(url) => {
            let size = usize::try_from(database.database_connections).unwrap_or(usize::MAX);
            if size < limits.readers.saturating_add(8) {
                return Err(format!(
                    "--database-connections {size} leaves too few beside --readers {}",
                    limits.readers
                )
                .into());
            }
            Some(PgPool::new(url, size, tokio::runtime::Handle::current())?)
        }
        None => None,
    };
    // A connection is an open file; the default soft limit (often 1,024) would refuse clients
    // long before `--max-connections`.
    let wanted = u64::try_from(limits.max_connections).unwrap_or(u64::MAX).saturating_add(256);
    let open_files = edge::serve::raise_open_files(wanted);
    if open_files < wanted {
        tracing::warn!(
            open_files,
            wanted,
            "the open-files limit is below what --max-connections needs"
        );
    }
    let listener = edge::serve::bind(listen, limits.max_connections)?;
    let address = listener.local_addr()?;
    let health = Health::new();
    let opening = (pool.clone(), limits.clone(), health.clone());
    let data_dir = dir.clone();
    // Opening speaks to the database (SQLite files, or PostgreSQL through the pool), which
    // waits on the calling thread: all of it on a blocking thread.
    let (state, desk, loaded, upstream) = tokio::task::spawn_blocking(move || {
        let (pool, limits, health) = opening;
        let mut store = match pool {
            Some(pool) => data::open_store_on(pool, policy)?,
            None => data::open_store_with(&dir, policy)?,
        };
        let loaded = match &demo {
            Some(spec) => data::load_demo(&mut store, spec, chrono::Utc::now())?,
            None => None,
        };
        let upstream = match upstream {
            Some(up) => Some(Upstream {
                installation: kam_server::sync::upstream::venue_installation(&mut store)?,
                ..up
            }),
            None => None,
        };
        let desk = Desk::start_at(
            &store.location(),
            store.policy().clone(),
            health.beat("desk_writer"),
            std::sync::Arc::new(chrono::Utc::now),
        )?;
        if store.location().postgres().is_none() {
            kam_server::db::checkpoint::spawn(
                vec![store.path().to_path_buf(), store.desk_path()],
                health.beat("checkpoint"),
            )?;
        }
        let state = AppState::with_limits(store, limits, health)?.and_desk(desk.clone());
        Ok::<_, kam_server::error::ServerError>((state, desk, loaded, upstream))
    })
    .await??;
    print_banner(address, reps, loaded.as_ref());
    // The second copy (`--copy-dir`) lives as long as `serve`; dropping it stops its thread.
    let _second_copy = match copy {
        Some((copy_dir, interval)) => Some(kam_server::db::SecondCopy::start(
            &data_dir,
            &copy_dir,
            interval,
            state.health.beat("second_copy"),
        )?),
        None => None,
    };
    let mut state = state;
    state.web = web;
    let cluster = pool.map(|pool| (pool, database.change_notices));
    kam_server::background::spawn(state.services(), &desk, cluster);
    tokio::spawn(edge::epoch::watch_credentials(state.clone()));
    tokio::spawn(edge::janitor(state.clone()));
    if let Some(upstream) = upstream {
        tracing::info!(upstream = %upstream.url, "running as a venue server");
        let beat = state.health.beat("venue_uplink");
        tokio::spawn(uplink::run(state.services().clone(), upstream, beat));
    }
    let app = routes::app(state);
    edge::serve::serve(listener, app, &limits, shutdown_signal()).await?;
    tracing::info!("server stopped");
    Ok(())
}

/// What `serve` prints once it listens: the demo's logins when there are any, the main
/// addresses, and last the line tests read to find the port.
fn print_banner(address: SocketAddr, reps: usize, loaded: Option<&data::DemoLoad>) {
    if let Some(loaded) = loaded {
        println!("Demo data loaded: {} documents.", loaded.documents);
    } else if reps > 0 {
        println!("Demo requested, but the data directory already holds data: left as it is.");
    }
    if reps > 0 {
        println!(
            "Demo logins (demo only, published on purpose): user, role, device token, dashboard password"
        );
        for login in data::demo_logins(reps) {
            println!(
                "  {:<11} {:<12} {:<22} {}",
                login.user_id,
                login.role.as_str(),
                login.token,
                login.password
            );
        }
        println!("  Dashboard: http://{address}/login (hq-01 / demo-hq-01)");
    }
    println!("  GET  http://{address}/api/v1/summary   counts");
    println!("  POST http://{address}/api/v1/sync      device sync (Bearer token)");
    println!("  GET  http://{address}/metrics          Prometheus metrics");
    // Tests read this line to find the port; keep its shape, and print it last.
    println!("KAM server listening on http://{address}");
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests finish before the process exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
