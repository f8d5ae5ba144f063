//! Every setting of the emulator, with the presets (`fast`, `cloud`, plans) in one place.

use std::time::Duration;

/// The request-rate bucket of a plan: the server's `X` (capacity) and `Y` (drain per second).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketLimits {
    /// The counter's limit (`X`): a request arriving while the counter is over it is refused.
    pub capacity: u32,
    /// Requests drained per (virtual) second (`Y`).
    pub drain_per_sec: f64,
    /// Whether a refused request still adds to the counter (off on the real server).
    pub count_refused: bool,
}

impl BucketLimits {
    /// Standard plans: X = 50, Y = 2/s.
    pub const STANDARD: BucketLimits = BucketLimits { capacity: 50, drain_per_sec: 2.0, count_refused: false };
    /// Enterprise plans: X = 250, Y = 5/s.
    pub const ENTERPRISE: BucketLimits = BucketLimits { capacity: 250, drain_per_sec: 5.0, count_refused: false };
}

/// How a batch is charged against the operating-time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchCharging {
    /// As the docs say: the outer `batch` is free, each sub-call is charged to its own method.
    PerCommand,
    /// As one live measurement says: the whole batch is charged to `batch`.
    ToBatch,
}

/// The operating-time limit: per (auth type, app or webhook, method), ten one-minute baskets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperatingLimits {
    /// Seconds of handler time allowed in the window (cloud: 480).
    pub limit_secs: f64,
    /// The window (600 s: ten one-minute baskets).
    pub window_secs: f64,
    /// One basket's span (60 s).
    pub basket_secs: f64,
    /// Calls of this handler time or less are not recorded (0.1 s).
    pub min_recorded_secs: f64,
    /// How batches are charged.
    pub batch_charging: BatchCharging,
}

impl Default for OperatingLimits {
    fn default() -> Self {
        OperatingLimits {
            limit_secs: 480.0,
            window_secs: 600.0,
            basket_secs: 60.0,
            min_recorded_secs: 0.1,
            batch_charging: BatchCharging::PerCommand,
        }
    }
}

/// What the server does with an array where a `>ID` filter expects a number (a broken batch
/// chain reference resolves to the whole previous page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayFilterValue {
    /// PHP `intval` of a non-empty array is 1: the page starts from the beginning again.
    Intval,
    /// The page comes back empty.
    Empty,
    /// The command fails with a 400.
    Error,
}

/// The cost model (section 9 of the wire spec): handler times in virtual seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostModel {
    /// Whether costs are charged at all (off in the `fast` profile).
    pub enabled: bool,
    /// Fixed handler time of a list call.
    pub list_base: f64,
    /// Per returned row.
    pub per_row: f64,
    /// Per matching row when counting (`start >= 0`).
    pub per_counted_row: f64,
    /// Per skipped row (`start` offset).
    pub per_skipped_row: f64,
    /// A single-item call (get, add, update, delete).
    pub single_item: f64,
    /// `server.time`, `user.current` and other trivial calls.
    pub trivial: f64,
    /// Concurrent handlers; beyond this requests queue.
    pub workers: usize,
    /// A request whose handler time passes this is cut off with a 504 HTML page.
    pub request_timeout_secs: f64,
}

impl CostModel {
    /// The documented timings, 8 workers.
    pub const CLOUD: CostModel = CostModel {
        enabled: true,
        list_base: 0.005,
        per_row: 0.001,
        per_counted_row: 0.000_002,
        per_skipped_row: 0.000_002,
        single_item: 0.005,
        trivial: 0.001,
        workers: 8,
        request_timeout_secs: 60.0,
    };

    /// The `heavy` variant: counting costs 20 µs per row (heavy filters and permissions).
    pub const HEAVY: CostModel = CostModel { per_counted_row: 0.000_020, ..CostModel::CLOUD };

    /// No costs at all.
    pub const FREE: CostModel = CostModel { enabled: false, workers: 1024, ..CostModel::CLOUD };
}

