//! The `Table` conformance suite on `SqliteTable`, plus what only a file-backed table can show:
//! several handles (processes) on one file, persistence, TTL purging and the stored columns.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use kyc_core::ports::table::{
    AttributeValue, Condition, Item, Key, Page, Query, StoreError, Table, Update, WriteOp, GSI1PK, GSI1SK,
    PK, SK, TTL, VERSION,
};
use kyc_local::SqliteTable;
use kyc_testkit::{CountingTable, RoundTrips};
use tempfile::TempDir;

/// A `SqliteTable` on a file in its own temporary directory, deleted when the table is dropped.
struct TempTable {
    // Declared first so the connection closes before the directory is removed.
    table: SqliteTable,
    _dir: TempDir,
}

impl TempTable {
    fn new() -> Self {
        let dir = TempDir::new().expect("creating a temporary directory");
        let table = SqliteTable::open(dir.path().join("table.sqlite3")).expect("opening the table");
        Self { table, _dir: dir }
    }
}

#[async_trait]
impl Table for TempTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.table.get(key).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        self.table.put(item, condition).await
    }
    async fn update(&self, update: Update) -> Result<(), StoreError> {
        self.table.update(update).await
    }
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        self.table.delete(key, condition).await
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.table.transact(ops).await
    }
    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.table.query(query).await
    }
}

kyc_testkit::table_conformance_tests!(async { Arc::new(TempTable::new()) });

// ------------------------------------------------------------------------------------------------
// SQLite-specific tests

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
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

fn unix_now() -> i64 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    i64::try_from(secs).unwrap()
}

fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("shared.sqlite3")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_handles_on_one_file_racing_version_is_updates_let_exactly_one_win() {
    let dir = TempDir::new().unwrap();
    let first = SqliteTable::open(db_path(&dir)).unwrap();
    let second = SqliteTable::open(db_path(&dir)).unwrap();
    let key = Key::new("RACE", "ITEM");
    first.put(item("RACE", "ITEM", &[(VERSION, n(1))]), Condition::Always).await.unwrap();

    for round in 1..=5u64 {
        let barrier = Arc::new(tokio::sync::Barrier::new(20));
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let table = if i % 2 == 0 { first.clone() } else { second.clone() };
                let key = key.clone();
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    let update =
                        Update::new(key, Condition::VersionIs(round)).set("writer", n(i)).add(VERSION, 1);
                    table.update(update).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for (i, task) in tasks.into_iter().enumerate() {
            match task.await.unwrap() {
                Ok(()) => winners.push(i),
                Err(StoreError::ConditionFailed { op: None }) => {}
                Err(other) => panic!("racer {i} failed with {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        for table in [&first, &second] {
            let stored = table.get(&key).await.unwrap().unwrap();
            assert_eq!(stored.get(VERSION), Some(&n(round + 1)));
            assert_eq!(stored.get("writer"), Some(&n(winners[0])));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_handles_on_one_file_lose_no_increment() {
    let dir = TempDir::new().unwrap();
    let handles = [SqliteTable::open(db_path(&dir)).unwrap(), SqliteTable::open(db_path(&dir)).unwrap()];
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let table = handles[i % 2].clone();
            tokio::spawn(async move {
                let update = Update::new(Key::new("RACE", "COUNTER"), Condition::Always).add("count", 1);
                table.update(update).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let stored = handles[1].get(&Key::new("RACE", "COUNTER")).await.unwrap().unwrap();
    assert_eq!(stored.get("count"), Some(&n(60)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn data_persists_after_dropping_and_reopening_the_table() {
    let dir = TempDir::new().unwrap();
    let indexed = item("S#1", "META", &[(GSI1PK, s("TENANT#1")), (GSI1SK, s("2024-01-01")), ("v", n(1))]);
    {
        let table = SqliteTable::open(db_path(&dir)).unwrap();
        table.put(indexed.clone(), Condition::ItemAbsent).await.unwrap();
        table
            .transact(vec![
                WriteOp::Put { item: item("S#1", "EVENT#1", &[]), condition: Condition::ItemAbsent },
                WriteOp::Update(Update::new(Key::new("S#1", "COUNTER"), Condition::Always).add("n", 2)),
            ])
            .await
            .unwrap();
    }
    let table = SqliteTable::open(db_path(&dir)).unwrap();
    assert_eq!(table.get(&Key::new("S#1", "META")).await.unwrap(), Some(indexed.clone()));
    let page = table.query(Query::partition("S#1")).await.unwrap();
    let sks: Vec<_> = page.items.iter().map(|i| Key::of(i).unwrap().sk).collect();
    assert_eq!(sks, ["COUNTER", "EVENT#1", "META"]);
    let page = table.query(Query::gsi1("TENANT#1")).await.unwrap();
    assert_eq!(page.items, vec![indexed]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_return_expired_items_and_open_purges_the_long_expired() {
    let dir = TempDir::new().unwrap();
    let now = unix_now();
    let cases = [
        ("FRESH", Some(now + 3600)),
        ("JUST-EXPIRED", Some(now - 60)),
        ("LONG-EXPIRED", Some(now - 2 * 3600)),
        ("NO-TTL", None),
    ];
    {
        let table = SqliteTable::open(db_path(&dir)).unwrap();
        for (sk, ttl) in cases {
            let attrs: Vec<(&str, AttributeValue)> = ttl.map(|t| (TTL, n(t))).into_iter().collect();
            table.put(item("TTL", sk, &attrs), Condition::Always).await.unwrap();
        }
        // TTL is advisory: nothing is hidden from reads.
        for (sk, _) in cases {
            assert!(table.get(&Key::new("TTL", sk)).await.unwrap().is_some());
        }
        assert_eq!(table.query(Query::partition("TTL")).await.unwrap().items.len(), 4);
    }
    let table = SqliteTable::open(db_path(&dir)).unwrap();
    let page = table.query(Query::partition("TTL")).await.unwrap();
    let sks: Vec<_> = page.items.iter().map(|i| Key::of(i).unwrap().sk).collect();
    assert_eq!(sks, ["FRESH", "JUST-EXPIRED", "NO-TTL"]);
}

#[test]
fn open_creates_missing_parent_directories_and_a_wal_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("nested").join("deeper").join("table.sqlite3");
    let table = SqliteTable::open(&path).unwrap();
    assert_eq!(table.path(), path.as_path());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

/// Reads the extracted columns of one row, bypassing the adapter.
fn stored_columns(path: &Path, pk: &str, sk: &str) -> (Option<String>, Option<String>, Option<i64>) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT gsi1pk, gsi1sk, ttl FROM items WHERE pk = ?1 AND sk = ?2", [pk, sk], |row| {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn index_and_ttl_columns_follow_every_write() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let table = SqliteTable::open(&path).unwrap();
    let key = Key::new("P", "A");
    table
        .put(
            item("P", "A", &[(GSI1PK, s("G")), (GSI1SK, s("1")), (TTL, n(2_000_000_000))]),
            Condition::Always,
        )
        .await
        .unwrap();
    assert_eq!(stored_columns(&path, "P", "A"), (Some("G".into()), Some("1".into()), Some(2_000_000_000)));

    let update =
        Update::new(key.clone(), Condition::ItemExists).set(GSI1SK, s("2")).remove(GSI1PK).add(TTL, 10);
    table.update(update).await.unwrap();
    assert_eq!(stored_columns(&path, "P", "A"), (None, Some("2".into()), Some(2_000_000_010)));

    // Attributes of the wrong type are kept in the item but not indexed.
    table
        .put(item("P", "A", &[(GSI1PK, n(1)), (GSI1SK, s("x")), (TTL, s("soon"))]), Condition::Always)
        .await
        .unwrap();
    assert_eq!(stored_columns(&path, "P", "A"), (None, Some("x".into()), None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_update_removing_a_key_attribute_is_invalid() {
    let table = TempTable::new();
    table.put(item("P", "A", &[("v", n(1))]), Condition::Always).await.unwrap();
    for update in [
        Update::new(Key::new("P", "A"), Condition::Always).remove(PK),
        Update::new(Key::new("P", "A"), Condition::Always).add(SK, 1),
    ] {
        assert!(matches!(table.update(update).await, Err(StoreError::Invalid(_))));
    }
    assert_eq!(table.get(&Key::new("P", "A")).await.unwrap(), Some(item("P", "A", &[("v", n(1))])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_zero_limit_is_invalid() {
    let table = TempTable::new();
    assert!(matches!(table.query(Query::partition("P").limit(0)).await, Err(StoreError::Invalid(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_counting_table_counts_round_trips_per_kind() {
    let counting = CountingTable::new(Arc::new(TempTable::new()));
    let key = Key::new("P", "A");
    counting.put(item("P", "A", &[]), Condition::Always).await.unwrap();
    counting.get(&key).await.unwrap();
    counting.get(&key).await.unwrap();
    let failed = counting.put(item("P", "A", &[]), Condition::ItemAbsent).await;
    assert!(matches!(failed, Err(StoreError::ConditionFailed { op: None })));
    counting.update(Update::new(key.clone(), Condition::Always).add("n", 1)).await.unwrap();
    counting
        .transact(vec![WriteOp::Check { key: key.clone(), condition: Condition::ItemExists }])
        .await
        .unwrap();
    counting.query(Query::partition("P")).await.unwrap();
    counting.delete(&key, Condition::Always).await.unwrap();
    let expected = RoundTrips { get: 2, put: 2, update: 1, delete: 1, transact: 1, query: 1 };
    assert_eq!(counting.counts(), expected);
    assert_eq!(counting.counts().total(), 8);
    counting.reset();
    assert_eq!(counting.counts(), RoundTrips::default());
    assert_eq!(counting.counts().total(), 0);
}
