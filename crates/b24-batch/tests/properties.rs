//! Properties of the batch response parser: any JSON answer gives one outcome per command (or a
//! coded error), never a panic; a well-formed answer reads back exactly.

use b24_batch::{Batch, Command, Outcome, parse_v2};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::String)
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[0-9a-z_]{0,4}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn batch(n: usize, halt: bool) -> Batch {
    Batch::list((0..n).map(|i| Command::new("crm.deal.get", json!({"id": i}))).collect())
        .map(|b| b.halt(halt))
        .unwrap_or_else(|e| panic!("{e}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_answers_never_panic(answer in any_json(), n in 1usize..8, halt in any::<bool>()) {
        if let Ok(result) = parse_v2(&batch(n, halt), &answer, "req") {
            prop_assert_eq!(result.len(), n);
        }
    }

    #[test]
    fn well_formed_answers_read_back(values in prop::collection::vec(any_json(), 1..10), failing in prop::collection::vec(any::<bool>(), 10)) {
        let n = values.len();
        let mut results = Map::new();
        let mut errors = Map::new();
        for (i, v) in values.iter().enumerate() {
            if failing[i] {
                errors.insert(i.to_string(), json!({"error": "ERR", "error_description": "x"}));
            } else {
                results.insert(i.to_string(), v.clone());
            }
        }
        let answer = json!({"result": results, "result_error": errors});
        let result = parse_v2(&batch(n, false), &answer, "req").map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (i, v) in values.iter().enumerate() {
            match result.outcome(&i.to_string()) {
                Some(Outcome::Done(r)) => prop_assert!(!failing[i] && &r.value == v),
                Some(Outcome::Failed(e)) => prop_assert!(failing[i] && e.root().code().as_str() == "ERR"),
                other => prop_assert!(false, "command {} gave {:?}", i, other.map(|_| "not run")),
            }
        }
    }
}
