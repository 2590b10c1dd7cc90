//! A customer's guarded fields and collections, written to a customer the server holds or
//! to one a device creates.

use chrono::NaiveDate;
use kam_core::demo::DemoData;
use kam_core::doc::{ActorId, CustomerEdit, create_customer, edit_customer, read_customer};
use kam_core::model::{
    Classification, Contact, ContactId, CreditTerms, Customer, CustomerProfile, Grade, LatePayment,
    LatePaymentId, PaymentTerms, Tier, UserId, VisitId, VisitLevel, VisitRecord,
};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::auth::Role;
use crate::sync::authority::Violation;
use crate::sync::authority::test_support::{
    Case, Expect, assert_settled, created, customer, data, device_copy_as, held, json,
    merge_and_enforce, meta, no_edit, run, server_customer, who, writes,
};

const REP: (&str, Role) = ("rep-01", Role::Rep);
const FINANCE: (&str, Role) = ("fin", Role::Finance);
const HQ: (&str, Role) = ("hq", Role::Hq);

fn late_payment(reference: &str) -> LatePayment {
    LatePayment {
        id: LatePaymentId::new(),
        reference: reference.into(),
        due_on: NaiveDate::from_ymd_opt(2026, 9, 30).unwrap(),
        paid_on: None,
    }
}

fn visit(by: &str) -> VisitRecord {
    VisitRecord {
        id: VisitId::new(),
        level: VisitLevel::AccountManager,
        date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        visitor: UserId::from(by),
        topics: vec!["年度框架协议".into()],
        personnel_changes: String::new(),
        problems: String::new(),
        demand: "二季度扩产".into(),
        competitor_activity: String::new(),
    }
}

/// The fixture customer with one late payment recorded by finance.
fn customer_with_late_payment(data: &DemoData) -> (Customer, LatePayment) {
    let mut c = customer(data);
    let late = late_payment("INV-2026-0917");
    c.late_payments.insert(late.id.clone(), late.clone());
    (c, late)
}

/// A customer as a rep's tablet creates it: unclassified, without credit terms.
fn fresh_customer(data: &DemoData) -> Customer {
    Customer {
        classification: Classification::default(),
        credit: CreditTerms::default(),
        ..customer(data)
    }
}

/// The case's user creates `c` on a device.
fn creates(c: Customer) -> crate::sync::authority::test_support::Arrange<'static> {
    created(move |user| create_customer(&c, ActorId::random(), &meta(user, "create")).unwrap())
}

