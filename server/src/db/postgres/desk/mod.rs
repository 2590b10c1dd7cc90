//! The selection desk's storage traits (`db::desk`) on PostgreSQL: the desk's tables live in
//! the server's database (migration step 4, `desk_schema`), and [`super::PgDb`] implements
//! the desk's traits beside the server's.
