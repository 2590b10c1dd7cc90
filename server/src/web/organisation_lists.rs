//! `/hq/organisations` and `/hq/collections`: the commissioning organisations' candidates,
//! ranked within each project (001 六's four criteria), and their outstanding instalments,
//! overdue first — each searched, filtered, sorted, paged and exported.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use maud::{Markup, html};

use super::error::PageError;
use super::forms::Flash;
use super::i18n::Lang;
use super::layout::{Here, flash, money, page, url_encode};
use super::list::{ListView, select};
use super::list_file::send_list;
use super::organisations::{due_table, status_label};
use super::session::WebUser;
use crate::hq::listing::{ListParams, Page};
use crate::hq::organisation_lists::{
    self, CANDIDATES, COLLECTIONS, CandidateLine, CandidateQuery, CollectionQuery,
};
use crate::hq::organisations::DueLine;
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};

const ORGANISATIONS: &str = "/hq/organisations";
const COLLECTIONS_PATH: &str = "/hq/collections";

/// How many of the most overdue instalments the candidates' page shows under its list.
const OVERDUE_SHOWN: usize = 10;

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hq/organisations", get(organisations_page))
        .route("/hq/organisations.csv", get(organisations_file))
        .route("/hq/organisations.xlsx", get(organisations_file))
        .route("/hq/collections", get(collections_page))
        .route("/hq/collections.csv", get(collections_file))
        .route("/hq/collections.xlsx", get(collections_file))
}

/// What the candidates' page shows.
struct CandidatesView {
    page: Page<CandidateLine>,
    /// Every project with candidates, and how many.
    projects: Vec<(String, usize)>,
    min_candidates: usize,
    /// The most overdue instalments, and how many are outstanding.
    overdue: Page<DueLine>,
}

fn tabs(lang: Lang, active: &str) -> Markup {
    let tabs = [
        (ORGANISATIONS, lang.t("候选单位", "Candidates")),
        (COLLECTIONS_PATH, lang.t("回款", "Collections")),
    ];
    html! {
        nav .tabs #organisation-tabs {
            @for (href, label) in tabs {
                a href=(href) class=[(href == active).then_some("active")] { (label) } " "
            }
        }
    }
}

/// `GET /hq/organisations`.
pub async fn organisations_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(flash_msg): Query<Flash>,
    Query(query): Query<CandidateQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let view = ListView::new(ORGANISATIONS, query.pairs(), &params, lang);
    let shown = user
        .hq_read(&state, move |store| {
            let (db, policy) = (store.conn(), store.policy());
            let page =
                CANDIDATES.page(&params, || organisation_lists::candidates(db, policy, &query))?;
            let projects = organisation_lists::projects(db)?.into_iter().collect();
            let first =
                ListParams { limit: Some(OVERDUE_SHOWN.to_string()), ..ListParams::default() };
            let all = CollectionQuery::default();
            let overdue = COLLECTIONS
                .page(&first, || organisation_lists::collections(db, policy, Utc::now(), &all))?;
            let min_candidates =
                usize::try_from(policy.commissioning.min_candidates).unwrap_or(usize::MAX);
            Ok(CandidatesView { page, projects, min_candidates, overdue })
        })
        .await?;
    Ok(page(
        &user,
        &here,
        lang.t("委建单位", "Commissioning organisations"),
        html! {
            h1 { (lang.t("委建单位", "Commissioning organisations")) }
            (tabs(lang, ORGANISATIONS))
            (flash(flash_msg.done.as_deref()))
            (candidate_search(lang, &view, &shown))
            (short_projects(lang, &shown))
            h2 { (lang.t("候选单位（按出价、付款比例、资源置换、自住比例排序）", "Candidates (ranked by price, payment ratio, resource exchange, owner-occupiers)")) }
            div .list-bar { (view.pager(&shown.page)) (view.exports()) }
            (candidates_table(lang, &view, &shown.page))
            (view.pager_below(&shown.page))
            h2 { (lang.t("回款（逾期优先）", "Collections (overdue first)")) }
            (due_table(lang, &shown.overdue.rows, true))
            p { a #all-collections href=(COLLECTIONS_PATH) { (lang.t("全部未收款项", "Every outstanding instalment")) " (" (shown.overdue.total) ") →" } }
        },
    ))
}

