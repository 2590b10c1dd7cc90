//! Who may add, change and remove what in a synced document (DESIGN §5, ADR 0015).
//!
//! A document is cut into parts: field groups (a customer's credit terms, a ticket's details)
//! and entity collections (visits, replies, units, buyers). For every part this matrix says
//! which roles may add an entity, change one and remove one. The server compensates every
//! write of a device's merge that the matrix refuses, naming the refusing rule's stable code
//! in the violation it records; a tablet can ask the same question before it syncs.
//!
//! The matrix answers for people who can see the document at all: scope (the server's grants)
//! decides that first, so "everyone" here means everyone who sees the document. Writes the
//! server makes itself (the desk's mirror, compensations, headquarters' decisions taken on the
//! server) are not judged here. Some parts carry a rule of their own besides the matrix: a
//! ticket's status moves only along its state machine (`rules::allowed_transitions`).

use std::fmt;

pub use crate::model::Role;

/// Finance, headquarters or an administrator: the back office.
fn is_back_office(role: Role) -> bool {
    matches!(role, Role::Finance | Role::Hq | Role::Admin)
}

/// Headquarters or an administrator.
fn is_hq(role: Role) -> bool {
    matches!(role, Role::Hq | Role::Admin)
}

/// What a write does to an entity, or to a field group (which is always there, so it is only
/// ever changed, except a ticket's closing evidence, which can be absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Write {
    /// An entity (or a field group's value) that was not there before.
    Add,
    /// An entity or field group that was there and now holds other values.
    Change,
    /// An entity (or a field group's value) that was there and is gone.
    Remove,
}

impl Write {
    /// Every kind of write.
    pub const ALL: [Write; 3] = [Write::Add, Write::Change, Write::Remove];

    /// The write that takes `before` to `after`, or `None` when nothing changed.
    pub fn between<T: PartialEq>(before: Option<&T>, after: Option<&T>) -> Option<Write> {
        match (before, after) {
            (None, Some(_)) => Some(Write::Add),
            (Some(_), None) => Some(Write::Remove),
            (Some(b), Some(a)) if b != a => Some(Write::Change),
            _ => None,
        }
    }
}

/// A field group or entity collection of a document: the unit the matrix decides on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocPart {
    /// Fields a document fixes when it is created: its kind and id (its address), a
    /// customer's creation time, a ticket's customer, kind of request, opening time and opener.
    Fixed,
    /// A customer's name, industry, region, address, leading-brand flag and notes.
    Profile,
    /// A customer's profit contribution.
    ProfitContribution,
    /// A customer's sales per year (they drive the tier proposal).
    AnnualSales,
    /// The reps a customer is assigned to.
    Owners,
    /// A customer's tier, grade and score.
    Classification,
    /// A customer's credit grade, limit and payment terms.
    Credit,
    /// A customer's contact people.
    Contacts,
    /// A customer's visit records (the evidence of the visit cadence).
    Visits,
    /// A customer's late payments (they drive the payment-terms downgrade).
    LatePayments,
    /// A ticket's title, description, priority and service owner.
    TicketDetails,
    /// A ticket's status and the history of its transitions.
    StatusHistory,
    /// A ticket's replies to the customer (the evidence of the 24-hour reply).
    Replies,
    /// A ticket's verified preventive action and follow-up call (what closing requires).
    ClosingEvidence,
    /// A project's name.
    ProjectName,
    /// A project's buildings.
    Buildings,
    /// A project's units, as entities: adding one, removing one.
    Units,
    /// A unit's building, floor and layout.
    UnitFacts,
    /// A unit's code and area: what a selection desk prints on the work ticket and charges by.
    UnitSaleFacts,
    /// A unit's approved price and its approval.
    UnitPrice,
    /// A unit's status (available, held, sold, withdrawn).
    UnitStatus,
    /// An event's name and start.
    EventDetails,
    /// The project whose units an event offers.
    EventProject,
    /// The units allotted to an event.
    Allotments,
    /// An event's queue mode.
    Mode,
    /// The number an event's desk has called (叫号).
    Queue,
    /// An event's approved buyer list with its lottery order.
    Buyers,
    /// A lead's title, owner, criteria and expected value.
    LeadDetails,
    /// A lead's current stage.
    LeadStage,
    /// A lead's stage changes (the record of its development).
    LeadHistory,
    /// A plan's goals, owners, strategy, service plan and revision.
    PlanContent,
    /// A plan's approval.
    PlanApproval,
    /// A plan's quarterly evaluations.
    PlanEvaluations,
    /// A survey's answers, respondent and comments.
    SurveyAnswers,
    /// A scorecard's sales target.
    ScorecardTarget,
    /// A scorecard's ratings (supervisor, peers, customers).
    Ratings,
    /// A scorecard's published figures.
    ScorecardFigures,
    /// A leadership review's date, attendees and findings.
    ReviewMinutes,
    /// A leadership review's measures.
    Measures,
    /// A commissioning organisation's name, analysis, offer and status.
    OrganisationProfile,
    /// The GM's and the chairman's approval of the choice.
    ChoiceApprovals,
    /// An organisation's one price approval.
    OrganisationPrice,
    /// The agreement's clauses and signing.
    Agreement,
    /// The amounts due under the contract.
    Instalments,
    /// Money received, finance's reconciliations and loan-switch fees.
    Collections,
    /// Dunning reminders.
    Reminders,
}

