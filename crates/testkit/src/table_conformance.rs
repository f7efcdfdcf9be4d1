//! The conformance suite of the [`Table`] port.
//!
//! Each test is an ordinary `async fn` taking a fresh, empty table, so the suite is written
//! once and run against every adapter through [`table_conformance_tests!`](crate::table_conformance_tests).
//! The tests rely only on the port's documented semantics, which DynamoDB also has: GSI1 is
//! read as eventually consistent (the tests poll it), numbers are written in DynamoDB's
//! normalized form, a page may end with a cursor even when nothing follows, and items that
//! share a GSI1 sort key may come back in any order.

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use kyc_core::ports::table::Table;
use kyc_core::ports::table::{
    AttributeValue, Condition, Cursor, Index, Item, Key, Query, StoreError, Update, WriteOp, GSI1PK, GSI1SK,
    GSI2PK, GSI2SK, PK, SK, TTL, VERSION,
};
use tokio::sync::Barrier;

/// How many tasks race in the concurrency tests.
const RACERS: usize = 20;

// ----------------------------------------------------------------------------------------
// Helpers

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: &str, sk: &str) -> Key {
    Key::new(pk, sk)
}

fn item(pk: &str, sk: &str, attrs: &[(&str, AttributeValue)]) -> Item {
    let mut item = Item::default();
    item.insert(PK.into(), s(pk));
    item.insert(SK.into(), s(sk));
    for (name, value) in attrs {
        item.insert((*name).into(), value.clone());
    }
    item
}

fn put_op(item: Item, condition: Condition) -> WriteOp {
    WriteOp::Put { item, condition }
}

async fn get(table: &dyn Table, pk: &str, sk: &str) -> Option<Item> {
    table.get(&key(pk, sk)).await.expect("get failed")
}

async fn put(table: &dyn Table, item: Item) {
    table.put(item, Condition::Always).await.expect("unconditional put failed");
}

#[track_caller]
fn assert_condition_failed(result: Result<(), StoreError>, op: Option<usize>) {
    match result {
        Err(StoreError::ConditionFailed { op: failed }) => {
            assert_eq!(failed, op, "ConditionFailed names the wrong op")
        }
        other => panic!("expected ConditionFailed {{ op: {op:?} }}, got {other:?}"),
    }
}

#[track_caller]
fn assert_invalid<T: Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Invalid(_)) => {}
        other => panic!("expected StoreError::Invalid, got {other:?}"),
    }
}

fn sort_keys(items: &[Item]) -> Vec<String> {
    items.iter().map(|item| Key::of(item).expect("item without key").sk).collect()
}

fn table_keys(items: &[Item]) -> Vec<Key> {
    items.iter().map(|item| Key::of(item).expect("item without key")).collect()
}

fn string_attr(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(value)) => value.clone(),
        other => panic!("expected string attribute {name}, got {other:?}"),
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock before 1970").as_secs()
}

/// Follows cursors to the end, checking that no page exceeds the limit; returns every item.
async fn query_all(table: &dyn Table, query: Query) -> Vec<Item> {
    let mut items = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..10_000 {
        let page = table.query(query.clone().after(cursor)).await.expect("query failed");
        if let Some(limit) = query.limit {
            assert!(
                page.items.len() <= limit,
                "a page of {} items exceeds the limit {limit}",
                page.items.len()
            );
        }
        items.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return items,
        }
    }
    panic!("the query never stopped returning cursors");
}

/// Reads a GSI1 query until `done` holds (the index is eventually consistent), for up to
/// ten seconds, and returns the last result either way for the caller to assert on.
async fn query_index_until(table: &dyn Table, query: Query, done: impl Fn(&[Item]) -> bool) -> Vec<Item> {
    let mut items = query_all(table, query.clone()).await;
    for _ in 0..100 {
        if done(&items) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        items = query_all(table, query.clone()).await;
    }
    items
}

/// Puts `sks` into one partition in a scrambled order.
async fn put_partition(table: &dyn Table, pk: &str, sks: &[&str]) {
    let mut order: Vec<&str> = sks.to_vec();
    order.reverse();
    order.rotate_left(sks.len() / 3);
    for sk in order {
        put(table, item(pk, sk, &[("payload", s(&format!("{pk}/{sk}")))])).await;
    }
}

// ----------------------------------------------------------------------------------------
// Get and put

/// Reading a key that was never written yields `None`.
pub async fn a_missing_item_reads_as_none(table: Arc<dyn Table>) {
    assert_eq!(get(&*table, "NOPE", "NOPE").await, None);
    put(&*table, item("P", "A", &[])).await;
    assert_eq!(get(&*table, "P", "B").await, None);
    assert_eq!(get(&*table, "Q", "A").await, None);
}

/// An item with S, N, BOOL, M, L and NULL attributes reads back exactly as written.
pub async fn a_put_item_reads_back_with_every_attribute_type(table: Arc<dyn Table>) {
    let nested = AttributeValue::M(
        [
            ("name".to_string(), s("Joe")),
            ("age".to_string(), n(35)),
            ("tags".to_string(), AttributeValue::L(vec![s("a"), s("b")])),
            (
                "inner".to_string(),
                AttributeValue::M([("ok".to_string(), AttributeValue::Bool(false))].into()),
            ),
        ]
        .into(),
    );
    let written = item(
        "TYPES",
        "ALL",
        &[
            ("string", s("hello, wörld ✓")),
            ("empty_string", s("")),
            ("int", n(42)),
            ("negative_decimal", n("-3.25")),
            ("zero", n(0)),
            ("big", n("12345678901234567890")),
            ("yes", AttributeValue::Bool(true)),
            ("no", AttributeValue::Bool(false)),
            ("map", nested),
            ("empty_map", AttributeValue::M(Default::default())),
            (
                "list",
                AttributeValue::L(vec![s("x"), n(1), AttributeValue::Bool(true), AttributeValue::Null(true)]),
            ),
            ("empty_list", AttributeValue::L(vec![])),
            ("nothing", AttributeValue::Null(true)),
        ],
    );
    put(&*table, written.clone()).await;
    assert_eq!(get(&*table, "TYPES", "ALL").await, Some(written.clone()));
    let page = table.query(Query::partition("TYPES")).await.expect("query failed");
    assert_eq!(page.items, vec![written]);
}

/// A put writes the whole item: attributes absent from the new item are gone.
pub async fn a_put_replaces_the_whole_item(table: Arc<dyn Table>) {
    put(&*table, item("P", "A", &[("old", s("x")), ("shared", n(1))])).await;
    let replacement = item("P", "A", &[("shared", n(2)), ("new", s("y"))]);
    put(&*table, replacement.clone()).await;
    assert_eq!(get(&*table, "P", "A").await, Some(replacement));
}

/// A put of an item without string `pk` and `sk` attributes is rejected.
pub async fn a_put_without_string_key_attributes_is_invalid(table: Arc<dyn Table>) {
    let mut no_sk = Item::default();
    no_sk.insert(PK.into(), s("P"));
    assert_invalid(table.put(no_sk, Condition::Always).await);

    let mut no_pk = Item::default();
    no_pk.insert(SK.into(), s("A"));
    assert_invalid(table.put(no_pk, Condition::Always).await);

    let mut numeric_pk = item("P", "A", &[]);
    numeric_pk.insert(PK.into(), n(1));
    assert_invalid(table.put(numeric_pk, Condition::Always).await);

    assert_invalid(table.put(Item::default(), Condition::ItemAbsent).await);
    assert!(table.query(Query::partition("P")).await.expect("query failed").items.is_empty());
}

