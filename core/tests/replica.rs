//! The local replica: persistence across reopen, incremental chunks and compaction, the local
//! index and its queries, local rule checks, the outbox, purge, failed writes and the cache.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)] // Tests may panic on a broken expectation.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use kam_core::Policy;
use kam_core::doc::{CustomerEdit, EditMeta, TicketEdit};
use kam_core::model::*;
use kam_core::replica::{OutboxStatus, Replica, ReplicaError, ReplicaOptions};
use kam_core::rules::SlaState;
use rust_decimal::Decimal;
use serde_json::json;

/// Monday 2026-11-23 10:00 in Beijing.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
}

fn meta(who: &str) -> EditMeta {
    EditMeta::new(&UserId::from(who), now(), "test")
}

fn customer(id: &str, name: &str, owner: &str, tier: Tier, score: u32) -> Customer {
    Customer {
        id: CustomerId::from(id),
        created_at: now() - Duration::days(400),
        profile: CustomerProfile { name: name.into(), ..Default::default() },
        annual_sales: BTreeMap::new(),
        profit_contribution: Decimal::ZERO,
        owners: vec![UserId::from(owner)],
        classification: Classification {
            strategic: tier == Tier::Strategic,
            tier,
            grade: None,
            score: Some(score),
        },
        credit: CreditTerms::default(),
        contacts: BTreeMap::new(),
        visits: BTreeMap::new(),
        late_payments: BTreeMap::new(),
    }
}

fn visit(id: &str, level: VisitLevel, date: NaiveDate) -> VisitRecord {
    VisitRecord {
        id: VisitId::from(id),
        level,
        date,
        visitor: UserId::from("rep-a"),
        topics: vec!["年度合同".into()],
        personnel_changes: String::new(),
        problems: String::new(),
        demand: String::new(),
        competitor_activity: String::new(),
    }
}

fn ticket(id: &str, customer: &str, opened_at: DateTime<Utc>, kind: TicketKind) -> ServiceTicket {
    ServiceTicket {
        id: TicketId::from(id),
        customer_id: CustomerId::from(customer),
        kind,
        priority: TicketPriority::Normal,
        title: format!("ticket {id}"),
        description: String::new(),
        opened_at,
        opened_by: UserId::from("rep-a"),
        owner: None,
        status: TicketStatus::New,
        history: BTreeMap::new(),
        replies: BTreeMap::new(),
        preventive_action: None,
        follow_up: None,
    }
}

fn open(dir: &tempfile::TempDir) -> Replica {
    Replica::open(dir.path().join("tablet.kam"), ReplicaOptions::default()).unwrap()
}

#[test]
fn each_replica_file_has_its_own_installation_id_kept_across_reopen_and_copies() {
    let dir = tempfile::tempdir().unwrap();
    let r = open(&dir);
    let id = r.installation_id().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7, "{id}");
    drop(r);
    assert_eq!(open(&dir).installation_id(), id, "the file keeps its installation");
    let other = tempfile::tempdir().unwrap();
    assert_ne!(open(&other).installation_id(), id, "another file is another installation");
    // A restored backup is the same installation: a copy of the file keeps the id.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("tablet.kam"), restored.path().join("tablet.kam")).unwrap();
    assert_eq!(open(&restored).installation_id(), id);
}

#[test]
fn edits_survive_reopen_and_a_later_edit_writes_only_its_own_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(&dir);
    let mut c = customer("c1", "宏达机械有限公司", "rep-a", Tier::Main, 60);
    for i in 0..30 {
        let v = visit(
            &format!("v{i}"),
            VisitLevel::AccountManager,
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        );
        c.visits.insert(v.id.clone(), v);
    }
    r.create_customer(&c, &meta("rep-a")).unwrap();
    let actor = r.actor_id().clone();
    drop(r);

    let mut r = open(&dir);
    assert_eq!(r.actor_id(), &actor, "the device keeps its actor id");
    assert_eq!(r.customer(&c.id).unwrap(), c);
    let snapshot = r.storage_stats().unwrap().snapshot_bytes;
    let edit = CustomerEdit::UpsertContact(Contact {
        id: ContactId::from("k1"),
        name: "王芳".into(),
        title: "采购经理".into(),
        phone: "13900000000".into(),
        email: String::new(),
        primary: true,
    });
    r.edit_customer(&c.id, &edit, &meta("rep-a")).unwrap();
    let stats = r.storage_stats().unwrap();
    assert_eq!(stats.chunks, 1);
    // The first save after a load must not rewrite the whole history (automerge issue 592).
    assert!(
        stats.chunk_bytes < snapshot / 2,
        "chunk of {} bytes for one contact vs snapshot {snapshot}",
        stats.chunk_bytes
    );
    drop(r);
    let mut r = open(&dir);
    assert_eq!(r.customer(&c.id).unwrap().contacts[&ContactId::from("k1")].name, "王芳");
}

