//! The single table on an embedded SQLite file.
//!
//! Every item lives in one SQLite table, keyed by `(pk, sk)`, with the whole attribute map stored
//! as DynamoDB-wire-format JSON. The secondary index keys (`gsi1pk`…`gsi2sk`) and the TTL are copied
//! into their own columns on every write so that the indexes can be queried and expired rows purged.
//!
//! Writes run in `BEGIN IMMEDIATE` transactions: the current item is read, the port's condition is
//! evaluated with [`Condition::holds_for`] and the change applied, all under SQLite's write lock,
//! so conditional writes are atomic even when several processes share the file.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use async_trait::async_trait;
use kyc_core::ports::table::{
    check_transaction, AttributeValue, Condition, Cursor, Index, Item, Key, Page, Query, SortKeyCondition,
    StoreError, Table, Update, WriteOp, PK, SK, TTL,
};
use rusqlite::config::DbConfig;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

/// How long a write waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Rows whose TTL passed more than this many seconds ago are purged when the file is opened.
const TTL_PURGE_GRACE_SECS: i64 = 60 * 60;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk     TEXT NOT NULL,
    sk     TEXT NOT NULL,
    gsi1pk TEXT,
    gsi1sk TEXT,
    ttl    INTEGER,
    item   TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
);
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk);
";

/// Index columns added after the first schema; files created before them gain the columns (and
/// their index, filled from the stored items) when opened.
const LATER_INDEXES: [Index; 1] = [Index::Gsi2];

/// Idle read connections kept open; more are opened while reads overlap, and closed after.
const MAX_IDLE_READERS: usize = 8;

/// The single table stored in a SQLite file.
///
/// Cloning is cheap and shares the connections. Writes go through one connection in tokio's
/// blocking pool (a commit may wait for the disk); reads run on the calling task, each on a read
/// connection of its own: in WAL mode a reader never waits for the writer and sees every commit
/// made before it started, and reading a partition takes microseconds, less than handing the
/// work to another thread and back (the dev server's warm path, `make bench-load`).
///
/// Several `SqliteTable`s (in one process or in several) may open the same file: the file is in WAL mode and conditional writes take SQLite's
/// write lock, waiting up to 5 seconds for it.
///
/// TTL is advisory, as in DynamoDB: reads return expired items (callers check expiry themselves),
/// and [`SqliteTable::open`] purges items that expired more than an hour ago.
#[derive(Clone)]
pub struct SqliteTable {
    conn: Arc<Mutex<Connection>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    decoded: Arc<DecodedItems>,
    path: Arc<PathBuf>,
}

impl fmt::Debug for SqliteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteTable").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SqliteTable {
    /// Opens (or creates) the table stored in the file at `path`.
    ///
    /// Creates the parent directories and the schema if needed, switches the file to WAL mode and
    /// purges items whose TTL passed more than an hour ago.
    pub fn open(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating directory {}", parent.display()))?;
        }
        let conn =
            Connection::open(path).with_context(|| format!("opening SQLite table {}", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT).context("setting busy_timeout")?;
        stable_plans(&conn)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .context("setting journal_mode=WAL")?;
        if !mode.eq_ignore_ascii_case("wal") {
            anyhow::bail!("{} cannot use WAL mode (journal_mode is {mode})", path.display());
        }
        conn.pragma_update(None, "synchronous", "NORMAL").context("setting synchronous=NORMAL")?;
        conn.execute_batch(SCHEMA).context("creating the items schema")?;
        add_later_indexes(&conn)?;
        let cutoff = unix_now()?.saturating_sub(TTL_PURGE_GRACE_SECS);
        conn.execute("DELETE FROM items WHERE ttl IS NOT NULL AND ttl < ?1", params![cutoff])
            .context("purging expired items")?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::default(),
            decoded: Arc::default(),
            path: Arc::new(path.to_path_buf()),
        })
    }

    /// The file this table is stored in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs the read `f` here, on an idle read connection or a new one.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let idle = self.readers.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(self.path.as_path(), flags)
                    .with_context(|| format!("opening SQLite table {} to read", self.path.display()))?;
                conn.busy_timeout(BUSY_TIMEOUT).context("setting busy_timeout")?;
                stable_plans(&conn)?;
                conn
            }
        };
        let result = f(&conn);
        let mut readers = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        if readers.len() < MAX_IDLE_READERS {
            readers.push(conn);
        }
        result
    }

    /// Runs `f` on the write connection in tokio's blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while the lock was held unwound through any open transaction, which rolled
            // back on drop, so the connection is still consistent.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn)
        })
        .await
        .context("SQLite task failed")?
    }
}

