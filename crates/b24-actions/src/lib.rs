//! # b24-actions
//!
//! What users do with a Bitrix24 portal, for REST v2 and v3:
//!
//! | action | v2 | v3 | gives |
//! | --- | --- | --- | --- |
//! | `call` | ✓ | ✓ | a [`CallResult`] (v2 paging helpers included) |
//! | `call_list` | ✓ | ✓ | every row, in memory |
//! | `fetch_list` | ✓ | ✓ | a `Stream` of pages; stops with `JSSDK_CORE_B24_FETCH_LIST_METHOD_API_V2`/`_V3` |
//! | `fetch_tail` | | ✓ | keyset pages through `*.tail` |
//! | `batch` | ✓ | ✓ | a [`BatchResult`] to inspect |
//! | `batch_by_chunk` | ✓ | ✓ | any number of commands, 50 to a batch |
//! | `write` | ✓ | ✓ | a `Stream` of row outcomes: the bulk writer, exactly once ([`writer`]) |
//!
//! The v2 `fetch_list` is the fast export: an id cursor without COUNT, 50 pages chained per
//! batch through `$result[prev][49][ID]`, 2,500 rows per HTTP request, and optionally several
//! id windows at once. v3 calls of methods outside the v3 surface fail before any request
//! (`JSSDK_CORE_METHOD_NOT_SUPPORT_IN_API_V3`); v2 calls of methods v3 also serves log
//! `JSSDK_CORE_METHOD_AVAILABLE_IN_API_V3` once.
//!
//! ```
//! use b24_actions::{Actions, ListQuery};
//! use b24_transport::{TransportBuilder, TransportConfig, credentials::Webhook};
//! use futures::TryStreamExt;
//! use serde_json::Value;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let portal = b24_emulator::Emulator::start(b24_emulator::Settings::fast().with_rows(120)).await?;
//! # let webhook_url = portal.webhook_url();
//! let transport = TransportBuilder::new(Webhook::parse(&webhook_url, false)?).config(TransportConfig::unlimited()).build()?;
//! let actions = Actions::new(transport);
//! let time: String = actions.v2().call("server.time", &()).await?.json()?;
//! let mut pages = actions.v2().fetch_list::<Value>(ListQuery::new("crm.deal.list").select(["ID", "TITLE"]));
//! let mut rows = 0;
//! while let Some(page) = pages.try_next().await? {
//!     rows += page.len();
//! }
//! assert_eq!(rows, 120);
//! # Ok(())
//! # }
//! ```

mod batch;
mod call;
pub mod concurrency;
mod deprecated;
mod fetch_v2;
mod fetch_v3;
pub mod journal;
mod offset;
mod query;
mod v3_filter;
#[allow(missing_docs)]
mod v3_methods;
pub mod versions;
mod windows;
pub mod writer;

use b24_errors::{ApiVersion, Code, Error};
use b24_transport::Transport;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use b24_batch::{Batch, BatchResult, Command, CommandResult, Commands, Outcome, Ref};
pub use call::CallResult;
pub use query::{ListKey, ListQuery};
pub use v3_filter::{V3Filter, V3Op};
pub use writer::{BulkWrite, WriteRow, Written};

/// Chunks of a `batch_by_chunk` sent at once (the limiters pace them further).
const CHUNK_CONCURRENCY: usize = 4;

/// The actions of one client.
#[derive(Debug, Clone)]
pub struct Actions {
    transport: Transport,
}

/// A stream of typed pages.
pub type Pages<T> = BoxStream<'static, Result<Vec<T>, Error>>;

fn typed<T: DeserializeOwned + 'static>(rows: Vec<Value>) -> Result<Vec<T>, Error> {
    // Rows asked for as `Value` already are what was asked for: converting each one would build
    // it again, map by map (a third of a `Value` export's client time).
    let mut slot = Some(rows);
    if let Some(same) = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<Vec<T>>>() {
        return Ok(same.take().unwrap_or_default());
    }
    let rows = slot.unwrap_or_default();
    rows.iter().enumerate().map(|(index, row)| T::deserialize(row).map_err(|_| misfit::<T>(index, row))).collect()
}

/// The error for a row that does not fit `T`: which row (its place in the page and its id) and
/// the JSON path inside it, read again with path tracking only now that it failed.
fn misfit<T: DeserializeOwned>(index: usize, row: &Value) -> Error {
    let id = ["ID", "id"].iter().find_map(|k| row.get(*k)).map(|id| format!(" (id {id})")).unwrap_or_default();
    match serde_path_to_error::deserialize::<_, T>(row) {
        Err(e) => {
            let path = e.path().to_string();
            Error::sdk_caused(
                Code::JssdkResponseUnexpectedShape,
                format!("list row {index} of its page{id} does not fit the requested type at `{path}`: {}", e.inner()),
                e.into_inner(),
            )
        }
        Ok(_) => Error::sdk(
            Code::JssdkResponseUnexpectedShape,
            format!("list row {index} of its page{id} does not fit the requested type"),
        ),
    }
}

