//! A customer fixture for replica and sync tests.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::model::{
    Classification, CreditTerms, Customer, CustomerId, CustomerProfile, Tier, UserId,
};

/// A fixed instant for fixtures, 2026-11-23 02:00 UTC.
pub fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).single().unwrap_or_default()
}

/// A main-tier customer named `name`, owned by `owner`, created at [`fixed_now`].
pub fn customer_named(id: &str, name: &str, owner: &str) -> Customer {
    Customer {
        id: CustomerId::from(id),
        created_at: fixed_now(),
        profile: CustomerProfile { name: name.into(), ..Default::default() },
        annual_sales: BTreeMap::new(),
        profit_contribution: Decimal::ZERO,
        owners: vec![UserId::from(owner)],
        classification: Classification {
            strategic: false,
            tier: Tier::Main,
            grade: None,
            score: Some(60),
        },
        credit: CreditTerms::default(),
        contacts: BTreeMap::new(),
        visits: BTreeMap::new(),
        late_payments: BTreeMap::new(),
    }
}
