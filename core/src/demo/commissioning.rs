//! The demo project's commissioning organisations (委建单位, 001 六/七/十/十一): four
//! candidates with their analysis and offer, one chosen with the GM's and the chairman's
//! approval, its one price approval, a signed agreement with every required clause, and the
//! collections under it — one instalment partly paid, one overdue and chased.

// Demo data only, like the rest of `demo`: prices near the project's, a few instalments and
// dates near `now` (ADR 0017).
#![allow(clippy::arithmetic_side_effects)]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::Rng;
use rand::rngs::SmallRng;
use rust_decimal::Decimal;

use super::accounts::{FINANCE_USER, HQ_USER};
use super::id_from;
use crate::model::{
    Agreement, CandidateOffer, Collection, EntryId, Instalment, LoanSwitch, Organisation,
    OrganisationAnalysis, OrganisationId, OrganisationPrice, OrganisationStatus, PricingMethod,
    Project, Reconciliation, Reminder, SelectionEvent, Signoff, UserId,
};
use crate::policy::Policy;

/// The general manager and the chairman, as the project's price approvals name them.
const GM: &str = "gm";
const CHAIRMAN: &str = "chairman";

const CANDIDATES: [(&str, OrganisationStatus, &str); 4] = [
    ("滨江市第一人民医院", OrganisationStatus::Chosen, "医护人员住房需求集中，单位愿意统一组织"),
    ("滨江市税务局", OrganisationStatus::Negotiating, "职工收入稳定，已有部分职工购房"),
    ("华信电子集团", OrganisationStatus::Candidate, "年轻职工多，首付能力有限"),
    ("滨江区教育局", OrganisationStatus::Rejected, "单位可组织人数不足，付款比例偏低"),
];

/// The project's mean approved price per m², to the yuan.
fn mean_unit_price(project: &Project) -> Decimal {
    let prices: Vec<Decimal> = project.units.values().filter_map(|u| u.unit_price).collect();
    if prices.is_empty() {
        return Decimal::from(18_000);
    }
    (prices.iter().sum::<Decimal>() / Decimal::from(prices.len())).round()
}

