//! The one mapping from catalogue names to Rust names (written down for users in the crate docs
//! of `b24-methods`, "From method name to Rust path").

/// Rust keywords (strict, reserved and weak ones that cannot name a function or module).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
    "try", "type", "typeof", "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// The words of a name: split at non-alphanumerics, before a capital that follows a lower-case
/// letter or digit, and before the last capital of a capital run followed by a lower-case letter.
pub(crate) fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !current.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower) {
                words.push(std::mem::take(&mut current));
            }
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// A snake_case identifier: `uploadFile` → `upload_file`, `type` → `type_`, `1c` → `n1c`.
pub(crate) fn snake(name: &str) -> String {
    let joined = words(name).join("_");
    let base = match joined.chars().next() {
        None => "x".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("n{joined}"),
        Some(_) => joined,
    };
    if KEYWORDS.contains(&base.as_str()) { format!("{base}_") } else { base }
}

/// A CamelCase type name: `getFields` → `GetFields`, `catalog_product` → `CatalogProduct`.
pub(crate) fn camel(name: &str) -> String {
    let joined: String = words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    match joined.chars().next() {
        None => "X".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("V{joined}"),
        Some(_) => joined,
    }
}

/// Whether `name` is a plain identifier (`[A-Za-z_][A-Za-z0-9_]*`).
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `base`, or `base_2`, `base_3`… — the first not in `taken`; records the choice.
pub(crate) fn unique(base: String, taken: &mut std::collections::BTreeSet<String>) -> String {
    if taken.insert(base.clone()) {
        return base;
    }
    let mut n = 2;
    loop {
        let candidate = if base.ends_with('_') { format!("{base}{n}") } else { format!("{base}_{n}") };
        if taken.insert(candidate.clone()) {
            return candidate;
        }
        n += 1;
    }
}

/// Prelude names a generated type must not hide.
pub(crate) const PRELUDE: &[&str] =
    &["Result", "Option", "Some", "None", "Ok", "Err", "Vec", "String", "Box", "Default", "Clone", "Self"];

/// A type name from [`camel`], with `Value` appended when it would hide a prelude name
/// (`result` → `ResultValue`).
pub(crate) fn type_name(name: &str) -> String {
    let c = camel(name);
    if PRELUDE.contains(&c.as_str()) { format!("{c}Value") } else { c }
}

/// `base`, or `base2`, `base3`… — for CamelCase names.
pub(crate) fn unique_camel(base: String, taken: &mut std::collections::BTreeSet<String>) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}{n}");
        n += 1;
    }
    name
}

/// The URL of a docs page from its path in b24restdocs.
pub(crate) fn doc_url(doc: &str) -> String {
    let page = doc.strip_suffix(".md").unwrap_or(doc);
    format!("https://apidocs.bitrix24.com/{page}.html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases() {
        for (name, want) in [
            ("uploadFile", "upload_file"),
            ("getHTMLText", "get_html_text"),
            ("Flow", "flow"),
            ("USER_ID", "user_id"),
            ("sonet_group", "sonet_group"),
            ("productrows", "productrows"),
            ("type", "type_"),
            ("enum", "enum_"),
            ("move", "move_"),
            ("self", "self_"),
            ("1c", "n1c"),
            ("B24Connector", "b24_connector"),
            ("fields.CONTACT_ID", "fields_contact_id"),
        ] {
            assert_eq!(snake(name), want, "{name}");
        }
    }

    #[test]
    fn camel_cases() {
        for (name, want) in
            [("getFields", "GetFields"), ("catalog_product", "CatalogProduct"), ("list", "List"), ("2", "V2")]
        {
            assert_eq!(camel(name), want, "{name}");
        }
    }

    #[test]
    fn uniqueness_and_urls() {
        let mut taken = std::collections::BTreeSet::new();
        assert_eq!(unique("id".into(), &mut taken), "id");
        assert_eq!(unique("id".into(), &mut taken), "id_2");
        assert_eq!(unique("type_".into(), &mut taken), "type_");
        assert_eq!(unique("type_".into(), &mut taken), "type_2");
        assert_eq!(
            doc_url("api-reference/crm/deals/crm-deal-add.md"),
            "https://apidocs.bitrix24.com/api-reference/crm/deals/crm-deal-add.html"
        );
        assert!(is_identifier("UF_CRM_1") && !is_identifier("UF_CRM_...") && !is_identifier("1a"));
    }
}