/// The numeric `ttl` attribute is stored and read back like any other, and can be changed.
pub async fn the_ttl_attribute_round_trips(table: Arc<dyn Table>) {
    let expires = unix_now() + 24 * 60 * 60;
    let written = item("TTL", "A", &[(TTL, n(expires)), ("data", s("x"))]);
    put(&*table, written.clone()).await;
    assert_eq!(get(&*table, "TTL", "A").await, Some(written.clone()));
    let page = table.query(Query::partition("TTL")).await.expect("query failed");
    assert_eq!(page.items, vec![written]);

    let later = expires + 60;
    table
        .update(Update::new(key("TTL", "A"), Condition::ItemExists).set(TTL, n(later)))
        .await
        .expect("update failed");
    let stored = get(&*table, "TTL", "A").await.expect("item vanished");
    assert_eq!(stored.get(TTL), Some(&n(later)));

    table
        .update(Update::new(key("TTL", "A"), Condition::ItemExists).remove(TTL))
        .await
        .expect("update failed");
    let stored = get(&*table, "TTL", "A").await.expect("item vanished");
    assert_eq!(stored.get(TTL), None);
}

// ----------------------------------------------------------------------------------------
// Put conditions

/// `ItemAbsent` lets a put create a new item.
pub async fn a_put_with_item_absent_succeeds_when_the_item_is_missing(table: Arc<dyn Table>) {
    let written = item("P", "A", &[("v", n(1))]);
    table.put(written.clone(), Condition::ItemAbsent).await.expect("put failed");
    assert_eq!(get(&*table, "P", "A").await, Some(written));
}

/// `ItemAbsent` refuses to overwrite an existing item, which stays unchanged.
pub async fn a_put_with_item_absent_fails_when_the_item_exists(table: Arc<dyn Table>) {
    let original = item("P", "A", &[("v", n(1))]);
    put(&*table, original.clone()).await;
    assert_condition_failed(table.put(item("P", "A", &[("v", n(2))]), Condition::ItemAbsent).await, None);
    assert_eq!(get(&*table, "P", "A").await, Some(original));
}

/// `ItemExists` refuses to create an item, and nothing is written.
pub async fn a_put_with_item_exists_fails_when_the_item_is_missing(table: Arc<dyn Table>) {
    assert_condition_failed(table.put(item("P", "A", &[]), Condition::ItemExists).await, None);
    assert_eq!(get(&*table, "P", "A").await, None);
}

/// `ItemExists` lets a put replace an existing item.
pub async fn a_put_with_item_exists_succeeds_when_the_item_exists(table: Arc<dyn Table>) {
    put(&*table, item("P", "A", &[("v", n(1))])).await;
    let replacement = item("P", "A", &[("v", n(2))]);
    table.put(replacement.clone(), Condition::ItemExists).await.expect("put failed");
    assert_eq!(get(&*table, "P", "A").await, Some(replacement));
}

/// `VersionIs(n)` lets a put replace the item whose `version` is `n`.
pub async fn a_put_with_version_is_succeeds_on_the_matching_version(table: Arc<dyn Table>) {
    put(&*table, item("P", "A", &[(VERSION, n(3)), ("v", s("old"))])).await;
    let replacement = item("P", "A", &[(VERSION, n(4)), ("v", s("new"))]);
    table.put(replacement.clone(), Condition::VersionIs(3)).await.expect("put failed");
    assert_eq!(get(&*table, "P", "A").await, Some(replacement));
}

/// `VersionIs(n)` refuses a put over another version, which stays unchanged.
pub async fn a_put_with_version_is_fails_on_another_version_and_leaves_the_item_unchanged(
    table: Arc<dyn Table>,
) {
    let original = item("P", "A", &[(VERSION, n(3)), ("v", s("old"))]);
    put(&*table, original.clone()).await;
    for stale in [0, 2, 4, 30] {
        let attempt = item("P", "A", &[(VERSION, n(stale + 1)), ("v", s("new"))]);
        assert_condition_failed(table.put(attempt, Condition::VersionIs(stale)).await, None);
    }
    assert_eq!(get(&*table, "P", "A").await, Some(original));
}

/// `VersionIs` fails when there is no item, or the item has no numeric `version`.
pub async fn a_put_with_version_is_fails_when_the_item_or_its_version_is_missing(table: Arc<dyn Table>) {
    assert_condition_failed(
        table.put(item("P", "A", &[(VERSION, n(1))]), Condition::VersionIs(0)).await,
        None,
    );
    assert_eq!(get(&*table, "P", "A").await, None);

    let unversioned = item("P", "B", &[("v", n(1))]);
    put(&*table, unversioned.clone()).await;
    assert_condition_failed(
        table.put(item("P", "B", &[(VERSION, n(1))]), Condition::VersionIs(0)).await,
        None,
    );
    assert_eq!(get(&*table, "P", "B").await, Some(unversioned));

    let string_version = item("P", "C", &[(VERSION, s("1"))]);
    put(&*table, string_version.clone()).await;
    assert_condition_failed(
        table.put(item("P", "C", &[(VERSION, n(2))]), Condition::VersionIs(1)).await,
        None,
    );
    assert_eq!(get(&*table, "P", "C").await, Some(string_version));
}

/// `AttrEquals` lets a put replace an item whose attribute has exactly that value.
pub async fn a_put_with_attr_equals_succeeds_when_the_attribute_matches(table: Arc<dyn Table>) {
    put(&*table, item("P", "A", &[("status", s("open")), ("count", n(7))])).await;
    let replacement = item("P", "A", &[("status", s("closed")), ("count", n(7))]);
    table
        .put(replacement.clone(), Condition::AttrEquals("status".into(), s("open")))
        .await
        .expect("put failed");
    assert_eq!(get(&*table, "P", "A").await, Some(replacement.clone()));

    let again = item("P", "A", &[("status", s("archived")), ("count", n(7))]);
    table.put(again.clone(), Condition::AttrEquals("count".into(), n(7))).await.expect("put failed");
    assert_eq!(get(&*table, "P", "A").await, Some(again));
}

/// `AttrEquals` fails on another value, the same text with another type, a missing
/// attribute or a missing item, and the item stays unchanged.
pub async fn a_put_with_attr_equals_fails_on_another_value_type_or_a_missing_attribute(
    table: Arc<dyn Table>,
) {
    let original = item("P", "A", &[("status", s("open")), ("count", n(1))]);
    put(&*table, original.clone()).await;
    let attempts = [
        Condition::AttrEquals("status".into(), s("closed")),
        Condition::AttrEquals("status".into(), s("OPEN")),
        Condition::AttrEquals("count".into(), s("1")),
        Condition::AttrEquals("count".into(), n(2)),
        Condition::AttrEquals("missing".into(), s("open")),
        Condition::AttrEquals("missing".into(), AttributeValue::Null(true)),
    ];
    for condition in attempts {
        let attempt = item("P", "A", &[("status", s("hijacked"))]);
        assert_condition_failed(table.put(attempt, condition).await, None);
    }
    assert_eq!(get(&*table, "P", "A").await, Some(original));

    assert_condition_failed(
        table.put(item("P", "B", &[]), Condition::AttrEquals("status".into(), s("open"))).await,
        None,
    );
    assert_eq!(get(&*table, "P", "B").await, None);
}

