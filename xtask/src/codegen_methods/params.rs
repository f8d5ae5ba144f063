//! Params: from the catalogue's rows (and the OpenAPI's properties, through the same model) to
//! typed setters, nested structs and enums.

use std::collections::BTreeSet;

use super::model::{Param, Ty, TypeDef};
use super::naming::{camel, is_identifier, snake, type_name, unique, unique_camel};

/// Names a builder must not use for a setter: the methods of `Method` and `ListMethod`, and of
/// the derived traits. A param with one of them gets a `_param` suffix.
pub(crate) const BUILDER_RESERVED: &[&str] = &[
    "with_param",
    "wire_params",
    "send",
    "send_as",
    "send_raw",
    "into_command",
    "request",
    "into_request",
    "from_request",
    "query",
    "fetch",
    "fetch_as",
    "all",
    "all_as",
    "clone",
    "clone_from",
    "fmt",
    "eq",
    "ne",
];

/// Names a nested-param struct keeps for itself.
pub(crate) const STRUCT_RESERVED: &[&str] =
    &["new", "set", "into_value", "clone", "clone_from", "fmt", "default", "eq", "ne"];

/// The types one method's module collects, named without clashes: a type gets its short name
/// (the param's own name) unless another type already has it, then its path name; an identical
/// type is shared. A struct reserves its name before its nested structs are named, so that the
/// outer param keeps the short name (`fields` → `Fields`, a `fields` nested in it → `FieldsCheckListTreeFields`).
#[derive(Default)]
pub(crate) struct TypeCtx {
    pub(crate) types: Vec<TypeDef>,
    reserved: BTreeSet<String>,
}

impl TypeCtx {
    /// Choose and hold a name for a type about to be built.
    fn reserve(&mut self, short: String, long: String) -> String {
        let mut taken: BTreeSet<String> = self.types.iter().map(|t| t.name().to_owned()).collect();
        taken.extend(self.reserved.iter().cloned());
        let name = if taken.contains(&short) { unique_camel(long, &mut taken) } else { short };
        self.reserved.insert(name.clone());
        name
    }

    /// The type built under `reserved`: an identical existing type if there is one (the
    /// reservation is given back), else a new one under the reserved name.
    fn finish(&mut self, reserved: String, make: impl Fn(String) -> TypeDef) -> String {
        self.reserved.remove(&reserved);
        if let Some(existing) = self.types.iter().find(|t| **t == make(t.name().to_owned())) {
            return existing.name().to_owned();
        }
        self.types.push(make(reserved.clone()));
        reserved
    }
}

/// A param row, independent of where it came from.
pub(crate) struct Row<'a> {
    pub(crate) name: &'a str,
    pub(crate) ty: &'a str,
    pub(crate) required: bool,
    pub(crate) values: &'a [String],
    pub(crate) default: Option<&'a str>,
    pub(crate) fields: Vec<Row<'a>>,
}

/// `id^*^` → (`id`, required); `LANGUAGE_ID (LANG)` → `LANGUAGE_ID`.
fn clean(name: &str) -> (String, bool) {
    let mut name = name.trim();
    let mut required = false;
    if let Some(stripped) = name.strip_suffix("^*^") {
        name = stripped;
        required = true;
    }
    if let Some(open) = name.find(" (") {
        name = &name[..open];
    }
    (name.trim().to_owned(), required)
}

fn is_scalar(ty: &str) -> bool {
    let t = ty.to_ascii_lowercase();
    !(t.contains("object") || t.contains("array"))
}

