//! R18 (visibility) as a property: random small workspaces are built through
//! the real API, then every list and detail read of every user (owner, an
//! admin, each member) is compared with a reference model of R12–R18 written
//! here, from SPEC §4 alone (plain maps and sets; nothing from `src/`).
//!
//! The model is built from the operations the test issues, applying R13, R14,
//! R15 and R17 itself; it never reads registrations back from the API. Each
//! operation's answer is checked against the model too (success or the
//! expected refusal, and what a save or a registration registered).
//!
//! Both transports: in process (embedded store, read through
//! `Client::embedded` and `Client::embedded_as`, or on PostgreSQL through
//! stores opened the same way on the case's schema) and over HTTP against a
//! real `serve` on a loopback port; each on SQLite and on PostgreSQL (a fresh
//! schema per case). The workspace is written 31 days before it is read, so
//! R16b's stale filter has something to find.
//!
//! `PROPTEST_CASES` raises the in-process case count for a longer run; a
//! failure is shrunk and saved next to this file by proptest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use proptest::collection::{btree_set, vec};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use switchboard::client::{Client, ClientError, InProcess};
use switchboard::model::{
    AccessLevel, Connection, Flow, FlowInput, FlowStep, Integration, IntegrationKind,
    NewConnection, NewIntegration, NewUser, Source, StepKind, UsedBy, UserKind,
};
use switchboard::server::serve;
use switchboard::service::{Actor, Service};
use switchboard::store::{Location, PoolConfig, Store, TestClock, sqlite_paths};

mod common;
use common::{Engine, open_store};

const MAX_MEMBERS: usize = 4;
const MAX_INTEGRATIONS: usize = 5;
const MAX_CONNECTIONS: usize = 12;
const MAX_FLOWS: usize = 6;
const MAX_STEPS: usize = 4;

const OWNER: &str = "alice";
const ADMIN: &str = "adam";
/// Longer than R16b's 30 days.
const AGE_DAYS: i64 = 31;

/// Words for names and labels, so list order differs from code order.
const WORDS: [&str; 6] = ["Zebra", "apple", "Mango", "banana", "Kiwi", "cherry"];

// ----- the plan: what a case builds ----------------------------------------

#[derive(Debug, Clone)]
struct IntegrationPlan {
    app: bool,
    word: usize,
}

#[derive(Debug, Clone)]
struct ConnectionPlan {
    word: usize,
    /// Created from within this integration (R13); an app refuses (R17).
    inside: Option<usize>,
}

/// One change, issued by the owner or the admin. Indices are taken modulo
/// what exists, so every plan is valid and shrinks freely.
#[derive(Debug, Clone)]
enum Op {
    Register {
        integration: usize,
        connections: BTreeSet<usize>,
    },
    Deregister {
        integration: usize,
        connection: usize,
    },
    SaveFlow {
        flow: usize,
        integration: Option<usize>,
        steps: Vec<(StepKind, usize)>,
    },
    DeleteFlow {
        flow: usize,
    },
    Access {
        member: usize,
        integration: usize,
        level: Option<AccessLevel>,
    },
    DeleteConnection {
        connection: usize,
    },
}

#[derive(Debug, Clone)]
struct Plan {
    members: usize,
    integrations: Vec<IntegrationPlan>,
    connections: Vec<ConnectionPlan>,
    /// Initial grants: (member, integration, level).
    grants: Vec<(usize, usize, AccessLevel)>,
    /// `true`: the admin issues it, else the owner.
    ops: Vec<(bool, Op)>,
    /// Page size for the paged list.
    page: u64,
}

fn level() -> impl Strategy<Value = AccessLevel> {
    prop_oneof![Just(AccessLevel::Monitor), Just(AccessLevel::Manage)]
}

fn step_kind() -> impl Strategy<Value = StepKind> {
    prop_oneof![Just(StepKind::Export), Just(StepKind::Import)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (
            0..MAX_FLOWS,
            proptest::option::weighted(0.8, 0..MAX_INTEGRATIONS),
            vec((step_kind(), 0..MAX_CONNECTIONS), 0..=MAX_STEPS),
        )
            .prop_map(|(flow, integration, steps)| Op::SaveFlow {
                flow,
                integration,
                steps,
            }),
        3 => (0..MAX_INTEGRATIONS, btree_set(0..MAX_CONNECTIONS, 1..=4)).prop_map(
            |(integration, connections)| Op::Register {
                integration,
                connections,
            }
        ),
        2 => (0..MAX_INTEGRATIONS, 0..MAX_CONNECTIONS).prop_map(|(integration, connection)| {
            Op::Deregister {
                integration,
                connection,
            }
        }),
        2 => (0..MAX_MEMBERS, 0..MAX_INTEGRATIONS, proptest::option::of(level())).prop_map(
            |(member, integration, level)| Op::Access {
                member,
                integration,
                level,
            }
        ),
        1 => (0..MAX_FLOWS).prop_map(|flow| Op::DeleteFlow { flow }),
        1 => (0..MAX_CONNECTIONS).prop_map(|connection| Op::DeleteConnection { connection }),
    ]
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        1..=MAX_MEMBERS,
        vec(
            (proptest::bool::weighted(0.25), 0..WORDS.len())
                .prop_map(|(app, word)| IntegrationPlan { app, word }),
            1..=MAX_INTEGRATIONS,
        ),
        vec(
            (
                0..WORDS.len(),
                proptest::option::weighted(0.4, 0..MAX_INTEGRATIONS),
            )
                .prop_map(|(word, inside)| ConnectionPlan { word, inside }),
            1..=MAX_CONNECTIONS,
        ),
        vec((0..MAX_MEMBERS, 0..MAX_INTEGRATIONS, level()), 0..10),
        vec((any::<bool>(), op()), 0..24),
        1..=4u64,
    )
        .prop_map(
            |(members, integrations, connections, grants, ops, page)| Plan {
                members,
                integrations,
                connections,
                grants,
                ops,
                page,
            },
        )
}

