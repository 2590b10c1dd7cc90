//! A seeded generator of realistic demo data: reps, customers across tiers with contacts and
//! visits, service tickets, a housing project with units and a selection event.
//!
//! The same seed always yields the same data, so benchmarks and demos are repeatable. The
//! benchmark builds a rep's replica from it; the server's demo mode loads it.

// Demo data only: every operand is `now` or a small constant range drawn from the seeded
// generator (days ago, a few percent of a sales figure), far inside `Decimal`'s and chrono's
// ranges; nothing here is computed from input or stored data (ADR 0017).
#![allow(clippy::arithmetic_side_effects)]

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use crate::model::{
    AccountPlan, Building, BuildingId, Buyer, BuyerId, Classification, Contact, ContactId,
    CreditTerms, Customer, CustomerId, CustomerProfile, EntryId, EventId, FollowUp, Grade, Lead,
    LeadershipReview, Organisation, PaymentTerms, PriceApproval, Project, ProjectId, Reply,
    Scorecard, SelectionEvent, SelectionMode, ServiceTicket, StatusChange, Survey, TicketId,
    TicketKind, TicketPriority, TicketStatus, Unit, UnitId, UnitStatus, UserId, VisitId,
    VisitLevel, VisitRecord,
};
use crate::policy::Policy;
use crate::rules;

mod accounts;
mod commissioning;

pub use accounts::{AFTER_SALES_USER, FINANCE_USER, HQ_USER, QUALITY_USER, TECHNICAL_USER};

/// How much demo data to make.
#[derive(Clone, Debug)]
pub struct DemoSpec {
    /// Seed for every random choice.
    pub seed: u64,
    /// Number of reps; customers are spread over them round-robin.
    pub reps: usize,
    /// Number of customers.
    pub customers: usize,
    /// Contacts per customer.
    pub contacts_per_customer: usize,
    /// Visit records per customer.
    pub visits_per_customer: usize,
    /// Service tickets, spread over the customers.
    pub tickets: usize,
    /// Housing units in the project.
    pub units: usize,
    /// Buyers on the selection event's list.
    pub buyers: usize,
    /// Whether to generate the account-management records (leads, plans, surveys, scorecards,
    /// reviews, organisations). Pages' tests that build their own turn them off.
    pub account_records: bool,
}

/// The largest multiple of the standard company [`DemoSpec::scaled`] builds (500 reps,
/// 30,000 customers, 200,000 tickets, 300,000 units).
pub const MAX_SCALE: u16 = 100;

/// Reps per step of [`DemoSpec::scaled`].
const REPS_PER_SCALE: usize = 5;

impl DemoSpec {
    /// The standard company `scale` times over, for headquarters at the size of a real
    /// company (`serve --demo --scale N`): per step 5 reps, 300 customers, 2,000 tickets, a
    /// 3,000-unit project and 200 buyers; 10 is 50 reps, 3,000 customers, 20,000 tickets and
    /// 30,000 units. `scale` is kept within 1 to [`MAX_SCALE`].
    pub fn scaled(scale: usize) -> DemoSpec {
        let n = scale.clamp(1, usize::from(MAX_SCALE));
        let step = DemoSpec::standard(REPS_PER_SCALE);
        DemoSpec {
            reps: step.reps.saturating_mul(n),
            customers: step.customers.saturating_mul(n),
            tickets: step.tickets.saturating_mul(n),
            units: step.units.saturating_mul(n),
            buyers: step.buyers.saturating_mul(n),
            ..step
        }
    }

    /// The size named by the benchmark and the demo: 300 customers with 5 contacts and 12
    /// visits each, 2,000 tickets, a 3,000-unit project.
    pub fn standard(reps: usize) -> DemoSpec {
        DemoSpec {
            seed: 20_261_123,
            reps,
            customers: 300,
            contacts_per_customer: 5,
            visits_per_customer: 12,
            tickets: 2_000,
            units: 3_000,
            buyers: 200,
            account_records: true,
        }
    }
}

