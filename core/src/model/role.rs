//! Who a user is to the company: the role that decides what they may see and write.

use serde::{Deserialize, Serialize};

/// What a user may do. The server scopes reads by it; the permission matrix
/// (`rules::write_permissions`) and the desk decide writes by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A field rep: their own customers and those customers' tickets, plus projects.
    Rep,
    /// Event staff: the events they are assigned to and those events' projects.
    EventStaff,
    /// A venue server (issue 21): an enrolled device of a user with this role and the grant of
    /// the event it serves. It sees and writes what event staff do (it relays its tablets'
    /// edits and mirrors its desk's outcomes) but never sends desk commands to headquarters.
    Venue,
    /// Finance: everything; may set credit limits, payment terms, tiers, grades, sales and
    /// late payments.
    Finance,
    /// Headquarters: everything finance decides, plus handover, projects and prices.
    Hq,
    /// Administrators: everything headquarters may do.
    Admin,
}

impl Role {
    /// Every role, for tables and exhaustive tests.
    pub const ALL: [Role; 6] =
        [Role::Rep, Role::EventStaff, Role::Venue, Role::Finance, Role::Hq, Role::Admin];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::EventStaff => "event_staff",
            Role::Venue => "venue",
            Role::Finance => "finance",
            Role::Hq => "hq",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether this role sees every document (finance, headquarters, administrators).
    pub fn sees_everything(self) -> bool {
        matches!(self, Role::Finance | Role::Hq | Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("king"), None);
        assert_eq!(Role::parse("venue"), Some(Role::Venue));
        assert!(!Role::Venue.sees_everything(), "a venue sees its granted events only");
    }
}
