//! The selection desk's own database (`desk.db`, one file beside the server's): what the
//! desk's single writer and its readers may ask of it. Each concern is a trait with typed
//! methods; `sqlite::desk` implements them over a `rusqlite::Connection`, `postgres::desk` over
//! a `PgDb` (the desk's tables then live in the server's PostgreSQL database).
//!
//! The desk file is separate from the server's database because its writer commits in
//! groups with `synchronous=FULL` on a thread of its own (DESIGN §5).

pub mod answers;
pub mod board;
pub mod books;
pub mod delegation;
pub mod display;
pub mod group;
pub mod image;
pub mod ledger;
pub mod sales;
pub mod state;
#[cfg(test)]
pub(crate) mod suite;
#[cfg(test)]
pub(crate) mod suite_records;

pub use answers::DeskAnswers;
pub use board::DeskBoard;
pub use books::DeskBooks;
pub use delegation::DeskDelegations;
pub use display::DeskDisplay;
pub use group::{DeskGroup, DeskSavepoints};
pub use image::DeskImages;
pub use ledger::DeskLedger;
pub use sales::DeskSales;
pub use state::{DeskState, DeskView};

/// Declares `DeskDb` as every listed desk concern, implemented for whatever implements them
/// all: one list to extend when a concern is added.
macro_rules! every_desk_concern {
    ($($concern:ident),+ $(,)?) => {
        /// Every storage concern of the desk's database, as one object.
        pub trait DeskDb: $($concern +)+ {}

        impl<T: $($concern +)+ ?Sized> DeskDb for T {}
    };
}

every_desk_concern!(
    DeskAnswers,
    DeskBoard,
    DeskBooks,
    DeskDelegations,
    DeskDisplay,
    DeskImages,
    DeskLedger,
    DeskSales,
    DeskState,
);