/// The kinds of fault the emulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// A spurious 503 `QUERY_LIMIT_EXCEEDED` (the request is not handled).
    QueryLimit,
    /// A spurious 429 `OPERATION_TIME_LIMIT` (the request is not handled).
    OperationTimeLimit,
    /// A 500 with an HTML body (a proxy's error page; the request is not handled).
    Html500,
    /// The request is handled, then the connection is dropped without an answer.
    DropConnection,
    /// The request is handled, then half the body is sent and the connection closed.
    TruncatedBody,
    /// The request is handled, and the body is not valid JSON.
    InvalidJson,
    /// The answer is delayed by [`FaultSettings::slow_by`] (real time) before it is sent.
    Slow,
    /// The access token used is expired on the spot: 401 `expired_token` (OAuth only).
    ExpiredToken,
    /// A 503 `OVERLOAD_LIMIT` (the request is not handled).
    Overload,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 9] = [
        FaultKind::QueryLimit,
        FaultKind::OperationTimeLimit,
        FaultKind::Html500,
        FaultKind::DropConnection,
        FaultKind::TruncatedBody,
        FaultKind::InvalidJson,
        FaultKind::Slow,
        FaultKind::ExpiredToken,
        FaultKind::Overload,
    ];

    /// A stable name, used in counters.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::QueryLimit => "query_limit",
            FaultKind::OperationTimeLimit => "operation_time_limit",
            FaultKind::Html500 => "html_500",
            FaultKind::DropConnection => "drop_connection",
            FaultKind::TruncatedBody => "truncated_body",
            FaultKind::InvalidJson => "invalid_json",
            FaultKind::Slow => "slow",
            FaultKind::ExpiredToken => "expired_token",
            FaultKind::Overload => "overload",
        }
    }
}

/// Seeded, reproducible fault injection.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSettings {
    /// The seed of the fault generator: the same seed and request order give the same faults.
    pub seed: u64,
    /// Probability that a REST request gets a fault (0 turns injection off).
    pub rate: f64,
    /// The kinds drawn from (uniformly).
    pub kinds: Vec<FaultKind>,
    /// How long a `Slow` answer is held back (real time).
    pub slow_by: Duration,
    /// Only requests of these methods (lower case) get faults; empty means every method.
    pub methods: Vec<String>,
    /// At most this many faults in all (None: no cap).
    pub max_faults: Option<u64>,
}

impl Default for FaultSettings {
    fn default() -> Self {
        FaultSettings {
            seed: 1,
            rate: 0.0,
            kinds: Vec::new(),
            slow_by: Duration::from_secs(2),
            methods: Vec::new(),
            max_faults: None,
        }
    }
}

/// Seeded rows of the main entities besides deals and tasks (which have [`Settings::rows`]).
/// Every seeded row is a pure function of [`Settings::data_seed`] and its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedSizes {
    /// `crm.contact` rows (each points at a seeded company, when there are any).
    pub contacts: u64,
    /// `crm.company` rows.
    pub companies: u64,
    /// `crm.lead` rows.
    pub leads: u64,
    /// Users (`user.get`; owners of seeded rows point at them). At least one: the webhook's.
    pub users: u64,
}

impl Default for SeedSizes {
    fn default() -> Self {
        SeedSizes { contacts: 100, companies: 50, leads: 100, users: 10 }
    }
}

/// The emulator's profile: costs and limits on (`Cloud`) or off (`Fast`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// No costs, no limits: the fastest possible portal, for overhead benchmarks and quick tests.
    Fast,
    /// The cloud model: the cost model, standard limits, the operating limit, batches charged to
    /// `batch` (the live measurement).
    Cloud,
}

