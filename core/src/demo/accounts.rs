//! The demo company's account-management records (issue 23): development leads per rep,
//! account plans for strategic and key customers with their quarterly evaluations, periodic
//! and after-service surveys, last month's scorecards and the last two monthly leadership
//! reviews. Commissioning organisations are in `demo::commissioning`.
//!
//! Everything is drawn from its own seeded stream (the spec's seed mixed with a constant), so
//! adding these records left the customers, tickets and project of a seed exactly as they were.

// Demo data only, like the rest of `demo`: every operand is a date near `now`, a small count or
// a few percent of a generated sales figure, far inside `Decimal`'s and chrono's ranges
// (ADR 0017).
#![allow(clippy::arithmetic_side_effects)]

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveTime, Utc};
use rand::Rng;
use rand::rngs::SmallRng;
use rust_decimal::Decimal;

use super::{id_from, person, pick};
use crate::model::{
    AccountPlan, Customer, CustomerId, EntryId, Finding, FindingKind, Lead, LeadCriteria, LeadId,
    LeadStage, LeadershipReview, Measure, MeasureClosing, PlanActuals, PlanApproval,
    PlanEvaluation, PlanFunction, PlanGoals, RaterKind, Rating, ReviewId, Scorecard, ServiceTicket,
    StageChange, Survey, SurveyId, SurveyItem, SurveyKind, Tier, UserId, plan_id, scorecard_id,
};
use crate::policy::Policy;
use crate::rules;

/// The headquarters user who approves plans, enters ratings and chairs the monthly review.
pub const HQ_USER: &str = "hq-01";
/// The finance user who records collections.
pub const FINANCE_USER: &str = "finance-01";
/// The technical counterpart named in every plan (000 §4.2.2).
pub const TECHNICAL_USER: &str = "tech-01";
/// The quality engineer named in every plan (000 §4.2.4).
pub const QUALITY_USER: &str = "quality-01";
/// The after-sales owner named in every plan, who also calls customers after tickets
/// (000 §4.2.5).
pub const AFTER_SALES_USER: &str = "service-01";

/// The account-management records generated for a company.
#[derive(Default)]
pub(super) struct AccountRecords {
    pub(super) leads: Vec<Lead>,
    pub(super) plans: Vec<AccountPlan>,
    pub(super) surveys: Vec<Survey>,
    pub(super) scorecards: Vec<Scorecard>,
    pub(super) reviews: Vec<LeadershipReview>,
}

/// Dates the generators share.
struct Clock {
    now: DateTime<Utc>,
    today: NaiveDate,
}

impl Clock {
    /// `day` at `hour` o'clock, but never after `now`.
    fn at(&self, day: NaiveDate, hour: u32) -> DateTime<Utc> {
        let time = NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or(NaiveTime::MIN);
        day.and_time(time).and_utc().min(self.now)
    }
}

/// Generates the records for `customers`, `tickets` and `reps` as of `now`.
pub(super) fn generate(
    rng: &mut SmallRng,
    reps: &[UserId],
    customers: &[Customer],
    tickets: &[ServiceTicket],
    now: DateTime<Utc>,
    policy: &Policy,
) -> AccountRecords {
    let clock = Clock { now, today: policy.business_date(now) };
    let leads = reps
        .iter()
        .enumerate()
        .flat_map(|(i, rep)| rep_leads(rng, i, rep, customers, &clock))
        .collect();
    let surveys = surveys(rng, customers, tickets, &clock, policy);
    let plans = customers
        .iter()
        .enumerate()
        .filter(|(_, c)| is_key_account(c))
        .map(|(i, c)| plan(rng, i, c, reps, &surveys, &clock, policy))
        .collect();
    let scorecards = reps.iter().map(|rep| scorecard(rng, rep, reps, customers, &clock)).collect();
    let reviews = (1..=2u32).filter_map(|back| review(rng, back, customers, &clock)).collect();
    AccountRecords { leads, plans, surveys, scorecards, reviews }
}

