//! The screening index: entries of several lists in one versioned file, prepared for matching
//! when loaded (normalised words, a vocabulary blocked by first letter, postings).

mod refresh;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::matching::{name_tokens, TOKEN_FLOOR};
use crate::source::{Entry, ListId};
pub use refresh::{check_refresh, InvalidMaxDrop, RefreshPolicy, RefreshRefused};

/// The version of the index file format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Number of entries per list: what the refresh guard compares between two indexes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexStats {
    pub counts: BTreeMap<ListId, usize>,
}

impl IndexStats {
    /// Entries over all lists.
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }
}

/// An index file that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index format version {found} is not supported (this build reads {FORMAT_VERSION})")]
    UnknownVersion { found: u32 },
    #[error("malformed index file")]
    Malformed(#[from] serde_json::Error),
}

#[derive(Serialize)]
struct IndexFileRef<'a> {
    version: u32,
    entries: &'a [Entry],
}

/// The whole file, read once [`Header`] has vouched for its version.
#[derive(Deserialize)]
struct IndexFile {
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Header {
    version: u32,
}

/// One name (primary or alias) of one entry, as word ids into the vocabulary.
pub(crate) struct IndexedName {
    pub(crate) entry: u32,
    /// Position of the name in the entry's `names`.
    pub(crate) name: u32,
    words: Box<[u32]>,
}

/// Entries of one or more lists, ready to screen against.
pub struct Index {
    entries: Vec<Entry>,
    names: Vec<IndexedName>,
    vocabulary: Vec<String>,
    /// Word ids by the word's first character, so a subject word is compared with few words.
    by_initial: BTreeMap<u8, Vec<u32>>,
    /// Name ids holding each word id.
    postings: Vec<Vec<u32>>,
}

impl Index {
    /// Builds an index from the entries of any number of lists.
    pub fn build(entries: Vec<Entry>) -> Self {
        let mut ids: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        let mut index = Index {
            entries: Vec::new(),
            names: Vec::new(),
            vocabulary: Vec::new(),
            by_initial: BTreeMap::new(),
            postings: Vec::new(),
        };
        for (entry_id, entry) in entries.iter().enumerate() {
            for (name_pos, name) in entry.names.iter().enumerate() {
                let name_id = index.names.len() as u32;
                let mut words = Vec::new();
                for word in name_tokens(name) {
                    let id = *ids.entry(word.clone()).or_insert_with(|| {
                        let id = index.vocabulary.len() as u32;
                        index.by_initial.entry(word.as_bytes()[0]).or_default().push(id);
                        index.vocabulary.push(word);
                        index.postings.push(Vec::new());
                        id
                    });
                    if !words.contains(&id) {
                        index.postings[id as usize].push(name_id);
                    }
                    words.push(id);
                }
                index.names.push(IndexedName {
                    entry: entry_id as u32,
                    name: name_pos as u32,
                    words: words.into_boxed_slice(),
                });
            }
        }
        index.entries = entries;
        index
    }

    /// The index as a file: JSON with its format version.
    pub fn to_bytes(&self) -> Vec<u8> {
        let file = IndexFileRef { version: FORMAT_VERSION, entries: &self.entries };
        serde_json::to_vec(&file).expect("entries serialise to JSON")
    }

    /// Loads an index file, refusing a format version this build does not know.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IndexError> {
        let header: Header = serde_json::from_slice(bytes)?;
        if header.version != FORMAT_VERSION {
            return Err(IndexError::UnknownVersion { found: header.version });
        }
        let file: IndexFile = serde_json::from_slice(bytes)?;
        Ok(Index::build(file.entries))
    }

    /// Entries per list.
    pub fn stats(&self) -> IndexStats {
        let mut counts = BTreeMap::new();
        for entry in &self.entries {
            *counts.entry(entry.list).or_insert(0) += 1;
        }
        IndexStats { counts }
    }

    /// All entries, in the order they were given.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub(crate) fn entry(&self, id: u32) -> &Entry {
        &self.entries[id as usize]
    }

    pub(crate) fn name(&self, id: u32) -> &IndexedName {
        &self.names[id as usize]
    }

    pub(crate) fn words(&self, name: &IndexedName) -> Vec<&str> {
        name.words.iter().map(|&w| self.vocabulary[w as usize].as_str()).collect()
    }

    /// Ids of the names holding a word close to one of the given words (same first letter,
    /// Jaro-Winkler at least [`TOKEN_FLOOR`]); the rest cannot reach a useful score.
    pub(crate) fn candidates(&self, words: &[&str]) -> Vec<u32> {
        let mut found = Vec::new();
        for word in words {
            let Some(bucket) = word.as_bytes().first().and_then(|b| self.by_initial.get(b)) else {
                continue;
            };
            for &id in bucket {
                if strsim::jaro_winkler(word, &self.vocabulary[id as usize]) >= TOKEN_FLOOR {
                    found.extend_from_slice(&self.postings[id as usize]);
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }
}
