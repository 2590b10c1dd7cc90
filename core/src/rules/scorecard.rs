//! Staff scorecards (绩效考核, 002; 003 六.1; RULES.md §10): eight weighted measures, each
//! computed from the records with a sentence saying how, and who may rate whom.
//!
//! **A measure with nothing to measure scores full marks** (attainment 100): no sales
//! target, no visit or reply due, no survey, no lead closed, no rating of a kind yet. The
//! period asked nothing of the person there, so nothing was missed; scoring zero would punish
//! them for what the period did not bring, and re-weighting the other measures would publish
//! weights that differ from the policy's. The line's `basis` says so (按满分计), and a
//! scorecard is recomputed when ratings arrive.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::bounds::{Overflow, add, mul, sum};
use crate::model::{
    PublishedScorecard, RaterKind, Rating, Role, ScorecardLine, UserId, vocabulary,
};
use crate::policy::{Policy, ScorecardWeights};

use super::pipeline::percent_1dp;

/// One measure of a scorecard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreMeasure {
    /// Sales against target (业绩指标).
    Sales,
    /// Visits made against visits due.
    VisitCompliance,
    /// Tickets answered within the reply SLA.
    ReplySla,
    /// Customer satisfaction from the surveys.
    Satisfaction,
    /// Leads won of the leads closed.
    PipelineWon,
    /// 上级评价.
    SupervisorRating,
    /// 同事评价.
    PeerRating,
    /// 客户评价.
    CustomerRating,
}
vocabulary!(ScoreMeasure, "score measure", {
    Sales => "sales", VisitCompliance => "visit_compliance", ReplySla => "reply_sla",
    Satisfaction => "satisfaction", PipelineWon => "pipeline_won",
    SupervisorRating => "supervisor_rating", PeerRating => "peer_rating",
    CustomerRating => "customer_rating"
});

impl ScoreMeasure {
    /// The Chinese name used on screens and exports.
    pub fn label_zh(self) -> &'static str {
        match self {
            ScoreMeasure::Sales => "销售业绩",
            ScoreMeasure::VisitCompliance => "拜访完成率",
            ScoreMeasure::ReplySla => "按时答复率",
            ScoreMeasure::Satisfaction => "客户满意度",
            ScoreMeasure::PipelineWon => "客户开发成功率",
            ScoreMeasure::SupervisorRating => "上级评价",
            ScoreMeasure::PeerRating => "同事评价",
            ScoreMeasure::CustomerRating => "客户评价",
        }
    }

    /// The English name.
    pub fn label_en(self) -> &'static str {
        match self {
            ScoreMeasure::Sales => "Sales against target",
            ScoreMeasure::VisitCompliance => "Visit compliance",
            ScoreMeasure::ReplySla => "Replies within SLA",
            ScoreMeasure::Satisfaction => "Customer satisfaction",
            ScoreMeasure::PipelineWon => "Leads won",
            ScoreMeasure::SupervisorRating => "Supervisor rating",
            ScoreMeasure::PeerRating => "Peer rating",
            ScoreMeasure::CustomerRating => "Customer rating",
        }
    }

    /// The measure's weight in percent.
    pub fn weight(self, weights: &ScorecardWeights) -> u32 {
        match self {
            ScoreMeasure::Sales => weights.sales,
            ScoreMeasure::VisitCompliance => weights.visit_compliance,
            ScoreMeasure::ReplySla => weights.reply_sla,
            ScoreMeasure::Satisfaction => weights.satisfaction,
            ScoreMeasure::PipelineWon => weights.pipeline_won,
            ScoreMeasure::SupervisorRating => weights.supervisor_rating,
            ScoreMeasure::PeerRating => weights.peer_rating,
            ScoreMeasure::CustomerRating => weights.customer_rating,
        }
    }

    /// The rating measure of a kind of rater.
    fn of_rater(rater: RaterKind) -> ScoreMeasure {
        match rater {
            RaterKind::Supervisor => ScoreMeasure::SupervisorRating,
            RaterKind::Peer => ScoreMeasure::PeerRating,
            RaterKind::Customer => ScoreMeasure::CustomerRating,
        }
    }
}

/// What a scorecard is computed from: the target and ratings from the scorecard document,
/// the counts from the period's records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScorecardInputs {
    /// Sales booked in the period, CNY.
    pub sales_actual: Decimal,
    /// The period's sales target, CNY.
    pub sales_target: Decimal,
    /// Due visits made.
    pub visits_done: u32,
    /// Visits due in the period.
    pub visits_due: u32,
    /// Tickets answered within the SLA.
    pub replies_on_time: u32,
    /// Tickets whose reply fell due in the period.
    pub replies_due: u32,
    /// Satisfaction of the person's customers (`rules::satisfaction_factor`), 0–100.
    pub satisfaction: Option<u8>,
    /// Leads won in the period.
    pub leads_won: u32,
    /// Leads won or lost in the period.
    pub leads_closed: u32,
    /// Ratings given for the period.
    pub ratings: Vec<Rating>,
}

