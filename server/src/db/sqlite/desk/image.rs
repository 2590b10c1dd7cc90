//! `DeskImages` over SQLite: one event's rows read and written table by table, every column
//! as stored.

use std::collections::BTreeSet;

use rusqlite::types::Value;
use rusqlite::{Connection, Statement};

use crate::db::DbError;
use crate::db::desk::DeskImages;
use crate::db::desk::image::{EventImage, ImageApplied, TableRows, Touched, UnitScope};

/// How one table of an event is read and written.
pub(in crate::db::sqlite) struct Spec {
    pub(in crate::db::sqlite) table: &'static str,
    /// Its primary key.
    pub(in crate::db::sqlite) key: &'static [&'static str],
    /// What writing a row whose key is stored already does.
    pub(in crate::db::sqlite) stored: Stored,
    /// Which of a venue's rows central writes (with `UnitScope::Allotted`).
    pub(in crate::db::sqlite) from_venue: FromVenue,
    /// The rows of the event: `?1` is the event, `?2` its project.
    pub(in crate::db::sqlite) full: &'static str,
    /// The rows a batch names: `?3` units, `?4` holds, `?5` tickets, `?6` receipts,
    /// `?7` vouchers, `?8` buyers (JSON arrays), `?9` every buyer, `?10` the commands' keys.
    pub(in crate::db::sqlite) touched: &'static str,
    pub(in crate::db::sqlite) order: &'static str,
}

/// What writing a row whose key is stored already does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(in crate::db::sqlite) enum Stored {
    /// The row changes in place (units, holds, buyers, the event).
    Update,
    /// The stored row must equal the one written: it never changes once written (triggers
    /// refuse it).
    MustMatch,
    /// The stored row stays: an answer kept under a key is the one some tablet may have heard.
    Keep,
}

/// Which of a venue's rows central writes: only its event's progress, never headquarters'
/// decisions (ADR 0021).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(in crate::db::sqlite) enum FromVenue {
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

