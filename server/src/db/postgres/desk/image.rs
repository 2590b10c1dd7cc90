//! `DeskImages` over PostgreSQL: one event's rows read and written table by table, every
//! column as SQLite stores it (null, integer, text, a blob as `{"blob": hex}`), so a
//! PostgreSQL central and a SQLite venue exchange the same images. The one boolean column
//! (`desk_buyers.skipped`) travels as SQLite's 0 or 1.
//!
//! SQLite reads some tables in the order their rows were inserted (its row id); PostgreSQL
//! keeps no such order, so those are read in an order that keeps every reference valid while
//! they are written: black tickets and receipts before the red ones that reverse them.

use std::collections::BTreeSet;

use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use super::super::PgDb;
use crate::db::DbError;
use crate::db::desk::DeskImages;
use crate::db::desk::image::{EventImage, ImageApplied, TableRows, Touched, UnitScope};

/// How one table of an event is read and written.
struct Spec {
    table: &'static str,
    /// Its primary key.
    key: &'static [&'static str],
    /// What writing a row whose key is stored already does.
    stored: Stored,
    /// Which of a venue's rows central writes (with `UnitScope::Allotted`).
    from_venue: FromVenue,
    /// The rows of the event, over the columns of [`PARAMS`].
    full: &'static str,
    /// The rows a batch names, over the columns of [`PARAMS`].
    touched: &'static str,
    order: &'static str,
}

/// What writing a row whose key is stored already does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stored {
    /// The row changes in place (units, holds, buyers, the event).
    Update,
    /// The stored row must equal the one written: it never changes once written.
    MustMatch,
    /// The stored row stays: an answer kept under a key is the one some tablet may have heard.
    Keep,
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
        table: "desk_events",
        key: &["event_id"],
        stored: Stored::Update,
        from_venue: FromVenue::Progress,
        full: "event_id = p_event",
        touched: "event_id = p_event",
        order: "event_id",
    },
    Spec {
        table: "desk_units",
        key: &["project_id", "unit_id"],
        stored: Stored::Update,
        from_venue: FromVenue::Allotted,
        full: "project_id = p_project",
        touched: "project_id = p_project
                  AND unit_id IN (SELECT jsonb_array_elements_text(p_units))",
        order: "project_id, unit_id",
    },
    Spec {
        table: "desk_allotments",
        key: &["event_id", "unit_id"],
        stored: Stored::Update,
        from_venue: FromVenue::Never,
        full: "event_id = p_event",
        touched: "event_id = p_event AND unit_id IN (SELECT jsonb_array_elements_text(p_units))",
        order: "event_id, unit_id",
    },
    Spec {
        table: "desk_buyers",
        key: &["event_id", "buyer_id"],
        stored: Stored::Update,
        from_venue: FromVenue::All,
        full: "event_id = p_event",
        touched: "event_id = p_event
                  AND (p_all_buyers OR buyer_id IN (SELECT jsonb_array_elements_text(p_buyers)))",
        order: "event_id, buyer_id",
    },
    Spec {
        table: "desk_holds",
        key: &["hold_id"],
        stored: Stored::Update,
        from_venue: FromVenue::All,
        full: "event_id = p_event",
        touched: "event_id = p_event
                  AND (hold_id IN (SELECT jsonb_array_elements_text(p_holds))
                       OR hold_id IN (SELECT w.hold_id FROM work_tickets w WHERE w.ticket_id IN
                                      (SELECT jsonb_array_elements_text(p_tickets))))",
        order: "held_at, hold_id",
    },
    Spec {
        table: "work_tickets",
        key: &["ticket_id"],
        stored: Stored::MustMatch,
        from_venue: FromVenue::All,
        full: "event_id = p_event",
        touched: "event_id = p_event
                  AND (ticket_id IN (SELECT jsonb_array_elements_text(p_tickets))
                       OR reverses IN (SELECT jsonb_array_elements_text(p_tickets))
                       OR hold_id IN (SELECT jsonb_array_elements_text(p_holds)))",
        order: "reverses IS NOT NULL, prepared_at, ticket_id",
    },
    Spec {
        table: "work_ticket_reviews",
        key: &["ticket_id"],
        stored: Stored::MustMatch,
        from_venue: FromVenue::EventTickets,
        full: "ticket_id IN (SELECT w.ticket_id FROM work_tickets w WHERE w.event_id = p_event)",
        touched: "ticket_id IN (SELECT w.ticket_id FROM work_tickets w WHERE w.event_id = p_event
                  AND (w.ticket_id IN (SELECT jsonb_array_elements_text(p_tickets))
                       OR w.hold_id IN (SELECT jsonb_array_elements_text(p_holds))))",
        order: "reviewed_at, ticket_id",
    },
    Spec {
        table: "receipts",
        key: &["receipt_id"],
        stored: Stored::MustMatch,
        from_venue: FromVenue::All,
        full: "event_id = p_event",
        touched: "event_id = p_event
                  AND (receipt_id IN (SELECT jsonb_array_elements_text(p_receipts))
                       OR ticket_id IN (SELECT jsonb_array_elements_text(p_tickets)))",
        order: "reverses IS NOT NULL, received_at, receipt_id",
    },
    Spec {
        table: "vouchers",
        key: &["event_id", "voucher_no"],
        stored: Stored::MustMatch,
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
        table: "desk_requests",
        key: &["device_id", "idempotency_key"],
        stored: Stored::Keep,
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

/// One row's cells as an image carries them.
fn cells(row: &Row) -> Result<Vec<Value>, DbError> {
    let mut out = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Value::from)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?.map(Value::from)
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?.map(|b| Value::from(i64::from(b)))
        } else if *ty == Type::BYTEA {
            let bytes = row.try_get::<_, Option<Vec<u8>>>(i)?;
            bytes.map(|b| serde_json::json!({ "blob": hex::encode(b) }))
        } else if *ty == Type::TEXT {
            row.try_get::<_, Option<String>>(i)?.map(Value::String)
        } else {
            return Err(DbError::Corrupt(format!(
                "column {} holds a value an image cannot carry",
                column.name()
            )));
        };
        out.push(cell.unwrap_or(Value::Null));
    }
    Ok(out)
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
        spec.table, spec.order
    );
    let found = db.rows(&sql, &values.params())?;
    let Some(first) = found.first() else { return Ok(None) };
    let columns = first.columns().iter().map(|c| c.name().to_owned()).collect();
    let rows = found.iter().map(cells).collect::<Result<_, _>>()?;
    Ok(Some(TableRows { table: spec.table.to_owned(), columns, rows }))
}

