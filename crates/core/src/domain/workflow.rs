//! Workflows: ordered steps a session walks through. Definitions are validated once, when a
//! tenant creates a version, and are immutable afterwards (sessions pin the version they start on).

use super::ids::{DocumentType, FieldId, StepId, WorkflowId};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The kinds of step a workflow can contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepType {
    DocumentUpload,
    Selfie,
    Liveness,
    FormFill,
    SubsessionCollection,
}

/// The value types a form field accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Textarea,
    Number,
    Date,
    Email,
    Phone,
    Select,
    Multiselect,
    Checkbox,
    /// ISO 3166-1 alpha-2 country code.
    Country,
    /// The `doc_id` of a confirmed document of the same session.
    File,
}

impl FieldType {
    fn takes_options(self) -> bool {
        matches!(self, FieldType::Select | FieldType::Multiselect)
    }
}

/// One form field of a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomField {
    pub field_id: FieldId,
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub required: bool,
    /// Allowed values of `select` and `multiselect` fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_text: Option<String>,
    /// Longest accepted text, in characters (text fields; capped by the platform's own limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
}

/// A document a step asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DocumentRequirement {
    pub document_type: DocumentType,
    pub label: String,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    pub allow_multiple: bool,
}

/// Settings of a liveness step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LivenessConfig {
    /// Lowest provider confidence (0–100) that passes. Default 90.
    #[serde(default = "default_min_confidence")]
    pub min_confidence: f64,
    /// Whether the public API returns the confidence score (the tenant view always has it).
    #[serde(default = "yes")]
    pub expose_confidence: bool,
    /// Compare the liveness reference image with the ID document's portrait (live mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_match: Option<FaceMatch>,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        Self { min_confidence: default_min_confidence(), expose_confidence: true, face_match: None }
    }
}

/// Selfie ↔ ID comparison settings of a liveness step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FaceMatch {
    /// The document type (of an earlier step) that holds the portrait.
    pub document_type: DocumentType,
    /// Lowest similarity (0–100) that passes. Default 95.
    #[serde(default = "default_min_similarity")]
    pub min_similarity: f64,
}

fn default_min_similarity() -> f64 {
    95.0
}

/// Settings of a step that collects related-party sessions (UBOs, directors).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubsessionConfig {
    /// The workflow each related party goes through.
    pub workflow_id: WorkflowId,
    /// A pinned version of that workflow; the latest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default)]
    pub min_required: u32,
    #[serde(default = "default_max_allowed")]
    pub max_allowed: u32,
    #[serde(default)]
    pub require_completion_before_proceed: bool,
}

/// Shows a step only when a field of an earlier step has a given value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConditionalLogic {
    pub step_id: StepId,
    pub field_id: FieldId,
    pub equals: serde_json::Value,
}

/// One step of a workflow, with every field of the public contract's definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub step_id: StepId,
    /// 1-based position; assigned from the list order when omitted.
    #[serde(default)]
    pub order: u32,
    pub name: String,
    #[serde(rename = "type")]
    pub step_type: StepType,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    pub required_documents: Vec<DocumentType>,
    #[serde(default)]
    pub document_requirements: Vec<DocumentRequirement>,
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
    #[serde(default)]
    pub fields: Vec<CustomField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tooltip: Option<String>,
    /// Further document types accepted by the step besides its requirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub document_types: Vec<DocumentType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional_logic: Option<ConditionalLogic>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsession_config: Option<SubsessionConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_config: Option<LivenessConfig>,
    /// Document steps: read identity data from each confirmed upload automatically (evidence
    /// for the reviewer; a failure does not block the end user).
    #[serde(default, skip_serializing_if = "is_false")]
    pub extract: bool,
    /// Document steps: the step completes only once each required document was read.
    #[serde(default, skip_serializing_if = "is_false")]
    pub extract_required: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Step {
    /// Every form field of the step (`custom_fields` then `fields`).
    pub fn all_fields(&self) -> impl Iterator<Item = &CustomField> {
        self.custom_fields.iter().chain(self.fields.iter())
    }
}