#[test]
fn the_owners_classification_and_credit_of_a_customer_by_role() {
    let data = data();
    let c = customer(&data);
    let renamed =
        CustomerProfile { name: "上海新名字有限公司".into(), ..c.profile.clone() };
    let raised = CreditTerms { credit_limit: Decimal::from(5_000_000), ..c.credit.clone() };
    let credit = CreditTerms {
        credit_grade: Some(Grade::A),
        credit_limit: Decimal::new(123_456_789, 2),
        payment_terms: PaymentTerms::NetDays { days: 90 },
    };
    let classification = Classification {
        strategic: true,
        tier: Tier::Strategic,
        grade: Some(Grade::A),
        score: Some(91),
    };
    let handed = vec![UserId::from("rep-02")];
    let grabbed = vec![UserId::from("rep-01"), UserId::from("rep-02")];
    let promoted =
        Classification { tier: Tier::Key, grade: Some(Grade::A), ..c.classification.clone() };
    let every_group = vec![
        CustomerEdit::SetOwners(vec![UserId::from("rep-02")]),
        CustomerEdit::SetClassification(Classification {
            grade: Some(Grade::A),
            ..c.classification.clone()
        }),
        CustomerEdit::SetCredit(CreditTerms {
            payment_terms: PaymentTerms::NetDays { days: 120 },
            ..c.credit.clone()
        }),
        CustomerEdit::SetProfitContribution(Decimal::from(777)),
    ];
    let (c, renamed, credit, classification, handed) =
        (&c, &renamed, &credit, &classification, &handed);
    let cases = vec![
        Case::new(
            "a rep raising a credit limit is restored, the rename in the same merge kept",
            REP,
            writes(vec![
                CustomerEdit::UpdateProfile(renamed.clone()),
                CustomerEdit::SetCredit(raised.clone()),
            ]),
            Expect::Exactly(vec![Violation {
                field: "/credit".into(),
                rule: "credit_finance_hq_only",
                old_value: json(&c.credit),
                new_value: json(&raised),
            }]),
        )
        .actions(&["authority.restore_credit"])
        .then(move |o| {
            assert_eq!(o.found[0].old_value["credit_limit"], json!("500000"));
            assert_eq!(o.found[0].new_value["credit_limit"], json!("5000000"));
            let after = read_customer(&o.server).unwrap();
            assert_eq!(after.credit, c.credit, "credit terms restored");
            assert_eq!(&after.profile, renamed, "the rename in the same merge is kept");
            assert_eq!(after.classification, c.classification);
            assert_eq!(after.owners, c.owners);
            assert!(o.server.conflicts().unwrap().is_empty(), "the restore supersedes the rep's");
            // The device receives the correction with the server's answer.
            assert_eq!(read_customer(&o.device).unwrap().credit, c.credit);
            assert_eq!(&read_customer(&o.device).unwrap().profile, renamed);
        }),
        Case::new(
            "finance sets credit and classification",
            FINANCE,
            writes(vec![
                CustomerEdit::SetCredit(credit.clone()),
                CustomerEdit::SetClassification(classification.clone()),
            ]),
            Expect::Kept,
        )
        .actions(&[])
        .then(move |o| {
            let after = read_customer(&o.server).unwrap();
            assert_eq!(&after.credit, credit);
            assert_eq!(&after.classification, classification);
        }),
        Case::new(
            "finance may not hand a customer over",
            FINANCE,
            writes(vec![CustomerEdit::SetOwners(handed.clone())]),
            Expect::Rules(vec!["owners_hq_only"]),
        )
        .then(move |o| assert_eq!(read_customer(&o.server).unwrap().owners, c.owners)),
        Case::new(
            "hq hands a customer over",
            HQ,
            writes(vec![CustomerEdit::SetOwners(handed.clone())]),
            Expect::Kept,
        )
        .then(move |o| assert_eq!(&read_customer(&o.server).unwrap().owners, handed)),
        Case::new(
            "a rep adding a colleague (or taking the customer) is restored",
            REP,
            writes(vec![CustomerEdit::SetOwners(grabbed)]),
            Expect::Exactly(vec![Violation {
                field: "/owners".into(),
                rule: "owners_hq_only",
                old_value: json!(["rep-01"]),
                new_value: json!(["rep-01", "rep-02"]),
            }]),
        )
        .actions(&["authority.restore_owners"])
        .then(|o| {
            assert_eq!(read_customer(&o.server).unwrap().owners, vec![UserId::from("rep-01")]);
        }),
        Case::new(
            "a rep setting tier and grade is restored",
            REP,
            writes(vec![CustomerEdit::SetClassification(promoted.clone())]),
            Expect::Exactly(vec![Violation {
                field: "/classification".into(),
                rule: "classification_finance_hq_only",
                old_value: json(&c.classification),
                new_value: json(&promoted),
            }]),
        )
        .then(move |o| {
            assert_eq!(o.found[0].new_value["tier"], json!("key"));
            let after = read_customer(&o.server).unwrap();
            assert_eq!(after.classification, c.classification);
            assert_eq!(after.classification.tier, Tier::Main);
            assert_eq!(after.classification.grade, Some(Grade::B));
        }),
        Case::new(
            "every guarded group a rep wrote is restored in its own commit",
            REP,
            writes(every_group),
            Expect::Rules(vec![
                "owners_hq_only",
                "classification_finance_hq_only",
                "credit_finance_hq_only",
            ]),
        )
        .actions(&[
            "authority.restore_owners",
            "authority.restore_classification",
            "authority.restore_credit",
        ])
        .then(move |o| {
            let after = read_customer(&o.server).unwrap();
            assert_eq!(
                (&after.owners, &after.classification, &after.credit),
                (&c.owners, &c.classification, &c.credit)
            );
            assert_eq!(after.profit_contribution, Decimal::from(777), "unguarded field kept");
        }),
    ];
    run(cases, &held(|| server_customer(c)));
}

