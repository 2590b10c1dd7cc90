//! What headquarters settles by hand, one list per tab: open conflicts (`/hq/review`),
//! violations awaiting review (`/hq/review/violations`) and documents set aside
//! (`/hq/review/quarantine`) — each searched, filtered, sorted, paged and exported, with the
//! other queues' counts on the tabs.

use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use kam_core::Policy;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{InLang, PageError};
use super::forms::{CsrfForm, Flash};
use super::history::{field_label, json_value_label, value_label};
use super::i18n::Lang;
use super::layout::{Here, csrf_field, flash, local_when, page, url_encode, zone_label, zoned};
use super::list::{ListView, select};
use super::list_file::send_list;
use super::rule_labels::rule_label;
use super::session::WebUser;
use crate::hq::decisions;
use crate::hq::listing::{ListParams, Page};
use crate::hq::review_lists::{
    self, CONFLICTS, ConflictLine, ConflictQuery, QUARANTINE, QuarantineLine, QuarantineQuery,
    VIOLATIONS, ViolationItem, ViolationQuery,
};
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};

const CONFLICTS_PATH: &str = "/hq/review";
const VIOLATIONS_PATH: &str = "/hq/review/violations";
const QUARANTINE_PATH: &str = "/hq/review/quarantine";

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hq/review", get(conflicts_page))
        .route("/hq/review.csv", get(conflicts_file))
        .route("/hq/review.xlsx", get(conflicts_file))
        .route("/hq/review/conflicts", post(resolve))
        .route("/hq/review/violations", get(violations_page))
        .route("/hq/review/violations.csv", get(violations_file))
        .route("/hq/review/violations.xlsx", get(violations_file))
        .route("/hq/review/violations/{id}", post(mark_reviewed))
        .route("/hq/review/quarantine", get(quarantine_page))
        .route("/hq/review/quarantine.csv", get(quarantine_file))
        .route("/hq/review/quarantine.xlsx", get(quarantine_file))
}

/// A queue's page: its rows, the three queues' counts and the policy (for the times).
struct Queue<T> {
    rows: Page<T>,
    counts: [u64; 3],
    policy: Policy,
}

/// The tabs between the queues, each with its count; `active` is the page's path.
fn tabs(lang: Lang, active: &str, counts: [u64; 3]) -> Markup {
    let tabs = [
        (CONFLICTS_PATH, lang.t("并发修改冲突", "Conflicts"), counts[0]),
        (VIOLATIONS_PATH, lang.t("越权修改", "Violations"), counts[1]),
        (QUARANTINE_PATH, lang.t("已隔离文档", "Set aside"), counts[2]),
    ];
    html! {
        nav .tabs #review-tabs {
            @for (href, label, count) in tabs {
                a href=(href) class=[(href == active).then_some("active")] { (label) " (" (count) ")" } " "
            }
        }
    }
}

/// The document kinds as (code, label), for the kind filter.
fn kind_choices(lang: Lang) -> Vec<(String, String)> {
    review_lists::doc_kinds().into_iter().map(|k| (k.to_owned(), lang.doc_kind(k))).collect()
}

/// A queue's document as people know it: its name where the projections know it (a
/// customer's, a ticket's title), its kind in words, its id on hover; a customer links to its
/// file and an event to its row.
fn doc_cell(lang: Lang, doc_id: &str, name: &str) -> Markup {
    let (kind, entity) = doc_id.split_once('/').unwrap_or(("", doc_id));
    let shown = if name.is_empty() { entity } else { name };
    let href = match kind {
        "customer" => Some(format!("/hq/customers/{}", url_encode(entity))),
        "event" => Some(format!("/hq/events?q={}", url_encode(entity))),
        _ => None,
    };
    html! {
        span .muted { (lang.doc_kind(kind)) } " "
        @if let Some(href) = href { a href=(href) title=(doc_id) { (shown) } }
        @else { span title=(doc_id) { (shown) } }
    }
}

/// A document for a file: its name and id, or its id alone.
fn doc_text(doc_id: &str, name: &str) -> String {
    if name.is_empty() { doc_id.to_owned() } else { format!("{name} ({doc_id})") }
}