/// `AttrLessThan` holds when the stored attribute is below the bound: numbers numerically
/// (`9 < 10`, unlike their text), strings byte by byte; it fails on an equal or greater value,
/// another type, a missing attribute or a missing item, leaving the item unchanged.
pub async fn a_put_with_attr_less_than_holds_only_below_the_bound(table: Arc<dyn Table>) {
    let original = item("P", "A", &[("expires_at", n(9)), ("name", s("b")), ("neg", n(-5))]);
    for (attr, bound) in [("expires_at", n(10)), ("name", s("c")), ("neg", n(-4)), ("expires_at", n("9.5"))] {
        put(&*table, original.clone()).await;
        let replacement = item("P", "A", &[("expires_at", n(100))]);
        table
            .put(replacement.clone(), Condition::AttrLessThan(attr.into(), bound.clone()))
            .await
            .unwrap_or_else(|err| panic!("{attr} < {bound:?}: {err:?}"));
        assert_eq!(get(&*table, "P", "A").await, Some(replacement));
    }

    put(&*table, original.clone()).await;
    let attempts = [
        Condition::AttrLessThan("expires_at".into(), n(9)),
        Condition::AttrLessThan("expires_at".into(), n(8)),
        Condition::AttrLessThan("expires_at".into(), s("10")),
        Condition::AttrLessThan("name".into(), s("b")),
        Condition::AttrLessThan("name".into(), s("a")),
        Condition::AttrLessThan("neg".into(), n(-6)),
        Condition::AttrLessThan("missing".into(), n(1_000)),
    ];
    for condition in attempts {
        let attempt = item("P", "A", &[("hijacked", s("yes"))]);
        assert_condition_failed(table.put(attempt, condition).await, None);
    }
    assert_eq!(get(&*table, "P", "A").await, Some(original));

    let on_missing = Condition::AttrLessThan("expires_at".into(), n(1_000));
    assert_condition_failed(table.put(item("P", "B", &[]), on_missing).await, None);
    assert_eq!(get(&*table, "P", "B").await, None);
}

/// `AnyOf` holds when one of its conditions does, whichever; its branches may name the same
/// kind of condition on different attributes; an empty `AnyOf` never holds.
pub async fn a_put_with_any_of_holds_when_any_branch_holds(table: Arc<dyn Table>) {
    let either = || {
        Condition::AnyOf(vec![
            Condition::AttrEquals("status".into(), s("open")),
            Condition::AttrEquals("owner".into(), s("me")),
            Condition::VersionIs(7),
        ])
    };
    for attrs in [
        vec![("status", s("open")), ("owner", s("you"))],
        vec![("status", s("closed")), ("owner", s("me"))],
        vec![("status", s("closed")), (VERSION, n(7))],
    ] {
        put(&*table, item("P", "A", &attrs)).await;
        let replacement = item("P", "A", &[("status", s("replaced"))]);
        table.put(replacement.clone(), either()).await.unwrap_or_else(|err| panic!("{attrs:?}: {err:?}"));
        assert_eq!(get(&*table, "P", "A").await, Some(replacement));
    }

    let original = item("P", "A", &[("status", s("closed")), ("owner", s("you")), (VERSION, n(6))]);
    put(&*table, original.clone()).await;
    assert_condition_failed(table.put(item("P", "A", &[]), either()).await, None);
    assert_condition_failed(table.put(item("P", "A", &[]), Condition::AnyOf(vec![])).await, None);
    assert_eq!(get(&*table, "P", "A").await, Some(original));

    let absent_or_open =
        Condition::AnyOf(vec![Condition::ItemAbsent, Condition::AttrEquals("status".into(), s("open"))]);
    table.put(item("P", "NEW", &[]), absent_or_open).await.expect("put failed on a missing item");
    assert_eq!(get(&*table, "P", "NEW").await, Some(item("P", "NEW", &[])));
}

/// `Condition::absent_or_expired`: a missing or expired item is replaced, by a put, an update
/// or a transaction; a live one (expiring now or later) or one without the attribute is kept.
pub async fn an_expired_item_is_replaceable_as_if_it_were_absent(table: Arc<dyn Table>) {
    let now = 1_700_000_000_i64;
    let fresh = item("E", "A", &[("expires_at", n(now + 60)), ("owner", s("new"))]);
    table.put(fresh.clone(), Condition::absent_or_expired("expires_at", now)).await.expect("absent");
    assert_eq!(get(&*table, "E", "A").await, Some(fresh.clone()));

    for live in [now, now + 1] {
        put(&*table, item("E", "A", &[("expires_at", n(live)), ("owner", s("old"))])).await;
        let result = table.put(fresh.clone(), Condition::absent_or_expired("expires_at", now)).await;
        assert_condition_failed(result, None);
        let update = Update::new(key("E", "A"), Condition::absent_or_expired("expires_at", now))
            .set("owner", s("new"));
        assert_condition_failed(table.update(update).await, None);
        assert_eq!(string_attr(&get(&*table, "E", "A").await.unwrap(), "owner"), "old");
    }
    put(&*table, item("E", "A", &[("owner", s("old"))])).await;
    assert_condition_failed(
        table.put(fresh.clone(), Condition::absent_or_expired("expires_at", now)).await,
        None,
    );

    put(&*table, item("E", "A", &[("expires_at", n(now - 1)), ("owner", s("old"))])).await;
    table.put(fresh.clone(), Condition::absent_or_expired("expires_at", now)).await.expect("expired put");
    assert_eq!(get(&*table, "E", "A").await, Some(fresh.clone()));

    put(&*table, item("E", "A", &[("expires_at", n(now - 1)), ("owner", s("old"))])).await;
    let update = Update::new(key("E", "A"), Condition::absent_or_expired("expires_at", now))
        .set("owner", s("new"))
        .set("expires_at", n(now + 60));
    table.update(update).await.expect("expired update");
    assert_eq!(get(&*table, "E", "A").await, Some(fresh.clone()));

    put(&*table, item("E", "A", &[("expires_at", n(now - 1)), ("owner", s("old"))])).await;
    table
        .transact(vec![
            put_op(fresh.clone(), Condition::absent_or_expired("expires_at", now)),
            WriteOp::Check {
                key: key("E", "NOBODY"),
                condition: Condition::absent_or_expired("expires_at", now),
            },
        ])
        .await
        .expect("expired transaction");
    assert_eq!(get(&*table, "E", "A").await, Some(fresh));
}

// ----------------------------------------------------------------------------------------
// Updates

/// An update sets, removes and adds attributes and leaves the others alone; adding to a
/// missing attribute starts from zero.
pub async fn an_update_sets_removes_and_adds_attributes(table: Arc<dyn Table>) {
    put(
        &*table,
        item(
            "P",
            "A",
            &[("keep", s("k")), ("name", s("old")), ("gone", s("x")), ("count", n(5)), ("debt", n(10))],
        ),
    )
    .await;
    let update = Update::new(key("P", "A"), Condition::Always)
        .set("name", s("new"))
        .set("profile", AttributeValue::M([("city".to_string(), s("Oslo"))].into()))
        .remove("gone")
        .remove("never_there")
        .add("count", 3)
        .add("debt", -4)
        .add("fresh", 2);
    table.update(update).await.expect("update failed");
    let expected = item(
        "P",
        "A",
        &[
            ("keep", s("k")),
            ("name", s("new")),
            ("profile", AttributeValue::M([("city".to_string(), s("Oslo"))].into())),
            ("count", n(8)),
            ("debt", n(6)),
            ("fresh", n(2)),
        ],
    );
    assert_eq!(get(&*table, "P", "A").await, Some(expected));
}

