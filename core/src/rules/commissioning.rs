//! Commissioning organisations (委建单位, 001 六/七/十/十一; RULES.md §12): ranking the
//! candidates, the shortlist and the choice, the pricing aids and the one price approval, the
//! agreement's required clauses, and what is collected and overdue.
//!
//! The payment-ratio minimum and the loan-switch fee range are the selection policy's
//! (`selection.min_payment_ratio_pct`, [`check_loan_switch_fee`]); they are used here, not
//! repeated.

use std::cmp::Reverse;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::bounds::{Overflow, add, sub, sum};
use crate::model::{
    Agreement, EntryId, LoanSwitch, Organisation, OrganisationId, OrganisationPrice,
    OrganisationStatus, Reconciliation,
};
use crate::policy::Policy;

use super::selection::{pct_of, round_fen};
use super::{LoanSwitchFeeRefusal, check_loan_switch_fee};

/// A candidate's place in the ranking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankedCandidate {
    /// 1 for the best.
    pub rank: u32,
    /// The organisation.
    pub organisation_id: OrganisationId,
    /// Its name.
    pub name: String,
}

/// Ranks candidates by 001 六's principles, in order: the higher accepted price, then the
/// higher payment ratio, then more resource exchange, then more owner-occupiers; full ties
/// by id so the order is stable. Every candidate gets its own rank (1, 2, 3, …): the group
/// needs an order to negotiate in, not shared places. Rejected organisations are ranked like
/// the others if passed in; callers pass the candidates they want ranked.
pub fn rank_candidates(organisations: &[Organisation]) -> Vec<RankedCandidate> {
    let mut sorted: Vec<&Organisation> = organisations.iter().collect();
    sorted.sort_by_key(|o| {
        let offer = &o.offer;
        (
            Reverse(offer.accepted_price_per_m2),
            Reverse(offer.payment_ratio_pct),
            Reverse(offer.resource_exchange),
            Reverse(offer.owner_occupier_pct),
            o.id.clone(),
        )
    });
    sorted
        .into_iter()
        .zip(1u32..)
        .map(|(o, rank)| RankedCandidate {
            rank,
            organisation_id: o.id.clone(),
            name: o.name.clone(),
        })
        .collect()
}

/// Why a commissioning step cannot be taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommissioningRefusal {
    /// Fewer candidates than the negotiation group must get.
    #[error(
        "谈判小组至少需要 {min} 家意向单位，现有 {count} 家 (the negotiation group needs at least {min} candidates, not {count})"
    )]
    TooFewCandidates {
        /// Candidates offered.
        count: usize,
        /// The policy's minimum.
        min: u32,
    },
    /// The choice lacks the GM's or the chairman's approval.
    #[error(
        "委建单位的选定须经总经理和董事长审批 (the choice needs the GM's and the chairman's approval; GM missing: {gm_missing}, chairman missing: {chairman_missing})"
    )]
    ChoiceNotApproved {
        /// The GM has not approved.
        gm_missing: bool,
        /// The chairman has not approved.
        chairman_missing: bool,
    },
    /// No comparable project prices to price from.
    #[error("盲目定价须有周边可比楼盘价格 (blind pricing needs comparable prices)")]
    NoComparables,
    /// A comparable price or a cost that is not positive.
    #[error("定价依据 {value} 元/㎡ 须大于零 (the pricing basis {value} CNY/m² must be positive)")]
    BasisNotPositive {
        /// The value given.
        value: Decimal,
    },
    /// The organisation is not (yet) chosen.
    #[error(
        "委建单位尚未选定，不能签约 (the organisation is not chosen; the agreement cannot be signed)"
    )]
    NotChosen,
    /// No approved price: nothing may be promised before the approval.
    #[error("价格未审批，不能签约 (no approved price; the agreement cannot be signed)")]
    PriceNotApproved,
    /// Required clauses are missing.
    #[error("协议缺少：{} (the agreement lacks {missing:?})", zh_clauses(missing))]
    AgreementIncomplete {
        /// What is missing.
        missing: Vec<MissingClause>,
    },
    /// The agreement is already signed.
    #[error("协议已签订 (the agreement is already signed)")]
    AlreadySigned,
    /// A loan-switch fee outside the policy's range.
    #[error(transparent)]
    LoanSwitchFee(#[from] LoanSwitchFeeRefusal),
    /// Figures too large to compute.
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

impl CommissioningRefusal {
    /// Stable machine code, the same as the serde `kind`.
    pub fn code(&self) -> &'static str {
        match self {
            CommissioningRefusal::TooFewCandidates { .. } => "too_few_candidates",
            CommissioningRefusal::ChoiceNotApproved { .. } => "choice_not_approved",
            CommissioningRefusal::NoComparables => "no_comparables",
            CommissioningRefusal::BasisNotPositive { .. } => "basis_not_positive",
            CommissioningRefusal::NotChosen => "not_chosen",
            CommissioningRefusal::PriceNotApproved => "price_not_approved",
            CommissioningRefusal::AgreementIncomplete { .. } => "agreement_incomplete",
            CommissioningRefusal::AlreadySigned => "already_signed",
            CommissioningRefusal::LoanSwitchFee(_) => "loan_switch_fee",
            CommissioningRefusal::Overflow(_) => "arithmetic_overflow",
        }
    }
}

