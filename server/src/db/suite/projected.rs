//! The store suite's cases over a projected company: a dozen demo customers with their
//! tickets, units and event projected through [`ProjectionStore`], then read back through
//! headquarters' and the reports' queries. Every expectation is computed from the demo data
//! here, so each backend must give the answers the rules of the queries call for.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::arithmetic_side_effects)] // Tests may panic on a broken expectation.

use chrono::{DateTime, Duration, Utc};
use kam_core::Policy;
use kam_core::demo::{self, DemoSpec};
use kam_core::model::UserId;

use super::at;
use crate::db::hq::{CustomerFilter, TicketFilter};
use crate::db::projections::{CustomerFacts, TicketFacts};
use crate::db::sales::YearMonth;
use crate::db::{HqQueries, ProjectionStore, ReportQueries, SalesLedgerStore};

/// A company of a dozen customers to project: one customer renamed in ASCII (with a
/// backslash and an underscore, which a name search takes literally or as a wildcard as
/// both backends' `LIKE` does), one ticket left unanswered, late payments on two customers.
fn projected_company() -> demo::DemoData {
    let spec = DemoSpec {
        customers: 12,
        contacts_per_customer: 3,
        visits_per_customer: 4,
        tickets: 10,
        units: 4,
        buyers: 2,
        account_records: false,
        ..DemoSpec::standard(2)
    };
    let mut data = demo::generate(&spec, at(1), &Policy::default());
    data.customers[1].profile.name = "Acme Back\\slash_Co".to_owned();
    let ticket = &mut data.tickets[0];
    ticket.status = kam_core::model::TicketStatus::New;
    ticket.replies.clear();
    for (i, customer) in data.customers.iter_mut().take(2).enumerate() {
        for (n, due) in [(0, "2026-07-01"), (1, "2026-08-15"), (2, "2026-10-02")] {
            let late = kam_core::model::LatePayment {
                id: kam_core::model::LatePaymentId::from(format!("late-{i}-{n}").as_str()),
                reference: format!("INV-{i}{n}"),
                due_on: due.parse().unwrap(),
                paid_on: (n == 0).then(|| "2026-07-20".parse().unwrap()),
            };
            customer.late_payments.insert(late.id.clone(), late);
        }
    }
    data
}

/// The facts the suite projects a customer with: every third one has a visit overdue.
fn customer_facts(index: usize) -> CustomerFacts {
    CustomerFacts {
        next_visit_due: Some(at(1).date_naive() + Duration::days(i64::try_from(index).unwrap())),
        overdue_visits: usize::from(index.is_multiple_of(3)),
        projected_at: at(1),
    }
}

/// When the suite says a ticket's first reply is due.
fn reply_due(ticket: &kam_core::model::ServiceTicket) -> DateTime<Utc> {
    ticket.opened_at + Duration::hours(4)
}

/// Projects the whole company as the projector would.
fn project(db: &(impl ProjectionStore + ?Sized), data: &demo::DemoData) {
    for (i, customer) in data.customers.iter().enumerate() {
        db.insert_customer(customer, &customer_facts(i)).unwrap();
    }
    for ticket in &data.tickets {
        let facts =
            TicketFacts { reply_due_at: reply_due(ticket), sla_code: "met", projected_at: at(1) };
        db.insert_ticket(ticket, &facts).unwrap();
    }
    for unit in data.project.units.values() {
        db.insert_unit(data.project.id.as_str(), unit, unit.unit_price).unwrap();
    }
    db.insert_event(&data.event).unwrap();
}

/// Money as both backends write it: at least two places, never rounded.
fn money_text(amount: rust_decimal::Decimal) -> String {
    let mut padded = amount;
    if padded.scale() < 2 {
        padded.rescale(2);
    }
    padded.to_string()
}

fn customer_by_id<'a>(data: &'a demo::DemoData, id: &str) -> &'a kam_core::model::Customer {
    data.customers.iter().find(|c| c.id.as_str() == id).expect("a demo customer")
}

pub(crate) fn headquarters_reads_the_projected_company(
    db: &(impl ProjectionStore + HqQueries + SalesLedgerStore + ?Sized),
) {
    let data = projected_company();
    project(db, &data);
    overview_counts_the_company(db, &data);
    tickets_are_listed_by_filter(db, &data);
    owners_and_cadence_customers(db, &data);
    regrade_inputs_and_decisions(db, &data);
    let mut ids: Vec<String> = data.customers.iter().map(|c| c.id.as_str().to_owned()).collect();
    ids.sort();
    assert_eq!(db.customer_ids().unwrap(), ids);
    for c in &data.customers {
        assert_eq!(db.yearly_sales(c.id.as_str()).unwrap(), c.annual_sales);
    }
}

