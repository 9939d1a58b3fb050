//! The registry's ERP webhook endpoints: one tenant each, like API keys, with the event
//! types they take, their signing secret (and the previous one during a rotation's
//! overlap), and whether they are enabled. Deliveries are the delivery worker's; this is
//! only what the operator and the ERP configure.

use super::{new_id_random, uuid, Registry as _, SqliteRegistry};
use crate::error::ServerError;
use crate::webhooks::sign::Secret;
use aisle_core::ids::TenantId;
use rusqlite::OptionalExtension;
use std::fmt;
use uuid::Uuid;

/// A webhook endpoint's id.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct WebhookId(Uuid);

impl WebhookId {
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }

    #[cfg(feature = "postgres")]
    pub(crate) fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// A new id, ordered by `now_ms`.
    pub(crate) fn new(now_ms: i64) -> Self {
        let (ms, random) = new_id_random(now_ms);
        Self(uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid())
    }
}

impl fmt::Display for WebhookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for WebhookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookId({})", self.0)
    }
}

impl std::str::FromStr for WebhookId {
    type Err = uuid::Error;
    fn from_str(text: &str) -> Result<Self, uuid::Error> {
        Uuid::parse_str(text).map(Self)
    }
}

/// An endpoint as the operator sees it: never its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRow {
    pub id: WebhookId,
    pub tenant: TenantId,
    pub url: String,
    /// The message types it takes; empty: every type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why it is disabled: `gone` (the receiver answered 410) or the operator's word.
    pub disabled_reason: Option<String>,
    pub created_ms: i64,
    /// Until when the previous secret signs too, after a rotation.
    pub previous_until_ms: Option<i64>,
}

pub(crate) fn event_types_text(event_types: &[String]) -> String {
    let mut types: Vec<&str> = event_types.iter().map(String::as_str).collect();
    types.sort_unstable();
    types.dedup();
    types.join(" ")
}

pub(crate) fn event_types_of(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// The secrets that sign a delivery at `now_ms`: the current one, and the previous one
/// while its overlap lasts.
pub(crate) fn signing_secrets(
    current: &str,
    previous: Option<String>,
    previous_until_ms: Option<i64>,
    now_ms: i64,
) -> Result<Vec<Secret>, ServerError> {
    let stored = |text: &str| {
        Secret::parse(text).map_err(|error| {
            ServerError::Invalid(format!("a stored webhook secret is unusable: {error}"))
        })
    };
    let mut secrets = vec![stored(current)?];
    if let (Some(previous), Some(until)) = (previous, previous_until_ms) {
        if now_ms < until {
            secrets.push(stored(&previous)?);
        }
    }
    Ok(secrets)
}

const WEBHOOK_COLUMNS: &str = "id, tenant, url, event_types, enabled, disabled_reason, \
     created_ms, previous_until_ms FROM webhook_endpoints";

fn webhook_at(row: &rusqlite::Row<'_>) -> rusqlite::Result<WebhookRow> {
    let event_types: String = row.get(3)?;
    Ok(WebhookRow {
        id: WebhookId(uuid(row.get(0)?)),
        tenant: TenantId::from_uuid(uuid(row.get(1)?)),
        url: row.get(2)?,
        event_types: event_types_of(&event_types),
        enabled: row.get(4)?,
        disabled_reason: row.get(5)?,
        created_ms: row.get(6)?,
        previous_until_ms: row.get(7)?,
    })
}

impl SqliteRegistry {
    pub(super) fn add_webhook(
        &self,
        tenant: TenantId,
        url: &str,
        event_types: &[String],
        secret: &Secret,
        now_ms: i64,
    ) -> Result<WebhookId, ServerError> {
        if self.tenant(tenant)?.is_none() {
            return Err(ServerError::NotFound(format!("tenant {tenant}")));
        }
        let id = WebhookId::new(now_ms);
        self.conn().execute(
            "INSERT INTO webhook_endpoints (id, tenant, url, event_types, secret, created_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            (
                id.0.as_bytes(),
                tenant.as_bytes(),
                url,
                event_types_text(event_types),
                secret.expose(),
                now_ms,
            ),
        )?;
        Ok(id)
    }

    pub(super) fn list_webhooks(&self, tenant: TenantId) -> Result<Vec<WebhookRow>, ServerError> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!(
            "SELECT {WEBHOOK_COLUMNS} WHERE tenant = ?1 ORDER BY created_ms, id"
        ))?;
        let rows = statement.query_map([tenant.as_bytes()], webhook_at)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(super) fn webhook(&self, id: WebhookId) -> Result<Option<WebhookRow>, ServerError> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!("SELECT {WEBHOOK_COLUMNS} WHERE id = ?1"))?;
        Ok(statement
            .query_row([id.0.as_bytes()], webhook_at)
            .optional()?)
    }

    pub(super) fn rotate_webhook(
        &self,
        id: WebhookId,
        secret: &Secret,
        previous_until_ms: i64,
        now_ms: i64,
    ) -> Result<bool, ServerError> {
        let changed = self.conn().execute(
            "UPDATE webhook_endpoints
             SET previous_secret = secret, previous_until_ms = ?3, secret = ?2, updated_ms = ?4
             WHERE id = ?1",
            (id.0.as_bytes(), secret.expose(), previous_until_ms, now_ms),
        )?;
        Ok(changed > 0)
    }

    pub(super) fn set_webhook_enabled(
        &self,
        id: WebhookId,
        enabled: bool,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, ServerError> {
        let reason = if enabled { None } else { reason };
        let changed = self.conn().execute(
            "UPDATE webhook_endpoints SET enabled = ?2, disabled_reason = ?3, updated_ms = ?4
             WHERE id = ?1",
            (id.0.as_bytes(), enabled, reason, now_ms),
        )?;
        Ok(changed > 0)
    }

    pub(super) fn webhook_secrets(
        &self,
        id: WebhookId,
        now_ms: i64,
    ) -> Result<Vec<Secret>, ServerError> {
        let stored: Option<(String, Option<String>, Option<i64>)> = self
            .conn()
            .query_row(
                "SELECT secret, previous_secret, previous_until_ms FROM webhook_endpoints WHERE id = ?1",
                [id.0.as_bytes()],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let (current, previous, until) =
            stored.ok_or_else(|| ServerError::NotFound(format!("webhook {id}")))?;
        signing_secrets(&current, previous, until, now_ms)
    }
}

/// An endpoint the delivery worker may send to now, with where it stands in its feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueWebhook {
    pub row: WebhookRow,
    /// The feed position of the last message it took (or that was dead-lettered or
    /// skipped for its types).
    pub delivered_position: u64,
    /// Failed attempts at the next message.
    pub attempt: u32,
}

