//! The vision judges' answer: its JSON schema (one entry per shot: does the product look right, is
//! the motion plausible, does anything look artificial or warped, and why), its strict reading (any
//! answer off the schema is unusable, never a pass) and the checks it becomes.

use crate::Check;
use crate::ports::ProviderError;
use serde_json::{Value, json};

/// At most this many of the model's reasons are kept per shot...
const MAX_REASONS: usize = 6;
/// ...each at most this many characters.
const MAX_REASON_CHARS: usize = 300;

/// The answer's JSON schema: `{"shots": [{"shot", "product_looks_right", "motion_plausible",
/// "looks_artificial_or_warped", "reasons"}]}`, every property required, nothing else allowed.
/// `counted` adds `minItems`/`maxItems` of `shots` (Gemini); OpenAI's strict mode and Anthropic's
/// structured outputs get the plainer subset every provider enforces, and the count is checked on
/// reading ([`parse`]) whatever the provider.
pub fn schema(shots: usize, counted: bool) -> Value {
    let shot = json!({
        "type": "object",
        "properties": {
            "shot": {"type": "integer", "description": "the shot's number, from 1"},
            "product_looks_right": {"type": "boolean"},
            "motion_plausible": {"type": "boolean"},
            "looks_artificial_or_warped": {"type": "boolean"},
            "reasons": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["shot", "product_looks_right", "motion_plausible", "looks_artificial_or_warped", "reasons"],
        "additionalProperties": false,
    });
    let mut list = json!({"type": "array", "items": shot});
    if counted {
        list["minItems"] = json!(shots);
        list["maxItems"] = json!(shots);
    }
    json!({
        "type": "object",
        "properties": {"shots": list},
        "required": ["shots"],
        "additionalProperties": false,
    })
}

/// What the model said of one shot.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShotVerdict {
    /// 1-based.
    pub shot: u32,
    pub product_looks_right: bool,
    pub motion_plausible: bool,
    pub looks_artificial_or_warped: bool,
    pub reasons: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    shots: Vec<ShotVerdict>,
}

/// The verdicts in `text`, one per shot in shot order, read strictly: exactly the schema's object
/// (no prose around it, no other property, booleans as booleans), every shot from 1 to `shots`
/// once and no other; anything else is [`ProviderError::Invalid`].
pub fn parse(provider: &str, text: &str, shots: usize) -> Result<Vec<ShotVerdict>, ProviderError> {
    let invalid = |message: String| ProviderError::Invalid { provider: provider.to_string(), message };
    let answer: Answer = serde_json::from_str(text.trim()).map_err(|e| {
        let start: String = crate::printable(text.trim()).chars().take(80).collect();
        invalid(format!("the verdict is not the JSON asked for ({e}); it begins {start:?}"))
    })?;
    let mut by_shot: Vec<Option<ShotVerdict>> = vec![None; shots];
    for v in answer.shots {
        let n = v.shot as usize;
        if n == 0 || n > shots {
            return Err(invalid(format!("the verdict names shot {n}, but the reel has shots 1 to {shots}")));
        }
        if by_shot[n - 1].is_some() {
            return Err(invalid(format!("the verdict names shot {n} twice")));
        }
        by_shot[n - 1] = Some(v);
    }
    let missing: Vec<String> =
        by_shot.iter().enumerate().filter(|(_, v)| v.is_none()).map(|(i, _)| (i + 1).to_string()).collect();
    if !missing.is_empty() {
        return Err(invalid(format!("the verdict says nothing of shot {}", missing.join(", "))));
    }
    Ok(by_shot.into_iter().flatten().collect())
}

/// The model's reasons as a person reads them: printable, trimmed, the first few, each cut short.
fn reasons(v: &ShotVerdict) -> String {
    let said: Vec<String> = v
        .reasons
        .iter()
        .map(|r| crate::printable(r.trim()).chars().take(MAX_REASON_CHARS).collect::<String>())
        .filter(|r| !r.is_empty())
        .take(MAX_REASONS)
        .collect();
    if said.is_empty() { "the model gave no reason".into() } else { said.join("; ") }
}

