//! One module per tab: its keys, its state and its drawing. (The
//! Connections tab's still live in `app.rs` and `view.rs`.)

pub mod credentials;
pub mod monitor;
pub mod permissions;
pub mod register;
