//! ERP integrations: per-tenant API keys with scopes, and [`IntegrationContext`], the
//! authenticated form of one.
//!
//! An API key is `aisle_key_` and 64 hex digits (256 random bits), shown once by the admin
//! CLI and stored in the registry only as its SHA-256. The extractor checks, in this order,
//! that the key is known (else `401 bad_token`), not revoked (else `401 revoked_key`), that
//! the `{tenant}` of the path is the key's (else `403 tenant_mismatch`) and that the key
//! holds the scope the handler asks for (else `403 missing_scope`); every refusal after the
//! first is written to the security audit log with the key's id, never the key.
//!
//! The scope is a type parameter: a storage method that writes master data takes an
//! `IntegrationContext<MasterWrite>`, so it cannot be reached with a key that may only read
//! stock. Like [`super::TenantContext`], the context has private fields and is made only
//! here; it is [`super::Authenticated`], so it unlocks its own tenant's database and no other.

use super::{audit, bearer, sealed, token_digest, Authenticated};
use crate::error::{AppError, Boundary};
use crate::http::{blocking, AppState};
use crate::registry::{ApiKeyId, AuditRow, AuditSource, Registry};
use crate::ServerError;
use aisle_core::ids::TenantId;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use std::fmt;
use std::marker::PhantomData;

/// Every API key starts with this, so a leaked one is recognisable and is never mistaken
/// for a device token.
pub const API_KEY_PREFIX: &str = "aisle_key_";

/// A fresh API key: 256 random bits, hex, with the [`API_KEY_PREFIX`].
pub fn new_api_key() -> String {
    format!(
        "{API_KEY_PREFIX}{}",
        hex::encode(crate::random_bytes::<32>())
    )
}

/// What an API key may do.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Upsert items, locations, users and pick lists.
    MasterWrite,
    /// Read the stock projection of the tenant's warehouses.
    StockRead,
    /// Read the ERP feed of business messages (`GET /v1/t/{tenant}/erp/feed`).
    FeedRead,
    /// Add, list, rotate, disable, enable and replay the tenant's webhook endpoints, and
    /// read their delivery log (`/v1/t/{tenant}/erp/webhooks…`).
    WebhooksManage,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::MasterWrite,
        Scope::StockRead,
        Scope::FeedRead,
        Scope::WebhooksManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MasterWrite => "master:write",
            Self::StockRead => "stock:read",
            Self::FeedRead => "feed:read",
            Self::WebhooksManage => "webhooks:manage",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|scope| scope.as_str()).collect();
                format!("unknown scope {text:?}; known: {}", known.join(", "))
            })
    }
}

/// A scope as a type, for [`IntegrationContext`]'s parameter. Sealed.
pub trait RequiredScope: sealed::Sealed + Send + Sync + 'static {
    const SCOPE: Scope;
}

/// The `master:write` scope.
#[derive(Copy, Clone, Debug)]
pub struct MasterWrite;

/// The `stock:read` scope.
#[derive(Copy, Clone, Debug)]
pub struct StockRead;

/// The `feed:read` scope.
#[derive(Copy, Clone, Debug)]
pub struct FeedRead;

/// The `webhooks:manage` scope.
#[derive(Copy, Clone, Debug)]
pub struct WebhooksManage;

impl sealed::Sealed for MasterWrite {}
impl sealed::Sealed for StockRead {}
impl sealed::Sealed for FeedRead {}
impl sealed::Sealed for WebhooksManage {}

impl RequiredScope for MasterWrite {
    const SCOPE: Scope = Scope::MasterWrite;
}

impl RequiredScope for StockRead {
    const SCOPE: Scope = Scope::StockRead;
}

impl RequiredScope for FeedRead {
    const SCOPE: Scope = Scope::FeedRead;
}

impl RequiredScope for WebhooksManage {
    const SCOPE: Scope = Scope::WebhooksManage;
}

/// Who is acting through an [`IntegrationContext`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// An ERP, by the id of its API key.
    ApiKey(ApiKeyId),
    /// The operator, through the admin CLI on the server's own machine.
    Operator,
    /// The server itself: the webhook delivery worker reading a tenant's outbox for the
    /// endpoints the tenant's operator or ERP configured.
    Server,
}

/// An authenticated integration holding scope `S` in one tenant.
///
/// Made only by this module: by the extractor from a valid key, or by
/// [`IntegrationContext::local_operator`] for the admin CLI. Code elsewhere cannot forge one:
///
/// ```compile_fail
/// let forged = aisle_server::auth::IntegrationContext::<aisle_server::auth::MasterWrite> {
///     tenant: aisle_core::ids::TenantId::new_v7(1, [1; 10]),
///     principal: aisle_server::auth::Principal::Operator,
///     scope: std::marker::PhantomData,
/// };
/// ```
#[derive(Debug)]
pub struct IntegrationContext<S> {
    tenant: TenantId,
    principal: Principal,
    scope: PhantomData<fn() -> S>,
}