/// Why a scorecard cannot be computed, a period read or a rating accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScorecardError {
    /// The policy's weights do not add up to 100 (only an unvalidated policy).
    #[error("考核权重合计 {total}，应为 100 (scorecard weights add up to {total}, not 100)")]
    WeightsNotHundred {
        /// The sum.
        total: u32,
    },
    /// A negative sales target.
    #[error("销售目标 {target} 不能为负 (the sales target {target} is negative)")]
    NegativeTarget {
        /// The target.
        target: Decimal,
    },
    /// A part larger than its whole (more replies on time than due, more won than closed).
    #[error("{}：{part} 大于 {whole} ({measure}: {part} is more than {whole})", measure.label_zh())]
    CountsInconsistent {
        /// The measure.
        measure: ScoreMeasure,
        /// The part.
        part: u32,
        /// The whole.
        whole: u32,
    },
    /// A satisfaction or rating above 100.
    #[error("{}得分 {score} 超过 100 ({measure} score {score} is above 100)", measure.label_zh())]
    ScoreOutOfRange {
        /// The measure.
        measure: ScoreMeasure,
        /// The score.
        score: u8,
    },
    /// A period that is neither `YYYY-MM` nor `YYYY`.
    #[error("考核期间 {period} 应为 YYYY-MM 或 YYYY (period {period} is neither YYYY-MM nor YYYY)")]
    BadPeriod {
        /// The text given.
        period: String,
    },
    /// Nobody rates themselves.
    #[error("不能为自己评分 (a person may not rate themselves)")]
    SelfRating,
    /// Customer ratings are entered by headquarters from what the customer said.
    #[error("客户评价须由总部录入 (customer ratings are entered by headquarters)")]
    CustomerRatingNotByHq,
    /// The figures are too large to compute.
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

impl ScorecardError {
    /// Stable machine code, the same as the serde `kind`.
    pub fn code(&self) -> &'static str {
        match self {
            ScorecardError::WeightsNotHundred { .. } => "weights_not_hundred",
            ScorecardError::NegativeTarget { .. } => "negative_target",
            ScorecardError::CountsInconsistent { .. } => "counts_inconsistent",
            ScorecardError::ScoreOutOfRange { .. } => "score_out_of_range",
            ScorecardError::BadPeriod { .. } => "bad_period",
            ScorecardError::SelfRating => "self_rating",
            ScorecardError::CustomerRatingNotByHq => "customer_rating_not_by_hq",
            ScorecardError::Overflow(_) => "arithmetic_overflow",
        }
    }
}