/// The frame every queue shares: title, tabs, flash, search form, pager and table.
fn queue_page<T>(
    user: &WebUser,
    here: &Here,
    (view, queue): (&ListView, &Queue<T>),
    (path, filters): (&'static str, Markup),
    table: Markup,
    flash_msg: Option<&str>,
) -> Markup {
    let lang = user.lang;
    page(
        user,
        here,
        lang.t("冲突与违规", "Conflicts & violations"),
        html! {
            h1 { (lang.t("冲突与违规", "Conflicts and rule violations")) }
            (tabs(lang, path, queue.counts))
            (flash(flash_msg))
            form .search #review-search method="get" action=(path) {
                (filters)
                (view.kept_fields())
                button type="submit" { (lang.t("筛选", "Filter")) }
                " " a href=(path) { (lang.t("清除", "Clear")) }
            }
            p .muted { (lang.t("时间均为", "Times are in ")) (zone_label(&queue.policy)) }
            div .list-bar { (view.pager(&queue.rows)) (view.exports()) }
            (table)
            (view.pager_below(&queue.rows))
        },
    )
}

/// `GET /hq/review`: the open conflicts.
pub async fn conflicts_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(flash_msg): Query<Flash>,
    Query(query): Query<ConflictQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let view = ListView::new(CONFLICTS_PATH, query.pairs(), &params, lang);
    let queue = user
        .hq_read(&state, move |store| {
            let rows = CONFLICTS.page(&params, || review_lists::conflicts(store.conn(), &query))?;
            let counts = review_lists::counts(store.conn())?;
            Ok(Queue { rows, counts, policy: store.policy().clone() })
        })
        .await?;
    let filters = html! {
        input type="search" name="q" id="search" value=(view.filter("q"))
            placeholder=(lang.t("文档、字段或值", "Document, field or value"));
        (select("kind", view.filter("kind"), lang.t("全部文档类型", "All document kinds"), &kind_choices(lang)))
    };
    let table = conflicts_table(&user, &view, &queue);
    let frame = (&view, &queue);
    Ok(queue_page(&user, &here, frame, (CONFLICTS_PATH, filters), table, flash_msg.done.as_deref()))
}