#[test]
fn late_payments_and_annual_sales_are_finances() {
    let data = data();
    let c = customer(&data);
    let recorded = late_payment("INV-2026-1001");
    let (owing, late) = customer_with_late_payment(&data);
    let paid = LatePayment { paid_on: NaiveDate::from_ymd_opt(2026, 10, 8), ..late.clone() };
    let years: Vec<i32> = c.annual_sales.keys().copied().collect();
    assert_eq!(years.len(), 2, "the fixture has two years of sales");
    let sales_rule = "annual_sales_finance_hq_only";
    let (c, recorded, owing, late, years) = (&c, &recorded, &owing, &late, &years);
    let mut cases = vec![
        Case::new(
            "a late payment a rep records is taken back",
            REP,
            writes(vec![CustomerEdit::UpsertLatePayment(recorded.clone())]),
            Expect::Exactly(vec![Violation {
                field: format!("/late_payments/{}", recorded.id),
                rule: "late_payments_finance_hq_only",
                old_value: Value::Null,
                new_value: json(recorded),
            }]),
        )
        .actions(&["authority.restore_late_payments"])
        .then(|o| {
            assert!(read_customer(&o.server).unwrap().late_payments.is_empty());
            assert!(
                read_customer(&o.device).unwrap().late_payments.is_empty(),
                "the device learns"
            );
        }),
        Case::new(
            "a late payment finance records is kept",
            FINANCE,
            writes(vec![CustomerEdit::UpsertLatePayment(recorded.clone())]),
            Expect::Kept,
        )
        .then(move |o| {
            assert_eq!(&read_customer(&o.server).unwrap().late_payments[&recorded.id], recorded);
        }),
        Case::new(
            "finance removes a late payment",
            FINANCE,
            writes(vec![CustomerEdit::RemoveLatePayment(late.id.clone())]),
            Expect::Kept,
        )
        .on(held(move || server_customer(owing)))
        .then(|o| assert!(read_customer(&o.server).unwrap().late_payments.is_empty())),
        Case::new(
            "annual sales a rep adds, changes or removes are restored in one commit",
            REP,
            writes(vec![
                CustomerEdit::RemoveAnnualSales { year: years[0] },
                CustomerEdit::SetAnnualSales { year: years[1], amount: Decimal::from(99_000_000) },
                CustomerEdit::SetAnnualSales { year: years[1] + 1, amount: Decimal::from(1) },
            ]),
            Expect::Fields(vec![
                (format!("/annual_sales/{}", years[0]), sales_rule),
                (format!("/annual_sales/{}", years[1]), sales_rule),
                (format!("/annual_sales/{}", years[1] + 1), sales_rule),
            ]),
        )
        .actions(&["authority.restore_annual_sales"])
        .then(move |o| {
            assert_eq!(o.found[1].new_value, json!("99000000"));
            assert_eq!(read_customer(&o.server).unwrap().annual_sales, c.annual_sales);
        }),
        Case::new(
            "annual sales finance sets are kept",
            FINANCE,
            writes(vec![CustomerEdit::SetAnnualSales { year: years[1], amount: Decimal::from(7) }]),
            Expect::Kept,
        )
        .then(move |o| {
            let sales = read_customer(&o.server).unwrap().annual_sales;
            assert_eq!(sales[&years[1]], Decimal::from(7));
        }),
    ];
    for (name, edit) in [
        ("a late payment a rep settles is restored", CustomerEdit::UpsertLatePayment(paid)),
        (
            "a late payment a rep removes is restored",
            CustomerEdit::RemoveLatePayment(late.id.clone()),
        ),
    ] {
        cases.push(
            Case::new(
                name,
                REP,
                writes(vec![edit]),
                Expect::Rules(vec!["late_payments_finance_hq_only"]),
            )
            .on(held(move || server_customer(owing)))
            .then(move |o| {
                assert_eq!(o.found[0].old_value, json(late));
                assert_eq!(read_customer(&o.server).unwrap().late_payments, owing.late_payments);
            }),
        );
    }
    run(cases, &held(|| server_customer(c)));
}