impl DocPart {
    /// Every part, in matrix order.
    pub const ALL: [DocPart; 46] = [
        DocPart::Fixed,
        DocPart::Profile,
        DocPart::ProfitContribution,
        DocPart::AnnualSales,
        DocPart::Owners,
        DocPart::Classification,
        DocPart::Credit,
        DocPart::Contacts,
        DocPart::Visits,
        DocPart::LatePayments,
        DocPart::TicketDetails,
        DocPart::StatusHistory,
        DocPart::Replies,
        DocPart::ClosingEvidence,
        DocPart::ProjectName,
        DocPart::Buildings,
        DocPart::Units,
        DocPart::UnitFacts,
        DocPart::UnitSaleFacts,
        DocPart::UnitPrice,
        DocPart::UnitStatus,
        DocPart::EventDetails,
        DocPart::EventProject,
        DocPart::Allotments,
        DocPart::Mode,
        DocPart::Queue,
        DocPart::Buyers,
        DocPart::LeadDetails,
        DocPart::LeadStage,
        DocPart::LeadHistory,
        DocPart::PlanContent,
        DocPart::PlanApproval,
        DocPart::PlanEvaluations,
        DocPart::SurveyAnswers,
        DocPart::ScorecardTarget,
        DocPart::Ratings,
        DocPart::ScorecardFigures,
        DocPart::ReviewMinutes,
        DocPart::Measures,
        DocPart::OrganisationProfile,
        DocPart::ChoiceApprovals,
        DocPart::OrganisationPrice,
        DocPart::Agreement,
        DocPart::Instalments,
        DocPart::Collections,
        DocPart::Reminders,
    ];
}

/// The circumstances of a write that the matrix depends on; all false by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteContext {
    /// The write creates the document: everything in it is being added by its creator.
    pub creating: bool,
    /// The writer is one of the customer's owners, as the server held the customer before.
    pub owns_customer: bool,
    /// An open selection desk is the authority over the entity: a project's unit the desk
    /// holds, or an event whose desk is open.
    pub on_open_desk: bool,
}

/// A rule of the matrix that refuses a write. [`WriteRule::code`] is the stable code the
/// server records with the violation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WriteRule {
    /// Fields fixed when the document was created change for nobody.
    FixedAtCreation,
    /// Only finance, headquarters and administrators record sales.
    AnnualSalesFinanceHqOnly,
    /// Only headquarters and administrators hand a customer over.
    OwnersHqOnly,
    /// A rep's new customer is owned by the rep who created it.
    NewCustomerOwnedByCreator,
    /// Only finance, headquarters and administrators classify.
    ClassificationFinanceHqOnly,
    /// Only finance, headquarters and administrators set credit terms.
    CreditFinanceHqOnly,
    /// Only the customer's owners, headquarters and administrators remove a contact.
    ContactsRemovedByOwners,
    /// Only headquarters and administrators remove a visit record.
    VisitsRemovedByHqOnly,
    /// Only finance, headquarters and administrators record late payments.
    LatePaymentsFinanceHqOnly,
    /// A status-history entry, once recorded, is never changed or removed.
    StatusHistoryAppendOnly,
    /// A reply, once recorded, is never changed or removed.
    ReplyAppendOnly,
    /// A ticket's preventive action and follow-up, once recorded, are never removed.
    ClosingEvidenceKept,
    /// Only headquarters and administrators name a project.
    ProjectHqOnly,
    /// Only headquarters and administrators write buildings.
    BuildingsHqOnly,
    /// Only headquarters and administrators write units.
    UnitsHqOnly,
    /// A unit on an open desk keeps its code and area and stays in the project.
    UnitOnOpenDesk,
    /// Only headquarters and administrators approve prices.
    PriceHqOnly,
    /// A unit on an open desk is priced through the desk.
    PriceThroughTheDesk,
    /// Only the server changes a unit's status.
    UnitStatusServerOnly,
    /// Only headquarters and administrators prepare an event.
    EventHqOnly,
    /// An event's project and allotments are fixed once its desk is open.
    EventFixedOnceDeskOpen,
    /// The queue, the buyer list and (once open) the mode are written by the desk.
    EventWrittenByDesk,
    /// A lead's stage change, once recorded, is never changed or removed.
    LeadHistoryAppendOnly,
    /// Only headquarters and administrators approve a plan.
    PlanApprovalHqOnly,
    /// Only headquarters and administrators remove a plan's evaluation.
    EvaluationsRemovedByHqOnly,
    /// A survey, once taken, is changed only by the back office.
    SurveyChangedByBackOfficeOnly,
    /// Only finance, headquarters and administrators set a sales target.
    ScorecardTargetBackOfficeOnly,
    /// Only headquarters and administrators enter ratings.
    RatingsHqOnly,
    /// Only the server publishes a scorecard's figures.
    ScorecardFiguresServerOnly,
    /// Only headquarters and administrators keep the leadership review.
    ReviewHqOnly,
    /// Only headquarters and administrators keep a commissioning organisation.
    OrganisationHqOnly,
    /// An organisation's price is approved once and then kept.
    OrganisationPriceApprovedOnce,
    /// Only finance, headquarters and administrators write the agreement and its schedule.
    AgreementBackOfficeOnly,
    /// Only finance and administrators record collections.
    CollectionsFinanceOnly,
}

