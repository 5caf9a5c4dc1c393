import Foundation
@testable import MeridianServer
import Synchronization
import Testing

/// `[limits]` (issue 21, item 5): rates per address and account, requests in progress per account, sign-in
/// throttling, with a clock the test moves.
@Suite struct RequestLimiterTests {
    final class Clock: Sendable {
        let now = Mutex<TimeInterval>(1_000_000)
        func advance(_ seconds: TimeInterval) { now.withLock { $0 += seconds } }
        var read: @Sendable () -> TimeInterval { { self.now.withLock { $0 } } }
    }

    static func limiter(_ limits: NodeConfiguration.Limits, _ clock: Clock, maxTracked: Int = 100_000) -> RequestLimiter {
        RequestLimiter(settings: { limits }, clock: clock.read, maxTracked: maxTracked)
    }

    @Test func anAddressOverItsRateIsToldHowLongToWaitAndIsServedAgainOnceItHasWaited() async throws {
        let clock = Clock()
        var limits = NodeConfiguration.Limits()
        limits.requests_per_minute_per_address = 60  // one a second, a burst of ten
        let limiter = Self.limiter(limits, clock)
        for _ in 0..<10 { try await limiter.admit(address: "192.0.2.1") }
        do {
            try await limiter.admit(address: "192.0.2.1")
            Issue.record("the 11th request of a burst of ten was admitted")
        } catch {
            #expect(error.retryAfter == 1)
            #expect(error.reason.contains("60 requests a minute"))
        }
        // Another address is not affected; after a second, one more request is admitted.
        try await limiter.admit(address: "192.0.2.2")
        clock.advance(1)
        try await limiter.admit(address: "192.0.2.1")
        await #expect(throws: RequestLimiter.Refusal.self) { try await limiter.admit(address: "192.0.2.1") }
        // 0 turns the limit off.
        limits.requests_per_minute_per_address = 0
        let unlimited = Self.limiter(limits, clock)
        for _ in 0..<1000 { try await unlimited.admit(address: "192.0.2.1") }
    }

    @Test func anAccountHasAtMostItsConcurrentRequestsInProgress() async throws {
        let clock = Clock()
        var limits = NodeConfiguration.Limits()
        limits.concurrent_requests_per_account = 2
        let limiter = Self.limiter(limits, clock)
        try await limiter.admit(account: "org/alice")
        try await limiter.admit(account: "org/alice")
        await #expect(throws: RequestLimiter.Refusal.self) { try await limiter.admit(account: "org/alice") }
        try await limiter.admit(account: "org/bob")
        await limiter.finish(account: "org/alice")
        try await limiter.admit(account: "org/alice")
    }

    @Test func repeatedFailedSignInsThrottleThatNameFromThatAddressThenTheAddress() async throws {
        let clock = Clock()
        var limits = NodeConfiguration.Limits()
        limits.sign_in_failures = 3
        limits.sign_in_throttle_seconds = 60
        let limiter = Self.limiter(limits, clock)
        for _ in 0..<3 {
            try await limiter.checkSignIn(name: "alice", address: "192.0.2.1")
            await limiter.signInFailed(name: "alice", address: "192.0.2.1")
        }
        do {
            try await limiter.checkSignIn(name: "alice", address: "192.0.2.1")
            Issue.record("a fourth attempt after three failures was allowed")
        } catch {
            #expect(error.retryAfter == 60)
        }
        // The same name from elsewhere, and other names from this address, may still try.
        try await limiter.checkSignIn(name: "alice", address: "192.0.2.9")
        try await limiter.checkSignIn(name: "bob", address: "192.0.2.1")
        // Thirty failures from one address, whatever the names, throttle the address.
        for n in 0..<27 { await limiter.signInFailed(name: "user\(n)", address: "192.0.2.1") }
        await #expect(throws: RequestLimiter.Refusal.self) { try await limiter.checkSignIn(name: "carol", address: "192.0.2.1") }
        // Once the period has passed, attempts are allowed again; a success forgets the name's failures.
        clock.advance(61)
        try await limiter.checkSignIn(name: "alice", address: "192.0.2.1")
        await limiter.signInFailed(name: "dave", address: "192.0.2.5")
        await limiter.signInFailed(name: "dave", address: "192.0.2.5")
        await limiter.signInSucceeded(name: "dave", address: "192.0.2.5")
        await limiter.signInFailed(name: "dave", address: "192.0.2.5")
        try await limiter.checkSignIn(name: "dave", address: "192.0.2.5")
    }

    @Test func memoryStaysBoundedWhateverTheNumberOfAddresses() async throws {
        let clock = Clock()
        let limiter = Self.limiter(NodeConfiguration.Limits(), clock, maxTracked: 100)
        for n in 0..<5_000 {
            try await limiter.admit(address: "10.0.\(n / 256).\(n % 256)")
            await limiter.signInFailed(name: "u\(n)", address: "10.0.\(n / 256).\(n % 256)")
        }
        let tracked = await limiter.tracked
        #expect(tracked.addresses <= 100 && tracked.failures <= 100)
    }
}