#[test]
fn chunks_are_compacted_into_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let options = ReplicaOptions { compact_after_chunks: 5, ..ReplicaOptions::default() };
    let mut r = Replica::open(dir.path().join("t.kam"), options.clone()).unwrap();
    let c = customer("c1", "Acme", "rep-a", Tier::General, 10);
    r.create_customer(&c, &meta("rep-a")).unwrap();
    let mut chunk_counts = Vec::new();
    for year in 2015..2027 {
        let edit = CustomerEdit::SetAnnualSales { year, amount: Decimal::new(i64::from(year), 0) };
        r.edit_customer(&c.id, &edit, &meta("rep-a")).unwrap();
        chunk_counts.push(r.storage_stats().unwrap().chunks);
    }
    assert_eq!(chunk_counts, vec![1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2]);
    drop(r);
    let mut r = Replica::open(dir.path().join("t.kam"), options).unwrap();
    assert_eq!(r.customer(&c.id).unwrap().annual_sales.len(), 12);
}

#[test]
fn my_customers_by_tier_search_and_handover() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(&dir);
    r.create_customer(&customer("c1", "一般贸易公司", "rep-a", Tier::General, 90), &meta("hq"))
        .unwrap();
    r.create_customer(&customer("c2", "战略伙伴集团", "rep-a", Tier::Strategic, 50), &meta("hq"))
        .unwrap();
    r.create_customer(&customer("c3", "Key Account Ltd", "rep-a", Tier::Key, 70), &meta("hq"))
        .unwrap();
    r.create_customer(&customer("c4", "Key Rival 100%", "rep-b", Tier::Key, 80), &meta("hq"))
        .unwrap();
    r.create_ticket(&ticket("t1", "c3", now(), TicketKind::Inquiry), &meta("rep-a")).unwrap();

    let mine: Vec<_> = r.my_customers_by_tier(&UserId::from("rep-a")).unwrap();
    let order: Vec<_> = mine.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(order, ["c2", "c3", "c1"], "strategic, key, general");
    assert_eq!(mine[1].open_tickets, 1);

    let found: Vec<_> =
        r.search_customers("key", 10).unwrap().into_iter().map(|c| c.id.0).collect();
    assert_eq!(found, ["c4", "c3"], "case-insensitive, higher score first within a tier");
    let found: Vec<_> =
        r.search_customers("伙伴", 10).unwrap().into_iter().map(|c| c.id.0).collect();
    assert_eq!(found, ["c2"]);
    let found: Vec<_> =
        r.search_customers("100%", 10).unwrap().into_iter().map(|c| c.id.0).collect();
    assert_eq!(found, ["c4"], "% is matched literally, not as a wildcard");
    assert!(r.search_customers("_", 10).unwrap().is_empty());

    let handover = CustomerEdit::SetOwners(vec![UserId::from("rep-b")]);
    r.edit_customer(&CustomerId::from("c3"), &handover, &meta("hq")).unwrap();
    let a: Vec<_> = r
        .my_customers_by_tier(&UserId::from("rep-a"))
        .unwrap()
        .into_iter()
        .map(|c| c.id.0)
        .collect();
    let b: Vec<_> = r
        .my_customers_by_tier(&UserId::from("rep-b"))
        .unwrap()
        .into_iter()
        .map(|c| c.id.0)
        .collect();
    // Within the key tier, the higher score (c4: 80) comes before c3 (70).
    assert_eq!(
        (a, b),
        (vec!["c2".to_owned(), "c1".to_owned()], vec!["c4".to_owned(), "c3".to_owned()])
    );
}