/// Strategic and key customers get a yearly plan and quarterly surveys.
pub(super) fn is_key_account(c: &Customer) -> bool {
    c.classification.strategic || matches!(c.classification.tier, Tier::Strategic | Tier::Key)
}

/// The customer's owning rep (the first owner).
fn owner_of(c: &Customer) -> Option<&UserId> {
    c.owners.first()
}

fn last_year_sales(c: &Customer) -> Decimal {
    c.annual_sales.values().next_back().copied().unwrap_or(Decimal::ZERO)
}

/// `amount` rounded to whole `step`s of CNY.
fn round_to(amount: Decimal, step: i64) -> Decimal {
    let step = Decimal::from(step);
    ((amount / step).round() * step).round_dp(2)
}

/// `amount` × `pct` / 100, to the fen.
fn pct_of(amount: Decimal, pct: i64) -> Decimal {
    (amount * Decimal::new(pct, 2)).round_dp(2)
}

// ---------------------------------------------------------------------------------------------
// Leads

/// What was learned at each open stage, by the stage being left.
fn learned(stage: LeadStage, rng: &mut SmallRng) -> String {
    match stage {
        LeadStage::MarketResearch => format!(
            "客户年采购额约{}万元，现有两家供应商，对交期和一致性要求高",
            rng.random_range(150..900)
        ),
        LeadStage::FirstContact => {
            format!("已与采购经理{}建立联系，决策人为分管副总，明年有新产线投产计划", person(rng))
        }
        LeadStage::NeedsAnalysis => {
            "需求：稳定供货、年度价格锁定、技术人员驻厂支持；竞品报价比我方低约3%".into()
        }
        LeadStage::Solution => "已提交年度供货方案及联合开发建议，客户技术部评审通过".into(),
        LeadStage::Negotiation => "价格与付款条件基本一致：月结60天，签订年度框架协议".into(),
        LeadStage::Won | LeadStage::Lost => String::new(),
    }
}

/// The criteria that make a lead a candidate (003 二): each lead meets at least one, above
/// the policy's thresholds.
fn criteria(rng: &mut SmallRng, index: usize) -> LeadCriteria {
    let purchase = Decimal::from(rng.random_range(12..90) * 100_000);
    match index % 3 {
        0 => LeadCriteria {
            expected_annual_purchase: Some(purchase),
            profit_share_pct: None,
            potential: String::new(),
        },
        1 => LeadCriteria {
            expected_annual_purchase: Some(purchase),
            profit_share_pct: Some(Decimal::new(rng.random_range(105..180), 1)),
            potential: String::new(),
        },
        _ => LeadCriteria {
            expected_annual_purchase: None,
            profit_share_pct: None,
            potential: "行业龙头，正在扩建新基地，三年内采购规模有望翻番".into(),
        },
    }
}

const LEAD_TITLES: &[&str] =
    &["年度框架供货", "新产线配套", "替代进口件", "二期项目配套", "售后备件集中采购"];
const LOST_REASONS: &[&str] = &["竞品报价低于我方8%，客户选择竞品", "客户新项目延期，采购需求取消"];

/// A handful of leads for one rep on their own customers, one per stage including won and
/// lost.
fn rep_leads(
    rng: &mut SmallRng,
    rep_index: usize,
    rep: &UserId,
    customers: &[Customer],
    clock: &Clock,
) -> Vec<Lead> {
    let own: Vec<&Customer> = customers.iter().filter(|c| owner_of(c) == Some(rep)).collect();
    if own.is_empty() {
        return Vec::new();
    }
    let targets = [
        LeadStage::MarketResearch,
        LeadStage::FirstContact,
        LeadStage::NeedsAnalysis,
        LeadStage::Solution,
        LeadStage::Negotiation,
        LeadStage::Won,
        LeadStage::Lost,
    ];
    targets
        .iter()
        .enumerate()
        .map(|(j, &target)| {
            // Non-key customers first: they are the ones being developed into key accounts.
            let mut candidates: Vec<&&Customer> =
                own.iter().filter(|c| !is_key_account(c)).collect();
            if candidates.is_empty() {
                candidates = own.iter().collect();
            }
            let customer = candidates[(j + rep_index) % candidates.len()];
            lead(rng, j, rep, &customer.id, target, clock)
        })
        .collect()
}