#[test]
fn who_removes_a_visit_record_or_a_contact() {
    let data = data();
    let c = customer(&data);
    let c = &c;
    let visit_gone = c.visits.values().next().unwrap();
    let contact_gone = c.contacts.values().next().unwrap();
    let mut cases = Vec::new();
    // Only headquarters removes a visit record: it is evidence.
    for (user, role, kept) in [
        ("rep-01", Role::Rep, false),
        ("fin", Role::Finance, false),
        ("hq", Role::Hq, true),
        ("admin", Role::Admin, true),
    ] {
        let remove = writes(vec![CustomerEdit::RemoveVisit(visit_gone.id.clone())]);
        let name = format!("{user} removes a visit record");
        cases.push(if kept {
            Case::new(name, (user, role), remove, Expect::Kept).then(move |o| {
                assert!(!read_customer(&o.server).unwrap().visits.contains_key(&visit_gone.id));
            })
        } else {
            let restored = Violation {
                field: format!("/visits/{}", visit_gone.id),
                rule: "visits_removed_by_hq_only",
                old_value: json(visit_gone),
                new_value: Value::Null,
            };
            Case::new(name, (user, role), remove, Expect::Exactly(vec![restored]))
                .actions(&["authority.restore_visits"])
                .then(move |o| {
                    let visits = read_customer(&o.server).unwrap().visits;
                    assert_eq!(visits, c.visits, "the evidence is back, unchanged");
                })
        });
    }
    // Only the customer's owners and headquarters remove a contact.
    for (user, role, kept) in [
        ("rep-01", Role::Rep, true),
        ("rep-02", Role::Rep, false),
        ("fin", Role::Finance, false),
        ("hq", Role::Hq, true),
    ] {
        let remove = writes(vec![CustomerEdit::RemoveContact(contact_gone.id.clone())]);
        let name = format!("{user} removes a contact");
        cases.push(if kept {
            Case::new(name, (user, role), remove, Expect::Kept).then(move |o| {
                let contacts = read_customer(&o.server).unwrap().contacts;
                assert!(!contacts.contains_key(&contact_gone.id));
            })
        } else {
            let expect = Expect::Rules(vec!["contacts_removed_by_owners"]);
            Case::new(name, (user, role), remove, expect).then(move |o| {
                assert_eq!(read_customer(&o.server).unwrap().contacts, c.contacts);
            })
        });
    }
    let new_visit = visit("rep-01");
    let mut recording = vec![CustomerEdit::UpsertVisit(new_visit.clone())];
    recording.extend(c.visits.keys().map(|id| CustomerEdit::RemoveVisit(id.clone())));
    let mut expected = c.visits.clone();
    expected.insert(new_visit.id.clone(), new_visit);
    let each = Expect::Each { rules: &["visits_removed_by_hq_only"], count: c.visits.len() };
    cases.push(
        Case::new(
            "a rep removing visits while recording one keeps the new one",
            REP,
            writes(recording),
            each,
        )
        .actions(&["authority.restore_visits"])
        .then(move |o| assert_eq!(read_customer(&o.server).unwrap().visits, expected)),
    );
    run(cases, &held(|| server_customer(c)));
}

