//! One file per dialog: its state, its keys and its drawing.

pub mod choice;
pub mod confirm;
pub mod connection_form;
pub mod help;
pub mod login;
pub mod shown_once;