/// An update of a missing key creates the item, key attributes included.
pub async fn an_update_creates_a_missing_item_with_its_key(table: Arc<dyn Table>) {
    let update = Update::new(key("P", "NEW"), Condition::Always).set("name", s("created")).add("count", 1);
    table.update(update).await.expect("update failed");
    let expected = item("P", "NEW", &[("name", s("created")), ("count", n(1))]);
    assert_eq!(get(&*table, "P", "NEW").await, Some(expected.clone()));
    let page = table.query(Query::partition("P")).await.expect("query failed");
    assert_eq!(page.items, vec![expected]);

    table
        .update(Update::new(key("P", "ABSENT-OK"), Condition::ItemAbsent).set("v", n(1)))
        .await
        .expect("update with ItemAbsent failed");
    assert_eq!(get(&*table, "P", "ABSENT-OK").await, Some(item("P", "ABSENT-OK", &[("v", n(1))])));
}

/// `ItemExists` stops an update from creating an item.
pub async fn an_update_with_item_exists_does_not_create_a_missing_item(table: Arc<dyn Table>) {
    let update = Update::new(key("P", "A"), Condition::ItemExists).set("v", n(1)).add("count", 1);
    assert_condition_failed(table.update(update).await, None);
    assert_eq!(get(&*table, "P", "A").await, None);
}

/// `ItemAbsent` stops an update of an existing item, which stays unchanged.
pub async fn an_update_with_item_absent_fails_when_the_item_exists(table: Arc<dyn Table>) {
    let original = item("P", "A", &[("v", n(1))]);
    put(&*table, original.clone()).await;
    let update = Update::new(key("P", "A"), Condition::ItemAbsent).set("v", n(2));
    assert_condition_failed(table.update(update).await, None);
    assert_eq!(get(&*table, "P", "A").await, Some(original));
}

/// `VersionIs(n)` lets an update through on version `n`.
pub async fn an_update_with_version_is_applies_on_the_matching_version(table: Arc<dyn Table>) {
    put(&*table, item("P", "A", &[(VERSION, n(1)), ("v", s("old"))])).await;
    let update = Update::new(key("P", "A"), Condition::VersionIs(1)).set("v", s("new")).add(VERSION, 1);
    table.update(update).await.expect("update failed");
    assert_eq!(get(&*table, "P", "A").await, Some(item("P", "A", &[(VERSION, n(2)), ("v", s("new"))])));

    let update = Update::new(key("P", "A"), Condition::VersionIs(2)).set(VERSION, n(3));
    table.update(update).await.expect("update failed");
    assert_eq!(get(&*table, "P", "A").await, Some(item("P", "A", &[(VERSION, n(3)), ("v", s("new"))])));
}

/// `VersionIs(n)` stops an update on another version (or a missing item); nothing changes.
pub async fn an_update_with_version_is_fails_on_another_version_and_changes_nothing(table: Arc<dyn Table>) {
    let original = item("P", "A", &[(VERSION, n(2)), ("v", s("old")), ("count", n(1))]);
    put(&*table, original.clone()).await;
    for stale in [0, 1, 3] {
        let update = Update::new(key("P", "A"), Condition::VersionIs(stale))
            .set("v", s("new"))
            .remove("count")
            .add(VERSION, 1);
        assert_condition_failed(table.update(update).await, None);
    }
    assert_eq!(get(&*table, "P", "A").await, Some(original));

    let update = Update::new(key("P", "B"), Condition::VersionIs(0)).set("v", s("new"));
    assert_condition_failed(table.update(update).await, None);
    assert_eq!(get(&*table, "P", "B").await, None);
}

/// `AttrEquals` gates an update on one attribute's exact value.
pub async fn an_update_with_attr_equals_applies_only_when_the_attribute_matches(table: Arc<dyn Table>) {
    let original = item("P", "A", &[("status", s("open"))]);
    put(&*table, original.clone()).await;

    let update = Update::new(key("P", "A"), Condition::AttrEquals("status".into(), s("closed")))
        .set("status", s("archived"));
    assert_condition_failed(table.update(update).await, None);
    assert_eq!(get(&*table, "P", "A").await, Some(original));

    let update = Update::new(key("P", "A"), Condition::AttrEquals("status".into(), s("open")))
        .set("status", s("closed"));
    table.update(update).await.expect("update failed");
    assert_eq!(get(&*table, "P", "A").await, Some(item("P", "A", &[("status", s("closed"))])));

    let update = Update::new(key("P", "B"), Condition::AttrEquals("status".into(), s("open"))).set("v", n(1));
    assert_condition_failed(table.update(update).await, None);
    assert_eq!(get(&*table, "P", "B").await, None);
}

/// An update may not set the key attributes; the item stays unchanged.
pub async fn an_update_that_changes_a_key_attribute_is_invalid(table: Arc<dyn Table>) {
    let original = item("P", "A", &[("v", n(1))]);
    put(&*table, original.clone()).await;
    assert_invalid(table.update(Update::new(key("P", "A"), Condition::Always).set(PK, s("Q"))).await);
    assert_invalid(table.update(Update::new(key("P", "A"), Condition::ItemExists).set(SK, s("B"))).await);
    assert_eq!(get(&*table, "P", "A").await, Some(original));
    assert_eq!(get(&*table, "Q", "A").await, None);
    assert_eq!(get(&*table, "P", "B").await, None);
}

// ----------------------------------------------------------------------------------------
// Deletes

/// A delete removes the item from reads and queries.
pub async fn a_delete_removes_the_item(table: Arc<dyn Table>) {
    put(&*table, item("P", "A", &[])).await;
    put(&*table, item("P", "B", &[])).await;
    table.delete(&key("P", "A"), Condition::Always).await.expect("delete failed");
    assert_eq!(get(&*table, "P", "A").await, None);
    let page = table.query(Query::partition("P")).await.expect("query failed");
    assert_eq!(sort_keys(&page.items), ["B"]);

    table.delete(&key("P", "B"), Condition::ItemExists).await.expect("delete failed");
    assert_eq!(get(&*table, "P", "B").await, None);
}

/// Deleting a missing item without a condition is not an error.
pub async fn a_delete_of_a_missing_item_succeeds_without_a_condition(table: Arc<dyn Table>) {
    table.delete(&key("P", "A"), Condition::Always).await.expect("delete failed");
    table.delete(&key("P", "A"), Condition::ItemAbsent).await.expect("delete failed");
    assert_eq!(get(&*table, "P", "A").await, None);
}

/// `ItemExists` makes deleting a missing item fail.
pub async fn a_delete_with_item_exists_fails_when_the_item_is_missing(table: Arc<dyn Table>) {
    assert_condition_failed(table.delete(&key("P", "A"), Condition::ItemExists).await, None);
    put(&*table, item("P", "A", &[])).await;
    assert_condition_failed(table.delete(&key("P", "A"), Condition::ItemAbsent).await, None);
    assert!(get(&*table, "P", "A").await.is_some());
}

