use super::*;
use crate::knowledge::Knowledge;

fn instance(name: &str) -> &'static InstanceType {
    Knowledge::embedded().instance(name).unwrap()
}

fn options(mode: Mode, edit: impl FnOnce(&mut CapacityOptions)) -> CapacityOptions {
    let mut o = CapacityOptions::new(mode);
    edit(&mut o);
    o.check().unwrap();
    o
}

fn vpc_cni(name: &str, edit: impl FnOnce(&mut CapacityOptions)) -> Capacity {
    capacity(instance(name), &options(Mode::VpcCni, edit))
}

#[test]
fn default_formula_is_the_eks_ami_value() {
    let c = vpc_cni("m5.large", |_| {});
    assert_eq!(c.max_pods, 29);
    assert_eq!(c.formula, "3 * (10 - 1) + 2 = 29");
    assert_eq!(c.formula_in_words, "ENIs * (IPv4 per ENI - 1) + 2");
    assert_eq!(c.eks_default_max_pods, 29);
    assert_eq!(c.over_schedules, Some(false));
    assert!(c.notes.is_empty(), "{:?}", c.notes);
}

#[test]
fn the_default_stays_uncapped_like_the_table() {
    // c5.24xlarge: 15 ENIs * 49 + 2 = 737, well above 250.
    let c = vpc_cni("c5.24xlarge", |_| {});
    assert_eq!((c.max_pods, c.max_pods_cap), (737, Some(250)));
    assert!(
        c.notes[0].contains("default of 737 max pods is above the 250 pods"),
        "{:?}",
        c.notes
    );
}

#[test]
fn prefix_delegation_is_capped_at_110_or_250() {
    let c = vpc_cni("m5.large", |o| o.prefix_delegation = true);
    assert_eq!(c.max_pods, 110);
    assert!(c.prefix_delegation);
    assert_eq!(
        c.formula,
        "3 * ((10 - 1) * 16) + 2 = 434; min(434, 110) = 110"
    );
    let big = vpc_cni("m5.8xlarge", |o| o.prefix_delegation = true);
    assert_eq!((big.vcpus, big.max_pods), (Some(32), 250));
}

#[test]
fn prefix_delegation_falls_back_off_nitro() {
    let c = vpc_cni("m4.large", |o| o.prefix_delegation = true);
    assert!(!c.prefix_delegation);
    assert_eq!(c.formula, "2 * (10 - 1) + 2 = 20; min(20, 110) = 20");
    assert!(c.notes[0].contains("reports xen"), "{:?}", c.notes);
    let metal = vpc_cni("m5.metal", |o| o.prefix_delegation = true);
    assert!(!metal.prefix_delegation);
    assert!(metal.notes[0].contains("reports unknown"));
}

#[test]
fn custom_networking_uses_one_eni_fewer() {
    let c = vpc_cni("m5.large", |o| o.custom_networking = true);
    assert_eq!(c.max_pods, 20);
    assert_eq!(c.formula, "(3 - 1) * (10 - 1) + 2 = 20; min(20, 110) = 20");
    assert_eq!(c.over_schedules, Some(true));
    assert!(c.notes[0].contains("default of 29 max pods is above the 20"));
}

#[test]
fn max_enis_limits_the_enis() {
    let c = vpc_cni("m5.large", |o| o.max_enis = Some(2));
    assert_eq!((c.enis_for_pods, c.max_pods), (Some(2), 20));
    assert_eq!(
        c.formula_in_words,
        "min(max ENIs, ENIs) * (IPv4 per ENI - 1) + 2, at most 110 (<= 30 vCPUs) or 250"
    );
    let more = vpc_cni("m5.large", |o| o.max_enis = Some(9));
    assert_eq!(more.max_pods, 29);
}

#[test]
fn unknown_vcpus_leave_the_calculator_uncapped() {
    let c = vpc_cni("c5a.metal", |o| o.prefix_delegation = true);
    assert_eq!(c.max_pods_cap, None);
    assert!(c
        .notes
        .iter()
        .any(|n| n.contains("vCPU count of c5a.metal is unknown")));
}

fn cilium(name: &str, edit: impl FnOnce(&mut CapacityOptions)) -> Capacity {
    capacity(instance(name), &options(Mode::CiliumEni, edit))
}