impl WriteRule {
    /// Every rule.
    pub const ALL: [WriteRule; 34] = [
        WriteRule::FixedAtCreation,
        WriteRule::AnnualSalesFinanceHqOnly,
        WriteRule::OwnersHqOnly,
        WriteRule::NewCustomerOwnedByCreator,
        WriteRule::ClassificationFinanceHqOnly,
        WriteRule::CreditFinanceHqOnly,
        WriteRule::ContactsRemovedByOwners,
        WriteRule::VisitsRemovedByHqOnly,
        WriteRule::LatePaymentsFinanceHqOnly,
        WriteRule::StatusHistoryAppendOnly,
        WriteRule::ReplyAppendOnly,
        WriteRule::ClosingEvidenceKept,
        WriteRule::ProjectHqOnly,
        WriteRule::BuildingsHqOnly,
        WriteRule::UnitsHqOnly,
        WriteRule::UnitOnOpenDesk,
        WriteRule::PriceHqOnly,
        WriteRule::PriceThroughTheDesk,
        WriteRule::UnitStatusServerOnly,
        WriteRule::EventHqOnly,
        WriteRule::EventFixedOnceDeskOpen,
        WriteRule::EventWrittenByDesk,
        WriteRule::LeadHistoryAppendOnly,
        WriteRule::PlanApprovalHqOnly,
        WriteRule::EvaluationsRemovedByHqOnly,
        WriteRule::SurveyChangedByBackOfficeOnly,
        WriteRule::ScorecardTargetBackOfficeOnly,
        WriteRule::RatingsHqOnly,
        WriteRule::ScorecardFiguresServerOnly,
        WriteRule::ReviewHqOnly,
        WriteRule::OrganisationHqOnly,
        WriteRule::OrganisationPriceApprovedOnce,
        WriteRule::AgreementBackOfficeOnly,
        WriteRule::CollectionsFinanceOnly,
    ];