fn typed_pages<T: DeserializeOwned + Send + 'static>(pages: BoxStream<'static, Result<Vec<Value>, Error>>) -> Pages<T> {
    pages.map(|page| page.and_then(typed)).boxed()
}

impl Actions {
    /// Actions over `transport`.
    pub fn new(transport: Transport) -> Actions {
        Actions { transport }
    }

    /// REST v2 (owned: keep it, move it into a task; its futures borrow nothing).
    pub fn v2(&self) -> V2 {
        V2 { transport: self.transport.clone() }
    }

    /// REST v3 (owned: keep it, move it into a task; its futures borrow nothing).
    pub fn v3(&self) -> V3 {
        V3 { transport: self.transport.clone() }
    }

    /// The transport.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }
}

/// REST v2 actions.
///
/// Every future it returns owns what it needs (params are serialized when the call is made),
/// so it can be spawned:
///
/// ```no_run
/// # async fn run(actions: b24_actions::Actions) {
/// let params = serde_json::json!({"id": 1});
/// let task = tokio::spawn(actions.v2().call("crm.deal.get", &params));
/// # let _ = task.await;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct V2 {
    transport: Transport,
}

impl V2 {
    /// Call a method.
    pub fn call<P: Serialize>(
        &self,
        method: &str,
        params: &P,
    ) -> impl Future<Output = Result<CallResult, Error>> + Send + use<P> {
        let request = call::prepare(ApiVersion::V2, method, params);
        let transport = self.transport.clone();
        async move { call::send(transport, request?).await }
    }

    /// Every row of a list, in memory (through the fast export).
    pub fn call_list<T: DeserializeOwned + Send + 'static>(
        &self,
        query: ListQuery,
    ) -> impl Future<Output = Result<Vec<T>, Error>> + Send + use<T> {
        collect_rows(self.fetch_list(query))
    }

    /// The pages of a list as a stream (the fast export). Pages yielded before an error stay
    /// valid: resume from the last id.
    pub fn fetch_list<T: DeserializeOwned + Send + 'static>(&self, query: ListQuery) -> Pages<T> {
        versions::note_v2_call(&query.method);
        typed_pages(fetch_v2::fetch(self.transport.clone(), query))
    }

    /// Run a batch of at most 50 commands.
    pub fn batch(&self, batch: &Batch) -> impl Future<Output = Result<BatchResult, Error>> + Send + use<> {
        let (transport, batch) = (self.transport.clone(), batch.clone());
        async move { batch::batch(&transport, ApiVersion::V2, &batch).await }
    }

    /// Run any number of commands, 50 to a batch.
    pub fn batch_by_chunk(
        &self,
        commands: Commands,
        halt: bool,
    ) -> impl Future<Output = Result<BatchResult, Error>> + Send + use<> {
        let transport = self.transport.clone();
        async move { batch::batch_by_chunk(&transport, ApiVersion::V2, commands, halt, CHUNK_CONCURRENCY).await }
    }

    /// Write any number of rows, one call each, 50 to a batch, exactly once (see [`writer`]):
    /// one outcome per row, in the order they come back; an error ends the stream.
    pub fn write<S>(&self, plan: BulkWrite, rows: S) -> BoxStream<'static, Result<Written, Error>>
    where
        S: futures::Stream<Item = Result<WriteRow, Error>> + Send + 'static,
    {
        versions::note_v2_call(&plan.method);
        writer::write(self.transport.clone(), ApiVersion::V2, plan, rows.boxed())
    }
}

/// REST v3 actions.
///
/// Every future it returns owns what it needs (params are serialized when the call is made),
/// so it can be spawned:
///
/// ```no_run
/// # async fn run(actions: b24_actions::Actions) {
/// let params = serde_json::json!({"id": 1});
/// let task = tokio::spawn(actions.v3().call("crm.deal.get", &params));
/// # let _ = task.await;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct V3 {
    transport: Transport,
}

impl V3 {
    /// Call a method (refused before sending if v3 does not serve it).
    pub fn call<P: Serialize>(
        &self,
        method: &str,
        params: &P,
    ) -> impl Future<Output = Result<CallResult, Error>> + Send + use<P> {
        let request = call::prepare(ApiVersion::V3, method, params);
        let transport = self.transport.clone();
        async move { call::send(transport, request?).await }
    }

