//! Typed answers for the calls almost every integration makes; the generic `call` stays one
//! method away for everything else.

//!
//! Ids come as numbers or strings (`"ID": "37"`): they are read with [`crate::de::number`], the
//! public deserializer for that habit.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `user.current`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The user id.
    #[serde(rename = "ID", deserialize_with = "crate::de::number")]
    pub id: u64,
    /// First name.
    #[serde(rename = "NAME", default)]
    pub name: Option<String>,
    /// Last name.
    #[serde(rename = "LAST_NAME", default)]
    pub last_name: Option<String>,
    /// E-mail.
    #[serde(rename = "EMAIL", default)]
    pub email: Option<String>,
    /// Whether the user is active.
    #[serde(rename = "ACTIVE", default)]
    pub active: Option<Value>,
}

/// `profile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// The user id.
    #[serde(rename = "ID", deserialize_with = "crate::de::number")]
    pub id: u64,
    /// Whether the user is a portal administrator.
    #[serde(rename = "ADMIN", default)]
    pub admin: bool,
    /// First name.
    #[serde(rename = "NAME", default)]
    pub name: Option<String>,
    /// Last name.
    #[serde(rename = "LAST_NAME", default)]
    pub last_name: Option<String>,
}

/// `app.info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AppInfo {
    /// The app's code (client id).
    #[serde(rename = "CODE", default)]
    pub code: Option<String>,
    /// The installed version.
    #[serde(rename = "VERSION", default)]
    pub version: Option<Value>,
    /// Status (`F` free, `D` demo, `T` trial, `P` paid, `L` local, `S` subscription).
    #[serde(rename = "STATUS", default)]
    pub status: Option<String>,
    /// Whether installation finished.
    #[serde(rename = "INSTALLED", default)]
    pub installed: Option<bool>,
    /// The granted scopes, comma-separated.
    #[serde(rename = "SCOPE", default)]
    pub scope: Option<String>,
    /// The portal's license.
    #[serde(rename = "LICENSE", default)]
    pub license: Option<String>,
}

/// `crm.item.get` / `crm.item.add` / `crm.item.update` answers: `{"item": T}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemEnvelope<T> {
    /// The item.
    pub item: T,
}
