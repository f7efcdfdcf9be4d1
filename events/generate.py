#!/usr/bin/env python3
"""Writes one API Gateway HTTP API (payload v2) event per route into this folder.

Run it after adding a route: `python3 events/generate.py`. The events feed the Lambda-path tests
(crates/runtime/tests/lambda_events.rs) and `cargo lambda invoke <fn> --data-file events/<name>.json`.
"""
import json
import pathlib

TOKEN = "770e8400-e29b-41d4-a716-446655440002"
SESSION = "660e8400-e29b-41d4-a716-446655440001"
API_KEY = "sk_test_" + "0" * 64
HERE = pathlib.Path(__file__).parent


def event(name, method, route, params=None, body=None, query=None, auth=False):
    path = route
    for key, value in (params or {}).items():
        path = path.replace("{" + key + "}", value)
    headers = {
        "accept": "application/json",
        "host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "user-agent": "Mozilla/5.0",
        "x-amzn-trace-id": "Root=1-65f0c0de-0123456789abcdef01234567",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    text = json.dumps(body) if body is not None else None
    if text is not None:
        headers["content-type"] = "application/json"
        headers["content-length"] = str(len(text))
    if auth:
        headers["authorization"] = "Bearer " + API_KEY
    request_id = "req-" + name
    doc = {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": query or "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10",
                     "userAgent": "Mozilla/5.0"},
            "requestId": request_id,
            "routeKey": f"{method} {route}",
            "stage": "$default",
            "time": "26/Nov/2026:10:30:00 +0000",
            "timeEpoch": 1795689000000,
        },
        "isBase64Encoded": False,
    }
    if params:
        doc["pathParameters"] = params
    if query:
        doc["queryStringParameters"] = dict(pair.split("=", 1) for pair in query.split("&"))
    if text is not None:
        doc["body"] = text
    (HERE / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")


T = {"access_token": TOKEN}
event("sessions-get-state", "GET", "/public/sessions/{access_token}", T)
event("sessions-get-workflow", "GET", "/public/sessions/{access_token}/workflow", T)
event("sessions-complete-step", "POST", "/public/sessions/{access_token}/step/{step_id}/complete",
      {**T, "step_id": "personal_info"},
      {"form_data": {"full_name": "John Doe", "date_of_birth": "1985-03-15", "email": "john@example.com"}})
event("uploads-init", "POST", "/public/sessions/{access_token}/upload/init", T,
      {"step_id": "id_document", "document_type": "id", "file_name": "passport.png", "mime_type": "image/png"})
event("uploads-confirm", "POST", "/public/sessions/{access_token}/upload/confirm", T,
      {"doc_id": "doc_abc123", "s3_key": f"ten_demo/{SESSION}/doc_abc123.png", "step_id": "id_document",
       "document_type": "id", "file_name": "passport.png", "mime_type": "image/png"})
legacy = {"step_id": "id_document", "document_type": "id", "file_name": "passport.pdf",
          "mime_type": "application/pdf", "file_data": "JVBERi0xLjQKJSVFT0YK"}
event("uploads-base64", "POST", "/public/sessions/{access_token}/upload", T, legacy)
event("uploads-base64-documents-alias", "POST", "/public/sessions/{access_token}/documents", T, legacy)
event("extract-document", "POST", "/public/sessions/{access_token}/extract", T,
      {"doc_id": "doc_abc123", "document_type": "passport"})
event("liveness-start", "POST", "/public/sessions/{access_token}/liveness/start", T, {"step_id": "liveness"})
event("liveness-complete", "POST", "/public/sessions/{access_token}/liveness/complete", T,
      {"liveness_session_id": "liv_abc123"})
SUB = "880e8400-e29b-41d4-a716-446655440003"
event("subsessions-create", "POST", "/public/sessions/{access_token}/subsessions", T,
      {"step_id": "ubos", "label": "Juan Garcia - UBO", "metadata": {"ownership_percentage": 25}})
event("subsessions-list", "GET", "/public/sessions/{access_token}/subsessions", T, query="step_id=ubos")
event("subsessions-regenerate", "POST", "/public/sessions/{access_token}/subsessions/{subsession_id}/regenerate",
      {**T, "subsession_id": SUB})
event("subsessions-delete", "DELETE", "/public/sessions/{access_token}/subsessions/{subsession_id}",
      {**T, "subsession_id": SUB})
event("tenant-create-workflow", "POST", "/v1/workflows", None,
      {"name": "Basic KYC", "steps": [{"step_id": "info", "name": "Info", "type": "form_fill",
                                       "custom_fields": [{"field_id": "full_name", "name": "Full Name",
                                                          "type": "text", "required": True}]}]}, auth=True)
event("tenant-get-workflow", "GET", "/v1/workflows/{workflow_id}",
      {"workflow_id": "wf_0123456789abcdef0123456789abcdef"}, query="version=1", auth=True)
event("tenant-create-workflow-version", "POST", "/v1/workflows/{workflow_id}/versions",
      {"workflow_id": "wf_0123456789abcdef0123456789abcdef"},
      {"name": "Basic KYC v2", "steps": [{"step_id": "info", "name": "Info", "type": "form_fill",
                                          "custom_fields": [{"field_id": "full_name", "name": "Full Name",
                                                             "type": "text"}]}]}, auth=True)
event("tenant-list-workflows", "GET", "/v1/workflows", None, query="limit=20", auth=True)
event("tenant-update-workflow", "PATCH", "/v1/workflows/{workflow_id}",
      {"workflow_id": "wf_0123456789abcdef0123456789abcdef"}, {"slug": "basic-kyc", "default": True}, auth=True)
event("tenant-create-session", "POST", "/v1/sessions", None,
      {"workflow_id": "wf_0123456789abcdef0123456789abcdef"}, auth=True)
event("tenant-list-sessions", "GET", "/v1/sessions", None, query="limit=20&status=manual_review", auth=True)
event("tenant-get-session", "GET", "/v1/sessions/{session_id}", {"session_id": SESSION}, auth=True)
event("tenant-request-corrections", "POST", "/v1/sessions/{session_id}/corrections", {"session_id": SESSION},
      {"items": [{"step_id": "personal_info", "field_ids": ["full_name"], "message": "Please fix your name"}]},
      auth=True)
event("tenant-extract-document", "POST", "/v1/sessions/{session_id}/documents/{doc_id}/extract",
      {"session_id": SESSION, "doc_id": "doc_abc123"}, {"document_type": "passport"}, query="refresh=true", auth=True)
event("tenant-cancel-session", "POST", "/v1/sessions/{session_id}/cancel", {"session_id": SESSION}, {}, auth=True)
event("tenant-redact-session", "POST", "/v1/sessions/{session_id}/redact", {"session_id": SESSION}, {}, auth=True)
event("tenant-rescreen-session", "POST", "/v1/sessions/{session_id}/rescreen", {"session_id": SESSION}, {}, auth=True)
event("tenant-session-evidence", "GET", "/v1/sessions/{session_id}/evidence", {"session_id": SESSION}, auth=True)
event("tenant-get-tenant", "GET", "/v1/tenant", None, auth=True)
event("tenant-update-tenant", "PATCH", "/v1/tenant", None, {"retention_days": 2555}, auth=True)
event("tenant-review-session", "POST", "/v1/sessions/{session_id}/review", {"session_id": SESSION},
      {"decision": "rejected", "notes": "Document photo is blurred", "reasons": ["document_unreadable"]}, auth=True)
event("tenant-resubmit-step", "POST", "/v1/sessions/{session_id}/resubmit", {"session_id": SESSION},
      {"step_id": "id_document", "message": "Please upload a sharper photo of your ID"}, auth=True)
WE = "we_0123456789abcdef0123456789abcdef"
event("tenant-create-webhook-endpoint", "POST", "/v1/webhook_endpoints", None,
      {"url": "https://hooks.example.com/kyc", "events": ["session.completed", "session.approved"]}, auth=True)
event("tenant-list-webhook-endpoints", "GET", "/v1/webhook_endpoints", None, auth=True)
event("tenant-get-webhook-endpoint", "GET", "/v1/webhook_endpoints/{endpoint_id}", {"endpoint_id": WE}, auth=True)
event("tenant-update-webhook-endpoint", "PATCH", "/v1/webhook_endpoints/{endpoint_id}", {"endpoint_id": WE},
      {"enabled": False}, auth=True)
event("tenant-delete-webhook-endpoint", "DELETE", "/v1/webhook_endpoints/{endpoint_id}", {"endpoint_id": WE},
      auth=True)
event("tenant-rotate-webhook-secret", "POST", "/v1/webhook_endpoints/{endpoint_id}/rotate_secret",
      {"endpoint_id": WE}, auth=True)
event("tenant-test-webhook-endpoint", "POST", "/v1/webhook_endpoints/{endpoint_id}/test", {"endpoint_id": WE},
      auth=True)
event("tenant-list-webhook-deliveries", "GET", "/v1/webhook_endpoints/{endpoint_id}/deliveries",
      {"endpoint_id": WE}, query="limit=20", auth=True)
event("tenant-retry-webhook-delivery", "POST", "/v1/webhook_deliveries/{delivery_id}/retry",
      {"delivery_id": WE + ".evt_0190c0ffee0123456789abcdef01"}, auth=True)
KEY = "key_0123456789abcdef0123456789abcdef"
event("tenant-create-api-key", "POST", "/v1/api_keys", None, {"name": "CI deploys"}, auth=True)
event("tenant-list-api-keys", "GET", "/v1/api_keys", None, auth=True)
event("tenant-revoke-api-key", "DELETE", "/v1/api_keys/{key_id}", {"key_id": KEY}, auth=True)
event("tenant-roll-api-key", "POST", "/v1/api_keys/{key_id}/roll", {"key_id": KEY},
      {"grace_period_seconds": 86400}, auth=True)