/// At least `commissioning.min_candidates` candidates go to the negotiation group (001 六:
/// 应至少提供给委建房谈判小组3家); exactly the minimum is enough.
pub fn check_negotiation_shortlist(
    count: usize,
    policy: &Policy,
) -> Result<(), CommissioningRefusal> {
    let min = policy.commissioning.min_candidates;
    if u64::try_from(count).unwrap_or(u64::MAX) < u64::from(min) {
        return Err(CommissioningRefusal::TooFewCandidates { count, min });
    }
    Ok(())
}

/// The choice needs both the GM's and the chairman's approval (001 六: 报总经理、董事长审批).
pub fn check_choice(organisation: &Organisation) -> Result<(), CommissioningRefusal> {
    let gm_missing = organisation.approved_by_gm.is_none();
    let chairman_missing = organisation.approved_by_chairman.is_none();
    if gm_missing || chairman_missing {
        return Err(CommissioningRefusal::ChoiceNotApproved { gm_missing, chairman_missing });
    }
    Ok(())
}

fn positive(value: Decimal) -> Result<Decimal, CommissioningRefusal> {
    if value > Decimal::ZERO {
        Ok(value)
    } else {
        Err(CommissioningRefusal::BasisNotPositive { value })
    }
}

/// "Blind" reference price (001 七.(一)2): the mean of comparable projects' prices per m² ×
/// `commissioning.blind_price_pct_of_comparables` (80 %), to the fen, half up.
pub fn blind_price(
    comparables: &[Decimal],
    policy: &Policy,
) -> Result<Decimal, CommissioningRefusal> {
    if comparables.is_empty() {
        return Err(CommissioningRefusal::NoComparables);
    }
    for c in comparables {
        positive(*c)?;
    }
    let total = sum("comparable prices", comparables.iter().copied())?;
    let overflow = Overflow { what: "blind price" };
    let mean = total.checked_div(Decimal::from(comparables.len())).ok_or(overflow)?;
    let price =
        pct_of(mean, policy.commissioning.blind_price_pct_of_comparables).ok_or(overflow)?;
    Ok(round_fen(price))
}

/// "Experience" reference price (001 七.(一)3): total cost per m² plus
/// `commissioning.experience_markup_pct` (30 %) for the unforeseen, to the fen, half up.
pub fn experience_price(
    cost_per_m2: Decimal,
    policy: &Policy,
) -> Result<Decimal, CommissioningRefusal> {
    let cost = positive(cost_per_m2)?;
    let overflow = Overflow { what: "experience price" };
    let markup = pct_of(cost, policy.commissioning.experience_markup_pct).ok_or(overflow)?;
    Ok(round_fen(add("experience price", cost, markup)?))
}

