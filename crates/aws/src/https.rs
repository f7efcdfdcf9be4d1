//! The HTTPS client of every AWS SDK client: rustls on the `ring` crypto provider, trusting only
//! the root certificates of AWS's own certificate authority, compiled into the binary.
//!
//! The SDK's default client uses aws-lc, which is slower to build, and trusts the platform's
//! certificate store, which it reads from disk and parses when the first client is built: on a
//! Debian host some 300 files and 5–6 ms of every cold start (`make bench-cold`). These clients
//! only ever talk to AWS endpoints, whose certificates Amazon Trust Services issues under Amazon
//! Root CA 1–4, cross-signed by Starfield Services Root CA G2: the set AWS tells clients to
//! trust. Trusting those five and nothing else costs no file access and almost no parsing, is the
//! same on every host, and leaves impersonating DynamoDB or S3 to AWS's own CA.
//!
//! The five certificates are in `aws-root-cas.pem` (valid until 2037–2040); a test checks them
//! byte for byte against Mozilla's root program (`webpki-root-certs`), so a root Mozilla drops
//! or replaces fails the build's tests rather than going unnoticed. Endpoint overrides for
//! emulators (`KYC_DYNAMODB_ENDPOINT`, `KYC_S3_ENDPOINT`) are plain HTTP and need no certificate.
//!
//! Only a build with the `test-ca` feature trusts one more root: the PEM file that
//! [`TEST_CA_FILE_VAR`] names, the throwaway CA of `make bench-cold`'s local TLS responder. No
//! deployed build enables the feature (`sam build` builds the functions without features), so a
//! deployed function cannot be told by its environment to trust anything but AWS's roots.

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};

/// Amazon Root CA 1–4 and Starfield Services Root CA G2, PEM-encoded.
pub const AWS_ROOT_CAS_PEM: &str = include_str!("aws-root-cas.pem");

/// An HTTPS client on rustls with `ring`, trusting only [`AWS_ROOT_CAS_PEM`].
pub fn https_client() -> SharedHttpClient {
    let trust_store =
        TrustStore::empty().with_native_roots(false).with_pem_certificate(AWS_ROOT_CAS_PEM.as_bytes());
    #[cfg(feature = "test-ca")]
    let trust_store = with_test_ca(trust_store);
    let context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .expect("a TLS context with a trust store and no other setting always builds");
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

/// The variable naming a PEM file of extra roots, read only by builds with the `test-ca` feature.
#[cfg(feature = "test-ca")]
pub const TEST_CA_FILE_VAR: &str = "KYC_TEST_CA_FILE";

/// Adds the roots of the file [`TEST_CA_FILE_VAR`] names, if it is set (a bench setting: an
/// unreadable file stops the process rather than silently trusting less than asked).
#[cfg(feature = "test-ca")]
fn with_test_ca(trust_store: TrustStore) -> TrustStore {
    match std::env::var_os(TEST_CA_FILE_VAR) {
        Some(path) => trust_store.with_pem_certificate(
            std::fs::read(&path).unwrap_or_else(|err| panic!("{TEST_CA_FILE_VAR}={path:?}: {err}")),
        ),
        None => trust_store,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    /// The roots' subject common names, in the file's order.
    const NAMES: [&str; 5] = [
        "Amazon Root CA 1",
        "Amazon Root CA 2",
        "Amazon Root CA 3",
        "Amazon Root CA 4",
        "Starfield Services Root Certificate Authority - G2",
    ];

    /// Whether `der` holds `name` as a whole DER string (its length byte just before it).
    fn names(der: &[u8], name: &str) -> bool {
        let name = name.as_bytes();
        der.windows(name.len() + 1).any(|window| usize::from(window[0]) == name.len() && &window[1..] == name)
    }

    #[test]
    fn the_trusted_roots_are_exactly_aws_roots_as_in_mozillas_store() {
        let decoded: Vec<Vec<u8>> = AWS_ROOT_CAS_PEM
            .split("-----END CERTIFICATE-----\n")
            .filter(|block| !block.is_empty())
            .map(|block| {
                let body = block.strip_prefix("-----BEGIN CERTIFICATE-----\n").expect("a BEGIN marker");
                STANDARD.decode(body.replace('\n', "")).expect("base64")
            })
            .collect();
        assert_eq!(decoded.len(), NAMES.len());
        for (der, name) in decoded.iter().zip(NAMES) {
            assert!(names(der, name), "expected {name}");
            let mozilla = webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().find(|root| names(root, name));
            assert_eq!(
                mozilla.map(|root| root.as_ref()),
                Some(der.as_slice()),
                "{name} differs from Mozilla's"
            );
        }
        assert!(!names(b"\x11Amazon Root CA 10", "Amazon Root CA 1"));
    }

    #[tokio::test]
    async fn a_client_on_these_roots_connects_and_refuses_a_server_that_is_not_aws() {
        use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
        use tokio::io::AsyncWriteExt;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n\r\nnot TLS").await;
            }
        });
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("id", "secret", None, None, "test"))
            .endpoint_url(format!("https://127.0.0.1:{port}"))
            .http_client(https_client())
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build();
        // Building the TLS connector parses the bundle (a bad one would panic here); the handshake
        // then fails, as it must with anything but an AWS endpoint.
        let error = aws_sdk_dynamodb::Client::from_conf(config).list_tables().send().await.unwrap_err();
        assert!(matches!(error, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)), "{error:?}");
    }
}
