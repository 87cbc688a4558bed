//! MESH rules. One file per rule; list each once in `RULES`, in code order.

use super::Rule;

mod mesh001_clustermesh_apiserver_public;
mod mesh002_cluster_identity_invalid;

pub static RULES: &[&dyn Rule] = &[
    &mesh001_clustermesh_apiserver_public::ClustermeshApiserverPublic,
    &mesh002_cluster_identity_invalid::ClusterIdentityInvalid,
];
