//! API keys as a resource of the tenant API, through the router, on SQLite and on DynamoDB (the
//! emulator `make test` runs): every scenario below runs on both stores.

use crate::helpers::TestApp;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use time::Duration;

on_both_stores!(
    a_created_key_shows_its_secret_once_and_opens_the_api,
    the_listing_shows_the_callers_mode_without_secrets,
    a_revoked_key_is_refused_by_the_next_request_on_a_warm_process,
    the_last_active_key_cannot_be_revoked,
    two_concurrent_revocations_of_the_last_two_keys_leave_one,
    of_two_authenticated_concurrent_revocations_exactly_one_wins_the_count,
    a_rolled_key_keeps_both_secrets_valid_for_the_grace_period_only,
    a_grace_period_longer_than_seven_days_is_refused,
    last_used_at_is_written_at_most_once_a_minute,
);

impl TestApp {
    async fn create_key(&self, with: &str, name: &str) -> Value {
        let reply = self.call(Method::POST, "/v1/api_keys", Some(with), Some(json!({ "name": name }))).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["data"].clone()
    }

    async fn list_keys(&self, with: &str) -> Vec<Value> {
        let reply = self.call(Method::GET, "/v1/api_keys", Some(with), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["data"]["api_keys"].as_array().expect("api_keys").clone()
    }

    async fn revoke_key(&self, with: &str, id: &str) -> crate::helpers::Reply {
        self.call(Method::DELETE, &format!("/v1/api_keys/{id}"), Some(with), None).await
    }

    /// The id of the key whose secret is `secret`, as the caller's listing shows it.
    async fn key_id_of(&self, secret: &str) -> String {
        let keys = self.list_keys(secret).await;
        let key =
            keys.iter().find(|k| secret.starts_with(k["prefix"].as_str().unwrap().trim_end_matches('…')));
        key.expect("the caller's own key is listed")["id"].as_str().unwrap().to_owned()
    }

    async fn can_call(&self, secret: &str) -> StatusCode {
        self.call(Method::GET, "/v1/sessions", Some(secret), None).await.status
    }
}

async fn a_created_key_shows_its_secret_once_and_opens_the_api(app: TestApp) {
    let created = app.create_key(&app.api_key, "CI deploys").await;

    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("sk_test_"), "the mode follows the calling key: {created}");
    assert_eq!(created["name"], "CI deploys");
    assert_eq!(created["status"], "active");
    assert_eq!(app.can_call(secret).await, StatusCode::OK);
    let listed = app.list_keys(&app.api_key).await;
    assert!(listed.iter().all(|k| k.get("secret").is_none()), "a listing never shows a secret");
    assert!(!serde_json::to_string(&listed).unwrap().contains(secret));
}

async fn the_listing_shows_the_callers_mode_without_secrets(app: TestApp) {
    app.create_key(&app.api_key, "second test key").await;
    let tenant = app.services.authenticate(&app.api_key).await.unwrap().tenant_id;
    let live = app.services.create_api_key(&tenant, kyc_core::domain::secrets::Mode::Live).await.unwrap();
    let live = live.secret.expose().to_owned();

    let test_keys = app.list_keys(&app.api_key).await;
    let live_keys = app.list_keys(&live).await;

    assert_eq!(test_keys.len(), 2);
    assert!(test_keys.iter().all(|k| k["mode"] == "test"));
    assert_eq!(live_keys.len(), 1);
    assert_eq!(live_keys[0]["mode"], "live");
    let first = &test_keys[0];
    for field in ["id", "prefix", "created_at", "status"] {
        assert!(first.get(field).is_some_and(|v| !v.is_null()), "{field} missing: {first}");
    }
    // A key of the other mode is not the caller's to manage.
    let live_id = live_keys[0]["id"].as_str().unwrap();
    app.revoke_key(&app.api_key, live_id).await.assert_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "API key not found",
    );
}

async fn a_revoked_key_is_refused_by_the_next_request_on_a_warm_process(app: TestApp) {
    let spare = app.create_key(&app.api_key, "spare").await;
    let spare_secret = spare["secret"].as_str().unwrap();
    assert_eq!(app.can_call(spare_secret).await, StatusCode::OK, "warm: the key was just used");

    let reply = app.revoke_key(&app.api_key, spare["id"].as_str().unwrap()).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["data"]["status"], "revoked");
    // The documented bound is zero: no clock advance, the very next request is refused.
    assert_eq!(app.can_call(spare_secret).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.can_call(&app.api_key).await, StatusCode::OK);
    assert_eq!(app.list_keys(&app.api_key).await.len(), 1, "a revoked key leaves the listing");
    let again = app.revoke_key(&app.api_key, spare["id"].as_str().unwrap()).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.body);
}

async fn the_last_active_key_cannot_be_revoked(app: TestApp) {
    let own = app.key_id_of(&app.api_key).await;

    let reply = app.revoke_key(&app.api_key, &own).await;

    reply.assert_error_containing(StatusCode::UNPROCESSABLE_ENTITY, "LAST_ACTIVE_KEY", "create another key");
    assert_eq!(app.can_call(&app.api_key).await, StatusCode::OK);
}

