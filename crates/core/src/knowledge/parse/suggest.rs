//! "Did you mean" suggestions for mistyped names (instance types, rule codes).

use std::cmp::Reverse;

/// Up to `count` of `names` closest to `wanted`, best first: by edit
/// distance (case-insensitive), then by longer common prefix, then by name.
/// Names too far from `wanted` to be a typo are left out, except those that
/// start with it (`m5` suggests `m5.large`).
pub fn closest_names<'a>(
    names: impl Iterator<Item = &'a str>,
    wanted: &str,
    count: usize,
) -> Vec<&'a str> {
    let wanted = wanted.to_lowercase();
    let wanted: Vec<char> = wanted.chars().collect();
    let limit = (wanted.len() / 3).max(2);
    let mut scored: Vec<_> = names
        .filter_map(|name| {
            let lower: Vec<char> = name.to_lowercase().chars().collect();
            let distance = edit_distance(&wanted, &lower);
            let prefix = common_prefix(&wanted, &lower);
            (distance <= limit || prefix == wanted.len()).then_some((
                distance,
                Reverse(prefix),
                name,
            ))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(count)
        .map(|(_, _, name)| name)
        .collect()
}

fn common_prefix(a: &[char], b: &[char]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Levenshtein distance, one row at a time.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        let d = |a: &str, b: &str| {
            edit_distance(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(d("m5.larg", "m5.large"), 1);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("same", "same"), 0);
    }

    #[test]
    fn suggests_the_nearest_names_first() {
        let names = ["m5.large", "m5.xlarge", "m5a.large", "c5.large", "t3.micro"];
        let got = closest_names(names.iter().copied(), "m5.larg", 3);
        assert_eq!(got, ["m5.large", "m5.xlarge", "m5a.large"]);
        assert_eq!(
            closest_names(names.iter().copied(), "M5.LARGE", 1),
            ["m5.large"]
        );
        assert_eq!(
            closest_names(names.iter().copied(), "m5", 2),
            ["m5.large", "m5.xlarge"]
        );
        assert!(closest_names(names.iter().copied(), "zzzzzzzz", 3).is_empty());
    }
}
