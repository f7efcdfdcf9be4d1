//! The scheduled refresh end to end: official-format files served by a loopback HTTP server,
//! downloaded by the real downloader, published through the local table and blob store, and
//! followed by the lazy screener.

use crate::helpers::fixture;
use axum::http::StatusCode;
use kyc_core::domain::screening::ScreeningIndexPointer;
use kyc_core::domain::time::Timestamp;
use kyc_core::ports::screener::{Screener, ScreeningSubject};
use kyc_core::ports::{Blobs, Clock, Table};
use kyc_local::{FsBlobs, SqliteTable};
use kyc_outbound::download::HttpDownloader;
use kyc_screening::index::{RefreshPolicy, RefreshRefused};
use kyc_screening::matching::Threshold;
use kyc_screening::published::PublishedScreener;
use kyc_screening::source::ListId;
use kyc_screening::store::{IndexStore, Publication};
use kyc_screening::update::{update_lists, ListUrl, UpdateError};
use kyc_testkit::{FileServer, ManualClock};
use std::sync::Arc;
use std::time::Duration;

struct Harness {
    lists: FileServer,
    store: IndexStore,
    blobs: Arc<FsBlobs>,
    clock: Arc<ManualClock>,
    downloader: HttpDownloader,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn new() -> Self {
        let lists = FileServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let table: Arc<dyn Table> = Arc::new(SqliteTable::open(dir.path().join("kyc.db")).unwrap());
        let blobs = Arc::new(FsBlobs::open(dir.path().join("blobs"), "http://127.0.0.1:1").unwrap());
        let store = IndexStore::new(table, Arc::clone(&blobs) as Arc<dyn Blobs>);
        let clock = Arc::new(ManualClock::new(time::macros::datetime!(2026-12-02 06:00 UTC)));
        let downloader = HttpDownloader::new(10 * 1024 * 1024, Duration::from_secs(10));
        let harness = Harness { lists, store, blobs, clock, downloader, _dir: dir };
        harness.serve("sdn.xml", StatusCode::OK, fixture(ListId::OfacSdn));
        harness.serve("consolidated.xml", StatusCode::OK, fixture(ListId::UnConsolidated));
        harness
    }

    fn serve(&self, name: &str, status: StatusCode, body: Vec<u8>) {
        self.lists.serve(name, status, body);
    }

    fn lists(&self) -> Vec<ListUrl> {
        vec![
            ListUrl { list: ListId::OfacSdn, url: self.lists.url("sdn.xml") },
            ListUrl { list: ListId::UnConsolidated, url: self.lists.url("consolidated.xml") },
        ]
    }

    async fn refresh(&self) -> Result<Publication, UpdateError> {
        let at = Timestamp::from_datetime(self.clock.now());
        update_lists(&self.store, &self.downloader, &self.lists(), RefreshPolicy::default(), at).await
    }

    async fn published(&self) -> ScreeningIndexPointer {
        match self.refresh().await.expect("the refresh publishes") {
            Publication::New(pointer) => pointer,
            Publication::Unchanged(pointer) => panic!("expected a new index, kept {}", pointer.version),
        }
    }

    fn screener(&self) -> PublishedScreener {
        PublishedScreener::new(
            self.store.clone(),
            Arc::clone(&self.clock) as Arc<dyn Clock>,
            Threshold::default(),
            Duration::from_secs(300),
        )
    }
}

/// The OFAC fixture without its last `keep_out` entries, in the same format.
fn ofac_without_last(keep_out: usize) -> Vec<u8> {
    let text = String::from_utf8(fixture(ListId::OfacSdn)).unwrap();
    let starts: Vec<usize> = text.match_indices("<sdnEntry>").map(|(at, _)| at).collect();
    let cut = starts[starts.len() - keep_out];
    let end = text.rfind("</sdnEntry>").unwrap() + "</sdnEntry>".len();
    format!("{}{}", &text[..cut], &text[end..]).into_bytes()
}

fn person(name: &str) -> ScreeningSubject {
    ScreeningSubject { name: name.into(), date_of_birth: None, nationality: None }
}

#[tokio::test]
async fn a_good_refresh_publishes_an_index_the_screener_loads_and_the_same_lists_publish_nothing() {
    let harness = Harness::new().await;

    let pointer = harness.published().await;

    assert!(pointer.version.starts_with("20261202T060000Z-"), "{}", pointer.version);
    assert_eq!(pointer.entries.get("ofac_sdn"), Some(&18));
    assert_eq!(pointer.entries.get("un_consolidated"), Some(&14));
    assert_eq!(harness.store.current().await.unwrap(), Some(pointer.clone()));
    let screening = harness.screener().screen(&person("Hans-Jürgen Müller")).await.unwrap();
    assert_eq!(screening.index_version, pointer.version);
    assert!(!screening.matches.is_empty(), "a listed name hits");
    harness.clock.advance(time::Duration::days(1));
    assert_eq!(harness.refresh().await.unwrap(), Publication::Unchanged(pointer));
}

