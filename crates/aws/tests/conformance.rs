//! The `Table` conformance suite on `DynamoTable`, against a DynamoDB emulator (moto).
//!
//! `make test` starts moto on loopback (`infra/with-emulator.sh`) and passes its URL in
//! `KYC_TEST_DYNAMODB_ENDPOINT`; every test creates its own, uniquely named table there.
//!
//! Without that variable these tests fail, so that a plain `cargo test` never passes without
//! having run them. Set `KYC_SKIP_AWS_EMULATOR_TESTS=1` to skip them on purpose instead.

use std::sync::Arc;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use kyc_aws::{create_table, DynamoTable};
use kyc_core::ports::table::{
    AttributeValue, Condition, Cursor, Item, Key, Query, StoreError, Table, PK, SK,
};

fn emulator_endpoint() -> Option<String> {
    kyc_testkit::emulator::endpoint(kyc_testkit::emulator::DYNAMODB_ENDPOINT_VAR)
}

/// A client for the emulator with dummy credentials (built per test: each test has its own
/// runtime, and a client's connection pool belongs to the runtime that made it).
fn emulator_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "conformance-tests"))
        .endpoint_url(endpoint)
        .http_client(kyc_aws::https_client())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A `DynamoTable` on a fresh table of its own.
async fn fresh_table() -> Option<DynamoTable> {
    let endpoint = emulator_endpoint()?;
    let client = emulator_client(&endpoint);
    let name = format!("kyc-test-{}", uuid::Uuid::new_v4());
    create_table(&client, &name).await.expect("creating a table on the emulator");
    Some(DynamoTable::new(client, name, b"conformance-test cursor secret, not for production"))
}

kyc_testkit::table_conformance_tests!(optional: async {
    fresh_table().await.map(|table| Arc::new(table) as Arc<dyn Table>)
});

// ------------------------------------------------------------------------------------------------
// DynamoDB-specific tests

fn item(pk: &str, sk: &str) -> Item {
    let mut item = Item::default();
    item.insert(PK.into(), AttributeValue::S(pk.into()));
    item.insert(SK.into(), AttributeValue::S(sk.into()));
    item
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_are_signed_and_bound_to_their_query() {
    let Some(table) = fresh_table().await else { return };
    for sk in ["A", "B", "C"] {
        table.put(item("P", sk), Condition::Always).await.unwrap();
        table.put(item("Q", sk), Condition::Always).await.unwrap();
    }
    let first = table.query(Query::partition("P").limit(1)).await.unwrap();
    let cursor = first.next.expect("a cursor after a full page");

    // A cursor from a table with another secret is rejected.
    let other = DynamoTable::new(table.client().clone(), table.table_name(), b"another secret");
    let result = other.query(Query::partition("P").limit(1).after(Some(cursor.clone()))).await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");

    // So is one replayed against another partition, index or prefix.
    for query in [Query::partition("Q"), Query::gsi1("P"), Query::partition("P").prefix("B")] {
        let result = table.query(query.clone().limit(1).after(Some(cursor.clone()))).await;
        assert!(matches!(result, Err(StoreError::Invalid(_))), "{query:?}: {result:?}");
    }

    // A tampered one too, while the genuine one still works.
    let Cursor(text) = &cursor;
    let tampered = Cursor(text.replacen(|c: char| c.is_ascii_alphanumeric(), "_", 1));
    let result = table.query(Query::partition("P").limit(1).after(Some(tampered))).await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");
    let second = table.query(Query::partition("P").limit(1).after(Some(cursor))).await.unwrap();
    assert_eq!(second.items, vec![item("P", "B")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_dynamodb_rejects_are_invalid_and_empty_keys_read_as_missing() {
    let Some(table) = fresh_table().await else { return };
    // DynamoDB refuses empty key strings and GSI keys of the wrong type.
    assert!(matches!(table.put(item("", "A"), Condition::Always).await, Err(StoreError::Invalid(_))));
    let mut wrong_gsi_type = item("P", "A");
    wrong_gsi_type.insert("gsi1pk".into(), AttributeValue::N("1".into()));
    let result = table.put(wrong_gsi_type, Condition::Always).await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");
    // ...and no item can have one, so reads find nothing rather than failing.
    assert_eq!(table.get(&Key::new("", "A")).await.unwrap(), None);
    assert!(table.query(Query::partition("")).await.unwrap().items.is_empty());
    assert!(matches!(table.query(Query::partition("P").limit(0)).await, Err(StoreError::Invalid(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_from_the_environment_reaches_the_emulator() {
    let Some(endpoint) = emulator_endpoint() else { return };
    // `infra/with-emulator.sh` exports dummy credentials and a region, as Lambda would real ones.
    let client = kyc_aws::dynamodb_client(&kyc_aws::load_sdk_config().await, Some(&endpoint));
    let name = format!("kyc-test-{}", uuid::Uuid::new_v4());
    create_table(&client, &name).await.expect("creating a table through the environment's client");
    let table = DynamoTable::new(client, name, b"secret");
    table.put(item("P", "A"), Condition::ItemAbsent).await.unwrap();
    assert_eq!(table.get(&Key::new("P", "A")).await.unwrap(), Some(item("P", "A")));
}
