//! Webhooks as the Standard Webhooks specification (v1) defines them: endpoint secrets, the
//! signature, the retry schedule, and which addresses a delivery may reach.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

crate::domain::ids::minted_id!(
    /// A tenant's webhook endpoint.
    WebhookEndpointId,
    "we_"
);

/// Random bytes in a new secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;
const SECRET_PREFIX: &str = "whsec_";

/// An endpoint's signing secret, `whsec_` + base64 of random bytes. Shown to the tenant once.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// A new secret from the operating system's CSPRNG.
    pub fn mint() -> Self {
        let mut bytes = [0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        Self(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// Reads a stored secret back; `None` unless it is `whsec_` + base64 of 24 to 64 bytes.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text.strip_prefix(SECRET_PREFIX)?).ok()?;
        (24..=64).contains(&bytes.len()).then(|| Self(text.to_owned()))
    }

    /// The secret as the tenant configures it in their receiver.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key: the bytes the base64 part encodes.
    fn key(&self) -> Vec<u8> {
        STANDARD.decode(&self.0[SECRET_PREFIX.len()..]).unwrap_or_default()
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key()).expect("HMAC takes any key length");
        mac.update(message_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// The `webhook-signature` header: one `v1,…` signature per secret in force (during a rotation,
/// the new and the old one), separated by spaces.
pub fn signature_header<'a>(
    secrets: impl IntoIterator<Item = &'a WebhookSecret>,
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets.into_iter().map(|s| s.sign(message_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Delays before each attempt after the first (which is immediate): 5 s, 5 min, 30 min, 2 h,
/// 5 h, 10 h, 10 h. Eight attempts in all, over about 27 hours.
pub const RETRY_DELAYS_SECONDS: [u64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// Attempts made before a delivery is given up (dead-lettered).
pub const MAX_ATTEMPTS: u32 = RETRY_DELAYS_SECONDS.len() as u32 + 1;

/// Seconds to wait after failed attempt number `attempt` (1-based) before the next one, with
/// ±20 % jitter (`jitter` in 0..=1 picks where in that band) and a receiver's `Retry-After`
/// honoured within [the scheduled delay, twice it]. `None` when no attempt is left.
pub fn retry_delay(attempt: u32, jitter: f64, retry_after: Option<u64>) -> Option<u64> {
    let base = *RETRY_DELAYS_SECONDS.get(usize::try_from(attempt).ok()?.checked_sub(1)?)?;
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    let jittered = (base as f64 * factor).round() as u64;
    Some(match retry_after {
        Some(asked) => asked.clamp(base, base * 2),
        None => jittered.max(1),
    })
}

/// What a receiver's answer means for a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// 2xx.
    Delivered,
    /// 410 Gone: the receiver asks never to be called again; the endpoint is disabled.
    Gone,
    /// Anything else, a timeout or a refused connection: retried on schedule.
    Failed,
}

impl AttemptOutcome {
    pub fn of_status(status: u16) -> Self {
        match status {
            200..=299 => Self::Delivered,
            410 => Self::Gone,
            _ => Self::Failed,
        }
    }
}

/// Whether a delivery may connect to `ip`: only globally routed unicast addresses. Loopback,
/// private (RFC 1918), link-local (the cloud metadata address 169.254.169.254 among them), CGNAT,
/// unique-local, multicast, documentation, benchmarking and reserved ranges are refused, and an
/// IPv6 address that embeds an IPv4 one (mapped, compatible, NAT64, 6to4) is judged by it.
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0                                   // "this network"
        || (a == 100 && (64..=127).contains(&b))    // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0)           // IETF protocol assignments 192.0.0.0/24
        || (a == 192 && b == 88 && c == 99)         // 6to4 relay anycast
        || (a == 198 && (b == 18 || b == 19))       // benchmarking 198.18.0.0/15
        || a >= 240; // reserved 240.0.0.0/4
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) embed an IPv4 address.
    let embedded = Ipv4Addr::new(
        (segments[6] >> 8) as u8,
        segments[6] as u8,
        (segments[7] >> 8) as u8,
        segments[7] as u8,
    );
    if segments[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_unspecified() && !ip.is_loopback() {
        return is_public_v4(embedded);
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded);
    }
    if segments[0] == 0x2002 {
        // 6to4: the IPv4 address follows the prefix.
        let v4 = Ipv4Addr::new(
            (segments[1] >> 8) as u8,
            segments[1] as u8,
            (segments[2] >> 8) as u8,
            segments[2] as u8,
        );
        return is_public_v4(v4);
    }
    let refused = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00             // unique local fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80             // link-local fe80::/10
        || (segments[0] & 0xffc0) == 0xfec0             // site-local (deprecated) fec0::/10
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation 2001:db8::/32
        || (segments[0] == 0x2001 && segments[1] < 0x0200)  // IETF protocol assignments 2001::/23
        || segments[0] == 0x0100 && segments[1..4] == [0, 0, 0]; // discard-only 100::/64
    !refused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_the_specifications_hmac_of_id_timestamp_and_body() {
        // The Standard Webhooks specification's own example.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn minted_secrets_parse_back_and_never_print() {
        let secret = WebhookSecret::mint();
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(secret.expose()), Some(secret.clone()));
        assert_ne!(WebhookSecret::mint(), secret);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
        for bad in ["", "whsec_", "whsec_c2hvcnQ=", "sk_test_abc", "whsec_!!!"] {
            assert!(WebhookSecret::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_rotation_signs_with_every_secret_in_force() {
        let (old, new) = (WebhookSecret::mint(), WebhookSecret::mint());
        let header = signature_header([&new, &old], "evt_1", 1_700_000_000, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts, [new.sign("evt_1", 1_700_000_000, b"{}"), old.sign("evt_1", 1_700_000_000, b"{}")]);
    }

    #[test]
    fn retries_follow_the_schedule_with_bounded_jitter_and_retry_after() {
        assert_eq!(MAX_ATTEMPTS, 8);
        assert_eq!(retry_delay(1, 0.5, None), Some(5));
        assert_eq!(retry_delay(2, 0.0, None), Some(240));
        assert_eq!(retry_delay(2, 1.0, None), Some(360));
        assert_eq!(retry_delay(7, 0.5, None), Some(36_000));
        assert_eq!(retry_delay(8, 0.5, None), None, "the eighth failure is the last");
        assert_eq!(retry_delay(0, 0.5, None), None);
        assert_eq!(retry_delay(2, 0.5, Some(10)), Some(300), "Retry-After cannot hurry the schedule");
        assert_eq!(retry_delay(2, 0.5, Some(450)), Some(450));
        assert_eq!(retry_delay(2, 0.5, Some(86_400)), Some(600), "nor stretch it past twice");
    }

    #[test]
    fn only_public_unicast_addresses_may_be_reached() {
        let table: [(&str, bool); 30] = [
            ("93.184.216.34", true),
            ("8.8.8.8", true),
            ("127.0.0.1", false),
            ("10.1.2.3", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.168.1.1", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("100.128.0.1", true),
            ("0.0.0.0", false),
            ("255.255.255.255", false),
            ("224.0.0.1", false),
            ("198.18.0.1", false),
            ("192.0.2.1", false),
            ("240.0.0.1", false),
            ("2606:4700:4700::1111", true),
            ("::1", false),
            ("::", false),
            ("fd00::1", false),
            ("fe80::1", false),
            ("ff02::1", false),
            ("2001:db8::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:169.254.169.254", false),
            ("::ffff:93.184.216.34", true),
            ("64:ff9b::a9fe:a9fe", false),
            ("2002:c0a8:0101::1", false),
            ("::10.0.0.1", false),
        ];
        for (text, public) in table {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(is_public_address(ip), public, "{text}");
        }
    }

    #[test]
    fn receivers_answers_map_to_outcomes() {
        assert_eq!(AttemptOutcome::of_status(204), AttemptOutcome::Delivered);
        assert_eq!(AttemptOutcome::of_status(410), AttemptOutcome::Gone);
        for status in [301, 400, 404, 429, 500, 503] {
            assert_eq!(AttemptOutcome::of_status(status), AttemptOutcome::Failed, "{status}");
        }
    }
}