fn overview_counts_the_company(db: &(impl HqQueries + ?Sized), data: &demo::DemoData) {
    let now = at(1);
    let overview = db.overview(now, now - Duration::hours(24)).unwrap();
    assert_eq!(overview.customers, 12);
    let mut by_tier: Vec<(kam_core::model::Tier, u64)> = Vec::new();
    for c in &data.customers {
        match by_tier.iter_mut().find(|(t, _)| *t == c.classification.tier) {
            Some((_, n)) => *n += 1,
            None => by_tier.push((c.classification.tier, 1)),
        }
    }
    by_tier.sort();
    let by_tier: Vec<(String, u64)> =
        by_tier.into_iter().map(|(t, n)| (t.as_str().to_owned(), n)).collect();
    assert_eq!(overview.customers_by_tier, by_tier, "strategic first");
    assert_eq!(db.customers_by_tier().unwrap(), by_tier);
    let open: Vec<_> = data.tickets.iter().filter(|t| t.status.is_open()).collect();
    assert!(!open.is_empty(), "the suite left one ticket unanswered");
    assert_eq!(overview.open_tickets, open.len() as u64);
    let overdue =
        open.iter().filter(|t| t.first_reply_at().is_none() && reply_due(t) < now).count();
    assert!(overdue > 0);
    assert_eq!(overview.overdue_tickets, overdue as u64);
    assert_eq!(overview.customers_with_overdue_visits, 4, "customers 0, 3, 6 and 9");
    assert_eq!((overview.open_conflicts, overview.unreviewed_violations), (0, 0));
    assert_eq!(overview.events.len(), 1);
    let event = &overview.events[0];
    assert_eq!(
        (event.event_id.as_str(), event.name.as_str()),
        (data.event.id.as_str(), &*data.event.name)
    );
    assert_eq!(event.allotted_units, data.event.allotted_units.len() as u64);
    assert_eq!(
        event.starts_at,
        data.event.starts_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
}

fn tickets_are_listed_by_filter(db: &(impl HqQueries + ?Sized), data: &demo::DemoData) {
    let mut sorted: Vec<_> = data.tickets.iter().collect();
    sorted.sort_by_key(|t| t.opened_at);
    let mut all = db.tickets(&TicketFilter::all(false)).unwrap();
    all.sort_by(|a, b| (&a.opened_at, &a.ticket_id).cmp(&(&b.opened_at, &b.ticket_id)));
    // In no particular order: compared by id.
    let ids = |tickets: &[crate::db::hq::TicketRecord]| -> Vec<String> {
        let mut ids: Vec<String> = tickets.iter().map(|t| t.ticket_id.clone()).collect();
        ids.sort();
        ids
    };
    let mut expected: Vec<String> = sorted.iter().map(|t| t.id.as_str().to_owned()).collect();
    expected.sort();
    assert_eq!(ids(&all), expected, "every ticket");
    let mut expected_open: Vec<String> =
        sorted.iter().filter(|t| t.status.is_open()).map(|t| t.id.as_str().to_owned()).collect();
    expected_open.sort();
    assert!(expected_open.len() < expected.len(), "some tickets are closed");
    assert_eq!(ids(&db.tickets(&TicketFilter::all(true)).unwrap()), expected_open);
    // Each filter the store applies, alone and with the others, and the rows read without
    // their text are the same rows, emptied of it.
    let some = &data.tickets[data.tickets.len() / 3];
    let filter = TicketFilter {
        status: Some(some.status.as_str().to_owned()),
        kind: Some(some.kind.as_str().to_owned()),
        priority: Some(some.priority.as_str().to_owned()),
        owner: some.owner.as_ref().map(|o| o.as_str().to_owned()),
        customer: Some(some.customer_id.as_str().to_owned()),
        ..TicketFilter::default()
    };
    let mut expected_narrow: Vec<String> = sorted
        .iter()
        .filter(|t| {
            t.status == some.status
                && t.kind == some.kind
                && t.priority == some.priority
                && t.owner == some.owner
                && t.customer_id == some.customer_id
        })
        .map(|t| t.id.as_str().to_owned())
        .collect();
    expected_narrow.sort();
    let narrow = db.tickets(&filter).unwrap();
    assert!(ids(&narrow).contains(&some.id.as_str().to_owned()));
    assert_eq!(ids(&narrow), expected_narrow);
    let only_kind = TicketFilter { kind: filter.kind.clone(), ..TicketFilter::default() };
    let of_kind = db.tickets(&only_kind).unwrap();
    assert!(
        of_kind.len() < all.len() && of_kind.iter().all(|t| Some(&t.kind) == filter.kind.as_ref())
    );
    let mut bare =
        db.tickets(&TicketFilter { without_text: true, ..TicketFilter::all(false) }).unwrap();
    bare.sort_by(|a, b| (&a.opened_at, &a.ticket_id).cmp(&(&b.opened_at, &b.ticket_id)));
    assert_eq!(ids(&bare), ids(&all));
    assert!(bare.iter().all(|t| t.title.is_empty() && t.customer_name.is_empty()));
    assert!(bare.iter().zip(&all).all(|(b, a)| (
        &b.opened_at,
        &b.first_reply_at,
        &b.status,
        &b.owner
    ) == (
        &a.opened_at,
        &a.first_reply_at,
        &a.status,
        &a.owner
    )));
    let wanted: Vec<String> = all.iter().rev().step_by(5).map(|t| t.ticket_id.clone()).collect();
    let mut asked = wanted.clone();
    asked.push("no-such-ticket".into());
    let mut full = db.tickets_by_id(&asked).unwrap();
    full.sort_by(|a, b| a.ticket_id.cmp(&b.ticket_id));
    let mut expected_full: Vec<_> = all.iter().filter(|t| wanted.contains(&t.ticket_id)).collect();
    expected_full.sort_by(|a, b| a.ticket_id.cmp(&b.ticket_id));
    assert_eq!(format!("{full:?}"), format!("{expected_full:?}"), "in full, unknown ids left out");
    for record in &all {
        let ticket = data.tickets.iter().find(|t| t.id.as_str() == record.ticket_id).unwrap();
        assert_eq!(
            record.customer_name,
            customer_by_id(data, ticket.customer_id.as_str()).profile.name
        );
        assert_eq!(record.status, ticket.status.as_str());
        assert_eq!(record.owner.as_deref(), ticket.owner.as_ref().map(UserId::as_str));
        let first_reply =
            ticket.first_reply_at().map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        assert_eq!(record.first_reply_at, first_reply);
    }
}

fn owners_and_cadence_customers(db: &(impl HqQueries + ?Sized), data: &demo::DemoData) {
    let owners = db.owners_by_customer().unwrap();
    for c in &data.customers {
        let mut expected: Vec<String> = c.owners.iter().map(|o| o.as_str().to_owned()).collect();
        expected.sort();
        expected.dedup();
        assert_eq!(owners.get(c.id.as_str()).cloned().unwrap_or_default(), expected);
    }

    let cadence = db.cadence_customers().unwrap();
    let expected: Vec<&str> = data
        .customers
        .iter()
        .filter(|c| {
            let class = &c.classification;
            class.strategic
                || class.tier == kam_core::model::Tier::Strategic
                || class.grade == Some(kam_core::model::Grade::A)
        })
        .map(|c| c.id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let got: Vec<&str> = cadence.iter().map(|(c, _)| c.id.as_str()).collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected, "in id order");
    for (customer, name) in &cadence {
        let original = customer_by_id(data, customer.id.as_str());
        assert_eq!(name, &original.profile.name);
        assert_eq!(customer.classification, original.classification);
        assert_eq!(customer.created_at, original.created_at);
        let dates: Vec<_> =
            customer.visits.values().map(|v| (v.level, v.date, v.visitor.clone())).collect();
        let original: Vec<_> =
            original.visits.values().map(|v| (v.level, v.date, v.visitor.clone())).collect();
        assert_eq!(dates, original);
    }
}

fn regrade_inputs_and_decisions(db: &(impl HqQueries + ?Sized), data: &demo::DemoData) {
    let year = *data.customers[0].annual_sales.keys().next_back().expect("demo sales");
    let inputs = db.regrade_inputs(year).unwrap();
    let scored = data.customers.iter().filter(|c| c.classification.score.is_some()).count();
    assert_eq!(inputs.len(), scored);
    for (input, name) in &inputs {
        let c = customer_by_id(data, input.customer_id.as_str());
        assert_eq!(name, &c.profile.name);
        assert_eq!(
            (input.strategic, input.leading_brand),
            (c.classification.strategic, c.profile.leading_brand)
        );
        assert_eq!(input.last_year_sales, c.annual_sales.get(&year).copied().unwrap_or_default());
        assert_eq!(
            (input.current_tier, input.current_grade),
            (c.classification.tier, c.classification.grade)
        );
        assert_eq!(Some(input.score), c.classification.score);
    }
    assert!(db.regrade_inputs(1900).unwrap().iter().all(|(i, _)| i.last_year_sales.is_zero()));

    let (input, _) = &inputs[0];
    let proposal = kam_core::rules::RegradeProposal {
        customer_id: input.customer_id.clone(),
        year: year + 1,
        current_tier: input.current_tier,
        proposed_tier: input.current_tier,
        current_grade: input.current_grade,
        proposed_grade: kam_core::model::Grade::B,
        score: input.score,
        reasons: Vec::new(),
    };
    assert!(db.regrade_decided(year + 1).unwrap().is_empty());
    db.record_regrade_decision(&crate::db::hq::RegradeDecisionRecord {
        proposal: &proposal,
        decision: "approved",
        decided_by: "gm",
        decided_at: at(2),
    })
    .unwrap();
    let decided = db.regrade_decided(year + 1).unwrap();
    assert_eq!(decided, [input.customer_id.as_str().to_owned()].into_iter().collect());
    assert!(db.regrade_decided(year).unwrap().is_empty(), "decided for that year only");
}

pub(crate) fn customer_files_and_lists_come_from_the_projections(
    db: &(impl ProjectionStore + HqQueries + ?Sized),
) {
    let data = projected_company();
    project(db, &data);
    let mut expected: Vec<&kam_core::model::Customer> = data.customers.iter().collect();
    expected.sort_by_key(|c| {
        let class = &c.classification;
        (
            class.tier,
            class.grade.is_none(),
            class.grade,
            std::cmp::Reverse(class.score),
            c.id.as_str().to_owned(),
        )
    });
    list_lines_match(db, &data, &expected);
    list_filters_match(db, &data, &expected);
    customer_files_match(db, &data);
}

/// The ids of the customers `filter` lists.
fn listed(db: &(impl HqQueries + ?Sized), filter: &CustomerFilter) -> Vec<String> {
    db.customers(filter).unwrap().into_iter().map(|l| l.customer_id).collect()
}

fn list_lines_match(
    db: &(impl HqQueries + ?Sized),
    data: &demo::DemoData,
    expected: &[&kam_core::model::Customer],
) {
    let index_of = |id: &str| data.customers.iter().position(|c| c.id.as_str() == id).unwrap();
    let all = db.customers(&CustomerFilter::default()).unwrap();
    let expected_ids: Vec<String> = expected.iter().map(|c| c.id.as_str().to_owned()).collect();
    assert_eq!(all.iter().map(|l| l.customer_id.clone()).collect::<Vec<_>>(), expected_ids);
    for line in &all {
        let i = index_of(&line.customer_id);
        let c = &data.customers[i];
        assert_eq!(
            (&line.name, &line.industry, &line.region),
            (&c.profile.name, &c.profile.industry, &c.profile.region)
        );
        assert_eq!(line.tier, c.classification.tier.as_str());
        assert_eq!(line.strategic, c.classification.strategic);
        assert_eq!(line.grade.as_deref(), c.classification.grade.map(|g| g.as_str()));
        assert_eq!(line.score, c.classification.score.map(i64::from));
        assert_eq!(line.credit_limit, money_text(c.credit.credit_limit));
        assert_eq!(line.payment_terms, c.credit.payment_terms.code());
        let latest = c.annual_sales.last_key_value();
        assert_eq!(line.latest_sales_year, latest.map(|(y, _)| i64::from(*y)));
        assert_eq!(line.latest_annual_sales, latest.map(|(_, a)| money_text(*a)));
        assert_eq!(line.overdue_visits, i64::from(i.is_multiple_of(3)));
        assert_eq!(line.next_visit_due, customer_facts(i).next_visit_due.map(|d| d.to_string()));
        let mut owners: Vec<String> = c.owners.iter().map(|o| o.as_str().to_owned()).collect();
        owners.sort();
        owners.dedup();
        assert_eq!(line.owners, owners);
    }
}

fn list_filters_match(
    db: &(impl HqQueries + ?Sized),
    data: &demo::DemoData,
    expected: &[&kam_core::model::Customer],
) {
    let ids = |filter: &CustomerFilter| listed(db, filter);
    let expected_ids: Vec<String> = expected.iter().map(|c| c.id.as_str().to_owned()).collect();
    for tier in ["strategic", "key", "main", "general"] {
        let filter = CustomerFilter { tier: Some(tier.to_owned()), ..CustomerFilter::default() };
        let want: Vec<String> = expected
            .iter()
            .filter(|c| c.classification.tier.as_str() == tier)
            .map(|c| c.id.as_str().to_owned())
            .collect();
        assert_eq!(ids(&filter), want, "{tier}");
    }
    for grade in ["A", "B", "C", "D", "none"] {
        let filter = CustomerFilter { grade: Some(grade.to_owned()), ..CustomerFilter::default() };
        let want: Vec<String> = expected
            .iter()
            .filter(|c| c.classification.grade.map_or("none", |g| g.as_str()) == grade)
            .map(|c| c.id.as_str().to_owned())
            .collect();
        assert_eq!(ids(&filter), want, "{grade}");
    }
    let acme = data.customers[1].id.as_str().to_owned();
    let by_name =
        |q: &str| ids(&CustomerFilter { q: Some(q.to_owned()), ..CustomerFilter::default() });
    assert_eq!(by_name("acme"), vec![acme.clone()], "ASCII letters in either case");
    assert_eq!(by_name("k\\s"), vec![acme.clone()], "a backslash is no escape");
    assert_eq!(by_name("h_C"), vec![acme.clone()]);
    assert_eq!(by_name("Back_slash"), vec![acme.clone()], "an underscore is any one character");
    assert!(by_name("ACME!").is_empty());
    let word = data.customers[4].profile.name.chars().take(2).collect::<String>();
    let want: Vec<String> = expected
        .iter()
        .filter(|c| c.profile.name.contains(&word))
        .map(|c| c.id.as_str().to_owned())
        .collect();
    assert_eq!(by_name(&word), want);
    let empty = CustomerFilter {
        tier: Some(String::new()),
        grade: Some(String::new()),
        q: Some(String::new()),
    };
    assert_eq!(ids(&empty), expected_ids, "empty filters are no filters");
}

fn customer_files_match(db: &(impl HqQueries + ?Sized), data: &demo::DemoData) {
    assert!(db.customer_file("missing").unwrap().is_none());
    for (i, c) in data.customers.iter().enumerate().take(4) {
        let file = db.customer_file(c.id.as_str()).unwrap().expect("projected");
        assert_eq!(file.customer.customer_id, c.id.as_str());
        assert_eq!(file.customer.overdue_visits, i64::from(i.is_multiple_of(3)));
        assert_eq!(file.leading_brand, c.profile.leading_brand);
        let sales: Vec<(i64, String)> =
            c.annual_sales.iter().map(|(y, a)| (i64::from(*y), money_text(*a))).collect();
        assert_eq!(file.annual_sales, sales, "oldest first");
        let mut contacts: Vec<_> = c.contacts.values().collect();
        contacts.sort_by_key(|k| (!k.primary, k.name.clone()));
        let names: Vec<(&str, bool)> =
            file.contacts.iter().map(|k| (k.name.as_str(), k.primary)).collect();
        let want: Vec<(&str, bool)> =
            contacts.iter().map(|k| (k.name.as_str(), k.primary)).collect();
        assert_eq!(names, want, "the main contact first, then by name");
        let mut visits: Vec<_> = c.visits.values().collect();
        visits.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.id.cmp(&b.id)));
        let got: Vec<(&str, String, Vec<String>)> = file
            .visits
            .iter()
            .map(|v| (v.visit_id.as_str(), v.visit_date.clone(), v.topics.clone()))
            .collect();
        let want: Vec<(&str, String, Vec<String>)> =
            visits.iter().map(|v| (v.id.as_str(), v.date.to_string(), v.topics.clone())).collect();
        assert_eq!(got, want, "newest first, topics kept");
        let mut tickets: Vec<_> = data.tickets.iter().filter(|t| t.customer_id == c.id).collect();
        tickets.sort_by_key(|t| std::cmp::Reverse(t.opened_at));
        let got: Vec<&str> = file.tickets.iter().map(|t| t.ticket_id.as_str()).collect();
        let want: Vec<&str> = tickets.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(got, want, "newest first");
        assert!(file.history.is_empty(), "the caller reads the history from the document");
    }
}

