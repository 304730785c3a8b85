//! SeaORM entities: the rows of the tables that `migration/` creates.

pub mod login_failure;
pub mod membership;
pub mod organization;
pub mod organization_logo;
pub mod session;
pub mod user;
