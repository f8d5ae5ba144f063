//! The JS SDK's deprecated entry points, kept so code ported from the JS SDK compiles; each logs
//! `JSSDK_CORE_DEPRECATED_METHOD` once and delegates to the v2 actions.

#![allow(deprecated)]

use b24_errors::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Actions, Batch, BatchResult, CallResult, Commands, ListQuery, Pages, versions};

impl Actions {
    /// Deprecated: use `actions.v2().call`.
    #[deprecated(note = "use actions.v2().call")]
    pub async fn call_method(&self, method: &str, params: &impl Serialize) -> Result<CallResult, Error> {
        versions::note_deprecated("call_method", "actions.v2().call");
        self.v2().call(method, params).await
    }

    /// Deprecated: use `actions.v2().batch`.
    #[deprecated(note = "use actions.v2().batch")]
    pub async fn call_batch(&self, batch: &Batch) -> Result<BatchResult, Error> {
        versions::note_deprecated("call_batch", "actions.v2().batch");
        self.v2().batch(batch).await
    }

    /// Deprecated: use `actions.v2().call_list`.
    #[deprecated(note = "use actions.v2().call_list")]
    pub async fn call_list_method<T: DeserializeOwned + Send + 'static>(
        &self,
        query: ListQuery,
    ) -> Result<Vec<T>, Error> {
        versions::note_deprecated("call_list_method", "actions.v2().call_list");
        self.v2().call_list(query).await
    }

    /// Deprecated: use `actions.v2().fetch_list`.
    #[deprecated(note = "use actions.v2().fetch_list")]
    pub fn fetch_list_method<T: DeserializeOwned + Send + 'static>(&self, query: ListQuery) -> Pages<T> {
        versions::note_deprecated("fetch_list_method", "actions.v2().fetch_list");
        self.v2().fetch_list(query)
    }

    /// Deprecated: use `actions.v2().batch_by_chunk`.
    #[deprecated(note = "use actions.v2().batch_by_chunk")]
    pub async fn call_batch_by_chunk(&self, commands: Commands, halt: bool) -> Result<BatchResult, Error> {
        versions::note_deprecated("call_batch_by_chunk", "actions.v2().batch_by_chunk");
        self.v2().batch_by_chunk(commands, halt).await
    }
}
