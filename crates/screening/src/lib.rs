//! Sanctions screening against public lists. No AWS and no HTTP: the published index is read
//! and written through core's `Table` and `Blobs` ports, and lists are downloaded through its
//! `FileDownloader` port.
//!
//! # Sources
//! [`source::ListSource`] turns the bytes of one official list file into normalised
//! [`source::Entry`] values (list, entry id, kind, programmes, names with aliases, dates of birth,
//! nationalities as ISO codes). Supported: the OFAC SDN list (`sdn.xml`) and the UN Security
//! Council consolidated list XML. Individuals, entities, vessels and aircraft are all kept with
//! their kind; persons are screened against individuals, organisations against the rest.
//! A malformed file, or another document, is a [`source::SourceError`], never an empty list.
//!
//! # Index
//! [`index::Index`] holds the entries of several lists in one versioned JSON file
//! ([`index::FORMAT_VERSION`]; other versions are refused) and is prepared at load: names are
//! normalised once into a vocabulary of words, bucketed by first letter, with postings to the
//! names holding each word. [`index::check_refresh`] refuses a new index that is empty or where a
//! list shrank by more than the [`index::RefreshPolicy`] allows, so the previous one stays.
//!
//! # Normalisation and scoring
//! [`matching::name_tokens`] transliterates to ASCII, folds case and punctuation, and folds the
//! German `ue`/`oe`/`ae` spellings (Müller = Mueller = Muller). [`matching::name_similarity`] pairs
//! the words of two names in any order by Jaro-Winkler, weighted by word length; leftover words
//! lower the score. [`matching::screen`] takes as candidates only the names holding a word close
//! to one of the subject's, scores each entry on its best name or alias, then lets date of birth
//! and nationality raise or lower the score. Hits at or above the [`matching::Threshold`] are
//! returned best first, and an exact name hit is returned whatever the other attributes say.
//!
//! # Publication
//! [`update::update_lists`] (the scheduled refresh) downloads and parses every configured list,
//! runs the guard against the index in service, and [`store::IndexStore::publish`]es: the index
//! object first, then the pointer item, swapped on the condition that it still names the version
//! read. [`published::PublishedScreener`] loads the pointed index on the first screen, follows
//! the pointer at most once per recheck interval, and keeps the index it has when a newer one
//! cannot be loaded.
//!
//! # Adding a source
//! Add a [`source::ListId`] variant, a module under `source/` with a type implementing
//! [`source::ListSource`] (serde structs for the file format, mapped into `Entry`; a root-element
//! check; blank parts skipped), wire it in `ListId::source`, and commit a small fixture file in
//! the real format under `fixtures/` with parser tests beside the others.

pub mod country;
pub mod index;
pub mod matching;
pub mod published;
pub mod screener;
pub mod source;
pub mod store;
pub mod update;
