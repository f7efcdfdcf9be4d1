//! The single table on DynamoDB.
//!
//! Every port call is one DynamoDB request, except that a write cancelled by a conflicting
//! transaction is retried (a few times, with backoff) and a query without a limit, or one whose
//! page DynamoDB cut at 1 MB, reads on until it has its items. Conditions are pushed down as condition expressions, always
//! through `ExpressionAttributeNames`/`ExpressionAttributeValues` placeholders, so attribute names
//! and values never become expression text.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue as SdkValue, BillingMode, ConditionCheck, Delete as SdkDelete,
    GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType, Put as SdkPut,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification, TransactWriteItem, Update as SdkUpdate,
};
use aws_sdk_dynamodb::Client;
use kyc_core::ports::table::{
    check_transaction, AttributeValue, Condition, Index, Item, Key, Page, Query, SortKeyCondition,
    StoreError, Table, Update, WriteOp, PK, SK, TTL, VERSION,
};

use crate::cursor::{CursorCodec, CursorScope};

/// Name of the global secondary index on `gsi1pk`/`gsi1sk`.
pub const GSI1_INDEX_NAME: &str = "GSI1";
/// Name of the global secondary index on `gsi2pk`/`gsi2sk`.
pub const GSI2_INDEX_NAME: &str = "GSI2";

/// The DynamoDB name of a secondary index (`None` for the table itself).
pub fn index_name(index: Index) -> Option<&'static str> {
    match index {
        Index::Primary => None,
        Index::Gsi1 => Some(GSI1_INDEX_NAME),
        Index::Gsi2 => Some(GSI2_INDEX_NAME),
    }
}

/// Whether `name` is a key attribute of a secondary index.
fn is_index_key(name: &str) -> bool {
    Index::SECONDARY.iter().any(|index| {
        let (partition, sort) = index.key_attributes();
        name == partition || name == sort
    })
}

/// How many times a write cancelled by a conflicting transaction (or by throttling inside a
/// transaction) is tried before the adapter gives up with [`StoreError::Backend`].
const MAX_ATTEMPTS: u32 = 5;

/// The first retry waits about this long; each further one twice as long, plus jitter.
const BASE_BACKOFF: Duration = Duration::from_millis(20);

/// The single table stored in DynamoDB.
///
/// Cloning is cheap and shares the SDK client. Cursors returned by [`Table::query`] are signed
/// with the secret given to [`DynamoTable::new`]; every instance that may receive a cursor issued
/// by another (every Lambda instance of a deployment) must use the same secret.
///
/// TTL is advisory, as in the port: DynamoDB deletes expired items some time after their `ttl`,
/// and reads return them until it does.
#[derive(Clone)]
pub struct DynamoTable {
    client: Client,
    table_name: Arc<str>,
    cursors: CursorCodec,
}

impl fmt::Debug for DynamoTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoTable").field("table_name", &self.table_name).finish_non_exhaustive()
    }
}

impl DynamoTable {
    /// Uses the existing table `table_name` through `client`.
    ///
    /// `cursor_secret` keys the HMAC that makes query cursors tamper-evident; it should be at
    /// least 32 random bytes and the same across every instance of a deployment.
    pub fn new(client: Client, table_name: impl Into<String>, cursor_secret: impl AsRef<[u8]>) -> Self {
        Self {
            client,
            table_name: Arc::from(table_name.into()),
            cursors: CursorCodec::new(cursor_secret.as_ref()),
        }
    }

    /// The name of the DynamoDB table.
    pub fn table_name(&self) -> &str {
        &self.table_name
    }

    /// The SDK client this table uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends a write built by `send`, retrying while `classify` says the failure is transient.
    async fn write<T, E, F, Fut>(
        &self,
        operation: &'static str,
        classify: impl Fn(&SdkError<E>) -> Failure,
        send: F,
    ) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E>>>,
        E: std::error::Error + 'static,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match send().await {
                Ok(output) => return Ok(output),
                Err(err) => err,
            };
            match classify(&err) {
                Failure::ConditionFailed(op) => return Err(StoreError::ConditionFailed { op }),
                Failure::Invalid(message) => return Err(StoreError::Invalid(message)),
                Failure::Transient if attempt < MAX_ATTEMPTS => backoff(attempt).await,
                Failure::Transient | Failure::Other => {
                    return Err(backend(operation, &self.table_name, &err, attempt))
                }
            }
        }
    }
}

