/// Why a pattern could not be matched against observations: the pattern does not parse, or evaluating it failed
/// (incompatible types, a malformed value in the data, a computation past its bounds).
public struct MatchError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The pattern is not valid STIX patterning.
        case parse
        /// The pattern parsed but could not be evaluated on this data.
        case evaluation
        /// The evaluation needed more work than the matcher allows (a guard against hostile patterns and data).
        case tooComplex
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
