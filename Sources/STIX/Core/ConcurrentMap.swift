import Foundation

/// `transform` applied to 0..<count on up to `concurrency` threads, results in index order. Threads claim `chunk`
/// indices at a time; fewer than two chunks' worth are mapped on the calling thread.
public func concurrentMap<T: Sendable>(count: Int, concurrency: Int, chunk: Int = 32,
                                       _ transform: @escaping @Sendable (Int) -> T) -> [T] {
    guard concurrency > 1, count > 2 * chunk else { return (0..<count).map(transform) }
    let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
    results.initialize(repeating: nil)
    defer { results.deallocate() }
    // Each worker writes only its own indices, so the buffer needs no lock.
    nonisolated(unsafe) let slots = results
    let chunks = (count + chunk - 1) / chunk
    let next = NSLock()
    nonisolated(unsafe) var claimed = 0
    DispatchQueue.concurrentPerform(iterations: min(concurrency, chunks)) { _ in
        while true {
            next.lock()
            let c = claimed
            claimed += 1
            next.unlock()
            guard c < chunks else { return }
            for i in (c * chunk)..<min(count, (c + 1) * chunk) { slots[i] = transform(i) }
        }
    }
    return results.map { $0! }
}