    /// Every row of a list, in memory.
    pub fn call_list<T: DeserializeOwned + Send + 'static>(
        &self,
        query: ListQuery,
    ) -> impl Future<Output = Result<Vec<T>, Error>> + Send + use<T> {
        collect_rows(self.fetch_list(query))
    }

    /// The pages of a list (`pagination`).
    pub fn fetch_list<T: DeserializeOwned + Send + 'static>(&self, query: ListQuery) -> Pages<T> {
        typed_pages(fetch_v3::fetch(self.transport.clone(), v3_query(query)))
    }

    /// Every row through the keyset `*.tail` method, in memory.
    pub fn call_tail<T: DeserializeOwned + Send + 'static>(
        &self,
        query: ListQuery,
    ) -> impl Future<Output = Result<Vec<T>, Error>> + Send + use<T> {
        collect_rows(self.fetch_tail(query))
    }

    /// The pages of a list through the keyset `*.tail` method.
    pub fn fetch_tail<T: DeserializeOwned + Send + 'static>(&self, query: ListQuery) -> Pages<T> {
        typed_pages(fetch_v3::fetch_tail(self.transport.clone(), v3_query(query)))
    }

    /// Run a batch (all-or-nothing on the portal).
    pub fn batch(&self, batch: &Batch) -> impl Future<Output = Result<BatchResult, Error>> + Send + use<> {
        let (transport, batch) = (self.transport.clone(), batch.clone());
        async move { batch::batch(&transport, ApiVersion::V3, &batch).await }
    }

    /// Run any number of commands, 50 to a batch.
    pub fn batch_by_chunk(
        &self,
        commands: Commands,
        halt: bool,
    ) -> impl Future<Output = Result<BatchResult, Error>> + Send + use<> {
        let transport = self.transport.clone();
        async move { batch::batch_by_chunk(&transport, ApiVersion::V3, commands, halt, CHUNK_CONCURRENCY).await }
    }

    /// Write any number of rows as v3 batches, each with an `Idempotency-Key` made from its
    /// content, so that a batch sent again is never applied twice (see [`writer`]).
    pub fn write<S>(&self, plan: BulkWrite, rows: S) -> BoxStream<'static, Result<Written, Error>>
    where
        S: futures::Stream<Item = Result<WriteRow, Error>> + Send + 'static,
    {
        if let Err(e) = versions::require_v3(&plan.method) {
            return futures::stream::iter([Err(e)]).boxed();
        }
        writer::write(self.transport.clone(), ApiVersion::V3, plan, rows.boxed())
    }
}

/// Every row of a stream of pages, in memory.
async fn collect_rows<T>(pages: Pages<T>) -> Result<Vec<T>, Error> {
    let pages: Vec<Vec<T>> = pages.try_collect().await?;
    Ok(pages.into_iter().flatten().collect())
}

/// v3 lists put rows under `items`, keyed by `id`.
fn v3_query(mut query: ListQuery) -> ListQuery {
    if matches!(&query.list_key, ListKey::Field(k) if k == "tasks") {
        query.list_key = ListKey::Field("items".into());
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_are_converted_only_when_another_type_is_asked_for() {
        let rows = vec![json!({"ID": "7", "TITLE": "a"}), json!({"ID": "8", "TITLE": "b"})];
        let same: Vec<Value> = typed(rows.clone()).unwrap_or_default();
        assert_eq!(same, rows);
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Row {
            #[serde(rename = "ID")]
            id: String,
        }
        let converted: Vec<Row> = typed(rows.clone()).unwrap_or_default();
        assert_eq!(converted, vec![Row { id: "7".into() }, Row { id: "8".into() }]);
        let e = typed::<u64>(rows).err().map(|e| e.code());
        assert_eq!(e, Some(Code::JssdkResponseUnexpectedShape.into()));
    }

    #[test]
    fn a_row_that_does_not_fit_is_named_with_its_path() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Deal {
            #[serde(rename = "ID")]
            id: String,
            #[serde(rename = "OPPORTUNITY")]
            opportunity: f64,
        }
        let rows = vec![json!({"ID": "7", "OPPORTUNITY": 1.5}), json!({"ID": "8", "OPPORTUNITY": "lots"})];
        let e = typed::<Deal>(rows).expect_err("the second row does not fit");
        assert_eq!(e.code(), Code::JssdkResponseUnexpectedShape);
        let message = e.message();
        assert!(message.contains("row 1") && message.contains("\"8\"") && message.contains("OPPORTUNITY"), "{message}");
    }
}