/// All settings. Build with [`Settings::fast`] or [`Settings::cloud`] and adjust fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Rows in each seeded data set (deals, tasks).
    pub rows: u64,
    /// Rows of the other main entities (contacts, companies, leads, users).
    pub seeds: SeedSizes,
    /// Seed of the data set (titles, stages, amounts).
    pub data_seed: u64,
    /// Multiplies every duration: 0.1 runs ten times faster than real time. Limits and costs are
    /// in virtual seconds; reported times are real wall-clock seconds.
    pub time_scale: f64,
    /// The request-rate bucket (None: off).
    pub bucket: Option<BucketLimits>,
    /// The operating-time limit (None: off).
    pub operating: Option<OperatingLimits>,
    /// The cost model.
    pub cost: CostModel,
    /// Fault injection.
    pub faults: FaultSettings,
    /// The webhook's user id.
    pub webhook_user_id: u64,
    /// The webhook's secret (obviously fake by default).
    pub webhook_secret: String,
    /// Scopes granted to the webhook and the app.
    pub scopes: Vec<String>,
    /// The OAuth app's client id.
    pub client_id: String,
    /// The OAuth app's client secret (obviously fake by default).
    pub client_secret: String,
    /// The OAuth app's application token (sent with events).
    pub application_token: String,
    /// Lifetime of an access token, in virtual seconds (3600 on a real portal).
    pub access_token_lifetime_secs: f64,
    /// Refuse webhooks over plain http with `INVALID_REQUEST` "Https required." (off by default,
    /// as on a self-hosted portal, so tests may use http).
    pub require_https: bool,
    /// What a `>ID` filter does with an array value.
    pub array_filter_value: ArrayFilterValue,
    /// The portal's domain as reported in OAuth answers and events (the listening address
    /// when None).
    pub domain: Option<String>,
    /// The portal's `member_id` (OAuth answers, events).
    pub member_id: String,
}

impl Settings {
    /// The `fast` profile: no costs, no limits.
    pub fn fast() -> Settings {
        Settings {
            rows: 1000,
            seeds: SeedSizes::default(),
            data_seed: 42,
            time_scale: 1.0,
            bucket: None,
            operating: None,
            cost: CostModel::FREE,
            faults: FaultSettings::default(),
            webhook_user_id: 1,
            webhook_secret: "fakewebhooksecret".to_owned(),
            scopes: crate::catalogue::scopes().into_iter().map(str::to_owned).collect(),
            client_id: "local.fakeclient000000.00000000".to_owned(),
            client_secret: "fake-client-secret".to_owned(),
            application_token: "fake-application-token".to_owned(),
            access_token_lifetime_secs: 3600.0,
            require_https: false,
            array_filter_value: ArrayFilterValue::Intval,
            domain: None,
            member_id: "fakememberid0000000000000000000".to_owned(),
        }
    }

    /// The `cloud` profile: the cost model, standard limits, the cloud operating limit with each
    /// batch sub-call charged to its own method (set `batch_charging` to
    /// [`BatchCharging::ToBatch`] for the other documented behaviour).
    pub fn cloud() -> Settings {
        Settings {
            bucket: Some(BucketLimits::STANDARD),
            operating: Some(OperatingLimits::default()),
            cost: CostModel::CLOUD,
            ..Settings::fast()
        }
    }

    /// A profile by name.
    pub fn profile(profile: Profile) -> Settings {
        match profile {
            Profile::Fast => Settings::fast(),
            Profile::Cloud => Settings::cloud(),
        }
    }

    /// Whether a method of `scope` may be called (`""`: needs none).
    pub fn granted(&self, scope: &str) -> bool {
        scope.is_empty() || self.scopes.iter().any(|s| s == scope)
    }

    /// The identity of portal number `n` (for apps installed in several portals): its own
    /// `member_id`, domain, application token and webhook secret.
    pub fn numbered(mut self, n: u32) -> Settings {
        self.member_id = format!("fakememberid{n:019}");
        self.domain = Some(format!("portal{n}.example.invalid"));
        self.application_token = format!("fake-application-token-{n}");
        self.webhook_secret = format!("fakewebhooksecret{n}");
        self
    }

    /// Set the seeded sizes of contacts, companies, leads and users.
    pub fn with_seeds(mut self, seeds: SeedSizes) -> Settings {
        self.seeds = seeds;
        self
    }

    /// Set the row count.
    pub fn with_rows(mut self, rows: u64) -> Settings {
        self.rows = rows;
        self
    }

    /// Set the time scale.
    pub fn with_time_scale(mut self, scale: f64) -> Settings {
        self.time_scale = scale;
        self
    }

    /// Set the bucket.
    pub fn with_bucket(mut self, bucket: Option<BucketLimits>) -> Settings {
        self.bucket = bucket;
        self
    }

    /// Set fault injection.
    pub fn with_faults(mut self, faults: FaultSettings) -> Settings {
        self.faults = faults;
        self
    }
}
