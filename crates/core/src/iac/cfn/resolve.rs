//! A template's parameters and conditions, resolved before its resources
//! are read, as CloudFormation would on deploy:
//! - `Ref` to a parameter is its value: given (`--cfn-parameter KEY=VALUE`,
//!   or a parent stack's `Parameters`), else its `Default`; a parameter with
//!   neither stays a `Ref`, unknown, and is named in a note;
//! - `Conditions` are evaluated where decidable (`Fn::Equals`, `Fn::Not`,
//!   `Fn::And`, `Fn::Or`, `Condition` over resolved values); `Fn::If` over a
//!   decided condition is its branch (`AWS::NoValue` drops the property), an
//!   undecided one stays, unknown;
//! - a resource whose `Condition` is false is not created: it is not read.
//!
//! Values are replaced in place, so each keeps its line.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::super::located::{intrinsic, Located};
use super::super::Plan;

struct Scope {
    params: BTreeMap<String, Value>,
    conditions: BTreeMap<String, Option<bool>>,
}

/// A scalar as CloudFormation compares it (`Fn::Equals` on strings).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Scope {
    /// `v` with parameters and decided conditions resolved; `None` for
    /// `AWS::NoValue`.
    fn value(&self, v: &Value) -> Option<Value> {
        match v {
            Value::Object(m) if m.len() == 1 => {
                if let Some(Value::String(name)) = m.get("Ref") {
                    if name == "AWS::NoValue" {
                        return None;
                    }
                    return Some(self.params.get(name).cloned().unwrap_or_else(|| v.clone()));
                }
                if let Some(Value::Array(args)) = m.get("Fn::If") {
                    if let [Value::String(cond), yes, no] = args.as_slice() {
                        return match self.conditions.get(cond).copied().flatten() {
                            Some(true) => self.value(yes),
                            Some(false) => self.value(no),
                            None => Some(Value::Object(self.object(m))),
                        };
                    }
                }
                Some(Value::Object(self.object(m)))
            }
            Value::Object(m) => Some(Value::Object(self.object(m))),
            Value::Array(a) => Some(Value::Array(
                a.iter().filter_map(|x| self.value(x)).collect(),
            )),
            other => Some(other.clone()),
        }
    }

    fn object(&self, m: &Map<String, Value>) -> Map<String, Value> {
        m.iter()
            .filter_map(|(k, x)| self.value(x).map(|x| (k.clone(), x)))
            .collect()
    }

    /// A condition's truth, where decidable.
    fn truth(
        &self,
        v: &Value,
        conditions: &Map<String, Value>,
        seen: &mut Vec<String>,
    ) -> Option<bool> {
        let name = intrinsic(v).or_else(|| v.get("Condition").map(|_| "Condition"))?;
        let args = &v[name];
        match name {
            "Fn::Equals" => {
                let [a, b] = args.as_array()?.as_slice() else {
                    return None;
                };
                let (a, b) = (self.value(a)?, self.value(b)?);
                if intrinsic(&a).is_some() || intrinsic(&b).is_some() {
                    return None;
                }
                Some(scalar_text(&a)? == scalar_text(&b)?)
            }
            "Fn::Not" => Some(!self.truth(args.as_array()?.first()?, conditions, seen)?),
            "Fn::And" | "Fn::Or" => {
                let all: Vec<Option<bool>> = args
                    .as_array()?
                    .iter()
                    .map(|c| self.truth(c, conditions, seen))
                    .collect();
                let and = name == "Fn::And";
                // One false decides an And, one true an Or.
                if all.contains(&Some(!and)) {
                    return Some(!and);
                }
                all.iter().all(Option::is_some).then_some(and)
            }
            "Condition" => self.condition(args.as_str()?, conditions, seen),
            _ => None,
        }
    }

    fn condition(
        &self,
        name: &str,
        conditions: &Map<String, Value>,
        seen: &mut Vec<String>,
    ) -> Option<bool> {
        if let Some(done) = self.conditions.get(name) {
            return *done;
        }
        if seen.iter().any(|s| s == name) || seen.len() > 64 {
            return None;
        }
        seen.push(name.to_string());
        let out = self.truth(conditions.get(name)?, conditions, seen);
        seen.pop();
        out
    }
}

