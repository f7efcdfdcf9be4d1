//! The HTTPS client of every AWS SDK client: rustls on the `ring` crypto provider, trusting the
//! Mozilla root certificates compiled into the binary.
//!
//! The SDK's default client uses aws-lc, which is slower to build, and trusts the platform's
//! certificate store, which it reads from disk and parses when the first client is built: on a
//! Debian host that is some 300 files and 5–6 ms of every cold start (`make bench-cold`). The
//! compiled-in store costs no file access, is the same on every host, and is updated with the
//! `webpki-root-certs` crate (pinned by `Cargo.lock`). AWS endpoints chain to Amazon's roots,
//! which it contains.

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
use base64::Engine;

/// An HTTPS client on rustls with `ring`, trusting only [`root_certificates_pem`].
pub fn https_client() -> SharedHttpClient {
    let trust_store =
        TrustStore::empty().with_native_roots(false).with_pem_certificate(root_certificates_pem());
    let context = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .expect("a TLS context with a trust store and no other setting always builds");
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

/// Mozilla's trusted root certificates, as one PEM bundle (the form the SDK's trust store
/// takes): about 150 certificates, encoded in well under a millisecond.
pub fn root_certificates_pem() -> Vec<u8> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----\n";
    const END: &[u8] = b"-----END CERTIFICATE-----\n";
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
    let encoded_len: usize = roots.iter().map(|der| der.len() * 4 / 3 + der.len() / 48 + 8).sum();
    let mut pem = Vec::with_capacity(encoded_len + roots.len() * (BEGIN.len() + END.len()));
    for der in roots {
        pem.extend_from_slice(BEGIN);
        let base64 = base64::engine::general_purpose::STANDARD.encode(der);
        for line in base64.as_bytes().chunks(64) {
            pem.extend_from_slice(line);
            pem.push(b'\n');
        }
        pem.extend_from_slice(END);
    }
    pem
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    /// The certificates between the bundle's markers, decoded.
    fn decode(pem: &[u8]) -> Vec<Vec<u8>> {
        let text = std::str::from_utf8(pem).unwrap();
        text.split("-----END CERTIFICATE-----\n")
            .filter(|block| !block.is_empty())
            .map(|block| {
                let body = block.strip_prefix("-----BEGIN CERTIFICATE-----\n").expect("a BEGIN marker");
                assert!(body.lines().all(|line| line.len() <= 64), "PEM lines are at most 64 characters");
                STANDARD.decode(body.replace('\n', "")).unwrap()
            })
            .collect()
    }

    #[test]
    fn the_bundle_holds_every_mozilla_root_unchanged() {
        let decoded = decode(&root_certificates_pem());
        let roots: Vec<&[u8]> =
            webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().map(|der| der.as_ref()).collect();
        assert!(roots.len() > 100, "{} roots", roots.len());
        assert_eq!(decoded.iter().map(Vec::as_slice).collect::<Vec<_>>(), roots);
    }

    #[test]
    fn the_roots_aws_endpoints_chain_to_are_trusted() {
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        for name in ["Amazon Root CA 1", "Amazon Root CA 2", "Amazon Root CA 3", "Amazon Root CA 4"] {
            let found =
                roots.iter().any(|der| der.windows(name.len()).any(|window| window == name.as_bytes()));
            assert!(found, "{name} is missing from the trust store");
        }
    }
}