/// The event's tables, in an order that keeps every reference valid while they are written.
const SPECS: &[Spec] = &[
    Spec {
        table: "desk_events",
        key: &["event_id"],
        stored: Stored::Update,
        from_venue: FromVenue::Progress,
        full: "event_id = ?1",
        touched: "event_id = ?1",
        order: "event_id",
    },
    Spec {
        table: "desk_units",
        key: &["project_id", "unit_id"],
        stored: Stored::Update,
        from_venue: FromVenue::Allotted,
        full: "project_id = ?2",
        touched: "project_id = ?2 AND unit_id IN (SELECT value FROM json_each(?3))",
        order: "project_id, unit_id",
    },
    Spec {
        table: "desk_allotments",
        key: &["event_id", "unit_id"],
        stored: Stored::Update,
        from_venue: FromVenue::Never,
        full: "event_id = ?1",
        touched: "event_id = ?1 AND unit_id IN (SELECT value FROM json_each(?3))",
        order: "event_id, unit_id",
    },
    Spec {
        table: "desk_buyers",
        key: &["event_id", "buyer_id"],
        stored: Stored::Update,
        from_venue: FromVenue::All,
        full: "event_id = ?1",
        touched: "event_id = ?1 AND (?9 OR buyer_id IN (SELECT value FROM json_each(?8)))",
        order: "rowid",
    },
    Spec {
        table: "desk_holds",
        key: &["hold_id"],
        stored: Stored::Update,
        from_venue: FromVenue::All,
        full: "event_id = ?1",
        touched: "event_id = ?1 AND (hold_id IN (SELECT value FROM json_each(?4))
                  OR hold_id IN (SELECT hold_id FROM work_tickets
                                 WHERE ticket_id IN (SELECT value FROM json_each(?5))))",
        order: "rowid",
    },
    Spec {
        table: "work_tickets",
        key: &["ticket_id"],
        stored: Stored::MustMatch,
        from_venue: FromVenue::All,
        full: "event_id = ?1",
        touched: "event_id = ?1 AND (ticket_id IN (SELECT value FROM json_each(?5))
                  OR reverses IN (SELECT value FROM json_each(?5))
                  OR hold_id IN (SELECT value FROM json_each(?4)))",
        order: "rowid",
    },
    Spec {
        table: "work_ticket_reviews",
        key: &["ticket_id"],
        stored: Stored::MustMatch,
        from_venue: FromVenue::EventTickets,
        full: "ticket_id IN (SELECT ticket_id FROM work_tickets WHERE event_id = ?1)",
        touched: "ticket_id IN (SELECT ticket_id FROM work_tickets WHERE event_id = ?1
                  AND (ticket_id IN (SELECT value FROM json_each(?5))
                       OR hold_id IN (SELECT value FROM json_each(?4))))",
        order: "rowid",
    },
    Spec {
        table: "receipts",
        key: &["receipt_id"],
        stored: Stored::MustMatch,
        from_venue: FromVenue::All,
        full: "event_id = ?1",
        touched: "event_id = ?1 AND (receipt_id IN (SELECT value FROM json_each(?6))
                  OR ticket_id IN (SELECT value FROM json_each(?5)))",
        order: "rowid",
    },
    Spec {
        table: "vouchers",
        key: &["event_id", "voucher_no"],
        stored: Stored::MustMatch,
        from_venue: FromVenue::All,
        full: "event_id = ?1",
        touched: "event_id = ?1 AND (voucher_no IN (SELECT value FROM json_each(?7))
                  OR reverses IN (SELECT value FROM json_each(?7))
                  OR ticket_id IN (SELECT value FROM json_each(?5)))",
        order: "rowid",
    },
    // The answers kept under the keys travel with the desk (ADR 0021): a tablet whose answer
    // was lost sends the same key again wherever the event is served next, and must get the
    // same answer, never a second decision. Central lends the answers of the event's accepted
    // commands (their keys are in its chain, or in a segment an earlier venue shipped: a
    // second delegation must not decide again what the first venue accepted); a venue, which
    // serves one event, hands back every answer it kept. A batch carries the answers of the
    // commands whose entries it ships: central keeps them, so a venue restarted from an older
    // copy takes them back with the entries before it serves (found by the simulation: without
    // them a retried key whose answer was lost with the copy met its own hold and was refused),
    // and a tablet retrying such a key on 4G hears the venue's answer from central. Refusals
    // (no entry) come back with the hand-back. An answer carried in never replaces one kept
    // under the same key: a tablet may have heard the kept one (central replays its answers
    // while the event is lent). Refusals central gave are not lent (their keys are in no
    // chain): a key central refused and the venue receives later (a delayed request) is
    // decided again there — harmless when the venue refuses it too, a gap if it accepts it.
    Spec {
        table: "desk_requests",
        key: &["device_id", "idempotency_key"],
        stored: Stored::Keep,
        from_venue: FromVenue::All,
        full: "idempotency_key IN (SELECT idempotency_key FROM desk_ledger
                                   WHERE event_id = ?1 AND idempotency_key IS NOT NULL
                                   UNION ALL
                                   SELECT idempotency_key FROM desk_venue_ledger
                                   WHERE event_id = ?1 AND idempotency_key IS NOT NULL)
               OR EXISTS (SELECT 1 FROM desk_delegations WHERE event_id = ?1 AND side = 'held')",
        touched: "idempotency_key IN (SELECT value FROM json_each(?10))",
        order: "device_id, idempotency_key",
    },
];

fn json_list<T: serde::Serialize>(items: &T) -> Result<String, DbError> {
    serde_json::to_string(items).map_err(|e| DbError::Corrupt(e.to_string()))
}

/// The values of `?1`–`?10`.
fn bindings(event_id: &str, project_id: &str, t: &Touched) -> Result<Vec<Value>, DbError> {
    Ok(vec![
        Value::Text(event_id.to_owned()),
        Value::Text(project_id.to_owned()),
        Value::Text(json_list(&t.units)?),
        Value::Text(json_list(&t.holds)?),
        Value::Text(json_list(&t.tickets)?),
        Value::Text(json_list(&t.receipts)?),
        Value::Text(json_list(&t.vouchers)?),
        Value::Text(json_list(&t.buyers)?),
        Value::Integer(i64::from(t.all_buyers)),
        Value::Text(json_list(&t.keys)?),
    ])
}

/// Binds the parameters the statement has (each uses some of `?1`–`?10`).
pub(in crate::db::sqlite) fn bind(
    stmt: &mut Statement<'_>,
    values: &[Value],
) -> Result<(), DbError> {
    for i in 1..=stmt.parameter_count() {
        let value = values.get(i.saturating_sub(1)).cloned().unwrap_or(Value::Null);
        stmt.raw_bind_parameter(i, value)?;
    }
    Ok(())
}

fn cell_to_json(value: Value) -> Result<serde_json::Value, DbError> {
    Ok(match value {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => serde_json::Value::from(i),
        Value::Text(s) => serde_json::Value::String(s),
        Value::Blob(bytes) => serde_json::json!({ "blob": hex::encode(bytes) }),
        Value::Real(_) => {
            return Err(DbError::Corrupt("a desk row holds a value an image cannot carry".into()));
        }
    })
}

