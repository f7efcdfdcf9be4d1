//! Webhooks as the Standard Webhooks specification (v1) defines them: endpoint secrets, the
//! signature, the retry schedule, and which addresses a delivery may reach.

use super::history::OutboxEvent;
use super::ids::TenantId;
use super::secrets::Mode;
use super::time::Timestamp;
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2_048;

/// Which addresses a delivery may connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressPolicy {
    /// Live mode: public unicast addresses only (see [`is_public_address`]).
    PublicOnly,
    /// Test mode: public addresses and this machine's loopback (a receiver under development).
    PublicAndLoopback,
}

impl AddressPolicy {
    pub fn allows(self, ip: IpAddr) -> bool {
        is_public_address(ip) || (self == Self::PublicAndLoopback && ip.to_canonical().is_loopback())
    }
}

/// An endpoint URL: `https` (or, for test-mode endpoints, `http` to localhost or a loopback
/// address), no credentials, no fragment, at most [`MAX_URL_LEN`] characters. A host that is an
/// IP literal must be one the policy allows; host names are checked again on every delivery,
/// against the addresses they resolve to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(text: &str, policy: AddressPolicy) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text.len() > MAX_URL_LEN {
            return Err(format!("url must be 1 to {MAX_URL_LEN} characters"));
        }
        let url = url::Url::parse(text).map_err(|e| format!("url is not a valid URL: {e}"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("url must not carry credentials".into());
        }
        if url.fragment().is_some() {
            return Err("url must not have a fragment".into());
        }
        let host = url.host().ok_or("url needs a host")?;
        let loopback = match &host {
            url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
            url::Host::Ipv4(ip) => ip.is_loopback(),
            url::Host::Ipv6(ip) => ip.is_loopback(),
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback && policy == AddressPolicy::PublicAndLoopback => {}
            "http" => {
                return Err(
                    "url must use https (http is accepted for localhost on test-mode endpoints)".into()
                )
            }
            _ => return Err("url must be an https URL".into()),
        }
        let literal = match host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(name) if name.eq_ignore_ascii_case("localhost") => {
                Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
            }
            url::Host::Domain(_) => None,
        };
        if literal.is_some_and(|ip| !policy.allows(ip)) {
            return Err("url must point at a public address".into());
        }
        Ok(Self(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The events an endpoint receives: names of event types, or `*` for all of them.
pub fn check_event_filter(events: &[String]) -> Result<(), String> {
    if events.is_empty() || events.len() > 50 {
        return Err("events must list 1 to 50 event types, or [\"*\"]".into());
    }
    if events.iter().any(|e| e == "*") {
        return if events.len() == 1 {
            Ok(())
        } else {
            Err("\"*\" cannot be combined with other events".into())
        };
    }
    for event in events {
        let known =
            serde_json::from_value::<super::history::EventType>(serde_json::Value::String(event.clone()))
                .is_ok()
                || event == TEST_EVENT
                || event == ENDPOINT_DISABLED_EVENT;
        if !known {
            return Err(format!("events: '{event}' is not an event type"));
        }
    }
    Ok(())
}

/// The event `POST /v1/webhook_endpoints/{id}/test` sends.
pub const TEST_EVENT: &str = "webhook.test";

/// The event the tenant's other endpoints receive when the platform disables one.
pub const ENDPOINT_DISABLED_EVENT: &str = "webhook_endpoint.disabled";

/// A signing secret as stored: sealed (encrypted) with the deployment's key, never in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredSecret {
    pub sealed: String,
    pub created_at: Timestamp,
    /// Set on a rotated-out secret: it keeps signing beside the new one until then (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retires_at: Option<i64>,
}

/// A tenant's webhook endpoint (`WEBHOOK#…` item of the tenant's partition).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointRecord {
    pub endpoint_id: WebhookEndpointId,
    pub tenant_id: TenantId,
    /// Events of sessions in this mode only.
    pub mode: Mode,
    pub url: WebhookUrl,
    pub events: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub enabled: bool,
    /// Why the platform disabled it (410 Gone, five days of failures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Newest first.
    pub secrets: Vec<StoredSecret>,
    /// Since when every attempt failed (cleared by a success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl EndpointRecord {
    /// Whether the endpoint takes events of this type.
    pub fn subscribes_to(&self, event_type: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == event_type)
    }
}

/// An endpoint that fails without a single success for this long is disabled.
pub const DISABLE_AFTER_FAILING_SECONDS: i64 = 5 * 24 * 3600;

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    Delivered,
    /// Every scheduled attempt failed (dead-lettered); a manual retry may still send it.
    Failed,
    /// The endpoint was disabled or deleted before it could be delivered.
    Canceled,
}

/// One attempt to deliver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttemptRecord {
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    /// Why no answer came (timeout, refused address, connection error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The first KB of the receiver's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manual: bool,
}

/// Attempts kept in a delivery's log (older ones are dropped from the record, not from the count).
pub const KEPT_ATTEMPTS: usize = 20;