pub(crate) fn reports_read_the_projected_company(
    db: &(impl ProjectionStore + ReportQueries + ?Sized),
) {
    use kam_core::model::Tier;
    let data = projected_company();
    project(db, &data);
    let covered = |c: &kam_core::model::Customer| {
        matches!(c.classification.tier, Tier::Strategic | Tier::Key) || c.classification.strategic
    };
    let mut accounts = db.monthly_accounts().unwrap();
    accounts.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
    let mut want: Vec<crate::db::reports::MonthlyAccount> = data
        .customers
        .iter()
        .filter(|c| covered(c))
        .map(|c| crate::db::reports::MonthlyAccount {
            customer_id: c.id.as_str().to_owned(),
            name: c.profile.name.clone(),
            tier: c.classification.tier,
            designated_strategic: c.classification.strategic,
        })
        .collect();
    want.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
    assert!(!want.is_empty());
    assert_eq!(accounts, want);
    let mut tickets: Vec<(String, String)> = db
        .monthly_account_tickets()
        .unwrap()
        .into_iter()
        .map(|t| (t.customer_id, t.opened_at.to_rfc3339()))
        .collect();
    tickets.sort();
    let mut want: Vec<(String, String)> = data
        .tickets
        .iter()
        .filter(|t| covered(customer_by_id(&data, t.customer_id.as_str())))
        .map(|t| (t.customer_id.as_str().to_owned(), t.opened_at.to_rfc3339()))
        .collect();
    want.sort();
    assert_eq!(tickets, want);
    visits_credit_and_late_payments(db, &data);
}