fn member_name(i: usize) -> String {
    format!("mem_{i}")
}

fn integration_code(i: usize) -> String {
    format!("int_{i}")
}

fn connection_code(i: usize) -> String {
    format!("conn_{i:02}")
}

fn flow_code(i: usize) -> String {
    format!("flow_{i}")
}

// ----- the reference model (SPEC §4, independently of src/) -----------------

#[derive(Debug, Clone, PartialEq, Eq)]
struct MFlow {
    name: String,
    integration: Option<String>,
    steps: Vec<(StepKind, String)>,
}

#[derive(Debug, Default)]
struct Model {
    /// code → (name, is an app)
    integrations: BTreeMap<String, (String, bool)>,
    /// Every connection code ever created (deleted ones stay here).
    created: BTreeSet<String>,
    /// The connections that exist now.
    connections: BTreeSet<String>,
    /// (integration, connection) → active; `false`: deregistered (R15).
    registrations: BTreeMap<(String, String), bool>,
    flows: BTreeMap<String, MFlow>,
    members: Vec<String>,
    /// (member, integration) → level.
    access: BTreeMap<(String, String), AccessLevel>,
}

/// What an operation should do.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    /// Success; for registrations and flow saves, the connections it newly
    /// registered.
    Ok(BTreeSet<String>),
    /// Refused with one of these statuses, and nothing changed.
    Refused(Vec<u16>),
}

fn best(a: Option<AccessLevel>, b: AccessLevel) -> AccessLevel {
    match (a, b) {
        (Some(AccessLevel::Manage), _) | (_, AccessLevel::Manage) => AccessLevel::Manage,
        _ => AccessLevel::Monitor,
    }
}

impl Model {
    fn is_app(&self, integration: &str) -> bool {
        self.integrations[integration].1
    }

    fn active(&self, integration: &str, connection: &str) -> bool {
        self.registrations
            .get(&(integration.to_string(), connection.to_string()))
            .copied()
            .unwrap_or(false)
    }

    fn in_use(&self, connection: &str) -> bool {
        self.flows
            .values()
            .any(|f| f.steps.iter().any(|(_, c)| c == connection))
    }

    /// R12 (and R17: never with an app).
    fn register(&mut self, integration: &str, connections: &[String]) -> Expect {
        let missing = connections.iter().any(|c| !self.connections.contains(c));
        match (self.is_app(integration), missing) {
            (true, true) => return Expect::Refused(vec![404, 409]),
            (true, false) => return Expect::Refused(vec![409]),
            (false, true) => return Expect::Refused(vec![404]),
            (false, false) => {}
        }
        let mut new = BTreeSet::new();
        for c in connections {
            if !self.active(integration, c) {
                new.insert(c.clone());
            }
            self.registrations
                .insert((integration.to_string(), c.clone()), true);
        }
        Expect::Ok(new)
    }

    /// R15.
    fn deregister(&mut self, integration: &str, connection: &str) -> Expect {
        if !self.active(integration, connection) {
            return Expect::Refused(vec![404]);
        }
        self.registrations
            .insert((integration.to_string(), connection.to_string()), false);
        Expect::Ok(BTreeSet::new())
    }

    /// R14, R15, R17: a save in a standard integration registers what its
    /// steps use and was never registered there; a connection deregistered
    /// there may stay in the steps that already used it (in this flow, in
    /// this integration) but a save that adds a step on it is refused.
    fn save_flow(&mut self, code: &str, flow: MFlow) -> Expect {
        if flow
            .steps
            .iter()
            .any(|(_, c)| !self.connections.contains(c))
        {
            return Expect::Refused(vec![404]);
        }
        let mut new = BTreeSet::new();
        if let Some(i) = flow.integration.as_deref()
            && !self.is_app(i)
        {
            let mut before: BTreeMap<&str, usize> = BTreeMap::new();
            if let Some(old) = self.flows.get(code)
                && old.integration.as_deref() == Some(i)
            {
                for (_, c) in &old.steps {
                    *before.entry(c).or_default() += 1;
                }
            }
            let mut now: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, c) in &flow.steps {
                *now.entry(c).or_default() += 1;
            }
            for (c, n) in &now {
                match self
                    .registrations
                    .get(&(i.to_string(), c.to_string()))
                    .copied()
                {
                    Some(true) => {}
                    Some(false) if *n > before.get(c).copied().unwrap_or(0) => {
                        return Expect::Refused(vec![409]);
                    }
                    Some(false) => {}
                    None => {
                        new.insert(c.to_string());
                    }
                }
            }
            for c in &new {
                self.registrations.insert((i.to_string(), c.clone()), true);
            }
        }
        self.flows.insert(code.to_string(), flow);
        Expect::Ok(new)
    }

    fn delete_flow(&mut self, code: &str) -> Expect {
        match self.flows.remove(code) {
            Some(_) => Expect::Ok(BTreeSet::new()),
            None => Expect::Refused(vec![404]),
        }
    }

    /// R8: refused while in use; its registrations go with it.
    fn delete_connection(&mut self, code: &str) -> Expect {
        if !self.connections.contains(code) {
            return Expect::Refused(vec![404]);
        }
        if self.in_use(code) {
            return Expect::Refused(vec![409]);
        }
        self.connections.remove(code);
        self.registrations.retain(|(_, c), _| c != code);
        Expect::Ok(BTreeSet::new())
    }

    fn set_access(&mut self, member: &str, integration: &str, level: Option<AccessLevel>) {
        let key = (member.to_string(), integration.to_string());
        match level {
            Some(l) => self.access.insert(key, l),
            None => self.access.remove(&key),
        };
    }

    /// Codes of the connections registered with an integration now.
    fn registered(&self, integration: &str) -> Vec<String> {
        self.registrations
            .iter()
            .filter(|((i, _), active)| i == integration && **active)
            .map(|((_, c), _)| c.clone())
            .collect()
    }
}

