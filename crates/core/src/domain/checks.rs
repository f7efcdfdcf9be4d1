//! The verification report: each check a session's evidence allows (document valid, data
//! consistent, person alive, old enough, not seen before…), and an explainable risk score.
//!
//! Pure functions of [`Evidence`], which the services gather from the session's stored items:
//! no I/O here, so every rule is a table-driven unit test.

use super::decision::{Outcome, ReasonLabel};
use super::extraction::{DocumentKind, ExtractedData, MrzEvidence};
use super::ids::SessionId;
use super::session::SessionStatus;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::Date;

/// Version of the rules and the points table; stored with every report.
pub const SCORING_VERSION: u32 = 1;

/// The checks a report can hold, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    DocumentMrzValid,
    DocumentNotExpired,
    DocumentTypeAllowed,
    IssuingCountryAllowed,
    DataConsistency,
    AgeMinimum,
    Liveness,
    FaceMatch,
    DuplicateDocument,
    RelatedParties,
    SanctionsScreening,
}

impl CheckName {
    pub const ALL: [CheckName; 11] = [
        Self::DocumentMrzValid,
        Self::DocumentNotExpired,
        Self::DocumentTypeAllowed,
        Self::IssuingCountryAllowed,
        Self::DataConsistency,
        Self::AgeMinimum,
        Self::Liveness,
        Self::FaceMatch,
        Self::DuplicateDocument,
        Self::RelatedParties,
        Self::SanctionsScreening,
    ];

    /// Risk points of a failure and of a check that needs a human look.
    pub fn points(self) -> (u8, u8) {
        match self {
            Self::DocumentMrzValid => (40, 15),
            Self::DocumentNotExpired => (40, 15),
            Self::DocumentTypeAllowed => (30, 10),
            Self::IssuingCountryAllowed => (30, 10),
            Self::DataConsistency => (30, 10),
            Self::AgeMinimum => (50, 15),
            Self::Liveness => (40, 15),
            Self::FaceMatch => (40, 15),
            Self::DuplicateDocument => (35, 10),
            Self::RelatedParties => (25, 10),
            Self::SanctionsScreening => (50, 25),
        }
    }
}

/// A check's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Passed,
    Failed,
    /// The evidence is missing or ambiguous: a reviewer must look (never counted as passed).
    NeedsReview,
    /// The workflow collects no evidence for it (listed so a reviewer sees what was not checked).
    NotApplicable,
}

/// One check of the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckResult {
    pub check: CheckName,
    pub status: CheckStatus,
    pub reason: String,
    /// The fields and values compared (never images).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub evidence: Map<String, Value>,
}

/// Points one check added to the risk score, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contribution {
    pub check: CheckName,
    pub points: u8,
    pub why: String,
}

/// What the checks say of a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerificationReport {
    pub scoring_version: u32,
    pub computed_at: Timestamp,
    pub checks: Vec<CheckResult>,
    /// 0 (no risk seen) to 100.
    pub risk_score: u8,
    pub contributions: Vec<Contribution>,
}

/// A workflow's choice of checks and thresholds (`verification_config`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VerificationConfig {
    /// The checks that apply; by default every check whose evidence the workflow collects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<CheckName>>,
    /// Youngest accepted age in years.
    #[serde(default = "default_min_age")]
    pub min_age: u8,
    /// Document kinds accepted (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_document_kinds: Vec<DocumentKind>,
    /// ISO 3166-1 alpha-2 issuing countries accepted (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_issuing_countries: Vec<String>,
    /// Automatic resolution approves only below this risk score (and with every check passed).
    #[serde(default = "default_auto_approve_below")]
    pub auto_approve_below: u8,
    /// Automatic resolution rejects on a decisive failure (invalid MRZ, expired document,
    /// underage, and a duplicate document when `duplicate_is_decisive`).
    #[serde(default)]
    pub auto_reject: bool,
    #[serde(default)]
    pub duplicate_is_decisive: bool,
}

fn default_min_age() -> u8 {
    18
}

fn default_auto_approve_below() -> u8 {
    20
}

impl Default for VerificationConfig {
    fn default() -> Self {
        Self {
            checks: None,
            min_age: default_min_age(),
            allowed_document_kinds: Vec::new(),
            allowed_issuing_countries: Vec::new(),
            auto_approve_below: default_auto_approve_below(),
            auto_reject: false,
            duplicate_is_decisive: false,
        }
    }
}

impl VerificationConfig {
    /// Checks the configuration; the message names the field.
    pub fn validate(&mut self) -> Result<(), String> {
        if !(1..=120).contains(&self.min_age) {
            return Err("verification_config.min_age must be between 1 and 120".into());
        }
        if self.auto_approve_below > 100 {
            return Err("verification_config.auto_approve_below must be between 0 and 100".into());
        }
        for country in &mut self.allowed_issuing_countries {
            *country = country.trim().to_ascii_uppercase();
            if !super::countries::is_country_code(country) {
                return Err(format!(
                    "verification_config.allowed_issuing_countries: '{country}' is not an ISO 3166-1 alpha-2 code"
                ));
            }
        }
        Ok(())
    }
}

/// One confirmed document and what was read from it.
#[derive(Clone, Debug)]
pub struct DocumentEvidence {
    pub doc_id: String,
    pub data: ExtractedData,
    pub mrz: Option<MrzEvidence>,
}

/// What the end user typed into identity fields (by their conventional field ids).
#[derive(Clone, Debug, Default)]
pub struct DeclaredIdentity {
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<String>,
    pub document_number: Option<String>,
    pub nationality: Option<String>,
}

impl DeclaredIdentity {
    pub(crate) fn name(&self) -> Option<String> {
        self.full_name.clone().or_else(|| match (&self.first_name, &self.last_name) {
            (None, None) => None,
            (first, last) => {
                Some(format!("{} {}", first.as_deref().unwrap_or(""), last.as_deref().unwrap_or("")))
            }
        })
    }

