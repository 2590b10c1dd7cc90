//! The management records' projection rows and reads on PostgreSQL (schema:
//! `accounts_schema`).
//!
//! As on SQLite, except: lists of ids travel as `text[]` (SQLite's `json_each` of a JSON
//! array), and an instalment's outstanding decimal text is compared as `numeric` (SQLite casts
//! it to REAL). The scorecard's inputs read two projection tables, `customer_owners` and
//! `tickets`.

use chrono::NaiveDate;
use kam_core::model::{LeadershipReview, Organisation, Scorecard};
use tokio_postgres::Row;

use super::pipeline::narrow;
use super::{PgDb, count};
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

impl ManagementProjection for PgDb {
    fn insert_scorecard(&self, card: &Scorecard) -> Result<(), DbError> {
        let published = card.published.as_ref();
        self.execute(
            "INSERT INTO scorecards(scorecard_id, person, period, sales_target, total, computed_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &card.id.as_str(),
                &card.person.as_str(),
                &card.period,
                &money(card.sales_target),
                &published.map(|p| p.total.to_string()),
                &published.map(|p| instant(p.computed_at)),
            ],
        )?;
        for line in published.iter().flat_map(|p| p.lines.values()) {
            self.execute(
                "INSERT INTO scorecard_lines(scorecard_id, measure, attainment, weight_pct, points,
                     basis) VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &card.id.as_str(),
                    &line.measure,
                    &line.attainment.to_string(),
                    &i64::from(line.weight_pct),
                    &line.points.to_string(),
                    &line.basis,
                ],
            )?;
        }
        for r in card.ratings.values() {
            self.execute(
                "INSERT INTO scorecard_ratings(scorecard_id, entry_id, rater, by_user, score, at,
                     note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &card.id.as_str(),
                    &r.id.as_str(),
                    &r.rater.as_str(),
                    &r.by.as_str(),
                    &i64::from(r.score),
                    &instant(r.at),
                    &r.note,
                ],
            )?;
        }
        Ok(())
    }

    fn insert_review(&self, review: &LeadershipReview) -> Result<(), DbError> {
        let attendees = serde_json::to_string(&review.attendees).map_err(json_err)?;
        self.execute(
            "INSERT INTO reviews(review_id, held_on, attendees) VALUES ($1, $2, $3)",
            &[&review.id.as_str(), &date(review.held_on), &attendees],
        )?;
        for f in review.findings.values() {
            self.execute(
                "INSERT INTO review_findings(review_id, entry_id, customer_id, kind, text)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &review.id.as_str(),
                    &f.id.as_str(),
                    &f.customer_id.as_str(),
                    &f.kind.as_str(),
                    &f.text,
                ],
            )?;
        }
        for m in review.measures.values() {
            let closed = m.closed.as_ref();
            self.execute(
                "INSERT INTO review_measures(review_id, entry_id, customer_id, text, owner, due_on,
                     closed_at, closed_by, closing_note)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &review.id.as_str(),
                    &m.id.as_str(),
                    &m.customer_id.as_ref().map(|c| c.as_str()),
                    &m.text,
                    &m.owner.as_str(),
                    &date(m.due_on),
                    &closed.map(|c| instant(c.at)),
                    &closed.map(|c| c.by.as_str()),
                    &closed.map(|c| c.note.as_str()),
                ],
            )?;
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
            self.execute(
                "INSERT INTO organisation_instalments(organisation_id, entry_id, due_on, amount,
                     received, outstanding, last_reminder_on, note)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &id,
                    &i.id.as_str(),
                    &date(i.due_on),
                    &money(i.amount),
                    &money(f.received),
                    &money(f.outstanding),
                    &f.last_reminder_on.map(date),
                    &i.note,
                ],
            )?;
        }
        for c in org.collections.values() {
            self.execute(
                "INSERT INTO organisation_collections(organisation_id, entry_id, received_on,
                     amount, receipt_no, by_user) VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &id,
                    &c.id.as_str(),
                    &date(c.received_on),
                    &money(c.amount),
                    &c.receipt_no,
                    &c.by.as_str(),
                ],
            )?;
        }
        for r in org.reconciliations.values() {
            self.execute(
                "INSERT INTO organisation_reconciliations(organisation_id, entry_id, on_day,
                     bank_balance, receipts_total, by_user, note)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &id,
                    &r.id.as_str(),
                    &date(r.on),
                    &money(r.bank_balance),
                    &money(r.receipts_total),
                    &r.by.as_str(),
                    &r.note,
                ],
            )?;
        }
        Ok(())
    }
}