/// One user's view of the model: R18.
struct View<'a> {
    model: &'a Model,
    /// `None`: the owner or an admin.
    member: Option<&'a str>,
}

impl View<'_> {
    /// The user's level on an integration; `None`: they do not see it.
    fn integration(&self, code: &str) -> Option<AccessLevel> {
        if !self.model.integrations.contains_key(code) {
            return None;
        }
        match self.member {
            None => Some(AccessLevel::Manage),
            Some(m) => self
                .model
                .access
                .get(&(m.to_string(), code.to_string()))
                .copied(),
        }
    }

    /// The user's best level on a connection through the integrations it is
    /// registered with; `None`: they do not see it.
    fn connection(&self, code: &str) -> Option<AccessLevel> {
        if !self.model.connections.contains(code) {
            return None;
        }
        if self.member.is_none() {
            return Some(AccessLevel::Manage);
        }
        let mut level = None;
        for i in self.model.integrations.keys() {
            if self.model.active(i, code)
                && let Some(l) = self.integration(i)
            {
                level = Some(best(level, l));
            }
        }
        level
    }

    /// What the user sees of a flow: all of it in their integrations, else
    /// the exports and imports on connections they see (partial).
    fn flow(&self, code: &str) -> Option<(MFlow, bool)> {
        let f = self.model.flows.get(code)?;
        if self.member.is_none()
            || f.integration
                .as_deref()
                .is_some_and(|i| self.integration(i).is_some())
        {
            return Some((f.clone(), false));
        }
        let steps: Vec<_> = f
            .steps
            .iter()
            .filter(|(_, c)| self.connection(c).is_some())
            .cloned()
            .collect();
        if steps.is_empty() {
            return None;
        }
        Some((MFlow { steps, ..f.clone() }, true))
    }

    /// R16: every step on the connection, by flow code then position.
    fn used_by(&self, connection: &str) -> Vec<UsedBy> {
        let mut out = Vec::new();
        for (code, f) in &self.model.flows {
            for (position, (kind, c)) in f.steps.iter().enumerate() {
                if c == connection {
                    out.push(UsedBy {
                        flow: code.clone(),
                        flow_name: f.name.clone(),
                        integration: f.integration.clone(),
                        position: position as u32,
                        kind: *kind,
                    });
                }
            }
        }
        out
    }
}

// ----- building a workspace through the API ---------------------------------

fn status<T>(r: &Result<T, ClientError>) -> u16 {
    match r {
        Ok(_) => 200,
        Err(e) => e.status().unwrap_or(0),
    }
}

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

/// Checks an operation's answer against the model's expectation.
fn expect_outcome<T>(
    what: &str,
    expect: &Expect,
    result: &Result<T, ClientError>,
    registered: impl Fn(&T) -> BTreeSet<String>,
) -> Result<(), TestCaseError> {
    match (expect, result) {
        (Expect::Ok(new), Ok(v)) => {
            let got = registered(v);
            if got != *new {
                return Err(fail(format!(
                    "{what}: registered {got:?}, the model says {new:?}"
                )));
            }
            Ok(())
        }
        (Expect::Refused(statuses), Err(e))
            if e.status().is_some_and(|s| statuses.contains(&s)) =>
        {
            Ok(())
        }
        (expect, result) => Err(fail(format!(
            "{what}: expected {expect:?}, got {}",
            match result {
                Ok(_) => "success".to_string(),
                Err(e) => format!("{:?} {e}", e.status()),
            }
        ))),
    }
}

/// Users a case creates: the admin and the members, with the password the
/// HTTP run logs in with.
fn password_of(name: &str) -> String {
    format!("{name} has a long password")
}