#[test]
fn visits_due_this_week_and_overdue_follow_the_cadence() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(&dir);
    let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    let mut strategic = customer("s1", "战略客户甲", "rep-a", Tier::Strategic, 90);
    for (id, level, date) in [
        // Monthly account-manager visit: last on 10-20, due 11-20 → overdue on 11-23.
        ("v1", VisitLevel::AccountManager, d(10, 20)),
        // Quarterly quality visit: last on 08-27, due 11-27 → due this week (week ends 11-29).
        ("v2", VisitLevel::Quality, d(8, 27)),
        // Half-yearly leadership visit: last on 09-01, due 2027-03-01 → not listed.
        ("v3", VisitLevel::Leadership, d(9, 1)),
        // Half-yearly technical visit: last on 06-01, due 12-01 → next week, not listed.
        ("v4", VisitLevel::Technical, d(6, 1)),
    ] {
        let v = visit(id, level, date);
        strategic.visits.insert(v.id.clone(), v);
    }
    r.create_customer(&strategic, &meta("hq")).unwrap();
    // A general customer has no cadence at all.
    r.create_customer(&customer("g1", "一般客户", "rep-a", Tier::General, 10), &meta("hq"))
        .unwrap();

    let due = r.visits_due(&UserId::from("rep-a"), now()).unwrap();
    let got: Vec<_> = due.iter().map(|v| (v.level, v.next_due_on, v.overdue)).collect();
    assert_eq!(
        got,
        vec![
            (VisitLevel::AccountManager, d(11, 20), true),
            (VisitLevel::Quality, d(11, 27), false)
        ]
    );
    // Recording the overdue visit takes it off the list at once.
    let edit = CustomerEdit::UpsertVisit(visit("v5", VisitLevel::AccountManager, d(11, 23)));
    r.edit_customer(&CustomerId::from("s1"), &edit, &meta("rep-a")).unwrap();
    let due = r.visits_due(&UserId::from("rep-a"), now()).unwrap();
    assert_eq!(due.iter().map(|v| v.level).collect::<Vec<_>>(), vec![VisitLevel::Quality]);
    assert!(r.visits_due(&UserId::from("rep-b"), now()).unwrap().is_empty());
}

#[test]
fn open_tickets_are_ordered_by_reply_urgency() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(&dir);
    r.create_customer(&customer("c1", "客户", "rep-a", Tier::Key, 50), &meta("hq")).unwrap();
    let h = Duration::hours;
    r.create_ticket(&ticket("fresh", "c1", now() - h(1), TicketKind::Inquiry), &meta("rep-a"))
        .unwrap();
    r.create_ticket(&ticket("late", "c1", now() - h(30), TicketKind::Complaint), &meta("rep-a"))
        .unwrap();
    r.create_ticket(&ticket("soon", "c1", now() - h(22), TicketKind::AfterSales), &meta("rep-a"))
        .unwrap();
    r.create_ticket(&ticket("replied", "c1", now() - h(5), TicketKind::Quality), &meta("rep-a"))
        .unwrap();
    let reply = TicketEdit::AddReply(Reply {
        id: EntryId::from("r1"),
        at: now() - h(4),
        by: UserId::from("rep-a"),
        body: "收到".into(),
    });
    r.edit_ticket(&TicketId::from("replied"), &reply, &meta("rep-a")).unwrap();

    let rows = r.open_tickets_by_urgency(Some(&UserId::from("rep-a")), now()).unwrap();
    let order: Vec<_> = rows.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(order, ["late", "soon", "fresh", "replied"]);
    assert!(matches!(rows[0].sla, SlaState::Overdue { .. }));
    assert!(matches!(rows[1].sla, SlaState::DueSoon { .. }));
    assert!(matches!(rows[3].sla, SlaState::Met { .. }));
    assert_eq!(rows[0].customer_name, "客户");
}

#[test]
fn the_ticket_state_machine_is_checked_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(&dir);
    let id = TicketId::from("t1");
    r.create_ticket(&ticket("t1", "c1", now(), TicketKind::Quality), &meta("rep-a")).unwrap();
    let heads = r.heads(&kam_core::doc::ticket_doc_id(&id)).unwrap();
    let jump = TicketEdit::ChangeStatus(StatusChange {
        id: EntryId::from("h1"),
        from: TicketStatus::New,
        to: TicketStatus::Closed,
        at: now(),
        by: UserId::from("rep-a"),
        note: String::new(),
    });
    assert!(matches!(r.edit_ticket(&id, &jump, &meta("rep-a")), Err(ReplicaError::Rule(_))));
    assert_eq!(r.heads(&kam_core::doc::ticket_doc_id(&id)).unwrap(), heads, "nothing written");
    assert_eq!(r.ticket(&id).unwrap().status, TicketStatus::New);
}

