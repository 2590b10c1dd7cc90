//! Identifiers and small value types shared by every aggregate.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Defines a string-backed stable identifier type (UUID v7 text for new entities).
macro_rules! stable_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// A fresh identifier: UUID v7, so ids sort roughly by creation time.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}

stable_id!(
    /// Identifies a customer (one `customer/<id>` document).
    CustomerId
);
stable_id!(
    /// Identifies a contact person inside a customer document.
    ContactId
);
stable_id!(
    /// Identifies a visit (contact) record inside a customer document.
    VisitId
);
stable_id!(
    /// Identifies a service ticket (one `ticket/<id>` document).
    TicketId
);
stable_id!(
    /// Identifies a reply or a status-history entry inside a ticket document.
    EntryId
);
stable_id!(
    /// Identifies a real-estate project (one `project/<id>` document).
    ProjectId
);
stable_id!(
    /// Identifies a building inside a project.
    BuildingId
);
stable_id!(
    /// Identifies a housing unit inside a project.
    UnitId
);
stable_id!(
    /// Identifies a selection event (one `event/<id>` document).
    EventId
);
stable_id!(
    /// Identifies a buyer on an event's approved list.
    BuyerId
);
stable_id!(
    /// Identifies a user (a rep, event staff, finance, HQ or admin person).
    UserId
);
stable_id!(
    /// Identifies a late-payment record inside a customer document.
    LatePaymentId
);

stable_id!(
    /// Identifies a development lead (one `lead/<id>` document).
    LeadId
);
stable_id!(
    /// Identifies a customer's yearly account plan (one `plan/<customer>-<year>` document).
    PlanId
);
stable_id!(
    /// Identifies a satisfaction survey (one `survey/<id>` document).
    SurveyId
);
stable_id!(
    /// Identifies a person's scorecard for a period (one `scorecard/<user>-<period>` document).
    ScorecardId
);
stable_id!(
    /// Identifies a monthly leadership review (one `review/<YYYY-MM>` document).
    ReviewId
);
stable_id!(
    /// Identifies a commissioning organisation (one `organisation/<id>` document).
    OrganisationId
);

/// Error returned when a closed vocabulary value (tier, grade, status...) is not recognised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownValue {
    /// Which vocabulary was being parsed.
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
}

/// Implements `as_str`, `FromStr`, `Display` and `ALL` for a field-less enum with stable codes.
macro_rules! vocabulary {
    ($name:ident, $kind:literal, { $($variant:ident => $code:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code stored in documents, the index and the wire.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::model::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok($name::$variant),)+
                    other => Err($crate::model::UnknownValue { kind: $kind, value: other.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary;

/// Parses a vocabulary code, for callers that hold a `&str`.
pub fn parse_code<T: FromStr<Err = UnknownValue>>(s: &str) -> Result<T, UnknownValue> {
    s.parse()
}
