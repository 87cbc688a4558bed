//! The README's rule table is generated from the registry: this test fails
//! when they drift. `UPDATE_README=1` rewrites the table in place.

use std::path::Path;

const START: &str = "<!-- rules:start -->\n";
const END: &str = "<!-- rules:end -->";

#[test]
fn readme_rule_table_matches_the_registry() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let start = readme.find(START).expect("README has <!-- rules:start -->") + START.len();
    let end = readme.find(END).expect("README has <!-- rules:end -->");
    let table = doctor_core::rules::markdown_table();
    if readme[start..end] == table {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = format!("{}{}{}", &readme[..start], table, &readme[end..]);
        std::fs::write(&path, updated).expect("write README.md");
        return;
    }
    panic!("README.md rule table is out of date; run: UPDATE_README=1 cargo test -p eks-cilium-doctor --test readme");
}
