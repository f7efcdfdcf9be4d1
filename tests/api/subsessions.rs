use crate::helpers::{TestApp, BASE_URL};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;

fn ubo_workflow() -> Value {
    json!({"name": "UBO Verification", "review_required": false, "steps": [
        {"step_id": "ubo_details", "name": "Owner", "type": "form_fill", "custom_fields": [
            {"field_id": "full_name", "name": "Full name", "type": "text", "required": true}]}
    ]})
}

/// A parent session whose `ubos` step collects 1 to `max` owners; returns (session, token).
async fn parent(app: &TestApp, max: u32, require_completion: bool) -> (String, String) {
    let ubo = app.create_workflow(ubo_workflow()).await;
    let workflow = json!({"name": "KYB", "steps": [
        {"step_id": "company", "name": "Company", "type": "form_fill", "required": false, "custom_fields": [
            {"field_id": "legal_name", "name": "Legal name", "type": "text"}]},
        {"step_id": "ubos", "name": "Owners", "type": "subsession_collection", "subsession_config": {
            "workflow_id": ubo, "tag": "ubo", "category": "ubo", "min_required": 1, "max_allowed": max,
            "require_completion_before_proceed": require_completion}}
    ]});
    app.create_session(&app.create_workflow(workflow).await).await
}

async fn create(app: &TestApp, token: &str, label: &str) -> crate::helpers::Reply {
    app.public_post(
        &format!("/public/sessions/{token}/subsessions"),
        json!({"step_id": "ubos", "label": label}),
    )
    .await
}

fn token_of(link: &Value) -> String {
    let link = link.as_str().unwrap();
    link.strip_prefix(&format!("{BASE_URL}/public/sessions/")).expect("a public link").to_owned()
}

async fn list(app: &TestApp, token: &str) -> Value {
    let reply = app.get(&format!("/public/sessions/{token}/subsessions")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.data().clone()
}

#[tokio::test]
async fn creating_a_subsession_returns_a_link_that_opens_the_related_partys_own_session() {
    let app = TestApp::spawn().await;
    let (_, token) = parent(&app, 5, false).await;

    let reply = create(&app, &token, "Juan Garcia - UBO").await;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let data = reply.data();
    assert_eq!(data["label"], "Juan Garcia - UBO");
    assert_eq!(data["workflow_name"], "UBO Verification");
    assert!(data["created_at"].is_string());
    let parent_state = app.state(&token).await;
    assert!(data["expires_at"].as_i64().unwrap() <= parent_state["expires_at"].as_i64().unwrap());
    let child = app.state(&token_of(&data["access_link"])).await;
    assert_eq!(child["session_id"], data["subsession_id"]);
    assert_eq!(child["workflow_name"], "UBO Verification");
}

#[tokio::test]
async fn only_collection_steps_take_subsessions_and_labels_are_required() {
    let app = TestApp::spawn().await;
    let (_, token) = parent(&app, 5, false).await;
    let path = format!("/public/sessions/{token}/subsessions");

    for step in ["company", "nope"] {
        app.public_post(&path, json!({"step_id": step, "label": "x"})).await.assert_error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            &format!("Subsession collection step {step} not found"),
        );
    }
    app.public_post(&path, json!({"step_id": "ubos", "label": " "})).await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "label must be 1 to 200 characters",
    );
}

#[tokio::test]
async fn the_maximum_holds() {
    let app = TestApp::spawn().await;
    let (_, token) = parent(&app, 2, false).await;
    create(&app, &token, "A").await;
    create(&app, &token, "B").await;

    create(&app, &token, "C").await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "Maximum number of subsessions (2) reached",
    );
}

#[tokio::test]
async fn twenty_concurrent_creates_with_a_maximum_of_five_create_exactly_five() {
    let app = Arc::new(TestApp::spawn().await);
    let (_, token) = parent(&app, 5, false).await;

    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move { create(&app, &token, &format!("Owner {i}")).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            StatusCode::CREATED => created += 1,
            _ => reply.assert_error(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                "Maximum number of subsessions (5) reached",
            ),
        }
    }

    assert_eq!(created, 5);
    assert_eq!(list(&app, &token).await["total"], 5);
}

