//! The business rules of RULES.md §1–4 and §7–12 as pure functions.
//!
//! No I/O and no clock: every threshold comes from a [`Policy`](crate::Policy) and the
//! current time is passed in as `now`, so the tablet and the server reach the same answer.
//! Money is [`rust_decimal::Decimal`]. Requests a rule may refuse get a typed verdict that
//! carries its reason; inputs a rule cannot take, and forbidden ticket transitions, get a
//! [`RuleError`].
//!
//! One file per concern:
//!
//! * `tier` — tier (客户分级) and purchase-amount class.
//! * `score` — the 100-point score and the forced A/B/C/D distribution.
//! * `grade_terms` — what a grade gets: price floor, payment terms, delivery, credit.
//! * `late_payment` — two late payments in a quarter drop the terms a step.
//! * `cadence` — visit cadence for strategic and A-grade customers.
//! * `ticket` — the ticket state machine and the reply SLA.
//! * `regrade` — the yearly re-grade proposal.
//! * `selection` — selection day (选房): holding a unit, pricing the work ticket, issuing the
//!   voucher.
//! * `selection_fees` — after selection: renames, the loan-switch fee, late repricing and
//!   relationship-unit (关系房) releases.
//! * `pipeline` — development leads: key-account candidates (003 二), stage changes and
//!   the pipeline's totals and win rate.
//! * `account_plan` — account plans: the owners a plan names, HQ's approval, the quarterly
//!   evaluations due and a quarter's attainment.
//! * `survey` — satisfaction surveys: a survey's score, the periodic cadence and a
//!   customer's satisfaction over the policy's window.
//! * `scorecard` — staff scorecards: eight weighted measures computed from the records, the
//!   period's dates and who may rate whom.
//! * `review` — the monthly leadership review: open measures carried to the next report.
//! * `commissioning` — commissioning organisations (委建单位): ranking, shortlist and choice,
//!   pricing aids and the one price approval, the agreement's clauses, collections and
//!   dunning.
//! * `write_permissions` — who may add, change and remove what in a synced document.

mod account_plan;
mod cadence;
mod commissioning;
mod error;
mod grade_terms;
mod late_payment;
mod pipeline;
mod regrade;
mod review;
mod score;
mod scorecard;
mod selection;
mod selection_fees;
mod survey;
mod ticket;
mod tier;
mod write_permissions;

pub use account_plan::{
    EvaluationDue, PlanRefusal, PlanStatus, QuarterAttainment, check_approval, evaluate_quarter,
    evaluations_due, missing_owners, plan_status, quarter_of, required_functions,
};
pub use cadence::{VisitDue, is_overdue, visits_due, visits_due_for};
pub use commissioning::{
    CollectionStatus, CommissioningRefusal, InstalmentStatus, MissingClause, PriceApprovalRefusal,
    RankedCandidate, agreement_missing, blind_price, check_choice, check_loan_switch,
    check_negotiation_shortlist, check_price_approval, check_signing, collection_status,
    experience_price, rank_candidates, reconciliation_gap,
};
pub use error::{RuleError, TicketRuleError};
pub use grade_terms::{
    CreditReason, CreditVerdict, DeliveryTerms, PriceRefusal, PriceVerdict, TermsRefusal,
    TermsVerdict, check_credit_limit, check_order_credit, check_payment_terms, check_price,
    delivery_terms,
};
pub use late_payment::{Quarter, TermsDowngrade, next_stricter_terms, terms_after_late_payments};
pub use pipeline::{
    CandidateVerdict, PipelineSummary, StageRefusal, StageTotal, check_stage_change,
    key_account_candidate, pipeline_summary,
};
pub use regrade::{RegradeInput, RegradeProposal, RegradeReason, propose_regrades};
pub use review::{
    CarriedMeasure, ReviewRefusal, check_close_measure, measure_overdue, month_of,
    open_measures_before,
};
pub use score::{ScoreInputs, distribute_grades, score};
pub use scorecard::{
    ScoreMeasure, ScorecardError, ScorecardInputs, check_rating, compute_scorecard, period_bounds,
};
pub use selection::{
    ApproversMissing, HoldCheck, HoldRefusal, VoucherRefusal, WorkTicketRefusal, check_hold,
    check_price_approvers, check_voucher_issue, price_work_ticket,
};
pub use selection_fees::{
    LateRepricing, LoanSwitchFeeRefusal, PaperStatus, RelationshipRefusal, RenameRefusal,
    RenameRequest, RenameVerdict, UnlistedRename, check_loan_switch_fee,
    check_relationship_release, check_rename, late_repricing, paper_due_on, paper_status,
};
pub use survey::{
    SatisfactionFactor, SurveyDue, SurveyRefusal, satisfaction_factor, survey_due,
    survey_interval_months, survey_score,
};
pub use ticket::{
    SlaState, allowed_transitions, check_service_owner, check_transition, reply_due_at, reply_sla,
};
pub use tier::{
    PurchaseClass, TierDecision, TierReason, is_strategic, purchase_class_for, tier_for,
};
pub use write_permissions::{
    DocPart, Role, Write, WriteContext, WriteRule, check_write, open_to_everyone,
};