#[async_trait]
impl Table for SqliteTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let decoded = &self.decoded;
        self.read(|conn| read(conn, key, Some(decoded)))
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        Key::of(&item)?;
        self.run(move |conn| write_one(conn, WriteOp::Put { item, condition })).await
    }

    async fn update(&self, update: Update) -> Result<(), StoreError> {
        check_update(&update)?;
        self.run(move |conn| write_one(conn, WriteOp::Update(update))).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        let key = key.clone();
        self.run(move |conn| write_one(conn, WriteOp::Delete { key, condition })).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        check_transaction(&ops)?;
        for op in &ops {
            if let WriteOp::Update(update) = op {
                check_update(update)?;
            }
        }
        self.run(move |conn| write_all(conn, ops)).await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        query.check()?;
        let after = query.after.as_ref().map(decode_cursor).transpose()?;
        let decoded = &self.decoded;
        self.read(|conn| run_query(conn, &query, after, decoded))
    }
}

/// Keeps each prepared statement's plan whatever values are bound to it. The bundled SQLite is
/// built with STAT4, which otherwise re-prepares a statement whenever a value bound to an
/// indexed column changes, which here is every time: parsing and planning the query again was a
/// tenth of a public session read on the dev server. With no `ANALYZE` statistics there is no
/// better plan to find.
fn stable_plans(conn: &Connection) -> anyhow::Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .context("enabling the query planner stability guarantee")?;
    Ok(())
}

/// Rejects updates that touch the key attributes, before any condition is evaluated.
fn check_update(update: &Update) -> Result<(), StoreError> {
    let is_key = |name: &str| name == PK || name == SK;
    if update.set.iter().any(|(name, _)| is_key(name))
        || update.remove.iter().any(|name| is_key(name))
        || update.add.iter().any(|(name, _)| is_key(name))
    {
        return Err(StoreError::Invalid("an update cannot change the key".into()));
    }
    Ok(())
}

/// What a write does once its condition held.
enum Effect {
    Store(Item),
    Erase(Key),
    Nothing,
}

/// Runs one write; a failed condition reports no op index.
fn write_one(conn: &mut Connection, op: WriteOp) -> Result<(), StoreError> {
    write_all(conn, vec![op]).map_err(|err| match err {
        StoreError::ConditionFailed { .. } => StoreError::ConditionFailed { op: None },
        other => other,
    })
}

/// Runs the writes atomically: every condition is checked under the write lock, then every
/// change applied, or nothing is.
fn write_all(conn: &mut Connection, ops: Vec<WriteOp>) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .context("beginning a write transaction")?;
    let mut effects = Vec::with_capacity(ops.len());
    for (index, op) in ops.into_iter().enumerate() {
        let key = op.key()?;
        let current = read(&tx, &key, None)?;
        if !op.condition().holds_for(current.as_ref()) {
            // Dropping `tx` rolls back; nothing was written yet anyway.
            return Err(StoreError::ConditionFailed { op: Some(index) });
        }
        effects.push(match op {
            WriteOp::Put { item, .. } => Effect::Store(item),
            WriteOp::Update(update) => {
                let item = update.apply_to(current)?;
                if Key::of(&item)? != key {
                    return Err(StoreError::Invalid("an update cannot change the key".into()));
                }
                Effect::Store(item)
            }
            WriteOp::Delete { .. } => Effect::Erase(key),
            WriteOp::Check { .. } => Effect::Nothing,
        });
    }
    for effect in &effects {
        match effect {
            Effect::Store(item) => store(&tx, item)?,
            Effect::Erase(key) => erase(&tx, key)?,
            Effect::Nothing => {}
        }
    }
    tx.commit().context("committing a write transaction")?;
    Ok(())
}

