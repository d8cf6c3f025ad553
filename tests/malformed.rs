//! Issue 16, item 9: a request line or header hyper cannot parse (a raw `"`
//! or a space in the target, a bad method or version, a NUL, an over-long
//! line, a header without a colon…) gets the Web API's error body saying
//! what was wrong, `{"code":400,"message":…}`, and the connection closes;
//! well-formed requests are served as before, on new connections and on
//! keep-alive ones (bodies of either framing skipped), over TLS too, and
//! HTTP/2 still starts. Raw bytes over real sockets on loopback.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use switchboard::server::serve::{self, Running, TlsFiles};
use switchboard::service::Service;
use switchboard::store::{Store, sqlite_paths};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;
use common::Captured;

async fn start(tls: Option<TlsFiles>, dir: &std::path::Path) -> Running {
    let (db, key) = sqlite_paths(dir);
    let service = Arc::new(Service::new(Store::open_sqlite(&db, &key).await.unwrap()));
    serve::start(service, "127.0.0.1:0".parse().unwrap(), tls)
        .await
        .unwrap()
}

/// A parsed HTTP/1 answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON error's message, after checking the answer's shape.
    fn refusal(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        assert_eq!(self.header("connection"), Some("close"), "{self:?}");
        let body: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        assert_eq!(body["code"], status, "{body}");
        assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
        body["message"].as_str().unwrap().to_string()
    }
}

/// Splits one answer off the front of `raw` (by its Content-Length).
fn parse(raw: &[u8]) -> Option<(Answer, usize)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let total = end + 4 + len;
    (raw.len() >= total).then(|| {
        (
            Answer {
                status,
                headers,
                body: raw[end + 4..total].to_vec(),
            },
            total,
        )
    })
}

/// Reads one answer from a connection that stays open.
async fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some((answer, _)) = parse(&raw) {
            return answer;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(n > 0, "closed before a whole answer: {raw:?}");
        raw.extend_from_slice(&buf[..n]);
    }
}

/// Reads until the server closes: everything it sent.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("the server closes the connection within 10 s")
        .unwrap();
    raw
}

/// Sends `parts` (a pause between them) on a new connection; the one
/// answer, after which the server closed the connection.
async fn refused(addr: SocketAddr, parts: &[&[u8]]) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The server may close before the last parts are sent.
        if stream.write_all(part).await.is_err() {
            break;
        }
    }
    let raw = read_to_close(&mut stream).await;
    let (answer, used) = parse(&raw).unwrap_or_else(|| panic!("no answer: {raw:?}"));
    assert_eq!(used, raw.len(), "one answer, then the close: {raw:?}");
    answer
}

async fn healthz_works(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, br#"{"status":"ok"}"#);
}