fn insert_organisation_row(
    db: &PgDb,
    org: &Organisation,
    missing_clauses: &[&str],
) -> Result<(), DbError> {
    let missing = serde_json::to_string(missing_clauses).map_err(json_err)?;
    db.execute(
        "INSERT INTO organisations(organisation_id, project_id, name, status,
             accepted_price_per_m2, payment_ratio_pct, resource_exchange, owner_occupier_pct,
             approved_by_gm, approved_by_chairman, price_per_m2, price_method, missing_clauses,
             signed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        &[
            &org.id.as_str(),
            &org.project_id.as_str(),
            &org.name,
            &org.status.as_str(),
            &money(org.offer.accepted_price_per_m2),
            &org.offer.payment_ratio_pct.to_string(),
            &i64::from(org.offer.resource_exchange),
            &org.offer.owner_occupier_pct.to_string(),
            &org.approved_by_gm.as_ref().map(|s| s.by.as_str()),
            &org.approved_by_chairman.as_ref().map(|s| s.by.as_str()),
            &org.price.as_ref().map(|p| money(p.price_per_m2)),
            &org.price.as_ref().map(|p| p.method.as_str()),
            &missing,
            &org.agreement.signed.as_ref().map(|s| instant(s.at)),
        ],
    )?;
    Ok(())
}

fn lines_of(db: &PgDb, scorecard_id: &str) -> Result<Vec<ScorecardLineRow>, DbError> {
    let rows = db.rows(
        "SELECT measure, attainment, weight_pct, points, basis FROM scorecard_lines
         WHERE scorecard_id = $1 ORDER BY weight_pct DESC, measure",
        &[&scorecard_id],
    )?;
    rows.iter()
        .map(|r| {
            Ok(ScorecardLineRow {
                measure: r.try_get(0)?,
                attainment: r.try_get(1)?,
                weight_pct: narrow(r, 2)?,
                points: r.try_get(3)?,
                basis: r.try_get(4)?,
            })
        })
        .collect()
}

const SCORECARD_COLUMNS: &str =
    "SELECT scorecard_id, person, period, sales_target, total, computed_at FROM scorecards";

fn scorecard_row(r: &Row) -> Result<ScorecardRow, DbError> {
    Ok(ScorecardRow {
        scorecard_id: r.try_get(0)?,
        person: r.try_get(1)?,
        period: r.try_get(2)?,
        sales_target: r.try_get(3)?,
        total: r.try_get(4)?,
        computed_at: r.try_get(5)?,
        lines: Vec::new(),
    })
}

const MEASURE_COLUMNS: &str = "SELECT review_id, entry_id, customer_id, text, owner, due_on,
     closed_at, closed_by, closing_note FROM review_measures";

fn measure_row(r: &Row) -> Result<MeasureRow, DbError> {
    Ok(MeasureRow {
        review_id: r.try_get(0)?,
        entry_id: r.try_get(1)?,
        customer_id: r.try_get(2)?,
        text: r.try_get(3)?,
        owner: r.try_get(4)?,
        due_on: r.try_get(5)?,
        closed_at: r.try_get(6)?,
        closed_by: r.try_get(7)?,
        closing_note: r.try_get(8)?,
    })
}

