//! Headquarters' lists as files: the rows a list page shows under its filters and sort, every
//! one of them (not the page), in the reader's words — the same CSV and XLSX writers as the
//! reports, so a list file reads like a report.

use rust_decimal::Decimal;

use super::xlsx::write_xlsx;
use super::{Cell, Column, Table, col, write_csv};
use crate::error::ServerError;
use crate::reports::ReportLang;

/// One cell of a list row, already in the reader's words.
#[derive(Clone, Debug, PartialEq)]
pub enum ListCell {
    /// Text.
    Text(String),
    /// An amount of CNY (written as a number in XLSX); `None` leaves the cell empty.
    Money(Option<Decimal>),
    /// A count.
    Count(usize),
}

/// Which list a file holds: its sheet's name and columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// The customer list.
    Customers,
    /// The ticket list.
    Tickets,
    /// The yearly re-grade proposals.
    Regrades,
    /// The account plans.
    Plans,
    /// The surveyed customers.
    Surveys,
    /// The development pipeline's leads.
    Leads,
    /// The enrolled devices.
    Devices,
    /// The visits past due.
    OverdueVisits,
    /// A month's cadence entries.
    MonthVisits,
    /// The staff scorecards (the report's columns).
    Scorecards,
    /// The users, for the administrator.
    Users,
    /// The open conflicts.
    Conflicts,
    /// The violations awaiting review.
    Violations,
    /// The documents set aside by a background task.
    Quarantine,
    /// The monthly leadership reviews held.
    Meetings,
    /// The commissioning organisations' candidates, ranked per project.
    Organisations,
    /// The commissioning organisations' outstanding instalments.
    Collections,
    /// The selection events.
    Events,
    /// The grants of customers, events and projects to people.
    Grants,
}

/// The customer list's columns, in the order of [`ListKind::Customers`] rows.
const CUSTOMER_COLUMNS: &[Column] = &[
    col("客户编号", "Customer ID", 12.0),
    col("客户名称", "Customer", 28.0),
    col("客户级别", "Tier", 10.0),
    col("客户等级", "Grade", 8.0),
    col("评分", "Score", 8.0),
    col("区域", "Region", 10.0),
    col("行业", "Industry", 12.0),
    col("最近年度销售额", "Latest annual sales", 16.0),
    col("年度", "Year", 8.0),
    col("信用额度", "Credit limit", 16.0),
    col("付款条件", "Payment terms", 14.0),
    col("客户经理", "Reps", 16.0),
    col("超期拜访", "Overdue visits", 10.0),
];

/// The ticket list's columns, in the order of [`ListKind::Tickets`] rows.
const TICKET_COLUMNS: &[Column] = &[
    col("工单编号", "Ticket ID", 12.0),
    col("时效", "SLA", 10.0),
    col("超时/剩余（分钟）", "Minutes over / left", 10.0),
    col("客户", "Customer", 28.0),
    col("类型", "Kind", 10.0),
    col("优先级", "Priority", 8.0),
    col("状态", "Status", 8.0),
    col("标题", "Title", 36.0),
    col("受理时间", "Opened", 18.0),
    col("回复期限", "Reply due", 18.0),
    col("负责人", "Owner", 12.0),
];

/// The re-grade list's columns, in the order of [`ListKind::Regrades`] rows.
const REGRADE_COLUMNS: &[Column] = &[
    col("客户编号", "Customer ID", 12.0),
    col("客户名称", "Customer", 28.0),
    col("现级别", "Tier now", 10.0),
    col("建议级别", "Proposed tier", 10.0),
    col("现等级", "Grade now", 8.0),
    col("建议等级", "Proposed grade", 8.0),
    col("评分", "Score", 8.0),
    col("理由", "Why", 48.0),
];

/// The plan list's columns, in the order of [`ListKind::Plans`] rows.
const PLAN_COLUMNS: &[Column] = &[
    col("计划编号", "Plan ID", 14.0),
    col("客户", "Customer", 28.0),
    col("年度", "Year", 8.0),
    col("状态", "Status", 14.0),
    col("版本", "Revision", 8.0),
    col("年度销售目标", "Sales goal", 16.0),
    col("缺少负责人", "Owners missing", 20.0),
    col("待评估季度", "Evaluations due", 16.0),
];