fn assert_says(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_request_heads_get_a_json_400_saying_what_was_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(None, dir.path()).await;
    let addr = running.addr();

    // The README's old example: curl -g sent the search's quotes raw.
    let m = refused(
        addr,
        &[b"GET /api/rest/v1/products?limit=10&search={\"categories\":[{\"operator\":\"IN\",\"value\":[\"footwear\"]}]} HTTP/1.1\r\nHost: x\r\n\r\n"],
    )
    .await
    .refusal(400);
    assert_says(
        &m,
        &[
            "the request target holds `\"` at position 40 (in its query)",
            "percent-encoded as %22",
            "--data-urlencode",
        ],
    );
    healthz_works(addr).await;

    // A space inside the target.
    let m = refused(
        addr,
        &[b"GET /api/rest/v1/products?search=a b HTTP/1.1\r\nHost: x\r\n\r\n"],
    )
    .await
    .refusal(400);
    assert_says(&m, &["a space at position 31", "%20"]);
    let m = refused(addr, &[b"GET /api/rest v1 HTTP/1.1\r\nHost: x\r\n\r\n"])
        .await
        .refusal(400);
    assert_says(&m, &["a space at position 10 (in its path)"]);

    // A bad method.
    let m = refused(addr, &[b"G\"T / HTTP/1.1\r\nHost: x\r\n\r\n"])
        .await
        .refusal(400);
    assert_says(&m, &["method holds `\"` at position 2", "GET"]);

    // A bad version, and none.
    let m = refused(addr, &[b"GET /healthz HTTP/3.0\r\nHost: x\r\n\r\n"])
        .await
        .refusal(400);
    assert_says(&m, &["HTTP/1.1", "HTTP/3.0"]);
    let m = refused(addr, &[b"GET /healthz HTTP/1.x\r\nHost: x\r\n\r\n"])
        .await
        .refusal(400);
    assert_says(&m, &["must end with the version HTTP/1.1", "HTTP/1.x"]);
    let m = refused(addr, &[b"GET /healthz\r\nHost: x\r\n\r\n"])
        .await
        .refusal(400);
    assert_says(&m, &["no version", "METHOD TARGET HTTP/1.1"]);

    // A NUL, and other control bytes, in the target.
    let m = refused(addr, &[b"GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n"])
        .await
        .refusal(400);
    assert_says(&m, &["NUL byte (0x00) at position 3", "%00"]);
    let m = refused(addr, &[b"GET /a?b=\tc HTTP/1.1\r\nHost: x\r\n\r\n"])
        .await
        .refusal(400);
    assert_says(&m, &["a tab at position 6 (in its query)", "%09"]);
    let m = refused(addr, &[b"GET /a<b> HTTP/1.1\r\nHost: x\r\n\r\n"])
        .await
        .refusal(400);
    assert_says(&m, &["`<` at position 3 (in its path)", "%3C"]);

    // An over-long request line: a target over 65534 bytes.
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let m = refused(addr, &[long.as_bytes()]).await.refusal(414);
    assert_says(&m, &["70001 bytes long", "65534"]);
    // A request line that never ends, past hyper's buffer.
    let endless = format!("GET /{}", "a".repeat(420_000));
    let m = refused(addr, &[endless.as_bytes()]).await.refusal(414);
    assert_says(&m, &["request line is over", "has not ended"]);
    // Headers that never end.
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..99 {
        many.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "v".repeat(4300)).as_bytes());
    }
    let m = refused(addr, &[&many]).await.refusal(431);
    assert_says(&m, &["request head", "has not ended"]);
    // More than 100 headers.
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..101 {
        many.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let m = refused(addr, &[&many]).await.refusal(431);
    assert_says(&m, &["more than 100 header lines"]);

    // Headers without a colon, with a space before it, folded, with a NUL.
    let m = refused(addr, &[b"GET / HTTP/1.1\r\nHost: x\r\nFoo bar\r\n\r\n"])
        .await
        .refusal(400);
    assert_says(&m, &["header line 2 (`Foo`) has no colon", "`Name: value`"]);
    let m = refused(addr, &[b"GET / HTTP/1.1\r\nHost : x\r\n\r\n"])
        .await
        .refusal(400);
    assert_says(
        &m,
        &["header line 1 (`Host`) has a space between its name and the colon"],
    );
    let m = refused(addr, &[b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"])
        .await
        .refusal(400);
    assert_says(&m, &["header line 2 starts with whitespace"]);
    let m = refused(addr, &[b"GET / HTTP/1.1\r\nX-Note: a\0b\r\n\r\n"])
        .await
        .refusal(400);
    assert_says(&m, &["value on header line 1 (`X-Note`) holds a NUL byte"]);
    // A credential where a header name belongs is never echoed.
    let m = refused(addr, &[b"GET / HTTP/1.1\r\nsba_1_Secret0123\r\n\r\n"])
        .await
        .refusal(400);
    assert!(!m.contains("sba_"), "{m}");
    assert_says(&m, &["header line 1 has no colon"]);

    // Length headers hyper refuses.
    let m = refused(
        addr,
        &[b"POST /api/v1/session HTTP/1.1\r\nContent-Length: 12x\r\n\r\n"],
    )
    .await
    .refusal(400);
    assert_says(&m, &["Content-Length"]);
    let m = refused(
        addr,
        &[b"POST /api/v1/session HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"],
    )
    .await
    .refusal(400);
    assert_says(&m, &["Transfer-Encoding must end with chunked"]);

    // TLS sent to the plain port.
    let m = refused(addr, &[b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"])
        .await
        .refusal(400);
    assert_says(&m, &["TLS handshake", "plain HTTP"]);

    // A head that arrives in pieces is checked whole.
    let m = refused(
        addr,
        &[
            b"GET /api/rest/v1/pro",
            b"ducts?search={\"a\"",
            b":1} HTTP/1.1\r\nHo",
            b"st: x\r\n\r\n",
        ],
    )
    .await
    .refusal(400);
    assert_says(&m, &["`\"` at position 31 (in its query)"]);

    // Well-formed requests are served as before.
    healthz_works(addr).await;
    let ok = reqwest::get(format!(
        "http://{addr}/healthz?search=%7B%22categories%22%3A%5B%5D%7D"
    ))
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    running.shutdown().await.unwrap();
}

/// Every request of a keep-alive connection is checked: after plain,
/// sized and chunked requests, a malformed one gets the JSON answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_of_a_keep_alive_connection_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(None, dir.path()).await;
    let addr = running.addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_answer(&mut stream).await.status, 200);
    // A body by Content-Length (were it read as a head, `{` could not
    // start one), written after its head.
    let body = br#"{"username":"nobody","password":"GET /?q=\" HTTP/1.1"}"#;
    stream
        .write_all(
            format!(
                "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.write_all(body).await.unwrap();
    let answer = read_answer(&mut stream).await;
    assert_eq!(answer.status, 401, "{answer:?}");
    // A chunked body, with an extension and a trailer.
    stream
        .write_all(
            b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n15;x=y\r\n{\"username\":\"nobody\",\r\n17\r\n\"password\":\"G T / \\\" \"}\r\n0\r\nX-T: 1\r\n\r\n",
        )
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await;
    assert_eq!(answer.status, 401, "{answer:?}");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_answer(&mut stream).await.status, 200);
    // Then a malformed one on the same connection.
    stream
        .write_all(b"GET /healthz?q=\"x\" HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let raw = read_to_close(&mut stream).await;
    let (answer, used) = parse(&raw).unwrap();
    assert_eq!(used, raw.len());
    let m = answer.refusal(400);
    assert_says(&m, &["`\"` at position 12 (in its query)"]);
    running.shutdown().await.unwrap();
}

/// HTTP/2 with prior knowledge still starts (its preface is no HTTP/1
/// head), and pipelined requests keep hyper's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_and_pipelining_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(None, dir.path()).await;
    let addr = running.addr();
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let ok = h2
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.version(), http::Version::HTTP_2);
    // Two sound requests and a malformed one in one write: both answers
    // come first, then hyper's own refusal, and the connection closes.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /?q=\"x HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let raw = read_to_close(&mut stream).await;
    let (first, a) = parse(&raw).unwrap();
    let (second, b) = parse(&raw[a..]).unwrap();
    let (third, _) = parse(&raw[a + b..]).unwrap();
    assert_eq!((first.status, second.status, third.status), (200, 200, 400));
    running.shutdown().await.unwrap();
}

/// Over TLS the check runs on the decrypted request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_a_malformed_head_gets_the_json_answer() {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    let running = start(Some(TlsFiles { cert, key }), dir.path()).await;
    let addr = running.addr();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let exchange = move |request: &'static [u8]| {
        let config = config.clone();
        move || {
            let mut conn =
                rustls::ClientConnection::new(config, "localhost".try_into().unwrap()).unwrap();
            let mut sock = std::net::TcpStream::connect(addr).unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut tls = rustls::Stream::new(&mut conn, &mut sock);
            tls.write_all(request).unwrap();
            let mut raw = Vec::new();
            let _ = tls.read_to_end(&mut raw);
            raw
        }
    };
    let raw = tokio::task::spawn_blocking(exchange(
        b"GET /api/rest/v1/products?search={\"a\":1} HTTP/1.1\r\nHost: localhost\r\n\r\n",
    ))
    .await
    .unwrap();
    let (answer, _) = parse(&raw).unwrap_or_else(|| panic!("no answer: {raw:?}"));
    assert_says(
        &answer.refusal(400),
        &["`\"` at position 31 (in its query)"],
    );
    let raw = tokio::task::spawn_blocking(exchange(
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    ))
    .await
    .unwrap();
    let (answer, _) = parse(&raw).unwrap();
    assert_eq!(answer.status, 200);
    running.shutdown().await.unwrap();
}

/// The refusal is logged once, with the method and the path escaped and
/// cut as the request log has them, and never the query or a header.
#[test]
fn a_refusal_is_logged_once_without_the_query_or_headers() {
    let captured = Captured::default();
    let subscriber = captured.subscriber();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let running = start(None, dir.path()).await;
            let m = refused(
                running.addr(),
                &[b"GET /api/rest/v1/products/\x1b[31mred?search={\"secret-query\"} HTTP/1.1\r\nAuthorization: Bearer sba_1_secretheader\r\n\r\n"],
            )
            .await
            .refusal(400);
            assert_says(&m, &["in its path"]);
            running.shutdown().await.unwrap();
        })
    });
    let log = captured.text();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("malformed request refused"))
        .collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert_says(
        lines[0],
        &[
            "status=400",
            r#"method="GET""#,
            r#"path="/api/rest/v1/products/\u{1b}[31mred""#,
            "peer=127.0.0.1:",
        ],
    );
    assert!(!log.contains("secret-query"), "{log}");
    assert!(!log.contains("secretheader"), "{log}");
}

