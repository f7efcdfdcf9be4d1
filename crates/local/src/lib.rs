//! Embedded local adapters, each behind its cargo feature (all on by default):
//!
//! - `sqlite`: the single table on SQLite ([`SqliteTable`]);
//! - `fs`: documents on the filesystem with HMAC-signed upload and download URLs
//!   ([`FsBlobs`]), served by [`blob_server`];
//! - `pdf`: [`LocalExtractor`], which reads a PDF's text layer.
//!
//! These adapters let the backend run on one machine (dev server, integration tests) with the
//! same port semantics as the AWS deployment. The Lambda functions leave out what they do not
//! use on AWS: the SQLite engine and the PDF parser are about 1.7 MB of a binary.

#![warn(missing_docs)]

#[cfg(feature = "fs")]
pub mod blob_server;
#[cfg(feature = "fs")]
mod fs_blobs;
#[cfg(feature = "pdf")]
mod local_extractor;
#[cfg(feature = "sqlite")]
mod sqlite_table;

#[cfg(feature = "fs")]
pub use fs_blobs::{Denied, FsBlobs, SignedRequest, BLOB_ROUTE_PREFIX};
#[cfg(feature = "pdf")]
pub use local_extractor::LocalExtractor;
#[cfg(feature = "sqlite")]
pub use sqlite_table::SqliteTable;
