//! Our signatures as the reference Standard Webhooks library reads them: real deliveries over HTTP
//! (the production sender) to a receiver on loopback that verifies each with `standardwebhooks`.

use crate::helpers::TestApp;
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;

/// The receiver process; killed when dropped.
struct Receiver {
    child: Child,
    lines: BufReader<ChildStdout>,
    port: u16,
}

impl Receiver {
    fn start() -> Self {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = root.join(".venv/bin/python");
        let has_library = Command::new(&python)
            .args(["-c", "import standardwebhooks"])
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            has_library,
            "the reference library is not installed in .venv: run `make test` (it installs infra/requirements-test.txt)"
        );
        let mut child = Command::new(python)
            .arg(root.join("tests/webhook_receiver.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the receiver");
        let mut lines = BufReader::new(child.stdout.take().unwrap());
        let port = Self::read(&mut lines)["port"].as_u64().unwrap() as u16;
        Self { child, lines, port }
    }

    fn read(lines: &mut BufReader<ChildStdout>) -> Value {
        let mut line = String::new();
        lines.read_line(&mut line).expect("a line from the receiver");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("receiver said {line:?}"))
    }

    fn configure(&mut self, secret: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{secret}").unwrap();
        stdin.flush().unwrap();
    }

    fn next(&mut self) -> Value {
        Self::read(&mut self.lines)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_library_verifies_deliveries_before_and_after_a_rotation() {
    let app = TestApp::spawn_sending_with(Arc::new(kyc_outbound::HttpWebhookSender::new())).await;
    let mut receiver = Receiver::start();
    let url = format!("http://127.0.0.1:{}/webhooks", receiver.port);
    let created =
        app.tenant_post("/v1/webhook_endpoints", json!({"url": url, "events": ["session.completed"]})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let endpoint = created.data()["id"].as_str().unwrap().to_owned();
    // The receiver keeps the first secret: after a rotation it still verifies, by the old signature.
    receiver.configure(created.data()["secret"].as_str().unwrap());
    let workflow = app
        .create_workflow(
            json!({"name": "One", "steps": [{"step_id": "info", "name": "Info", "type": "form_fill",
            "custom_fields": [{"field_id": "n", "name": "N", "type": "text", "required": true}]}]}),
        )
        .await;
    let finish = || async {
        let (_, token) = app.create_session(&workflow).await;
        app.complete_step(&token, "info", json!({"form_data": {"n": "x"}})).await;
        app.services.dispatch_webhooks(10).await.unwrap()
    };

    let first = finish().await;
    let verified = receiver.next();
    app.tenant_post(&format!("/v1/webhook_endpoints/{endpoint}/rotate_secret"), json!({})).await;
    let second = finish().await;
    let verified_after_rotation = receiver.next();

    assert_eq!((first.delivered, second.delivered), (1, 1), "{first:?} {second:?}");
    assert_eq!(verified["verified"], true, "{verified}");
    assert_eq!(verified["type"], "session.completed");
    assert_eq!(verified_after_rotation["verified"], true, "{verified_after_rotation}");
    let log = app.tenant_get(&format!("/v1/webhook_endpoints/{endpoint}/deliveries")).await;
    assert_eq!(log.data()["deliveries"][0]["attempts"][0]["status_code"], 204);
}