    fn is_empty(&self) -> bool {
        self.name().is_none()
            && self.date_of_birth.is_none()
            && self.document_number.is_none()
            && self.nationality.is_none()
    }
}

/// One liveness step's last decided attempt.
#[derive(Clone, Debug)]
pub struct LivenessEvidence {
    pub step_id: String,
    pub required: bool,
    pub min_confidence: f64,
    /// The face-match threshold, when the step compares faces.
    pub min_similarity: Option<f64>,
    /// `None` when the end user never finished an attempt.
    pub attempt: Option<AttemptEvidence>,
}

/// The outcome of a liveness attempt.
#[derive(Clone, Debug)]
pub struct AttemptEvidence {
    pub passed: bool,
    pub confidence: Option<f64>,
    pub face_similarity: Option<f64>,
    pub failure_reason: Option<String>,
}

/// A related party's session, as the parent records it.
#[derive(Clone, Debug)]
pub struct PartyEvidence {
    pub label: String,
    pub status: SessionStatus,
}

/// A listed entry that may be a screened subject.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListMatch {
    pub list: String,
    pub entry_id: String,
    /// The listed name or alias that matched, as the list writes it.
    pub matched_name: String,
    /// Name similarity, raised or lowered by date of birth and nationality, in 0..=1.
    pub score: f64,
    /// Whether the listed birth date agrees with the subject's; `None` when either lacks one.
    #[serde(default)]
    pub date_of_birth_agrees: Option<bool>,
    /// Whether a listed nationality is the subject's; `None` when either lacks one.
    #[serde(default)]
    pub nationality_agrees: Option<bool>,
}

/// Who was screened against which lists, and what matched.
#[derive(Clone, Debug, PartialEq)]
pub struct ScreeningEvidence {
    pub index_version: String,
    /// Each subject (`"subject"` for the end user, else the related party's label) and its matches.
    pub subjects: Vec<(String, Vec<ListMatch>)>,
}

/// Everything the checks read, gathered from a session.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    pub today: Option<Date>,
    pub test_mode: bool,
    /// Whether the workflow reads documents (a step with `extract`/`extract_required`).
    pub reads_documents: bool,
    pub documents: Vec<DocumentEvidence>,
    /// Whether a form collects a date of birth.
    pub declares_birth_date: bool,
    pub declared: DeclaredIdentity,
    pub liveness: Vec<LivenessEvidence>,
    /// `None` when the workflow collects no related parties.
    pub parties: Option<Vec<PartyEvidence>>,
    /// Other sessions of the tenant where the same document (number and issuing country) was read.
    pub duplicates: Vec<SessionId>,
    /// `None` when the deployment screens no lists, or nobody could be named.
    pub screening: Option<ScreeningEvidence>,
    /// The deployment screens, but its lists could not be loaded this time.
    pub screening_unavailable: bool,
}

impl Evidence {
    /// The document the identity comparisons use: the first one read.
    fn primary(&self) -> Option<&DocumentEvidence> {
        self.documents.first()
    }

    fn collects(&self, check: CheckName, config: &VerificationConfig) -> bool {
        let reads = self.reads_documents || !self.documents.is_empty();
        match check {
            CheckName::DocumentMrzValid | CheckName::DocumentNotExpired | CheckName::DuplicateDocument => {
                reads
            }
            CheckName::DocumentTypeAllowed => reads && !config.allowed_document_kinds.is_empty(),
            CheckName::IssuingCountryAllowed => reads && !config.allowed_issuing_countries.is_empty(),
            CheckName::DataConsistency => reads && !self.declared.is_empty(),
            CheckName::AgeMinimum => reads || self.declares_birth_date,
            CheckName::Liveness => !self.liveness.is_empty(),
            CheckName::FaceMatch => self.liveness.iter().any(|l| l.min_similarity.is_some()),
            CheckName::RelatedParties => self.parties.is_some(),
            CheckName::SanctionsScreening => self.screening.is_some() || self.screening_unavailable,
        }
    }
}

/// Runs every check and scores the result.
pub fn evaluate(evidence: &Evidence, config: &VerificationConfig, at: Timestamp) -> VerificationReport {
    let checks: Vec<CheckResult> = CheckName::ALL
        .iter()
        .map(|&check| {
            let applies = match &config.checks {
                Some(chosen) => chosen.contains(&check),
                None => evidence.collects(check, config),
            };
            if applies {
                run(check, evidence, config)
            } else {
                result(
                    check,
                    CheckStatus::NotApplicable,
                    "the workflow does not collect this evidence",
                    Map::new(),
                )
            }
        })
        .collect();
    let contributions = score(&checks, evidence);
    let total: u32 = contributions.iter().map(|c| u32::from(c.points)).sum();
    VerificationReport {
        scoring_version: SCORING_VERSION,
        computed_at: at,
        risk_score: total.min(100) as u8,
        checks,
        contributions,
    }
}

/// What automatic resolution makes of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    Decided(Outcome, Vec<ReasonLabel>),
    NeedsReview,
}

