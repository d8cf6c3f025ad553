//! One file per dialog: its state, its keys and its drawing.

pub mod choice;
pub mod confirm;
pub mod connection_form;
pub mod flow_editor;
pub mod help;
pub mod integration_form;
pub mod login;
pub mod replace;
pub mod set_form;
pub mod set_picker;
pub mod shown_once;
pub mod user_form;
pub mod users;