/// The generated data.
#[derive(Clone, Debug)]
pub struct DemoData {
    /// The reps, `rep-01`...
    pub reps: Vec<UserId>,
    /// Customers.
    pub customers: Vec<Customer>,
    /// Tickets.
    pub tickets: Vec<ServiceTicket>,
    /// The project.
    pub project: Project,
    /// The selection event over the project's first units.
    pub event: SelectionEvent,
    /// Development leads: a handful per rep on their own customers, one per stage.
    pub leads: Vec<Lead>,
    /// This year's account plans of the strategic and key customers.
    pub plans: Vec<AccountPlan>,
    /// Periodic surveys over the last year on each customer's cadence, and after-service
    /// calls following some closed tickets.
    pub surveys: Vec<Survey>,
    /// Each rep's scorecard for the last complete month (targets and ratings; not published).
    pub scorecards: Vec<Scorecard>,
    /// The monthly leadership reviews of the last two months.
    pub reviews: Vec<LeadershipReview>,
    /// The project's candidate commissioning organisations.
    pub organisations: Vec<Organisation>,
}

const REGIONS: &[&str] = &["华东", "华南", "华北", "西南", "华中", "东北", "西北"];
const CITIES: &[&str] = &["上海", "深圳", "北京", "成都", "武汉", "沈阳", "西安", "杭州", "广州"];
const WORDS: &[&str] = &["宏达", "金鹏", "华信", "远航", "鼎盛", "恒通", "瑞丰", "新元", "天成"];
const INDUSTRIES: &[&str] = &["汽车零部件", "家电", "电子", "建材", "食品", "医药", "物流"];
const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
const GIVEN: &[&str] = &["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "杰"];
const TOPICS: &[&str] = &["年度合同", "交期", "新产品", "价格调整", "质量改进", "付款安排"];
const LAYOUTS: &[&str] = &["2室1厅1卫", "3室2厅1卫", "3室2厅2卫", "4室2厅2卫"];

fn pick<'a>(rng: &mut SmallRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn id_from(rng: &mut SmallRng) -> String {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid().to_string()
}

fn person(rng: &mut SmallRng) -> String {
    format!("{}{}", pick(rng, SURNAMES), pick(rng, GIVEN))
}

/// The name a demo user goes by: the reps `rep-01`, `rep-02`, … get distinct Chinese names (up
/// to rep 999), the other demo users fixed ones; an id the demo does not use keeps itself.
pub fn staff_name(user_id: &str) -> String {
    let fixed = match user_id {
        accounts::TECHNICAL_USER => Some("郑志刚"),
        accounts::QUALITY_USER => Some("冯丽"),
        accounts::AFTER_SALES_USER => Some("何军"),
        accounts::HQ_USER => Some("林国华"),
        accounts::FINANCE_USER => Some("孙丽华"),
        "staff-01" => Some("钱晓东"),
        "admin" => Some("系统管理员"),
        _ => None,
    };
    if let Some(name) = fixed {
        return name.to_owned();
    }
    let Some(n) = user_id.strip_prefix("rep-").and_then(|n| n.parse::<usize>().ok()) else {
        return user_id.to_owned();
    };
    // Surname by the last digit, given names by the others: distinct for every rep below 1000.
    let surname = SURNAMES.get(n % 10).copied().unwrap_or("王");
    let first = GIVEN.get((n / 10) % 10).copied().unwrap_or("伟");
    let second = if n >= 100 { GIVEN.get((n / 100) % 10).copied().unwrap_or("") } else { "" };
    format!("{surname}{first}{second}")
}

fn cny(amount: i64) -> Decimal {
    Decimal::new(amount, 2)
}