/// The organisations for `project`.
pub(super) fn organisations(
    rng: &mut SmallRng,
    project: &Project,
    event: &SelectionEvent,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Vec<Organisation> {
    let today = policy.business_date(now);
    let mean = mean_unit_price(project);
    CANDIDATES
        .iter()
        .enumerate()
        .map(|(i, (name, status, staff))| {
            let offer = CandidateOffer {
                accepted_price_per_m2: (mean * Decimal::new(rng.random_range(94..=104), 2)).round(),
                payment_ratio_pct: Decimal::from([80, 70, 60, 50][i] + rng.random_range(0..=5)),
                resource_exchange: [8, 5, 2, 0][i],
                resource_exchange_note: [
                    "优先安排本院职工就医绿色通道",
                    "协助办理相关审批手续",
                    "提供企业团购渠道",
                    "",
                ][i]
                    .to_owned(),
                owner_occupier_pct: Decimal::from(rng.random_range(55..=90)),
            };
            let mut org = Organisation {
                id: OrganisationId(id_from(rng)),
                project_id: project.id.clone(),
                name: (*name).to_owned(),
                analysis: analysis(rng, staff, mean),
                offer,
                status: *status,
                approved_by_gm: None,
                approved_by_chairman: None,
                price: None,
                agreement: Agreement::default(),
                instalments: BTreeMap::new(),
                collections: BTreeMap::new(),
                reconciliations: BTreeMap::new(),
                reminders: BTreeMap::new(),
                loan_switches: BTreeMap::new(),
            };
            if *status == OrganisationStatus::Chosen {
                chosen(rng, &mut org, event, today, now, policy);
            }
            org
        })
        .collect()
}

fn analysis(rng: &mut SmallRng, staff: &str, mean: Decimal) -> OrganisationAnalysis {
    let low = (mean * Decimal::new(92, 2) / Decimal::from(100)).round() * Decimal::from(100);
    let high = (mean * Decimal::new(103, 2) / Decimal::from(100)).round() * Decimal::from(100);
    OrganisationAnalysis {
        first_contacts: format!("{}月与工会主席初次接触，态度积极", rng.random_range(1..=9)),
        model_acceptance: "了解委建模式，愿意由单位统一组织职工报名和付款".into(),
        previous_projects: "2019年曾组织职工团购城南某项目，均价约1.6万元/平方米".into(),
        strengths_weaknesses: "优势：距单位近、配套成熟；劣势：交房时间较晚".into(),
        staff_income_and_housing: staff.to_owned(),
        price_range: format!("{low}–{high} 元/平方米"),
    }
}

fn signoff(by: &str, day: NaiveDate, now: DateTime<Utc>) -> Signoff {
    let at = day.and_hms_opt(10, 0, 0).map_or(now, |t| t.and_utc().min(now));
    Signoff { by: UserId::from(by), at }
}

/// The chosen organisation: approvals, the blind price (a share of comparable projects), the
/// agreement, four instalments and what finance recorded against them.
fn chosen(
    rng: &mut SmallRng,
    org: &mut Organisation,
    event: &SelectionEvent,
    today: NaiveDate,
    now: DateTime<Utc>,
    policy: &Policy,
) {
    let days_ago = |d: i64| today - Duration::days(d);
    org.approved_by_gm = Some(signoff(GM, days_ago(120), now));
    org.approved_by_chairman = Some(signoff(CHAIRMAN, days_ago(118), now));
    // Blind pricing: comparable projects sell at `basis`; the price is the policy's share.
    let share = policy.commissioning.blind_price_pct_of_comparables;
    let basis = (org.offer.accepted_price_per_m2 * Decimal::from(100) / share / Decimal::from(100))
        .round()
        * Decimal::from(100);
    let price_per_m2 = (basis * share / Decimal::from(100)).round_dp(2);
    org.price = Some(OrganisationPrice {
        method: PricingMethod::Blind,
        basis_per_m2: basis,
        price_per_m2,
        payment_ratio_pct: org.offer.payment_ratio_pct,
        approved: signoff(GM, days_ago(115), now),
    });
    let buyers = u32::try_from(event.buyers.len()).unwrap_or(0);
    let selection_from = event.starts_at.date_naive();
    org.agreement = Agreement {
        buyers_listed: buyers,
        list_checked_by_audit: Some(signoff(HQ_USER, days_ago(106), now)),
        list_checked_by_finance: Some(signoff(FINANCE_USER, days_ago(105), now)),
        list_checked_by_lawyer: Some(signoff(HQ_USER, days_ago(104), now)),
        selection_from: Some(selection_from),
        selection_until: Some(selection_from + Duration::days(30)),
        payment_due_on: Some(days_ago(90)),
        renaming_rule: true,
        signed: Some(signoff(GM, days_ago(100), now)),
    };
    // What the organisation pays: its buyers' homes (about 95 m² each) at the approved price,
    // times the payment ratio, in four instalments of 30/30/20/20 %.
    let total = Decimal::from(buyers.max(1))
        * Decimal::from(95)
        * price_per_m2
        * org.offer.payment_ratio_pct
        / Decimal::from(100);
    let plan = [(30, 90, "首期款"), (30, 45, "第二期款"), (20, 10, "第三期款"), (20, -60, "尾款")];
    let instalments: Vec<Instalment> = plan
        .iter()
        .map(|(pct, ago, note)| Instalment {
            id: EntryId(id_from(rng)),
            due_on: days_ago(*ago),
            amount: (total * Decimal::from(*pct) / Decimal::from(100)).round_dp(2),
            note: (*note).to_owned(),
        })
        .collect();
    collections(rng, org, &instalments, event, today, policy);
    org.instalments = instalments.into_iter().map(|i| (i.id.clone(), i)).collect();
}

/// What finance recorded against the instalments: the first paid in full, the second 60 %,
/// the third overdue with nothing paid and chased; a reconciliation and a loan switch.
fn collections(
    rng: &mut SmallRng,
    org: &mut Organisation,
    instalments: &[Instalment],
    event: &SelectionEvent,
    today: NaiveDate,
    policy: &Policy,
) {
    let days_ago = |d: i64| today - Duration::days(d);
    let received = [
        (&instalments[0], instalments[0].amount, -2),
        (&instalments[1], (instalments[1].amount * Decimal::new(60, 2)).round_dp(2), 3),
    ];
    for (k, (inst, amount, late)) in received.iter().enumerate() {
        let c = Collection {
            id: EntryId(id_from(rng)),
            received_on: inst.due_on + Duration::days(*late),
            amount: *amount,
            receipt_no: format!("WJ{}-{:04}", today.format("%Y"), k + 1),
            by: UserId::from(FINANCE_USER),
        };
        org.collections.insert(c.id.clone(), c);
    }
    let receipts: Decimal = org.collections.values().map(|c| c.amount).sum();
    let rec = Reconciliation {
        id: EntryId(id_from(rng)),
        on: days_ago(5),
        bank_balance: receipts,
        receipts_total: receipts,
        by: UserId::from(FINANCE_USER),
        note: "共管账户余额与收据合计一致".into(),
    };
    org.reconciliations.insert(rec.id.clone(), rec);
    let reminder = Reminder {
        id: EntryId(id_from(rng)),
        instalment_id: instalments[2].id.clone(),
        on: days_ago(3),
        by: UserId::from(HQ_USER),
        note: "电话催缴第三期款，对方答复本月15日前汇出".into(),
    };
    org.reminders.insert(reminder.id.clone(), reminder);
    let buyer = event.buyers.values().next().map_or_else(|| "王伟".to_owned(), |b| b.name.clone());
    let switch = LoanSwitch {
        id: EntryId(id_from(rng)),
        buyer,
        // Within the policy's range (1,000–3,000 CNY by default), to the hundred.
        fee: (Decimal::from(rng.random_range(10..=30) * 100))
            .clamp(policy.selection.loan_switch_fee_min, policy.selection.loan_switch_fee_max),
        on: days_ago(20),
    };
    org.loan_switches.insert(switch.id.clone(), switch);
}
