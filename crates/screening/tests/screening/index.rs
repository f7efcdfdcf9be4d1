use kyc_screening::index::{check_refresh, Index, IndexError, IndexStats, RefreshPolicy, RefreshRefused};
use kyc_screening::matching::{screen, Subject, Threshold};
use kyc_screening::source::ListId;

use crate::helpers::fixture_index;

fn stats(ofac: usize, un: usize) -> IndexStats {
    IndexStats {
        counts: [(ListId::OfacSdn, ofac), (ListId::UnConsolidated, un)]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect(),
    }
}

#[test]
fn an_index_counts_entries_per_list() {
    assert_eq!(fixture_index().stats(), stats(18, 14));
}

#[test]
fn an_index_survives_a_round_trip_through_bytes() {
    let index = fixture_index();

    let loaded = Index::from_bytes(&index.to_bytes()).unwrap();

    assert_eq!(loaded.entries(), index.entries());
    let hits = screen(&loaded, &Subject::person("Hans Mueller"), Threshold::default());
    assert_eq!(hits[0].entry_id, "10001");
}

#[test]
fn an_index_of_an_unknown_format_version_is_refused() {
    let bytes = br#"{"version":99,"entries":[]}"#;

    let err = Index::from_bytes(bytes).err().unwrap();

    assert!(matches!(err, IndexError::UnknownVersion { found: 99 }), "{err:?}");
    assert!(matches!(Index::from_bytes(b"{not json"), Err(IndexError::Malformed(_))));
}

#[test]
fn an_empty_index_is_refused_even_as_the_first() {
    assert_eq!(
        check_refresh(None, &IndexStats::default(), RefreshPolicy::default()),
        Err(RefreshRefused::Empty)
    );
    assert_eq!(
        check_refresh(Some(&stats(100, 50)), &stats(0, 0), RefreshPolicy::default()),
        Err(RefreshRefused::Empty)
    );
}

#[test]
fn a_list_that_shrank_too_much_is_refused_naming_the_list() {
    let err = check_refresh(Some(&stats(1000, 50)), &stats(1000, 40), RefreshPolicy::default()).unwrap_err();

    assert!(
        matches!(err, RefreshRefused::Shrank { list: ListId::UnConsolidated, previous: 50, next: 40, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "un_consolidated shrank from 50 to 40 entries (20.0 % fewer, at most 10.0 % allowed)"
    );
}

#[test]
fn a_list_missing_from_the_new_index_is_refused() {
    let err = check_refresh(Some(&stats(1000, 50)), &stats(1000, 0), RefreshPolicy::default()).unwrap_err();

    assert!(matches!(err, RefreshRefused::Shrank { next: 0, .. }));
}

#[test]
fn a_normal_refresh_is_accepted() {
    let policy = RefreshPolicy::new(0.05).unwrap();

    assert_eq!(check_refresh(Some(&stats(1000, 50)), &stats(990, 51), policy), Ok(()));
    assert_eq!(check_refresh(None, &stats(1000, 50), policy), Ok(()));
    assert_eq!(check_refresh(Some(&stats(1000, 0)), &stats(1000, 50), policy), Ok(()), "a new list");
    assert!(RefreshPolicy::new(-0.1).is_err());
}