/// Creates the users, integrations, connections, grants and then runs the
/// operations, as `owner` and `admin`; returns the model of what it did.
async fn build(
    plan: &Plan,
    owner: &Client,
    admin_client: impl AsyncFnOnce() -> Client,
) -> Result<Model, TestCaseError> {
    let mut m = Model::default();
    owner
        .create_user(&NewUser {
            username: ADMIN.into(),
            kind: UserKind::Admin,
            password: Some(password_of(ADMIN)),
        })
        .await
        .map_err(|e| fail(format!("create admin: {e}")))?;
    let admin = admin_client().await;
    for i in 0..plan.members {
        let name = member_name(i);
        // The admin adds members (only the owner may add admins).
        admin
            .create_user(&NewUser {
                username: name.clone(),
                kind: UserKind::Member,
                password: Some(password_of(&name)),
            })
            .await
            .map_err(|e| fail(format!("create {name}: {e}")))?;
        m.members.push(name);
    }
    for (i, p) in plan.integrations.iter().enumerate() {
        let code = integration_code(i);
        let name = format!("{} {i}", WORDS[p.word]);
        let kind = if p.app {
            IntegrationKind::App
        } else {
            IntegrationKind::Standard
        };
        let by = if i % 2 == 0 { owner } else { &admin };
        let made = by
            .create_integration(&NewIntegration {
                name: name.clone(),
                code: Some(code.clone()),
                kind,
            })
            .await
            .map_err(|e| fail(format!("create integration {code}: {e}")))?;
        prop_assert_eq!(&made.code, &code);
        m.integrations.insert(code, (name, p.app));
    }
    let ints = plan.integrations.len();
    for (i, p) in plan.connections.iter().enumerate() {
        let code = connection_code(i);
        let new = |integration: Option<String>| NewConnection {
            label: format!("{} {i:02}", WORDS[p.word]),
            code: Some(code.clone()),
            integration,
            ..Default::default()
        };
        let by = if i % 2 == 0 { owner } else { &admin };
        if let Some(inside) = p.inside.map(|x| integration_code(x % ints)) {
            let r = by.create_connection(&new(Some(inside.clone()))).await;
            if m.is_app(&inside) {
                // R17: refused, and nothing is left of it (the same code
                // can be created next).
                prop_assert_eq!(status(&r), 409, "create {} inside app {}", code, inside);
            } else {
                r.map_err(|e| fail(format!("create {code} inside {inside}: {e}")))?;
                // R13
                m.registrations.insert((inside, code.clone()), true);
                m.connections.insert(code.clone());
                m.created.insert(code);
                continue;
            }
        }
        by.create_connection(&new(None))
            .await
            .map_err(|e| fail(format!("create {code}: {e}")))?;
        m.connections.insert(code.clone());
        m.created.insert(code);
    }
    let conns = plan.connections.len();
    let grant = async |m: &mut Model,
                       by: &Client,
                       member: usize,
                       integration: usize,
                       level: Option<AccessLevel>|
           -> Result<(), TestCaseError> {
        let member = member_name(member % plan.members);
        let integration = integration_code(integration % ints);
        by.set_access(&integration, &member, level)
            .await
            .map_err(|e| fail(format!("access {member} {integration} {level:?}: {e}")))?;
        m.set_access(&member, &integration, level);
        Ok(())
    };
    for (member, integration, level) in &plan.grants {
        grant(&mut m, owner, *member, *integration, Some(*level)).await?;
    }
    for (n, (by_admin, op)) in plan.ops.iter().enumerate() {
        let by = if *by_admin { &admin } else { owner };
        let what = format!("op {n} {op:?}");
        match op {
            Op::Register {
                integration,
                connections,
            } => {
                let i = integration_code(integration % ints);
                let cs: Vec<String> = connections
                    .iter()
                    .map(|c| connection_code(c % conns))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let expect = m.register(&i, &cs);
                let r = by.register(&i, &cs).await;
                expect_outcome(&what, &expect, &r, |v| {
                    v.registered.iter().cloned().collect()
                })?;
                if let Ok(v) = &r {
                    prop_assert_eq!(&v.integration.registered, &m.registered(&i), "{}", what);
                }
            }
            Op::Deregister {
                integration,
                connection,
            } => {
                let i = integration_code(integration % ints);
                let c = connection_code(connection % conns);
                let expect = m.deregister(&i, &c);
                let r = by.deregister(&i, &c).await;
                expect_outcome(&what, &expect, &r, |_| BTreeSet::new())?;
                if let Ok(v) = &r {
                    prop_assert_eq!(&v.registered, &m.registered(&i), "{}", what);
                }
            }
            Op::SaveFlow {
                flow,
                integration,
                steps,
            } => {
                let code = flow_code(*flow);
                let f = MFlow {
                    name: format!("Flow {flow} as of op {n}"),
                    integration: integration.map(|i| integration_code(i % ints)),
                    steps: steps
                        .iter()
                        .map(|(k, c)| (*k, connection_code(c % conns)))
                        .collect(),
                };
                let input = FlowInput {
                    name: f.name.clone(),
                    integration: f.integration.clone(),
                    steps: f
                        .steps
                        .iter()
                        .map(|(kind, c)| FlowStep {
                            kind: *kind,
                            connection: c.clone(),
                        })
                        .collect(),
                    version: None,
                };
                let expect = m.save_flow(&code, f.clone());
                let r = by.save_flow(&code, &input).await;
                expect_outcome(&what, &expect, &r, |v| {
                    v.registered.iter().cloned().collect()
                })?;
                if let Ok(v) = &r {
                    prop_assert_eq!(
                        (&v.flow.name, &v.flow.integration, &v.flow.steps),
                        (&input.name, &input.integration, &input.steps),
                        "{}",
                        what
                    );
                    // R14: the reminder comes with what was registered.
                    prop_assert_eq!(v.reminder.is_some(), !v.registered.is_empty(), "{}", what);
                }
            }
            Op::DeleteFlow { flow } => {
                let code = flow_code(*flow);
                let expect = m.delete_flow(&code);
                let r = by.delete_flow(&code).await;
                expect_outcome(&what, &expect, &r, |_| BTreeSet::new())?;
            }
            Op::Access {
                member,
                integration,
                level,
            } => grant(&mut m, by, *member, *integration, *level).await?,
            Op::DeleteConnection { connection } => {
                let c = connection_code(connection % conns);
                let expect = m.delete_connection(&c);
                let r = by.delete_connection(&c).await;
                expect_outcome(&what, &expect, &r, |_| BTreeSet::new())?;
            }
        }
    }
    Ok(m)
}

