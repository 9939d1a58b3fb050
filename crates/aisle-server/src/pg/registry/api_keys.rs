//! The PostgreSQL registry's API keys: one tenant each, with scopes, revocable, exactly as
//! the SQLite registry's (`crate::registry::api_keys`). Only the SHA-256 of a key is stored;
//! the key itself exists only in the [`NewApiKey`] that creating it returns. A key is read
//! from the registry on every request, so a revocation holds on every instance at once.

use super::{constraint_violation, new_id_random, PgRegistry};
use crate::auth::{self, Digest, Scope};
use crate::error::ServerError;
use crate::registry::{ApiKeyId, ApiKeyRow, NewApiKey};
use aisle_core::ids::TenantId;
use uuid::Uuid;

fn scopes_text(scopes: &[Scope]) -> String {
    let mut names: Vec<&str> = scopes.iter().map(|scope| scope.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(" ")
}

fn api_key_id(id: Uuid) -> ApiKeyId {
    // `ApiKeyId`'s field is private to the SQLite registry's module; its text form is the
    // uuid's, so this round trip cannot fail.
    id.to_string()
        .parse()
        .expect("a uuid's text parses as an api key id")
}

fn api_key_at(row: &aisle_pg::Row) -> Result<ApiKeyRow, ServerError> {
    let scopes: String = row.get(3);
    let scopes = scopes
        .split_whitespace()
        .map(|name| name.parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|message| {
            ServerError::Invalid(format!("an api key's stored scopes are unknown: {message}"))
        })?;
    Ok(ApiKeyRow {
        id: api_key_id(row.get(0)),
        tenant: TenantId::from_uuid(row.get(1)),
        name: row.get(2),
        scopes,
        created_ms: row.get(4),
        revoked: row.get(5),
    })
}

const API_KEY_COLUMNS: &str =
    "id, tenant, name, scopes, created_ms, revoked_ms IS NOT NULL FROM api_keys";

impl PgRegistry {
    /// Makes an API key for `tenant` with `scopes` and returns it; only its digest is kept.
    pub fn add_api_key(
        &self,
        tenant: TenantId,
        name: &str,
        scopes: &[Scope],
        now_ms: i64,
    ) -> Result<NewApiKey, ServerError> {
        if scopes.is_empty() {
            return Err(ServerError::Invalid(
                "an api key needs at least one scope".into(),
            ));
        }
        let (ms, random) = new_id_random(now_ms);
        let id = uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid();
        let key = auth::new_api_key();
        let digest: Digest = auth::token_digest(&key);
        self.with_tx(|tx| {
            if tx
                .query_opt("SELECT 1 FROM tenants WHERE id = $1", &[tenant.as_uuid()])?
                .is_none()
            {
                return Err(ServerError::NotFound(format!("tenant {tenant}")));
            }
            tx.execute(
                "INSERT INTO api_keys (id, tenant, name, key_sha256, scopes, created_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &id,
                    tenant.as_uuid(),
                    &name,
                    &digest.as_slice(),
                    &scopes_text(scopes),
                    &now_ms,
                ],
            )
            .map_err(|error| constraint_violation(error, format!("tenant {tenant}")))?;
            Ok(())
        })?;
        Ok(NewApiKey {
            id: api_key_id(id),
            key,
        })
    }

    /// The key a digest belongs to, revoked or not.
    pub fn api_key_by_digest(&self, digest: &Digest) -> Result<Option<ApiKeyRow>, ServerError> {
        self.with_tx(|tx| {
            tx.query_opt(
                &format!("SELECT {API_KEY_COLUMNS} WHERE key_sha256 = $1"),
                &[&digest.as_slice()],
            )?
            .as_ref()
            .map(api_key_at)
            .transpose()
        })
    }

    pub fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKeyRow>, ServerError> {
        self.with_tx(|tx| {
            tx.query(
                &format!("SELECT {API_KEY_COLUMNS} WHERE tenant = $1 ORDER BY created_ms, id"),
                &[tenant.as_uuid()],
            )?
            .iter()
            .map(api_key_at)
            .collect()
        })
    }

    /// Revokes a key at once; returns false if there is no such key.
    pub fn revoke_api_key(&self, id: ApiKeyId, now_ms: i64) -> Result<bool, ServerError> {
        self.with_tx(|tx| {
            let changed = tx.execute(
                "UPDATE api_keys SET revoked_ms = coalesce(revoked_ms, $2) WHERE id = $1",
                &[id.as_uuid(), &now_ms],
            )?;
            Ok(changed > 0)
        })
    }
}
