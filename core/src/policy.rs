//! The policy file: every threshold of the written key-account policies in one versioned,
//! serde-friendly value (RULES.md, "Policy file").
//!
//! The defaults are the ones RULES.md names. A company loads the policy it actually has from
//! TOML; because every table is `#[serde(default)]`, a partial file overrides only what it
//! names, and because every table is `deny_unknown_fields`, a misspelt key is an error rather
//! than a silently ignored threshold. Money is a string in TOML (`"5000000.00"`) so that it
//! stays an exact decimal.

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::bounds::{
    Bound, LOAN_SWITCH_FEE, NET_DAYS, POLICY_CREDIT_LIMIT, POLICY_DELIVERY_DAYS,
    POLICY_DISCOUNT_CAP, POLICY_DUE_SOON_MINUTES, POLICY_FACTOR_POINTS, POLICY_GRADE_SHARE,
    POLICY_HOLD_TTL, POLICY_LATE_PAYMENTS, POLICY_MAX_TOTAL_DISCOUNT, POLICY_MIN_PAYMENT_RATIO,
    POLICY_PAPER_DAYS, POLICY_RENAME_FEE_PCT, POLICY_REPLY_HOURS, POLICY_SALES_THRESHOLD,
    POLICY_UNITS_PER_BUYER, POLICY_UTC_OFFSET, POLICY_VISIT_MONTHS,
};
use crate::model::{Grade, PaymentTerms};

/// Defines a policy table: the struct, its serde attributes (`default` so a partial table
/// keeps the other defaults, `deny_unknown_fields` so typos fail) and its `Default`, with each
/// threshold's default written next to its doc comment.
macro_rules! policy_table {
    ($(#[$doc:meta])* $name:ident {
        $($(#[$fdoc:meta])* $field:ident: $ty:ty = $default:expr),+ $(,)?
    }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: $ty,)+
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $($field: $default,)+ }
            }
        }
    };
}

