//! Drawing pieces shared by tabs and dialogs.

pub mod dialog;
pub mod field;
pub mod scroll;
pub mod text;
