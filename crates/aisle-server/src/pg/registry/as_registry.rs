//! [`PgRegistry`] behind the server's [`Registry`] trait, so the auth, HTTP, limits and
//! admin code that hold an `Arc<dyn Registry>` run on PostgreSQL unchanged. Each method is
//! the inherent method of the same name (see the sibling modules); what only PostgreSQL has
//! (clusters, placement, `add_tenant_on`) stays on [`PgRegistry`] itself.

use super::PgRegistry;
use crate::auth::{Digest, Scope};
use crate::error::ServerError;
use crate::registry::{
    ApiKeyId, ApiKeyRow, AuditEntry, AuditRow, AuditSource, ChainBreak, ChainVerified, CodeRefusal,
    DeviceRow, Enrolled, NewApiKey, Pruned, Registry, TenantQuota, TenantRow,
};
use crate::registry::{Artifact, NewRelease, Release, UpdatePolicy};
use crate::registry::{WebhookId, WebhookRow};
use aisle_core::ids::{DeviceId, TenantId, WarehouseId};

impl Registry for PgRegistry {
    fn is_ready(&self) -> bool {
        PgRegistry::is_ready(self)
    }

    fn add_tenant(&self, name: &str, now_ms: i64) -> Result<TenantId, ServerError> {
        PgRegistry::add_tenant(self, name, now_ms)
    }

    fn list_tenants(&self) -> Result<Vec<TenantRow>, ServerError> {
        PgRegistry::list_tenants(self)
    }

    fn tenant(&self, tenant: TenantId) -> Result<Option<TenantRow>, ServerError> {
        PgRegistry::tenant(self, tenant)
    }

    fn resolve_tenant(&self, id_or_name: &str) -> Result<TenantId, ServerError> {
        PgRegistry::resolve_tenant(self, id_or_name)
    }

    fn add_warehouse(
        &self,
        tenant: TenantId,
        name: &str,
        now_ms: i64,
    ) -> Result<WarehouseId, ServerError> {
        PgRegistry::add_warehouse(self, tenant, name, now_ms)
    }

    fn resolve_warehouse(
        &self,
        tenant: TenantId,
        id_or_name: &str,
    ) -> Result<WarehouseId, ServerError> {
        PgRegistry::resolve_warehouse(self, tenant, id_or_name)
    }

    fn list_warehouses(&self, tenant: TenantId) -> Result<Vec<(WarehouseId, String)>, ServerError> {
        PgRegistry::list_warehouses(self, tenant)
    }

