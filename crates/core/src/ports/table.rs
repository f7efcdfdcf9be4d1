//! The single-table store port.
//!
//! The port works at the level of one DynamoDB-style table, not one repository per entity: items are
//! attribute maps (`serde_dynamo::Item`) addressed by a partition key (`pk`) and a sort key (`sk`),
//! optionally indexed again by two global secondary indexes (`gsi1pk`/`gsi1sk`, `gsi2pk`/`gsi2sk`). Conditions are a small typed model that
//! every adapter translates, so no adapter has to parse another's expression language.
//!
//! Rules every caller follows, because DynamoDB enforces them and the local adapter mirrors them:
//! numbers are written in normalized form (`"1"`, never `"1.0"`: conditions compare them as
//! text locally); an index holds only items with both of its key attributes as strings and is
//! eventually consistent; a query `limit` is at least 1.

use async_trait::async_trait;
pub use serde_dynamo::{AttributeValue, Item};

/// Attribute holding the partition key.
pub const PK: &str = "pk";
/// Attribute holding the sort key.
pub const SK: &str = "sk";
/// Partition key of the first global secondary index.
pub const GSI1PK: &str = "gsi1pk";
/// Sort key of the first global secondary index.
pub const GSI1SK: &str = "gsi1sk";
/// Partition key of the second global secondary index.
pub const GSI2PK: &str = "gsi2pk";
/// Sort key of the second global secondary index.
pub const GSI2SK: &str = "gsi2sk";
/// Expiry time in unix seconds; the store may delete the item some time after it passes.
pub const TTL: &str = "ttl";
/// Optimistic-locking counter used by [`Condition::VersionIs`].
pub const VERSION: &str = "version";

/// DynamoDB's per-transaction item limit, enforced by every adapter.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// DynamoDB's per-transaction size limit (4 MB), enforced by every adapter.
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;

/// The primary key of one item.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }

    /// Reads the key attributes of an item.
    pub fn of(item: &Item) -> Result<Self, StoreError> {
        match (item.get(PK), item.get(SK)) {
            (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => Ok(Self::new(pk, sk)),
            _ => Err(StoreError::Invalid("item lacks string pk/sk attributes".into())),
        }
    }
}

/// A precondition on the item currently stored under a key.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// No precondition.
    Always,
    /// No item is stored under the key.
    ItemAbsent,
    /// An item is stored under the key.
    ItemExists,
    /// The stored item's `version` attribute equals this number.
    VersionIs(u64),
    /// The stored item has this attribute with exactly this value.
    AttrEquals(String, AttributeValue),
    /// The stored item has this attribute, of the same type as the value (number, string or
    /// binary), and it is less than the value: numbers numerically, strings and binaries byte by
    /// byte, as DynamoDB's `<` compares them.
    AttrLessThan(String, AttributeValue),
    /// At least one of these conditions holds (an empty list never holds). With
    /// `[ItemAbsent, AttrLessThan("expires_at", now)]` an expired item can be replaced as if it
    /// were absent.
    AnyOf(Vec<Condition>),
}

impl Condition {
    /// Evaluates the condition against the currently stored item (`None` when absent).
    ///
    /// Adapters that cannot push the condition down to the backend use this, so every adapter
    /// agrees on the semantics.
    pub fn holds_for(&self, current: Option<&Item>) -> bool {
        match self {
            Condition::Always => true,
            Condition::ItemAbsent => current.is_none(),
            Condition::ItemExists => current.is_some(),
            Condition::VersionIs(expected) => current.and_then(|item| item.get(VERSION)).is_some_and(
                |v| matches!(v, AttributeValue::N(n) if n.parse::<u64>().ok() == Some(*expected)),
            ),
            Condition::AttrEquals(name, value) => current.and_then(|item| item.get(name)) == Some(value),
            Condition::AttrLessThan(name, bound) => {
                current.and_then(|item| item.get(name)).is_some_and(|stored| less_than(stored, bound))
            }
            Condition::AnyOf(conditions) => conditions.iter().any(|c| c.holds_for(current)),
        }
    }

    /// The item is absent, or its numeric `attribute` is below `now`: the condition that lets an
    /// expired item be replaced as if it were gone (TTL deletion being lazy).
    pub fn absent_or_expired(attribute: impl Into<String>, now: i64) -> Self {
        Condition::AnyOf(vec![
            Condition::ItemAbsent,
            Condition::AttrLessThan(attribute.into(), AttributeValue::N(now.to_string())),
        ])
    }
}