fn candidate_search(lang: Lang, view: &ListView, shown: &CandidatesView) -> Markup {
    let projects: Vec<(String, String)> =
        shown.projects.iter().map(|(p, n)| (p.clone(), format!("{p} ({n})"))).collect();
    let statuses: Vec<(String, String)> = kam_core::model::OrganisationStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), status_label(lang, s.as_str()).to_owned()))
        .collect();
    html! {
        form .search #organisation-search method="get" action=(ORGANISATIONS) {
            input type="search" name="q" id="search" value=(view.filter("q"))
                placeholder=(lang.t("单位名称或编号", "Organisation's name or id"));
            (select("project", view.filter("project"), lang.t("全部项目", "All projects"), &projects))
            (select("status", view.filter("status"), lang.t("全部状态", "Any status"), &statuses))
            (view.kept_fields())
            button type="submit" { (lang.t("筛选", "Filter")) }
            " " a href=(ORGANISATIONS) { (lang.t("清除", "Clear")) }
        }
    }
}

/// The projects whose candidates are too few for the negotiation group, whatever the filters.
fn short_projects(lang: Lang, shown: &CandidatesView) -> Markup {
    let short: Vec<&(String, usize)> =
        shown.projects.iter().filter(|(_, n)| *n < shown.min_candidates).collect();
    html! {
        @for (project, n) in short {
            p .warning data-project=(project) {
                (lang.t("项目", "Project")) " " (project) "："
                (lang.t("候选单位不足，谈判小组至少需要", "not enough candidates: the negotiation group needs at least "))
                (shown.min_candidates) (lang.t("家，现有 ", "; it has ")) (n) (lang.t("家。", "."))
            }
        }
    }
}

fn candidates_table(lang: Lang, view: &ListView, page: &Page<CandidateLine>) -> Markup {
    let h = Some(page);
    html! {
        table .candidates #candidates {
            tr { th { (lang.t("项目", "Project")) } (view.header(h, "rank", "排名", "Rank")) (view.header(h, "name", "单位", "Organisation")) (view.header(h, "price", "可接受单价", "Accepted price/m²")) (view.header(h, "payment", "付款比例%", "Payment ratio %")) th { (lang.t("资源置换", "Resource exchange")) } th { (lang.t("自住比例%", "Owner-occupiers %")) } (view.header(h, "status", "状态", "Status")) th { (lang.t("总经理", "GM")) } th { (lang.t("董事长", "Chairman")) } (view.header(h, "approved", "核定单价", "Approved price")) th { (lang.t("协议缺项", "Missing clauses")) } }
            @for line in &page.rows {
                @let c = &line.candidate;
                @let o = &c.organisation;
                tr data-organisation-id=(o.organisation_id) {
                    td { (o.project_id) } td .num { (c.rank) } td { a href={ "/hq/organisations/" (url_encode(&o.organisation_id)) } { (o.name) } }
                    td .num { (money(&o.accepted_price_per_m2)) } td .num { (o.payment_ratio_pct) } td .num { (o.resource_exchange) } td .num { (o.owner_occupier_pct) }
                    td { (status_label(lang, &o.status)) }
                    td { (o.approved_by_gm.as_deref().unwrap_or("—")) } td { (o.approved_by_chairman.as_deref().unwrap_or("—")) }
                    td .num { (o.price_per_m2.as_deref().map(money).unwrap_or_else(|| "—".into())) }
                    td { (o.missing_clauses.len()) }
                }
            }
        }
    }
}

/// `GET /hq/organisations.csv` and `.xlsx`: the candidates the list shows.
pub async fn organisations_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<CandidateQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("委建单位候选", "Commissioning candidates");
    let filters = query.pairs();
    let kind = (ListKind::Organisations, title);
    send_list(&state, &user, &uri, kind, &filters, move |store, lang, _| {
        let (db, policy) = (store.conn(), store.policy());
        let rows =
            CANDIDATES.sorted(&params, || organisation_lists::candidates(db, policy, &query))?;
        Ok(rows.iter().map(|l| candidate_cells(lang, l)).collect())
    })
    .await
}

fn candidate_cells(lang: Lang, line: &CandidateLine) -> Vec<ListCell> {
    let o = &line.candidate.organisation;
    let money = |t: Option<&str>| ListCell::Money(t.and_then(|t| t.parse().ok()));
    let text = |t: &str| ListCell::Text(t.to_owned());
    vec![
        text(&o.project_id),
        ListCell::Count(line.candidate.rank),
        text(&o.name),
        money(Some(&o.accepted_price_per_m2)),
        text(&o.payment_ratio_pct),
        ListCell::Count(usize::try_from(o.resource_exchange).unwrap_or(usize::MAX)),
        text(&o.owner_occupier_pct),
        text(status_label(lang, &o.status)),
        text(o.approved_by_gm.as_deref().unwrap_or("")),
        text(o.approved_by_chairman.as_deref().unwrap_or("")),
        money(o.price_per_m2.as_deref()),
        ListCell::Count(o.missing_clauses.len()),
    ]
}

