//! 公司战略客户和大客户业务状况分析报告表 (附件一): the monthly business status of every
//! strategic and key customer, which marketing compiles for the general manager (seed 000
//! §4.2.1.4) and the strategic-customer group reviews each month (§4.3.3): volume and its
//! fluctuation, new business, quality, delivery and service problems, serious complaints
//! and anything that may harm the relationship.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use kam_core::Policy;
use kam_core::bounds;
use kam_core::model::{TicketKind, TicketPriority, Tier};
use kam_core::rules::{SlaState, reply_sla};
use rust_decimal::Decimal;
use serde::Serialize;

use super::{Change, ReportLang};
use crate::db::reports::MonthlyAccount;
use crate::db::{HqQueries, ReportQueries, SalesLedgerStore};
use crate::error::ServerError;
use crate::hq::listing::{Dir, ListParams, Page, PageRequest, SortColumn, SortValue, money_value};
use crate::sales_ledger::{YearMonth, amounts_between};

/// What a visit record said that may put the relationship at risk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskKind {
    /// Competitor activity at the customer (竞争对手活动).
    Competitor,
    /// Personnel changes at the customer (人事变动).
    Personnel,
}

/// One risk to the relationship, from one visit record of the month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RiskNote {
    /// The visit's business-local date, `YYYY-MM-DD`.
    pub visit_date: String,
    /// What kind of risk.
    pub kind: RiskKind,
    /// What the visitor wrote.
    pub text: String,
}

impl RiskNote {
    /// The note as one line of text, e.g. `2026-03-05 竞争对手：…`.
    pub fn label(&self, lang: ReportLang) -> String {
        let kind = match (lang, self.kind) {
            (ReportLang::Zh, RiskKind::Competitor) => "竞争对手：",
            (ReportLang::Zh, RiskKind::Personnel) => "人事变动：",
            (ReportLang::En, RiskKind::Competitor) => "competitor: ",
            (ReportLang::En, RiskKind::Personnel) => "personnel change: ",
        };
        format!("{} {kind}{}", self.visit_date, self.text)
    }
}

/// One customer's line of 附件一.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthlyRow {
    /// The row's place in the report (1 first: strategic first, then by volume).
    pub rank: usize,
    /// Customer id.
    pub customer_id: String,
    /// Customer name.
    pub name: String,
    /// Tier code.
    pub tier: Tier,
    /// Tier in Chinese (战略客户, 重点客户, …).
    pub tier_zh: &'static str,
    /// Designated strategic by management (sorts first).
    pub strategic: bool,
    /// The reps who own the account.
    pub owners: Vec<String>,
    /// Sales booked this month (CNY).
    pub volume: Decimal,
    /// Sales booked the month before.
    pub last_month: Decimal,
    /// Change against the month before (环比).
    pub mom: Change,
    /// Sales booked in the same month last year.
    pub last_year: Decimal,
    /// Change against the same month last year (同比).
    pub yoy: Change,
    /// Sales from January to this month inclusive (本年累计).
    pub ytd: Decimal,
    /// Visits of the month that recorded a demand (新业务).
    pub new_business_count: usize,
    /// Those demands, in visit order, joined with "；".
    pub new_business: String,
    /// Quality tickets opened this month.
    pub quality_problems: usize,
    /// Delivery tickets opened this month.
    pub delivery_problems: usize,
    /// After-sales service tickets opened this month.
    pub service_problems: usize,
    /// Complaints of urgent or high priority opened this month (严重抱怨).
    pub serious_complaints: usize,
    /// Tickets whose first reply was overdue at month end (or now, for the current month)
    /// under the reply rule, whenever they were opened.
    pub overdue_tickets: usize,
    /// Competitor activity and personnel changes recorded in the month's visits.
    pub relationship_risks: Vec<RiskNote>,
}

/// The columns the report's rows sort by over the API (`sort=`); `rank`, the report's own
/// order, by default.
pub const SORT_COLUMNS: &[SortColumn<MonthlyRow>] = &[
    SortColumn { key: "rank", value: |r| i64::try_from(r.rank).ok().map(SortValue::Int) },
    SortColumn { key: "name", value: |r| Some(SortValue::Text(r.name.clone())) },
    SortColumn { key: "volume", value: |r| money_value(r.volume) },
    SortColumn { key: "mom", value: |r| money_value(r.mom.amount) },
    SortColumn { key: "yoy", value: |r| money_value(r.yoy.amount) },
    SortColumn { key: "ytd", value: |r| money_value(r.ytd) },
    SortColumn {
        key: "overdue_tickets",
        value: |r| i64::try_from(r.overdue_tickets).ok().map(SortValue::Int),
    },
];