/// `VersionIs(n)` keeps an item of another version and deletes one of version `n`.
pub async fn a_delete_with_version_is_keeps_the_item_on_another_version(table: Arc<dyn Table>) {
    let original = item("P", "A", &[(VERSION, n(5))]);
    put(&*table, original.clone()).await;
    assert_condition_failed(table.delete(&key("P", "A"), Condition::VersionIs(4)).await, None);
    assert_eq!(get(&*table, "P", "A").await, Some(original));
    table.delete(&key("P", "A"), Condition::VersionIs(5)).await.expect("delete failed");
    assert_eq!(get(&*table, "P", "A").await, None);
}

/// `AttrEquals` gates a delete on one attribute's exact value.
pub async fn a_delete_with_attr_equals_deletes_only_when_the_attribute_matches(table: Arc<dyn Table>) {
    let original = item("P", "A", &[("owner", s("alice"))]);
    put(&*table, original.clone()).await;
    assert_condition_failed(
        table.delete(&key("P", "A"), Condition::AttrEquals("owner".into(), s("bob"))).await,
        None,
    );
    assert_eq!(get(&*table, "P", "A").await, Some(original));
    table
        .delete(&key("P", "A"), Condition::AttrEquals("owner".into(), s("alice")))
        .await
        .expect("delete failed");
    assert_eq!(get(&*table, "P", "A").await, None);
}

// ----------------------------------------------------------------------------------------
// Transactions

/// Every kind of action applies together when all conditions hold.
pub async fn a_transaction_applies_puts_updates_and_deletes_together(table: Arc<dyn Table>) {
    put(&*table, item("T", "UPDATE", &[(VERSION, n(1)), ("count", n(1))])).await;
    put(&*table, item("T", "DELETE", &[])).await;
    let checked = item("T", "CHECK", &[("status", s("open"))]);
    put(&*table, checked.clone()).await;

    let created = item("T", "PUT", &[("v", s("new"))]);
    table
        .transact(vec![
            put_op(created.clone(), Condition::ItemAbsent),
            WriteOp::Update(
                Update::new(key("T", "UPDATE"), Condition::VersionIs(1)).set(VERSION, n(2)).add("count", 1),
            ),
            WriteOp::Delete { key: key("T", "DELETE"), condition: Condition::ItemExists },
            WriteOp::Check {
                key: key("T", "CHECK"),
                condition: Condition::AttrEquals("status".into(), s("open")),
            },
        ])
        .await
        .expect("transaction failed");

    assert_eq!(get(&*table, "T", "PUT").await, Some(created));
    assert_eq!(
        get(&*table, "T", "UPDATE").await,
        Some(item("T", "UPDATE", &[(VERSION, n(2)), ("count", n(2))]))
    );
    assert_eq!(get(&*table, "T", "DELETE").await, None);
    assert_eq!(get(&*table, "T", "CHECK").await, Some(checked));
}

/// One failing condition cancels the whole transaction, and the error names that action.
pub async fn a_transaction_with_one_failing_condition_writes_nothing_and_names_the_op(table: Arc<dyn Table>) {
    let updated = item("T", "UPDATE", &[(VERSION, n(1)), ("v", s("old"))]);
    let deleted = item("T", "DELETE", &[]);
    put(&*table, updated.clone()).await;
    put(&*table, deleted.clone()).await;

    let result = table
        .transact(vec![
            put_op(item("T", "PUT", &[]), Condition::ItemAbsent),
            WriteOp::Delete { key: key("T", "DELETE"), condition: Condition::Always },
            WriteOp::Update(
                Update::new(key("T", "UPDATE"), Condition::VersionIs(7)).set("v", s("new")).add(VERSION, 1),
            ),
            WriteOp::Update(Update::new(key("T", "OTHER"), Condition::Always).set("v", n(1))),
        ])
        .await;
    assert_condition_failed(result, Some(2));
    assert_eq!(get(&*table, "T", "PUT").await, None);
    assert_eq!(get(&*table, "T", "DELETE").await, Some(deleted));
    assert_eq!(get(&*table, "T", "UPDATE").await, Some(updated));
    assert_eq!(get(&*table, "T", "OTHER").await, None);
}

/// When several conditions fail, the error names the first failing action.
pub async fn a_transaction_names_the_first_failing_op_when_several_fail(table: Arc<dyn Table>) {
    put(&*table, item("T", "V1", &[(VERSION, n(1))])).await;
    let result = table
        .transact(vec![
            put_op(item("T", "OK", &[]), Condition::ItemAbsent),
            put_op(item("T", "MISSING", &[]), Condition::ItemExists),
            WriteOp::Delete { key: key("T", "V1"), condition: Condition::VersionIs(9) },
        ])
        .await;
    assert_condition_failed(result, Some(1));
    assert_eq!(get(&*table, "T", "OK").await, None);
    assert_eq!(get(&*table, "T", "MISSING").await, None);
    assert!(get(&*table, "T", "V1").await.is_some());
}

/// A check action writes nothing itself but cancels the transaction when it fails.
pub async fn a_transaction_check_action_writes_nothing_but_gates_the_others(table: Arc<dyn Table>) {
    let guard = item("T", "GUARD", &[(VERSION, n(3))]);
    put(&*table, guard.clone()).await;

    table
        .transact(vec![
            WriteOp::Check { key: key("T", "GUARD"), condition: Condition::VersionIs(3) },
            put_op(item("T", "A", &[]), Condition::Always),
            WriteOp::Check { key: key("T", "NOBODY"), condition: Condition::ItemAbsent },
        ])
        .await
        .expect("transaction failed");
    assert_eq!(get(&*table, "T", "GUARD").await, Some(guard.clone()));
    assert!(get(&*table, "T", "A").await.is_some());
    assert_eq!(get(&*table, "T", "NOBODY").await, None);

    let result = table
        .transact(vec![
            put_op(item("T", "B", &[]), Condition::Always),
            WriteOp::Check { key: key("T", "GUARD"), condition: Condition::VersionIs(2) },
        ])
        .await;
    assert_condition_failed(result, Some(1));
    assert_eq!(get(&*table, "T", "B").await, None);
    assert_eq!(get(&*table, "T", "GUARD").await, Some(guard));
}

/// DynamoDB's limit of 100 actions is allowed.
pub async fn a_transaction_of_100_actions_succeeds(table: Arc<dyn Table>) {
    let ops = (0..100)
        .map(|i| put_op(item("T", &format!("{i:03}"), &[("i", n(i))]), Condition::ItemAbsent))
        .collect();
    table.transact(ops).await.expect("transaction failed");
    let items = query_all(&*table, Query::partition("T")).await;
    assert_eq!(items.len(), 100);
}

/// More than 100 actions are rejected before anything is written.
pub async fn a_transaction_of_more_than_100_actions_is_invalid_and_writes_nothing(table: Arc<dyn Table>) {
    let ops = (0..101).map(|i| put_op(item("T", &format!("{i:03}"), &[]), Condition::Always)).collect();
    assert_invalid(table.transact(ops).await);
    assert!(query_all(&*table, Query::partition("T")).await.is_empty());
}

/// Two actions on one key are rejected before anything is written.
pub async fn a_transaction_acting_twice_on_one_key_is_invalid_and_writes_nothing(table: Arc<dyn Table>) {
    let result = table
        .transact(vec![
            put_op(item("T", "OTHER", &[]), Condition::Always),
            put_op(item("T", "A", &[]), Condition::Always),
            WriteOp::Update(Update::new(key("T", "A"), Condition::Always).add("count", 1)),
        ])
        .await;
    assert_invalid(result);

    let result = table
        .transact(vec![
            WriteOp::Check { key: key("T", "A"), condition: Condition::Always },
            WriteOp::Delete { key: key("T", "A"), condition: Condition::Always },
        ])
        .await;
    assert_invalid(result);
    assert!(query_all(&*table, Query::partition("T")).await.is_empty());
}