/// How a failed request is reported.
#[derive(Debug, PartialEq)]
enum Failure {
    /// A condition expression failed (for a transaction, the index of the first failing action).
    ConditionFailed(Option<usize>),
    /// DynamoDB rejected the request as malformed or over a limit; nothing was written.
    Invalid(String),
    /// Another transaction or throttling got in the way; trying again may succeed.
    Transient,
    /// Anything else.
    Other,
}

/// Classifies the failure of a single-item write.
fn classify_write<E: ProvideErrorMetadata>(err: &SdkError<E>) -> Failure {
    classify_code(err.code(), err.message())
}

fn classify_code(code: Option<&str>, message: Option<&str>) -> Failure {
    match code {
        Some("ConditionalCheckFailedException") => Failure::ConditionFailed(None),
        Some("TransactionConflictException") => Failure::Transient,
        Some("ValidationException") => {
            Failure::Invalid(format!("DynamoDB rejected the request: {}", message.unwrap_or("no message")))
        }
        _ => Failure::Other,
    }
}

/// Classifies the failure of a transaction by its cancellation reasons, which are listed in the
/// order of the actions.
fn classify_transaction(err: &SdkError<TransactWriteItemsError>) -> Failure {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error()
    else {
        return classify_write(err);
    };
    classify_reasons(cancelled.cancellation_reasons().iter().map(|reason| (reason.code(), reason.message())))
}

fn classify_reasons<'a>(
    reasons: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)> + Clone,
) -> Failure {
    if let Some(index) = reasons.clone().position(|(code, _)| code == Some("ConditionalCheckFailed")) {
        return Failure::ConditionFailed(Some(index));
    }
    if let Some((_, message)) = reasons.clone().find(|(code, _)| *code == Some("ValidationError")) {
        return Failure::Invalid(format!(
            "DynamoDB rejected the transaction: {}",
            message.unwrap_or("no message")
        ));
    }
    let transient = ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"];
    if reasons.clone().any(|(code, _)| code.is_some_and(|code| transient.contains(&code))) {
        return Failure::Transient;
    }
    Failure::Other
}

/// Waits before the retry that follows attempt `attempt` (1-based).
async fn backoff(attempt: u32) {
    let base = BASE_BACKOFF.saturating_mul(1 << attempt.saturating_sub(1).min(8));
    // Jitter from the clock's sub-second part is enough to spread racing retries apart.
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let jitter_ms = u64::from(nanos) % u64::try_from(base.as_millis()).unwrap_or(1).max(1);
    tokio::time::sleep(base + Duration::from_millis(jitter_ms)).await;
}

fn backend<E: std::error::Error + 'static>(
    operation: &str,
    table: &str,
    err: &SdkError<E>,
    attempts: u32,
) -> StoreError {
    let tries = if attempts > 1 { format!(" after {attempts} attempts") } else { String::new() };
    StoreError::Backend(anyhow!(
        "DynamoDB {operation} on table {table} failed{tries}: {}",
        DisplayErrorContext(err)
    ))
}

// ------------------------------------------------------------------------------------------------
// Conversions

/// Converts a port item into the SDK's attribute map.
fn to_sdk_item(item: Item) -> HashMap<String, SdkValue> {
    item.into_inner().into_iter().map(|(name, value)| (name, SdkValue::from(value))).collect()
}

fn to_sdk_key(key: &Key) -> HashMap<String, SdkValue> {
    [(PK.to_string(), SdkValue::S(key.pk.clone())), (SK.to_string(), SdkValue::S(key.sk.clone()))].into()
}

/// Converts an SDK attribute map into a port item, refusing value types this SDK version does not
/// know (where serde_dynamo's own conversion would panic).
fn from_sdk_item(item: HashMap<String, SdkValue>) -> Result<Item, StoreError> {
    let map = item
        .into_iter()
        .map(|(name, value)| from_sdk_value(value).map(|value| (name, value)))
        .collect::<Result<HashMap<_, _>, _>>()?;
    Ok(Item::from(map))
}

