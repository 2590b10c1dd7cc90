//! # kam-ffi
//!
//! The layer the iOS and Android apps call, generated into Swift and Kotlin by uniffi. It is
//! deliberately thin: every function delegates to kam-core in a line or two, and all logic
//! stays in the core where the server runs the very same code.
//!
//! What exists today: opening a device replica and the list-screen queries, and the tier rule
//! (so the app can tell a rep a customer's tier before syncing). The rest of the surface
//! (edits, sync, selection desk, listeners) follows the core as it grows.

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use kam_core::model::UserId;
use kam_core::replica::{Replica, ReplicaError, ReplicaOptions};
use rust_decimal::Decimal;

uniffi::setup_scaffolding!();

/// The errors an app acts on.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KamError {
    /// A field the user typed is not valid; `reason` says why.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// Which field.
        field: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The thing asked for does not exist on this device.
    #[error("not found: {what}")]
    NotFound {
        /// What was asked for.
        what: String,
    },
    /// A business rule refused the action; `reason` is shown to the user.
    #[error("rejected: {reason}")]
    Rejected {
        /// Why.
        reason: String,
    },
    /// Local storage failed (disk full, corrupt file); the app offers to retry or report.
    #[error("storage: {message}")]
    Storage {
        /// What failed, without personal data.
        message: String,
    },
}

impl From<ReplicaError> for KamError {
    fn from(error: ReplicaError) -> Self {
        match error {
            ReplicaError::NotFound(what) => KamError::NotFound { what },
            ReplicaError::Rule(reason) => KamError::Rejected { reason },
            other => KamError::Storage { message: other.to_string() },
        }
    }
}

/// One line of the customer list, as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CustomerListItem {
    /// Customer id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Tier code (`strategic`, `key`, `main`, `general`).
    pub tier: String,
    /// Tier label in Chinese.
    pub tier_label_zh: String,
    /// Grade A–D, if graded.
    pub grade: Option<String>,
    /// Open tickets.
    pub open_tickets: u32,
    /// Next visit due (YYYY-MM-DD), if the customer has a cadence.
    pub next_visit_due: Option<String>,
}

/// The tier a customer would get for `annual_sales` (CNY, decimal text) under the default
/// policy, as a code.
#[uniffi::export]
pub fn tier_for_annual_sales(
    annual_sales: String,
    leading_brand: bool,
    strategic: bool,
) -> Result<String, KamError> {
    let sales = Decimal::from_str(annual_sales.trim()).map_err(|e| KamError::InvalidField {
        field: "annual_sales".into(),
        reason: e.to_string(),
    })?;
    let policy = kam_core::Policy::default();
    Ok(kam_core::rules::tier_for(sales, leading_brand, strategic, &policy).tier.as_str().into())
}

/// A device's local replica.
#[derive(uniffi::Object)]
pub struct KamReplica {
    inner: Mutex<Replica>,
}

impl KamReplica {
    fn replica(&self) -> Result<std::sync::MutexGuard<'_, Replica>, KamError> {
        self.inner.lock().map_err(|_| KamError::Storage { message: "replica lock poisoned".into() })
    }
}

#[uniffi::export]
impl KamReplica {
    /// Opens (creating or upgrading) the replica file at `path`.
    #[uniffi::constructor]
    pub fn open(path: String) -> Result<Arc<KamReplica>, KamError> {
        let replica = Replica::open(path, ReplicaOptions::default())?;
        Ok(Arc::new(KamReplica { inner: Mutex::new(replica) }))
    }

    /// `owner`'s customers, strategic first.
    pub fn my_customers_by_tier(&self, owner: String) -> Result<Vec<CustomerListItem>, KamError> {
        let rows = self.replica()?.my_customers_by_tier(&UserId(owner))?;
        Ok(rows
            .into_iter()
            .map(|c| CustomerListItem {
                id: c.id.0,
                name: c.name,
                tier: c.tier.as_str().into(),
                tier_label_zh: c.tier.label_zh().into(),
                grade: c.grade.map(|g| g.as_str().into()),
                open_tickets: c.open_tickets,
                next_visit_due: c.next_visit_due.map(|d| d.to_string()),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_rule_and_error_mapping() {
        assert_eq!(tier_for_annual_sales("5000000.00".into(), false, false).unwrap(), "main");
        assert_eq!(tier_for_annual_sales("20000000.00".into(), true, false).unwrap(), "key");
        assert!(matches!(
            tier_for_annual_sales("lots".into(), false, false),
            Err(KamError::InvalidField { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let replica = KamReplica::open(dir.path().join("t.kam").display().to_string()).unwrap();
        assert!(replica.my_customers_by_tier("rep-01".into()).unwrap().is_empty());
    }
}