/// The page of the report's rows that `params` asks for, and the report without its rows
/// (the totals and open measures whole): the whole report of a large company is more than
/// a client should take at once.
pub fn paged(
    mut report: MonthlyReport,
    params: &ListParams,
) -> Result<(MonthlyReport, Page<MonthlyRow>), ServerError> {
    let request = PageRequest::parse(params, SORT_COLUMNS, ("rank", Dir::Asc))?;
    let rows = std::mem::take(&mut report.rows);
    Ok((report, request.page(rows, SORT_COLUMNS, |r| &r.customer_id)))
}

impl MonthlyRow {
    /// The relationship risks as one text cell.
    pub fn risks_text(&self, lang: ReportLang) -> String {
        let notes: Vec<String> = self.relationship_risks.iter().map(|n| n.label(lang)).collect();
        notes.join(if lang == ReportLang::Zh { "；" } else { "; " })
    }
}

/// The report's totals over every row.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MonthlyTotals {
    /// Customers in the report.
    pub customers: usize,
    /// Sales this month.
    pub volume: Decimal,
    /// Sales the month before.
    pub last_month: Decimal,
    /// Change against the month before.
    pub mom: Change,
    /// Sales in the same month last year.
    pub last_year: Decimal,
    /// Change against the same month last year.
    pub yoy: Change,
    /// Sales from January to this month.
    pub ytd: Decimal,
    /// Visits that recorded a demand.
    pub new_business_count: usize,
    /// Quality tickets.
    pub quality_problems: usize,
    /// Delivery tickets.
    pub delivery_problems: usize,
    /// Service tickets.
    pub service_problems: usize,
    /// Serious complaints.
    pub serious_complaints: usize,
    /// Overdue tickets.
    pub overdue_tickets: usize,
    /// Risk notes.
    pub relationship_risks: usize,
}

/// 附件一 for one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthlyReport {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// When the report was computed.
    pub generated_at: DateTime<Utc>,
    /// One row per strategic and key customer: strategic first, then by volume, largest first.
    pub rows: Vec<MonthlyRow>,
    /// Totals over the rows.
    pub totals: MonthlyTotals,
    /// Measures of the leadership reviews before this month still open (RULES.md §11: open
    /// measures appear on the next month's report), by due date.
    pub open_measures: Vec<crate::db::management::MeasureRow>,
}

