//! The stock keys and key states each tenant's last push left, kept between its pushes so
//! that the next push need not read them again from the database.
//!
//! Reading the batch's keys (an index lookup in `stock_keys` and one in `key_states` for each
//! of a 500-event push's ~550 keys) was the largest statement of a push on PostgreSQL
//! (docs/BENCHMARKS.md, "Key states kept between pushes"). A push finds most of its keys in
//! what the previous push of its tenant read or wrote.
//!
//! What keeps it exact is the tenant database's `projection_marker`
//! (`migrations/cloud/pg/tenant/0009_projection_marker.sql`): every statement that writes
//! `stock_keys` or `key_states`, from any server instance or by hand, clears its token; a push
//! sets a new random token as its last write and keeps it with its copy. The next push reads
//! the token under the push lock, and uses the copy only if the token is still the one it
//! set: then nothing has written those tables since that push committed, and the copy is
//! what they hold. Otherwise the copy is dropped and the push reads its keys as before.
//!
//! A copy is taken out of this cache for the length of a push and put back only after its
//! commit succeeded, with the token that commit wrote: a push that fails (or whose commit's
//! outcome is unknown) leaves nothing behind, and two pushes of one tenant in this process at
//! once (a pick-list cancel beside a push) each put back a copy that is right for its own
//! token, of which the database holds at most one.

use aisle_core::ids::TenantId;
use aisle_core::stock::StockKey;
use aisle_projection::pg::KnownKey;
use aisle_projection::{FastMap, KeyIds};
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// How many keys the cache holds across its tenants at most (about 200 bytes each: some
/// 50 MB). The tenants used least recently are dropped first; a tenant with more keys than
/// this is not kept.
pub(super) const KEY_BUDGET: usize = 250_000;

/// One tenant's copy: the token its push wrote, its key ids and its key states.
#[derive(Debug, Default)]
pub(super) struct TenantKeys {
    token: Uuid,
    ids: KeyIds,
    states: FastMap<i64, KnownKey>,
}

impl TenantKeys {
    /// The key's id, state and baseline seq, if this copy has them.
    pub(super) fn get(&self, key: &StockKey) -> Option<KnownKey> {
        self.ids
            .get(key)
            .and_then(|key_id| self.states.get(key_id))
            .copied()
    }

    /// Whether this copy is what the database holds, whose marker reads `token`.
    pub(super) fn is_current(&self, token: Option<Uuid>) -> bool {
        token == Some(self.token)
    }

    fn len(&self) -> usize {
        self.ids.len()
    }
}

#[derive(Debug, Default)]
struct Entry {
    keys: TenantKeys,
    used: u64,
}

/// The copies, by tenant (see the module doc).
#[derive(Debug, Default)]
pub(super) struct KeyCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tenants: HashMap<TenantId, Entry>,
    keys: usize,
    clock: u64,
}