    /// The rule recorded under `code`, if it is one.
    pub fn from_code(code: &str) -> Option<WriteRule> {
        WriteRule::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The rule in words, (Chinese, English), for the people who review a violation.
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            WriteRule::FixedAtCreation => {
                ("创建时确定的字段不可更改", "Fixed when the document was created")
            }
            WriteRule::AnnualSalesFinanceHqOnly => {
                ("年度销售额仅财务或总部可改", "Annual sales: finance or HQ only")
            }
            WriteRule::OwnersHqOnly => ("客户负责人仅总部可改", "Owners: HQ only"),
            WriteRule::NewCustomerOwnedByCreator => {
                ("新客户须由创建人负责", "A new customer is owned by its creator")
            }
            WriteRule::ClassificationFinanceHqOnly => {
                ("客户分级仅财务或总部可改", "Classification: finance or HQ only")
            }
            WriteRule::CreditFinanceHqOnly => {
                ("信用额度仅财务或总部可改", "Credit terms: finance or HQ only")
            }
            WriteRule::ContactsRemovedByOwners => {
                ("联系人仅负责人或总部可删除", "Contacts: removed by the owners or HQ only")
            }
            WriteRule::VisitsRemovedByHqOnly => {
                ("拜访记录仅总部可删除", "Visits: removed by HQ only")
            }
            WriteRule::LatePaymentsFinanceHqOnly => {
                ("逾期付款记录仅财务或总部可改", "Late payments: finance or HQ only")
            }
            WriteRule::StatusHistoryAppendOnly => {
                ("状态历史只可追加", "Status history: append only")
            }
            WriteRule::ReplyAppendOnly => ("工单回复只可追加", "Ticket replies: append only"),
            WriteRule::ClosingEvidenceKept => {
                ("工单的预防措施与回访记录不可删除", "A ticket's closing evidence is kept")
            }
            WriteRule::ProjectHqOnly => ("项目仅总部可改", "Project: HQ only"),
            WriteRule::BuildingsHqOnly => ("楼栋仅总部可改", "Buildings: HQ only"),
            WriteRule::UnitsHqOnly => ("房源仅总部可改", "Units: HQ only"),
            WriteRule::UnitOnOpenDesk => (
                "选房中的房源编号、面积与所属项目不可改",
                "A unit on an open desk keeps its code, area and project",
            ),
            WriteRule::PriceHqOnly => ("房价仅总部审批", "Prices: approved by HQ only"),
            WriteRule::PriceThroughTheDesk => {
                ("选房中的房源须经选房台定价", "A unit on an open desk is priced through the desk")
            }
            WriteRule::UnitStatusServerOnly => {
                ("房源状态仅服务器可改", "Unit status: the server only")
            }
            WriteRule::EventHqOnly => ("选房活动仅总部可改", "Selection event: HQ only"),
            WriteRule::EventFixedOnceDeskOpen => {
                ("选房台开启后项目与房源分配不可改", "Fixed once the event's desk is open")
            }
            WriteRule::EventWrittenByDesk => (
                "排队、名单与选房模式由选房台写入",
                "Queue, buyer list and mode: written by the desk",
            ),
            WriteRule::LeadHistoryAppendOnly => {
                ("商机阶段历史只可追加", "Lead history: append only")
            }
            WriteRule::PlanApprovalHqOnly => ("客户计划仅总部审批", "Plan approval: HQ only"),
            WriteRule::EvaluationsRemovedByHqOnly => {
                ("计划评估仅总部可删除", "Plan evaluations: removed by HQ only")
            }
            WriteRule::SurveyChangedByBackOfficeOnly => {
                ("满意度调查仅后台可改", "Surveys: changed by the back office only")
            }
            WriteRule::ScorecardTargetBackOfficeOnly => {
                ("销售目标仅后台可设", "Sales target: back office only")
            }
            WriteRule::RatingsHqOnly => ("考核评价仅总部可录入", "Ratings: HQ only"),
            WriteRule::ScorecardFiguresServerOnly => {
                ("考核得分由系统计算发布", "Scorecard figures: published by the server")
            }
            WriteRule::ReviewHqOnly => ("月度例会仅总部记录", "Monthly review: HQ only"),
            WriteRule::OrganisationHqOnly => {
                ("委建单位仅总部可改", "Commissioning organisation: HQ only")
            }
            WriteRule::OrganisationPriceApprovedOnce => {
                ("委建单位价格仅审批一次", "An organisation's price is approved once")
            }
            WriteRule::AgreementBackOfficeOnly => {
                ("协议及付款计划仅后台可写", "Agreement and schedule: back office only")
            }
            WriteRule::CollectionsFinanceOnly => ("回款仅财务可登记", "Collections: finance only"),
        }
    }

    /// The stable code recorded with a violation.
    pub fn code(self) -> &'static str {
        match self {
            WriteRule::FixedAtCreation => "fixed_at_creation",
            WriteRule::AnnualSalesFinanceHqOnly => "annual_sales_finance_hq_only",
            WriteRule::OwnersHqOnly => "owners_hq_only",
            WriteRule::NewCustomerOwnedByCreator => "new_customer_owned_by_creator",
            WriteRule::ClassificationFinanceHqOnly => "classification_finance_hq_only",
            WriteRule::CreditFinanceHqOnly => "credit_finance_hq_only",
            WriteRule::ContactsRemovedByOwners => "contacts_removed_by_owners",
            WriteRule::VisitsRemovedByHqOnly => "visits_removed_by_hq_only",
            WriteRule::LatePaymentsFinanceHqOnly => "late_payments_finance_hq_only",
            WriteRule::StatusHistoryAppendOnly => "status_history_append_only",
            WriteRule::ReplyAppendOnly => "reply_append_only",
            WriteRule::ClosingEvidenceKept => "closing_evidence_kept",
            WriteRule::ProjectHqOnly => "project_hq_only",
            WriteRule::BuildingsHqOnly => "buildings_hq_only",
            WriteRule::UnitsHqOnly => "units_hq_only",
            WriteRule::UnitOnOpenDesk => "unit_on_open_desk",
            WriteRule::PriceHqOnly => "price_hq_only",
            WriteRule::PriceThroughTheDesk => "price_through_the_desk",
            WriteRule::UnitStatusServerOnly => "unit_status_server_only",
            WriteRule::EventHqOnly => "event_hq_only",
            WriteRule::EventFixedOnceDeskOpen => "event_fixed_once_desk_open",
            WriteRule::EventWrittenByDesk => "event_written_by_desk",
            WriteRule::LeadHistoryAppendOnly => "lead_history_append_only",
            WriteRule::PlanApprovalHqOnly => "plan_approval_hq_only",
            WriteRule::EvaluationsRemovedByHqOnly => "evaluations_removed_by_hq_only",
            WriteRule::SurveyChangedByBackOfficeOnly => "survey_changed_by_back_office_only",
            WriteRule::ScorecardTargetBackOfficeOnly => "scorecard_target_back_office_only",
            WriteRule::RatingsHqOnly => "ratings_hq_only",
            WriteRule::ScorecardFiguresServerOnly => "scorecard_figures_server_only",
            WriteRule::ReviewHqOnly => "review_hq_only",
            WriteRule::OrganisationHqOnly => "organisation_hq_only",
            WriteRule::OrganisationPriceApprovedOnce => "organisation_price_approved_once",
            WriteRule::AgreementBackOfficeOnly => "agreement_back_office_only",
            WriteRule::CollectionsFinanceOnly => "collections_finance_only",
        }
    }
}

impl fmt::Display for WriteRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// `Ok` when `allowed`, else the refusing `rule`.
fn unless(allowed: bool, rule: WriteRule) -> Result<(), WriteRule> {
    if allowed { Ok(()) } else { Err(rule) }
}

