use kyc_screening::country::Country;
use kyc_screening::matching::{screen, Hit, Subject, Threshold};
use kyc_screening::source::{BirthDate, ListId};

use crate::helpers::fixture_index;

fn hits(subject: Subject) -> Vec<Hit> {
    screen(&fixture_index(), &subject, Threshold::default())
}

fn top(subject: Subject) -> Hit {
    hits(subject).into_iter().next().expect("a hit")
}

#[test]
fn names_that_should_hit_hit_the_right_entry() {
    // (subject name, list, entry id, lowest expected score)
    let table = [
        ("John Smith", ListId::OfacSdn, "10003", 1.0),           // exact
        ("Ali Tehrany", ListId::OfacSdn, "10004", 1.0),          // alias
        ("Tehrani Ali Reza", ListId::OfacSdn, "10004", 1.0),     // reordered
        ("Hans Müller", ListId::OfacSdn, "10001", 1.0),          // umlaut
        ("Hans Mueller", ListId::OfacSdn, "10001", 1.0),         // ue spelling
        ("Hans Muller", ListId::OfacSdn, "10001", 1.0),          // plain u
        ("Hans-Jurgen Mueller", ListId::OfacSdn, "10001", 1.0),  // primary, transliterated
        ("Viktor Zakharof", ListId::OfacSdn, "10005", 0.9),      // one-letter typo
        ("Jose Garcia Lopez", ListId::OfacSdn, "10002", 0.9),    // accents dropped, middle name missing
        ("Abdulrahman Al Farsi", ListId::OfacSdn, "10007", 1.0), // spacing
        ("Mendez Jose Luis", ListId::UnConsolidated, "HTi.901", 1.0), // UN, reordered and accents
        ("Gunter Schroeder", ListId::UnConsolidated, "LYi.901", 1.0), // UN, oe spelling
        ("Sergey Ivanoff", ListId::UnConsolidated, "CFi.901", 1.0), // UN alias
    ];
    for (name, list, entry_id, at_least) in table {
        let hit = top(Subject::person(name));
        assert_eq!((hit.list, hit.entry_id.as_str()), (list, entry_id), "{name}: {hit:?}");
        assert!(hit.score >= at_least, "{name}: score {} below {at_least}", hit.score);
    }
}

#[test]
fn the_hit_reports_the_listed_name_or_alias_that_matched() {
    let hit = top(Subject::person("Ali Tehrany"));

    assert_eq!(hit.matched_name, "Ali TEHRANY");
}

#[test]
fn a_clear_non_match_returns_nothing() {
    for name in ["Emily Watson", "Pierre Dubois", "Xu Wei"] {
        assert!(hits(Subject::person(name)).is_empty(), "{name}");
    }
}

#[test]
fn a_common_name_with_another_date_of_birth_scores_lower_but_is_still_reported() {
    let uk = Country::from_code("GBR").unwrap();
    let same = top(Subject::person("John Smith").born(BirthDate::ymd(1980, 1, 1).unwrap()).national_of(uk));
    let other = hits(Subject::person("John Smith").born(BirthDate::ymd(1992, 6, 30).unwrap()));

    assert_eq!(same.entry_id, "10003");
    assert_eq!(same.agreed.date_of_birth, Some(true));
    assert_eq!(same.agreed.nationality, Some(true));
    let other = other.iter().find(|h| h.entry_id == "10003").expect("an exact name hit is never hidden");
    assert_eq!(other.agreed.date_of_birth, Some(false));
    assert!(other.score < same.score, "{} < {}", other.score, same.score);
}

#[test]
fn a_date_of_birth_raises_or_lowers_a_fuzzy_name_hit() {
    let typo = Subject::person("Viktor Zakharof");

    let unknown = top(typo.clone()).score;
    let same = top(typo.clone().born(BirthDate::ymd(1959, 10, 22).unwrap())).score;
    let other = hits(typo.born(BirthDate::ymd(1990, 1, 1).unwrap()));

    assert!(same > unknown, "{same} > {unknown}");
    assert!(other.first().is_none_or(|h| h.score < unknown));
}

#[test]
fn hits_are_sorted_by_score_and_both_lists_are_screened() {
    let all = hits(Subject::person("John Smith").born(BirthDate::ymd(1975, 5, 5).unwrap()));

    let ids: Vec<&str> = all.iter().map(|h| h.entry_id.as_str()).collect();
    assert_eq!(ids, ["QDi.903", "10003"]);
    assert!(all.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn persons_are_not_screened_against_entities_and_organisations_are() {
    assert!(hits(Subject::person("Ocean Pearl")).is_empty());

    let hit = top(Subject::organisation("Mueller und Soehne Handels GmbH"));
    assert_eq!(hit.entry_id, "10021");
}

#[test]
fn the_threshold_is_configurable() {
    let index = fixture_index();
    let loose = screen(&index, &Subject::person("Jon Smit"), Threshold::new(0.5).unwrap());
    let strict = screen(&index, &Subject::person("Jon Smit"), Threshold::new(0.99).unwrap());

    assert!(!loose.is_empty());
    assert!(strict.is_empty());
    assert!(Threshold::new(1.5).is_err());
}
