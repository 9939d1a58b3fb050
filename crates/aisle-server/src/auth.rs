//! Device authentication, and [`TenantContext`]: the only key to a tenant's data for a
//! device. ERP API keys and their [`IntegrationContext`] are in `integration`; both are
//! [`Authenticated`], a sealed trait, and nothing else is.
//!
//! A device token is 32 random bytes, shown once at enrollment and stored only as its
//! SHA-256. The [`TenantContext`] extractor turns the bearer token into the device's tenant,
//! warehouse and device, and checks the `{tenant}` of the URL against it. Its fields are
//! private and it has no public constructor, so outside this module the only way to hold
//! one is to have passed that check; [`crate::pool::TenantPools::get`], the only way to a
//! tenant database handle, takes one. Requests that cross a tenant, warehouse or device
//! boundary are refused with 403 and written to the registry's security audit log.
//! Tokens are never logged.

use crate::error::{AppError, Boundary};
use crate::http::{blocking, AppState};
use crate::registry::{AuditRow, AuditSource};
use aisle_core::ids::{DeviceId, TenantId, WarehouseId};
use aisle_core::Event;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use sha2::{Digest as _, Sha256};

mod integration;

pub use integration::{
    new_api_key, FeedRead, IntegrationContext, MasterWrite, Principal, RequiredScope, Scope,
    StockRead, WebhooksManage, API_KEY_PREFIX,
};

/// A SHA-256 digest of a secret.
pub type Digest = [u8; 32];

/// What every authenticated context has in common: the one tenant it acts in.
///
/// Sealed: only this module (and its children) can implement it, so the contexts that
/// unlock a tenant database are exactly the ones this module constructs after checking a
/// credential. [`crate::pool::TenantPools::get`] takes any of them.
pub trait Authenticated: sealed::Sealed {
    fn authenticated_tenant(&self) -> TenantId;
}

mod sealed {
    pub trait Sealed {}
}

impl sealed::Sealed for TenantContext {}

impl Authenticated for TenantContext {
    fn authenticated_tenant(&self) -> TenantId {
        self.tenant
    }
}

const TOKEN_PREFIX: &str = "aisle_";

/// A fresh device token: 256 random bits, hex, with a prefix so it is recognisable in a leak.
pub fn new_token() -> String {
    format!("{TOKEN_PREFIX}{}", hex::encode(crate::random_bytes::<32>()))
}

pub fn token_digest(token: &str) -> Digest {
    Sha256::digest(token.as_bytes()).into()
}

/// A fresh enrollment code: 96 random bits as six groups of four hex digits, to be typed.
pub fn new_enrollment_code() -> String {
    let digits = hex::encode(crate::random_bytes::<12>());
    digits
        .as_bytes()
        .chunks(4)
        .map(|group| std::str::from_utf8(group).expect("hex is ascii"))
        .collect::<Vec<_>>()
        .join("-")
}

/// The digest of an enrollment code as typed: case, dashes and spaces do not matter.
pub fn code_digest(code: &str) -> Digest {
    let normalized: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(normalized.as_bytes()).into()
}

/// An authenticated device acting in its own tenant and warehouse.
///
/// Constructed only by this module, from a valid, unrevoked bearer token whose tenant
/// equals the tenant in the request path. Code elsewhere cannot make one:
///
/// ```compile_fail
/// use aisle_core::ids::{DeviceId, TenantId, WarehouseId};
/// let forged = aisle_server::auth::TenantContext {
///     tenant: TenantId::new_v7(1, [1; 10]),
///     warehouse: WarehouseId::new_v7(1, [1; 10]),
///     device: DeviceId::new_v7(1, [1; 10]),
/// };
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantContext {
    tenant: TenantId,
    warehouse: WarehouseId,
    device: DeviceId,
}

