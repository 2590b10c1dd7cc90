//! The venue server's uplink to central (ADR 0021): it takes the desk central lends it, then
//! ships its ledger segment upstream for as long as it runs — batched, resumable (each batch
//! starts after what central acknowledged), idempotent by sequence — and the final batch of a
//! hand-back. While the uplink is down nothing waits on it: the desk serves from the venue's
//! own store, and the uplink retries with a bounded backoff.

use std::time::Duration;

use serde::de::DeserializeOwned;

use chrono::Utc;
use kam_core::sync_client::http::INSTALLATION_HEADER;
use kam_core::wire::SyncResponse;

use super::edge;
use super::wire::{Ack, Offer, Recovery};
use crate::error::ServerError;
use crate::health::Beat;
use crate::services::Services;
use crate::sync::upstream::{self, RelaySession};

/// How long connecting to central may take: a venue whose uplink is down learns it fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one exchange may take end to end (a batch is at most a few megabytes).
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest wait between failed rounds: short, since a round against an unreachable
/// central costs one connection attempt, and the venue's lag ends as soon as the line is back.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How often an idle uplink looks for work (new entries wake it sooner).
const IDLE_POLL: Duration = Duration::from_secs(1);
/// The largest answer read from central (an offer carries a whole event).
const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;

/// Central's answer to `GET /api/v1/venue/offer`.
#[derive(serde::Deserialize)]
struct OfferAnswer {
    offer: Option<Offer>,
}

/// Where central is and how the venue proves who it is.
#[derive(Clone)]
pub struct Upstream {
    /// Central's base URL.
    pub url: String,
    /// The venue device's token.
    pub token: String,
    /// The venue's own installation id (ADR 0022), sent with every request so central binds
    /// the venue's device to this venue: kept in the venue's settings, so a copy restarted
    /// from `--copy-dir` keeps it (it continues the same venue). Read when the server starts
    /// ([`upstream::venue_installation`]).
    pub installation: String,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token stays out of logs.
        f.debug_struct("Upstream").field("url", &self.url).finish_non_exhaustive()
    }
}

/// What one round did.
#[derive(Debug, PartialEq, Eq)]
enum Round {
    /// It moved something; the next round runs at once.
    Moved,
    /// Nothing to do.
    Idle,
}