/// A transaction needs at least one action.
pub async fn an_empty_transaction_is_invalid(table: Arc<dyn Table>) {
    assert_invalid(table.transact(Vec::new()).await);
}

// ----------------------------------------------------------------------------------------
// Queries on the table

/// A query reads one partition (not partitions sharing its prefix), in ascending `sk` order.
pub async fn a_query_returns_only_its_partition_in_ascending_sort_key_order(table: Arc<dyn Table>) {
    put_partition(&*table, "P#1", &["A", "B", "B#2", "C", "a"]).await;
    put_partition(&*table, "P#10", &["A", "Z"]).await;
    put_partition(&*table, "P", &["A"]).await;
    put_partition(&*table, "P#", &["A"]).await;
    let page = table.query(Query::partition("P#1")).await.expect("query failed");
    assert_eq!(sort_keys(&page.items), ["A", "B", "B#2", "C", "a"]);
    assert_eq!(page.items[0], item("P#1", "A", &[("payload", s("P#1/A"))]));
}

/// A descending query reads the partition in descending `sk` order.
pub async fn a_descending_query_returns_the_partition_in_reverse_sort_key_order(table: Arc<dyn Table>) {
    put_partition(&*table, "P#1", &["A", "B", "B#2", "C", "a"]).await;
    put_partition(&*table, "P#10", &["A", "Z"]).await;
    let page = table.query(Query::partition("P#1").descending()).await.expect("query failed");
    assert_eq!(sort_keys(&page.items), ["a", "C", "B#2", "B", "A"]);
}

/// A sort-key prefix keeps exactly the items whose `sk` begins with it (no wildcards).
pub async fn a_query_with_a_sort_key_prefix_returns_only_matching_items(table: Arc<dyn Table>) {
    let sks = [
        "A", "A#1", "A#2", "A$", "AB", "B#1", "a#1", "50%_off", "50%x", "50ab", "5_a", "5xa", "Ü#1", "Ü#2",
        "Ü$", "U#1",
    ];
    put_partition(&*table, "PFX", &sks).await;
    put_partition(&*table, "PFX2", &["A#0"]).await;
    let cases: [(&str, &[&str]); 7] = [
        ("A#", &["A#1", "A#2"]),
        ("A", &["A", "A#1", "A#2", "A$", "AB"]),
        ("A#1", &["A#1"]),
        ("50%", &["50%_off", "50%x"]),
        ("5_", &["5_a"]),
        ("Ü#", &["Ü#1", "Ü#2"]),
        ("Z", &[]),
    ];
    for (prefix, expected) in cases {
        let page = table.query(Query::partition("PFX").prefix(prefix)).await.expect("query failed");
        assert_eq!(sort_keys(&page.items), expected, "prefix {prefix:?}");
        let page =
            table.query(Query::partition("PFX").prefix(prefix).descending()).await.expect("query failed");
        let reversed: Vec<&str> = expected.iter().rev().copied().collect();
        assert_eq!(sort_keys(&page.items), reversed, "prefix {prefix:?}, descending");
    }
}

/// A query of a partition with no items returns an empty page without a cursor.
pub async fn a_query_of_an_empty_partition_returns_nothing_and_no_cursor(table: Arc<dyn Table>) {
    put_partition(&*table, "FULL", &["A"]).await;
    for query in [Query::partition("EMPTY"), Query::partition("EMPTY").limit(5), Query::gsi1("EMPTY")] {
        let page = table.query(query).await.expect("query failed");
        assert!(page.items.is_empty());
        assert_eq!(page.next, None);
    }
}

/// Without a limit, a (small) partition comes back in one page without a cursor.
pub async fn a_query_without_a_limit_returns_every_item_and_no_cursor(table: Arc<dyn Table>) {
    let sks: Vec<String> = (0..25).map(|i| format!("ITEM#{i:02}")).collect();
    let sk_refs: Vec<&str> = sks.iter().map(String::as_str).collect();
    put_partition(&*table, "BIG", &sk_refs).await;
    let page = table.query(Query::partition("BIG")).await.expect("query failed");
    assert_eq!(sort_keys(&page.items), sks);
    assert_eq!(page.next, None);
}

/// Following cursors with any limit visits every item exactly once, in order.
pub async fn a_limited_query_pages_through_every_item_exactly_once(table: Arc<dyn Table>) {
    let sks: Vec<String> = (0..10).map(|i| format!("ITEM#{i:02}")).collect();
    let sk_refs: Vec<&str> = sks.iter().map(String::as_str).collect();
    put_partition(&*table, "PAGED", &sk_refs).await;
    put_partition(&*table, "PAGED#", &["ITEM#05", "ITEM#99"]).await;
    put_partition(&*table, "PAGE", &["ITEM#00"]).await;
    for limit in [1, 3, 4, 5, 10, 11] {
        let first = table.query(Query::partition("PAGED").limit(limit)).await.expect("query failed");
        assert_eq!(sort_keys(&first.items), sks[..limit.min(10)], "first page, limit {limit}");
        if limit < 10 {
            assert!(first.next.is_some(), "a partial read must return a cursor (limit {limit})");
        }
        let items = query_all(&*table, Query::partition("PAGED").limit(limit)).await;
        assert_eq!(sort_keys(&items), sks, "limit {limit}");
    }
}

/// Following cursors of a descending query visits every item exactly once, in reverse order.
pub async fn a_limited_descending_query_pages_through_every_item_exactly_once(table: Arc<dyn Table>) {
    let sks: Vec<String> = (0..10).map(|i| format!("ITEM#{i:02}")).collect();
    let sk_refs: Vec<&str> = sks.iter().map(String::as_str).collect();
    put_partition(&*table, "PAGED", &sk_refs).await;
    put_partition(&*table, "PAGED#", &["ITEM#05"]).await;
    let reversed: Vec<String> = sks.iter().rev().cloned().collect();
    for limit in [1, 3, 5, 10, 11] {
        let items = query_all(&*table, Query::partition("PAGED").descending().limit(limit)).await;
        assert_eq!(sort_keys(&items), reversed, "limit {limit}");
    }
}

/// Paging a prefix query never leaves the prefix, in either direction.
pub async fn a_limited_prefix_query_pages_within_the_prefix(table: Arc<dyn Table>) {
    let sks = ["A", "A#1", "A#2", "A#3", "A#4", "A#5", "A$", "B#1", "B#2", "0"];
    put_partition(&*table, "PFX", &sks).await;
    let expected = ["A#1", "A#2", "A#3", "A#4", "A#5"];
    for limit in [1, 2, 5, 6] {
        let items = query_all(&*table, Query::partition("PFX").prefix("A#").limit(limit)).await;
        assert_eq!(sort_keys(&items), expected, "limit {limit}");
        let items = query_all(&*table, Query::partition("PFX").prefix("A#").descending().limit(limit)).await;
        let reversed: Vec<&str> = expected.iter().rev().copied().collect();
        assert_eq!(sort_keys(&items), reversed, "limit {limit}, descending");
    }
}

