//! The documented range of every money and quantity field, in one table (ADR 0017).
//!
//! A number enters KAM in a handful of places: a desk command, a document write (a tablet, the
//! server, the FFI), a document that arrives by sync or sits in stored data, the sales ledger
//! import and the policy file. Each of them checks the number against its [`Bound`] here, so a
//! value beyond its range is refused where it enters (a 422 at the HTTP edge, a refusal at the
//! desk, a [`DocError`](crate::doc::DocError) at a document read or write) instead of flowing
//! into arithmetic that overflows `Decimal` (≈ 7.9 × 10²⁸) or chrono.
//!
//! The ranges are chosen so that every product and sum the code forms from in-range inputs
//! stays many orders of magnitude inside `Decimal`: the largest product is a unit's total
//! price, 10⁷ CNY/m² × 10⁵ m² = 10¹², and the largest sums are totals over at most millions of
//! rows of amounts up to 10¹³. The arithmetic is checked anyway ([`add`], [`sub`], [`mul`],
//! [`sum`] and `checked_*` everywhere, enforced by clippy's `arithmetic_side_effects`), so a
//! value that slips past a bound is an [`Overflow`] error, never a panic.
//!
//! [`ALL`] lists every bound; [`markdown_table`] renders it for the ADR and the README.

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

/// The stable code of an [`OutOfRange`] error, for programs (HTTP 422 bodies, refusals).
pub const OUT_OF_RANGE: &str = "out_of_range";

/// The stable code of an [`Overflow`] error.
pub const ARITHMETIC_OVERFLOW: &str = "arithmetic_overflow";

/// The documented range of one field: `min` to `max` (each end included unless marked
/// exclusive), with at most `places` decimal places once trailing zeros are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Bound {
    /// Stable name of the field, as the command, document or policy file names it.
    pub field: &'static str,
    /// The unit of the value, e.g. `CNY/m²`.
    pub unit: &'static str,
    /// The smallest value.
    pub min: Decimal,
    /// Whether `min` itself is refused.
    pub min_exclusive: bool,
    /// The largest value.
    pub max: Decimal,
    /// Whether `max` itself is refused.
    pub max_exclusive: bool,
    /// The most decimal places a value may have (2 = to the fen for CNY).
    pub places: u32,
    /// Why this range: what the field means and what lies beyond the range.
    pub why: &'static str,
}

impl Bound {
    /// Whether `value` is inside the range and has no more than the allowed places.
    pub fn contains(&self, value: Decimal) -> bool {
        let above_min = if self.min_exclusive { value > self.min } else { value >= self.min };
        let below_max = if self.max_exclusive { value < self.max } else { value <= self.max };
        above_min && below_max && value.normalize().scale() <= self.places
    }

    /// `value` if it is inside the range, else the error naming the field and its range.
    pub fn check(&self, value: Decimal) -> Result<Decimal, OutOfRange> {
        if self.contains(value) { Ok(value) } else { Err(self.refuse(value)) }
    }

    /// Like [`Bound::check`], for a signed integer.
    pub fn check_i64(&self, value: i64) -> Result<i64, OutOfRange> {
        self.check(Decimal::from(value)).map(|_| value)
    }

    /// Like [`Bound::check`], for an unsigned integer.
    pub fn check_u64(&self, value: u64) -> Result<u64, OutOfRange> {
        self.check(Decimal::from(value)).map(|_| value)
    }

    /// The error for `value` (any displayable value, e.g. the text that failed to parse).
    pub fn refuse(&self, value: impl fmt::Display) -> OutOfRange {
        OutOfRange {
            field: self.field,
            value: value.to_string(),
            min: self.min,
            max: self.max,
            range: self.interval(),
            unit: self.unit,
            places: self.places,
        }
    }

    /// The range in interval notation: `(0, 10000000]`.
    pub fn interval(&self) -> String {
        let open = if self.min_exclusive { '(' } else { '[' };
        let close = if self.max_exclusive { ')' } else { ']' };
        format!("{open}{}, {}{close}", self.min.normalize(), self.max.normalize())
    }
}

