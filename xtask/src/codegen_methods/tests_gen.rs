//! The generated tests of `b24-methods`:
//!
//! - `tests/reach.rs`: every method is reached by its accessor path and names its REST method
//!   (and, when the catalogue is there, the reached names are exactly the catalogue's);
//! - `tests/encoding.rs`: a seeded sample of methods from every scope, plus the first method
//!   with each kind of param, built with every param set; the params must be what the portal
//!   reads (the docs' names, nested objects, lists, `fileData`, enum literals), as JSON and as
//!   the PHP-bracket batch row.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::model::{Api, Method, Param, Ty, TypeDef};
use super::render_types::abs;

/// Where a method is reached.
pub(crate) struct Place {
    pub(crate) name: String,
    pub(crate) v3: bool,
    /// Accessor calls from the client (`crm`, `deal`, `list`; `call` for a method that is also a group).
    pub(crate) accessor: Vec<String>,
    /// The module of the method's types.
    pub(crate) types: Vec<String>,
}

const SEED: u64 = 0x05EE_DB24;
const PER_SCOPE: usize = 2;
/// Calls per generated test function.
const PART: usize = 40;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn hash(name: &str) -> u64 {
    name.bytes().fold(SEED, |h, b| splitmix(h ^ u64::from(b)))
}

/// A value of `ty` as a Rust expression (required args of the reach test: the simplest value).
fn dummy(ty: &Ty, types: &[TypeDef], own: &[String]) -> String {
    match ty {
        Ty::Int => "0".into(),
        Ty::Float => "0.0".into(),
        Ty::Text | Ty::When => "\"\"".into(),
        Ty::Flag | Ty::YesNo => "false".into(),
        Ty::Json => "serde_json::Value::Null".into(),
        Ty::Upload | Ty::Content => "b24_methods::File::new(\"a\", Vec::new())".into(),
        Ty::Enum(n) => format!("{}::Other(String::new())", ext(own, n)),
        Ty::Struct(n) => format!("{}::new({})", ext(own, n), required_args(struct_fields(types, n), types, own, dummy)),
        Ty::List(inner) => format!("Vec::<{}>::new()", elem_ty(inner, own)),
        Ty::V3Filter => "b24_methods::Filter::new()".into(),
        Ty::FilterMap | Ty::OrderMap => String::new(),
    }
}

fn ext(own: &[String], name: &str) -> String {
    abs(own, name).replacen("crate::", "b24_methods::", 1)
}

fn elem_ty(ty: &Ty, own: &[String]) -> String {
    match ty {
        Ty::Int => "i64".into(),
        Ty::Float => "f64".into(),
        Ty::Text | Ty::When => "String".into(),
        Ty::Flag | Ty::YesNo => "bool".into(),
        Ty::Upload | Ty::Content => "b24_methods::File".into(),
        Ty::Enum(n) | Ty::Struct(n) => ext(own, n),
        _ => "serde_json::Value".into(),
    }
}

fn struct_fields<'a>(types: &'a [TypeDef], name: &str) -> &'a [Param] {
    types
        .iter()
        .find_map(|t| match t {
            TypeDef::Struct { name: n, fields } if n == name => Some(fields.as_slice()),
            _ => None,
        })
        .unwrap_or(&[])
}

fn required_args(
    params: &[Param],
    types: &[TypeDef],
    own: &[String],
    value: fn(&Ty, &[TypeDef], &[String]) -> String,
) -> String {
    params.iter().filter(|p| p.required).map(|p| value(&p.ty, types, own)).collect::<Vec<_>>().join(", ")
}

fn chain(place: &Place, args: &str) -> String {
    let mut expr = "a".to_owned();
    for (i, step) in place.accessor.iter().enumerate() {
        let last = i + 1 == place.accessor.len();
        let _ = write!(expr, ".{step}({})", if last { args } else { "" });
    }
    expr
}