fn lead(
    rng: &mut SmallRng,
    index: usize,
    rep: &UserId,
    customer: &CustomerId,
    target: LeadStage,
    clock: &Clock,
) -> Lead {
    let identified_at = clock.now - Duration::days(rng.random_range(90..300));
    // The path to the target: open stages in order, then won after negotiation, or lost from
    // needs analysis or negotiation.
    let path: Vec<LeadStage> = match target {
        LeadStage::Won => LeadStage::OPEN.iter().copied().chain([LeadStage::Won]).collect(),
        LeadStage::Lost => {
            let left_at = if index.is_multiple_of(2) { 5 } else { 3 };
            LeadStage::OPEN[..left_at].iter().copied().chain([LeadStage::Lost]).collect()
        }
        open => LeadStage::OPEN.iter().copied().take_while(|s| *s <= open).collect(),
    };
    let steps = path.len().saturating_sub(1).max(1) as i64;
    let span = (clock.now - identified_at).num_hours() - 24;
    let mut history = BTreeMap::new();
    for (k, pair) in path.windows(2).enumerate() {
        let change = StageChange {
            id: EntryId(id_from(rng)),
            from: pair[0],
            to: pair[1],
            at: identified_at + Duration::hours(span * (k as i64 + 1) / steps),
            by: rep.clone(),
            learned: learned(pair[0], rng),
            lost_reason: (pair[1] == LeadStage::Lost).then(|| pick(rng, LOST_REASONS).to_owned()),
        };
        history.insert(change.id.clone(), change);
    }
    let criteria = criteria(rng, index);
    let expected_value = criteria
        .expected_annual_purchase
        .unwrap_or_else(|| Decimal::from(rng.random_range(15..60) * 100_000));
    Lead {
        id: LeadId(id_from(rng)),
        customer_id: customer.clone(),
        title: LEAD_TITLES[index % LEAD_TITLES.len()].to_owned(),
        identified_by: rep.clone(),
        identified_at,
        owner: rep.clone(),
        criteria,
        expected_value,
        stage: target,
        history,
    }
}

// ---------------------------------------------------------------------------------------------
// Surveys

/// A customer's survey scores centre on its 100-point score, items scattered around it.
fn survey_items(rng: &mut SmallRng, centre: u32) -> BTreeMap<SurveyItem, u8> {
    let mut item = |spread: i32| {
        let v = centre as i32 + rng.random_range(-spread..=spread);
        v.clamp(0, 100) as u8
    };
    let items = [
        (SurveyItem::Product, item(12)),
        (SurveyItem::Delivery, item(15)),
        (SurveyItem::Service, item(10)),
        (SurveyItem::AccountManager, item(8)),
    ];
    let mean = items.iter().map(|(_, s)| u32::from(*s)).sum::<u32>() / 4;
    let overall = (mean as i32 + rng.random_range(-3..=3)).clamp(0, 100) as u8;
    items.into_iter().chain([(SurveyItem::Overall, overall)]).collect()
}

const SURVEY_COMMENTS: &[&str] = &[
    "整体满意，希望交期再稳定一些",
    "产品质量稳定，客户经理响应及时",
    "价格偏高，服务到位",
    "上季度有一批次来料不良，已整改，需持续关注",
    "希望增加技术交流频次",
];

