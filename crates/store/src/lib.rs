//! The storage contract of lpgate.
//!
//! One async method per use case, returning [`StoreResult`]. Backends (`store-sqlite`, later
//! `store-postgres`) implement [`Store`]; callers never see SQL. The types here are plain
//! data, shared by every backend, so a backend swap changes no caller.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod account;
mod act;
mod error;
mod expired;
mod metrics;
mod query;
mod scim;
mod store;
mod sync;
mod token;
mod watch;

pub use account::{AccountEndpoint, AccountId, AccountRow, NewAccount};
pub use act::{
    AuditQuery, AuditRow, ItemResult, ItemState, NewAuditEntry, NewPlan, NewPlanItem, PlanItemRow,
    PlanRow, PlanState,
};
pub use error::{StoreError, StoreResult};
pub use expired::{ExpiredPassword, expired_digest};
pub use metrics::{LabelledCount, LastSync, MetricsSnapshot, SYNC_DURATION_BUCKETS, SyncHistogram};
pub use query::{
    ChangeRow, EventRow, FolderRow, GroupRow, UserKey, UserOrder, UserPageQuery, UserQuery, UserRow,
};
pub use scim::{
    NewScimGroup, ScimGroupRow, ScimUserPage, ScimUserQuery, ScimUserRow, ScimUserState, TextOp,
    UserFilter, UserSort,
};
pub use store::{AccountLock, Store};
pub use sync::{
    BASELINE_BACKLOG, BaselineMsg, BaselineWriter, EventKeys, EventRecord, Fingerprinted, RunId,
    RunOutcome, SnapshotIndex, SyncRunRow, SyncWrite, baseline_channel,
};
pub use token::{NewToken, TokenRow, TokenScope};
pub use watch::{
    Delivery, DeliveryOutcome, DeliveryState, FindingQuery, FindingRow, FindingsWrite, HrPerson,
    NewFinding, NewNotification, QueryLimits, QueryRequest, QueryResult, SearchHit,
};
