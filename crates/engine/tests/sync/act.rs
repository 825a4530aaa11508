//! Acting on LastPass: plans decided against a synced store, applied to the emulator over
//! real HTTP, their effects read back with getuserdata and the emulator's view, the store
//! refreshed, held plans approved, partial failures retried, stopped plans resumed, and the
//! audit chain verified (and broken).

use std::collections::BTreeMap;
use std::time::Duration;

use lpgate_domain::{Action, ActionKind, ActionParams, SafetyLimits};
use lpgate_emulator::{CompanyView, FaultSpec, Latency, Rate, UserView};
use lpgate_engine::act::{
    ActError, ApplyPolicy, ApplyReport, PlanRequest, apply_plan, make_plan, verify_audit,
};
use lpgate_engine::notify::{Channel, ChannelKind, Routing, Subscription};
use lpgate_lastpass::{DeleteAction, NewUser};
use lpgate_store::{
    AuditQuery, AuditRow, ItemState, NewAuditEntry, PlanItemRow, PlanRow, PlanState, StoreError,
    UserQuery, UserRow,
};

use crate::helpers::{Bed, bed, t};
use lpgate_store_testkit::{TestStore, both};

const GROUP: &str = "Act Test";

fn act(kind: ActionKind, email: &str) -> Action {
    Action {
        kind,
        email: email.to_lowercase(),
        params: ActionParams::default(),
    }
}

fn group_act(kind: ActionKind, email: &str, group: &str) -> Action {
    let mut a = act(kind, email);
    a.params.groups = vec![group.to_string()];
    a
}

fn policy() -> ApplyPolicy {
    ApplyPolicy {
        requests_per_sec: 1000.0,
        ..ApplyPolicy::default()
    }
}

fn request<S: TestStore>(b: &Bed<S>, actions: Vec<Action>, limits: SafetyLimits) -> PlanRequest {
    PlanRequest {
        account: b.account.clone(),
        actions,
        actor: "test".into(),
        source: "test".into(),
        allow_admins: false,
        exclude: Vec::new(),
        limits,
    }
}

async fn synced<S: TestStore>(users: usize, seed: u64) -> Option<Bed<S>> {
    let b = bed::<S>(users, seed).await?;
    b.sync_at(t(1, 0)).await.unwrap();
    b.store.settled().await;
    Some(b)
}

async fn plan<S: TestStore>(b: &Bed<S>, actions: Vec<Action>) -> (PlanRow, Vec<PlanItemRow>) {
    make_plan(
        &b.store,
        request(b, actions, SafetyLimits::default()),
        &Routing::default(),
        t(2, 0),
    )
    .await
    .unwrap()
}

async fn apply_with<S: TestStore>(
    b: &Bed<S>,
    id: i64,
    policy: &ApplyPolicy,
) -> Result<ApplyReport, ActError> {
    apply_plan(
        &b.store,
        &b.client,
        id,
        "test",
        policy,
        &Routing::default(),
        &|| t(2, 1),
    )
    .await
}

async fn apply<S: TestStore>(b: &Bed<S>, id: i64) -> Result<ApplyReport, ActError> {
    apply_with(b, id, &policy()).await
}

async fn stored<S: TestStore>(b: &Bed<S>, email: &str) -> UserRow {
    b.store
        .list_users(UserQuery::default())
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.email == email)
        .unwrap_or_else(|| panic!("{email} is not in the store"))
}

async fn lastpass<S: TestStore>(b: &Bed<S>, email: &str) -> Option<lpgate_lastpass::User> {
    b.client.get_user(email).await.unwrap()
}

fn viewed(v: &CompanyView, email: &str) -> UserView {
    v.users
        .iter()
        .find(|u| u.username == email)
        .cloned()
        .unwrap_or_else(|| panic!("{email} is not in the emulated company"))
}

