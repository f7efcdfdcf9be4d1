//! Integration tests of kyc-screening, on the committed fixture lists.

mod helpers;
mod sources;