/// The columns of a review with its counts of findings and open measures.
const REVIEW_COLUMNS: &str = "SELECT r.review_id, r.held_on, r.attendees,
        (SELECT count(*) FROM review_findings f WHERE f.review_id = r.review_id),
        (SELECT count(*) FROM review_measures m
         WHERE m.review_id = r.review_id AND m.closed_at IS NULL)
     FROM reviews r";

/// The attendees of a stored review, by user id.
fn attendees_of(r: &Row) -> Result<std::collections::BTreeMap<String, String>, DbError> {
    let attendees: String = r.try_get(2)?;
    serde_json::from_str(&attendees).map_err(json_err)
}

fn review_row(r: &Row) -> Result<ReviewRow, DbError> {
    Ok(ReviewRow {
        review_id: r.try_get(0)?,
        held_on: r.try_get(1)?,
        attendees: attendees_of(r)?.into_values().collect(),
        findings: count(r, 3)?,
        open_measures: count(r, 4)?,
    })
}

const ORGANISATION_COLUMNS: &str = "SELECT organisation_id, project_id, name, status,
     accepted_price_per_m2, payment_ratio_pct, resource_exchange, owner_occupier_pct,
     approved_by_gm, approved_by_chairman, price_per_m2, price_method, missing_clauses, signed_at
     FROM organisations";

fn organisation_row(r: &Row) -> Result<OrganisationRow, DbError> {
    let missing: String = r.try_get(12)?;
    Ok(OrganisationRow {
        organisation_id: r.try_get(0)?,
        project_id: r.try_get(1)?,
        name: r.try_get(2)?,
        status: r.try_get(3)?,
        accepted_price_per_m2: r.try_get(4)?,
        payment_ratio_pct: r.try_get(5)?,
        resource_exchange: narrow(r, 6)?,
        owner_occupier_pct: r.try_get(7)?,
        approved_by_gm: r.try_get(8)?,
        approved_by_chairman: r.try_get(9)?,
        price_per_m2: r.try_get(10)?,
        price_method: r.try_get(11)?,
        missing_clauses: serde_json::from_str(&missing).map_err(json_err)?,
        signed_at: r.try_get(13)?,
    })
}

const INSTALMENT_COLUMNS: &str = "SELECT organisation_id, entry_id, due_on, amount, received,
     outstanding, last_reminder_on, note FROM organisation_instalments";

fn instalment_row(r: &Row) -> Result<InstalmentRow, DbError> {
    Ok(InstalmentRow {
        organisation_id: r.try_get(0)?,
        entry_id: r.try_get(1)?,
        due_on: r.try_get(2)?,
        amount: r.try_get(3)?,
        received: r.try_get(4)?,
        outstanding: r.try_get(5)?,
        last_reminder_on: r.try_get(6)?,
        note: r.try_get(7)?,
    })
}

