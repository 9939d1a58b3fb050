//! The PostgreSQL registry's ERP webhook endpoints, exactly as the SQLite registry's
//! (`crate::registry::webhooks`).

use super::{constraint_violation, PgRegistry};
use crate::error::ServerError;
use crate::registry::webhooks::{event_types_of, event_types_text, signing_secrets};
use crate::registry::{WebhookId, WebhookRow};
use crate::webhooks::sign::Secret;
use aisle_core::ids::TenantId;

const WEBHOOK_COLUMNS: &str = "id, tenant, url, event_types, enabled, disabled_reason, \
     created_ms, previous_until_ms FROM webhook_endpoints";

fn webhook_at(row: &aisle_pg::Row) -> WebhookRow {
    let event_types: String = row.get(3);
    WebhookRow {
        id: WebhookId::from_uuid(row.get(0)),
        tenant: TenantId::from_uuid(row.get(1)),
        url: row.get(2),
        event_types: event_types_of(&event_types),
        enabled: row.get(4),
        disabled_reason: row.get(5),
        created_ms: row.get(6),
        previous_until_ms: row.get(7),
    }
}

impl PgRegistry {
    pub fn add_webhook(
        &self,
        tenant: TenantId,
        url: &str,
        event_types: &[String],
        secret: &Secret,
        now_ms: i64,
    ) -> Result<WebhookId, ServerError> {
        let id = WebhookId::new(now_ms);
        self.with_tx(|tx| {
            if tx
                .query_opt("SELECT 1 FROM tenants WHERE id = $1", &[tenant.as_uuid()])?
                .is_none()
            {
                return Err(ServerError::NotFound(format!("tenant {tenant}")));
            }
            tx.execute(
                "INSERT INTO webhook_endpoints (id, tenant, url, event_types, secret, created_ms, updated_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
                &[
                    id.as_uuid(),
                    tenant.as_uuid(),
                    &url,
                    &event_types_text(event_types),
                    &secret.expose(),
                    &now_ms,
                ],
            )
            .map_err(|error| constraint_violation(error, format!("tenant {tenant}")))?;
            Ok(())
        })?;
        Ok(id)
    }

    pub fn list_webhooks(&self, tenant: TenantId) -> Result<Vec<WebhookRow>, ServerError> {
        self.with_tx(|tx| {
            Ok(tx
                .query(
                    &format!("SELECT {WEBHOOK_COLUMNS} WHERE tenant = $1 ORDER BY created_ms, id"),
                    &[tenant.as_uuid()],
                )?
                .iter()
                .map(webhook_at)
                .collect())
        })
    }

    pub fn webhook(&self, id: WebhookId) -> Result<Option<WebhookRow>, ServerError> {
        self.with_tx(|tx| {
            Ok(tx
                .query_opt(
                    &format!("SELECT {WEBHOOK_COLUMNS} WHERE id = $1"),
                    &[id.as_uuid()],
                )?
                .as_ref()
                .map(webhook_at))
        })
    }

    pub fn rotate_webhook(
        &self,
        id: WebhookId,
        secret: &Secret,
        previous_until_ms: i64,
        now_ms: i64,
    ) -> Result<bool, ServerError> {
        self.with_tx(|tx| {
            let changed = tx.execute(
                "UPDATE webhook_endpoints
                 SET previous_secret = secret, previous_until_ms = $3, secret = $2, updated_ms = $4
                 WHERE id = $1",
                &[id.as_uuid(), &secret.expose(), &previous_until_ms, &now_ms],
            )?;
            Ok(changed > 0)
        })
    }

    pub fn set_webhook_enabled(
        &self,
        id: WebhookId,
        enabled: bool,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, ServerError> {
        let reason = if enabled { None } else { reason };
        self.with_tx(|tx| {
            let changed = tx.execute(
                "UPDATE webhook_endpoints SET enabled = $2, disabled_reason = $3, updated_ms = $4
                 WHERE id = $1",
                &[id.as_uuid(), &enabled, &reason, &now_ms],
            )?;
            Ok(changed > 0)
        })
    }

    pub fn webhook_secrets(&self, id: WebhookId, now_ms: i64) -> Result<Vec<Secret>, ServerError> {
        let stored = self.with_tx(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT secret, previous_secret, previous_until_ms FROM webhook_endpoints WHERE id = $1",
                    &[id.as_uuid()],
                )?
                .map(|row| {
                    (
                        row.get::<_, String>(0),
                        row.get::<_, Option<String>>(1),
                        row.get::<_, Option<i64>>(2),
                    )
                }))
        })?;
        let (current, previous, until) =
            stored.ok_or_else(|| ServerError::NotFound(format!("webhook {id}")))?;
        signing_secrets(&current, previous, until, now_ms)
    }
}
