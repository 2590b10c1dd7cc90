//! What the finance console reads from the desk: an event's work tickets with their review,
//! receipts and voucher, and the lists behind the reconciliation. Reads only.

/// The finance console's reads.
pub trait DeskBooks {}