/// Sends `request` on a new connection; the answers until the server
/// closes, or goes quiet for a moment after an answer (2 s before one).
async fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<Answer> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let quiet = if parse(&raw).is_some() {
            Duration::from_millis(150)
        } else {
            Duration::from_secs(2)
        };
        match tokio::time::timeout(quiet, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => raw.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let mut answers = Vec::new();
    let mut at = 0;
    while let Some((answer, used)) = parse(&raw[at..]) {
        answers.push(answer);
        at += used;
    }
    answers
}

/// Differential: random damage to sound requests, sent to this server and
/// to the same router served by plain axum (hyper alone). Every request
/// hyper answers itself (an empty 400, 414 or 431) gets the same status
/// here with the JSON body; every other gets exactly hyper's answer, so
/// the check never refuses what hyper takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_refuses_exactly_what_hyper_refuses() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = sqlite_paths(dir.path());
    let service = Arc::new(Service::new(Store::open_sqlite(&db, &key).await.unwrap()));
    let ours = serve::start(service.clone(), "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bare = listener.local_addr().unwrap();
    let app = serve::app(service).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let seed: u64 = std::env::var("MALFORMED_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("MALFORMED_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let bases: [&[u8]; 3] = [
        b"GET /healthz?limit=10&search=abc HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        b"GET /api/rest/v1/products/AB-1 HTTP/1.0\r\nUser-Agent: t\r\n\r\n",
    ];
    let bytes: &[u8] = b"\" \0\t\r\n:{}<>`#%?/\x7f\x80\xff\xc3a\\^|,;=@[]";
    let lines: [&[u8]; 11] = [
        b"Foo bar",
        b" folded",
        b"X-A: \x00",
        b"X-B: \x7f",
        b"X-C : d",
        b": e",
        b"Transfer-Encoding: gzip",
        b"Content-Length: x",
        b"X-D: \xc3\xa9",
        b"Upgrade: websocket",
        b"Transfer-Encoding: identity, chunked",
    ];
    let cases: usize = std::env::var("MALFORMED_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut requests = Vec::new();
    for _ in 0..cases {
        let base = bases[rng.random_range(0..bases.len())];
        let mut request = base.to_vec();
        for _ in 0..rng.random_range(1..=3) {
            // Within the head, before its end.
            let head_len = request
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .unwrap_or(request.len())
                .max(1);
            let at = rng.random_range(0..head_len);
            match rng.random_range(0..4) {
                0 => request[at] = bytes[rng.random_range(0..bytes.len())],
                1 => request.insert(at, bytes[rng.random_range(0..bytes.len())]),
                2 => {
                    request.remove(at);
                }
                _ => {
                    let line_start = request.iter().position(|&b| b == b'\n').unwrap_or(0) + 1;
                    let mut line = lines[rng.random_range(0..lines.len())].to_vec();
                    line.extend_from_slice(b"\r\n");
                    request.splice(line_start..line_start, line);
                }
            }
        }
        requests.push(request);
    }
    let mut refused = 0;
    let checked = ours.addr();
    for (batch, requests) in requests.chunks(10).enumerate() {
        let results = futures::future::join_all(requests.iter().map(|request| async move {
            tokio::join!(exchange(checked, request), exchange(bare, request))
        }))
        .await;
        for (n, (request, (o, b))) in requests.iter().zip(results).enumerate() {
            let case = batch * 10 + n;
            let shown = request.escape_ascii().to_string();
            let first = |a: &[Answer]| a.first().map(|a| a.status);
            assert_eq!(
                first(&o),
                first(&b),
                "case {case} (MALFORMED_SEED={seed}): {shown}\nours: {o:?}\nhyper: {b:?}"
            );
            // Answers after the first come by timing; those both have are
            // compared.
            for (i, (o, b)) in o.iter().zip(&b).enumerate() {
                let hypers_own = b.body.is_empty() && b.header("content-type").is_none();
                if hypers_own && b.status >= 400 {
                    // Left to hyper only after an answer still owed (a
                    // second request in the same packet).
                    if i == 0 || o.header("content-type").is_some() {
                        assert!(!o.refusal(b.status).is_empty());
                        refused += 1;
                    }
                } else {
                    assert_eq!(
                        (o.status, &o.body),
                        (b.status, &b.body),
                        "case {case} (MALFORMED_SEED={seed}): {shown}"
                    );
                }
            }
        }
    }
    assert!(
        refused > 50,
        "only {refused} refusals: the cases are too tame"
    );
    ours.shutdown().await.unwrap();
}
