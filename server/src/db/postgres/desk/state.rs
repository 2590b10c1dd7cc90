//! `DeskState` and `DeskView` over PostgreSQL, statement for statement as on SQLite
//! (`db::sqlite::desk::state`). `take_unit` stays one conditional UPDATE, so two nodes
//! racing for a unit are decided by its row lock: the second re-checks `status` after the
//! first commits and changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use kam_core::model::{Buyer, BuyerId, SelectionMode, UnitId, UnitStatus, UserId};
use serde_json::json;

use crate::db::DbError;
use crate::db::desk::state::{
    BookUnit, BuyerIdentity, ControlUnit, DeskEventRow, DeskUnit, DueHold, EventBooks, HoldEnd,
    HoldFacts, LentDesk, NewBuyer, NewDeskEvent, NewDeskUnit, NewHold, StoredApproval, VoucherRow,
    instant,
};
use crate::db::desk::{DeskState, DeskView};
use crate::db::parse::decimal;
use crate::db::postgres::PgDb;
use crate::db::postgres::deferred::{OwnedParam, owned_params};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{small, small_opt};

fn unit_status(status: &str) -> Result<UnitStatus, DbError> {
    status.parse::<UnitStatus>().map_err(|_| DbError::Corrupt(format!("unit status {status}")))
}

/// `take_unit` and, if it took the unit, `insert_hold`, as one statement: one row changed when
/// the unit was available, none otherwise (parameters as [`hold_params`]).
const HOLD_UNIT: &str = "WITH taken AS (
         UPDATE desk_units SET status = 'held', event_id = $3, buyer_id = $4, hold_id = $5,
             held_until = $6
         WHERE project_id = $1 AND unit_id = $2 AND status = 'available'
         RETURNING project_id, unit_id)
     INSERT INTO desk_holds(hold_id, event_id, project_id, unit_id, buyer_id, held_by, held_at,
         expires_at, state)
     SELECT $5, $3, project_id, unit_id, $4, $7, $8, $6, 'active' FROM taken";

/// `hold`'s values in the order of [`HOLD_UNIT`], owned.
fn hold_params(h: &NewHold<'_>) -> Vec<OwnedParam> {
    owned_params![
        h.project_id.to_owned(),
        h.unit_id.to_owned(),
        h.event_id.to_owned(),
        h.buyer_id.to_owned(),
        h.hold_id.to_owned(),
        h.expires_at.to_owned(),
        h.held_by.to_owned(),
        h.held_at.to_owned(),
    ]
}

/// The unit in a row's first four columns (status, whether priced, hold, hold's end); `None`
/// when the row found no unit (a left join's empty side).
fn unit_of(r: &Row) -> Result<Option<DeskUnit>, DbError> {
    let Some(status) = r.try_get::<_, Option<String>>(0)? else { return Ok(None) };
    Ok(Some(DeskUnit {
        status: unit_status(&status)?,
        price_approved: r.try_get(1)?,
        hold_id: r.try_get(2)?,
        held_until: r.try_get(3)?,
    }))
}

/// The first column of each row, as text.
fn texts(db: &PgDb, sql: &str, key: &str) -> Result<Vec<String>, DbError> {
    db.rows(sql, &[&key])?.iter().map(|r| r.try_get(0).map_err(DbError::from)).collect()
}

impl DeskView for PgDb {
    fn units_on_desk(&self, project_id: &str) -> Result<BTreeSet<UnitId>, DbError> {
        Ok(texts(self, "SELECT unit_id FROM desk_units WHERE project_id = $1", project_id)?
            .into_iter()
            .map(UnitId)
            .collect())
    }

    fn event_desk_open(&self, event_id: &str) -> Result<bool, DbError> {
        Ok(self.event_project(event_id)?.is_some())
    }