impl KeyCache {
    /// Takes the tenant's copy out, for one push.
    pub(super) fn take(&self, tenant: TenantId) -> Option<TenantKeys> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let entry = inner.tenants.remove(&tenant)?;
        inner.keys -= entry.keys.len();
        Some(entry.keys)
    }

    /// Puts back the tenant's copy after a push committed with `token`: `base` (the copy the
    /// push started from, if it was current) with the ids and states the push's ledger held.
    pub(super) fn put(
        &self,
        tenant: TenantId,
        base: Option<TenantKeys>,
        token: Uuid,
        ids: KeyIds,
        states: Vec<KnownKey>,
    ) {
        let mut keys = base.unwrap_or_default();
        keys.token = token;
        keys.ids.extend(ids);
        for state in states {
            keys.states.insert(state.0, state);
        }
        if keys.len() > KEY_BUDGET {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.clock += 1;
        let used = inner.clock;
        if let Some(old) = inner.tenants.remove(&tenant) {
            inner.keys -= old.keys.len();
        }
        inner.keys += keys.len();
        inner.tenants.insert(tenant, Entry { keys, used });
        while inner.keys > KEY_BUDGET {
            let Some(oldest) = inner
                .tenants
                .iter()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(tenant, _)| *tenant)
            else {
                break;
            };
            if let Some(evicted) = inner.tenants.remove(&oldest) {
                inner.keys -= evicted.keys.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aisle_core::ids::{ItemId, LocationId, WarehouseId};
    use aisle_core::stock::KeyState;

    fn key(n: u128) -> StockKey {
        StockKey {
            warehouse: WarehouseId::from_uuid(Uuid::from_u128(1)),
            location: LocationId::from_uuid(Uuid::from_u128(n)),
            item: ItemId::from_uuid(Uuid::from_u128(n + 1_000_000)),
            lot: None,
        }
    }

    fn state(on_hand: i64) -> KeyState {
        KeyState {
            baseline: None,
            on_hand,
        }
    }

    #[test]
    fn a_copy_is_current_only_for_the_token_it_was_put_back_with() {
        let cache = KeyCache::default();
        let tenant = TenantId::from_uuid(Uuid::from_u128(7));
        let token = Uuid::from_u128(42);
        cache.put(
            tenant,
            None,
            token,
            [(key(1), 10)].into_iter().collect(),
            vec![(10, state(5), None)],
        );
        let copy = cache.take(tenant).expect("put back");
        assert!(copy.is_current(Some(token)));
        assert!(!copy.is_current(None), "a cleared marker");
        assert!(
            !copy.is_current(Some(Uuid::from_u128(43))),
            "another writer's"
        );
        assert_eq!(copy.get(&key(1)), Some((10, state(5), None)));
        assert_eq!(copy.get(&key(2)), None);
        // Taken out for a push: a second push of the tenant meanwhile finds none.
        assert!(cache.take(tenant).is_none());
    }

    #[test]
    fn a_push_from_a_current_copy_keeps_it_and_overwrites_what_it_changed() {
        let cache = KeyCache::default();
        let tenant = TenantId::from_uuid(Uuid::from_u128(7));
        cache.put(
            tenant,
            None,
            Uuid::from_u128(1),
            [(key(1), 10), (key(2), 20)].into_iter().collect(),
            vec![(10, state(5), None), (20, state(6), None)],
        );
        let base = cache.take(tenant);
        cache.put(
            tenant,
            base,
            Uuid::from_u128(2),
            [(key(2), 20), (key(3), 30)].into_iter().collect(),
            vec![(20, state(1), None), (30, state(2), None)],
        );
        let copy = cache.take(tenant).expect("put back");
        assert!(copy.is_current(Some(Uuid::from_u128(2))));
        assert_eq!(copy.get(&key(1)), Some((10, state(5), None)));
        assert_eq!(copy.get(&key(2)), Some((20, state(1), None)));
        assert_eq!(copy.get(&key(3)), Some((30, state(2), None)));
    }

    #[test]
    fn the_key_budget_drops_the_tenants_used_least_recently() {
        let cache = KeyCache::default();
        let half = KEY_BUDGET / 2 + 1;
        let fill = |first: u128| -> (KeyIds, Vec<KnownKey>) {
            let ids = (first..first + half as u128)
                .map(|n| (key(n), n as i64))
                .collect();
            let states = (first..first + half as u128)
                .map(|n| (n as i64, state(1), None))
                .collect();
            (ids, states)
        };
        let (a, b) = (
            TenantId::from_uuid(Uuid::from_u128(1)),
            TenantId::from_uuid(Uuid::from_u128(2)),
        );
        let (ids, states) = fill(0);
        cache.put(a, None, Uuid::from_u128(1), ids, states);
        let (ids, states) = fill(10_000_000);
        cache.put(b, None, Uuid::from_u128(2), ids, states);
        assert!(cache.take(a).is_none(), "the older tenant went");
        assert!(cache.take(b).is_some(), "the newer one stayed");
        // One tenant over the whole budget is not kept at all.
        let ids: KeyIds = (0..=KEY_BUDGET as u128)
            .map(|n| (key(n), n as i64))
            .collect();
        cache.put(a, None, Uuid::from_u128(3), ids, Vec::new());
        assert!(cache.take(a).is_none());
    }
}
