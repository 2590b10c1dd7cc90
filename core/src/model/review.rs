//! The strategic-account leadership group's monthly review (000 §4.3.3, 附件一): attendees,
//! findings per customer and the measures decided, tracked until closed.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::common::{CustomerId, EntryId, ReviewId, UserId, vocabulary};

/// What a finding is about (附件一's columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// 业务量及波动.
    VolumeSwing,
    /// 新业务.
    NewBusiness,
    /// 质量问题.
    Quality,
    /// 交付问题.
    Delivery,
    /// 服务问题.
    Service,
    /// 重大投诉.
    SeriousComplaint,
    /// 风险.
    Risk,
}
vocabulary!(FindingKind, "finding kind", {
    VolumeSwing => "volume_swing", NewBusiness => "new_business", Quality => "quality",
    Delivery => "delivery", Service => "service", SeriousComplaint => "serious_complaint",
    Risk => "risk"
});

impl FindingKind {
    /// The Chinese name used on screens and exports.
    pub fn label_zh(self) -> &'static str {
        match self {
            FindingKind::VolumeSwing => "业务量波动",
            FindingKind::NewBusiness => "新业务",
            FindingKind::Quality => "质量问题",
            FindingKind::Delivery => "交付问题",
            FindingKind::Service => "服务问题",
            FindingKind::SeriousComplaint => "重大投诉",
            FindingKind::Risk => "风险",
        }
    }
}

/// One finding about a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id.
    pub id: EntryId,
    /// The customer.
    pub customer_id: CustomerId,
    /// What about.
    pub kind: FindingKind,
    /// What was found.
    pub text: String,
}

/// A measure's closing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasureClosing {
    /// Who closed it.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// What was done.
    pub note: String,
}

/// A decided measure, with its owner and due date, open until closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    /// Stable id.
    pub id: EntryId,
    /// The customer it concerns, if one.
    pub customer_id: Option<CustomerId>,
    /// What is to be done.
    pub text: String,
    /// Who owns it.
    pub owner: UserId,
    /// By when.
    pub due_on: NaiveDate,
    /// The closing, once closed.
    pub closed: Option<MeasureClosing>,
}

/// One month's meeting: one `review/<YYYY-MM>` document, kept by headquarters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadershipReview {
    /// Stable id: the month, `YYYY-MM`.
    pub id: ReviewId,
    /// The day the group met.
    pub held_on: NaiveDate,
    /// Who attended: user id → name as recorded.
    pub attendees: BTreeMap<UserId, String>,
    /// Findings.
    pub findings: BTreeMap<EntryId, Finding>,
    /// Measures decided.
    pub measures: BTreeMap<EntryId, Measure>,
}