/// `GET /hq/collections`: the outstanding instalments.
pub async fn collections_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(query): Query<CollectionQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let view = ListView::new(COLLECTIONS_PATH, query.pairs(), &params, lang);
    let lines = user
        .hq_read(&state, move |store| {
            let (db, policy) = (store.conn(), store.policy());
            let read = || organisation_lists::collections(db, policy, Utc::now(), &query);
            COLLECTIONS.page(&params, read)
        })
        .await?;
    let shows = [
        ("overdue".to_owned(), lang.t("已逾期", "Overdue").to_owned()),
        ("reminder".to_owned(), lang.t("应催款", "Reminder due").to_owned()),
    ];
    Ok(page(
        &user,
        &here,
        lang.t("回款", "Collections"),
        html! {
            h1 { (lang.t("委建单位回款", "Commissioning collections")) }
            (tabs(lang, COLLECTIONS_PATH))
            form .search #collection-search method="get" action=(COLLECTIONS_PATH) {
                input type="search" name="q" id="search" value=(view.filter("q"))
                    placeholder=(lang.t("单位名称或编号", "Organisation's name or id"));
                (select("show", view.filter("show"), lang.t("全部未收", "Every outstanding"), &shows))
                @if !view.filter("organisation").is_empty() { input type="hidden" name="organisation" value=(view.filter("organisation")); }
                (view.kept_fields())
                button type="submit" { (lang.t("筛选", "Filter")) }
                " " a href=(COLLECTIONS_PATH) { (lang.t("清除", "Clear")) }
            }
            div .list-bar { (view.pager(&lines)) (view.exports()) }
            (collections_table(lang, &view, &lines))
            (view.pager_below(&lines))
        },
    ))
}

fn collections_table(lang: Lang, view: &ListView, page: &Page<DueLine>) -> Markup {
    let h = Some(page);
    html! {
        table .collections #collections {
            tr {
                (view.header(h, "organisation", "单位", "Organisation")) (view.header(h, "due", "到期日", "Due")) (view.header(h, "amount", "应收", "Due amount")) th { (lang.t("已收", "Received")) }
                (view.header(h, "outstanding", "未收", "Outstanding")) (view.header(h, "overdue", "逾期天数", "Days overdue")) th { (lang.t("上次催款", "Last reminder")) } th { (lang.t("催款", "Reminder")) }
            }
            @for l in &page.rows {
                tr .overdue[l.days_overdue > 0] data-entry-id=(l.instalment.entry_id) {
                    td { a href={ "/hq/organisations/" (url_encode(&l.instalment.organisation_id)) } { (l.name) } }
                    td { (l.instalment.due_on) } td .num { (money(&l.instalment.amount)) } td .num { (money(&l.instalment.received)) }
                    td .num { (money(&l.instalment.outstanding)) } td .num { (l.days_overdue) }
                    td { (l.instalment.last_reminder_on.as_deref().unwrap_or("—")) }
                    td { @if l.reminder_due { strong .reminder-due { (lang.t("应催款", "Reminder due")) } } }
                }
            }
        }
    }
}

/// `GET /hq/collections.csv` and `.xlsx`: the instalments the list shows.
pub async fn collections_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<CollectionQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("委建单位回款", "Commissioning collections");
    let filters = query.pairs();
    let kind = (ListKind::Collections, title);
    send_list(&state, &user, &uri, kind, &filters, move |store, lang, now| {
        let (db, policy) = (store.conn(), store.policy());
        let read = || organisation_lists::collections(db, policy, now, &query);
        let rows = COLLECTIONS.sorted(&params, read)?;
        Ok(rows.iter().map(|l| collection_cells(lang, l)).collect())
    })
    .await
}

fn collection_cells(lang: Lang, l: &DueLine) -> Vec<ListCell> {
    let money = |t: &str| ListCell::Money(t.parse().ok());
    vec![
        ListCell::Text(l.name.clone()),
        ListCell::Text(l.instalment.due_on.clone()),
        money(&l.instalment.amount),
        money(&l.instalment.received),
        money(&l.instalment.outstanding),
        ListCell::Count(usize::try_from(l.days_overdue).unwrap_or(0)),
        ListCell::Text(l.instalment.last_reminder_on.clone().unwrap_or_default()),
        ListCell::Text(
            if l.reminder_due { lang.t("应催款", "Reminder due") } else { "" }.to_owned(),
        ),
    ]
}
