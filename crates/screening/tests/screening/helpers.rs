use kyc_screening::index::Index;
use kyc_screening::source::{Entry, ListId};

/// The committed fixture file of a list.
pub fn fixture(list: ListId) -> Vec<u8> {
    let name = match list {
        ListId::OfacSdn => "ofac_sdn.xml",
        ListId::UnConsolidated => "un_consolidated.xml",
    };
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The entries of a list's fixture file.
pub fn fixture_entries(list: ListId) -> Vec<Entry> {
    list.source().parse(&fixture(list)).expect("fixture parses")
}

/// An index of both fixture lists.
pub fn fixture_index() -> Index {
    let mut entries = fixture_entries(ListId::OfacSdn);
    entries.extend(fixture_entries(ListId::UnConsolidated));
    Index::build(entries)
}
