//! The version manager: which methods exist in REST v3 (a table generated from the portal's
//! OpenAPI document), and the warnings logged once per method or entry point.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use b24_errors::{Code, Error};

use crate::v3_methods::V3_METHODS;

/// True when `method` exists in REST v3.
pub fn in_v3(method: &str) -> bool {
    // The table is lowercase and sorted; compare case-insensitively without a lowercase copy
    // (this runs on every v2 call).
    let lowered = || method.bytes().map(|b| b.to_ascii_lowercase());
    V3_METHODS.binary_search_by(|known| known.bytes().cmp(lowered())).is_ok()
}

/// Every v3 method the table knows.
pub fn v3_methods() -> &'static [&'static str] {
    V3_METHODS
}

/// Refuse a v3 call of a method that v3 does not serve, before any request.
pub(crate) fn require_v3(method: &str) -> Result<(), Error> {
    if in_v3(method) {
        return Ok(());
    }
    note_not_detected(method);
    Err(Error::sdk(
        Code::JssdkCoreMethodNotSupportInApiV3,
        format!("{method} is not in the REST v3 surface; call it through v2"),
    ))
}

fn once(key: String) -> bool {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let seen = SEEN.get_or_init(|| Mutex::new(HashSet::new()));
    seen.lock().map(|mut s| s.insert(key)).unwrap_or(false)
}

/// Log `JSSDK_CORE_METHOD_AVAILABLE_IN_API_V3` once per method when a v2 call names a method v3
/// also serves. Returns whether it logged.
pub(crate) fn note_v2_call(method: &str) -> bool {
    if in_v3(method) && !method.eq_ignore_ascii_case("batch") && once(format!("v3:{}", method.to_ascii_lowercase())) {
        tracing::warn!(
            target: "b24::versions",
            code = Code::JssdkCoreMethodAvailableInApiV3.as_str(),
            method,
            "{method} is also available in REST v3; migrate to client.v3() when you can"
        );
        return true;
    }
    false
}

/// Log `JSSDK_VERSION_MANAGER_NOT_DETECT_FOR_METHOD` once per method the v3 table does not
/// know (paired with the `JSSDK_CORE_METHOD_NOT_SUPPORT_IN_API_V3` error it precedes).
pub(crate) fn note_not_detected(method: &str) -> bool {
    if once(format!("undetected:{}", method.to_ascii_lowercase())) {
        tracing::warn!(
            target: "b24::versions",
            code = Code::JssdkVersionManagerNotDetectForMethod.as_str(),
            method,
            "the version manager does not know {method} in REST v3"
        );
        return true;
    }
    false
}

/// Log `JSSDK_CORE_DEPRECATED_METHOD` once per deprecated entry point.
pub(crate) fn note_deprecated(entry: &str, replacement: &str) -> bool {
    if once(format!("deprecated:{entry}")) {
        tracing::warn!(
            target: "b24::versions",
            code = Code::JssdkCoreDeprecatedMethod.as_str(),
            entry,
            "{entry} is deprecated; use {replacement}"
        );
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lookups() {
        assert!(V3_METHODS.windows(2).all(|w| w[0] < w[1]), "sorted for binary search");
        assert!(in_v3("crm.item.list") && in_v3("CRM.Item.List"));
        assert!(!in_v3("crm.deal.list"));
        assert!(V3_METHODS.iter().all(|m| in_v3(m) && in_v3(&m.to_ascii_uppercase())));
        assert!(!in_v3("crm.item") && !in_v3("crm.item.listx") && !in_v3("") && !in_v3("zzz"));
        let e = require_v3("crm.deal.list").err().map(|e| e.code());
        assert_eq!(e, Some(Code::JssdkCoreMethodNotSupportInApiV3.into()));
    }

    #[test]
    fn warnings_are_logged_once() {
        assert!(note_v2_call("tasks.task.tail"));
        assert!(!note_v2_call("tasks.task.tail"));
        assert!(!note_v2_call("crm.deal.list"), "not in v3: no warning");
        assert!(note_deprecated("test_entry", "x"));
        assert!(!note_deprecated("test_entry", "x"));
        assert!(note_not_detected("test.undetected"));
        assert!(!note_not_detected("test.undetected"));
    }
}
