//! The portal's failures: the error envelope (v2 and v3), one constructor for each error the
//! wire spec documents (its code, HTTP status and text in one place), and v3's spelling of them.

use serde_json::{Map, Value, json};

/// A failure: what the portal answers instead of a result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MethodError {
    pub(crate) code: String,
    pub(crate) description: String,
    pub(crate) status: u16,
    /// v3 validation entries: (field, message).
    pub(crate) validation: Vec<(String, String)>,
    /// Extra keys of the v2 envelope (`argument`).
    pub(crate) extra: Vec<(&'static str, Value)>,
    /// Raised by the OAuth layer in front of the REST server: written in the v2 shape on v3 too.
    pub(crate) oauth_layer: bool,
}

impl MethodError {
    pub(crate) fn new(code: &str, description: impl Into<String>, status: u16) -> MethodError {
        MethodError {
            code: code.to_owned(),
            description: description.into(),
            status,
            validation: Vec::new(),
            extra: Vec::new(),
            oauth_layer: false,
        }
    }

    /// A 400 with the given code.
    pub(crate) fn bad(code: &str, description: impl Into<String>) -> MethodError {
        MethodError::new(code, description, 400)
    }

    /// The v2 envelope `{"error": CODE, "error_description": TEXT, ...extra}`.
    pub(crate) fn v2_body(&self) -> Value {
        let mut map = Map::new();
        map.insert("error".into(), Value::from(self.code.as_str()));
        map.insert("error_description".into(), Value::from(self.description.as_str()));
        for (k, v) in &self.extra {
            map.insert((*k).to_owned(), v.clone());
        }
        Value::Object(map)
    }

    /// The v3 envelope `{"error": {"code", "message", "validation"}}`.
    pub(crate) fn v3_body(&self) -> Value {
        let validation: Vec<Value> =
            self.validation.iter().map(|(field, message)| json!({"field": field, "message": message})).collect();
        json!({"error": {"code": self.code, "message": self.description, "validation": validation}})
    }

    /// The same failure as the v3 API reports it.
    pub(crate) fn into_v3(self) -> MethodError {
        let v3 = |code: &str, status: u16| {
            let mut e = MethodError::new(&format!("BITRIX_REST_V3_EXCEPTION_{code}"), self.description.clone(), status);
            e.validation.clone_from(&self.validation);
            e
        };
        match self.code.as_str() {
            _ if self.oauth_layer => self,
            "ERROR_METHOD_NOT_FOUND" => v3("METHODNOTFOUNDEXCEPTION", 400),
            "INVALID_CREDENTIALS" => v3("ACCESSDENIEDEXCEPTION", 401),
            "insufficient_scope" => v3("INSUFFICIENTSCOPEEXCEPTION", 403),
            "ACCESS_DENIED" => v3("ACCESSDENIEDEXCEPTION", 403),
            "NOT_FOUND" | "ERROR_NOT_FOUND" => v3("ENTITYNOTFOUNDEXCEPTION", 400),
            "ERROR_ARGUMENT" | "INVALID_ARG_VALUE" | "100" => {
                let field = self.extra.iter().find(|(k, _)| *k == "argument").and_then(|(_, v)| v.as_str());
                let mut e = v3("VALIDATION_REQUESTVALIDATIONEXCEPTION", 400);
                if let Some(field) = field {
                    e.validation.push((field.to_owned(), self.description.clone()));
                }
                e
            }
            _ => self,
        }
    }
}

/// 503 `QUERY_LIMIT_EXCEEDED`: the request-rate bucket is over its capacity.
pub(crate) fn query_limit() -> MethodError {
    MethodError::new("QUERY_LIMIT_EXCEEDED", "Too many requests", 503)
}

/// 429 `OPERATION_TIME_LIMIT`: the method's operating-time budget is spent.
pub(crate) fn operation_time_limit() -> MethodError {
    MethodError::new("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", 429)
}