/// Every applicable check passed and the score is below the threshold → approved; a decisive
/// failure with `auto_reject` → rejected (with the matching reasons); anything else waits for a
/// reviewer.
pub fn resolve(report: &VerificationReport, config: &VerificationConfig) -> Resolution {
    let failed =
        |check: CheckName| report.checks.iter().any(|c| c.check == check && c.status == CheckStatus::Failed);
    if config.auto_reject {
        let mut reasons = Vec::new();
        for (check, reason) in [
            (CheckName::DocumentMrzValid, ReasonLabel::DocumentUnreadable),
            (CheckName::DocumentNotExpired, ReasonLabel::DocumentExpired),
            (CheckName::AgeMinimum, ReasonLabel::Underage),
        ] {
            if failed(check) {
                reasons.push(reason);
            }
        }
        if config.duplicate_is_decisive && failed(CheckName::DuplicateDocument) {
            reasons.push(ReasonLabel::SuspectedFraud);
        }
        if !reasons.is_empty() {
            return Resolution::Decided(Outcome::Rejected, reasons);
        }
    }
    let all_passed =
        report.checks.iter().all(|c| matches!(c.status, CheckStatus::Passed | CheckStatus::NotApplicable));
    if all_passed && report.risk_score < config.auto_approve_below {
        Resolution::Decided(Outcome::Approved, Vec::new())
    } else {
        Resolution::NeedsReview
    }
}

fn result(
    check: CheckName,
    status: CheckStatus,
    reason: impl Into<String>,
    evidence: Map<String, Value>,
) -> CheckResult {
    CheckResult { check, status, reason: reason.into(), evidence }
}

fn evidence_of(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn run(check: CheckName, e: &Evidence, config: &VerificationConfig) -> CheckResult {
    match check {
        CheckName::DocumentMrzValid => mrz_valid(e),
        CheckName::DocumentNotExpired => not_expired(e),
        CheckName::DocumentTypeAllowed => {
            let allowed = &config.allowed_document_kinds;
            allowed_value(
                check,
                e,
                |d| d.document_kind.map(|k| json!(k)),
                |v| allowed.iter().any(|k| json!(k) == *v),
                json!(allowed),
            )
        }
        CheckName::IssuingCountryAllowed => {
            let allowed = &config.allowed_issuing_countries;
            allowed_value(
                check,
                e,
                |d| d.issuing_country.clone().map(Value::String),
                |v| allowed.iter().any(|c| Some(c.as_str()) == v.as_str()),
                json!(allowed),
            )
        }
        CheckName::DataConsistency => consistency(e),
        CheckName::AgeMinimum => age(e, config.min_age),
        CheckName::Liveness => liveness(e),
        CheckName::FaceMatch => face_match(e),
        CheckName::DuplicateDocument => duplicate(e),
        CheckName::RelatedParties => parties(e),
        CheckName::SanctionsScreening => sanctions(e),
    }
}

fn mrz_valid(e: &Evidence) -> CheckResult {
    let check = CheckName::DocumentMrzValid;
    if e.documents.is_empty() {
        return result(check, CheckStatus::NeedsReview, "no document was read", Map::new());
    }
    let mut per_document = Map::new();
    let mut status = CheckStatus::Passed;
    for document in &e.documents {
        let Some(mrz) = &document.mrz else {
            per_document.insert(document.doc_id.clone(), json!("no machine-readable zone"));
            status = worst(status, CheckStatus::NeedsReview);
            continue;
        };
        let digits = [
            ("document_number", &mrz.document_number),
            ("date_of_birth", &mrz.date_of_birth),
            ("date_of_expiry", &mrz.date_of_expiry),
            ("composite", &mrz.composite),
        ];
        let invalid: Vec<&str> =
            digits.iter().filter(|(_, v)| v.as_str() == "invalid").map(|(k, _)| *k).collect();
        let unproven = digits[..3].iter().any(|(_, v)| v.as_str() != "valid");
        per_document.insert(document.doc_id.clone(), json!(mrz));
        status = worst(
            status,
            if !invalid.is_empty() {
                CheckStatus::Failed
            } else if unproven {
                CheckStatus::NeedsReview
            } else {
                CheckStatus::Passed
            },
        );
    }
    let reason = match status {
        CheckStatus::Passed => "every check digit of every document is valid",
        CheckStatus::Failed => "a check digit contradicts the document's data",
        _ => "some fields are not covered by a check digit",
    };
    result(check, status, reason, per_document)
}

fn not_expired(e: &Evidence) -> CheckResult {
    let check = CheckName::DocumentNotExpired;
    let (Some(document), Some(today)) = (e.primary(), e.today) else {
        return result(check, CheckStatus::NeedsReview, "no document was read", Map::new());
    };
    let Some(expiry) = document.data.expiry_date.as_deref().and_then(parse_date) else {
        return result(
            check,
            CheckStatus::NeedsReview,
            "the document's expiry date could not be read",
            Map::new(),
        );
    };
    let evidence = evidence_of(vec![
        ("expiry_date", json!(expiry.to_string())),
        ("checked_on", json!(today.to_string())),
    ]);
    if expiry < today {
        result(check, CheckStatus::Failed, "the document expired before the session completed", evidence)
    } else {
        result(check, CheckStatus::Passed, "the document is valid on the completion date", evidence)
    }
}

fn allowed_value(
    check: CheckName,
    e: &Evidence,
    read: impl Fn(&ExtractedData) -> Option<Value>,
    allowed: impl Fn(&Value) -> bool,
    list: Value,
) -> CheckResult {
    let Some(value) = e.primary().and_then(|d| read(&d.data)) else {
        return result(check, CheckStatus::NeedsReview, "the document does not say", Map::new());
    };
    let evidence = evidence_of(vec![("value", value.clone()), ("allowed", list)]);
    if allowed(&value) {
        result(check, CheckStatus::Passed, "on the workflow's list", evidence)
    } else {
        result(check, CheckStatus::Failed, "not on the workflow's list", evidence)
    }
}

/// How two values compare field by field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldComparison {
    Match,
    /// Names where one holds only some of the other's words (a middle name left out).
    Partial,
    Mismatch,
    /// One side is missing.
    Missing,
}

/// How one identity field is compared.
type Comparator = fn(&str, &str) -> FieldComparison;

