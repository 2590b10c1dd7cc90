#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)] // Tests may panic on a broken expectation.

use std::collections::BTreeMap;

use automerge::ActorId;
use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;

use super::*;
use crate::doc::{LeadEdit, OrganisationEdit, ScorecardEdit, SurveyEdit};
use crate::model::*;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 1, minute, 0).unwrap()
}

fn meta(by: &str, minute: u32) -> EditMeta {
    EditMeta::new(&UserId::from(by), at(minute), "test")
}

fn lead() -> Lead {
    Lead {
        id: LeadId::from("l1"),
        customer_id: CustomerId::from("c1"),
        title: "新生产线".into(),
        identified_by: UserId::from("rep-01"),
        identified_at: at(0),
        owner: UserId::from("rep-01"),
        criteria: LeadCriteria {
            expected_annual_purchase: Some(Decimal::new(1_000_000, 0)),
            profit_share_pct: None,
            potential: String::new(),
        },
        expected_value: Decimal::new(2_500_000, 0),
        stage: LeadStage::MarketResearch,
        history: BTreeMap::new(),
    }
}

fn survey() -> Survey {
    Survey {
        id: SurveyId::from("s1"),
        customer_id: CustomerId::from("c1"),
        kind: SurveyKind::Periodic,
        ticket_id: None,
        taken_at: at(1),
        taken_by: UserId::from("rep-01"),
        respondent: "李工".into(),
        items: BTreeMap::from([(SurveyItem::Overall, 80), (SurveyItem::Delivery, 70)]),
        comments: "交付偶有延迟".into(),
    }
}

fn copy(doc: &mut Document) -> Document {
    Document::load(doc.id().clone(), &doc.save(), ActorId::random()).unwrap()
}

fn stage(id: &str, from: LeadStage, to: LeadStage, minute: u32) -> LeadEdit {
    LeadEdit::ChangeStage(StageChange {
        id: EntryId::from(id),
        from,
        to,
        at: at(minute),
        by: UserId::from("rep-01"),
        learned: format!("learned at {minute}"),
        lost_reason: None,
    })
}

#[test]
fn a_record_reads_back_as_written_with_its_kind_and_id_from_the_header() {
    let doc = create_record(&lead(), ActorId::random(), &meta("rep-01", 0)).unwrap();
    assert_eq!(doc.id().to_string(), "lead/l1");
    assert_eq!(read_record::<Lead>(&doc).unwrap(), lead());
    let mut s = survey();
    s.kind = SurveyKind::AfterService;
    s.ticket_id = Some(TicketId::from("t1"));
    let doc = create_record(&s, ActorId::random(), &meta("rep-01", 0)).unwrap();
    assert_eq!(read_record::<Survey>(&doc).unwrap(), s);
    // The survey's own kind is stored beside, not over, the document's kind.
    let root = record_value(&doc, None).unwrap();
    assert_eq!(root["kind"], "survey");
    assert_eq!(root["survey_kind"], "after_service");
}

#[test]
fn an_action_commits_once_and_an_unchanged_record_writes_nothing() {
    let mut doc = create_record(&lead(), ActorId::random(), &meta("rep-01", 0)).unwrap();
    let before = doc.heads();
    update_record(&mut doc, &lead(), &meta("rep-01", 1)).unwrap();
    assert_eq!(doc.heads(), before, "writing the same record records nothing");
    let after = edit_record(
        &mut doc,
        &stage("h1", LeadStage::MarketResearch, LeadStage::FirstContact, 2),
        &meta("rep-01", 2),
    )
    .unwrap();
    assert_eq!(after.stage, LeadStage::FirstContact);
    let history = doc.history();
    assert_eq!(history.len(), 2, "creation and one action: {history:?}");
    assert_eq!(read_record::<Lead>(&doc).unwrap(), after);
}

#[test]
fn two_people_editing_different_fields_and_entries_merge_without_conflict() {
    let mut tablet = create_record(&lead(), ActorId::random(), &meta("rep-01", 0)).unwrap();
    let mut office = copy(&mut tablet);
    edit_record(
        &mut tablet,
        &stage("h1", LeadStage::MarketResearch, LeadStage::FirstContact, 1),
        &meta("rep-01", 1),
    )
    .unwrap();
    let mut renamed = read_record::<Lead>(&office).unwrap();
    renamed.title = "二期生产线".into();
    update_record(&mut office, &renamed, &meta("hq-01", 2)).unwrap();
    tablet.merge(&mut office).unwrap();
    let merged = read_record::<Lead>(&tablet).unwrap();
    assert_eq!(merged.title, "二期生产线");
    assert_eq!(merged.stage, LeadStage::FirstContact);
    assert_eq!(merged.history.len(), 1);
    assert!(tablet.conflicts().unwrap().is_empty(), "{:?}", tablet.conflicts());
}

