//! The two storage backends answer alike over a whole company: the demo company, loaded by
//! the server's own use cases into its embedded SQLite store, is copied into PostgreSQL
//! (`db::postgres::import`), and every table's rows, every document's stored bytes and
//! headquarters' questions (lists, files, reports, pipeline, scorecards, reviews,
//! organisations) come back the same from both (ADR 0024).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests may panic.

use chrono::{TimeZone, Utc};
use kam_core::demo::DemoSpec;

use crate::data::{load_demo, open_store};
use crate::db::desk::DeskState;
use crate::db::hq::{CustomerFilter, TicketFilter};
use crate::db::pipeline::LeadFilter;
use crate::db::postgres::import::copy_from_sqlite;
use crate::db::postgres::testing::TestDatabase;
use crate::db::sales::YearMonth;
use crate::db::{Db, DocumentStore};

/// The same question asked of both backends, compared as they print (every field); a
/// difference is shown from where it starts.
fn same<T: std::fmt::Debug>(what: &str, ask: impl Fn(&dyn Db) -> T, sqlite: &dyn Db, pg: &dyn Db) {
    let (a, b) = (format!("{:?}", ask(sqlite)), format!("{:?}", ask(pg)));
    if a != b {
        let from = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        let start = a.floor_char_boundary(from.saturating_sub(80));
        let show = |s: &str| s.get(start..).unwrap_or("").chars().take(400).collect::<String>();
        panic!(
            "{what}: SQLite and PostgreSQL differ from byte {from}:\n{}\n{}",
            show(&a),
            show(&b)
        );
    }
}

