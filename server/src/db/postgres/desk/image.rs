//! `DeskImages` over PostgreSQL: one event's rows read and written table by table, as
//! `image_rows` carries rows, so a PostgreSQL central and a SQLite venue exchange the same
//! images. The one boolean column (`desk_buyers.skipped`) travels as SQLite's 0 or 1.
//!
//! SQLite reads some tables in the order their rows were inserted (its row id); PostgreSQL
//! keeps no such order, so those are read in an order that keeps every reference valid while
//! they are written: black tickets and receipts before the red ones that reverse them.

use std::collections::BTreeSet;

use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::super::PgDb;
use super::super::image_rows::{Stored, Table, as_params, cell_text, cells, typed, write_table};
use crate::db::DbError;
use crate::db::desk::DeskImages;
use crate::db::desk::image::{EventImage, ImageApplied, TableRows, Touched, UnitScope};

/// How one table of an event is read and written.
struct Spec {
    /// The table, its key, and what writing a stored row does.
    table: Table,
    /// Which of a venue's rows central writes (with `UnitScope::Allotted`).
    from_venue: FromVenue,
    /// The rows of the event, over the columns of [`PARAMS`].
    full: &'static str,
    /// The rows a batch names, over the columns of [`PARAMS`].
    touched: &'static str,
    order: &'static str,
}

/// Which of a venue's rows central writes: only its event's progress, never headquarters'
/// decisions (ADR 0021).
#[derive(Clone, Copy, PartialEq, Eq)]
enum FromVenue {
    /// Every row (they all belong to the event).
    All,
    /// None: the allotment is headquarters' decision.
    Never,
    /// Units allotted to the event.
    Allotted,
    /// Rows of the event's own work tickets.
    EventTickets,
    /// The event row's moving columns only (queue, mode, the voucher series' next number).
    Progress,
}

/// The parameters every read takes, as the columns of `p`: the event, its project, the sets
/// a batch names (JSON arrays) and whether it names every buyer.
const PARAMS: &str = "WITH p AS (SELECT $1::text AS p_event, $2::text AS p_project,
    $3::text::jsonb AS p_units, $4::text::jsonb AS p_holds, $5::text::jsonb AS p_tickets,
    $6::text::jsonb AS p_receipts, $7::text::jsonb AS p_vouchers, $8::text::jsonb AS p_buyers,
    $9::boolean AS p_all_buyers, $10::text::jsonb AS p_keys)";

