//! Property: for any page size and concurrency, paging returns each user exactly once.

use std::collections::HashSet;

use lpgate_lastpass::UserFilter;
use proptest::prelude::*;

use crate::helpers::{client_with, emulator};

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    /// From one user: a business account always lists its admin, and an empty listing is a
    /// decoding error on purpose (`errors.rs` tests it).
    #[test]
    fn every_user_exactly_once(page_size in 1u32..80, concurrency in 1usize..5, users in 1usize..160) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let emu = emulator(users, 42).await;
            let want: Vec<String> = emu.emulator().view().users.iter().map(|u| u.id.to_string()).collect();
            let dir = client_with(&emu.base_url(), |c| {
                c.page_size = page_size;
                c.page_concurrency = concurrency;
            })
            .get_user_data(UserFilter::All)
            .await
            .unwrap();
            let got: Vec<String> = dir.users.iter().map(|u| u.id.clone()).collect();
            let distinct: HashSet<&String> = got.iter().collect();
            prop_assert_eq!(distinct.len(), got.len());
            prop_assert_eq!(got, want);
            let pages = (users as u64).div_ceil(page_size as u64).max(1);
            let requests = emu.emulator().requests("getuserdata");
            // Full pages only: one extra request when the last page is exactly full.
            prop_assert!(requests == pages || requests == pages + 1, "{} requests for {} pages", requests, pages);
            emu.shutdown().await;
            Ok(())
        })?;
    }
}