/// A cursor the adapter did not produce is rejected.
pub async fn a_malformed_cursor_is_invalid(table: Arc<dyn Table>) {
    put_partition(&*table, "P", &["A", "B"]).await;
    for garbage in ["not a cursor", "%%%"] {
        let cursor = Some(Cursor(garbage.into()));
        assert_invalid(table.query(Query::partition("P").limit(1).after(cursor.clone())).await);
        assert_invalid(table.query(Query::gsi1("G").limit(1).after(cursor)).await);
    }
}

// ----------------------------------------------------------------------------------------
// Queries on GSI1

fn indexed(pk: &str, gsi1pk: &str, gsi1sk: &str) -> Item {
    item(pk, "META", &[(GSI1PK, s(gsi1pk)), (GSI1SK, s(gsi1sk)), ("data", s(pk))])
}

fn gsi1_sort_keys(items: &[Item]) -> Vec<String> {
    items.iter().map(|item| string_attr(item, GSI1SK)).collect()
}

/// A GSI1 query reads one index partition in `gsi1sk` order, optionally by prefix,
/// returning whole items.
pub async fn a_gsi1_query_returns_its_partition_in_gsi1sk_order_with_a_prefix(table: Arc<dyn Table>) {
    let items = [
        indexed("S#3", "TENANT#1", "2024-03-01"),
        indexed("S#1", "TENANT#1", "2024-01-15"),
        indexed("S#4", "TENANT#1", "2025-01-01"),
        indexed("S#2", "TENANT#1", "2024-02-10"),
        indexed("S#5", "TENANT#10", "2024-01-01"),
        indexed("S#6", "TENANT#", "2024-01-01"),
    ];
    for item in &items {
        put(&*table, item.clone()).await;
    }
    let all = query_index_until(&*table, Query::gsi1("TENANT#1"), |found| found.len() >= 4).await;
    assert_eq!(gsi1_sort_keys(&all), ["2024-01-15", "2024-02-10", "2024-03-01", "2025-01-01"]);
    assert_eq!(all[0], items[1]);

    let in_2024 = query_all(&*table, Query::gsi1("TENANT#1").prefix("2024-")).await;
    assert_eq!(gsi1_sort_keys(&in_2024), ["2024-01-15", "2024-02-10", "2024-03-01"]);

    let newest_first = query_all(&*table, Query::gsi1("TENANT#1").prefix("2024-").descending()).await;
    assert_eq!(gsi1_sort_keys(&newest_first), ["2024-03-01", "2024-02-10", "2024-01-15"]);

    let newest = table.query(Query::gsi1("TENANT#1").descending().limit(1)).await.expect("query failed");
    assert_eq!(newest.items, vec![items[2].clone()]);
}

/// A sort-key range reads the keys from its low to its high bound, both included, on the table
/// and on an index, in either direction and page by page.
pub async fn a_between_query_reads_an_inclusive_sort_key_range(table: Arc<dyn Table>) {
    for sk in ["2024-01-01#a", "2024-01-15#b", "2024-02-01#c", "2024-02-01#d", "2024-03-01#e"] {
        put(&*table, item("RANGE", sk, &[(GSI1PK, s("RANGE")), (GSI1SK, s(sk))])).await;
    }
    let february = Query::partition("RANGE").between("2024-01-15#b", "2024-02-01~");
    assert_eq!(
        sort_keys(&query_all(&*table, february.clone()).await),
        ["2024-01-15#b", "2024-02-01#c", "2024-02-01#d"]
    );
    assert_eq!(
        sort_keys(&query_all(&*table, february.clone().descending().limit(1)).await),
        ["2024-02-01#d", "2024-02-01#c", "2024-01-15#b"]
    );
    let indexed = query_index_until(&*table, Query::gsi1("RANGE").between("2024-02", "2024-12"), |found| {
        found.len() >= 3
    })
    .await;
    assert_eq!(sort_keys(&indexed), ["2024-02-01#c", "2024-02-01#d", "2024-03-01#e"]);
    assert!(query_all(&*table, Query::partition("RANGE").between("2025", "2026")).await.is_empty());
    assert_invalid(table.query(Query::partition("RANGE").between("B", "A")).await);
    assert_invalid(table.query(Query::partition("RANGE").between("", "A")).await);
}

/// GSI2 is an index of its own: it holds only items with both of its keys, and its cursors page
/// through it like GSI1's.
pub async fn gsi2_indexes_only_items_with_its_own_keys(table: Arc<dyn Table>) {
    for (pk, gsi2sk) in [("S#1", "B"), ("S#2", "A"), ("S#3", "C")] {
        put(&*table, item(pk, "META", &[(GSI2PK, s("STATUS#x")), (GSI2SK, s(gsi2sk))])).await;
    }
    put(&*table, item("S#4", "META", &[(GSI1PK, s("STATUS#x")), (GSI1SK, s("A"))])).await;
    put(&*table, item("S#5", "META", &[(GSI2PK, s("STATUS#x"))])).await;
    let query = Query::index(Index::Gsi2, "STATUS#x");
    let found = query_index_until(&*table, query.clone(), |found| found.len() >= 3).await;
    let pks: Vec<String> = table_keys(&found).into_iter().map(|k| k.pk).collect();
    assert_eq!(pks, ["S#2", "S#1", "S#3"]);
    let paged = query_all(&*table, query.descending().limit(2)).await;
    let pks: Vec<String> = table_keys(&paged).into_iter().map(|k| k.pk).collect();
    assert_eq!(pks, ["S#3", "S#1", "S#2"]);

    // Moving an item to another partition of the index (a status change) moves it in the index.
    let update = Update::new(key("S#1", "META"), Condition::Always).set(GSI2PK, s("STATUS#y"));
    table.update(update).await.expect("update failed");
    let moved = query_index_until(&*table, Query::index(Index::Gsi2, "STATUS#y"), |f| !f.is_empty()).await;
    assert_eq!(table_keys(&moved), [key("S#1", "META")]);
    let left = query_index_until(&*table, Query::index(Index::Gsi2, "STATUS#x"), |f| f.len() == 2).await;
    assert_eq!(left.len(), 2);
}

/// Following GSI1 cursors visits every indexed item exactly once, even when several items
/// share a `gsi1sk`, in either direction.
pub async fn a_limited_gsi1_query_pages_through_every_item_exactly_once(table: Arc<dyn Table>) {
    let gsi1sks = ["A", "A", "B", "B", "B", "C", "D", "D", "E"];
    let mut expected = HashSet::new();
    for (i, gsi1sk) in gsi1sks.iter().enumerate() {
        let item = indexed(&format!("S#{i}"), "G", gsi1sk);
        expected.insert(Key::of(&item).expect("key"));
        put(&*table, item).await;
    }
    put(&*table, indexed("S#X", "G#", "A")).await;
    query_index_until(&*table, Query::gsi1("G"), |found| found.len() >= gsi1sks.len()).await;

    for limit in [1, 2, 4, 9, 10] {
        for descending in [false, true] {
            let query = Query::gsi1("G").limit(limit);
            let query = if descending { query.descending() } else { query };
            let items = query_all(&*table, query).await;
            let keys = table_keys(&items);
            assert_eq!(keys.len(), gsi1sks.len(), "limit {limit}, descending {descending}");
            assert_eq!(
                keys.iter().cloned().collect::<HashSet<_>>(),
                expected,
                "limit {limit}, descending {descending}"
            );
            let mut order = gsi1_sort_keys(&items);
            if descending {
                order.reverse();
            }
            assert_eq!(order, gsi1sks, "limit {limit}, descending {descending}");
        }
    }
}

