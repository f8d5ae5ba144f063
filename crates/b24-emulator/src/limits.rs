//! The portal's two limits: the request-rate leaky bucket (per source IP) and the operating-time
//! budget (per auth type, credential and method, in ten one-minute baskets).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::settings::{BucketLimits, OperatingLimits};

/// The leaky buckets of every source IP.
///
/// The counter drains continuously, `Y` units per (virtual) second; each admitted request adds
/// one. A request arriving while the counter is over `X` is refused, so a burst of `X + 1`
/// requests passes and the next is refused until the counter drains back to `X`.
#[derive(Debug, Default)]
pub(crate) struct Buckets {
    by_ip: HashMap<IpAddr, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    /// Virtual time of the last update.
    at: f64,
}

impl Buckets {
    /// Count one request from `ip` at virtual time `now`: `true` if admitted, `false` if refused.
    pub(crate) fn admit(&mut self, limits: &BucketLimits, ip: IpAddr, now: f64) -> bool {
        let bucket = self.by_ip.entry(ip).or_insert(Bucket { level: 0.0, at: now });
        let drained = (now - bucket.at).max(0.0) * limits.drain_per_sec;
        bucket.level = (bucket.level - drained).max(0.0);
        bucket.at = bucket.at.max(now);
        let admitted = bucket.level <= f64::from(limits.capacity);
        if admitted || limits.count_refused {
            bucket.level += 1.0;
        }
        admitted
    }

    /// The current level for `ip`.
    #[cfg(test)]
    pub(crate) fn level(&self, ip: IpAddr) -> f64 {
        self.by_ip.get(&ip).map_or(0.0, |b| b.level)
    }
}

/// Who is charged: auth type, credential, method.
pub(crate) type OperatingKey = (&'static str, String, String);

/// Operating-time baskets for every key.
#[derive(Debug, Default)]
pub(crate) struct Operating {
    by_key: HashMap<OperatingKey, VecDeque<Basket>>,
}

#[derive(Debug, Clone, Copy)]
struct Basket {
    start: f64,
    sum: f64,
}

/// What the operating tracker reports for a key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OperatingState {
    /// Seconds of handler time in the live baskets.
    pub(crate) operating: f64,
    /// When the oldest basket drops out (virtual unix seconds), if any.
    pub(crate) reset_at: Option<f64>,
}

impl Operating {
    fn expire(baskets: &mut VecDeque<Basket>, limits: &OperatingLimits, now: f64) {
        while baskets.front().is_some_and(|b| b.start + limits.window_secs <= now) {
            baskets.pop_front();
        }
    }

    /// The state of `key` at `now`.
    pub(crate) fn state(&mut self, limits: &OperatingLimits, key: &OperatingKey, now: f64) -> OperatingState {
        let Some(baskets) = self.by_key.get_mut(key) else {
            return OperatingState { operating: 0.0, reset_at: None };
        };
        Self::expire(baskets, limits, now);
        OperatingState {
            operating: baskets.iter().map(|b| b.sum).sum(),
            reset_at: baskets.front().map(|b| b.start + limits.window_secs),
        }
    }

    /// `Some(reset_at)` when `key` is blocked (its sum is over the limit) at `now`.
    pub(crate) fn blocked(&mut self, limits: &OperatingLimits, key: &OperatingKey, now: f64) -> Option<f64> {
        let state = self.state(limits, key, now);
        (state.operating > limits.limit_secs).then(|| state.reset_at.unwrap_or(now))
    }

    /// Record `secs` of handler time for `key`, started at `now` (calls at or under the minimum
    /// are not recorded).
    pub(crate) fn record(&mut self, limits: &OperatingLimits, key: OperatingKey, now: f64, secs: f64) {
        if secs <= limits.min_recorded_secs {
            return;
        }
        let baskets = self.by_key.entry(key).or_default();
        Self::expire(baskets, limits, now);
        match baskets.back_mut() {
            Some(last) if now < last.start + limits.basket_secs => last.sum += secs,
            _ => baskets.push_back(Basket { start: now, sum: secs }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn refuses_only_over_capacity_and_drains_continuously() {
        let mut b = Buckets::default();
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let limits = BucketLimits::STANDARD;
        for i in 0..51 {
            assert!(b.admit(&limits, ip, 100.0), "request {i}: the counter is at most X");
        }
        assert!(!b.admit(&limits, ip, 100.0), "52nd: the counter is over X");
        assert!((b.level(ip) - 51.0).abs() < 1e-9, "a refused request is not counted");
        assert!(!b.admit(&limits, ip, 100.4), "0.8 drained: still over X");
        assert!(b.admit(&limits, ip, 100.5), "one unit drained after 0.5 s");
        assert!((b.level(ip) - 51.0).abs() < 1e-9);
        assert!(b.admit(&limits, ip, 200.0));
        assert!((b.level(ip) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn baskets_block_until_the_oldest_expires() {
        let mut o = Operating::default();
        let limits = OperatingLimits { limit_secs: 10.0, ..OperatingLimits::default() };
        let key: OperatingKey = ("webhook", "1".into(), "crm.deal.list".into());
        o.record(&limits, key.clone(), 1000.0, 6.0);
        o.record(&limits, key.clone(), 1030.0, 0.05);
        o.record(&limits, key.clone(), 1070.0, 5.0);
        assert_eq!(o.state(&limits, &key, 1071.0), OperatingState { operating: 11.0, reset_at: Some(1600.0) });
        assert_eq!(o.blocked(&limits, &key, 1100.0), Some(1600.0));
        assert_eq!(o.blocked(&limits, &key, 1600.0), None);
        assert_eq!(o.state(&limits, &key, 1600.0).operating, 5.0);
    }
}