/// Reads the item stored under `key`.
fn read(conn: &Connection, key: &Key, decoded: Option<&DecodedItems>) -> Result<Option<Item>, StoreError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT item FROM items WHERE pk = ?1 AND sk = ?2")
        .context("preparing an item read")?
        .query_row(params![key.pk, key.sk], |row| row.get(0))
        .optional()
        .with_context(|| format!("reading item {}/{}", key.pk, key.sk))?;
    json.map(|json| match decoded {
        Some(decoded) => decoded.decode(&key.pk, &key.sk, json),
        None => decode_item(&json),
    })
    .transpose()
}

/// Writes (inserts or replaces) a whole item, refreshing the index and TTL columns.
fn store(conn: &Connection, item: &Item) -> Result<(), StoreError> {
    let key = Key::of(item)?;
    let json = serde_json::to_string(item).with_context(|| format!("encoding item {}/{}", key.pk, key.sk))?;
    let keys_of = |index: Index| {
        let (partition, sort) = index.key_attributes();
        (string_attr(item, partition), string_attr(item, sort))
    };
    let ((g1p, g1s), (g2p, g2s)) = (keys_of(Index::Gsi1), keys_of(Index::Gsi2));
    conn.prepare_cached(
        "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk, ttl, item)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (pk, sk) DO UPDATE SET
             gsi1pk = excluded.gsi1pk, gsi1sk = excluded.gsi1sk,
             gsi2pk = excluded.gsi2pk, gsi2sk = excluded.gsi2sk,
             ttl = excluded.ttl, item = excluded.item",
    )
    .context("preparing an item write")?
    .execute(params![key.pk, key.sk, g1p, g1s, g2p, g2s, ttl_attr(item), json])
    .with_context(|| format!("writing item {}/{}", key.pk, key.sk))?;
    Ok(())
}

/// Adds the columns and index of each later secondary index to a file that lacks them, filling
/// them from the stored items.
fn add_later_indexes(conn: &Connection) -> anyhow::Result<()> {
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('items')")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()
        .context("reading the items schema")?;
    for index in LATER_INDEXES {
        let (p, s) = index.key_attributes();
        if !columns.iter().any(|c| c == p) {
            conn.execute_batch(&format!(
                "ALTER TABLE items ADD COLUMN {p} TEXT;
                 ALTER TABLE items ADD COLUMN {s} TEXT;
                 UPDATE items SET
                     {p} = json_extract(item, '$.{p}.S'),
                     {s} = json_extract(item, '$.{s}.S');"
            ))
            .with_context(|| format!("adding the {} columns", index.name()))?;
        }
        conn.execute_batch(&format!(
            "CREATE INDEX IF NOT EXISTS items_{name} ON items ({p}, {s}, pk, sk);",
            name = index.name()
        ))
        .with_context(|| format!("creating the {} index", index.name()))?;
    }
    Ok(())
}

/// Deletes the item stored under `key`, if any.
fn erase(conn: &Connection, key: &Key) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
        .context("preparing an item delete")?
        .execute(params![key.pk, key.sk])
        .with_context(|| format!("deleting item {}/{}", key.pk, key.sk))?;
    Ok(())
}

/// Items read lately, by key, with the stored text they were decoded from. A read whose row
/// holds the same text gets a copy instead of parsing it again: copying an item is a few times
/// cheaper than parsing its JSON, which was a third of a public session read (`make
/// bench-load`). Any change to the row changes its text, so a stale item is never returned.
#[derive(Default)]
struct DecodedItems(Mutex<HashMap<String, (String, Item)>>);

/// Items [`DecodedItems`] keeps before it starts over.
const DECODED_ITEMS: usize = 1_024;