#[test]
fn a_customer_created_on_a_device_holds_only_what_its_creator_may_write() {
    let data = data();
    let fresh = fresh_customer(&data);
    let with_owners = |owners: &[&str]| Customer {
        owners: owners.iter().map(|o| UserId::from(*o)).collect(),
        ..fresh.clone()
    };
    let handed_out = with_owners(&["rep-02", "rep-03"]);
    let classified = customer(&data);
    assert_ne!(classified.classification, Classification::default(), "the fixture is classified");
    assert_ne!(classified.credit, CreditTerms::default(), "the fixture has credit terms");
    let (owing, late) = customer_with_late_payment(&data);
    let owing = Customer {
        classification: Classification::default(),
        credit: CreditTerms::default(),
        ..owing
    };
    assert!(
        !owing.annual_sales.is_empty() && !owing.visits.is_empty() && !owing.contacts.is_empty()
    );
    let (handed_out_, classified_, owing_) = (&handed_out, &classified, &owing);
    let cases = vec![
        Case::new(
            "a new customer created by a rep is owned by its creator",
            REP,
            no_edit,
            Expect::Exactly(vec![Violation {
                field: "/owners".into(),
                rule: "new_customer_owned_by_creator",
                old_value: json!(["rep-01"]),
                new_value: json!(["rep-02", "rep-03"]),
            }]),
        )
        .on(creates(handed_out.clone()))
        .actions(&["authority.set_creator_owner"])
        .then(move |o| {
            let after = read_customer(&o.server).unwrap();
            assert_eq!(after.owners, vec![UserId::from("rep-01")]);
            assert_eq!(after.profile, handed_out_.profile, "the rest of the customer is kept");
        }),
        Case::new("a new customer already owned by its creator", REP, no_edit, Expect::Kept)
            .on(creates(with_owners(&["rep-01"]))),
        Case::new("a new customer created by hq for a rep", HQ, no_edit, Expect::Kept)
            .on(creates(with_owners(&["rep-02"])))
            .then(|o| {
                assert_eq!(read_customer(&o.server).unwrap().owners, vec![UserId::from("rep-02")]);
            }),
        Case::new(
            "a rep's new customer arrives unclassified and without credit",
            REP,
            no_edit,
            Expect::Fields(vec![
                ("/classification".into(), "classification_finance_hq_only"),
                ("/credit".into(), "credit_finance_hq_only"),
            ]),
        )
        .on(creates(classified.clone()))
        .then(move |o| {
            let after = read_customer(&o.server).unwrap();
            assert_eq!(after.classification, Classification::default());
            assert_eq!(after.credit, CreditTerms::default());
            assert_eq!(after.profile, classified_.profile, "the rest of the customer is kept");
        }),
        Case::new(
            "finance creates a classified customer with credit terms",
            ("finance-01", Role::Finance),
            no_edit,
            Expect::Kept,
        )
        .on(creates(classified.clone()))
        .then(move |o| assert_eq!(read_customer(&o.server).unwrap().credit, classified_.credit)),
        Case::new(
            "a rep's new customer keeps its sales, contacts and visits but not late payments",
            REP,
            no_edit,
            Expect::Exactly(vec![Violation {
                field: format!("/late_payments/{}", late.id),
                rule: "late_payments_finance_hq_only",
                old_value: Value::Null,
                new_value: json(&late),
            }]),
        )
        .on(creates(owing.clone()))
        .then(move |o| {
            let after = read_customer(&o.server).unwrap();
            assert!(after.late_payments.is_empty());
            assert_eq!(
                (&after.annual_sales, &after.visits, &after.contacts),
                (&owing_.annual_sales, &owing_.visits, &owing_.contacts)
            );
        }),
        Case::new(
            "finance creates a customer with its late payments",
            FINANCE,
            no_edit,
            Expect::Kept,
        )
        .on(creates(owing.clone())),
    ];
    run(cases, &creates(fresh.clone()));
}

