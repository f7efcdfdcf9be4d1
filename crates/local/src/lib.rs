//! Embedded local adapters: the single table on SQLite, and documents on the filesystem with
//! HMAC-signed upload and download URLs served by [`blob_server`].
//!
//! These adapters let the backend run on one machine (dev server, integration tests) with the
//! same port semantics as the AWS deployment.

#![warn(missing_docs)]

pub mod blob_server;
mod fs_blobs;
mod local_extractor;
mod sqlite_table;

pub use fs_blobs::{Denied, FsBlobs, SignedRequest, BLOB_ROUTE_PREFIX};
pub use local_extractor::LocalExtractor;
pub use sqlite_table::SqliteTable;