#[tokio::test]
async fn the_list_counts_children_and_follows_their_progress() {
    let app = TestApp::spawn().await;
    let (_, token) = parent(&app, 5, false).await;
    let done = create(&app, &token, "Juan Garcia - UBO").await.data().clone();
    create(&app, &token, "Maria Lopez - UBO").await;

    let child = token_of(&done["access_link"]);
    let finished =
        app.complete_step(&child, "ubo_details", json!({"form_data": {"full_name": "Juan Garcia"}})).await;
    let listing = list(&app, &token).await;

    assert_eq!(finished.data()["session_completed"], true, "{}", finished.body);
    assert_eq!(
        (listing["total"].clone(), listing["completed"].clone(), listing["pending"].clone()),
        (json!(2), json!(1), json!(1))
    );
    assert_eq!((listing["min_required"].clone(), listing["max_allowed"].clone()), (json!(1), json!(5)));
    assert_eq!((listing["can_proceed"].clone(), listing["category"].clone()), (json!(true), json!("ubo")));
    let first = &listing["subsessions"][0];
    assert_eq!(first["subsession_id"], done["subsession_id"]);
    assert_eq!(first["status"], "approved");
    assert_eq!(first["tag"], "ubo");
    assert!(first["completed_at"].is_string());
    assert!(first["workflow_id"].as_str().unwrap().starts_with("wf_"));
    assert_eq!(listing["subsessions"][1]["status"], "active");
    assert!(listing["subsessions"][1].get("completed_at").is_none());
    let filtered = app.get(&format!("/public/sessions/{token}/subsessions?step_id=ubos")).await;
    assert_eq!(filtered.data()["total"], 2);
    app.get(&format!("/public/sessions/{token}/subsessions?step_id=company")).await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "Subsession collection step company not found",
    );
}

