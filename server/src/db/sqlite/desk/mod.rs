//! The SQLite implementation of the desk's storage traits.

mod answers;
mod ledger;
mod sales;
mod state;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test fixture.
mod suite {
    use rusqlite::Connection;

    /// A fresh, migrated desk database in memory holding the desk suite's fixture (see
    /// `db::desk::suite`). The fixture's rows are written in SQL until `DeskState` can write
    /// them.
    fn fresh() -> Box<Connection> {
        let conn = crate::desk::schema::open(std::path::Path::new(":memory:")).unwrap();
        conn.execute_batch(FIXTURE).unwrap();
        Box::new(conn)
    }

    const FIXTURE: &str = "
        INSERT INTO desk_events(event_id, project_id, mode, voucher_prefix, voucher_next,
            voucher_last, opened_at)
        VALUES ('e1', 'p1', 'free', 'V', 1, 999, '2026-11-24T01:00:00Z');
        INSERT INTO desk_units(project_id, unit_id, code, area_m2, unit_price, status,
            event_id, buyer_id, hold_id, held_until)
        VALUES ('p1', 'u1', '1-101', '100', NULL, 'held', 'e1', 'b1', 'h1',
            '2026-11-24T01:15:00Z');
        INSERT INTO desk_holds(hold_id, event_id, project_id, unit_id, buyer_id, held_by,
            held_at, expires_at, state)
        VALUES ('h1', 'e1', 'p1', 'u1', 'b1', 'staff', '2026-11-24T01:00:00Z',
            '2026-11-24T01:15:00Z', 'active');";

    crate::desk_suite!(fresh);
}
