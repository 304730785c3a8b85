//! Members of an organization and their roles.

pub mod roles;
