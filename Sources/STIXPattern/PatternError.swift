/// Why a pattern is not valid STIX patterning, and where.
public struct PatternError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Offset in the pattern (in characters, from 0) where the problem was found, when it has a position.
    public let offset: Int?
    public let message: String

    public init(offset: Int?, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String {
        offset.map { "at character \($0): \(message)" } ?? message
    }
}
