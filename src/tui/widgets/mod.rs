//! Drawing pieces shared by tabs and dialogs.

pub mod dialog;
pub mod text;