/// Whether `role` may make `write` to `part` in `ctx`; the rule refusing it if not.
///
/// Where a role and an open desk both refuse, the role's rule is named: the writer would be
/// refused even without the desk.
pub fn check_write(
    role: Role,
    part: DocPart,
    write: Write,
    ctx: WriteContext,
) -> Result<(), WriteRule> {
    match part {
        DocPart::Fixed => unless(ctx.creating && write == Write::Add, WriteRule::FixedAtCreation),
        DocPart::Profile
        | DocPart::ProfitContribution
        | DocPart::TicketDetails
        | DocPart::Contacts
        | DocPart::Visits
        | DocPart::StatusHistory
        | DocPart::Replies
        | DocPart::ClosingEvidence => check_field_work(role, part, write, ctx),
        DocPart::AnnualSales
        | DocPart::Owners
        | DocPart::Classification
        | DocPart::Credit
        | DocPart::LatePayments => check_back_office(role, part, write, ctx),
        DocPart::ProjectName
        | DocPart::Buildings
        | DocPart::Units
        | DocPart::UnitFacts
        | DocPart::UnitSaleFacts
        | DocPart::UnitPrice
        | DocPart::UnitStatus => check_project(role, part, write, ctx),
        DocPart::EventDetails
        | DocPart::EventProject
        | DocPart::Allotments
        | DocPart::Mode
        | DocPart::Queue
        | DocPart::Buyers => check_event(role, part, write, ctx),
        DocPart::LeadDetails
        | DocPart::LeadStage
        | DocPart::LeadHistory
        | DocPart::PlanContent
        | DocPart::PlanApproval
        | DocPart::PlanEvaluations
        | DocPart::SurveyAnswers => check_account_work(role, part, write, ctx),
        DocPart::ScorecardTarget
        | DocPart::Ratings
        | DocPart::ScorecardFigures
        | DocPart::ReviewMinutes
        | DocPart::Measures
        | DocPart::OrganisationProfile
        | DocPart::ChoiceApprovals
        | DocPart::OrganisationPrice
        | DocPart::Agreement
        | DocPart::Instalments
        | DocPart::Collections
        | DocPart::Reminders => check_management(role, part, write),
    }
}

/// What the field records about developing and planning an account (ADR 0023): open to
/// everyone who sees the customer, except the record of a lead's development (append-only),
/// a plan's approval (headquarters'), taking an evaluation away, and changing a survey once
/// taken (it is evidence the person taking it is assessed by).
fn check_account_work(
    role: Role,
    part: DocPart,
    write: Write,
    ctx: WriteContext,
) -> Result<(), WriteRule> {
    match (part, write) {
        (DocPart::LeadHistory, Write::Change | Write::Remove) => {
            Err(WriteRule::LeadHistoryAppendOnly)
        }
        (DocPart::PlanApproval, _) => unless(is_hq(role), WriteRule::PlanApprovalHqOnly),
        (DocPart::PlanEvaluations, Write::Remove) => {
            unless(is_hq(role), WriteRule::EvaluationsRemovedByHqOnly)
        }
        (DocPart::SurveyAnswers, _) if !(ctx.creating && write == Write::Add) => {
            unless(is_back_office(role), WriteRule::SurveyChangedByBackOfficeOnly)
        }
        _ => Ok(()),
    }
}

/// What management keeps: scorecards (targets by the back office, ratings by headquarters, the
/// figures by the server alone, so nobody rates or scores themselves from a device), the
/// leadership review and commissioning organisations (headquarters'; collections finance's).
fn check_management(role: Role, part: DocPart, write: Write) -> Result<(), WriteRule> {
    match part {
        DocPart::ScorecardTarget => {
            unless(is_back_office(role), WriteRule::ScorecardTargetBackOfficeOnly)
        }
        DocPart::Ratings => unless(is_hq(role), WriteRule::RatingsHqOnly),
        DocPart::ScorecardFigures => Err(WriteRule::ScorecardFiguresServerOnly),
        DocPart::ReviewMinutes | DocPart::Measures => unless(is_hq(role), WriteRule::ReviewHqOnly),
        DocPart::OrganisationPrice if write != Write::Add => {
            Err(WriteRule::OrganisationPriceApprovedOnce)
        }
        DocPart::Agreement | DocPart::Instalments => {
            unless(is_back_office(role), WriteRule::AgreementBackOfficeOnly)
        }
        DocPart::Collections => {
            unless(matches!(role, Role::Finance | Role::Admin), WriteRule::CollectionsFinanceOnly)
        }
        _ => unless(is_hq(role), WriteRule::OrganisationHqOnly),
    }
}

/// What the people in the field record: open to everyone who sees the document, except
/// taking evidence away.
fn check_field_work(
    role: Role,
    part: DocPart,
    write: Write,
    ctx: WriteContext,
) -> Result<(), WriteRule> {
    match (part, write) {
        // A contact is the owners' to drop (the account is theirs); a visit record is the
        // evidence of the visit cadence, which headquarters audits.
        (DocPart::Contacts, Write::Remove) => {
            unless(is_hq(role) || ctx.owns_customer, WriteRule::ContactsRemovedByOwners)
        }
        (DocPart::Visits, Write::Remove) => unless(is_hq(role), WriteRule::VisitsRemovedByHqOnly),
        // Transitions are evidence too; which ones may be added is the state machine's call.
        (DocPart::StatusHistory, Write::Change | Write::Remove) => {
            Err(WriteRule::StatusHistoryAppendOnly)
        }
        (DocPart::Replies, Write::Change | Write::Remove) => Err(WriteRule::ReplyAppendOnly),
        (DocPart::ClosingEvidence, Write::Remove) => Err(WriteRule::ClosingEvidenceKept),
        _ => Ok(()),
    }
}

