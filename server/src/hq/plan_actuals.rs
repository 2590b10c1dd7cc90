//! What a quarter actually brought, as the server knows it, for a plan's evaluation
//! (003 三.5 按季度评估): the quarter's sales from the ERP ledger, its profit contribution
//! estimated from the customer's margin, and the mean score of the quarter's surveys.

use chrono::NaiveDate;
use kam_core::Policy;
use kam_core::model::{AccountPlan, Customer, PlanActuals};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::db::Db;
use crate::db::parse::instant;
use crate::db::sales::YearMonth;
use crate::error::ServerError;

/// The first and last day of `quarter` (1–4) of `year`.
pub fn quarter_days(year: i32, quarter: u8) -> Option<(NaiveDate, NaiveDate)> {
    let first_month = u32::from(quarter.checked_sub(1)?).checked_mul(3)?.checked_add(1)?;
    if first_month > 10 {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(year, first_month, 1)?;
    let last = first.checked_add_months(chrono::Months::new(3))?.pred_opt()?;
    Some((first, last))
}

/// The quarter's actuals.
///
/// - Sales: the ledger's months of the quarter (a month the ERP booked nothing for is zero).
/// - Profit contribution: the ledger has no profit, so it is the quarter's sales at the
///   customer's margin of its latest recorded year (`profit_contribution / annual sales`);
///   with no sales recorded for that year, a quarter of the yearly profit contribution.
///   Rounded to the fen. Headquarters reads this as an estimate.
/// - Satisfaction: the mean score of the surveys taken in the quarter (business dates),
///   rounded half up; `None` when none was taken.
pub(crate) fn actuals(
    tx: &dyn Db,
    policy: &Policy,
    plan: &AccountPlan,
    customer: Option<&Customer>,
    (first, last): (NaiveDate, NaiveDate),
) -> Result<PlanActuals, ServerError> {
    let overflow = || ServerError::Invalid { field: "sales", reason: "sum out of range".into() };
    let cid = plan.customer_id.as_str();
    let mut sales = Decimal::ZERO;
    let mut month = YearMonth::of(first);
    for _ in 0..3 {
        let amount = tx.sales_month(cid, month)?.unwrap_or_default();
        sales = sales.checked_add(amount).ok_or_else(overflow)?;
        month = month.add_months(1);
    }
    let profit_contribution = match customer {
        Some(c) => profit_share(c, sales).ok_or_else(overflow)?,
        None => Decimal::ZERO,
    };
    let mut scores = Vec::new();
    for s in tx.surveys(Some(cid))? {
        let day = policy.business_date(instant(&s.taken_at)?);
        if (first..=last).contains(&day) {
            scores.push(u64::try_from(s.score).unwrap_or_default());
        }
    }
    Ok(PlanActuals { sales, profit_contribution, satisfaction: mean_half_up(&scores) })
}

/// The quarter's profit contribution at the customer's latest margin (see [`actuals`]).
fn profit_share(c: &Customer, quarter_sales: Decimal) -> Option<Decimal> {
    let yearly = c.annual_sales.last_key_value().map(|(_, a)| *a).unwrap_or_default();
    let profit = if yearly > Decimal::ZERO {
        c.profit_contribution.checked_mul(quarter_sales)?.checked_div(yearly)?
    } else {
        c.profit_contribution.checked_div(Decimal::from(4))?
    };
    Some(profit.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

/// The mean of `scores` rounded half up; `None` when empty.
fn mean_half_up(scores: &[u64]) -> Option<u8> {
    let count = u64::try_from(scores.len()).ok().filter(|n| *n > 0)?;
    let total = scores.iter().try_fold(0u64, |acc, s| acc.checked_add(*s))?;
    let mean = total.checked_mul(2)?.checked_add(count)?.checked_div(count.checked_mul(2)?)?;
    u8::try_from(mean).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn quarters_run_from_their_first_to_their_last_day() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(quarter_days(2026, 1), Some((d(1, 1), d(3, 31))));
        assert_eq!(quarter_days(2026, 4), Some((d(10, 1), d(12, 31))));
        assert_eq!(quarter_days(2026, 0), None);
        assert_eq!(quarter_days(2026, 5), None);
    }

    #[test]
    fn the_mean_rounds_half_up_and_is_none_without_surveys() {
        assert_eq!(mean_half_up(&[84, 85]), Some(85), "84.5 rounds up");
        assert_eq!(mean_half_up(&[80, 81, 81]), Some(81));
        assert_eq!(mean_half_up(&[]), None);
    }
}
