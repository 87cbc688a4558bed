//! MESH rules. One file per rule; list each once in `RULES` (one cluster)
//! or `MESH_RULES` (several clusters checked together by `mesh`), in code order.

use super::{MeshRule, Rule};

mod multi;

mod mesh001_clustermesh_apiserver_public;
mod mesh002_cluster_identity_invalid;
mod mesh003_duplicate_cluster_identity;
mod mesh004_pod_cidr_overlap;
mod mesh005_routes_missing;
mod mesh006_ports_closed;

pub static RULES: &[&dyn Rule] = &[
    &mesh001_clustermesh_apiserver_public::ClustermeshApiserverPublic,
    &mesh002_cluster_identity_invalid::ClusterIdentityInvalid,
];

pub static MESH_RULES: &[&dyn MeshRule] = &[
    &mesh003_duplicate_cluster_identity::DuplicateClusterIdentity,
    &mesh004_pod_cidr_overlap::PodCidrOverlap,
    &mesh005_routes_missing::RoutesMissing,
    &mesh006_ports_closed::PortsClosed,
];
