//! `DeskState` over SQLite. The statements every command runs are cached (`prepare_cached`):
//! the desk writer runs thousands of commands a second.

use std::collections::BTreeSet;

use kam_core::model::{Buyer, BuyerId, SelectionMode, UnitId, UnitStatus, UserId};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use crate::db::DbError;
use crate::db::desk::state::{
    BookUnit, BuyerIdentity, ControlUnit, DeskEventRow, DeskUnit, DueHold, EventBooks, HoldEnd,
    LentDesk, NewBuyer, NewDeskEvent, NewDeskUnit, NewHold, StoredApproval, VoucherRow, instant,
};
use crate::db::desk::{DeskSales, DeskState, DeskView};

fn unit_status(status: &str) -> Result<UnitStatus, DbError> {
    status.parse::<UnitStatus>().map_err(|_| DbError::Corrupt(format!("unit status {status}")))
}

fn money(text: &str) -> Result<rust_decimal::Decimal, DbError> {
    text.parse().map_err(|_| DbError::Corrupt(format!("amount {text}")))
}

impl DeskView for Connection {
    fn units_on_desk(&self, project_id: &str) -> Result<BTreeSet<UnitId>, DbError> {
        let mut stmt =
            self.prepare_cached("SELECT unit_id FROM desk_units WHERE project_id = ?1")?;
        let units = stmt
            .query_map([project_id], |r| r.get::<_, String>(0))?
            .map(|id| id.map(UnitId))
            .collect::<Result<_, _>>()?;
        Ok(units)
    }

    fn event_desk_open(&self, event_id: &str) -> Result<bool, DbError> {
        Ok(self.event_project(event_id)?.is_some())
    }

