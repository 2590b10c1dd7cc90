//! Headquarters' reports, computed from the projection tables and the sales ledger.
//!
//! - [`monthly`]: 公司战略客户和大客户业务状况分析报告表 (附件一, seed 000 §4.2.1.4 and §4.3.3),
//!   one row per strategic and key customer for one month.
//! - [`quarterly`]: 客户信用及销售分析, the quarterly credit and sales analysis sent to
//!   headquarters (seed 002), one row per customer with sales or credit.
//! - [`export`]: both as CSV (UTF-8 with BOM, RFC 4180) and as XLSX, in Chinese or English.
//!
//! Reports are plain serialisable structs so that pages, JSON and files show the same numbers.
//! Money is `Decimal` throughout and is summed in Rust, never in SQL: the ledger's amounts are
//! decimal text that SQLite would add as floats.

pub mod export;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod monthly;
pub mod plan_evaluation;
pub mod quarterly;

use kam_core::bounds;
use kam_core::model::{PaymentTerms, Tier};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::ServerError;

pub use monthly::{MonthlyReport, MonthlyRow, MonthlyTotals, RiskKind, RiskNote, monthly_report};
pub use quarterly::{QuarterTotals, QuarterlyReport, QuarterlyRow, TierTotals, quarterly_report};

/// The language of a report's headers and labels (the figures are the same).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportLang {
    /// Chinese, the words the users already use; the default.
    #[default]
    Zh,
    /// English.
    En,
}

/// A change between two amounts: the difference and, when the base is not zero, the
/// percentage rounded to one decimal place (12.3 means 12.3 %).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Current minus previous.
    pub amount: Decimal,
    /// The difference as a percentage of the previous amount; `None` when that is zero,
    /// because growth from nothing has no percentage.
    pub pct: Option<Decimal>,
}

impl Change {
    /// The change from `previous` to `current`. Amounts beyond `Decimal`'s range (only stored
    /// values outside their documented ranges can get there) are an error, never a panic.
    pub fn between(current: Decimal, previous: Decimal) -> Result<Change, ServerError> {
        let amount = bounds::sub("a change between two amounts", current, previous)?;
        let pct = if previous.is_zero() {
            None
        } else {
            amount
                .checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|x| x.checked_div(previous))
                .map(|p| p.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero))
        };
        Ok(Change { amount, pct })
    }
}

/// A tier's name in the report language.
pub fn tier_label(tier: Tier, lang: ReportLang) -> &'static str {
    match (lang, tier) {
        (ReportLang::Zh, tier) => tier.label_zh(),
        (ReportLang::En, Tier::Strategic) => "Strategic",
        (ReportLang::En, Tier::Key) => "Key",
        (ReportLang::En, Tier::Main) => "Main",
        (ReportLang::En, Tier::General) => "General",
    }
}

/// Payment terms in words: `net:90` → 远期90天 / "Net 90 days", `cod` → 货到付款, `prepay`
/// → 款到发货. A code this build does not know is shown as it is rather than hidden.
pub fn terms_label(code: &str, lang: ReportLang) -> String {
    match (PaymentTerms::from_code(code), lang) {
        (Some(PaymentTerms::NetDays { days }), ReportLang::Zh) => format!("远期{days}天"),
        (Some(PaymentTerms::NetDays { days }), ReportLang::En) => format!("Net {days} days"),
        (Some(PaymentTerms::CashOnDelivery), ReportLang::Zh) => "货到付款".to_owned(),
        (Some(PaymentTerms::CashOnDelivery), ReportLang::En) => "Cash on delivery".to_owned(),
        (Some(PaymentTerms::PaymentBeforeDelivery), ReportLang::Zh) => "款到发货".to_owned(),
        (Some(PaymentTerms::PaymentBeforeDelivery), ReportLang::En) => {
            "Payment before delivery".to_owned()
        }
        (None, _) => code.to_owned(),
    }
}
