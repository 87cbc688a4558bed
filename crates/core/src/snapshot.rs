//! The manifest of a snapshot written by `collect` (and built in memory by
//! `check --live`): what was collected, when, from where, and which calls
//! were denied or unsupported. The live collector writes it with these
//! types and the loader reads it back with the same ones, so the two cannot
//! drift apart.

use serde::{Deserialize, Serialize};

/// The marker key that makes a JSON document a snapshot manifest (its
/// value is the format version).
pub const MANIFEST_MARKER: &str = "eksCiliumDoctorSnapshot";
/// The manifest's file name inside a snapshot.
pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Format version of the snapshot (1).
    #[serde(rename = "eksCiliumDoctorSnapshot")]
    pub format: u32,
    /// `eks-cilium-doctor X.Y.Z`.
    #[serde(default)]
    pub tool: String,
    /// RFC 3339, UTC.
    #[serde(default)]
    pub collected_at: String,
    #[serde(default)]
    pub kubernetes: Option<KubernetesSource>,
    #[serde(default)]
    pub aws: Option<AwsSource>,
    /// One entry per file of the snapshot, in collection order.
    #[serde(default)]
    pub files: Vec<CollectedFile>,
    /// Kinds whose API is not served (CRD not installed): not an error.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Calls that were denied or not supported by the endpoint.
    #[serde(default)]
    pub gaps: Vec<CollectionGap>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesSource {
    #[serde(default)]
    pub context: Option<String>,
    #[serde(default)]
    pub server: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsSource {
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub profile: Option<String>,
    /// From the cluster ARN (no STS call is made for it).
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub cluster: String,
    /// Set when `AWS_ENDPOINT_URL` pointed the SDK elsewhere.
    #[serde(default)]
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectedFile {
    pub file: String,
    /// The API call(s) it holds, e.g. `eks:DescribeCluster` or `list pods`.
    pub call: String,
    /// Items for lists, 1 for single objects.
    pub items: usize,
}

/// Why a call gave nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GapKind {
    /// AccessDenied / UnauthorizedOperation / HTTP 403.
    Denied,
    /// The endpoint does not implement the call (HTTP 404 without a
    /// resource error, e.g. an emulator).
    Unsupported,
    /// The call gave part of its output (a log tail cut at its byte cap).
    Truncated,
    /// The call failed for another reason (a timeout, a 5xx); used where
    /// the rest of the collection goes on without it (log tails).
    Failed,
}

/// One call that gave nothing; the rules that need its output report
/// *not evaluated*, and the report names the permission to grant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionGap {
    /// `aws` or `kubernetes`.
    pub source: String,
    /// The call, e.g. `eks:ListAddons` or `list pods`.
    pub call: String,
    pub kind: GapKind,
    /// What to grant: an IAM action, or an RBAC verb on a resource.
    pub permission: String,
    /// The API's own message, shortened.
    #[serde(default)]
    pub message: String,
}

impl CollectionGap {
    /// Control characters escaped: a snapshot's manifest is input too.
    pub fn escaped(self) -> CollectionGap {
        let escape = |s: String| crate::hygiene::escape_control(&s).into_owned();
        CollectionGap {
            source: escape(self.source),
            call: escape(self.call),
            kind: self.kind,
            permission: escape(self.permission),
            message: escape(self.message),
        }
    }

    /// One line for reports.
    pub fn describe(&self) -> String {
        let what = match self.kind {
            GapKind::Denied => format!("denied; grant {}", self.permission),
            GapKind::Unsupported => "not supported by the endpoint".to_string(),
            GapKind::Truncated => "partly collected".to_string(),
            GapKind::Failed => "failed".to_string(),
        };
        if self.message.is_empty() {
            format!("{} ({what})", self.call)
        } else {
            format!("{} ({what}): {}", self.call, self.message)
        }
    }
}
