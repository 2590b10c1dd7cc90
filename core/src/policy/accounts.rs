//! The account-management tables of the policy (RULES.md §8–12): key-account candidates,
//! account plans, satisfaction surveys, staff scorecards and commissioning organisations.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Policy, cny, require};
use crate::bounds::{
    Bound, POLICY_BLIND_PRICE_PCT, POLICY_CANDIDATE_PROFIT_SHARE, POLICY_CANDIDATE_PURCHASE,
    POLICY_DUNNING_DAYS, POLICY_EVALUATION_DAYS, POLICY_EXPERIENCE_MARKUP, POLICY_MIN_CANDIDATES,
    POLICY_REMINDER_INTERVAL, POLICY_RESIDENT_REP_SALES, POLICY_SCORECARD_WEIGHT,
    POLICY_SURVEY_MONTHS,
};

/// The numbers of the account-management tables (pipeline, plans, surveys, scorecards,
/// commissioning) with their paths and documented ranges.
pub(super) fn account_values(
    policy: &Policy,
    push: &mut impl FnMut(&str, &'static Bound, Decimal),
) {
    let int = |v: u32| Decimal::from(v);
    let pl = &policy.pipeline;
    let purchase = pl.candidate_min_annual_purchase;
    push("pipeline.candidate_min_annual_purchase", &POLICY_CANDIDATE_PURCHASE, purchase);
    let share = pl.candidate_min_profit_share_pct;
    push("pipeline.candidate_min_profit_share_pct", &POLICY_CANDIDATE_PROFIT_SHARE, share);
    let pn = &policy.plans;
    let resident = pn.resident_representative_min_annual_sales;
    push("plans.resident_representative_min_annual_sales", &POLICY_RESIDENT_REP_SALES, resident);
    let days = int(pn.evaluation_days_after_quarter);
    push("plans.evaluation_days_after_quarter", &POLICY_EVALUATION_DAYS, days);
    let s = &policy.surveys;
    for (name, months) in [
        ("key_interval_months", s.key_interval_months),
        ("other_interval_months", s.other_interval_months),
        ("satisfaction_window_months", s.satisfaction_window_months),
    ] {
        push(&format!("surveys.{name}"), &POLICY_SURVEY_MONTHS, int(months));
    }
    for (name, weight) in policy.scorecards.weights.named() {
        push(&format!("scorecards.weights.{name}"), &POLICY_SCORECARD_WEIGHT, int(weight));
    }
    let c = &policy.commissioning;
    push("commissioning.min_candidates", &POLICY_MIN_CANDIDATES, int(c.min_candidates));
    let blind = c.blind_price_pct_of_comparables;
    push("commissioning.blind_price_pct_of_comparables", &POLICY_BLIND_PRICE_PCT, blind);
    push("commissioning.experience_markup_pct", &POLICY_EXPERIENCE_MARKUP, c.experience_markup_pct);
    push("commissioning.dunning_after_days", &POLICY_DUNNING_DAYS, int(c.dunning_after_days));
    let interval = int(c.reminder_interval_days);
    push("commissioning.reminder_interval_days", &POLICY_REMINDER_INTERVAL, interval);
}

policy_table! {
    /// Key-account candidates among development leads (003 二, RULES.md §8).
    PipelinePolicy {
        /// A lead whose expected yearly purchase is *above* this amount (CNY) is a candidate
        /// (003 二 1: 购买金额超过一定限额(如100万元); 超过 = strictly above).
        candidate_min_annual_purchase: Decimal = cny(1_000_000),
        /// A lead whose profit contribution is *above* this share of our profit (percent) is a
        /// candidate (003 二 2: 贡献利润超过一定比例(如10%)).
        candidate_min_profit_share_pct: Decimal = Decimal::new(10, 0),
    }
}

policy_table! {
    /// Account plans and their quarterly evaluation (RULES.md §9).
    PlanPolicy {
        /// Accounts with at least this yearly sales (CNY) need a resident representative
        /// (000 §4.2.1.1: 5000万以上; 以上 includes the amount itself).
        resident_representative_min_annual_sales: Decimal = cny(50_000_000),
        /// A quarter's evaluation is due from the day after the quarter ends and overdue once
        /// this many days have passed since its end.
        evaluation_days_after_quarter: u32 = 15,
    }
}

policy_table! {
    /// Periodic satisfaction surveys (RULES.md §10).
    SurveyPolicy {
        /// Months between periodic surveys of strategic and key customers.
        key_interval_months: u32 = 3,
        /// Months between periodic surveys of the other customers.
        other_interval_months: u32 = 6,
        /// Surveys taken within this many months before today count for a customer's
        /// satisfaction.
        satisfaction_window_months: u32 = 12,
    }
}

impl SurveyPolicy {
    pub(super) fn check(&self, p: &mut Vec<String>) {
        require(
            p,
            self.key_interval_months <= self.other_interval_months,
            "surveys.key_interval_months must not be longer than other_interval_months",
        );
        // Otherwise a customer surveyed exactly on its cadence could have no survey counted.
        require(
            p,
            self.satisfaction_window_months >= self.other_interval_months,
            "surveys.satisfaction_window_months must be at least other_interval_months",
        );
    }
}

policy_table! {
    /// The weight of each scorecard measure in percent (002 绩效考核, RULES.md §10); they
    /// must add up to exactly 100.
    ScorecardWeights {
        /// Sales against target.
        sales: u32 = 30,
        /// Visits made against visits due.
        visit_compliance: u32 = 15,
        /// Tickets answered within the reply SLA.
        reply_sla: u32 = 10,
        /// Customer satisfaction from the surveys.
        satisfaction: u32 = 10,
        /// Leads won of the leads closed.
        pipeline_won: u32 = 10,
        /// The supervisor's rating (上级评价).
        supervisor_rating: u32 = 10,
        /// Colleagues' ratings (同事评价).
        peer_rating: u32 = 5,
        /// Customers' ratings (客户评价).
        customer_rating: u32 = 10,
    }
}

impl ScorecardWeights {
    /// Every weight with its name in the policy file, in the order of the file.
    pub fn named(&self) -> [(&'static str, u32); 8] {
        [
            ("sales", self.sales),
            ("visit_compliance", self.visit_compliance),
            ("reply_sla", self.reply_sla),
            ("satisfaction", self.satisfaction),
            ("pipeline_won", self.pipeline_won),
            ("supervisor_rating", self.supervisor_rating),
            ("peer_rating", self.peer_rating),
            ("customer_rating", self.customer_rating),
        ]
    }

    /// Sum of the weights (saturating, so absurd inputs cannot overflow).
    pub fn total(&self) -> u32 {
        self.named().iter().fold(0u32, |acc, (_, w)| acc.saturating_add(*w))
    }
}

policy_table! {
    /// Staff scorecards (002 绩效考核).
    ScorecardPolicy {
        /// The weight of each measure, in percent.
        weights: ScorecardWeights = Default::default(),
    }
}

impl ScorecardPolicy {
    pub(super) fn check(&self, p: &mut Vec<String>) {
        let total = self.weights.total();
        if total != 100 {
            p.push(format!("scorecards.weights must add up to 100, not {total}"));
        }
    }
}

policy_table! {
    /// Commissioning organisations (委建单位, 001 六/七/十). The minimum payment ratio and the
    /// loan-switch fee range are the selection policy's (`selection.min_payment_ratio_pct`,
    /// `selection.loan_switch_fee_min` / `_max`); they are not repeated here.
    CommissioningPolicy {
        /// Candidates the key-account department hands to the negotiation group, at least
        /// (001 六: 应至少提供给委建房谈判小组3家).
        min_candidates: u32 = 3,
        /// "Blind" pricing: this share of comparable projects' price per m², percent
        /// (001 七.(一)2: 周边相同水平楼盘销售价格的80%).
        blind_price_pct_of_comparables: Decimal = Decimal::new(80, 0),
        /// "Experience" pricing: total cost per m² plus this markup, percent
        /// (001 七.(一)3: 总成本的基础之上每平米应当加上30%).
        experience_markup_pct: Decimal = Decimal::new(30, 0),
        /// Days past an instalment's due date before a reminder is due. A policy default, not
        /// a seed fact: 001 十 says to chase what is overdue under the contract, so the first
        /// day overdue (0 days of grace) is the default.
        dunning_after_days: u32 = 0,
        /// A new reminder is due when the last one for the instalment is older than this many
        /// days. A policy default: weekly chasing.
        reminder_interval_days: u32 = 7,
    }
}