async fn audit<S: TestStore>(b: &Bed<S>) -> Vec<AuditRow> {
    let mut rows = b
        .store
        .list_audit(AuditQuery {
            before: None,
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    rows.reverse();
    rows
}

/// Distinct users of the emulated company, picked by a condition.
struct Picker {
    view: CompanyView,
    taken: Vec<String>,
}

impl Picker {
    fn new<S: TestStore>(b: &Bed<S>) -> Self {
        Picker {
            view: b.emulator().view(),
            taken: Vec::new(),
        }
    }

    fn pick(&mut self, what: &str, f: impl Fn(&UserView) -> bool) -> String {
        let u = self
            .view
            .users
            .iter()
            .find(|u| !self.taken.contains(&u.username) && f(u))
            .unwrap_or_else(|| panic!("the company has no user left who is {what}"))
            .username
            .clone();
        self.taken.push(u.clone());
        u
    }

    /// An active (logged in, enabled) non-admin.
    fn plain(&mut self) -> String {
        self.pick("active and not an admin", plain)
    }
}

fn plain(u: &UserView) -> bool {
    !u.admin && !u.disabled && !u.neverloggedin
}

async fn every_action_has_its_effect_in_lastpass_and_in_the_store<S: TestStore>() {
    let Some(b) = bed::<S>(60, 31).await else {
        return;
    };
    let domain = b.emulator().view().domain;
    let invited = format!("pending.invite@{domain}");
    b.emulator().invite(&invited).unwrap();
    b.sync_at(t(1, 0)).await.unwrap();
    b.store.settled().await;
    assert_eq!(stored(&b, &invited).await.status, "staged");

    let mut p = Picker::new(&b);
    let update = p.plain();
    let suspend = p.plain();
    let remove = p.plain();
    let deprovision = p.plain();
    let reset_pw = p.plain();
    let require = p.pick("active without a pending password change", |u| {
        plain(u) && !u.password_reset_required
    });
    let reset_mfa = p.pick("active with MFA", |u| plain(u) && !u.multifactor.is_empty());
    let add = p.pick("active outside the test group", |u| {
        plain(u) && !u.groups.iter().any(|g| g == GROUP)
    });
    let leave = p.pick("active in a group", |u| plain(u) && !u.groups.is_empty());
    let left_group = viewed(&p.view, &leave).groups[0].clone();
    let enable = p.pick("suspended after logging in", |u| {
        u.disabled && !u.admin && !u.neverloggedin
    });
    let reinvite = p.pick("staged (never logged in)", |u| {
        u.neverloggedin && !u.disabled && !u.admin
    });
    let hire = format!("new.hire@{domain}");
    let before = b.emulator().view();

    let mut provision = act(ActionKind::Provision, &hire);
    provision.params.fullname = Some("New Hire".into());
    provision.params.groups = vec![GROUP.into(), "Onboarding".into()];
    provision.params.attribs = BTreeMap::from([("Department".into(), "Ops".into())]);
    let mut rename = act(ActionKind::Update, &update);
    rename.params.fullname = Some("Renamed By Plan".into());
    let actions = vec![
        act(ActionKind::Deprovision, &deprovision),
        provision,
        rename,
        act(ActionKind::Suspend, &suspend),
        act(ActionKind::Enable, &enable),
        act(ActionKind::Remove, &remove),
        act(ActionKind::Uninvite, &invited),
        act(ActionKind::Reinvite, &reinvite),
        act(ActionKind::ResetPassword, &reset_pw),
        act(ActionKind::RequirePasswordChange, &require),
        act(ActionKind::ResetMfa, &reset_mfa),
        group_act(ActionKind::AddToGroup, &add, GROUP),
        group_act(ActionKind::RemoveFromGroup, &leave, &left_group),
    ];
    let n = actions.len();
    let (row, items) = plan(&b, actions).await;
    assert_eq!(row.state, PlanState::Ready, "{row:?}");
    assert_eq!(row.pending as usize, n, "{items:?}");
    // Items are stored in the order they apply: provisioning first, removals last.
    let order: Vec<usize> = items.iter().map(|i| i.action.order()).collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
    assert_eq!(items[0].action, ActionKind::Provision);

    let report = apply(&b, row.id).await.unwrap();
    assert_eq!(report.done, n, "{report:?}");
    assert_eq!(report.failed, 0);
    assert_eq!(report.refreshed, n);
    let (row, items) = b.store.plan(row.id).await.unwrap();
    assert_eq!(row.state, PlanState::Applied);
    assert!(row.finished_at.is_some());
    assert!(
        items.iter().all(|i| i.state == ItemState::Done),
        "{items:?}"
    );

    // LastPass, read back with getuserdata and the emulator's view.
    let after = b.emulator().view();
    let h = lastpass(&b, &hire).await.expect("provisioned");
    assert!(!h.admin);
    assert!(h.password_reset_required, "required by default");
    assert_eq!(h.fullname, "New Hire");
    let mut g = h.groups.clone();
    g.sort();
    assert_eq!(g, vec![GROUP.to_string(), "Onboarding".to_string()]);
    assert_eq!(
        viewed(&after, &hire).attribs.get("Department"),
        Some(&serde_json::json!("Ops"))
    );
    assert_eq!(
        lastpass(&b, &update).await.unwrap().fullname,
        "Renamed By Plan"
    );
    assert!(lastpass(&b, &suspend).await.unwrap().disabled);
    assert!(!lastpass(&b, &enable).await.unwrap().disabled);
    assert!(lastpass(&b, &remove).await.is_none());
    assert!(after.former_users.iter().any(|u| u.username == remove));
    assert!(lastpass(&b, &deprovision).await.is_none());
    assert!(!after.former_users.iter().any(|u| u.username == deprovision));
    assert!(!after.invited.contains(&invited));
    assert_eq!(
        viewed(&after, &reinvite).invitations_sent,
        viewed(&before, &reinvite).invitations_sent + 1
    );
    assert_eq!(
        viewed(&after, &reset_pw).reset_emails_sent,
        viewed(&before, &reset_pw).reset_emails_sent + 1
    );
    assert!(
        lastpass(&b, &require)
            .await
            .unwrap()
            .password_reset_required
    );
    assert_eq!(lastpass(&b, &reset_mfa).await.unwrap().multifactor, None);
    assert!(
        lastpass(&b, &add)
            .await
            .unwrap()
            .groups
            .contains(&GROUP.into())
    );
    assert!(
        !lastpass(&b, &leave)
            .await
            .unwrap()
            .groups
            .contains(&left_group)
    );

    // The store, right after apply (no sync in between).
    let s = stored(&b, &hire).await;
    assert_eq!(s.status, "staged");
    assert_eq!(s.role, "user");
    assert!(s.password_reset_required);
    assert!(s.groups.contains(&GROUP.to_string()));
    assert_eq!(stored(&b, &update).await.fullname, "Renamed By Plan");
    assert_eq!(stored(&b, &suspend).await.status, "suspended");
    assert_eq!(stored(&b, &enable).await.status, "active");
    for gone in [&remove, &deprovision, &invited] {
        assert_eq!(stored(&b, gone).await.status, "deprovisioned", "{gone}");
    }
    assert!(stored(&b, &require).await.password_reset_required);
    assert!(
        stored(&b, &reset_mfa)
            .await
            .multifactor
            .is_none_or(|m| m.is_empty())
    );
    assert!(stored(&b, &add).await.groups.contains(&GROUP.to_string()));
    assert!(!stored(&b, &leave).await.groups.contains(&left_group));

    let changes = b
        .store
        .list_changes(Some("acme".into()), None, None, None, 1000)
        .await
        .unwrap();
    let has = |kind: &str, subject: &str| {
        changes
            .iter()
            .any(|c| c.kind == kind && c.subject == subject)
    };
    for (kind, who) in [
        ("user.created", &hire),
        ("user.renamed", &update),
        ("user.disabled", &suspend),
        ("user.enabled", &enable),
        ("user.deprovisioned", &remove),
        ("user.deprovisioned", &deprovision),
        ("user.deprovisioned", &invited),
        ("user.password_reset_required", &require),
        ("user.mfa_changed", &reset_mfa),
    ] {
        assert!(has(kind, who), "no {kind} change for {who}: {changes:?}");
    }
    assert!(
        changes.iter().any(|c| c.kind == "group.member_added"
            && (c.subject == add || c.related.as_deref() == Some(add.as_str()))),
        "{changes:?}"
    );
    assert!(
        changes.iter().any(|c| c.kind == "group.member_removed"
            && (c.subject == leave || c.related.as_deref() == Some(leave.as_str()))),
        "{changes:?}"
    );
    // Users the plan did not touch did not change.
    let touched = [
        &hire,
        &update,
        &suspend,
        &enable,
        &remove,
        &deprovision,
        &invited,
        &reinvite,
        &reset_pw,
        &require,
        &reset_mfa,
        &add,
        &leave,
    ];
    for c in &changes {
        assert!(
            c.kind.starts_with("group.") || touched.iter().any(|t| **t == c.subject),
            "{c:?}"
        );
    }

    // Applying an applied plan sends nothing.
    let counts = b.emulator().request_counts();
    let again = apply(&b, row.id).await.unwrap();
    assert_eq!((again.done, again.failed, again.already_done), (0, 0, n));
    let mut now = b.emulator().request_counts();
    now.retain(|k, _| k != "getuserdata");
    let mut was = counts;
    was.retain(|k, _| k != "getuserdata");
    assert_eq!(now, was, "a second apply sent commands");
}

async fn no_ops_are_skipped_impossible_actions_refused_and_only_pending_items_sent<S: TestStore>() {
    let Some(b) = synced::<S>(40, 32).await else {
        return;
    };
    let mut p = Picker::new(&b);
    let suspended = p.pick("suspended", |u| u.disabled && !u.admin);
    let admin = p.pick("an enabled admin", |u| u.admin && !u.disabled);
    let target = p.plain();
    let active = p.plain();
    let excluded = p.plain();
    let ghost = "nobody.here@example.org".to_string();
    let (row, items) = plan(
        &b,
        vec![
            act(ActionKind::Suspend, &suspended),
            act(ActionKind::Suspend, &ghost),
            act(ActionKind::ResetMfa, &ghost),
            act(ActionKind::Deprovision, &admin),
            act(ActionKind::Enable, &active),
            act(ActionKind::Suspend, &target),
            act(ActionKind::Suspend, &target),
        ],
    )
    .await;
    let item = |kind: ActionKind, email: &str| {
        items
            .iter()
            .find(|i| i.action == kind && i.email == email)
            .unwrap_or_else(|| panic!("no {kind:?} item for {email}: {items:?}"))
            .clone()
    };
    assert_eq!(items.len(), 6, "the repeated action is one item: {items:?}");
    let s = item(ActionKind::Suspend, &suspended);
    assert_eq!(s.state, ItemState::Skipped);
    assert!(
        s.note.as_deref().unwrap().contains("already suspended"),
        "{s:?}"
    );
    for kind in [ActionKind::Suspend, ActionKind::ResetMfa] {
        let g = item(kind, &ghost);
        assert_eq!(g.state, ItemState::Refused, "{g:?}");
        assert!(g.note.as_deref().unwrap().contains("no such user"), "{g:?}");
    }
    let a = item(ActionKind::Deprovision, &admin);
    assert_eq!(a.state, ItemState::Refused);
    assert!(a.note.as_deref().unwrap().contains("admin"), "{a:?}");
    let e = item(ActionKind::Enable, &active);
    assert_eq!(e.state, ItemState::Skipped);
    assert!(
        e.note.as_deref().unwrap().contains("not suspended"),
        "{e:?}"
    );
    assert_eq!(item(ActionKind::Suspend, &target).state, ItemState::Pending);
    assert_eq!(
        (row.pending, row.skipped, row.refused),
        (1, 2, 3),
        "{row:?}"
    );

    let before = b.emulator().request_counts();
    let report = apply(&b, row.id).await.unwrap();
    assert_eq!((report.done, report.failed), (1, 0), "{report:?}");
    let after = b.emulator().request_counts();
    let sent =
        |cmd: &str| after.get(cmd).copied().unwrap_or(0) - before.get(cmd).copied().unwrap_or(0);
    assert_eq!(sent("deluser"), 1, "only the pending suspension is sent");
    assert_eq!(sent("enableuser"), 0);
    assert_eq!(sent("disablemultifactor"), 0);
    assert!(lastpass(&b, &target).await.unwrap().disabled);
    assert!(
        lastpass(&b, &admin).await.is_some(),
        "the admin was not touched"
    );
    assert_eq!(stored(&b, &target).await.status, "suspended");
    let (row, after_items) = b.store.plan(row.id).await.unwrap();
    assert_eq!(row.state, PlanState::Applied);
    for (was, now) in items.iter().zip(&after_items) {
        if was.state == ItemState::Pending {
            assert_eq!(now.state, ItemState::Done);
        } else {
            assert_eq!((now.state, &now.note), (was.state, &was.note));
        }
    }
    // Only sent items are audited (besides the plan's creation).
    let entries: Vec<AuditRow> = audit(&b)
        .await
        .into_iter()
        .filter(|e| e.plan_id == Some(row.id))
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0].action, "plan.create");
    assert_eq!(
        (entries[1].action.as_str(), entries[1].target.as_str()),
        ("suspend", target.as_str())
    );

    // Allowed to touch admins, the admin's deprovision is decided "do"; an excluded user never.
    let mut req = request(
        &b,
        vec![
            act(ActionKind::Deprovision, &admin),
            act(ActionKind::Suspend, &excluded),
        ],
        SafetyLimits::default(),
    );
    req.allow_admins = true;
    req.exclude = vec![excluded.to_uppercase()];
    let (_, items) = make_plan(&b.store, req, &Routing::default(), t(2, 2))
        .await
        .unwrap();
    let by_kind = |kind: ActionKind| items.iter().find(|i| i.action == kind).unwrap();
    assert_eq!(
        by_kind(ActionKind::Deprovision).state,
        ItemState::Pending,
        "{items:?}"
    );
    let ex = by_kind(ActionKind::Suspend);
    assert_eq!(
        (ex.state, ex.email.as_str()),
        (ItemState::Refused, excluded.as_str())
    );
    assert!(ex.note.as_deref().unwrap().contains("exclusion"));

    let empty = make_plan(
        &b.store,
        request(&b, Vec::new(), SafetyLimits::default()),
        &Routing::default(),
        t(2, 3),
    )
    .await
    .unwrap_err();
    assert!(matches!(empty, ActError::Empty(_)), "{empty:?}");
}