impl TenantContext {
    /// A context for the crate's own unit tests (the Storage conformance tests), which have
    /// no HTTP request to authenticate. It exists only in `cfg(test)` builds of this crate.
    #[cfg(test)]
    pub(crate) fn for_test(tenant: TenantId, warehouse: WarehouseId, device: DeviceId) -> Self {
        Self {
            tenant,
            warehouse,
            device,
        }
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub fn warehouse(&self) -> WarehouseId {
        self.warehouse
    }

    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// A tracing span naming the tenant, warehouse and device, for one operation.
    pub fn span(&self, operation: &'static str) -> tracing::Span {
        tracing::info_span!(
            "tenant_request",
            operation,
            tenant = %self.tenant,
            warehouse = %self.warehouse,
            device = %self.device,
        )
    }

    /// The first boundary an event crosses: its tenant, warehouse and device must be ours.
    pub fn boundary_crossed_by(&self, event: &Event) -> Option<Boundary> {
        if event.tenant != self.tenant {
            Some(Boundary::Tenant)
        } else if event.warehouse != self.warehouse {
            Some(Boundary::Warehouse)
        } else if event.device != self.device {
            Some(Boundary::Device)
        } else {
            None
        }
    }

    /// Writes the refusal to the audit log and returns the 403 to answer with.
    pub async fn refuse(&self, state: &AppState, boundary: Boundary, detail: String) -> AppError {
        let row = AuditRow {
            tenant: Some(self.tenant),
            warehouse: Some(self.warehouse),
            device: Some(self.device),
            reason: boundary.code().to_owned(),
            detail,
        };
        audit(state, AuditSource::Device(self.device), row).await;
        AppError::forbidden(boundary)
    }
}

/// Logs a refusal, counts it, and records it in the security audit log under `source`.
/// The detail is bounded first: it often quotes the request, which the client chose.
async fn audit(state: &AppState, source: AuditSource, mut row: AuditRow) {
    row.detail = crate::registry::bounded(&row.detail, crate::registry::AUDIT_TEXT_MAX_CHARS);
    tracing::warn!(
        tenant = ?row.tenant,
        warehouse = ?row.warehouse,
        device = ?row.device,
        reason = %row.reason,
        detail = %row.detail,
        "request refused"
    );
    state.metrics.record_refusal(&row.reason);
    let registry = state.registry.clone();
    if let Err(error) = blocking(move || registry.audit_as(source, &row, crate::now_ms())).await {
        tracing::error!(%error, "cannot write the security audit log");
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?;
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for TenantContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let digest = token_digest(bearer(parts).ok_or(AppError::BadToken)?);
        let registry = state.registry.clone();
        let device = blocking(move || registry.device_by_token(&digest))
            .await?
            .ok_or(AppError::BadToken)?;
        let context = TenantContext {
            tenant: device.tenant,
            warehouse: device.warehouse,
            device: device.id,
        };
        if device.revoked {
            let row = AuditRow {
                tenant: Some(device.tenant),
                warehouse: Some(device.warehouse),
                device: Some(device.id),
                reason: "revoked_token".to_owned(),
                detail: format!("{} {}", parts.method, parts.uri.path()),
            };
            audit(state, AuditSource::Device(device.id), row).await;
            return Err(AppError::RevokedToken);
        }
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let path_tenant = params
            .iter()
            .find(|(name, _)| *name == "tenant")
            .map(|(_, value)| value.to_owned());
        if let Some(path_tenant) = path_tenant {
            if path_tenant.parse::<TenantId>().ok() != Some(device.tenant) {
                let detail = format!("path tenant {path_tenant:?} on {}", parts.uri.path());
                return Err(context.refuse(state, Boundary::Tenant, detail).await);
            }
        }
        Ok(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_codes_are_forgiving() {
        let token = new_token();
        assert_eq!(token.len(), TOKEN_PREFIX.len() + 64, "32 bytes of hex");
        assert_ne!(new_token(), token, "tokens are random");
        let code = new_enrollment_code();
        assert_eq!(
            code_digest(&code),
            code_digest(&code.replace('-', " ").to_uppercase()),
            "a code typed in capitals with spaces is the same code"
        );
    }
}