fn single(token: &str) -> Ty {
    if let Some(inner) = token.strip_prefix("array<").and_then(|r| r.strip_suffix('>')) {
        return Ty::List(Box::new(single(inner)));
    }
    let t = token.trim().to_ascii_lowercase();
    match t.as_str() {
        "integer" | "int" | "int64" | "long" | "user" | "user.id" => Ty::Int,
        "crm_company" | "crm_contact" | "crm_lead" | "crm_deal" | "crm_quote" | "crm_category" | "crm_invoice"
        | "crm_item" | "crm_activity" | "crm_requisite" | "crm_product" | "crm_smart_invoice" => Ty::Int,
        _ if t.ends_with(".id") => Ty::Int,
        "double" | "float" | "number" | "decimal" => Ty::Float,
        "string"
        | "text"
        | "char"
        | "crm_status"
        | "crm_currency"
        | "crm_currency.currency"
        | "enum"
        | "time"
        | "location" => Ty::Text,
        "boolean" | "bool" => Ty::Flag,
        "date" | "datetime" | "date-time" => Ty::When,
        "file" | "product_file" => Ty::Upload,
        // The docs' `array` is a PHP array: a list or a map. Only `array<T>` is surely a list.
        "array" => Ty::Json,
        _ => Ty::Json,
    }
}

/// The kind of a type token (`integer`, `array<string>`, `string|null`…): a union of different
/// kinds is `Json`.
pub(crate) fn token_ty(token: &str) -> Ty {
    let parts: Vec<Ty> =
        token.split('|').map(str::trim).filter(|p| *p != "null" && !p.is_empty()).map(single).collect();
    match parts.split_first() {
        Some((first, rest)) if rest.iter().all(|t| t == first) => first.clone(),
        _ => Ty::Json,
    }
}

fn enum_def(name: String, values: &[String], numeric: bool) -> TypeDef {
    let mut taken = BTreeSet::from(["Other".to_owned()]);
    let mut variants = Vec::new();
    let mut seen = BTreeSet::new();
    for v in values {
        if seen.insert(v.clone()) {
            variants.push((unique_camel(camel(v), &mut taken), v.clone()));
        }
    }
    TypeDef::Enum { name, variants, numeric }
}

/// Builds the params of one method (or of one nested struct) into `ctx`.
pub(crate) struct Builder<'c> {
    pub(crate) ctx: &'c mut TypeCtx,
    pub(crate) content_params: &'c [String],
    /// v2 lists take `filter`/`order` as maps set entry by entry; v3 takes typed filters.
    pub(crate) v3: bool,
}

