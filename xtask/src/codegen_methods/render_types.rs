//! Rust for the types: value lists as enums, nested params as map-backed structs with typed
//! setters, result tables as `Deserialize` structs over the lenient `de` functions.

use std::fmt::Write as _;

use super::model::{FieldTy, Param, ResultStruct, Ty, TypeDef};

/// Text safe inside a doc code span (no backticks, no line breaks).
pub(crate) fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'").replace(['\n', '\r'], " "))
}

/// `crate::a::b::Name`.
pub(crate) fn abs(module: &[String], name: &str) -> String {
    let mut parts = vec!["crate".to_owned()];
    parts.extend(module.iter().cloned());
    parts.push(name.to_owned());
    parts.join("::")
}

/// The kind marker of a scalar `Ty`, for `IntoArg<…>`.
fn marker(ty: &Ty, own: &[String]) -> Option<String> {
    Some(match ty {
        Ty::Int => "crate::rt::Int".into(),
        Ty::Float => "crate::rt::Float".into(),
        Ty::Text => "crate::rt::Text".into(),
        Ty::Flag => "crate::rt::Flag".into(),
        Ty::YesNo => "crate::rt::YesNo".into(),
        Ty::When => "crate::rt::When".into(),
        Ty::Json => "crate::rt::Json".into(),
        Ty::Upload => "crate::rt::Upload".into(),
        Ty::Content => "crate::rt::Content".into(),
        Ty::Enum(name) => abs(own, name),
        _ => return None,
    })
}

/// The argument type and the expression that turns the argument `var` into a
/// `serde_json::Value`, for a setter or constructor argument of `ty` (types of the method live
/// in `own`).
pub(crate) fn arg(ty: &Ty, own: &[String], var: &str) -> (String, String) {
    let into = format!("crate::rt::IntoArg::into_arg({var})");
    if let Some(m) = marker(ty, own) {
        return (format!("impl crate::rt::IntoArg<{m}>"), into);
    }
    match ty {
        Ty::Struct(name) => (abs(own, name), format!("{var}.0.into_value()")),
        Ty::List(inner) => match inner.as_ref() {
            Ty::Struct(name) => (
                format!("impl IntoIterator<Item = {}>", abs(own, name)),
                format!("serde_json::Value::Array({var}.into_iter().map(|v| v.0.into_value()).collect())"),
            ),
            other => match marker(other, own) {
                Some(m) => (
                    format!("impl IntoIterator<Item = impl crate::rt::IntoArg<{m}>>"),
                    format!("crate::rt::list({var})"),
                ),
                None => ("impl crate::rt::IntoArg<crate::rt::Json>".into(), into),
            },
        },
        Ty::V3Filter => ("crate::rt::V3Filter".into(), format!("{var}.into_value()")),
        _ => ("impl crate::rt::IntoArg<crate::rt::Json>".into(), into),
    }
}

/// The doc line of a param: its wire name, the docs' type, value list and default.
pub(crate) fn param_doc(p: &Param, types: &[TypeDef]) -> String {
    let mut doc = format!("{} ({})", code(&p.wire.join(".")), code(&p.doc_ty));
    if let Some(TypeDef::Enum { variants, .. }) = enum_of(&p.ty).and_then(|n| types.iter().find(|t| t.name() == n)) {
        let values: Vec<String> = variants.iter().map(|(_, v)| code(v)).collect();
        let _ = write!(doc, "; values {}", values.join(", "));
    }
    if matches!(p.ty, Ty::YesNo) {
        doc.push_str("; `true` sends `Y`, `false` sends `N`");
    }
    if let Some(d) = &p.default {
        let _ = write!(doc, "; the docs give the default {}", code(d));
    }
    doc.push('.');
    doc
}

fn enum_of(ty: &Ty) -> Option<&str> {
    match ty {
        Ty::Enum(n) => Some(n),
        Ty::List(inner) => enum_of(inner),
        _ => None,
    }
}

/// A setter: `pub fn name(self, value: …) -> Self`.
pub(crate) fn setter(out: &mut String, p: &Param, own: &[String], types: &[TypeDef], wrap: &str) {
    let doc = param_doc(p, types);
    let _ = writeln!(out, "/// {doc}");
    match (&p.ty, p.wire.as_slice()) {
        (Ty::FilterMap, [wire]) => {
            let _ = writeln!(
                out,
                "///\n/// One condition per call: the key carries the operator (`\">ID\"`, `\"%TITLE\"`, `\"@STAGE_ID\"`)."
            );
            let _ = writeln!(
                out,
                "pub fn {}(self, key: &str, value: impl Into<serde_json::Value>) -> Self {{ Self(self.0.with_entry({wire:?}, key, value.into())) }}",
                p.rust
            );
        }
        (Ty::OrderMap, [wire]) => {
            let _ = writeln!(out, "///\n/// One field per call, with `\"ASC\"` or `\"DESC\"`.");
            let _ = writeln!(
                out,
                "pub fn {}(self, field: &str, direction: impl crate::rt::IntoArg<crate::rt::Text>) -> Self {{ Self(self.0.with_entry({wire:?}, field, crate::rt::IntoArg::into_arg(direction))) }}",
                p.rust
            );
        }
        _ => {
            let (ty, expr) = arg(&p.ty, own, "value");
            let set = match p.wire.as_slice() {
                [a, b] => format!("with_entry({a:?}, {b:?}, {expr})"),
                _ => format!("with({:?}, {expr})", p.wire.join(".")),
            };
            let _ = writeln!(out, "{wrap}pub fn {}(self, value: {ty}) -> Self {{ Self(self.0.{set}) }}", p.rust);
        }
    }
}