/// Why a policy could not be loaded, written or accepted.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy file could not be read.
    #[error("cannot read policy file {path}: {source}")]
    Io {
        /// The file that was being read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid TOML for a policy (syntax, wrong type or unknown key).
    #[error("cannot parse policy: {0}")]
    Parse(#[from] toml::de::Error),
    /// The policy could not be written as TOML.
    #[error("cannot write policy as TOML: {0}")]
    Serialize(#[from] toml::ser::Error),
    /// The policy parsed but its values contradict each other or the rules' assumptions.
    #[error("invalid policy: {reason}")]
    Invalid {
        /// Every problem found, separated by "; ".
        reason: String,
    },
}

policy_table! {
    /// Every threshold the business rules use.
    Policy {
        /// Name of this policy version, recorded with every decision made under it.
        version: String = "kam-default-2026.1".to_owned(),
        /// The business time zone as minutes east of UTC (480 = China Standard Time). Calendar
        /// rules (quarters, visit dates) use the business date, not the UTC date.
        business_utc_offset_minutes: i32 = 480,
        /// Tier thresholds of the default annual-sales scheme.
        tiers: TierPolicy = Default::default(),
        /// Thresholds of the second, purchase-amount scheme.
        purchase_classes: PurchaseClassPolicy = Default::default(),
        /// The 100-point score and the forced grade distribution.
        scoring: ScoringPolicy = Default::default(),
        /// What each grade gets: discounts, payment terms, delivery and rush orders.
        grades: GradePolicy = Default::default(),
        /// Credit limit amounts.
        credit: CreditPolicy = Default::default(),
        /// Late-payment downgrade rule.
        late_payments: LatePaymentPolicy = Default::default(),
        /// Visit cadence.
        visits: VisitPolicy = Default::default(),
        /// Service-ticket reply SLA.
        tickets: TicketPolicy = Default::default(),
        /// Selection-event thresholds (used by the selection-event rules).
        selection: SelectionPolicy = Default::default(),
        /// Key-account candidates among development leads.
        pipeline: PipelinePolicy = Default::default(),
        /// Account plans and their evaluation.
        plans: PlanPolicy = Default::default(),
        /// Periodic satisfaction surveys.
        surveys: SurveyPolicy = Default::default(),
        /// Staff scorecard weights.
        scorecards: ScorecardPolicy = Default::default(),
        /// Commissioning organisations: candidates, pricing aids and dunning.
        commissioning: CommissioningPolicy = Default::default(),
    }
}

impl Policy {
    /// Parses a (possibly partial) TOML policy and validates it.
    pub fn from_toml_str(s: &str) -> Result<Policy, PolicyError> {
        let policy: Policy = toml::from_str(s)?;
        policy.validate()?;
        Ok(policy)
    }

    /// Reads, parses and validates a TOML policy file.
    pub fn from_toml_file(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PolicyError::Io { path: path.to_path_buf(), source })?;
        Policy::from_toml_str(&text)
    }

    /// Writes the whole policy as TOML (every value, defaults included).
    pub fn to_toml_string(&self) -> Result<String, PolicyError> {
        Ok(toml::to_string(self)?)
    }

    /// Checks that the values are usable together; lists every problem found. Every
    /// threshold must first lie in its documented range (`bounds`, ADR 0017); the checks per
    /// table then relate values to each other.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let mut problems = Vec::new();
        if self.version.trim().is_empty() {
            problems.push("version must not be empty".to_owned());
        }
        for (path, bound, value) in self.bounded_values() {
            if !bound.contains(value) {
                problems.push(format!(
                    "{path} must be in {} {} with at most {} decimal places, not {value}",
                    bound.interval(),
                    bound.unit,
                    bound.places
                ));
            }
        }
        self.tiers.check(&mut problems);
        self.purchase_classes.check(&mut problems);
        self.scoring.check(&mut problems);
        self.grades.check(&mut problems);
        self.tickets.check(&mut problems);
        self.selection.check(&mut problems);
        self.surveys.check(&mut problems);
        self.scorecards.check(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(PolicyError::Invalid { reason: problems.join("; ") })
        }
    }

    /// Every number of the policy with its path in the TOML file and its documented range.
    fn bounded_values(&self) -> Vec<(String, &'static Bound, Decimal)> {
        let mut out = Vec::new();
        let mut push = |path: &str, bound: &'static Bound, value: Decimal| {
            out.push((path.to_owned(), bound, value));
        };
        let int = |v: u32| Decimal::from(v);
        push(
            "business_utc_offset_minutes",
            &POLICY_UTC_OFFSET,
            self.business_utc_offset_minutes.into(),
        );
        let t = &self.tiers;
        push("tiers.main_min_annual_sales", &POLICY_SALES_THRESHOLD, t.main_min_annual_sales);
        push("tiers.key_min_annual_sales", &POLICY_SALES_THRESHOLD, t.key_min_annual_sales);
        let pc = &self.purchase_classes;
        push("purchase_classes.ordinary_min", &POLICY_SALES_THRESHOLD, pc.ordinary_min);
        push("purchase_classes.partner_min", &POLICY_SALES_THRESHOLD, pc.partner_min);
        push("purchase_classes.strategic_min", &POLICY_SALES_THRESHOLD, pc.strategic_min);
        scoring_and_grade_values(&self.scoring, &self.grades, &mut push);
        push("credit.b_starting_limit", &POLICY_CREDIT_LIMIT, self.credit.b_starting_limit);
        push("credit.c_small_limit_max", &POLICY_CREDIT_LIMIT, self.credit.c_small_limit_max);
        let late = int(self.late_payments.per_quarter_threshold);
        push("late_payments.per_quarter_threshold", &POLICY_LATE_PAYMENTS, late);
        let v = &self.visits;
        for (name, months) in [
            ("leadership_months", v.leadership_months),
            ("account_manager_months", v.account_manager_months),
            ("technical_months", v.technical_months),
            ("quality_months", v.quality_months),
            ("grade_a_contact_months", v.grade_a_contact_months),
        ] {
            push(&format!("visits.{name}"), &POLICY_VISIT_MONTHS, int(months));
        }
        let tk = &self.tickets;
        push("tickets.reply_within_hours", &POLICY_REPLY_HOURS, int(tk.reply_within_hours));
        push("tickets.due_soon_minutes", &POLICY_DUE_SOON_MINUTES, int(tk.due_soon_minutes));
        self.selection.bounded_values(&mut push);
        account_values(self, &mut push);
        out
    }

    /// The business-local calendar date at `now`. An out-of-range offset (only possible in an
    /// unvalidated policy) falls back to UTC rather than failing.
    pub fn business_date(&self, now: DateTime<Utc>) -> NaiveDate {
        match FixedOffset::east_opt(self.business_utc_offset_minutes.saturating_mul(60)) {
            Some(offset) => now.with_timezone(&offset).date_naive(),
            None => now.date_naive(),
        }
    }
}

