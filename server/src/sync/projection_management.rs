//! Projection of the management records (issue 23): scorecards, the monthly leadership
//! review and commissioning organisations. Called by `projection::project` inside its
//! savepoint, after the document's previous rows were deleted.

use chrono::{DateTime, Utc};
use kam_core::Policy;
use kam_core::doc::{DocKind, Document, read_record};
use kam_core::model::{LeadershipReview, Organisation, Scorecard};
use kam_core::rules::{self, MissingClause};

use crate::db::ManagementProjection;
use crate::db::management::InstalmentFacts;
use crate::error::ServerError;

/// Inserts the rows of a scorecard, review or organisation document; any other kind has none
/// here.
pub(crate) fn project_management(
    db: &(impl ManagementProjection + ?Sized),
    doc: &Document,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    match doc.id().kind() {
        DocKind::Scorecard => db.insert_scorecard(&read_record::<Scorecard>(doc)?)?,
        DocKind::Review => db.insert_review(&read_record::<LeadershipReview>(doc)?)?,
        DocKind::Organisation => {
            let org: Organisation = read_record(doc)?;
            let applied = apply_receipts(&org, policy, now)?;
            let missing: Vec<&str> =
                rules::agreement_missing(&org.agreement).into_iter().map(clause_code).collect();
            db.insert_organisation(&org, &missing, &applied)?;
        }
        _ => {}
    }
    Ok(())
}

/// The receipts applied to the instalments oldest due first (`rules::collection_status`),
/// with each instalment's last reminder. Only what does not depend on the day is stored.
pub(crate) fn apply_receipts<'a>(
    org: &'a Organisation,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Vec<InstalmentFacts<'a>>, ServerError> {
    let status = rules::collection_status(org, policy.business_date(now), policy)?;
    Ok(status
        .instalments
        .into_iter()
        .filter_map(|s| {
            let instalment = org.instalments.get(&s.instalment_id)?;
            Some(InstalmentFacts {
                instalment,
                received: s.received,
                outstanding: s.outstanding,
                last_reminder_on: s.last_reminder_on,
            })
        })
        .collect())
}

/// The stable code of a missing clause, as stored and as the pages look it up.
pub(crate) fn clause_code(clause: MissingClause) -> &'static str {
    match clause {
        MissingClause::BuyerList => "buyer_list",
        MissingClause::AuditCheck => "audit_check",
        MissingClause::FinanceCheck => "finance_check",
        MissingClause::LawyerCheck => "lawyer_check",
        MissingClause::SelectionPeriod => "selection_period",
        MissingClause::PaymentDate => "payment_date",
        MissingClause::RenamingRule => "renaming_rule",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use kam_core::model::{Collection, EntryId, Instalment, UserId};
    use rust_decimal::Decimal;

    fn instalment(id: &str, due: &str, amount: i64) -> Instalment {
        Instalment {
            id: EntryId::from(id),
            due_on: due.parse().unwrap(),
            amount: Decimal::new(amount, 0),
            note: String::new(),
        }
    }

    #[test]
    fn receipts_settle_the_oldest_instalment_first() {
        let mut org = crate::hq::organisations::tests_support::organisation("o1");
        for i in [instalment("b", "2026-03-01", 100), instalment("a", "2026-01-01", 100)] {
            org.instalments.insert(i.id.clone(), i);
        }
        org.collections.insert(
            EntryId::from("c1"),
            Collection {
                id: EntryId::from("c1"),
                received_on: "2026-02-01".parse().unwrap(),
                amount: Decimal::new(150, 0),
                receipt_no: "R1".into(),
                by: UserId::from("fin"),
            },
        );
        let applied = apply_receipts(&org, &Policy::default(), chrono::Utc::now()).unwrap();
        let mut got: Vec<(&str, Decimal, Decimal)> =
            applied.iter().map(|f| (f.instalment.id.as_str(), f.received, f.outstanding)).collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("a", Decimal::new(100, 0), Decimal::ZERO),
                ("b", Decimal::new(50, 0), Decimal::new(50, 0)),
            ]
        );
    }
}