/// A column of text values, one per row.
fn texts(rows: &[Row]) -> Result<Vec<String>, DbError> {
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

impl ManagementQueries for PgDb {
    fn scorecard_periods(&self) -> Result<Vec<String>, DbError> {
        texts(&self.rows("SELECT DISTINCT period FROM scorecards ORDER BY period DESC", &[])?)
    }

    fn scorecards(&self, period: Option<&str>) -> Result<Vec<ScorecardRow>, DbError> {
        let sql = format!(
            "{SCORECARD_COLUMNS} WHERE $1::text IS NULL OR period = $1
             ORDER BY period DESC, person"
        );
        let mut rows = self
            .rows(&sql, &[&period])?
            .iter()
            .map(scorecard_row)
            .collect::<Result<Vec<_>, _>>()?;
        for row in &mut rows {
            row.lines = lines_of(self, &row.scorecard_id)?;
        }
        Ok(rows)
    }

    fn scorecard(&self, scorecard_id: &str) -> Result<Option<ScorecardDetail>, DbError> {
        let sql = format!("{SCORECARD_COLUMNS} WHERE scorecard_id = $1");
        let Some(row) = self.row(&sql, &[&scorecard_id])? else { return Ok(None) };
        let mut card = scorecard_row(&row)?;
        card.lines = lines_of(self, scorecard_id)?;
        let rows = self.rows(
            "SELECT entry_id, rater, by_user, score, at, note FROM scorecard_ratings
             WHERE scorecard_id = $1 ORDER BY at, entry_id",
            &[&scorecard_id],
        )?;
        let ratings = rows
            .iter()
            .map(|r| {
                Ok(RatingRow {
                    entry_id: r.try_get(0)?,
                    rater: r.try_get(1)?,
                    by_user: r.try_get(2)?,
                    score: narrow(r, 3)?,
                    at: r.try_get(4)?,
                    note: r.try_get(5)?,
                })
            })
            .collect::<Result<_, DbError>>()?;
        Ok(Some(ScorecardDetail { card, ratings }))
    }

    fn reviews(&self) -> Result<Vec<ReviewRow>, DbError> {
        let sql = format!("{REVIEW_COLUMNS} ORDER BY r.review_id DESC");
        self.rows(&sql, &[])?.iter().map(review_row).collect()
    }

    fn review(&self, review_id: &str) -> Result<Option<ReviewDetail>, DbError> {
        let sql = format!("{REVIEW_COLUMNS} WHERE r.review_id = $1");
        let Some(row) = self.row(&sql, &[&review_id])? else { return Ok(None) };
        let review = review_row(&row)?;
        let attendee_ids = attendees_of(&row)?;
        let rows = self.rows(
            "SELECT entry_id, customer_id, kind, text FROM review_findings
             WHERE review_id = $1 ORDER BY customer_id, kind, entry_id",
            &[&review_id],
        )?;
        let findings_list = rows
            .iter()
            .map(|r| {
                Ok(FindingRow {
                    entry_id: r.try_get(0)?,
                    customer_id: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    text: r.try_get(3)?,
                })
            })
            .collect::<Result<_, DbError>>()?;
        let sql = format!("{MEASURE_COLUMNS} WHERE review_id = $1 ORDER BY due_on, entry_id");
        let measures =
            self.rows(&sql, &[&review_id])?.iter().map(measure_row).collect::<Result<_, _>>()?;
        Ok(Some(ReviewDetail {
            review,
            attendee_ids: attendee_ids.into_iter().collect(),
            findings_list,
            measures,
        }))
    }

    fn open_measures_before(&self, month: &str) -> Result<Vec<MeasureRow>, DbError> {
        let sql = format!(
            "{MEASURE_COLUMNS} WHERE closed_at IS NULL AND review_id < $1
             ORDER BY due_on, review_id, entry_id"
        );
        self.rows(&sql, &[&month])?.iter().map(measure_row).collect()
    }

    fn organisations(&self) -> Result<Vec<OrganisationRow>, DbError> {
        let sql = format!("{ORGANISATION_COLUMNS} ORDER BY project_id, name, organisation_id");
        self.rows(&sql, &[])?.iter().map(organisation_row).collect()
    }

    fn organisation(&self, organisation_id: &str) -> Result<Option<OrganisationDetail>, DbError> {
        let sql = format!("{ORGANISATION_COLUMNS} WHERE organisation_id = $1");
        let Some(row) = self.row(&sql, &[&organisation_id])? else { return Ok(None) };
        let organisation = organisation_row(&row)?;
        let sql =
            format!("{INSTALMENT_COLUMNS} WHERE organisation_id = $1 ORDER BY due_on, entry_id");
        let instalments = self
            .rows(&sql, &[&organisation_id])?
            .iter()
            .map(instalment_row)
            .collect::<Result<_, _>>()?;
        Ok(Some(OrganisationDetail {
            organisation,
            instalments,
            collections: collections(self, organisation_id)?,
            reconciliations: reconciliations(self, organisation_id)?,
        }))
    }

    fn outstanding_instalments(&self) -> Result<Vec<InstalmentRow>, DbError> {
        // Outstanding is decimal text; "0.00" (and any zero form) is settled.
        let sql = format!(
            "{INSTALMENT_COLUMNS} WHERE outstanding::numeric > 0
             ORDER BY due_on, organisation_id, entry_id"
        );
        self.rows(&sql, &[])?.iter().map(instalment_row).collect()
    }

    fn active_reps(&self) -> Result<Vec<String>, DbError> {
        texts(&self.rows(
            "SELECT user_id FROM users WHERE role = 'rep' AND disabled_at IS NULL
             ORDER BY user_id",
            &[],
        )?)
    }

    fn customers_owned_by(&self, person: &str) -> Result<Vec<String>, DbError> {
        texts(&self.rows(
            "SELECT customer_id FROM customer_owners WHERE owner_id = $1 ORDER BY customer_id",
            &[&person],
        )?)
    }

    fn survey_scores(
        &self,
        customers: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<u32>, DbError> {
        let rows = self.rows(
            "SELECT score FROM surveys
             WHERE customer_id = ANY($1::text[])
               AND left(taken_at, 10) BETWEEN $2 AND $3
             ORDER BY taken_at",
            &[&customers, &date(from), &date(to)],
        )?;
        rows.iter().map(|r| narrow(r, 0)).collect()
    }

    fn leads_closed(
        &self,
        owner: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(u64, u64), DbError> {
        let row = self.one(
            "SELECT count(*) FILTER (WHERE stage = 'won'), count(*) FROM leads
             WHERE owner = $1 AND stage IN ('won', 'lost') AND closed_at IS NOT NULL
               AND left(closed_at, 10) BETWEEN $2 AND $3",
            &[&owner, &date(from), &date(to)],
        )?;
        Ok((count(&row, 0)?, count(&row, 1)?))
    }

    fn replies_due(
        &self,
        person: &str,
        customers: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ReplyRecord>, DbError> {
        let rows = self.rows(
            "SELECT reply_due_at, first_reply_at FROM tickets
             WHERE (owner = $1 OR customer_id = ANY($2::text[]))
               AND left(reply_due_at, 10) BETWEEN $3 AND $4
             ORDER BY reply_due_at, ticket_id",
            &[&person, &customers, &date(from), &date(to)],
        )?;
        rows.iter()
            .map(|r| Ok(ReplyRecord { reply_due_at: r.try_get(0)?, first_reply_at: r.try_get(1)? }))
            .collect()
    }
}

fn collections(db: &PgDb, organisation_id: &str) -> Result<Vec<CollectionRow>, DbError> {
    let rows = db.rows(
        "SELECT entry_id, received_on, amount, receipt_no, by_user
         FROM organisation_collections WHERE organisation_id = $1
         ORDER BY received_on, entry_id",
        &[&organisation_id],
    )?;
    rows.iter()
        .map(|r| {
            Ok(CollectionRow {
                entry_id: r.try_get(0)?,
                received_on: r.try_get(1)?,
                amount: r.try_get(2)?,
                receipt_no: r.try_get(3)?,
                by_user: r.try_get(4)?,
            })
        })
        .collect()
}

fn reconciliations(db: &PgDb, organisation_id: &str) -> Result<Vec<ReconciliationRow>, DbError> {
    let rows = db.rows(
        "SELECT entry_id, on_day, bank_balance, receipts_total, by_user, note
         FROM organisation_reconciliations WHERE organisation_id = $1
         ORDER BY on_day, entry_id",
        &[&organisation_id],
    )?;
    rows.iter()
        .map(|r| {
            Ok(ReconciliationRow {
                entry_id: r.try_get(0)?,
                on_day: r.try_get(1)?,
                bank_balance: r.try_get(2)?,
                receipts_total: r.try_get(3)?,
                by_user: r.try_get(4)?,
                note: r.try_get(5)?,
            })
        })
        .collect()
}
