//! Upgrade paths for Cilium and the EKS control plane, one minor at a time.
//!
//! Both move one minor per step: Cilium supports upgrades to the next minor
//! only, and `aws eks update-cluster-version` moves the control plane by one
//! minor. A path interleaves the two so that, after every step, the running
//! (Cilium, Kubernetes) pair is one Cilium e2e-tests (`k8s_tested` of the
//! Cilium minor). When no fully tested path exists (the cluster already runs
//! an untested pair) the path with the fewest untested pairs is returned and
//! every untested step is marked.
//!
//! Pure: reused by VER001/VER002/VER003/VER004 and by `plan upgrade`.

use crate::knowledge::Knowledge;
use crate::version::Minor;

/// One upgrade step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Upgrade Cilium to this minor.
    Cilium(Minor),
    /// Upgrade the control plane (then the nodes) to this minor.
    Kubernetes(Minor),
}

/// A step and whether the pair it leads to is e2e-tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlannedStep {
    pub step: Step,
    pub tested: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpgradePath {
    /// The Cilium minor the path ends on.
    pub cilium_to: Minor,
    /// The Kubernetes minor the path ends on.
    pub kubernetes_to: Minor,
    pub steps: Vec<PlannedStep>,
}

impl UpgradePath {
    /// Steps that lead to a pair Cilium does not test.
    pub fn untested_steps(&self) -> usize {
        self.steps.iter().filter(|s| !s.tested).count()
    }