/// Generates the demo data as of `now`.
pub fn generate(spec: &DemoSpec, now: DateTime<Utc>, policy: &Policy) -> DemoData {
    let mut rng = SmallRng::seed_from_u64(spec.seed);
    let reps: Vec<UserId> = (1..=spec.reps.max(1)).map(|i| UserId(format!("rep-{i:02}"))).collect();
    let customers: Vec<Customer> =
        (0..spec.customers).map(|i| customer(&mut rng, i, &reps, spec, now, policy)).collect();
    let customers = grade_customers(customers, policy);
    // Tickets belong to customers: without customers there are none.
    let ticket_count = if customers.is_empty() { 0 } else { spec.tickets };
    let tickets: Vec<ServiceTicket> =
        (0..ticket_count).map(|i| ticket(&mut rng, i, &customers, &reps, now)).collect();
    let project = project(&mut rng, spec.units, now);
    let event = event(&mut rng, &project, spec.buyers, now);
    // The account-management records draw from a stream of their own, so they left the
    // records above exactly as a seed made them before they existed.
    let mut rng = SmallRng::seed_from_u64(spec.seed ^ 0x6b61_6d5f_6163_6374);
    let (records, organisations) = if spec.account_records {
        (
            accounts::generate(&mut rng, &reps, &customers, &tickets, now, policy),
            commissioning::organisations(&mut rng, &project, &event, now, policy),
        )
    } else {
        (accounts::AccountRecords::default(), Vec::new())
    };
    DemoData {
        reps,
        customers,
        tickets,
        project,
        event,
        leads: records.leads,
        plans: records.plans,
        surveys: records.surveys,
        scorecards: records.scorecards,
        reviews: records.reviews,
        organisations,
    }
}

fn customer(
    rng: &mut SmallRng,
    index: usize,
    reps: &[UserId],
    spec: &DemoSpec,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Customer {
    let today = policy.business_date(now);
    // Log-uniform sales between 0.5 M and 80 M CNY gives a realistic spread over the tiers.
    let exponent: f64 = rng.random_range(5.7..7.9);
    let sales_fen = (10f64.powf(exponent) * 100.0).round() as i64;
    let last_year = cny(sales_fen);
    let strategic = index.is_multiple_of(20);
    let leading_brand = rng.random_bool(0.6);
    let owner = reps[index % reps.len()].clone();
    let mut owners = vec![owner.clone()];
    if strategic && reps.len() > 1 {
        // Important customers have at least two staff in contact.
        owners.push(reps[(index + 1) % reps.len()].clone());
    }
    let contacts = (0..spec.contacts_per_customer)
        .map(|i| {
            let c = Contact {
                id: ContactId(id_from(rng)),
                name: person(rng),
                title: ["采购经理", "总经理", "技术总监", "质量经理", "财务"][i % 5].to_owned(),
                phone: format!("13{:09}", rng.random_range(0..1_000_000_000u64)),
                email: format!("contact{index}.{i}@example.cn"),
                primary: i == 0,
            };
            (c.id.clone(), c)
        })
        .collect();
    let visits = (0..spec.visits_per_customer)
        .map(|i| {
            let level = match rng.random_range(0..10) {
                0 => VisitLevel::Leadership,
                1 => VisitLevel::Technical,
                2 => VisitLevel::Quality,
                _ => VisitLevel::AccountManager,
            };
            let days_ago = rng.random_range(1..400);
            let v = VisitRecord {
                id: VisitId(id_from(rng)),
                level,
                date: today - Duration::days(days_ago),
                visitor: owner.clone(),
                topics: vec![pick(rng, TOPICS).to_owned(), pick(rng, TOPICS).to_owned()],
                personnel_changes: if i % 6 == 0 {
                    "采购经理更换".into()
                } else {
                    String::new()
                },
                problems: if i % 4 == 0 { "交期偏紧".into() } else { String::new() },
                demand: format!("预计下季度需求 {} 万元", rng.random_range(10..500)),
                competitor_activity: if i % 5 == 0 { "竞品降价".into() } else { String::new() },
            };
            (v.id.clone(), v)
        })
        .collect();
    let prior_year = (last_year * Decimal::new(rng.random_range(70..130), 2)).round_dp(2);
    // The approved tier is last year's decision, on the sales of the year before: where last
    // year's sales crossed a threshold, this year's re-grade proposes a change.
    let tier = rules::tier_for(prior_year, leading_brand, strategic, policy).tier;
    let year = today.year();
    Customer {
        id: CustomerId(id_from(rng)),
        created_at: now - Duration::days(rng.random_range(400..3000)),
        profile: CustomerProfile {
            name: format!(
                "{}{}{}有限公司",
                pick(rng, CITIES),
                pick(rng, WORDS),
                pick(rng, INDUSTRIES)
            ),
            industry: pick(rng, INDUSTRIES).to_owned(),
            region: pick(rng, REGIONS).to_owned(),
            address: format!("{}市{}路{}号", pick(rng, CITIES), pick(rng, WORDS), index + 1),
            leading_brand,
            notes: String::new(),
        },
        annual_sales: BTreeMap::from([(year - 1, last_year), (year - 2, prior_year)]),
        profit_contribution: (last_year * Decimal::new(rng.random_range(5..25), 2)).round_dp(2),
        owners,
        classification: Classification {
            strategic,
            tier,
            grade: None,
            score: Some(rng.random_range(35..98)),
        },
        credit: CreditTerms::default(),
        contacts,
        visits,
        late_payments: BTreeMap::new(),
    }
}

/// Grades every customer by its score under the forced distribution, and sets the credit
/// terms that grade allows.
fn grade_customers(mut customers: Vec<Customer>, policy: &Policy) -> Vec<Customer> {
    // The approved grades are last year's, from last year's scores: this year's score moved a
    // few points either way, so this year's re-grade proposes some changes.
    let scores: Vec<(usize, u32)> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let drift = (i * 7 % 13) as u32;
            (i, (c.classification.score.unwrap_or(0) + drift).saturating_sub(6))
        })
        .collect();
    for (i, grade) in rules::distribute_grades(&scores, policy) {
        let c = &mut customers[i];
        c.classification.grade = Some(grade);
        let last_sales = c.annual_sales.values().next_back().copied().unwrap_or(Decimal::ZERO);
        c.credit = CreditTerms {
            credit_grade: Some(grade),
            credit_limit: match grade {
                Grade::A => (last_sales / Decimal::from(4)).round_dp(2),
                Grade::B => (last_sales / Decimal::from(12)).round_dp(2),
                Grade::C | Grade::D => Decimal::ZERO,
            },
            payment_terms: match grade {
                Grade::A => PaymentTerms::NetDays { days: 90 },
                Grade::B => PaymentTerms::NetDays { days: 30 },
                Grade::C => PaymentTerms::CashOnDelivery,
                Grade::D => PaymentTerms::PaymentBeforeDelivery,
            },
        };
    }
    customers
}