/// `stored < bound` as DynamoDB evaluates it: false across types and for unordered types.
fn less_than(stored: &AttributeValue, bound: &AttributeValue) -> bool {
    match (stored, bound) {
        (AttributeValue::N(a), AttributeValue::N(b)) => {
            match (a.trim().parse::<i128>(), b.trim().parse::<i128>()) {
                (Ok(a), Ok(b)) => a < b,
                _ => match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
                    (Ok(a), Ok(b)) => a < b,
                    _ => false,
                },
            }
        }
        (AttributeValue::S(a), AttributeValue::S(b)) => a.as_bytes() < b.as_bytes(),
        (AttributeValue::B(a), AttributeValue::B(b)) => a < b,
        _ => false,
    }
}

/// An in-place change of one item, created if absent (unless the condition forbids it).
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub key: Key,
    /// Attributes to set to these values.
    pub set: Vec<(String, AttributeValue)>,
    /// Attributes to remove.
    pub remove: Vec<String>,
    /// Integer attributes to increase by these amounts (a missing attribute counts as 0).
    pub add: Vec<(String, i64)>,
    pub condition: Condition,
}

impl Update {
    pub fn new(key: Key, condition: Condition) -> Self {
        Self { key, set: Vec::new(), remove: Vec::new(), add: Vec::new(), condition }
    }

    pub fn set(mut self, name: impl Into<String>, value: AttributeValue) -> Self {
        self.set.push((name.into(), value));
        self
    }

    pub fn remove(mut self, name: impl Into<String>) -> Self {
        self.remove.push(name.into());
        self
    }

    pub fn add(mut self, name: impl Into<String>, by: i64) -> Self {
        self.add.push((name.into(), by));
        self
    }

    /// Applies the change to the current item (or to a new one), as DynamoDB's UpdateItem does.
    pub fn apply_to(&self, current: Option<Item>) -> Result<Item, StoreError> {
        let mut item = current.unwrap_or_default();
        item.insert(PK.into(), AttributeValue::S(self.key.pk.clone()));
        item.insert(SK.into(), AttributeValue::S(self.key.sk.clone()));
        let touches_key =
            self.set.iter().map(|(name, _)| name).chain(&self.remove).chain(self.add.iter().map(|(n, _)| n));
        if touches_key.into_iter().any(|name| name == PK || name == SK) {
            return Err(StoreError::Invalid("an update cannot change the key".into()));
        }
        for (name, value) in &self.set {
            item.insert(name.clone(), value.clone());
        }
        for name in &self.remove {
            item.remove(name);
        }
        for (name, by) in &self.add {
            let current = match item.get(name) {
                None => 0,
                Some(AttributeValue::N(n)) => n
                    .parse::<i64>()
                    .map_err(|_| StoreError::Invalid(format!("attribute {name} is not an integer")))?,
                Some(_) => return Err(StoreError::Invalid(format!("attribute {name} is not a number"))),
            };
            let sum = current
                .checked_add(*by)
                .ok_or_else(|| StoreError::Invalid(format!("attribute {name} would overflow")))?;
            item.insert(name.clone(), AttributeValue::N(sum.to_string()));
        }
        Ok(item)
    }
}

/// One action of a transaction, or a standalone write.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOp {
    Put {
        item: Item,
        condition: Condition,
    },
    Update(Update),
    Delete {
        key: Key,
        condition: Condition,
    },
    /// Fails the transaction unless the condition holds, writing nothing.
    Check {
        key: Key,
        condition: Condition,
    },
}

impl WriteOp {
    pub fn key(&self) -> Result<Key, StoreError> {
        match self {
            WriteOp::Put { item, .. } => Key::of(item),
            WriteOp::Update(update) => Ok(update.key.clone()),
            WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => Ok(key.clone()),
        }
    }

    pub fn condition(&self) -> &Condition {
        match self {
            WriteOp::Put { condition, .. }
            | WriteOp::Delete { condition, .. }
            | WriteOp::Check { condition, .. } => condition,
            WriteOp::Update(update) => &update.condition,
        }
    }
}

/// Which key a query reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Index {
    /// `pk` / `sk`.
    Primary,
    /// `gsi1pk` / `gsi1sk`.
    Gsi1,
    /// `gsi2pk` / `gsi2sk`.
    Gsi2,
}

impl Index {
    /// Every secondary index.
    pub const SECONDARY: [Index; 2] = [Index::Gsi1, Index::Gsi2];

    /// The attributes holding this index's partition and sort keys.
    pub fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Index::Primary => (PK, SK),
            Index::Gsi1 => (GSI1PK, GSI1SK),
            Index::Gsi2 => (GSI2PK, GSI2SK),
        }
    }

    /// The index's name (`gsi1`…; the table itself is `table`).
    pub fn name(self) -> &'static str {
        match self {
            Index::Primary => "table",
            Index::Gsi1 => "gsi1",
            Index::Gsi2 => "gsi2",
        }
    }
}

