//! Seeded, reproducible fault injection: the same seed and request order give the same faults.

use crate::settings::{FaultKind, FaultSettings};

/// The fault generator.
#[derive(Debug)]
pub(crate) struct Faults {
    settings: FaultSettings,
    state: u64,
    injected: u64,
}

impl Faults {
    pub(crate) fn new(settings: FaultSettings) -> Faults {
        let state = settings.seed ^ 0x2545_F491_4F6C_DD1D;
        Faults { settings, state, injected: 0 }
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*: small, seedable, good enough for picking faults.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Replace the settings (the generator keeps its position).
    pub(crate) fn configure(&mut self, settings: FaultSettings) {
        self.state = settings.seed ^ 0x2545_F491_4F6C_DD1D;
        self.settings = settings;
        self.injected = 0;
    }

    /// The fault for the next request of `method`, if any. `oauth` tells whether the request
    /// uses an access token (an `ExpiredToken` fault needs one).
    pub(crate) fn draw(&mut self, method: &str, oauth: bool) -> Option<FaultKind> {
        if self.settings.rate <= 0.0 || self.settings.kinds.is_empty() {
            return None;
        }
        if !self.settings.methods.is_empty() && !self.settings.methods.iter().any(|m| m.eq_ignore_ascii_case(method)) {
            return None;
        }
        if self.settings.max_faults.is_some_and(|max| self.injected >= max) {
            return None;
        }
        let roll = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let pick = self.next_u64();
        if roll >= self.settings.rate {
            return None;
        }
        let kinds: Vec<FaultKind> =
            self.settings.kinds.iter().copied().filter(|k| oauth || *k != FaultKind::ExpiredToken).collect();
        if kinds.is_empty() {
            return None;
        }
        self.injected += 1;
        Some(kinds[(pick % kinds.len() as u64) as usize])
    }

    pub(crate) fn slow_by(&self) -> std::time::Duration {
        self.settings.slow_by
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_near_the_rate() {
        let settings =
            FaultSettings { seed: 9, rate: 0.05, kinds: FaultKind::ALL.to_vec(), ..FaultSettings::default() };
        let mut a = Faults::new(settings.clone());
        let mut b = Faults::new(settings);
        let draws_a: Vec<_> = (0..10_000).map(|_| a.draw("crm.item.list", true)).collect();
        let draws_b: Vec<_> = (0..10_000).map(|_| b.draw("crm.item.list", true)).collect();
        assert_eq!(draws_a, draws_b);
        let n = draws_a.iter().filter(|d| d.is_some()).count();
        assert!((400..600).contains(&n), "{n} faults in 10,000 at 5 %");
        for kind in FaultKind::ALL {
            assert!(draws_a.contains(&Some(kind)), "{kind:?} never drawn");
        }
    }
}