#[test]
fn cilium_eni_counts_pod_ips_from_the_first_interface_index() {
    let c = cilium("t3.medium", |_| {});
    assert_eq!(
        (c.pod_ips, c.max_pods, c.over_schedules),
        (Some(15), 17, Some(false))
    );
    let c = cilium("t3.medium", |o| o.first_interface_index = Some(1));
    assert_eq!(
        (c.pod_ips, c.max_pods, c.eks_default_max_pods),
        (Some(10), 12, 17)
    );
    assert_eq!(c.over_schedules, Some(true));
    // Without reservations (the caller supplies them; see below).
    assert_eq!(
        c.formula,
        "(3 - 1) * (6 - 1) = 10; 10 - 0 (none) = 10; 10 + 2 = 12"
    );
    assert!(
        c.notes[0].contains("default of 17 max pods is above the 12"),
        "{:?}",
        c.notes
    );
    assert!(c.notes[0].contains("admit 5 pods"));
}

#[test]
fn cilium_eni_host_network_pods_and_prefixes() {
    let c = cilium("t3.medium", |o| o.host_network_pods = Some(4));
    assert_eq!(c.max_pods, 19);
    let c = cilium("m5.large", |o| o.prefix_delegation = true);
    assert_eq!((c.pod_ips, c.max_pods), (Some(432), 434));
    assert!(c.notes.iter().any(|n| n.contains("guidance allows 110")));
}

#[test]
fn cilium_eni_prefixes_on_bare_metal_depend_on_the_cilium_minor() {
    let old = cilium("m5.metal", |o| o.prefix_delegation = true);
    assert!(!old.prefix_delegation);
    assert!(old.notes[0].contains("only on nitro instances in this Cilium version"));
    let new = cilium("m5.metal", |o| {
        o.prefix_delegation = true;
        o.prefix_delegation_on_bare_metal = true;
    });
    assert!(new.prefix_delegation);
    assert_eq!(new.pod_ips, Some(15 * 49 * 16));
}

#[test]
fn cilium_eni_without_enis_for_pods_says_so() {
    let c = cilium("t3.nano", |o| o.first_interface_index = Some(5));
    assert_eq!(c.pod_ips, Some(0));
    assert!(c.notes[0].contains("leaves none of the 2 ENIs"));
}

#[test]
fn overlay_reports_the_ami_default_and_the_guidance() {
    let c = capacity(instance("t3.medium"), &options(Mode::Overlay, |_| {}));
    assert_eq!((c.max_pods, c.pod_ips, c.over_schedules), (17, None, None));
    assert!(c.notes[0].contains("raise it up to the 110 pods"));
}

#[test]
fn options_of_another_mode_are_refused() {
    let mut o = CapacityOptions::new(Mode::CiliumEni);
    o.custom_networking = true;
    assert!(o
        .check()
        .unwrap_err()
        .contains("--custom-networking applies to --mode vpc-cni"));
    let mut o = CapacityOptions::new(Mode::VpcCni);
    o.first_interface_index = Some(1);
    assert!(o.check().unwrap_err().contains("--first-interface-index"));
    let mut o = CapacityOptions::new(Mode::Overlay);
    o.prefix_delegation = true;
    assert!(o.check().is_err());
    let mut o = CapacityOptions::new(Mode::VpcCni);
    o.max_enis = Some(0);
    assert!(o.check().is_err());
}

#[test]
fn modes_parse_and_print() {
    for mode in Mode::ALL {
        assert_eq!(mode.as_str().parse::<Mode>(), Ok(mode));
    }
    assert!("eni".parse::<Mode>().is_err());
}

#[test]
fn unknown_types_get_suggestions() {
    let k = Knowledge::embedded();
    assert!(k.instance("m5.larg").is_none());
    assert_eq!(k.closest_instance_types("m5.larg", 3)[0], "m5.large");
}

#[test]
fn absurd_limits_from_a_hostile_file_saturate_instead_of_overflowing() {
    let huge = InstanceType {
        name: "x.hostile".into(),
        enis: u32::MAX,
        enis_all_cards: u32::MAX,
        ipv4_per_eni: u32::MAX,
        hypervisor: Hypervisor::Nitro,
        bare_metal: false,
        vcpus: Some(u32::MAX),
    };
    for mode in Mode::ALL {
        let result = capacity(
            &huge,
            &options(mode, |o| {
                if mode != Mode::Overlay {
                    o.prefix_delegation = true;
                }
            }),
        );
        assert!(result.max_pods > 0, "{mode}");
    }
    assert_eq!(eks_default_max_pods(&huge), u32::MAX);
}