/// What happens when the end user has fixed every requested correction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CorrectionResolution {
    /// Back to a reviewer.
    #[default]
    ManualReview,
    /// Completed, and automatic processing is triggered.
    AutoProcess,
    /// Completed without automatic processing.
    Completed,
}

/// Validation settings of a workflow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    #[serde(default)]
    pub correction_resolution: CorrectionResolution,
}

/// A `#RRGGBB` colour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct HexColor(String);

impl TryFrom<String> for HexColor {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let ok = text.len() == 7 && text.starts_with('#') && text[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if ok {
            Ok(Self(text))
        } else {
            Err(format!("invalid colour '{}': expected #RRGGBB", text.chars().take(16).collect::<String>()))
        }
    }
}

impl From<HexColor> for String {
    fn from(colour: HexColor) -> String {
        colour.0
    }
}

/// How the hosted frontend looks for this workflow's sessions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Branding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<HexColor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_color: Option<HexColor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<HexColor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_color: Option<HexColor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accent_color: Option<HexColor>,
}

/// A workflow definition as a tenant submits it and as sessions snapshot it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkflowDefinition {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub steps: Vec<Step>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_redirect_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branding: Option<Branding>,
    #[serde(default)]
    pub validation_config: ValidationConfig,
    /// How a finished session is decided. Filled in by [`WorkflowDefinition::validate`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_config: Option<ResolutionConfig>,
    /// Which verification checks apply and their thresholds (defaults follow the step types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_config: Option<super::checks::VerificationConfig>,
    /// The older form of `resolution_config`: `false` means `auto_resolve: true`. Accepted on
    /// input and read from old snapshots; never written back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_required: Option<bool>,
    /// Days a finished session is kept before its personal data is erased (redacted); the
    /// platform default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
}

/// The shortest and longest retention a workflow or the platform may set, in days.
pub const RETENTION_DAYS: std::ops::RangeInclusive<u32> = 30..=3650;

/// How a session whose last step completed is decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResolutionConfig {
    /// Decide automatically when the session's evidence allows it; otherwise `manual_review`.
    #[serde(default)]
    pub auto_resolve: bool,
    /// Always wait for a reviewer, even with `auto_resolve`.
    #[serde(default)]
    pub final_manual_review_required: bool,
}

impl ResolutionConfig {
    /// Whether the workflow may decide a session without a reviewer.
    pub fn decides_automatically(self) -> bool {
        self.auto_resolve && !self.final_manual_review_required
    }
}

/// One immutable version of a tenant's workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowRecord {
    pub workflow_id: WorkflowId,
    pub tenant_id: super::ids::TenantId,
    pub version: u32,
    pub created_at: super::time::Timestamp,
    pub definition: WorkflowDefinition,
}

/// Most steps a workflow may have.
pub const MAX_STEPS: usize = 50;
/// Largest definition, as JSON: every session item carries a snapshot of it, and DynamoDB items
/// stop at 400 KB.
pub const MAX_DEFINITION_BYTES: usize = 100 * 1024;
/// Most fields a step may have.
pub const MAX_FIELDS_PER_STEP: usize = 100;
const MAX_TEXT: usize = 500;
const MAX_LONG_TEXT: usize = 5_000;
const MAX_OPTIONS: usize = 500;

