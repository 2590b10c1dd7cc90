//! # kam-ffi
//!
//! The layer the iOS and Android apps call, generated into Kotlin, Swift and Python by uniffi
//! (`scripts/bindings`). It is deliberately thin: every function delegates to kam-core in a
//! line or two, and all logic stays in the core, where the server runs the very same code.
//!
//! * [`KamReplica`] — the device's replica: customers, contacts, visits, tickets, the list
//!   screens, conflicts and history (`replica`); the selection desk's outbox and control table
//!   (`desk`); `sync_now` and `send_desk_commands`, async on tokio (`sync`).
//! * [`KamServer`] — where to sync and as which device.
//! * [`SyncProgressListener`], [`ChangeListener`] — implemented by the app; subscriptions end
//!   with their [`ListenerHandle`].
//! * [`KamError`] — the cases an app acts on.
//! * [`set_logger`] — kam-core's log events into the platform's logger ([`KamLogger`]).
//!
//! Money is a decimal, never a float; instants are the platform's; see `types`.

mod accounts;
mod desk;
mod encryption;
mod error;
mod listeners;
mod logging;
mod records;
mod replica;
mod sync;
mod types;
mod vocabulary;

use rust_decimal::Decimal;

pub use accounts::{
    AccountPlan, ItemScore, Lead, NewSurvey, PlanContent, PlanOwner, QuarterGoals, Survey,
};
pub use encryption::encrypt_replica_file;
pub use error::KamError;
pub use listeners::{
    ChangeListener, ControlTableListener, CustomerRowsListener, SyncProgressListener,
    SyncStatusListener, TaskHandle, TicketRowsListener, VisitRowsListener,
};
pub use logging::{KamLogger, LogLevel, set_logger};
pub use records::{
    AnnualSales, ChangeOrigin, ChangeSet, Customer, DeskSendReport, DocumentRef, NewTicket,
    OutboxEntry, SelectionEvent, ServiceTicket,
};
pub use replica::KamReplica;
pub use sync::{KamServer, PushNoticeListener, SyncSettings};
pub use types::{HousingUnit, LocalDate, TimeSpan, Timestamp};

uniffi::setup_scaffolding!();

/// A fresh id for a contact, visit or other entity the app creates (UUID v7, so ids sort by
/// creation time).
#[uniffi::export]
pub fn new_id() -> String {
    kam_core::model::EntryId::new().0
}

/// The tier a customer would get for `annual_sales` (CNY) under the default policy, so the
/// app can tell a rep before syncing. A value that is not a decimal (NaN) is
/// `KamError.InvalidField`.
#[uniffi::export]
pub fn tier_for_annual_sales(
    annual_sales: Decimal,
    leading_brand: bool,
    strategic: bool,
) -> Result<kam_core::model::Tier, KamError> {
    let policy = kam_core::Policy::default();
    Ok(kam_core::rules::tier_for(annual_sales, leading_brand, strategic, &policy).tier)
}

/// The Chinese name of a tier, as screens and exports show it.
#[uniffi::export]
pub fn tier_label_zh(tier: kam_core::model::Tier) -> String {
    tier.label_zh().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kam_core::model::Tier;

    #[test]
    fn tier_rule() {
        let tier =
            |sales: i64, leading| tier_for_annual_sales(Decimal::from(sales), leading, false);
        assert_eq!(tier(5_000_000, false).unwrap(), Tier::Main);
        assert_eq!(tier(20_000_000, true).unwrap(), Tier::Key);
        assert_eq!(tier_label_zh(Tier::Key), "重点客户");
        assert_ne!(new_id(), new_id());
    }
}
