//! Who is calling: a webhook (user id and secret in the path) or an OAuth access token (`auth`
//! or `access_token` param, or `Authorization: Bearer`).

use http::{HeaderMap, header};
use serde_json::Value;

use crate::auth::TokenProblem;
use crate::errors::{self, MethodError};
use crate::methods;
use crate::portal::{Caller, Portal, lock};
use crate::route::RestRoute;

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
}

/// The token a request carries, if any.
fn token(params: &Value, headers: &HeaderMap) -> Option<String> {
    let from_params = |name: &str| methods::param(params, name).and_then(Value::as_str).map(str::to_owned);
    from_params("auth").or_else(|| from_params("access_token")).or_else(|| bearer(headers)).filter(|t| !t.is_empty())
}

/// Check credentials: the caller, and the access token used (OAuth).
pub(crate) fn authenticate(
    portal: &Portal,
    route: &RestRoute,
    tls: bool,
    params: &Value,
    headers: &HeaderMap,
) -> Result<(Caller, Option<String>), MethodError> {
    let settings = portal.settings.read().map_err(|_| errors::internal())?;
    if let Some((uid, secret)) = &route.webhook {
        if settings.require_https && !tls {
            return Err(errors::https_required());
        }
        if *uid != settings.webhook_user_id.to_string() || *secret != settings.webhook_secret {
            return Err(errors::invalid_credentials());
        }
        let caller =
            Caller { auth_kind: "webhook", credential: uid.clone(), api: route.api, user_id: settings.webhook_user_id };
        return Ok((caller, None));
    }
    let Some(token) = token(params, headers) else { return Err(errors::no_auth()) };
    match lock(&portal.tokens).check(&token, portal.clock.now()) {
        Ok(()) => {
            let user_id = settings.webhook_user_id;
            let caller = Caller { auth_kind: "oauth", credential: settings.client_id.clone(), api: route.api, user_id };
            Ok((caller, Some(token)))
        }
        Err(TokenProblem::Expired) => Err(errors::expired_token()),
        Err(TokenProblem::Invalid) => Err(errors::invalid_token()),
    }
}