impl WorkflowDefinition {
    /// Checks the definition and fills in derived values (step order, required documents).
    /// The error message names the offending step or field.
    pub fn validate(mut self) -> Result<Self, String> {
        check_text("name", &self.name, MAX_TEXT, true)?;
        if let Some(description) = &self.description {
            check_text("description", description, MAX_LONG_TEXT, false)?;
        }
        if self.steps.is_empty() {
            return Err("a workflow needs at least one step".into());
        }
        if self.steps.len() > MAX_STEPS {
            return Err(format!("a workflow has at most {MAX_STEPS} steps"));
        }
        if let Some(url) = &self.completion_redirect_url {
            check_url("completion_redirect_url", url)?;
        }
        if let Some(logo) = self.branding.as_ref().and_then(|b| b.logo_url.as_ref()) {
            check_url("branding.logo_url", logo)?;
        }
        self.resolution_config = Some(match (self.resolution_config, self.review_required.take()) {
            (Some(_), Some(_)) => {
                return Err("give resolution_config or its older form review_required, not both".into())
            }
            (Some(config), None) => config,
            (None, legacy) => legacy_resolution(legacy),
        });
        if let Some(config) = &mut self.verification_config {
            config.validate()?;
        }
        if let Some(days) = self.retention_days {
            if !RETENTION_DAYS.contains(&days) {
                return Err(format!(
                    "retention_days must be between {} and {}",
                    RETENTION_DAYS.start(),
                    RETENTION_DAYS.end()
                ));
            }
        }
        let size = serde_json::to_vec(&self).map(|v| v.len()).unwrap_or(usize::MAX);
        if size > MAX_DEFINITION_BYTES {
            return Err(format!(
                "the workflow definition is {} KB of JSON; at most {} KB is accepted",
                size.div_ceil(1024),
                MAX_DEFINITION_BYTES / 1024
            ));
        }
        let mut seen_steps: Vec<Step> = Vec::with_capacity(self.steps.len());
        for (index, step) in std::mem::take(&mut self.steps).into_iter().enumerate() {
            seen_steps.push(validate_step(index, step, &seen_steps)?);
        }
        self.steps = seen_steps;
        Ok(self)
    }

    pub fn step(&self, step_id: &StepId) -> Option<&Step> {
        self.steps.iter().find(|s| &s.step_id == step_id)
    }

    /// How finished sessions are decided (old snapshots carry only `review_required`).
    pub fn resolution(&self) -> ResolutionConfig {
        self.resolution_config.unwrap_or_else(|| legacy_resolution(self.review_required))
    }
}

/// `review_required: false` (finish without a reviewer) is `auto_resolve: true`.
fn legacy_resolution(review_required: Option<bool>) -> ResolutionConfig {
    ResolutionConfig { auto_resolve: review_required == Some(false), final_manual_review_required: false }
}