/// Resolve `doc` in place; the logical ids of resources whose `Condition`
/// is false (not created, not read).
pub(in super::super) fn apply(
    shown: &str,
    doc: &mut Located,
    given: &BTreeMap<String, String>,
    plan: &mut Plan,
) -> BTreeSet<String> {
    let mut scope = Scope {
        params: BTreeMap::new(),
        conditions: BTreeMap::new(),
    };
    let mut unset = Vec::new();
    if let Some(Value::Object(params)) = doc.value.get("Parameters") {
        for (name, p) in params {
            match given.get(name) {
                Some(v) => {
                    scope.params.insert(name.clone(), Value::String(v.clone()));
                }
                None => match p.get("Default") {
                    Some(d) if !d.is_null() => {
                        scope.params.insert(name.clone(), d.clone());
                    }
                    _ => unset.push(name.clone()),
                },
            }
        }
    }
    let unknown_given: Vec<&String> = given
        .keys()
        .filter(|k| !scope.params.contains_key(*k))
        .collect();
    if !unknown_given.is_empty() && doc.value.get("Parameters").is_some() {
        let names: Vec<&str> = unknown_given.iter().map(|s| s.as_str()).collect();
        plan.note(
            shown,
            format!(
                "parameters given that the template does not declare: {}",
                names.join(", ")
            ),
        );
    }
    if !unset.is_empty() {
        plan.note(
            shown,
            format!(
                "parameters without a Default and not given (--cfn-parameter KEY=VALUE): {}: what refers to them is unknown",
                unset.join(", ")
            ),
        );
    }
    if let Some(Value::Object(conditions)) = doc.value.get("Conditions").cloned() {
        for name in conditions.keys() {
            let truth = scope.condition(name, &conditions, &mut Vec::new());
            scope.conditions.insert(name.clone(), truth);
        }
        let decided: Vec<String> = scope
            .conditions
            .iter()
            .map(|(k, v)| match v {
                Some(b) => format!("{k}={b}"),
                None => format!("{k} undecided"),
            })
            .collect();
        if !decided.is_empty() {
            plan.note(shown, format!("conditions: {}", decided.join(", ")));
        }
    }
    let mut skipped = BTreeSet::new();
    if let Some(Value::Object(resources)) = doc.value.get_mut("Resources") {
        for (id, r) in resources.iter_mut() {
            if let Some(Value::String(c)) = r.get("Condition") {
                if scope.conditions.get(c).copied().flatten() == Some(false) {
                    skipped.insert(id.clone());
                    continue;
                }
            }
            if let Some(props) = r.get_mut("Properties") {
                *props = scope.value(props).unwrap_or(Value::Null);
            }
        }
    }
    if !skipped.is_empty() {
        let ids: Vec<&str> = skipped.iter().map(String::as_str).collect();
        plan.note(
            shown,
            format!("not created (their Condition is false): {}", ids.join(", ")),
        );
    }
    skipped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadOptions;

    fn resolved(text: &str, given: &[(&str, &str)]) -> (Value, BTreeSet<String>, Vec<String>) {
        let mut doc = crate::iac::located::parse("t.yaml", text, &LoadOptions::default()).unwrap();
        let mut plan = Plan::default();
        let given = given
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let skipped = apply("t.yaml", &mut doc, &given, &mut plan);
        (
            doc.value,
            skipped,
            plan.notes.into_iter().map(|n| n.note).collect(),
        )
    }

    const T: &str = "Parameters:\n  Version:\n    Type: String\n    Default: '1.30'\n  Env:\n    Type: String\n  Addon:\n    Type: String\n    Default: 'yes'\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\n  WithAddon: !Equals [!Ref Addon, 'yes']\n  Both: !And [!Condition IsProd, !Condition WithAddon]\n  Either: !Or [!Condition WithAddon, !Condition IsProd]\n  NoAddon: !Not [!Condition WithAddon]\nResources:\n  C:\n    Type: AWS::EKS::Cluster\n    Properties:\n      Version: !Ref Version\n      Name: !If [IsProd, prod, dev]\n      BootstrapSelfManagedAddons: !If [WithAddon, true, !Ref AWS::NoValue]\n  A:\n    Type: AWS::EKS::Addon\n    Condition: NoAddon\n    Properties:\n      AddonName: vpc-cni\n";

    #[test]
    fn defaults_and_decidable_conditions_resolve() {
        let (v, skipped, notes) = resolved(T, &[]);
        let p = &v["Resources"]["C"]["Properties"];
        assert_eq!(p["Version"], "1.30");
        assert_eq!(p["BootstrapSelfManagedAddons"], true);
        // Env has no Default: IsProd undecided, its Fn::If stays.
        assert!(p["Name"].get("Fn::If").is_some());
        assert!(
            notes
                .iter()
                .any(|n| n
                    .contains("without a Default and not given (--cfn-parameter KEY=VALUE): Env")),
            "{notes:?}"
        );
        assert!(
            notes.iter().any(|n| n.contains("Both undecided")
                && n.contains("Either=true")
                && n.contains("NoAddon=false")),
            "{notes:?}"
        );
        assert!(skipped.contains("A"));
    }

    #[test]
    fn given_parameters_win_and_no_value_drops_the_property() {
        let (v, skipped, _) = resolved(T, &[("Env", "prod"), ("Addon", "no"), ("Version", "1.31")]);
        let p = &v["Resources"]["C"]["Properties"];
        assert_eq!(p["Version"], "1.31");
        assert_eq!(p["Name"], "prod");
        assert!(p.get("BootstrapSelfManagedAddons").is_none());
        assert!(skipped.is_empty());
    }

    #[test]
    fn cyclic_conditions_are_undecided() {
        let (_, _, notes) = resolved(
            "Conditions:\n  A: !Condition B\n  B: !Condition A\nResources: {}\n",
            &[],
        );
        assert!(
            notes.iter().any(|n| n.contains("A undecided, B undecided")),
            "{notes:?}"
        );
    }
}
