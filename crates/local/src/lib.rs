//! Embedded local adapters: the single table on SQLite.
//!
//! These adapters let the backend run on one machine (dev server, integration tests) with the
//! same port semantics as the AWS deployment.

#![warn(missing_docs)]

mod sqlite_table;

pub use sqlite_table::SqliteTable;