/// Periodic surveys on each customer's cadence over the last year, and after-service calls
/// following some closed tickets. Every 17th customer is left overdue.
fn surveys(
    rng: &mut SmallRng,
    customers: &[Customer],
    tickets: &[ServiceTicket],
    clock: &Clock,
    policy: &Policy,
) -> Vec<Survey> {
    let year_ago = clock.today - Duration::days(365);
    let mut out = Vec::new();
    for (i, c) in customers.iter().enumerate() {
        let months = rules::survey_interval_months(c.classification.tier, policy);
        let interval_days = i64::from(months) * 30;
        let back = if i % 17 == 5 {
            // Overdue: the last survey is more than an interval old.
            interval_days + rng.random_range(10..40)
        } else {
            rng.random_range(3..(interval_days - 5).max(4))
        };
        let centre = c.classification.score.unwrap_or(75).clamp(55, 95);
        let created = c.created_at.date_naive();
        let mut taken_on = clock.today - Duration::days(back);
        while taken_on >= year_ago && taken_on > created {
            let by = owner_of(c).cloned().unwrap_or_else(|| UserId::from(AFTER_SALES_USER));
            out.push(survey(
                rng,
                c,
                SurveyKind::Periodic,
                None,
                clock.at(taken_on, 10),
                by,
                centre,
            ));
            let Some(earlier) = taken_on.checked_sub_months(Months::new(months)) else { break };
            taken_on = earlier;
        }
    }
    let closed = tickets.iter().filter(|t| t.follow_up.is_some());
    for t in closed.step_by(25) {
        let Some(c) = customers.iter().find(|c| c.id == t.customer_id) else { continue };
        let Some(follow_up) = &t.follow_up else { continue };
        let centre = 50 + u32::from(follow_up.satisfaction) * 8;
        let by = UserId::from(AFTER_SALES_USER);
        let taken_at = follow_up.at.min(clock.now);
        let s = survey(rng, c, SurveyKind::AfterService, Some(t), taken_at, by, centre);
        out.push(s);
    }
    out
}

fn survey(
    rng: &mut SmallRng,
    c: &Customer,
    kind: SurveyKind,
    ticket: Option<&ServiceTicket>,
    taken_at: DateTime<Utc>,
    taken_by: UserId,
    centre: u32,
) -> Survey {
    let respondent = c
        .contacts
        .values()
        .find(|k| k.primary)
        .map(|k| k.name.clone())
        .unwrap_or_else(|| person(rng));
    Survey {
        id: SurveyId(id_from(rng)),
        customer_id: c.id.clone(),
        kind,
        ticket_id: ticket.map(|t| t.id.clone()),
        taken_at,
        taken_by,
        respondent,
        items: survey_items(rng, centre),
        comments: pick(rng, SURVEY_COMMENTS).to_owned(),
    }
}

/// The mean score of a customer's surveys taken between `from` and `until` (inclusive).
fn satisfaction_between(
    surveys: &[Survey],
    customer: &CustomerId,
    from: NaiveDate,
    until: NaiveDate,
) -> Option<u8> {
    let scores: Vec<u32> = surveys
        .iter()
        .filter(|s| &s.customer_id == customer)
        .filter(|s| (from..=until).contains(&s.taken_at.date_naive()))
        .filter_map(|s| rules::survey_score(&s.items).ok())
        .map(u32::from)
        .collect();
    let n = scores.len() as u32;
    (n > 0).then(|| ((scores.iter().sum::<u32>() * 2 + n) / (2 * n)) as u8)
}

// ---------------------------------------------------------------------------------------------
// Plans

const STRATEGIES: &[&str] = &[
    "巩固主供地位，推动年度框架协议续签；以新品导入带动份额提升至60%以上",
    "围绕客户新产线配套，提前介入设计选型；以成本优化方案应对竞品降价",
    "稳定现有品类，拓展售后备件业务；高层互访每季度一次",
];
const SERVICE_PLANS: &[&str] = &[
    "每月一次客户经理拜访，每季度一次技术交流；质量问题24小时内响应，48小时到场",
    "驻厂代表跟进日常订单与交付；售后每季度回访一次，满意度调查按季度开展",
];

