//! A satisfaction survey (客户满意度调查, 002; 003 七.4; 000 §4.2.5.3 回访): items scored 0–100.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::common::{CustomerId, SurveyId, TicketId, UserId, vocabulary};

/// Why a survey was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyKind {
    /// The periodic survey on the policy's cadence.
    Periodic,
    /// The call after a service ticket (回访).
    AfterService,
}
vocabulary!(SurveyKind, "survey kind", { Periodic => "periodic", AfterService => "after_service" });

/// What a survey asks about, each scored 0–100.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyItem {
    /// Product quality.
    Product,
    /// Delivery: on time, complete.
    Delivery,
    /// Service and after-sales.
    Service,
    /// The account manager (the customer's rating of the rep, 002 绩效考核's 客户评价).
    AccountManager,
    /// Overall satisfaction.
    Overall,
}
vocabulary!(SurveyItem, "survey item", {
    Product => "product", Delivery => "delivery", Service => "service",
    AccountManager => "account_manager", Overall => "overall"
});

impl SurveyItem {
    /// The Chinese name used on screens and exports.
    pub fn label_zh(self) -> &'static str {
        match self {
            SurveyItem::Product => "产品质量",
            SurveyItem::Delivery => "交付",
            SurveyItem::Service => "服务",
            SurveyItem::AccountManager => "客户经理",
            SurveyItem::Overall => "总体满意度",
        }
    }
}

/// One survey taken: one `survey/<id>` document, seen with its customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survey {
    /// Stable id.
    pub id: SurveyId,
    /// The customer surveyed.
    pub customer_id: CustomerId,
    /// Periodic or after service (stored as `survey_kind`: a document's `kind` is its own).
    #[serde(rename = "survey_kind")]
    pub kind: SurveyKind,
    /// The ticket an after-service survey follows.
    pub ticket_id: Option<TicketId>,
    /// When it was taken.
    pub taken_at: DateTime<Utc>,
    /// Who took it (a rep or service staff).
    pub taken_by: UserId,
    /// Who answered at the customer.
    pub respondent: String,
    /// Scores per item, each 0–100.
    pub items: BTreeMap<SurveyItem, u8>,
    /// What the customer said.
    pub comments: String,
}
