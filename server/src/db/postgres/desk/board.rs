//! `DeskBoard` over PostgreSQL.

use crate::db::DbError;
use crate::db::desk::DeskBoard;
use crate::db::desk::board::{BoardTally, BoardUnit, QueueLine, RecentSale};
use crate::db::postgres::PgDb;

use super::{small, small_opt};

impl DeskBoard for PgDb {
    fn board_units(
        &self,
        event_id: &str,
        building: Option<&str>,
    ) -> Result<Vec<BoardUnit>, DbError> {
        self.rows(
            "SELECT u.unit_id, u.code, u.building, u.floor, u.layout, u.area_m2, u.unit_price,
                    u.status, a.unit_id IS NOT NULL, u.buyer_id, b.name, u.hold_id, u.held_until
             FROM desk_events e
             JOIN desk_units u ON u.project_id = e.project_id
             LEFT JOIN desk_allotments a ON a.event_id = e.event_id AND a.unit_id = u.unit_id
             LEFT JOIN desk_buyers b ON b.event_id = u.event_id AND b.buyer_id = u.buyer_id
             WHERE e.event_id = $1
               AND ($2::text IS NULL OR u.building = $2 OR u.building = '')
             ORDER BY u.building, u.floor, u.code",
            &[&event_id, &building],
        )?
        .iter()
        .map(|r| {
            let floor: i64 = r.try_get(3)?;
            Ok(BoardUnit {
                unit_id: r.try_get(0)?,
                code: r.try_get(1)?,
                building: r.try_get(2)?,
                floor: i32::try_from(floor)
                    .map_err(|_| DbError::Corrupt(format!("floor {floor}")))?,
                layout: r.try_get(4)?,
                area_m2: r.try_get(5)?,
                unit_price: r.try_get(6)?,
                status: r.try_get(7)?,
                allotted: r.try_get(8)?,
                buyer_id: r.try_get(9)?,
                buyer_name: r.try_get(10)?,
                hold_id: r.try_get(11)?,
                held_until: r.try_get(12)?,
            })
        })
        .collect()
    }

    fn board_tally(&self, event_id: &str) -> Result<Vec<BoardTally>, DbError> {
        self.rows(
            "SELECT u.building, CASE WHEN u.building = '' THEN u.code END, u.status,
                    a.unit_id IS NOT NULL, COUNT(*)
             FROM desk_events e
             JOIN desk_units u ON u.project_id = e.project_id
             LEFT JOIN desk_allotments a ON a.event_id = e.event_id AND a.unit_id = u.unit_id
             WHERE e.event_id = $1
             GROUP BY 1, 2, 3, 4",
            &[&event_id],
        )?
        .iter()
        .map(|r| {
            let units: i64 = r.try_get(4)?;
            Ok(BoardTally {
                building: r.try_get(0)?,
                code: r.try_get(1)?,
                status: r.try_get(2)?,
                allotted: r.try_get(3)?,
                units: u64::try_from(units)
                    .map_err(|_| DbError::Corrupt(format!("unit count {units}")))?,
            })
        })
        .collect()
    }

    fn queue_lines(&self, event_id: &str) -> Result<Vec<QueueLine>, DbError> {
        self.rows(
            "SELECT b.lottery_no, b.buyer_id, b.name, b.id_number_masked, b.skipped,
                    (SELECT COUNT(*) FROM desk_units u
                     WHERE u.event_id = b.event_id AND u.buyer_id = b.buyer_id
                       AND (u.status = 'held' OR u.status = 'sold'))
             FROM desk_buyers b WHERE b.event_id = $1
             ORDER BY b.lottery_no IS NULL, b.lottery_no, b.name",
            &[&event_id],
        )?
        .iter()
        .map(|r| {
            Ok(QueueLine {
                lottery_no: small_opt(r.try_get(0)?, "lottery number")?,
                buyer_id: r.try_get(1)?,
                name: r.try_get(2)?,
                id_number_masked: r.try_get(3)?,
                skipped: r.try_get(4)?,
                units_taken: small(r.try_get(5)?, "units taken")?,
            })
        })
        .collect()
    }

    fn recent_sales(&self, event_id: &str, limit: u32) -> Result<Vec<RecentSale>, DbError> {
        self.rows(
            "SELECT u.code, u.building, u.layout, v.issued_at
             FROM vouchers v JOIN desk_events e USING (event_id)
             JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = v.unit_id
             WHERE v.event_id = $1 AND v.reverses IS NULL
               AND NOT EXISTS (SELECT 1 FROM vouchers r
                               WHERE r.event_id = v.event_id AND r.reverses = v.voucher_no)
             ORDER BY v.voucher_no DESC LIMIT $2",
            &[&event_id, &i64::from(limit)],
        )?
        .iter()
        .map(|r| {
            Ok(RecentSale {
                code: r.try_get(0)?,
                building: r.try_get(1)?,
                layout: r.try_get(2)?,
                sold_at: r.try_get(3)?,
            })
        })
        .collect()
    }

    fn open_events(&self) -> Result<Vec<(String, String)>, DbError> {
        self.rows("SELECT event_id, name FROM desk_events ORDER BY event_id", &[])?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
