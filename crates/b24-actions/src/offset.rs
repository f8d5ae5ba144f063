//! Offset paging, for lists ordered by something other than the id: the first page gives
//! `total`, then the remaining offsets go 50 to a batch. Every call counts (the portal runs a
//! COUNT for `start >= 0`), so the fast id export is preferred whenever the order allows it.

use b24_batch::{Batch, Command, Outcome};
use b24_errors::Error;
use b24_transport::{B24Request, Transport};
use futures::stream::{self, BoxStream, StreamExt};
use serde_json::{Map, Value, json};

use crate::fetch_v2::fetch_failed;
use crate::query::ListQuery;

fn params(q: &ListQuery, start: u64) -> Value {
    let mut p: Map<String, Value> = q.params.clone();
    p.insert("filter".into(), Value::Object(q.filter.clone()));
    p.insert("order".into(), Value::Object(q.order.clone()));
    let select = q.select_with_id();
    if !select.is_empty() {
        p.insert("select".into(), json!(select));
    }
    p.insert("start".into(), json!(start));
    Value::Object(p)
}

/// Pages by offset, in order.
pub(crate) fn offset_pages(transport: Transport, q: ListQuery) -> BoxStream<'static, Result<Vec<Value>, Error>> {
    let first = {
        let (transport, q) = (transport.clone(), q.clone());
        async move {
            let response = transport.call(B24Request::v2(q.method.clone(), &params(&q, 0))?).await?;
            let total = response.total().unwrap_or(0);
            Ok::<_, Error>((q.rows(response.value()?)?, total))
        }
    };
    stream::once(first)
        .flat_map(move |first| match first {
            Err(e) => stream::iter(vec![Err(fetch_failed(&q.method, e, 0))]).boxed(),
            Ok((rows, total)) => {
                let delivered = rows.len() as u64;
                let offsets: Vec<u64> = (1..).map(|i| i * 50).take_while(|s| *s < total).collect();
                let chunks: Vec<Vec<u64>> = offsets.chunks(50).map(<[u64]>::to_vec).collect();
                let (transport, list) = (transport.clone(), q.clone());
                let rest = stream::iter(chunks)
                    .then(move |starts| {
                        let (transport, q) = (transport.clone(), list.clone());
                        async move {
                            let commands =
                                starts.iter().map(|s| Command::new(q.method.clone(), params(&q, *s))).collect();
                            let batch = Batch::list(commands)?;
                            let response = transport.call(B24Request::v2("batch", &batch.v2_params()?)?).await?;
                            let result = b24_batch::parse_v2_owned(&batch, response.value()?, response.request_id())?;
                            let mut pages = Vec::new();
                            for (_, _, outcome) in result.into_entries() {
                                match outcome {
                                    Outcome::Done(r) => pages.push(q.rows(r.value)),
                                    Outcome::Failed(e) => {
                                        pages.push(Err(e));
                                        break;
                                    }
                                    Outcome::NotRun => break,
                                }
                            }
                            Ok::<_, Error>(pages)
                        }
                    })
                    .flat_map(|pages| match pages {
                        Ok(pages) => stream::iter(pages),
                        Err(e) => stream::iter(vec![Err(e)]),
                    });
                let mut delivered = delivered;
                let mut failed = false;
                let method = q.method.clone();
                stream::iter(vec![Ok(rows)])
                    .chain(rest)
                    .filter_map(move |page| {
                        let item = if failed {
                            None
                        } else {
                            match page {
                                Ok(rows) => {
                                    delivered += rows.len() as u64;
                                    Some(Ok(rows))
                                }
                                Err(e) => {
                                    failed = true;
                                    Some(Err(fetch_failed(&method, e, delivered)))
                                }
                            }
                        };
                        futures::future::ready(item)
                    })
                    .boxed()
            }
        })
        .boxed()
}