/// Why a round failed.
#[derive(Debug, thiserror::Error)]
enum UplinkError {
    #[error("central is unreachable: {0}")]
    Network(String),
    #[error("central refused ({status}): {body}")]
    Refused { status: u16, body: String },
    #[error(transparent)]
    Server(#[from] ServerError),
}

/// Runs the uplink until the process ends.
pub async fn run(services: Services, upstream: Upstream, beat: Beat) {
    let agent = agent();
    let mut backoff = Duration::from_millis(250);
    let mut moves = services.desk.as_ref().map(crate::desk::Desk::moves);
    let mut relay = RelaySession::default();
    loop {
        let outcome = {
            let _busy = beat.busy();
            match round(&services, &agent, &upstream).await {
                // Nothing left to ship: the documents' turn.
                Ok(Round::Idle) => relay_round(&services, &agent, &upstream, &mut relay).await,
                other => other,
            }
        };
        match outcome {
            Ok(Round::Moved) => backoff = Duration::from_millis(250),
            Ok(Round::Idle) => {
                backoff = Duration::from_millis(250);
                wait_for_work(&mut moves).await;
            }
            Err(error) => {
                beat.failed();
                services.metrics.venue_uplink_failures.inc();
                tracing::warn!(%error, "venue uplink round failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Waits until the desk commits something or a second passes.
async fn wait_for_work(moves: &mut Option<tokio::sync::watch::Receiver<u64>>) {
    match moves {
        Some(moves) => {
            let _ = tokio::time::timeout(IDLE_POLL, moves.changed()).await;
        }
        None => tokio::time::sleep(IDLE_POLL).await,
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(EXCHANGE_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// One round: take the offered desk if none is held, else ship the next batch.
async fn round(
    services: &Services,
    agent: &ureq::Agent,
    upstream: &Upstream,
) -> Result<Round, UplinkError> {
    let desk = services.desk.clone().ok_or(ServerError::NotFound)?;
    let held = services.readers().read(|c| Ok::<_, ServerError>(edge::held(c.desk())?)).await?;
    if held.is_none() {
        let Some(offer) = get_offer(agent, upstream).await? else { return Ok(Round::Idle) };
        take_offer(services, &desk, offer).await?;
        return Ok(Round::Moved);
    }
    let copy = services.readers().read(|c| Ok::<_, ServerError>(c.desk().copy_mark()?)).await?;
    if copy.is_some() {
        return recover(services, &desk, agent, upstream).await;
    }
    let next =
        services.readers().read(|c| Ok::<_, ServerError>(edge::next_shipment(c.desk())?)).await?;
    let Some(shipment) = next else { return Ok(Round::Idle) };
    let event_id = shipment.event_id.clone();
    let ack: Ack = post_json(agent, upstream, "/api/v1/venue/segment", &shipment).await?;
    let answered = desk
        .run(move |tx, _, _, now| edge::acknowledged(tx, &event_id, &ack, now))
        .await
        .ok_or_else(|| ServerError::Unavailable("the desk did not take the ack".into()))?;
    answered.map_err(ServerError::from)?;
    let status = services.readers().read(|c| Ok::<_, ServerError>(edge::status(c.desk())?)).await?;
    if let Some(status) = status {
        services.metrics.venue_unshipped.set(status.unshipped);
    }
    Ok(Round::Moved)
}

/// One round of the document relay (`sync::upstream`): the venue's changed event and project
/// documents to central, central's news into the venue's store for its tablets.
async fn relay_round(
    services: &Services,
    agent: &ureq::Agent,
    upstream: &Upstream,
    relay: &mut RelaySession,
) -> Result<Round, UplinkError> {
    let session = std::mem::take(relay);
    let (request, session) = services
        .with_store(move |store| {
            let mut session = session;
            Ok((upstream::next_request(store, &mut session)?, session))
        })
        .await?;
    let body = request.request.encode().map_err(|e| ServerError::Corrupt(e.to_string()))?;
    // A failed exchange drops the session: the next round resumes from the stored states.
    let answer = post_sync(agent, upstream, body).await?;
    let answer = SyncResponse::decode(&answer).map_err(|e| UplinkError::Refused {
        status: 200,
        body: format!("unreadable answer: {e}"),
    })?;
    let (relayed, session) = services
        .with_store(move |store| {
            let mut session = session;
            let relayed =
                upstream::apply_answer(store, &mut session, &request, &answer, Utc::now())?;
            Ok((relayed, session))
        })
        .await?;
    *relay = session;
    if !relayed.changed.is_empty() {
        services.push.announce(&relayed.changed);
        services.projector.wake();
    }
    Ok(if relayed.quiet { Round::Idle } else { Round::Moved })
}

/// A venue restarted from its second copy: compare with what central holds, take back what
/// the copy lost, and only then serve again (ADR 0021).
async fn recover(
    services: &Services,
    desk: &crate::desk::Desk,
    agent: &ureq::Agent,
    upstream: &Upstream,
) -> Result<Round, UplinkError> {
    let tip = services.readers().read(|c| crate::desk::ledger::tip(c.desk())).await?;
    let body = serde_json::json!({ "after": tip.seq });
    let recovery: Recovery = post_json(agent, upstream, "/api/v1/venue/recover", &body).await?;
    let taken = desk
        .run(move |tx, _, tip, _| edge::recover(tx, tip, &recovery))
        .await
        .ok_or_else(|| ServerError::Unavailable("the desk did not take the recovery".into()))?;
    let entries = taken.map_err(ServerError::from)?;
    tracing::info!(entries, "venue copy compared with central");
    Ok(Round::Moved)
}

/// Writes the offered people into the server's file and the desk into the desk's.
async fn take_offer(
    services: &Services,
    desk: &crate::desk::Desk,
    offer: Offer,
) -> Result<(), UplinkError> {
    let people = offer.people.clone();
    services.with_store(move |store| store.transaction(|db| Ok(db.apply_people(&people)?))).await?;
    let (event, generation) = (offer.event_id.clone(), offer.generation);
    let taken = desk
        .run(move |tx, _, tip, now| edge::accept(tx, tip, &offer, now))
        .await
        .ok_or_else(|| ServerError::Unavailable("the desk did not take the offer".into()))?;
    taken.map_err(ServerError::from)?;
    tracing::info!(event = %event, generation, "venue took the event's desk");
    Ok(())
}

async fn get_offer(agent: &ureq::Agent, up: &Upstream) -> Result<Option<Offer>, UplinkError> {
    let (agent, url, [auth, installation]) =
        (agent.clone(), endpoint(up, "/api/v1/venue/offer"), headers(up));
    tokio::task::spawn_blocking(move || {
        let mut response = agent
            .get(&url)
            .header(auth.0, &auth.1)
            .header(installation.0, &installation.1)
            .call()
            .map_err(|e| UplinkError::Network(e.to_string()))?;
        match response.status().as_u16() {
            200 => read_json::<OfferAnswer>(response.body_mut()).map(|a| a.offer),
            status => Err(refused(status, response.body_mut())),
        }
    })
    .await
    .map_err(ServerError::from)?
}

async fn post_json<T: DeserializeOwned + Send + 'static>(
    agent: &ureq::Agent,
    up: &Upstream,
    path: &str,
    body: &impl serde::Serialize,
) -> Result<T, UplinkError> {
    let bytes = serde_json::to_vec(body).map_err(|e| ServerError::Corrupt(e.to_string()))?;
    let (agent, url, [auth, installation]) = (agent.clone(), endpoint(up, path), headers(up));
    tokio::task::spawn_blocking(move || {
        let mut response = agent
            .post(&url)
            .header(auth.0, &auth.1)
            .header(installation.0, &installation.1)
            .header("Content-Type", "application/json")
            .send(&bytes[..])
            .map_err(|e| UplinkError::Network(e.to_string()))?;
        match response.status().as_u16() {
            200 => read_json(response.body_mut()),
            status => Err(refused(status, response.body_mut())),
        }
    })
    .await
    .map_err(ServerError::from)?
}

async fn post_sync(
    agent: &ureq::Agent,
    up: &Upstream,
    body: Vec<u8>,
) -> Result<Vec<u8>, UplinkError> {
    let (agent, url, [auth, installation]) =
        (agent.clone(), endpoint(up, "/api/v1/sync"), headers(up));
    tokio::task::spawn_blocking(move || {
        let mut response = agent
            .post(&url)
            .header(auth.0, &auth.1)
            .header(installation.0, &installation.1)
            .header("Content-Type", kam_core::wire::WIRE_CONTENT_TYPE)
            .send(&body[..])
            .map_err(|e| UplinkError::Network(e.to_string()))?;
        match response.status().as_u16() {
            200 => response
                .body_mut()
                .with_config()
                .limit(MAX_ANSWER_BYTES)
                .read_to_vec()
                .map_err(|e| UplinkError::Network(e.to_string())),
            status => Err(refused(status, response.body_mut())),
        }
    })
    .await
    .map_err(ServerError::from)?
}

fn read_json<T: DeserializeOwned>(body: &mut ureq::Body) -> Result<T, UplinkError> {
    let bytes = body
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()
        .map_err(|e| UplinkError::Network(e.to_string()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| UplinkError::Refused { status: 200, body: format!("unreadable answer: {e}") })
}

fn refused(status: u16, body: &mut ureq::Body) -> UplinkError {
    let text = body.with_config().limit(64 * 1024).read_to_string().unwrap_or_default();
    UplinkError::Refused { status, body: text }
}

fn endpoint(up: &Upstream, path: &str) -> String {
    format!("{}{path}", up.url.trim_end_matches('/'))
}

fn bearer(up: &Upstream) -> String {
    format!("Bearer {}", up.token)
}

/// The headers every request to central carries: the token and the venue's installation.
fn headers(up: &Upstream) -> [(&'static str, String); 2] {
    [("Authorization", bearer(up)), (INSTALLATION_HEADER, up.installation.clone())]
}
