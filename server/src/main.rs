//! The `kam-server` command.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use kam_server::{data, routes, state::AppState};
use tracing_subscriber::EnvFilter;

/// KAM's central server.
#[derive(Debug, Parser)]
#[command(name = "kam-server", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP on the data directory's store.
    Serve {
        /// Load the demo company into an empty data directory first.
        #[arg(long)]
        demo: bool,
        /// Data directory (created if missing).
        #[arg(long, default_value = "kam-data")]
        data: PathBuf,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve { demo, data, listen } => serve(demo, data, listen).await,
    }
}

async fn serve(
    demo: bool,
    dir: PathBuf,
    listen: SocketAddr,
) -> Result<(), Box<dyn std::error::Error>> {
    let (store, loaded) = tokio::task::spawn_blocking(move || {
        let mut store = data::open_store(&dir)?;
        let loaded = if demo { data::load_demo(&mut store, chrono::Utc::now())? } else { None };
        Ok::<_, data::DataError>((store, loaded))
    })
    .await??;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    if let Some(loaded) = &loaded {
        let reps: Vec<&str> = loaded.reps.iter().map(|r| r.as_str()).collect();
        println!("Demo data loaded: {} documents; reps {}", loaded.documents, reps.join(", "));
    } else if demo {
        println!("Demo requested, but the data directory already holds data: left as it is.");
    }
    // Tests read this line to find the port; keep its shape.
    println!("KAM server listening on http://{address}");
    println!("  GET http://{address}/api/v1/summary   (counts; sign-in arrives with sync)");
    let app = routes::app(AppState::new(store));
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    tracing::info!("server stopped");
    Ok(())
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
