//! The management records' projection rows and reads on SQLite (schema: `accounts_schema`).

use chrono::NaiveDate;
use kam_core::model::{LeadershipReview, Organisation, Scorecard};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::db::DbError;
use crate::db::management::{
    CollectionRow, FindingRow, InstalmentFacts, InstalmentRow, ManagementProjection,
    ManagementQueries, MeasureRow, OrganisationDetail, OrganisationRow, RatingRow,
    ReconciliationRow, ReplyRecord, ReviewDetail, ReviewRow, ScorecardDetail, ScorecardLineRow,
    ScorecardRow,
};
use crate::db::parse::{stored_instant as instant, stored_money as money};

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn json_err(e: serde_json::Error) -> DbError {
    DbError::Corrupt(format!("stored JSON: {e}"))
}

impl ManagementProjection for Connection {
    fn insert_scorecard(&self, card: &Scorecard) -> Result<(), DbError> {
        let published = card.published.as_ref();
        self.prepare_cached(
            "INSERT INTO scorecards(scorecard_id, person, period, sales_target, total, computed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            card.id.as_str(),
            card.person.as_str(),
            card.period,
            money(card.sales_target),
            published.map(|p| p.total.to_string()),
            published.map(|p| instant(p.computed_at)),
        ])?;
        for line in published.iter().flat_map(|p| p.lines.values()) {
            self.prepare_cached(
                "INSERT INTO scorecard_lines(scorecard_id, measure, attainment, weight_pct, points,
                     basis) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                card.id.as_str(),
                line.measure,
                line.attainment.to_string(),
                line.weight_pct,
                line.points.to_string(),
                line.basis,
            ])?;
        }
        for r in card.ratings.values() {
            self.prepare_cached(
                "INSERT INTO scorecard_ratings(scorecard_id, entry_id, rater, by_user, score, at,
                     note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                card.id.as_str(),
                r.id.as_str(),
                r.rater.as_str(),
                r.by.as_str(),
                r.score,
                instant(r.at),
                r.note,
            ])?;
        }
        Ok(())
    }

    fn insert_review(&self, review: &LeadershipReview) -> Result<(), DbError> {
        let attendees = serde_json::to_string(&review.attendees).map_err(json_err)?;
        self.prepare_cached(
            "INSERT INTO reviews(review_id, held_on, attendees) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![review.id.as_str(), date(review.held_on), attendees])?;
        for f in review.findings.values() {
            self.prepare_cached(
                "INSERT INTO review_findings(review_id, entry_id, customer_id, kind, text)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                review.id.as_str(),
                f.id.as_str(),
                f.customer_id.as_str(),
                f.kind.as_str(),
                f.text
            ])?;
        }
        for m in review.measures.values() {
            let closed = m.closed.as_ref();
            self.prepare_cached(
                "INSERT INTO review_measures(review_id, entry_id, customer_id, text, owner, due_on,
                     closed_at, closed_by, closing_note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                review.id.as_str(),
                m.id.as_str(),
                m.customer_id.as_ref().map(|c| c.as_str().to_owned()),
                m.text,
                m.owner.as_str(),
                date(m.due_on),
                closed.map(|c| instant(c.at)),
                closed.map(|c| c.by.as_str().to_owned()),
                closed.map(|c| c.note.clone()),
            ])?;
        }
        Ok(())
    }

    fn insert_organisation(
        &self,
        org: &Organisation,
        missing_clauses: &[&str],
        instalments: &[InstalmentFacts<'_>],
    ) -> Result<(), DbError> {
        insert_organisation_row(self, org, missing_clauses)?;
        let id = org.id.as_str();
        for f in instalments {
            let i = f.instalment;
            self.prepare_cached(
                "INSERT INTO organisation_instalments(organisation_id, entry_id, due_on, amount,
                     received, outstanding, last_reminder_on, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                id,
                i.id.as_str(),
                date(i.due_on),
                money(i.amount),
                money(f.received),
                money(f.outstanding),
                f.last_reminder_on.map(date),
                i.note,
            ])?;
        }
        for c in org.collections.values() {
            self.prepare_cached(
                "INSERT INTO organisation_collections(organisation_id, entry_id, received_on,
                     amount, receipt_no, by_user) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                id,
                c.id.as_str(),
                date(c.received_on),
                money(c.amount),
                c.receipt_no,
                c.by.as_str()
            ])?;
        }
        for r in org.reconciliations.values() {
            self.prepare_cached(
                "INSERT INTO organisation_reconciliations(organisation_id, entry_id, on_day,
                     bank_balance, receipts_total, by_user, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                id,
                r.id.as_str(),
                date(r.on),
                money(r.bank_balance),
                money(r.receipts_total),
                r.by.as_str(),
                r.note,
            ])?;
        }
        Ok(())
    }
}

