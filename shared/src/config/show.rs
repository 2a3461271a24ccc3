//! The configuration shown: `truereel config` as text or JSON, and the README's table, all from [`DEFS`].

use super::{Config, DEFS, Entry, Kind, Source};

/// What is shown of a setting's value: a key never, only that it is set.
pub const HIDDEN: &str = "<set, hidden>";

fn shown(e: &Entry) -> Option<String> {
    match (&e.raw, e.def.kind) {
        (Some(_), Kind::Secret) => Some(HIDDEN.to_string()),
        (raw, _) => raw.clone(),
    }
}

/// One line per setting: variable, effective value, where it came from.
pub fn text(config: &Config) -> String {
    let width = DEFS.iter().map(|d| d.var.len()).max().unwrap_or(0);
    let mut out = String::new();
    for e in config.entries() {
        let value = match shown(e) {
            Some(raw) => crate::printable(&raw).into_owned(),
            None => format!("({})", e.def.unset),
        };
        let from = match (e.source, e.def.flag) {
            (Source::Flag, Some(flag)) => format!("flag {flag}"),
            (s, _) => s.as_str().to_string(),
        };
        out.push_str(&format!("{:<width$}  {value}  [{from}]\n", e.def.var));
    }
    out
}

/// One JSON object per setting, in a JSON array.
pub fn json(config: &Config) -> serde_json::Value {
    serde_json::Value::Array(
        config
            .entries()
            .iter()
            .map(|e| {
                serde_json::json!({
                    "variable": e.def.var,
                    "flag": e.def.flag,
                    "value": shown(e),
                    "source": e.source.as_str(),
                    "default": e.def.default,
                    "accepts": e.def.kind.accepts(),
                    "meaning": e.def.meaning,
                })
            })
            .collect(),
    )
}

/// The README's configuration table (between its `<!-- config:begin -->` and `<!-- config:end -->`).
pub fn markdown() -> String {
    let mut out = String::from("| variable | flag | meaning | accepts | default |\n|---|---|---|---|---|\n");
    for d in DEFS {
        let flag = d.flag.map(|f| format!("`{f}`")).unwrap_or_default();
        let default = match d.default {
            Some(v) => format!("`{v}`"),
            None => d.unset.to_string(),
        };
        let cell = |s: &str| s.replace('|', "\\|");
        out.push_str(&format!(
            "| `{}` | {flag} | {} | {} | {} |\n",
            d.var,
            cell(d.meaning),
            cell(&d.kind.accepts()),
            cell(&default)
        ));
    }
    out
}
