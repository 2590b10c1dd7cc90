//! Headquarters' decisions, one use case each, shared by the dashboard's forms and the JSON
//! API: a re-grade approved or rejected, a conflict settled, a violation marked reviewed.
//! Each is written in one transaction, projected at once (headquarters' own pages show it
//! without waiting for the projector), and what changed is announced to devices.

use chrono::Utc;
use kam_core::Policy;
use kam_core::model::Role;

use super::regrade::{self, Decision};
use super::review;
use crate::db::Db;
use crate::error::ServerError;
use crate::services::Services;
use crate::sync::ChangedDoc;
use crate::sync::docs::DocCache;

/// Who decides: a signed-in user and their role.
#[derive(Clone, Copy, Debug)]
pub struct Decider<'a> {
    /// The user, recorded as the decision's author.
    pub user_id: &'a str,
    /// Their role, which must be allowed to decide.
    pub role: Role,
}

/// Whether `role` may decide re-grades and settle conflicts and violations.
pub fn may_decide(role: Role) -> bool {
    matches!(role, Role::Hq | Role::Admin)
}

/// Refuses with `what` unless `by` may decide; otherwise the deciding user's id.
fn decider(by: Decider<'_>, what: &str) -> Result<String, ServerError> {
    if may_decide(by.role) {
        Ok(by.user_id.to_owned())
    } else {
        Err(ServerError::Forbidden(what.into()))
    }
}

/// Decides the pending re-grade of `customer_id`, then tells devices and the projector.
pub async fn decide_regrade(
    services: &Services,
    by: Decider<'_>,
    customer_id: String,
    decision: Decision,
) -> Result<(), ServerError> {
    let by = decider(by, "re-grades are decided by headquarters")?;
    write_and_announce(services, move |tx, docs, policy| {
        regrade::decide(tx, docs, policy, &customer_id, decision, &by, Utc::now())
    })
    .await
}

/// Decides several re-grades the same way, one after another, each through
/// [`decide_regrade`] (its own transaction, audit entry and announcement): one that fails
/// (decided meanwhile, or no longer proposed) leaves the others decided. Answers each
/// customer with its outcome, in the order given; duplicates are decided once.
pub async fn decide_regrades(
    services: &Services,
    by: Decider<'_>,
    customer_ids: &[String],
    decision: Decision,
) -> Vec<(String, Result<(), ServerError>)> {
    let mut seen = std::collections::HashSet::new();
    let mut outcomes = Vec::new();
    for id in customer_ids.iter().filter(|id| seen.insert(id.as_str())) {
        let outcome = decide_regrade(services, by, id.clone(), decision).await;
        outcomes.push((id.clone(), outcome));
    }
    outcomes
}

/// Settles the conflict at `path` of `doc_id` with `value`, then tells devices and the
/// projector.
pub async fn resolve_conflict(
    services: &Services,
    by: Decider<'_>,
    doc_id: String,
    path: String,
    value: String,
) -> Result<(), ServerError> {
    let by = decider(by, "conflicts are settled by headquarters")?;
    write_and_announce(services, move |tx, docs, _| {
        review::resolve_conflict(tx, docs, &doc_id, &path, &value, &by, Utc::now()).map(Some)
    })
    .await
}

/// Marks violation `id` reviewed.
pub async fn review_violation(
    services: &Services,
    by: Decider<'_>,
    id: i64,
) -> Result<(), ServerError> {
    let by = decider(by, "violations are reviewed by headquarters")?;
    services
        .with_store(move |store| {
            store.write(|tx, _, _| review::mark_reviewed(tx, id, &by, Utc::now()))
        })
        .await
}

/// Approves the current revision of plan `plan_id` (refused with 422 and the rule's reason
/// when it may not be approved), then tells devices and the projector.
pub async fn approve_plan(
    services: &Services,
    by: Decider<'_>,
    plan_id: String,
) -> Result<(), ServerError> {
    let by = decider(by, "plans are approved by headquarters")?;
    write_and_announce(services, move |tx, docs, policy| {
        super::plans::approve(tx, docs, policy, &plan_id, &by, Utc::now()).map(Some)
    })
    .await
}

/// Evaluates one ended quarter of plan `plan_id` with the server's actuals and the
/// adjustment headquarters decided, then tells devices and the projector.
pub async fn evaluate_plan_quarter(
    services: &Services,
    by: Decider<'_>,
    plan_id: String,
    evaluation: super::plans::QuarterEvaluation,
) -> Result<(), ServerError> {
    let by = decider(by, "plans are evaluated by headquarters")?;
    write_and_announce(services, move |tx, docs, policy| {
        super::plans::evaluate(tx, docs, policy, &plan_id, &evaluation, &by, Utc::now()).map(Some)
    })
    .await
}

/// Runs `decision` in one write, projects at once (headquarters' own pages show it, not after
/// the projector), then announces the document it changed, if any, to devices and wakes the
/// projector.
pub(crate) async fn write_and_announce(
    services: &Services,
    mut decision: impl FnMut(&dyn Db, &mut DocCache, &Policy) -> Result<Option<ChangedDoc>, ServerError>
    + Send
    + 'static,
) -> Result<(), ServerError> {
    let changed = services
        .with_store(move |store| {
            let changed = store.write(&mut decision)?;
            store.project_all(Utc::now())?;
            Ok(changed)
        })
        .await?;
    if let Some(changed) = changed {
        services.push.announce(std::slice::from_ref(&changed));
        services.projector.wake();
    }
    Ok(())
}
