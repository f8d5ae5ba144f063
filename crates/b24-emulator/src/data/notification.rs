//! A notification recorded by `im.notify.*`.

use serde::Serialize;

/// A notification the portal received (`im.notify.system.add`, `im.notify.personal.add`,
/// `im.notify`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Its id (the method's answer).
    pub id: u64,
    /// `system` or `personal`.
    pub kind: &'static str,
    /// The user it is for.
    pub to_user: u64,
    /// Who sent it (0 for system notifications).
    pub from_user: u64,
    /// The text.
    pub message: String,
    /// `TAG`, if given.
    pub tag: Option<String>,
    /// `SUB_TAG`, if given.
    pub sub_tag: Option<String>,
    /// Whether `im.notify.read` marked it read.
    pub read: bool,
}