    fn lent_to_device(&self, device_id: &str) -> Result<Vec<LentDesk>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT d.event_id, e.project_id FROM desk_delegations d
             JOIN desk_events e ON e.event_id = d.event_id
             WHERE d.side = 'lent' AND d.state = 'active' AND d.venue_device_id = ?1
             ORDER BY d.event_id",
        )?;
        let events: Vec<(String, String)> = stmt
            .query_map([device_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut units =
            self.prepare_cached("SELECT unit_id FROM desk_allotments WHERE event_id = ?1")?;
        events
            .into_iter()
            .map(|(event_id, project_id)| {
                let allotted =
                    units.query_map([&event_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
                Ok(LentDesk { event_id, project_id, units: allotted })
            })
            .collect()
    }
}

impl DeskState for Connection {
    fn desk_event(&self, event_id: &str) -> Result<Option<DeskEventRow>, DbError> {
        let row: Option<(String, String, Option<u32>)> = self
            .prepare_cached(
                "SELECT project_id, mode, now_serving FROM desk_events WHERE event_id = ?1",
            )?
            .query_row([event_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((project_id, mode, now_serving)) = row else { return Ok(None) };
        let mode = mode
            .parse::<SelectionMode>()
            .map_err(|_| DbError::Corrupt(format!("selection mode {mode}")))?;
        Ok(Some(DeskEventRow { project_id, mode, now_serving }))
    }

    fn event_project(&self, event_id: &str) -> Result<Option<String>, DbError> {
        Ok(self
            .prepare_cached("SELECT project_id FROM desk_events WHERE event_id = ?1")?
            .query_row([event_id], |r| r.get(0))
            .optional()?)
    }

    fn insert_desk_event(&self, event: &NewDeskEvent<'_>) -> Result<bool, DbError> {
        let opened = self
            .prepare_cached(
                "INSERT OR IGNORE INTO desk_events(event_id, project_id, mode, voucher_prefix,
                 voucher_next, voucher_last, opened_at, name)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7)",
            )?
            .execute(params![
                event.event_id,
                event.project_id,
                event.mode.as_str(),
                event.voucher_prefix,
                event.voucher_last,
                event.opened_at,
                event.name,
            ])?;
        Ok(opened != 0)
    }

    fn insert_desk_unit(&self, project_id: &str, u: &NewDeskUnit<'_>) -> Result<usize, DbError> {
        let approvers = u
            .approval
            .map(|(a, _)| json!(a.iter().map(UserId::as_str).collect::<Vec<_>>()).to_string());
        Ok(self
            .prepare_cached(
                "INSERT OR IGNORE INTO desk_units(project_id, unit_id, code, area_m2, unit_price,
                     approvers, approved_at, status, building, floor, layout)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                project_id,
                u.unit_id,
                u.code,
                u.area_m2.to_string(),
                u.approval.and(u.unit_price).map(|p| p.to_string()),
                approvers,
                u.approval.map(|(_, at)| instant(at)),
                u.status.as_str(),
                u.building,
                u.floor,
                u.layout,
            ])?)
    }

    fn allot_unit(&self, event_id: &str, unit_id: &str) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT OR IGNORE INTO desk_allotments(event_id, unit_id) VALUES (?1, ?2)",
        )?
        .execute(params![event_id, unit_id])?;
        Ok(())
    }

    fn list_buyer(&self, event_id: &str, b: &Buyer) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT OR IGNORE INTO desk_buyers(event_id, buyer_id, name, id_number_hash,
                 id_number_masked, lottery_no)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            event_id,
            b.id.as_str(),
            b.name,
            b.id_number_hash,
            b.id_number_masked,
            b.lottery_no
        ])?;
        Ok(())
    }

    fn unit(&self, project_id: &str, unit_id: &str) -> Result<Option<DeskUnit>, DbError> {
        let row = self
            .prepare_cached(
                "SELECT status, unit_price IS NOT NULL, hold_id, held_until FROM desk_units
             WHERE project_id = ?1 AND unit_id = ?2",
            )?
            .query_row([project_id, unit_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let Some((status, price_approved, hold_id, held_until)) = row else {
            return Ok(None);
        };
        Ok(Some(DeskUnit { status: unit_status(&status)?, price_approved, hold_id, held_until }))
    }

    fn allotted(&self, event_id: &str, unit_id: &str) -> Result<bool, DbError> {
        Ok(self
            .prepare_cached("SELECT 1 FROM desk_allotments WHERE event_id = ?1 AND unit_id = ?2")?
            .query_row([event_id, unit_id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn buyer_lottery_no(
        &self,
        event_id: &str,
        buyer_id: &str,
    ) -> Result<Option<Option<u32>>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT lottery_no FROM desk_buyers WHERE event_id = ?1 AND buyer_id = ?2",
            )?
            .query_row([event_id, buyer_id], |r| r.get(0))
            .optional()?)
    }

    fn units_taken(&self, event_id: &str, buyer_id: &str) -> Result<u32, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT COUNT(*) FROM desk_units WHERE event_id = ?1 AND buyer_id = ?2
             AND status IN ('held', 'sold')",
            )?
            .query_row([event_id, buyer_id], |r| r.get(0))?)
    }

    fn release_facts(
        &self,
        project_id: &str,
        unit_id: &str,
        hold_id: &str,
    ) -> Result<(Option<DeskUnit>, i64), DbError> {
        Ok((self.unit(project_id, unit_id)?, self.receipts_for_hold(hold_id)?))
    }

    fn take_unit(&self, h: &NewHold<'_>) -> Result<bool, DbError> {
        let changed = self
            .prepare_cached(
                "UPDATE desk_units SET status = 'held', event_id = ?3, buyer_id = ?4, hold_id = ?5,
                 held_until = ?6
             WHERE project_id = ?1 AND unit_id = ?2 AND status = 'available'",
            )?
            .execute(params![
                h.project_id,
                h.unit_id,
                h.event_id,
                h.buyer_id,
                h.hold_id,
                h.expires_at
            ])?;
        Ok(changed == 1)
    }

    fn insert_hold(&self, h: &NewHold<'_>) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO desk_holds(hold_id, event_id, project_id, unit_id, buyer_id, held_by,
                 held_at, expires_at, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'active')",
        )?
        .execute(params![
            h.hold_id,
            h.event_id,
            h.project_id,
            h.unit_id,
            h.buyer_id,
            h.held_by,
            h.held_at,
            h.expires_at
        ])?;
        Ok(())
    }

    fn end_hold(
        &self,
        project_id: &str,
        unit_id: &str,
        hold_id: &str,
        end: HoldEnd,
        at: &str,
    ) -> Result<(), DbError> {
        self.prepare_cached(
            "UPDATE desk_units SET status = 'available', event_id = NULL, buyer_id = NULL,
             hold_id = NULL, held_until = NULL
         WHERE project_id = ?1 AND unit_id = ?2",
        )?
        .execute([project_id, unit_id])?;
        self.prepare_cached(
            "UPDATE desk_holds SET state = ?2, ended_at = ?3 WHERE hold_id = ?1 AND state = 'active'",
        )?
        .execute(params![hold_id, end.as_str(), at])?;
        Ok(())
    }

    fn unit_hold_id(&self, project_id: &str, unit_id: &str) -> Result<Option<String>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT hold_id FROM desk_units WHERE project_id = ?1 AND unit_id = ?2",
            )?
            .query_row([project_id, unit_id], |r| r.get(0))?)
    }

    fn holds_due(&self, at: &str) -> Result<Vec<DueHold>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT event_id, project_id, unit_id FROM desk_units
             WHERE status = 'held' AND held_until IS NOT NULL AND held_until <= ?1",
            )?
            .query_map([at], |r| {
                Ok(DueHold { event_id: r.get(0)?, project_id: r.get(1)?, unit_id: r.get(2)? })
            })?
            .collect::<Result<_, _>>()?)
    }

    fn skip_buyer(&self, event_id: &str, lottery_no: u32) -> Result<(), DbError> {
        self.prepare_cached(
            "UPDATE desk_buyers SET skipped = 1 WHERE event_id = ?1 AND lottery_no = ?2",
        )?
        .execute(params![event_id, lottery_no])?;
        Ok(())
    }

    fn next_to_call(&self, event_id: &str) -> Result<Option<(u32, String)>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT lottery_no, buyer_id FROM desk_buyers
             WHERE event_id = ?1 AND lottery_no > (SELECT called_up_to FROM desk_events WHERE event_id = ?1)
             ORDER BY lottery_no LIMIT 1",
            )?
            .query_row([event_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn set_now_serving(
        &self,
        event_id: &str,
        number: u32,
        advance_high_water: bool,
    ) -> Result<(), DbError> {
        let sql = if advance_high_water {
            "UPDATE desk_events SET now_serving = ?2, called_up_to = max(called_up_to, ?2) WHERE event_id = ?1"
        } else {
            "UPDATE desk_events SET now_serving = ?2 WHERE event_id = ?1"
        };
        self.prepare_cached(sql)?.execute(params![event_id, number])?;
        Ok(())
    }

    fn buyer_by_number(
        &self,
        event_id: &str,
        lottery_no: u32,
    ) -> Result<Option<(String, bool)>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT buyer_id, skipped FROM desk_buyers WHERE event_id = ?1 AND lottery_no = ?2",
            )?
            .query_row(params![event_id, lottery_no], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn unskip_buyer(&self, event_id: &str, buyer_id: &str) -> Result<(), DbError> {
        self.prepare_cached(
            "UPDATE desk_buyers SET skipped = 0 WHERE event_id = ?1 AND buyer_id = ?2",
        )?
        .execute(params![event_id, buyer_id])?;
        Ok(())
    }

    fn buyer_identity(
        &self,
        event_id: &str,
        buyer_id: &str,
    ) -> Result<Option<BuyerIdentity>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT id_number_hash, id_number_masked, lottery_no FROM desk_buyers
             WHERE event_id = ?1 AND buyer_id = ?2",
            )?
            .query_row([event_id, buyer_id], |r| {
                Ok(BuyerIdentity {
                    id_number_hash: r.get(0)?,
                    id_number_masked: r.get(1)?,
                    lottery_no: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn set_mode(&self, event_id: &str, mode: SelectionMode) -> Result<(), DbError> {
        self.prepare_cached("UPDATE desk_events SET mode = ?2 WHERE event_id = ?1")?
            .execute(params![event_id, mode.as_str()])?;
        Ok(())
    }

    fn id_number_salt(&self) -> Result<Option<String>, DbError> {
        Ok(self
            .prepare_cached("SELECT value FROM desk_meta WHERE key = 'id_number_salt'")?
            .query_row([], |r| r.get(0))
            .optional()?)
    }

    fn set_id_number_salt(&self, salt: &str) -> Result<(), DbError> {
        self.prepare_cached("INSERT INTO desk_meta(key, value) VALUES ('id_number_salt', ?1)")?
            .execute([salt])?;
        Ok(())
    }

    fn add_buyer(&self, b: &NewBuyer<'_>) -> Result<bool, DbError> {
        let inserted = self
            .prepare_cached(
                "INSERT OR IGNORE INTO desk_buyers(event_id, buyer_id, name, id_number_hash, id_number_masked)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![b.event_id, b.buyer_id, b.name, b.id_number_hash, b.id_number_masked])?;
        Ok(inserted == 1)
    }

    fn numbered_buyers(&self, event_id: &str) -> Result<i64, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT COUNT(*) FROM desk_buyers WHERE event_id = ?1 AND lottery_no IS NOT NULL",
            )?
            .query_row([event_id], |r| r.get(0))?)
    }

    fn buyer_by_id_hash(
        &self,
        event_id: &str,
        id_number_hash: &str,
    ) -> Result<Option<(String, String)>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT buyer_id, name FROM desk_buyers WHERE event_id = ?1 AND id_number_hash = ?2",
            )?
            .query_row([event_id, id_number_hash], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn number_buyer(&self, event_id: &str, buyer_id: &str, number: u32) -> Result<(), DbError> {
        self.prepare_cached(
            "UPDATE desk_buyers SET lottery_no = ?3 WHERE event_id = ?1 AND buyer_id = ?2",
        )?
        .execute(params![event_id, buyer_id, number])?;
        Ok(())
    }

    fn approval(&self, project_id: &str, unit: &str) -> Result<Option<StoredApproval>, DbError> {
        let row: Option<(Option<String>, Option<String>, Option<String>)> = self
            .prepare_cached(
                "SELECT unit_price, approvers, approved_at FROM desk_units WHERE project_id = ?1 AND unit_id = ?2",
            )?
            .query_row([project_id, unit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((Some(price), Some(approvers), Some(approved_at))) = row else { return Ok(None) };
        let corrupt = |what: &str| DbError::Corrupt(format!("desk unit {unit}: {what}"));
        let unit_price = price.parse().map_err(|_| corrupt("price"))?;
        let approvers = serde_json::from_str(&approvers).map_err(|_| corrupt("approvers"))?;
        let approved_at = chrono::DateTime::parse_from_rfc3339(&approved_at)
            .map_err(|_| corrupt("approved_at"))?
            .with_timezone(&chrono::Utc);
        Ok(Some(StoredApproval { unit_price, approvers, approved_at }))
    }

    fn buyers(&self, event_id: &str) -> Result<Vec<Buyer>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT buyer_id, name, id_number_hash, id_number_masked, lottery_no FROM desk_buyers
             WHERE event_id = ?1 ORDER BY buyer_id",
            )?
            .query_map([event_id], |r| {
                Ok(Buyer {
                    id: BuyerId(r.get(0)?),
                    name: r.get(1)?,
                    id_number_hash: r.get(2)?,
                    id_number_masked: r.get(3)?,
                    lottery_no: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    fn control_units(&self, event_id: &str) -> Result<Vec<ControlUnit>, DbError> {
        let mut stmt = self.prepare(
            "SELECT u.unit_id, u.code, u.area_m2, u.unit_price, u.status, u.buyer_id, u.held_until,
             u.hold_id
         FROM desk_allotments a JOIN desk_events e USING (event_id)
         JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = a.unit_id
         WHERE a.event_id = ?1 ORDER BY u.code",
        )?;
        let units = stmt
            .query_map([event_id], |r| {
                Ok(ControlUnit {
                    unit_id: r.get(0)?,
                    code: r.get(1)?,
                    area_m2: r.get(2)?,
                    unit_price: r.get(3)?,
                    status: r.get(4)?,
                    buyer_id: r.get(5)?,
                    held_until: r.get(6)?,
                    hold_id: r.get(7)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(units)
    }

    fn event_books(&self, event_id: &str) -> Result<EventBooks, DbError> {
        let mut books = EventBooks::default();
        let mut stmt = self.prepare(
            "SELECT voucher_no, ticket_id, unit_id, buyer_id, amount, reverses,
             EXISTS (SELECT 1 FROM vouchers r WHERE r.event_id = v.event_id AND r.reverses = v.voucher_no)
         FROM vouchers v WHERE event_id = ?1 ORDER BY voucher_no",
        )?;
        let mut rows = stmt.query([event_id])?;
        while let Some(r) = rows.next()? {
            books.vouchers.push(VoucherRow {
                no: r.get(0)?,
                ticket_id: r.get(1)?,
                unit_id: r.get(2)?,
                buyer_id: r.get(3)?,
                amount: money(&r.get::<_, String>(4)?)?,
                reverses: r.get(5)?,
                reversed: r.get(6)?,
            });
        }
        let mut stmt = self.prepare(
            "SELECT ticket_id, amount FROM receipts WHERE event_id = ?1
                 ORDER BY received_at, receipt_id",
        )?;
        let mut rows = stmt.query([event_id])?;
        while let Some(r) = rows.next()? {
            books.receipts.push((r.get(0)?, money(&r.get::<_, String>(1)?)?));
        }
        let mut stmt = self.prepare(
            "SELECT a.unit_id, u.status, u.buyer_id FROM desk_allotments a
         JOIN desk_events e USING (event_id)
         JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = a.unit_id
         WHERE a.event_id = ?1",
        )?;
        let mut rows = stmt.query([event_id])?;
        while let Some(r) = rows.next()? {
            books.units.insert(r.get(0)?, BookUnit { status: r.get(1)?, buyer_id: r.get(2)? });
        }
        let mut stmt = self.prepare("SELECT buyer_id FROM desk_buyers WHERE event_id = ?1")?;
        let mut rows = stmt.query([event_id])?;
        while let Some(r) = rows.next()? {
            books.buyers.insert(r.get(0)?);
        }
        Ok(books)
    }
}