    fn lent_to_device(&self, device_id: &str) -> Result<Vec<LentDesk>, DbError> {
        let events = self.rows(
            "SELECT d.event_id, e.project_id FROM desk_delegations d
             JOIN desk_events e ON e.event_id = d.event_id
             WHERE d.side = 'lent' AND d.state = 'active' AND d.venue_device_id = $1
             ORDER BY d.event_id",
            &[&device_id],
        )?;
        events
            .iter()
            .map(|r| {
                let event_id: String = r.try_get(0)?;
                let units = texts(
                    self,
                    "SELECT unit_id FROM desk_allotments WHERE event_id = $1",
                    &event_id,
                )?;
                Ok(LentDesk { event_id, project_id: r.try_get(1)?, units })
            })
            .collect()
    }
}

impl DeskState for PgDb {
    fn desk_event(&self, event_id: &str) -> Result<Option<DeskEventRow>, DbError> {
        let Some(row) = self.row(
            "SELECT project_id, mode, now_serving FROM desk_events WHERE event_id = $1",
            &[&event_id],
        )?
        else {
            return Ok(None);
        };
        let mode: String = row.try_get(1)?;
        let mode = mode
            .parse::<SelectionMode>()
            .map_err(|_| DbError::Corrupt(format!("selection mode {mode}")))?;
        let now_serving = small_opt(row.try_get(2)?, "now serving")?;
        Ok(Some(DeskEventRow { project_id: row.try_get(0)?, mode, now_serving }))
    }

    fn event_project(&self, event_id: &str) -> Result<Option<String>, DbError> {
        Ok(texts(self, "SELECT project_id FROM desk_events WHERE event_id = $1", event_id)?
            .into_iter()
            .next())
    }

