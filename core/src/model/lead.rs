//! A development lead (客户开发, 003 三.1, 002 客户开发): a customer being developed into a key
//! account, from market research to a signed agreement or a loss with its reason.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::common::{CustomerId, EntryId, LeadId, UserId, vocabulary};

/// Where a lead is in its development (002 客户开发).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStage {
    /// 市场调研: the market and the customer are being studied.
    MarketResearch,
    /// 初步接触: first contact made.
    FirstContact,
    /// 需求分析: the customer's needs are being analysed.
    NeedsAnalysis,
    /// 方案制定: a solution is being prepared and presented.
    Solution,
    /// 商务谈判: business negotiation.
    Negotiation,
    /// 签订协议: agreement signed — the lead is won.
    Won,
    /// 失败: lost, with a reason.
    Lost,
}
vocabulary!(LeadStage, "lead stage", {
    MarketResearch => "market_research", FirstContact => "first_contact",
    NeedsAnalysis => "needs_analysis", Solution => "solution", Negotiation => "negotiation",
    Won => "won", Lost => "lost"
});

impl LeadStage {
    /// The open stages, in the order a lead moves through them.
    pub const OPEN: [LeadStage; 5] = [
        LeadStage::MarketResearch,
        LeadStage::FirstContact,
        LeadStage::NeedsAnalysis,
        LeadStage::Solution,
        LeadStage::Negotiation,
    ];

    /// Whether the lead is finished (won or lost).
    pub fn is_closed(self) -> bool {
        matches!(self, LeadStage::Won | LeadStage::Lost)
    }

    /// The Chinese name used on screens and exports.
    pub fn label_zh(self) -> &'static str {
        match self {
            LeadStage::MarketResearch => "市场调研",
            LeadStage::FirstContact => "初步接触",
            LeadStage::NeedsAnalysis => "需求分析",
            LeadStage::Solution => "方案制定",
            LeadStage::Negotiation => "商务谈判",
            LeadStage::Won => "签约成功",
            LeadStage::Lost => "开发失败",
        }
    }

    /// The English name.
    pub fn label_en(self) -> &'static str {
        match self {
            LeadStage::MarketResearch => "Market research",
            LeadStage::FirstContact => "First contact",
            LeadStage::NeedsAnalysis => "Needs analysis",
            LeadStage::Solution => "Solution",
            LeadStage::Negotiation => "Negotiation",
            LeadStage::Won => "Won",
            LeadStage::Lost => "Lost",
        }
    }
}

/// Why a lead counts as a key-account candidate (003 二): any one criterion is enough.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadCriteria {
    /// Expected yearly purchase amount in CNY.
    pub expected_annual_purchase: Option<Decimal>,
    /// Expected profit contribution as a percentage of our profit.
    pub profit_share_pct: Option<Decimal>,
    /// Development potential, with its reason (empty: none recorded).
    pub potential: String,
}

/// One stage change, with who made it, when and what was learned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageChange {
    /// Stable id.
    pub id: EntryId,
    /// Stage before.
    pub from: LeadStage,
    /// Stage after.
    pub to: LeadStage,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: UserId,
    /// What was learned at the stage being left (needs, decision makers, competitors...).
    pub learned: String,
    /// Why the lead was lost (required when `to` is lost).
    pub lost_reason: Option<String>,
}

/// A development lead: one `lead/<id>` document, seen with its customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    /// Stable id.
    pub id: LeadId,
    /// The customer being developed (a prospect is entered as a customer first).
    pub customer_id: CustomerId,
    /// One-line description of the opportunity.
    pub title: String,
    /// Who identified the lead (003 三.1: anyone in sales, key-account or service staff).
    pub identified_by: UserId,
    /// When it was identified.
    pub identified_at: DateTime<Utc>,
    /// The rep working it.
    pub owner: UserId,
    /// The criteria that make it a candidate.
    pub criteria: LeadCriteria,
    /// Expected contract value in CNY (the pipeline's value).
    pub expected_value: Decimal,
    /// Current stage (last writer wins; `history` keeps every change).
    pub stage: LeadStage,
    /// Every stage change.
    pub history: BTreeMap<EntryId, StageChange>,
}