#[test]
fn the_outbox_keeps_pending_commands_and_rejections_until_dismissed() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(&dir);
    let hold = json!({ "unit": "3-1502", "buyer": "b1" });
    let e = r.outbox_enqueue("key-1", "hold", &hold, now()).unwrap();
    assert_eq!(e.status, OutboxStatus::Pending);
    // Queuing again after a crash returns the same entry; reusing the key differently fails.
    assert_eq!(r.outbox_enqueue("key-1", "hold", &hold, now()).unwrap(), e);
    assert!(matches!(
        r.outbox_enqueue("key-1", "hold", &json!({ "unit": "other" }), now()),
        Err(ReplicaError::OutboxKeyReused(_))
    ));
    r.outbox_record_attempt("key-1", now()).unwrap();
    r.outbox_record_attempt("key-1", now()).unwrap();
    assert!(matches!(r.outbox_dismiss("key-1", now()), Err(ReplicaError::OutboxState { .. })));
    let rejected =
        r.outbox_record_answer("key-1", false, &json!({ "reason": "unit_taken" }), now()).unwrap();
    assert_eq!((rejected.status, rejected.attempts), (OutboxStatus::Rejected, 2));
    // A duplicate answer for a retried command does not overwrite the first.
    let again = r.outbox_record_answer("key-1", true, &json!({ "ok": true }), now()).unwrap();
    assert_eq!(again.status, OutboxStatus::Rejected);
    assert_eq!(again.answer, Some(json!({ "reason": "unit_taken" })));
    drop(r);
    let mut r = open(&dir);
    assert_eq!(
        r.outbox_with_status(OutboxStatus::Rejected).unwrap().len(),
        1,
        "kept across restarts"
    );
    assert!(matches!(
        r.outbox_record_attempt("key-1", now()),
        Err(ReplicaError::OutboxState { .. })
    ));
    r.outbox_dismiss("key-1", now()).unwrap();
    assert!(r.outbox_with_status(OutboxStatus::Rejected).unwrap().is_empty());
    assert!(matches!(r.outbox_dismiss("nope", now()), Err(ReplicaError::UnknownOutboxKey(_))));
}

#[test]
fn purge_removes_the_document_and_its_index_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = open(&dir);
    let c = customer("c1", "客户", "rep-a", Tier::Key, 50);
    let id = r.create_customer(&c, &meta("hq")).unwrap();
    assert!(r.purge_document(&id).unwrap());
    assert!(r.my_customers_by_tier(&UserId::from("rep-a")).unwrap().is_empty());
    assert!(matches!(r.customer(&c.id), Err(ReplicaError::NotFound(_))));
    assert!(!r.purge_document(&id).unwrap());
}

#[test]
fn a_failed_write_leaves_memory_and_disk_agreeing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tablet.kam");
    let mut r = Replica::open(&path, ReplicaOptions::default()).unwrap();
    let c = customer("c1", "原名", "rep-a", Tier::Key, 50);
    r.create_customer(&c, &meta("hq")).unwrap();
    // Make the next chunk write fail, as a full disk would.
    let saboteur = rusqlite::Connection::open(&path).unwrap();
    saboteur
        .execute_batch(
            "CREATE TRIGGER fail_chunks BEFORE INSERT ON document_chunks
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap();
    let rename =
        CustomerEdit::UpdateProfile(CustomerProfile { name: "新名".into(), ..c.profile.clone() });
    assert!(matches!(
        r.edit_customer(&c.id, &rename, &meta("rep-a")),
        Err(ReplicaError::Sqlite(_))
    ));
    assert_eq!(r.customer(&c.id).unwrap().profile.name, "原名", "memory reloaded from disk");
    assert_eq!(r.my_customers_by_tier(&UserId::from("rep-a")).unwrap()[0].name, "原名");
    saboteur.execute_batch("DROP TRIGGER fail_chunks").unwrap();
    r.edit_customer(&c.id, &rename, &meta("rep-a")).unwrap();
    assert_eq!(r.my_customers_by_tier(&UserId::from("rep-a")).unwrap()[0].name, "新名");
}

