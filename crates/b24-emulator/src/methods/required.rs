//! Required parameters and missing entities, answered with the codes the method's own page
//! documents: one rule for every method. `legacy` marks the old CRM-style methods, whose
//! failures carry an empty code even where their page lists none.

use serde_json::Value;

use super::param;
use crate::catalogue::Method;
use crate::errors::{self, MethodError};

/// Codes pages use for "a required parameter is missing", most specific first.
const GENERIC_MISSING: [&str; 8] = [
    "ERROR_REQUIRED_PARAMETERS_MISSING",
    "REQUIRED_ARG_MISSING",
    "MISSING_REQUIRED_PARAM",
    "MISSING_PARAMS",
    "REQUIRED_PARAM_NO_EXISTS",
    "VALIDATION_REQUIRED_FIELD_MISSING",
    "PARAMS_REQUIRED",
    "FIELD_IS_REQUIRED",
];

/// Codes pages use for "no such entity".
const NOT_FOUND: [&str; 4] = ["NOT_FOUND", "ERROR_NOT_FOUND", "ERROR_ENTITY_NOT_FOUND", "ENTITY_NOT_FOUND"];

/// Whether a param is present: given, not null, not an empty string.
pub(crate) fn present(params: &Value, name: &str) -> bool {
    match param(params, name) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// Check every documented required parameter of `method`.
pub(crate) fn check(method: &Method, params: &Value, legacy: bool) -> Result<(), MethodError> {
    match method.params.iter().find(|(name, _, required)| *required && !present(params, name)) {
        Some((name, _, _)) => Err(missing(method, name, legacy)),
        None => Ok(()),
    }
}

fn with_status(method: &Method, mut e: MethodError) -> MethodError {
    if let Some(status) = method.status_of(&e.code) {
        e.status = status;
    }
    e
}

/// The error for a missing parameter `name` of `method`: a documented code naming the
/// parameter (`USER_ID_EMPTY`), else a documented generic one, else the controller engine's
/// `100`, else the legacy empty code (documented, or a legacy method documenting no argument
/// error), else `INVALID_ARG_VALUE` or `ERROR_ARGUMENT` naming it.
pub(crate) fn missing(method: &Method, name: &str, legacy: bool) -> MethodError {
    let upper = name.to_ascii_uppercase();
    let documented = |code: &str| method.errors.iter().any(|(c, _)| *c == code);
    let named = [format!("{upper}_EMPTY"), format!("{upper}_REQUIRED"), format!("EMPTY_{upper}")];
    let e = if let Some(code) = named.iter().find(|c| documented(c)) {
        MethodError::bad(code, format!("Required parameter '{name}' is empty"))
    } else if let Some(code) = GENERIC_MISSING.iter().find(|c| documented(c)) {
        MethodError::bad(code, format!("Required parameter '{name}' is missing"))
    } else if documented("100") {
        errors::missing_parameter(name)
    } else if documented("") || (legacy && !documented("ERROR_ARGUMENT") && !documented("INVALID_ARG_VALUE")) {
        let text = if name.eq_ignore_ascii_case("id") {
            "ID is not defined or invalid.".to_owned()
        } else {
            format!("Parameter '{name}' is required")
        };
        errors::legacy(&text)
    } else if documented("INVALID_ARG_VALUE") {
        let mut e = errors::argument(name);
        e.code = "INVALID_ARG_VALUE".to_owned();
        e
    } else {
        errors::argument(name)
    };
    with_status(method, e)
}

/// The error for an id that names no entity: the legacy empty code, a documented not-found
/// code, or `NOT_FOUND`.
pub(crate) fn not_found(method: &Method, legacy: bool) -> MethodError {
    let documented = |code: &str| method.errors.iter().any(|(c, _)| *c == code);
    let e = if legacy || (documented("") && !NOT_FOUND.iter().any(|c| documented(c))) {
        errors::legacy("Not found")
    } else {
        match NOT_FOUND.iter().find(|c| documented(c)) {
            Some(code) => MethodError::bad(code, "Not found"),
            None => errors::not_found(),
        }
    };
    with_status(method, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::method;
    use serde_json::json;

    #[test]
    fn documented_codes_decide() {
        let notify = method("im.notify.system.add").expect("documented");
        let e = check(notify, &json!({"MESSAGE": "hi"}), false).expect_err("USER_ID missing");
        assert_eq!(e.code, "USER_ID_EMPTY");
        let e = check(notify, &json!({"USER_ID": 1}), false).expect_err("MESSAGE missing");
        assert_eq!(e.code, "MESSAGE_EMPTY");
        assert!(check(notify, &json!({"USER_ID": 1, "MESSAGE": "hi"}), false).is_ok());
        let deal = method("crm.deal.get").expect("documented");
        let e = check(deal, &json!({}), false).expect_err("id missing");
        assert_eq!((e.code.as_str(), e.description.as_str()), ("", "ID is not defined or invalid."));
        let task = method("tasks.task.add").expect("documented");
        let e = check(task, &json!({}), false).expect_err("fields missing");
        assert_eq!((e.code.as_str(), e.description.as_str()), ("100", "Could not find value for parameter {fields}"));
        assert_eq!(not_found(deal, false).code, "");
        assert_eq!(not_found(method("crm.contact.get").expect("documented"), true).code, "", "legacy");
        assert_eq!(not_found(method("crm.item.get").expect("documented"), false).code, "NOT_FOUND");
    }
}