fn conflicts_table(user: &WebUser, view: &ListView, queue: &Queue<ConflictLine>) -> Markup {
    let lang = user.lang;
    let h = Some(&queue.rows);
    html! {
        p .muted { (lang.t("同一字段在离线设备上被改成了不同的值。选定一个值后，它将覆盖所有并发值并同步到所有设备。",
            "One field was changed to different values on devices that were offline. The value chosen supersedes all of them on every device.")) }
        table #conflicts {
            tr { (view.header(h, "doc", "文档", "Document")) (view.header(h, "path", "字段", "Field")) (view.header(h, "seen", "首次发现", "First seen")) th { (lang.t("选择保留的值", "Choose the value to keep")) } }
            @for line in &queue.rows.rows {
                @let c = &line.conflict;
                tr data-doc-id=(c.doc_id) data-path=(c.path) {
                    td { (doc_cell(user.lang, &c.doc_id, &line.doc_name)) } td title=(c.path) { (field_label(lang, &c.path)) } td { (local_when(&queue.policy, &c.first_seen_at)) }
                    td {
                        @if user.may_decide() {
                            @for v in &c.values {
                                form .inline method="post" action="/hq/review/conflicts" {
                                    (csrf_field(user))
                                    input type="hidden" name="doc_id" value=(c.doc_id);
                                    input type="hidden" name="path" value=(c.path);
                                    button .choose type="submit" name="value" value=(v) title=(v) { (value_label(lang, &c.path, Some(v))) }
                                }
                                " "
                            }
                        } @else {
                            @for (i, v) in c.values.iter().enumerate() {
                                @if i > 0 { " / " }
                                span title=(v) { (value_label(lang, &c.path, Some(v))) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /hq/review/violations`: the violations awaiting review.
pub async fn violations_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(flash_msg): Query<Flash>,
    Query(query): Query<ViolationQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let view = ListView::new(VIOLATIONS_PATH, query.pairs(), &params, lang);
    let (queue, rules) = user
        .hq_read(&state, move |store| {
            let rows =
                VIOLATIONS.page(&params, || review_lists::violations(store.conn(), &query))?;
            let counts = review_lists::counts(store.conn())?;
            let rules = review_lists::violated_rules(store.conn())?;
            Ok((Queue { rows, counts, policy: store.policy().clone() }, rules))
        })
        .await?;
    let rules: Vec<(String, String)> =
        rules.into_iter().map(|r| (r.clone(), rule_label(lang, &r))).collect();
    let filters = html! {
        input type="search" name="q" id="search" value=(view.filter("q"))
            placeholder=(lang.t("用户、设备、文档或字段", "User, device, document or field"));
        (select("rule", view.filter("rule"), lang.t("全部规则", "All rules"), &rules))
        @if !view.filter("user").is_empty() { input type="hidden" name="user" value=(view.filter("user")); }
    };
    let table = violations_table(&user, &view, &queue);
    let frame = (&view, &queue);
    Ok(queue_page(
        &user,
        &here,
        frame,
        (VIOLATIONS_PATH, filters),
        table,
        flash_msg.done.as_deref(),
    ))
}

fn violations_table(user: &WebUser, view: &ListView, queue: &Queue<ViolationItem>) -> Markup {
    let lang = user.lang;
    let h = Some(&queue.rows);
    html! {
        table #violations {
            tr { (view.header(h, "at", "时间", "When")) (view.header(h, "user", "用户", "User")) th { (lang.t("设备", "Device")) } (view.header(h, "doc", "文档", "Document")) th { (lang.t("字段", "Field")) } (view.header(h, "rule", "规则", "Rule")) th { (lang.t("恢复为", "Restored")) } th { (lang.t("设备写入", "Written")) } th {} }
            @for item in &queue.rows.rows {
                @let v = &item.violation;
                tr data-violation-id=(v.violation_id) {
                    td { (local_when(&queue.policy, &v.at)) }
                    td { a href={ (VIOLATIONS_PATH) "?user=" (url_encode(&v.user_id)) } { (item.user_name) } }
                    td { (v.device_id) } td { (doc_cell(lang, &v.doc_id, &item.doc_name)) } td title=(v.field) { (field_label(lang, &v.field)) } td title=(v.rule) { (rule_label(lang, &v.rule)) }
                    td title=(v.old_value) { (json_value_label(lang, &v.field, &v.old_value)) }
                    td .error title=(v.new_value) { (json_value_label(lang, &v.field, &v.new_value)) }
                    td { @if user.may_decide() { form method="post" action={ "/hq/review/violations/" (v.violation_id) } { (csrf_field(user)) button .mark-reviewed type="submit" { (lang.t("已复核", "Mark reviewed")) } } } }
                }
            }
        }
    }
}

/// `GET /hq/review/quarantine`: documents a background task could not process (ADR 0013);
/// each stays listed until the task processes it (a later edit repaired it).
pub async fn quarantine_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(query): Query<QuarantineQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let view = ListView::new(QUARANTINE_PATH, query.pairs(), &params, lang);
    let queue = user
        .hq_read(&state, move |store| {
            let rows =
                QUARANTINE.page(&params, || review_lists::quarantine(store.conn(), &query))?;
            let counts = review_lists::counts(store.conn())?;
            Ok(Queue { rows, counts, policy: store.policy().clone() })
        })
        .await?;
    let tasks: Vec<(String, String)> = review_lists::tasks()
        .iter()
        .map(|t| ((*t).to_owned(), task_label(lang, t).to_owned()))
        .collect();
    let filters = html! {
        input type="search" name="q" id="search" value=(view.filter("q"))
            placeholder=(lang.t("文档或原因", "Document or reason"));
        (select("task", view.filter("task"), lang.t("全部任务", "All tasks"), &tasks))
        (select("kind", view.filter("kind"), lang.t("全部文档类型", "All document kinds"), &kind_choices(lang)))
    };
    let table = quarantine_table(lang, &view, &queue);
    Ok(queue_page(&user, &here, (&view, &queue), (QUARANTINE_PATH, filters), table, None))
}

fn task_label(lang: Lang, task: &str) -> &str {
    match task {
        "projection" => lang.t("总部报表投影", "Projection"),
        "mirror" => lang.t("选房结果镜像", "Desk mirror"),
        other => other,
    }
}

fn quarantine_table(lang: Lang, view: &ListView, queue: &Queue<QuarantineLine>) -> Markup {
    let h = Some(&queue.rows);
    html! {
        h2 #quarantine-title { (lang.t("无法处理的文档（已隔离）", "Documents set aside (could not be processed)")) }
        p .muted { (lang.t("后台任务无法处理这些文档，已将其隔离并继续处理其他文档。修复文档后会自动解除隔离。",
            "A background task could not process these documents; it set them aside and went on with the others. A document leaves this list once a later edit lets the task process it.")) }
        table #quarantine {
            tr { (view.header(h, "task", "任务", "Task")) (view.header(h, "doc", "文档", "Document")) (view.header(h, "first", "首次", "First")) (view.header(h, "last", "最近", "Last")) (view.header(h, "attempts", "次数", "Attempts")) th { (lang.t("原因", "Reason")) } }
            @for line in &queue.rows.rows {
                @let q = &line.item;
                tr data-doc-id=(q.doc_id) {
                    td { (task_label(lang, &q.task)) }
                    td { (doc_cell(lang, &q.doc_id, &line.doc_name)) } td { (local_when(&queue.policy, &q.first_at)) } td { (local_when(&queue.policy, &q.last_at)) } td .num { (q.attempts) } td { code { (q.error) } }
                }
            }
        }
    }
}

/// `GET /hq/review.csv` and `.xlsx`: the open conflicts the list shows.
pub async fn conflicts_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<ConflictQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("待解决冲突", "Open conflicts");
    let filters = query.pairs();
    send_list(&state, &user, &uri, (ListKind::Conflicts, title), &filters, move |store, _, _| {
        let rows = CONFLICTS.sorted(&params, || review_lists::conflicts(store.conn(), &query))?;
        let policy = store.policy();
        Ok(rows
            .iter()
            .map(|l| {
                let c = &l.conflict;
                vec![
                    ListCell::Text(doc_text(&c.doc_id, &l.doc_name)),
                    ListCell::Text(c.path.clone()),
                    ListCell::Text(zoned(policy, &c.first_seen_at)),
                    ListCell::Text(c.values.join(" / ")),
                ]
            })
            .collect())
    })
    .await
}

/// `GET /hq/review/violations.csv` and `.xlsx`: the violations the list shows.
pub async fn violations_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<ViolationQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("待复核违规", "Violations to review");
    let filters = query.pairs();
    send_list(
        &state,
        &user,
        &uri,
        (ListKind::Violations, title),
        &filters,
        move |store, lang, _| {
            let rows =
                VIOLATIONS.sorted(&params, || review_lists::violations(store.conn(), &query))?;
            let policy = store.policy();
            Ok(rows
                .iter()
                .map(|i| {
                    let v = &i.violation;
                    let text = |t: &str| ListCell::Text(t.to_owned());
                    vec![
                        ListCell::Text(zoned(policy, &v.at)),
                        text(&i.user_name),
                        text(&v.device_id),
                        ListCell::Text(doc_text(&v.doc_id, &i.doc_name)),
                        text(&v.field),
                        ListCell::Text(rule_label(lang, &v.rule)),
                        text(&v.old_value),
                        text(&v.new_value),
                    ]
                })
                .collect())
        },
    )
    .await
}

/// `GET /hq/review/quarantine.csv` and `.xlsx`: the documents set aside the list shows.
pub async fn quarantine_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<QuarantineQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("已隔离文档", "Documents set aside");
    let filters = query.pairs();
    send_list(
        &state,
        &user,
        &uri,
        (ListKind::Quarantine, title),
        &filters,
        move |store, lang, _| {
            let rows =
                QUARANTINE.sorted(&params, || review_lists::quarantine(store.conn(), &query))?;
            let policy = store.policy();
            Ok(rows
                .iter()
                .map(|l| {
                    let q = &l.item;
                    vec![
                        ListCell::Text(task_label(lang, &q.task).to_owned()),
                        ListCell::Text(doc_text(&q.doc_id, &l.doc_name)),
                        ListCell::Text(zoned(policy, &q.first_at)),
                        ListCell::Text(zoned(policy, &q.last_at)),
                        ListCell::Count(usize::try_from(q.attempts).unwrap_or(0)),
                        ListCell::Text(q.error.clone()),
                    ]
                })
                .collect())
        },
    )
    .await
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
    Ok(Redirect::to(&format!("{CONFLICTS_PATH}?done={}", url_encode(done))).into_response())
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
    Ok(Redirect::to(&format!("{VIOLATIONS_PATH}?done={}", url_encode(done))).into_response())
}
