//! Conflicts and rule violations for headquarters to settle.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{InLang, PageError};
use super::forms::{CsrfForm, Flash};
use super::layout::{Here, csrf_field, flash, page, url_encode, when};
use super::session::WebUser;
use crate::hq::decisions;
use crate::http::AppState;
use crate::quarantine;

/// `GET /hq/review`.
pub async fn review_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(flash_msg): Query<Flash>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let (open, violations, set_aside) = user
        .hq_read(&state, |store| {
            Ok((
                store.conn().open_conflicts()?,
                store.conn().open_violations()?,
                quarantine::list(store.conn(), QUARANTINE_SHOWN)?,
            ))
        })
        .await?;
    Ok(page(
        &user,
        &here,
        lang.t("冲突与违规", "Conflicts & violations"),
        html! {
            h1 { (lang.t("冲突与违规", "Conflicts and rule violations")) }
            (flash(flash_msg.done.as_deref()))
            h2 { (lang.t("并发修改冲突", "Concurrent edits in conflict")) }
            p .muted { (lang.t("同一字段在离线设备上被改成了不同的值。选定一个值后，它将覆盖所有并发值并同步到所有设备。",
                "One field was changed to different values on devices that were offline. The value chosen supersedes all of them on every device.")) }
            table #conflicts {
                tr { th { (lang.t("文档", "Document")) } th { (lang.t("字段", "Field")) } th { (lang.t("首次发现", "First seen")) } th { (lang.t("选择保留的值", "Choose the value to keep")) } }
                @for c in &open {
                    tr data-doc-id=(c.doc_id) data-path=(c.path) {
                        td { (doc_link(&c.doc_id)) } td { code { (c.path) } } td { (when(&c.first_seen_at)) }
                        td {
                            @if user.may_decide() {
                                @for v in &c.values {
                                    form .inline method="post" action="/hq/review/conflicts" {
                                        (csrf_field(&user))
                                        input type="hidden" name="doc_id" value=(c.doc_id);
                                        input type="hidden" name="path" value=(c.path);
                                        button .choose type="submit" name="value" value=(v) { (v) }
                                    }
                                    " "
                                }
                            } @else { (c.values.join(" / ")) }
                        }
                    }
                }
            }
            h2 { (lang.t("越权修改（已自动纠正）", "Unauthorised writes (already compensated)")) }
            table #violations {
                tr { th { (lang.t("时间", "When")) } th { (lang.t("用户", "User")) } th { (lang.t("设备", "Device")) } th { (lang.t("文档", "Document")) } th { (lang.t("字段", "Field")) } th { (lang.t("规则", "Rule")) } th { (lang.t("恢复为", "Restored")) } th { (lang.t("设备写入", "Written")) } th {} }
                @for v in &violations {
                    tr data-violation-id=(v.violation_id) {
                        td { (when(&v.at)) } td { (v.user_id) } td { (v.device_id) } td { (doc_link(&v.doc_id)) } td { code { (v.field) } } td { (v.rule) }
                        td { (v.old_value) } td .error { (v.new_value) }
                        td { @if user.may_decide() { form method="post" action={ "/hq/review/violations/" (v.violation_id) } { (csrf_field(&user)) button .mark-reviewed type="submit" { (lang.t("已复核", "Mark reviewed")) } } } }
                    }
                }
            }
            (quarantine_section(lang, &set_aside))
        },
    ))
}

/// How many set-aside documents the review page lists.
const QUARANTINE_SHOWN: usize = 200;

/// Documents a background task could not process (ADR 0013): each stays listed until the
/// task processes it (a later edit repaired it).
fn quarantine_section(lang: super::i18n::Lang, rows: &[quarantine::Quarantined]) -> Markup {
    html! {
        h2 #quarantine-title { (lang.t("无法处理的文档（已隔离）", "Documents set aside (could not be processed)")) }
        p .muted { (lang.t("后台任务无法处理这些文档，已将其隔离并继续处理其他文档。修复文档后会自动解除隔离。",
            "A background task could not process these documents; it set them aside and went on with the others. A document leaves this list once a later edit lets the task process it.")) }
        table #quarantine {
            tr { th { (lang.t("任务", "Task")) } th { (lang.t("文档", "Document")) } th { (lang.t("首次", "First")) } th { (lang.t("最近", "Last")) } th { (lang.t("次数", "Attempts")) } th { (lang.t("原因", "Reason")) } }
            @for q in rows {
                tr data-doc-id=(q.doc_id) {
                    td { (match q.task.as_str() { "projection" => lang.t("总部报表投影", "Projection"), "mirror" => lang.t("选房结果镜像", "Desk mirror"), other => other }) }
                    td { (doc_link(&q.doc_id)) } td { (when(&q.first_at)) } td { (when(&q.last_at)) } td .num { (q.attempts) } td { code { (q.error) } }
                }
            }
        }
    }
}

fn doc_link(doc_id: &str) -> Markup {
    match doc_id.strip_prefix("customer/") {
        Some(id) => html! { a href={ "/hq/customers/" (url_encode(id)) } { (doc_id) } },
        None => html! { (doc_id) },
    }
}

/// The conflict form.
#[derive(Debug, Deserialize)]
pub struct Resolve {
    csrf: String,
    doc_id: String,
    path: String,
    value: String,
}

/// `POST /hq/review/conflicts`.
pub async fn resolve(
    State(state): State<AppState>,
    user: WebUser,
    Form(form): Form<Resolve>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    decisions::resolve_conflict(&state, user.decider(), form.doc_id, form.path, form.value)
        .await
        .in_lang(lang)?;
    let done = lang.t(
        "冲突已解决，所选值已同步到所有设备。",
        "Conflict resolved: the chosen value goes to every device.",
    );
    Ok(Redirect::to(&format!("/hq/review?done={}", url_encode(done))).into_response())
}

/// `POST /hq/review/violations/{id}`.
pub async fn mark_reviewed(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    decisions::review_violation(&state, user.decider(), id).await.in_lang(lang)?;
    let done = lang.t("已标记为复核。", "Marked reviewed.");
    Ok(Redirect::to(&format!("/hq/review?done={}", url_encode(done))).into_response())
}