/// What the back office decides about a customer. A new customer's creator records what the
/// tablet knows of the lead, its sales included (a tier is only a proposal until approved),
/// but a rep's new customer is theirs, unclassified, without credit and without late payments.
fn check_back_office(
    role: Role,
    part: DocPart,
    write: Write,
    ctx: WriteContext,
) -> Result<(), WriteRule> {
    match part {
        DocPart::AnnualSales => unless(
            is_back_office(role) || (ctx.creating && write == Write::Add),
            WriteRule::AnnualSalesFinanceHqOnly,
        ),
        DocPart::Owners if ctx.creating => {
            unless(is_back_office(role), WriteRule::NewCustomerOwnedByCreator)
        }
        DocPart::Owners => unless(is_hq(role), WriteRule::OwnersHqOnly),
        DocPart::Classification => {
            unless(is_back_office(role), WriteRule::ClassificationFinanceHqOnly)
        }
        DocPart::Credit => unless(is_back_office(role), WriteRule::CreditFinanceHqOnly),
        _ => unless(is_back_office(role), WriteRule::LatePaymentsFinanceHqOnly),
    }
}

/// A project is headquarters' (the unit list comes from design, prices from the approval
/// chain); a unit's status is the server's, and a unit an open desk holds is the desk's.
fn check_project(
    role: Role,
    part: DocPart,
    write: Write,
    ctx: WriteContext,
) -> Result<(), WriteRule> {
    let (by_role, on_desk) = match part {
        DocPart::UnitStatus => return Err(WriteRule::UnitStatusServerOnly),
        // Whoever may create a project (`scope::may_create` on the server) names it.
        DocPart::ProjectName if ctx.creating && write == Write::Add => return Ok(()),
        DocPart::ProjectName => (WriteRule::ProjectHqOnly, None),
        DocPart::Buildings => (WriteRule::BuildingsHqOnly, None),
        DocPart::UnitFacts => (WriteRule::UnitsHqOnly, None),
        // Adding a unit is fine while a desk is open (the next desk takes it); removing one
        // the desk sells from would leave the desk selling a unit the tablets no longer show.
        DocPart::Units if write == Write::Add => (WriteRule::UnitsHqOnly, None),
        DocPart::Units | DocPart::UnitSaleFacts => {
            (WriteRule::UnitsHqOnly, Some(WriteRule::UnitOnOpenDesk))
        }
        _ => (WriteRule::PriceHqOnly, Some(WriteRule::PriceThroughTheDesk)),
    };
    unless(is_hq(role), by_role)?;
    match on_desk {
        Some(rule) if ctx.on_open_desk => Err(rule),
        _ => Ok(()),
    }
}

/// Headquarters prepares an event; once its desk is open the desk is the event's authority.
/// The queue and the buyer list are the desk's from the start: buyers are imported through the
/// desk, which hashes their ID numbers with a salt no device holds, and the lottery order is
/// the notary's, imported the same way.
fn check_event(
    role: Role,
    part: DocPart,
    write: Write,
    ctx: WriteContext,
) -> Result<(), WriteRule> {
    match part {
        DocPart::Queue | DocPart::Buyers => return Err(WriteRule::EventWrittenByDesk),
        // Whoever may create an event names it, dates it and says whose units it offers.
        DocPart::EventDetails | DocPart::EventProject if ctx.creating && write == Write::Add => {
            return Ok(());
        }
        _ => {}
    }
    unless(is_hq(role), WriteRule::EventHqOnly)?;
    match part {
        DocPart::EventProject | DocPart::Allotments if ctx.on_open_desk => {
            Err(WriteRule::EventFixedOnceDeskOpen)
        }
        DocPart::Mode if ctx.on_open_desk => Err(WriteRule::EventWrittenByDesk),
        _ => Ok(()),
    }
}

