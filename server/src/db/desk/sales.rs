//! Prices, work tickets and their reviews, receipts and vouchers (with red-ink reversals).

/// The desk's sales records.
pub trait DeskSales {}