#[test]
fn a_removed_entry_is_deleted_and_a_concurrent_addition_survives() {
    let card = Scorecard {
        id: ScorecardId::from("rep-01-2026-11"),
        person: UserId::from("rep-01"),
        period: "2026-11".into(),
        sales_target: Decimal::new(1_500_000, 0),
        ratings: BTreeMap::new(),
        published: None,
    };
    let rating = |id: &str, score| Rating {
        id: EntryId::from(id),
        rater: RaterKind::Supervisor,
        by: UserId::from("hq-01"),
        score,
        at: at(3),
        note: String::new(),
    };
    let mut a = create_record(&card, ActorId::random(), &meta("hq-01", 0)).unwrap();
    edit_record(&mut a, &ScorecardEdit::AddRating(rating("r1", 80)), &meta("hq-01", 1)).unwrap();
    let mut b = copy(&mut a);
    edit_record(&mut a, &ScorecardEdit::RemoveRating(EntryId::from("r1")), &meta("hq-01", 2))
        .unwrap();
    edit_record(&mut b, &ScorecardEdit::AddRating(rating("r2", 90)), &meta("hq-02", 2)).unwrap();
    a.merge(&mut b).unwrap();
    let merged = read_record::<Scorecard>(&a).unwrap();
    assert_eq!(merged.ratings.keys().map(EntryId::as_str).collect::<Vec<_>>(), ["r2"]);
}

#[test]
fn a_value_out_of_its_range_is_refused_and_nothing_is_written() {
    let mut s = survey();
    s.items.insert(SurveyItem::Service, 101);
    assert!(matches!(
        create_record(&s, ActorId::random(), &meta("rep-01", 0)),
        Err(DocError::OutOfRange { .. })
    ));
    let mut doc = create_record(&survey(), ActorId::random(), &meta("rep-01", 0)).unwrap();
    let heads = doc.heads();
    let amend = SurveyEdit::Amend {
        respondent: "李工".into(),
        items: BTreeMap::from([(SurveyItem::Overall, 120)]),
        comments: String::new(),
    };
    assert!(matches!(
        edit_record(&mut doc, &amend, &meta("hq-01", 1)),
        Err(DocError::OutOfRange { .. })
    ));
    assert_eq!(doc.heads(), heads);
    let org = Organisation {
        id: OrganisationId::from("o1"),
        project_id: ProjectId::from("p1"),
        name: "市一中".into(),
        analysis: OrganisationAnalysis::default(),
        offer: CandidateOffer::default(),
        status: OrganisationStatus::Candidate,
        approved_by_gm: None,
        approved_by_chairman: None,
        price: None,
        agreement: Agreement::default(),
        instalments: BTreeMap::new(),
        collections: BTreeMap::new(),
        reconciliations: BTreeMap::new(),
        reminders: BTreeMap::new(),
        loan_switches: BTreeMap::new(),
    };
    let mut doc = create_record(&org, ActorId::random(), &meta("hq-01", 0)).unwrap();
    let negative = OrganisationEdit::RecordCollection(Collection {
        id: EntryId::from("c1"),
        received_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        amount: Decimal::new(-5, 0),
        receipt_no: "R1".into(),
        by: UserId::from("fin-01"),
    });
    assert!(matches!(
        edit_record(&mut doc, &negative, &meta("fin-01", 1)),
        Err(DocError::OutOfRange { .. })
    ));
}

#[test]
fn the_authority_can_put_back_one_entry_or_one_field() {
    let mut doc = create_record(&lead(), ActorId::random(), &meta("rep-01", 0)).unwrap();
    edit_record(
        &mut doc,
        &stage("h1", LeadStage::MarketResearch, LeadStage::FirstContact, 1),
        &meta("rep-01", 1),
    )
    .unwrap();
    let authorised = record_value(&doc, None).unwrap();
    // A device rewrites the recorded stage change and the title.
    let mut tampered = read_record::<Lead>(&doc).unwrap();
    tampered.history.get_mut(&EntryId::from("h1")).unwrap().learned = "rewritten".into();
    tampered.title = "changed".into();
    update_record(&mut doc, &tampered, &meta("rep-01", 2)).unwrap();
    let server = meta("server", 3);
    restore_record_value(&mut doc, "history", Some("h1"), authorised["history"].get("h1"), &server)
        .unwrap();
    restore_record_value(&mut doc, "title", None, authorised.get("title"), &server).unwrap();
    assert_eq!(
        read_record::<Lead>(&doc).unwrap().history[&EntryId::from("h1")].learned,
        "learned at 1"
    );
    assert_eq!(read_record::<Lead>(&doc).unwrap().title, "新生产线");
    // An entry that was not there is taken out again.
    edit_record(
        &mut doc,
        &stage("h2", LeadStage::FirstContact, LeadStage::Solution, 4),
        &meta("rep-01", 4),
    )
    .unwrap();
    restore_record_value(&mut doc, "history", Some("h2"), None, &server).unwrap();
    assert_eq!(read_record::<Lead>(&doc).unwrap().history.len(), 1);
    // The header is the document's address, never a record field to restore.
    assert!(restore_record_value(&mut doc, "kind", None, None, &server).is_err());
}

#[test]
fn a_record_of_another_kind_or_with_an_unreadable_field_is_refused() {
    let doc = create_record(&lead(), ActorId::random(), &meta("rep-01", 0)).unwrap();
    assert!(matches!(read_record::<Survey>(&doc), Err(DocError::WrongKind { .. })));
    let mut l = lead();
    l.id = LeadId::from("l2");
    let mut lead_doc = create_record(&lead(), ActorId::random(), &meta("rep-01", 0)).unwrap();
    assert!(matches!(
        update_record(&mut lead_doc, &l, &meta("x", 1)),
        Err(DocError::WrongId { .. })
    ));
    // A tampered device writes a string where the record keeps a map.
    let restore = serde_json::json!("not a map");
    restore_record_value(&mut lead_doc, "criteria", None, Some(&restore), &meta("x", 2)).unwrap();
    assert!(matches!(read_record::<Lead>(&lead_doc), Err(DocError::InvalidRecord { .. })));
}
