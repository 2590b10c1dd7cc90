//! `DeskBoard` over SQLite.

use rusqlite::Connection;

use crate::db::DbError;
use crate::db::desk::DeskBoard;
use crate::db::desk::board::{BoardTally, BoardUnit, QueueLine, RecentSale};

impl DeskBoard for Connection {
    fn board_units(
        &self,
        event_id: &str,
        building: Option<&str>,
    ) -> Result<Vec<BoardUnit>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT u.unit_id, u.code, u.building, u.floor, u.layout, u.area_m2, u.unit_price,
                    u.status, a.unit_id IS NOT NULL, u.buyer_id, b.name, u.hold_id, u.held_until
             FROM desk_events e
             JOIN desk_units u ON u.project_id = e.project_id
             LEFT JOIN desk_allotments a ON a.event_id = e.event_id AND a.unit_id = u.unit_id
             LEFT JOIN desk_buyers b ON b.event_id = u.event_id AND b.buyer_id = u.buyer_id
             WHERE e.event_id = ?1 AND (?2 IS NULL OR u.building = ?2 OR u.building = '')
             ORDER BY u.building, u.floor, u.code",
        )?;
        let units = stmt
            .query_map(rusqlite::params![event_id, building], |r| {
                Ok(BoardUnit {
                    unit_id: r.get(0)?,
                    code: r.get(1)?,
                    building: r.get(2)?,
                    floor: r.get(3)?,
                    layout: r.get(4)?,
                    area_m2: r.get(5)?,
                    unit_price: r.get(6)?,
                    status: r.get(7)?,
                    allotted: r.get(8)?,
                    buyer_id: r.get(9)?,
                    buyer_name: r.get(10)?,
                    hold_id: r.get(11)?,
                    held_until: r.get(12)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(units)
    }

    fn board_tally(&self, event_id: &str) -> Result<Vec<BoardTally>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT u.building, CASE WHEN u.building = '' THEN u.code END, u.status,
                    a.unit_id IS NOT NULL, COUNT(*)
             FROM desk_events e
             JOIN desk_units u ON u.project_id = e.project_id
             LEFT JOIN desk_allotments a ON a.event_id = e.event_id AND a.unit_id = u.unit_id
             WHERE e.event_id = ?1
             GROUP BY 1, 2, 3, 4",
        )?;
        let tally = stmt
            .query_map([event_id], |r| {
                Ok(BoardTally {
                    building: r.get(0)?,
                    code: r.get(1)?,
                    status: r.get(2)?,
                    allotted: r.get(3)?,
                    units: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(tally)
    }

    fn queue_lines(&self, event_id: &str) -> Result<Vec<QueueLine>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT b.lottery_no, b.buyer_id, b.name, b.id_number_masked, b.skipped,
                    (SELECT COUNT(*) FROM desk_units u
                     WHERE u.event_id = b.event_id AND u.buyer_id = b.buyer_id
                       AND (u.status = 'held' OR u.status = 'sold'))
             FROM desk_buyers b WHERE b.event_id = ?1
             ORDER BY b.lottery_no IS NULL, b.lottery_no, b.name",
        )?;
        let lines = stmt
            .query_map([event_id], |r| {
                Ok(QueueLine {
                    lottery_no: r.get(0)?,
                    buyer_id: r.get(1)?,
                    name: r.get(2)?,
                    id_number_masked: r.get(3)?,
                    skipped: r.get(4)?,
                    units_taken: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(lines)
    }

    fn recent_sales(&self, event_id: &str, limit: u32) -> Result<Vec<RecentSale>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT u.code, u.building, u.layout, v.issued_at
             FROM vouchers v JOIN desk_events e USING (event_id)
             JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = v.unit_id
             WHERE v.event_id = ?1 AND v.reverses IS NULL
               AND NOT EXISTS (SELECT 1 FROM vouchers r
                               WHERE r.event_id = v.event_id AND r.reverses = v.voucher_no)
             ORDER BY v.voucher_no DESC LIMIT ?2",
        )?;
        let sales = stmt
            .query_map(rusqlite::params![event_id, limit], |r| {
                Ok(RecentSale {
                    code: r.get(0)?,
                    building: r.get(1)?,
                    layout: r.get(2)?,
                    sold_at: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(sales)
    }

    fn open_events(&self) -> Result<Vec<(String, String)>, DbError> {
        let mut stmt =
            self.prepare_cached("SELECT event_id, name FROM desk_events ORDER BY event_id")?;
        let ids = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        Ok(ids)
    }
}