fn validate_step(index: usize, mut step: Step, earlier: &[Step]) -> Result<Step, String> {
    let label = step.step_id.to_string();
    let wrap = |m: String| format!("step '{label}': {m}");
    if earlier.iter().any(|s| s.step_id == step.step_id) {
        return Err(format!("duplicate step_id '{label}'"));
    }
    let position = index as u32 + 1;
    if step.order == 0 {
        step.order = position;
    } else if step.order != position {
        return Err(wrap(format!("order is {} but the step is listed at position {position}", step.order)));
    }
    check_text("name", &step.name, MAX_TEXT, true).map_err(wrap)?;
    for (what, text) in
        [("description", &step.description), ("instructions", &step.instructions), ("tooltip", &step.tooltip)]
    {
        if let Some(text) = text {
            check_text(what, text, MAX_LONG_TEXT, false).map_err(wrap)?;
        }
    }
    normalize_documents(&mut step).map_err(wrap)?;
    validate_fields(&step).map_err(wrap)?;
    match step.step_type {
        StepType::DocumentUpload | StepType::Selfie => {
            if step.document_requirements.is_empty() && step.document_types.is_empty() {
                return Err(wrap("a document step needs document_requirements or document_types".into()));
            }
        }
        StepType::Liveness => {
            let config = step.liveness_config.get_or_insert_with(LivenessConfig::default);
            if !(0.0..=100.0).contains(&config.min_confidence) || config.min_confidence.is_nan() {
                return Err(wrap(format!(
                    "liveness_config.min_confidence must be between 0 and 100, got {}",
                    config.min_confidence
                )));
            }
            if let Some(face_match) = &config.face_match {
                if !(0.0..=100.0).contains(&face_match.min_similarity) {
                    return Err(wrap(
                        "liveness_config.face_match.min_similarity must be between 0 and 100".into(),
                    ));
                }
                let earlier = earlier.iter().any(|s| {
                    s.document_requirements.iter().any(|r| r.document_type == face_match.document_type)
                });
                if !earlier {
                    return Err(wrap(format!(
                        "liveness_config.face_match.document_type '{}' is not required by an earlier step",
                        face_match.document_type
                    )));
                }
            }
        }
        StepType::SubsessionCollection => {
            let Some(config) = &step.subsession_config else {
                return Err(wrap("a subsession_collection step needs subsession_config".into()));
            };
            if config.max_allowed == 0 || config.max_allowed > 50 {
                return Err(wrap("subsession_config.max_allowed must be between 1 and 50".into()));
            }
            if config.min_required > config.max_allowed {
                return Err(wrap("subsession_config.min_required cannot exceed max_allowed".into()));
            }
        }
        StepType::FormFill => {
            if step.all_fields().next().is_none() {
                return Err(wrap("a form_fill step needs at least one field".into()));
            }
        }
    }
    if (step.extract || step.extract_required)
        && !matches!(step.step_type, StepType::DocumentUpload | StepType::Selfie)
    {
        return Err(wrap("extract and extract_required are only allowed on document steps".into()));
    }
    if step.liveness_config.is_some() && step.step_type != StepType::Liveness {
        return Err(wrap("liveness_config is only allowed on liveness steps".into()));
    }
    if step.subsession_config.is_some() && step.step_type != StepType::SubsessionCollection {
        return Err(wrap("subsession_config is only allowed on subsession_collection steps".into()));
    }
    if let Some(logic) = &step.conditional_logic {
        let source = earlier.iter().find(|s| s.step_id == logic.step_id).ok_or_else(|| {
            wrap(format!("conditional_logic refers to '{}', which is not an earlier step", logic.step_id))
        })?;
        if !source.all_fields().any(|f| f.field_id == logic.field_id) {
            return Err(wrap(format!(
                "conditional_logic refers to field '{}', which step '{}' does not have",
                logic.field_id, logic.step_id
            )));
        }
    }
    Ok(step)
}

/// Derives `required_documents` from `document_requirements` (or the reverse) and checks they agree.
fn normalize_documents(step: &mut Step) -> Result<(), String> {
    let mut types = HashSet::new();
    for requirement in &step.document_requirements {
        check_text("document_requirements.label", &requirement.label, MAX_TEXT, true)?;
        if !types.insert(requirement.document_type.clone()) {
            return Err(format!("document type '{}' is listed twice", requirement.document_type));
        }
    }
    if step.document_requirements.is_empty() {
        step.document_requirements = step
            .required_documents
            .iter()
            .map(|t| DocumentRequirement {
                document_type: t.clone(),
                label: t.to_string(),
                required: true,
                allow_multiple: false,
            })
            .collect();
    }
    let derived: Vec<DocumentType> =
        step.document_requirements.iter().filter(|r| r.required).map(|r| r.document_type.clone()).collect();
    if !step.required_documents.is_empty() && step.required_documents != derived {
        return Err(
            "required_documents must list the required document_requirements in the same order".into()
        );
    }
    step.required_documents = derived;
    let is_document_step = matches!(step.step_type, StepType::DocumentUpload | StepType::Selfie);
    if !is_document_step && (!step.document_requirements.is_empty() || !step.document_types.is_empty()) {
        return Err("only document_upload and selfie steps take document requirements".into());
    }
    Ok(())
}