/// What one delivery attempt came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    Retry,
    Dead,
    Disabled,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry => "retry",
            Self::Dead => "dead",
            Self::Disabled => "disabled",
        }
    }
}

/// One attempt, as the delivery log keeps it, and where it leaves the endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub position: u64,
    pub message_id: Uuid,
    /// 1 for the first attempt at this message.
    pub attempt: u32,
    pub outcome: DeliveryOutcome,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// When it was made.
    pub at_ms: i64,
    /// The endpoint's position after it: the message's when delivered or dead-lettered.
    pub delivered_position: u64,
    /// The endpoint's failed attempts at its next message after it.
    pub next_attempt: u32,
    pub next_attempt_ms: i64,
}

/// A row of the delivery log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRow {
    pub endpoint: WebhookId,
    pub position: u64,
    pub message_id: Uuid,
    pub attempt: u32,
    pub at_ms: i64,
    pub outcome: String,
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// An endpoint's columns as [`DueWebhook`] reads them, in its order.
pub(crate) const DUE_FIELDS: &str = "id, tenant, url, event_types, enabled, disabled_reason, \
     created_ms, previous_until_ms, delivered_position, attempt";

const DUE_COLUMNS: &str = "id, tenant, url, event_types, enabled, disabled_reason, \
     created_ms, previous_until_ms, delivered_position, attempt FROM webhook_endpoints";

const DELIVERY_COLUMNS: &str =
    "d.endpoint, d.position, d.message_id, d.attempt, d.at_ms, d.outcome, d.status, d.error";

