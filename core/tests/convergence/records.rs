//! The account-management records in the convergence property: creating each kind and one
//! user action per edit, chosen by `value`, through the replica's generic record API.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use kam_core::doc::{
    ChoiceApprover, DocKind, LeadEdit, OrganisationEdit, PlanEdit, ReviewEdit, ScorecardEdit,
    SurveyEdit,
};
use kam_core::model::*;
use kam_core::replica::ReplicaError;
use rust_decimal::Decimal;

use super::Node;

fn day(n: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(n % 300)
}

/// Creates a record of `kind` on `node` (a review or scorecard id may exist already there:
/// then nothing is created, as a user would open the existing one).
pub(super) fn create(node: &mut Node, kind: DocKind, customer: &CustomerId, n: u64) {
    let meta = node.meta("record.create");
    let user = node.user.clone();
    let result = match kind {
        DocKind::Lead => node.r().create_record(
            &Lead {
                id: LeadId(format!("l-{n}")),
                customer_id: customer.clone(),
                title: format!("lead {n}"),
                identified_by: user.clone(),
                identified_at: meta.at,
                owner: user,
                criteria: LeadCriteria {
                    expected_annual_purchase: Some(Decimal::from(1_000_000 + n)),
                    ..Default::default()
                },
                expected_value: Decimal::from(n * 1000),
                stage: LeadStage::MarketResearch,
                history: BTreeMap::new(),
            },
            &meta,
        ),
        DocKind::Plan => node.r().create_record(
            &AccountPlan {
                id: plan_id(customer, 2026 + (n % 3) as i32),
                customer_id: customer.clone(),
                year: 2026,
                year_goals: PlanGoals::default(),
                quarter_goals: BTreeMap::new(),
                owners: BTreeMap::from([(PlanFunction::AccountManager, user)]),
                sales_strategy: String::new(),
                service_plan: String::new(),
                revision: 0,
                approval: None,
                evaluations: BTreeMap::new(),
            },
            &meta,
        ),
        DocKind::Survey => node.r().create_record(
            &Survey {
                id: SurveyId(format!("s-{n}")),
                customer_id: customer.clone(),
                kind: SurveyKind::Periodic,
                ticket_id: None,
                taken_at: meta.at,
                taken_by: user,
                respondent: "王经理".into(),
                items: BTreeMap::from([(SurveyItem::Overall, (n % 101) as u8)]),
                comments: String::new(),
            },
            &meta,
        ),
        DocKind::Scorecard => node.r().create_record(
            &Scorecard {
                id: scorecard_id(&UserId::from("rep-a"), &format!("2026-{:02}", n % 12 + 1)),
                person: UserId::from("rep-a"),
                period: format!("2026-{:02}", n % 12 + 1),
                sales_target: Decimal::from(n),
                ratings: BTreeMap::new(),
                published: None,
            },
            &meta,
        ),
        DocKind::Review => node.r().create_record(
            &LeadershipReview {
                id: ReviewId(format!("2026-{:02}", n % 12 + 1)),
                held_on: day(n),
                attendees: BTreeMap::from([(user, "张总".to_owned())]),
                findings: BTreeMap::new(),
                measures: BTreeMap::new(),
            },
            &meta,
        ),
        _ => node.r().create_record(
            &Organisation {
                id: OrganisationId(format!("o-{n}")),
                project_id: ProjectId::from("p1"),
                name: format!("单位 {n}"),
                analysis: OrganisationAnalysis::default(),
                offer: CandidateOffer::default(),
                status: OrganisationStatus::Candidate,
                approved_by_gm: None,
                approved_by_chairman: None,
                price: None,
                agreement: Agreement::default(),
                instalments: BTreeMap::new(),
                collections: BTreeMap::new(),
                reconciliations: BTreeMap::new(),
                reminders: BTreeMap::new(),
                loan_switches: BTreeMap::new(),
            },
            &meta,
        ),
    };
    match result {
        Ok(_) | Err(ReplicaError::AlreadyExists(_)) => {}
        Err(other) => panic!("create {kind}: {other}"),
    }
}