/// A sample value of `ty`: the Rust expression and the JSON the portal should receive.
fn sample(ty: &Ty, types: &[TypeDef], own: &[String]) -> (String, Value) {
    match ty {
        Ty::Int => ("7".into(), json!(7)),
        Ty::Float => ("1.5".into(), json!(1.5)),
        Ty::Text => ("\"t\"".into(), json!("t")),
        Ty::Flag => ("true".into(), json!(true)),
        Ty::YesNo => ("true".into(), json!("Y")),
        Ty::When => ("\"2025-01-31T10:00:00+03:00\"".into(), json!("2025-01-31T10:00:00+03:00")),
        Ty::Json => ("serde_json::json!({\"k\": \"v\"})".into(), json!({"k": "v"})),
        Ty::Upload => {
            ("b24_methods::File::new(\"a.txt\", b\"hi\".to_vec())".into(), json!({"fileData": ["a.txt", "aGk="]}))
        }
        Ty::Content => ("b24_methods::File::new(\"a.txt\", b\"hi\".to_vec())".into(), json!(["a.txt", "aGk="])),
        Ty::Enum(n) => match types.iter().find(|t| t.name() == n) {
            Some(TypeDef::Enum { variants, numeric, .. }) if !variants.is_empty() => {
                let (v, literal) = &variants[0];
                let wire = if *numeric {
                    literal.parse::<i64>().map_or_else(|_| json!(literal), |n| json!(n))
                } else {
                    json!(literal)
                };
                (format!("{}::{v}", ext(own, n)), wire)
            }
            _ => (format!("{}::Other(\"x\".into())", ext(own, n)), json!("x")),
        },
        Ty::Struct(n) => {
            let fields = struct_fields(types, n);
            let mut expr = format!("{}::new(", ext(own, n));
            let mut wire = serde_json::Map::new();
            let mut args = Vec::new();
            for f in fields.iter().filter(|f| f.required) {
                let (e, v) = sample(&f.ty, types, own);
                args.push(e);
                put(&mut wire, &f.wire, v);
            }
            expr.push_str(&args.join(", "));
            expr.push(')');
            for f in fields.iter().filter(|f| !f.required) {
                let (e, v) = sample(&f.ty, types, own);
                let _ = write!(expr, ".{}({e})", f.rust);
                put(&mut wire, &f.wire, v);
            }
            (expr, Value::Object(wire))
        }
        Ty::List(inner) => {
            let (e, v) = sample(inner, types, own);
            (format!("vec![{e}]"), json!([v]))
        }
        Ty::V3Filter => ("b24_methods::Filter::new().ge(\"id\", 1)".into(), json!([["id", ">=", 1]])),
        Ty::FilterMap | Ty::OrderMap => (String::new(), Value::Null),
    }
}

fn put(map: &mut serde_json::Map<String, Value>, wire: &[String], value: Value) {
    match wire {
        [a, b] => {
            let slot = map.entry(a.clone()).or_insert_with(|| json!({}));
            if let Value::Object(inner) = slot {
                inner.insert(b.clone(), value);
            }
        }
        _ => {
            map.insert(wire.join("."), value);
        }
    }
}

fn kinds(ty: &Ty, out: &mut BTreeSet<&'static str>) {
    if let Ty::List(inner) = ty {
        kinds(inner, out);
    }
    out.insert(match ty {
        Ty::Struct(_) => "struct",
        Ty::List(_) => "list",
        Ty::Upload => "file",
        Ty::Content => "file content",
        Ty::Enum(_) => "enum",
        Ty::YesNo => "Y/N",
        Ty::FilterMap => "filter",
        Ty::OrderMap => "order",
        Ty::V3Filter => "v3 filter",
        _ => "scalar",
    });
}

/// The sampled methods: `PER_SCOPE` per scope (seeded), and the first with each kind of param.
fn sampled(methods: &[Method]) -> Vec<&Method> {
    let mut by_scope: BTreeMap<(bool, &str), Vec<&Method>> = BTreeMap::new();
    for m in methods.iter().filter(|m| !m.params.is_empty()) {
        by_scope.entry((m.api == Api::V3, &m.scope)).or_default().push(m);
    }
    let mut picked: BTreeSet<&str> = BTreeSet::new();
    for list in by_scope.values_mut() {
        list.sort_by_key(|m| hash(&m.name));
        picked.extend(list.iter().take(PER_SCOPE).map(|m| m.name.as_str()));
    }
    let mut ordered: Vec<&Method> = methods.iter().collect();
    ordered.sort_by_key(|m| hash(&m.name));
    let mut covered = BTreeSet::new();
    for m in &ordered {
        let mut k = BTreeSet::new();
        m.params.iter().for_each(|p| kinds(&p.ty, &mut k));
        if !k.is_subset(&covered) {
            picked.insert(&m.name);
            covered.extend(k);
        }
    }
    methods.iter().filter(|m| picked.contains(m.name.as_str())).collect()
}

/// The opening of a generated test file: its doc, the lints, `common` and the prelude.
fn header(doc: &str) -> String {
    format!(
        "{doc}//!\n//! Generated by `cargo xtask codegen` from the Bitrix24 method catalogue. Do not edit by hand.\n\n\
         #![allow(deprecated, clippy::too_many_lines)]\n\nmod common;\n\nuse b24_methods::prelude::*;\n\n"
    )
}

/// `statements` in functions of `PART` each (`fn part_N(a: &Actions, out: &mut Vec<ty>)`: one
/// huge function takes the compiler minutes), and the calls that run them all into `out`.
fn parts(w: &mut String, statements: &[String], ty: &str) -> String {
    let mut calls = String::new();
    for (n, chunk) in statements.chunks(PART).enumerate() {
        let _ = writeln!(w, "fn part_{n}(a: &b24_methods::Actions, out: &mut Vec<{ty}>) {{\n{}}}\n", chunk.join("\n"));
        let _ = writeln!(calls, "    part_{n}(&a, &mut out);");
    }
    calls
}

