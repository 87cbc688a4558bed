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

/// Seconds of a UTC day.
const DAY_SECONDS: i64 = 86_400;
/// Epoch seconds beyond which no AWS timestamp lies (year 5138): a larger
/// number is a mistake, not a date.
const EPOCH_SECONDS_MAX: f64 = 1e11;

/// `HH:MM[:SS[.fraction]]` → seconds into the day.
fn clock(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, ':');
    let two = |p: &str| (p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit())).then_some(());
    let hh = parts.next()?;
    let mm = parts.next()?;
    two(hh)?;
    two(mm)?;
    let seconds = match parts.next() {
        None => 0,
        Some(ss) => {
            let (whole, fraction) = ss.split_once(['.', ',']).unwrap_or((ss, "0"));
            two(whole)?;
            if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            whole.parse::<i64>().ok()?
        }
    };
    let (h, m): (i64, i64) = (hh.parse().ok()?, mm.parse().ok()?);
    // 60 seconds: a leap second.
    (h < 24 && m < 60 && seconds <= 60).then_some(h * 3600 + m * 60 + seconds)
}

/// `Z`, `+HH:MM`, `-HHMM`, `+HH` → seconds east of UTC.
fn utc_offset(text: &str) -> Option<i64> {
    if text.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = text[1..].chars().filter(|c| *c != ':').collect();
    if !(digits.len() == 2 || digits.len() == 4) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = digits
        .get(2..)
        .filter(|m| !m.is_empty())
        .map_or(Some(0), |m| m.parse().ok())?;
    (h < 24 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

impl Date {
    /// The UTC day of a timestamp as AWS tools write it: the AWS CLI's ISO
    /// 8601 (`2025-05-29T00:00:00+00:00`, in the local zone
    /// `2024-09-25T17:00:00-07:00`, `…Z`, with or without fractional
    /// seconds), boto3's `str()` (a space instead of `T`), or a bare date.
    /// A time without a zone is taken as UTC.
    pub fn from_timestamp(text: &str) -> Result<Date, String> {
        let bad =
            || format!("not a timestamp (want ISO 8601, e.g. YYYY-MM-DDTHH:MM:SS+00:00): {text:?}");
        let s = text.trim();
        let (day, rest) = match (s.get(..10), s.get(10..)) {
            (Some(day), Some(rest)) => (day, rest),
            _ => return Err(bad()),
        };
        let date: Date = day.parse().map_err(|_| bad())?;
        if rest.is_empty() {
            return Ok(date);
        }
        let time = rest.strip_prefix(['T', 't', ' ']).ok_or_else(bad)?;
        let zone_at = time.find(['Z', 'z', '+', '-']).unwrap_or(time.len());
        let seconds = clock(&time[..zone_at]).ok_or_else(bad)?;
        let offset = match &time[zone_at..] {
            "" => 0,
            zone => utc_offset(zone).ok_or_else(bad)?,
        };
        let utc = date.days_since_epoch() * DAY_SECONDS + seconds - offset;
        Ok(Date::from_days_since_epoch(utc.div_euclid(DAY_SECONDS)))
    }

    /// The UTC day of seconds since the epoch (the AWS wire format, and the
    /// CLI's with `cli_timestamp_format = none`).
    pub fn from_epoch_seconds(seconds: f64) -> Result<Date, String> {
        if !seconds.is_finite() || seconds.abs() > EPOCH_SECONDS_MAX {
            return Err(format!(
                "not a timestamp (epoch seconds out of range): {seconds}"
            ));
        }
        let days = (seconds / DAY_SECONDS as f64).floor() as i64;
        Ok(Date::from_days_since_epoch(days))
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

    #[test]
    fn timestamps_as_aws_tools_write_them_give_the_utc_day() {
        let day = |t: &str| Date::from_timestamp(t).map(|d| d.to_string());
        // The AWS CLI v2 in UTC, and in a zone west of UTC (the EKS user
        // guide's describe-cluster-versions example): the same UTC day.
        assert_eq!(day("2025-05-29T00:00:00+00:00").unwrap(), "2025-05-29");
        assert_eq!(day("2024-09-25T17:00:00-07:00").unwrap(), "2024-09-26");
        assert_eq!(day("2025-11-25T16:00:00-08:00").unwrap(), "2025-11-26");
        assert_eq!(day("2026-01-01T01:30:00+05:30").unwrap(), "2025-12-31");
        // boto3 str(), fractions, Z, compact offsets, a bare date, no zone.
        assert_eq!(
            day("2022-10-13 16:31:31.516000-04:00").unwrap(),
            "2022-10-13"
        );
        assert_eq!(day("2022-10-13T23:59:59.999Z").unwrap(), "2022-10-13");
        assert_eq!(day("2022-10-13T22:00:00-0300").unwrap(), "2022-10-14");
        assert_eq!(day("2022-10-13").unwrap(), "2022-10-13");
        assert_eq!(day("2022-10-13T12:00").unwrap(), "2022-10-13");
        for bad in [
            "",
            "soon",
            "2025-02-30T00:00:00Z",
            "2025-05-29T25:00:00Z",
            "2025-05-29T00:00:00+25:00",
            "2025-05-29X00:00:00Z",
            "2025-05-29T00:00:00.Z",
            "2025-05-29T0:00:00Z",
            "2025-05-29T00:00:00+",
            "2025-05-29T00:00:00 UTC",
            "2025-05-29ü",
        ] {
            assert!(day(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Date::from_epoch_seconds(1_748_476_800.0)
                .unwrap()
                .to_string(),
            "2025-05-29"
        );
        assert_eq!(
            Date::from_epoch_seconds(-1.0).unwrap().to_string(),
            "1969-12-31"
        );
        assert!(Date::from_epoch_seconds(f64::NAN).is_err());
        assert!(Date::from_epoch_seconds(1e300).is_err());
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
            let _ = Date::from_timestamp(&text);
        }
    }
}
