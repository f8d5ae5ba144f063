//! The generator's model of one method, independent of v2 or v3: what `render.rs` writes and
//! what the coverage table and the generated tests count.

/// The API a method belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Api {
    V2,
    V3,
}

/// How a param's value is typed in Rust and sent on the wire (the kinds of `b24_methods::arg`).
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub(crate) enum Ty {
    Int,
    Float,
    Text,
    Flag,
    YesNo,
    When,
    Json,
    Upload,
    Content,
    /// A generated enum, by its name in the method's module.
    Enum(String),
    /// A generated nested-param struct, by its name in the method's module.
    Struct(String),
    List(Box<Ty>),
    /// A v2 `filter` map: one `filter(key, value)` call per condition.
    FilterMap,
    /// A v2 or v3 `order` map: one `order(field, direction)` call per field.
    OrderMap,
    /// A v3 filter: `b24_methods::Filter`.
    V3Filter,
}

/// One param (or one field of a nested param struct).
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub(crate) struct Param {
    /// The wire name; two segments for the catalogue's `fields.CONTACT_ID` rows.
    pub(crate) wire: Vec<String>,
    /// The setter (or constructor argument) name.
    pub(crate) rust: String,
    pub(crate) ty: Ty,
    pub(crate) required: bool,
    /// The docs' type token, for the setter's doc.
    pub(crate) doc_ty: String,
    /// The literal default the docs give.
    pub(crate) default: Option<String>,
}

/// A type a method's module holds.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub(crate) enum TypeDef {
    Struct { name: String, fields: Vec<Param> },
    Enum { name: String, variants: Vec<(String, String)>, numeric: bool },
}

impl TypeDef {
    pub(crate) fn name(&self) -> &str {
        match self {
            TypeDef::Struct { name, .. } | TypeDef::Enum { name, .. } => name,
        }
    }
}

/// How a result field is typed.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub(crate) enum FieldTy {
    Int,
    Float,
    Bool,
    Text,
    DateTime,
    Date,
    Json,
    /// A struct, by its Rust path relative to the crate (`crm::deal::Deal`).
    Struct(String),
}

/// A field of a result struct.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub(crate) struct Field {
    pub(crate) wire: String,
    pub(crate) rust: String,
    pub(crate) ty: FieldTy,
    pub(crate) doc_ty: String,
}

/// A result struct: an entity beside a group, or a method's `Output`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct ResultStruct {
    /// The module path of the struct (snake segments, from the crate root).
    pub(crate) module: Vec<String>,
    pub(crate) name: String,
    pub(crate) fields: Vec<Field>,
    /// Whether it is an entity (several methods share it) rather than one method's output.
    pub(crate) entity: bool,
}

impl ResultStruct {
    pub(crate) fn path(&self) -> String {
        let mut parts = self.module.clone();
        parts.push(self.name.clone());
        parts.join("::")
    }
}

/// What `send()` gives.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum Output {
    Json,
    Bool,
    Int,
    Float,
    Text,
    /// A result struct, by its Rust path from the crate root.
    Struct(String),
    List(Box<Output>),
}

impl Output {
    /// Whether the catalogue gave a structure (anything but `Value`).
    pub(crate) fn is_typed(&self) -> bool {
        match self {
            Output::Json => false,
            Output::List(inner) => inner.is_typed(),
            _ => true,
        }
    }
}

/// How a list method pages.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct ListSpec {
    pub(crate) row: Output,
    pub(crate) id_filter: String,
    pub(crate) id_row: String,
    pub(crate) tail: bool,
}

/// One method, ready to render.
#[derive(Clone, Debug)]
pub(crate) struct Method {
    pub(crate) name: String,
    pub(crate) api: Api,
    pub(crate) doc_url: String,
    /// The scope of the coverage table (`none` for the event pages).
    pub(crate) scope: String,
    pub(crate) feature: String,
    pub(crate) deprecated: Option<String>,
    pub(crate) params: Vec<Param>,
    /// Types of its module (nested param structs and enums).
    pub(crate) types: Vec<TypeDef>,
    pub(crate) output: Output,
    pub(crate) result_key: Option<String>,
    pub(crate) list: Option<ListSpec>,
    /// (code, status) as the docs list them; only codes that can name a `MethodCode`.
    pub(crate) errors: Vec<(String, Option<u16>)>,
    pub(crate) positional: bool,
}
