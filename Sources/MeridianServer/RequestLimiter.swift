import Foundation

/// Limits on what one account or one client address may ask of a node (`[limits]`, docs/CONFIG.md): requests per
/// minute (token buckets that refill continuously), requests in progress per account, and sign-in throttling after
/// repeated failures. A refusal says how long to wait (`Retry-After`).
///
/// Memory stays bounded whatever the number of addresses: past `maxTracked` entries, the idle ones are dropped (a full
/// bucket and a forgotten failure count mean the same thing).
public actor RequestLimiter {
    struct Bucket {
        var tokens: Double
        var updated: TimeInterval
    }

    struct Failures {
        var count: Int
        var first: TimeInterval
        var blockedUntil: TimeInterval?
    }

    let settings: @Sendable () -> NodeConfiguration.Limits
    let clock: @Sendable () -> TimeInterval
    let maxTracked: Int
    private var accounts: [String: Bucket] = [:]
    private var addresses: [String: Bucket] = [:]
    private var inProgress: [String: Int] = [:]
    private var failures: [String: Failures] = [:]

    public init(settings: @escaping @Sendable () -> NodeConfiguration.Limits,
                clock: @escaping @Sendable () -> TimeInterval = { Date().timeIntervalSince1970 }, maxTracked: Int = 100_000) {
        self.settings = settings
        self.clock = clock
        self.maxTracked = maxTracked
    }

    /// A refusal: how many seconds to wait, and why.
    public struct Refusal: Error, Sendable, Equatable {
        public let retryAfter: Int
        public let reason: String
    }

    /// Counts a request from `address`; refused when the address is over its rate, or when it presents credentials
    /// under a name (`presenting`) whose sign-ins from there are throttled.
    public func admit(address: String, presenting name: String? = nil) throws(Refusal) {
        let rate = settings().requests_per_minute_per_address ?? 3000
        if let wait = take(&addresses, address, perMinute: rate) {
            throw Refusal(retryAfter: wait, reason: "more than \(rate) requests a minute from this address")
        }
        if let name { try checkSignIn(name: name, address: address) }
    }

    /// Counts a request by `account` and marks it in progress (until ``finish(account:)``); refused when the account is
    /// over its rate or has too many requests in progress. The account signed in as `name` from `address`: the
    /// failures of that name from there are forgotten.
    public func admit(account: String, signedInAs name: String? = nil, from address: String? = nil) throws(Refusal) {
        if let name, let address { signInSucceeded(name: name, address: address) }
        let limits = settings()
        let concurrent = limits.concurrent_requests_per_account ?? 32
        if concurrent > 0, inProgress[account, default: 0] >= concurrent {
            throw Refusal(retryAfter: 1, reason: "more than \(concurrent) requests in progress for this account")
        }
        let rate = limits.requests_per_minute_per_account ?? 1200
        if let wait = take(&accounts, account, perMinute: rate) {
            throw Refusal(retryAfter: wait, reason: "more than \(rate) requests a minute for this account")
        }
        inProgress[account, default: 0] += 1
    }

    /// How many accounts, addresses and failure counts are remembered (bounded by `maxTracked` each).
    var tracked: (accounts: Int, addresses: Int, failures: Int) { (accounts.count, addresses.count, failures.count) }

    public func finish(account: String) {
        if let n = inProgress[account] { inProgress[account] = n > 1 ? n - 1 : nil }
    }

    /// Refused when sign-ins with `name` from `address`, or from `address` at all, failed too often lately.
    public func checkSignIn(name: String, address: String) throws(Refusal) {
        let now = clock()
        for key in [Self.pair(name, address), Self.address(address)] {
            if let until = failures[key]?.blockedUntil, until > now {
                throw Refusal(retryAfter: max(1, Int((until - now).rounded(.up))), reason: "too many failed sign-ins; wait before trying again")
            }
        }
    }

    /// Counts a failed sign-in; past the limit, further attempts are refused for the throttle period.
    public func signInFailed(name: String, address: String) {
        let limits = settings()
        let allowed = limits.sign_in_failures ?? 10
        guard allowed > 0 else { return }
        let period = TimeInterval(limits.sign_in_throttle_seconds ?? 300)
        let now = clock()
        prune(&failures) { $0.blockedUntil.map { $0 < now } ?? (now - $0.first > period) }
        for (key, most) in [(Self.pair(name, address), allowed), (Self.address(address), allowed * 10)] {
            var f = failures[key] ?? Failures(count: 0, first: now, blockedUntil: nil)
            if now - f.first > period { f = Failures(count: 0, first: now, blockedUntil: nil) }
            f.count += 1
            if f.count >= most { f.blockedUntil = now + period }
            failures[key] = f
        }
    }

    /// A successful sign-in forgets the failures of its name from its address.
    public func signInSucceeded(name: String, address: String) {
        failures[Self.pair(name, address)] = nil
    }

    static func pair(_ name: String, _ address: String) -> String { "n\u{1}\(name)\u{1}\(address)" }
    static func address(_ address: String) -> String { "a\u{1}\(address)" }

    /// Takes a token from `key`'s bucket; nil when there was one, else the seconds until there is.
    private func take(_ buckets: inout [String: Bucket], _ key: String, perMinute rate: Int) -> Int? {
        guard rate > 0 else { return nil }
        let now = clock()
        let perSecond = Double(rate) / 60
        // A burst of up to ten seconds' worth (at least 10 requests) is allowed, then the steady rate.
        let capacity = max(10, perSecond * 10)
        if buckets.count >= maxTracked {
            prune(&buckets) { $0.tokens + (now - $0.updated) * perSecond >= capacity }
        }
        var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * perSecond)
        bucket.updated = now
        defer { buckets[key] = bucket }
        guard bucket.tokens >= 1 else { return max(1, Int(((1 - bucket.tokens) / perSecond).rounded(.up))) }
        bucket.tokens -= 1
        return nil
    }

    private func prune<V>(_ entries: inout [String: V], idle: (V) -> Bool) {
        guard entries.count >= maxTracked else { return }
        entries = entries.filter { !idle($0.value) }
        // Still full of active entries (many addresses at once): half of them go, and their limits start over.
        if entries.count >= maxTracked { entries = Dictionary(uniqueKeysWithValues: entries.prefix(maxTracked / 2).map { ($0.key, $0.value) }) }
    }
}
