//! `tasks.task.list`: sorts and filters by `ID` (upper case) but returns `id` (camelCase), the
//! list under `result.tasks`.

use serde_json::{Value, json};

use super::Ctx;
use super::lists;
use crate::portal::MethodResult;

pub(crate) fn task_list(ctx: &mut Ctx<'_>, params: &Value) -> MethodResult {
    let page = lists::classic(ctx.portal, ctx.caller.api, &ctx.data.tasks, params, true)?;
    Ok(page.into_outcome(|tasks| json!({"tasks": tasks})))
}