fn from_sdk_value(value: SdkValue) -> Result<AttributeValue, StoreError> {
    Ok(match value {
        SdkValue::S(text) => AttributeValue::S(text),
        SdkValue::N(number) => AttributeValue::N(number),
        SdkValue::Bool(flag) => AttributeValue::Bool(flag),
        SdkValue::Null(null) => AttributeValue::Null(null),
        SdkValue::B(blob) => AttributeValue::B(blob.into_inner()),
        SdkValue::Ss(set) => AttributeValue::Ss(set),
        SdkValue::Ns(set) => AttributeValue::Ns(set),
        SdkValue::Bs(set) => AttributeValue::Bs(set.into_iter().map(|blob| blob.into_inner()).collect()),
        SdkValue::L(list) => {
            AttributeValue::L(list.into_iter().map(from_sdk_value).collect::<Result<_, _>>()?)
        }
        SdkValue::M(map) => AttributeValue::M(
            map.into_iter()
                .map(|(name, value)| from_sdk_value(value).map(|value| (name, value)))
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(StoreError::Backend(anyhow!(
                "DynamoDB returned an unknown attribute type: {other:?}"
            )))
        }
    })
}

// ------------------------------------------------------------------------------------------------
// Expressions

/// `ExpressionAttributeNames`: placeholder → attribute name.
type Names = HashMap<String, String>;
/// `ExpressionAttributeValues`: placeholder → value.
type Values = HashMap<String, SdkValue>;

/// Placeholders of one request's expressions.
#[derive(Default)]
struct Placeholders {
    names: Names,
    values: Values,
}