#[tokio::test]
async fn a_broken_or_unreachable_list_keeps_the_index_in_service() {
    let harness = Harness::new().await;
    let pointer = harness.published().await;
    harness.clock.advance(time::Duration::days(1));

    harness.serve("sdn.xml", StatusCode::OK, b"<html><body>Service maintenance</body></html>".to_vec());
    let broken = harness.refresh().await;
    harness.serve("sdn.xml", StatusCode::OK, fixture(ListId::OfacSdn)[..2_000].to_vec());
    let truncated = harness.refresh().await;
    harness.serve("sdn.xml", StatusCode::SERVICE_UNAVAILABLE, Vec::new());
    let unreachable = harness.refresh().await;

    assert!(matches!(broken, Err(UpdateError::Parse { list: ListId::OfacSdn, .. })), "{broken:?}");
    assert!(matches!(truncated, Err(UpdateError::Parse { list: ListId::OfacSdn, .. })), "{truncated:?}");
    assert!(
        matches!(unreachable, Err(UpdateError::Download { list: ListId::OfacSdn, .. })),
        "{unreachable:?}"
    );
    assert_eq!(harness.store.current().await.unwrap(), Some(pointer));
}

#[tokio::test]
async fn a_list_that_shrank_too_much_is_refused_and_a_small_change_is_published() {
    let harness = Harness::new().await;
    let first = harness.published().await;
    harness.clock.advance(time::Duration::days(1));

    harness.serve("sdn.xml", StatusCode::OK, ofac_without_last(4));
    let shrunk = harness.refresh().await;
    assert!(
        matches!(
            shrunk,
            Err(UpdateError::Refused(RefreshRefused::Shrank {
                list: ListId::OfacSdn,
                previous: 18,
                next: 14,
                ..
            }))
        ),
        "{shrunk:?}"
    );
    assert_eq!(harness.store.current().await.unwrap(), Some(first.clone()));

    harness.serve("sdn.xml", StatusCode::OK, ofac_without_last(1));
    let second = harness.published().await;
    assert_eq!(second.entries.get("ofac_sdn"), Some(&17));
    assert_eq!(second.previous_object_key.as_ref(), Some(&first.object_key));
}

#[tokio::test]
async fn each_publication_keeps_the_object_it_replaced_and_deletes_the_one_before() {
    let harness = Harness::new().await;
    let first = harness.published().await;
    harness.clock.advance(time::Duration::days(1));
    harness.serve("sdn.xml", StatusCode::OK, ofac_without_last(1));
    let second = harness.published().await;
    harness.clock.advance(time::Duration::days(1));
    harness.serve("sdn.xml", StatusCode::OK, ofac_without_last(2));

    let third = harness.published().await;

    assert_eq!(third.previous_object_key.as_ref(), Some(&second.object_key));
    assert!(harness.blobs.head(&second.object_key).await.unwrap().is_some(), "the replaced index stays");
    assert!(harness.blobs.head(&first.object_key).await.unwrap().is_none(), "the one before is deleted");
}

#[tokio::test]
async fn of_two_refreshes_from_the_same_pointer_only_one_publishes() {
    let harness = Harness::new().await;
    let first = harness.published().await;
    let index =
        kyc_screening::index::Index::build(ListId::OfacSdn.source().parse(&ofac_without_last(1)).unwrap());
    let other =
        kyc_screening::index::Index::build(ListId::OfacSdn.source().parse(&ofac_without_last(2)).unwrap());
    let at = Timestamp::from_datetime(harness.clock.now());

    let (a, b) = tokio::join!(
        harness.store.publish(&index, Some(&first), at),
        harness.store.publish(&other, Some(&first), at.plus_seconds(1)),
    );

    let won = [&a, &b].iter().filter(|r| matches!(r, Ok(Publication::New(_)))).count();
    assert_eq!(won, 1, "{a:?} / {b:?}");
    let current = harness.store.current().await.unwrap().unwrap();
    let loser = if a.is_ok() { &b } else { &a };
    assert!(
        matches!(loser, Err(kyc_screening::store::StoreFailure::Raced(version)) if *version == current.version),
        "{loser:?}"
    );
}

#[tokio::test]
async fn the_screener_follows_the_pointer_once_per_interval_and_keeps_its_index_when_a_new_one_is_unreadable()
{
    let harness = Harness::new().await;
    let screener = harness.screener();
    let none = screener.screen(&person("Hans-Jürgen Müller")).await;
    assert!(none.is_err(), "nothing published yet: screening is unavailable");

    let first = harness.published().await;
    assert_eq!(screener.screen(&person("Anyone")).await.unwrap().index_version, first.version);
    harness.clock.advance(time::Duration::minutes(1));
    harness.serve("sdn.xml", StatusCode::OK, ofac_without_last(1));
    let second = harness.published().await;

    assert_eq!(
        screener.screen(&person("Anyone")).await.unwrap().index_version,
        first.version,
        "within the interval the loaded index serves"
    );
    harness.clock.advance(time::Duration::minutes(5));
    assert_eq!(screener.screen(&person("Anyone")).await.unwrap().index_version, second.version);

    harness.clock.advance(time::Duration::minutes(1));
    harness.serve("sdn.xml", StatusCode::OK, ofac_without_last(2));
    let third = harness.published().await;
    harness
        .blobs
        .put(&third.object_key, b"{\"version\":1,\"entries\":[]}".to_vec(), "application/json")
        .await
        .unwrap();
    harness.clock.advance(time::Duration::minutes(6));
    assert_eq!(
        screener.screen(&person("Anyone")).await.unwrap().index_version,
        second.version,
        "an object that does not match its digest is not loaded"
    );
}