fn validate_fields(step: &Step) -> Result<(), String> {
    let mut ids = HashSet::new();
    let mut count = 0;
    for field in step.all_fields() {
        count += 1;
        if !ids.insert(&field.field_id) {
            return Err(format!("duplicate field_id '{}'", field.field_id));
        }
        let label = format!("field '{}'", field.field_id);
        check_text(&format!("{label} name"), &field.name, MAX_TEXT, true)?;
        match (&field.options, field.field_type.takes_options()) {
            (None, true) => {
                return Err(format!("{label}: a {:?} field needs options", field.field_type).to_lowercase())
            }
            (Some(options), true) => {
                if options.is_empty() || options.len() > MAX_OPTIONS {
                    return Err(format!("{label}: options must list 1 to {MAX_OPTIONS} values"));
                }
                let unique: HashSet<_> = options.iter().collect();
                if unique.len() != options.len() || options.iter().any(|o| o.is_empty() || o.len() > MAX_TEXT)
                {
                    return Err(format!("{label}: options must be distinct, non-empty strings"));
                }
            }
            (Some(_), false) => {
                return Err(format!("{label}: only select and multiselect fields take options"))
            }
            (None, false) => {}
        }
    }
    if count > MAX_FIELDS_PER_STEP {
        return Err(format!("a step has at most {MAX_FIELDS_PER_STEP} fields"));
    }
    Ok(())
}

fn check_text(what: &str, text: &str, max: usize, required: bool) -> Result<(), String> {
    if required && text.trim().is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if text.chars().count() > max {
        return Err(format!("{what} is longer than {max} characters"));
    }
    Ok(())
}

fn check_url(what: &str, text: &str) -> Result<(), String> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() && text.len() <= 2048 => {
            Ok(())
        }
        _ => Err(format!("{what} must be an absolute http(s) URL")),
    }
}

fn yes() -> bool {
    true
}

fn default_min_confidence() -> f64 {
    90.0
}

fn default_max_allowed() -> u32 {
    5
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<WorkflowDefinition, String> {
        serde_json::from_value::<WorkflowDefinition>(value).map_err(|e| e.to_string())?.validate()
    }

    fn basic() -> serde_json::Value {
        json!({
            "name": "Basic KYC",
            "steps": [
                {"step_id": "step_1", "name": "ID", "type": "document_upload", "required_documents": ["id"]},
                {"step_id": "step_2", "name": "Liveness", "type": "liveness"},
                {"step_id": "step_3", "name": "Info", "type": "form_fill", "custom_fields": [
                    {"field_id": "full_name", "name": "Full Name", "type": "text", "required": true}
                ]}
            ]
        })
    }

    #[test]
    fn a_valid_definition_gets_orders_requirements_and_liveness_defaults() {
        let wf = parse(basic()).unwrap();
        assert_eq!(wf.steps.iter().map(|s| s.order).collect::<Vec<_>>(), vec![1, 2, 3]);
        let reqs = &wf.steps[0].document_requirements;
        assert_eq!(reqs.len(), 1);
        assert!(reqs[0].required && !reqs[0].allow_multiple);
        assert_eq!(wf.steps[1].liveness_config.as_ref().unwrap().min_confidence, 90.0);
        assert_eq!(wf.resolution(), ResolutionConfig::default());
        assert_eq!(wf.resolution_config, Some(ResolutionConfig::default()));
        assert_eq!(wf.validation_config.correction_resolution, CorrectionResolution::ManualReview);
    }

    #[test]
    fn resolution_config_is_validated_and_review_required_false_reads_as_auto_resolve() {
        let mut def = basic();
        def["review_required"] = json!(false);
        let legacy = parse(def.clone()).unwrap();
        assert!(legacy.resolution().decides_automatically());
        assert_eq!(legacy.review_required, None, "the older form is never written back");

        def["resolution_config"] = json!({"auto_resolve": true});
        assert!(parse(def.clone()).unwrap_err().contains("not both"));

        let mut def = basic();
        def["resolution_config"] = json!({"auto_resolve": true, "final_manual_review_required": true});
        assert!(!parse(def.clone()).unwrap().resolution().decides_automatically());
        def["resolution_config"] = json!({"auto_resolve": "yes"});
        assert!(parse(def.clone()).is_err());
        def["resolution_config"] = json!({"auto_resolves": true});
        assert!(parse(def).unwrap_err().contains("unknown field"));

        // A session snapshot stored before resolution_config existed.
        let mut old = basic();
        old["review_required"] = json!(false);
        let snapshot: WorkflowDefinition = serde_json::from_value(old).unwrap();
        assert!(snapshot.resolution().decides_automatically());
    }

    #[test]
    fn duplicate_step_ids_are_named() {
        let mut def = basic();
        def["steps"][2]["step_id"] = json!("step_1");
        let err = parse(def).unwrap_err();
        assert!(err.contains("duplicate step_id 'step_1'"), "{err}");
    }

    #[test]
    fn unknown_step_types_are_refused() {
        let mut def = basic();
        def["steps"][0]["type"] = json!("video_call");
        assert!(parse(def).unwrap_err().contains("unknown variant `video_call`"));
    }

    #[test]
    fn select_fields_need_options() {
        let mut def = basic();
        def["steps"][2]["custom_fields"][0]["type"] = json!("select");
        let err = parse(def).unwrap_err();
        assert!(
            err.contains("step 'step_3'") && err.contains("field 'full_name'") && err.contains("options"),
            "{err}"
        );
    }

    #[test]
    fn min_confidence_must_be_a_percentage() {
        let mut def = basic();
        def["steps"][1]["liveness_config"] = json!({"min_confidence": 120});
        let err = parse(def).unwrap_err();
        assert!(err.contains("step 'step_2'") && err.contains("min_confidence"), "{err}");
    }

    #[test]
    fn colours_must_be_hex() {
        let mut def = basic();
        def["branding"] = json!({"primary_color": "green"});
        assert!(parse(def).unwrap_err().contains("#RRGGBB"));
    }

    #[test]
    fn document_steps_need_documents_and_subsession_steps_need_config() {
        let mut def = basic();
        def["steps"][0]["required_documents"] = json!([]);
        assert!(parse(def).unwrap_err().contains("document_requirements"));
        let mut def = basic();
        def["steps"][2] = json!({"step_id": "ubos", "name": "UBOs", "type": "subsession_collection"});
        assert!(parse(def).unwrap_err().contains("subsession_config"));
    }

    #[test]
    fn conditional_logic_must_point_at_an_earlier_field() {
        let mut def = basic();
        def["steps"][1]["conditional_logic"] =
            json!({"step_id": "step_3", "field_id": "full_name", "equals": "x"});
        assert!(parse(def).unwrap_err().contains("not an earlier step"));
    }

    #[test]
    fn out_of_place_order_and_unknown_fields_are_refused() {
        let mut def = basic();
        def["steps"][0]["order"] = json!(3);
        assert!(parse(def).unwrap_err().contains("order is 3"));
        let mut def = basic();
        def["steps"][0]["colour"] = json!("x");
        assert!(parse(def).unwrap_err().contains("unknown field `colour`"));
    }
}