/// Whether every role may make `write` to `part` of an existing document, whoever owns it and
/// whatever a desk holds: such a write needs no check, and a merge made only of such writes
/// is left alone without reading anything.
pub fn open_to_everyone(part: DocPart, write: Write) -> bool {
    let contexts = [false, true].into_iter().flat_map(|owns_customer| {
        [false, true].map(|on_open_desk| WriteContext {
            creating: false,
            owns_customer,
            on_open_desk,
        })
    });
    contexts
        .into_iter()
        .all(|ctx| Role::ALL.iter().all(|role| check_write(*role, part, write, ctx).is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn may(role: Role, part: DocPart, write: Write) -> bool {
        check_write(role, part, write, WriteContext::default()).is_ok()
    }

    /// The roles that may make `write` to `part` of an existing document in `ctx`.
    fn who(part: DocPart, write: Write, ctx: WriteContext) -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| check_write(*r, part, write, ctx).is_ok()).collect()
    }

    const HQ: [Role; 2] = [Role::Hq, Role::Admin];
    const BACK_OFFICE: [Role; 3] = [Role::Finance, Role::Hq, Role::Admin];

    #[test]
    fn customer_parts() {
        let none = WriteContext::default();
        for write in Write::ALL {
            for part in [DocPart::Profile, DocPart::ProfitContribution] {
                assert_eq!(who(part, write, none), Role::ALL.to_vec(), "{part:?} {write:?}");
            }
            for part in [
                DocPart::AnnualSales,
                DocPart::LatePayments,
                DocPart::Classification,
                DocPart::Credit,
            ] {
                assert_eq!(who(part, write, none), BACK_OFFICE.to_vec(), "{part:?} {write:?}");
            }
            assert_eq!(who(DocPart::Owners, write, none), HQ.to_vec());
        }
        for part in [DocPart::Contacts, DocPart::Visits] {
            for write in [Write::Add, Write::Change] {
                assert_eq!(who(part, write, none), Role::ALL.to_vec(), "{part:?} {write:?}");
            }
        }
        assert_eq!(who(DocPart::Visits, Write::Remove, none), HQ.to_vec());
        assert_eq!(who(DocPart::Contacts, Write::Remove, none), HQ.to_vec());
        let owner = WriteContext { owns_customer: true, ..none };
        assert_eq!(who(DocPart::Contacts, Write::Remove, owner), Role::ALL.to_vec());
        assert_eq!(who(DocPart::Visits, Write::Remove, owner), HQ.to_vec(), "owners too");
    }

    #[test]
    fn a_new_customer_carries_what_its_creator_may_record() {
        let creating = WriteContext { creating: true, ..WriteContext::default() };
        let rep = |part| check_write(Role::Rep, part, Write::Add, creating);
        assert_eq!(rep(DocPart::Fixed), Ok(()));
        assert_eq!(rep(DocPart::AnnualSales), Ok(()), "the lead's sales, a tier proposal only");
        assert_eq!(rep(DocPart::Visits), Ok(()));
        assert_eq!(rep(DocPart::Owners), Err(WriteRule::NewCustomerOwnedByCreator));
        assert_eq!(rep(DocPart::Classification), Err(WriteRule::ClassificationFinanceHqOnly));
        assert_eq!(rep(DocPart::Credit), Err(WriteRule::CreditFinanceHqOnly));
        assert_eq!(rep(DocPart::LatePayments), Err(WriteRule::LatePaymentsFinanceHqOnly));
        for role in BACK_OFFICE {
            for part in [DocPart::Owners, DocPart::Classification, DocPart::LatePayments] {
                assert_eq!(check_write(role, part, Write::Add, creating), Ok(()), "{role:?}");
            }
        }
        assert_eq!(
            check_write(Role::Finance, DocPart::AnnualSales, Write::Remove, creating),
            Ok(())
        );
        assert_eq!(
            check_write(Role::Rep, DocPart::AnnualSales, Write::Change, creating),
            Err(WriteRule::AnnualSalesFinanceHqOnly),
            "only adding comes with creating"
        );
    }

    #[test]
    fn fixed_fields_change_for_nobody() {
        for role in Role::ALL {
            for write in Write::ALL {
                assert_eq!(
                    check_write(role, DocPart::Fixed, write, WriteContext::default()),
                    Err(WriteRule::FixedAtCreation)
                );
            }
        }
    }

    #[test]
    fn ticket_evidence_is_append_only() {
        for role in Role::ALL {
            assert!(may(role, DocPart::Replies, Write::Add));
            assert!(may(role, DocPart::StatusHistory, Write::Add));
            assert!(may(role, DocPart::TicketDetails, Write::Change));
            assert!(may(role, DocPart::ClosingEvidence, Write::Change));
            for write in [Write::Change, Write::Remove] {
                let reply = check_write(role, DocPart::Replies, write, WriteContext::default());
                assert_eq!(reply, Err(WriteRule::ReplyAppendOnly));
                let entry = check_write(role, DocPart::StatusHistory, write, Default::default());
                assert_eq!(entry, Err(WriteRule::StatusHistoryAppendOnly));
            }
            let gone =
                check_write(role, DocPart::ClosingEvidence, Write::Remove, Default::default());
            assert_eq!(gone, Err(WriteRule::ClosingEvidenceKept));
        }
    }

    #[test]
    fn projects_are_headquarters_and_units_on_a_desk_the_desks() {
        let desk = WriteContext { on_open_desk: true, ..WriteContext::default() };
        for write in Write::ALL {
            for part in [
                DocPart::ProjectName,
                DocPart::Buildings,
                DocPart::Units,
                DocPart::UnitFacts,
                DocPart::UnitSaleFacts,
                DocPart::UnitPrice,
            ] {
                assert_eq!(who(part, write, WriteContext::default()), HQ.to_vec(), "{part:?}");
            }
            assert_eq!(who(DocPart::UnitStatus, write, WriteContext::default()), vec![]);
            assert_eq!(
                who(DocPart::UnitFacts, write, desk),
                HQ.to_vec(),
                "layout is not the desk's"
            );
        }
        let hq = |part, write| check_write(Role::Hq, part, write, desk);
        assert_eq!(hq(DocPart::UnitPrice, Write::Change), Err(WriteRule::PriceThroughTheDesk));
        assert_eq!(hq(DocPart::UnitSaleFacts, Write::Change), Err(WriteRule::UnitOnOpenDesk));
        assert_eq!(hq(DocPart::Units, Write::Remove), Err(WriteRule::UnitOnOpenDesk));
        assert_eq!(hq(DocPart::Units, Write::Add), Ok(()));
        let rep = check_write(Role::Rep, DocPart::UnitPrice, Write::Change, desk);
        assert_eq!(rep, Err(WriteRule::PriceHqOnly), "the role's rule is named first");
        let creating = WriteContext { creating: true, ..WriteContext::default() };
        assert_eq!(who(DocPart::ProjectName, Write::Add, creating), Role::ALL.to_vec());
        assert_eq!(who(DocPart::Units, Write::Add, creating), HQ.to_vec());
    }

    #[test]
    fn events_are_prepared_by_headquarters_and_run_by_the_desk() {
        let closed = WriteContext::default();
        let open = WriteContext { on_open_desk: true, ..closed };
        for part in
            [DocPart::EventDetails, DocPart::EventProject, DocPart::Allotments, DocPart::Mode]
        {
            assert_eq!(who(part, Write::Change, closed), HQ.to_vec(), "{part:?}");
        }
        assert_eq!(who(DocPart::EventDetails, Write::Change, open), HQ.to_vec());
        for part in [DocPart::EventProject, DocPart::Allotments, DocPart::Mode] {
            assert_eq!(who(part, Write::Change, open), vec![], "{part:?}");
        }
        for part in [DocPart::Queue, DocPart::Buyers] {
            for ctx in [closed, open, WriteContext { creating: true, ..closed }] {
                for role in Role::ALL {
                    let verdict = check_write(role, part, Write::Add, ctx);
                    assert_eq!(verdict, Err(WriteRule::EventWrittenByDesk));
                }
            }
        }
        let staff = check_write(Role::EventStaff, DocPart::Allotments, Write::Remove, open);
        assert_eq!(staff, Err(WriteRule::EventHqOnly));
        let creating = WriteContext { creating: true, ..closed };
        for part in [DocPart::EventDetails, DocPart::EventProject] {
            assert_eq!(who(part, Write::Add, creating), Role::ALL.to_vec(), "{part:?}");
        }
        assert_eq!(who(DocPart::Mode, Write::Add, creating), HQ.to_vec());
        assert_eq!(who(DocPart::Allotments, Write::Add, creating), HQ.to_vec());
    }

    /// A venue server relays its tablets' edits and mirrors its desk's outcomes: it may write
    /// exactly what event staff may, in every circumstance.
    #[test]
    fn a_venue_writes_what_event_staff_write() {
        let flags = [false, true];
        for part in DocPart::ALL {
            for write in Write::ALL {
                for creating in flags {
                    for owns_customer in flags {
                        for on_open_desk in flags {
                            let ctx = WriteContext { creating, owns_customer, on_open_desk };
                            assert_eq!(
                                check_write(Role::Venue, part, write, ctx),
                                check_write(Role::EventStaff, part, write, ctx),
                                "{part:?} {write:?} {ctx:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn what_needs_no_check() {
        let open: Vec<(DocPart, Write)> = DocPart::ALL
            .into_iter()
            .flat_map(|p| Write::ALL.map(|w| (p, w)))
            .filter(|(p, w)| open_to_everyone(*p, *w))
            .collect();
        use DocPart::*;
        use Write::*;
        assert_eq!(
            open,
            vec![
                (Profile, Add),
                (Profile, Change),
                (Profile, Remove),
                (ProfitContribution, Add),
                (ProfitContribution, Change),
                (ProfitContribution, Remove),
                (Contacts, Add),
                (Contacts, Change),
                (Visits, Add),
                (Visits, Change),
                (TicketDetails, Add),
                (TicketDetails, Change),
                (TicketDetails, Remove),
                (StatusHistory, Add),
                (Replies, Add),
                (ClosingEvidence, Add),
                (ClosingEvidence, Change),
                (LeadDetails, Add),
                (LeadDetails, Change),
                (LeadDetails, Remove),
                (LeadStage, Add),
                (LeadStage, Change),
                (LeadStage, Remove),
                (LeadHistory, Add),
                (PlanContent, Add),
                (PlanContent, Change),
                (PlanContent, Remove),
                (PlanEvaluations, Add),
                (PlanEvaluations, Change),
            ]
        );
    }

    #[test]
    fn every_rule_is_reachable_under_a_code_of_its_own() {
        let mut codes: Vec<&str> = DocPart::ALL
            .into_iter()
            .flat_map(|p| Write::ALL.map(move |w| (p, w)))
            .flat_map(|(p, w)| {
                let contexts = [
                    WriteContext::default(),
                    WriteContext { creating: true, ..Default::default() },
                    WriteContext { on_open_desk: true, ..Default::default() },
                ];
                Role::ALL
                    .into_iter()
                    .flat_map(move |r| contexts.map(|c| check_write(r, p, w, c)))
                    .filter_map(Result::err)
            })
            .map(WriteRule::code)
            .collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 34, "all 34 rules, each with its own code: {codes:?}");
        let mut all: Vec<&str> = WriteRule::ALL.into_iter().map(WriteRule::code).collect();
        all.sort_unstable();
        assert_eq!(all, codes, "ALL holds every rule once");
        for rule in WriteRule::ALL {
            assert_eq!(WriteRule::from_code(rule.code()), Some(rule));
        }
        assert_eq!(WriteRule::from_code("no_such_rule"), None);
    }
}