/// The surveyed customers' columns, in the order of [`ListKind::Surveys`] rows.
const SURVEY_COLUMNS: &[Column] = &[
    col("客户编号", "Customer ID", 12.0),
    col("客户名称", "Customer", 28.0),
    col("客户级别", "Tier", 10.0),
    col("调查次数", "Surveys", 8.0),
    col("最近得分", "Latest score", 8.0),
    col("最近调查时间", "Latest taken", 18.0),
    col("满意度系数", "Satisfaction factor", 10.0),
    col("计入调查数", "Surveys counted", 8.0),
    col("下次定期调查", "Next periodic survey", 12.0),
    col("已超期", "Overdue", 8.0),
];

/// The leads' columns, in the order of [`ListKind::Leads`] rows.
const LEAD_COLUMNS: &[Column] = &[
    col("线索编号", "Lead ID", 12.0),
    col("线索", "Lead", 28.0),
    col("客户", "Customer", 28.0),
    col("阶段", "Stage", 10.0),
    col("预计金额", "Expected value", 16.0),
    col("大客户候选", "Key-account candidate", 8.0),
    col("客户经理", "Rep", 12.0),
    col("阶段开始", "Stage since", 18.0),
];

/// The devices' columns, in the order of [`ListKind::Devices`] rows.
const DEVICE_COLUMNS: &[Column] = &[
    col("设备编号", "Device ID", 14.0),
    col("设备名称", "Label", 16.0),
    col("用户", "User", 12.0),
    col("角色", "Role", 10.0),
    col("最近同步", "Last sync", 18.0),
    col("距今（分钟）", "Minutes since", 10.0),
    col("落后变更数", "Changes behind", 10.0),
    col("最近上传", "Last upload", 18.0),
    col("上传时积压（分钟）", "Outbox age at upload (minutes)", 12.0),
    col("状态", "State", 8.0),
];

/// The overdue visits' columns, in the order of [`ListKind::OverdueVisits`] rows.
const OVERDUE_VISIT_COLUMNS: &[Column] = &[
    col("客户编号", "Customer ID", 12.0),
    col("客户名称", "Customer", 28.0),
    col("拜访层级", "Level", 14.0),
    col("上次拜访", "Last visit", 12.0),
    col("应于", "Due on", 12.0),
    col("客户经理", "Reps", 16.0),
];

/// A month's entries' columns, in the order of [`ListKind::MonthVisits`] rows.
const MONTH_VISIT_COLUMNS: &[Column] = &[
    col("客户编号", "Customer ID", 12.0),
    col("客户名称", "Customer", 28.0),
    col("拜访层级", "Level", 14.0),
    col("应于", "Due on", 12.0),
    col("拜访日期（空：未完成）", "Visited on (empty: missed)", 14.0),
    col("客户经理", "Reps", 16.0),
];

/// The users' columns, in the order of [`ListKind::Users`] rows.
const USER_COLUMNS: &[Column] = &[
    col("姓名", "Name", 12.0),
    col("用户名", "User id", 14.0),
    col("角色", "Role", 10.0),
    col("创建时间", "Created", 20.0),
    col("停用时间", "Disabled", 20.0),
];

/// The open conflicts' columns, in the order of [`ListKind::Conflicts`] rows.
const CONFLICT_COLUMNS: &[Column] = &[
    col("文档", "Document", 24.0),
    col("字段", "Field", 20.0),
    col("首次发现", "First seen", 22.0),
    col("并发值", "Values", 40.0),
];

/// The violations' columns, in the order of [`ListKind::Violations`] rows.
const VIOLATION_COLUMNS: &[Column] = &[
    col("时间", "When", 22.0),
    col("用户", "User", 12.0),
    col("设备", "Device", 14.0),
    col("文档", "Document", 24.0),
    col("字段", "Field", 20.0),
    col("规则", "Rule", 24.0),
    col("恢复为", "Restored", 24.0),
    col("设备写入", "Written", 24.0),
];

/// The set-aside documents' columns, in the order of [`ListKind::Quarantine`] rows.
const QUARANTINE_COLUMNS: &[Column] = &[
    col("任务", "Task", 14.0),
    col("文档", "Document", 24.0),
    col("首次", "First", 22.0),
    col("最近", "Last", 22.0),
    col("次数", "Attempts", 8.0),
    col("原因", "Reason", 40.0),
];

