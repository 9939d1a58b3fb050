//! The registry's API keys: one tenant each, with scopes, revocable. Only the SHA-256 of a
//! key is stored; the key itself exists only in the [`NewApiKey`] that creating it returns.

use super::{new_id_random, uuid, Registry, SqliteRegistry};
use crate::auth::{self, Digest, Scope};
use crate::error::ServerError;
use aisle_core::ids::TenantId;
use rusqlite::OptionalExtension;
use std::fmt;
use uuid::Uuid;

/// An API key's id: what operators list and revoke; never the key itself.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct ApiKeyId(Uuid);

impl ApiKeyId {
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for ApiKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for ApiKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyId({})", self.0)
    }
}

impl std::str::FromStr for ApiKeyId {
    type Err = uuid::Error;
    fn from_str(text: &str) -> Result<Self, uuid::Error> {
        Uuid::parse_str(text).map(Self)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub tenant: TenantId,
    /// The operator's label, e.g. "sap-prod".
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_ms: i64,
    pub revoked: bool,
}

/// A newly made key. `key` is shown to the operator once and kept nowhere.
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub key: String,
}

impl fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiKey")
            .field("id", &self.id)
            .field("key", &"..")
            .finish()
    }
}

fn scopes_text(scopes: &[Scope]) -> String {
    let mut names: Vec<&str> = scopes.iter().map(|scope| scope.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(" ")
}

fn api_key_at(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKeyRow> {
    let scopes: String = row.get(3)?;
    let scopes = scopes
        .split_whitespace()
        .map(|name| name.parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|message| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                message.into(),
            )
        })?;
    Ok(ApiKeyRow {
        id: ApiKeyId(uuid(row.get(0)?)),
        tenant: TenantId::from_uuid(uuid(row.get(1)?)),
        name: row.get(2)?,
        scopes,
        created_ms: row.get(4)?,
        revoked: row.get(5)?,
    })
}

const API_KEY_COLUMNS: &str =
    "id, tenant, name, scopes, created_ms, revoked_ms IS NOT NULL FROM api_keys";

impl SqliteRegistry {
    /// Makes an API key for `tenant` with `scopes` and returns it; only its digest is kept.
    pub(super) fn add_api_key(
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
        if self.tenant(tenant)?.is_none() {
            return Err(ServerError::NotFound(format!("tenant {tenant}")));
        }
        let (ms, random) = new_id_random(now_ms);
        let id = ApiKeyId(uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid());
        let key = auth::new_api_key();
        let digest: Digest = auth::token_digest(&key);
        self.conn().execute(
            "INSERT INTO api_keys (id, tenant, name, key_sha256, scopes, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (
                id.0.as_bytes(),
                tenant.as_bytes(),
                name,
                digest.as_slice(),
                scopes_text(scopes),
                now_ms,
            ),
        )?;
        Ok(NewApiKey { id, key })
    }

    /// The key a digest belongs to, revoked or not.
    pub(super) fn api_key_by_digest(
        &self,
        digest: &Digest,
    ) -> Result<Option<ApiKeyRow>, ServerError> {
        let conn = self.conn();
        let mut statement =
            conn.prepare_cached(&format!("SELECT {API_KEY_COLUMNS} WHERE key_sha256 = ?1"))?;
        Ok(statement
            .query_row([digest.as_slice()], api_key_at)
            .optional()?)
    }

    pub(super) fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKeyRow>, ServerError> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!(
            "SELECT {API_KEY_COLUMNS} WHERE tenant = ?1 ORDER BY created_ms, id"
        ))?;
        let rows = statement.query_map([tenant.as_bytes()], api_key_at)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revokes a key at once; returns false if there is no such key.
    pub(super) fn revoke_api_key(&self, id: ApiKeyId, now_ms: i64) -> Result<bool, ServerError> {
        let changed = self.conn().execute(
            "UPDATE api_keys SET revoked_ms = coalesce(revoked_ms, ?2) WHERE id = ?1",
            (id.0.as_bytes(), now_ms),
        )?;
        Ok(changed > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_found_by_its_digest_only_and_can_be_revoked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let registry = SqliteRegistry::open(&dir.path().join("r.sqlite3")).expect("open");
        let tenant = registry.add_tenant("acme", 1_000).expect("tenant");
        let made = registry
            .add_api_key(
                tenant,
                "erp",
                &[Scope::StockRead, Scope::MasterWrite],
                1_000,
            )
            .expect("key");
        let found = registry
            .api_key_by_digest(&auth::token_digest(&made.key))
            .expect("db")
            .expect("the key is known");
        assert_eq!(
            (found.id, found.tenant, found.scopes.clone(), found.revoked),
            (
                made.id,
                tenant,
                vec![Scope::MasterWrite, Scope::StockRead],
                false
            )
        );
        let stored: Vec<u8> = registry
            .conn()
            .query_row("SELECT key_sha256 FROM api_keys", [], |row| row.get(0))
            .expect("one key");
        assert_ne!(stored, made.key.as_bytes(), "only the digest is stored");
        assert!(registry.revoke_api_key(made.id, 2_000).expect("revoke"));
        assert!(
            registry.list_api_keys(tenant).expect("list")[0].revoked,
            "a revoked key is listed as revoked"
        );
        assert!(
            registry.add_api_key(tenant, "none", &[], 1_000).is_err(),
            "a key without scopes is refused"
        );
        assert!(
            !format!("{made:?}").contains(&made.key),
            "debug output never shows the key"
        );
    }
}
