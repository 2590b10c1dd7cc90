//! Reading back the text forms storage keeps values in.

use rust_decimal::Decimal;

use super::DbError;

/// Parses an RFC 3339 instant as stored.
pub fn instant(text: &str) -> Result<chrono::DateTime<chrono::Utc>, DbError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| DbError::Corrupt(format!("`{text}` is not an instant")))
}

/// Parses a Decimal stored as text.
pub fn decimal(text: &str) -> Result<Decimal, DbError> {
    text.parse().map_err(|_| DbError::Corrupt(format!("`{text}` is not a decimal")))
}
