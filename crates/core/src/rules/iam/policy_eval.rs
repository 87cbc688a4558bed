//! Evaluation of IAM identity policies: does a set of policies allow an
//! action? Statement matching with wildcards (`ec2:Describe*`, `ec2:*`,
//! `*`, `?`), `Action` and `NotAction`, explicit Deny over Allow.
//!
//! Shared by the IAM rules and the `generate iam-policy` feature. Pure and
//! allocation-light; no I/O.
//!
//! Scope (see IAM001's known limits): identity policies only (inline and
//! managed); permission boundaries, SCPs and session policies are not
//! modelled. Statements limited to some resources (`Resource` other than
//! `*`, or `NotResource`) or carrying a `Condition` are reported as
//! *scoped*: they may or may not apply to a given call.

use crate::model::{PolicyDocument, Statement};

/// IAM glob match: `*` matches any run of characters, `?` exactly one.
/// Action names are case-insensitive in IAM; resources are not.
pub(crate) fn glob_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let fold = |c: char| {
        if ignore_case {
            c.to_ascii_lowercase()
        } else {
            c
        }
    };
    let p: Vec<char> = pattern.chars().map(fold).collect();
    let t: Vec<char> = text.chars().map(fold).collect();
    // Iterative wildcard match with single-star backtracking: O(|p|·|t|) worst case.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Whether an action pattern (`ec2:Describe*`) matches an action (`ec2:DescribeTags`).
pub(crate) fn action_matches(pattern: &str, action: &str) -> bool {
    glob_match(pattern.trim(), action.trim(), true)
}

/// Whether a statement's `Action` (or `NotAction`) covers `action`.
pub(crate) fn statement_covers(st: &Statement, action: &str) -> bool {
    if !st.actions.is_empty() {
        st.actions.iter().any(|p| action_matches(p, action))
    } else if !st.not_actions.is_empty() {
        !st.not_actions.iter().any(|p| action_matches(p, action))
    } else {
        false
    }
}

/// A statement that applies to every resource and has no condition.
pub(crate) fn is_unconditional(st: &Statement) -> bool {
    st.conditions.is_empty() && st.resources.iter().any(|r| r.trim() == "*")
}

/// A policy document with a name for evidence (inline policy name or managed policy ARN).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NamedPolicy<'a> {
    pub name: &'a str,
    pub document: &'a PolicyDocument,
}

/// How a set of policies treats one action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Access {
    /// An Allow for every resource without conditions.
    pub allowed: bool,
    /// Only Allows limited to some resources or by conditions.
    pub allowed_scoped: bool,
    /// A Deny for every resource without conditions.
    pub denied: bool,
    /// Denies limited to some resources or by conditions.
    pub denied_scoped: bool,
    /// Policies with a matching Allow statement.
    pub allowed_by: Vec<String>,
    /// Policies with a matching Deny statement.
    pub denied_by: Vec<String>,
}

impl Access {
    /// The action can be called: some Allow matches and no unconditional Deny does.
    pub fn effective(&self) -> bool {
        (self.allowed || self.allowed_scoped) && !self.denied
    }
}

/// Evaluate `action` against every statement of `policies`.
pub(crate) fn access(policies: &[NamedPolicy], action: &str) -> Access {
    let mut a = Access::default();
    for p in policies {
        for st in &p.document.statements {
            if !statement_covers(st, action) {
                continue;
            }
            let full = is_unconditional(st);
            if st.effect_allow {
                if full {
                    a.allowed = true;
                } else {
                    a.allowed_scoped = true;
                }
                if !a.allowed_by.iter().any(|n| n == p.name) {
                    a.allowed_by.push(p.name.to_string());
                }
            } else {
                if full {
                    a.denied = true;
                } else {
                    a.denied_scoped = true;
                }
                if !a.denied_by.iter().any(|n| n == p.name) {
                    a.denied_by.push(p.name.to_string());
                }
            }
        }
    }
    if a.allowed {
        a.allowed_scoped = false;
    }
    if a.denied {
        a.denied_scoped = false;
    }
    a
}