// ----- checking every read of every user ------------------------------------

struct Reader {
    name: String,
    kind: UserKind,
    client: Client,
}

/// The owner's reads, for the fields the model does not hold (ids,
/// timestamps, versions): a visible record must carry the same data.
struct Snapshot {
    /// In the owner's list order.
    connections: Vec<Connection>,
    /// In the owner's list order.
    integrations: Vec<Integration>,
    flows: BTreeMap<String, Flow>,
}

/// Codes that never existed.
const UNKNOWN_CONNECTION: &str = "conn_99";
const UNKNOWN_INTEGRATION: &str = "int_9";

fn codes<T>(items: &[T], code: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| code(i).to_string()).collect()
}

/// Every read of one user against the model; mismatches are collected in
/// `errs`, prefixed with the user.
async fn check_user(
    m: &Model,
    snap: &Snapshot,
    r: &Reader,
    page: u64,
    errs: &mut Vec<String>,
) -> Result<(), TestCaseError> {
    let member = (r.kind == UserKind::Member).then_some(r.name.as_str());
    let v = View { model: m, member };
    let who = &r.name;
    let mut err = |s: String| errs.push(format!("[{who}] {s}"));
    let c = &r.client;

    let me = c.me().await.map_err(|e| fail(format!("[{who}] me: {e}")))?;
    if (me.username.as_str(), me.kind) != (r.name.as_str(), r.kind) {
        err(format!("me: {me:?}"));
    }

    // Integrations: the list, and each one by code.
    let list = c
        .list_integrations()
        .await
        .map_err(|e| fail(format!("[{who}] list integrations: {e}")))?;
    // The model's integrations this user sees, in the owner's list order.
    let want: Vec<String> = snap
        .integrations
        .iter()
        .map(|i| i.code.clone())
        .filter(|code| v.integration(code).is_some())
        .collect();
    let mut sorted = want.clone();
    sorted.sort();
    let visible: Vec<&String> = m
        .integrations
        .keys()
        .filter(|code| v.integration(code).is_some())
        .collect();
    let got = codes(&list, |i| &i.code);
    if got != want || sorted.iter().collect::<Vec<_>>() != visible {
        err(format!(
            "list integrations: {got:?}, the model says {visible:?} (owner's order {want:?})"
        ));
    }
    let mut by_code = BTreeMap::new();
    for i in &list {
        let level = v.integration(&i.code);
        if let (Some(level), Some(owner)) =
            (level, snap.integrations.iter().find(|o| o.code == i.code))
            && *i
                != (Integration {
                    access: Some(level),
                    ..owner.clone()
                })
        {
            err(format!(
                "list integrations: {i:?} is not the owner's {owner:?} with access {level:?}"
            ));
        }
        by_code.insert(i.code.clone(), i.clone());
    }
    for code in m
        .integrations
        .keys()
        .map(String::as_str)
        .chain([UNKNOWN_INTEGRATION])
    {
        let got = c.get_integration(code).await;
        match (v.integration(code), &got) {
            (Some(_), Ok(i)) if by_code.get(code) == Some(i) => {}
            (None, Err(e)) if e.status() == Some(404) => {}
            (level, got) => err(format!(
                "get integration {code}: {got:?} (listed {:?}), the model says {level:?}",
                by_code.get(code)
            )),
        }
    }

    // Connections: the list, its pages, the stale ones, each one.
    let list = c
        .list_connections()
        .await
        .map_err(|e| fail(format!("[{who}] list connections: {e}")))?;
    let visible: BTreeSet<String> = m
        .connections
        .iter()
        .filter(|c| v.connection(c).is_some())
        .cloned()
        .collect();
    let got: BTreeSet<String> = codes(&list, |c| &c.code).into_iter().collect();
    if got != visible || list.len() != visible.len() {
        err(format!(
            "list connections: {:?}, the model says {visible:?}",
            codes(&list, |c| &c.code)
        ));
    }
    // The owner's order, and the owner's data.
    let owner_order: Vec<&Connection> = snap
        .connections
        .iter()
        .filter(|o| got.contains(&o.code))
        .collect();
    if list.iter().collect::<Vec<_>>() != owner_order {
        err("list connections: not the owner's items in the owner's order".to_string());
    }
    let mut pages = Vec::new();
    let mut offset = 0;
    loop {
        let p = c
            .list_connections_page(offset, Some(page))
            .await
            .map_err(|e| fail(format!("[{who}] page at {offset}: {e}")))?;
        if p.total != visible.len() as u64 || p.offset != offset {
            err(format!(
                "page at {offset} of {page}: total {} offset {}, the model says {} connections",
                p.total,
                p.offset,
                visible.len()
            ));
        }
        let n = p.items.len() as u64;
        pages.extend(p.items);
        offset += page;
        if n < page || offset > 2 * MAX_CONNECTIONS as u64 {
            break;
        }
    }
    if pages != list {
        err(format!(
            "pages of {page}: {:?} are not the list",
            codes(&pages, |c| &c.code)
        ));
    }
    let stale = c
        .list_stale_connections()
        .await
        .map_err(|e| fail(format!("[{who}] stale: {e}")))?;
    let want: Vec<String> = list
        .iter()
        .filter(|c| !m.in_use(&c.code))
        .map(|c| c.code.clone())
        .collect();
    if codes(&stale, |c| &c.code) != want {
        err(format!(
            "stale connections: {:?}, the model says {want:?}",
            codes(&stale, |c| &c.code)
        ));
    }
    for item in &list {
        if item.in_use != m.in_use(&item.code) || item.stale == m.in_use(&item.code) {
            err(format!(
                "{}: in_use {} stale {}, the model says in use: {}",
                item.code,
                item.in_use,
                item.stale,
                m.in_use(&item.code)
            ));
        }
    }
    let listed: BTreeMap<&str, &Connection> = list.iter().map(|c| (c.code.as_str(), c)).collect();
    let flows = c
        .list_flows()
        .await
        .map_err(|e| fail(format!("[{who}] list flows: {e}")))?;
    for code in m
        .created
        .iter()
        .map(String::as_str)
        .chain([UNKNOWN_CONNECTION])
    {
        let seen = v.connection(code).is_some();
        let got = c.get_connection(code).await;
        match (&got, listed.get(code)) {
            (Ok(x), Some(l)) if seen && x == *l => {}
            (Err(e), None) if !seen && e.status() == Some(404) => {}
            (got, _) => err(format!(
                "get connection {code}: {:?}, the model says visible: {seen}",
                got.as_ref().map(|c| &c.code)
            )),
        }
        let got = c.used_by(code).await;
        match &got {
            Ok(u) if seen => {
                let want = v.used_by(code);
                if *u != want {
                    err(format!("used-by {code}: {u:?}, the model says {want:?}"));
                }
                // Only steps this user may see (R18), through their flow
                // list.
                for s in u {
                    let shown = flows.iter().any(|f| {
                        f.code == s.flow
                            && f.steps
                                .iter()
                                .any(|t| t.connection == code && t.kind == s.kind)
                    });
                    if !shown {
                        err(format!(
                            "used-by {code} names step {} of {}, which their flows do not show",
                            s.position, s.flow
                        ));
                    }
                }
            }
            Err(e) if !seen && e.status() == Some(404) => {}
            got => err(format!(
                "used-by {code}: {got:?}, the model says visible: {seen}"
            )),
        }
        let got = c.connection_audit(code).await;
        let fine = match &got {
            Ok(_) => seen || (member.is_none() && !m.connections.contains(code)),
            // Admins read a deleted connection's trail (or get 404 for a
            // code that never existed); for members, unseen is not found.
            Err(e) => !seen && e.status() == Some(404),
        };
        if !fine {
            err(format!(
                "audit {code}: {}, the model says visible: {seen}",
                status(&got)
            ));
        }
        let got = c.credentials_info(code).await;
        match &got {
            Ok(info)
                if seen
                    && info.code == code
                    && listed
                        .get(code)
                        .is_some_and(|l| l.client_id == info.client_id) => {}
            Err(e) if !seen && e.status() == Some(404) => {}
            got => err(format!(
                "credentials of {code}: {}, the model says visible: {seen}",
                status(got)
            )),
        }
    }

    // Flows: the list, and each one by code.
    let want: Vec<String> = m
        .flows
        .keys()
        .filter(|f| v.flow(f).is_some())
        .cloned()
        .collect();
    if codes(&flows, |f| &f.code) != want {
        err(format!(
            "list flows: {:?}, the model says {want:?}",
            codes(&flows, |f| &f.code)
        ));
    }
    for f in &flows {
        let Some((mf, partial)) = v.flow(&f.code) else {
            continue;
        };
        let steps: Vec<FlowStep> = mf
            .steps
            .iter()
            .map(|(kind, c)| FlowStep {
                kind: *kind,
                connection: c.clone(),
            })
            .collect();
        let want = snap.flows.get(&f.code).map(|o| Flow {
            name: mf.name.clone(),
            integration: mf.integration.clone(),
            steps,
            partial,
            ..o.clone()
        });
        if Some(f) != want.as_ref() {
            err(format!("list flows: {f:?}, the model says {want:?}"));
        }
    }
    for n in 0..MAX_FLOWS {
        let code = flow_code(n);
        let got = c.get_flow(&code).await;
        let listed = flows.iter().find(|f| f.code == code);
        match (&got, listed) {
            (Ok(f), Some(l)) if f == l => {}
            (Err(e), None) if e.status() == Some(404) => {}
            (got, listed) => err(format!("get flow {code}: {got:?}, listed {listed:?}")),
        }
    }
    Ok(())
}