#[test]
fn a_concurrent_rep_credit_change_yields_to_the_authorised_value_already_held() {
    let data = data();
    let c = customer(&data);
    let hq_credit = CreditTerms { credit_limit: Decimal::from(800_000), ..c.credit.clone() };
    let rep_credit = CreditTerms { credit_limit: Decimal::from(9_000_000), ..c.credit.clone() };
    let mut compensated = Vec::new();
    // Both orders of actor ids, so the rep's concurrent write wins the last-writer-wins
    // tie once and loses it once; either way the server ends with HQ's value.
    for (hq_actor, rep_actor) in [([0x01_u8; 16], [0xfe_u8; 16]), ([0xfe; 16], [0x01; 16])] {
        let mut server = server_customer(&c);
        let mut hq_device = device_copy_as(&mut server, ActorId::from(hq_actor));
        let mut rep_device = device_copy_as(&mut server, ActorId::from(rep_actor));

        edit_customer(
            &mut hq_device,
            &CustomerEdit::SetCredit(hq_credit.clone()),
            &meta("hq", "c"),
        )
        .unwrap();
        let found = merge_and_enforce(&mut server, &mut hq_device, &who("hq", Role::Hq));
        assert_eq!(found, Vec::new());
        assert_eq!(read_customer(&server).unwrap().credit, hq_credit);

        // The rep, offline, never saw HQ's change.
        edit_customer(
            &mut rep_device,
            &CustomerEdit::SetCredit(rep_credit.clone()),
            &meta("rep-01", "c"),
        )
        .unwrap();
        let rep = who("rep-01", Role::Rep);
        let found = merge_and_enforce(&mut server, &mut rep_device, &rep);
        assert_eq!(read_customer(&server).unwrap().credit, hq_credit, "HQ's value stands");
        for v in &found {
            assert_eq!(
                (v.field.as_str(), v.rule, &v.old_value, &v.new_value),
                ("/credit", "credit_finance_hq_only", &json(&hq_credit), &json(&rep_credit))
            );
        }
        compensated.push(found.len());
        assert_settled(&mut server, &rep);
        rep_device.merge(&mut server).unwrap();
        assert_eq!(read_customer(&rep_device).unwrap().credit, hq_credit);
    }
    compensated.sort_unstable();
    assert_eq!(compensated, vec![0, 1], "compensated exactly when the rep's write won");
}

/// New and changed contacts and visits need no check: anyone who sees a customer writes them.
#[test]
fn anyone_who_sees_a_customer_adds_and_changes_contacts_and_visits_unchecked() {
    use crate::sync::authority::test_support::{device_copy, merge_touches_guarded};
    let data = data();
    let c = customer(&data);
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let new_visit = visit("rep-01");
    let changed_visit =
        VisitRecord { demand: "需求下调".into(), ..c.visits.values().next().unwrap().clone() };
    let new_contact = Contact {
        id: ContactId::new(),
        name: "王经理".into(),
        title: "采购".into(),
        phone: "13800000000".into(),
        email: String::new(),
        primary: false,
    };
    let changed_contact =
        Contact { phone: "13900000000".into(), ..c.contacts.values().next().unwrap().clone() };
    writes(vec![
        CustomerEdit::UpsertVisit(new_visit.clone()),
        CustomerEdit::UpsertVisit(changed_visit.clone()),
        CustomerEdit::UpsertContact(new_contact.clone()),
        CustomerEdit::UpsertContact(changed_contact.clone()),
    ])(&mut device, "rep-01");
    assert!(!merge_touches_guarded(&mut server, &mut device), "nothing to check");
    let after = read_customer(&server).unwrap();
    assert_eq!(after.visits[&new_visit.id], new_visit);
    assert_eq!(after.visits[&changed_visit.id], changed_visit);
    assert_eq!(after.contacts[&new_contact.id], new_contact);
    assert_eq!(after.contacts[&changed_contact.id], changed_contact);
    assert_settled(&mut server, &who("rep-01", Role::Rep));
}
