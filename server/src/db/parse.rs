//! The text forms storage keeps values in, written and read back, the same on every backend.

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

/// Money as stored: text with at least two places (`"1500000.00"`), the way RULES.md §1
/// writes CNY; documents store the normalised form (`"1500000"`). Never rounds: more places
/// are kept.
pub fn stored_money(amount: Decimal) -> String {
    let mut padded = amount;
    if padded.scale() < 2 {
        padded.rescale(2);
    }
    padded.to_string()
}

/// An instant as stored: fixed-width RFC 3339 UTC text to the second, so instants sort and
/// compare correctly as text.
pub fn stored_instant(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_padded_to_two_places_and_never_rounded() {
        assert_eq!(stored_money(Decimal::new(1_500_000, 0)), "1500000.00");
        assert_eq!(stored_money(Decimal::new(123_456, 3)), "123.456", "padding never rounds");
    }
}
