//! v3 lists: `pagination {page, limit}` pages, or the keyset `*.tail` method with a `cursor`
//! (`{field, value, order, limit}`); both stop at a short page. No COUNT either way. The
//! query's filter keys are sent as v3 conditions (`v3_filter.rs`).

use b24_errors::{ApiVersion, Code, Error};
use b24_transport::{B24Request, Transport};
use futures::stream::{self, BoxStream, StreamExt};
use serde_json::{Map, Value, json};

use crate::query::ListQuery;
use crate::{v3_filter, versions};

fn failed(e: Error, delivered: u64) -> Error {
    let message = format!("a page request failed after {delivered} rows were delivered; they stay valid");
    Error::wrap(Code::JssdkCoreB24FetchListMethodApiV3, message, e)
}

fn base(q: &ListQuery) -> Map<String, Value> {
    let mut p = q.params.clone();
    if !q.order.is_empty() {
        p.insert("order".into(), Value::Object(q.order.clone()));
    }
    let select = q.select_with_id();
    if !select.is_empty() {
        p.insert("select".into(), json!(select));
    }
    p
}

enum Mode {
    Pages { page: u64 },
    Tail { after: Option<Value> },
}

struct State {
    transport: Transport,
    q: ListQuery,
    method: String,
    mode: Mode,
    delivered: u64,
    done: bool,
}

async fn next_page(s: &mut State) -> Result<Vec<Value>, Error> {
    let mut params = base(&s.q);
    let limit = u64::from(s.q.page_size);
    match &s.mode {
        Mode::Pages { page } => {
            params.insert("pagination".into(), json!({"page": page, "limit": limit}));
        }
        Mode::Tail { after } => {
            let mut cursor = json!({"field": s.q.id_row, "order": "ASC", "limit": limit});
            if let Some(v) = after {
                cursor["value"] = v.clone();
            }
            params.insert("cursor".into(), cursor);
        }
    }
    let response = s.transport.call(B24Request::new(ApiVersion::V3, s.method.clone(), &Value::Object(params))?).await?;
    let rows = s.q.rows(response.value()?)?;
    match &mut s.mode {
        Mode::Pages { page } => *page += 1,
        Mode::Tail { after } => *after = rows.last().and_then(|r| r.get(&s.q.id_row)).cloned(),
    }
    if (rows.len() as u64) < limit {
        s.done = true;
    }
    Ok(rows)
}

fn pages(
    transport: Transport,
    mut q: ListQuery,
    method: String,
    mode: Mode,
) -> BoxStream<'static, Result<Vec<Value>, Error>> {
    if let Err(e) = versions::require_v3(&method) {
        return stream::iter(vec![Err(e)]).boxed();
    }
    // `ListQuery::filter`'s keys (`">=id"`) become v3 conditions beside a `filter` param.
    match v3_filter::merge(q.params.remove("filter"), &q.filter) {
        Ok(Some(filter)) => {
            q.params.insert("filter".into(), filter);
        }
        Ok(None) => {}
        Err(e) => return stream::iter(vec![Err(e)]).boxed(),
    }
    q.filter.clear();
    let state = State { transport, q, method, mode, delivered: 0, done: false };
    stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        match next_page(&mut s).await {
            Ok(rows) if rows.is_empty() => None,
            Ok(rows) => {
                s.delivered += rows.len() as u64;
                Some((Ok(rows), s))
            }
            Err(e) => {
                s.done = true;
                let e = failed(e, s.delivered);
                Some((Err(e), s))
            }
        }
    })
    .boxed()
}

/// `pagination` pages of `q.method`.
pub(crate) fn fetch(transport: Transport, q: ListQuery) -> BoxStream<'static, Result<Vec<Value>, Error>> {
    let method = q.method.clone();
    pages(transport, q, method, Mode::Pages { page: 1 })
}

/// Keyset pages of the `.tail` variant of `q.method` (`crm.item.list` → `crm.item.tail`).
pub(crate) fn fetch_tail(transport: Transport, q: ListQuery) -> BoxStream<'static, Result<Vec<Value>, Error>> {
    let method = match q.method.rsplit_once('.') {
        Some((head, "list")) => format!("{head}.tail"),
        _ => q.method.clone(),
    };
    pages(transport, q, method, Mode::Tail { after: None })
}