/// R20 (after every read, since a reveal is audited): the secret to the
/// owner and admins, and to members who manage an integration the
/// connection is registered with; 403 to those who only monitor; 404 to
/// those who do not see it.
async fn check_reveal(m: &Model, r: &Reader, errs: &mut Vec<String>) {
    let member = (r.kind == UserKind::Member).then_some(r.name.as_str());
    let v = View { model: m, member };
    for code in m
        .created
        .iter()
        .map(String::as_str)
        .chain([UNKNOWN_CONNECTION])
    {
        let got = status(&r.client.reveal_secret(code).await);
        let want = match v.connection(code) {
            Some(AccessLevel::Manage) => 200,
            Some(AccessLevel::Monitor) => 403,
            None => 404,
        };
        if got != want {
            errs.push(format!(
                "[{}] reveal secret of {code}: {got}, the model says {want}",
                r.name
            ));
        }
    }
}

async fn check_all(m: &Model, readers: &[Reader], page: u64) -> Result<(), TestCaseError> {
    let owner = &readers[0].client;
    let snap = Snapshot {
        connections: owner
            .list_connections()
            .await
            .map_err(|e| fail(format!("owner list: {e}")))?,
        integrations: owner
            .list_integrations()
            .await
            .map_err(|e| fail(format!("owner integrations: {e}")))?,
        flows: owner
            .list_flows()
            .await
            .map_err(|e| fail(format!("owner flows: {e}")))?
            .into_iter()
            .map(|f| (f.code.clone(), f))
            .collect(),
    };
    let mut errs = Vec::new();
    // The owner's reads against the model's fields (the snapshot supplies
    // only what the model does not hold).
    for (code, (name, app)) in &m.integrations {
        match snap.integrations.iter().find(|i| i.code == *code) {
            Some(i)
                if i.name == *name
                    && (i.kind == IntegrationKind::App) == *app
                    && i.registered == m.registered(code)
                    && i.flows
                        == m.flows
                            .values()
                            .filter(|f| f.integration.as_deref() == Some(code))
                            .count() as u64 => {}
            got => errs.push(format!(
                "owner's integration {code}: {got:?}, the model says name {name:?}, app {app}, registered {:?}",
                m.registered(code)
            )),
        }
    }
    for r in readers {
        check_user(m, &snap, r, page, &mut errs).await?;
    }
    for r in readers {
        check_reveal(m, r, &mut errs).await;
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(fail(errs.join("\n")))
    }
}

