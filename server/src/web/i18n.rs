//! The dashboard's two languages: Chinese first (zh-CN), English on request.
//!
//! Texts live next to the markup that shows them as `(zh, en)` pairs, so a page can never
//! show one language's text without the other's; the vocabulary codes (tier, ticket kind,
//! status …) have their labels here, in one place.

use serde::Deserialize;

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
            "finance" => ("财务", "Finance"),
            "hq" => ("总部", "Headquarters"),
            "admin" => ("管理员", "Administrator"),
            other => return other.to_owned(),
        };
        // The quality visit level shares its code with the ticket kind: label it as a visit
        // only where visits are shown (see `visit_level`).
        self.t(pair.0, pair.1).to_owned()
    }

    /// A visit level's label.
    pub fn visit_level(self, code: &str) -> String {
        match code {
            "quality" => self.t("质量拜访", "Quality").to_owned(),
            other => self.label(other),
        }
    }
}
