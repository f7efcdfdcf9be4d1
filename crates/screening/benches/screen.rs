//! Screening one name against a synthetic index about the size of the OFAC SDN list with aliases.

use criterion::{criterion_group, criterion_main, Criterion};
use kyc_screening::index::Index;
use kyc_screening::matching::{screen, Subject, Threshold};
use kyc_screening::source::{BirthDate, Entry, EntryKind, ListId};

const SYLLABLES: [&str; 40] = [
    "al", "ba", "ka", "da", "el", "fa", "ga", "ha", "ir", "jo", "ke", "li", "ma", "na", "or", "pe", "qu",
    "ra", "sa", "ta", "ul", "va", "wa", "xi", "ya", "za", "mir", "hos", "din", "kov", "son", "vic", "ez",
    "ber", "tan", "rom", "lee", "ng", "us", "ov",
];

/// A small deterministic generator, so every run screens the same index.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % bound as u64) as usize
    }

    fn word(&mut self) -> String {
        (0..2 + self.next(2)).map(|_| SYLLABLES[self.next(SYLLABLES.len())]).collect()
    }

    fn name(&mut self) -> String {
        (0..2 + self.next(3)).map(|_| self.word()).collect::<Vec<_>>().join(" ")
    }
}

fn synthetic_index(size: usize) -> Index {
    let mut rng = Lcg(18);
    let entries = (0..size)
        .map(|i| Entry {
            list: if i % 5 == 0 { ListId::UnConsolidated } else { ListId::OfacSdn },
            entry_id: i.to_string(),
            kind: if i % 4 == 0 { EntryKind::Entity } else { EntryKind::Individual },
            programmes: vec!["SDGT".to_owned()],
            names: (0..1 + rng.next(3)).map(|_| rng.name()).collect(),
            dates_of_birth: vec![BirthDate::year(1940 + rng.next(60) as u16)],
            nationalities: Vec::new(),
        })
        .collect();
    Index::build(entries)
}

fn bench_screen(c: &mut Criterion) {
    let index = synthetic_index(20_000);
    let subject = Subject::person("Karim Hosdin Almirov").born(BirthDate::ymd(1971, 4, 2).unwrap());
    c.bench_function("screen one name against 20,000 entries", |b| {
        b.iter(|| screen(&index, &subject, Threshold::default()))
    });
}

criterion_group!(benches, bench_screen);
criterion_main!(benches);