impl Builder<'_> {
    /// The params of a table: rows without a usable name (`UF_CRM_...`, `<selector>`) are left to
    /// `with_param`/`set`.
    pub(crate) fn params(&mut self, rows: &[Row<'_>], path: &[String], top: bool) -> Vec<Param> {
        let reserved = if top { BUILDER_RESERVED } else { STRUCT_RESERVED };
        let mut taken: BTreeSet<String> = reserved.iter().map(|r| r.to_string()).collect();
        let mut out = Vec::new();
        for row in rows {
            let (name, starred) = clean(row.name);
            let wire: Vec<String> = if is_identifier(&name) {
                vec![name.clone()]
            } else {
                match name.split_once('.') {
                    Some((a, b)) if top && is_identifier(a) && is_identifier(b) => vec![a.to_owned(), b.to_owned()],
                    _ => continue,
                }
            };
            let mut here = path.to_vec();
            here.push(name.clone());
            let ty = self.kind(row, &name, &here, top);
            let mut rust = snake(&name);
            if reserved.contains(&rust.as_str()) {
                rust = format!("{rust}_param");
            }
            let rust = unique(rust, &mut taken);
            let required = (row.required || starred) && !matches!(ty, Ty::FilterMap | Ty::OrderMap);
            out.push(Param {
                wire,
                rust,
                ty,
                required,
                doc_ty: row.ty.to_owned(),
                default: row.default.map(str::to_owned),
            });
        }
        out
    }

    fn kind(&mut self, row: &Row<'_>, name: &str, path: &[String], top: bool) -> Ty {
        if self.content_params.iter().any(|c| c == name) {
            return Ty::Content;
        }
        let lower = name.to_ascii_lowercase();
        if lower == "select" && row.ty.to_ascii_lowercase().starts_with("array") {
            // Field names, however the table types them.
            return Ty::List(Box::new(Ty::Text));
        }
        if top && row.fields.is_empty() {
            if lower == "filter" {
                return if self.v3 { Ty::V3Filter } else { Ty::FilterMap };
            }
            if lower == "order" && row.ty.to_ascii_lowercase().contains("object") {
                return Ty::OrderMap;
            }
        }
        if !row.values.is_empty() && is_scalar(row.ty) {
            let upper: BTreeSet<String> = row.values.iter().map(|v| v.to_ascii_uppercase()).collect();
            if upper == BTreeSet::from(["Y".to_owned(), "N".to_owned()]) {
                return Ty::YesNo;
            }
            if upper == BTreeSet::from(["TRUE".to_owned(), "FALSE".to_owned()]) {
                return Ty::Flag;
            }
            let numeric = token_ty(row.ty) == Ty::Int && row.values.iter().all(|v| v.parse::<i64>().is_ok());
            let reserved = self.ctx.reserve(type_name(name), type_name(&path.join("_")));
            return Ty::Enum(self.ctx.finish(reserved, |n| enum_def(n, row.values, numeric)));
        }
        if !row.fields.is_empty() {
            let reserved = self.ctx.reserve(type_name(name), type_name(&path.join("_")));
            let fields = self.params(&row.fields, path, false);
            let name = self.ctx.finish(reserved, |n| TypeDef::Struct { name: n, fields: fields.clone() });
            let listy = row.ty.to_ascii_lowercase().starts_with("array");
            return if listy { Ty::List(Box::new(Ty::Struct(name))) } else { Ty::Struct(name) };
        }
        token_ty(row.ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(token_ty("integer"), Ty::Int);
        assert_eq!(token_ty("catalog_product.id"), Ty::Int);
        assert_eq!(token_ty("sale_delivery_service.ID"), Ty::Int);
        assert_eq!(token_ty("string|null"), Ty::Text);
        assert_eq!(token_ty("integer|string"), Ty::Json);
        assert_eq!(token_ty("array<crm_contact>"), Ty::List(Box::new(Ty::Int)));
        assert_eq!(token_ty("crm_multifield"), Ty::Json);
        assert_eq!(token_ty("unknown"), Ty::Json);
    }

    fn row<'a>(name: &'a str, ty: &'a str, values: &'a [String]) -> Row<'a> {
        Row { name, ty, required: false, values, default: None, fields: Vec::new() }
    }

    #[test]
    fn kinds_names_and_shared_types() {
        let yn = vec!["Y".to_owned(), "N".to_owned()];
        let prio = vec!["2".to_owned(), "1".to_owned(), "0".to_owned()];
        let mut ctx = TypeCtx::default();
        let mut b = Builder { ctx: &mut ctx, content_params: &["fileContent".to_owned()], v3: false };
        let rows = vec![
            row("OPENED", "char", &yn),
            row("priority", "integer", &prio),
            row("id^*^", "integer", &[]),
            row("ID", "integer", &[]),
            row("send", "string", &[]),
            row("filter", "object", &[]),
            row("fileContent", "array", &[]),
            row("UF_CRM_...", "unknown", &[]),
            row("fields.CONTACT_ID", "integer", &[]),
        ];
        let params = b.params(&rows, &[], true);
        let got: Vec<(&str, &Ty, bool)> = params.iter().map(|p| (p.rust.as_str(), &p.ty, p.required)).collect();
        assert_eq!(
            got,
            vec![
                ("opened", &Ty::YesNo, false),
                ("priority", &Ty::Enum("Priority".into()), false),
                ("id", &Ty::Int, true),
                ("id_2", &Ty::Int, false),
                ("send_param", &Ty::Text, false),
                ("filter", &Ty::FilterMap, false),
                ("file_content", &Ty::Content, false),
                ("fields_contact_id", &Ty::Int, false),
            ]
        );
        assert_eq!(params[7].wire, vec!["fields".to_owned(), "CONTACT_ID".to_owned()]);
        match &ctx.types[0] {
            TypeDef::Enum { variants, numeric, .. } => {
                assert!(*numeric);
                assert_eq!(variants[0], ("V2".to_owned(), "2".to_owned()));
            }
            other => panic!("{other:?}"),
        }
    }
}