/// The scoring and grade numbers with their paths and documented ranges.
fn scoring_and_grade_values(
    scoring: &ScoringPolicy,
    grades_policy: &GradePolicy,
    push: &mut impl FnMut(&str, &'static Bound, Decimal),
) {
    let int = |v: u32| Decimal::from(v);
    let f = &scoring.factor_max_points;
    for (name, points) in [
        ("sales_scale", f.sales_scale),
        ("payment_reputation", f.payment_reputation),
        ("product_margin", f.product_margin),
        ("order_volume", f.order_volume),
        ("sales_model", f.sales_model),
        ("share_of_their_sales", f.share_of_their_sales),
        ("years_of_business", f.years_of_business),
        ("industry_reputation", f.industry_reputation),
    ] {
        push(&format!("scoring.factor_max_points.{name}"), &POLICY_FACTOR_POINTS, int(points));
    }
    let s = &scoring.grade_share_pct;
    let grades = ["a", "b", "c", "d"];
    for (grade, share) in grades.iter().zip([s.a, s.b, s.c, s.d]) {
        push(&format!("scoring.grade_share_pct.{grade}"), &POLICY_GRADE_SHARE, int(share));
    }
    let g = grades_policy;
    let per_grade = grades
        .iter()
        .zip(g.max_discount_pct.in_order())
        .zip(g.max_payment_terms.in_order())
        .zip(g.standard_delivery_days.in_order());
    for (((grade, cap), terms), delivery) in per_grade {
        push(&format!("grades.max_discount_pct.{grade}"), &POLICY_DISCOUNT_CAP, cap);
        if let PaymentTerms::NetDays { days } = terms {
            push(&format!("grades.max_payment_terms.{grade}"), &NET_DAYS, int(days));
        }
        if let Some(days) = delivery {
            let path = format!("grades.standard_delivery_days.{grade}");
            push(&path, &POLICY_DELIVERY_DAYS, int(days));
        }
    }
}

/// A whole-yuan amount with two decimal places, so defaults print as `"5000000.00"`.
fn cny(yuan: i64) -> Decimal {
    Decimal::new(yuan.saturating_mul(100), 2)
}

/// Pushes `msg` when `ok` is false; keeps the `check` methods one line per rule.
fn require(problems: &mut Vec<String>, ok: bool, msg: &str) {
    if !ok {
        problems.push(msg.to_owned());
    }
}

policy_table! {
    /// Tier thresholds (客户分级, seed 000 §4.1), inclusive lower bounds in CNY.
    TierPolicy {
        /// 主要客户 from this annual sales.
        main_min_annual_sales: Decimal = cny(5_000_000),
        /// 重点客户 from this annual sales (with a leading brand).
        key_min_annual_sales: Decimal = cny(20_000_000),
    }
}

impl TierPolicy {
    fn check(&self, p: &mut Vec<String>) {
        let (main, key) = (self.main_min_annual_sales, self.key_min_annual_sales);
        require(p, Decimal::ZERO < main && main < key, "tiers must satisfy 0 < main_min < key_min");
    }
}

policy_table! {
    /// Purchase-amount scheme (seed 001 第5条), inclusive lower bounds in CNY.
    PurchaseClassPolicy {
        /// 普通大客户 from this annual purchase amount.
        ordinary_min: Decimal = cny(5_000_000),
        /// 伙伴式大客户 from this annual purchase amount.
        partner_min: Decimal = cny(20_000_000),
        /// 战略性大客户 from this annual purchase amount.
        strategic_min: Decimal = cny(50_000_000),
    }
}

impl PurchaseClassPolicy {
    fn check(&self, p: &mut Vec<String>) {
        require(
            p,
            Decimal::ZERO < self.ordinary_min
                && self.ordinary_min < self.partner_min
                && self.partner_min < self.strategic_min,
            "purchase_classes must satisfy 0 < ordinary_min < partner_min < strategic_min",
        );
    }
}

/// One of the eight scoring factors (客户分级管理制度).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreFactor {
    /// 销售规模.
    SalesScale,
    /// 付款信誉.
    PaymentReputation,
    /// 产品利润率.
    ProductMargin,
    /// 产品订量.
    OrderVolume,
    /// 销售模式.
    SalesModel,
    /// Our products' share of their total sales (产品在其销售总额中的比例).
    ShareOfTheirSales,
    /// 经营产品历史.
    YearsOfBusiness,
    /// 行业知名度.
    IndustryReputation,
}

impl ScoreFactor {
    /// Every factor, in the order the policy lists them.
    pub const ALL: [ScoreFactor; 8] = [
        ScoreFactor::SalesScale,
        ScoreFactor::PaymentReputation,
        ScoreFactor::ProductMargin,
        ScoreFactor::OrderVolume,
        ScoreFactor::SalesModel,
        ScoreFactor::ShareOfTheirSales,
        ScoreFactor::YearsOfBusiness,
        ScoreFactor::IndustryReputation,
    ];

    /// The Chinese name used on screens.
    pub fn label_zh(self) -> &'static str {
        match self {
            ScoreFactor::SalesScale => "销售规模",
            ScoreFactor::PaymentReputation => "付款信誉",
            ScoreFactor::ProductMargin => "产品利润率",
            ScoreFactor::OrderVolume => "产品订量",
            ScoreFactor::SalesModel => "销售模式",
            ScoreFactor::ShareOfTheirSales => "我方产品占其销售比例",
            ScoreFactor::YearsOfBusiness => "经营历史",
            ScoreFactor::IndustryReputation => "行业知名度",
        }
    }
}

/// Defines a struct with one `u32` per [`ScoreFactor`], with `get` and `total`. Used twice:
/// the policy's maxima (defaults 20/15/15/10/10/10/10/10) and a customer's points (default
/// zero) — two types, so that each `#[serde(default)]` fills in its own defaults.
macro_rules! factor_points {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            /// 销售规模.
            pub sales_scale: u32,
            /// 付款信誉.
            pub payment_reputation: u32,
            /// 产品利润率.
            pub product_margin: u32,
            /// 产品订量.
            pub order_volume: u32,
            /// 销售模式.
            pub sales_model: u32,
            /// Our products' share of their sales.
            pub share_of_their_sales: u32,
            /// Years of business with us.
            pub years_of_business: u32,
            /// 行业知名度.
            pub industry_reputation: u32,
        }

        impl $name {
            /// The points of one factor.
            pub fn get(&self, factor: $crate::policy::ScoreFactor) -> u32 {
                use $crate::policy::ScoreFactor as F;
                match factor {
                    F::SalesScale => self.sales_scale,
                    F::PaymentReputation => self.payment_reputation,
                    F::ProductMargin => self.product_margin,
                    F::OrderVolume => self.order_volume,
                    F::SalesModel => self.sales_model,
                    F::ShareOfTheirSales => self.share_of_their_sales,
                    F::YearsOfBusiness => self.years_of_business,
                    F::IndustryReputation => self.industry_reputation,
                }
            }

            /// Sum over all factors (saturating, so absurd inputs cannot overflow).
            pub fn total(&self) -> u32 {
                $crate::policy::ScoreFactor::ALL
                    .iter()
                    .fold(0u32, |acc, f| acc.saturating_add(self.get(*f)))
            }
        }
    };
}
pub(crate) use factor_points;