/// Why a price cannot be approved for an organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PriceApprovalRefusal {
    /// The organisation's one price approval has been given (001 七.(三)5).
    #[error(
        "每个委建单位只审批一次价格，已于 {at} 审批 (the organisation's one price approval was given at {at})"
    )]
    AlreadyApproved {
        /// When the approval was given.
        at: String,
    },
    /// The price is not positive.
    #[error("审批均价 {price} 元/㎡ 须大于零 (the approved price {price} CNY/m² must be positive)")]
    PriceNotPositive {
        /// The price.
        price: Decimal,
    },
    /// The payment ratio is above 100 %.
    #[error("付款比例 {ratio}% 超过 100% (payment ratio {ratio}% is above 100%)")]
    RatioAboveHundred {
        /// The ratio.
        ratio: Decimal,
    },
    /// The payment ratio is below the policy's minimum.
    #[error(
        "付款比例 {ratio}% 低于最低 {min}% (payment ratio {ratio}% is below the minimum {min}%)"
    )]
    RatioBelowMinimum {
        /// The ratio.
        ratio: Decimal,
        /// `selection.min_payment_ratio_pct`.
        min: Decimal,
    },
}

impl PriceApprovalRefusal {
    /// Stable machine code, the same as the serde `kind`.
    pub fn code(&self) -> &'static str {
        match self {
            PriceApprovalRefusal::AlreadyApproved { .. } => "already_approved",
            PriceApprovalRefusal::PriceNotPositive { .. } => "price_not_positive",
            PriceApprovalRefusal::RatioAboveHundred { .. } => "ratio_above_hundred",
            PriceApprovalRefusal::RatioBelowMinimum { .. } => "ratio_below_minimum",
        }
    }
}

/// Whether `price` may be approved for `organisation`: its one approval not yet given, a
/// positive price, and a payment ratio between `selection.min_payment_ratio_pct` (50 %,
/// included — 001 七.(一)5: 不应低于50%) and 100 %.
pub fn check_price_approval(
    organisation: &Organisation,
    price: &OrganisationPrice,
    policy: &Policy,
) -> Result<(), PriceApprovalRefusal> {
    if let Some(existing) = &organisation.price {
        return Err(PriceApprovalRefusal::AlreadyApproved {
            at: existing.approved.at.to_rfc3339(),
        });
    }
    if price.price_per_m2 <= Decimal::ZERO {
        return Err(PriceApprovalRefusal::PriceNotPositive { price: price.price_per_m2 });
    }
    let (ratio, min) = (price.payment_ratio_pct, policy.selection.min_payment_ratio_pct);
    if ratio > Decimal::ONE_HUNDRED {
        return Err(PriceApprovalRefusal::RatioAboveHundred { ratio });
    }
    if ratio < min {
        return Err(PriceApprovalRefusal::RatioBelowMinimum { ratio, min });
    }
    Ok(())
}

/// A clause the agreement must carry (001 十一) and does not yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingClause {
    /// No buyer on the list (names and ID numbers).
    BuyerList,
    /// The list is not checked by audit.
    AuditCheck,
    /// The list is not checked by finance.
    FinanceCheck,
    /// The list is not checked by a lawyer.
    LawyerCheck,
    /// No selection period, or one that ends before it starts.
    SelectionPeriod,
    /// No payment date.
    PaymentDate,
    /// The renaming rule is not written in.
    RenamingRule,
}

impl MissingClause {
    /// The Chinese name used on screens.
    pub fn label_zh(self) -> &'static str {
        match self {
            MissingClause::BuyerList => "购房人名单（姓名及身份证号）",
            MissingClause::AuditCheck => "审计部核对名单",
            MissingClause::FinanceCheck => "财务部核对名单",
            MissingClause::LawyerCheck => "律师核对名单",
            MissingClause::SelectionPeriod => "选房期间",
            MissingClause::PaymentDate => "付款时间",
            MissingClause::RenamingRule => "更名规则",
        }
    }
}