fn insert_organisation_row(
    conn: &Connection,
    org: &Organisation,
    missing_clauses: &[&str],
) -> Result<(), DbError> {
    let missing = serde_json::to_string(missing_clauses).map_err(json_err)?;
    conn.prepare_cached(
        "INSERT INTO organisations(organisation_id, project_id, name, status,
             accepted_price_per_m2, payment_ratio_pct, resource_exchange, owner_occupier_pct,
             approved_by_gm, approved_by_chairman, price_per_m2, price_method, missing_clauses,
             signed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        org.id.as_str(),
        org.project_id.as_str(),
        org.name,
        org.status.as_str(),
        money(org.offer.accepted_price_per_m2),
        org.offer.payment_ratio_pct.to_string(),
        org.offer.resource_exchange,
        org.offer.owner_occupier_pct.to_string(),
        org.approved_by_gm.as_ref().map(|s| s.by.as_str().to_owned()),
        org.approved_by_chairman.as_ref().map(|s| s.by.as_str().to_owned()),
        org.price.as_ref().map(|p| money(p.price_per_m2)),
        org.price.as_ref().map(|p| p.method.as_str()),
        missing,
        org.agreement.signed.as_ref().map(|s| instant(s.at)),
    ])?;
    Ok(())
}

fn lines_of(conn: &Connection, scorecard_id: &str) -> Result<Vec<ScorecardLineRow>, DbError> {
    let rows = conn
        .prepare_cached(
            "SELECT measure, attainment, weight_pct, points, basis FROM scorecard_lines
             WHERE scorecard_id = ?1 ORDER BY weight_pct DESC, measure",
        )?
        .query_map([scorecard_id], |r| {
            Ok(ScorecardLineRow {
                measure: r.get(0)?,
                attainment: r.get(1)?,
                weight_pct: r.get(2)?,
                points: r.get(3)?,
                basis: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

const SCORECARD_COLUMNS: &str =
    "SELECT scorecard_id, person, period, sales_target, total, computed_at FROM scorecards";

fn scorecard_row(r: &Row<'_>) -> rusqlite::Result<ScorecardRow> {
    Ok(ScorecardRow {
        scorecard_id: r.get(0)?,
        person: r.get(1)?,
        period: r.get(2)?,
        sales_target: r.get(3)?,
        total: r.get(4)?,
        computed_at: r.get(5)?,
        lines: Vec::new(),
    })
}

const MEASURE_COLUMNS: &str = "SELECT review_id, entry_id, customer_id, text, owner, due_on,
     closed_at, closed_by, closing_note FROM review_measures";

fn measure_row(r: &Row<'_>) -> rusqlite::Result<MeasureRow> {
    Ok(MeasureRow {
        review_id: r.get(0)?,
        entry_id: r.get(1)?,
        customer_id: r.get(2)?,
        text: r.get(3)?,
        owner: r.get(4)?,
        due_on: r.get(5)?,
        closed_at: r.get(6)?,
        closed_by: r.get(7)?,
        closing_note: r.get(8)?,
    })
}

fn review_row(conn: &Connection, r: &Row<'_>) -> Result<ReviewRow, DbError> {
    let review_id: String = r.get(0)?;
    let attendees: String = r.get(2)?;
    let attendees: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&attendees).map_err(json_err)?;
    let findings =
        count(conn, "SELECT count(*) FROM review_findings WHERE review_id = ?1", &review_id)?;
    let open_measures = count(
        conn,
        "SELECT count(*) FROM review_measures WHERE review_id = ?1 AND closed_at IS NULL",
        &review_id,
    )?;
    Ok(ReviewRow {
        review_id,
        held_on: r.get(1)?,
        attendees: attendees.into_values().collect(),
        findings,
        open_measures,
    })
}

fn count(conn: &Connection, sql: &str, arg: &str) -> Result<u64, DbError> {
    let n: i64 = conn.prepare_cached(sql)?.query_row([arg], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

const ORGANISATION_COLUMNS: &str = "SELECT organisation_id, project_id, name, status,
     accepted_price_per_m2, payment_ratio_pct, resource_exchange, owner_occupier_pct,
     approved_by_gm, approved_by_chairman, price_per_m2, price_method, missing_clauses, signed_at
     FROM organisations";

fn organisation_row(r: &Row<'_>) -> Result<OrganisationRow, DbError> {
    let missing: String = r.get(12)?;
    Ok(OrganisationRow {
        organisation_id: r.get(0)?,
        project_id: r.get(1)?,
        name: r.get(2)?,
        status: r.get(3)?,
        accepted_price_per_m2: r.get(4)?,
        payment_ratio_pct: r.get(5)?,
        resource_exchange: r.get(6)?,
        owner_occupier_pct: r.get(7)?,
        approved_by_gm: r.get(8)?,
        approved_by_chairman: r.get(9)?,
        price_per_m2: r.get(10)?,
        price_method: r.get(11)?,
        missing_clauses: serde_json::from_str(&missing).map_err(json_err)?,
        signed_at: r.get(13)?,
    })
}

const INSTALMENT_COLUMNS: &str = "SELECT organisation_id, entry_id, due_on, amount, received,
     outstanding, last_reminder_on, note FROM organisation_instalments";

fn instalment_row(r: &Row<'_>) -> rusqlite::Result<InstalmentRow> {
    Ok(InstalmentRow {
        organisation_id: r.get(0)?,
        entry_id: r.get(1)?,
        due_on: r.get(2)?,
        amount: r.get(3)?,
        received: r.get(4)?,
        outstanding: r.get(5)?,
        last_reminder_on: r.get(6)?,
        note: r.get(7)?,
    })
}

/// A list of ids as the JSON array `json_each` reads.
pub(crate) fn ids_json(ids: &[String]) -> Result<String, DbError> {
    serde_json::to_string(ids).map_err(json_err)
}

impl ManagementQueries for Connection {
    fn scorecard_periods(&self) -> Result<Vec<String>, DbError> {
        let rows = self
            .prepare_cached("SELECT DISTINCT period FROM scorecards ORDER BY period DESC")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn scorecards(&self, period: Option<&str>) -> Result<Vec<ScorecardRow>, DbError> {
        let sql = format!(
            "{SCORECARD_COLUMNS} WHERE ?1 IS NULL OR period = ?1 ORDER BY period DESC, person"
        );
        let mut rows: Vec<ScorecardRow> = self
            .prepare_cached(&sql)?
            .query_map([period], scorecard_row)?
            .collect::<Result<_, _>>()?;
        for row in &mut rows {
            row.lines = lines_of(self, &row.scorecard_id)?;
        }
        Ok(rows)
    }

    fn scorecard(&self, scorecard_id: &str) -> Result<Option<ScorecardDetail>, DbError> {
        let sql = format!("{SCORECARD_COLUMNS} WHERE scorecard_id = ?1");
        let Some(mut card) =
            self.prepare_cached(&sql)?.query_row([scorecard_id], scorecard_row).optional()?
        else {
            return Ok(None);
        };
        card.lines = lines_of(self, scorecard_id)?;
        let ratings = self
            .prepare_cached(
                "SELECT entry_id, rater, by_user, score, at, note FROM scorecard_ratings
                 WHERE scorecard_id = ?1 ORDER BY at, entry_id",
            )?
            .query_map([scorecard_id], |r| {
                Ok(RatingRow {
                    entry_id: r.get(0)?,
                    rater: r.get(1)?,
                    by_user: r.get(2)?,
                    score: r.get(3)?,
                    at: r.get(4)?,
                    note: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(ScorecardDetail { card, ratings }))
    }

    fn reviews(&self) -> Result<Vec<ReviewRow>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT review_id, held_on, attendees FROM reviews ORDER BY review_id DESC",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(review_row(self, r)?);
        }
        Ok(out)
    }

    fn review(&self, review_id: &str) -> Result<Option<ReviewDetail>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT review_id, held_on, attendees FROM reviews WHERE review_id = ?1",
        )?;
        let mut rows = stmt.query([review_id])?;
        let Some(r) = rows.next()? else { return Ok(None) };
        let review = review_row(self, r)?;
        let attendees: String = r.get(2)?;
        let attendee_ids: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&attendees).map_err(json_err)?;
        let findings_list = self
            .prepare_cached(
                "SELECT entry_id, customer_id, kind, text FROM review_findings
                 WHERE review_id = ?1 ORDER BY customer_id, kind, entry_id",
            )?
            .query_map([review_id], |r| {
                Ok(FindingRow {
                    entry_id: r.get(0)?,
                    customer_id: r.get(1)?,
                    kind: r.get(2)?,
                    text: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let sql = format!("{MEASURE_COLUMNS} WHERE review_id = ?1 ORDER BY due_on, entry_id");
        let measures = self
            .prepare_cached(&sql)?
            .query_map([review_id], measure_row)?
            .collect::<Result<_, _>>()?;
        Ok(Some(ReviewDetail {
            review,
            attendee_ids: attendee_ids.into_iter().collect(),
            findings_list,
            measures,
        }))
    }

    fn open_measures_before(&self, month: &str) -> Result<Vec<MeasureRow>, DbError> {
        let sql = format!(
            "{MEASURE_COLUMNS} WHERE closed_at IS NULL AND review_id < ?1
             ORDER BY due_on, review_id, entry_id"
        );
        let rows = self
            .prepare_cached(&sql)?
            .query_map([month], measure_row)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn organisations(&self) -> Result<Vec<OrganisationRow>, DbError> {
        let sql = format!("{ORGANISATION_COLUMNS} ORDER BY project_id, name, organisation_id");
        let mut stmt = self.prepare_cached(&sql)?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(organisation_row(r)?);
        }
        Ok(out)
    }

    fn organisation(&self, organisation_id: &str) -> Result<Option<OrganisationDetail>, DbError> {
        let sql = format!("{ORGANISATION_COLUMNS} WHERE organisation_id = ?1");
        let mut stmt = self.prepare_cached(&sql)?;
        let mut rows = stmt.query([organisation_id])?;
        let Some(r) = rows.next()? else { return Ok(None) };
        let organisation = organisation_row(r)?;
        let sql =
            format!("{INSTALMENT_COLUMNS} WHERE organisation_id = ?1 ORDER BY due_on, entry_id");
        let instalments = self
            .prepare_cached(&sql)?
            .query_map([organisation_id], instalment_row)?
            .collect::<Result<_, _>>()?;
        let collections = self
            .prepare_cached(
                "SELECT entry_id, received_on, amount, receipt_no, by_user
                 FROM organisation_collections WHERE organisation_id = ?1
                 ORDER BY received_on, entry_id",
            )?
            .query_map([organisation_id], |r| {
                Ok(CollectionRow {
                    entry_id: r.get(0)?,
                    received_on: r.get(1)?,
                    amount: r.get(2)?,
                    receipt_no: r.get(3)?,
                    by_user: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let reconciliations = self
            .prepare_cached(
                "SELECT entry_id, on_day, bank_balance, receipts_total, by_user, note
                 FROM organisation_reconciliations WHERE organisation_id = ?1
                 ORDER BY on_day, entry_id",
            )?
            .query_map([organisation_id], |r| {
                Ok(ReconciliationRow {
                    entry_id: r.get(0)?,
                    on_day: r.get(1)?,
                    bank_balance: r.get(2)?,
                    receipts_total: r.get(3)?,
                    by_user: r.get(4)?,
                    note: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(OrganisationDetail { organisation, instalments, collections, reconciliations }))
    }

    fn outstanding_instalments(&self) -> Result<Vec<InstalmentRow>, DbError> {
        // Outstanding is decimal text; "0.00" (and any zero form) is settled.
        let sql = format!(
            "{INSTALMENT_COLUMNS} WHERE CAST(outstanding AS REAL) > 0
             ORDER BY due_on, organisation_id, entry_id"
        );
        let rows =
            self.prepare_cached(&sql)?.query_map([], instalment_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn active_reps(&self) -> Result<Vec<String>, DbError> {
        let rows = self
            .prepare_cached(
                "SELECT user_id FROM users WHERE role = 'rep' AND disabled_at IS NULL
                 ORDER BY user_id",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn customers_owned_by(&self, person: &str) -> Result<Vec<String>, DbError> {
        let rows = self
            .prepare_cached(
                "SELECT customer_id FROM customer_owners WHERE owner_id = ?1 ORDER BY customer_id",
            )?
            .query_map([person], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn survey_scores(
        &self,
        customers: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<u32>, DbError> {
        let rows = self
            .prepare_cached(
                "SELECT score FROM surveys
                 WHERE customer_id IN (SELECT value FROM json_each(?1))
                   AND substr(taken_at, 1, 10) BETWEEN ?2 AND ?3
                 ORDER BY taken_at",
            )?
            .query_map(params![ids_json(customers)?, date(from), date(to)], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn leads_closed(
        &self,
        owner: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(u64, u64), DbError> {
        let (won, closed): (i64, i64) = self
            .prepare_cached(
                "SELECT coalesce(sum(stage = 'won'), 0), count(*) FROM leads
                 WHERE owner = ?1 AND stage IN ('won', 'lost') AND closed_at IS NOT NULL
                   AND substr(closed_at, 1, 10) BETWEEN ?2 AND ?3",
            )?
            .query_row(params![owner, date(from), date(to)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((u64::try_from(won).unwrap_or(0), u64::try_from(closed).unwrap_or(0)))
    }

    fn replies_due(
        &self,
        person: &str,
        customers: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ReplyRecord>, DbError> {
        let rows = self
            .prepare_cached(
                "SELECT reply_due_at, first_reply_at FROM tickets
                 WHERE (owner = ?1 OR customer_id IN (SELECT value FROM json_each(?2)))
                   AND substr(reply_due_at, 1, 10) BETWEEN ?3 AND ?4
                 ORDER BY reply_due_at, ticket_id",
            )?
            .query_map(params![person, ids_json(customers)?, date(from), date(to)], |r| {
                Ok(ReplyRecord { reply_due_at: r.get(0)?, first_reply_at: r.get(1)? })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
// The rest of this store's cases run on both backends in the store suite (`db::suite_accounts`);
// this one writes rows the way only SQLite's file holds them.
mod tests {
    use super::*;

    fn conn() -> Connection {
        *super::super::fresh()
    }

    #[test]
    fn scorecard_inputs_count_the_periods_surveys_leads_and_replies() {
        let conn = conn();
        conn.execute_batch(
            "INSERT INTO customer_owners VALUES ('c1', 'rep-01'), ('c2', 'rep-02');
             INSERT INTO surveys VALUES
               ('s1', 'c1', 'periodic', NULL, '2026-10-03T02:00:00Z', 'rep-01', 'x', 80, NULL, ''),
               ('s2', 'c1', 'periodic', NULL, '2026-11-03T02:00:00Z', 'rep-01', 'x', 10, NULL, ''),
               ('s3', 'c2', 'periodic', NULL, '2026-10-03T02:00:00Z', 'rep-02', 'x', 20, NULL, '');
             INSERT INTO leads VALUES
               ('l1', 'c1', 't', 'rep-01', 'rep-01', '2026-01-01T00:00:00Z', 'won', '1', 0, '2026-10-02T00:00:00Z', '2026-10-02T00:00:00Z', NULL),
               ('l2', 'c1', 't', 'rep-01', 'rep-01', '2026-01-01T00:00:00Z', 'lost', '1', 0, '2026-10-09T00:00:00Z', '2026-10-09T00:00:00Z', 'price'),
               ('l3', 'c1', 't', 'rep-01', 'rep-01', '2026-01-01T00:00:00Z', 'negotiation', '1', 0, '2026-10-09T00:00:00Z', NULL, NULL);",
        )
        .unwrap();
        let (from, to) = ("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap());
        let mine = conn.customers_owned_by("rep-01").unwrap();
        assert_eq!(mine, ["c1"]);
        assert_eq!(conn.survey_scores(&mine, from, to).unwrap(), [80]);
        assert_eq!(conn.leads_closed("rep-01", from, to).unwrap(), (1, 2));
        assert!(conn.replies_due("rep-01", &mine, from, to).unwrap().is_empty());
    }
}