/// The event's tables, in an order that keeps every reference valid while they are written.
const SPECS: &[Spec] = &[
    Spec {
        table: Table { name: "desk_events", key: &["event_id"], stored: Stored::Update },
        from_venue: FromVenue::Progress,
        full: "event_id = p_event",
        touched: "event_id = p_event",
        order: "event_id",
    },
    Spec {
        table: Table {
            name: "desk_units",
            key: &["project_id", "unit_id"],
            stored: Stored::Update,
        },
        from_venue: FromVenue::Allotted,
        full: "project_id = p_project",
        touched: "project_id = p_project
                  AND unit_id IN (SELECT jsonb_array_elements_text(p_units))",
        order: "project_id, unit_id",
    },
    Spec {
        table: Table {
            name: "desk_allotments",
            key: &["event_id", "unit_id"],
            stored: Stored::Update,
        },
        from_venue: FromVenue::Never,
        full: "event_id = p_event",
        touched: "event_id = p_event AND unit_id IN (SELECT jsonb_array_elements_text(p_units))",
        order: "event_id, unit_id",
    },
    Spec {
        table: Table {
            name: "desk_buyers",
            key: &["event_id", "buyer_id"],
            stored: Stored::Update,
        },
        from_venue: FromVenue::All,
        full: "event_id = p_event",
        touched: "event_id = p_event
                  AND (p_all_buyers OR buyer_id IN (SELECT jsonb_array_elements_text(p_buyers)))",
        order: "event_id, buyer_id",
    },
    Spec {
        table: Table { name: "desk_holds", key: &["hold_id"], stored: Stored::Update },
        from_venue: FromVenue::All,
        full: "event_id = p_event",
        touched: "event_id = p_event
                  AND (hold_id IN (SELECT jsonb_array_elements_text(p_holds))
                       OR hold_id IN (SELECT w.hold_id FROM work_tickets w WHERE w.ticket_id IN
                                      (SELECT jsonb_array_elements_text(p_tickets))))",
        order: "held_at, hold_id",
    },
    Spec {
        table: Table { name: "work_tickets", key: &["ticket_id"], stored: Stored::MustMatch },
        from_venue: FromVenue::All,
        full: "event_id = p_event",
        touched: "event_id = p_event
                  AND (ticket_id IN (SELECT jsonb_array_elements_text(p_tickets))
                       OR reverses IN (SELECT jsonb_array_elements_text(p_tickets))
                       OR hold_id IN (SELECT jsonb_array_elements_text(p_holds)))",
        order: "reverses IS NOT NULL, prepared_at, ticket_id",
    },
    Spec {
        table: Table {
            name: "work_ticket_reviews",
            key: &["ticket_id"],
            stored: Stored::MustMatch,
        },
        from_venue: FromVenue::EventTickets,
        full: "ticket_id IN (SELECT w.ticket_id FROM work_tickets w WHERE w.event_id = p_event)",
        touched: "ticket_id IN (SELECT w.ticket_id FROM work_tickets w WHERE w.event_id = p_event
                  AND (w.ticket_id IN (SELECT jsonb_array_elements_text(p_tickets))
                       OR w.hold_id IN (SELECT jsonb_array_elements_text(p_holds))))",
        order: "reviewed_at, ticket_id",
    },
    Spec {
        table: Table { name: "receipts", key: &["receipt_id"], stored: Stored::MustMatch },
        from_venue: FromVenue::All,
        full: "event_id = p_event",
        touched: "event_id = p_event
                  AND (receipt_id IN (SELECT jsonb_array_elements_text(p_receipts))
                       OR ticket_id IN (SELECT jsonb_array_elements_text(p_tickets)))",
        order: "reverses IS NOT NULL, received_at, receipt_id",
    },
    Spec {
        table: Table {
            name: "vouchers",
            key: &["event_id", "voucher_no"],
            stored: Stored::MustMatch,
        },
        from_venue: FromVenue::All,
        full: "event_id = p_event",
        touched: "event_id = p_event
                  AND (voucher_no IN (SELECT jsonb_array_elements_text(p_vouchers)::bigint)
                       OR reverses IN (SELECT jsonb_array_elements_text(p_vouchers)::bigint)
                       OR ticket_id IN (SELECT jsonb_array_elements_text(p_tickets)))",
        order: "voucher_no",
    },
    // The answers kept under the keys travel with the desk (ADR 0021; see the SQLite
    // implementation for why each is lent, carried and kept).
    Spec {
        table: Table {
            name: "desk_requests",
            key: &["device_id", "idempotency_key"],
            stored: Stored::Keep,
        },
        from_venue: FromVenue::All,
        full: "idempotency_key IN (SELECT l.idempotency_key FROM desk_ledger l
                                   WHERE l.event_id = p_event AND l.idempotency_key IS NOT NULL
                                   UNION ALL
                                   SELECT v.idempotency_key FROM desk_venue_ledger v
                                   WHERE v.event_id = p_event AND v.idempotency_key IS NOT NULL)
               OR EXISTS (SELECT 1 FROM desk_delegations d
                          WHERE d.event_id = p_event AND d.side = 'held')",
        touched: "idempotency_key IN (SELECT jsonb_array_elements_text(p_keys))",
        order: "device_id, idempotency_key",
    },
];

fn json_list<T: serde::Serialize>(items: &T) -> Result<String, DbError> {
    serde_json::to_string(items).map_err(|e| DbError::Corrupt(e.to_string()))
}

/// The values of [`PARAMS`]: text, and one boolean.
struct Bindings {
    texts: [String; 9],
    all_buyers: bool,
}

impl Bindings {
    fn new(event_id: &str, project_id: &str, t: &Touched) -> Result<Bindings, DbError> {
        Ok(Bindings {
            texts: [
                event_id.to_owned(),
                project_id.to_owned(),
                json_list(&t.units)?,
                json_list(&t.holds)?,
                json_list(&t.tickets)?,
                json_list(&t.receipts)?,
                json_list(&t.vouchers)?,
                json_list(&t.buyers)?,
                json_list(&t.keys)?,
            ],
            all_buyers: t.all_buyers,
        })
    }

    /// `$1`–`$10` in order.
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let mut out: Vec<&(dyn ToSql + Sync)> =
            self.texts[..8].iter().map(|t| t as &(dyn ToSql + Sync)).collect();
        out.push(&self.all_buyers);
        out.push(&self.texts[8]);
        out
    }
}

/// The rows of `spec` that `clause` selects, or `None` when there are none.
fn read_table(
    db: &PgDb,
    spec: &Spec,
    clause: &str,
    values: &Bindings,
) -> Result<Option<TableRows>, DbError> {
    let sql = format!(
        "{PARAMS} SELECT t.* FROM {} t CROSS JOIN p WHERE {clause} ORDER BY {}",
        spec.table.name, spec.order
    );
    let found = db.rows(&sql, &values.params())?;
    let Some(first) = found.first() else { return Ok(None) };
    let columns = first.columns().iter().map(|c| c.name().to_owned()).collect();
    let rows = found.iter().map(cells).collect::<Result<_, _>>()?;
    Ok(Some(TableRows { table: spec.table.name.to_owned(), columns, rows }))
}

