//! The dashboard's two languages: Chinese first (zh-CN), English on request.
//!
//! Texts live next to the markup that shows them as `(zh, en)` pairs, so a page can never
//! show one language's text without the other's; the vocabulary codes (tier, ticket kind,
//! status …) have their labels here, in one place.

use kam_core::rules::{RegradeReason, TierReason};
use serde::Deserialize;

use super::layout::money;

/// The language a page is rendered in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum Lang {
    /// 简体中文, the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// From the cookie value or a query parameter; anything unknown is Chinese.
    pub fn from_code(code: Option<&str>) -> Lang {
        match code {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The code stored in the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The value of `<html lang>`.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Picks the text for this language.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// A vocabulary code's label (tier, grade, ticket kind/priority/status, SLA state, visit
    /// level, unit status, role); an unknown code is shown as it is.
    pub fn label(self, code: &str) -> String {
        let pair = match code {
            "strategic" => ("战略客户", "Strategic"),
            "key" => ("重点客户", "Key"),
            "main" => ("主要客户", "Main"),
            "general" => ("一般客户", "General"),
            "inquiry" => ("咨询", "Inquiry"),
            "after_sales" => ("售后服务", "After-sales"),
            "quality" => ("质量问题", "Quality"),
            "complaint" => ("投诉", "Complaint"),
            "delivery" => ("交货问题", "Delivery"),
            "urgent" => ("紧急", "Urgent"),
            "high" => ("高", "High"),
            "normal" => ("普通", "Normal"),
            "low" => ("低", "Low"),
            "new" => ("新建", "New"),
            "in_progress" => ("处理中", "In progress"),
            "escalated" => ("跨部门处理", "Escalated"),
            "resolved" => ("已解决待回访", "Resolved"),
            "closed" => ("已关闭", "Closed"),
            "reopened" => ("重新打开", "Reopened"),
            "overdue" => ("已超时", "Overdue"),
            "due_soon" => ("即将超时", "Due soon"),
            "pending" => ("待回复", "Pending"),
            "breached" => ("超时已回复", "Replied late"),
            "met" => ("按时回复", "Replied on time"),
            "leadership" => ("高层互访", "Leadership"),
            "account_manager" => ("大客户经理拜访", "Account manager"),
            "technical" => ("技术拜访", "Technical"),
            "available" => ("可售", "Available"),
            "held" => ("已锁定", "Held"),
            "sold" => ("已售", "Sold"),
            "withdrawn" => ("已撤销", "Withdrawn"),
            "strict_order" => ("按摇号顺序", "Lottery order"),
            "free" => ("自由选房", "Free choice"),
            "rep" => ("客户经理", "Rep"),
            "event_staff" => ("选房工作人员", "Event staff"),
            "venue" => ("现场服务器", "Venue server"),
            "finance" => ("财务", "Finance"),
            "hq" => ("总部", "Headquarters"),
            "admin" => ("管理员", "Administrator"),
            other => return other.to_owned(),
        };
        // The quality visit level shares its code with the ticket kind: label it as a visit
        // only where visits are shown (see `visit_level`).
        self.t(pair.0, pair.1).to_owned()
    }

    /// A document kind's label (`customer` → 客户).
    pub fn doc_kind(self, code: &str) -> String {
        let pair = match code {
            "customer" => ("客户", "Customer"),
            "ticket" => ("工单", "Ticket"),
            "project" => ("项目", "Project"),
            "event" => ("选房活动", "Selection event"),
            "lead" => ("商机", "Lead"),
            "plan" => ("客户计划", "Account plan"),
            "survey" => ("满意度调查", "Survey"),
            "scorecard" => ("绩效考核", "Scorecard"),
            "review" => ("月度例会", "Monthly review"),
            "organisation" => ("委建单位", "Organisation"),
            other => return other.to_owned(),
        };
        self.t(pair.0, pair.1).to_owned()
    }

    /// A visit level's label.
    pub fn visit_level(self, code: &str) -> String {
        match code {
            "quality" => self.t("质量拜访", "Quality").to_owned(),
            other => self.label(other),
        }
    }

    /// A re-grade reason, worded for the approver: tiers by their labels, amounts in yuan.
    pub fn regrade_reason(self, reason: &RegradeReason) -> String {
        match reason {
            RegradeReason::Tier { from, to, why } => {
                let (from, to) = (self.label(from.as_str()), self.label(to.as_str()));
                match self {
                    Lang::Zh => format!("级别 {from} → {to}：{}", self.tier_reason(why)),
                    Lang::En => format!("Tier {from} → {to}: {}", self.tier_reason(why)),
                }
            }
            RegradeReason::Grade { from, to, score, rank, of } => {
                let from = from.map_or(self.t("无", "none"), |g| g.as_str());
                match self {
                    Lang::Zh => format!(
                        "等级 {from} → {}：评分 {score}，在强制分布中排第 {rank} 名（共 {of} 名）",
                        to.as_str()
                    ),
                    Lang::En => format!(
                        "Grade {from} → {}: score {score} ranks {rank} of {of} in the forced distribution",
                        to.as_str()
                    ),
                }
            }
        }
    }

    /// Why last year's sales call for a tier.
    fn tier_reason(self, why: &TierReason) -> String {
        // Every sales-based reason compares the sales with one threshold, then may add why
        // the brand mattered.
        let (sales, threshold, reached, zh_tail, en_tail) = match why {
            TierReason::DesignatedStrategic => {
                return self
                    .t("经管理层认定为战略客户", "designated strategic by management")
                    .to_owned();
            }
            TierReason::KeyThresholdAndLeadingBrand { annual_sales, key_min } => {
                (annual_sales, key_min, true, "，且为行业龙头品牌", " and a leading brand")
            }
            TierReason::KeySalesWithoutLeadingBrand { annual_sales, key_min } => (
                annual_sales,
                key_min,
                true,
                "，但非行业龙头品牌，故为主要客户",
                " but not a leading brand, so main",
            ),
            TierReason::MainThreshold { annual_sales, main_min } => {
                (annual_sales, main_min, true, "", "")
            }
            TierReason::BelowMainThreshold { annual_sales, main_min } => {
                (annual_sales, main_min, false, "", "")
            }
        };
        let (sales, threshold) = (money(&sales.to_string()), money(&threshold.to_string()));
        match (self, reached) {
            (Lang::Zh, true) => format!("上年销售额 {sales} 元，不低于 {threshold} 元{zh_tail}"),
            (Lang::Zh, false) => format!("上年销售额 {sales} 元，低于 {threshold} 元{zh_tail}"),
            (Lang::En, true) => format!("sales {sales} CNY ≥ {threshold}{en_tail}"),
            (Lang::En, false) => format!("sales {sales} CNY below {threshold}{en_tail}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use kam_core::model::{Grade, Tier};
    use rust_decimal::Decimal;

    use super::*;

    #[test]
    fn a_regrade_reason_reads_in_the_readers_language() {
        let tier = RegradeReason::Tier {
            from: Tier::Main,
            to: Tier::General,
            why: TierReason::BelowMainThreshold {
                annual_sales: Decimal::new(499_999_999, 2),
                main_min: Decimal::from(5_000_000),
            },
        };
        assert_eq!(
            Lang::Zh.regrade_reason(&tier),
            "级别 主要客户 → 一般客户：上年销售额 4,999,999.99 元，低于 5,000,000.00 元"
        );
        assert_eq!(
            Lang::En.regrade_reason(&tier),
            "Tier Main → General: sales 4,999,999.99 CNY below 5,000,000.00"
        );
        let grade = RegradeReason::Grade { from: None, to: Grade::C, score: 10, rank: 4, of: 4 };
        assert_eq!(
            Lang::Zh.regrade_reason(&grade),
            "等级 无 → C：评分 10，在强制分布中排第 4 名（共 4 名）"
        );
        assert_eq!(
            Lang::En.regrade_reason(&grade),
            "Grade none → C: score 10 ranks 4 of 4 in the forced distribution"
        );
    }
}