fn zh_clauses(missing: &[MissingClause]) -> String {
    missing.iter().map(|c| c.label_zh()).collect::<Vec<_>>().join("、")
}

/// What the agreement still lacks, in [`MissingClause`] order.
pub fn agreement_missing(agreement: &Agreement) -> Vec<MissingClause> {
    let period_ok = matches!(
        (agreement.selection_from, agreement.selection_until),
        (Some(from), Some(until)) if from <= until
    );
    [
        (MissingClause::BuyerList, agreement.buyers_listed > 0),
        (MissingClause::AuditCheck, agreement.list_checked_by_audit.is_some()),
        (MissingClause::FinanceCheck, agreement.list_checked_by_finance.is_some()),
        (MissingClause::LawyerCheck, agreement.list_checked_by_lawyer.is_some()),
        (MissingClause::SelectionPeriod, period_ok),
        (MissingClause::PaymentDate, agreement.payment_due_on.is_some()),
        (MissingClause::RenamingRule, agreement.renaming_rule),
    ]
    .into_iter()
    .filter_map(|(clause, present)| (!present).then_some(clause))
    .collect()
}

/// Whether the agreement may be signed: not signed yet, the organisation chosen with both
/// approvals, its price approved (no price is promised before approval), every clause in.
pub fn check_signing(organisation: &Organisation) -> Result<(), CommissioningRefusal> {
    if organisation.agreement.signed.is_some() {
        return Err(CommissioningRefusal::AlreadySigned);
    }
    if organisation.status != OrganisationStatus::Chosen {
        return Err(CommissioningRefusal::NotChosen);
    }
    check_choice(organisation)?;
    if organisation.price.is_none() {
        return Err(CommissioningRefusal::PriceNotApproved);
    }
    let missing = agreement_missing(&organisation.agreement);
    if !missing.is_empty() {
        return Err(CommissioningRefusal::AgreementIncomplete { missing });
    }
    Ok(())
}

/// A loan switch's fee, checked against the selection policy's range (001 十.(二)4).
pub fn check_loan_switch(switch: &LoanSwitch, policy: &Policy) -> Result<(), CommissioningRefusal> {
    Ok(check_loan_switch_fee(switch.fee, policy)?)
}

/// One instalment with what has been applied to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalmentStatus {
    /// The instalment.
    pub instalment_id: EntryId,
    /// Due date.
    pub due_on: NaiveDate,
    /// Amount due.
    pub amount: Decimal,
    /// Received and applied to it.
    pub received: Decimal,
    /// Still to come.
    pub outstanding: Decimal,
    /// Days past due while something is outstanding; 0 otherwise.
    pub overdue_days: u32,
    /// The last reminder sent for it.
    pub last_reminder_on: Option<NaiveDate>,
    /// Whether a reminder is due today.
    pub reminder_due: bool,
}

/// What an organisation has paid against what is due.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionStatus {
    /// Overdue instalments first (oldest due first), then the rest by due date.
    pub instalments: Vec<InstalmentStatus>,
    /// Sum of the instalments.
    pub total_due: Decimal,
    /// Sum of the money received.
    pub total_received: Decimal,
    /// Sum still outstanding.
    pub total_outstanding: Decimal,
    /// Of which overdue.
    pub overdue_outstanding: Decimal,
    /// Money received beyond every instalment (to be refunded or set against a later one).
    pub unapplied: Decimal,
}

