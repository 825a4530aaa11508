//! The `/v1` request bodies as the fuzz targets and their corpus tests call them (see
//! `fuzz/`): arbitrary bytes read as each body the API takes, as the handlers read them.

use crate::body::parse;

/// Every `/v1` JSON body: plans (with their actions checked), approvals, queries, account
/// creation and update, the proxy.
pub fn bodies(bytes: &[u8]) {
    if let Ok(plan) = parse::<super::plans::PlanBody>(bytes) {
        let _ = super::plans::actions(plan.actions);
    }
    let _ = parse::<super::plans::ApproveBody>(bytes);
    let _ = parse::<super::query::QueryBody>(bytes);
    let _ = parse::<super::admin::CreateBody>(bytes);
    let _ = parse::<super::admin::UpdateBody>(bytes);
    let _ = parse::<super::admin::ProxyBody>(bytes);
}
