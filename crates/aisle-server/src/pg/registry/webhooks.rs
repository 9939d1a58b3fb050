//! The PostgreSQL registry's ERP webhook endpoints, exactly as the SQLite registry's
//! (`crate::registry::webhooks`).

use super::{constraint_violation, PgRegistry};
use crate::error::ServerError;
use crate::registry::webhooks::{event_types_of, event_types_text, signing_secrets};
use crate::registry::webhooks::{Attempt, DeliveryOutcome, DeliveryRow, DueWebhook};
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

const DUE_COLUMNS: &str = "id, tenant, url, event_types, enabled, disabled_reason, \
     created_ms, previous_until_ms, delivered_position, attempt FROM webhook_endpoints";

impl PgRegistry {
    pub fn due_webhooks(&self, now_ms: i64) -> Result<Vec<DueWebhook>, ServerError> {
        self.with_tx(|tx| {
            Ok(tx
                .query(
                    &format!(
                        "SELECT {DUE_COLUMNS} WHERE enabled AND next_attempt_ms <= $1 ORDER BY created_ms, id"
                    ),
                    &[&now_ms],
                )?
                .iter()
                .map(|row| DueWebhook {
                    row: webhook_at(row),
                    delivered_position: row.get::<_, i64>(8) as u64,
                    attempt: row.get::<_, i64>(9) as u32,
                })
                .collect())
        })
    }

    pub fn lease_due_webhooks(
        &self,
        holder: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<DueWebhook>, ServerError> {
        // Under READ COMMITTED a row another worker leased meanwhile is read again after
        // its commit and no longer matches: one holder per endpoint.
        self.with_tx(|tx| {
            let mut due: Vec<DueWebhook> = tx
                .query(
                    &format!(
                        "UPDATE webhook_endpoints SET lease_holder = $1, lease_until_ms = $2 + $3
                         WHERE enabled AND next_attempt_ms <= $2
                           AND (lease_until_ms <= $2 OR lease_holder = $1)
                         RETURNING {}",
                        crate::registry::webhooks::DUE_FIELDS
                    ),
                    &[&holder, &now_ms, &lease_ms],
                )?
                .iter()
                .map(|row| DueWebhook {
                    row: webhook_at(row),
                    delivered_position: row.get::<_, i64>(8) as u64,
                    attempt: row.get::<_, i64>(9) as u32,
                })
                .collect();
            due.sort_by_key(|due| (due.row.created_ms, *due.row.id.as_uuid()));
            Ok(due)
        })
    }

    pub fn record_attempts(
        &self,
        id: WebhookId,
        attempts: &[Attempt],
        now_ms: i64,
    ) -> Result<(), ServerError> {
        let Some(attempt) = attempts.last() else {
            return Ok(());
        };
        let disabled = attempt.outcome == DeliveryOutcome::Disabled;
        self.with_tx(|tx| {
            for each in attempts {
                tx.execute(
                    "INSERT INTO webhook_deliveries
                         (endpoint, position, message_id, attempt, at_ms, outcome, status, error)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (endpoint, position, attempt) DO UPDATE
                     SET at_ms = EXCLUDED.at_ms, outcome = EXCLUDED.outcome,
                         status = EXCLUDED.status, error = EXCLUDED.error",
                    &[
                        id.as_uuid(),
                        &(each.position as i64),
                        &each.message_id,
                        &i64::from(each.attempt),
                        &each.at_ms,
                        &each.outcome.as_str(),
                        &each.status.map(i64::from),
                        &each.error.as_deref(),
                    ],
                )?;
            }
            tx.execute(
                "UPDATE webhook_endpoints
                 SET delivered_position = $2, attempt = $3, next_attempt_ms = $4, updated_ms = $5,
                     enabled = CASE WHEN $6 THEN false ELSE enabled END,
                     disabled_reason = CASE WHEN $6 THEN 'gone (the receiver answered 410)'
                                            ELSE disabled_reason END
                 WHERE id = $1",
                &[
                    id.as_uuid(),
                    &(attempt.delivered_position as i64),
                    &i64::from(attempt.next_attempt),
                    &attempt.next_attempt_ms,
                    &now_ms,
                    &disabled,
                ],
            )?;
            Ok(())
        })
    }

    pub fn skip_webhook_to(&self, id: WebhookId, position: u64) -> Result<(), ServerError> {
        self.with_tx(|tx| {
            tx.execute(
                "UPDATE webhook_endpoints SET delivered_position = GREATEST(delivered_position, $2)
                 WHERE id = $1",
                &[id.as_uuid(), &(position as i64)],
            )?;
            Ok(())
        })
    }

    pub fn replay_webhook(
        &self,
        id: WebhookId,
        from_position: u64,
        now_ms: i64,
    ) -> Result<bool, ServerError> {
        self.with_tx(|tx| {
            let changed = tx.execute(
                "UPDATE webhook_endpoints
                 SET delivered_position = $2, attempt = 0, next_attempt_ms = 0, updated_ms = $3
                 WHERE id = $1",
                &[
                    id.as_uuid(),
                    &(from_position.saturating_sub(1) as i64),
                    &now_ms,
                ],
            )?;
            Ok(changed > 0)
        })
    }

    pub fn webhook_deliveries(
        &self,
        tenant: TenantId,
        failed_only: bool,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, ServerError> {
        self.with_tx(|tx| {
            Ok(tx
                .query(
                    "SELECT d.endpoint, d.position, d.message_id, d.attempt, d.at_ms, d.outcome,
                            d.status, d.error
                     FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint
                     WHERE e.tenant = $1 AND (NOT $2 OR d.outcome <> 'delivered')
                     ORDER BY d.at_ms DESC, d.position DESC, d.attempt DESC LIMIT $3",
                    &[tenant.as_uuid(), &failed_only, &i64::from(limit)],
                )?
                .iter()
                .map(|row| DeliveryRow {
                    endpoint: WebhookId::from_uuid(row.get(0)),
                    position: row.get::<_, i64>(1) as u64,
                    message_id: row.get(2),
                    attempt: row.get::<_, i64>(3) as u32,
                    at_ms: row.get(4),
                    outcome: row.get(5),
                    status: row.get::<_, Option<i64>>(6).map(|status| status as u16),
                    error: row.get(7),
                })
                .collect())
        })
    }
}