/// Only items with both `gsi1pk` and `gsi1sk` appear in GSI1.
pub async fn items_without_both_gsi1_keys_are_absent_from_the_index(table: Arc<dyn Table>) {
    put(&*table, indexed("S#1", "G", "1")).await;
    put(&*table, indexed("S#2", "G", "2")).await;
    put(&*table, item("S#3", "META", &[("data", s("G"))])).await;
    put(&*table, item("S#4", "META", &[(GSI1PK, s("G"))])).await;
    put(&*table, item("S#5", "META", &[(GSI1SK, s("3"))])).await;
    let found = query_index_until(&*table, Query::gsi1("G"), |found| found.len() >= 2).await;
    assert_eq!(table_keys(&found), [key("S#1", "META"), key("S#2", "META")]);
    let page = table.query(Query::partition("S#3")).await.expect("query failed");
    assert_eq!(page.items.len(), 1, "the unindexed item is still in the table");
}

/// Updating `gsi1pk` moves the item to another index partition; removing it drops the item
/// from the index.
pub async fn changing_or_removing_gsi1_keys_moves_the_item_in_the_index(table: Arc<dyn Table>) {
    put(&*table, indexed("S#1", "G#A", "1")).await;
    put(&*table, indexed("S#2", "G#A", "2")).await;
    let found = query_index_until(&*table, Query::gsi1("G#A"), |found| found.len() >= 2).await;
    assert_eq!(found.len(), 2);

    table
        .update(Update::new(key("S#1", "META"), Condition::ItemExists).set(GSI1PK, s("G#B")))
        .await
        .expect("update failed");
    let in_b = query_index_until(&*table, Query::gsi1("G#B"), |found| !found.is_empty()).await;
    assert_eq!(table_keys(&in_b), [key("S#1", "META")]);
    let in_a = query_index_until(&*table, Query::gsi1("G#A"), |found| found.len() == 1).await;
    assert_eq!(table_keys(&in_a), [key("S#2", "META")]);

    table
        .update(Update::new(key("S#1", "META"), Condition::ItemExists).remove(GSI1PK))
        .await
        .expect("update failed");
    let in_b = query_index_until(&*table, Query::gsi1("G#B"), |found| found.is_empty()).await;
    assert!(in_b.is_empty(), "an item without gsi1pk left the index");
    assert!(get(&*table, "S#1", "META").await.is_some());
}

// ----------------------------------------------------------------------------------------
// Concurrency

/// Runs `RACERS` tasks that start together; returns each task's result in task order.
async fn race<F, Fut>(table: &Arc<dyn Table>, racers: usize, write: F) -> Vec<Result<(), StoreError>>
where
    F: Fn(Arc<dyn Table>, usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(racers));
    let tasks: Vec<_> = (0..racers)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let attempt = write(Arc::clone(table), i);
            tokio::spawn(async move {
                barrier.wait().await;
                attempt.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(racers);
    for task in tasks {
        results.push(task.await.expect("racing task panicked"));
    }
    results
}

/// Checks that exactly one racer won and the others saw `ConditionFailed`; returns the winner.
#[track_caller]
fn single_winner(results: Vec<Result<(), StoreError>>) -> usize {
    let mut winners = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(()) => winners.push(i),
            Err(StoreError::ConditionFailed { op: None }) => {}
            Err(other) => panic!("racer {i} failed with {other:?} instead of ConditionFailed"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    winners[0]
}

/// Of many puts racing on `VersionIs(1)`, exactly one wins, and its item is stored.
pub async fn racing_version_is_puts_let_exactly_one_writer_win(table: Arc<dyn Table>) {
    put(&*table, item("RACE", "ITEM", &[(VERSION, n(1)), ("writer", s("nobody"))])).await;
    let results = race(&table, RACERS, |table, i| async move {
        let item = item("RACE", "ITEM", &[(VERSION, n(2)), ("writer", n(i))]);
        table.put(item, Condition::VersionIs(1)).await
    })
    .await;
    let winner = single_winner(results);
    let stored = get(&*table, "RACE", "ITEM").await;
    assert_eq!(stored, Some(item("RACE", "ITEM", &[(VERSION, n(2)), ("writer", n(winner))])));
}

/// Of many updates racing on `VersionIs(1)`, exactly one wins, and its change is stored.
pub async fn racing_version_is_updates_let_exactly_one_writer_win(table: Arc<dyn Table>) {
    put(&*table, item("RACE", "ITEM", &[(VERSION, n(1)), ("writer", s("nobody")), ("hits", n(0))])).await;
    let results = race(&table, RACERS, |table, i| async move {
        let update = Update::new(key("RACE", "ITEM"), Condition::VersionIs(1))
            .set("writer", n(i))
            .add(VERSION, 1)
            .add("hits", 1);
        table.update(update).await
    })
    .await;
    let winner = single_winner(results);
    let stored = get(&*table, "RACE", "ITEM").await;
    assert_eq!(stored, Some(item("RACE", "ITEM", &[(VERSION, n(2)), ("writer", n(winner)), ("hits", n(1))])));
}

/// Of many puts racing to create one key with `ItemAbsent`, exactly one wins.
pub async fn racing_item_absent_puts_let_exactly_one_writer_win(table: Arc<dyn Table>) {
    let results = race(&table, RACERS, |table, i| async move {
        table.put(item("RACE", "NEW", &[("writer", n(i))]), Condition::ItemAbsent).await
    })
    .await;
    let winner = single_winner(results);
    assert_eq!(get(&*table, "RACE", "NEW").await, Some(item("RACE", "NEW", &[("writer", n(winner))])));
}

/// Of many puts racing to replace one expired item, exactly one wins: an expired record (an
/// idempotency key, a lease) is taken over by a single writer.
pub async fn racing_puts_on_an_expired_item_let_exactly_one_writer_win(table: Arc<dyn Table>) {
    let now = unix_now() as i64;
    put(&*table, item("RACE", "LEASE", &[("expires_at", n(now - 10)), ("writer", s("nobody"))])).await;
    let results = race(&table, RACERS, |table, i| async move {
        let item = item("RACE", "LEASE", &[("expires_at", n(now + 60)), ("writer", n(i))]);
        table.put(item, Condition::absent_or_expired("expires_at", now)).await
    })
    .await;
    let winner = single_winner(results);
    let stored = get(&*table, "RACE", "LEASE").await;
    assert_eq!(stored, Some(item("RACE", "LEASE", &[("expires_at", n(now + 60)), ("writer", n(winner))])));
}

/// Concurrent `add`s on one attribute lose no increment.
pub async fn concurrent_adds_lose_no_increment(table: Arc<dyn Table>) {
    const ADDERS: usize = 50;
    let results = race(&table, ADDERS, |table, _| async move {
        table.update(Update::new(key("RACE", "COUNTER"), Condition::Always).add("count", 1)).await
    })
    .await;
    for (i, result) in results.into_iter().enumerate() {
        result.unwrap_or_else(|err| panic!("adder {i} failed: {err:?}"));
    }
    let stored = get(&*table, "RACE", "COUNTER").await.expect("counter missing");
    assert_eq!(stored.get("count"), Some(&n(ADDERS)));
}