/// One user action on the record `entity` of `kind`.
pub(super) fn edit(
    node: &mut Node,
    kind: DocKind,
    entity: &str,
    value: usize,
    n: u64,
) -> Result<(), ReplicaError> {
    let meta = node.meta("record.edit");
    let by = node.user.clone();
    let entry = EntryId(format!("e-{n}"));
    let r = node.r();
    match kind {
        DocKind::Lead => {
            let lead: Lead = r.record(entity)?;
            let edit = if value.is_multiple_of(2) {
                LeadEdit::ChangeStage(StageChange {
                    id: entry,
                    from: lead.stage,
                    to: LeadStage::ALL[value % LeadStage::ALL.len()],
                    at: meta.at,
                    by,
                    learned: format!("learned {n}"),
                    lost_reason: None,
                })
            } else {
                LeadEdit::UpdateDetails {
                    title: format!("lead {n}"),
                    owner: by,
                    criteria: lead.criteria,
                    expected_value: Decimal::from(value * 100),
                }
            };
            r.edit_record(entity, &edit, &meta).map(drop)
        }
        DocKind::Plan => {
            let plan: AccountPlan = r.record(entity)?;
            let edit = match value % 3 {
                0 => PlanEdit::SetContent {
                    year_goals: PlanGoals {
                        sales: Decimal::from(value * 1000),
                        ..Default::default()
                    },
                    quarter_goals: BTreeMap::from([((value % 4 + 1) as u8, PlanGoals::default())]),
                    owners: plan.owners,
                    sales_strategy: format!("strategy {n}"),
                    service_plan: plan.service_plan,
                },
                1 => PlanEdit::Approve(PlanApproval { by, at: meta.at, revision: plan.revision }),
                _ => PlanEdit::Evaluate(PlanEvaluation {
                    quarter: (value % 4 + 1) as u8,
                    actuals: PlanActuals { sales: Decimal::from(n), ..Default::default() },
                    adjustment: format!("adjust {n}"),
                    by,
                    at: meta.at,
                }),
            };
            r.edit_record(entity, &edit, &meta).map(drop)
        }
        DocKind::Survey => {
            let edit = SurveyEdit::Amend {
                respondent: format!("respondent {value}"),
                items: BTreeMap::from([
                    (SurveyItem::Overall, (value * 7 % 101) as u8),
                    (SurveyItem::ALL[value % SurveyItem::ALL.len()], (n % 101) as u8),
                ]),
                comments: format!("comment {n}"),
            };
            r.edit_record(entity, &edit, &meta).map(drop)
        }
        DocKind::Scorecard => {
            let card: Scorecard = r.record(entity)?;
            let edit = match (value % 3, card.ratings.keys().next()) {
                (0, _) => ScorecardEdit::SetTarget(Decimal::from(value * 10_000)),
                (1, Some(first)) => ScorecardEdit::RemoveRating(first.clone()),
                _ => ScorecardEdit::AddRating(Rating {
                    id: entry,
                    rater: RaterKind::ALL[value % RaterKind::ALL.len()],
                    by,
                    score: (value * 6 % 101) as u8,
                    at: meta.at,
                    note: String::new(),
                }),
            };
            r.edit_record(entity, &edit, &meta).map(drop)
        }
        DocKind::Review => {
            let review: LeadershipReview = r.record(entity)?;
            let open = review.measures.values().find(|m| m.closed.is_none()).map(|m| m.id.clone());
            let edit = match (value % 3, open) {
                (0, Some(id)) => ReviewEdit::CloseMeasure {
                    id,
                    closing: MeasureClosing { by, at: meta.at, note: format!("done {n}") },
                },
                (1, _) => ReviewEdit::AddFinding(Finding {
                    id: entry,
                    customer_id: CustomerId::from("c-any"),
                    kind: FindingKind::ALL[value % FindingKind::ALL.len()],
                    text: format!("finding {n}"),
                }),
                _ => ReviewEdit::AddMeasure(Measure {
                    id: entry,
                    customer_id: None,
                    text: format!("measure {n}"),
                    owner: by,
                    due_on: day(n),
                    closed: None,
                }),
            };
            r.edit_record(entity, &edit, &meta).map(drop)
        }
        _ => {
            let edit = match value % 4 {
                0 => OrganisationEdit::RecordCollection(Collection {
                    id: entry,
                    received_on: day(n),
                    amount: Decimal::from(value * 1000 + 1),
                    receipt_no: format!("R{n}"),
                    by,
                }),
                1 => OrganisationEdit::ApproveChoice {
                    approver: if value % 8 == 1 {
                        ChoiceApprover::GeneralManager
                    } else {
                        ChoiceApprover::Chairman
                    },
                    signoff: Signoff { by, at: meta.at },
                },
                2 => OrganisationEdit::SetStatus(
                    OrganisationStatus::ALL[value % OrganisationStatus::ALL.len()],
                ),
                _ => OrganisationEdit::PutInstalment(Instalment {
                    id: entry,
                    due_on: day(n),
                    amount: Decimal::from(value * 5000 + 1),
                    note: String::new(),
                }),
            };
            r.edit_record(entity, &edit, &meta).map(drop)
        }
    }
}

/// The record in comparable form.
pub(super) fn read(node: &mut Node, kind: DocKind, entity: &str) -> String {
    let r = node.r();
    match kind {
        DocKind::Lead => format!("{:?}", r.record::<Lead>(entity).ok()),
        DocKind::Plan => format!("{:?}", r.record::<AccountPlan>(entity).ok()),
        DocKind::Survey => format!("{:?}", r.record::<Survey>(entity).ok()),
        DocKind::Scorecard => format!("{:?}", r.record::<Scorecard>(entity).ok()),
        DocKind::Review => format!("{:?}", r.record::<LeadershipReview>(entity).ok()),
        _ => format!("{:?}", r.record::<Organisation>(entity).ok()),
    }
}
