//! Metrics as CloudWatch embedded metric format (EMF): one JSON line on stdout that CloudWatch
//! Logs turns into a metric. Only on Lambda (where `AWS_LAMBDA_FUNCTION_NAME` is set); elsewhere
//! the ledger already says the same.

use serde_json::json;

/// The namespace and metric the template's daily-spend alarm watches.
pub const NAMESPACE: &str = "truereel";
pub const SPEND_METRIC: &str = "SpendUsd";

/// The EMF line for `usd` spent with `provider` at `at_ms`.
pub fn spend_line(provider: &str, usd: f64, at_ms: i64) -> String {
    json!({
        "_aws": {
            "Timestamp": at_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[], ["Provider"]],
                "Metrics": [{"Name": SPEND_METRIC, "Unit": "None"}]
            }]
        },
        "Provider": provider,
        SPEND_METRIC: usd,
    })
    .to_string()
}

/// Records money spent (a charged provider call) as a metric, when running on Lambda.
pub fn spent(provider: &str, usd: f64) {
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        println!("{}", spend_line(provider, usd, crate::now_ms()));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_spend_line_is_embedded_metric_format() {
        let v: serde_json::Value = serde_json::from_str(&super::spend_line("runway", 0.25, 1_700_000_000_000)).unwrap();
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], "truereel");
        assert_eq!(m["Metrics"][0]["Name"], "SpendUsd");
        assert_eq!(m["Dimensions"][1][0], "Provider");
        assert_eq!(v["SpendUsd"], 0.25);
        assert_eq!(v["Provider"], "runway");
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
    }
}