/// Applies every receipt to the instalments, oldest due first (ties by id), and says what
/// is outstanding, overdue and to be chased on `today`. A reminder is due for an instalment
/// more than `commissioning.dunning_after_days` past due with something outstanding, when no
/// reminder was sent for it or the last is more than `commissioning.reminder_interval_days`
/// old (001 十: finance asks the key-account department to chase what is overdue).
pub fn collection_status(
    organisation: &Organisation,
    today: NaiveDate,
    policy: &Policy,
) -> Result<CollectionStatus, Overflow> {
    let c = &policy.commissioning;
    let mut instalments: Vec<_> = organisation.instalments.values().collect();
    instalments.sort_by(|a, b| (a.due_on, &a.id).cmp(&(b.due_on, &b.id)));
    let total_received = sum("collections", organisation.collections.values().map(|c| c.amount))?;
    let mut status = CollectionStatus { total_received, ..CollectionStatus::default() };
    let mut left = total_received;
    for inst in instalments {
        let received = left.min(inst.amount).max(Decimal::ZERO);
        left = sub("collections applied", left, received)?;
        let outstanding = sub("outstanding", inst.amount, received)?;
        let late = u32::try_from(today.signed_duration_since(inst.due_on).num_days()).unwrap_or(0);
        let overdue_days = if outstanding > Decimal::ZERO { late } else { 0 };
        let last_reminder_on = organisation
            .reminders
            .values()
            .filter(|r| r.instalment_id == inst.id)
            .map(|r| r.on)
            .max();
        let since_reminder = last_reminder_on.map(|on| today.signed_duration_since(on).num_days());
        let reminder_due = overdue_days > c.dunning_after_days
            && since_reminder.is_none_or(|days| days > i64::from(c.reminder_interval_days));
        status.total_due = add("instalments", status.total_due, inst.amount)?;
        status.total_outstanding = add("outstanding", status.total_outstanding, outstanding)?;
        if overdue_days > 0 {
            status.overdue_outstanding = add("overdue", status.overdue_outstanding, outstanding)?;
        }
        status.instalments.push(InstalmentStatus {
            instalment_id: inst.id.clone(),
            due_on: inst.due_on,
            amount: inst.amount,
            received,
            outstanding,
            overdue_days,
            last_reminder_on,
            reminder_due,
        });
    }
    status.unapplied = left.max(Decimal::ZERO);
    // Stable sort: overdue first, each group keeping the due-date order.
    status.instalments.sort_by_key(|i| i.overdue_days == 0);
    Ok(status)
}

