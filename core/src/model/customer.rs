//! The customer aggregate (客户档案): profile, classification, credit, contacts and visits.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::common::{ContactId, CustomerId, LatePaymentId, UserId, VisitId, vocabulary};

/// A customer's tier (客户分级) under the default annual-sales scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// 战略客户: designated by management.
    Strategic,
    /// 重点客户: annual sales at or above the key threshold and a leading brand.
    Key,
    /// 主要客户: annual sales at or above the main threshold.
    Main,
    /// 一般客户: everything else.
    General,
}
vocabulary!(Tier, "tier", { Strategic => "strategic", Key => "key", Main => "main", General => "general" });

impl Tier {
    /// Sort rank: strategic first.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// The Chinese name used on screens and exports.
    pub fn label_zh(self) -> &'static str {
        match self {
            Tier::Strategic => "战略客户",
            Tier::Key => "重点客户",
            Tier::Main => "主要客户",
            Tier::General => "一般客户",
        }
    }
}

/// A customer's grade (A–D) from the 100-point score and the forced distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Grade {
    /// Top 20% by score.
    A,
    /// Next 30%.
    B,
    /// Next 40%.
    C,
    /// Last 10%.
    D,
}
vocabulary!(Grade, "grade", { A => "A", B => "B", C => "C", D => "D" });

impl Grade {
    /// The next lower grade (D stays D).
    pub fn lower(self) -> Grade {
        match self {
            Grade::A => Grade::B,
            Grade::B => Grade::C,
            Grade::C | Grade::D => Grade::D,
        }
    }
}

/// Payment terms agreed with a customer, from the most to the least generous.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PaymentTerms {
    /// Payment due this many days after delivery (远期付款).
    NetDays {
        /// Days after delivery.
        days: u32,
    },
    /// Cash on delivery (货到付款).
    CashOnDelivery,
    /// Payment before delivery (款到发货).
    PaymentBeforeDelivery,
}

impl PaymentTerms {
    /// How much credit in time the terms give, for comparisons: larger is more generous.
    pub fn generosity_days(self) -> i64 {
        match self {
            PaymentTerms::NetDays { days } => i64::from(days),
            PaymentTerms::CashOnDelivery => 0,
            PaymentTerms::PaymentBeforeDelivery => -1,
        }
    }

    /// Stable text form stored in documents: `net:90`, `cod`, `prepay`.
    pub fn code(self) -> String {
        match self {
            PaymentTerms::NetDays { days } => format!("net:{days}"),
            PaymentTerms::CashOnDelivery => "cod".to_owned(),
            PaymentTerms::PaymentBeforeDelivery => "prepay".to_owned(),
        }
    }

    /// Parses the text form written by [`PaymentTerms::code`].
    pub fn from_code(code: &str) -> Option<PaymentTerms> {
        match code {
            "cod" => Some(PaymentTerms::CashOnDelivery),
            "prepay" => Some(PaymentTerms::PaymentBeforeDelivery),
            other => other
                .strip_prefix("net:")
                .and_then(|d| d.parse().ok())
                .map(|days| PaymentTerms::NetDays { days }),
        }
    }
}

/// The level of a contact (拜访层级): who from our side met the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitLevel {
    /// Company leadership meeting the customer's leadership (高层互访).
    Leadership,
    /// The account manager (大客户经理).
    AccountManager,
    /// Technical staff (技术人员).
    Technical,
    /// Quality staff (质量人员).
    Quality,
}
vocabulary!(VisitLevel, "visit level", {
    Leadership => "leadership", AccountManager => "account_manager",
    Technical => "technical", Quality => "quality"
});

impl VisitLevel {
    /// The Chinese name used on screens.
    pub fn label_zh(self) -> &'static str {
        match self {
            VisitLevel::Leadership => "高层互访",
            VisitLevel::AccountManager => "大客户经理拜访",
            VisitLevel::Technical => "技术拜访",
            VisitLevel::Quality => "质量拜访",
        }
    }
}

/// Descriptive profile fields of a customer; editable by its owning reps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerProfile {
    /// Registered name.
    pub name: String,
    /// Industry (行业).
    pub industry: String,
    /// Sales region (区域).
    pub region: String,
    /// Postal address.
    pub address: String,
    /// Whether the customer is a leading brand in its industry (input to the key tier).
    pub leading_brand: bool,
    /// Free-form notes.
    pub notes: String,
}

/// Fields only finance or headquarters may write: classification and credit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// Designated strategic by management (战略客户 is not a number).
    pub strategic: bool,
    /// The approved tier.
    pub tier: Tier,
    /// The approved grade, once graded.
    pub grade: Option<Grade>,
    /// The last 100-point score.
    pub score: Option<u32>,
}

impl Default for Classification {
    fn default() -> Self {
        Classification { strategic: false, tier: Tier::General, grade: None, score: None }
    }
}

/// Credit settings (客户信用): finance or headquarters only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditTerms {
    /// Credit grade, usually equal to the customer grade.
    pub credit_grade: Option<Grade>,
    /// Credit limit in CNY.
    pub credit_limit: Decimal,
    /// Agreed payment terms.
    pub payment_terms: PaymentTerms,
}

impl Default for CreditTerms {
    fn default() -> Self {
        CreditTerms {
            credit_grade: None,
            credit_limit: Decimal::ZERO,
            payment_terms: PaymentTerms::PaymentBeforeDelivery,
        }
    }
}

/// A contact person at the customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Stable id.
    pub id: ContactId,
    /// Name.
    pub name: String,
    /// Job title.
    pub title: String,
    /// Phone number (personal data: never logged above debug).
    pub phone: String,
    /// E-mail address.
    pub email: String,
    /// The main contact for this customer.
    pub primary: bool,
}

/// A contact record (客户接触记录): who met whom, when, and what came out of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRecord {
    /// Stable id.
    pub id: VisitId,
    /// Level of the visit.
    pub level: VisitLevel,
    /// Calendar date of the visit (business-local date).
    pub date: NaiveDate,
    /// Who from our side made the contact.
    pub visitor: UserId,
    /// Topics discussed.
    pub topics: Vec<String>,
    /// Personnel changes at the customer.
    pub personnel_changes: String,
    /// Problems raised.
    pub problems: String,
    /// Demand heard.
    pub demand: String,
    /// Competitor activity observed.
    pub competitor_activity: String,
}

/// A payment the customer made after its due date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatePayment {
    /// Stable id.
    pub id: LatePaymentId,
    /// The invoice or contract reference.
    pub reference: String,
    /// When the payment was due.
    pub due_on: NaiveDate,
    /// When it was paid, if yet.
    pub paid_on: Option<NaiveDate>,
}

/// A whole customer aggregate as read from its document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// Stable id.
    pub id: CustomerId,
    /// When the customer was created.
    pub created_at: DateTime<Utc>,
    /// Descriptive profile.
    pub profile: CustomerProfile,
    /// Annual sales with us per calendar year (CNY).
    pub annual_sales: BTreeMap<i32, Decimal>,
    /// Profit contribution of the last year (CNY).
    pub profit_contribution: Decimal,
    /// Reps who own the account (two for important customers).
    pub owners: Vec<UserId>,
    /// Classification: tier, grade, score (protected).
    pub classification: Classification,
    /// Credit and payment terms (protected).
    pub credit: CreditTerms,
    /// Contact persons, by id.
    pub contacts: BTreeMap<ContactId, Contact>,
    /// Visit records, by id.
    pub visits: BTreeMap<VisitId, VisitRecord>,
    /// Late payments, by id.
    pub late_payments: BTreeMap<LatePaymentId, LatePayment>,
}
