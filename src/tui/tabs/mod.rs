//! One module per tab: its keys, its state and its drawing. (The
//! Connections tab's keys are still in `app.rs`.)

pub mod connections;
pub mod credentials;
pub mod monitor;
pub mod permissions;
pub mod register;