/// `goals` split into four quarters by weights; the fourth quarter takes the remainder, so
/// the quarters sum to the year exactly.
fn split_quarters(year: &PlanGoals) -> BTreeMap<u8, PlanGoals> {
    const WEIGHTS: [i64; 3] = [22, 24, 26];
    let mut out = BTreeMap::new();
    let (mut sales, mut profit) = (Decimal::ZERO, Decimal::ZERO);
    for (q, w) in (1u8..=3).zip(WEIGHTS) {
        let g = PlanGoals {
            sales: pct_of(year.sales, w),
            profit_contribution: pct_of(year.profit_contribution, w),
            satisfaction: year.satisfaction,
        };
        sales += g.sales;
        profit += g.profit_contribution;
        out.insert(q, g);
    }
    out.insert(
        4,
        PlanGoals {
            sales: year.sales - sales,
            profit_contribution: year.profit_contribution - profit,
            satisfaction: year.satisfaction,
        },
    );
    out
}

/// The owners per function: the customer's rep as account manager, the demo's function staff,
/// and a resident representative (the customer's second owner, or another rep) where last
/// year's sales reach the policy's threshold.
fn plan_owners(
    c: &Customer,
    index: usize,
    reps: &[UserId],
    policy: &Policy,
) -> BTreeMap<PlanFunction, UserId> {
    let rep = owner_of(c).cloned().unwrap_or_else(|| reps[index % reps.len()].clone());
    let mut owners = BTreeMap::from([
        (PlanFunction::AccountManager, rep.clone()),
        (PlanFunction::Technical, UserId::from(TECHNICAL_USER)),
        (PlanFunction::Quality, UserId::from(QUALITY_USER)),
        (PlanFunction::AfterSales, UserId::from(AFTER_SALES_USER)),
    ]);
    if rules::required_functions(last_year_sales(c), policy)
        .contains(&PlanFunction::ResidentRepresentative)
    {
        let resident = c.owners.get(1).cloned().unwrap_or(rep);
        owners.insert(PlanFunction::ResidentRepresentative, resident);
    }
    owners
}

fn plan(
    rng: &mut SmallRng,
    index: usize,
    c: &Customer,
    reps: &[UserId],
    surveys: &[Survey],
    clock: &Clock,
    policy: &Policy,
) -> AccountPlan {
    let year = clock.today.year();
    let last = last_year_sales(c);
    let growth = rng.random_range(103..=118);
    let sales = round_to(pct_of(last, growth), 10_000);
    let margin_pct = if last > Decimal::ZERO {
        (c.profit_contribution * Decimal::from(100) / last).round()
    } else {
        Decimal::from(12)
    };
    let year_goals = PlanGoals {
        sales,
        profit_contribution: round_to(sales * margin_pct / Decimal::from(100), 1_000),
        satisfaction: rng.random_range(85..=92),
    };
    let quarter_goals = split_quarters(&year_goals);
    let start = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(clock.today);
    // Every seventh plan is still a draft waiting for HQ.
    let approval = (index % 7 != 3).then(|| PlanApproval {
        by: UserId::from(HQ_USER),
        at: clock.at(start + Duration::days(rng.random_range(15..40)), 16),
        revision: 1,
    });
    let rep = owner_of(c).cloned().unwrap_or_else(|| reps[index % reps.len()].clone());
    let evaluations = match &approval {
        Some(_) => evaluations(rng, c, &quarter_goals, &rep, surveys, year, clock, policy),
        None => BTreeMap::new(),
    };
    AccountPlan {
        id: plan_id(&c.id, year),
        customer_id: c.id.clone(),
        year,
        year_goals,
        quarter_goals,
        owners: plan_owners(c, index, reps, policy),
        sales_strategy: STRATEGIES[index % STRATEGIES.len()].to_owned(),
        service_plan: SERVICE_PLANS[index % SERVICE_PLANS.len()].to_owned(),
        revision: 1,
        approval,
        evaluations,
    }
}

/// The first and last day of `quarter` of `year`.
fn quarter_days(year: i32, quarter: u8) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(year, u32::from(quarter) * 3 - 2, 1)?;
    let last = first.checked_add_months(Months::new(3))?.pred_opt()?;
    Some((first, last))
}