/// A value outside its documented range. Stable code [`OUT_OF_RANGE`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error(
    "{field} = {value} 超出允许范围 {range} {unit}，最多 {places} 位小数 \
     ({field} = {value} is outside {range} {unit} or has more than {places} decimal places)"
)]
pub struct OutOfRange {
    /// The field, as its [`Bound`] names it.
    pub field: &'static str,
    /// The value refused, as text (it may not even be a number of the field's type).
    pub value: String,
    /// The smallest value of the range.
    pub min: Decimal,
    /// The largest value of the range.
    pub max: Decimal,
    /// The range in interval notation, which also says whether each end is included.
    pub range: String,
    /// The unit of the field.
    pub unit: &'static str,
    /// The most decimal places allowed.
    pub places: u32,
}

impl OutOfRange {
    /// The stable code, [`OUT_OF_RANGE`].
    pub fn code(&self) -> &'static str {
        OUT_OF_RANGE
    }
}

/// An arithmetic result too large for its type. With every input in range this cannot
/// happen; it exists so that a value that got past a bound is an error, not a panic. Stable
/// code [`ARITHMETIC_OVERFLOW`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("计算 {what} 时溢出 (arithmetic overflow computing {what})")]
pub struct Overflow {
    /// What was being computed, e.g. `unit total price`.
    pub what: &'static str,
}

impl Overflow {
    /// The stable code, [`ARITHMETIC_OVERFLOW`].
    pub fn code(&self) -> &'static str {
        ARITHMETIC_OVERFLOW
    }
}

/// `a + b`, or [`Overflow`] naming `what`.
pub fn add(what: &'static str, a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_add(b).ok_or(Overflow { what })
}

/// `a − b`, or [`Overflow`] naming `what`.
pub fn sub(what: &'static str, a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_sub(b).ok_or(Overflow { what })
}

/// `a × b`, or [`Overflow`] naming `what`.
pub fn mul(what: &'static str, a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_mul(b).ok_or(Overflow { what })
}

/// The sum of `values`, or [`Overflow`] naming `what`. `Iterator::sum` on `Decimal` panics on
/// overflow; this is the one to use.
pub fn sum(
    what: &'static str,
    values: impl IntoIterator<Item = Decimal>,
) -> Result<Decimal, Overflow> {
    values.into_iter().try_fold(Decimal::ZERO, |total, v| add(what, total, v))
}

/// `at` plus `seconds`, or [`Overflow`] when the duration or the instant is beyond chrono's
/// range (where `at + Duration::seconds(s)` would panic).
pub fn later_by_seconds(
    what: &'static str,
    at: DateTime<Utc>,
    seconds: i64,
) -> Result<DateTime<Utc>, Overflow> {
    chrono::TimeDelta::try_seconds(seconds)
        .and_then(|d| at.checked_add_signed(d))
        .ok_or(Overflow { what })
}

/// A whole number as a `Decimal`, usable in constants (`Decimal::new` is not `const`).
const fn whole(n: u64) -> Decimal {
    // The split into 32-bit words is the point of the casts: `from_parts` takes them so.
    Decimal::from_parts(n as u32, (n >> 32) as u32, 0, false, 0)
}

/// The negative of a whole number, for constants.
const fn minus(n: u64) -> Decimal {
    Decimal::from_parts(n as u32, (n >> 32) as u32, 0, true, 0)
}

/// Ten trillion (10¹³) CNY: above the yearly sales of any single customer relationship (the
/// largest Chinese companies' whole revenue is around 3 × 10¹²).
const TEN_TRILLION: u64 = 10_000_000_000_000;