    fn create_enrollment_code(
        &self,
        tenant: TenantId,
        warehouse: WarehouseId,
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<String, ServerError> {
        PgRegistry::create_enrollment_code(self, tenant, warehouse, ttl_ms, now_ms)
    }

    fn enroll(
        &self,
        code: &str,
        device_name: &str,
        now_ms: i64,
    ) -> Result<Result<Enrolled, CodeRefusal>, ServerError> {
        PgRegistry::enroll(self, code, device_name, now_ms)
    }

    fn device_by_token(&self, digest: &Digest) -> Result<Option<DeviceRow>, ServerError> {
        PgRegistry::device_by_token(self, digest)
    }

    fn warehouse_devices(
        &self,
        context: &crate::auth::TenantContext,
    ) -> Result<Vec<aisle_protocol::MasterDevice>, ServerError> {
        PgRegistry::warehouse_devices(self, context)
    }

    fn list_devices(&self, tenant: TenantId) -> Result<Vec<DeviceRow>, ServerError> {
        PgRegistry::list_devices(self, tenant)
    }

    fn revoke_device(&self, device: DeviceId, now_ms: i64) -> Result<bool, ServerError> {
        PgRegistry::revoke_device(self, device, now_ms)
    }

    fn record_tenant_version(&self, tenant: TenantId, version: i64) -> Result<(), ServerError> {
        PgRegistry::record_tenant_version(self, tenant, version)
    }

    fn clear_tenant_failure(&self, tenant: TenantId) -> Result<(), ServerError> {
        PgRegistry::clear_tenant_failure(self, tenant)
    }

    fn mark_tenant_failed(&self, tenant: TenantId, reason: &str) -> Result<(), ServerError> {
        PgRegistry::mark_tenant_failed(self, tenant, reason)
    }

    fn add_api_key(
        &self,
        tenant: TenantId,
        name: &str,
        scopes: &[Scope],
        now_ms: i64,
    ) -> Result<NewApiKey, ServerError> {
        PgRegistry::add_api_key(self, tenant, name, scopes, now_ms)
    }

    fn api_key_by_digest(&self, digest: &Digest) -> Result<Option<ApiKeyRow>, ServerError> {
        PgRegistry::api_key_by_digest(self, digest)
    }

    fn list_api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKeyRow>, ServerError> {
        PgRegistry::list_api_keys(self, tenant)
    }

    fn revoke_api_key(&self, id: ApiKeyId, now_ms: i64) -> Result<bool, ServerError> {
        PgRegistry::revoke_api_key(self, id, now_ms)
    }

    fn add_webhook(
        &self,
        tenant: TenantId,
        url: &str,
        event_types: &[String],
        secret: &crate::webhooks::sign::Secret,
        now_ms: i64,
    ) -> Result<WebhookId, ServerError> {
        PgRegistry::add_webhook(self, tenant, url, event_types, secret, now_ms)
    }

    fn list_webhooks(&self, tenant: TenantId) -> Result<Vec<WebhookRow>, ServerError> {
        PgRegistry::list_webhooks(self, tenant)
    }

    fn webhook(&self, id: WebhookId) -> Result<Option<WebhookRow>, ServerError> {
        PgRegistry::webhook(self, id)
    }

    fn rotate_webhook(
        &self,
        id: WebhookId,
        secret: &crate::webhooks::sign::Secret,
        previous_until_ms: i64,
        now_ms: i64,
    ) -> Result<bool, ServerError> {
        PgRegistry::rotate_webhook(self, id, secret, previous_until_ms, now_ms)
    }

    fn set_webhook_enabled(
        &self,
        id: WebhookId,
        enabled: bool,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, ServerError> {
        PgRegistry::set_webhook_enabled(self, id, enabled, reason, now_ms)
    }

    fn webhook_secrets(
        &self,
        id: WebhookId,
        now_ms: i64,
    ) -> Result<Vec<crate::webhooks::sign::Secret>, ServerError> {
        PgRegistry::webhook_secrets(self, id, now_ms)
    }

    fn due_webhooks(
        &self,
        now_ms: i64,
    ) -> Result<Vec<crate::registry::webhooks::DueWebhook>, ServerError> {
        PgRegistry::due_webhooks(self, now_ms)
    }

    fn lease_due_webhooks(
        &self,
        holder: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<crate::registry::webhooks::DueWebhook>, ServerError> {
        PgRegistry::lease_due_webhooks(self, holder, now_ms, lease_ms)
    }

    fn record_attempts(
        &self,
        id: WebhookId,
        attempts: &[crate::registry::webhooks::Attempt],
        now_ms: i64,
    ) -> Result<(), ServerError> {
        PgRegistry::record_attempts(self, id, attempts, now_ms)
    }

    fn skip_webhook_to(&self, id: WebhookId, position: u64) -> Result<(), ServerError> {
        PgRegistry::skip_webhook_to(self, id, position)
    }

    fn replay_webhook(
        &self,
        id: WebhookId,
        from_position: u64,
        now_ms: i64,
    ) -> Result<bool, ServerError> {
        PgRegistry::replay_webhook(self, id, from_position, now_ms)
    }

    fn webhook_deliveries(
        &self,
        tenant: TenantId,
        failed_only: bool,
        limit: u32,
    ) -> Result<Vec<crate::registry::webhooks::DeliveryRow>, ServerError> {
        PgRegistry::webhook_deliveries(self, tenant, failed_only, limit)
    }

    fn audit_as(
        &self,
        source: AuditSource,
        row: &AuditRow,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        PgRegistry::audit_as(self, source, row, now_ms)
    }

    fn audit_entries(&self, limit: Option<u64>) -> Result<Vec<AuditEntry>, ServerError> {
        PgRegistry::audit_entries(self, limit)
    }

    fn prune_audit_before(&self, before_ms: i64, now_ms: i64) -> Result<Pruned, ServerError> {
        PgRegistry::prune_audit_before(self, before_ms, now_ms)
    }

    fn verify_audit(&self) -> Result<Result<ChainVerified, ChainBreak>, ServerError> {
        PgRegistry::verify_audit(self)
    }

    fn tenant_quota(&self, tenant: TenantId) -> Result<TenantQuota, ServerError> {
        PgRegistry::tenant_quota(self, tenant)
    }

    fn set_tenant_quota(
        &self,
        tenant: TenantId,
        quota: TenantQuota,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        PgRegistry::set_tenant_quota(self, tenant, quota, now_ms)
    }

    fn add_release(
        &self,
        release: &NewRelease,
        artifact: &[u8],
        now_ms: i64,
    ) -> Result<Release, ServerError> {
        PgRegistry::add_release(self, release, artifact, now_ms)
    }

    fn releases(&self) -> Result<Vec<Release>, ServerError> {
        PgRegistry::releases(self)
    }

    fn release(&self, target: &str, version: &str) -> Result<Option<Release>, ServerError> {
        PgRegistry::release(self, target, version)
    }

    fn release_artifact(&self, release: &Release) -> Result<Artifact, ServerError> {
        PgRegistry::release_artifact(self, release)
    }

    fn release_chunk(&self, release: &Release, n: u32) -> Result<Vec<u8>, ServerError> {
        PgRegistry::release_chunk(self, release, n)
    }

    fn update_policy(&self, tenant: TenantId) -> Result<UpdatePolicy, ServerError> {
        PgRegistry::update_policy(self, tenant)
    }

    fn set_update_policy(
        &self,
        tenant: TenantId,
        policy: &UpdatePolicy,
        now_ms: i64,
    ) -> Result<(), ServerError> {
        PgRegistry::set_update_policy(self, tenant, policy, now_ms)
    }
}