fn visits_credit_and_late_payments(db: &(impl ReportQueries + ?Sized), data: &demo::DemoData) {
    let some_visit = data.customers[0].visits.values().next().expect("demo visits");
    let month = YearMonth::of(some_visit.date);
    let got: Vec<(String, String)> = db
        .visits_in_month(month)
        .unwrap()
        .into_iter()
        .map(|v| (v.visit_date, v.customer_id))
        .collect();
    let mut visits: Vec<(&kam_core::model::VisitRecord, &str)> = data
        .customers
        .iter()
        .flat_map(|c| c.visits.values().map(move |v| (v, c.id.as_str())))
        .filter(|(v, _)| YearMonth::of(v.date) == month)
        .collect();
    visits.sort_by(|a, b| a.0.date.cmp(&b.0.date).then_with(|| a.0.id.cmp(&b.0.id)));
    let want: Vec<(String, String)> =
        visits.iter().map(|(v, c)| (v.date.to_string(), (*c).to_owned())).collect();
    assert!(!want.is_empty());
    assert_eq!(got, want, "in date order, then by visit id");

    let mut credit = db.credit_records().unwrap();
    credit.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
    assert_eq!(credit.len(), 12);
    for record in &credit {
        let c = customer_by_id(data, &record.customer_id);
        assert_eq!((record.tier, &record.name), (c.classification.tier, &c.profile.name));
        assert_eq!(record.grade.as_deref(), c.classification.grade.map(|g| g.as_str()));
        assert_eq!(record.credit_grade.as_deref(), c.credit.credit_grade.map(|g| g.as_str()));
        assert_eq!(record.credit_limit, c.credit.credit_limit);
        assert_eq!(record.payment_terms, c.credit.payment_terms.code());
    }

    let date = |text: &str| text.parse::<chrono::NaiveDate>().unwrap();
    let mut due = db.late_payments_due(date("2026-07-01"), date("2026-10-01")).unwrap();
    due.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    let mut want: Vec<(String, kam_core::model::LatePayment)> = data
        .customers
        .iter()
        .flat_map(|c| c.late_payments.values().map(move |l| (c.id.as_str().to_owned(), l.clone())))
        .filter(|(_, l)| l.due_on >= date("2026-07-01") && l.due_on < date("2026-10-01"))
        .collect();
    want.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    assert_eq!(want.len(), 4, "two customers' July and August records; October is after");
    assert_eq!(due, want);
}
