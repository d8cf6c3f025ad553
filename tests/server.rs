//! The served backend: login and sessions, lockout, expiry (injected clock),
//! users, concurrent edits, TLS.

use std::sync::Arc;

use switchboard::client::{Client, ClientError};
use switchboard::model::{
    ConnectionPatch, NewConnection, NewUser, PasswordChange, Source, UserKind,
};
use switchboard::server::serve::{self, Running, TlsFiles};
use switchboard::service::Service;
use switchboard::store::{Store, TestClock, sqlite_paths};
use tempfile::TempDir;

const OWNER_PASSWORD: &str = "correct horse battery";

struct Server {
    url: String,
    clock: Arc<TestClock>,
    _running: Running,
    _dir: TempDir,
}

async fn start_with(tls: Option<TlsFiles>, dir: TempDir) -> Server {
    let (db, key) = sqlite_paths(dir.path());
    let clock = Arc::new(TestClock::default());
    let store = Store::open_sqlite(&db, &key)
        .await
        .unwrap()
        .with_clock(clock.clone());
    let service = Arc::new(Service::new(store));
    service
        .prepare_owner(Some("alice"), Some(OWNER_PASSWORD.to_string().into()))
        .await
        .unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let running = serve::start(service, "127.0.0.1:0".parse().unwrap(), tls)
        .await
        .unwrap();
    let url = match scheme {
        "https" => format!("https://localhost:{}", running.addr().port()),
        _ => format!("http://{}", running.addr()),
    };
    Server {
        url,
        clock,
        _running: running,
        _dir: dir,
    }
}

async fn start() -> Server {
    start_with(None, tempfile::tempdir().unwrap()).await
}

impl Server {
    fn client(&self) -> Client {
        Client::http(&self.url, None, None, Source::Cli).unwrap()
    }

    async fn owner(&self) -> Client {
        let c = self.client();
        c.login("alice", OWNER_PASSWORD).await.unwrap();
        c
    }

    async fn user(&self, owner: &Client, name: &str, kind: UserKind) -> Client {
        let password = format!("{name} has a long password");
        owner
            .create_user(&NewUser {
                username: name.into(),
                kind,
                password: Some(password.clone()),
            })
            .await
            .unwrap();
        let c = self.client();
        c.login(name, &password).await.unwrap();
        c
    }
}

