//! Version numbers, kernel versions and calendar dates, parsed leniently from
//! the many spellings real clusters use (`v1.31.2-eks-7f9249a`, `1.31+`,
//! `5.10.228-219.884.amzn2.x86_64`, `2026-11-26`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A `major.minor` version such as a Kubernetes or Cilium minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Minor {
    pub major: u32,
    pub minor: u32,
}

impl Minor {
    pub const fn new(major: u32, minor: u32) -> Self {
        Minor { major, minor }
    }

    /// The next minor of the same major.
    pub const fn next(self) -> Self {
        Minor::new(self.major, self.minor + 1)
    }

    /// How many minors `self` is above `other` (negative when below).
    pub fn minors_after(self, other: Minor) -> i64 {
        if self.major != other.major {
            // Kubernetes and Cilium stay on major 1; treat a major change as far apart.
            return (i64::from(self.major) - i64::from(other.major)) * 1000;
        }
        i64::from(self.minor) - i64::from(other.minor)
    }
}

impl fmt::Display for Minor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for Minor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::from_str(s).map(Version::minor)
    }
}

/// A `major.minor.patch` version; the patch is 0 when the text has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }

    pub const fn minor(self) -> Minor {
        Minor::new(self.major, self.minor)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Leading decimal digits of `s` and the rest.
fn leading_number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    s[..end].parse().ok().map(|n| (n, &s[end..]))
}

impl FromStr for Version {
    type Err = String;
    /// Accepts `1.31`, `v1.31.2`, `v1.31.2-eks-7f9249a`, `1.31+`, `1.16.5@sha256:…`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("not a version: {text:?}");
        let s = text.trim();
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        let (major, rest) = leading_number(s).ok_or_else(bad)?;
        let rest = rest.strip_prefix('.').ok_or_else(bad)?;
        let (minor, rest) = leading_number(rest).ok_or_else(bad)?;
        let patch = match rest.strip_prefix('.').and_then(leading_number) {
            Some((patch, _)) => patch,
            None => 0,
        };
        Ok(Version::new(major, minor, patch))
    }
}

/// A Linux kernel version (`5.10.228-219.884.amzn2.x86_64` → 5.10.228).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for KernelVersion {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let v = Version::from_str(text).map_err(|_| format!("not a kernel version: {text:?}"))?;
        Ok(KernelVersion {
            major: v.major,
            minor: v.minor,
            patch: v.patch,
        })
    }
}

/// A calendar date (UTC), enough for support windows and `--as-of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's algorithm).
    pub fn days_since_epoch(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date::from_days_since_epoch((secs / 86_400) as i64)
    }

    /// Whole days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        later.days_since_epoch() - self.days_since_epoch()
    }

    pub fn add_days(self, days: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch() + days)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = String;
    /// `YYYY-MM-DD`, optionally followed by a time (`2024-02-14T22:54:25Z`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("not a date (want YYYY-MM-DD): {text:?}");
        let s = text.trim();
        let date = s.get(..10).ok_or_else(bad)?;
        let mut parts = date.split('-');
        let year: i32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let month: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let day: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(bad());
        }
        let parsed = Date { year, month, day };
        // Reject days a month does not have (2026-02-30).
        if Date::from_days_since_epoch(parsed.days_since_epoch()) != parsed {
            return Err(bad());
        }
        Ok(parsed)
    }
}

macro_rules! string_serde {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
string_serde!(Minor, Version, KernelVersion, Date);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_version_spellings() {
        assert_eq!(
            "v1.31.2-eks-7f9249a".parse::<Version>().unwrap(),
            Version::new(1, 31, 2)
        );
        assert_eq!("1.31+".parse::<Minor>().unwrap(), Minor::new(1, 31));
        assert_eq!("1.16".parse::<Version>().unwrap(), Version::new(1, 16, 0));
        assert!("latest".parse::<Version>().is_err());
        assert!("1".parse::<Version>().is_err());
        let k: KernelVersion = "5.10.228-219.884.amzn2.x86_64".parse().unwrap();
        assert_eq!((k.major, k.minor, k.patch), (5, 10, 228));
    }

    #[test]
    fn dates_round_trip_and_count_days() {
        let d: Date = "2026-11-26".parse().unwrap();
        assert_eq!(d.to_string(), "2026-11-26");
        assert_eq!(Date::from_days_since_epoch(d.days_since_epoch()), d);
        assert_eq!(d.days_until("2027-03-23".parse().unwrap()), 117);
        assert_eq!("1970-01-01".parse::<Date>().unwrap().days_since_epoch(), 0);
        assert!("2026-02-30".parse::<Date>().is_err());
        assert!("26-11-2026".parse::<Date>().is_err());
        assert_eq!(
            "2024-02-14T22:54:25Z".parse::<Date>().unwrap().to_string(),
            "2024-02-14"
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn version() -> impl Strategy<Value = Version> {
        (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(a, b, c)| Version::new(a, b, c))
    }

    proptest! {
        #[test]
        fn version_display_parses_back(v in version()) {
            prop_assert_eq!(v.to_string().parse::<Version>(), Ok(v));
            prop_assert_eq!(format!("v{v}-eks-7f9249a").parse::<Version>(), Ok(v));
            prop_assert_eq!(v.minor().to_string().parse::<Minor>(), Ok(v.minor()));
        }

        #[test]
        fn ordering_is_numeric_not_textual(a in version(), b in version()) {
            let key = |v: Version| (v.major, v.minor, v.patch);
            prop_assert_eq!(a.cmp(&b), key(a).cmp(&key(b)));
            prop_assert_eq!(a.minor().cmp(&b.minor()), (a.major, a.minor).cmp(&(b.major, b.minor)));
            if a.minor() < b.minor() {
                prop_assert!(a < b);
            }
        }

        #[test]
        fn minors_after_agrees_with_ordering(a in 0u32..5, b in 0u32..100, c in 0u32..5, d in 0u32..100) {
            let (x, y) = (Minor::new(a, b), Minor::new(c, d));
            prop_assert_eq!(x.minors_after(y).signum(), (x.cmp(&y) as i64).signum());
            prop_assert_eq!(x.minors_after(y), -y.minors_after(x));
            prop_assert_eq!(x.next().minors_after(x), 1);
        }

        #[test]
        fn kernel_display_parses_back(a in 0u32..100, b in 0u32..1000, c in 0u32..100_000) {
            let text = format!("{a}.{b}.{c}-219.884.amzn2.x86_64");
            let k: KernelVersion = text.parse().unwrap();
            prop_assert_eq!(k.to_string().parse::<KernelVersion>(), Ok(k));
        }

        #[test]
        fn dates_round_trip(days in -100_000i64..200_000) {
            let d = Date::from_days_since_epoch(days);
            prop_assert_eq!(d.days_since_epoch(), days);
            prop_assert_eq!(d.to_string().parse::<Date>(), Ok(d));
            prop_assert_eq!(d.add_days(30).days_until(d), -30);
        }

        #[test]
        fn any_text_parses_or_errors(text in ".{0,24}") {
            let _ = text.parse::<Version>();
            let _ = text.parse::<KernelVersion>();
            let _ = text.parse::<Date>();
        }
    }
}
