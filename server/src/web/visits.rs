//! Visit compliance: who is behind on the visit cadence.

use axum::extract::State;
use chrono::Utc;
use maud::{Markup, html};

use super::error::PageError;
use super::layout::{Here, page, url_encode};
use super::session::WebUser;
use crate::hq::compliance;
use crate::http::AppState;

/// `GET /hq/visits`.
pub async fn visits_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let c = user
        .hq_read(&state, |store| compliance::compliance(store.conn(), store.policy(), Utc::now()))
        .await?;
    let head = html! { tr { th {} th { (lang.t("应拜访", "Required")) } th { (lang.t("超期", "Overdue")) } th { (lang.t("按期率", "On schedule")) } } };
    Ok(page(
        &user,
        &here,
        lang.t("拜访达标", "Visit compliance"),
        html! {
            h1 { (lang.t("拜访达标情况", "Visit compliance")) " · " (c.today) }
            p .muted { (lang.t("战略客户：高层每半年、客户经理每月、技术每半年、质量每季度；A级客户每季度。",
                "Strategic customers: leadership every half year, account manager monthly, technical every half year, quality quarterly; grade A customers quarterly.")) }
            h2 { (lang.t("按客户经理", "By rep")) }
            table #visit-compliance {
                (head)
                @for (rep, n) in &c.by_rep { tr data-rep=(rep) { th { (rep) } td .num { (n.required) } td .num class=[(n.overdue > 0).then_some("overdue")] { (n.overdue) } td .num { (n.on_schedule_percent) "%" } } }
            }
            h2 { (lang.t("按拜访层级", "By level")) }
            table #visit-compliance-by-level {
                (head)
                @for (level, n) in &c.by_level { tr data-level=(level) { th { (lang.visit_level(level)) } td .num { (n.required) } td .num class=[(n.overdue > 0).then_some("overdue")] { (n.overdue) } td .num { (n.on_schedule_percent) "%" } } }
            }
            h2 { (lang.t("超期明细", "Overdue visits")) }
            table #overdue-visits {
                tr { th { (lang.t("客户", "Customer")) } th { (lang.t("层级", "Level")) } th { (lang.t("上次拜访", "Last visit")) } th { (lang.t("应于", "Due on")) } th { (lang.t("客户经理", "Reps")) } }
                @for v in &c.overdue {
                    tr { td { a href={ "/hq/customers/" (url_encode(&v.customer_id)) } { (v.customer_name) } } td { (lang.visit_level(&v.level)) }
                         td { (v.last_visit_on.map(|d| d.to_string()).unwrap_or_else(|| lang.t("从未", "never").to_owned())) }
                         td .overdue { (v.next_due_on) } td { (v.owners.join("、")) } }
                }
            }
        },
    ))
}