fn consistency(e: &Evidence) -> CheckResult {
    let check = CheckName::DataConsistency;
    let Some(document) = e.primary() else {
        return result(check, CheckStatus::NeedsReview, "no document was read", Map::new());
    };
    let data = &document.data;
    let declared = &e.declared;
    let extracted_name = data.full_name.clone().or_else(|| match (&data.first_name, &data.last_name) {
        (None, None) => None,
        (first, last) => {
            Some(format!("{} {}", first.as_deref().unwrap_or(""), last.as_deref().unwrap_or("")))
        }
    });
    let mut fields = Map::new();
    let mut status = CheckStatus::Passed;
    let mut compared = 0;
    let rows: [(&str, Option<String>, Option<String>, Comparator); 4] = [
        ("name", declared.name(), extracted_name, compare_names),
        ("date_of_birth", declared.date_of_birth.clone(), data.date_of_birth.clone(), compare_exact),
        (
            "document_number",
            declared.document_number.clone(),
            data.document_number.clone(),
            compare_document_numbers,
        ),
        (
            "nationality",
            declared.nationality.clone(),
            data.nationality.clone().or(data.nationality_alpha3.clone()),
            compare_countries,
        ),
    ];
    for (field, typed, read, compare) in rows {
        if typed.is_none() {
            continue; // The workflow does not ask for it.
        }
        compared += 1;
        let outcome = match (&typed, &read) {
            (Some(a), Some(b)) => compare(a, b),
            _ => FieldComparison::Missing,
        };
        status = worst(
            status,
            match outcome {
                FieldComparison::Match => CheckStatus::Passed,
                FieldComparison::Mismatch => CheckStatus::Failed,
                FieldComparison::Partial | FieldComparison::Missing => CheckStatus::NeedsReview,
            },
        );
        fields.insert(field.to_owned(), json!({"declared": typed, "document": read, "result": outcome}));
    }
    if compared == 0 {
        return result(check, CheckStatus::NeedsReview, "no identity field was declared to compare", fields);
    }
    let reason = match status {
        CheckStatus::Passed => "the declared data matches the document",
        CheckStatus::Failed => "the declared data contradicts the document",
        _ => "some declared data could not be confirmed by the document",
    };
    result(check, status, reason, fields)
}

fn age(e: &Evidence, min_age: u8) -> CheckResult {
    let check = CheckName::AgeMinimum;
    let read = e.primary().and_then(|d| d.data.date_of_birth.clone());
    let (source, birth) = match (read, e.declared.date_of_birth.clone()) {
        (Some(read), _) => ("document", read),
        (None, Some(declared)) => ("declared", declared),
        (None, None) => {
            return result(check, CheckStatus::NeedsReview, "no date of birth is known", Map::new())
        }
    };
    let (Some(birth), Some(today)) = (parse_date(&birth), e.today) else {
        return result(check, CheckStatus::NeedsReview, "the date of birth could not be read", Map::new());
    };
    let years = full_years(birth, today);
    let evidence = evidence_of(vec![
        ("date_of_birth", json!(birth.to_string())),
        ("source", json!(source)),
        ("age", json!(years)),
        ("min_age", json!(min_age)),
    ]);
    if years >= i32::from(min_age) {
        result(check, CheckStatus::Passed, format!("{years} years old on the completion date"), evidence)
    } else {
        result(check, CheckStatus::Failed, format!("{years} years old, younger than {min_age}"), evidence)
    }
}

fn liveness(e: &Evidence) -> CheckResult {
    let check = CheckName::Liveness;
    if e.liveness.is_empty() {
        return result(check, CheckStatus::NeedsReview, "the workflow has no liveness step", Map::new());
    }
    let mut steps = Map::new();
    let mut status = CheckStatus::Passed;
    for step in &e.liveness {
        let (step_status, detail) = match &step.attempt {
            None if !step.required => (CheckStatus::Passed, json!({"result": "skipped (optional step)"})),
            None => (CheckStatus::NeedsReview, json!({"result": "no finished attempt"})),
            Some(attempt) => {
                let detail = json!({"passed": attempt.passed, "confidence": attempt.confidence,
                                    "min_confidence": step.min_confidence, "failure": attempt.failure_reason});
                (if attempt.passed { CheckStatus::Passed } else { CheckStatus::Failed }, detail)
            }
        };
        status = worst(status, step_status);
        steps.insert(step.step_id.clone(), detail);
    }
    let reason = match status {
        CheckStatus::Passed => "the person was seen to be present",
        CheckStatus::Failed => "the last liveness attempt failed",
        _ => "no liveness attempt was finished",
    };
    result(check, status, reason, steps)
}

fn face_match(e: &Evidence) -> CheckResult {
    let check = CheckName::FaceMatch;
    if e.liveness.iter().all(|l| l.min_similarity.is_none()) {
        return result(check, CheckStatus::NeedsReview, "no liveness step compares faces", Map::new());
    }
    let mut steps = Map::new();
    let mut status = CheckStatus::Passed;
    for step in e.liveness.iter() {
        let Some(min) = step.min_similarity else { continue };
        let (step_status, detail) = match &step.attempt {
            None => (CheckStatus::NeedsReview, json!({"result": "no finished attempt"})),
            // Test mode never reaches a provider: the sandbox outcome decides.
            Some(attempt) if e.test_mode => (
                if attempt.passed { CheckStatus::Passed } else { CheckStatus::Failed },
                json!({"source": "sandbox", "passed": attempt.passed}),
            ),
            Some(AttemptEvidence { face_similarity: Some(similarity), .. }) => (
                if *similarity >= min { CheckStatus::Passed } else { CheckStatus::Failed },
                json!({"similarity": similarity, "min_similarity": min}),
            ),
            Some(_) => (CheckStatus::NeedsReview, json!({"result": "no similarity was measured"})),
        };
        status = worst(status, step_status);
        steps.insert(step.step_id.clone(), detail);
    }
    let reason = match status {
        CheckStatus::Passed => "the face matches the document's portrait",
        CheckStatus::Failed => "the face does not match the document's portrait",
        _ => "the face could not be compared",
    };
    result(check, status, reason, steps)
}

