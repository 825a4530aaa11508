//! Property tests (few cases, to stay fast in debug builds): generator determinism and paging
//! completeness. In-process through `Emulator::call`, which answers exactly as over HTTP.

use std::collections::BTreeSet;

use lpgate_emulator::{CompanySpec, Emulator};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common::*;

fn request(cmd: &str, data: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"cid": CID, "provhash": HASH, "cmd": cmd, "data": data})).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn same_spec_same_company(users in 0usize..40, seed in any::<u64>()) {
        let spec = CompanySpec::new(users, seed);
        let a = Emulator::generate(&spec, creds());
        let b = Emulator::generate(&spec, creds());
        prop_assert_eq!(a.view(), b.view());
        for (cmd, data) in [
            ("getuserdata", json!("all")),
            ("getdetailedsfdata", json!("all")),
            ("reporting", json!({})),
        ] {
            prop_assert_eq!(a.call(&request(cmd, data.clone())), b.call(&request(cmd, data)));
        }
    }

    #[test]
    fn pages_cover_every_user_exactly_once(
        users in 0usize..60,
        seed in any::<u64>(),
        pagesize in 1usize..25,
        filter in 0u8..3,
    ) {
        let emu = Emulator::generate(&CompanySpec::new(users, seed), creds());
        let mut base = json!({});
        match filter {
            1 => base["disabled"] = json!(1),
            2 => base["admin"] = json!("1"),
            _ => {}
        }
        let full: Value = serde_json::from_slice(&emu.call(&request("getuserdata", base.clone()))).unwrap();
        let expected: BTreeSet<String> = full["Users"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        let mut seen = Vec::new();
        for index in 0.. {
            let mut data = base.clone();
            data["pagesize"] = json!(pagesize);
            data["pageindex"] = json!(index);
            let page: Value = serde_json::from_slice(&emu.call(&request("getuserdata", data))).unwrap();
            prop_assert_eq!(page["total"].as_u64().unwrap() as usize, expected.len());
            let count = page["count"].as_u64().unwrap() as usize;
            prop_assert!(count <= pagesize);
            match page["Users"].as_object() {
                Some(m) => {
                    prop_assert_eq!(m.len(), count);
                    seen.extend(m.keys().cloned());
                }
                None => prop_assert_eq!(count, 0),
            }
            if count < pagesize {
                break;
            }
        }
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        prop_assert_eq!(unique.len(), seen.len());
        prop_assert_eq!(unique, expected);
    }
}
