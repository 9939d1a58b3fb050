//! The PostgreSQL registry's releases and update policies, as the SQLite registry's
//! (`crate::registry::releases`), except where the artifact lives: here it is in the
//! database, in chunks of [`CHUNK_BYTES`] (`release_chunks`), so every server instance
//! serves it and a download reads it one chunk at a time.

use super::PgRegistry;
use crate::error::ServerError;
use crate::registry::releases::{
    check_policy, new_release, parse_stored_version, sort_releases, Artifact, NewRelease, Release,
    UpdatePolicy,
};
use aisle_core::ids::TenantId;

/// The size of one stored chunk of an artifact.
pub const CHUNK_BYTES: usize = 1024 * 1024;

fn release_of(row: &aisle_pg::Row) -> Result<Release, ServerError> {
    Ok(Release {
        target: row.get(0),
        version: parse_stored_version(row.get::<_, &str>(1))?,
        channel: row.get(2),
        file_name: row.get(3),
        size: row.get::<_, i64>(4).max(0) as u64,
        sha256: row.get(5),
        signature: row.get(6),
        notes: row.get(7),
        created_ms: row.get(8),
    })
}

const COLUMNS: &str =
    "target, version, channel, file_name, size, sha256, signature, notes, created_ms";

impl PgRegistry {
    /// Stores a release and its artifact's chunks in one transaction.
    pub fn add_release(
        &self,
        release: &NewRelease,
        artifact: &[u8],
        now_ms: i64,
    ) -> Result<Release, ServerError> {
        let stored = new_release(release, artifact, now_ms)?;
        self.with_tx(|tx| {
            let version = stored.version.to_string();
            let inserted = tx.execute(
                &format!(
                    "INSERT INTO releases ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT DO NOTHING"
                ),
                &[
                    &stored.target,
                    &version,
                    &stored.channel,
                    &stored.file_name,
                    &(stored.size as i64),
                    &stored.sha256,
                    &stored.signature,
                    &stored.notes,
                    &now_ms,
                ],
            )?;
            if inserted == 0 {
                return Err(ServerError::Invalid(format!(
                    "release {version} for {} exists; a release is never replaced, add a new version",
                    stored.target
                )));
            }
            for (n, chunk) in artifact.chunks(CHUNK_BYTES).enumerate() {
                tx.execute(
                    "INSERT INTO release_chunks (target, version, n, bytes) VALUES ($1, $2, $3, $4)",
                    &[&stored.target, &version, &(n as i32), &chunk],
                )?;
            }
            Ok(())
        })?;
        Ok(stored)
    }

    /// Every release, by target, newest version first.
    pub fn releases(&self) -> Result<Vec<Release>, ServerError> {
        let rows =
            self.with_tx(|tx| Ok(tx.query(&format!("SELECT {COLUMNS} FROM releases"), &[])?))?;
        let mut releases = rows.iter().map(release_of).collect::<Result<Vec<_>, _>>()?;
        sort_releases(&mut releases);
        Ok(releases)
    }

    /// One release, by target and version.
    pub fn release(&self, target: &str, version: &str) -> Result<Option<Release>, ServerError> {
        let row = self.with_tx(|tx| {
            Ok(tx.query_opt(
                &format!("SELECT {COLUMNS} FROM releases WHERE target = $1 AND version = $2"),
                &[&target, &version],
            )?)
        })?;
        row.as_ref().map(release_of).transpose()
    }

    /// A release's artifact: its chunks.
    pub fn release_artifact(&self, release: &Release) -> Result<Artifact, ServerError> {
        let n: i64 = self.with_tx(|tx| {
            Ok(tx
                .query_one(
                    "SELECT count(*) FROM release_chunks WHERE target = $1 AND version = $2",
                    &[&release.target, &release.version.to_string()],
                )?
                .get(0))
        })?;
        Ok(Artifact::Chunks { n: n as u32 })
    }

    /// Chunk `n` of a release's artifact.
    pub fn release_chunk(&self, release: &Release, n: u32) -> Result<Vec<u8>, ServerError> {
        let row = self.with_tx(|tx| {
            Ok(tx.query_opt(
                "SELECT bytes FROM release_chunks WHERE target = $1 AND version = $2 AND n = $3",
                &[&release.target, &release.version.to_string(), &(n as i32)],
            )?)
        })?;
        row.map(|row| row.get::<_, Vec<u8>>(0)).ok_or_else(|| {
            ServerError::NotFound(format!(
                "chunk {n} of release {} for {}",
                release.version, release.target
            ))
        })
    }

    /// `tenant`'s update policy (the default when none was set).
    pub fn update_policy(&self, tenant: TenantId) -> Result<UpdatePolicy, ServerError> {
        let row = self.with_tx(|tx| {
            Ok(tx.query_opt(
                "SELECT channel, pin, rollout_pct FROM tenant_updates WHERE tenant = $1",
                &[tenant.as_uuid()],
            )?)
        })?;
        let Some(row) = row else {
            return Ok(UpdatePolicy::default());
        };
        Ok(UpdatePolicy {
            channel: row.get(0),
            pin: row
                .get::<_, Option<&str>>(1)
                .map(parse_stored_version)
                .transpose()?,
            rollout_pct: row.get::<_, i32>(2).clamp(0, 100) as u8,
        })
    }

    /// Replaces `tenant`'s update policy.
    pub fn set_update_policy(
        &self,
        tenant: TenantId,
        policy: &UpdatePolicy,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        check_policy(policy)?;
        self.with_tx(|tx| {
            if tx
                .query_opt("SELECT 1 FROM tenants WHERE id = $1", &[tenant.as_uuid()])?
                .is_none()
            {
                return Err(ServerError::NotFound(format!("tenant {tenant}")));
            }
            tx.execute(
                "INSERT INTO tenant_updates (tenant, channel, pin, rollout_pct, updated_ms)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant) DO UPDATE SET channel = excluded.channel,
                     pin = excluded.pin, rollout_pct = excluded.rollout_pct,
                     updated_ms = excluded.updated_ms",
                &[
                    tenant.as_uuid(),
                    &policy.channel,
                    &policy.pin.as_ref().map(ToString::to_string),
                    &i32::from(policy.rollout_pct),
                    &now_ms,
                ],
            )?;
            Ok(())
        })
    }
}
