//! Switchboard: a keyboard-driven terminal console for administering API
//! connections, over an embedded or remote backend.
//!
//! Layers, each knowing only the ones below it:
//! `model` → `domain` → `store` → `service` → `server` → `client` → `tui`.

/// The server allocates a few dozen small buffers per request on two
/// worker threads; mimalloc's per-thread heaps do that with less
/// contention than the system allocator. Declared here so that the binary,
/// the tests and the benchmarks all run on it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod client;
pub mod config;
pub mod domain;
pub mod model;
pub mod server;
pub mod service;
pub mod store;
pub mod tui;

/// The OAuth token endpoint (R21).
pub const TOKEN_PATH: &str = "/api/oauth/v1/token";
/// The RFC 7009 revocation endpoint.
pub const REVOKE_PATH: &str = "/api/oauth/v1/revoke";
/// The root of the connections' Web API.
pub const REST_ROOT: &str = "/api/rest/v1";
/// Where `switchboard serve` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";
