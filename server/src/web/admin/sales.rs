//! `/hq/admin/sales`: the ERP's monthly sales CSV (`customer_id,month,amount`) pasted into the
//! page and imported with `admin::import_sales`, all lines or none, as `admin import-sales`
//! does. A refused file is shown with every bad line and its reason, not only the first.
//!
//! The paste is a form field: the dashboard's body limit (`serve --max-body-bytes`, 64 KiB by
//! default, a few thousand rows) bounds it, and a larger export is imported in parts or from
//! the command line.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::{SALES, admin_nav, admit_form, confirm_box, require_admin};
use crate::admin;
use crate::http::AppState;
use crate::sales_ledger::{ImportReport, RefusedLine, refused_lines};
use crate::web::error::{InLang, PageError};
use crate::web::forms::Flash;
use crate::web::layout::{Here, csrf_field, flash, page};
use crate::web::session::WebUser;

/// How many refused lines the page lists; the count says how many more there were.
const SHOWN_REFUSALS: usize = 200;

/// What an import did, for the page.
enum Outcome {
    Imported(ImportReport),
    Refused(Vec<RefusedLine>),
}

/// `GET /hq/admin/sales`.
pub async fn sales_page(
    user: WebUser,
    here: Here,
    Query(flash_msg): Query<Flash>,
) -> Result<Markup, PageError> {
    require_admin(&user)?;
    Ok(sales_view(&user, &here, flash_msg.done.as_deref(), "", None))
}

fn sales_view(
    user: &WebUser,
    here: &Here,
    message: Option<&str>,
    csv: &str,
    outcome: Option<&Outcome>,
) -> Markup {
    let lang = user.lang;
    let body = html! {
        h1 { (lang.t("销售数据导入（ERP 月度销售）", "Sales import (the ERP's monthly sales)")) }
        (admin_nav(lang, SALES))
        (flash(message))
        @if let Some(outcome) = outcome { (outcome_view(user, outcome)) }
        p .muted { (lang.t("CSV 列：customer_id,month,amount（或 客户编号,月份,金额）；月份 YYYY-MM，金额最多两位小数。整份文件全部导入或全部不导入；同一客户同一月份的金额被替换。",
            "CSV columns: customer_id,month,amount (or 客户编号,月份,金额); month YYYY-MM, amount with at most two decimal places. The whole file is imported or none of it; an amount already in the ledger for a customer and month is replaced.")) }
        form #sales-import method="post" action=(SALES) {
            (csrf_field(user))
            textarea name="csv" rows="12" cols="60" required { (csv) }
            br;
            (confirm_box(lang.t("确认导入（替换已有的同月金额）", "Confirm: import (replacing amounts already there)")))
            button type="submit" { (lang.t("导入", "Import")) }
        }
    };
    page(user, here, lang.t("销售导入", "Sales import"), body)
}

fn outcome_view(user: &WebUser, outcome: &Outcome) -> Markup {
    let lang = user.lang;
    match outcome {
        Outcome::Imported(report) => html! {
            p #imported .flash {
                (lang.t("已导入 ", "Imported ")) span #imported-rows { (report.rows) } (lang.t(" 行：新增 ", " rows: ")) (report.inserted)
                (lang.t("，替换 ", " new, ")) (report.updated) (lang.t("；客户 ", " replaced; customers ")) (report.customers)
                (lang.t("；月份 ", "; months ")) (report.first_month.as_deref().unwrap_or("—")) " – " (report.last_month.as_deref().unwrap_or("—"))
            }
        },
        Outcome::Refused(lines) => html! {
            p .error { (lang.t("文件未导入：以下行有误，修正后重新提交。", "Nothing was imported: mend these lines and send the file again.")) " (" (lines.len()) ")" }
            table #refused {
                tr { th { (lang.t("行", "Line")) } th { (lang.t("原因", "Reason")) } }
                @for r in lines.iter().take(SHOWN_REFUSALS) {
                    tr .refused-line data-line=[r.line] {
                        td .num { @match r.line { Some(line) => (line), None => (lang.t("整个文件", "whole file")) } }
                        td { (r.reason) }
                    }
                }
            }
        },
    }
}

/// The import form.
#[derive(Debug, Deserialize)]
pub struct SalesForm {
    #[serde(default)]
    csrf: String,
    confirm: Option<String>,
    #[serde(default)]
    csv: String,
}

/// `POST /hq/admin/sales`: checks every line, then imports the file if none is refused;
/// answers the page with the report, or with every refused line (422).
pub async fn import(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Form(form): Form<SalesForm>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    admit_form(&user, &form.csrf, form.confirm.as_deref(), "import the sales")?;
    let actor = user.user_id.clone();
    let csv = form.csv.clone();
    let outcome = state
        .with_store(move |store| {
            let now = Utc::now();
            let refused = refused_lines(store.conn(), &csv, now)?;
            if !refused.is_empty() {
                return Ok(Outcome::Refused(refused));
            }
            let source = format!("dashboard:{actor}:{}", now.to_rfc3339());
            admin::import_sales(store, &actor, &csv, &source, now).map(Outcome::Imported)
        })
        .await
        .in_lang(lang)?;
    let (status, kept) = match &outcome {
        Outcome::Imported(_) => (StatusCode::OK, ""),
        // The file stays in the box, to be mended there.
        Outcome::Refused(_) => (StatusCode::UNPROCESSABLE_ENTITY, form.csv.as_str()),
    };
    Ok((status, sales_view(&user, &here, None, kept, Some(&outcome))).into_response())
}