/// Which sort keys of the partition a query reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortKeyCondition {
    /// Sort keys that start with this string.
    BeginsWith(String),
    /// Sort keys from the first string to the second, both included.
    Between(String, String),
}

/// Reads the items of one partition in sort-key order.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub index: Index,
    pub partition: String,
    pub sort_key: Option<SortKeyCondition>,
    pub limit: Option<usize>,
    pub descending: bool,
    /// Continue after the page that returned this cursor.
    pub after: Option<Cursor>,
}

impl Query {
    pub fn partition(partition: impl Into<String>) -> Self {
        Self {
            index: Index::Primary,
            partition: partition.into(),
            sort_key: None,
            limit: None,
            descending: false,
            after: None,
        }
    }

    /// Reads a partition of a secondary index.
    pub fn index(index: Index, partition: impl Into<String>) -> Self {
        Self { index, ..Self::partition(partition) }
    }

    pub fn gsi1(partition: impl Into<String>) -> Self {
        Self::index(Index::Gsi1, partition)
    }

    /// Only sort keys starting with `prefix` (an empty prefix reads the whole partition).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        self.sort_key = (!prefix.is_empty()).then_some(SortKeyCondition::BeginsWith(prefix));
        self
    }

    /// Only sort keys from `low` to `high`, both included.
    pub fn between(mut self, low: impl Into<String>, high: impl Into<String>) -> Self {
        self.sort_key = Some(SortKeyCondition::Between(low.into(), high.into()));
        self
    }

    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.after = cursor;
        self
    }

    /// Checks what every adapter refuses alike: a zero limit, an empty or inverted range.
    pub fn check(&self) -> Result<(), StoreError> {
        if self.limit == Some(0) {
            return Err(StoreError::Invalid("a query limit must be at least 1".into()));
        }
        if let Some(SortKeyCondition::Between(low, high)) = &self.sort_key {
            if low.is_empty() || low > high {
                return Err(StoreError::Invalid("a sort-key range needs 0 < low <= high".into()));
            }
        }
        Ok(())
    }
}

/// An opaque position in a query's results, produced by the adapter that ran it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor(pub String);

/// One page of query results.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present when more items may follow.
    pub next: Option<Cursor>,
}

/// Failures of the store port.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition did not hold; nothing was written. For transactions, `op` is the index of the
    /// first action whose condition failed.
    #[error("condition failed")]
    ConditionFailed { op: Option<usize> },
    /// The request breaks the table's rules (limits, missing keys, malformed cursor).
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// The backend failed; the cause is for logs only.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// The single table.
#[async_trait]
pub trait Table: Send + Sync {
    /// Reads one item (strongly consistent).
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;
    /// Writes a whole item if the condition holds on the item it replaces.
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError>;
    /// Changes one item in place if the condition holds.
    async fn update(&self, update: Update) -> Result<(), StoreError>;
    /// Deletes one item if the condition holds.
    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError>;
    /// Applies every action or none. At most [`MAX_TRANSACTION_ITEMS`] actions, one per key.
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;
    /// Reads one partition of the table or of an index (strongly consistent on the table).
    async fn query(&self, query: Query) -> Result<Page, StoreError>;
}

/// Checks a transaction against DynamoDB's limits before any adapter runs it.
pub fn check_transaction(ops: &[WriteOp]) -> Result<(), StoreError> {
    if ops.is_empty() {
        return Err(StoreError::Invalid("a transaction needs at least one action".into()));
    }
    if ops.len() > MAX_TRANSACTION_ITEMS {
        return Err(StoreError::Invalid(format!(
            "a transaction takes at most {MAX_TRANSACTION_ITEMS} actions, got {}",
            ops.len()
        )));
    }
    let mut keys = std::collections::HashSet::with_capacity(ops.len());
    let mut bytes = 0usize;
    for op in ops {
        let key = op.key()?;
        bytes += key.pk.len() + key.sk.len();
        if let WriteOp::Put { item, .. } = op {
            bytes += serde_json::to_vec(item).map(|v| v.len()).unwrap_or(0);
        }
        if !keys.insert(key) {
            return Err(StoreError::Invalid("a transaction cannot act twice on one item".into()));
        }
    }
    if bytes > MAX_TRANSACTION_BYTES {
        return Err(StoreError::Invalid("a transaction is limited to 4 MB".into()));
    }
    Ok(())
}