#[test]
fn the_cache_is_bounded_and_documents_load_lazily() {
    let dir = tempfile::tempdir().unwrap();
    let options =
        ReplicaOptions { cache_capacity_docs: NonZeroUsize::new(2).unwrap(), ..Default::default() };
    let mut r = Replica::open(dir.path().join("t.kam"), options.clone()).unwrap();
    for i in 0..5 {
        r.create_customer(&customer(&format!("c{i}"), "客户", "rep-a", Tier::Main, i), &meta("hq"))
            .unwrap();
    }
    assert!(r.storage_stats().unwrap().cached_documents <= 2);
    drop(r);
    let mut r = Replica::open(dir.path().join("t.kam"), options).unwrap();
    assert_eq!(r.storage_stats().unwrap().cached_documents, 0, "opening loads no document");
    assert_eq!(r.my_customers_by_tier(&UserId::from("rep-a")).unwrap().len(), 5);
    assert_eq!(r.storage_stats().unwrap().cached_documents, 0, "list screens use the index only");
    for i in 0..5 {
        r.customer(&CustomerId(format!("c{i}"))).unwrap();
    }
    assert_eq!(r.storage_stats().unwrap().cached_documents, 2);
}

#[test]
fn a_sync_request_speaks_for_a_bounded_batch_and_the_cache_shrinks_back_after() {
    use kam_core::replica::{MAX_DOCS_PER_REQUEST, SyncSession};
    let dir = tempfile::tempdir().unwrap();
    let options =
        ReplicaOptions { cache_capacity_docs: NonZeroUsize::new(8).unwrap(), ..Default::default() };
    let mut r = Replica::open(dir.path().join("t.kam"), options).unwrap();
    let made = MAX_DOCS_PER_REQUEST + 20;
    for i in 0..made {
        r.create_customer(
            &customer(&format!("c{i:03}"), "客户", "rep-a", Tier::Main, 1),
            &meta("a"),
        )
        .unwrap();
    }
    assert_eq!(r.pending_push_count().unwrap(), made as u64);
    let mut session = SyncSession::default();
    let request = r.build_sync_request(&mut session, 1 << 20).unwrap();
    assert_eq!(request.messages.len(), MAX_DOCS_PER_REQUEST);
    let cached = r.storage_stats().unwrap().cached_documents;
    // The eight still cached from their creation speak first, then 248 are loaded: every
    // document of the round is held, where the configured bound alone would keep eight.
    assert_eq!(cached, MAX_DOCS_PER_REQUEST, "the round's documents stay loaded");
    r.abort_sync_session(&mut session);
    assert_eq!(r.storage_stats().unwrap().cached_documents, 8, "back to the configured bound");
    assert_eq!(r.pending_push_count().unwrap(), made as u64, "nothing counts as sent yet");
}

#[test]
fn a_policy_change_rebuilds_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.kam");
    let mut r = Replica::open(&path, ReplicaOptions::default()).unwrap();
    let mut c = customer("s1", "战略客户", "rep-a", Tier::Strategic, 90);
    let v = visit("v1", VisitLevel::AccountManager, NaiveDate::from_ymd_opt(2026, 10, 1).unwrap());
    c.visits.insert(v.id.clone(), v);
    r.create_customer(&c, &meta("hq")).unwrap();
    let account_manager_due = |r: &Replica| {
        r.visits_due(&UserId::from("rep-a"), now())
            .unwrap()
            .into_iter()
            .filter(|v| v.level == VisitLevel::AccountManager)
            .count()
    };
    assert_eq!(account_manager_due(&r), 1, "monthly: visited 10-01, due 11-01, overdue");
    drop(r);
    // A company whose policy asks for a visit every three months: due 2027-01-01.
    let policy = Policy::from_toml_str(
        "version = \"quarterly-visits\"\n[visits]\naccount_manager_months = 3\n",
    )
    .unwrap();
    let r = Replica::open(&path, ReplicaOptions { policy, ..Default::default() }).unwrap();
    assert_eq!(account_manager_due(&r), 0, "the index was rebuilt under the new policy");
}