    pub fn cilium_steps(&self) -> impl Iterator<Item = Minor> + '_ {
        self.steps.iter().filter_map(|s| match s.step {
            Step::Cilium(m) => Some(m),
            Step::Kubernetes(_) => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathError {
    /// An upgrade path only moves forward (a control-plane rollback is not a path).
    TargetBelowCurrent { current: Minor, target: Minor },
    /// No Cilium minor in the data (at or above the running one, and at or
    /// above the requested minimum) is tested with the target.
    NoCiliumTestsTarget(Minor),
    /// The running Cilium minor is not in the data and the data does not
    /// continue right after it (too new, or a gap).
    UnknownCilium(Minor),
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathError::TargetBelowCurrent { current, target } => write!(
                f,
                "the target Kubernetes {target} is below the running {current}; an upgrade path only moves forward"
            ),
            PathError::NoCiliumTestsTarget(k) => write!(
                f,
                "no Cilium minor in the data is e2e-tested with Kubernetes {k}"
            ),
            PathError::UnknownCilium(c) => write!(f, "no data for Cilium {c} or the minor after it"),
        }
    }
}

/// Whether Cilium `cilium` lists Kubernetes `kubernetes` as e2e-tested.
pub(crate) fn is_tested(knowledge: &Knowledge, cilium: Minor, kubernetes: Minor) -> bool {
    knowledge
        .cilium_minor(cilium)
        .is_some_and(|m| m.k8s_tested.contains(&kubernetes))
}

/// The path from the running (`cilium`, `kubernetes`) pair to Kubernetes
/// `target_kubernetes` with the lowest Cilium minor that is tested with the
/// target (and at least `min_cilium`, when given).
///
/// Steps move one minor at a time; Cilium steps come before Kubernetes steps
/// whenever both orders are equally tested. Cilium never moves down.
pub(crate) fn upgrade_path(
    knowledge: &Knowledge,
    cilium: Minor,
    kubernetes: Minor,
    target_kubernetes: Minor,
    min_cilium: Option<Minor>,
) -> Result<UpgradePath, PathError> {
    if target_kubernetes.major != kubernetes.major {
        // Kubernetes has only ever had major 1; nothing tests another.
        return Err(PathError::NoCiliumTestsTarget(target_kubernetes));
    }
    if target_kubernetes < kubernetes {
        return Err(PathError::TargetBelowCurrent {
            current: kubernetes,
            target: target_kubernetes,
        });
    }
    // Cilium minors reachable one at a time: the running one, then every
    // following minor the data has, without gaps.
    let mut ciliums = vec![cilium];
    let mut next = cilium.next();
    while knowledge.cilium_minor(next).is_some() {
        ciliums.push(next);
        next = next.next();
    }
    let goal_ok = |c: Minor| {
        is_tested(knowledge, c, target_kubernetes) && min_cilium.is_none_or(|min| c >= min)
    };
    let Some(goal) = ciliums.iter().position(|&c| goal_ok(c)) else {
        if knowledge.cilium_minor(cilium).is_none() && ciliums.len() == 1 {
            return Err(PathError::UnknownCilium(cilium));
        }
        return Err(PathError::NoCiliumTestsTarget(target_kubernetes));
    };
    let kubes: Vec<Minor> = {
        let mut v = vec![kubernetes];
        while let Some(&last) = v.last() {
            if last >= target_kubernetes {
                break;
            }
            v.push(last.next());
        }
        v
    };

    // DP over the grid (Cilium index i, Kubernetes index j): the fewest
    // untested pairs on the way to (i, j). Moves only increase i or j.
    let rows = goal + 1;
    let cols = kubes.len();
    let penalty = |i: usize, j: usize| u32::from(!is_tested(knowledge, ciliums[i], kubes[j]));
    // (cost, came_by_kubernetes_step)
    let mut best: Vec<Vec<(u32, bool)>> = vec![vec![(u32::MAX, false); cols]; rows];
    best[0][0] = (0, false);
    for i in 0..rows {
        for j in 0..cols {
            if i == 0 && j == 0 {
                continue;
            }
            let p = penalty(i, j);
            let via_cilium = (i > 0).then(|| best[i - 1][j].0.saturating_add(p));
            let via_kube = (j > 0).then(|| best[i][j - 1].0.saturating_add(p));
            // Ties go to the Kubernetes step as the LAST move, which puts
            // Cilium steps first.
            best[i][j] = match (via_cilium, via_kube) {
                (Some(c), Some(k)) if k <= c => (k, true),
                (Some(c), _) => (c, false),
                (None, Some(k)) => (k, true),
                (None, None) => (u32::MAX, false),
            };
        }
    }

    let mut steps = Vec::with_capacity(rows + cols);
    let (mut i, mut j) = (goal, cols - 1);
    while i > 0 || j > 0 {
        let tested = penalty(i, j) == 0;
        if best[i][j].1 {
            steps.push(PlannedStep {
                step: Step::Kubernetes(kubes[j]),
                tested,
            });
            j -= 1;
        } else {
            steps.push(PlannedStep {
                step: Step::Cilium(ciliums[i]),
                tested,
            });
            i -= 1;
        }
    }
    steps.reverse();
    Ok(UpgradePath {
        cilium_to: ciliums[goal],
        kubernetes_to: target_kubernetes,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{knowledge, m};
    use super::*;

    fn render(p: &UpgradePath) -> String {
        p.steps
            .iter()
            .map(|s| {
                let t = if s.tested { "" } else { "!" };
                match s.step {
                    Step::Cilium(c) => format!("c{c}{t}"),
                    Step::Kubernetes(k) => format!("k{k}{t}"),
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn cilium_first_then_kubernetes_all_tested() {
        let k = knowledge();
        // 1.16 tests 1.27–1.30; 1.18 is the lowest that tests 1.33.
        let p = upgrade_path(&k, m("1.16"), m("1.30"), m("1.33"), None).unwrap();
        assert_eq!(p.cilium_to, m("1.18"));
        assert_eq!(render(&p), "c1.17 c1.18 k1.31 k1.32 k1.33");
        assert_eq!(p.untested_steps(), 0);
        assert_eq!(
            p.cilium_steps().collect::<Vec<_>>(),
            vec![m("1.17"), m("1.18")]
        );
    }

    #[test]
    fn interleaves_when_the_window_forces_it() {
        let k = knowledge();
        // 1.15 tests 1.26–1.29. 1.17 tests only 1.29+ and 1.18 only 1.30+:
        // Kubernetes must move between the Cilium steps. Each Cilium step
        // happens as soon as the pair it leads to is tested.
        let p = upgrade_path(&k, m("1.15"), m("1.27"), m("1.33"), None).unwrap();
        assert_eq!(p.cilium_to, m("1.18"));
        assert_eq!(p.untested_steps(), 0, "{}", render(&p));
        assert_eq!(
            render(&p),
            "c1.16 k1.28 k1.29 c1.17 k1.30 c1.18 k1.31 k1.32 k1.33"
        );
    }

    #[test]
    fn already_tested_target_needs_only_kubernetes_steps() {
        let k = knowledge();
        let p = upgrade_path(&k, m("1.18"), m("1.31"), m("1.33"), None).unwrap();
        assert_eq!(p.cilium_to, m("1.18"));
        assert_eq!(render(&p), "k1.32 k1.33");
    }

    #[test]
    fn same_kubernetes_version_is_a_cilium_only_path() {
        let k = knowledge();
        // Running an untested pair: 1.15 on 1.31 (1.15 tests up to 1.29).
        let p = upgrade_path(&k, m("1.15"), m("1.31"), m("1.31"), None).unwrap();
        assert_eq!(p.cilium_to, m("1.17"));
        // 1.16 is not tested with 1.31 either: marked.
        assert_eq!(render(&p), "c1.16! c1.17");
        assert_eq!(p.untested_steps(), 1);
    }

    #[test]
    fn minimum_cilium_is_honoured() {
        let k = knowledge();
        let p = upgrade_path(&k, m("1.15"), m("1.29"), m("1.30"), Some(m("1.18"))).unwrap();
        assert_eq!(p.cilium_to, m("1.18"));
        assert_eq!(render(&p), "c1.16 c1.17 k1.30 c1.18");
    }

    #[test]
    fn nothing_to_do_is_an_empty_path() {
        let k = knowledge();
        let p = upgrade_path(&k, m("1.17"), m("1.30"), m("1.30"), None).unwrap();
        assert!(p.steps.is_empty());
        assert_eq!(p.cilium_to, m("1.17"));
    }

    #[test]
    fn embedded_data_paths() {
        let k = Knowledge::embedded();
        let p = upgrade_path(k, m("1.16"), m("1.30"), m("1.33"), None).unwrap();
        assert_eq!(p.cilium_to, m("1.18"));
        assert_eq!(p.untested_steps(), 0);
        // Every Kubernetes minor some Cilium minor tests is reachable from
        // the oldest Cilium minor on its oldest tested Kubernetes.
        let first = &k.cilium[0];
        let start_k8s = first.k8s_tested[0];
        let newest_k8s = k
            .cilium
            .iter()
            .flat_map(|c| c.k8s_tested.iter().copied())
            .max()
            .unwrap();
        let p = upgrade_path(k, first.minor, start_k8s, newest_k8s, None).unwrap();
        assert_eq!(p.kubernetes_to, newest_k8s);
    }

    #[test]
    fn errors() {
        let k = knowledge();
        assert_eq!(
            upgrade_path(&k, m("1.17"), m("1.31"), m("1.30"), None),
            Err(PathError::TargetBelowCurrent {
                current: m("1.31"),
                target: m("1.30")
            })
        );
        assert_eq!(
            upgrade_path(&k, m("1.17"), m("1.31"), m("1.40"), None),
            Err(PathError::NoCiliumTestsTarget(m("1.40")))
        );
        assert_eq!(
            upgrade_path(&k, m("1.17"), m("1.31"), m("2.0"), None),
            Err(PathError::NoCiliumTestsTarget(m("2.0")))
        );
        assert_eq!(
            upgrade_path(&k, m("1.25"), m("1.31"), m("1.32"), None),
            Err(PathError::UnknownCilium(m("1.25")))
        );
        // A minor just below the data can still step into it.
        let p = upgrade_path(&k, m("1.14"), m("1.27"), m("1.27"), None).unwrap();
        assert_eq!(p.cilium_to, m("1.15"));
        assert_eq!(render(&p), "c1.15");
        // Empty knowledge: nothing is known.
        let empty = super::super::testkit::empty_knowledge();
        assert_eq!(
            upgrade_path(&empty, m("1.16"), m("1.30"), m("1.31"), None),
            Err(PathError::UnknownCilium(m("1.16")))
        );
    }
}
