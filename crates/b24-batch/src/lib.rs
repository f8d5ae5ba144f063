//! # b24-batch
//!
//! The batch wire format of Bitrix24, for b24:
//!
//! - [`Batch`]: commands as a list (results by position) or by name (results by name), each a
//!   method and its params, with `halt`; [`Batch::v2_params`] writes the v2 `cmd` rows in
//!   PHP-bracket encoding, [`Batch::v3_body`] the v3 JSON array;
//! - [`Ref`]: typed v2 references (`$result[name][49][ID]`, `$next[name]`, …);
//! - [`BatchResult`]: one [`Outcome`] per command, from every PHP JSON shape the portal writes
//!   (`[]` for an empty map, a list for keys `0..n-1`, an object otherwise), `halt` included;
//! - [`chunk`]: any number of commands in batches of at most 50, keyed so that results of later
//!   chunks never overwrite earlier ones.
//!
//! ```
//! use b24_batch::{Batch, Command, Ref};
//! use serde_json::json;
//!
//! let batch = Batch::named(vec![
//!     ("first".into(), Command::new("crm.deal.list", json!({"order": {"ID": "ASC"}, "start": -1}))),
//!     ("second".into(), Command::new("crm.deal.list", json!({
//!         "filter": {">ID": Ref::result("first").index(49).field("ID").to_string()},
//!         "start": -1,
//!     }))),
//! ]).unwrap();
//! let params = batch.v2_params().unwrap();
//! assert_eq!(params["cmd"]["second"], "crm.deal.list?filter[%3EID]=$result[first][49][ID]&start=-1");
//! ```

mod batch;
mod outcome;
mod reference;

pub use batch::{Batch, Command, Commands, MAX_COMMANDS, chunk};
pub use outcome::{BatchResult, CommandResult, Outcome, parse_v2, parse_v2_owned, parse_v3, php_map};
pub use reference::Ref;
