//! Where a tenant's PostgreSQL database lives: its cluster (primary and optional read
//! replica) and the database's name on it. The PostgreSQL registry answers it
//! ([`Placements`]); the tenant pools open a tenant's database from it.

use crate::ServerError;
use aisle_core::ids::TenantId;

/// A tenant's database: the cluster it is on and its name there.
///
/// `primary_url` and `replica_url` are cluster URLs without a database; the tenant's
/// database URL is the cluster URL with `database` as its dbname.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub cluster: String,
    pub primary_url: String,
    pub replica_url: Option<String>,
    pub database: String,
}

/// Answers where a tenant's database lives; `Ok(None)` for a tenant that has none.
pub trait Placements: Send + Sync + std::fmt::Debug {
    fn placement(&self, tenant: TenantId) -> Result<Option<Placement>, ServerError>;

    /// Records that the tenant's database failed its migration (or is stamped for another
    /// tenant), so that it is refused everywhere until an operator has looked, as the SQLite
    /// registry's `mark_tenant_failed`. The tenant pools of this process refuse it from then
    /// on anyway; the default records nothing more.
    fn mark_unavailable(&self, tenant: TenantId, reason: &str) -> Result<(), ServerError> {
        let _ = (tenant, reason);
        Ok(())
    }
}