// ----- the two transports ----------------------------------------------------

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn users(plan: &Plan) -> Vec<(String, UserKind)> {
    let mut users = vec![
        (OWNER.to_string(), UserKind::Owner),
        (ADMIN.to_string(), UserKind::Admin),
    ];
    users.extend((0..plan.members).map(|i| (member_name(i), UserKind::Member)));
    users
}

/// A client of the embedded store at `location` (its key file in `dir`),
/// acting as its owner or, with `as_user`, as that user. On SQLite
/// `Client::embedded` / `Client::embedded_as` on `dir`; on PostgreSQL what
/// they do (which opens SQLite only): a store of its own on `location`, its
/// owner ensured, the user looked up.
async fn embedded_client(
    location: &Location,
    dir: &Path,
    as_user: Option<&str>,
    source: Source,
) -> Client {
    if let Location::Sqlite(_) = location {
        return match as_user {
            None => Client::embedded(dir, OWNER, source).await,
            Some(name) => Client::embedded_as(dir, OWNER, name, source).await,
        }
        .unwrap();
    }
    let (_, key) = sqlite_paths(dir);
    let store = Store::open(location, &key, PoolConfig::default())
        .await
        .unwrap();
    let me = store.ensure_owner(OWNER).await.unwrap();
    let actor = match as_user {
        None => Actor {
            username: me.username,
            kind: me.kind,
        },
        Some(name) => {
            let user = store.user_by_name(name).await.unwrap().unwrap().user;
            Actor {
                username: user.username,
                kind: user.kind,
            }
        }
    };
    let service = Arc::new(Service::new(store));
    Client::new(Arc::new(InProcess::new(service, actor)), source)
}

/// In process: written by a service whose clock runs 31 days behind, read
/// through `Client::embedded` (the owner) and `Client::embedded_as` (the
/// others) on the same data directory (on PostgreSQL: see
/// [`embedded_client`]).
async fn embedded_case(engine: Engine, plan: &Plan) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let location = common::location(engine, dir.path()).await;
    let model = {
        let (_, key) = sqlite_paths(dir.path());
        let clock = Arc::new(TestClock::default());
        clock.advance(chrono::Duration::days(-AGE_DAYS));
        let store = Store::open(&location, &key, PoolConfig::default())
            .await
            .unwrap()
            .with_clock(clock);
        store.ensure_owner(OWNER).await.unwrap();
        let service = Arc::new(Service::new(store));
        let as_user = |username: &str, kind| {
            Client::new(
                Arc::new(InProcess::new(
                    service.clone(),
                    Actor {
                        username: username.to_string(),
                        kind,
                    },
                )),
                Source::Cli,
            )
        };
        let owner = as_user(OWNER, UserKind::Owner);
        build(plan, &owner, async || as_user(ADMIN, UserKind::Admin)).await?
    };
    let mut readers = Vec::new();
    for (name, kind) in users(plan) {
        let as_user = (kind != UserKind::Owner).then_some(name.as_str());
        let client = embedded_client(&location, dir.path(), as_user, Source::Tui).await;
        readers.push(Reader { name, kind, client });
    }
    check_all(&model, &readers, plan.page).await
}