fn reach(methods: &[Method], places: &[Place]) -> String {
    let by_name: BTreeMap<(bool, &str), &Method> =
        methods.iter().map(|m| ((m.api == Api::V3, m.name.as_str()), m)).collect();
    let v2 = methods.iter().filter(|m| m.api == Api::V2).count();
    let v3 = methods.len() - v2;
    let mut w = header(&format!(
        "//! Every method is reached by its path and names its REST method: {v2} v2 methods and {v3} v3 paths.\n"
    ));
    w.push_str(
        "fn name<M: Method>(_: M) -> (&'static str, bool) { (M::NAME, M::API == b24_methods::ApiVersion::V3) }\n\n",
    );
    let statements: Vec<String> = places
        .iter()
        .filter_map(|p| {
            let m = by_name.get(&(p.v3, p.name.as_str()))?;
            let args = required_args(&m.params, &m.types, &p.types, dummy);
            Some(format!("out.push(({:?}, name({})));", p.name, chain(p, &args)))
        })
        .collect();
    let calls = parts(&mut w, &statements, "(&'static str, (&'static str, bool))");
    let _ = writeln!(
        w,
        r#"#[tokio::test]
async fn every_method_is_reachable() {{
    let a = common::offline_actions();
    // (REST name, what the reached builder says: its name and whether it is v3).
    let mut out = Vec::new();
{calls}    for (want, (got, _)) in &out {{
        assert_eq!(want, got);
    }}
    let v3 = out.iter().filter(|(_, (_, v3))| *v3).count();
    assert_eq!((out.len() - v3, v3), ({v2}, {v3}), "v2 methods and v3 paths reached");
    common::compare_with_catalogue(out.iter().map(|(_, got)| *got));
}}"#
    );
    w
}

/// One sampled method with every param set: the expression and the params it must send.
fn encoding_case(m: &Method, place: &Place) -> String {
    let own = &place.types;
    let mut wire = serde_json::Map::new();
    let mut args = Vec::new();
    for p in m.params.iter().filter(|p| p.required) {
        let (e, v) = sample(&p.ty, &m.types, own);
        args.push(e);
        put(&mut wire, &p.wire, v);
    }
    let mut expr = chain(place, &args.join(", "));
    for p in m.params.iter().filter(|p| !p.required) {
        match &p.ty {
            Ty::FilterMap => {
                let _ = write!(expr, ".{}(\">ID\", 5)", p.rust);
                wire.insert(p.wire.join("."), json!({">ID": 5}));
            }
            Ty::OrderMap => {
                let _ = write!(expr, ".{}(\"ID\", \"DESC\")", p.rust);
                wire.insert(p.wire.join("."), json!({"ID": "DESC"}));
            }
            ty => {
                let (e, v) = sample(ty, &m.types, own);
                let _ = write!(expr, ".{}({e})", p.rust);
                put(&mut wire, &p.wire, v);
            }
        }
    }
    let expected = if m.positional {
        let order = m.params.iter().filter(|p| p.wire.len() == 1);
        Value::Array(order.map(|p| wire.remove(&p.wire[0]).unwrap_or(Value::Null)).collect())
    } else {
        Value::Object(wire)
    };
    format!("out.push((case({expr}), {}, r#\"{expected}\"#));", m.api == Api::V3)
}

fn encoding(methods: &[Method], places: &[Place]) -> String {
    let by_name: BTreeMap<(bool, &str), &Place> = places.iter().map(|p| ((p.v3, p.name.as_str()), p)).collect();
    let sample_methods = sampled(methods);
    let mut w = header(&format!(
        "//! {} sampled methods (seed {SEED:#x}: {PER_SCOPE} per scope and the first with each kind of param),\n\
         //! every param set: the params must be what the portal reads, as JSON and as a batch row.\n",
        sample_methods.len()
    ));
    w.push_str("fn case<M: Method>(m: M) -> (&'static str, bool, serde_json::Value, b24_methods::Command) { (M::NAME, !M::POSITIONAL.is_empty(), m.wire_params(), m.into_command()) }\n\n");
    let statements: Vec<String> = sample_methods
        .into_iter()
        .filter_map(|m| by_name.get(&(m.api == Api::V3, m.name.as_str())).map(|place| encoding_case(m, place)))
        .collect();
    let calls = parts(&mut w, &statements, "common::Case");
    let _ = writeln!(
        w,
        "#[tokio::test]\nasync fn sampled_methods_encode_as_the_portal_reads() {{\n    let a = common::offline_actions();\n    let mut out = Vec::new();\n{calls}    common::check_encodings(out);\n}}"
    );
    w
}

/// The generated test files.
pub(crate) fn files(methods: &[Method], places: &[Place]) -> Vec<super::GenFile> {
    vec![
        ("crates/b24-methods/tests/reach.rs".to_owned(), reach(methods, places), true),
        ("crates/b24-methods/tests/encoding.rs".to_owned(), encoding(methods, places), true),
    ]
}