factor_points!(
    /// The maximum points of each scoring factor; they must add up to 100. The seeds name the
    /// factors but not their weights: the defaults weigh sales scale most, then payment
    /// reputation and margin.
    FactorMaxPoints
);

impl Default for FactorMaxPoints {
    fn default() -> Self {
        FactorMaxPoints {
            sales_scale: 20,
            payment_reputation: 15,
            product_margin: 15,
            order_volume: 10,
            sales_model: 10,
            share_of_their_sales: 10,
            years_of_business: 10,
            industry_reputation: 10,
        }
    }
}

policy_table! {
    /// Shares of the forced grade distribution, in whole percent, best grade first.
    GradeShares {
        /// Top share graded A.
        a: u32 = 20,
        /// Next share graded B.
        b: u32 = 30,
        /// Next share graded C.
        c: u32 = 40,
        /// Last share graded D.
        d: u32 = 10,
    }
}

policy_table! {
    /// The 100-point score and the forced distribution (seed 001 客户分级管理制度).
    ScoringPolicy {
        /// Maximum points of each factor; must add up to 100.
        factor_max_points: FactorMaxPoints = Default::default(),
        /// Grade shares in percent; must add up to 100.
        grade_share_pct: GradeShares = Default::default(),
    }
}

impl ScoringPolicy {
    fn check(&self, p: &mut Vec<String>) {
        let total = self.factor_max_points.total();
        if total != 100 {
            p.push(format!("scoring.factor_max_points must add up to 100, not {total}"));
        }
        let s = &self.grade_share_pct;
        let shares = [s.a, s.b, s.c, s.d].iter().fold(0u32, |acc, v| acc.saturating_add(*v));
        if shares != 100 {
            p.push(format!("scoring.grade_share_pct must add up to 100, not {shares}"));
        }
    }
}

/// Whether a grade's rush orders may jump the production queue (插单).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RushPolicy {
    /// Rush orders may jump the queue (允许插单).
    MayJumpQueue,
    /// Decided per order by production (视生产状况决定).
    CaseByCase,
    /// Rush orders do not jump the queue.
    No,
}

/// The word that stands for "no standard delivery time" in TOML (TOML has no null).
const PER_ORDER: &str = "per_order";

/// Serde for `Option<u32>` delivery days: a number, or `"per_order"` for none.
mod delivery_days {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use super::PER_ORDER;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Days(u32),
        Word(String),
    }

    pub(super) fn serialize<S: Serializer>(v: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(days) => s.serialize_u32(*days),
            None => s.serialize_str(PER_ORDER),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Days(days) => Ok(Some(days)),
            Repr::Word(w) if w == PER_ORDER => Ok(None),
            Repr::Word(w) => Err(D::Error::custom(format!(
                "expected a number of days or \"{PER_ORDER}\", got \"{w}\""
            ))),
        }
    }
}

/// Serde for [`PaymentTerms`] as its stable code (`net:90`, `cod`, `prepay`).
mod terms_code {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::model::PaymentTerms;

    pub(super) fn serialize<S: Serializer>(v: &PaymentTerms, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.code())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PaymentTerms, D::Error> {
        let code = String::deserialize(d)?;
        PaymentTerms::from_code(&code).ok_or_else(|| {
            D::Error::custom(format!("expected `net:<days>`, `cod` or `prepay`, got `{code}`"))
        })
    }
}

