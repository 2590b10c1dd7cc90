//! Images between backends: a SQLite desk's event image written into PostgreSQL reads back
//! the same, row for row and cell for cell, and so do the books drawn from those rows; and
//! PostgreSQL's image of them writes a SQLite desk that reads back the same again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests may panic.

use super::super::testing::TestDatabase;
use crate::db::desk::books::PaperOf;
use crate::db::desk::image::{Touched, UnitScope};
use crate::db::desk::suite_records::books;
use crate::db::desk::{DeskBooks, DeskImages};
use crate::db::sqlite::desk::DeskFile;

/// A SQLite desk file in `dir`.
fn sqlite_desk(dir: &tempfile::TempDir, name: &str) -> DeskFile {
    DeskFile::open(&dir.path().join(name)).unwrap()
}

#[test]
fn an_image_moves_between_sqlite_and_postgresql_unchanged() {
    let Some(database) = TestDatabase::migrated() else { return };
    let pg = database.db();
    let dir = tempfile::tempdir().unwrap();
    let central = sqlite_desk(&dir, "central.sqlite3");
    books(central.db());
    let image = central.db().event_image("e1", None).unwrap().unwrap();
    assert!(image.row_count() > 10, "every kind of row: {image:?}");
    let applied = pg.apply_image(&image, UnitScope::Project).unwrap();
    assert_eq!(applied.rows, image.row_count());
    assert_eq!(pg.event_image("e1", None).unwrap().unwrap(), image, "row for row");
    let touched = Touched {
        tickets: ["t1".to_owned()].into(),
        vouchers: [3].into(),
        all_buyers: true,
        ..Touched::default()
    };
    assert_eq!(
        pg.event_image("e1", Some(&touched)).unwrap(),
        central.db().event_image("e1", Some(&touched)).unwrap(),
        "a batch names the same rows"
    );
    // The books read from the same rows alike (the ledger does not travel in an image).
    let (sqlite, postgres) = (central.db(), &pg);
    assert_eq!(postgres.event_tickets("e1").unwrap(), sqlite.event_tickets("e1").unwrap());
    assert_eq!(postgres.event_receipts("e1").unwrap(), sqlite.event_receipts("e1").unwrap());
    assert_eq!(postgres.event_vouchers("e1").unwrap(), sqlite.event_vouchers("e1").unwrap());
    assert_eq!(postgres.paper_hold("e1", "h2").unwrap(), sqlite.paper_hold("e1", "h2").unwrap());
    for ticket in ["t1", "t1-red", "t2"] {
        let paper = postgres.paper_ticket("e1", ticket).unwrap();
        assert!(paper.is_some());
        assert_eq!(paper, sqlite.paper_ticket("e1", ticket).unwrap(), "{ticket}");
    }
    assert_eq!(postgres.paper_entry("e1", PaperOf::Voucher(1)).unwrap(), None);
    // And back: PostgreSQL's image writes a SQLite desk that reads back the same.
    let venue = sqlite_desk(&dir, "venue.sqlite3");
    let back = pg.event_image("e1", None).unwrap().unwrap();
    venue.db().apply_image(&back, UnitScope::Project).unwrap();
    assert_eq!(venue.db().event_image("e1", None).unwrap().unwrap(), image);
}