/// Over HTTP: a real server on a loopback port; written now, read after its
/// clock moved 31 days on, each user logged in with their password.
async fn http_case(engine: Engine, plan: &Plan) -> Result<(), TestCaseError> {
    const OWNER_PASSWORD: &str = "correct horse battery";
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(TestClock::default());
    let store = open_store(engine, dir.path())
        .await
        .with_clock(clock.clone());
    let service = Arc::new(Service::new(store));
    service
        .prepare_owner(Some(OWNER), Some(OWNER_PASSWORD.to_string().into()))
        .await
        .unwrap();
    let server = serve::start(service, "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let url = format!("http://{}", server.addr());
    let login = async |name: &str, password: &str| {
        let c = Client::http(&url, None, None, Source::Cli).unwrap();
        c.login(name, password).await.unwrap();
        c
    };
    let owner = login(OWNER, OWNER_PASSWORD).await;
    let model = build(plan, &owner, async || {
        login(ADMIN, &password_of(ADMIN)).await
    })
    .await?;
    clock.advance(chrono::Duration::days(AGE_DAYS));
    let mut readers = Vec::new();
    for (name, kind) in users(plan) {
        let password = match kind {
            UserKind::Owner => OWNER_PASSWORD.to_string(),
            _ => password_of(&name),
        };
        let client = login(&name, &password).await;
        readers.push(Reader { name, kind, client });
    }
    let result = check_all(&model, &readers, plan.page).await;
    drop(server);
    result
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(32),
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    })]

    #[test]
    fn r18_visibility_matches_reference_model(plan in plan()) {
        runtime().block_on(embedded_case(Engine::Sqlite, &plan))?;
    }

    #[test]
    fn r18_visibility_matches_reference_model_on_postgres(plan in plan()) {
        runtime().block_on(embedded_case(Engine::Postgres, &plan))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(32) / 4,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn r18_visibility_matches_reference_model_over_http(plan in plan()) {
        runtime().block_on(http_case(Engine::Sqlite, &plan))?;
    }

    #[test]
    fn r18_visibility_matches_reference_model_over_http_on_postgres(plan in plan()) {
        runtime().block_on(http_case(Engine::Postgres, &plan))?;
    }
}

/// R12 lets a member who manages an integration register "any connection
/// they can see": not one they cannot see, neither by `POST
/// …/registrations` nor through R14 by saving a flow with a step on it —
/// else they would then see it and, managing the integration, reveal its
/// secret (R20). An unseen connection is "not found" (R18), as an unknown
/// code is. A step the flow already has stays saveable when its connection
/// has since been hidden from the member.
#[rstest::rstest]
#[tokio::test]
async fn r12_a_member_cannot_register_a_connection_they_cannot_see(
    #[values(Engine::Sqlite, Engine::Postgres)] engine: Engine,
) {
    let dir = tempfile::tempdir().unwrap();
    let location = common::location(engine, dir.path()).await;
    let owner = embedded_client(&location, dir.path(), None, Source::Cli).await;
    owner
        .create_user(&NewUser {
            username: "mem".into(),
            kind: UserKind::Member,
            password: None,
        })
        .await
        .unwrap();
    owner
        .create_integration(&NewIntegration {
            name: "Mine".into(),
            code: Some("mine".into()),
            kind: IntegrationKind::Standard,
        })
        .await
        .unwrap();
    for code in ["hidden_one", "hidden_two"] {
        owner
            .create_connection(&NewConnection {
                label: code.into(),
                code: Some(code.into()),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    owner
        .set_access("mine", "mem", Some(AccessLevel::Manage))
        .await
        .unwrap();
    let mem = embedded_client(&location, dir.path(), Some("mem"), Source::Cli).await;
    assert_eq!(status(&mem.get_connection("hidden_one").await), 404);
    // By registration…
    let r = mem.register("mine", &["hidden_one".to_string()]).await;
    assert_eq!(status(&r), 404, "{:?}", r.map(|r| r.registered));
    assert_eq!(status(&mem.reveal_secret("hidden_one").await), 404);
    // …and by saving a flow (R14).
    let r = mem
        .save_flow(
            "my_flow",
            &FlowInput {
                name: "My flow".into(),
                integration: Some("mine".into()),
                steps: vec![FlowStep {
                    kind: StepKind::Export,
                    connection: "hidden_two".into(),
                }],
                version: None,
            },
        )
        .await;
    assert_eq!(status(&r), 404, "{:?}", r.map(|s| s.registered));
    assert_eq!(status(&mem.reveal_secret("hidden_two").await), 404);
    // The owner puts hidden_two in a flow of "mine" (R14 registers it), then
    // deregisters it: the member no longer sees it, but re-saving the flow
    // with its existing step works (R15), and adding a second one does not.
    let flow = FlowInput {
        name: "Owner's flow".into(),
        integration: Some("mine".into()),
        steps: vec![FlowStep {
            kind: StepKind::Export,
            connection: "hidden_two".into(),
        }],
        version: None,
    };
    owner.save_flow("owners_flow", &flow).await.unwrap();
    owner.deregister("mine", "hidden_two").await.unwrap();
    assert_eq!(status(&mem.get_connection("hidden_two").await), 404);
    let saved = mem.save_flow("owners_flow", &flow).await.unwrap();
    assert!(saved.registered.is_empty());
    let mut more = flow.clone();
    more.steps.push(FlowStep {
        kind: StepKind::Import,
        connection: "hidden_one".into(),
    });
    assert_eq!(status(&mem.save_flow("owners_flow", &more).await), 404);
}
