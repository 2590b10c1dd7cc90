//! A document's history as people read it: when (in the policy's time zone), who (by name),
//! what (the action in words) and which values changed, old → new, each field named in words.

use maud::{Markup, html};

use super::i18n::Lang;
use super::layout::local_when;
use crate::hq::customers::HistoryLine;

/// An action code in words (`customer.update_profile` → 修改档案); an unknown one as it is.
pub fn action_label(lang: Lang, code: &str) -> String {
    let words = match code {
        "customer.create" => ("建档", "File created"),
        "customer.update_profile" => ("修改档案", "Profile changed"),
        "customer.set_annual_sales" => ("登记年度销售额", "Annual sales recorded"),
        "customer.remove_annual_sales" => ("删除年度销售额", "Annual sales removed"),
        "customer.set_profit_contribution" => ("登记利润贡献", "Profit contribution recorded"),
        "customer.set_owners" => ("更换客户经理", "Reps changed"),
        "customer.handover" => ("客户移交", "Handed over"),
        "customer.set_classification" => ("调整分级", "Classification changed"),
        "customer.regrade" => ("年度分级调整（已批准）", "Yearly re-grade (approved)"),
        "customer.set_credit" => ("调整信用", "Credit changed"),
        "customer.upsert_contact" => ("登记联系人", "Contact recorded"),
        "customer.remove_contact" => ("删除联系人", "Contact removed"),
        "customer.upsert_visit" => ("登记拜访", "Visit recorded"),
        "customer.remove_visit" => ("删除拜访", "Visit removed"),
        "customer.upsert_late_payment" => ("登记逾期付款", "Late payment recorded"),
        "customer.remove_late_payment" => ("删除逾期付款", "Late payment removed"),
        "conflict.resolve" => ("解决冲突", "Conflict settled"),
        "demo.import" => ("导入演示数据", "Demo data imported"),
        _ => return code.to_owned(),
    };
    lang.t(words.0, words.1).to_owned()
}

/// A field's path in words: the known keys named, entity ids left out
/// (`contacts/<id>/phone` → 联系人 · 电话).
pub fn field_label(lang: Lang, path: &str) -> String {
    // A contact's title is a job title; a ticket's is its subject.
    let in_contacts = path.split('/').any(|key| key == "contacts");
    let named: Vec<&str> = path
        .split('/')
        .filter(|key| !key.is_empty())
        .filter_map(|key| {
            let words = match key {
                "title" if !in_contacts => ("标题", "Title"),
                "profile" => ("档案", "Profile"),
                "name" => ("名称", "Name"),
                "industry" => ("行业", "Industry"),
                "region" => ("区域", "Region"),
                "address" => ("地址", "Address"),
                "leading_brand" => ("行业领先品牌", "Leading brand"),
                "notes" => ("备注", "Notes"),
                "classification" => ("分级", "Classification"),
                "strategic" => ("战略客户", "Strategic"),
                "tier" => ("级别", "Tier"),
                "grade" => ("等级", "Grade"),
                "score" => ("评分", "Score"),
                "credit" => ("信用", "Credit"),
                "credit_grade" => ("信用等级", "Credit grade"),
                "credit_limit" => ("信用额度", "Credit limit"),
                "payment_terms" => ("付款条件", "Payment terms"),
                "owners" => ("客户经理", "Reps"),
                "contacts" => ("联系人", "Contacts"),
                "title" => ("职务", "Title"),
                "phone" => ("电话", "Phone"),
                "email" => ("邮箱", "E-mail"),
                "primary" => ("主要联系人", "Main contact"),
                "visits" => ("拜访", "Visits"),
                "level" => ("层级", "Level"),
                "visit_date" => ("日期", "Date"),
                "visitor" => ("拜访人", "Visitor"),
                "topics" => ("话题", "Topics"),
                "problems" => ("问题", "Problems"),
                "demand" => ("需求", "Demand"),
                "competitor_activity" => ("竞争对手动态", "Competitors"),
                "annual_sales" => ("年度销售额", "Annual sales"),
                "late_payments" => ("逾期付款", "Late payments"),
                "status" => ("状态", "Status"),
                "history" => ("状态记录", "Status history"),
                "replies" => ("回复", "Replies"),
                "owner" => ("负责人", "Owner"),
                "priority" => ("优先级", "Priority"),
                "kind" => ("类型", "Kind"),
                "description" => ("描述", "Description"),
                "preventive_action" => ("预防措施", "Preventive action"),
                "follow_up" => ("回访", "Follow-up"),
                "from" => ("原状态", "From"),
                "to" => ("新状态", "To"),
                "note" => ("说明", "Note"),
                "by" => ("操作人", "By"),
                "at" => ("时间", "At"),
                // An entity's stable id (a uuid) or a list index says nothing to a reader.
                other if other.len() >= 16 || other.parse::<u64>().is_ok() => return None,
                other => return Some(other),
            };
            Some(lang.t(words.0, words.1))
        })
        .collect();
    named.join(" · ")
}