/// One event for one endpoint (`DELIVERY#event` item of the endpoint's partition).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryRecord {
    pub endpoint_id: WebhookEndpointId,
    pub tenant_id: TenantId,
    pub event_id: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<super::ids::SessionId>,
    pub status: DeliveryStatus,
    /// The exact body every attempt sends (the signature covers it).
    pub payload: String,
    /// Scheduled attempts made so far (manual retries not counted).
    pub attempt_count: u32,
    /// The next attempt is a tenant's manual retry (it does not count among the scheduled ones).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manual_retry: bool,
    pub attempts: Vec<AttemptRecord>,
    /// When the next attempt is due (unix seconds), while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl DeliveryRecord {
    /// A new delivery of an event (`payload`) to `endpoint`, due at once.
    pub fn new(
        endpoint: &EndpointRecord,
        event_id: String,
        event_type: String,
        session_id: Option<super::ids::SessionId>,
        payload: String,
        at: Timestamp,
    ) -> Self {
        Self {
            endpoint_id: endpoint.endpoint_id.clone(),
            tenant_id: endpoint.tenant_id.clone(),
            event_id,
            event_type,
            session_id,
            status: DeliveryStatus::Pending,
            payload,
            attempt_count: 0,
            manual_retry: false,
            attempts: Vec::new(),
            next_attempt_at: Some(at.unix()),
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    /// The public id: the endpoint and the event.
    pub fn delivery_id(&self) -> String {
        format!("{}.{}", self.endpoint_id, self.event_id)
    }
}

/// Splits a delivery id into its endpoint and event ids.
pub fn parse_delivery_id(text: &str) -> Option<(WebhookEndpointId, String)> {
    let (endpoint, event) = text.split_once('.')?;
    let endpoint = WebhookEndpointId::parse(endpoint)?;
    let valid = event.strip_prefix("evt_").is_some_and(|rest| {
        !rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    valid.then(|| (endpoint, event.to_owned()))
}

/// The body of a webhook: ids and outcomes, never images or form values.
pub fn payload(event: &OutboxEvent) -> String {
    let mut data = serde_json::json!({
        "session_id": event.session_id,
        "status": event.status,
        "livemode": event.livemode,
    });
    let fields = [
        ("external_reference", event.external_reference.as_ref().map(|r| serde_json::json!(r))),
        ("step_id", event.step_id.as_ref().map(|s| serde_json::json!(s))),
        ("resolution", event.resolution.map(|r| serde_json::json!(r))),
        ("risk_score", event.risk_score.map(|r| serde_json::json!(r))),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            data[name] = value;
        }
    }
    serde_json::json!({"type": event.type_name(), "timestamp": event.created_at, "data": data}).to_string()
}

/// The body of a `webhook_endpoint.disabled` event.
pub fn endpoint_disabled_payload(endpoint: &EndpointRecord, reason: &str, at: Timestamp) -> String {
    serde_json::json!({
        "type": ENDPOINT_DISABLED_EVENT,
        "timestamp": at,
        "data": {"endpoint_id": endpoint.endpoint_id, "url": endpoint.url, "reason": reason, "livemode": endpoint.mode == Mode::Live},
    })
    .to_string()
}

/// The body of a `webhook.test` event.
pub fn test_payload(endpoint: &EndpointRecord, at: Timestamp) -> String {
    serde_json::json!({
        "type": TEST_EVENT,
        "timestamp": at,
        "data": {"endpoint_id": endpoint.endpoint_id, "livemode": endpoint.mode == Mode::Live},
    })
    .to_string()
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
    fn endpoint_urls_are_https_or_local_http_for_test_mode() {
        use AddressPolicy::*;
        let table = [
            ("https://hooks.example.com/kyc", PublicOnly, true),
            ("http://hooks.example.com/kyc", PublicOnly, false),
            ("http://127.0.0.1:4000/hook", PublicOnly, false),
            ("http://127.0.0.1:4000/hook", PublicAndLoopback, true),
            ("http://localhost:4000/hook", PublicAndLoopback, true),
            ("http://[::1]:4000/hook", PublicAndLoopback, true),
            ("http://10.0.0.5/hook", PublicAndLoopback, false),
            ("https://169.254.169.254/latest/meta-data", PublicOnly, false),
            ("https://192.168.1.10/hook", PublicAndLoopback, false),
            ("https://user:pass@hooks.example.com/", PublicOnly, false),
            ("https://hooks.example.com/#frag", PublicOnly, false),
            ("ftp://hooks.example.com/", PublicOnly, false),
            ("not a url", PublicOnly, false),
        ];
        for (url, policy, ok) in table {
            assert_eq!(WebhookUrl::parse(url, policy).is_ok(), ok, "{url} {policy:?}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(WebhookUrl::parse(&long, PublicOnly).is_err());
    }

    #[test]
    fn event_filters_name_known_events_or_everything() {
        assert!(check_event_filter(&["*".into()]).is_ok());
        assert!(check_event_filter(&["session.completed".into(), "session.approved".into()]).is_ok());
        assert!(check_event_filter(&[]).is_err());
        assert!(check_event_filter(&["*".into(), "session.completed".into()]).is_err());
        assert!(check_event_filter(&["session.exploded".into()]).unwrap_err().contains("session.exploded"));
    }

    #[test]
    fn delivery_ids_name_the_endpoint_and_the_event() {
        let endpoint = WebhookEndpointId::mint();
        let id = format!("{endpoint}.evt_0123456789abcdef");
        assert_eq!(parse_delivery_id(&id), Some((endpoint, "evt_0123456789abcdef".into())));
        for bad in ["", "we_x", "we_x.evt_", "nope.evt_1", &format!("{}.evt_a/b", WebhookEndpointId::mint())]
        {
            assert!(parse_delivery_id(bad).is_none(), "{bad}");
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
