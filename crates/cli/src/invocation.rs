//! How the binary was invoked: as itself, or as the kubectl plugin
//! `kubectl cilium-doctor` (installed, by krew or by hand, under the file
//! name `kubectl-cilium_doctor`, which kubectl runs for `kubectl
//! cilium-doctor ...`). Only the name shown to people changes: usage, help
//! and the messages that name a command. Reports are the same either way.

use std::ffi::OsStr;
use std::path::Path;
use std::sync::OnceLock;

/// The file name kubectl looks up for `kubectl cilium-doctor`: kubectl
/// maps a `-` inside a plugin's name to `_` in the file name.
pub const PLUGIN_FILE_NAME: &str = "kubectl-cilium_doctor";

/// How the plugin is typed.
pub const PLUGIN_COMMAND: &str = "kubectl cilium-doctor";

/// The binary's own name.
pub const BINARY_NAME: &str = "eks-cilium-doctor";

/// Whether `argv0` (a path as given by the caller; kubectl passes the full
/// path it found in PATH) names the plugin file, with or without `.exe`.
pub fn is_kubectl_plugin(argv0: &OsStr) -> bool {
    let Some(name) = Path::new(argv0).file_name().and_then(OsStr::to_str) else {
        return false;
    };
    let name = name.strip_suffix(".exe").unwrap_or(name);
    name == PLUGIN_FILE_NAME
}

static NAME: OnceLock<&'static str> = OnceLock::new();

/// Records how the process was started (once, from `main`).
pub fn set(plugin: bool) {
    let _ = NAME.set(if plugin { PLUGIN_COMMAND } else { BINARY_NAME });
}

/// The command as the user types it: `eks-cilium-doctor` or `kubectl
/// cilium-doctor`, for messages such as "`NAME rules` lists the codes".
pub fn name() -> &'static str {
    NAME.get().copied().unwrap_or(BINARY_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_plugin_file_name_only() {
        for plugin in [
            "kubectl-cilium_doctor",
            "/home/me/.krew/bin/kubectl-cilium_doctor",
            "./kubectl-cilium_doctor",
            "kubectl-cilium_doctor.exe",
        ] {
            assert!(is_kubectl_plugin(OsStr::new(plugin)), "{plugin}");
        }
        for other in [
            "eks-cilium-doctor",
            "/usr/local/bin/eks-cilium-doctor",
            "kubectl-cilium-doctor",
            "kubectl-cilium_doctor-check",
            "/tmp/kubectl-cilium_doctor/eks-cilium-doctor",
            "",
        ] {
            assert!(!is_kubectl_plugin(OsStr::new(other)), "{other}");
        }
    }
}