/// The bank balance minus the receipts counted (001 十.(二)2): zero when they agree; positive
/// when the bank holds money no receipt accounts for.
pub fn reconciliation_gap(reconciliation: &Reconciliation) -> Result<Decimal, Overflow> {
    sub("reconciliation gap", reconciliation.bank_balance, reconciliation.receipts_total)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;
    use rust_decimal_macros::dec;

    use super::*;
    use crate::model::{
        CandidateOffer, Collection, Instalment, OrganisationAnalysis, PricingMethod, ProjectId,
        Reminder, Signoff, UserId,
    };

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn signoff() -> Signoff {
        Signoff { by: UserId::from("u"), at: Utc::now() }
    }

    fn org(
        id: &str,
        price: Decimal,
        ratio: Decimal,
        exchange: u8,
        owners: Decimal,
    ) -> Organisation {
        Organisation {
            id: OrganisationId::from(id),
            project_id: ProjectId::from("p1"),
            name: format!("单位{id}"),
            analysis: OrganisationAnalysis::default(),
            offer: CandidateOffer {
                accepted_price_per_m2: price,
                payment_ratio_pct: ratio,
                resource_exchange: exchange,
                resource_exchange_note: String::new(),
                owner_occupier_pct: owners,
            },
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
        }
    }

    fn price(ratio: Decimal) -> OrganisationPrice {
        OrganisationPrice {
            method: PricingMethod::Blind,
            basis_per_m2: dec!(10000),
            price_per_m2: dec!(8000),
            payment_ratio_pct: ratio,
            approved: signoff(),
        }
    }

    #[test]
    fn ranking_follows_the_four_principles_in_order() {
        let orgs = [
            org("e", dec!(9000), dec!(60), 5, dec!(50)),
            org("d", dec!(9000), dec!(60), 5, dec!(50)), // full tie with e: by id
            org("c", dec!(9000), dec!(60), 5, dec!(70)),
            org("b", dec!(9000), dec!(60), 8, dec!(10)),
            org("a", dec!(9000), dec!(70), 0, dec!(0)),
            org("z", dec!(9500), dec!(50), 0, dec!(0)),
        ];
        let ranked = rank_candidates(&orgs);
        let ids: Vec<String> = ranked.iter().map(|r| r.organisation_id.to_string()).collect();
        assert_eq!(ids, ["z", "a", "b", "c", "d", "e"]);
        assert_eq!(ranked.iter().map(|r| r.rank).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
        assert_eq!(ranked[0].name, "单位z");
        assert!(rank_candidates(&[]).is_empty());
    }

    #[test]
    fn shortlist_and_choice() {
        let p = Policy::default();
        assert_eq!(
            check_negotiation_shortlist(2, &p),
            Err(CommissioningRefusal::TooFewCandidates { count: 2, min: 3 })
        );
        assert_eq!(check_negotiation_shortlist(3, &p), Ok(()));
        let mut o = org("a", dec!(1), dec!(50), 0, dec!(0));
        assert_eq!(
            check_choice(&o),
            Err(CommissioningRefusal::ChoiceNotApproved {
                gm_missing: true,
                chairman_missing: true
            })
        );
        o.approved_by_gm = Some(signoff());
        let err = check_choice(&o).unwrap_err();
        assert_eq!(
            err,
            CommissioningRefusal::ChoiceNotApproved { gm_missing: false, chairman_missing: true }
        );
        assert!(err.to_string().contains("董事长"), "{err}");
        o.approved_by_chairman = Some(signoff());
        assert_eq!(check_choice(&o), Ok(()));
    }

    #[test]
    fn pricing_aids() {
        let p = Policy::default();
        assert_eq!(blind_price(&[dec!(10000), dec!(12000)], &p), Ok(dec!(8800.00)));
        assert_eq!(blind_price(&[dec!(10000), dec!(10001), dec!(10001)], &p), Ok(dec!(8000.53)));
        assert_eq!(blind_price(&[], &p), Err(CommissioningRefusal::NoComparables));
        assert_eq!(blind_price(&[dec!(0)], &p).unwrap_err().code(), "basis_not_positive");
        assert_eq!(experience_price(dec!(6000), &p), Ok(dec!(7800.00)));
        assert_eq!(experience_price(dec!(1234.57), &p), Ok(dec!(1604.94))); // 1604.941
        assert!(experience_price(dec!(-1), &p).is_err());
        assert_eq!(
            blind_price(&[Decimal::MAX, Decimal::MAX], &p).unwrap_err().code(),
            "arithmetic_overflow"
        );
    }

    #[test]
    fn one_price_approval_with_at_least_the_minimum_ratio() {
        let p = Policy::default();
        let mut o = org("a", dec!(1), dec!(50), 0, dec!(0));
        assert_eq!(check_price_approval(&o, &price(dec!(50)), &p), Ok(()), "exactly 50 %");
        assert_eq!(
            check_price_approval(&o, &price(dec!(49.99)), &p),
            Err(PriceApprovalRefusal::RatioBelowMinimum { ratio: dec!(49.99), min: dec!(50) })
        );
        assert_eq!(check_price_approval(&o, &price(dec!(100)), &p), Ok(()));
        assert_eq!(
            check_price_approval(&o, &price(dec!(100.01)), &p).unwrap_err().code(),
            "ratio_above_hundred"
        );
        let free = OrganisationPrice { price_per_m2: dec!(0), ..price(dec!(60)) };
        assert_eq!(check_price_approval(&o, &free, &p).unwrap_err().code(), "price_not_positive");
        o.price = Some(price(dec!(60)));
        assert_eq!(
            check_price_approval(&o, &price(dec!(60)), &p).unwrap_err().code(),
            "already_approved"
        );
        let mut lenient = Policy::default();
        lenient.selection.min_payment_ratio_pct = dec!(30);
        o.price = None;
        assert_eq!(
            check_price_approval(&o, &price(dec!(40)), &lenient),
            Ok(()),
            "the selection policy's minimum"
        );
    }

    #[test]
    fn loan_switch_fee_uses_the_selection_range() {
        let p = Policy::default();
        let switch = |fee| LoanSwitch {
            id: EntryId::from("l"),
            buyer: "张三".to_owned(),
            fee,
            on: d(2026, 1, 1),
        };
        assert_eq!(
            check_loan_switch(&switch(dec!(999)), &p).unwrap_err().code(),
            "loan_switch_fee"
        );
        assert_eq!(check_loan_switch(&switch(dec!(1000)), &p), Ok(()));
        assert_eq!(check_loan_switch(&switch(dec!(3000)), &p), Ok(()));
        assert!(matches!(
            check_loan_switch(&switch(dec!(3001)), &p),
            Err(CommissioningRefusal::LoanSwitchFee(LoanSwitchFeeRefusal::AboveMaximum { .. }))
        ));
    }

    fn complete_agreement() -> Agreement {
        Agreement {
            buyers_listed: 120,
            list_checked_by_audit: Some(signoff()),
            list_checked_by_finance: Some(signoff()),
            list_checked_by_lawyer: Some(signoff()),
            selection_from: Some(d(2026, 5, 1)),
            selection_until: Some(d(2026, 5, 1)),
            payment_due_on: Some(d(2026, 6, 1)),
            renaming_rule: true,
            signed: None,
        }
    }

    #[test]
    fn agreement_clauses_and_signing() {
        assert!(agreement_missing(&complete_agreement()).is_empty());
        assert_eq!(
            agreement_missing(&Agreement::default()),
            [
                MissingClause::BuyerList,
                MissingClause::AuditCheck,
                MissingClause::FinanceCheck,
                MissingClause::LawyerCheck,
                MissingClause::SelectionPeriod,
                MissingClause::PaymentDate,
                MissingClause::RenamingRule,
            ]
        );
        let inverted = Agreement { selection_until: Some(d(2026, 4, 30)), ..complete_agreement() };
        assert_eq!(agreement_missing(&inverted), [MissingClause::SelectionPeriod]);

        let mut o = org("a", dec!(1), dec!(50), 0, dec!(0));
        o.agreement = Agreement { list_checked_by_lawyer: None, ..complete_agreement() };
        assert_eq!(check_signing(&o), Err(CommissioningRefusal::NotChosen));
        o.status = OrganisationStatus::Chosen;
        assert_eq!(check_signing(&o).unwrap_err().code(), "choice_not_approved");
        o.approved_by_gm = Some(signoff());
        o.approved_by_chairman = Some(signoff());
        assert_eq!(check_signing(&o), Err(CommissioningRefusal::PriceNotApproved));
        o.price = Some(price(dec!(60)));
        let err = check_signing(&o).unwrap_err();
        assert_eq!(
            err,
            CommissioningRefusal::AgreementIncomplete { missing: vec![MissingClause::LawyerCheck] }
        );
        assert!(err.to_string().contains("律师"), "{err}");
        o.agreement.list_checked_by_lawyer = Some(signoff());
        assert_eq!(check_signing(&o), Ok(()));
        o.agreement.signed = Some(signoff());
        assert_eq!(check_signing(&o), Err(CommissioningRefusal::AlreadySigned));
    }

    fn with_money(o: &mut Organisation) {
        for (id, due, amount) in [
            ("i1", d(2026, 3, 1), dec!(1000)),
            ("i2", d(2026, 4, 1), dec!(500)),
            ("i3", d(2026, 6, 1), dec!(800)),
        ] {
            let inst =
                Instalment { id: EntryId::from(id), due_on: due, amount, note: String::new() };
            o.instalments.insert(inst.id.clone(), inst);
        }
        let receipt = Collection {
            id: EntryId::from("c1"),
            received_on: d(2026, 3, 1),
            amount: dec!(1200),
            receipt_no: "001".to_owned(),
            by: UserId::from("fin"),
        };
        o.collections.insert(receipt.id.clone(), receipt);
    }

    #[test]
    fn receipts_go_to_the_oldest_instalment_and_overdue_ones_come_first() {
        let p = Policy::default();
        let mut o = org("a", dec!(1), dec!(50), 0, dec!(0));
        with_money(&mut o);
        let s = collection_status(&o, d(2026, 4, 11), &p).unwrap();
        let ids: Vec<String> = s.instalments.iter().map(|i| i.instalment_id.to_string()).collect();
        assert_eq!(ids, ["i2", "i1", "i3"], "overdue first");
        let i2 = &s.instalments[0];
        assert_eq!((i2.received, i2.outstanding, i2.overdue_days), (dec!(200), dec!(300), 10));
        assert!(i2.reminder_due);
        let i1 = &s.instalments[1];
        assert_eq!(
            (i1.received, i1.outstanding, i1.overdue_days, i1.reminder_due),
            (dec!(1000), dec!(0), 0, false)
        );
        assert_eq!(
            (s.total_due, s.total_received, s.total_outstanding),
            (dec!(2300), dec!(1200), dec!(1100))
        );
        assert_eq!((s.overdue_outstanding, s.unapplied), (dec!(300), dec!(0)));
        // Due today is not overdue; the day after is, with 0 days of grace.
        assert!(
            !collection_status(&o, d(2026, 4, 1), &p)
                .unwrap()
                .instalments
                .iter()
                .any(|i| i.reminder_due)
        );
        assert!(collection_status(&o, d(2026, 4, 2), &p).unwrap().instalments[0].reminder_due);
    }

    #[test]
    fn reminders_repeat_after_the_interval() {
        let p = Policy::default();
        let mut o = org("a", dec!(1), dec!(50), 0, dec!(0));
        with_money(&mut o);
        let reminder = Reminder {
            id: EntryId::from("r1"),
            instalment_id: EntryId::from("i2"),
            on: d(2026, 4, 5),
            by: UserId::from("u"),
            note: String::new(),
        };
        o.reminders.insert(reminder.id.clone(), reminder);
        let at = |day| collection_status(&o, d(2026, 4, day), &p).unwrap().instalments[0].clone();
        assert_eq!(at(12).last_reminder_on, Some(d(2026, 4, 5)));
        assert!(!at(12).reminder_due, "7 days old: not older than the interval");
        assert!(at(13).reminder_due, "8 days old");
        let mut graceful = Policy::default();
        graceful.commissioning.dunning_after_days = 10;
        o.reminders.clear();
        let s = |day| {
            collection_status(&o, d(2026, 4, day), &graceful).unwrap().instalments[0].reminder_due
        };
        assert!(!s(11), "10 days past due");
        assert!(s(12));
    }

    #[test]
    fn overpayment_is_unapplied_and_gap_is_bank_minus_receipts() {
        let p = Policy::default();
        let mut o = org("a", dec!(1), dec!(50), 0, dec!(0));
        with_money(&mut o);
        o.collections.get_mut(&EntryId::from("c1")).unwrap().amount = dec!(2500);
        let s = collection_status(&o, d(2026, 12, 31), &p).unwrap();
        assert_eq!(
            (s.total_outstanding, s.unapplied, s.overdue_outstanding),
            (dec!(0), dec!(200), dec!(0))
        );
        let rec = Reconciliation {
            id: EntryId::from("r"),
            on: d(2026, 4, 1),
            bank_balance: dec!(1250),
            receipts_total: dec!(1200),
            by: UserId::from("fin"),
            note: String::new(),
        };
        assert_eq!(reconciliation_gap(&rec), Ok(dec!(50)));
        let short = Reconciliation { bank_balance: dec!(1100), ..rec };
        assert_eq!(reconciliation_gap(&short), Ok(dec!(-100)));
    }
}