/// The first column of every row of `sql` with `$1` = `event_id`.
fn ids(db: &PgDb, sql: &str, event_id: &str) -> Result<BTreeSet<String>, DbError> {
    db.rows(sql, &[&event_id])?.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Writes the columns of an event row that move while its desk serves (the queue, the mode,
/// the voucher series' next number) onto the row central has; its project, series and opening
/// stay headquarters'.
fn write_event_progress(db: &PgDb, event_id: &str, table: &TableRows) -> Result<usize, DbError> {
    const MOVING: [(&str, &str); 4] = [
        ("now_serving", "bigint"),
        ("called_up_to", "bigint"),
        ("mode", "text"),
        ("voucher_next", "bigint"),
    ];
    let at = |name: &str| table.columns.iter().position(|c| c == name);
    let (Some(id_at), Some(moving)) =
        (at("event_id"), MOVING.iter().map(|(c, _)| at(c)).collect::<Option<Vec<usize>>>())
    else {
        return Err(DbError::Corrupt("an event row without its moving columns".into()));
    };
    let sets: Vec<String> = MOVING
        .iter()
        .enumerate()
        .map(|(i, (c, ty))| format!("{c} = {}", typed(i.saturating_add(2), ty)))
        .collect();
    let sql = format!("UPDATE desk_events SET {} WHERE event_id = $1::text", sets.join(", "));
    let mut written = 0usize;
    for row in table.rows.iter().filter(|r| r.get(id_at).and_then(|v| v.as_str()) == Some(event_id))
    {
        let mut cells = vec![Some(event_id.to_owned())];
        for i in &moving {
            cells.push(cell_text(row.get(*i).unwrap_or(&Value::Null))?);
        }
        let changed = db.execute(&sql, &as_params(&cells))?;
        written = written.saturating_add(usize::try_from(changed).unwrap_or(usize::MAX));
    }
    Ok(written)
}

/// The rows whose `column` is one of `keep`.
fn only_keyed(table: &TableRows, column: &str, keep: &BTreeSet<String>) -> TableRows {
    let at = table.columns.iter().position(|c| c == column);
    let rows = table
        .rows
        .iter()
        .filter(|r| {
            at.and_then(|i| r.get(i)).and_then(|v| v.as_str()).is_some_and(|u| keep.contains(u))
        })
        .cloned()
        .collect();
    TableRows { table: table.table.clone(), columns: table.columns.clone(), rows }
}

impl DeskImages for PgDb {
    fn event_image(
        &self,
        event_id: &str,
        touched: Option<&Touched>,
    ) -> Result<Option<EventImage>, DbError> {
        let Some(row) =
            self.row("SELECT project_id FROM desk_events WHERE event_id = $1", &[&event_id])?
        else {
            return Ok(None);
        };
        let project_id: String = row.try_get(0)?;
        let values = Bindings::new(event_id, &project_id, touched.unwrap_or(&Touched::default()))?;
        let mut tables = Vec::with_capacity(SPECS.len());
        for spec in SPECS {
            let clause = if touched.is_some() { spec.touched } else { spec.full };
            if let Some(rows) = read_table(self, spec, clause, &values)? {
                tables.push(rows);
            }
        }
        Ok(Some(EventImage { event_id: event_id.to_owned(), full: touched.is_none(), tables }))
    }

    fn apply_image(&self, image: &EventImage, units: UnitScope) -> Result<ImageApplied, DbError> {
        let event_id = image.event_id.as_str();
        let allotted = match units {
            UnitScope::Project => None,
            UnitScope::Allotted => Some(ids(
                self,
                "SELECT unit_id FROM desk_allotments WHERE event_id = $1",
                event_id,
            )?),
        };
        let mut rows = 0usize;
        for table in &image.tables {
            let Some(spec) = SPECS.iter().find(|s| s.table.name == table.table) else {
                return Err(DbError::Corrupt(format!("image table {} is not known", table.table)));
            };
            if let Some(at) = table.columns.iter().position(|c| c == "event_id") {
                let foreign = table
                    .rows
                    .iter()
                    .any(|r| r.get(at).and_then(|v| v.as_str()).is_some_and(|e| e != event_id));
                if foreign && spec.table.name != "desk_units" {
                    return Err(DbError::Corrupt(format!(
                        "image rows of {} belong to another event",
                        table.table
                    )));
                }
            }
            let written = match (&allotted, spec.from_venue) {
                (None, _) | (Some(_), FromVenue::All) => write_table(self, &spec.table, table)?,
                (Some(_), FromVenue::Never) => 0,
                (Some(_), FromVenue::Progress) => write_event_progress(self, event_id, table)?,
                (Some(allotted), FromVenue::Allotted) => {
                    write_table(self, &spec.table, &only_keyed(table, "unit_id", allotted))?
                }
                (Some(_), FromVenue::EventTickets) => {
                    let tickets = ids(
                        self,
                        "SELECT ticket_id FROM work_tickets WHERE event_id = $1",
                        event_id,
                    )?;
                    write_table(self, &spec.table, &only_keyed(table, "ticket_id", &tickets))?
                }
            };
            rows = rows.saturating_add(written);
        }
        Ok(ImageApplied { rows })
    }
}