/// The monthly reviews' columns, in the order of [`ListKind::Meetings`] rows.
const MEETING_COLUMNS: &[Column] = &[
    col("月份", "Month", 10.0),
    col("召开日期", "Held on", 12.0),
    col("出席", "Attendees", 30.0),
    col("问题", "Findings", 8.0),
    col("未关闭措施", "Open measures", 10.0),
];

/// The candidates' columns, in the order of [`ListKind::Organisations`] rows.
const ORGANISATION_COLUMNS: &[Column] = &[
    col("项目", "Project", 12.0),
    col("排名", "Rank", 6.0),
    col("单位", "Organisation", 24.0),
    col("可接受单价", "Accepted price/m²", 14.0),
    col("付款比例%", "Payment ratio %", 10.0),
    col("资源置换", "Resource exchange", 10.0),
    col("自住比例%", "Owner-occupiers %", 10.0),
    col("状态", "Status", 10.0),
    col("总经理", "GM", 12.0),
    col("董事长", "Chairman", 12.0),
    col("核定单价", "Approved price", 14.0),
    col("协议缺项", "Missing clauses", 10.0),
];

/// The instalments' columns, in the order of [`ListKind::Collections`] rows.
const COLLECTION_COLUMNS: &[Column] = &[
    col("单位", "Organisation", 24.0),
    col("到期日", "Due", 12.0),
    col("应收", "Due amount", 14.0),
    col("已收", "Received", 14.0),
    col("未收", "Outstanding", 14.0),
    col("逾期天数", "Days overdue", 10.0),
    col("上次催款", "Last reminder", 12.0),
    col("应催款", "Reminder due", 10.0),
];

/// The selection events' columns, in the order of [`ListKind::Events`] rows.
const EVENT_COLUMNS: &[Column] = &[
    col("活动", "Event", 24.0),
    col("活动编号", "Event ID", 14.0),
    col("项目", "Project", 12.0),
    col("开始时间", "Starts", 22.0),
    col("分配房源", "Units allotted", 10.0),
    col("名单人数", "Buyers", 10.0),
    col("选房台", "Desk", 10.0),
];

/// The grants' columns, in the order of [`ListKind::Grants`] rows.
const GRANT_COLUMNS: &[Column] = &[
    col("人员", "Person", 12.0),
    col("用户名", "User id", 14.0),
    col("角色", "Role", 12.0),
    col("范围", "Scope", 12.0),
    col("对象编号", "ID", 16.0),
    col("对象", "Name", 28.0),
];

impl ListKind {
    fn columns(self) -> &'static [Column] {
        match self {
            ListKind::Customers => CUSTOMER_COLUMNS,
            ListKind::Tickets => TICKET_COLUMNS,
            ListKind::Regrades => REGRADE_COLUMNS,
            ListKind::Plans => PLAN_COLUMNS,
            ListKind::Surveys => SURVEY_COLUMNS,
            ListKind::Leads => LEAD_COLUMNS,
            ListKind::Devices => DEVICE_COLUMNS,
            ListKind::OverdueVisits => OVERDUE_VISIT_COLUMNS,
            ListKind::MonthVisits => MONTH_VISIT_COLUMNS,
            ListKind::Scorecards => super::scorecards::COLUMNS,
            ListKind::Users => USER_COLUMNS,
            ListKind::Conflicts => CONFLICT_COLUMNS,
            ListKind::Violations => VIOLATION_COLUMNS,
            ListKind::Quarantine => QUARANTINE_COLUMNS,
            ListKind::Meetings => MEETING_COLUMNS,
            ListKind::Organisations => ORGANISATION_COLUMNS,
            ListKind::Collections => COLLECTION_COLUMNS,
            ListKind::Events => EVENT_COLUMNS,
            ListKind::Grants => GRANT_COLUMNS,
        }
    }

    /// The sheet's name, which is also the file's.
    pub fn sheet(self) -> &'static str {
        match self {
            ListKind::Customers => "customers",
            ListKind::Tickets => "tickets",
            ListKind::Regrades => "regrades",
            ListKind::Plans => "plans",
            ListKind::Surveys => "surveys",
            ListKind::Leads => "leads",
            ListKind::Devices => "devices",
            ListKind::OverdueVisits => "overdue-visits",
            ListKind::MonthVisits => "month-visits",
            ListKind::Scorecards => "scorecards",
            ListKind::Users => "users",
            ListKind::Conflicts => "conflicts",
            ListKind::Violations => "violations",
            ListKind::Quarantine => "quarantine",
            ListKind::Meetings => "meetings",
            ListKind::Organisations => "organisations",
            ListKind::Collections => "collections",
            ListKind::Events => "selection-events",
            ListKind::Grants => "grants",
        }
    }

    /// How many cells each row has.
    pub fn width(self) -> usize {
        self.columns().len()
    }
}