fn ticket(
    rng: &mut SmallRng,
    index: usize,
    customers: &[Customer],
    reps: &[UserId],
    now: DateTime<Utc>,
) -> ServiceTicket {
    let customer = &customers[rng.random_range(0..customers.len())];
    let owner = customer.owners.first().cloned().unwrap_or_else(|| reps[0].clone());
    let opened_at = now - Duration::minutes(rng.random_range(30..(90 * 24 * 60)));
    let kind = [
        TicketKind::Inquiry,
        TicketKind::AfterSales,
        TicketKind::Quality,
        TicketKind::Complaint,
        TicketKind::Delivery,
    ][index % 5];
    let recent = now - opened_at < Duration::days(3);
    let status = if recent && rng.random_bool(0.7) {
        [TicketStatus::New, TicketStatus::InProgress, TicketStatus::Escalated][index % 3]
    } else if rng.random_bool(0.1) {
        TicketStatus::InProgress
    } else {
        TicketStatus::Closed
    };
    let mut replies = BTreeMap::new();
    if status != TicketStatus::New {
        let reply = Reply {
            id: EntryId(id_from(rng)),
            at: opened_at + Duration::minutes(rng.random_range(10..(30 * 60))),
            by: owner.clone(),
            body: "已收到，正在处理。".into(),
        };
        replies.insert(reply.id.clone(), reply);
    }
    let mut history = BTreeMap::new();
    if status != TicketStatus::New {
        let change = StatusChange {
            id: EntryId(id_from(rng)),
            from: TicketStatus::New,
            to: status,
            at: opened_at + Duration::hours(1),
            by: owner.clone(),
            note: String::new(),
        };
        history.insert(change.id.clone(), change);
    }
    ServiceTicket {
        id: TicketId(id_from(rng)),
        customer_id: customer.id.clone(),
        kind,
        priority: [
            TicketPriority::Normal,
            TicketPriority::High,
            TicketPriority::Low,
            TicketPriority::Urgent,
        ][rng.random_range(0..4)],
        title: format!("{}问题 #{}", ["咨询", "售后", "质量", "投诉"][index % 4], index + 1),
        description: "客户反映的问题描述。".into(),
        opened_at,
        opened_by: owner.clone(),
        owner: Some(owner.clone()),
        status,
        history,
        replies,
        preventive_action: None,
        follow_up: (status == TicketStatus::Closed).then(|| FollowUp {
            at: opened_at + Duration::days(3),
            by: owner,
            satisfaction: rng.random_range(3..=5),
            notes: "客户满意".into(),
        }),
    }
}

