//! The request paths' own work, without a store or HTTP: decoding a session partition, building
//! the public view of it (and its JSON), and validating a step's form.
//!
//! The partition is `fixtures/session-partition.json`: the 20 items of one demo session walked to
//! the end on the dev server (session, five steps, documents, a liveness attempt, a beneficial
//! owner), as the SQLite store keeps them.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use kyc_core::codec::SessionItems;
use kyc_core::domain::form::{validate_form, FormData};
use kyc_core::domain::ids::StepId;
use kyc_core::domain::time::Timestamp;
use kyc_core::ports::table::Item;
use kyc_core::services::PublicSessionState;
use std::hint::black_box;

fn partition() -> Vec<Item> {
    serde_json::from_str(include_str!("fixtures/session-partition.json")).expect("a JSON array of items")
}

fn benches(c: &mut Criterion) {
    let items = partition();
    assert_eq!(items.len(), 20);
    let decoded = SessionItems::from_items(items.clone()).unwrap().expect("a session item");
    let now = Timestamp::from_datetime(time::OffsetDateTime::now_utc());

    c.bench_function("codec: decode a 20-item session partition", |b| {
        b.iter_batched(
            || items.clone(),
            |items| SessionItems::from_items(items).unwrap(),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("public view: build", |b| {
        b.iter(|| PublicSessionState::build(black_box(&decoded), now))
    });
    c.bench_function("public view: build and serialize to JSON", |b| {
        b.iter(|| serde_json::to_vec(&PublicSessionState::build(black_box(&decoded), now)).unwrap())
    });

    let step_id = StepId::parse("personal_info").unwrap();
    let step = decoded.session.workflow.step(&step_id).expect("the demo's personal_info step");
    let form: FormData = serde_json::from_value(serde_json::json!({
        "full_name": "Ada Lovelace", "date_of_birth": "1985-03-15", "email": "ada@example.com",
        "phone": "+442079460958", "country": "GB", "occupation": "employed"
    }))
    .unwrap();
    c.bench_function("step completion: validate a 6-field form", |b| {
        b.iter(|| validate_form(step, black_box(&form), |doc| decoded.has_confirmed_document(doc)).unwrap())
    });
}

criterion_group!(core_paths, benches);
criterion_main!(core_paths);
