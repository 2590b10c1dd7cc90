//! Administrative actions behind `kam-server admin …` and the dashboard's admin pages: users,
//! devices, customer handover, event assignment and the sales import. Each runs in one
//! transaction on the data directory (safe while the server runs: SQLite serialises the
//! writers, and the server re-checks each cached document against its row) and is written to
//! the audit log under its `actor`: [`ADMIN_ACTOR`] from the command line, the signed-in
//! user's id from the dashboard.

use chrono::{DateTime, Utc};
use kam_core::doc::{CustomerEdit, EditMeta, customer_doc_id, edit_customer, read_customer};
use kam_core::model::{CustomerId, UserId};
use serde_json::json;

use crate::audit;
use crate::auth::{self, Enrolment, Role};
use crate::error::ServerError;
use crate::store::{Store, commit_doc};
use crate::sync::scope;

/// Who runs admin commands, as recorded in the audit log.
pub const ADMIN_ACTOR: &str = "admin-cli";

/// Creates a user.
pub fn add_user(
    store: &mut Store,
    actor: &str,
    user_id: &str,
    name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    store.write(|tx, _, _| {
        auth::create_user(tx, user_id, name, role, now)?;
        audit::log(tx, now, actor, "user.create", user_id, &json!({ "role": role.as_str() }))
    })
}