/// Defines a bound constant with its doc comment. `excl`/`incl` after each end say whether
/// that end itself is refused or allowed.
macro_rules! bound {
    (@end excl) => { true };
    (@end incl) => { false };
    ($(#[$doc:meta])* $name:ident = $field:literal, $unit:literal,
     min $min:expr, $lo:ident, max $max:expr, $hi:ident, places $places:literal, $why:literal) => {
        $(#[$doc])*
        pub const $name: Bound = Bound {
            field: $field,
            unit: $unit,
            min: $min,
            min_exclusive: bound!(@end $lo),
            max: $max,
            max_exclusive: bound!(@end $hi),
            places: $places,
            why: $why,
        };
    };
}

bound!(
    /// An approved unit price (desk `approve_price`, the project document's `unit_price`).
    UNIT_PRICE = "unit_price", "CNY/m²", min whole(0), excl, max whole(10_000_000), incl, places 2,
    "A price must be above zero; the dearest homes in China sell near 300,000 CNY/m², so 10 million leaves 30× headroom and × the largest area the total stays at 10^12."
);
bound!(
    /// A unit's saleable area (the project document's `area_m2`).
    AREA_M2 = "area_m2", "m²", min whole(0), incl, max whole(100_000), incl, places 2,
    "Zero is a unit not yet measured (a work ticket refuses it: invalid_area); no dwelling comes near 100,000 m². Areas are surveyed to 0.01 m²."
);
bound!(
    /// A unit's whole price: the rename rule's market and contract prices.
    UNIT_TOTAL_PRICE = "unit_total_price", "CNY", min whole(0), incl, max whole(1_000_000_000_000), incl, places 2,
    "The largest unit price × the largest area is 10^12 CNY; no whole-unit price can be larger."
);
bound!(
    /// The payment ratio a buyer confirms on a work ticket, and a written approval's ratio.
    PAYMENT_RATIO_PCT = "payment_ratio_pct", "%", min whole(0), incl, max whole(100), incl, places 2,
    "A share of the price; the policy's minimum (50% by default) is a rule checked after the range."
);
bound!(
    /// One discount line of a work ticket.
    DISCOUNT_PCT = "discount_pct", "%", min whole(0), incl, max whole(100), incl, places 2,
    "A share of the total price; the summed cap (5% by default) is a rule checked after the range."
);
bound!(
    /// The sealing fee (封户费) stated on a work ticket.
    SEALING_FEE = "sealing_fee", "CNY", min whole(0), incl, max whole(10_000_000), incl, places 2,
    "Zero when the buyer pays in full at once; a fee to seal one unit is a few ten thousand CNY, 10 million is far beyond any."
);
bound!(
    /// One receipt recorded against a work ticket.
    RECEIPT_AMOUNT = "receipt_amount", "CNY", min whole(0), excl, max whole(10_000_000_000), incl, places 2,
    "Money received is positive and to the fen (corrections are red receipts the desk writes itself); one payment above 10^10 CNY is not a housing payment."
);
bound!(
    /// A customer's credit limit (the customer document's `credit/credit_limit`).
    CREDIT_LIMIT = "credit_limit", "CNY", min whole(0), incl, max whole(TEN_TRILLION), incl, places 2,
    "Zero is no credit; a limit cannot exceed what any customer could buy in a year (10^13)."
);
bound!(
    /// One year's sales with a customer (the customer document's `annual_sales`).
    ANNUAL_SALES = "annual_sales", "CNY", min minus(TEN_TRILLION), incl, max whole(TEN_TRILLION), incl, places 2,
    "Net of returns a year may be negative; 10^13 is above any single relationship's yearly sales."
);
bound!(
    /// A customer's profit contribution (the customer document's `profit_contribution`).
    PROFIT_CONTRIBUTION = "profit_contribution", "CNY", min minus(TEN_TRILLION), incl, max whole(TEN_TRILLION), incl, places 2,
    "A loss-making account contributes a negative amount; bounded like the sales it comes from."
);
bound!(
    /// One customer's sales in one month of the sales ledger (`admin import-sales`).
    LEDGER_MONTH_AMOUNT = "sales_ledger.amount", "CNY", min whole(0), incl, max whole(TEN_TRILLION), incl, places 2,
    "The ERP books a month's net sales; a net return month is refused at import (as before). No month exceeds the yearly bound."
);
bound!(
    /// The fee for switching from full payment to a loan (the rule's input and the policy's
    /// `selection.loan_switch_fee_min` / `_max`).
    LOAN_SWITCH_FEE = "loan_switch_fee", "CNY", min whole(0), incl, max whole(1_000_000), incl, places 2,
    "The seed names 1,000–3,000 CNY; a policy may move the range but not to a fee above a million."
);
bound!(
    /// A customer's 100-point score (the customer document's `classification/score`).
    SCORE = "score", "points", min whole(0), incl, max whole(100), incl, places 0,
    "The score is out of 100 (seed 001 客户分级管理制度)."
);
bound!(
    /// The satisfaction recorded at a ticket's follow-up call (回访).
    SATISFACTION = "satisfaction", "points", min whole(0), incl, max whole(100), incl, places 0,
    "Surveys are scored 0–100 (RULES.md §10)."
);
bound!(
    /// A buyer's number in the notary's lottery order (desk `recall`, the lottery import, the
    /// event document).
    LOTTERY_NO = "lottery_no", "number", min whole(1), incl, max whole(1_000_000), incl, places 0,
    "Numbers start at 1; an event with a million buyers is beyond any venue."
);
bound!(
    /// A voucher number of an event's pre-numbered series (desk `cancel_sale`, `swap_unit`,
    /// `admin open-desk --vouchers`).
    VOUCHER_NO = "voucher_no", "number", min whole(1), incl, max whole(1_000_000), incl, places 0,
    "Series start at 1 (9,999 by default); a million vouchers is beyond any event."
);
bound!(
    /// Payment terms `net:<days>` (the policy's grade terms and a customer's credit terms).
    NET_DAYS = "payment_terms.net_days", "days", min whole(0), incl, max whole(3_650), incl, places 0,
    "Deferred payment beyond ten years is not payment terms."
);
bound!(
    /// Policy: tier and purchase-class thresholds.
    POLICY_SALES_THRESHOLD = "tiers.* / purchase_classes.*", "CNY", min whole(0), excl, max whole(TEN_TRILLION), incl, places 2,
    "Thresholds on annual sales, so bounded like annual sales; zero would put everyone in the tier."
);
bound!(
    /// Policy: a grade's maximum discount (negative: a required surcharge).
    POLICY_DISCOUNT_CAP = "grades.max_discount_pct.*", "%", min minus(100), excl, max whole(100), excl, places 2,
    "A discount of 100% gives the goods away and a surcharge of 100% doubles the price."
);
bound!(
    /// Policy: credit limit amounts.
    POLICY_CREDIT_LIMIT = "credit.b_starting_limit / credit.c_small_limit_max", "CNY", min whole(0), incl, max whole(TEN_TRILLION), incl, places 2,
    "Credit limits, bounded like a customer's credit limit."
);
bound!(
    /// Policy: late payments in one quarter that trigger the downgrade.
    POLICY_LATE_PAYMENTS = "late_payments.per_quarter_threshold", "count", min whole(1), incl, max whole(1_000), incl, places 0,
    "At least one; a thousand late payments a quarter is no rule."
);
bound!(
    /// Policy: visit cadence intervals.
    POLICY_VISIT_MONTHS = "visits.*_months", "months", min whole(1), incl, max whole(120), incl, places 0,
    "Beyond ten years a cadence is no cadence; the cap keeps date arithmetic small."
);
bound!(
    /// Policy: the reply SLA.
    POLICY_REPLY_HOURS = "tickets.reply_within_hours", "hours", min whole(1), incl, max whole(8_760), incl, places 0,
    "From an hour to a year."
);
bound!(
    /// Policy: when a pending ticket is due soon (and shorter than the SLA).
    POLICY_DUE_SOON_MINUTES = "tickets.due_soon_minutes", "minutes", min whole(0), incl, max whole(525_600), incl, places 0,
    "At most a year of minutes, and shorter than the SLA (a rule checked after the range)."
);
bound!(
    /// Policy: the minimum payment ratio.
    POLICY_MIN_PAYMENT_RATIO = "selection.min_payment_ratio_pct", "%", min whole(0), excl, max whole(100), incl, places 2,
    "A share of the price; zero would make the minimum meaningless."
);
bound!(
    /// Policy: how long a hold lasts.
    POLICY_HOLD_TTL = "selection.hold_ttl_seconds", "seconds", min whole(1), incl, max whole(604_800), incl, places 0,
    "A hold lasts minutes at a venue (900 s by default); a week is the most any event needs, and now + TTL stays far inside chrono."
);
bound!(
    /// Policy: the rename fee as a share of the price difference.
    POLICY_RENAME_FEE_PCT = "selection.rename_fee_pct_of_difference", "%", min whole(0), incl, max whole(100), incl, places 2,
    "A share of the price difference (50% by default)."
);
bound!(
    /// Policy: working days to back a phone approval with paper.
    POLICY_PAPER_DAYS = "selection.relationship_paper_deadline_working_days", "working days", min whole(1), incl, max whole(250), incl, places 0,
    "A year of working days is already no deadline; the cap keeps date stepping short."
);
bound!(
    /// Policy: units one buyer may take at one event.
    POLICY_UNITS_PER_BUYER = "selection.max_units_per_buyer", "units", min whole(1), incl, max whole(1_000), incl, places 0,
    "At least one; a thousand units per person is no limit."
);
bound!(
    /// Policy: the cap on the discounts taken on one work ticket.
    POLICY_MAX_TOTAL_DISCOUNT = "selection.max_total_discount_pct", "%", min whole(0), incl, max whole(100), excl, places 2,
    "Below 100, so that a ticket always leaves something to pay."
);
bound!(
    /// Policy: a scoring factor's maximum points (they add up to 100, a rule checked after).
    POLICY_FACTOR_POINTS = "scoring.factor_max_points.*", "points", min whole(0), incl, max whole(100), incl, places 0,
    "Parts of a 100-point score."
);
bound!(
    /// Policy: a grade's share of the forced distribution (they add up to 100).
    POLICY_GRADE_SHARE = "scoring.grade_share_pct.*", "%", min whole(0), incl, max whole(100), incl, places 0,
    "Shares of the population."
);
bound!(
    /// Policy: a grade's standard delivery time.
    POLICY_DELIVERY_DAYS = "grades.standard_delivery_days.*", "days", min whole(1), incl, max whole(3_650), incl, places 0,
    "At least a day (or \"per_order\"); ten years is no delivery promise."
);
bound!(
    /// Policy: the business time zone.
    POLICY_UTC_OFFSET = "business_utc_offset_minutes", "minutes", min minus(720), incl, max whole(840), incl, places 0,
    "Real-world offsets run from UTC-12 to UTC+14."
);

bound!(
    /// Policy: the purchase above which a lead is a key-account candidate.
    POLICY_CANDIDATE_PURCHASE = "pipeline.candidate_min_annual_purchase", "CNY", min whole(0), excl, max whole(TEN_TRILLION), incl, places 2,
    "A threshold on a yearly purchase, so bounded like annual sales; zero would make every lead a candidate."
);
bound!(
    /// Policy: the profit share above which a lead is a key-account candidate.
    POLICY_CANDIDATE_PROFIT_SHARE = "pipeline.candidate_min_profit_share_pct", "%", min whole(0), excl, max whole(100), excl, places 2,
    "A share of our profit: zero would make every lead a candidate and no lead contributes more than all of it."
);
bound!(
    /// Policy: the yearly sales from which a plan names a resident representative.
    POLICY_RESIDENT_REP_SALES = "plans.resident_representative_min_annual_sales", "CNY", min whole(0), excl, max whole(TEN_TRILLION), incl, places 2,
    "A threshold on annual sales, so bounded like annual sales."
);
bound!(
    /// Policy: days after a quarter's end before its plan evaluation is overdue.
    POLICY_EVALUATION_DAYS = "plans.evaluation_days_after_quarter", "days", min whole(1), incl, max whole(92), incl, places 0,
    "At least a day to evaluate; beyond a quarter the next quarter's evaluation is due before this one is late."
);
bound!(
    /// Policy: survey intervals and the satisfaction window.
    POLICY_SURVEY_MONTHS = "surveys.*_months", "months", min whole(1), incl, max whole(120), incl, places 0,
    "Like the visit cadence: beyond ten years a cadence is no cadence; the cap keeps date arithmetic small."
);
bound!(
    /// Policy: a scorecard measure's weight (they add up to 100, a rule checked after).
    POLICY_SCORECARD_WEIGHT = "scorecards.weights.*", "%", min whole(0), incl, max whole(100), incl, places 0,
    "Parts of a 100-point scorecard; zero leaves a measure out."
);
bound!(
    /// Policy: candidates handed to the negotiation group, at least.
    POLICY_MIN_CANDIDATES = "commissioning.min_candidates", "count", min whole(1), incl, max whole(100), incl, places 0,
    "At least one candidate; a negotiation group cannot weigh a hundred."
);
bound!(
    /// Policy: "blind" pricing's share of comparable projects' price.
    POLICY_BLIND_PRICE_PCT = "commissioning.blind_price_pct_of_comparables", "%", min whole(0), excl, max whole(100), incl, places 2,
    "A blind price is set below (at most at) what comparable projects sell for; zero is no price."
);
bound!(
    /// Policy: "experience" pricing's markup on total cost.
    POLICY_EXPERIENCE_MARKUP = "commissioning.experience_markup_pct", "%", min whole(0), incl, max whole(1_000), incl, places 2,
    "Zero sells at cost; a markup beyond ten times the cost is no cost-based price."
);
bound!(
    /// Policy: days past due before an instalment is chased.
    POLICY_DUNNING_DAYS = "commissioning.dunning_after_days", "days", min whole(0), incl, max whole(365), incl, places 0,
    "Zero chases from the first day overdue; a year of grace is no dunning."
);
bound!(
    /// Policy: days between reminders for the same instalment.
    POLICY_REMINDER_INTERVAL = "commissioning.reminder_interval_days", "days", min whole(1), incl, max whole(365), incl, places 0,
    "At most one reminder a day; a year between reminders is no chasing."
);

/// Every bound, in the order of the ADR's table.
pub const ALL: &[Bound] = &[
    UNIT_PRICE,
    AREA_M2,
    UNIT_TOTAL_PRICE,
    PAYMENT_RATIO_PCT,
    DISCOUNT_PCT,
    SEALING_FEE,
    RECEIPT_AMOUNT,
    CREDIT_LIMIT,
    ANNUAL_SALES,
    PROFIT_CONTRIBUTION,
    LEDGER_MONTH_AMOUNT,
    LOAN_SWITCH_FEE,
    SCORE,
    SATISFACTION,
    LOTTERY_NO,
    VOUCHER_NO,
    NET_DAYS,
    POLICY_SALES_THRESHOLD,
    POLICY_DISCOUNT_CAP,
    POLICY_CREDIT_LIMIT,
    POLICY_LATE_PAYMENTS,
    POLICY_VISIT_MONTHS,
    POLICY_REPLY_HOURS,
    POLICY_DUE_SOON_MINUTES,
    POLICY_MIN_PAYMENT_RATIO,
    POLICY_HOLD_TTL,
    POLICY_RENAME_FEE_PCT,
    POLICY_PAPER_DAYS,
    POLICY_UNITS_PER_BUYER,
    POLICY_MAX_TOTAL_DISCOUNT,
    POLICY_FACTOR_POINTS,
    POLICY_GRADE_SHARE,
    POLICY_DELIVERY_DAYS,
    POLICY_UTC_OFFSET,
    POLICY_CANDIDATE_PURCHASE,
    POLICY_CANDIDATE_PROFIT_SHARE,
    POLICY_RESIDENT_REP_SALES,
    POLICY_EVALUATION_DAYS,
    POLICY_SURVEY_MONTHS,
    POLICY_SCORECARD_WEIGHT,
    POLICY_MIN_CANDIDATES,
    POLICY_BLIND_PRICE_PCT,
    POLICY_EXPERIENCE_MARKUP,
    POLICY_DUNNING_DAYS,
    POLICY_REMINDER_INTERVAL,
];

/// Groups digits by thousands for the table: `10000000` → `10,000,000`.
fn grouped(value: Decimal) -> String {
    let text = value.normalize().to_string();
    let (sign, digits) = text.strip_prefix('-').map_or(("", text.as_str()), |d| ("−", d));
    let (int, frac) = digits.split_once('.').map_or((digits, None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && int.len().saturating_sub(i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// The table as Markdown: field, unit, min, max, places, why. The ADR (and the README's
/// "Limits" section) carry this text; a test keeps the ADR in step with [`ALL`].
pub fn markdown_table() -> String {
    let mut out =
        String::from("| field | unit | min | max | places | why |\n|---|---|---|---|---|---|\n");
    for b in ALL {
        let min = format!("{}{}", grouped(b.min), if b.min_exclusive { " (excl.)" } else { "" });
        let max = format!("{}{}", grouped(b.max), if b.max_exclusive { " (excl.)" } else { "" });
        out.push_str(&format!(
            "| `{}` | {} | {min} | {max} | {} | {} |\n",
            b.field, b.unit, b.places, b.why
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn ends_and_places_are_checked() {
        assert!(UNIT_PRICE.check(dec!(0)).is_err(), "exclusive minimum");
        assert!(UNIT_PRICE.check(dec!(0.01)).is_ok());
        assert!(UNIT_PRICE.check(dec!(10000000)).is_ok(), "inclusive maximum");
        assert!(UNIT_PRICE.check(dec!(10000000.01)).is_err());
        assert!(UNIT_PRICE.check(dec!(1.001)).is_err(), "three places");
        assert!(UNIT_PRICE.check(dec!(1.0000)).is_ok(), "trailing zeros are not places");
        assert!(UNIT_PRICE.check(Decimal::MAX).is_err());
        assert!(UNIT_PRICE.check(Decimal::MIN).is_err());
        assert!(POLICY_MAX_TOTAL_DISCOUNT.check(dec!(100)).is_err(), "exclusive maximum");
        assert!(POLICY_MAX_TOTAL_DISCOUNT.check(dec!(99.99)).is_ok());
        assert!(ANNUAL_SALES.check(dec!(-10000000000000)).is_ok());
        assert!(ANNUAL_SALES.check(dec!(-10000000000000.01)).is_err());
        assert_eq!(LOTTERY_NO.check_u64(0).unwrap_err().code(), OUT_OF_RANGE);
        assert_eq!(POLICY_UTC_OFFSET.check_i64(-720), Ok(-720));
        assert!(POLICY_UTC_OFFSET.check_i64(-721).is_err());
    }

    #[test]
    fn the_error_names_field_value_and_range() {
        let e = UNIT_PRICE.check(Decimal::MAX).unwrap_err();
        assert_eq!(e.field, "unit_price");
        assert_eq!(e.value, "79228162514264337593543950335");
        assert_eq!(e.range, "(0, 10000000]");
        assert_eq!((e.min, e.max, e.places), (dec!(0), dec!(10000000), 2));
        let text = e.to_string();
        assert!(text.contains("unit_price") && text.contains("(0, 10000000]"), "{text}");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["field"], "unit_price");
        assert_eq!(json["max"], "10000000");
    }

    #[test]
    fn every_bound_is_well_formed_and_named_once() {
        let mut names = std::collections::BTreeSet::new();
        for b in ALL {
            assert!(names.insert(b.field), "{} twice", b.field);
            assert!(b.min < b.max, "{}", b.field);
            assert!(b.places <= 2, "{}", b.field);
            assert!(!b.why.is_empty() && !b.unit.is_empty(), "{}", b.field);
            // Far inside Decimal: products of two in-range values cannot overflow.
            let big = b.max.abs().max(b.min.abs());
            assert!(big <= dec!(10000000000000), "{}", b.field);
            assert!(big.checked_mul(big).is_some(), "{}", b.field);
        }
    }

    #[test]
    fn checked_helpers_report_overflow() {
        assert_eq!(add("x", Decimal::MAX, dec!(1)), Err(Overflow { what: "x" }));
        assert_eq!(sub("x", Decimal::MIN, dec!(1)), Err(Overflow { what: "x" }));
        assert_eq!(mul("x", Decimal::MAX, dec!(2)), Err(Overflow { what: "x" }));
        assert_eq!(sum("x", [dec!(1), dec!(2.5)]), Ok(dec!(3.5)));
        assert_eq!(sum("x", [Decimal::MAX, Decimal::MAX]).unwrap_err().code(), ARITHMETIC_OVERFLOW);
        let now = Utc::now();
        assert!(later_by_seconds("hold", now, 900).is_ok());
        assert!(later_by_seconds("hold", now, i64::MAX).is_err());
        assert!(later_by_seconds("hold", DateTime::<Utc>::MAX_UTC, 1).is_err());
    }

    #[test]
    fn the_adr_carries_the_table() {
        let adr = include_str!("../../docs/adr/0017-money-and-quantity-bounds.md");
        assert!(
            adr.contains(&markdown_table()),
            "docs/adr/0017 is out of step with bounds::ALL; paste this table:\n{}",
            markdown_table()
        );
    }

    #[test]
    fn the_table_groups_digits() {
        assert_eq!(grouped(dec!(10000000)), "10,000,000");
        assert_eq!(grouped(dec!(-720)), "−720");
        assert_eq!(grouped(dec!(100)), "100");
        assert_eq!(grouped(dec!(1234.5)), "1,234.5");
    }
}