/// The arguments and the chained `.with(…)` calls that set the required params.
pub(crate) fn required(params: &[Param], own: &[String]) -> (String, String) {
    let mut args = String::new();
    let mut sets = String::new();
    for p in params.iter().filter(|p| p.required) {
        let (ty, expr) = arg(&p.ty, own, &p.rust);
        let _ = write!(args, ", {}: {ty}", p.rust);
        match p.wire.as_slice() {
            [a, b] => {
                let _ = write!(sets, ".with_entry({a:?}, {b:?}, {expr})");
            }
            _ => {
                let _ = write!(sets, ".with({:?}, {expr})", p.wire.join("."));
            }
        }
    }
    (args, sets)
}

/// One type of a method's module.
pub(crate) fn type_def(out: &mut String, def: &TypeDef, own: &[String], method: &str, types: &[TypeDef]) {
    match def {
        TypeDef::Enum { name, variants, numeric } => {
            let _ = writeln!(out, "/// The values the docs list for a param of {}.", code(method));
            let _ =
                writeln!(out, "#[derive(Debug, Clone, PartialEq, Eq, Hash)]\n#[non_exhaustive]\npub enum {name} {{");
            for (v, literal) in variants {
                let _ = writeln!(out, "/// {}\n{v},", code(literal));
            }
            let _ = writeln!(out, "/// A value the docs do not list, sent as written.\nOther(String),\n}}");
            let _ = writeln!(
                out,
                "impl crate::rt::WireEnum for {name} {{ #[inline] fn to_wire(&self) -> serde_json::Value {{ let text = match self {{"
            );
            for (v, literal) in variants {
                let _ = writeln!(out, "Self::{v} => {literal:?},");
            }
            let _ = writeln!(out, "Self::Other(v) => v.as_str(), }};");
            if *numeric {
                let _ = writeln!(
                    out,
                    "text.parse::<i64>().map_or_else(|_| serde_json::Value::from(text), serde_json::Value::from) }} }}"
                );
            } else {
                let _ = writeln!(out, "serde_json::Value::from(text) }} }}");
            }
        }
        TypeDef::Struct { name, fields } => {
            let _ = writeln!(
                out,
                "/// A nested param of {} (set its documented fields with the setters, others with `set`).",
                code(method)
            );
            let has_required = fields.iter().any(|f| f.required);
            let default = if has_required { "" } else { ", Default" };
            let _ = writeln!(
                out,
                "#[derive(Clone, PartialEq{default})]\n#[must_use]\npub struct {name}(pub(crate) crate::rt::Object);"
            );
            let _ = writeln!(
                out,
                "impl std::fmt::Debug for {name} {{ #[inline] fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{ self.0.fmt(f) }} }}"
            );
            let _ = writeln!(out, "impl {name} {{");
            let (args, sets) = required(fields, own);
            let args = args.trim_start_matches(", ");
            let _ = writeln!(out, "/// A value with the required fields set.");
            let _ = writeln!(out, "pub fn new({args}) -> Self {{ Self(crate::rt::Object::default(){sets}) }}");
            for f in fields.iter().filter(|f| !f.required) {
                setter(out, f, own, types, "");
            }
            let _ = writeln!(
                out,
                "/// Any field by its wire name (custom `UF_*` fields, fields newer than the catalogue)."
            );
            let _ = writeln!(
                out,
                "pub fn set(self, key: &str, value: impl Into<serde_json::Value>) -> Self {{ Self(self.0.with(key, value.into())) }}"
            );
            let _ = writeln!(out, "}}");
        }
    }
}

/// The Rust type of a result field (each read leniently, `runtime/fields.rs`).
fn field_rust(ty: &FieldTy) -> String {
    match ty {
        FieldTy::Int => "Option<i64>".into(),
        FieldTy::Float => "Option<f64>".into(),
        FieldTy::Bool => "Option<bool>".into(),
        FieldTy::Text => "Option<String>".into(),
        FieldTy::DateTime => "Option<crate::DateTime>".into(),
        FieldTy::Date => "Option<crate::Date>".into(),
        FieldTy::Json => "Option<serde_json::Value>".into(),
        FieldTy::Struct(path) => format!("Option<Box<crate::{path}>>"),
    }
}

/// A result struct, and its `Deserialize` through `Fields` (one `match` over the keys).
pub(crate) fn result_struct(out: &mut String, s: &ResultStruct, used_by: &[String]) {
    let users: Vec<String> = used_by.iter().map(|u| code(u)).collect();
    if s.entity {
        let _ = writeln!(
            out,
            "/// A record as {} answer{} (every field optional: `select` may leave any out).",
            users.join(", "),
            if users.len() == 1 { "s" } else { "" }
        );
    } else {
        let _ = writeln!(out, "/// What {} answers.", users.join(", "));
    }
    let name = &s.name;
    let _ = writeln!(out, "#[derive(Debug, Clone, PartialEq, Default)]\n#[non_exhaustive]\npub struct {name} {{");
    for f in &s.fields {
        let _ = writeln!(out, "/// {} ({}).\npub {}: {},", code(&f.wire), code(&f.doc_ty), f.rust, field_rust(&f.ty));
    }
    let _ = writeln!(out, "}}");
    let _ = writeln!(out, "impl crate::rt::Fields for {name} {{ const NAME: &'static str = {name:?};");
    let _ = writeln!(
        out,
        "fn field<'de, A: serde::de::MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {{ match key {{"
    );
    for f in &s.fields {
        let _ = writeln!(out, "{:?} => self.{} = crate::rt::value(map, key)?,", f.wire, f.rust);
    }
    let _ = writeln!(out, "_ => crate::rt::skip(map)?, }} Ok(()) }} }}");
    let _ = writeln!(
        out,
        "impl<'de> serde::Deserialize<'de> for {name} {{ fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {{ crate::rt::fields(d) }} }}"
    );
}