impl Placeholders {
    fn name(&mut self, placeholder: String, name: &str) -> String {
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    fn value(&mut self, placeholder: String, value: SdkValue) -> String {
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// The maps, or `None` for an empty one (DynamoDB rejects empty placeholder maps).
    fn into_maps(self) -> (Option<Names>, Option<Values>) {
        let names = (!self.names.is_empty()).then_some(self.names);
        let values = (!self.values.is_empty()).then_some(self.values);
        (names, values)
    }
}

/// The condition expression of `condition`, if it has one.
fn condition_expression(condition: &Condition, ph: &mut Placeholders) -> Option<String> {
    nested_expression(condition, ph, "")
}

/// The expression of `condition`, its placeholders suffixed with `suffix` so that the branches
/// of an [`Condition::AnyOf`] do not share them.
fn nested_expression(condition: &Condition, ph: &mut Placeholders, suffix: &str) -> Option<String> {
    match condition {
        Condition::Always => None,
        Condition::ItemAbsent => Some(format!("attribute_not_exists({})", ph.name("#c_pk".into(), PK))),
        Condition::ItemExists => Some(format!("attribute_exists({})", ph.name("#c_pk".into(), PK))),
        Condition::VersionIs(version) => {
            let name = ph.name(format!("#c_version{suffix}"), VERSION);
            let value = ph.value(format!(":c_version{suffix}"), SdkValue::N(version.to_string()));
            Some(format!("{name} = {value}"))
        }
        Condition::AttrEquals(attr, expected) => {
            let name = ph.name(format!("#c_attr{suffix}"), attr);
            let value = ph.value(format!(":c_attr{suffix}"), SdkValue::from(expected.clone()));
            // DynamoDB's `=` is already false for a missing attribute; saying so explicitly keeps
            // emulators that treat a missing attribute as NULL (moto) from matching `NULL`.
            Some(format!("attribute_exists({name}) AND {name} = {value}"))
        }
        Condition::AttrLessThan(attr, bound) => {
            let type_code = match bound {
                AttributeValue::N(_) => "N",
                AttributeValue::S(_) => "S",
                AttributeValue::B(_) => "B",
                // DynamoDB orders no other type (it would reject the expression): never holds.
                _ => {
                    let pk = ph.name("#c_pk".into(), PK);
                    return Some(format!("attribute_exists({pk}) AND attribute_not_exists({pk})"));
                }
            };
            let name = ph.name(format!("#c_lt{suffix}"), attr);
            let kind = ph.value(format!(":c_lt_type{suffix}"), SdkValue::S(type_code.into()));
            let value = ph.value(format!(":c_lt{suffix}"), SdkValue::from(bound.clone()));
            // Comparing across types is false on DynamoDB; checking the type first says so
            // explicitly, and keeps emulators that fail on such comparisons (moto) in line.
            Some(format!("attribute_type({name}, {kind}) AND {name} < {value}"))
        }
        Condition::AnyOf(conditions) => {
            if always_holds(condition) {
                // Decided before any placeholder is named: DynamoDB refuses unused ones.
                return None;
            }
            let mut branches = Vec::with_capacity(conditions.len());
            for (i, branch) in conditions.iter().enumerate() {
                branches.push(format!("({})", nested_expression(branch, ph, &format!("{suffix}_{i}"))?));
            }
            if branches.is_empty() {
                // Nothing can hold: a contradiction.
                let pk = ph.name("#c_pk".into(), PK);
                return Some(format!("attribute_exists({pk}) AND attribute_not_exists({pk})"));
            }
            Some(branches.join(" OR "))
        }
    }
}

/// Whether `condition` holds whatever is stored (then it has no expression).
fn always_holds(condition: &Condition) -> bool {
    match condition {
        Condition::Always => true,
        Condition::AnyOf(conditions) => conditions.iter().any(always_holds),
        _ => false,
    }
}

/// A condition expression for a transaction's check action, which DynamoDB requires even when
/// the port's condition is [`Condition::Always`] (then a tautology).
fn check_expression(condition: &Condition, ph: &mut Placeholders) -> String {
    condition_expression(condition, ph).unwrap_or_else(|| {
        let pk = ph.name("#c_pk".into(), PK);
        format!("attribute_exists({pk}) OR attribute_not_exists({pk})")
    })
}

/// Rejects GSI1 key attributes DynamoDB refuses to write: anything but a non-empty string.
///
/// DynamoDB rejects such writes itself; checking first gives emulators that do not (moto) the
/// same behaviour, and a clearer message.
fn check_index_key(name: &str, value: &AttributeValue) -> Result<(), StoreError> {
    match value {
        AttributeValue::S(text) if !text.is_empty() => Ok(()),
        _ => Err(StoreError::Invalid(format!("the index key attribute {name} must be a non-empty string"))),
    }
}

fn check_item(item: &Item) -> Result<(), StoreError> {
    Key::of(item)?;
    for (name, value) in item.iter().filter(|(name, _)| is_index_key(name)) {
        check_index_key(name, value)?;
    }
    Ok(())
}

/// Rejects updates DynamoDB would reject, or that the port forbids, before any request is made.
fn check_update(update: &Update) -> Result<(), StoreError> {
    let names = || {
        update
            .set
            .iter()
            .map(|(name, _)| name.as_str())
            .chain(update.remove.iter().map(String::as_str))
            .chain(update.add.iter().map(|(name, _)| name.as_str()))
    };
    if names().any(|name| name == PK || name == SK) {
        return Err(StoreError::Invalid("an update cannot change the key".into()));
    }
    if names().next().is_none() {
        return Err(StoreError::Invalid("an update must set, remove or add at least one attribute".into()));
    }
    let mut seen = HashSet::new();
    if let Some(twice) = names().find(|name| !seen.insert(*name)) {
        return Err(StoreError::Invalid(format!("an update names attribute {twice} more than once")));
    }
    for (name, value) in &update.set {
        if is_index_key(name) {
            check_index_key(name, value)?;
        }
    }
    if let Some((name, _)) = update.add.iter().find(|(name, _)| is_index_key(name)) {
        return Err(StoreError::Invalid(format!(
            "the index key attribute {name} must be a non-empty string"
        )));
    }
    Ok(())
}

/// The update expression of a checked update.
fn update_expression(update: &Update, ph: &mut Placeholders) -> String {
    let mut clauses = Vec::new();
    if !update.set.is_empty() {
        let sets: Vec<String> = update
            .set
            .iter()
            .enumerate()
            .map(|(i, (name, value))| {
                let name = ph.name(format!("#s{i}"), name);
                let value = ph.value(format!(":s{i}"), SdkValue::from(value.clone()));
                format!("{name} = {value}")
            })
            .collect();
        clauses.push(format!("SET {}", sets.join(", ")));
    }
    if !update.remove.is_empty() {
        let removes: Vec<String> =
            update.remove.iter().enumerate().map(|(i, name)| ph.name(format!("#r{i}"), name)).collect();
        clauses.push(format!("REMOVE {}", removes.join(", ")));
    }
    if !update.add.is_empty() {
        let adds: Vec<String> = update
            .add
            .iter()
            .enumerate()
            .map(|(i, (name, by))| {
                let name = ph.name(format!("#a{i}"), name);
                let value = ph.value(format!(":a{i}"), SdkValue::N(by.to_string()));
                format!("{name} {value}")
            })
            .collect();
        clauses.push(format!("ADD {}", adds.join(", ")));
    }
    clauses.join(" ")
}

/// One transaction action in the SDK's terms.
fn transact_item(table: &str, op: WriteOp) -> Result<TransactWriteItem, StoreError> {
    let mut ph = Placeholders::default();
    let built = match op {
        WriteOp::Put { item, condition } => {
            let condition = condition_expression(&condition, &mut ph);
            let (names, values) = ph.into_maps();
            let put = SdkPut::builder()
                .table_name(table)
                .set_item(Some(to_sdk_item(item)))
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .build()
                .context("building a transaction put")?;
            TransactWriteItem::builder().put(put).build()
        }
        WriteOp::Update(update) => {
            let expression = update_expression(&update, &mut ph);
            let condition = condition_expression(&update.condition, &mut ph);
            let (names, values) = ph.into_maps();
            let update = SdkUpdate::builder()
                .table_name(table)
                .set_key(Some(to_sdk_key(&update.key)))
                .update_expression(expression)
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .build()
                .context("building a transaction update")?;
            TransactWriteItem::builder().update(update).build()
        }
        WriteOp::Delete { key, condition } => {
            let condition = condition_expression(&condition, &mut ph);
            let (names, values) = ph.into_maps();
            let delete = SdkDelete::builder()
                .table_name(table)
                .set_key(Some(to_sdk_key(&key)))
                .set_condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .build()
                .context("building a transaction delete")?;
            TransactWriteItem::builder().delete(delete).build()
        }
        WriteOp::Check { key, condition } => {
            let condition = check_expression(&condition, &mut ph);
            let (names, values) = ph.into_maps();
            let check = ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(to_sdk_key(&key)))
                .condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .build()
                .context("building a transaction check")?;
            TransactWriteItem::builder().condition_check(check).build()
        }
    };
    Ok(built)
}

// ------------------------------------------------------------------------------------------------
// The port

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        if key.pk.is_empty() || key.sk.is_empty() {
            // DynamoDB cannot store empty key strings, so no such item exists.
            return Ok(None);
        }
        let output = self
            .client
            .get_item()
            .table_name(&*self.table_name)
            .set_key(Some(to_sdk_key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| match classify_write(&err) {
                Failure::Invalid(message) => StoreError::Invalid(message),
                _ => backend("GetItem", &self.table_name, &err, 1),
            })?;
        output.item.map(from_sdk_item).transpose()
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        check_item(&item)?;
        let mut ph = Placeholders::default();
        let expression = condition_expression(&condition, &mut ph);
        let (names, values) = ph.into_maps();
        let request = self
            .client
            .put_item()
            .table_name(&*self.table_name)
            .set_item(Some(to_sdk_item(item)))
            .set_condition_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values);
        self.write("PutItem", classify_write, || request.clone().send()).await?;
        Ok(())
    }

    async fn update(&self, update: Update) -> Result<(), StoreError> {
        check_update(&update)?;
        let mut ph = Placeholders::default();
        let expression = update_expression(&update, &mut ph);
        let condition = condition_expression(&update.condition, &mut ph);
        let (names, values) = ph.into_maps();
        let request = self
            .client
            .update_item()
            .table_name(&*self.table_name)
            .set_key(Some(to_sdk_key(&update.key)))
            .update_expression(expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values);
        self.write("UpdateItem", classify_write, || request.clone().send()).await?;
        Ok(())
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        let mut ph = Placeholders::default();
        let expression = condition_expression(&condition, &mut ph);
        let (names, values) = ph.into_maps();
        let request = self
            .client
            .delete_item()
            .table_name(&*self.table_name)
            .set_key(Some(to_sdk_key(key)))
            .set_condition_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values);
        self.write("DeleteItem", classify_write, || request.clone().send()).await?;
        Ok(())
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        check_transaction(&ops)?;
        for op in &ops {
            match op {
                WriteOp::Put { item, .. } => check_item(item)?,
                WriteOp::Update(update) => check_update(update)?,
                WriteOp::Delete { .. } | WriteOp::Check { .. } => {}
            }
        }
        let items =
            ops.into_iter().map(|op| transact_item(&self.table_name, op)).collect::<Result<Vec<_>, _>>()?;
        let request = self.client.transact_write_items().set_transact_items(Some(items));
        self.write("TransactWriteItems", classify_transaction, || request.clone().send()).await?;
        Ok(())
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        query.check()?;
        let scope = CursorScope {
            index: query.index,
            partition: &query.partition,
            sort_key: query.sort_key.as_ref(),
        };
        let mut start = query.after.as_ref().map(|cursor| self.cursors.decode(scope, cursor)).transpose()?;
        if query.partition.is_empty() {
            // DynamoDB cannot store empty key strings, so the partition is empty.
            return Ok(Page::default());
        }

        let (partition_attr, sort_attr) = query.index.key_attributes();
        let mut ph = Placeholders::default();
        let mut key_condition = format!(
            "{} = {}",
            ph.name("#pk".into(), partition_attr),
            ph.value(":pk".into(), SdkValue::S(query.partition.clone()))
        );
        match &query.sort_key {
            None => {}
            Some(SortKeyCondition::BeginsWith(prefix)) => {
                let sort = ph.name("#sk".into(), sort_attr);
                let value = ph.value(":prefix".into(), SdkValue::S(prefix.clone()));
                key_condition.push_str(&format!(" AND begins_with({sort}, {value})"));
            }
            Some(SortKeyCondition::Between(low, high)) => {
                let sort = ph.name("#sk".into(), sort_attr);
                let low = ph.value(":low".into(), SdkValue::S(low.clone()));
                let high = ph.value(":high".into(), SdkValue::S(high.clone()));
                key_condition.push_str(&format!(" AND {sort} BETWEEN {low} AND {high}"));
            }
        }
        let (names, values) = ph.into_maps();
        let mut request = self
            .client
            .query()
            .table_name(&*self.table_name)
            .key_condition_expression(key_condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .scan_index_forward(!query.descending);
        request = match index_name(query.index) {
            None => request.consistent_read(true),
            Some(name) => request.index_name(name),
        };

        // DynamoDB stops a page at the limit or at 1 MB of items; keep reading until the caller's
        // limit is reached (or, without one, until the partition ends).
        let mut items = Vec::new();
        loop {
            let mut page_request = request.clone().set_exclusive_start_key(start.take());
            if let Some(limit) = query.limit {
                let remaining = limit.saturating_sub(items.len());
                page_request = page_request.limit(i32::try_from(remaining).unwrap_or(i32::MAX));
            }
            let output = page_request.send().await.map_err(|err| match classify_write(&err) {
                Failure::Invalid(message) => StoreError::Invalid(message),
                _ => backend("Query", &self.table_name, &err, 1),
            })?;
            for item in output.items.unwrap_or_default() {
                items.push(from_sdk_item(item)?);
            }
            match output.last_evaluated_key.filter(|key| !key.is_empty()) {
                None => return Ok(Page { items, next: None }),
                Some(last) if query.limit.is_some_and(|limit| items.len() >= limit) => {
                    let next = Some(self.cursors.encode(scope, last)?);
                    return Ok(Page { items, next });
                }
                Some(last) => start = Some(last),
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Schema

/// Creates the table this adapter expects and waits until it is active.
///
/// The schema: string keys `pk` (partition) and `sk` (sort); the global secondary index
/// [`GSI1_INDEX_NAME`] and [`GSI2_INDEX_NAME`] on string keys `gsi1pk`/`gsi1sk` and
/// `gsi2pk`/`gsi2sk`, projecting every attribute; on-demand
/// billing; TTL on the `ttl` attribute. Tests use it against an emulator, and it documents what
/// `infra/` must create in a real account.
pub async fn create_table(client: &Client, table_name: &str) -> anyhow::Result<()> {
    let string_attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .context("building an attribute definition")
    };
    let key = |name: &str, key_type: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .context("building a key schema element")
    };
    let mut request = client
        .create_table()
        .table_name(table_name)
        .attribute_definitions(string_attr(PK)?)
        .attribute_definitions(string_attr(SK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?);
    for index in Index::SECONDARY {
        let (partition, sort) = index.key_attributes();
        let definition = GlobalSecondaryIndex::builder()
            .set_index_name(index_name(index).map(str::to_owned))
            .key_schema(key(partition, KeyType::Hash)?)
            .key_schema(key(sort, KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .with_context(|| format!("building the {} definition", index.name()))?;
        request = request
            .attribute_definitions(string_attr(partition)?)
            .attribute_definitions(string_attr(sort)?)
            .global_secondary_indexes(definition);
    }
    request
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(|err| anyhow!("creating DynamoDB table {table_name}: {}", DisplayErrorContext(&err)))?;

    let mut active = false;
    for _ in 0..600 {
        let described = client.describe_table().table_name(table_name).send().await.map_err(|err| {
            anyhow!("describing DynamoDB table {table_name}: {}", DisplayErrorContext(&err))
        })?;
        let table = described.table.as_ref();
        let table_active = table.and_then(|t| t.table_status()) == Some(&TableStatus::Active);
        let indexes_active = table
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .all(|index| index.index_status().is_none_or(|status| status.as_str() == "ACTIVE"));
        if table_active && indexes_active {
            active = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if !active {
        anyhow::bail!("DynamoDB table {table_name} did not become active within 5 minutes");
    }

    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL)
                .enabled(true)
                .build()
                .context("building the TTL specification")?,
        )
        .send()
        .await
        .map_err(|err| {
            anyhow!("enabling TTL on DynamoDB table {table_name}: {}", DisplayErrorContext(&err))
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kyc_core::ports::table::{GSI1PK, GSI1SK, GSI2PK};

    fn s(value: &str) -> AttributeValue {
        AttributeValue::S(value.into())
    }

    #[test]
    fn conditions_use_placeholders_only() {
        let mut ph = Placeholders::default();
        let expression =
            condition_expression(&Condition::AttrEquals("status) OR (x".into(), s("' OR 1=1")), &mut ph);
        assert_eq!(expression.as_deref(), Some("attribute_exists(#c_attr) AND #c_attr = :c_attr"));
        assert_eq!(ph.names["#c_attr"], "status) OR (x");
        assert_eq!(ph.values[":c_attr"], SdkValue::S("' OR 1=1".into()));

        let mut ph = Placeholders::default();
        assert_eq!(condition_expression(&Condition::Always, &mut ph), None);
        assert_eq!(ph.into_maps(), (None, None));

        let mut ph = Placeholders::default();
        assert_eq!(
            condition_expression(&Condition::VersionIs(7), &mut ph).as_deref(),
            Some("#c_version = :c_version")
        );
        assert_eq!(ph.values[":c_version"], SdkValue::N("7".into()));

        let mut ph = Placeholders::default();
        assert_eq!(
            condition_expression(&Condition::ItemAbsent, &mut ph).as_deref(),
            Some("attribute_not_exists(#c_pk)")
        );
        assert_eq!(
            check_expression(&Condition::Always, &mut Placeholders::default()),
            "attribute_exists(#c_pk) OR attribute_not_exists(#c_pk)"
        );
    }

    #[test]
    fn any_of_joins_its_branches_with_placeholders_of_their_own() {
        let mut ph = Placeholders::default();
        let condition = Condition::AnyOf(vec![
            Condition::ItemAbsent,
            Condition::AttrLessThan("expires_at".into(), AttributeValue::N("100".into())),
            Condition::AttrEquals("state".into(), s("a")),
            Condition::AttrEquals("other".into(), s("b")),
        ]);
        assert_eq!(
            condition_expression(&condition, &mut ph).as_deref(),
            Some(
                "(attribute_not_exists(#c_pk)) OR (attribute_type(#c_lt_1, :c_lt_type_1) AND #c_lt_1 < :c_lt_1) \
                 OR (attribute_exists(#c_attr_2) AND #c_attr_2 = :c_attr_2) \
                 OR (attribute_exists(#c_attr_3) AND #c_attr_3 = :c_attr_3)"
            )
        );
        assert_eq!((ph.names["#c_attr_2"].as_str(), ph.names["#c_attr_3"].as_str()), ("state", "other"));
        assert_eq!(ph.values[":c_lt_1"], SdkValue::N("100".into()));
        assert_eq!(ph.values[":c_lt_type_1"], SdkValue::S("N".into()));

        let always = Condition::AnyOf(vec![Condition::ItemExists, Condition::Always]);
        let mut ph = Placeholders::default();
        assert_eq!(condition_expression(&always, &mut ph), None);
        assert_eq!(ph.into_maps(), (None, None), "no placeholder may be left unused");
        assert_eq!(
            condition_expression(&Condition::AnyOf(vec![]), &mut Placeholders::default()).as_deref(),
            Some("attribute_exists(#c_pk) AND attribute_not_exists(#c_pk)")
        );
    }

    #[test]
    fn updates_become_set_remove_and_add_clauses() {
        let update = Update::new(Key::new("P", "A"), Condition::Always)
            .set("name", s("x"))
            .set("city", s("y"))
            .remove("gone")
            .add("count", -2);
        check_update(&update).unwrap();
        let mut ph = Placeholders::default();
        assert_eq!(update_expression(&update, &mut ph), "SET #s0 = :s0, #s1 = :s1 REMOVE #r0 ADD #a0 :a0");
        assert_eq!(ph.names["#r0"], "gone");
        assert_eq!(ph.values[":a0"], SdkValue::N("-2".into()));
    }

    #[test]
    fn key_changes_empty_updates_and_repeated_names_are_invalid() {
        let base = || Update::new(Key::new("P", "A"), Condition::Always);
        for update in [
            base().set(PK, s("Q")),
            base().remove(SK),
            base().add(PK, 1),
            base(),
            base().set("x", s("1")).remove("x"),
            base().add("n", 1).add("n", 2),
            base().set(GSI1PK, AttributeValue::N("1".into())),
            base().set(GSI1SK, s("")),
            base().add(GSI1SK, 1),
            base().set(GSI2PK, s("")),
        ] {
            assert!(matches!(check_update(&update), Err(StoreError::Invalid(_))), "{update:?}");
        }
    }

    #[test]
    fn cancellation_reasons_name_the_first_failed_condition() {
        let reasons = [
            (Some("None"), None),
            (Some("ConditionalCheckFailed"), None),
            (Some("ConditionalCheckFailed"), None),
        ];
        assert_eq!(classify_reasons(reasons.iter().copied()), Failure::ConditionFailed(Some(1)));
        let reasons = [(Some("None"), None), (Some("TransactionConflict"), Some("busy"))];
        assert_eq!(classify_reasons(reasons.iter().copied()), Failure::Transient);
        let reasons = [(Some("ValidationError"), Some("too big")), (Some("None"), None)];
        assert!(
            matches!(classify_reasons(reasons.iter().copied()), Failure::Invalid(m) if m.contains("too big"))
        );
        assert_eq!(classify_reasons([(Some("None"), None)].iter().copied()), Failure::Other);
        assert_eq!(
            classify_code(Some("ConditionalCheckFailedException"), None),
            Failure::ConditionFailed(None)
        );
        assert_eq!(classify_code(Some("TransactionConflictException"), None), Failure::Transient);
        assert_eq!(classify_code(Some("InternalServerError"), None), Failure::Other);
    }

    #[test]
    fn items_convert_both_ways() {
        let mut item = Item::default();
        item.insert("s".into(), s("x"));
        item.insert("n".into(), AttributeValue::N("1".into()));
        item.insert("b".into(), AttributeValue::B(vec![1, 2]));
        item.insert(
            "l".into(),
            AttributeValue::L(vec![AttributeValue::Null(true), AttributeValue::Bool(false)]),
        );
        item.insert(
            "m".into(),
            AttributeValue::M([("k".to_string(), AttributeValue::Ns(vec!["2".into()]))].into()),
        );
        assert_eq!(from_sdk_item(to_sdk_item(item.clone())).unwrap(), item);
    }
}
