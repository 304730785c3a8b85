//! SeaORM entities: the rows of the tables that `migration/` creates.

pub mod login_failure;
pub mod session;
pub mod user;