async fn two_concurrent_revocations_of_the_last_two_keys_leave_one(app: TestApp) {
    let other = app.create_key(&app.api_key, "other").await;
    let other_secret = other["secret"].as_str().unwrap().to_owned();
    let own = app.key_id_of(&app.api_key).await;
    let other_id = other["id"].as_str().unwrap().to_owned();

    // Each key revokes the other, at the same time.
    let (first, second) =
        tokio::join!(app.revoke_key(&app.api_key, &other_id), app.revoke_key(&other_secret, &own));

    // One revocation wins. The other lost the race on the count (422 LAST_ACTIVE_KEY) or, if the
    // winner finished before it was authenticated, arrived with a revoked key (401).
    let statuses = [first.status, second.status];
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{} / {}",
        first.body,
        second.body
    );
    assert!(
        statuses.iter().all(|s| [StatusCode::OK, StatusCode::UNPROCESSABLE_ENTITY, StatusCode::UNAUTHORIZED]
            .contains(s)),
        "{statuses:?}"
    );
    let still_open = [app.can_call(&app.api_key).await, app.can_call(&other_secret).await];
    assert_eq!(still_open.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{still_open:?}");
}

async fn a_rolled_key_keeps_both_secrets_valid_for_the_grace_period_only(app: TestApp) {
    let old = app.create_key(&app.api_key, "backend").await;
    let old_secret = old["secret"].as_str().unwrap();

    let reply = app
        .call(
            Method::POST,
            &format!("/v1/api_keys/{}/roll", old["id"].as_str().unwrap()),
            Some(&app.api_key),
            Some(json!({ "grace_period_seconds": 3600 })),
        )
        .await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let new_secret = reply.body["data"]["api_key"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(reply.body["data"]["api_key"]["name"], "backend");
    assert_eq!(reply.body["data"]["rolled"]["status"], "rolled");
    assert_ne!(new_secret, old_secret);
    assert_eq!(app.can_call(old_secret).await, StatusCode::OK, "the old secret works during the grace");
    assert_eq!(app.can_call(&new_secret).await, StatusCode::OK);

    app.clock.advance(Duration::seconds(3599));
    assert_eq!(app.can_call(old_secret).await, StatusCode::OK);
    app.clock.advance(Duration::seconds(1));
    assert_eq!(app.can_call(old_secret).await, StatusCode::UNAUTHORIZED, "refused once the grace ends");
    assert_eq!(app.can_call(&new_secret).await, StatusCode::OK);
    assert_eq!(app.list_keys(&app.api_key).await.len(), 2, "the caller's key and the successor");
}

async fn a_grace_period_longer_than_seven_days_is_refused(app: TestApp) {
    let key = app.create_key(&app.api_key, "backend").await;

    let reply = app
        .call(
            Method::POST,
            &format!("/v1/api_keys/{}/roll", key["id"].as_str().unwrap()),
            Some(&app.api_key),
            Some(json!({ "grace_period_seconds": 7 * 24 * 3600 + 1 })),
        )
        .await;

    reply.assert_error_containing(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "7 days");
    assert_eq!(app.can_call(key["secret"].as_str().unwrap()).await, StatusCode::OK);
}

async fn last_used_at_is_written_at_most_once_a_minute(app: TestApp) {
    let key = app.create_key(&app.api_key, "metered").await;
    let secret = key["secret"].as_str().unwrap();
    assert!(key["last_used_at"].is_null(), "never used yet");

    app.table.reset();
    app.can_call(secret).await;
    let first = app.table.counts();
    app.table.reset();
    app.can_call(secret).await;
    let second = app.table.counts();
    app.clock.advance(Duration::seconds(60));
    app.table.reset();
    app.can_call(secret).await;
    let after_a_minute = app.table.counts();

    assert_eq!(first.update, 1, "the first use is recorded: {first:?}");
    assert_eq!(second.update, 0, "a use within the minute writes nothing: {second:?}");
    assert_eq!(after_a_minute.update, 1, "{after_a_minute:?}");
    let listed = app.list_keys(&app.api_key).await;
    let metered = listed.iter().find(|k| k["id"] == key["id"]).unwrap();
    let expected = time::format_description::well_known::Rfc3339;
    let seen = time::OffsetDateTime::parse(metered["last_used_at"].as_str().unwrap(), &expected).unwrap();
    assert_eq!(seen.unix_timestamp(), app.clock_now().unix_timestamp());
}

async fn of_two_authenticated_concurrent_revocations_exactly_one_wins_the_count(app: TestApp) {
    // Both callers are past authentication (as two warm processes would be), so only the
    // active-key count can separate them.
    let other = app.create_key(&app.api_key, "other").await;
    let a = app.services.authenticate(&app.api_key).await.unwrap();
    let b = app.services.authenticate(other["secret"].as_str().unwrap()).await.unwrap();

    let (first, second) = tokio::join!(
        app.services.revoke_api_key(&a, b.key_id.as_str()),
        app.services.revoke_api_key(&b, a.key_id.as_str()),
    );

    let wins = [first.is_ok(), second.is_ok()];
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{first:?} / {second:?}");
    let loser = if first.is_ok() { second } else { first };
    assert!(matches!(loser, Err(kyc_core::Error::WrongState { code: "LAST_ACTIVE_KEY", .. })), "{loser:?}");
}
