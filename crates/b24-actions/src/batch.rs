//! `batch` and `batch_by_chunk`: a result the caller inspects — per-command outcomes, the
//! successful data kept when other commands fail (with `halt` off) — rather than an error.

use b24_batch::{Batch, BatchResult, Commands, Outcome};
use b24_errors::{ApiVersion, Code, Error};
use b24_transport::{B24Request, Transport};
use futures::stream::{self, StreamExt};

use crate::versions;

/// Run one batch. `Err` only when the batch could not be sent or read as a whole (a v3 batch
/// is all-or-nothing, so a failing v3 command fails it).
pub(crate) async fn batch(transport: &Transport, api: ApiVersion, batch: &Batch) -> Result<BatchResult, Error> {
    match api {
        ApiVersion::V2 => {
            for (_, c) in batch.entries() {
                versions::note_v2_call(&c.method);
            }
            let request = B24Request::v2("batch", &batch.v2_params()?)?;
            let response = transport.call(request).await?;
            b24_batch::parse_v2_owned(batch, response.value()?, response.request_id())
        }
        ApiVersion::V3 => {
            for (_, c) in batch.entries() {
                versions::require_v3(&c.method)?;
            }
            let request = B24Request::v3("batch", &batch.v3_body()?)?;
            let response = transport.call(request).await?;
            b24_batch::parse_v3(batch, &response.value()?)
        }
    }
}

/// Any number of commands in chunks of 50, `concurrency` chunks at once (the transport's
/// limiters pace them); outcomes keep their global keys and command order. A chunk that fails
/// as a whole marks each of its commands failed with that error.
pub(crate) async fn batch_by_chunk(
    transport: &Transport,
    api: ApiVersion,
    commands: Commands,
    halt: bool,
    concurrency: usize,
) -> Result<BatchResult, Error> {
    let chunks = b24_batch::chunk(commands, halt)?;
    if api == ApiVersion::V3 {
        for chunk in &chunks {
            for (_, c) in chunk.entries() {
                versions::require_v3(&c.method)?;
            }
        }
    }
    let results: Vec<(Batch, Result<BatchResult, Error>)> = stream::iter(chunks)
        .map(|chunk| async move {
            let result = batch(transport, api, &chunk).await;
            (chunk, result)
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut merged = BatchResult::new();
    for (chunk, result) in results {
        match result {
            Ok(r) => merged.extend(r),
            Err(e) => {
                for (key, command) in chunk.entries() {
                    let wrapped = Error::wrap(
                        Code::JssdkBatchSubError,
                        format!("the chunk holding command {key:?} ({}) failed: {}", command.method, e),
                        e.root_copy(),
                    );
                    merged.push(key.clone(), command.method.clone(), Outcome::Failed(wrapped));
                }
            }
        }
    }
    Ok(merged)
}
