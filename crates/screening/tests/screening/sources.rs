use kyc_screening::country::Country;
use kyc_screening::source::{BirthDate, EntryKind, ListId, SourceError};

use crate::helpers::{fixture, fixture_entries};

fn count(entries: &[kyc_screening::source::Entry], kind: EntryKind) -> usize {
    entries.iter().filter(|e| e.kind == kind).count()
}

#[test]
fn the_ofac_fixture_gives_every_entry_with_its_kind() {
    let entries = fixture_entries(ListId::OfacSdn);

    assert_eq!(entries.len(), 18);
    assert_eq!(count(&entries, EntryKind::Individual), 13);
    assert_eq!(count(&entries, EntryKind::Entity), 3);
    assert_eq!(count(&entries, EntryKind::Vessel), 1);
    assert_eq!(count(&entries, EntryKind::Aircraft), 1);
    assert!(entries.iter().all(|e| e.list == ListId::OfacSdn));
}

#[test]
fn an_ofac_individual_keeps_its_aliases_dates_nationalities_and_programmes() {
    let entries = fixture_entries(ListId::OfacSdn);
    let muller = entries.iter().find(|e| e.entry_id == "10001").unwrap();

    assert_eq!(muller.names, ["Hans-Jürgen MÜLLER", "Hans MUELLER", "Juergen MULLER"]);
    assert_eq!(muller.dates_of_birth, [BirthDate::ymd(1961, 2, 14).unwrap()]);
    assert_eq!(muller.nationalities, [Country::from_code("DE").unwrap()]);
    assert_eq!(muller.programmes, ["SDGT"]);

    let garcia = entries.iter().find(|e| e.entry_id == "10002").unwrap();
    let codes: Vec<&str> = garcia.nationalities.iter().map(Country::alpha2).collect();
    assert_eq!(codes, ["MX", "CO"], "nationality then citizenship");
    assert_eq!(garcia.dates_of_birth.len(), 2);
}

#[test]
fn an_ofac_entity_is_named_by_its_last_name_field() {
    let entries = fixture_entries(ListId::OfacSdn);
    let trading = entries.iter().find(|e| e.entry_id == "10020").unwrap();

    assert_eq!(trading.kind, EntryKind::Entity);
    assert_eq!(trading.names[0], "ATLANTIC BRIDGE TRADING LLC");
    assert_eq!(trading.names.len(), 3);
}

#[test]
fn the_un_fixture_gives_individuals_and_entities() {
    let entries = fixture_entries(ListId::UnConsolidated);

    assert_eq!(entries.len(), 14);
    assert_eq!(count(&entries, EntryKind::Individual), 10);
    assert_eq!(count(&entries, EntryKind::Entity), 4);
}

#[test]
fn a_un_individual_joins_its_name_parts_and_reads_every_date_form() {
    let entries = fixture_entries(ListId::UnConsolidated);
    let ri = entries.iter().find(|e| e.entry_id == "KPi.901").unwrap();

    assert_eq!(ri.names, ["RI WON HO", "Ri Won-Ho"]);
    assert_eq!(ri.dates_of_birth, [BirthDate::ymd(1964, 7, 17).unwrap(), BirthDate::year(1963)]);
    assert_eq!(ri.nationalities, [Country::from_code("PRK").unwrap()]);
    assert_eq!(ri.programmes, ["DPRK"]);

    let mendez = entries.iter().find(|e| e.entry_id == "HTi.901").unwrap();
    assert_eq!(mendez.names[0], "JOSÉ LUIS MÉNDEZ");
    assert_eq!(mendez.dates_of_birth.len(), 3, "between 1980 and 1982");

    let schroder = entries.iter().find(|e| e.entry_id == "LYi.901").unwrap();
    assert_eq!(schroder.nationalities.len(), 2);
    let smith = entries.iter().find(|e| e.entry_id == "QDi.903").unwrap();
    assert_eq!(smith.names, ["JOHN SMITH"], "blank alias elements are skipped");
}

#[test]
fn a_truncated_file_is_a_typed_error() {
    let bytes = fixture(ListId::OfacSdn);
    let truncated = &bytes[..bytes.len() / 2];

    let err = ListId::OfacSdn.source().parse(truncated).unwrap_err();

    assert!(matches!(err, SourceError::Xml { list: ListId::OfacSdn, .. }), "{err:?}");
}

#[test]
fn another_document_is_refused_rather_than_read_as_an_empty_list() {
    let ofac = fixture(ListId::OfacSdn);

    let err = ListId::UnConsolidated.source().parse(&ofac).unwrap_err();
    assert!(matches!(err, SourceError::UnexpectedRoot { found, .. } if found == "sdnList"));

    let err = ListId::OfacSdn.source().parse(b"<html><body>Service unavailable</body></html>").unwrap_err();
    assert!(matches!(err, SourceError::UnexpectedRoot { .. }));
    assert!(ListId::OfacSdn.source().parse(b"").is_err());
    assert!(ListId::OfacSdn.source().parse(&[0xff, 0xfe, 0x00]).is_err());
}

#[test]
fn an_entry_without_a_name_or_with_an_unknown_type_is_an_error() {
    let nameless = br#"<sdnList><sdnEntry><uid>1</uid><sdnType>Individual</sdnType></sdnEntry></sdnList>"#;
    let err = ListId::OfacSdn.source().parse(nameless).unwrap_err();
    assert!(matches!(err, SourceError::Nameless { .. }), "{err:?}");

    let odd = br#"<sdnList><sdnEntry><uid>1</uid><lastName>X</lastName><sdnType>Robot</sdnType></sdnEntry></sdnList>"#;
    let err = ListId::OfacSdn.source().parse(odd).unwrap_err();
    assert!(matches!(err, SourceError::UnknownKind { .. }), "{err:?}");

    let no_uid =
        br#"<sdnList><sdnEntry><lastName>X</lastName><sdnType>Entity</sdnType></sdnEntry></sdnList>"#;
    assert!(matches!(ListId::OfacSdn.source().parse(no_uid), Err(SourceError::Xml { .. })));
}