/// Three checks per shot, named `<provider> product`, `<provider> motion` and `<provider>
/// artifacts`, about shot `index` (0-based, from the plan); `asked` says the camera move the plan
/// asked for. A check fails when the model says the product does not look right, the motion is not
/// plausible, or something looks artificial or warped; its detail carries the model's reasons.
pub fn checks(provider: &str, verdicts: &[ShotVerdict], shots: &[(u32, String)]) -> Vec<Check> {
    let mut out = Vec::with_capacity(verdicts.len() * 3);
    for (v, (index, asked)) in verdicts.iter().zip(shots) {
        let n = v.shot;
        let why = reasons(v);
        let check = |aspect: &str, passed: bool, detail: String| Check {
            name: format!("{provider} {aspect}"),
            passed,
            score: if passed { 1.0 } else { 0.0 },
            detail,
            shot: Some(*index),
            // A model's yes or no: nothing a threshold could move.
            measure: None,
        };
        out.push(check(
            "product",
            v.product_looks_right,
            if v.product_looks_right {
                format!("shot {n}: {provider} saw the product of its photo")
            } else {
                format!("shot {n}: {provider} says the product does not match its photo: {why}")
            },
        ));
        out.push(check(
            "motion",
            v.motion_plausible,
            if v.motion_plausible {
                format!("shot {n}: {provider} found the motion plausible (asked for {asked})")
            } else {
                format!("shot {n}: {provider} says the motion is not plausible (asked for {asked}): {why}")
            },
        ));
        let clean = !v.looks_artificial_or_warped;
        out.push(check(
            "artifacts",
            clean,
            if clean {
                format!("shot {n}: {provider} saw nothing warped or artificial")
            } else {
                format!("shot {n}: {provider} says it looks artificial or warped: {why}")
            },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shot(n: u32) -> Value {
        json!({"shot": n, "product_looks_right": true, "motion_plausible": true,
               "looks_artificial_or_warped": false, "reasons": []})
    }

    /// Only the schema's object with every shot once is read; anything else is unusable.
    #[test]
    fn only_a_whole_verdict_on_the_schema_is_read() {
        let ok = json!({"shots": [shot(2), shot(1)]}).to_string();
        let read = parse("gemini", &ok, 2).unwrap();
        assert_eq!(read.iter().map(|v| v.shot).collect::<Vec<_>>(), vec![1, 2]);

        let mut wrong_type = shot(2);
        wrong_type["product_looks_right"] = json!("true");
        let mut extra_field = shot(2);
        extra_field["confidence"] = json!(0.9);
        let cases = [
            ("prose", "The reel looks fine to me.".to_string()),
            ("fenced", format!("```json\n{ok}\n```")),
            ("missing", json!({"shots": [shot(1)]}).to_string()),
            ("extra", json!({"shots": [shot(1), shot(2), shot(3)]}).to_string()),
            ("twice", json!({"shots": [shot(1), shot(1)]}).to_string()),
            ("zero", json!({"shots": [shot(0), shot(1)]}).to_string()),
            ("string bool", json!({"shots": [shot(1), wrong_type]}).to_string()),
            ("extra field", json!({"shots": [shot(1), extra_field]}).to_string()),
            ("other top", json!({"shots": [shot(1), shot(2)], "overall": true}).to_string()),
            ("empty", String::new()),
        ];
        for (what, text) in cases {
            let err = parse("gemini", &text, 2).unwrap_err();
            assert!(matches!(err, ProviderError::Invalid { .. }), "{what}: {err:?}");
        }
    }

    /// A shot's failed aspects fail their checks with the model's reasons, printable and short.
    #[test]
    fn checks_carry_the_shot_and_the_reasons() {
        let v = ShotVerdict {
            shot: 2,
            product_looks_right: false,
            motion_plausible: true,
            looks_artificial_or_warped: true,
            reasons: vec!["the logo is gone\n".into(), "x".repeat(1000), "  ".into()],
        };
        let checks = checks("openai", &[v], &[(1, "a push-in".into())]);
        assert_eq!(
            checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["openai product", "openai motion", "openai artifacts"]
        );
        assert!(checks.iter().all(|c| c.shot == Some(1)));
        let [product, motion, artifacts] = &checks[..] else { panic!() };
        assert!(!product.passed && product.score == 0.0, "{product:?}");
        assert!(product.detail.starts_with("shot 2: ") && product.detail.contains("the logo is gone"), "{product:?}");
        assert!(product.detail.len() < 400, "reasons are cut short: {}", product.detail.len());
        assert!(motion.passed && motion.detail.contains("a push-in"), "{motion:?}");
        assert!(!artifacts.passed && artifacts.detail.contains("the logo is gone"), "{artifacts:?}");
    }
}
