//! `rest.documentation.openapi`: a small OpenAPI document listing the v3 methods served, sent
//! as the whole body (outside the `result` envelope).

use serde_json::{Map, Value, json};

use super::Ctx;
use super::registry;
use crate::portal::{Api, MethodResult, Outcome};

/// The document for the v3 registry.
pub(crate) fn openapi_document() -> Value {
    let mut paths = Map::new();
    for method in registry::all(Api::V3) {
        paths.insert(
            format!("/{}", method.name),
            json!({"post": {
                "operationId": method.name,
                "summary": format!("{} (scope: {})", method.name, if method.scope.is_empty() { "none" } else { method.scope }),
                "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": {"description": "result envelope"}},
            }}),
        );
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Bitrix24 REST v3 (b24-emulator)", "version": "3"},
        "servers": [{"url": "/rest/api"}],
        "paths": paths,
    })
}

pub(crate) fn document(_ctx: &mut Ctx<'_>, _params: &Value) -> MethodResult {
    Ok(Outcome { result: openapi_document(), raw: true, ..Outcome::default() })
}