impl SqliteRegistry {
    pub(super) fn due_webhooks(&self, now_ms: i64) -> Result<Vec<DueWebhook>, ServerError> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(&format!(
            "SELECT {DUE_COLUMNS} WHERE enabled = 1 AND next_attempt_ms <= ?1 ORDER BY created_ms, id"
        ))?;
        let rows = statement.query_map([now_ms], |row| {
            Ok(DueWebhook {
                row: webhook_at(row)?,
                delivered_position: row.get::<_, i64>(8)? as u64,
                attempt: row.get::<_, i64>(9)? as u32,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(super) fn lease_due_webhooks(
        &self,
        holder: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<DueWebhook>, ServerError> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(&format!(
            "UPDATE webhook_endpoints SET lease_holder = ?1, lease_until_ms = ?2 + ?3
             WHERE enabled = 1 AND next_attempt_ms <= ?2
               AND (lease_until_ms <= ?2 OR lease_holder = ?1)
             RETURNING {DUE_FIELDS}"
        ))?;
        let rows = statement.query_map((holder, now_ms, lease_ms), |row| {
            Ok(DueWebhook {
                row: webhook_at(row)?,
                delivered_position: row.get::<_, i64>(8)? as u64,
                attempt: row.get::<_, i64>(9)? as u32,
            })
        })?;
        let mut due: Vec<DueWebhook> = rows.collect::<Result<_, _>>()?;
        due.sort_by_key(|due| (due.row.created_ms, *due.row.id.as_uuid()));
        Ok(due)
    }

    pub(super) fn record_attempts(
        &self,
        id: WebhookId,
        attempts: &[Attempt],
        now_ms: i64,
    ) -> Result<(), ServerError> {
        let Some(attempt) = attempts.last() else {
            return Ok(());
        };
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO webhook_deliveries
                     (endpoint, position, message_id, attempt, at_ms, outcome, status, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for each in attempts {
                insert.execute((
                    id.0.as_bytes(),
                    each.position as i64,
                    each.message_id.as_bytes(),
                    each.attempt,
                    each.at_ms,
                    each.outcome.as_str(),
                    each.status,
                    each.error.as_deref(),
                ))?;
            }
        }
        let disabled = attempt.outcome == DeliveryOutcome::Disabled;
        tx.execute(
            "UPDATE webhook_endpoints
             SET delivered_position = ?2, attempt = ?3, next_attempt_ms = ?4, updated_ms = ?5,
                 enabled = CASE WHEN ?6 THEN 0 ELSE enabled END,
                 disabled_reason = CASE WHEN ?6 THEN 'gone (the receiver answered 410)' ELSE disabled_reason END
             WHERE id = ?1",
            (
                id.0.as_bytes(),
                attempt.delivered_position as i64,
                attempt.next_attempt,
                attempt.next_attempt_ms,
                now_ms,
                disabled,
            ),
        )?;
        tx.commit()?;
        Ok(())
    }

    pub(super) fn skip_webhook_to(&self, id: WebhookId, position: u64) -> Result<(), ServerError> {
        self.conn().execute(
            "UPDATE webhook_endpoints SET delivered_position = max(delivered_position, ?2) WHERE id = ?1",
            (id.0.as_bytes(), position as i64),
        )?;
        Ok(())
    }

    pub(super) fn replay_webhook(
        &self,
        id: WebhookId,
        from_position: u64,
        now_ms: i64,
    ) -> Result<bool, ServerError> {
        let changed = self.conn().execute(
            "UPDATE webhook_endpoints
             SET delivered_position = ?2, attempt = 0, next_attempt_ms = 0, updated_ms = ?3
             WHERE id = ?1",
            (
                id.0.as_bytes(),
                from_position.saturating_sub(1) as i64,
                now_ms,
            ),
        )?;
        Ok(changed > 0)
    }

    pub(super) fn webhook_deliveries(
        &self,
        tenant: TenantId,
        failed_only: bool,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, ServerError> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d
             JOIN webhook_endpoints e ON e.id = d.endpoint
             WHERE e.tenant = ?1 AND (?2 = 0 OR d.outcome <> 'delivered')
             ORDER BY d.at_ms DESC, d.position DESC, d.attempt DESC LIMIT ?3"
        ))?;
        let rows =
            statement.query_map((tenant.as_bytes(), failed_only, i64::from(limit)), |row| {
                Ok(DeliveryRow {
                    endpoint: WebhookId(uuid(row.get(0)?)),
                    position: row.get::<_, i64>(1)? as u64,
                    message_id: uuid(row.get(2)?),
                    attempt: row.get::<_, i64>(3)? as u32,
                    at_ms: row.get(4)?,
                    outcome: row.get(5)?,
                    status: row.get::<_, Option<i64>>(6)?.map(|status| status as u16),
                    error: row.get(7)?,
                })
            })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