async fn plans_over_the_limits_are_held_until_approved<S: TestStore>() {
    let Some(b) = synced::<S>(40, 33).await else {
        return;
    };
    let routing = Routing {
        channels: vec![Channel {
            name: "secops".into(),
            kind: ChannelKind::Webhook,
            url: "http://127.0.0.1:9/hook".into(),
            secret: Some("s3cret".into()),
        }],
        subscriptions: vec![Subscription {
            channel: "secops".into(),
            findings: None,
            changes: vec!["plan.held".into()],
        }],
    };
    let mut p = Picker::new(&b);
    let victims: Vec<String> = (0..5).map(|_| p.plain()).collect();
    let limits = SafetyLimits {
        max_removals: 3,
        ..Default::default()
    };
    let actions = victims
        .iter()
        .map(|v| act(ActionKind::Suspend, v))
        .collect();
    let (row, items) = make_plan(&b.store, request(&b, actions, limits), &routing, t(2, 0))
        .await
        .unwrap();
    assert_eq!(row.state, PlanState::Held);
    let reason = row.held_reason.clone().unwrap();
    assert!(reason.contains("max_removals (3)"), "{reason}");
    assert!(reason.contains('5'), "{reason}");
    assert!(items.iter().all(|i| i.state == ItemState::Pending));

    let deliveries = b.store.list_deliveries(None, 100).await.unwrap();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let d = &deliveries[0];
    assert_eq!(
        (d.event.as_str(), d.channel.as_str()),
        ("plan.held", "secops")
    );
    assert_eq!(d.account.as_deref(), Some("acme"));
    assert_eq!(d.payload["plan"], serde_json::json!(row.id));
    assert_eq!(d.payload["reason"], serde_json::json!(reason));

    // Held: applying sends nothing.
    let before = b.emulator().view();
    let counts = b.emulator().request_counts();
    let err = apply(&b, row.id).await.unwrap_err();
    match &err {
        ActError::Held { plan, reason: r } => {
            assert_eq!((*plan, r), (row.id, &reason));
        }
        other => panic!("expected held, got {other:?}"),
    }
    assert!(err.to_string().contains("lpgate approve"), "{err}");
    assert_eq!(b.emulator().request_counts(), counts);
    assert_eq!(b.emulator().view(), before);
    assert_eq!(b.store.plan(row.id).await.unwrap().0.state, PlanState::Held);

    let approval = |at| NewAuditEntry {
        at,
        actor: "alice".into(),
        account: Some(b.account.id),
        action: "plan.approve".into(),
        target: format!("plan {}", row.id),
        plan_id: Some(row.id),
        summary: reason.clone(),
        outcome: "approved".into(),
    };
    let approved = b
        .store
        .approve_plan(row.id, approval(t(2, 1)))
        .await
        .unwrap();
    assert_eq!(approved.state, PlanState::Approved);
    assert_eq!(approved.approved_by.as_deref(), Some("alice"));
    assert_eq!(approved.approved_at, Some(t(2, 1)));
    assert_eq!(approved.held_reason.as_deref(), Some(reason.as_str()));
    let err = b
        .store
        .approve_plan(row.id, approval(t(2, 2)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    let report = apply(&b, row.id).await.unwrap();
    assert_eq!((report.done, report.failed), (5, 0));
    for v in &victims {
        assert!(lastpass(&b, v).await.unwrap().disabled, "{v}");
        assert_eq!(stored(&b, v).await.status, "suspended");
    }
    assert_eq!(
        b.store.plan(row.id).await.unwrap().0.state,
        PlanState::Applied
    );
    let err = b
        .store
        .approve_plan(row.id, approval(t(2, 3)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    // A ready plan has nothing to approve either, and queues no notification.
    let (ready, _) = make_plan(
        &b.store,
        request(
            &b,
            vec![act(ActionKind::ResetPassword, &victims[0])],
            limits,
        ),
        &routing,
        t(2, 4),
    )
    .await
    .unwrap();
    assert_eq!(ready.state, PlanState::Ready);
    let err = b
        .store
        .approve_plan(ready.id, approval(t(2, 5)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(b.store.list_deliveries(None, 100).await.unwrap().len(), 1);

    // The share of active users holds a plan too (above pct_min_users active users).
    let active = b
        .store
        .list_users(UserQuery {
            status: Some("active".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    let pct = SafetyLimits {
        max_removals: 100,
        max_removal_pct: 5.0,
        pct_min_users: 10,
    };
    let few: Vec<Action> = (0..active / 20 + 1)
        .map(|_| act(ActionKind::Suspend, &p.plain()))
        .collect();
    let n = few.len();
    let (held, _) = make_plan(&b.store, request(&b, few, pct), &routing, t(2, 6))
        .await
        .unwrap();
    assert_eq!(held.state, PlanState::Held, "{n} of {active}");
    let why = held.held_reason.unwrap();
    assert!(
        why.contains(&format!("{n} of {active} active users")) && why.contains("max_removal_pct"),
        "{why}"
    );
    assert_eq!(b.store.list_deliveries(None, 100).await.unwrap().len(), 2);

    let log = audit(&b).await;
    let approvals: Vec<&AuditRow> = log.iter().filter(|e| e.action == "plan.approve").collect();
    assert_eq!(approvals.len(), 1, "{log:?}");
    assert_eq!(approvals[0].actor, "alice");
    assert_eq!(approvals[0].plan_id, Some(row.id));
    assert!(
        log.iter()
            .any(|e| e.action == "plan.create" && e.outcome.starts_with("held: "))
    );
}

async fn a_warn_fails_only_the_users_it_names_and_applying_again_retries_them<S: TestStore>() {
    let Some(b) = synced::<S>(40, 34).await else {
        return;
    };
    let mut p = Picker::new(&b);
    let users: Vec<String> = (0..3).map(|_| p.plain()).collect();
    let missing = users[1].clone();
    // Removed from the company behind lpgate's back: the store still has them active.
    b.client
        .delete_user(&missing, DeleteAction::Remove)
        .await
        .unwrap();
    assert_eq!(stored(&b, &missing).await.status, "active");

    let actions = users
        .iter()
        .map(|u| group_act(ActionKind::AddToGroup, u, GROUP))
        .collect();
    let (row, _) = plan(&b, actions).await;
    let before = b.emulator().requests("batchchangegrp");
    let report = apply(&b, row.id).await.unwrap();
    assert_eq!(b.emulator().requests("batchchangegrp") - before, 1);
    assert_eq!((report.done, report.failed), (2, 1), "{report:?}");
    let (row, items) = b.store.plan(row.id).await.unwrap();
    assert_eq!(row.state, PlanState::Partial);
    assert_eq!((row.done, row.failed), (2, 1));
    for i in &items {
        if i.email == missing {
            assert_eq!(i.state, ItemState::Failed);
            let note = i.note.as_deref().unwrap();
            assert_eq!(note, format!("{missing} does not exist"));
        } else {
            assert_eq!(i.state, ItemState::Done, "{i:?}");
            assert_eq!(i.note, None);
            assert!(
                lastpass(&b, &i.email)
                    .await
                    .unwrap()
                    .groups
                    .contains(&GROUP.into())
            );
            assert!(stored(&b, &i.email).await.groups.contains(&GROUP.into()));
        }
    }
    assert_eq!(
        stored(&b, &missing).await.status,
        "active",
        "a failed item is not re-read"
    );

    // Back in the company; applying again sends only the failed item.
    b.client
        .batch_add(&[NewUser {
            username: missing.clone(),
            fullname: None,
            groups: Vec::new(),
            duo_username: None,
            securid_username: None,
            password_reset_required: None,
            attribs: BTreeMap::new(),
        }])
        .await
        .unwrap();
    let before = b.emulator().view();
    let report = apply(&b, row.id).await.unwrap();
    assert_eq!(
        (report.done, report.failed, report.already_done),
        (1, 0, 2),
        "{report:?}"
    );
    let after = b.emulator().view();
    assert_eq!(
        after.groups[GROUP].len(),
        before.groups[GROUP].len() + 1,
        "only the retried user joined"
    );
    assert!(
        lastpass(&b, &missing)
            .await
            .unwrap()
            .groups
            .contains(&GROUP.into())
    );
    assert!(stored(&b, &missing).await.groups.contains(&GROUP.into()));
    let (row, items) = b.store.plan(row.id).await.unwrap();
    assert_eq!(row.state, PlanState::Applied);
    assert!(items.iter().all(|i| i.state == ItemState::Done));
    let outcomes: Vec<String> = audit(&b)
        .await
        .into_iter()
        .filter(|e| e.plan_id == Some(row.id) && e.target == missing)
        .map(|e| e.outcome)
        .collect();
    assert_eq!(
        outcomes,
        vec![format!("failed: {missing} does not exist"), "done".into()]
    );
}

async fn a_plan_stopped_half_way_resumes_with_the_remaining_items_only<S: TestStore>() {
    let Some(b) = synced::<S>(40, 35).await else {
        return;
    };
    let mut p = Picker::new(&b);
    let users: Vec<String> = (0..6).map(|_| p.plain()).collect();
    let actions = users
        .iter()
        .map(|u| act(ActionKind::Deprovision, u))
        .collect();
    let (row, _) = plan(&b, actions).await;
    assert_eq!(row.state, PlanState::Ready);

    // deluser answers slowly, then starts failing (HTTP 500) after its second call: a
    // deprovision is not repeated once it may have reached LastPass, so those items fail.
    let emu = b.emulator().clone();
    let slow = FaultSpec {
        latency: Some(Latency::Fixed(Duration::from_millis(25))),
        ..FaultSpec::default()
    };
    emu.set_faults(Some("deluser"), slow.clone());
    let start = emu.requests("deluser");
    let watcher = tokio::spawn({
        let emu = emu.clone();
        async move {
            while emu.requests("deluser") < start + 2 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            emu.set_faults(
                Some("deluser"),
                FaultSpec {
                    http_500: Rate::share(1.0),
                    ..slow
                },
            );
        }
    });
    let serial = ApplyPolicy {
        batch_size: 2,
        concurrency: 1,
        ..policy()
    };
    let first = apply_with(&b, row.id, &serial).await.unwrap();
    watcher.await.unwrap();
    assert_eq!((first.done, first.failed), (2, 4), "{first:?}");
    assert_eq!(emu.requests("deluser") - start, 6);
    let (partial, items) = b.store.plan(row.id).await.unwrap();
    assert_eq!(partial.state, PlanState::Partial);
    let done: Vec<&str> = items
        .iter()
        .filter(|i| i.state == ItemState::Done)
        .map(|i| i.email.as_str())
        .collect();
    assert_eq!(
        done,
        [users[0].as_str(), users[1].as_str()].map(|s| s).to_vec()
    );
    for i in items.iter().filter(|i| i.state == ItemState::Failed) {
        assert!(i.note.as_deref().unwrap().contains("500"), "{i:?}");
        assert!(
            lastpass(&b, &i.email).await.is_some(),
            "{} was sent",
            i.email
        );
        assert_eq!(stored(&b, &i.email).await.status, "active");
    }
    for u in &done {
        assert_eq!(stored(&b, u).await.status, "deprovisioned");
    }

    emu.clear_faults();
    let mid = emu.requests("deluser");
    let second = apply_with(&b, row.id, &serial).await.unwrap();
    assert_eq!(
        (second.done, second.failed, second.already_done),
        (4, 0, 2),
        "{second:?}"
    );
    assert_eq!(
        emu.requests("deluser") - mid,
        4,
        "only the remaining items are sent"
    );
    let (applied, items) = b.store.plan(row.id).await.unwrap();
    assert_eq!(applied.state, PlanState::Applied);
    assert!(items.iter().all(|i| i.state == ItemState::Done));
    let view = b.emulator().view();
    let log = audit(&b).await;
    for u in &users {
        assert!(lastpass(&b, u).await.is_none(), "{u}");
        assert!(!view.former_users.iter().any(|f| f.username == *u));
        assert_eq!(stored(&b, u).await.status, "deprovisioned");
        let entries: Vec<&AuditRow> = log
            .iter()
            .filter(|e| e.plan_id == Some(row.id) && e.target == *u)
            .collect();
        assert_eq!(
            entries.iter().filter(|e| e.outcome == "done").count(),
            1,
            "{u}: {entries:?}"
        );
        assert!(entries.iter().all(|e| e.action == "deprovision"
            && e.summary == "deluser 2"
            && (e.outcome == "done" || e.outcome.starts_with("failed: "))));
    }
    assert_eq!(verify_audit(&b.store).await.unwrap(), Ok(log.len()));
}

#[tokio::test]
async fn every_applied_item_is_audited_and_tampering_is_found() {
    let Some(b) = synced::<lpgate_store_testkit::SqliteStore>(30, 36).await else {
        return;
    };
    let mut p = Picker::new(&b);
    let a = p.plain();
    let c = p.plain();
    let d = p.pick("active with MFA", |u| plain(u) && !u.multifactor.is_empty());
    let (row, _) = plan(
        &b,
        vec![
            act(ActionKind::Suspend, &a),
            act(ActionKind::ResetPassword, &c),
            act(ActionKind::ResetMfa, &d),
        ],
    )
    .await;
    apply(&b, row.id).await.unwrap();
    let log = audit(&b).await;
    assert_eq!(log.len(), 4, "{log:?}");
    let create = &log[0];
    assert_eq!(
        (
            create.seq,
            create.actor.as_str(),
            create.action.as_str(),
            create.plan_id
        ),
        (1, "test", "plan.create", Some(row.id))
    );
    assert_eq!(create.outcome, "ready");
    for (who, action, summary) in [
        (&a, "suspend", "deluser 0"),
        (&c, "reset-password", "resetpassword"),
        (&d, "reset-mfa", "disablemultifactor"),
    ] {
        let e = log
            .iter()
            .find(|e| e.target == *who)
            .unwrap_or_else(|| panic!("no audit entry for {who}: {log:?}"));
        assert_eq!(e.actor, "test");
        assert_eq!(e.account.as_deref(), Some("acme"));
        assert_eq!(e.action, action);
        assert_eq!(e.summary, summary);
        assert_eq!(e.plan_id, Some(row.id));
        assert_eq!(e.outcome, "done");
        assert_eq!(e.at, "2026-03-02T01:00:00.000000Z");
    }
    for w in log.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].hash);
        assert_eq!(w[1].seq, w[0].seq + 1);
    }
    assert_eq!(verify_audit(&b.store).await.unwrap(), Ok(4));

    let db = rusqlite::Connection::open(b.dir.path().join("lpgate.sqlite")).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    for sql in [
        "UPDATE audit SET outcome = 'failed: nothing' WHERE seq = 3",
        "DELETE FROM audit WHERE seq = 4",
        "DELETE FROM audit",
    ] {
        let err = db.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(verify_audit(&b.store).await.unwrap(), Ok(4));

    db.execute_batch("DROP TRIGGER audit_no_update").unwrap();
    assert_eq!(
        db.execute(
            "UPDATE audit SET outcome = 'failed: nothing' WHERE seq = 3",
            []
        )
        .unwrap(),
        1
    );
    let broken = verify_audit(&b.store).await.unwrap().unwrap_err();
    assert_eq!(broken.seq, 3, "{broken}");
    assert!(broken.to_string().contains("edited"), "{broken}");
}

async fn a_removal_whose_reply_was_lost_completes_when_applied_again<S: TestStore>() {
    let Some(b) = synced::<S>(30, 37).await else {
        return;
    };
    let mut p = Picker::new(&b);
    let users: Vec<String> = (0..3).map(|_| p.plain()).collect();
    let actions = users
        .iter()
        .map(|u| act(ActionKind::Deprovision, u))
        .collect();
    let (row, _) = plan(&b, actions).await;
    // The first deluser runs, but its reply is cut: lpgate cannot know it happened.
    b.emulator().set_faults(
        Some("deluser"),
        FaultSpec {
            drop: Rate::next(1),
            ..FaultSpec::default()
        },
    );
    let serial = ApplyPolicy {
        concurrency: 1,
        ..policy()
    };
    let first = apply_with(&b, row.id, &serial).await.unwrap();
    assert_eq!((first.done, first.failed), (2, 1), "{first:?}");
    let lost = &users[0];
    assert!(lastpass(&b, lost).await.is_none(), "it did run");
    b.emulator().clear_faults();
    let before = b.emulator().requests("deluser");
    let second = apply_with(&b, row.id, &serial).await.unwrap();
    assert_eq!(b.emulator().requests("deluser") - before, 1);
    let (row, items) = b.store.plan(row.id).await.unwrap();
    assert_eq!(row.state, PlanState::Applied, "{second:?} {items:?}");
    assert_eq!((second.done, second.failed, second.already_done), (1, 0, 2));
    let item = items.iter().find(|i| i.email == *lost).unwrap();
    assert_eq!(item.state, ItemState::Done);
    assert!(
        item.note.as_deref().unwrap().contains("already gone"),
        "{item:?}"
    );
    assert_eq!(stored(&b, lost).await.status, "deprovisioned");
    let outcomes: Vec<String> = audit(&b)
        .await
        .into_iter()
        .filter(|e| e.target == *lost)
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(outcomes[0].starts_with("failed: "), "{outcomes:?}");
    assert!(
        outcomes[1].starts_with("done: already gone"),
        "{outcomes:?}"
    );

    // A removal that fails for another reason still fails.
    let other = p.plain();
    let (row, _) = plan(&b, vec![act(ActionKind::Remove, &other)]).await;
    b.emulator().set_faults(
        Some("deluser"),
        FaultSpec {
            http_500: Rate::next(1),
            ..FaultSpec::default()
        },
    );
    let r = apply(&b, row.id).await.unwrap();
    assert_eq!((r.done, r.failed), (0, 1));
    assert!(lastpass(&b, &other).await.is_some());
}

async fn a_provision_whose_reply_was_lost_is_confirmed_and_recorded_done<S: TestStore>() {
    let Some(b) = synced::<S>(30, 41).await else {
        return;
    };
    let domain = b.emulator().view().domain;
    let hire = format!("lost.reply@{domain}");
    let (row, _) = plan(&b, vec![act(ActionKind::Provision, &hire)]).await;
    // batchadd runs, but its reply is cut: the client cannot send it again.
    b.emulator().set_faults(
        Some("batchadd"),
        FaultSpec {
            truncate: Rate::next(1),
            ..FaultSpec::default()
        },
    );
    let r = apply(&b, row.id).await.unwrap();
    assert_eq!((r.done, r.failed), (1, 0), "{r:?}");
    assert_eq!(b.emulator().requests("batchadd"), 1, "sent once");
    let (row, items) = b.store.plan(row.id).await.unwrap();
    assert_eq!(row.state, PlanState::Applied);
    assert!(
        items[0]
            .note
            .as_deref()
            .unwrap()
            .contains("reply to batchadd was lost"),
        "{items:?}"
    );
    let outcomes: Vec<String> = audit(&b)
        .await
        .into_iter()
        .filter(|e| e.target == hire)
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert!(
        outcomes[0].starts_with("done: LastPass lists the user"),
        "{outcomes:?}"
    );
    assert!(lastpass(&b, &hire).await.is_some());

    // A batchadd that did not run (HTTP 500, then nobody listed) still fails.
    let other = format!("never.added@{domain}");
    let (row, _) = plan(&b, vec![act(ActionKind::Provision, &other)]).await;
    b.emulator().set_faults(
        Some("batchadd"),
        FaultSpec {
            http_500: Rate::next(1),
            ..FaultSpec::default()
        },
    );
    let r = apply(&b, row.id).await.unwrap();
    assert_eq!((r.done, r.failed), (0, 1), "{r:?}");
    assert!(lastpass(&b, &other).await.is_none());
}

/// Two workers sharing a store never make plans from the same findings at once: while one
/// holds the account's automations lock, the other's automations report themselves skipped
/// and make no plan; once it is free they run.
async fn automations_run_in_one_worker_at_a_time<S: TestStore>() {
    use lpgate_engine::automate::{Automation, AutomationEnv, run_automations};
    use lpgate_engine::rules::{self, RuleConfig};
    let Some(b) = synced::<S>(80, 21).await else {
        return;
    };
    let config = RuleConfig::default();
    let routing = Routing::default();
    rules::check_account(&b.store, b.account.id, "acme", &config, &routing, t(1, 1))
        .await
        .unwrap();
    let automations = [Automation {
        name: "sweep".into(),
        rule: "inactive-user".into(),
        action: "require-password-change".into(),
        group: None,
        auto_apply: false,
        exclude: Vec::new(),
    }];
    let policy = policy();
    let env = AutomationEnv {
        limits: SafetyLimits::default(),
        exclude: &[],
        policy: &policy,
        routing: &routing,
    };
    let run = || {
        run_automations(&b.store, &b.client, &b.account, &automations, &env, &|| {
            t(1, 2)
        })
    };
    let other_worker = b.store.try_lock_automations(b.account.id).await.unwrap();
    let skipped = run().await.unwrap();
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].note.starts_with("skipped: "), "{skipped:?}");
    assert_eq!(skipped[0].plan, None);
    assert!(b.store.list_plans(None, 10).await.unwrap().is_empty());
    drop(other_worker);
    let ran = loop {
        let out = run().await.unwrap();
        if !out[0].note.starts_with("skipped: ") {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(10)).await; // PostgreSQL unlocks on a task
    };
    let plan = ran[0].plan.expect("a plan from the open findings");
    let plans = b.store.list_plans(None, 10).await.unwrap();
    assert_eq!(plans.iter().map(|p| p.id).collect::<Vec<_>>(), vec![plan]);
    assert_eq!(plans[0].source, "automation: sweep");
}

both!(
    automations_run_in_one_worker_at_a_time,
    a_provision_whose_reply_was_lost_is_confirmed_and_recorded_done,
    every_action_has_its_effect_in_lastpass_and_in_the_store,
    no_ops_are_skipped_impossible_actions_refused_and_only_pending_items_sent,
    plans_over_the_limits_are_held_until_approved,
    a_warn_fails_only_the_users_it_names_and_applying_again_retries_them,
    a_plan_stopped_half_way_resumes_with_the_remaining_items_only,
    a_removal_whose_reply_was_lost_completes_when_applied_again,
);