/// A list ready to be written: its title (the list and its filters) and a line saying when
/// and in which time zone it was taken.
pub struct ListFile {
    /// Which list.
    pub kind: ListKind,
    /// The title row.
    pub title: String,
    /// The line under it.
    pub subtitle: String,
    /// The rows, each [`ListKind::width`] cells.
    pub rows: Vec<Vec<ListCell>>,
}

impl ListFile {
    fn table(self) -> Table {
        let rows = self
            .rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|cell| match cell {
                        ListCell::Text(t) => Cell::Text(t),
                        ListCell::Money(Some(m)) => Cell::Money(m),
                        ListCell::Money(None) => Cell::Text(String::new()),
                        ListCell::Count(n) => Cell::Count(n),
                    })
                    .collect()
            })
            .collect();
        Table {
            sheet: self.kind.sheet(),
            title: self.title,
            subtitle: self.subtitle,
            columns: self.kind.columns(),
            rows,
            totals: Vec::new(),
        }
    }
}

/// The list as CSV (UTF-8 with a BOM, RFC 4180).
pub fn list_csv(file: ListFile, lang: ReportLang) -> String {
    write_csv(&file.table(), lang)
}

/// The list as an XLSX workbook.
pub fn list_xlsx(file: ListFile, lang: ReportLang) -> Result<Vec<u8>, ServerError> {
    write_xlsx(&file.table(), lang).map_err(super::xlsx_error)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Cursor;

    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};

    use super::*;

    fn file() -> ListFile {
        let row = |name: &str, sales: Option<&str>| {
            let mut cells = vec![
                ListCell::Text("c-1".into()),
                ListCell::Text(name.into()),
                ListCell::Text("重点客户".into()),
            ];
            cells.extend((3..7).map(|_| ListCell::Text(String::new())));
            cells.push(ListCell::Money(sales.map(|s| s.parse().unwrap())));
            cells.extend((8..12).map(|_| ListCell::Text(String::new())));
            cells.push(ListCell::Count(2));
            cells
        };
        ListFile {
            kind: ListKind::Customers,
            title: "客户".into(),
            subtitle: "2026-12-06 16:00 (UTC+08:00)".into(),
            rows: vec![row("=宏达, \"上海\"", Some("1234.5")), row("远航", None)],
        }
    }

    #[test]
    fn a_list_as_csv_is_quoted_defused_and_exact() {
        let csv = list_csv(file(), ReportLang::Zh);
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert!(lines[0].starts_with("客户编号,客户名称,客户级别"));
        assert!(lines[1].starts_with("c-1,\"'=宏达, \"\"上海\"\"\",重点客户"), "{}", lines[1]);
        assert!(lines[1].contains(",1234.50,"), "money exact with two places: {}", lines[1]);
        assert_eq!(
            lines[1].split(',').count(),
            lines[0].split(',').count() + 1,
            "one quoted comma"
        );
        assert_eq!(ListKind::Customers.width(), lines[0].split(',').count());
    }

    #[test]
    fn a_list_as_xlsx_holds_every_row_with_numbers_as_numbers() {
        let bytes = list_xlsx(file(), ReportLang::En).unwrap();
        let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range("customers").unwrap();
        let rows: Vec<_> = sheet.rows().collect();
        assert_eq!(rows[2][1], Data::String("Customer".into()));
        assert_eq!(rows[3][7], Data::Float(1234.5));
        assert_eq!(rows[4][1], Data::String("远航".into()));
        assert_eq!(rows[4][12], Data::Float(2.0));
        assert_eq!(rows.len(), 5, "title, subtitle, header and the two rows");
    }
}