/// Evaluations of the quarters that ended and whose evaluation date (a few days after the
/// quarter, within the policy's days) has come.
#[allow(clippy::too_many_arguments)]
fn evaluations(
    rng: &mut SmallRng,
    c: &Customer,
    goals: &BTreeMap<u8, PlanGoals>,
    rep: &UserId,
    surveys: &[Survey],
    year: i32,
    clock: &Clock,
    policy: &Policy,
) -> BTreeMap<u8, PlanEvaluation> {
    let within = i64::from(policy.plans.evaluation_days_after_quarter.max(1));
    let mut out = BTreeMap::new();
    for (&q, goal) in goals {
        let Some((first, last)) = quarter_days(year, q) else { continue };
        let on = last + Duration::days(rng.random_range(1..=within.min(10)));
        if on > clock.today {
            continue;
        }
        let actuals = PlanActuals {
            sales: pct_of(goal.sales, rng.random_range(82..=112)),
            profit_contribution: pct_of(goal.profit_contribution, rng.random_range(80..=115)),
            satisfaction: satisfaction_between(surveys, &c.id, first, last),
        };
        let adjustment = if actuals.sales >= goal.sales {
            "完成季度目标，维持原计划".to_owned()
        } else {
            "销售未达标：加强高层拜访，下季度推动新品导入弥补缺口".to_owned()
        };
        let evaluation = PlanEvaluation {
            quarter: q,
            actuals,
            adjustment,
            by: rep.clone(),
            at: clock.at(on, 17),
        };
        out.insert(q, evaluation);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Scorecards

/// The first day of the month `back` months before `today`'s.
fn month_start(today: NaiveDate, back: u32) -> Option<NaiveDate> {
    today.with_day(1)?.checked_sub_months(Months::new(back))
}

/// A rep's scorecard for the last complete month: a target of a twelfth of their customers'
/// sales last year plus growth, and the supervisor's, a peer's and a customer's rating, all
/// entered by HQ in the first days of this month.
fn scorecard(
    rng: &mut SmallRng,
    rep: &UserId,
    reps: &[UserId],
    customers: &[Customer],
    clock: &Clock,
) -> Scorecard {
    let start = month_start(clock.today, 1).unwrap_or(clock.today);
    let period = format!("{:04}-{:02}", start.year(), start.month());
    let sales: Decimal =
        customers.iter().filter(|c| owner_of(c) == Some(rep)).map(last_year_sales).sum();
    let sales_target = round_to(pct_of(sales, 110) / Decimal::from(12), 1_000);
    let entered_on = start.checked_add_months(Months::new(1)).unwrap_or(clock.today);
    let peer = reps.iter().find(|r| *r != rep).map_or("同事", |r| r.as_str()).to_owned();
    let ratings = [
        (RaterKind::Supervisor, "月度工作计划完成良好，客户拜访记录及时".to_owned()),
        (RaterKind::Peer, format!("{peer}：协作积极，信息共享及时")),
        (RaterKind::Customer, "客户反馈：响应快，问题跟进到位".to_owned()),
    ]
    .into_iter()
    .enumerate()
    .map(|(k, (rater, note))| {
        let r = Rating {
            id: EntryId(id_from(rng)),
            rater,
            by: UserId::from(HQ_USER),
            score: rng.random_range(70..=96),
            at: clock.at(entered_on, 9 + k as u32),
            note,
        };
        (r.id.clone(), r)
    })
    .collect();
    Scorecard {
        id: scorecard_id(rep, &period),
        person: rep.clone(),
        period,
        sales_target,
        ratings,
        published: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Leadership reviews

const FINDINGS: [(FindingKind, &str); 7] = [
    (FindingKind::VolumeSwing, "本月订货量环比下降18%，客户库存调整所致"),
    (FindingKind::NewBusiness, "客户新基地二期启动，预计新增年采购约1200万元"),
    (FindingKind::Quality, "一批次产品尺寸超差，客户退货200件"),
    (FindingKind::Delivery, "两次交货延迟3天，影响客户产线排产"),
    (FindingKind::Service, "售后响应超过48小时，客户不满"),
    (FindingKind::SeriousComplaint, "客户总经理来函投诉批量质量问题"),
    (FindingKind::Risk, "客户应收账款逾期45天，资金状况需关注"),
];

/// Who owns the measure for a finding of `kind` about `c`.
fn measure_owner(kind: FindingKind, c: &Customer) -> UserId {
    match kind {
        FindingKind::Quality | FindingKind::SeriousComplaint => UserId::from(QUALITY_USER),
        FindingKind::Service => UserId::from(AFTER_SALES_USER),
        FindingKind::Delivery => UserId::from(TECHNICAL_USER),
        _ => owner_of(c).cloned().unwrap_or_else(|| UserId::from(HQ_USER)),
    }
}

/// The review of the month `back` months ago, held on its 25th: a finding of every kind about
/// the strategic customers, and a measure for each. Last month's review leaves measures open
/// (one overdue); the one before is closed.
fn review(
    rng: &mut SmallRng,
    back: u32,
    customers: &[Customer],
    clock: &Clock,
) -> Option<LeadershipReview> {
    let start = month_start(clock.today, back)?;
    let held_on = start.with_day(25)?;
    let mut strategic: Vec<&Customer> =
        customers.iter().filter(|c| c.classification.strategic).collect();
    if strategic.is_empty() {
        strategic = customers.iter().collect();
    }
    if strategic.is_empty() {
        return None;
    }
    let attendees = [
        (HQ_USER, "总经理（组长）"),
        (FINANCE_USER, "财务总监"),
        (TECHNICAL_USER, "技术部经理"),
        (QUALITY_USER, "质量部经理"),
        (AFTER_SALES_USER, "售后服务部经理"),
    ]
    .into_iter()
    .map(|(id, name)| (UserId::from(id), name.to_owned()))
    .collect();
    let mut findings = BTreeMap::new();
    let mut measures = BTreeMap::new();
    for (k, (kind, text)) in FINDINGS.iter().enumerate() {
        let c = strategic[(k + back as usize) % strategic.len()];
        let f = Finding {
            id: EntryId(id_from(rng)),
            customer_id: c.id.clone(),
            kind: *kind,
            text: (*text).to_owned(),
        };
        findings.insert(f.id.clone(), f);
        let m = measure(rng, back, k, *kind, c, held_on, clock);
        measures.insert(m.id.clone(), m);
    }
    Some(LeadershipReview {
        id: ReviewId(format!("{:04}-{:02}", start.year(), start.month())),
        held_on,
        attendees,
        findings,
        measures,
    })
}

fn measure(
    rng: &mut SmallRng,
    back: u32,
    k: usize,
    kind: FindingKind,
    c: &Customer,
    held_on: NaiveDate,
    clock: &Clock,
) -> Measure {
    let owner = measure_owner(kind, c);
    // Last month: measures 0 and 1 closed, 2 overdue (due three days after the meeting, before
    // today), the rest open and due after today. The month before: all closed.
    let (due_on, closed) = match (back, k) {
        (1, 0 | 1) | (2, _) => (held_on + Duration::days(10 + k as i64), true),
        (1, 2) => (held_on + Duration::days(3), false),
        _ => (clock.today + Duration::days(7 + k as i64), false),
    };
    let closed = closed.then(|| {
        let on = (held_on + Duration::days(rng.random_range(2..=9))).min(clock.today);
        MeasureClosing {
            by: owner.clone(),
            at: clock.at(on, 15),
            note: "已落实并向客户反馈".into(),
        }
    });
    Measure {
        id: EntryId(id_from(rng)),
        customer_id: Some(c.id.clone()),
        text: format!("{}：制定整改计划并跟踪落实", kind.label_zh()),
        owner,
        due_on,
        closed,
    }
}
