//! `kyc-admin verify-evidence`: a bundle signed with the deployment's secret verifies, and one
//! changed by a single byte, or checked with another secret, does not.

use kyc_core::domain::evidence;
use kyc_core::domain::idempotency::SealingKey;
use serde_json::json;
use std::process::Command;

const SECRET: &str = "admin test sealing secret, thirty-two bytes or more";

fn verify(file: &std::path::Path, secret: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kyc-admin"))
        .args(["verify-evidence", "--file"])
        .arg(file)
        .env("KYC_IDEMPOTENCY_SECRET", secret)
        .env("KYC_SQLITE_PATH", file.with_extension("db"))
        .output()
        .expect("running kyc-admin")
}

#[test]
fn a_signed_bundle_verifies_and_a_one_byte_change_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = json!({"format": evidence::BUNDLE_FORMAT, "session": {"session_id": "s1", "name": "Ada"}});
    let bundle = evidence::sign(manifest, Vec::new(), &SealingKey::derive(SECRET).unwrap());
    let answer = json!({"status": "success", "data": bundle});
    let good = dir.path().join("good.json");
    std::fs::write(&good, serde_json::to_string_pretty(&answer).unwrap()).unwrap();
    let tampered = dir.path().join("tampered.json");
    std::fs::write(&tampered, std::fs::read_to_string(&good).unwrap().replace("\"Ada\"", "\"Adb\"")).unwrap();

    let verified = verify(&good, SECRET);
    let changed = verify(&tampered, SECRET);
    let elsewhere = verify(&good, "another deployment's secret, also long enough");

    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
    assert!(String::from_utf8_lossy(&verified.stdout).contains("\"verified\": true"));
    for refused in [changed, elsewhere] {
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("does not match"), "{refused:?}");
    }
}
