//! Any JSON as a batch answer: one outcome per command or a coded error.
#![no_main]

use b24_batch::{Batch, Command, parse_v2};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let commands = (0..5).map(|i| Command::new("crm.deal.get", serde_json::json!({"id": i}))).collect();
    let Ok(batch) = Batch::list(commands) else { return };
    for halt in [false, true] {
        if let Ok(result) = parse_v2(&batch.clone().halt(halt), &answer, "fuzz") {
            assert_eq!(result.len(), 5);
        }
    }
});
