//! Key names. Every key starts with the store's prefix (default `b24`) and holds its group in
//! a Redis Cluster hash tag (`{…}`), so that the keys one script touches share a slot.
//!
//! | key | type | what |
//! |-----|------|------|
//! | `b24:bucket:{<portal>\|<source>}` | hash | bucket level, its time, the ceiling |
//! | `b24:bucket:{<portal>\|<source>}:flight` | sorted set | requests in flight, scored by expiry |
//! | `b24:op:{<portal>\|<app>}:<method>` | hash | operating, reset time, cost, block |
//! | `b24:op:{<portal>\|<app>}:<method>:flight` | sorted set | calls in flight, scored by expiry |
//! | `b24:tokens:{<portal>\|<app>}` | string | the token pair (JSON), only when allowed |
//! | `b24:tokens:{<portal>\|<app>}:lock` | string | the refresh lock (owner, with expiry) |

use b24_transport::shared::Scope;

/// Keep a key part printable and free of hash-tag braces.
fn part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_graphic() && c != '{' && c != '}' { c } else { '_' }).collect()
}

/// The bucket's two keys.
pub(crate) fn bucket(prefix: &str, scope: &Scope, source: &str) -> [String; 2] {
    let base = format!("{}:bucket:{{{}|{}}}", part(prefix), part(&scope.portal), part(source));
    [base.clone(), base + ":flight"]
}

/// The tag shared by all of an app's operating keys; a method's keys append `:<method>`.
pub(crate) fn operating_base(prefix: &str, scope: &Scope) -> String {
    format!("{}:op:{{{}|{}}}", part(prefix), part(&scope.portal), part(&scope.app))
}

/// One method's two operating keys under `base`.
pub(crate) fn operating(base: &str, method: &str) -> [String; 2] {
    let key = format!("{base}:{}", part(method));
    [key.clone(), key + ":flight"]
}

/// The token pair's key and its lock's.
pub(crate) fn tokens(prefix: &str, scope: &Scope) -> [String; 2] {
    let base = format!("{}:tokens:{{{}|{}}}", part(prefix), part(&scope.portal), part(&scope.app));
    [base.clone(), base + ":lock"]
}

/// This host's name, which namespaces the bucket (the portal counts per source IP): the
/// `HOSTNAME` variable, else the kernel's host name, else `localhost`.
pub(crate) fn this_host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_and_tagged() {
        let scope = Scope { portal: "example.bitrix24.com".into(), app: "local.abc".into() };
        assert_eq!(
            bucket("b24", &scope, "worker-1"),
            [
                "b24:bucket:{example.bitrix24.com|worker-1}".to_owned(),
                "b24:bucket:{example.bitrix24.com|worker-1}:flight".to_owned()
            ]
        );
        let base = operating_base("b24", &scope);
        assert_eq!(operating(&base, "crm.deal.list")[0], "b24:op:{example.bitrix24.com|local.abc}:crm.deal.list");
        assert_eq!(tokens("b24", &scope)[1], "b24:tokens:{example.bitrix24.com|local.abc}:lock");
        assert_eq!(part("a {b}\n"), "a__b__");
    }
}