/// Changes a user's role; answers the role before. The last active administrator keeps the
/// role, so the company can always be administered from the dashboard.
pub fn set_role(
    store: &mut Store,
    actor: &str,
    user_id: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<Role, ServerError> {
    store.write(|tx, _, _| {
        let users = tx.users()?;
        let user = users.iter().find(|u| u.user_id == user_id).ok_or(ServerError::NotFound)?;
        let before = user.role;
        let admins = users.iter().filter(|u| u.role == Role::Admin && u.disabled_at.is_none());
        if before == Role::Admin && role != Role::Admin && admins.count() <= 1 {
            return Err(ServerError::Conflict(format!(
                "{user_id} is the last administrator and keeps the role"
            )));
        }
        tx.set_user_role(user_id, role)?;
        let detail = json!({ "from": before.as_str(), "to": role.as_str() });
        audit::log(tx, now, actor, "user.role", user_id, &detail)?;
        Ok(before)
    })
}

/// Checks a new password against the length rule and hashes it (Argon2id, full cost): slow
/// on purpose, so callers run it before taking the store, then [`set_password_hash`].
pub fn hash_new_password(password: &str) -> Result<String, ServerError> {
    crate::passwords::check_new_password(password)?;
    crate::passwords::hash_password(password)
}

/// Sets a user's dashboard password from its hash ([`hash_new_password`]); audited without
/// the password or its hash.
pub fn set_password_hash(
    store: &mut Store,
    actor: &str,
    user_id: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    store.write(|tx, _, _| {
        crate::passwords::set_password_hash(tx, user_id, hash)?;
        audit::log(tx, now, actor, "user.password", user_id, &json!({}))
    })
}

/// Imports the ERP's monthly sales CSV (`sales_ledger::import_csv`, all lines or none) and
/// records the import in the audit log.
pub fn import_sales(
    store: &mut Store,
    actor: &str,
    csv: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<crate::sales_ledger::ImportReport, ServerError> {
    store.write(|tx, _, _| {
        let report = crate::sales_ledger::import_csv(tx, csv, source, now)?;
        let detail = serde_json::to_value(&report).unwrap_or_default();
        audit::log(tx, now, actor, "sales.import", source, &detail)?;
        Ok(report)
    })
}

/// Enrols a device for a user; the token in the answer is shown once and never again.
pub fn enroll(
    store: &mut Store,
    actor: &str,
    user_id: &str,
    label: &str,
    now: DateTime<Utc>,
) -> Result<Enrolment, ServerError> {
    store.write(|tx, _, _| {
        let enrolment = auth::enroll_device(tx, user_id, label, now)?;
        audit::log(
            tx,
            now,
            actor,
            "device.enroll",
            &enrolment.device_id,
            &json!({ "user": user_id }),
        )?;
        Ok(enrolment)
    })
}

/// Revokes a device; its token is refused from the next request on. Its open streams end when
/// the server notices (the credential watcher, `http::edge::epoch`; the dashboard also moves
/// the auth epoch itself).
pub fn revoke(
    store: &mut Store,
    actor: &str,
    device_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, ServerError> {
    store.write(|tx, _, _| {
        let revoked = auth::revoke_device(tx, device_id, now)?;
        audit::log(tx, now, actor, "device.revoke", device_id, &json!({ "was_active": revoked }))?;
        Ok(revoked)
    })
}

/// Releases a device's installation binding (ADR 0022), after the device was reinstalled
/// without its data: the next installation that syncs with the token binds it. Returns the
/// installation it was bound to, if any.
pub fn release_installation(
    store: &mut Store,
    actor: &str,
    device_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, ServerError> {
    store.write(|tx, _, _| {
        let released = auth::release_installation(tx, device_id)?;
        audit::log(
            tx,
            now,
            actor,
            "device.release_installation",
            device_id,
            &json!({ "installation": released }),
        )?;
        Ok(released)
    })
}

/// What a handover did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Handover {
    /// The customer.
    pub customer_id: String,
    /// The owners before.
    pub from: Vec<String>,
    /// The owner now.
    pub to: String,
}

/// Opens the selection desk of `event_id` (see `desk::catalog`).
pub fn open_desk(
    store: &mut Store,
    event_id: &str,
    voucher_series: u32,
    now: DateTime<Utc>,
) -> Result<crate::desk::catalog::OpenedDesk, ServerError> {
    let opened = store.open_desk(event_id, voucher_series, now)?;
    store.write(|tx, _, _| {
        audit::log(
            tx,
            now,
            ADMIN_ACTOR,
            "desk.open",
            event_id,
            &serde_json::to_value(&opened).unwrap_or_default(),
        )
    })?;
    Ok(opened)
}

/// Hands a customer (with its tickets) over to another rep: the document's owners change in
/// one server commit, the new rep is granted the customer and the previous owners lose it, so
/// their devices purge it on their next round.
pub fn handover(
    store: &mut Store,
    actor: &str,
    customer_id: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<Handover, ServerError> {
    store.write(|tx, docs, _| {
        if auth::user_role(tx, to)? != Some(Role::Rep) {
            return Err(ServerError::Invalid {
                field: "to",
                reason: format!("{to} is not an active rep"),
            });
        }
        let id = customer_doc_id(&CustomerId::from(customer_id));
        let doc = docs.get(tx, &id, false)?.ok_or(ServerError::NotFound)?;
        let from: Vec<String> = read_customer(doc)?.owners.iter().map(|o| o.to_string()).collect();
        let heads_before = doc.heads();
        let meta = EditMeta::new(&UserId::from(actor), now, "customer.handover");
        edit_customer(doc, &CustomerEdit::SetOwners(vec![UserId::from(to)]), &meta)?;
        commit_doc(tx, docs, &id, &heads_before, now)?;
        let key = format!("customer/{customer_id}");
        for old in from.iter().filter(|o| o.as_str() != to) {
            scope::revoke(tx, old, &key)?;
        }
        scope::grant(tx, to, &key)?;
        audit::log(tx, now, actor, "customer.handover", &key, &json!({ "from": from, "to": to }))?;
        Ok(Handover { customer_id: customer_id.to_owned(), from, to: to.to_owned() })
    })
}

/// Grants an event (and its project) to an event-staff or venue user.
pub fn assign_event(
    store: &mut Store,
    actor: &str,
    event_id: &str,
    project_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    store.write(|tx, _, _| {
        scope::grant(tx, user_id, &format!("event/{event_id}"))?;
        scope::grant(tx, user_id, &format!("project/{project_id}"))?;
        audit::log(tx, now, actor, "event.assign", event_id, &json!({ "user": user_id }))
    })
}

/// Lends an event's desk to a venue server for `lease_hours` (ADR 0021), audited.
pub fn delegate(
    store: &mut Store,
    event_id: &str,
    venue_device: &str,
    lease_hours: i64,
    now: DateTime<Utc>,
) -> Result<crate::desk::delegation::lend::Lent, ServerError> {
    use crate::desk::delegation::lend::{LendRequest, lend};
    let Some(lease_until) = now.checked_add_signed(chrono::Duration::hours(lease_hours)) else {
        let reason = format!("a lease of {lease_hours} hours ends beyond the calendar");
        return Err(ServerError::Invalid { field: "lease_hours", reason });
    };
    let request = LendRequest {
        event_id: event_id.to_owned(),
        venue_device_id: venue_device.to_owned(),
        lease_until,
        actor: ADMIN_ACTOR.to_owned(),
    };
    let lent = store.delegation_step(|tx, server, tip| lend(tx, server, tip, &request, now))?;
    store.write(|tx, _, _| {
        crate::hq::events::audit_delegation(tx, now, ADMIN_ACTOR, venue_device, &lent)
    })?;
    Ok(lent)
}

/// Runs one delegation step from the command line and records it in the audit log under
/// `action` (ADR 0021): the step and its audit row are two commits, the desk's and the
/// server's, as every desk decision the command line takes.
pub fn delegation_step_audited<T>(
    store: &mut Store,
    (action, target): (&str, &str),
    now: DateTime<Utc>,
    mut step: impl FnMut(
        &dyn crate::db::desk::DeskGroup,
        &mut crate::desk::ledger::Tip,
    ) -> Result<T, crate::desk::delegation::DelegationError>,
    summary: impl FnOnce(&T) -> serde_json::Value,
) -> Result<T, ServerError> {
    let done = store.delegation_step(|tx, _, tip| step(tx, tip))?;
    let detail = summary(&done);
    store.write(|tx, _, _| audit::log(tx, now, ADMIN_ACTOR, action, target, &detail))?;
    Ok(done)
}

/// Computes and publishes the scorecard of every active rep for `period` (`YYYY-MM` or
/// `YYYY`), each from the server's records, in one transaction; answers the reps published.
pub fn publish_scorecards(
    store: &mut Store,
    period: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, ServerError> {
    let reps = store.write(|tx, docs, policy| {
        let reps = tx.active_reps()?;
        for rep in &reps {
            crate::hq::scorecards::publish_in(tx, docs, policy, rep, period, ADMIN_ACTOR, now)?;
        }
        audit::log(
            tx,
            now,
            ADMIN_ACTOR,
            "scorecard.publish_all",
            period,
            &json!({ "reps": reps }),
        )?;
        Ok(reps)
    })?;
    store.project_all(now)?;
    Ok(reps)
}
