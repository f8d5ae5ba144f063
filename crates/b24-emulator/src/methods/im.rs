//! Notifications: `im.notify.system.add`, `im.notify.personal.add`, `im.notify` record a
//! notification (read back with `EmulatorHandle::notifications` or `GET
//! /_emulator/notifications`); `im.notify.delete` removes by id or tag; `im.notify.read` marks
//! one read. A notification with the tag of an earlier one for the same user replaces it.

use serde_json::Value;

use super::{Ctx, param, param_i64, required};
use crate::catalogue;
use crate::data::Notification;
use crate::portal::{MethodResult, Outcome};

fn text(params: &Value, name: &str) -> Option<String> {
    match param(params, name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn record(ctx: &mut Ctx<'_>, method: &str, params: &Value, system: bool) -> MethodResult {
    if let Some(documented) = catalogue::method(method) {
        required::check(documented, params, false)?;
    }
    let to_user = param_i64(params, "USER_ID").unwrap_or(0).max(0) as u64;
    let tag = text(params, "TAG");
    let notifications = &mut ctx.data.notifications;
    if let Some(tag) = &tag {
        notifications.retain(|n| !(n.to_user == to_user && n.tag.as_ref() == Some(tag)));
    }
    let id = ctx.data.next_sequence();
    ctx.data.notifications.push(Notification {
        id,
        kind: if system { "system" } else { "personal" },
        to_user,
        from_user: if system { 0 } else { ctx.caller.user_id },
        message: text(params, "MESSAGE").unwrap_or_default(),
        tag,
        sub_tag: text(params, "SUB_TAG"),
        read: false,
    });
    Ok(Outcome::value(Value::from(id), trivial(ctx)))
}

fn trivial(ctx: &Ctx<'_>) -> f64 {
    ctx.portal.cost(ctx.portal.settings.read().map(|s| s.cost.single_item).unwrap_or(0.0))
}

pub(crate) fn system_add(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    record(ctx, "im.notify.system.add", params, true)
}

pub(crate) fn personal_add(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    record(ctx, "im.notify.personal.add", params, false)
}

/// `im.notify`: `TYPE` `SYSTEM` or `USER` (the default).
pub(crate) fn notify(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let system = text(params, "TYPE").is_some_and(|t| t.eq_ignore_ascii_case("SYSTEM"));
    record(ctx, "im.notify", params, system)
}

pub(crate) fn delete(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let id = param_i64(params, "ID").map(|i| i.max(0) as u64);
    let (tag, sub_tag) = (text(params, "TAG"), text(params, "SUB_TAG"));
    let before = ctx.data.notifications.len();
    ctx.data.notifications.retain(|n| {
        let hit = id.is_some_and(|id| n.id == id)
            || tag.as_ref().is_some_and(|t| n.tag.as_ref() == Some(t))
            || sub_tag.as_ref().is_some_and(|t| n.sub_tag.as_ref() == Some(t));
        !hit
    });
    let removed = ctx.data.notifications.len() < before;
    Ok(Outcome::value(Value::Bool(removed), trivial(ctx)))
}

pub(crate) fn read(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let id = param_i64(params, "ID").map(|i| i.max(0) as u64);
    let unread = !text(params, "ACTION").is_some_and(|a| a.eq_ignore_ascii_case("N"));
    for n in ctx.data.notifications.iter_mut().filter(|n| id.is_none_or(|id| n.id == id)) {
        n.read = unread;
    }
    Ok(Outcome::value(Value::Bool(true), trivial(ctx)))
}
