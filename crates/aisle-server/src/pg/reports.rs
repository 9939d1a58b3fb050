//! Report reads on PostgreSQL: which reads may be served by a cluster's read replica, and
//! their counts for `/metrics`.
//!
//! A report read is a read for people or systems looking at a tenant's state from outside the
//! warehouse floor, which may be a few seconds old: the ERP stock endpoint
//! (`GET /v1/t/{tenant}/erp/stock`) and the stock export built on the same
//! `Storage::tenant_stock`. Everything a device asks (push, pull, `events/touching`, `stock`,
//! `master`) reads the primary, so a device always reads its own writes; so do the writes.
//!
//! `PgTenantPools::report` sends a report read to the tenant's database on the cluster's
//! replica through an [`aisle_pg::route::ReadRouter`] (one per open tenant), while the
//! replica's replay lag is under the bound (`serve --replica-max-lag-ms`), and to the primary
//! otherwise, or when the replica is down, its lag cannot be measured, or the read fails on
//! it. The routers of one cluster share one [`ReadCounters`], kept here by cluster name.
//!
//! [`ReportReads`] is a Prometheus collector: at each scrape it renders, per cluster,
//! `aisle_report_reads_total{target}` (`replica`; `primary` for a cluster without a replica;
//! `primary_fallback` for one whose replica did not take the read),
//! `aisle_replica_failures_total` (lag checks and reads the replica failed) and
//! `aisle_replica_lag_seconds` (the last measured lag; absent until one was measured and
//! while the last check could not measure it). Series carry the cluster's name, an
//! operator's word, never a tenant.

use aisle_pg::route::ReadCounters;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The report read counters of every cluster this process has read from, by cluster name.
#[derive(Debug, Default)]
pub struct ReportReads {
    clusters: Mutex<BTreeMap<String, Arc<ReadCounters>>>,
}

impl ReportReads {
    /// The counters of `cluster`, shared by the routers of all its tenants.
    pub fn cluster(&self, cluster: &str) -> Arc<ReadCounters> {
        let mut clusters = self.clusters.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(clusters.entry(cluster.to_owned()).or_default())
    }

    /// A snapshot of every cluster's counters, by name.
    pub fn stats(&self) -> Vec<(String, aisle_pg::route::ReadStats)> {
        self.clusters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(cluster, counters)| (cluster.clone(), counters.stats()))
            .collect()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    cluster: String,
    target: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabels {
    cluster: String,
}

impl Collector for ReportReads {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.stats();
        let mut reads = encoder.encode_descriptor(
            "report_reads",
            "Report reads (ERP stock, exports) by cluster and target: replica, primary (no replica), primary_fallback (the replica lagged past the bound, was down or could not be measured)",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (cluster, stats) in &stats {
            let by_target = [
                ("replica", stats.replica_reads),
                ("primary", stats.primary_reads - stats.primary_fallbacks),
                ("primary_fallback", stats.primary_fallbacks),
            ];
            for (target, n_reads) in by_target {
                let labels = TargetLabels {
                    cluster: cluster.clone(),
                    target,
                };
                ConstCounter::new(n_reads).encode(reads.encode_family(&labels)?)?;
            }
        }
        let mut failures = encoder.encode_descriptor(
            "replica_failures",
            "Replica lag checks and report reads the replica failed (down, unreachable, lag not measurable, read failed), each sending reads to the primary",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (cluster, stats) in &stats {
            let labels = ClusterLabels {
                cluster: cluster.clone(),
            };
            ConstCounter::new(stats.replica_failures).encode(failures.encode_family(&labels)?)?;
        }
        let mut lag = encoder.encode_descriptor(
            "replica_lag_seconds",
            "The replica's replay lag at its last check, by cluster; absent while the last check could not measure it",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (cluster, stats) in &stats {
            if let Some(last_lag) = stats.last_lag {
                let labels = ClusterLabels {
                    cluster: cluster.clone(),
                };
                ConstGauge::new(last_lag.as_secs_f64()).encode(lag.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::metrics::Metrics;

    #[test]
    fn each_cluster_shows_its_reads_by_target_and_no_lag_until_one_is_measured() {
        let metrics = Metrics::new();
        let _counters = metrics.report_reads().cluster("eu-1");
        let text = metrics.render();
        for target in ["replica", "primary", "primary_fallback"] {
            let series = format!(
                "aisle_report_reads_total{{isolation_mode=\"database_per_tenant\",cluster=\"eu-1\",target=\"{target}\"}} 0"
            );
            assert!(text.contains(&series), "{series} in:\n{text}");
        }
        assert!(
            text.contains(
                "aisle_replica_failures_total{isolation_mode=\"database_per_tenant\",cluster=\"eu-1\"} 0"
            ),
            "{text}"
        );
        assert!(
            !text.contains("aisle_replica_lag_seconds{"),
            "no lag is shown before one was measured:\n{text}"
        );
    }
}
