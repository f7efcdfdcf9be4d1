//! Validation of the `form_data` an end user submits for a step, against the step's fields.
//!
//! Messages are written for a frontend to show as they are.

use super::countries::is_country_code;
use super::workflow::{CustomField, FieldType, Step};
use serde_json::{Map, Value};

/// Largest accepted `form_data`, serialized.
pub const MAX_FORM_BYTES: usize = 64 * 1024;
/// Longest text value unless the field sets a shorter `max_length`.
pub const MAX_TEXT_CHARS: usize = 1_000;
/// Longest `textarea` value unless the field sets a shorter `max_length`.
pub const MAX_TEXTAREA_CHARS: usize = 10_000;

/// Form values submitted for one step, checked field by field.
pub type FormData = Map<String, Value>;

/// Checks `data` against the step's fields. `is_confirmed_document` answers whether a `doc_id`
/// names a confirmed document of the same session (for `file` fields).
pub fn validate_form(
    step: &Step,
    data: &FormData,
    is_confirmed_document: impl Fn(&str) -> bool,
) -> Result<(), String> {
    let size = serde_json::to_vec(data).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_FORM_BYTES {
        return Err(format!("form_data is larger than {} KB", MAX_FORM_BYTES / 1024));
    }
    let fields: Vec<&CustomField> = step.all_fields().collect();
    let unknown: Vec<&str> = data
        .keys()
        .filter(|key| !fields.iter().any(|f| f.field_id.as_str() == *key))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(format!("Unknown fields: {}", unknown.join(", ")));
    }
    let missing: Vec<&str> = fields
        .iter()
        .filter(|field| field.required && is_blank(field, data.get(field.field_id.as_str())))
        .map(|field| field.field_id.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!("Campos requeridos: {}", missing.join(", ")));
    }
    for field in fields {
        match data.get(field.field_id.as_str()) {
            None | Some(Value::Null) => {}
            Some(value) => check_value(field, value, &is_confirmed_document)
                .map_err(|problem| format!("Field '{}' {problem}", field.field_id))?,
        }
    }
    Ok(())
}

/// A required field counts as missing when absent, null, an empty string or list, or an
/// unticked checkbox (a required checkbox is a consent that must be given).
fn is_blank(field: &CustomField, value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(text)) => text.trim().is_empty(),
        Some(Value::Array(items)) => items.is_empty(),
        Some(Value::Bool(ticked)) => field.field_type == FieldType::Checkbox && !ticked,
        Some(_) => false,
    }
}

fn check_value(
    field: &CustomField,
    value: &Value,
    is_confirmed_document: &impl Fn(&str) -> bool,
) -> Result<(), String> {
    match field.field_type {
        FieldType::Text | FieldType::Textarea => {
            let text = value.as_str().ok_or("must be text")?;
            let limit = if field.field_type == FieldType::Text { MAX_TEXT_CHARS } else { MAX_TEXTAREA_CHARS };
            let limit = field.max_length.map_or(limit, |max| limit.min(max as usize));
            if text.chars().count() > limit {
                return Err(format!("must be at most {limit} characters"));
            }
            let allowed_control =
                |c: char| field.field_type == FieldType::Textarea && matches!(c, '\n' | '\r' | '\t');
            if text.chars().any(|c| c.is_control() && !allowed_control(c)) {
                return Err("contains control characters".into());
            }
        }
        FieldType::Number => {
            if !value.as_f64().is_some_and(f64::is_finite) {
                return Err("must be a number".into());
            }
        }
        FieldType::Date => {
            let text = value.as_str().ok_or("must be a date (YYYY-MM-DD)")?;
            if !is_calendar_date(text) {
                return Err("must be a real date in the form YYYY-MM-DD".into());
            }
        }
        FieldType::Email => {
            if !value.as_str().is_some_and(is_email) {
                return Err("must be a valid email address".into());
            }
        }
        FieldType::Phone => {
            if !value.as_str().is_some_and(is_e164) {
                return Err("must be a phone number in international format (+ and 8 to 15 digits)".into());
            }
        }
        FieldType::Select => {
            let text = value.as_str().ok_or("must be one of the listed options")?;
            if !options(field).contains(&text) {
                return Err("must be one of the listed options".into());
            }
        }
        FieldType::Multiselect => {
            let items = value.as_array().ok_or("must be a list of the listed options")?;
            let allowed = options(field);
            let mut seen = Vec::with_capacity(items.len());
            for item in items {
                let text = item
                    .as_str()
                    .filter(|t| allowed.contains(t))
                    .ok_or("must only contain listed options")?;
                if seen.contains(&text) {
                    return Err("lists an option twice".into());
                }
                seen.push(text);
            }
        }
        FieldType::Checkbox => {
            if !value.is_boolean() {
                return Err("must be true or false".into());
            }
        }
        FieldType::Country => {
            if !value.as_str().is_some_and(is_country_code) {
                return Err("must be an ISO 3166-1 alpha-2 country code such as US".into());
            }
        }
        FieldType::File => {
            let doc = value.as_str().ok_or("must be the doc_id of an uploaded document")?;
            if !is_confirmed_document(doc) {
                return Err("must be the doc_id of a confirmed upload of this session".into());
            }
        }
    }
    Ok(())
}