#[tokio::test]
async fn regenerating_a_link_kills_the_old_one_at_once() {
    let app = TestApp::spawn().await;
    let (_, token) = parent(&app, 5, false).await;
    let created = create(&app, &token, "A").await.data().clone();
    let old = token_of(&created["access_link"]);
    app.state(&old).await; // warm the token cache with the old link

    let reply = app
        .public_post(
            &format!(
                "/public/sessions/{token}/subsessions/{}/regenerate",
                created["subsession_id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.data()["subsession_id"], created["subsession_id"]);
    let new = token_of(&reply.data()["access_link"]);
    assert_ne!(new, old);
    let listed = app.get(&format!("/public/sessions/{token}/subsessions")).await;
    assert_eq!(
        listed.data()["subsessions"][0]["access_link"],
        reply.data()["access_link"],
        "the listing shows the new link"
    );
    app.get(&format!("/public/sessions/{old}")).await.assert_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Session not found or expired",
    );
    assert_eq!(app.state(&new).await["session_id"], created["subsession_id"]);
}

#[tokio::test]
async fn deleting_an_unfinished_subsession_kills_its_link_and_drops_the_count() {
    let app = TestApp::spawn().await;
    let (_, token) = parent(&app, 5, false).await;
    let keep = create(&app, &token, "Keep").await.data().clone();
    let drop = create(&app, &token, "Drop").await.data().clone();
    let drop_id = drop["subsession_id"].as_str().unwrap();

    let reply = app
        .call(Method::DELETE, &format!("/public/sessions/{token}/subsessions/{drop_id}"), None, None)
        .await;

    assert_eq!(reply.data(), &json!({"subsession_id": drop_id, "deleted": true}));
    app.get(&format!("/public/sessions/{}", token_of(&drop["access_link"]))).await.assert_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Session not found or expired",
    );
    let listing = list(&app, &token).await;
    assert_eq!(listing["total"], 1);
    assert_eq!(listing["subsessions"][0]["subsession_id"], keep["subsession_id"]);
    app.call(Method::DELETE, &format!("/public/sessions/{token}/subsessions/{drop_id}"), None, None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Subsession not found");
}

#[tokio::test]
async fn a_completed_subsession_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let (_, token) = parent(&app, 5, false).await;
    let created = create(&app, &token, "Done").await.data().clone();
    app.complete_step(
        &token_of(&created["access_link"]),
        "ubo_details",
        json!({"form_data": {"full_name": "X"}}),
    )
    .await;

    let id = created["subsession_id"].as_str().unwrap();
    app.call(Method::DELETE, &format!("/public/sessions/{token}/subsessions/{id}"), None, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN", "A subsession that is approved cannot be deleted");
}

#[tokio::test]
async fn the_collection_step_completes_only_when_enough_subsessions_exist() {
    let app = TestApp::spawn().await;
    let (_, token) = parent(&app, 5, false).await;

    let empty = app.complete_step(&token, "ubos", json!({})).await;
    create(&app, &token, "Pending owner").await;
    let with_pending = app.complete_step(&token, "ubos", json!({})).await;

    empty.assert_error(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "At least 1 subsessions are required; create 1 more",
    );
    assert_eq!(with_pending.status, StatusCode::OK, "{}", with_pending.body);
    assert_eq!(with_pending.data()["session_completed"], true);
}

#[tokio::test]
async fn requiring_completion_waits_for_every_child() {
    let app = TestApp::spawn().await;
    let (_, token) = parent(&app, 5, true).await;
    let created = create(&app, &token, "Owner").await.data().clone();

    let waiting = app.complete_step(&token, "ubos", json!({})).await;
    let before = list(&app, &token).await["can_proceed"].clone();
    app.complete_step(
        &token_of(&created["access_link"]),
        "ubo_details",
        json!({"form_data": {"full_name": "X"}}),
    )
    .await;
    let after = list(&app, &token).await["can_proceed"].clone();
    let done = app.complete_step(&token, "ubos", json!({})).await;

    waiting.assert_error(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "1 subsessions must be completed before you can proceed",
    );
    assert_eq!((before, after), (json!(false), json!(true)));
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
}

#[tokio::test]
async fn a_child_token_reaches_only_the_child_and_the_parent_token_only_the_parent() {
    let app = TestApp::spawn().await;
    let (_, token) = parent(&app, 5, false).await;
    let first = create(&app, &token, "First").await.data().clone();
    let second = create(&app, &token, "Second").await.data().clone();
    let child = token_of(&first["access_link"]);
    let sibling = second["subsession_id"].as_str().unwrap();
    let own = first["subsession_id"].as_str().unwrap();

    let none = app.get(&format!("/public/sessions/{child}/subsessions")).await;
    assert_eq!((none.data()["total"].clone(), none.data()["subsessions"].clone()), (json!(0), json!([])));
    for id in [sibling, own] {
        app.public_post(&format!("/public/sessions/{child}/subsessions/{id}/regenerate"), json!({}))
            .await
            .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Subsession not found");
        app.call(Method::DELETE, &format!("/public/sessions/{child}/subsessions/{id}"), None, None)
            .await
            .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Subsession not found");
    }
    app.complete_step(&token, "ubo_details", json!({"form_data": {"full_name": "X"}})).await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "Step not found",
    );
}

#[tokio::test]
async fn the_tenant_sees_children_on_the_parent_and_the_parent_on_each_child() {
    let app = TestApp::spawn().await;
    let (parent_id, token) = parent(&app, 5, false).await;
    let created = create(&app, &token, "Owner").await.data().clone();
    let child_id = created["subsession_id"].as_str().unwrap();

    let parent_view = app.tenant_view(&parent_id).await;
    let child_view = app.tenant_view(child_id).await;

    assert_eq!(parent_view["subsessions"][0]["subsession_id"], child_id);
    assert_eq!(parent_view["subsessions"][0]["status"], "active");
    assert_eq!(child_view["parent"], json!({"session_id": parent_id, "step_id": "ubos"}));
}

#[tokio::test]
async fn a_collection_step_must_name_an_existing_workflow() {
    let app = TestApp::spawn().await;
    let workflow = json!({"name": "KYB", "steps": [
        {"step_id": "ubos", "name": "Owners", "type": "subsession_collection",
         "subsession_config": {"workflow_id": "wf_missing", "max_allowed": 2}}
    ]});

    app.tenant_post("/v1/workflows", workflow).await.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "step 'ubos': subsession_config.workflow_id 'wf_missing' does not name one of your workflows",
    );
}