/// The columns of a local table with their types, in the table's order.
fn local_columns(db: &PgDb, table: &str) -> Result<Vec<(String, String)>, DbError> {
    let rows = db.rows(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        &[&table],
    )?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Parameter `n` (bound as text, or null) as a value of the column type `ty`.
fn typed(n: usize, ty: &str) -> String {
    match ty {
        "bigint" | "integer" => format!("${n}::text::bigint"),
        "boolean" => format!("(${n}::text::bigint <> 0)"),
        "bytea" => format!("decode(${n}::text, 'hex')"),
        _ => format!("${n}::text"),
    }
}

/// The statement that writes one row of `spec` with `columns` (name and type).
fn upsert_sql(spec: &Spec, columns: &[(&str, &str)]) -> String {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let marks: Vec<String> =
        columns.iter().enumerate().map(|(i, (_, ty))| typed(i.saturating_add(1), ty)).collect();
    let changes: Vec<String> = names
        .iter()
        .filter(|c| !spec.key.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let action = if spec.stored != Stored::Update || changes.is_empty() {
        "NOTHING".to_owned()
    } else {
        format!("UPDATE SET {}", changes.join(", "))
    };
    format!(
        "INSERT INTO {}({}) VALUES ({}) ON CONFLICT({}) DO {action}",
        spec.table,
        names.join(", "),
        marks.join(", "),
        spec.key.join(", ")
    )
}

/// An image cell as text for its column (a blob as its hex), or `None` for null.
fn cell_text(value: &Value) -> Result<Option<String>, DbError> {
    Ok(match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(i.to_string()),
            None => return Err(DbError::Corrupt(format!("image cell {n} is not an integer"))),
        },
        Value::Object(map) => match map.get("blob").and_then(|b| b.as_str()) {
            Some(text) if map.len() == 1 && hex::decode(text).is_ok() => Some(text.to_owned()),
            _ => return Err(DbError::Corrupt("image cell is not a stored value".into())),
        },
        other => return Err(DbError::Corrupt(format!("image cell {other} is not a stored value"))),
    })
}