#[test]
fn the_demo_company_copied_into_postgresql_answers_as_it_did_on_sqlite() {
    let Some(database) = TestDatabase::migrated() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(dir.path()).unwrap();
    let spec =
        DemoSpec { customers: 60, tickets: 200, units: 120, buyers: 20, ..DemoSpec::standard(3) };
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).single().unwrap();
    load_demo(&mut store, &spec, now).unwrap().unwrap();
    let pg = database.db();
    let started = std::time::Instant::now();
    let counts = copy_from_sqlite(store.sql(), &pg).unwrap();
    let took = started.elapsed();
    let rows: u64 = counts.iter().map(|c| c.sqlite_rows).sum();
    for count in &counts {
        assert_eq!(count.sqlite_rows, count.postgres_rows, "{}", count.table);
    }
    println!(
        "backends: demo company copied into PostgreSQL: {} tables, {rows} rows in {:.2} s, every \
         table's rows equal",
        counts.len(),
        took.as_secs_f64()
    );
    // The desk's file goes into the same database.
    let desk_counts = copy_from_sqlite(store.desk_conn(), &pg).unwrap();
    for count in &desk_counts {
        assert_eq!(count.sqlite_rows, count.postgres_rows, "{}", count.table);
    }
    let desk_rows: u64 = desk_counts.iter().map(|c| c.sqlite_rows).sum();
    println!(
        "backends: the desk's file copied into the same database: {} tables, {desk_rows} rows",
        desk_counts.len()
    );
    let event = kam_core::demo::generate(&spec, now, store.policy()).event.id;
    let (desk, pg_desk) = (store.desk(), &pg);
    assert_eq!(
        desk.desk_event(event.as_str()).unwrap(),
        pg_desk.desk_event(event.as_str()).unwrap()
    );
    assert_eq!(desk.buyers(event.as_str()).unwrap(), pg_desk.buyers(event.as_str()).unwrap());
    let units = desk.control_units(event.as_str()).unwrap();
    assert!(!units.is_empty());
    assert_eq!(
        format!("{units:?}"),
        format!("{:?}", pg_desk.control_units(event.as_str()).unwrap())
    );
    assert_eq!(
        format!("{:?}", desk.event_books(event.as_str()).unwrap()),
        format!("{:?}", pg_desk.event_books(event.as_str()).unwrap())
    );
    // The ledger's hash chain verifies where it now lives.
    let (here, there) =
        (crate::desk::ledger::verify(desk).unwrap(), crate::desk::ledger::verify(pg_desk).unwrap());
    assert_eq!(format!("{here:?}"), format!("{there:?}"));
    assert!(there.entries > 0 && there.first_bad_seq.is_none(), "{there:?}");
    println!("backends: the desk's ledger verifies on PostgreSQL as on SQLite: {there:?}");
    let (sqlite, pg): (&dyn Db, &dyn Db) = (store.conn(), &pg);

    // Documents: the same ids, positions, heads and bytes.
    let seqs = sqlite.document_seqs().unwrap();
    assert_eq!(seqs, pg.document_seqs().unwrap());
    assert_eq!(sqlite.current_seq().unwrap(), pg.current_seq().unwrap());
    for (id, _) in &seqs {
        let id: kam_core::doc::DocId = id.parse().unwrap();
        assert_eq!(sqlite.document_row(&id).unwrap(), pg.document_row(&id).unwrap(), "{id}");
        assert_eq!(sqlite.stored_snapshot(&id).unwrap(), pg.stored_snapshot(&id).unwrap(), "{id}");
    }

    // Headquarters' questions.
    let seen = now - chrono::Duration::days(7);
    same("overview", |db| db.overview(now, seen).unwrap(), sqlite, pg);
    same("customers by tier", |db| db.customers_by_tier().unwrap(), sqlite, pg);
    same("customers", |db| db.customers(&CustomerFilter::default()).unwrap(), sqlite, pg);
    for tier in ["strategic", "key", "main", "general"] {
        let filter = CustomerFilter { tier: Some(tier.into()), ..CustomerFilter::default() };
        same(tier, |db| db.customers(&filter).unwrap(), sqlite, pg);
    }
    let customers = sqlite.customers(&CustomerFilter::default()).unwrap();
    for line in customers.iter().take(20) {
        same("customer file", |db| db.customer_file(&line.customer_id).unwrap(), sqlite, pg);
    }
    same("devices", |db| db.devices().unwrap(), sqlite, pg);
    // The store lists tickets in no particular order: compared by id.
    let tickets = |db: &dyn Db, filter: &TicketFilter| {
        let mut rows = db.tickets(filter).unwrap();
        rows.sort_by(|a, b| a.ticket_id.cmp(&b.ticket_id));
        rows
    };
    same("open tickets", |db| tickets(db, &TicketFilter::all(true)), sqlite, pg);
    same("all tickets", |db| tickets(db, &TicketFilter::all(false)), sqlite, pg);
    let all_tickets = tickets(sqlite, &TicketFilter::all(false));
    let some = &all_tickets[all_tickets.len() / 2];
    let narrow = TicketFilter {
        kind: Some(some.kind.clone()),
        owner: some.owner.clone(),
        without_text: true,
        ..TicketFilter::default()
    };
    same(
        "tickets of a kind and owner, without text",
        |db| db.tickets(&narrow).unwrap(),
        sqlite,
        pg,
    );
    let ids: Vec<String> = all_tickets.iter().step_by(7).map(|t| t.ticket_id.clone()).collect();
    let by_id = |db: &dyn Db| {
        let mut rows = db.tickets_by_id(&ids).unwrap();
        rows.sort_by(|a, b| a.ticket_id.cmp(&b.ticket_id));
        rows
    };
    same("tickets by id", by_id, sqlite, pg);
    same("regrade inputs", |db| db.regrade_inputs(2025).unwrap(), sqlite, pg);
    same("monthly accounts", |db| db.monthly_accounts().unwrap(), sqlite, pg);
    same("monthly tickets", |db| db.monthly_account_tickets().unwrap(), sqlite, pg);
    let month = YearMonth::parse("2026-10").unwrap();
    same("visits in month", |db| db.visits_in_month(month).unwrap(), sqlite, pg);
    same("credit records", |db| db.credit_records().unwrap(), sqlite, pg);
    let sales = |db: &dyn Db| -> std::collections::BTreeMap<_, _> {
        db.sales_between(month.add_months(-12), month, None).unwrap().into_iter().collect()
    };
    same("sales", sales, sqlite, pg);
    let some: Vec<String> = customers.iter().step_by(3).map(|c| c.customer_id.clone()).collect();
    let some_sales = |db: &dyn Db| -> std::collections::BTreeMap<_, _> {
        db.sales_between(month.add_months(-12), month, Some(&some)).unwrap().into_iter().collect()
    };
    same("sales of some customers", some_sales, sqlite, pg);
    assert!(!some_sales(sqlite).is_empty() && some_sales(sqlite).len() < sales(sqlite).len());
    assert!(!sales(sqlite).is_empty());
    same("leads", |db| db.leads(&LeadFilter::default()).unwrap(), sqlite, pg);
    same("plans", |db| db.plans(None).unwrap(), sqlite, pg);
    same("surveys", |db| db.surveys(None).unwrap(), sqlite, pg);
    same("surveyed customers", |db| db.surveyed_customers().unwrap(), sqlite, pg);
    same("scorecards", |db| db.scorecards(None).unwrap(), sqlite, pg);
    for card in sqlite.scorecards(None).unwrap().iter().take(5) {
        same("scorecard", |db| db.scorecard(&card.scorecard_id).unwrap(), sqlite, pg);
    }
    same("reviews", |db| db.reviews().unwrap(), sqlite, pg);
    same("open measures", |db| db.open_measures_before("2026-12").unwrap(), sqlite, pg);
    same("organisations", |db| db.organisations().unwrap(), sqlite, pg);
    same("instalments", |db| db.outstanding_instalments().unwrap(), sqlite, pg);
    same("active reps", |db| db.active_reps().unwrap(), sqlite, pg);
    assert!(!customers.is_empty() && !sqlite.leads(&LeadFilter::default()).unwrap().is_empty());
}

