//! Integration tests of kyc-screening, on the committed fixture lists.

mod helpers;
mod index;
mod matching;
mod refresh;
mod sources;