/// Binds text cells as statement parameters.
fn as_params(cells: &[Option<String>]) -> Vec<&(dyn ToSql + Sync)> {
    cells.iter().map(|c| c as &(dyn ToSql + Sync)).collect()
}

/// Whether the stored row with the key of `cells` equals them (an append-only row).
fn same_as_stored(
    db: &PgDb,
    spec: &Spec,
    columns: &[(&str, &str)],
    cells: &[Option<String>],
) -> Result<bool, DbError> {
    let mut wanted = Vec::with_capacity(spec.key.len());
    let mut key = Vec::with_capacity(spec.key.len());
    for k in spec.key {
        let Some(at) = columns.iter().position(|(c, _)| c == k) else { return Ok(false) };
        let (name, ty) = columns.get(at).copied().unwrap_or_default();
        key.push(cells.get(at).cloned().flatten());
        wanted.push(format!("{name} = {}", typed(key.len(), ty)));
    }
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let sql =
        format!("SELECT {} FROM {} WHERE {}", names.join(", "), spec.table, wanted.join(" AND "));
    let Some(row) = db.row(&sql, &as_params(&key))? else { return Ok(false) };
    let stored = cells_text(&row)?;
    Ok(stored == cells)
}

/// A stored row's cells as text, as [`cell_text`] gives an image's.
fn cells_text(row: &Row) -> Result<Vec<Option<String>>, DbError> {
    cells(row)?.iter().map(cell_text).collect()
}

fn write_table(db: &PgDb, spec: &Spec, rows: &TableRows) -> Result<usize, DbError> {
    let local = local_columns(db, spec.table)?;
    let mut columns = Vec::with_capacity(rows.columns.len());
    for name in &rows.columns {
        let Some((_, ty)) = local.iter().find(|(c, _)| c == name) else {
            return Err(DbError::Corrupt(format!(
                "image column {}.{name} is not known",
                spec.table
            )));
        };
        columns.push((name.as_str(), ty.as_str()));
    }
    if spec.key.iter().any(|k| !rows.columns.iter().any(|c| c == k)) {
        return Err(DbError::Corrupt(format!("image of {} lacks its key", spec.table)));
    }
    let sql = upsert_sql(spec, &columns);
    let mut written = 0usize;
    for row in &rows.rows {
        if row.len() != rows.columns.len() {
            return Err(DbError::Corrupt(format!(
                "image row of {} has the wrong width",
                spec.table
            )));
        }
        let cells = row.iter().map(cell_text).collect::<Result<Vec<_>, _>>()?;
        let changed = db.execute(&sql, &as_params(&cells))?;
        if changed == 0
            && spec.stored == Stored::MustMatch
            && !same_as_stored(db, spec, &columns, &cells)?
        {
            return Err(DbError::Corrupt(format!(
                "an append-only row of {} differs from the one stored",
                spec.table
            )));
        }
        written = written.saturating_add(usize::try_from(changed).unwrap_or(usize::MAX));
    }
    Ok(written)
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
            let Some(spec) = SPECS.iter().find(|s| s.table == table.table) else {
                return Err(DbError::Corrupt(format!("image table {} is not known", table.table)));
            };
            if let Some(at) = table.columns.iter().position(|c| c == "event_id") {
                let foreign = table
                    .rows
                    .iter()
                    .any(|r| r.get(at).and_then(|v| v.as_str()).is_some_and(|e| e != event_id));
                if foreign && spec.table != "desk_units" {
                    return Err(DbError::Corrupt(format!(
                        "image rows of {} belong to another event",
                        table.table
                    )));
                }
            }
            let written = match (&allotted, spec.from_venue) {
                (None, _) | (Some(_), FromVenue::All) => write_table(self, spec, table)?,
                (Some(_), FromVenue::Never) => 0,
                (Some(_), FromVenue::Progress) => write_event_progress(self, event_id, table)?,
                (Some(allotted), FromVenue::Allotted) => {
                    write_table(self, spec, &only_keyed(table, "unit_id", allotted))?
                }
                (Some(_), FromVenue::EventTickets) => {
                    let tickets = ids(
                        self,
                        "SELECT ticket_id FROM work_tickets WHERE event_id = $1",
                        event_id,
                    )?;
                    write_table(self, spec, &only_keyed(table, "ticket_id", &tickets))?
                }
            };
            rows = rows.saturating_add(written);
        }
        Ok(ImageApplied { rows })
    }
}
