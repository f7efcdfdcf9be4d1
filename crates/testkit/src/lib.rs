//! Shared test support for the KYC backend.
//!
//! - [`table_conformance`] and [`table_conformance_tests!`]: one suite of tests every
//!   [`Table`](kyc_core::ports::Table) adapter must pass (SQLite now, DynamoDB later).
//! - [`blobs_conformance`] and [`blobs_conformance_tests!`]: the same for every
//!   [`Blobs`](kyc_core::ports::Blobs) adapter (filesystem, S3), presigned URLs included.
//! - [`CountingTable`]: a `Table` wrapper that counts round trips, to pin down how many requests a
//!   service makes.
//! - [`ManualClock`]: a [`Clock`](kyc_core::ports::Clock) that only moves when told to.
//! - [`png`]: an image header the upload checks accept.
//! - [`emulator`]: finding the AWS emulator `make test` runs, and a plain HTTP client for
//!   presigned URLs.

#![warn(missing_docs)]

pub use captured::Captured;
pub use counting::{CountingTable, RoundTrips};
pub use counting_extractor::CountingExtractor;
pub use failing_blobs::FailingBlobs;
pub use failing_table::FailingTable;
pub use file_server::FileServer;
pub use fixtures::png;
pub use manual_clock::ManualClock;
pub use router_call::call_json;
pub use scripted_liveness::ScriptedLiveness;
pub use scripted_webhooks::ScriptedWebhooks;

/// Expands to the whole [`table_conformance`] suite as `#[tokio::test]`s.
///
/// `$make` is an async expression (an `async { .. }` block or a call to an `async fn`) that
/// evaluates to an `Arc<dyn Table>`, or to anything that coerces to one. It is evaluated once per
/// test and must yield a fresh, empty table each time.
///
/// The calling crate needs `tokio` (with the `macros` and `rt-multi-thread` features) among its
/// (dev-)dependencies, because `#[tokio::test]` refers to it.
///
/// ```ignore
/// kyc_testkit::table_conformance_tests!(async { Arc::new(MyTable::new_empty().await) });
/// ```
///
/// For a table that needs an external service (an emulator), write `optional: $make` instead,
/// where `$make` evaluates to an `Option<Arc<dyn Table>>`: each test returns early, passing, when
/// it is `None`. The caller decides when skipping is allowed (and panics otherwise).
///
/// ```ignore
/// kyc_testkit::table_conformance_tests!(optional: async { emulated_table_or_skip().await });
/// ```
#[macro_export]
macro_rules! table_conformance_tests {
    (@tests $make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let table: ::std::sync::Arc<dyn $crate::table_conformance::Table> = $make.await;
                $crate::table_conformance::$name(table).await;
            }
        )+
    };
    (@optional_tests $make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let table: ::std::option::Option<::std::sync::Arc<dyn $crate::table_conformance::Table>> =
                    $make.await;
                if let ::std::option::Option::Some(table) = table {
                    $crate::table_conformance::$name(table).await;
                }
            }
        )+
    };
    (optional: $make:expr $(,)?) => {
        $crate::table_conformance_tests! { @list optional_tests $make }
    };
    (@list $kind:ident $make:expr) => {
        $crate::table_conformance_tests! { @$kind $make;
            a_missing_item_reads_as_none,
            a_put_item_reads_back_with_every_attribute_type,
            a_put_replaces_the_whole_item,
            a_put_without_string_key_attributes_is_invalid,
            the_ttl_attribute_round_trips,
            a_put_with_item_absent_succeeds_when_the_item_is_missing,
            a_put_with_item_absent_fails_when_the_item_exists,
            a_put_with_item_exists_fails_when_the_item_is_missing,
            a_put_with_item_exists_succeeds_when_the_item_exists,
            a_put_with_version_is_succeeds_on_the_matching_version,
            a_put_with_version_is_fails_on_another_version_and_leaves_the_item_unchanged,
            a_put_with_version_is_fails_when_the_item_or_its_version_is_missing,
            a_put_with_attr_equals_succeeds_when_the_attribute_matches,
            a_put_with_attr_equals_fails_on_another_value_type_or_a_missing_attribute,
            a_put_with_attr_less_than_holds_only_below_the_bound,
            a_put_with_any_of_holds_when_any_branch_holds,
            an_expired_item_is_replaceable_as_if_it_were_absent,
            an_update_sets_removes_and_adds_attributes,
            an_update_creates_a_missing_item_with_its_key,
            an_update_with_item_exists_does_not_create_a_missing_item,
            an_update_with_item_absent_fails_when_the_item_exists,
            an_update_with_version_is_applies_on_the_matching_version,
            an_update_with_version_is_fails_on_another_version_and_changes_nothing,
            an_update_with_attr_equals_applies_only_when_the_attribute_matches,
            an_update_that_changes_a_key_attribute_is_invalid,
            a_delete_removes_the_item,
            a_delete_of_a_missing_item_succeeds_without_a_condition,
            a_delete_with_item_exists_fails_when_the_item_is_missing,
            a_delete_with_version_is_keeps_the_item_on_another_version,
            a_delete_with_attr_equals_deletes_only_when_the_attribute_matches,
            a_transaction_applies_puts_updates_and_deletes_together,
            a_transaction_with_one_failing_condition_writes_nothing_and_names_the_op,
            a_transaction_names_the_first_failing_op_when_several_fail,
            a_transaction_check_action_writes_nothing_but_gates_the_others,
            a_transaction_of_100_actions_succeeds,
            a_transaction_of_more_than_100_actions_is_invalid_and_writes_nothing,
            a_transaction_acting_twice_on_one_key_is_invalid_and_writes_nothing,
            an_empty_transaction_is_invalid,
            a_query_returns_only_its_partition_in_ascending_sort_key_order,
            a_descending_query_returns_the_partition_in_reverse_sort_key_order,
            a_query_with_a_sort_key_prefix_returns_only_matching_items,
            a_query_of_an_empty_partition_returns_nothing_and_no_cursor,
            a_query_without_a_limit_returns_every_item_and_no_cursor,
            a_limited_query_pages_through_every_item_exactly_once,
            a_limited_descending_query_pages_through_every_item_exactly_once,
            a_limited_prefix_query_pages_within_the_prefix,
            a_malformed_cursor_is_invalid,
            a_gsi1_query_returns_its_partition_in_gsi1sk_order_with_a_prefix,
            a_limited_gsi1_query_pages_through_every_item_exactly_once,
            a_between_query_reads_an_inclusive_sort_key_range,
            gsi2_indexes_only_items_with_its_own_keys,
            items_without_both_gsi1_keys_are_absent_from_the_index,
            changing_or_removing_gsi1_keys_moves_the_item_in_the_index,
            racing_version_is_puts_let_exactly_one_writer_win,
            racing_version_is_updates_let_exactly_one_writer_win,
            racing_item_absent_puts_let_exactly_one_writer_win,
            racing_puts_on_an_expired_item_let_exactly_one_writer_win,
            concurrent_adds_lose_no_increment,
        }
    };
    ($make:expr $(,)?) => {
        $crate::table_conformance_tests! { @list tests $make }
    };
}