/// Defines a table with one value per grade and its own per-grade defaults. A struct per
/// concern (rather than one struct per grade) keeps `#[serde(default)]` exact: a partial
/// `[grades.max_discount_pct]` fills its missing grades with *that* table's defaults.
macro_rules! per_grade {
    ($(#[$doc:meta])* $name:ident: $ty:ty $(, #[$fattr:meta])?
        = { a: $a:expr, b: $b:expr, c: $c:expr, d: $d:expr }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            /// Grade A.
            $(#[$fattr])? pub a: $ty,
            /// Grade B.
            $(#[$fattr])? pub b: $ty,
            /// Grade C.
            $(#[$fattr])? pub c: $ty,
            /// Grade D.
            $(#[$fattr])? pub d: $ty,
        }

        impl Default for $name {
            fn default() -> Self {
                $name { a: $a, b: $b, c: $c, d: $d }
            }
        }

        impl $name {
            /// The value for `grade`.
            pub fn get(&self, grade: Grade) -> $ty {
                match grade {
                    Grade::A => self.a,
                    Grade::B => self.b,
                    Grade::C => self.c,
                    Grade::D => self.d,
                }
            }

            /// The values, best grade first.
            pub fn in_order(&self) -> [$ty; 4] {
                [self.a, self.b, self.c, self.d]
            }
        }
    };
}

per_grade!(
    /// Maximum discount off the internal price (内控价格) in percent; negative is a required
    /// surcharge (D: -5 means at least 5% above the internal price).
    DiscountCaps: Decimal = {
        a: Decimal::new(5, 0), b: Decimal::new(3, 0), c: Decimal::ZERO, d: Decimal::new(-5, 0)
    }
);
per_grade!(
    /// The most generous payment terms a grade may get. A's "3 months after delivery" is
    /// counted as net 90 days.
    MaxPaymentTerms: PaymentTerms, #[serde(with = "terms_code")] = {
        a: PaymentTerms::NetDays { days: 90 },
        b: PaymentTerms::NetDays { days: 30 },
        c: PaymentTerms::CashOnDelivery,
        d: PaymentTerms::PaymentBeforeDelivery
    }
);
per_grade!(
    /// Standard delivery time in days; `"per_order"` in TOML means reviewed order by order.
    DeliveryDays: Option<u32>, #[serde(with = "delivery_days")] = {
        a: Some(20), b: Some(30), c: Some(40), d: None
    }
);
per_grade!(
    /// Whether rush orders may jump the queue.
    RushPolicies: RushPolicy = {
        a: RushPolicy::MayJumpQueue, b: RushPolicy::CaseByCase, c: RushPolicy::No, d: RushPolicy::No
    }
);

/// What each grade gets (分级政策, seed 001).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GradePolicy {
    /// Maximum discount per grade.
    pub max_discount_pct: DiscountCaps,
    /// Most generous payment terms per grade; also the ladder a late-payment downgrade steps
    /// down (A's terms → B's → C's → D's).
    pub max_payment_terms: MaxPaymentTerms,
    /// Standard delivery days per grade.
    pub standard_delivery_days: DeliveryDays,
    /// Rush-order policy per grade.
    pub rush: RushPolicies,
}

impl GradePolicy {
    fn check(&self, p: &mut Vec<String>) {
        // The range of each cap (and of the delivery days) is checked from `bounds`.
        let caps = self.max_discount_pct.in_order();
        require(
            p,
            caps.windows(2).all(|w| w[0] >= w[1]),
            "grades.max_discount_pct must not grow from A to D",
        );
        let terms = self.max_payment_terms.in_order();
        require(
            p,
            terms.windows(2).all(|w| w[0].generosity_days() >= w[1].generosity_days()),
            "grades.max_payment_terms must not get more generous from A to D",
        );
    }
}

policy_table! {
    /// Credit limit amounts (客户信用管理制度). The kind of credit per grade is fixed by the rules
    /// (A up to the payment period's sales, B a starting limit, C small after review, D none);
    /// the amounts are policy.
    CreditPolicy {
        /// The starting limit a B customer may get without approval; more needs a manager
        /// (the limit "grows with record" through approvals).
        b_starting_limit: Decimal = cny(500_000),
        /// The largest "small limit" a C customer may get after review.
        c_small_limit_max: Decimal = cny(100_000),
    }
}

policy_table! {
    /// Late-payment rule: this many late payments in one calendar quarter drop the terms a step.
    LatePaymentPolicy {
        /// Late payments in one quarter (inclusive) that trigger the downgrade.
        per_quarter_threshold: u32 = 2,
    }
}

policy_table! {
    /// Visit cadence in months (拜访机制, seed 000 §4.2; A-grade quarterly contact, seed 001).
    VisitPolicy {
        /// Leadership meeting for strategic customers, every this many months.
        leadership_months: u32 = 6,
        /// Account-manager visit for strategic customers.
        account_manager_months: u32 = 1,
        /// Technical visit for strategic customers.
        technical_months: u32 = 6,
        /// Quality visit for strategic customers.
        quality_months: u32 = 3,
        /// Any contact (visit or call) with a grade-A customer.
        grade_a_contact_months: u32 = 3,
    }
}

policy_table! {
    /// Service-ticket reply SLA.
    TicketPolicy {
        /// Every request is answered within this many hours of opening.
        reply_within_hours: u32 = 24,
        /// A pending ticket is "due soon" when this many minutes or fewer remain.
        due_soon_minutes: u32 = 240,
    }
}

impl TicketPolicy {
    fn check(&self, p: &mut Vec<String>) {
        require(
            p,
            u64::from(self.due_soon_minutes) < u64::from(self.reply_within_hours) * 60,
            "tickets.due_soon_minutes must be shorter than the reply SLA",
        );
    }
}

policy_table! {
    /// Selection-event thresholds (委建房 / 选房, seed 001), used by the selection rules.
    SelectionPolicy {
        /// Minimum payment ratio the buyer confirms, in percent of the total price.
        min_payment_ratio_pct: Decimal = Decimal::new(50, 0),
        /// How long a unit hold lasts before it lapses, in seconds.
        hold_ttl_seconds: u64 = 900,
        /// Fee for renaming to a buyer not on the list, in percent of (market − contract) price.
        rename_fee_pct_of_difference: Decimal = Decimal::new(50, 0),
        /// Smallest fee for switching from full payment to a loan (CNY).
        loan_switch_fee_min: Decimal = cny(1_000),
        /// Largest fee for switching from full payment to a loan (CNY).
        loan_switch_fee_max: Decimal = cny(3_000),
        /// Working days within which an urgent phone approval of a relationship unit must be
        /// backed by paper.
        relationship_paper_deadline_working_days: u32 = 5,
        /// Units one buyer may hold or buy at one event. A policy default, not a seed fact:
        /// the seeds do not say, and one unit per listed person is how such lists are drawn.
        max_units_per_buyer: u32 = 1,
        /// Cap on the summed discounts a buyer takes on one work ticket, in percent of the
        /// total price. A policy default, not a seed fact: the seeds name discounts (for
        /// paying in full, for instance) but no cap, and 5% matches the largest grade
        /// discount the company gives anywhere.
        max_total_discount_pct: Decimal = Decimal::new(5, 0),
        /// Public holidays that are not working days, as `"YYYY-MM-DD"` strings, for the
        /// relationship-unit paper deadline. Saturdays and Sundays are never working days;
        /// make-up working weekends (调休) are not modelled, so they do not count as working
        /// days either.
        holidays: Vec<NaiveDate> = Vec::new(),
        /// Who must approve a unit price (RULES.md §7: the sales director, finance director,
        /// project head, GM and chairman), as the approver ids an approval names. The desk
        /// refuses an approval that leaves any of them out (`approvers_missing`).
        price_approvers: Vec<String> = default_price_approvers(),
    }
}

/// The approvers RULES.md §7 names, by the ids the demo data uses.
fn default_price_approvers() -> Vec<String> {
    ["sales-director", "finance-director", "project-head", "gm", "chairman"]
        .into_iter()
        .map(str::to_owned)
        .collect()
}

impl SelectionPolicy {
    fn check(&self, p: &mut Vec<String>) {
        // Each value's range is checked from `bounds`; only the relation is left here.
        require(
            p,
            self.loan_switch_fee_min <= self.loan_switch_fee_max,
            "selection loan-switch fees must satisfy 0 <= min <= max",
        );
        require(
            p,
            !self.price_approvers.is_empty(),
            "selection.price_approvers must name at least one approver",
        );
        require(
            p,
            self.price_approvers.iter().all(|a| !a.trim().is_empty()),
            "selection.price_approvers must not contain an empty id",
        );
        let mut seen = std::collections::BTreeSet::new();
        require(
            p,
            self.price_approvers.iter().all(|a| seen.insert(a.trim())),
            "selection.price_approvers must not name an approver twice",
        );
    }

    /// The selection numbers with their paths and documented ranges.
    fn bounded_values(&self, push: &mut impl FnMut(&str, &'static Bound, Decimal)) {
        push(
            "selection.min_payment_ratio_pct",
            &POLICY_MIN_PAYMENT_RATIO,
            self.min_payment_ratio_pct,
        );
        push("selection.hold_ttl_seconds", &POLICY_HOLD_TTL, self.hold_ttl_seconds.into());
        let rename = self.rename_fee_pct_of_difference;
        push("selection.rename_fee_pct_of_difference", &POLICY_RENAME_FEE_PCT, rename);
        push("selection.loan_switch_fee_min", &LOAN_SWITCH_FEE, self.loan_switch_fee_min);
        push("selection.loan_switch_fee_max", &LOAN_SWITCH_FEE, self.loan_switch_fee_max);
        let days = self.relationship_paper_deadline_working_days.into();
        push("selection.relationship_paper_deadline_working_days", &POLICY_PAPER_DAYS, days);
        let units = self.max_units_per_buyer.into();
        push("selection.max_units_per_buyer", &POLICY_UNITS_PER_BUYER, units);
        let cap = self.max_total_discount_pct;
        push("selection.max_total_discount_pct", &POLICY_MAX_TOTAL_DISCOUNT, cap);
    }
}

/// The account-management tables (RULES.md §8–12).
mod accounts;
use accounts::account_values;
pub use accounts::{
    CommissioningPolicy, PipelinePolicy, PlanPolicy, ScorecardPolicy, ScorecardWeights,
    SurveyPolicy,
};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn default_is_valid_and_round_trips() {
        let policy = Policy::default();
        assert!(policy.validate().is_ok());
        let text = policy.to_toml_string().unwrap();
        assert!(text.contains("main_min_annual_sales = \"5000000.00\""), "{text}");
        assert!(text.contains("d = \"per_order\""), "{text}");
        assert!(text.contains("a = \"net:90\""), "{text}");
        assert_eq!(Policy::from_toml_str(&text).unwrap(), policy);
    }

    #[test]
    fn empty_file_is_the_default() {
        assert_eq!(Policy::from_toml_str("").unwrap(), Policy::default());
    }

    #[test]
    fn partial_file_overrides_only_what_it_names() {
        let p = Policy::from_toml_str("[grades.max_discount_pct]\nb = \"2.5\"\n").unwrap();
        assert_eq!(p.grades.max_discount_pct.b, Decimal::new(25, 1));
        assert_eq!(p.grades.max_discount_pct.a, Decimal::new(5, 0));
        assert_eq!(p.grades.max_discount_pct.d, Decimal::new(-5, 0));
        let mut expected = Policy::default();
        expected.grades.max_discount_pct.b = Decimal::new(25, 1);
        assert_eq!(p, expected);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Policy::from_toml_str("[tiers]\nmain_min_anual_sales = \"1.00\"\n");
        assert!(matches!(err, Err(PolicyError::Parse(_))), "{err:?}");
        let err = Policy::from_toml_str("versoin = \"x\"\n");
        assert!(matches!(err, Err(PolicyError::Parse(_))), "{err:?}");
        // Bad codes are parse errors too.
        let err = Policy::from_toml_str("[grades.max_payment_terms]\na = \"net90\"\n");
        assert!(matches!(err, Err(PolicyError::Parse(_))), "{err:?}");
        let err = Policy::from_toml_str("[grades.standard_delivery_days]\nd = \"never\"\n");
        assert!(matches!(err, Err(PolicyError::Parse(_))), "{err:?}");
    }

    #[test]
    fn per_order_delivery_can_be_set_and_cleared() {
        let p =
            Policy::from_toml_str("[grades.standard_delivery_days]\nc = \"per_order\"\nd = 60\n")
                .unwrap();
        assert_eq!(p.grades.standard_delivery_days.c, None);
        assert_eq!(p.grades.standard_delivery_days.d, Some(60));
    }

    #[test]
    fn weights_must_sum_to_100() {
        let err = Policy::from_toml_str("[scoring.factor_max_points]\nsales_scale = 25\n");
        match err {
            Err(PolicyError::Invalid { reason }) => assert!(reason.contains("105"), "{reason}"),
            other => panic!("expected Invalid, got {other:?}"),
        }
        let ok = "[scoring.factor_max_points]\nsales_scale = 25\nindustry_reputation = 5\n";
        assert_eq!(Policy::from_toml_str(ok).unwrap().scoring.factor_max_points.total(), 100);
        let err = Policy::from_toml_str("[scoring.grade_share_pct]\na = 30\n");
        assert!(matches!(err, Err(PolicyError::Invalid { .. })), "{err:?}");
    }

    #[test]
    fn inconsistent_values_are_all_reported() {
        let mut p = Policy::default();
        p.tiers.main_min_annual_sales = p.tiers.key_min_annual_sales;
        p.visits.quality_months = 0;
        p.tickets.due_soon_minutes = 24 * 60;
        p.grades.max_discount_pct.c = Decimal::new(10, 0);
        p.grades.max_payment_terms.d = PaymentTerms::NetDays { days: 120 };
        let Err(PolicyError::Invalid { reason }) = p.validate() else { panic!("valid?") };
        for needle in ["tiers", "visits", "tickets", "max_discount_pct", "max_payment_terms"] {
            assert!(reason.contains(needle), "{needle} missing from {reason}");
        }
    }

    #[test]
    fn price_approvers_default_to_the_five_of_rules_7_and_must_be_distinct() {
        let p = Policy::default();
        assert_eq!(
            p.selection.price_approvers,
            ["sales-director", "finance-director", "project-head", "gm", "chairman"]
        );
        let two = Policy::from_toml_str("[selection]\nprice_approvers = [\"gm\", \"cfo\"]\n");
        assert_eq!(two.unwrap().selection.price_approvers, ["gm", "cfo"]);
        for bad in ["[]", "[\"gm\", \"gm\"]", "[\"gm\", \" \"]"] {
            let text = format!("[selection]\nprice_approvers = {bad}\n");
            let Err(PolicyError::Invalid { reason }) = Policy::from_toml_str(&text) else {
                panic!("{bad} accepted")
            };
            assert!(reason.contains("selection.price_approvers"), "{reason}");
        }
    }

    #[test]
    fn selection_policy_defaults_and_checks() {
        let p = Policy::default();
        assert_eq!(p.selection.max_units_per_buyer, 1);
        assert_eq!(p.selection.max_total_discount_pct, Decimal::new(5, 0));
        assert!(p.selection.holidays.is_empty());
        let text = "[selection]\nholidays = [\"2026-10-01\", \"2026-10-02\"]\n";
        let p = Policy::from_toml_str(text).unwrap();
        assert_eq!(p.selection.holidays[1], NaiveDate::from_ymd_opt(2026, 10, 2).unwrap());
        assert_eq!(Policy::from_toml_str(&p.to_toml_string().unwrap()).unwrap(), p);
        let err = Policy::from_toml_str("[selection]\nholidays = [\"2026-13-01\"]\n");
        assert!(matches!(err, Err(PolicyError::Parse(_))), "{err:?}");

        let mut p = Policy::default();
        p.selection.max_units_per_buyer = 0;
        p.selection.max_total_discount_pct = Decimal::ONE_HUNDRED;
        p.selection.relationship_paper_deadline_working_days = 251;
        let Err(PolicyError::Invalid { reason }) = p.validate() else { panic!("valid?") };
        for needle in ["max_units_per_buyer", "max_total_discount_pct", "working_days"] {
            assert!(reason.contains(needle), "{needle} missing from {reason}");
        }
        let mut p = Policy::default();
        p.selection.max_total_discount_pct = Decimal::new(-1, 2);
        assert!(p.validate().is_err());
        p.selection.max_total_discount_pct = Decimal::new(9999, 2);
        p.selection.relationship_paper_deadline_working_days = 250;
        assert!(p.validate().is_ok());
    }

    #[test]
    fn thresholds_outside_their_documented_ranges_are_refused_by_path() {
        for (text, path) in [
            (
                "[tiers]\nkey_min_annual_sales = \"79228162514264337593543950335\"\n",
                "tiers.key_min_annual_sales",
            ),
            ("[tiers]\nmain_min_annual_sales = \"1.001\"\n", "tiers.main_min_annual_sales"),
            ("[grades.max_payment_terms]\na = \"net:4000\"\n", "grades.max_payment_terms.a"),
            ("[selection]\nhold_ttl_seconds = 604801\n", "selection.hold_ttl_seconds"),
            ("[credit]\nb_starting_limit = \"-0.01\"\n", "credit.b_starting_limit"),
            ("business_utc_offset_minutes = 841\n", "business_utc_offset_minutes"),
        ] {
            match Policy::from_toml_str(text) {
                Err(PolicyError::Invalid { reason }) => assert!(reason.contains(path), "{reason}"),
                other => panic!("{text}: expected Invalid, got {other:?}"),
            }
        }
        let week = Policy::from_toml_str("[selection]\nhold_ttl_seconds = 604800\n").unwrap();
        assert_eq!(week.selection.hold_ttl_seconds, 604_800, "the bound itself is allowed");
    }

    #[test]
    fn account_management_defaults_follow_rules_8_to_12() {
        let p = Policy::default();
        assert_eq!(p.pipeline.candidate_min_annual_purchase, cny(1_000_000));
        assert_eq!(p.pipeline.candidate_min_profit_share_pct, Decimal::new(10, 0));
        assert_eq!(p.plans.resident_representative_min_annual_sales, cny(50_000_000));
        assert_eq!(p.plans.evaluation_days_after_quarter, 15);
        let s = &p.surveys;
        assert_eq!((s.key_interval_months, s.other_interval_months), (3, 6));
        assert_eq!(s.satisfaction_window_months, 12);
        assert_eq!(p.scorecards.weights.total(), 100);
        assert_eq!(p.scorecards.weights.sales, 30);
        assert_eq!(p.commissioning.min_candidates, 3);
        assert_eq!(p.commissioning.blind_price_pct_of_comparables, Decimal::new(80, 0));
        assert_eq!(p.commissioning.experience_markup_pct, Decimal::new(30, 0));
        assert_eq!(p.commissioning.reminder_interval_days, 7);
        let text = p.to_toml_string().unwrap();
        assert!(text.contains("[scorecards.weights]"), "{text}");
        assert_eq!(Policy::from_toml_str(&text).unwrap(), p);
    }

    #[test]
    fn scorecard_weights_must_sum_to_exactly_100() {
        for (text, sum) in [
            ("[scorecards.weights]\nsales = 29\n", "99"),
            ("[scorecards.weights]\nsales = 31\n", "101"),
        ] {
            match Policy::from_toml_str(text) {
                Err(PolicyError::Invalid { reason }) => {
                    assert!(reason.contains("scorecards.weights"), "{reason}");
                    assert!(reason.contains(&format!("not {sum}")), "{reason}");
                }
                other => panic!("{text}: expected Invalid, got {other:?}"),
            }
        }
        let moved = "[scorecards.weights]\nsales = 25\npeer_rating = 10\n";
        assert_eq!(Policy::from_toml_str(moved).unwrap().scorecards.weights.total(), 100);
        let err =
            Policy::from_toml_str("[scorecards.weights]\nsales = 101\nvisit_compliance = 0\n");
        assert!(matches!(err, Err(PolicyError::Invalid { .. })), "{err:?}");
    }

    #[test]
    fn account_management_thresholds_are_bounded_and_related() {
        for (text, path) in [
            ("[pipeline]\ncandidate_min_annual_purchase = \"0\"\n", "pipeline.candidate_min"),
            ("[pipeline]\ncandidate_min_profit_share_pct = \"100\"\n", "profit_share_pct"),
            ("[plans]\nevaluation_days_after_quarter = 0\n", "plans.evaluation_days"),
            ("[surveys]\nkey_interval_months = 0\n", "surveys.key_interval_months"),
            ("[surveys]\nkey_interval_months = 7\n", "surveys.key_interval_months"),
            ("[surveys]\nsatisfaction_window_months = 5\n", "satisfaction_window_months"),
            ("[commissioning]\nmin_candidates = 0\n", "commissioning.min_candidates"),
            ("[commissioning]\nblind_price_pct_of_comparables = \"0\"\n", "blind_price"),
            ("[commissioning]\nreminder_interval_days = 0\n", "reminder_interval_days"),
            ("[commissioning]\ndunning_after_days = 366\n", "dunning_after_days"),
        ] {
            match Policy::from_toml_str(text) {
                Err(PolicyError::Invalid { reason }) => assert!(reason.contains(path), "{reason}"),
                other => panic!("{text}: expected Invalid, got {other:?}"),
            }
        }
        // A payment-ratio minimum here would duplicate selection.min_payment_ratio_pct.
        let err = Policy::from_toml_str("[commissioning]\nmin_payment_ratio_pct = \"50\"\n");
        assert!(matches!(err, Err(PolicyError::Parse(_))), "{err:?}");
    }

    #[test]
    fn file_io() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, "version = \"acme-2026\"\n").unwrap();
        assert_eq!(Policy::from_toml_file(&path).unwrap().version, "acme-2026");
        let missing = Policy::from_toml_file(&dir.path().join("nope.toml"));
        assert!(matches!(missing, Err(PolicyError::Io { .. })), "{missing:?}");
    }

    #[test]
    fn business_date_uses_the_offset() {
        let p = Policy::default();
        // 16:00 UTC on Mar 31 is already Apr 1 in China.
        let now = Utc.with_ymd_and_hms(2026, 3, 31, 16, 0, 0).unwrap();
        assert_eq!(p.business_date(now), NaiveDate::from_ymd_opt(2026, 4, 1).unwrap());
        let before = Utc.with_ymd_and_hms(2026, 3, 31, 15, 59, 59).unwrap();
        assert_eq!(p.business_date(before), NaiveDate::from_ymd_opt(2026, 3, 31).unwrap());
        let utc = Policy { business_utc_offset_minutes: 0, ..Policy::default() };
        assert_eq!(utc.business_date(now), NaiveDate::from_ymd_opt(2026, 3, 31).unwrap());
    }
}
