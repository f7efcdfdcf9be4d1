//! Use cases, written against the ports. One `Services` value is built per process and shared by
//! every request (it holds the store handle and the warm token cache).

mod changes;
mod decisions;
mod extract;
mod idempotency;
mod liveness;
mod progress;
mod public_view;
mod redaction;
mod review;
mod sessions;
mod steps;
mod subsessions;
mod sweeper;
mod tenants;
mod token_cache;
mod uploads;
mod verification;
mod webhooks;
mod workflows;

pub use changes::CONCURRENT_CHANGE;
pub use decisions::{Resubmit, Resubmitted, ReviewSession};
pub use extract::{ExtractRequest, ExtractionView};
pub use idempotency::{
    is_replayable, Idempotency, IdempotencyClaim, IdempotencySettings, IdempotentRequest, StoredResponse,
    IDEMPOTENCY_LEASE_SECONDS, IDEMPOTENCY_RETENTION_SECONDS, MAX_STORED_RESPONSE_BYTES,
};
pub use liveness::{CompleteLiveness, LivenessCompleted, LivenessStarted, StartLiveness};
pub use public_view::{
    PublicCorrection, PublicDocument, PublicLivenessSession, PublicSessionState, PublicStep, PublicWorkflow,
};
pub use redaction::RetentionReport;
pub use review::{CorrectionItem, RequestCorrections, MAX_CORRECTIONS_PER_REQUEST};
pub use sessions::{
    CreateSession, CreatedParticipant, CreatedSession, ListSessions, ReviewFilter, SessionPage,
    SessionSummary, TenantDocumentView, TenantSessionView, TenantStepView, DOWNLOAD_URL_TTL_SECONDS,
};
pub use steps::StepCompleted;
pub use subsessions::{
    CreateSubsession, LinkRegenerated, SubsessionCreated, SubsessionDeleted, SubsessionList,
    SubsessionSummary,
};
pub use sweeper::SweepReport;
pub use tenants::{
    ApiKeyView, CreateApiKey, IssuedApiKey, RollApiKey, TenantSettings, UpdateTenant,
    LAST_USED_RESOLUTION_SECONDS, MAX_ROLL_GRACE_SECONDS,
};
pub use uploads::{
    Base64Upload, ConfirmUpload, DocumentUploaded, FileUpload, InitUpload, UploadConfirmed,
    UploadInitialized, MAX_DOCUMENTS_PER_SESSION, MAX_PENDING_UPLOADS_PER_SESSION,
};
pub use webhooks::{
    AttemptResult, CreateEndpoint, DeliveryPage, DeliveryView, DispatchReport, EndpointView, UpdateEndpoint,
    WebhookSettings, MAX_ENDPOINTS_PER_TENANT,
};
pub use workflows::{UpdateWorkflow, WorkflowPage, WorkflowSettings, WorkflowSummary};

use crate::domain::time::Timestamp;
use crate::ports::{Blobs, Clock, Extractor, LivenessProvider, Screener, Table, WebhookSender};
use std::sync::Arc;
use token_cache::TokenCache;

/// Deployment settings the services need.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Base URL that public session links are built on (no trailing slash).
    pub public_base_url: String,
    /// Lifetime of a new session when the tenant does not choose one.
    pub default_session_ttl_seconds: i64,
    /// Upload rules.
    pub uploads: UploadSettings,
    /// Failed liveness attempts allowed per step before the step is locked (AWS suggests a cap).
    pub liveness_max_failed_attempts: usize,
    /// Idempotent retries of tenant requests: the key sealing kept responses (and webhook
    /// secrets), and lifetimes.
    pub idempotency: IdempotencySettings,
    /// Webhook delivery: retry scale and timeout.
    pub webhooks: WebhookSettings,
    /// Days a finished session is kept before it is redacted, unless its workflow sets
    /// `retention_days` (within [`RETENTION_DAYS`](crate::domain::workflow::RETENTION_DAYS)).
    pub retention_days: u32,
}