fn json_to_cell(value: &serde_json::Value) -> Result<Value, DbError> {
    Ok(match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::String(s) => Value::Text(s.clone()),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => return Err(DbError::Corrupt(format!("image cell {n} is not an integer"))),
        },
        serde_json::Value::Object(map) => match map.get("blob").and_then(|b| b.as_str()) {
            Some(text) if map.len() == 1 => Value::Blob(
                hex::decode(text).map_err(|_| DbError::Corrupt("image blob is not hex".into()))?,
            ),
            _ => return Err(DbError::Corrupt("image cell is not a stored value".into())),
        },
        other => return Err(DbError::Corrupt(format!("image cell {other} is not a stored value"))),
    })
}

pub(in crate::db::sqlite) fn read_table(
    conn: &Connection,
    spec: &Spec,
    clause: &str,
    values: &[Value],
) -> Result<TableRows, DbError> {
    let sql = format!("SELECT * FROM {} WHERE {clause} ORDER BY {}", spec.table, spec.order);
    let mut stmt = conn.prepare_cached(&sql)?;
    let columns: Vec<String> = stmt.column_names().iter().map(|c| (*c).to_owned()).collect();
    bind(&mut stmt, values)?;
    let mut rows = Vec::new();
    let mut found = stmt.raw_query();
    while let Some(r) = found.next()? {
        let mut row = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            row.push(cell_to_json(r.get::<_, Value>(i)?)?);
        }
        rows.push(row);
    }
    Ok(TableRows { table: spec.table.to_owned(), columns, rows })
}

/// The columns of a local table.
fn local_columns(conn: &Connection, table: &str) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare_cached("SELECT name FROM pragma_table_info(?1)")?;
    Ok(stmt.query_map([table], |r| r.get(0))?.collect::<Result<_, _>>()?)
}

