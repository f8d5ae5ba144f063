//! How a failed command is reported: one line (code, status, method, what to do) and an exit
//! code — 1 for a portal or network failure, 2 for a usage or configuration problem.
//!
//! The code table's fixes speak to library users (methods, builder settings); a person at a
//! shell gets the tool's flags and commands instead, from [`hint`].

use b24_sdk::{Code, Error};

/// A command's failure.
#[derive(Debug)]
pub struct Failure {
    error: Error,
    usage: bool,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        let usage = is_usage(&error);
        Failure { error, usage }
    }
}

/// Codes of mistakes in what the user typed or configured (the portal was never asked).
fn is_usage(e: &Error) -> bool {
    !e.is_portal_side()
        && matches!(
            e.code().known(),
            Some(
                Code::JssdkCoreB24NotInit
                    | Code::JssdkInvalidConfig
                    | Code::JssdkInvalidParams
                    | Code::JssdkInvalidWebhookUrl
                    | Code::JssdkInsecureUrl
                    | Code::JssdkInvalidMethod
                    | Code::JssdkBatchEmpty
                    | Code::JssdkBatchTooLarge
                    | Code::JssdkParamsTooLarge
                    | Code::JssdkCoreMethodNotSupportInApiV3
            )
        )
}

impl Failure {
    /// A failure that is the user's input whatever its code (a file named on the command line
    /// that cannot be read or created).
    pub fn usage(error: Error) -> Failure {
        Failure { error, usage: true }
    }

    /// The exit code.
    pub fn exit_code(&self) -> u8 {
        if self.usage { 2 } else { 1 }
    }

    /// The error line.
    pub fn line(&self) -> String {
        crate::output::error_line(&self.error)
    }
}

/// What to do about `code`, for a person at a shell.
pub fn hint(code: Code) -> Option<&'static str> {
    Some(match code {
        Code::JssdkCoreB24NotInit => {
            "pass --webhook https://<portal>/rest/<user id>/<secret>/ or set B24_WEBHOOK_URL (create one under Developer resources > Other > Inbound webhook; `b24 demo` works without a portal)"
        }
        Code::JssdkInvalidWebhookUrl | Code::InvalidCredentials => {
            "copy the webhook URL again from the portal (Developer resources > Inbound webhook)"
        }
        Code::JssdkInsecureUrl => "use https://, or --allow-http for a self-hosted portal reached over plain http",
        Code::JssdkTimeout => "raise --timeout (seconds); for *.add calls check the portal before running again",
        Code::JssdkCallAllAttemptsExhausted => "check the network and the portal; --retries raises the attempts",
        Code::JssdkTlsCertificateError => {
            "trust the portal's CA with --ca-cert FILE (or SSL_CERT_FILE); check the portal's address"
        }
        Code::JssdkTlsHandshakeError => "check the scheme: a portal without TLS needs an http:// address",
        Code::JssdkConnectError => "check the portal's address and the network",
        Code::JssdkStoreUnavailable => "check that the Redis server of --redis is running",
        Code::JssdkInvalidMethod => "name the method alone, e.g. crm.deal.list",
        Code::JssdkResponseUnexpectedShape => "check the method name: the message says what the portal answered",
        Code::JssdkResponseTooLarge => "select fewer fields (--select) or fewer rows (--filter)",
        Code::JssdkParamsTooLarge => "split the work into smaller calls",
        Code::QueryLimitExceeded | Code::OverloadLimit => {
            "the portal is refusing requests: wait, or raise --retry-budget; check for other clients on this IP"
        }
        Code::ErrorMethodNotFound => {
            "check the spelling; `b24 call methods` lists what this webhook may call (a missing scope hides a method)"
        }
        Code::OperationTimeLimit => "the method spent its operating-time budget: wait up to 10 minutes",
        Code::JssdkInvalidParams | Code::JssdkInvalidConfig | Code::JssdkIoError => return None,
        other => return cli_safe(other.fix()),
    })
}

/// The table's fix when it speaks of no library API (backticks mark code in it). The tool's own
/// hints above may quote commands in backticks.
fn cli_safe(fix: &'static str) -> Option<&'static str> {
    (!fix.contains('`') && !fix.contains("builder")).then_some(fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_problems_exit_2_and_failures_exit_1() {
        let missing = Failure::from(Error::sdk(Code::JssdkCoreB24NotInit, "no credentials"));
        assert_eq!(missing.exit_code(), 2);
        let network = Failure::from(Error::sdk(Code::JssdkNetworkError, "dropped"));
        assert_eq!(network.exit_code(), 1);
        assert_eq!(Failure::usage(Error::sdk(Code::JssdkIoError, "cannot read")).exit_code(), 2);
    }

    #[test]
    fn hints_for_a_shell_name_no_library_api() {
        for code in
            [Code::JssdkTimeout, Code::JssdkInsecureUrl, Code::JssdkTlsCertificateError, Code::JssdkInvalidParams]
        {
            let hint = hint(code).unwrap_or_default();
            assert!(!hint.contains("ClientBuilder") && !hint.contains("::"), "{code}: {hint}");
        }
        assert!(hint(Code::JssdkTimeout).is_some_and(|h| h.contains("--timeout")));
    }
}
