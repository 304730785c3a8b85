//! Pieces every feature's pages share: form fields, the dashboard shell.

pub mod clipboard;
pub mod form;
pub mod layout;
pub mod list;
pub mod modal;
pub mod tabs;
pub mod url;