/// Whether the policies allow `action` (an Allow matches, no unconditional Deny).
/// (API for `generate iam-policy`; the rules use [`access`] for the details.)
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn allows(policies: &[NamedPolicy], action: &str) -> bool {
    access(policies, action).effective()
}

/// The actions of `wanted` the policies do not allow, with how each is treated.
pub(crate) fn missing_actions<'w>(
    policies: &[NamedPolicy],
    wanted: impl IntoIterator<Item = &'w str>,
) -> Vec<(&'w str, Access)> {
    wanted
        .into_iter()
        .map(|action| (action, access(policies, action)))
        .filter(|(_, a)| !a.effective())
        .collect()
}

/// The pattern by which an Allow statement grants every action of
/// `service` (e.g. `ec2:*`, `*`, `*:*`, or a `NotAction` that leaves the
/// whole service allowed), if it does.
pub(crate) fn whole_service_grant(st: &Statement, service: &str) -> Option<String> {
    if !st.effect_allow {
        return None;
    }
    let covers_service = |pattern: &str| {
        let pattern = pattern.trim();
        if pattern == "*" {
            return true;
        }
        match pattern.split_once(':') {
            Some((svc, act)) => {
                glob_match(svc, service, true) && !act.is_empty() && act.chars().all(|c| c == '*')
            }
            None => false,
        }
    };
    if !st.actions.is_empty() {
        return st
            .actions
            .iter()
            .find(|p| covers_service(p))
            .map(|p| format!("Action \"{}\"", p.trim()));
    }
    if !st.not_actions.is_empty() {
        // Allow + NotAction: everything except the listed actions. It leaves
        // the whole service allowed unless a NotAction names the service.
        let touches_service = st.not_actions.iter().any(|p| {
            let p = p.trim();
            p == "*"
                || p.split_once(':')
                    .is_some_and(|(svc, _)| glob_match(svc, service, true))
        });
        if !touches_service {
            return Some(format!(
                "NotAction [{}] (allows every {service} action)",
                st.not_actions.join(", ")
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn stmt(allow: bool, actions: &[&str], resources: &[&str]) -> Statement {
        Statement {
            effect_allow: allow,
            actions: actions.iter().map(|s| s.to_string()).collect(),
            not_actions: Vec::new(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            principals: BTreeMap::new(),
            conditions: BTreeMap::new(),
        }
    }

    fn doc(statements: Vec<Statement>) -> PolicyDocument {
        PolicyDocument { statements }
    }

    #[test]
    fn glob_semantics() {
        assert!(glob_match("ec2:Describe*", "ec2:DescribeTags", true));
        assert!(glob_match("ec2:describe*", "EC2:DescribeTags", true));
        assert!(!glob_match("ec2:describe*", "EC2:DescribeTags", false));
        assert!(glob_match("*", "", true));
        assert!(glob_match("*", "ec2:AnyThing", true));
        assert!(glob_match(
            "ec2:*NetworkInterface*",
            "ec2:CreateNetworkInterfacePermission",
            true
        ));
        assert!(glob_match(
            "ec2:?ttachNetworkInterface",
            "ec2:AttachNetworkInterface",
            true
        ));
        assert!(!glob_match(
            "ec2:?ttachNetworkInterface",
            "ec2:DetachNetworkInterface2",
            true
        ));
        assert!(!glob_match("ec2:Describe*", "ec2:CreateTags", true));
        assert!(!glob_match("ec2:CreateTag", "ec2:CreateTags", true));
        assert!(glob_match("a*b*c", "axxbyyc", true));
        assert!(!glob_match("a*b*c", "axxbyy", true));
        assert!(glob_match("**", "abc", true));
        assert!(glob_match("iam::*", "iam::x", true));
    }

    #[test]
    fn action_and_not_action() {
        let s = stmt(true, &["ec2:Describe*", "ec2:CreateTags"], &["*"]);
        assert!(statement_covers(&s, "ec2:DescribeSubnets"));
        assert!(statement_covers(&s, "EC2:createtags"));
        assert!(!statement_covers(&s, "ec2:DeleteNetworkInterface"));
        let mut n = stmt(true, &[], &["*"]);
        n.not_actions = vec!["iam:*".into()];
        assert!(statement_covers(&n, "ec2:DeleteNetworkInterface"));
        assert!(!statement_covers(&n, "iam:PassRole"));
        // Neither Action nor NotAction: covers nothing.
        assert!(!statement_covers(
            &stmt(true, &[], &["*"]),
            "ec2:CreateTags"
        ));
    }

    #[test]
    fn deny_wins_and_scoping_is_reported() {
        let allow_all = doc(vec![stmt(true, &["ec2:*"], &["*"])]);
        let deny_delete = doc(vec![stmt(false, &["ec2:DeleteNetworkInterface"], &["*"])]);
        let policies = [
            NamedPolicy {
                name: "allow",
                document: &allow_all,
            },
            NamedPolicy {
                name: "deny",
                document: &deny_delete,
            },
        ];
        let a = access(&policies, "ec2:DeleteNetworkInterface");
        assert!(a.allowed && a.denied && !a.effective());
        assert_eq!(a.allowed_by, vec!["allow"]);
        assert_eq!(a.denied_by, vec!["deny"]);
        assert!(allows(&policies, "ec2:CreateTags"));

        // Resource-limited allow: scoped, still effective.
        let scoped = doc(vec![stmt(
            true,
            &["ec2:CreateTags"],
            &["arn:aws:ec2:*:*:network-interface/*"],
        )]);
        let a = access(
            &[NamedPolicy {
                name: "s",
                document: &scoped,
            }],
            "ec2:CreateTags",
        );
        assert!(!a.allowed && a.allowed_scoped && a.effective());

        // Conditional deny does not count as an outright deny.
        let mut cond_deny = stmt(false, &["ec2:CreateTags"], &["*"]);
        cond_deny.conditions.insert(
            "StringNotEquals".into(),
            BTreeMap::from([("aws:RequestedRegion".into(), vec!["eu-west-1".into()])]),
        );
        let d = doc(vec![stmt(true, &["ec2:CreateTags"], &["*"]), cond_deny]);
        let a = access(
            &[NamedPolicy {
                name: "d",
                document: &d,
            }],
            "ec2:CreateTags",
        );
        assert!(a.allowed && a.denied_scoped && !a.denied && a.effective());
    }

    #[test]
    fn missing_lists_only_unallowed() {
        let d = doc(vec![stmt(true, &["ec2:Describe*"], &["*"])]);
        let p = [NamedPolicy {
            name: "p",
            document: &d,
        }];
        let m = missing_actions(
            &p,
            ["ec2:DescribeSubnets", "ec2:CreateTags", "ec2:DescribeTags"],
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].0, "ec2:CreateTags");
        assert!(!m[0].1.allowed && !m[0].1.denied);
        assert!(missing_actions(&[], ["ec2:CreateTags"]).len() == 1);
    }

    #[test]
    fn whole_service_grants() {
        assert_eq!(
            whole_service_grant(&stmt(true, &["ec2:*"], &["*"]), "ec2").as_deref(),
            Some("Action \"ec2:*\"")
        );
        assert!(whole_service_grant(&stmt(true, &["*"], &["*"]), "ec2").is_some());
        assert!(whole_service_grant(&stmt(true, &["*:*"], &["*"]), "ec2").is_some());
        assert!(whole_service_grant(&stmt(true, &["EC2:**"], &["*"]), "ec2").is_some());
        assert!(whole_service_grant(&stmt(true, &["ec2:Describe*"], &["*"]), "ec2").is_none());
        assert!(whole_service_grant(&stmt(true, &["s3:*"], &["*"]), "ec2").is_none());
        assert!(whole_service_grant(&stmt(false, &["ec2:*"], &["*"]), "ec2").is_none());
        let mut n = stmt(true, &[], &["*"]);
        n.not_actions = vec!["iam:*".into()];
        assert!(whole_service_grant(&n, "ec2")
            .unwrap()
            .starts_with("NotAction"));
        n.not_actions = vec!["ec2:TerminateInstances".into()];
        assert!(whole_service_grant(&n, "ec2").is_none());
    }
}