#[tokio::test]
async fn the_listing_shows_each_subsessions_working_link_and_spans_every_collection_step() {
    let app = TestApp::spawn().await;
    let child_workflow = app
        .create_workflow(
            json!({"name": "Party", "steps": [{"step_id": "about", "name": "About", "type": "form_fill",
            "custom_fields": [{"field_id": "n", "name": "N", "type": "text"}]}]}),
        )
        .await;
    let collection = |id: &str| {
        json!({"step_id": id, "name": id, "type": "subsession_collection", "required": false,
               "subsession_config": {"workflow_id": child_workflow, "max_allowed": 3, "tag": id}})
    };
    let workflow = app
        .create_workflow(json!({"name": "Two", "steps": [collection("ubos"), collection("directors")]}))
        .await;
    let (_, token) = app.create_session(&workflow).await;
    let ubo = app
        .public_post(
            &format!("/public/sessions/{token}/subsessions"),
            json!({"step_id": "ubos", "label": "Owner"}),
        )
        .await;
    let director = app
        .public_post(
            &format!("/public/sessions/{token}/subsessions"),
            json!({"step_id": "directors", "label": "Director"}),
        )
        .await;

    let all = app.get(&format!("/public/sessions/{token}/subsessions")).await;
    let one = app.get(&format!("/public/sessions/{token}/subsessions?step_id=directors")).await;

    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!((all.data()["total"].clone(), all.data()["max_allowed"].clone()), (json!(2), json!(6)));
    let links: Vec<Value> =
        all.data()["subsessions"].as_array().unwrap().iter().map(|s| s["access_link"].clone()).collect();
    assert_eq!(links, [ubo.data()["access_link"].clone(), director.data()["access_link"].clone()]);
    assert_eq!(app.state(&token_of(&links[1])).await["session_id"], director.data()["subsession_id"]);
    assert_eq!(one.data()["total"], 1);
    assert_eq!(one.data()["category"], "directors");
    assert!(
        !String::from_utf8_lossy(&app.stored_bytes()).contains(&token_of(&links[0])),
        "links are never stored"
    );
}

#[tokio::test]
async fn regenerating_and_deleting_are_recorded_in_the_subsessions_own_trail() {
    let app = TestApp::spawn().await;
    let (_, token) = parent(&app, 5, false).await;
    let created = create(&app, &token, "A").await.data().clone();
    let id = created["subsession_id"].as_str().unwrap().to_owned();

    app.public_post(&format!("/public/sessions/{token}/subsessions/{id}/regenerate"), json!({})).await;
    app.call(Method::DELETE, &format!("/public/sessions/{token}/subsessions/{id}"), None, None).await;

    let view = app.tenant_view(&id).await;
    let actions: Vec<(String, String)> = view["audit_trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_owned(), e["to_status"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        actions,
        [
            ("subsession_link_regenerated".to_owned(), "active".to_owned()),
            ("subsession_deleted".to_owned(), "canceled".to_owned())
        ]
    );
    assert_eq!(view["status"], "canceled");
}

#[tokio::test]
async fn participants_declared_at_creation_get_their_sessions_and_links_in_the_same_transaction() {
    let app = TestApp::spawn().await;
    let ubo = app.create_workflow(ubo_workflow()).await;
    let workflow = app
        .create_workflow(json!({"name": "KYB", "steps": [
            {"step_id": "ubos", "name": "Owners", "type": "subsession_collection",
             "subsession_config": {"workflow_id": ubo, "tag": "ubo", "max_allowed": 2}}
        ]}))
        .await;
    let sessions_before = app.tenant_get("/v1/sessions").await.data()["sessions"].as_array().unwrap().len();

    let created = app
        .tenant_post(
            "/v1/sessions",
            json!({"workflow_id": workflow, "participants": [
                {"role": "ubo", "display_name": "Jane Roe", "email": "jane@example.com"},
                {"role": "ubos", "display_name": "John Roe"}
            ]}),
        )
        .await;
    let too_many = app
        .tenant_post(
            "/v1/sessions",
            json!({"workflow_id": workflow, "participants": [
                {"role": "ubo", "display_name": "A"}, {"role": "ubo", "display_name": "B"}, {"role": "ubo", "display_name": "C"}
            ]}),
        )
        .await;
    let unknown_role = app
        .tenant_post(
            "/v1/sessions",
            json!({"workflow_id": workflow, "participants": [{"role": "cfo", "display_name": "A"}]}),
        )
        .await;

    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let participants = created.data()["participants"].as_array().unwrap().clone();
    assert_eq!(participants.len(), 2);
    assert_eq!(participants[0]["display_name"], "Jane Roe");
    let child = app.state(&token_of(&participants[0]["access_link"])).await;
    assert_eq!(child["session_id"], participants[0]["subsession_id"]);
    let token = created.data()["access_token"].as_str().unwrap();
    let listed = app.get(&format!("/public/sessions/{token}/subsessions")).await;
    assert_eq!(listed.data()["total"], 2);
    too_many.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "participants[2]: step 'ubos' takes at most 2 related parties",
    );
    unknown_role.assert_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "participants[0]: role 'cfo' names no related-party step of this workflow",
    );
    // One parent and its two children were created; the refused requests created nothing.
    let sessions_after = app.tenant_get("/v1/sessions").await.data()["sessions"].as_array().unwrap().len();
    assert_eq!(sessions_after, sessions_before + 3);
}