/// The statement that writes one row of `spec` with `columns`.
fn upsert_sql(spec: &Spec, columns: &[String]) -> String {
    let names = columns.join(", ");
    let marks = (1..=columns.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let key = spec.key.join(", ");
    let changes: Vec<String> = columns
        .iter()
        .filter(|c| !spec.key.contains(&c.as_str()))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let action = if spec.stored != Stored::Update || changes.is_empty() {
        "NOTHING".to_owned()
    } else {
        format!("UPDATE SET {}", changes.join(", "))
    };
    format!("INSERT INTO {}({names}) VALUES ({marks}) ON CONFLICT({key}) DO {action}", spec.table)
}

/// Checks that an append-only row already stored equals the one in the image.
fn same_as_stored(
    conn: &Connection,
    spec: &Spec,
    columns: &[String],
    cells: &[Value],
) -> Result<bool, DbError> {
    let key_at: Vec<usize> =
        spec.key.iter().filter_map(|k| columns.iter().position(|c| c == k)).collect();
    let wanted = spec.key.iter().enumerate().map(|(i, k)| format!("{k} = ?{}", i + 1));
    let sql = format!(
        "SELECT {} FROM {} WHERE {}",
        columns.join(", "),
        spec.table,
        wanted.collect::<Vec<_>>().join(" AND ")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let key: Vec<Value> = key_at.iter().filter_map(|i| cells.get(*i).cloned()).collect();
    bind(&mut stmt, &key)?;
    let mut found = stmt.raw_query();
    let Some(r) = found.next()? else { return Ok(false) };
    for (i, cell) in cells.iter().enumerate() {
        if r.get::<_, Value>(i)? != *cell {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(in crate::db::sqlite) fn write_table(
    conn: &Connection,
    spec: &Spec,
    rows: &TableRows,
) -> Result<usize, DbError> {
    let local = local_columns(conn, spec.table)?;
    if let Some(unknown) = rows.columns.iter().find(|c| !local.contains(c)) {
        return Err(DbError::Corrupt(format!(
            "image column {}.{unknown} is not known",
            spec.table
        )));
    }
    if spec.key.iter().any(|k| !rows.columns.iter().any(|c| c == k)) {
        return Err(DbError::Corrupt(format!("image of {} lacks its key", spec.table)));
    }
    let mut stmt = conn.prepare_cached(&upsert_sql(spec, &rows.columns))?;
    let mut written = 0usize;
    for row in &rows.rows {
        if row.len() != rows.columns.len() {
            return Err(DbError::Corrupt(format!(
                "image row of {} has the wrong width",
                spec.table
            )));
        }
        let cells = row.iter().map(json_to_cell).collect::<Result<Vec<_>, _>>()?;
        bind(&mut stmt, &cells)?;
        let changed = stmt.raw_execute()?;
        if changed == 0
            && spec.stored == Stored::MustMatch
            && !same_as_stored(conn, spec, &rows.columns, &cells)?
        {
            return Err(DbError::Corrupt(format!(
                "an append-only row of {} differs from the one stored",
                spec.table
            )));
        }
        written = written.saturating_add(changed);
    }
    Ok(written)
}

/// The units allotted to `event_id` here.
fn allotted_units(conn: &Connection, event_id: &str) -> Result<BTreeSet<String>, DbError> {
    let mut stmt =
        conn.prepare_cached("SELECT unit_id FROM desk_allotments WHERE event_id = ?1")?;
    Ok(stmt.query_map([event_id], |r| r.get(0))?.collect::<Result<_, _>>()?)
}

/// Writes the columns of an event row that move while its desk serves (the queue, the mode,
/// the voucher series' next number) onto the row central has; its project, series and opening
/// stay headquarters'.
fn write_event_progress(
    conn: &Connection,
    event_id: &str,
    table: &TableRows,
) -> Result<usize, DbError> {
    const MOVING: [&str; 4] = ["now_serving", "called_up_to", "mode", "voucher_next"];
    let at = |name: &str| table.columns.iter().position(|c| c == name);
    let (Some(id_at), Some(moving)) =
        (at("event_id"), MOVING.iter().map(|c| at(c)).collect::<Option<Vec<usize>>>())
    else {
        return Err(DbError::Corrupt("an event row without its moving columns".into()));
    };
    let sets: Vec<String> =
        MOVING.iter().enumerate().map(|(i, c)| format!("{c} = ?{}", i + 2)).collect();
    let sql = format!("UPDATE desk_events SET {} WHERE event_id = ?1", sets.join(", "));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut written = 0usize;
    for row in table.rows.iter().filter(|r| r.get(id_at).and_then(|v| v.as_str()) == Some(event_id))
    {
        let mut cells = vec![Value::Text(event_id.to_owned())];
        for i in &moving {
            cells.push(json_to_cell(row.get(*i).unwrap_or(&serde_json::Value::Null))?);
        }
        bind(&mut stmt, &cells)?;
        written = written.saturating_add(stmt.raw_execute()?);
    }
    Ok(written)
}

/// The work tickets of `event_id` here.
fn event_tickets(conn: &Connection, event_id: &str) -> Result<BTreeSet<String>, DbError> {
    let mut stmt = conn.prepare_cached("SELECT ticket_id FROM work_tickets WHERE event_id = ?1")?;
    Ok(stmt.query_map([event_id], |r| r.get(0))?.collect::<Result<_, _>>()?)
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

impl DeskImages for Connection {
    fn event_image(
        &self,
        event_id: &str,
        touched: Option<&Touched>,
    ) -> Result<Option<EventImage>, DbError> {
        let project: Option<String> = rusqlite::OptionalExtension::optional(self.query_row(
            "SELECT project_id FROM desk_events WHERE event_id = ?1",
            [event_id],
            |r| r.get(0),
        ))?;
        let Some(project_id) = project else { return Ok(None) };
        let values = bindings(event_id, &project_id, touched.unwrap_or(&Touched::default()))?;
        let mut tables = Vec::with_capacity(SPECS.len());
        for spec in SPECS {
            let clause = if touched.is_some() { spec.touched } else { spec.full };
            let rows = read_table(self, spec, clause, &values)?;
            if !rows.rows.is_empty() {
                tables.push(rows);
            }
        }
        Ok(Some(EventImage { event_id: event_id.to_owned(), full: touched.is_none(), tables }))
    }

    fn apply_image(&self, image: &EventImage, units: UnitScope) -> Result<ImageApplied, DbError> {
        let allotted = match units {
            UnitScope::Project => None,
            UnitScope::Allotted => Some(allotted_units(self, &image.event_id)?),
        };
        let mut rows = 0usize;
        for table in &image.tables {
            let Some(spec) = SPECS.iter().find(|s| s.table == table.table) else {
                return Err(DbError::Corrupt(format!("image table {} is not known", table.table)));
            };
            if let Some(at) = table.columns.iter().position(|c| c == "event_id") {
                let foreign = table.rows.iter().any(|r| {
                    r.get(at).and_then(|v| v.as_str()).is_some_and(|e| e != image.event_id)
                });
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
                (Some(_), FromVenue::Progress) => {
                    write_event_progress(self, &image.event_id, table)?
                }
                (Some(allotted), FromVenue::Allotted) => {
                    write_table(self, spec, &only_keyed(table, "unit_id", allotted))?
                }
                (Some(_), FromVenue::EventTickets) => {
                    let tickets = event_tickets(self, &image.event_id)?;
                    write_table(self, spec, &only_keyed(table, "ticket_id", &tickets))?
                }
            };
            rows = rows.saturating_add(written);
        }
        Ok(ImageApplied { rows })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn desk() -> Box<Connection> {
        let conn = super::super::fresh();
        conn.execute_batch(
            "INSERT INTO desk_events(event_id, project_id, mode, voucher_prefix, voucher_next,
                 voucher_last, opened_at)
             VALUES ('e1', 'p1', 'free', 'V', 1, 100, '2026-12-01T00:00:00Z'),
                    ('e2', 'p1', 'free', 'W', 1, 100, '2026-12-01T00:00:00Z');
             INSERT INTO desk_units(project_id, unit_id, code, area_m2, unit_price, status)
             VALUES ('p1', 'u1', '1-101', '100', '20000', 'available'),
                    ('p1', 'u2', '1-102', '100', '20000', 'available');
             INSERT INTO desk_allotments VALUES ('e1', 'u1'), ('e2', 'u2');
             INSERT INTO desk_holds(hold_id, event_id, project_id, unit_id, buyer_id, held_by,
                 held_at, expires_at, state)
             VALUES ('h2', 'e2', 'p1', 'u2', 'b9', 's', '2026-12-01T00:00:00Z',
                 '2026-12-01T00:15:00Z', 'active');
             INSERT INTO work_tickets(ticket_id, event_id, hold_id, unit_id, buyer_id, terms,
                 total_price, discount_amount, net_price, amount_due, sealing_fee,
                 prepared_by, prepared_at)
             VALUES ('t2', 'e2', 'h2', 'u2', 'b9', '{}', '1', '0', '1', '1', '0', 's',
                 '2026-12-01T00:01:00Z');",
        )
        .unwrap();
        conn
    }

    #[test]
    fn central_takes_only_its_event_s_progress_from_a_venue() {
        let conn = desk();
        let mut image = conn.event_image("e1", None).unwrap().unwrap();
        // A venue that writes beyond its event: another event's unit allotted and held, a
        // review of another event's ticket, its event moved to another project and series.
        let text = |s: &str| serde_json::Value::String(s.into());
        for t in &mut image.tables {
            match t.table.as_str() {
                "desk_allotments" => t.rows.push(vec![text("e1"), text("u2")]),
                "desk_units" => {
                    let mut other = t.rows[1].clone();
                    let status = t.columns.iter().position(|c| c == "status").unwrap();
                    other[status] = text("sold");
                    t.rows.push(other);
                }
                "desk_events" => {
                    let project = t.columns.iter().position(|c| c == "project_id").unwrap();
                    let serving = t.columns.iter().position(|c| c == "now_serving").unwrap();
                    t.rows[0][project] = text("p-other");
                    t.rows[0][serving] = serde_json::Value::from(7);
                }
                _ => {}
            }
        }
        image.tables.push(TableRows {
            table: "work_ticket_reviews".into(),
            columns: vec!["ticket_id".into(), "reviewed_by".into(), "reviewed_at".into()],
            rows: vec![vec![text("t2"), text("venue"), text("2026-12-01T00:02:00Z")]],
        });
        conn.apply_image(&image, UnitScope::Allotted).unwrap();
        let one = |sql: &str| -> String { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(one("SELECT status FROM desk_units WHERE unit_id = 'u2'"), "available");
        assert_eq!(
            one("SELECT group_concat(unit_id) FROM desk_allotments WHERE event_id = 'e1'"),
            "u1"
        );
        assert_eq!(one("SELECT project_id FROM desk_events WHERE event_id = 'e1'"), "p1");
        let serving: i64 = conn
            .query_row("SELECT now_serving FROM desk_events WHERE event_id = 'e1'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(serving, 7, "the queue's progress is the venue's");
        let reviews: i64 =
            conn.query_row("SELECT COUNT(*) FROM work_ticket_reviews", [], |r| r.get(0)).unwrap();
        assert_eq!(reviews, 0, "another event's ticket is not reviewed from a venue's image");
    }

    #[test]
    fn an_image_round_trips_every_row_as_stored() {
        let from = desk();
        let image = from.event_image("e2", None).unwrap().unwrap();
        let to = super::super::fresh();
        to.apply_image(&image, UnitScope::Project).unwrap();
        assert_eq!(to.event_image("e2", None).unwrap().unwrap(), image);
        let json = serde_json::to_string(&image).unwrap();
        assert_eq!(serde_json::from_str::<EventImage>(&json).unwrap(), image);
    }
}