/// 503 `OVERLOAD_LIMIT`: the REST API is blocked by hand.
pub(crate) fn overload() -> MethodError {
    MethodError::new("OVERLOAD_LIMIT", "REST API is blocked due to overload.", 503)
}

/// 401 `expired_token` (the OAuth layer: the v2 shape on both APIs).
pub(crate) fn expired_token() -> MethodError {
    MethodError { oauth_layer: true, ..MethodError::new("expired_token", "The access token provided has expired", 401) }
}

/// 401 `invalid_token` (the OAuth layer).
pub(crate) fn invalid_token() -> MethodError {
    MethodError { oauth_layer: true, ..MethodError::new("invalid_token", "The access token provided is invalid", 401) }
}

/// 401 `NO_AUTH_FOUND`: no credentials at all.
pub(crate) fn no_auth() -> MethodError {
    MethodError::new("NO_AUTH_FOUND", "Wrong authorization data", 401)
}

/// 401 `INVALID_CREDENTIALS`: a wrong webhook secret (the docs say 403, a live portal 401).
pub(crate) fn invalid_credentials() -> MethodError {
    MethodError::new("INVALID_CREDENTIALS", "Invalid request credentials", 401)
}

/// 401 `INVALID_REQUEST` "Https required." for a webhook over plain http.
pub(crate) fn https_required() -> MethodError {
    MethodError::new("INVALID_REQUEST", "Https required.", 401)
}

/// 401 `insufficient_scope`.
pub(crate) fn insufficient_scope() -> MethodError {
    MethodError::new(
        "insufficient_scope",
        "The request requires higher privileges than provided by the access token",
        401,
    )
}

/// 404 `ERROR_METHOD_NOT_FOUND`.
pub(crate) fn method_not_found() -> MethodError {
    MethodError::new("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
}

/// `ERROR_BATCH_METHOD_NOT_ALLOWED` for `batch`, `download`, `upload` inside a batch.
pub(crate) fn batch_method_not_allowed() -> MethodError {
    MethodError::bad("ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")
}

/// `ERROR_BATCH_LENGTH_EXCEEDED` for the 51st command on.
pub(crate) fn batch_length_exceeded() -> MethodError {
    MethodError::bad("ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
}

/// 400 `ERROR_ARGUMENT` naming the argument (an `ArgumentException` in a handler).
pub(crate) fn argument(name: &str) -> MethodError {
    let mut e = MethodError::bad("ERROR_ARGUMENT", format!("Argument '{name}' is null or empty"));
    e.extra.push(("argument", Value::from(name)));
    e
}

/// 400 `100` "Could not find value for parameter {name}" (the controller engine's binder).
pub(crate) fn missing_parameter(name: &str) -> MethodError {
    let mut e = MethodError::bad("100", format!("Could not find value for parameter {{{name}}}"));
    e.extra.push(("argument", Value::from(name)));
    e
}

/// The legacy CRM methods' 400 with an empty code.
pub(crate) fn legacy(text: &str) -> MethodError {
    MethodError::bad("", text)
}

/// `NOT_FOUND` of the universal (`crm.item.*`-style) methods.
pub(crate) fn not_found() -> MethodError {
    MethodError::bad("NOT_FOUND", "Element not found")
}

/// 500 when the emulator's own state is unreadable.
pub(crate) fn internal() -> MethodError {
    MethodError::new("INTERNAL_SERVER_ERROR", "Internal server error", 500)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_spellings() {
        assert_eq!(not_found().into_v3().code, "BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION");
        let e = argument("entityTypeId").into_v3();
        assert_eq!(e.code, "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION");
        assert_eq!(e.v3_body()["error"]["validation"][0]["field"], "entityTypeId");
        let expired = expired_token().into_v3();
        assert_eq!(expired.code, "expired_token");
        assert!(expired.oauth_layer, "written in the v2 shape");
        assert_eq!(argument("x").v2_body()["argument"], "x");
    }
}