fn project(rng: &mut SmallRng, units: usize, now: DateTime<Utc>) -> Project {
    const UNITS_PER_FLOOR: usize = 4;
    const FLOORS: usize = 30;
    let building_count = units.div_ceil(UNITS_PER_FLOOR * FLOORS).max(1);
    let buildings: Vec<Building> = (1..=building_count)
        .map(|b| Building {
            id: BuildingId(id_from(rng)),
            name: format!("{b}号楼"),
            floors: FLOORS as u32,
        })
        .collect();
    let approval = PriceApproval {
        approvers: ["sales-director", "finance-director", "project-head", "gm", "chairman"]
            .into_iter()
            .map(UserId::from)
            .collect(),
        approved_at: now - Duration::days(7),
    };
    let units = (0..units)
        .map(|i| {
            let building = &buildings[i / (UNITS_PER_FLOOR * FLOORS)];
            let floor = (i / UNITS_PER_FLOOR) % FLOORS + 1;
            let unit = Unit {
                id: UnitId(id_from(rng)),
                code: format!(
                    "{}-{}{:02}",
                    i / (UNITS_PER_FLOOR * FLOORS) + 1,
                    floor,
                    i % UNITS_PER_FLOOR + 1
                ),
                building_id: building.id.clone(),
                floor: floor as i32,
                layout: pick(rng, LAYOUTS).to_owned(),
                area_m2: Decimal::new(rng.random_range(7_000..16_000), 2),
                // Higher floors cost a little more, as the approved price lists do.
                unit_price: Some(Decimal::from(18_000 + 50 * floor as i64)),
                approval: Some(approval.clone()),
                status: UnitStatus::Available,
                desk_hold: None,
            };
            (unit.id.clone(), unit)
        })
        .collect();
    Project {
        id: ProjectId(id_from(rng)),
        name: "滨江花园委建项目".into(),
        buildings: buildings.into_iter().map(|b| (b.id.clone(), b)).collect(),
        units,
    }
}

fn event(
    rng: &mut SmallRng,
    project: &Project,
    buyers: usize,
    now: DateTime<Utc>,
) -> SelectionEvent {
    let buyers = (0..buyers)
        .map(|i| {
            let b = Buyer {
                id: BuyerId(id_from(rng)),
                name: person(rng),
                id_number_hash: format!("{:064x}", rng.random::<u128>()),
                id_number_masked: format!("3301********{:04}", rng.random_range(0..10_000)),
                lottery_no: Some(i as u32 + 1),
            };
            (b.id.clone(), b)
        })
        .collect();
    SelectionEvent {
        id: EventId(id_from(rng)),
        project_id: project.id.clone(),
        name: "滨江花园第一批选房".into(),
        starts_at: now + Duration::days(3),
        mode: SelectionMode::StrictOrder,
        allotted_units: project.units.keys().take(500).cloned().collect(),
        buyers,
        now_serving: None,
    }
}
/// A tiny seeded company for the document layer's tests: one rep, two customers, `tickets`
/// tickets, `units` units and `buyers` buyers, generated on 2026-11-23.
#[cfg(test)]
pub(crate) fn tiny_company(tickets: usize, units: usize, buyers: usize) -> DemoData {
    use chrono::TimeZone;
    let spec = DemoSpec { customers: 2, tickets, units, buyers, ..DemoSpec::standard(1) };
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).single().unwrap_or_default();
    generate(&spec, now, &crate::Policy::default())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod records_tests;
