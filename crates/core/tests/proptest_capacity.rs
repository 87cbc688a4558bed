//! Properties of the pods-per-node arithmetic (`capacity`): more ENIs or
//! more IPs per ENI never mean fewer pods, prefix delegation never gives
//! fewer IPs than secondary IPs, and the 110/250 caps hold where they apply.

use doctor_core::capacity::{capacity, eks_default_max_pods, CapacityOptions, Mode};
use doctor_core::knowledge::{Hypervisor, InstanceType};
use proptest::prelude::*;

fn instance(enis: u32, ipv4_per_eni: u32, nitro: bool, vcpus: Option<u32>) -> InstanceType {
    InstanceType {
        name: "x.large".into(),
        enis,
        enis_all_cards: enis,
        ipv4_per_eni,
        hypervisor: if nitro {
            Hypervisor::Nitro
        } else {
            Hypervisor::Xen
        },
        bare_metal: false,
        vcpus,
    }
}

fn options() -> impl Strategy<Value = CapacityOptions> {
    (
        prop_oneof![Just(Mode::VpcCni), Just(Mode::CiliumEni)],
        any::<bool>(),
        any::<bool>(),
        prop::option::of(1u32..16),
        prop::option::of(0u32..3),
        prop::option::of(0u32..10),
    )
        .prop_map(|(mode, pd, custom, max_enis, first, host)| {
            let mut o = CapacityOptions::new(mode);
            o.prefix_delegation = pd;
            if mode == Mode::VpcCni {
                o.custom_networking = custom;
                o.max_enis = max_enis;
            } else {
                o.first_interface_index = first;
                o.host_network_pods = host;
            }
            o
        })
}

proptest! {
    #[test]
    fn more_enis_or_ips_never_mean_fewer_pods(
        enis in 1u32..32, ips in 1u32..64, nitro: bool,
        vcpus in prop::option::of(1u32..200), o in options(),
    ) {
        prop_assert!(o.check().is_ok());
        let base = capacity(&instance(enis, ips, nitro, vcpus), &o);
        let more_enis = capacity(&instance(enis + 1, ips, nitro, vcpus), &o);
        let more_ips = capacity(&instance(enis, ips + 1, nitro, vcpus), &o);
        for bigger in [&more_enis, &more_ips] {
            prop_assert!(bigger.max_pods >= base.max_pods, "{base:?} vs {bigger:?}");
            prop_assert!(bigger.pod_ips >= base.pod_ips);
            prop_assert!(bigger.eks_default_max_pods >= base.eks_default_max_pods);
        }
    }

    #[test]
    fn prefix_delegation_gives_at_least_secondary_ips(
        enis in 1u32..32, ips in 1u32..64, nitro: bool,
        vcpus in prop::option::of(1u32..200), mut o in options(),
    ) {
        let t = instance(enis, ips, nitro, vcpus);
        o.prefix_delegation = false;
        let secondary = capacity(&t, &o);
        o.prefix_delegation = true;
        let prefixes = capacity(&t, &o);
        prop_assert!(prefixes.pod_ips >= secondary.pod_ips);
        prop_assert_eq!(prefixes.prefix_delegation, nitro);
        if !nitro {
            prop_assert_eq!(prefixes.pod_ips, secondary.pod_ips);
        }
    }

    #[test]
    fn caps_and_formulas_hold(
        enis in 1u32..32, ips in 1u32..64, nitro: bool,
        vcpus in prop::option::of(1u32..200), o in options(),
    ) {
        let t = instance(enis, ips, nitro, vcpus);
        let c = capacity(&t, &o);
        prop_assert_eq!(c.eks_default_max_pods, eks_default_max_pods(&t));
        prop_assert_eq!(c.eks_default_max_pods, enis * (ips - 1) + 2);
        let calculator = o.prefix_delegation || o.custom_networking || o.max_enis.is_some();
        if o.mode == Mode::VpcCni && calculator {
            if let Some(cap) = c.max_pods_cap {
                prop_assert!(c.max_pods <= cap, "{c:?}");
            }
        }
        if let Some(cap) = c.max_pods_cap {
            prop_assert!(cap == 110 || cap == 250);
            prop_assert_eq!(cap == 250, vcpus.unwrap() > 30);
        }
        // The stated formula ends with the stated result.
        prop_assert!(c.formula.contains(&c.max_pods.to_string()), "{}", c.formula);
        let pod_ips = c.pod_ips.unwrap();
        prop_assert_eq!(c.over_schedules, Some(c.eks_default_max_pods > match o.mode {
            Mode::CiliumEni => c.max_pods,
            _ => pod_ips + 2,
        }));
    }
}