    fn insert_desk_event(&self, event: &NewDeskEvent<'_>) -> Result<bool, DbError> {
        let opened = self.execute(
            "INSERT INTO desk_events(event_id, project_id, mode, voucher_prefix, voucher_next,
                 voucher_last, opened_at, name)
             VALUES ($1, $2, $3, $4, 1, $5, $6, $7) ON CONFLICT DO NOTHING",
            &[
                &event.event_id,
                &event.project_id,
                &event.mode.as_str(),
                &event.voucher_prefix,
                &i64::from(event.voucher_last),
                &event.opened_at,
                &event.name,
            ],
        )?;
        Ok(opened != 0)
    }

    fn insert_desk_unit(&self, project_id: &str, u: &NewDeskUnit<'_>) -> Result<usize, DbError> {
        let approvers = u
            .approval
            .map(|(a, _)| json!(a.iter().map(UserId::as_str).collect::<Vec<_>>()).to_string());
        let inserted = self.execute(
            "INSERT INTO desk_units(project_id, unit_id, code, area_m2, unit_price, approvers,
                 approved_at, status, building, floor, layout)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
            &[
                &project_id,
                &u.unit_id,
                &u.code,
                &u.area_m2.to_string(),
                &u.approval.and(u.unit_price).map(|p| p.to_string()),
                &approvers,
                &u.approval.map(|(_, at)| instant(at)),
                &u.status.as_str(),
                &u.building,
                &i64::from(u.floor),
                &u.layout,
            ],
        )?;
        Ok(usize::try_from(inserted).unwrap_or(usize::MAX))
    }

    fn allot_unit(&self, event_id: &str, unit_id: &str) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO desk_allotments(event_id, unit_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
            &[&event_id, &unit_id],
        )?;
        Ok(())
    }

    fn list_buyer(&self, event_id: &str, b: &Buyer) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO desk_buyers(event_id, buyer_id, name, id_number_hash, id_number_masked,
                 lottery_no)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                &event_id,
                &b.id.as_str(),
                &b.name,
                &b.id_number_hash,
                &b.id_number_masked,
                &b.lottery_no.map(i64::from),
            ],
        )?;
        Ok(())
    }

    fn unit(&self, project_id: &str, unit_id: &str) -> Result<Option<DeskUnit>, DbError> {
        let row = self.row(
            "SELECT status, unit_price IS NOT NULL, hold_id, held_until FROM desk_units
             WHERE project_id = $1 AND unit_id = $2",
            &[&project_id, &unit_id],
        )?;
        row.as_ref().map_or(Ok(None), unit_of)
    }

    fn units_of(
        &self,
        project_id: &str,
        unit_ids: &[&str],
    ) -> Result<BTreeMap<String, DeskUnit>, DbError> {
        let rows = self.rows(
            "SELECT status, unit_price IS NOT NULL, hold_id, held_until, unit_id FROM desk_units
             WHERE project_id = $1 AND unit_id = ANY($2)",
            &[&project_id, &unit_ids],
        )?;
        let mut found = BTreeMap::new();
        for r in &rows {
            if let Some(unit) = unit_of(r)? {
                found.insert(r.try_get(4)?, unit);
            }
        }
        Ok(found)
    }

    fn allotted(&self, event_id: &str, unit_id: &str) -> Result<bool, DbError> {
        Ok(self
            .row(
                "SELECT 1 FROM desk_allotments WHERE event_id = $1 AND unit_id = $2",
                &[&event_id, &unit_id],
            )?
            .is_some())
    }

    fn buyer_lottery_no(
        &self,
        event_id: &str,
        buyer_id: &str,
    ) -> Result<Option<Option<u32>>, DbError> {
        self.row(
            "SELECT lottery_no FROM desk_buyers WHERE event_id = $1 AND buyer_id = $2",
            &[&event_id, &buyer_id],
        )?
        .map(|r| small_opt(r.try_get(0)?, "lottery number"))
        .transpose()
    }

    fn units_taken(&self, event_id: &str, buyer_id: &str) -> Result<u32, DbError> {
        let row = self.one(
            "SELECT COUNT(*) FROM desk_units WHERE event_id = $1 AND buyer_id = $2
             AND (status = 'held' OR status = 'sold')",
            &[&event_id, &buyer_id],
        )?;
        small(row.try_get(0)?, "units taken")
    }

    fn hold_facts(
        &self,
        event_id: &str,
        project_id: &str,
        unit_id: &str,
        buyer_id: &str,
    ) -> Result<HoldFacts, DbError> {
        // One round trip for the four reads a hold is decided on.
        let r = self.read_one(
            "SELECT u.status, u.unit_price IS NOT NULL, u.hold_id, u.held_until,
                 EXISTS(SELECT 1 FROM desk_allotments WHERE event_id = $1 AND unit_id = $3),
                 b.buyer_id IS NOT NULL, b.lottery_no,
                 (SELECT COUNT(*) FROM desk_units WHERE event_id = $1 AND buyer_id = $4
                     AND (status = 'held' OR status = 'sold'))
             FROM (SELECT 1) AS one
             LEFT JOIN desk_units u ON u.project_id = $2 AND u.unit_id = $3
             LEFT JOIN desk_buyers b ON b.event_id = $1 AND b.buyer_id = $4",
            &[&event_id, &project_id, &unit_id, &buyer_id],
        )?;
        let listed: bool = r.try_get(5)?;
        let lottery_no = small_opt(r.try_get(6)?, "lottery number")?;
        Ok(HoldFacts {
            unit: unit_of(&r)?,
            allotted: r.try_get(4)?,
            lottery_no: listed.then_some(lottery_no),
            units_taken: small(r.try_get(7)?, "units taken")?,
        })
    }

    fn release_facts(
        &self,
        project_id: &str,
        unit_id: &str,
        hold_id: &str,
    ) -> Result<(Option<DeskUnit>, i64), DbError> {
        let r = self.read_one(
            "SELECT u.status, u.unit_price IS NOT NULL, u.hold_id, u.held_until,
                 (SELECT COUNT(*) FROM receipts r JOIN work_tickets t USING (ticket_id)
                  WHERE t.hold_id = $3)
             FROM (SELECT 1) AS one
             LEFT JOIN desk_units u ON u.project_id = $1 AND u.unit_id = $2",
            &[&project_id, &unit_id, &hold_id],
        )?;
        Ok((unit_of(&r)?, r.try_get(4)?))
    }

    fn hold_unit(&self, h: &NewHold<'_>) -> Result<bool, DbError> {
        if !self.queues_writes() {
            let params: [&(dyn ToSql + Sync); 8] = [
                &h.project_id,
                &h.unit_id,
                &h.event_id,
                &h.buyer_id,
                &h.hold_id,
                &h.expires_at,
                &h.held_by,
                &h.held_at,
            ];
            return Ok(self.execute(HOLD_UNIT, &params)? == 1);
        }
        // In the writer's group, under the ledger's lock: the unit is as the command read it,
        // and the statement must change one row or the group fails (see `deferred`).
        self.write_soon(HOLD_UNIT, hold_params(h), Some(1))?;
        Ok(true)
    }

    fn take_unit(&self, h: &NewHold<'_>) -> Result<bool, DbError> {
        let changed = self.execute(
            "UPDATE desk_units SET status = 'held', event_id = $3, buyer_id = $4, hold_id = $5,
                 held_until = $6
             WHERE project_id = $1 AND unit_id = $2 AND status = 'available'",
            &[&h.project_id, &h.unit_id, &h.event_id, &h.buyer_id, &h.hold_id, &h.expires_at],
        )?;
        Ok(changed == 1)
    }

    fn insert_hold(&self, h: &NewHold<'_>) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO desk_holds(hold_id, event_id, project_id, unit_id, buyer_id, held_by,
                 held_at, expires_at, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active')",
            &[
                &h.hold_id,
                &h.event_id,
                &h.project_id,
                &h.unit_id,
                &h.buyer_id,
                &h.held_by,
                &h.held_at,
                &h.expires_at,
            ],
        )?;
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
        // One statement (the unit freed in a data-modifying WITH, which runs whether or not
        // it is read), queued in the writer's group (see `deferred`); at once outside one.
        self.write_soon(
            "WITH freed AS (
                 UPDATE desk_units SET status = 'available', event_id = NULL, buyer_id = NULL,
                     hold_id = NULL, held_until = NULL
                 WHERE project_id = $1 AND unit_id = $2)
             UPDATE desk_holds SET state = $4, ended_at = $5
             WHERE hold_id = $3 AND state = 'active'",
            owned_params![
                project_id.to_owned(),
                unit_id.to_owned(),
                hold_id.to_owned(),
                end.as_str(),
                at.to_owned()
            ],
            None,
        )
    }

    fn unit_hold_id(&self, project_id: &str, unit_id: &str) -> Result<Option<String>, DbError> {
        // As on SQLite, a unit that is not on the desk is an error, not `None`.
        let row = self.one(
            "SELECT hold_id FROM desk_units WHERE project_id = $1 AND unit_id = $2",
            &[&project_id, &unit_id],
        )?;
        Ok(row.try_get(0)?)
    }

    fn holds_due(&self, at: &str) -> Result<Vec<DueHold>, DbError> {
        self.rows(
            "SELECT event_id, project_id, unit_id FROM desk_units
             WHERE status = 'held' AND held_until IS NOT NULL AND held_until <= $1",
            &[&at],
        )?
        .iter()
        .map(|r| {
            Ok(DueHold {
                event_id: r.try_get(0)?,
                project_id: r.try_get(1)?,
                unit_id: r.try_get(2)?,
            })
        })
        .collect()
    }

    fn skip_buyer(&self, event_id: &str, lottery_no: u32) -> Result<(), DbError> {
        self.execute(
            "UPDATE desk_buyers SET skipped = true WHERE event_id = $1 AND lottery_no = $2",
            &[&event_id, &i64::from(lottery_no)],
        )?;
        Ok(())
    }

    fn next_to_call(&self, event_id: &str) -> Result<Option<(u32, String)>, DbError> {
        self.row(
            "SELECT lottery_no, buyer_id FROM desk_buyers
             WHERE event_id = $1
               AND lottery_no > (SELECT called_up_to FROM desk_events WHERE event_id = $1)
             ORDER BY lottery_no LIMIT 1",
            &[&event_id],
        )?
        .map(|r| Ok((small(r.try_get(0)?, "lottery number")?, r.try_get(1)?)))
        .transpose()
    }

    fn set_now_serving(
        &self,
        event_id: &str,
        number: u32,
        advance_high_water: bool,
    ) -> Result<(), DbError> {
        let sql = if advance_high_water {
            "UPDATE desk_events SET now_serving = $2, called_up_to = greatest(called_up_to, $2)
             WHERE event_id = $1"
        } else {
            "UPDATE desk_events SET now_serving = $2 WHERE event_id = $1"
        };
        self.execute(sql, &[&event_id, &i64::from(number)])?;
        Ok(())
    }

    fn buyer_by_number(
        &self,
        event_id: &str,
        lottery_no: u32,
    ) -> Result<Option<(String, bool)>, DbError> {
        self.row(
            "SELECT buyer_id, skipped FROM desk_buyers WHERE event_id = $1 AND lottery_no = $2",
            &[&event_id, &i64::from(lottery_no)],
        )?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
    }

    fn unskip_buyer(&self, event_id: &str, buyer_id: &str) -> Result<(), DbError> {
        self.execute(
            "UPDATE desk_buyers SET skipped = false WHERE event_id = $1 AND buyer_id = $2",
            &[&event_id, &buyer_id],
        )?;
        Ok(())
    }

    fn buyer_identity(
        &self,
        event_id: &str,
        buyer_id: &str,
    ) -> Result<Option<BuyerIdentity>, DbError> {
        self.row(
            "SELECT id_number_hash, id_number_masked, lottery_no FROM desk_buyers
             WHERE event_id = $1 AND buyer_id = $2",
            &[&event_id, &buyer_id],
        )?
        .map(|r| {
            Ok(BuyerIdentity {
                id_number_hash: r.try_get(0)?,
                id_number_masked: r.try_get(1)?,
                lottery_no: small_opt(r.try_get(2)?, "lottery number")?,
            })
        })
        .transpose()
    }

    fn set_mode(&self, event_id: &str, mode: SelectionMode) -> Result<(), DbError> {
        self.execute(
            "UPDATE desk_events SET mode = $2 WHERE event_id = $1",
            &[&event_id, &mode.as_str()],
        )?;
        Ok(())
    }

    fn id_number_salt(&self) -> Result<Option<String>, DbError> {
        Ok(texts(self, "SELECT value FROM desk_meta WHERE key = $1", "id_number_salt")?
            .into_iter()
            .next())
    }

    fn set_id_number_salt(&self, salt: &str) -> Result<(), DbError> {
        self.execute("INSERT INTO desk_meta(key, value) VALUES ('id_number_salt', $1)", &[&salt])?;
        Ok(())
    }

    fn add_buyer(&self, b: &NewBuyer<'_>) -> Result<bool, DbError> {
        let inserted = self.execute(
            "INSERT INTO desk_buyers(event_id, buyer_id, name, id_number_hash, id_number_masked)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&b.event_id, &b.buyer_id, &b.name, &b.id_number_hash, &b.id_number_masked],
        )?;
        Ok(inserted == 1)
    }

    fn numbered_buyers(&self, event_id: &str) -> Result<i64, DbError> {
        let row = self.one(
            "SELECT COUNT(*) FROM desk_buyers WHERE event_id = $1 AND lottery_no IS NOT NULL",
            &[&event_id],
        )?;
        Ok(row.try_get(0)?)
    }

    fn buyer_by_id_hash(
        &self,
        event_id: &str,
        id_number_hash: &str,
    ) -> Result<Option<(String, String)>, DbError> {
        self.row(
            "SELECT buyer_id, name FROM desk_buyers WHERE event_id = $1 AND id_number_hash = $2",
            &[&event_id, &id_number_hash],
        )?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
    }

    fn number_buyer(&self, event_id: &str, buyer_id: &str, number: u32) -> Result<(), DbError> {
        self.execute(
            "UPDATE desk_buyers SET lottery_no = $3 WHERE event_id = $1 AND buyer_id = $2",
            &[&event_id, &buyer_id, &i64::from(number)],
        )?;
        Ok(())
    }

    fn approval(&self, project_id: &str, unit: &str) -> Result<Option<StoredApproval>, DbError> {
        let Some(r) = self.row(
            "SELECT unit_price, approvers, approved_at FROM desk_units
             WHERE project_id = $1 AND unit_id = $2",
            &[&project_id, &unit],
        )?
        else {
            return Ok(None);
        };
        let (Some(price), Some(approvers), Some(approved_at)) = (
            r.try_get::<_, Option<String>>(0)?,
            r.try_get::<_, Option<String>>(1)?,
            r.try_get::<_, Option<String>>(2)?,
        ) else {
            return Ok(None);
        };
        let corrupt = |what: &str| DbError::Corrupt(format!("desk unit {unit}: {what}"));
        let unit_price = price.parse().map_err(|_| corrupt("price"))?;
        let approvers = serde_json::from_str(&approvers).map_err(|_| corrupt("approvers"))?;
        let approved_at = chrono::DateTime::parse_from_rfc3339(&approved_at)
            .map_err(|_| corrupt("approved_at"))?
            .with_timezone(&chrono::Utc);
        Ok(Some(StoredApproval { unit_price, approvers, approved_at }))
    }

    fn buyers(&self, event_id: &str) -> Result<Vec<Buyer>, DbError> {
        self.rows(
            "SELECT buyer_id, name, id_number_hash, id_number_masked, lottery_no FROM desk_buyers
             WHERE event_id = $1 ORDER BY buyer_id",
            &[&event_id],
        )?
        .iter()
        .map(|r| {
            Ok(Buyer {
                id: BuyerId(r.try_get(0)?),
                name: r.try_get(1)?,
                id_number_hash: r.try_get(2)?,
                id_number_masked: r.try_get(3)?,
                lottery_no: small_opt(r.try_get(4)?, "lottery number")?,
            })
        })
        .collect()
    }

    fn control_units(&self, event_id: &str) -> Result<Vec<ControlUnit>, DbError> {
        self.rows(
            "SELECT u.unit_id, u.code, u.area_m2, u.unit_price, u.status, u.buyer_id,
                    u.held_until, u.hold_id
             FROM desk_allotments a JOIN desk_events e USING (event_id)
             JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = a.unit_id
             WHERE a.event_id = $1 ORDER BY u.code",
            &[&event_id],
        )?
        .iter()
        .map(|r| {
            Ok(ControlUnit {
                unit_id: r.try_get(0)?,
                code: r.try_get(1)?,
                area_m2: r.try_get(2)?,
                unit_price: r.try_get(3)?,
                status: r.try_get(4)?,
                buyer_id: r.try_get(5)?,
                held_until: r.try_get(6)?,
                hold_id: r.try_get(7)?,
            })
        })
        .collect()
    }

    fn event_books(&self, event_id: &str) -> Result<EventBooks, DbError> {
        let mut books = EventBooks::default();
        for r in self.rows(
            "SELECT voucher_no, ticket_id, unit_id, buyer_id, amount, reverses,
                 EXISTS (SELECT 1 FROM vouchers r
                         WHERE r.event_id = v.event_id AND r.reverses = v.voucher_no)
             FROM vouchers v WHERE event_id = $1 ORDER BY voucher_no",
            &[&event_id],
        )? {
            books.vouchers.push(VoucherRow {
                no: small(r.try_get(0)?, "voucher number")?,
                ticket_id: r.try_get(1)?,
                unit_id: r.try_get(2)?,
                buyer_id: r.try_get(3)?,
                amount: decimal(r.try_get(4)?)?,
                reverses: small_opt(r.try_get(5)?, "voucher number")?,
                reversed: r.try_get(6)?,
            });
        }
        for r in self.rows(
            "SELECT ticket_id, amount FROM receipts WHERE event_id = $1
             ORDER BY received_at, receipt_id",
            &[&event_id],
        )? {
            books.receipts.push((r.try_get(0)?, decimal(r.try_get(1)?)?));
        }
        for r in self.rows(
            "SELECT a.unit_id, u.status, u.buyer_id FROM desk_allotments a
             JOIN desk_events e USING (event_id)
             JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = a.unit_id
             WHERE a.event_id = $1",
            &[&event_id],
        )? {
            books
                .units
                .insert(r.try_get(0)?, BookUnit { status: r.try_get(1)?, buyer_id: r.try_get(2)? });
        }
        books.buyers =
            texts(self, "SELECT buyer_id FROM desk_buyers WHERE event_id = $1", event_id)?
                .into_iter()
                .collect();
        Ok(books)
    }
}