/// A stored value in words, by the field it is in: payment terms, tiers and visit levels
/// named, yes and no for flags; other values as they are.
pub fn value_label(lang: Lang, path: &str, value: Option<&str>) -> String {
    let Some(value) = value else { return "—".to_owned() };
    match path.rsplit('/').next().unwrap_or("") {
        "payment_terms" => crate::reports::terms_label(value, super::list_file::report_lang(lang)),
        "tier" | "status" | "priority" | "kind" | "from" | "to" => lang.label(value),
        "level" => lang.visit_level(value),
        "strategic" | "leading_brand" | "primary" => match value {
            "true" => lang.t("是", "yes").to_owned(),
            "false" => lang.t("否", "no").to_owned(),
            other => other.to_owned(),
        },
        _ => value.to_owned(),
    }
}

/// A value stored as JSON (a rule violation's authorised and written values) in words: a text
/// or a flag as [`value_label`] names it at `path`, an object as its fields named and worded
/// one level deep, a list as its items; anything else (or what does not parse) as it is.
pub fn json_value_label(lang: Lang, path: &str, raw: &str) -> String {
    use serde_json::Value;
    let scalar = |path: &str, v: &Value| match v {
        Value::Null => value_label(lang, path, None),
        Value::String(s) => value_label(lang, path, Some(s)),
        Value::Bool(b) => value_label(lang, path, Some(if *b { "true" } else { "false" })),
        other => other.to_string(),
    };
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(fields)) if fields.is_empty() => "—".to_owned(),
        Ok(Value::Object(fields)) => {
            let sep = lang.t("；", "; ");
            let named: Vec<String> = fields
                .iter()
                .map(|(key, v)| {
                    let at = format!("{path}/{key}");
                    format!("{}{}{}", field_label(lang, key), lang.t("：", ": "), scalar(&at, v))
                })
                .collect();
            named.join(sep)
        }
        Ok(Value::Array(items)) => {
            let words: Vec<String> = items.iter().map(|v| scalar(path, v)).collect();
            words.join(lang.t("、", ", "))
        }
        Ok(v) => scalar(path, &v),
        Err(_) => raw.to_owned(),
    }
}

/// The history table (`section#history`), newest first.
pub fn history_table(lang: Lang, policy: &kam_core::Policy, lines: &[HistoryLine]) -> Markup {
    html! {
        section #history {
            h2 { (lang.t("变更历史", "History of changes")) " " span .muted { "(" (super::layout::zone_label(policy)) ")" } }
            table #history-table {
                tr { th { (lang.t("时间", "When")) } th { (lang.t("作者", "Author")) } th { (lang.t("操作", "Action")) } th { (lang.t("变更内容", "What changed")) } }
                @for h in lines {
                    tr .change data-action=(h.action) {
                        td { (local_when(policy, &h.at)) }
                        td .author data-user-id=(h.author) { (h.author_name) }
                        td .action { (action_label(lang, &h.action)) }
                        td .fields {
                            @for f in &h.changes {
                                div .field {
                                    span .name { (field_label(lang, &f.field)) } "："
                                    span .old { (value_label(lang, &f.field, f.old.as_deref())) } " → " span .new { (value_label(lang, &f.field, f.new.as_deref())) }
                                }
                            }
                            @if h.more_changes { div .muted { (lang.t("……及其他", "… and more")) } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_fields_are_named_in_the_readers_words() {
        assert_eq!(action_label(Lang::Zh, "customer.update_profile"), "修改档案");
        assert_eq!(action_label(Lang::En, "customer.regrade"), "Yearly re-grade (approved)");
        assert_eq!(action_label(Lang::Zh, "something.new"), "something.new");
        assert_eq!(field_label(Lang::Zh, "profile/credit_limit"), "档案 · 信用额度");
        let contact = "contacts/0f8c6a1e-2b7d-4c55-9d51-3a2f1e4b5c6d/phone";
        assert_eq!(field_label(Lang::En, contact), "Contacts · Phone");
        assert_eq!(value_label(Lang::Zh, "credit/payment_terms", Some("net:90")), "远期90天");
        assert_eq!(value_label(Lang::En, "classification/strategic", Some("true")), "yes");
        assert_eq!(value_label(Lang::Zh, "profile/name", None), "—");
        // A violation's path starts with a slash; a ticket's title is its subject.
        assert_eq!(field_label(Lang::Zh, "/credit"), "信用");
        assert_eq!(field_label(Lang::En, "/title"), "Title");
        assert_eq!(field_label(Lang::Zh, "/contacts/c-1/title"), "联系人 · c-1 · 职务");
        assert_eq!(field_label(Lang::Zh, "/history/0f8c6a1e2b7d4c559d51"), "状态记录");
    }

    #[test]
    fn stored_json_values_are_worded_by_their_fields() {
        assert_eq!(json_value_label(Lang::Zh, "/status", "\"closed\""), "已关闭");
        assert_eq!(json_value_label(Lang::En, "/status", "null"), "—");
        let credit = r#"{"credit_grade":"A","payment_terms":"net:90"}"#;
        assert_eq!(
            json_value_label(Lang::Zh, "/credit", credit),
            "信用等级：A；付款条件：远期90天"
        );
        let change = r#"{"from":"new","to":"closed","note":"ok"}"#;
        assert_eq!(
            json_value_label(Lang::En, "/history/x", change),
            "From: New; Note: ok; To: Closed"
        );
        assert_eq!(json_value_label(Lang::En, "/owners", r#"["u-1","u-2"]"#), "u-1, u-2");
        assert_eq!(json_value_label(Lang::En, "/credit", "{}"), "—");
        assert_eq!(json_value_label(Lang::Zh, "/x", "not json"), "not json");
    }
}