/// Limits of document uploads.
#[derive(Clone, Debug)]
pub struct UploadSettings {
    /// MIME types accepted (each must be one of [`FileKind`](crate::domain::files::FileKind)'s).
    pub allowed_mime_types: Vec<String>,
    /// Largest file accepted through a presigned upload.
    pub max_bytes: u64,
    /// Largest file accepted through the legacy base64 endpoint (API Gateway caps payloads at 10 MB).
    pub max_legacy_bytes: u64,
    /// Lifetime of a presigned upload URL.
    pub url_ttl_seconds: i64,
    /// Most presigned uploads a session may have open (issued, unconfirmed, unexpired) at once.
    pub max_pending_uploads: usize,
    /// Most documents (pending ones included) a session may hold.
    pub max_documents: usize,
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self {
            allowed_mime_types: [
                "image/jpeg",
                "image/png",
                "image/heic",
                "image/heif",
                "image/webp",
                "application/pdf",
            ]
            .map(String::from)
            .to_vec(),
            max_bytes: 15 * 1024 * 1024,
            max_legacy_bytes: 7 * 1024 * 1024,
            url_ttl_seconds: 600,
            max_pending_uploads: uploads::MAX_PENDING_UPLOADS_PER_SESSION,
            max_documents: uploads::MAX_DOCUMENTS_PER_SESSION,
        }
    }
}

/// The adapters the services run on.
#[derive(Clone)]
pub struct Ports {
    pub table: Arc<dyn Table>,
    pub blobs: Arc<dyn Blobs>,
    pub clock: Arc<dyn Clock>,
    /// The live-mode liveness provider; `None` where none is deployed (live-mode liveness then
    /// answers that it is unavailable; test mode always uses the sandbox).
    pub liveness: Option<Arc<dyn LivenessProvider>>,
    /// Extraction for test-mode sessions (local parsing and sandbox answers).
    pub test_extractor: Arc<dyn Extractor>,
    /// Extraction for live-mode sessions (Textract on AWS; local parsing elsewhere).
    pub live_extractor: Arc<dyn Extractor>,
}

/// Longest lifetime a tenant may give a session (90 days).
pub const MAX_SESSION_TTL_SECONDS: i64 = 90 * 24 * 3600;
/// Shortest lifetime a tenant may give a session.
pub const MIN_SESSION_TTL_SECONDS: i64 = 60;

/// The application's use cases.
pub struct Services {
    table: Arc<dyn Table>,
    blobs: Arc<dyn Blobs>,
    clock: Arc<dyn Clock>,
    liveness: Option<Arc<dyn LivenessProvider>>,
    test_extractor: Arc<dyn Extractor>,
    live_extractor: Arc<dyn Extractor>,
    settings: Settings,
    tokens: TokenCache,
    /// Set on the processes that deliver webhooks (the dev server, the delivery function).
    webhook_sender: Option<Arc<dyn WebhookSender>>,
    /// Set where sanctions lists are loaded; without it the screening check does not apply.
    screener: Option<Arc<dyn Screener>>,
}

impl Services {
    pub fn new(ports: Ports, settings: Settings) -> Self {
        let Ports { table, blobs, clock, liveness, test_extractor, live_extractor } = ports;
        Self {
            table,
            blobs,
            clock,
            liveness,
            test_extractor,
            live_extractor,
            settings,
            tokens: TokenCache::default(),
            webhook_sender: None,
            screener: None,
        }
    }

    /// These services, able to deliver webhooks through `sender`.
    pub fn with_webhook_sender(mut self, sender: Arc<dyn WebhookSender>) -> Self {
        self.webhook_sender = Some(sender);
        self
    }

    /// These services, screening names against sanctions lists through `screener`.
    pub fn with_screener(mut self, screener: Arc<dyn Screener>) -> Self {
        self.screener = Some(screener);
        self
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(self.clock.now())
    }

    /// Milliseconds since the unix epoch (event ids).
    fn now_millis(&self) -> u128 {
        u128::try_from(self.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
    }

    /// The public link of a session's access token.
    pub(crate) fn public_url(&self, token: &str) -> String {
        format!("{}/public/sessions/{token}", self.settings.public_base_url.trim_end_matches('/'))
    }
}