/// Groups digits by thousands: `1200000` → `1,200,000`, `-1234.5` → `-1,234.5`.
fn grouped(value: Decimal) -> String {
    let text = value.normalize().to_string();
    let (sign, digits) = text.strip_prefix('-').map_or(("", text.as_str()), |d| ("-", d));
    let (int, frac) = digits.split_once('.').map_or((digits, None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && int.len().saturating_sub(i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    frac.map_or(format!("{sign}{out}"), |f| format!("{sign}{out}.{f}"))
}

/// Attainment and basis for `part / whole`: capped to 0–100, full marks when `whole` is not
/// positive (nothing to measure).
fn ratio(
    part: Decimal,
    whole: Decimal,
    labels: (&str, &str),
    nothing: &str,
) -> Result<(Decimal, String), ScorecardError> {
    if whole <= Decimal::ZERO {
        return Ok((Decimal::ONE_HUNDRED, format!("{nothing}，按满分计")));
    }
    let pct = percent_1dp(part, whole).ok_or(Overflow { what: "scorecard ratio" })?;
    let capped = pct.clamp(Decimal::ZERO, Decimal::ONE_HUNDRED);
    let mut basis =
        format!("{} {} / {} {} = {pct:.1}%", labels.0, grouped(part), labels.1, grouped(whole));
    if capped != pct {
        basis.push_str(&format!("，按 {capped}% 计"));
    }
    Ok((capped.round_dp(1), basis))
}

/// Attainment and basis of one rating kind: the mean of its scores, one decimal.
fn rating_line(ratings: &[Rating], rater: RaterKind) -> Result<(Decimal, String), ScorecardError> {
    let measure = ScoreMeasure::of_rater(rater);
    let scores: Vec<u8> = ratings.iter().filter(|r| r.rater == rater).map(|r| r.score).collect();
    if let Some(score) = scores.iter().find(|s| **s > 100) {
        return Err(ScorecardError::ScoreOutOfRange { measure, score: *score });
    }
    let label = measure.label_zh();
    if scores.is_empty() {
        return Ok((Decimal::ONE_HUNDRED, format!("尚无{label}，按满分计")));
    }
    let total = sum("ratings", scores.iter().map(|s| Decimal::from(*s)))?;
    let count = Decimal::from(scores.len());
    let mean = percent_1dp(total, mul("ratings", count, Decimal::ONE_HUNDRED)?)
        .ok_or(Overflow { what: "rating mean" })?;
    let list = scores.iter().map(u8::to_string).collect::<Vec<_>>().join("、");
    Ok((mean, format!("{label} {} 份（{list}），平均 {mean:.1}", scores.len())))
}

/// Refuses a part larger than its whole.
fn consistent(measure: ScoreMeasure, part: u32, whole: u32) -> Result<(), ScorecardError> {
    if part > whole {
        return Err(ScorecardError::CountsInconsistent { measure, part, whole });
    }
    Ok(())
}

/// Attainment (0–100) and basis of one measure.
fn measure_line(
    measure: ScoreMeasure,
    inputs: &ScorecardInputs,
) -> Result<(Decimal, String), ScorecardError> {
    let n = |v: u32| Decimal::from(v);
    match measure {
        ScoreMeasure::Sales => {
            ratio(inputs.sales_actual, inputs.sales_target, ("销售额", "目标"), "本期无销售目标")
        }
        ScoreMeasure::VisitCompliance => {
            let (done, due) = (inputs.visits_done, inputs.visits_due);
            ratio(n(done), n(due), ("已拜访", "应拜访"), "本期无应拜访")
        }
        ScoreMeasure::ReplySla => {
            let (on_time, due) = (inputs.replies_on_time, inputs.replies_due);
            consistent(measure, on_time, due)?;
            ratio(n(on_time), n(due), ("按时答复", "应答复"), "本期无应答复工单")
        }
        ScoreMeasure::Satisfaction => match inputs.satisfaction {
            None => Ok((Decimal::ONE_HUNDRED, "本期无满意度调查，按满分计".to_owned())),
            Some(score) if score > 100 => Err(ScorecardError::ScoreOutOfRange { measure, score }),
            Some(score) => Ok((n(score.into()), format!("客户满意度 {score} 分 = {score}.0%"))),
        },
        ScoreMeasure::PipelineWon => {
            let (won, closed) = (inputs.leads_won, inputs.leads_closed);
            consistent(measure, won, closed)?;
            ratio(n(won), n(closed), ("赢单", "已结束线索"), "本期无已结束线索")
        }
        ScoreMeasure::SupervisorRating => rating_line(&inputs.ratings, RaterKind::Supervisor),
        ScoreMeasure::PeerRating => rating_line(&inputs.ratings, RaterKind::Peer),
        ScoreMeasure::CustomerRating => rating_line(&inputs.ratings, RaterKind::Customer),
    }
}

/// Computes every measure's attainment, points (attainment × weight / 100, to the hundredth,
/// half up) and basis, and the total. A negative sales result (returns) scores 0, sales
/// above target and extra visits cap at 100.
pub fn compute_scorecard(
    inputs: &ScorecardInputs,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<PublishedScorecard, ScorecardError> {
    let weights = &policy.scorecards.weights;
    let total_weight = weights.total();
    if total_weight != 100 {
        return Err(ScorecardError::WeightsNotHundred { total: total_weight });
    }
    if inputs.sales_target < Decimal::ZERO {
        return Err(ScorecardError::NegativeTarget { target: inputs.sales_target });
    }
    let mut published =
        PublishedScorecard { computed_at: now, lines: Default::default(), total: Decimal::ZERO };
    for measure in ScoreMeasure::ALL.iter().copied() {
        let (attainment, basis) = measure_line(measure, inputs)?;
        let weight_pct = measure.weight(weights);
        let points = mul("scorecard points", attainment, Decimal::from(weight_pct))?
            .checked_div(Decimal::ONE_HUNDRED)
            .ok_or(Overflow { what: "scorecard points" })?
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        published.total = add("scorecard total", published.total, points)?;
        let line = ScorecardLine {
            measure: measure.as_str().to_owned(),
            attainment,
            weight_pct,
            points,
            basis,
        };
        published.lines.insert(measure.as_str().to_owned(), line);
    }
    Ok(published)
}

/// The first and last day of a scorecard period: `YYYY-MM` for a month, `YYYY` for a year.
pub fn period_bounds(period: &str) -> Result<(NaiveDate, NaiveDate), ScorecardError> {
    let bad = || ScorecardError::BadPeriod { period: period.to_owned() };
    let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    let (year, month) = match period.split_once('-') {
        Some((y, m)) if digits(y, 4) && digits(m, 2) => (y, Some(m)),
        None if digits(period, 4) => (period, None),
        _ => return Err(bad()),
    };
    let year: i32 = year.parse().map_err(|_| bad())?;
    let (first, next) = match month {
        None => (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year.checked_add(1).ok_or_else(bad)?, 1, 1),
        ),
        Some(m) => {
            let m: u32 = m.parse().map_err(|_| bad())?;
            let first = NaiveDate::from_ymd_opt(year, m, 1);
            (first, first.and_then(|f| f.checked_add_months(chrono::Months::new(1))))
        }
    };
    let (first, next) = first.zip(next).ok_or_else(bad)?;
    let last = next.pred_opt().ok_or_else(bad)?;
    Ok((first, last))
}

/// Whether `by` (with `by_role`) may give `person` a rating of kind `rater` with `score`:
/// nobody rates themselves, a score is 0–100, and customer ratings are entered by
/// headquarters (or an administrator) from what the customer said.
pub fn check_rating(
    rater: RaterKind,
    by_role: Role,
    by: &UserId,
    person: &UserId,
    score: u8,
) -> Result<(), ScorecardError> {
    if by == person {
        return Err(ScorecardError::SelfRating);
    }
    if score > 100 {
        return Err(ScorecardError::ScoreOutOfRange {
            measure: ScoreMeasure::of_rater(rater),
            score,
        });
    }
    if rater == RaterKind::Customer && !matches!(by_role, Role::Hq | Role::Admin) {
        return Err(ScorecardError::CustomerRatingNotByHq);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::model::EntryId;

    fn rating(rater: RaterKind, score: u8) -> Rating {
        Rating {
            id: EntryId::from("r"),
            rater,
            by: UserId::from("boss"),
            score,
            at: Utc::now(),
            note: String::new(),
        }
    }

    fn inputs() -> ScorecardInputs {
        ScorecardInputs {
            sales_actual: dec!(1200000),
            sales_target: dec!(1500000),
            visits_done: 9,
            visits_due: 10,
            replies_on_time: 8,
            replies_due: 10,
            satisfaction: Some(88),
            leads_won: 2,
            leads_closed: 5,
            ratings: vec![
                rating(RaterKind::Supervisor, 80),
                rating(RaterKind::Supervisor, 91),
                rating(RaterKind::Peer, 70),
            ],
        }
    }

    #[test]
    fn measures_have_stable_codes_and_labels() {
        assert_eq!(ScoreMeasure::ALL.len(), 8);
        assert_eq!(ScoreMeasure::ReplySla.as_str(), "reply_sla");
        assert_eq!("peer_rating".parse::<ScoreMeasure>(), Ok(ScoreMeasure::PeerRating));
        assert_eq!(ScoreMeasure::CustomerRating.label_zh(), "客户评价");
        let w = Policy::default().scorecards.weights;
        let total: u32 = ScoreMeasure::ALL.iter().map(|m| m.weight(&w)).sum();
        assert_eq!(total, 100);
    }

    #[test]
    fn a_scorecard_shows_each_computation() {
        let now = Utc::now();
        let card = compute_scorecard(&inputs(), &Policy::default(), now).unwrap();
        let line = |m: ScoreMeasure| card.lines[m.as_str()].clone();
        let sales = line(ScoreMeasure::Sales);
        assert_eq!(sales.basis, "销售额 1,200,000 / 目标 1,500,000 = 80.0%");
        assert_eq!(
            (sales.attainment, sales.weight_pct, sales.points),
            (dec!(80.0), 30, dec!(24.00))
        );
        assert_eq!(line(ScoreMeasure::VisitCompliance).points, dec!(13.50));
        assert_eq!(line(ScoreMeasure::ReplySla).attainment, dec!(80.0));
        assert_eq!(line(ScoreMeasure::Satisfaction).basis, "客户满意度 88 分 = 88.0%");
        assert_eq!(line(ScoreMeasure::PipelineWon).attainment, dec!(40.0));
        let sup = line(ScoreMeasure::SupervisorRating);
        assert_eq!(sup.attainment, dec!(85.5));
        assert_eq!(sup.basis, "上级评价 2 份（80、91），平均 85.5");
        assert_eq!(line(ScoreMeasure::PeerRating).points, dec!(3.50));
        let customer = line(ScoreMeasure::CustomerRating);
        assert_eq!((customer.attainment, customer.points), (dec!(100), dec!(10.00)));
        assert!(customer.basis.contains("按满分计"), "{}", customer.basis);
        // 24 + 13.5 + 8 + 8.8 + 4 + 8.55 + 3.5 + 10
        assert_eq!(card.total, dec!(80.35));
        assert_eq!(card.computed_at, now);
    }

    #[test]
    fn caps_floors_and_nothing_to_measure() {
        let p = Policy::default();
        let over = ScorecardInputs { sales_actual: dec!(1800000), visits_done: 12, ..inputs() };
        let card = compute_scorecard(&over, &p, Utc::now()).unwrap();
        let sales = &card.lines["sales"];
        assert_eq!(sales.attainment, dec!(100));
        assert!(sales.basis.ends_with("= 120.0%，按 100% 计"), "{}", sales.basis);
        assert_eq!(card.lines["visit_compliance"].attainment, dec!(100));
        let returns = ScorecardInputs { sales_actual: dec!(-1000), ..inputs() };
        let card = compute_scorecard(&returns, &p, Utc::now()).unwrap();
        assert_eq!(card.lines["sales"].attainment, dec!(0));
        let empty = ScorecardInputs::default();
        let card = compute_scorecard(&empty, &p, Utc::now()).unwrap();
        assert_eq!(card.total, dec!(100.00));
        assert!(card.lines.values().all(|l| l.basis.contains("按满分计")));
    }

    #[test]
    fn inconsistent_inputs_and_policy_are_refused() {
        let p = Policy::default();
        let now = Utc::now();
        let bad = ScorecardInputs { replies_on_time: 11, ..inputs() };
        assert_eq!(compute_scorecard(&bad, &p, now).unwrap_err().code(), "counts_inconsistent");
        let bad = ScorecardInputs { leads_won: 6, ..inputs() };
        assert!(compute_scorecard(&bad, &p, now).is_err());
        let bad = ScorecardInputs { satisfaction: Some(101), ..inputs() };
        assert_eq!(compute_scorecard(&bad, &p, now).unwrap_err().code(), "score_out_of_range");
        let bad = ScorecardInputs { ratings: vec![rating(RaterKind::Peer, 101)], ..inputs() };
        assert!(compute_scorecard(&bad, &p, now).is_err());
        let bad = ScorecardInputs { sales_target: dec!(-1), ..inputs() };
        assert_eq!(compute_scorecard(&bad, &p, now).unwrap_err().code(), "negative_target");
        for sales in [29, 31] {
            let mut p = Policy::default();
            p.scorecards.weights.sales = sales;
            let err = compute_scorecard(&inputs(), &p, now).unwrap_err();
            assert_eq!(err, ScorecardError::WeightsNotHundred { total: sales + 70 });
        }
    }

    #[test]
    fn periods() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(period_bounds("2026-02"), Ok((d(2026, 2, 1), d(2026, 2, 28))));
        assert_eq!(period_bounds("2028-02"), Ok((d(2028, 2, 1), d(2028, 2, 29))));
        assert_eq!(period_bounds("2026-12"), Ok((d(2026, 12, 1), d(2026, 12, 31))));
        assert_eq!(period_bounds("2026"), Ok((d(2026, 1, 1), d(2026, 12, 31))));
        for bad in ["2026-13", "2026-00", "2026-1", "26", "2026-01-01", "", "abcd", "+202-01"] {
            assert_eq!(period_bounds(bad).unwrap_err().code(), "bad_period", "{bad}");
        }
    }

    #[test]
    fn ratings() {
        let (a, b) = (UserId::from("a"), UserId::from("b"));
        assert_eq!(check_rating(RaterKind::Supervisor, Role::Rep, &a, &b, 90), Ok(()));
        assert_eq!(
            check_rating(RaterKind::Peer, Role::Hq, &a, &a, 90),
            Err(ScorecardError::SelfRating)
        );
        assert_eq!(
            check_rating(RaterKind::Customer, Role::Rep, &a, &b, 90),
            Err(ScorecardError::CustomerRatingNotByHq)
        );
        assert_eq!(check_rating(RaterKind::Customer, Role::Hq, &a, &b, 100), Ok(()));
        assert!(check_rating(RaterKind::Peer, Role::Rep, &a, &b, 101).is_err());
    }
}