/// What a workflow is across its versions: its name, newest version, slug and whether it is
/// archived. One item per workflow, so listings read one item per workflow, not every version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowHead {
    pub workflow_id: WorkflowId,
    pub tenant_id: super::ids::TenantId,
    pub name: String,
    pub latest_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<WorkflowSlug>,
    /// Archived workflows start no new session; running ones are unaffected.
    pub archived: bool,
    pub created_at: super::time::Timestamp,
    pub updated_at: super::time::Timestamp,
    /// Optimistic-locking counter: every change of the head is conditional on it.
    pub version: u64,
}

/// A tenant's unique, human-chosen name for a workflow (`basic-kyc`): 1–64 lowercase letters,
/// digits and dashes, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkflowSlug(String);

/// In OpenAPI documents: a string of the slug alphabet.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for WorkflowSlug {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::domain::ids::string_matching("^[a-z0-9][a-z0-9-]{0,63}$")
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for WorkflowSlug {}

impl WorkflowSlug {
    pub fn parse(text: &str) -> Option<Self> {
        let ok = (1..=64).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-');
        ok.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for WorkflowSlug {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text).ok_or_else(|| {
            "a slug is 1 to 64 lowercase letters, digits and dashes, not starting with a dash".to_owned()
        })
    }
}

impl From<WorkflowSlug> for String {
    fn from(slug: WorkflowSlug) -> Self {
        slug.0
    }
}

impl std::fmt::Display for WorkflowSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