fn duplicate(e: &Evidence) -> CheckResult {
    let check = CheckName::DuplicateDocument;
    let numbered = e.documents.iter().any(|d| d.data.document_number.is_some());
    if !numbered {
        return result(check, CheckStatus::NeedsReview, "no document number was read", Map::new());
    }
    if e.duplicates.is_empty() {
        return result(
            check,
            CheckStatus::Passed,
            "the document was not used in another session",
            Map::new(),
        );
    }
    let others: Vec<String> = e.duplicates.iter().map(ToString::to_string).collect();
    result(
        check,
        CheckStatus::Failed,
        "the same document was used in another session of this tenant",
        evidence_of(vec![("other_sessions", json!(others))]),
    )
}

fn parties(e: &Evidence) -> CheckResult {
    let check = CheckName::RelatedParties;
    let Some(parties) = e.parties.as_deref() else {
        return result(
            check,
            CheckStatus::NeedsReview,
            "the workflow collects no related parties",
            Map::new(),
        );
    };
    let mut status = CheckStatus::Passed;
    let mut listed = Map::new();
    for party in parties {
        let party_status = match party.status {
            SessionStatus::Approved | SessionStatus::Completed => CheckStatus::Passed,
            SessionStatus::Rejected | SessionStatus::Expired | SessionStatus::Canceled => CheckStatus::Failed,
            _ => CheckStatus::NeedsReview,
        };
        status = worst(status, party_status);
        listed.insert(party.label.clone(), json!(party.status));
    }
    let reason = match status {
        CheckStatus::Passed if parties.is_empty() => "no related party was required",
        CheckStatus::Passed => "every related party finished and none was refused",
        CheckStatus::Failed => "a related party was rejected, expired or canceled",
        _ => "a related party is not decided yet",
    };
    result(check, status, reason, listed)
}

/// A possible match on a sanctions list always goes to a reviewer, never to an automatic
/// decision; no match passes, naming the lists' version.
fn sanctions(e: &Evidence) -> CheckResult {
    let check = CheckName::SanctionsScreening;
    let Some(screening) = &e.screening else {
        let reason = if e.screening_unavailable {
            "the sanctions lists could not be loaded; screen the session again"
        } else {
            "no sanctions lists were screened"
        };
        return result(check, CheckStatus::NeedsReview, reason, Map::new());
    };
    let mut evidence = Map::new();
    evidence.insert("index_version".into(), json!(screening.index_version));
    evidence.insert("screened".into(), json!(screening.subjects.len()));
    let hits: Vec<Value> = screening
        .subjects
        .iter()
        .flat_map(|(who, matches)| {
            matches.iter().map(move |m| {
                json!({"subject": who, "list": m.list, "entry_id": m.entry_id,
                       "matched_name": m.matched_name, "score": (m.score * 100.0).round() / 100.0,
                       "agreed": {"date_of_birth": m.date_of_birth_agrees,
                                  "nationality": m.nationality_agrees}})
            })
        })
        .collect();
    if hits.is_empty() {
        return result(check, CheckStatus::Passed, "no screened party matched a sanctions list", evidence);
    }
    evidence.insert("hits".into(), Value::Array(hits));
    result(check, CheckStatus::NeedsReview, "a screened party may be on a sanctions list", evidence)
}

/// The risk points of each check that did not plainly pass, and of passes with little margin.
fn score(checks: &[CheckResult], e: &Evidence) -> Vec<Contribution> {
    let mut contributions = Vec::new();
    for c in checks {
        let (failed, review) = c.check.points();
        match c.status {
            CheckStatus::Failed => {
                contributions.push(Contribution { check: c.check, points: failed, why: c.reason.clone() })
            }
            CheckStatus::NeedsReview => {
                contributions.push(Contribution { check: c.check, points: review, why: c.reason.clone() })
            }
            _ => {}
        }
    }
    let passed =
        |check: CheckName| checks.iter().any(|c| c.check == check && c.status == CheckStatus::Passed);
    if passed(CheckName::Liveness) {
        let thin = e
            .liveness
            .iter()
            .filter_map(|l| Some(l.attempt.as_ref()?.confidence? - l.min_confidence))
            .any(|m| m < 5.0);
        if thin {
            contributions.push(Contribution {
                check: CheckName::Liveness,
                points: 10,
                why: "passed within 5 points of its threshold".into(),
            });
        }
    }
    if passed(CheckName::FaceMatch) && !e.test_mode {
        let thin = e
            .liveness
            .iter()
            .filter_map(|l| Some(l.attempt.as_ref()?.face_similarity? - l.min_similarity?))
            .any(|m| m < 3.0);
        if thin {
            contributions.push(Contribution {
                check: CheckName::FaceMatch,
                points: 10,
                why: "passed within 3 points of its threshold".into(),
            });
        }
    }
    if passed(CheckName::DocumentNotExpired) {
        let soon = e.primary().and_then(|d| d.data.expiry_date.as_deref().and_then(parse_date)).zip(e.today);
        if soon.is_some_and(|(expiry, today)| (expiry - today).whole_days() < 30) {
            contributions.push(Contribution {
                check: CheckName::DocumentNotExpired,
                points: 5,
                why: "the document expires within 30 days".into(),
            });
        }
    }
    contributions
}

