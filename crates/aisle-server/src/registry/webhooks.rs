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
