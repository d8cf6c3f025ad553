//! Switchboard: a keyboard-driven terminal console for administering API
//! connections, over an embedded or remote backend.
//!
//! Layers, each knowing only the ones below it:
//! `model` → `domain` → `store` → `service` → `server` → `client` → `tui`.

pub mod client;
pub mod config;
pub mod domain;
pub mod model;
pub mod server;
pub mod service;
pub mod store;
pub mod tui;