/// A raw login, to look at status, headers and body.
async fn raw_login(url: &str, username: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/api/v1/session"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_the_right_password_opens_a_session() {
    let s = start().await;
    let c = s.client();
    let err = c.me().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "no session, no access");
    let session = c.login("alice", OWNER_PASSWORD).await.unwrap();
    assert!(session.token.starts_with("sbu_"));
    assert_eq!(session.idle_timeout_secs, 12 * 3600);
    let me = c.me().await.unwrap();
    assert_eq!((me.username.as_str(), me.kind), ("alice", UserKind::Owner));
    let resp = raw_login(&s.url, "alice", OWNER_PASSWORD).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["cache-control"], "no-store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_user_get_identical_answers() {
    let s = start().await;
    let wrong = raw_login(&s.url, "alice", "not the password").await;
    let unknown = raw_login(&s.url, "mallory", "not the password").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let a: serde_json::Value = wrong.json().await.unwrap();
    let b: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(a["message"], "wrong username or password");
    // Bad bodies name the field.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/session", s.url))
        .json(&serde_json::json!({"username": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["field"], "password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_the_username_with_retry_after() {
    let s = start().await;
    for _ in 0..5 {
        assert_eq!(
            raw_login(&s.url, "alice", "wrong password!").await.status(),
            401
        );
    }
    // Locked: even the right password waits.
    let locked = raw_login(&s.url, "alice", OWNER_PASSWORD).await;
    assert_eq!(locked.status(), 429);
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // The lock holds for every client, not just the one that failed.
    let other = s.client();
    assert_eq!(
        other
            .login("alice", OWNER_PASSWORD)
            .await
            .unwrap_err()
            .status(),
        Some(429)
    );
    // After the lock time the right password works again.
    s.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(
        raw_login(&s.url, "alice", OWNER_PASSWORD).await.status(),
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_from_one_address_lock_that_address() {
    let s = start().await;
    for i in 0..20 {
        raw_login(&s.url, &format!("guess{i}"), "wrong password!").await;
    }
    let resp = raw_login(&s.url, "alice", OWNER_PASSWORD).await;
    assert_eq!(
        resp.status(),
        429,
        "the address is locked for every username"
    );
    assert!(resp.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_after_12_hours_idle() {
    let s = start().await;
    let c = s.owner().await;
    // Used within 12 hours, the session lives on.
    s.clock.advance(chrono::Duration::hours(11));
    c.me().await.unwrap();
    s.clock.advance(chrono::Duration::hours(11));
    c.me().await.unwrap();
    // Idle for longer, it is gone.
    s.clock
        .advance(chrono::Duration::hours(12) + chrono::Duration::minutes(1));
    let err = c.me().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(err.to_string().contains("log in again"), "{err}");
    c.login("alice", OWNER_PASSWORD).await.unwrap();
    c.me().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_session() {
    let s = start().await;
    let c = s.owner().await;
    let other = s.owner().await;
    c.logout().await.unwrap();
    assert_eq!(c.me().await.unwrap_err().status(), Some(401));
    other.me().await.unwrap();
    // A forged or unknown token is refused the same way.
    let forged = Client::http(
        &s.url,
        None,
        Some("sbu_forged".to_string().into()),
        Source::Cli,
    )
    .unwrap();
    assert_eq!(forged.me().await.unwrap_err().status(), Some(401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_managed_by_the_owner_and_admins() {
    let s = start().await;
    let owner = s.owner().await;
    let admin = s.user(&owner, "ada", UserKind::Admin).await;
    let member = s.user(&admin, "mel", UserKind::Member).await;
    let names: Vec<_> = owner
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["alice", "ada", "mel"]);
    assert_eq!(member.list_users().await.unwrap_err().status(), Some(403));
    let err = admin
        .create_user(&NewUser {
            username: "root2".into(),
            kind: UserKind::Admin,
            password: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "only the owner adds admins");
    let err = owner
        .create_user(&NewUser {
            username: "weak".into(),
            kind: UserKind::Member,
            password: Some("short".into()),
        })
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.field()), (Some(400), Some("password")));
    assert!(
        !err.to_string().contains("short\""),
        "the password is not echoed"
    );
    let generated = owner
        .create_user(&NewUser {
            username: "gen".into(),
            kind: UserKind::Member,
            password: None,
        })
        .await
        .unwrap()
        .generated_password
        .expect("a generated password is returned once");
    s.client().login("gen", &generated).await.unwrap();
    assert_eq!(
        owner.remove_user("alice").await.unwrap_err().status(),
        Some(409)
    );
    // A new password ends the user's sessions.
    owner
        .set_password(
            "mel",
            &PasswordChange {
                password: Some("mel's new long password".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(member.me().await.unwrap_err().status(), Some(401));
    owner.remove_user("ada").await.unwrap();
    assert_eq!(
        admin.me().await.unwrap_err().status(),
        Some(401),
        "removed users lose their sessions"
    );
    assert_eq!(
        owner.remove_user("ada").await.unwrap_err().status(),
        Some(404)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_the_second_gets_409_and_nothing_is_lost() {
    let s = start().await;
    let owner = s.owner().await;
    let admin = s.user(&owner, "ada", UserKind::Admin).await;
    owner
        .create_connection(&NewConnection {
            label: "Shared App".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let seen_by_owner = owner.get_connection("shared_app").await.unwrap();
    let seen_by_admin = admin.get_connection("shared_app").await.unwrap();
    assert_eq!(seen_by_owner.version, seen_by_admin.version);
    let first = owner
        .update_connection(
            "shared_app",
            &ConnectionPatch {
                label: Some("Shared App (owner)".into()),
                version: Some(seen_by_owner.version),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.version, seen_by_owner.version + 1);
    let err = admin
        .update_connection(
            "shared_app",
            &ConnectionPatch {
                label: Some("Shared App (admin)".into()),
                version: Some(seen_by_admin.version),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    match &err {
        ClientError::Api { status, error } => {
            assert_eq!((*status, error.code.as_str()), (409, "stale"));
            assert_eq!(error.field.as_deref(), Some("version"));
            assert!(error.message.contains("by alice at"), "{}", error.message);
        }
        other => panic!("{other:?}"),
    }
    // Nothing lost: the first change stands; a change based on it succeeds.
    let now = admin.get_connection("shared_app").await.unwrap();
    assert_eq!(now.label, "Shared App (owner)");
    let second = admin
        .update_connection(
            "shared_app",
            &ConnectionPatch {
                flow_type: Some(switchboard::model::FlowType::Other),
                version: Some(now.version),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(second.label, "Shared App (owner)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_trusted_with_the_ca_certificate_and_refused_without() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let files = TlsFiles {
        cert: cert_path.clone(),
        key: key_path,
    };
    let s = start_with(Some(files), dir).await;
    assert!(s.url.starts_with("https://localhost:"));
    let trusting = Client::http(&s.url, Some(&cert_path), None, Source::Cli).unwrap();
    trusting.login("alice", OWNER_PASSWORD).await.unwrap();
    assert_eq!(trusting.me().await.unwrap().username, "alice");
    let untrusting = s.client();
    let err = untrusting.login("alice", OWNER_PASSWORD).await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

/// Issue 14: the common self-signed certificate (`openssl req -x509` marks
/// it CA:TRUE) is accepted when given explicitly with `--ca-cert` as the
/// server's own; without it, it is still refused, and another server's
/// certificate is not accepted in its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_ca_certificate_given_explicitly_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str| {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (cert_pem, key_pem) = make("localhost");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, &cert_pem).unwrap();
    std::fs::write(&key_path, &key_pem).unwrap();
    let (other_pem, _) = make("someone else");
    let other_path = dir.path().join("other.pem");
    std::fs::write(&other_path, &other_pem).unwrap();
    let files = TlsFiles {
        cert: cert_path.clone(),
        key: key_path,
    };
    let s = start_with(Some(files), dir).await;
    let trusting = Client::http(&s.url, Some(&cert_path), None, Source::Cli).unwrap();
    trusting.login("alice", OWNER_PASSWORD).await.unwrap();
    assert_eq!(trusting.me().await.unwrap().username, "alice");
    let err = s.client().login("alice", OWNER_PASSWORD).await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
    let wrong = Client::http(&s.url, Some(&other_path), None, Source::Cli).unwrap();
    let err = wrong.login("alice", OWNER_PASSWORD).await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let c = Client::http(&url, None, None, Source::Cli).unwrap();
    let err = c.me().await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
    assert!(err.to_string().contains(&url), "{err}");
    assert!(Client::http("ftp://x", None, None, Source::Cli).is_err());
}

#[tokio::test]
async fn r18_r20_a_member_without_access_can_neither_see_nor_rotate_credentials() {
    let server = start().await;
    let owner = server.owner().await;
    let created = owner
        .create_connection(&NewConnection {
            label: "Guarded".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let code = &created.connection.code;
    let member = server.user(&owner, "mia", UserKind::Member).await;
    for e in [
        member.reveal_secret(code).await.map(drop).unwrap_err(),
        member.regenerate_secret(code).await.map(drop).unwrap_err(),
        member
            .regenerate_password(code)
            .await
            .map(drop)
            .unwrap_err(),
    ] {
        // R18: unseen is not found, never forbidden
        assert_eq!(e.status(), Some(404), "{e}");
    }
    // nothing changed
    assert_eq!(
        owner.reveal_secret(code).await.unwrap().secret,
        created.secret
    );
    let admin = server.user(&owner, "ada", UserKind::Admin).await;
    let rotated = admin.regenerate_secret(code).await.unwrap();
    assert_ne!(rotated.secret, created.secret);
}

#[tokio::test]
async fn r19_monitor_is_read_only_manage_registers_and_unseen_integrations_are_not_found() {
    use switchboard::model::{
        AccessLevel, FlowInput, FlowStep, IntegrationKind, NewIntegration, StepKind,
    };
    let server = start().await;
    let owner = server.owner().await;
    for label in ["Erp One", "Shop One"] {
        owner
            .create_connection(&NewConnection {
                label: label.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    for name in ["Orders", "Finance"] {
        owner
            .create_integration(&NewIntegration {
                name: name.into(),
                code: None,
                kind: IntegrationKind::Standard,
            })
            .await
            .unwrap();
    }
    let mo = server.user(&owner, "mo", UserKind::Member).await;
    let ma = server.user(&owner, "ma", UserKind::Member).await;
    owner
        .set_access("orders", "mo", Some(AccessLevel::Monitor))
        .await
        .unwrap();
    owner
        .set_access("orders", "ma", Some(AccessLevel::Manage))
        .await
        .unwrap();
    // each member sees only Orders; Finance does not exist for them (404)
    for m in [&mo, &ma] {
        let seen: Vec<String> = m
            .list_integrations()
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.code)
            .collect();
        assert_eq!(seen, vec!["orders".to_string()]);
        assert_eq!(
            m.get_integration("finance").await.unwrap_err().status(),
            Some(404)
        );
        assert_eq!(
            m.register("finance", &["erp_one".to_string()])
                .await
                .unwrap_err()
                .status(),
            Some(404)
        );
    }
    // monitor: read-only, told why
    let err = mo
        .register("orders", &["erp_one".to_string()])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.to_string().contains("monitor"), "{err}");
    // manage: registers what they can see (R12: here through a third
    // integration they monitor), and saves flows
    owner
        .create_integration(&NewIntegration {
            name: "Shared".into(),
            code: None,
            kind: IntegrationKind::Standard,
        })
        .await
        .unwrap();
    owner
        .register("shared", &["erp_one".to_string(), "shop_one".to_string()])
        .await
        .unwrap();
    owner
        .set_access("shared", "ma", Some(AccessLevel::Monitor))
        .await
        .unwrap();
    ma.register("orders", &["erp_one".to_string()])
        .await
        .unwrap();
    let saved = ma
        .save_flow(
            "orders_sync",
            &FlowInput {
                name: "Orders sync".into(),
                integration: Some("orders".into()),
                steps: vec![FlowStep {
                    kind: StepKind::Export,
                    connection: "shop_one".into(),
                }],
                version: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(saved.registered, vec!["shop_one".to_string()]);
    assert_eq!(mo.get_flow("orders_sync").await.unwrap().steps.len(), 1);
    // standalone flows and new integrations are for admins
    let err = ma
        .save_flow(
            "alone",
            &FlowInput {
                name: "Alone".into(),
                integration: None,
                steps: vec![],
                version: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    // access can be taken away; admins cannot be given integration access
    owner.set_access("orders", "mo", None).await.unwrap();
    assert!(mo.list_integrations().await.unwrap().is_empty());
    let admin = server.user(&owner, "ad", UserKind::Admin).await;
    drop(admin);
    let err = owner
        .set_access("orders", "ad", Some(AccessLevel::Manage))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("username"));
}

#[tokio::test]
async fn r18_r20_a_member_sees_only_connections_registered_with_their_integrations_and_steps_on_them()
 {
    use switchboard::model::{
        AccessLevel, FlowInput, FlowStep, IntegrationKind, NewIntegration, StepKind,
    };
    let server = start().await;
    let owner = server.owner().await;
    for label in ["Erp One", "Shop One", "Dam One", "Hidden One"] {
        owner
            .create_connection(&NewConnection {
                label: label.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    for name in ["Orders", "Finance", "Assets"] {
        owner
            .create_integration(&NewIntegration {
                name: name.into(),
                code: None,
                kind: IntegrationKind::Standard,
            })
            .await
            .unwrap();
    }
    let step = |kind, c: &str| FlowStep {
        kind,
        connection: c.into(),
    };
    // Orders uses erp and shop; Finance uses erp and hidden; Assets uses dam.
    owner
        .save_flow(
            "orders_sync",
            &FlowInput {
                name: "Orders sync".into(),
                integration: Some("orders".into()),
                steps: vec![
                    step(StepKind::Export, "erp_one"),
                    step(StepKind::Import, "shop_one"),
                ],
                version: None,
            },
        )
        .await
        .unwrap();
    owner
        .save_flow(
            "finance_sync",
            &FlowInput {
                name: "Finance sync".into(),
                integration: Some("finance".into()),
                steps: vec![
                    step(StepKind::Export, "erp_one"),
                    step(StepKind::Import, "hidden_one"),
                ],
                version: None,
            },
        )
        .await
        .unwrap();
    owner
        .save_flow(
            "assets_sync",
            &FlowInput {
                name: "Assets sync".into(),
                integration: Some("assets".into()),
                steps: vec![step(StepKind::Export, "dam_one")],
                version: None,
            },
        )
        .await
        .unwrap();
    let mo = server.user(&owner, "mo", UserKind::Member).await;
    let ma = server.user(&owner, "ma", UserKind::Member).await;
    let nobody = server.user(&owner, "nobody", UserKind::Member).await;
    owner
        .set_access("orders", "mo", Some(AccessLevel::Monitor))
        .await
        .unwrap();
    owner
        .set_access("orders", "ma", Some(AccessLevel::Manage))
        .await
        .unwrap();

    // R18: connections registered with Orders, nothing else
    for m in [&mo, &ma] {
        let mut seen: Vec<String> = m
            .list_connections()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.code)
            .collect();
        seen.sort();
        assert_eq!(seen, vec!["erp_one".to_string(), "shop_one".to_string()]);
        for hidden in ["dam_one", "hidden_one"] {
            assert_eq!(
                m.get_connection(hidden).await.unwrap_err().status(),
                Some(404)
            );
            assert_eq!(
                m.connection_audit(hidden).await.unwrap_err().status(),
                Some(404)
            );
            assert_eq!(
                m.credentials_info(hidden).await.unwrap_err().status(),
                Some(404)
            );
            assert_eq!(m.used_by(hidden).await.unwrap_err().status(), Some(404));
        }
        // flows: Orders' whole; Finance's only the step on erp_one; Assets' none
        let flows = m.list_flows().await.unwrap();
        let codes: Vec<&str> = flows.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, vec!["finance_sync", "orders_sync"]);
        assert!(flows[0].partial && flows[0].steps == vec![step(StepKind::Export, "erp_one")]);
        assert!(!flows[1].partial && flows[1].steps.len() == 2);
        assert_eq!(
            m.get_flow("assets_sync").await.unwrap_err().status(),
            Some(404)
        );
        // used-by of a visible connection names every step, in any integration
        assert_eq!(m.used_by("erp_one").await.unwrap().len(), 2);
    }
    assert!(nobody.list_connections().await.unwrap().is_empty());
    assert!(nobody.list_flows().await.unwrap().is_empty());

    // R20: monitor may not act on credentials; manage may; unseen is 404
    let err = mo.reveal_secret("erp_one").await.map(drop).unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.to_string().contains("monitor"), "{err}");
    assert!(ma.reveal_secret("erp_one").await.is_ok());
    assert!(ma.regenerate_password("shop_one").await.is_ok());
    assert_eq!(
        ma.regenerate_secret("dam_one")
            .await
            .map(drop)
            .unwrap_err()
            .status(),
        Some(404)
    );
    // R13 + R19: a manager creates inside their integration, not outside
    let inside = ma
        .create_connection(&NewConnection {
            label: "Made Inside".into(),
            integration: Some("orders".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        mo.get_connection(&inside.connection.code)
            .await
            .unwrap()
            .code,
        "made_inside"
    );
    let err = ma
        .create_connection(&NewConnection {
            label: "Made Outside".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    // a deregistration hides the connection at once
    owner.deregister("orders", "shop_one").await.unwrap();
    assert_eq!(
        mo.get_connection("shop_one").await.unwrap_err().status(),
        Some(404)
    );
}

/// `/healthz` says the process answers; `/readyz` that the database answers
/// and its migrations are the ones this build expects (503 with the reason
/// otherwise). Neither needs a session, for load balancers.
#[tokio::test]
async fn health_and_readiness_answer_without_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_paths(dir.path()).0;
    let server = start_with(None, dir).await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", server.url)).send();
    let r = get("/healthz").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "ok");
    let r = get("/readyz").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
    // A database whose migrations are not this build's: not ready.
    let edit = |sql: &'static str| {
        let db = db.clone();
        async move {
            let c = rusqlite::Connection::open(&db).unwrap();
            c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
            c.execute_batch(sql).unwrap();
        }
    };
    edit("UPDATE _sqlx_migrations SET success = 0 WHERE version = 1").await;
    let r = get("/readyz").await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "not_ready");
    assert!(
        body["message"].as_str().unwrap().contains("migrations"),
        "{body}"
    );
    // Liveness does not depend on the database.
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    edit("UPDATE _sqlx_migrations SET success = 1 WHERE version = 1").await;
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
}

/// `serve --metrics`: `GET /metrics` in the Prometheus text format counts
/// requests by route template and status, their latency, token refusals,
/// lockouts and the database pool, and names no user and no secret.
/// Without the flag there is no such endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_tokens_and_lockouts_without_naming_anyone() {
    let plain = start().await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/metrics", plain.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "only served when asked");

    let dir = tempfile::tempdir().unwrap();
    let (db, key) = sqlite_paths(dir.path());
    let service = Arc::new(Service::new(Store::open_sqlite(&db, &key).await.unwrap()));
    service
        .prepare_owner(Some("alice"), Some(OWNER_PASSWORD.to_string().into()))
        .await
        .unwrap();
    let metrics = Arc::new(switchboard::server::metrics::Metrics::new());
    let running = serve::start_app(
        serve::app_with_metrics(service, Some(metrics)),
        "127.0.0.1:0".parse().unwrap(),
        None,
    )
    .await
    .unwrap();
    let url = format!("http://{}", running.addr());
    // A request without a session, a path that is no route, a refused
    // token request, and a username locked by failed logins.
    assert_eq!(
        http.get(format!("{url}/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        http.get(format!("{url}/nowhere/secret-ish"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let token = http
        .post(format!("{url}/api/oauth/v1/token"))
        .basic_auth("sbc_nobody", Some("not-a-secret-xyz"))
        .json(&serde_json::json!({"grant_type": "password", "username": "u", "password": "p"}))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 401);
    for _ in 0..5 {
        raw_login(&url, "alice", "wrong password!").await;
    }
    assert_eq!(raw_login(&url, "alice", OWNER_PASSWORD).await.status(), 429);
    let r = http.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    for line in [
        r#"switchboard_http_requests_total{method="GET",route="/api/v1/me",status="401"} 1"#,
        r#"switchboard_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"switchboard_http_requests_total{method="POST",route="/api/v1/session",status="401"} 5"#,
        r#"switchboard_http_requests_total{method="POST",route="/api/v1/session",status="429"} 1"#,
        r#"switchboard_oauth_tokens_total{outcome="refused"} 1"#,
        r#"switchboard_lockouts_total{kind="login"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in:\n{text}");
    }
    assert!(
        text.lines().any(
            |l| l == r#"switchboard_http_request_duration_seconds_count{route="/api/v1/me"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.lines().any(
            |l| l.starts_with("switchboard_http_request_duration_seconds_bucket{le=")
                && l.contains(r#"route="/api/v1/me""#)
        ),
        "{text}"
    );
    assert!(text.contains("switchboard_db_pool_in_use "), "{text}");
    assert!(text.contains("switchboard_db_pool_size "), "{text}");
    for secret in [
        "alice",
        "wrong password",
        OWNER_PASSWORD,
        "sbc_nobody",
        "not-a-secret",
        "secret-ish",
    ] {
        assert!(!text.contains(secret), "{secret:?} leaked:\n{text}");
    }
    running.shutdown().await.unwrap();
}

/// Reads from `stream` until the server closes it (or `limit` passes):
/// how long that took, `None` if it stayed open.
async fn closed_within(
    stream: &mut tokio::net::TcpStream,
    limit: std::time::Duration,
) -> Option<std::time::Duration> {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + limit),
            stream.read(&mut buf),
        )
        .await
        {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// Issue 14: a client that sends part of a request (1 byte a second), or
/// nothing, or keeps an idle keep-alive connection, is closed within the
/// header timeout, while other clients are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_silent_and_idle_connections_are_closed_within_the_header_timeout() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = sqlite_paths(dir.path());
    let service = Arc::new(Service::new(Store::open_sqlite(&db, &key).await.unwrap()));
    let config = serve::ServeConfig {
        header_timeout: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let running = serve::start_app_with(
        serve::app(service),
        "127.0.0.1:0".parse().unwrap(),
        None,
        config,
    )
    .await
    .unwrap();
    let addr = running.addr();
    let limit = std::time::Duration::from_secs(10);
    // Silent: connects, sends nothing.
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    // Slow: the start of a request, then a byte a second.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let drip = tokio::spawn(async move {
        for _ in 0..30 {
            tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
            if slow.write_all(b"X").await.is_err() {
                break;
            }
        }
        slow
    });
    // Meanwhile others are served.
    let ok = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(
        closed_within(&mut silent, limit).await.is_some(),
        "a silent connection stayed open"
    );
    let mut slow = drip.await.unwrap();
    assert!(
        closed_within(&mut slow, limit).await.is_some(),
        "a slow request stayed open"
    );
    // Idle keep-alive: one request answered, then nothing.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut idle, limit).await.is_some(),
        "an idle keep-alive connection stayed open"
    );
    running.shutdown().await.unwrap();
}

/// Issue 14: past `--max-connections`, a new connection is closed as soon
/// as it is accepted (idle sockets cannot use up the file descriptors),
/// the ones already open stay, and a place freed is used again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_are_closed_and_a_freed_place_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = sqlite_paths(dir.path());
    let service = Arc::new(Service::new(Store::open_sqlite(&db, &key).await.unwrap()));
    let config = serve::ServeConfig {
        max_connections: 3,
        ..Default::default()
    };
    let running = serve::start_app_with(
        serve::app(service),
        "127.0.0.1:0".parse().unwrap(),
        None,
        config,
    )
    .await
    .unwrap();
    let addr = running.addr();
    let url = format!("http://{addr}/healthz");
    // Three served on one connection each, kept open (keep-alive).
    let mut held = Vec::new();
    for _ in 0..3 {
        let client = reqwest::Client::new();
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
        held.push(client);
    }
    // A fourth: closed at once, nothing answered.
    let mut fourth = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_within(&mut fourth, std::time::Duration::from_secs(10))
            .await
            .is_some(),
        "a connection past the cap stayed open"
    );
    assert!(reqwest::get(&url).await.is_err(), "served past the cap");
    // The ones held are still served.
    for client in &held {
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    }
    // One closes: its place serves a new client.
    held.pop();
    let mut served = None;
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(&url).await {
            served = Some(r.status());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(served, Some(http::StatusCode::OK));
    running.shutdown().await.unwrap();
}

/// Issue 16: an admin API body is a JSON object; an array (which serde
/// would take field by field, by position) or a scalar is refused with 400
/// naming the body, and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_bodies_must_be_objects_not_arrays_taken_by_position() {
    let s = start().await;
    let token = raw_login(&s.url, "alice", OWNER_PASSWORD)
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let http = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, body: &str| {
        http.request(method, format!("{}/api/v1{path}", s.url))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    for (method, path, body) in [
        (reqwest::Method::PATCH, "/roles/User", r#"["New label"]"#),
        (reqwest::Method::POST, "/connections", r#"["Array Label"]"#),
        (reqwest::Method::POST, "/connections", r#"  "Label""#),
        (reqwest::Method::POST, "/connections", "42"),
        (reqwest::Method::POST, "/connections", "null"),
    ] {
        let resp = send(method.clone(), path, body).await.unwrap();
        assert_eq!(resp.status(), 400, "{method} {path} {body}");
        let answer: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(answer["field"], "body", "{answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("must be a JSON object"),
            "{answer}"
        );
    }
    let owner = s.owner().await;
    assert!(owner.list_connections().await.unwrap().is_empty());
    let role = send(reqwest::Method::GET, "/roles/User", "")
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_ne!(role["label"], "New label", "{role}");
    // Malformed JSON keeps the decoder's own message.
    let bad = send(reqwest::Method::POST, "/connections", r#"{"label": "#)
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let answer: serde_json::Value = bad.json().await.unwrap();
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{answer}"
    );
}

/// R29 (issue 15): the members' access to an integration is read back
/// (`GET /api/v1/integrations/{code}/access`), as the console's users
/// window shows it; admins only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r29_members_access_to_an_integration_is_listed_for_admins() {
    use switchboard::model::{AccessLevel, IntegrationKind, MemberAccess, NewIntegration};
    let server = start().await;
    let owner = server.owner().await;
    owner
        .create_integration(&NewIntegration {
            name: "Orders".into(),
            code: None,
            kind: IntegrationKind::Standard,
        })
        .await
        .unwrap();
    let mo = server.user(&owner, "mo", UserKind::Member).await;
    server.user(&owner, "ma", UserKind::Member).await;
    let admin = server.user(&owner, "ad", UserKind::Admin).await;
    assert!(owner.list_access("orders").await.unwrap().is_empty());
    owner
        .set_access("orders", "mo", Some(AccessLevel::Manage))
        .await
        .unwrap();
    owner
        .set_access("orders", "ma", Some(AccessLevel::Monitor))
        .await
        .unwrap();
    let listed = admin.list_access("orders").await.unwrap();
    assert_eq!(
        listed,
        [
            MemberAccess {
                username: "ma".into(),
                level: AccessLevel::Monitor
            },
            MemberAccess {
                username: "mo".into(),
                level: AccessLevel::Manage
            }
        ]
    );
    owner.set_access("orders", "ma", None).await.unwrap();
    assert_eq!(owner.list_access("orders").await.unwrap().len(), 1);
    // A member may not read who sees what; an unknown integration is 404.
    assert_eq!(
        mo.list_access("orders").await.unwrap_err().status(),
        Some(403)
    );
    assert_eq!(
        owner.list_access("nowhere").await.unwrap_err().status(),
        Some(404)
    );
}