#[test]
fn a_copy_into_a_database_that_holds_data_copies_nothing() {
    let Some(database) = TestDatabase::migrated() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut store = open_store(dir.path()).unwrap();
    let spec =
        DemoSpec { customers: 6, tickets: 10, units: 10, buyers: 2, ..DemoSpec::standard(1) };
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).single().unwrap();
    load_demo(&mut store, &spec, now).unwrap().unwrap();
    let pg = database.db();
    pg.set_meta("already", "here").unwrap();
    let refused = copy_from_sqlite(store.sql(), &pg).unwrap_err();
    assert!(refused.to_string().contains("meta"), "{refused}");
    assert_eq!(pg.current_seq().unwrap(), 0, "nothing copied");
    assert_eq!(pg.document_seqs().unwrap(), vec![]);
}

/// The server's sync round answered in-process by a store, as the HTTP route would.
struct OnStore {
    store: std::sync::Mutex<crate::store::Store>,
    who: crate::auth::Principal,
}

impl kam_core::sync_client::SyncTransport for OnStore {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, kam_core::sync_client::TransportError> {
        use kam_core::sync_client::TransportError;
        let request = kam_core::wire::SyncRequest::decode(request)
            .map_err(|e| TransportError::Network(e.to_string()))?;
        let mut store = self.store.lock().unwrap();
        let round = crate::sync::sync_round(&mut store, &self.who, &request, Utc::now())
            .map_err(|e| TransportError::Network(e.to_string()))?;
        round.response.encode().map_err(|e| TransportError::Network(e.to_string()))
    }
}

#[test]
fn a_tablet_syncs_with_a_store_on_postgresql_and_its_edit_reaches_headquarters() {
    use kam_core::model::{Contact, ContactId, UserId};
    use kam_core::replica::{Replica, ReplicaOptions};
    use kam_core::sync_client::{SyncOptions, sync_now};

    use crate::db::ServerDatabase;
    use crate::store::Store;

    let Some(database) = TestDatabase::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    let backend = ServerDatabase::postgres(database.node_pool()).unwrap();
    let mut store =
        Store::open_on(backend, dir.path().join(crate::db::STORE_FILE), Default::default())
            .unwrap();
    let spec =
        DemoSpec { customers: 30, tickets: 40, units: 20, buyers: 4, ..DemoSpec::standard(2) };
    let now = Utc::now();
    load_demo(&mut store, &spec, now).unwrap().unwrap();
    let data = kam_core::demo::generate(&spec, now, store.policy());
    let login =
        crate::data::demo_logins(spec.reps).into_iter().find(|l| l.user_id == "rep-01").unwrap();
    let who = crate::auth::authenticate(store.conn(), &login.token).unwrap().unwrap();
    let rep = UserId::from("rep-01");
    let mine = data.customers.iter().find(|c| c.owners.contains(&rep)).unwrap().id.clone();
    let theirs = data.customers.iter().find(|c| !c.owners.contains(&rep)).unwrap().id.clone();
    let server = OnStore { store: std::sync::Mutex::new(store), who };

    let mut tablet =
        Replica::open(dir.path().join("tablet.sqlite3"), ReplicaOptions::default()).unwrap();
    let first = sync_now(&mut tablet, &server, &SyncOptions::default(), &mut |_| {}).unwrap();
    assert!(first.snapshots_received > 0, "{first:?}");
    assert_eq!(tablet.customer(&mine).unwrap().id, mine, "the rep's customer came down");
    assert!(tablet.customer(&theirs).is_err(), "another rep's customer did not");

    let contact = Contact {
        id: ContactId("pg-contact-1".into()),
        name: "王采购".into(),
        title: "采购经理".into(),
        phone: "13800000000".into(),
        email: "wang@example.com".into(),
        primary: false,
    };
    let meta = kam_core::doc::EditMeta::new(&rep, Utc::now(), "customer.upsert_contact");
    tablet
        .edit_customer(&mine, &kam_core::doc::CustomerEdit::UpsertContact(contact), &meta)
        .unwrap();
    let second = sync_now(&mut tablet, &server, &SyncOptions::default(), &mut |_| {}).unwrap();
    assert!(second.messages_sent > 0, "{second:?}");

    let mut store = server.store.into_inner().unwrap();
    store.project_all(Utc::now()).unwrap();
    let file = store.conn().customer_file(mine.as_str()).unwrap().unwrap();
    assert!(file.contacts.iter().any(|c| c.name == "王采购"), "{:?}", file.contacts);
    assert_eq!(store.conn().open_violations().unwrap().len(), 0, "a rep may add a contact");
    println!(
        "backends: a tablet synced with a store on PostgreSQL: first download {} snapshots in {} \
         rounds; its contact reached headquarters' customer file",
        first.snapshots_received, first.rounds
    );
}
