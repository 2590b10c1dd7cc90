//! Who may send each desk command, checked in one place before anything else: before a stored
//! answer is returned to a retry, and before the command runs (ADR 0014).

use super::command::DeskCommand;
use super::context::GroupMemo;
use crate::auth::{Principal, Role};
use crate::db::GrantStore;
use crate::error::ServerError;

/// Event staff and headquarters: the people who run an event.
const STAFF: &[Role] = &[Role::EventStaff, Role::Hq, Role::Admin];
/// Finance and headquarters: reversals in red.
const FINANCE: &[Role] = &[Role::Finance, Role::Hq, Role::Admin];
/// Anyone who may review a work ticket (never its preparer: the command checks that).
const REVIEWERS: &[Role] = &[Role::EventStaff, Role::Finance, Role::Hq, Role::Admin];
/// Event staff or finance: who may take money and issue vouchers.
const CASHIERS: &[Role] = &[Role::EventStaff, Role::Finance, Role::Hq, Role::Admin];
/// Headquarters only: approved prices.
const PRICING: &[Role] = &[Role::Hq, Role::Admin];

/// The roles that may send `command`.
pub(crate) fn roles_for(command: &DeskCommand) -> &'static [Role] {
    match command {
        DeskCommand::Hold { .. }
        | DeskCommand::Release { .. }
        | DeskCommand::CallNext { .. }
        | DeskCommand::Skip { .. }
        | DeskCommand::Recall { .. }
        | DeskCommand::CheckIdentity { .. }
        | DeskCommand::SetMode { .. }
        | DeskCommand::ImportBuyers { .. }
        | DeskCommand::ImportLottery { .. }
        | DeskCommand::PrepareWorkTicket { .. } => STAFF,
        DeskCommand::ApprovePrice { .. } => PRICING,
        DeskCommand::ReviewWorkTicket { .. } => REVIEWERS,
        DeskCommand::RecordReceipt { .. } | DeskCommand::IssueVoucher { .. } => CASHIERS,
        DeskCommand::CancelSale { .. } | DeskCommand::SwapUnit { .. } => FINANCE,
    }
}

/// Why a venue server's own device is refused every desk command: it serves an event's desk
/// itself once the event is delegated to it and ships what its desk decided; it never acts
/// at headquarters' desk.
pub(crate) const VENUE_SENDS_NO_COMMANDS: &str =
    "现场服务器不在总部下达选房指令 (a venue server does not send desk commands to headquarters)";

/// Whether `who` may send `command` for `event_id`: the role, and for event staff the event's
/// grant. `Err` carries the reason for the 403.
pub(crate) fn authorize(
    memo: &GroupMemo,
    server: &dyn GrantStore,
    who: &Principal,
    event_id: &str,
    command: &DeskCommand,
) -> Result<Result<(), String>, ServerError> {
    if who.role == Role::Venue {
        return Ok(Err(VENUE_SENDS_NO_COMMANDS.into()));
    }
    if !roles_for(command).contains(&who.role) {
        return Ok(Err(format!(
            "{} may not send {} at the selection desk",
            who.role.as_str(),
            command.name()
        )));
    }
    if who.role == Role::EventStaff
        && !memo.has_grant(server, &who.user_id, &format!("event/{event_id}"))?
    {
        return Ok(Err("not assigned to this event".into()));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_reversals_need_the_back_office_and_prices_need_headquarters() {
        let price = DeskCommand::ApprovePrice {
            unit_id: "u".into(),
            unit_price: rust_decimal::Decimal::ONE,
            approvers: vec!["gm".into()],
            price_seen: None,
        };
        assert!(!roles_for(&price).contains(&Role::EventStaff));
        assert!(!roles_for(&price).contains(&Role::Finance));
        let cancel = DeskCommand::CancelSale { voucher_no: 1, reason: "r".into() };
        assert!(!roles_for(&cancel).contains(&Role::EventStaff));
        for command in [price, cancel, DeskCommand::CallNext { now_serving: 0 }] {
            assert!(!roles_for(&command).contains(&Role::Rep), "reps never act at the desk");
            assert!(!roles_for(&command).contains(&Role::Venue), "nor do venue servers");
        }
    }
}