fn options(field: &CustomField) -> Vec<&str> {
    field.options.iter().flatten().map(String::as_str).collect()
}

fn is_calendar_date(text: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    text.len() == 10 && time::Date::parse(text, &format).is_ok()
}

/// Whether `text` is an email address with a dotted domain.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    text.len() <= 254 && local_ok && domain_ok
}

fn is_e164(text: &str) -> bool {
    let Some(digits) = text.strip_prefix('+') else { return false };
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step() -> Step {
        serde_json::from_value(json!({
            "step_id": "info", "name": "Info", "type": "form_fill",
            "custom_fields": [
                {"field_id": "full_name", "name": "Name", "type": "text", "required": true, "max_length": 20},
                {"field_id": "bio", "name": "Bio", "type": "textarea"},
                {"field_id": "income", "name": "Income", "type": "number"},
                {"field_id": "dob", "name": "Birth", "type": "date"},
                {"field_id": "email", "name": "Email", "type": "email"},
                {"field_id": "phone", "name": "Phone", "type": "phone"},
                {"field_id": "plan", "name": "Plan", "type": "select", "options": ["basic", "pro"]},
                {"field_id": "tags", "name": "Tags", "type": "multiselect", "options": ["a", "b"]},
                {"field_id": "terms", "name": "Terms", "type": "checkbox", "required": true},
                {"field_id": "country", "name": "Country", "type": "country"},
                {"field_id": "proof", "name": "Proof", "type": "file"}
            ]
        }))
        .unwrap()
    }

    fn check(extra: Value) -> Result<(), String> {
        let mut data = json!({"full_name": "Ada Lovelace", "terms": true});
        data.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        validate_form(&step(), data.as_object().unwrap(), |doc| doc == "doc_ok")
    }

    #[test]
    fn a_complete_valid_form_passes() {
        check(json!({
            "bio": "line one\nline two", "income": 1200.5, "dob": "1985-03-15", "email": "ada@example.com",
            "phone": "+5491122334455", "plan": "pro", "tags": ["a", "b"], "country": "AR", "proof": "doc_ok"
        }))
        .unwrap();
    }

    #[test]
    fn missing_required_fields_are_listed_after_the_contract_prefix() {
        let err = validate_form(&step(), json!({"terms": false}).as_object().unwrap(), |_| true).unwrap_err();
        assert_eq!(err, "Campos requeridos: full_name, terms");
        let err = check(json!({"full_name": "   "})).unwrap_err();
        assert_eq!(err, "Campos requeridos: full_name");
    }

    #[test]
    fn every_type_refuses_a_bad_value() {
        let cases = [
            (json!({"full_name": "x".repeat(21)}), "at most 20 characters"),
            (json!({"full_name": "a\u{0007}b"}), "control characters"),
            (json!({"income": "12"}), "must be a number"),
            (json!({"dob": "1985-02-30"}), "real date"),
            (json!({"dob": "15/03/1985"}), "real date"),
            (json!({"email": "ada@@example"}), "valid email"),
            (json!({"email": "ada@example"}), "valid email"),
            (json!({"phone": "1122334455"}), "international format"),
            (json!({"phone": "+12"}), "international format"),
            (json!({"plan": "gold"}), "listed options"),
            (json!({"tags": ["a", "c"]}), "listed options"),
            (json!({"tags": ["a", "a"]}), "twice"),
            (json!({"terms": "yes"}), "true or false"),
            (json!({"country": "ARG"}), "ISO 3166-1"),
            (json!({"country": "XX"}), "ISO 3166-1"),
            (json!({"proof": "doc_other"}), "confirmed upload"),
            (json!({"nickname": "Ada"}), "Unknown fields: nickname"),
        ];
        for (extra, fragment) in cases {
            let err = check(extra.clone()).unwrap_err();
            assert!(err.contains(fragment), "{extra}: {err}");
        }
    }

    #[test]
    fn an_oversized_form_is_refused() {
        let err = check(json!({"bio": "x".repeat(MAX_FORM_BYTES)})).unwrap_err();
        assert!(err.contains("larger than"), "{err}");
    }
}