/// Computes 附件一 for `month` (`YYYY-MM`) at `now`.
///
/// Tickets and visits belong to the month of their business-local date (`policy`'s time
/// zone), so a ticket opened at 00:30 Beijing time on the 1st (16:30 UTC the day before)
/// counts in the new month. A customer and month without a ledger row count as zero sales. A malformed month is [`ServerError::Invalid`].
///
/// The customers covered are strategic and key customers, and any customer management
/// designated strategic whatever its computed tier.
pub fn monthly_report(
    db: &(impl ReportQueries + SalesLedgerStore + HqQueries + crate::db::ManagementQueries + ?Sized),
    month: &str,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<MonthlyReport, ServerError> {
    let ym = YearMonth::parse(month.trim()).ok_or_else(|| ServerError::Invalid {
        field: "month",
        reason: format!("{month:?} is not a calendar month YYYY-MM"),
    })?;
    // The ledger of the report's customers only: a fifth of the company's at scale 10.
    let accounts = db.monthly_accounts()?;
    let ids: Vec<String> = accounts.iter().map(|a| a.customer_id.clone()).collect();
    let sales = amounts_between(db, ym.year_before(), ym, Some(&ids))?;
    let tickets = ticket_facts(db, ym, policy, now)?;
    let visits = visit_facts(db, ym)?;
    let owners = db.owners_by_customer()?;
    let mut rows = Vec::new();
    for account in accounts {
        let mut row = base_row(account, ym, &sales)?;
        row.owners = owners.get(&row.customer_id).cloned().unwrap_or_default();
        if let Some(t) = tickets.get(&row.customer_id) {
            t.fill(&mut row);
        }
        if let Some(v) = visits.get(&row.customer_id) {
            v.fill(&mut row);
        }
        rows.push(row);
    }
    rows.sort_by(|a, b| {
        (!a.strategic, std::cmp::Reverse(a.volume), &a.customer_id).cmp(&(
            !b.strategic,
            std::cmp::Reverse(b.volume),
            &b.customer_id,
        ))
    });
    for (row, rank) in rows.iter_mut().zip(1..) {
        row.rank = rank;
    }
    let totals = totals(&rows)?;
    let open_measures = db.open_measures_before(&ym.to_string())?;
    Ok(MonthlyReport { month: ym.to_string(), generated_at: now, rows, totals, open_measures })
}

/// A row with its sales figures and nothing else yet.
fn base_row(
    a: MonthlyAccount,
    ym: YearMonth,
    sales: &HashMap<(String, YearMonth), Decimal>,
) -> Result<MonthlyRow, ServerError> {
    let get = |m: YearMonth| sales.get(&(a.customer_id.clone(), m)).copied().unwrap_or_default();
    let (volume, last_month, last_year) = (get(ym), get(ym.prev()), get(ym.year_before()));
    let months = (1..=ym.month).map(|month| get(YearMonth { year: ym.year, month }));
    let ytd = bounds::sum("sales year to date", months)?;
    Ok(MonthlyRow {
        rank: 0,
        tier_zh: a.tier.label_zh(),
        strategic: a.designated_strategic || a.tier == Tier::Strategic,
        customer_id: a.customer_id,
        name: a.name,
        tier: a.tier,
        owners: Vec::new(),
        volume,
        last_month,
        mom: Change::between(volume, last_month)?,
        last_year,
        yoy: Change::between(volume, last_year)?,
        ytd,
        new_business_count: 0,
        new_business: String::new(),
        quality_problems: 0,
        delivery_problems: 0,
        service_problems: 0,
        serious_complaints: 0,
        overdue_tickets: 0,
        relationship_risks: Vec::new(),
    })
}

/// One customer's ticket counts for the month.
#[derive(Default)]
struct TicketFacts {
    quality: usize,
    delivery: usize,
    service: usize,
    serious: usize,
    overdue: usize,
}

impl TicketFacts {
    fn fill(&self, row: &mut MonthlyRow) {
        row.quality_problems = self.quality;
        row.delivery_problems = self.delivery;
        row.service_problems = self.service;
        row.serious_complaints = self.serious;
        row.overdue_tickets = self.overdue;
    }

    /// Counts one ticket opened in the month.
    fn count_opened(&mut self, kind: Option<TicketKind>, priority: Option<TicketPriority>) {
        match kind {
            Some(TicketKind::Quality) => self.quality += 1,
            Some(TicketKind::Delivery) => self.delivery += 1,
            Some(TicketKind::AfterSales) => self.service += 1,
            Some(TicketKind::Complaint)
                if matches!(priority, Some(TicketPriority::Urgent | TicketPriority::High)) =>
            {
                self.serious += 1;
            }
            _ => {}
        }
    }
}

/// The first instant after the month in the business time zone, as UTC.
fn month_end(ym: YearMonth, policy: &Policy) -> Result<DateTime<Utc>, ServerError> {
    let next = ym.add_months(1).first_day().ok_or_else(|| ServerError::Invalid {
        field: "month",
        reason: format!("{ym} is out of range"),
    })?;
    let local_midnight = next.and_time(chrono::NaiveTime::MIN);
    let offset = Duration::minutes(i64::from(policy.business_utc_offset_minutes));
    let utc = local_midnight.checked_sub_signed(offset).ok_or_else(|| ServerError::Invalid {
        field: "month",
        reason: format!("{ym} is out of range"),
    })?;
    Ok(utc.and_utc())
}

/// Ticket counts per customer for the month.
///
/// Kinds and priorities this build does not know are skipped rather than failing the
/// report, so a newer device's ticket cannot take headquarters' report down.
fn ticket_facts(
    db: &(impl ReportQueries + ?Sized),
    ym: YearMonth,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<HashMap<String, TicketFacts>, ServerError> {
    // Overdue is judged at month end, or now while the month is still running.
    let cutoff = month_end(ym, policy)?.min(now);
    let mut facts: HashMap<String, TicketFacts> = HashMap::new();
    for ticket in db.monthly_account_tickets()? {
        let (opened, replied) = (ticket.opened_at, ticket.first_reply_at);
        let entry = facts.entry(ticket.customer_id).or_default();
        if YearMonth::of(policy.business_date(opened)) == ym {
            entry.count_opened(
                TicketKind::from_str(&ticket.kind).ok(),
                TicketPriority::from_str(&ticket.priority).ok(),
            );
        }
        let replied_by_cutoff = replied.filter(|r| *r <= cutoff);
        if opened < cutoff
            && matches!(
                reply_sla(opened, replied_by_cutoff, cutoff, policy),
                SlaState::Overdue { .. }
            )
        {
            entry.overdue += 1;
        }
    }
    Ok(facts)
}

/// One customer's visit findings for the month.
#[derive(Default)]
struct VisitFacts {
    demands: Vec<String>,
    risks: Vec<RiskNote>,
}

impl VisitFacts {
    fn fill(&self, row: &mut MonthlyRow) {
        row.new_business_count = self.demands.len();
        row.new_business = self.demands.join("；");
        row.relationship_risks.clone_from(&self.risks);
    }
}

/// Demands and risks from the month's visits, per customer, in visit order.
fn visit_facts(
    db: &(impl ReportQueries + ?Sized),
    ym: YearMonth,
) -> Result<HashMap<String, VisitFacts>, ServerError> {
    let mut facts: HashMap<String, VisitFacts> = HashMap::new();
    for visit in db.visits_in_month(ym)? {
        let date = visit.visit_date;
        let (demand, competitor, personnel) =
            (visit.demand, visit.competitor_activity, visit.personnel_changes);
        let entry = facts.entry(visit.customer_id).or_default();
        if !demand.trim().is_empty() {
            entry.demands.push(demand.trim().to_owned());
        }
        for (kind, text) in [(RiskKind::Competitor, competitor), (RiskKind::Personnel, personnel)] {
            if !text.trim().is_empty() {
                let note =
                    RiskNote { visit_date: date.clone(), kind, text: text.trim().to_owned() };
                entry.risks.push(note);
            }
        }
    }
    Ok(facts)
}

/// Sums the rows.
fn totals(rows: &[MonthlyRow]) -> Result<MonthlyTotals, ServerError> {
    let mut t = MonthlyTotals { customers: rows.len(), ..MonthlyTotals::default() };
    for r in rows {
        t.volume = bounds::add("total volume", t.volume, r.volume)?;
        t.last_month = bounds::add("total of last month", t.last_month, r.last_month)?;
        t.last_year = bounds::add("total of last year", t.last_year, r.last_year)?;
        t.ytd = bounds::add("total year to date", t.ytd, r.ytd)?;
        t.new_business_count += r.new_business_count;
        t.quality_problems += r.quality_problems;
        t.delivery_problems += r.delivery_problems;
        t.service_problems += r.service_problems;
        t.serious_complaints += r.serious_complaints;
        t.overdue_tickets += r.overdue_tickets;
        t.relationship_risks += r.relationship_risks.len();
    }
    t.mom = Change::between(t.volume, t.last_month)?;
    t.yoy = Change::between(t.volume, t.last_year)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::TimeZone;

    use super::*;
    use crate::reports::fixtures::{customer, sale, store, ticket, visit};

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    /// S1 strategic, K1 key (larger this month), M1 main; March 2026 seen on April 10.
    fn report() -> MonthlyReport {
        let (_dir, store) = store();
        let conn: &rusqlite::Connection = store.sql();
        customer(conn, "S1", "Strategic Co", "strategic");
        customer(conn, "K1", "Key Co", "key");
        customer(conn, "M1", "Main Co", "main");
        conn.execute("INSERT INTO customer_owners VALUES ('S1', 'rep-b'), ('S1', 'rep-a')", [])
            .unwrap();
        for (month, amount) in [
            ("2025-03", "999999.99"),
            ("2026-01", "500000.00"),
            ("2026-02", "1000000.01"),
            ("2026-03", "1234567.89"),
            ("2026-04", "7.00"),
        ] {
            sale(conn, "S1", month, amount);
        }
        sale(conn, "K1", "2026-03", "2000000.00");
        sale(conn, "M1", "2026-03", "9999999.00");
        let tickets = [
            ("t1", "complaint", "normal", "2026-03-02T02:00:00Z", None),
            ("t2", "complaint", "high", "2026-03-03T02:00:00Z", Some("2026-03-03T03:00:00Z")),
            ("t3", "quality", "normal", "2026-03-04T02:00:00Z", Some("2026-03-04T03:00:00Z")),
            // 00:30 on March 1st in Beijing: a March ticket although February in UTC.
            ("t4", "quality", "low", "2026-02-28T16:30:00Z", Some("2026-02-28T17:00:00Z")),
            ("t5", "delivery", "normal", "2026-03-05T02:00:00Z", Some("2026-03-05T03:00:00Z")),
            ("t6", "after_sales", "normal", "2026-03-06T02:00:00Z", Some("2026-03-06T03:00:00Z")),
            ("t7", "quality", "normal", "2026-02-10T02:00:00Z", Some("2026-02-10T03:00:00Z")),
            // Unanswered 24 hours before month end (16:00 UTC on the 31st): overdue.
            ("t8", "inquiry", "normal", "2026-03-30T00:00:00Z", None),
            // Answered only in April, after its due time: overdue at month end all the same.
            ("t9", "inquiry", "normal", "2026-03-29T00:00:00Z", Some("2026-04-02T00:00:00Z")),
            // Due after month end: not yet overdue then.
            ("t10", "inquiry", "normal", "2026-03-31T10:00:00Z", None),
        ];
        for (id, kind, priority, opened, replied) in tickets {
            ticket(conn, id, "S1", kind, priority, opened, replied);
        }
        visit(conn, "S1", "v1", "2026-03-05", ["新型号询价", "对手降价5%", ""]);
        visit(conn, "S1", "v2", "2026-03-20", ["扩产", "", "采购经理更换"]);
        visit(conn, "S1", "v3", "2026-02-10", ["old", "old", "old"]);
        visit(conn, "K1", "v4", "2026-03-07", ["", "", ""]);
        conn.execute_batch(
            "INSERT INTO review_measures(review_id, entry_id, customer_id, text, owner, due_on,
                 closed_at, closed_by, closing_note) VALUES
             ('2026-02', 'm1', 'S1', '复核报价', 'rep-a', '2026-03-15', NULL, NULL, NULL),
             ('2026-02', 'm2', 'S1', '已办', 'rep-a', '2026-03-01', '2026-03-02T00:00:00Z', 'hq', 'ok'),
             ('2026-03', 'm3', NULL, '本月', 'rep-b', '2026-04-15', NULL, NULL, NULL);",
        )
        .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 4, 10, 0, 0, 0).unwrap();
        monthly_report(conn, "2026-03", &Policy::default(), now).unwrap()
    }

    #[test]
    fn open_measures_of_earlier_reviews_are_carried() {
        let ids: Vec<String> = report().open_measures.into_iter().map(|m| m.entry_id).collect();
        assert_eq!(ids, ["m1"], "closed and this month's measures are not carried");
    }

    #[test]
    fn strategic_and_key_customers_only_strategic_first() {
        let r = report();
        let ids: Vec<&str> = r.rows.iter().map(|r| r.customer_id.as_str()).collect();
        assert_eq!(ids, ["S1", "K1"], "main customers are not in 附件一");
        assert_eq!(r.rows[0].tier_zh, "战略客户");
        assert_eq!(r.rows[0].owners, ["rep-a", "rep-b"]);
        assert_eq!(r.month, "2026-03");
    }

    #[test]
    fn month_and_year_changes_are_exact_to_the_fen() {
        let r = report();
        let s = &r.rows[0];
        assert_eq!(
            (s.volume, s.last_month, s.last_year),
            (d("1234567.89"), d("1000000.01"), d("999999.99"))
        );
        assert_eq!(s.mom, Change { amount: d("234567.88"), pct: Some(d("23.5")) });
        assert_eq!(s.yoy, Change { amount: d("234567.90"), pct: Some(d("23.5")) });
        assert_eq!(s.ytd, d("2734567.90"));
        let k = &r.rows[1];
        assert_eq!(k.mom, Change { amount: d("2000000.00"), pct: None }, "no % from zero");
        assert_eq!(r.totals.volume, d("3234567.89"));
        assert_eq!(r.totals.mom.amount, d("2234567.88"));
        assert_eq!(r.totals.customers, 2);
    }

    #[test]
    fn problems_count_by_kind_in_the_business_month() {
        let s = &report().rows[0];
        assert_eq!(s.serious_complaints, 1, "a normal-priority complaint is not serious");
        assert_eq!(s.quality_problems, 2);
        assert_eq!((s.delivery_problems, s.service_problems), (1, 1));
        // t1 (complaint, never answered) is overdue too.
        assert_eq!(s.overdue_tickets, 3);
    }

    #[test]
    fn visits_give_new_business_and_risks_of_the_month() {
        let r = report();
        let s = &r.rows[0];
        assert_eq!((s.new_business_count, s.new_business.as_str()), (2, "新型号询价；扩产"));
        assert_eq!(
            s.risks_text(ReportLang::Zh),
            "2026-03-05 竞争对手：对手降价5%；2026-03-20 人事变动：采购经理更换"
        );
        assert!(r.rows[1].relationship_risks.is_empty());
        assert_eq!(r.totals.relationship_risks, 2);
    }

    #[test]
    fn a_malformed_month_is_invalid_input() {
        let (_dir, store) = store();
        let now = Utc.with_ymd_and_hms(2026, 4, 10, 0, 0, 0).unwrap();
        let err = monthly_report(store.conn(), "2026-3", &Policy::default(), now).unwrap_err();
        assert!(matches!(err, ServerError::Invalid { field: "month", .. }), "{err:?}");
    }
}