fn worst(a: CheckStatus, b: CheckStatus) -> CheckStatus {
    let rank = |s: CheckStatus| match s {
        CheckStatus::NotApplicable => 0,
        CheckStatus::Passed => 1,
        CheckStatus::NeedsReview => 2,
        CheckStatus::Failed => 3,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// A `YYYY-MM-DD` date (surrounding spaces ignored), as forms and extraction write them.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text.trim(), &time::format_description::well_known::Iso8601::DATE).ok()
}

fn full_years(birth: Date, today: Date) -> i32 {
    let mut years = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    years
}

/// A name as comparable words: transliterated to ASCII, upper case, MRZ fillers and punctuation
/// as spaces, in sorted order (so given names and surnames may come in any order).
pub fn name_tokens(name: &str) -> Vec<String> {
    let ascii = deunicode::deunicode(name).to_ascii_uppercase();
    let mut tokens: Vec<String> = ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    tokens.sort();
    tokens
}

/// Names match when they hold the same words in any order; one that holds only some of the
/// other's words (at least two) is partial.
pub fn compare_names(declared: &str, read: &str) -> FieldComparison {
    let (a, b) = (name_tokens(declared), name_tokens(read));
    if a.is_empty() || b.is_empty() {
        return FieldComparison::Missing;
    }
    if a == b {
        return FieldComparison::Match;
    }
    let (short, long) = if a.len() <= b.len() { (&a, &b) } else { (&b, &a) };
    let mut rest = long.clone();
    let contained = short.iter().all(|t| match rest.iter().position(|r| r == t) {
        Some(i) => {
            rest.remove(i);
            true
        }
        None => false,
    });
    if contained && short.len() >= 2 {
        FieldComparison::Partial
    } else {
        FieldComparison::Mismatch
    }
}

fn compare_exact(declared: &str, read: &str) -> FieldComparison {
    if declared.trim() == read.trim() {
        FieldComparison::Match
    } else {
        FieldComparison::Mismatch
    }
}

fn compare_document_numbers(declared: &str, read: &str) -> FieldComparison {
    let clean =
        |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase();
    compare_exact(&clean(declared), &clean(read))
}

fn compare_countries(declared: &str, read: &str) -> FieldComparison {
    let to_alpha2 = |s: &str| {
        let upper = s.trim().to_ascii_uppercase();
        match upper.len() {
            3 => super::mrz::alpha2(&upper).map(str::to_owned).unwrap_or(upper),
            _ => upper,
        }
    };
    compare_exact(&to_alpha2(declared), &to_alpha2(read))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        time::macros::date!(2026 - 12 - 02)
    }

    fn valid_mrz() -> MrzEvidence {
        let v = || "valid".to_string();
        MrzEvidence {
            document_number: v(),
            date_of_birth: v(),
            date_of_expiry: v(),
            optional_data: "absent".into(),
            composite: v(),
        }
    }

    fn passport() -> DocumentEvidence {
        DocumentEvidence {
            doc_id: "doc_1".into(),
            data: ExtractedData {
                full_name: Some("ANNA MARIA ERIKSSON".into()),
                first_name: Some("ANNA MARIA".into()),
                last_name: Some("ERIKSSON".into()),
                document_number: Some("L898902C3".into()),
                date_of_birth: Some("1974-08-12".into()),
                nationality: Some("SE".into()),
                nationality_alpha3: Some("SWE".into()),
                expiry_date: Some("2030-04-15".into()),
                gender: Some("F".into()),
                issuing_country: Some("SE".into()),
                document_kind: Some(DocumentKind::Passport),
            },
            mrz: Some(valid_mrz()),
        }
    }

    fn evidence() -> Evidence {
        Evidence {
            today: Some(today()),
            test_mode: false,
            reads_documents: true,
            documents: vec![passport()],
            declares_birth_date: true,
            declared: DeclaredIdentity {
                full_name: Some("Anna Maria Eriksson".into()),
                date_of_birth: Some("1974-08-12".into()),
                ..Default::default()
            },
            liveness: vec![LivenessEvidence {
                step_id: "face".into(),
                required: true,
                min_confidence: 90.0,
                min_similarity: Some(95.0),
                attempt: Some(AttemptEvidence {
                    passed: true,
                    confidence: Some(99.2),
                    face_similarity: Some(99.0),
                    failure_reason: None,
                }),
            }],
            parties: None,
            duplicates: Vec::new(),
            screening: Some(ScreeningEvidence {
                index_version: "lists-1".into(),
                subjects: vec![("subject".into(), Vec::new())],
            }),
            screening_unavailable: false,
        }
    }

    #[test]
    fn a_possible_sanctions_match_needs_a_reviewer_and_blocks_automatic_approval() {
        let mut e = evidence();
        let listed = ListMatch {
            list: "ofac_sdn".into(),
            entry_id: "36001".into(),
            matched_name: "ERIKSSON, Anna Maria".into(),
            score: 0.973,
            date_of_birth_agrees: Some(true),
            nationality_agrees: None,
        };
        e.screening.as_mut().unwrap().subjects[0].1.push(listed);
        let config = VerificationConfig::default();

        let report = evaluate(&e, &config, at());
        let check = report.checks.iter().find(|c| c.check == CheckName::SanctionsScreening).unwrap();

        assert_eq!(check.status, CheckStatus::NeedsReview);
        assert_eq!(check.evidence["hits"][0]["entry_id"], "36001");
        assert_eq!(check.evidence["hits"][0]["score"], 0.97);
        assert_eq!(check.evidence["hits"][0]["agreed"], json!({"date_of_birth": true, "nationality": null}));
        assert_eq!(resolve(&report, &config), Resolution::NeedsReview);
        e.screening = None;
        let unscreened = evaluate(&e, &config, at());
        let check = unscreened.checks.iter().find(|c| c.check == CheckName::SanctionsScreening).unwrap();
        assert_eq!(check.status, CheckStatus::NotApplicable, "no lists loaded: not applicable");
    }

    #[test]
    fn lists_that_could_not_be_loaded_send_the_session_to_a_reviewer() {
        let mut e = evidence();
        e.screening = None;
        e.screening_unavailable = true;
        let config = VerificationConfig::default();

        let report = evaluate(&e, &config, at());
        let check = report.checks.iter().find(|c| c.check == CheckName::SanctionsScreening).unwrap();

        assert_eq!(check.status, CheckStatus::NeedsReview);
        assert!(check.reason.contains("could not be loaded"), "{}", check.reason);
        assert_eq!(resolve(&report, &config), Resolution::NeedsReview);
    }

    fn at() -> Timestamp {
        Timestamp::from_unix(1_796_200_000).unwrap()
    }

    fn status_of(report: &VerificationReport, check: CheckName) -> CheckStatus {
        report.checks.iter().find(|c| c.check == check).unwrap().status
    }

    #[test]
    fn clean_evidence_passes_every_applicable_check_with_a_zero_score_and_lists_the_rest() {
        let report = evaluate(&evidence(), &VerificationConfig::default(), at());
        assert_eq!(report.checks.len(), CheckName::ALL.len(), "every check is listed");
        for check in CheckName::ALL {
            let expected = match check {
                CheckName::DocumentTypeAllowed
                | CheckName::IssuingCountryAllowed
                | CheckName::RelatedParties => CheckStatus::NotApplicable,
                _ => CheckStatus::Passed,
            };
            assert_eq!(status_of(&report, check), expected, "{check:?}");
        }
        assert_eq!((report.risk_score, report.contributions.len()), (0, 0));
        assert_eq!(
            resolve(&report, &VerificationConfig::default()),
            Resolution::Decided(Outcome::Approved, vec![])
        );
    }

    #[test]
    fn names_compare_across_case_accents_order_and_mrz_fillers() {
        use FieldComparison::*;
        let table = [
            ("Anna Maria Eriksson", "ANNA MARIA ERIKSSON", Match),
            ("Eriksson, Anna Maria", "ANNA MARIA ERIKSSON", Match),
            ("José Álvarez-Núñez", "JOSE ALVAREZ NUNEZ", Match),
            ("Jürgen Müller", "JURGEN MULLER", Match),
            ("ERIKSSON<<ANNA<MARIA", "Anna Maria Eriksson", Match),
            ("Anna Eriksson", "ANNA MARIA ERIKSSON", Partial),
            ("Anna Eriksen", "ANNA MARIA ERIKSSON", Mismatch),
            ("Anna", "ANNA MARIA ERIKSSON", Mismatch),
            ("", "ANNA", Missing),
        ];
        for (declared, read, expected) in table {
            assert_eq!(compare_names(declared, read), expected, "{declared} vs {read}");
        }
    }

    #[test]
    fn each_field_of_data_consistency_is_reported_and_missing_ones_need_review() {
        let mut e = evidence();
        e.declared.document_number = Some("l898-902c3".into());
        e.declared.nationality = Some("SWE".into());
        let report = evaluate(&e, &VerificationConfig::default(), at());
        let check = report.checks.iter().find(|c| c.check == CheckName::DataConsistency).unwrap();
        assert_eq!(check.status, CheckStatus::Passed, "{check:?}");
        assert_eq!(check.evidence["document_number"]["result"], "match");
        assert_eq!(check.evidence["nationality"]["result"], "match");

        e.declared.date_of_birth = Some("1974-08-13".into());
        let report = evaluate(&e, &VerificationConfig::default(), at());
        assert_eq!(status_of(&report, CheckName::DataConsistency), CheckStatus::Failed);

        let mut e = evidence();
        e.documents[0].data.date_of_birth = None;
        let report = evaluate(&e, &VerificationConfig::default(), at());
        let check = report.checks.iter().find(|c| c.check == CheckName::DataConsistency).unwrap();
        assert_eq!(
            (check.status, check.evidence["date_of_birth"]["result"].as_str()),
            (CheckStatus::NeedsReview, Some("missing"))
        );
    }

    #[test]
    fn document_checks_fail_on_an_invalid_digit_or_an_expired_document() {
        let mut e = evidence();
        e.documents[0].mrz.as_mut().unwrap().date_of_birth = "invalid".into();
        e.documents[0].data.expiry_date = Some("2026-12-01".into());
        let report = evaluate(&e, &VerificationConfig::default(), at());
        assert_eq!(status_of(&report, CheckName::DocumentMrzValid), CheckStatus::Failed);
        assert_eq!(status_of(&report, CheckName::DocumentNotExpired), CheckStatus::Failed);
        assert_eq!(report.risk_score, 80);

        let mut e = evidence();
        e.documents[0].mrz = None;
        let report = evaluate(&e, &VerificationConfig::default(), at());
        assert_eq!(
            status_of(&report, CheckName::DocumentMrzValid),
            CheckStatus::NeedsReview,
            "OCR alone proves nothing"
        );
    }

    #[test]
    fn age_counts_full_years_on_the_completion_date() {
        for (birth, status) in [("2008-12-02", CheckStatus::Passed), ("2008-12-03", CheckStatus::Failed)] {
            let mut e = evidence();
            e.documents[0].data.date_of_birth = Some(birth.into());
            e.declared.date_of_birth = Some(birth.into());
            let report = evaluate(&e, &VerificationConfig::default(), at());
            assert_eq!(status_of(&report, CheckName::AgeMinimum), status, "{birth}");
        }
        let mut e = evidence();
        e.documents.clear();
        e.reads_documents = false;
        e.declared.date_of_birth = Some("2015-01-01".into());
        let report = evaluate(&e, &VerificationConfig { min_age: 10, ..Default::default() }, at());
        let check = report.checks.iter().find(|c| c.check == CheckName::AgeMinimum).unwrap();
        assert_eq!(
            (check.status, check.evidence["source"].as_str()),
            (CheckStatus::Passed, Some("declared"))
        );
    }

    #[test]
    fn allowlists_apply_only_when_configured() {
        let config = VerificationConfig {
            allowed_document_kinds: vec![DocumentKind::IdCard],
            allowed_issuing_countries: vec!["SE".into(), "NO".into()],
            ..Default::default()
        };
        let report = evaluate(&evidence(), &config, at());
        assert_eq!(status_of(&report, CheckName::DocumentTypeAllowed), CheckStatus::Failed);
        assert_eq!(status_of(&report, CheckName::IssuingCountryAllowed), CheckStatus::Passed);
    }

    #[test]
    fn liveness_and_face_match_read_the_last_attempt_and_thin_margins_add_points() {
        let mut e = evidence();
        e.liveness[0].attempt = Some(AttemptEvidence {
            passed: true,
            confidence: Some(92.0),
            face_similarity: Some(96.0),
            failure_reason: None,
        });
        let report = evaluate(&e, &VerificationConfig::default(), at());
        assert_eq!(status_of(&report, CheckName::Liveness), CheckStatus::Passed);
        assert_eq!(report.risk_score, 20, "{:?}", report.contributions);
        assert_eq!(resolve(&report, &VerificationConfig::default()), Resolution::NeedsReview);

        e.liveness[0].attempt = Some(AttemptEvidence {
            passed: false,
            confidence: Some(99.0),
            face_similarity: Some(40.0),
            failure_reason: Some("face mismatch".into()),
        });
        let report = evaluate(&e, &VerificationConfig::default(), at());
        assert_eq!(status_of(&report, CheckName::Liveness), CheckStatus::Failed);
        assert_eq!(status_of(&report, CheckName::FaceMatch), CheckStatus::Failed);

        e.test_mode = true;
        e.liveness[0].attempt = Some(AttemptEvidence {
            passed: true,
            confidence: Some(99.2),
            face_similarity: None,
            failure_reason: None,
        });
        let report = evaluate(&e, &VerificationConfig::default(), at());
        let check = report.checks.iter().find(|c| c.check == CheckName::FaceMatch).unwrap();
        assert_eq!(
            (check.status, check.evidence["face"]["source"].as_str()),
            (CheckStatus::Passed, Some("sandbox"))
        );
    }

    #[test]
    fn a_duplicate_names_the_other_sessions_and_is_decisive_only_when_configured() {
        let mut e = evidence();
        let other = SessionId::mint();
        e.duplicates = vec![other];
        let report = evaluate(&e, &VerificationConfig::default(), at());
        let check = report.checks.iter().find(|c| c.check == CheckName::DuplicateDocument).unwrap();
        assert_eq!(check.status, CheckStatus::Failed);
        assert_eq!(check.evidence["other_sessions"], json!([other.to_string()]));
        let rejecting = VerificationConfig { auto_reject: true, ..Default::default() };
        assert_eq!(resolve(&report, &rejecting), Resolution::NeedsReview);
        let decisive =
            VerificationConfig { auto_reject: true, duplicate_is_decisive: true, ..Default::default() };
        assert_eq!(
            resolve(&report, &decisive),
            Resolution::Decided(Outcome::Rejected, vec![ReasonLabel::SuspectedFraud])
        );
    }

    #[test]
    fn decisive_failures_reject_only_with_auto_reject() {
        let mut e = evidence();
        e.documents[0].data.date_of_birth = Some("2015-01-01".into());
        e.declared.date_of_birth = Some("2015-01-01".into());
        let report = evaluate(&e, &VerificationConfig::default(), at());
        assert_eq!(resolve(&report, &VerificationConfig::default()), Resolution::NeedsReview);
        let config = VerificationConfig { auto_reject: true, ..Default::default() };
        assert_eq!(
            resolve(&report, &config),
            Resolution::Decided(Outcome::Rejected, vec![ReasonLabel::Underage])
        );
    }

    #[test]
    fn the_score_is_the_sum_of_the_points_table_capped_at_100() {
        // Every check failing adds up to far more than 100.
        let total: u32 = CheckName::ALL.iter().map(|c| u32::from(c.points().0)).sum();
        assert!(total > 100);
        let mut e = evidence();
        e.documents[0].mrz.as_mut().unwrap().composite = "invalid".into();
        e.documents[0].data.expiry_date = Some("2020-01-01".into());
        e.documents[0].data.date_of_birth = Some("2015-01-01".into());
        e.declared.full_name = Some("Someone Else".into());
        e.duplicates = vec![SessionId::mint()];
        let report = evaluate(&e, &VerificationConfig::default(), at());
        assert_eq!(report.risk_score, 100);
        let sum: u32 = report.contributions.iter().map(|c| u32::from(c.points)).sum();
        assert_eq!(sum, 40 + 40 + 30 + 50 + 35);
    }

    #[test]
    fn checks_chosen_by_the_workflow_apply_even_without_evidence() {
        let config = VerificationConfig {
            checks: Some(vec![CheckName::RelatedParties, CheckName::Liveness]),
            ..Default::default()
        };
        let mut e = evidence();
        e.liveness.clear();
        let report = evaluate(&e, &config, at());
        assert_eq!(status_of(&report, CheckName::DocumentMrzValid), CheckStatus::NotApplicable);
        assert_eq!(status_of(&report, CheckName::RelatedParties), CheckStatus::NeedsReview);
        assert_eq!(
            status_of(&report, CheckName::Liveness),
            CheckStatus::NeedsReview,
            "never passed silently"
        );
        let config: Result<VerificationConfig, _> =
            serde_json::from_value(json!({"checks": ["credit_score"]}));
        assert!(config.is_err(), "unknown check names are refused");
    }
}