impl DecodedItems {
    fn decode(&self, pk: &str, sk: &str, json: String) -> Result<Item, StoreError> {
        let key = format!("{pk}\u{0}{sk}");
        let lock = || self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((text, item)) = lock().get(&key) {
            if *text == json {
                return Ok(item.clone());
            }
        }
        let item = decode_item(&json)?;
        let mut cache = lock();
        if cache.len() >= DECODED_ITEMS {
            cache.clear();
        }
        cache.insert(key, (json, item.clone()));
        Ok(item)
    }
}

fn decode_item(json: &str) -> Result<Item, StoreError> {
    Ok(serde_json::from_str(json).context("decoding a stored item")?)
}

/// A string attribute, as the index columns need (other types are not indexed).
fn string_attr(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

/// The TTL in unix seconds, when the item has a numeric `ttl` attribute.
fn ttl_attr(item: &Item) -> Option<i64> {
    match item.get(TTL) {
        Some(AttributeValue::N(n)) => n.parse::<i64>().ok().or_else(|| {
            n.parse::<f64>()
                .ok()
                .filter(|secs| secs.is_finite())
                // `as` saturates, which is what an out-of-range expiry deserves.
                .map(|secs| secs.trunc() as i64)
        }),
        _ => None,
    }
}

fn unix_now() -> anyhow::Result<i64> {
    let secs =
        SystemTime::now().duration_since(UNIX_EPOCH).context("the system clock is before 1970")?.as_secs();
    Ok(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// A position in a query's results: the sort key of the index, then the table key.
///
/// The table key breaks ties between items sharing a GSI1 sort key; on the primary index it is
/// redundant but keeps one format.
#[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Position(String, String, String);

fn encode_cursor(position: &Position) -> Result<Cursor, StoreError> {
    let json = serde_json::to_vec(position).context("encoding a query cursor")?;
    Ok(Cursor(hex::encode(json)))
}

fn decode_cursor(cursor: &Cursor) -> Result<Position, StoreError> {
    hex::decode(&cursor.0)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| StoreError::Invalid("malformed query cursor".into()))
}

/// The smallest string greater than every string that starts with `prefix`, if there is one.
///
/// UTF-8 byte order (SQLite's BINARY collation, DynamoDB's string order) is code point order, so
/// bumping the last code point that can be bumped, and dropping what follows it, bounds the range.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(bumped) = char::from_u32(next) {
            chars.push(bumped);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Binds `value` as the next query argument and returns its placeholder.
fn arg(args: &mut Vec<Value>, value: String) -> String {
    args.push(Value::Text(value));
    format!("?{}", args.len())
}

fn run_query(
    conn: &Connection,
    query: &Query,
    after: Option<Position>,
    decoded: &DecodedItems,
) -> Result<Page, StoreError> {
    // Column names equal the attribute names they copy.
    let (partition_col, sort_col) = query.index.key_attributes();
    let mut sql = format!("SELECT item, pk, sk, {sort_col} FROM items WHERE {partition_col} = ?1");
    let mut args: Vec<Value> = vec![Value::Text(query.partition.clone())];
    if query.index != Index::Primary {
        // Like a DynamoDB GSI with a sort key, only items with both key attributes are indexed.
        sql.push_str(&format!(" AND {sort_col} IS NOT NULL"));
    }
    match &query.sort_key {
        None => {}
        Some(SortKeyCondition::BeginsWith(prefix)) => {
            let lower = arg(&mut args, prefix.clone());
            sql.push_str(&format!(" AND {sort_col} >= {lower}"));
            if let Some(upper) = prefix_upper_bound(prefix) {
                let upper = arg(&mut args, upper);
                sql.push_str(&format!(" AND {sort_col} < {upper}"));
            }
        }
        Some(SortKeyCondition::Between(low, high)) => {
            let (low, high) = (arg(&mut args, low.clone()), arg(&mut args, high.clone()));
            sql.push_str(&format!(" AND {sort_col} BETWEEN {low} AND {high}"));
        }
    }
    let (cmp, dir) = if query.descending { ("<", "DESC") } else { (">", "ASC") };
    if let Some(Position(sort, pk, sk)) = after {
        if query.index == Index::Primary {
            let sort = arg(&mut args, sort);
            sql.push_str(&format!(" AND sk {cmp} {sort}"));
        } else {
            let (sort, pk, sk) = (arg(&mut args, sort), arg(&mut args, pk), arg(&mut args, sk));
            sql.push_str(&format!(" AND ({sort_col}, pk, sk) {cmp} ({sort}, {pk}, {sk})"));
        }
    }
    if query.index == Index::Primary {
        sql.push_str(&format!(" ORDER BY sk {dir}"));
    } else {
        sql.push_str(&format!(" ORDER BY {sort_col} {dir}, pk {dir}, sk {dir}"));
    }
    let limit = query.limit.map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
    args.push(Value::Integer(limit));
    sql.push_str(&format!(" LIMIT ?{}", args.len()));

    let mut stmt = conn.prepare_cached(&sql).context("preparing a query")?;
    let rows = stmt
        .query_map(params_from_iter(args), |row| {
            Ok((row.get::<_, String>(0)?, Position(row.get(3)?, row.get(1)?, row.get(2)?)))
        })
        .with_context(|| format!("querying partition {}", query.partition))?;
    let mut items = Vec::new();
    let mut last = None;
    for row in rows {
        let (json, position) = row.with_context(|| format!("reading partition {}", query.partition))?;
        items.push(decoded.decode(&position.1, &position.2, json)?);
        last = Some(position);
    }
    // Like DynamoDB's LastEvaluatedKey: a full page may be followed by more items.
    let next = match (query.limit, last) {
        (Some(limit), Some(last)) if items.len() >= limit => Some(encode_cursor(&last)?),
        _ => None,
    };
    Ok(Page { items, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_upper_bound_bumps_the_last_bumpable_code_point() {
        assert_eq!(prefix_upper_bound("USER#"), Some("USER$".into()));
        assert_eq!(prefix_upper_bound("a\u{D7FF}"), Some("a\u{E000}".into()));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}"), Some("b".into()));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound(""), None);
    }

    #[test]
    fn a_cursor_round_trips_and_garbage_is_invalid() {
        let position = Position("s".into(), "p".into(), "k".into());
        let cursor = encode_cursor(&position).unwrap();
        assert_eq!(decode_cursor(&cursor).unwrap(), position);
        for bad in ["", "zz", "00", &hex::encode("[1,2,3]")] {
            assert!(matches!(decode_cursor(&Cursor(bad.into())), Err(StoreError::Invalid(_))));
        }
    }

    #[tokio::test]
    async fn a_file_from_before_gsi2_gains_the_index_with_its_stored_items() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            let item = r#"{"pk":{"S":"S#1"},"sk":{"S":"META"},"gsi2pk":{"S":"P"},"gsi2sk":{"S":"1"}}"#;
            conn.execute("INSERT INTO items (pk, sk, item) VALUES ('S#1', 'META', ?1)", params![item])
                .unwrap();
        }
        let table = SqliteTable::open(&path).unwrap();
        let page = table.query(Query::index(Index::Gsi2, "P")).await.unwrap();
        assert_eq!(page.items.len(), 1);
        // Opening again finds the columns in place.
        drop(table);
        SqliteTable::open(&path).unwrap();
    }

    #[test]
    fn ttl_columns_read_numbers_only() {
        let mut item = Item::default();
        assert_eq!(ttl_attr(&item), None);
        item.insert(TTL.into(), AttributeValue::N("1700000000".into()));
        assert_eq!(ttl_attr(&item), Some(1_700_000_000));
        item.insert(TTL.into(), AttributeValue::N("1700000000.75".into()));
        assert_eq!(ttl_attr(&item), Some(1_700_000_000));
        item.insert(TTL.into(), AttributeValue::S("1700000000".into()));
        assert_eq!(ttl_attr(&item), None);
    }
}