impl<S: RequiredScope> IntegrationContext<S> {
    /// The operator at the server's console, acting on `tenant` through the admin CLI.
    ///
    /// The CLI already holds the data directory, which is more than any key grants, so
    /// this asks for no credential; it only checks that the tenant exists. The HTTP layer
    /// never calls it (a test below reads its sources to keep it so).
    pub fn local_operator(registry: &dyn Registry, tenant: TenantId) -> Result<Self, ServerError> {
        if registry.tenant(tenant)?.is_none() {
            return Err(ServerError::NotFound(format!("tenant {tenant}")));
        }
        Ok(Self {
            tenant,
            principal: Principal::Operator,
            scope: PhantomData,
        })
    }

    /// The operator's context for the crate's own unit tests (the Storage conformance
    /// tests), without a registry. It exists only in `cfg(test)` builds of this crate.
    #[cfg(test)]
    pub(crate) fn for_test(tenant: TenantId) -> Self {
        Self {
            tenant,
            principal: Principal::Operator,
            scope: PhantomData,
        }
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The server's own context for `tenant`: what the webhook delivery worker reads the
    /// tenant's outbox with, for an endpoint the registry lists under that tenant.
    pub(crate) fn for_server(tenant: TenantId) -> Self {
        Self {
            tenant,
            principal: Principal::Server,
            scope: PhantomData,
        }
    }

    pub fn principal(&self) -> Principal {
        self.principal
    }

    /// A tracing span naming the tenant and the key, for one operation.
    pub fn span(&self, operation: &'static str) -> tracing::Span {
        let key = match self.principal {
            Principal::ApiKey(id) => id.to_string(),
            Principal::Operator => "operator".to_owned(),
            Principal::Server => "server".to_owned(),
        };
        tracing::info_span!("integration_request", operation, tenant = %self.tenant, key)
    }
}

impl<S> sealed::Sealed for IntegrationContext<S> {}

impl<S: RequiredScope> Authenticated for IntegrationContext<S> {
    fn authenticated_tenant(&self) -> TenantId {
        self.tenant
    }
}

impl<S: RequiredScope> FromRequestParts<AppState> for IntegrationContext<S> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let key = bearer(parts)
            .filter(|key| key.starts_with(API_KEY_PREFIX))
            .ok_or(AppError::BadToken)?;
        let digest = token_digest(key);
        let registry = state.registry.clone();
        let row = blocking(move || registry.api_key_by_digest(&digest))
            .await?
            .ok_or(AppError::BadToken)?;
        let refusal = |reason: &str, detail: String| AuditRow {
            tenant: Some(row.tenant),
            warehouse: None,
            device: None,
            reason: reason.to_owned(),
            detail: format!("api key {}: {detail}", row.id),
        };
        let source = AuditSource::ApiKey(row.id);
        let request = format!("{} {}", parts.method, parts.uri.path());
        if row.revoked {
            audit(state, source, refusal("revoked_key", request)).await;
            return Err(AppError::RevokedKey);
        }
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let path_tenant = params
            .iter()
            .find(|(name, _)| *name == "tenant")
            .map(|(_, value)| value.to_owned());
        if let Some(path_tenant) = path_tenant {
            if path_tenant.parse::<TenantId>().ok() != Some(row.tenant) {
                let detail = format!("path tenant {path_tenant:?} on {request}");
                audit(state, source, refusal(Boundary::Tenant.code(), detail)).await;
                return Err(AppError::forbidden(Boundary::Tenant));
            }
        }
        if !row.scopes.contains(&S::SCOPE) {
            let detail = format!("needs {} for {request}", S::SCOPE);
            audit(state, source, refusal("missing_scope", detail)).await;
            return Err(AppError::MissingScope(S::SCOPE.as_str()));
        }
        Ok(Self {
            tenant: row.tenant,
            principal: Principal::ApiKey(row.id),
            scope: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_256_bit_and_scopes_round_trip() {
        let key = new_api_key();
        assert_eq!(key.len(), API_KEY_PREFIX.len() + 64, "32 bytes of hex");
        assert_ne!(new_api_key(), key, "keys are random");
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert!("master:delete".parse::<Scope>().is_err());
    }

    /// The operator's context skips the credential check, so the HTTP layer must never
    /// build one; it can only use the extractors.
    #[test]
    fn the_http_layer_never_builds_an_operator_context() {
        for (file, source) in [
            ("http.rs", include_str!("../http.rs")),
            ("http/master.rs", include_str!("../http/master.rs")),
        ] {
            assert!(
                !source.contains("local_operator"),
                "{file} must not construct an operator context"
            );
        }
    }
}
