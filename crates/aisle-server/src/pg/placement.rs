//! Where a tenant's PostgreSQL database lives: its cluster (primary and optional read
//! replica) and the database's name on it. The PostgreSQL registry answers it
//! ([`Placements`]); the tenant pools open a tenant's database from it.

use super::registry::mask_password;
use crate::ServerError;
use aisle_core::ids::TenantId;

/// A tenant's database: the cluster it is on and its name there.
///
/// `primary_url` and `replica_url` are cluster URLs without a database; the tenant's
/// database URL is the cluster URL with `database` as its dbname. They may carry a
/// password, so `Debug` shows them masked ([`mask_password`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Placement {
    pub cluster: String,
    pub primary_url: String,
    pub replica_url: Option<String>,
    pub database: String,
}

impl std::fmt::Debug for Placement {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Placement")
            .field("cluster", &self.cluster)
            .field("primary_url", &mask_password(&self.primary_url))
            .field(
                "replica_url",
                &self.replica_url.as_deref().map(mask_password),
            )
            .field("database", &self.database)
            .finish()
    }
}

/// Answers where a tenant's database lives; `Ok(None)` for a tenant that has none.
pub trait Placements: Send + Sync + std::fmt::Debug {
    fn placement(&self, tenant: TenantId) -> Result<Option<Placement>, ServerError>;

    /// Records that the tenant's database failed its migration (or is stamped for another
    /// tenant), so that it is refused everywhere until an operator has looked, as the SQLite
    /// registry's `mark_tenant_failed`.
    fn mark_unavailable(&self, tenant: TenantId, reason: &str) -> Result<(), ServerError>;

    /// The mark [`Placements::mark_unavailable`] recorded, until an operator clears it
    /// (`tenant retry-migration`, or a `migrate --all` that migrates the tenant): read each
    /// time the tenant pools open the tenant, by every instance, as the SQLite pools read
    /// the registry's `failed_migration`.
    fn unavailable_mark(&self, tenant: TenantId) -> Result<Option<String>, ServerError>;
}

#[cfg(test)]
mod tests {
    use super::Placement;

    #[test]
    fn debug_masks_both_urls_passwords() {
        let placement = Placement {
            cluster: "eu-1".to_owned(),
            primary_url: "postgres://aisle:s3cret@db1.internal:5432".to_owned(),
            replica_url: Some("postgres://aisle:r3plica@db2.internal:5432".to_owned()),
            database: "aisle_t_1".to_owned(),
        };
        let shown = format!("{placement:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("r3plica"),
            "no password in {shown}"
        );
        assert!(
            shown.contains("db1.internal") && shown.contains("db2.internal"),
            "the hosts are still shown: {shown}"
        );
    }
}