/// Expands to the whole [`blobs_conformance`] suite as `#[tokio::test]`s.
///
/// `$make` is an async expression that evaluates to a
/// [`BlobsUnderTest`](crate::blobs_conformance::BlobsUnderTest): a fresh, empty store and a
/// [`UrlClient`](crate::blobs_conformance::UrlClient) that sends HTTP requests to its presigned
/// URLs. It is evaluated once per test.
///
/// The calling crate needs `tokio` (with the `macros` and `rt-multi-thread` features) among its
/// (dev-)dependencies, because `#[tokio::test]` refers to it.
///
/// ```ignore
/// kyc_testkit::blobs_conformance_tests!(async { BlobsUnderTest { blobs, urls } });
/// ```
///
/// For a store that needs an external service (an emulator), write `optional: $make` instead,
/// where `$make` evaluates to an `Option<BlobsUnderTest>`: each test returns early, passing, when
/// it is `None`. The caller decides when skipping is allowed (and panics otherwise).
#[macro_export]
macro_rules! blobs_conformance_tests {
    (@tests $make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store: $crate::blobs_conformance::BlobsUnderTest = $make.await;
                $crate::blobs_conformance::$name(store).await;
            }
        )+
    };
    (@optional_tests $make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store: ::std::option::Option<$crate::blobs_conformance::BlobsUnderTest> = $make.await;
                if let ::std::option::Option::Some(store) = store {
                    $crate::blobs_conformance::$name(store).await;
                }
            }
        )+
    };
    (optional: $make:expr $(,)?) => {
        $crate::blobs_conformance_tests! { @list optional_tests $make }
    };
    (@list $kind:ident $make:expr) => {
        $crate::blobs_conformance_tests! { @$kind $make;
            a_missing_object_heads_as_none,
            a_put_object_heads_with_its_size_and_content_type,
            a_put_replaces_the_object_and_its_content_type,
            keys_sharing_a_prefix_are_separate_objects,
            read_prefix_returns_at_most_len_bytes_from_the_start,
            an_empty_object_reads_and_hashes_as_empty,
            sha256_is_the_hex_digest_of_the_whole_object,
            reading_a_missing_object_fails,
            a_deleted_object_heads_as_none,
            deleting_a_missing_object_succeeds,
            a_copy_has_the_bytes_and_content_type_of_its_source,
            a_copy_outlives_changes_to_its_source,
            copying_a_missing_object_fails,
            a_presigned_put_with_the_granted_content_type_stores_the_object,
            a_presigned_put_may_replace_its_own_upload,
            a_put_after_a_copy_does_not_reach_the_copy,
            a_presigned_put_with_a_declared_size_refuses_any_other_size,
            a_presigned_put_with_another_content_type_is_refused,
            an_expired_presigned_put_is_refused,
            a_tampered_presigned_put_is_refused,
            a_presigned_put_url_cannot_be_moved_to_another_key,
            a_presigned_get_returns_the_object,
            a_presigned_get_of_a_missing_object_is_refused,
            an_expired_presigned_get_is_refused,
            a_tampered_presigned_get_is_refused,
            a_presigned_url_is_bound_to_its_method,
        }
    };
    ($make:expr $(,)?) => {
        $crate::blobs_conformance_tests! { @list tests $make }
    };
}

pub mod blobs_conformance;
pub mod emulator;
pub mod table_conformance;

mod captured;
mod counting;
mod counting_extractor;
mod failing_blobs;
mod failing_table;
mod file_server;
mod fixtures;

mod manual_clock;
mod router_call;
mod scripted_liveness;
mod scripted_webhooks;
