import Foundation
import STIX
import STIXPattern
import Testing

/// Hostile patterns and data end in a clear error or a bounded evaluation, never a hang or a crash.
@Suite struct MatcherBoundsTests {
    static func bundle(_ observables: [String], numberObserved: Int = 1, first: String = "2020-01-01T00:00:00Z",
                       last: String = "2020-01-01T00:00:00Z") throws -> JSONValue {
        let refs = observables.indices.map { "\"x-obs--\($0)\"" }.joined(separator: ",")
        let objects = observables.enumerated().map { i, body in #"{"type":"x-obs","id":"x-obs--\#(i)",\#(body)}"# }
        let text = #"{"type":"bundle","id":"bundle--1","objects":[{"type":"observed-data","id":"observed-data--1","number_observed":\#(numberObserved),"first_observed":"\#(first)","last_observed":"\#(last)","object_refs":[\#(refs)]},\#(objects.joined(separator: ","))]}"#
        return try JSONParser().parse(text)
    }

    func elapsed(_ body: () throws -> Void) rethrows -> Double {
        let start = Date()
        try body()
        return Date().timeIntervalSince(start)
    }

    @Test func tenThousandNestedParenthesesAreRefusedWithAPosition() {
        let pattern = String(repeating: "(", count: 10_000) + "[x-obs:v = 1]" + String(repeating: ")", count: 10_000)
        #expect(throws: MatchError.self) { try PatternMatcher(pattern) }
        do {
            _ = try Pattern(pattern)
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("nest"))
            #expect(error.offset != nil)
        }
        let inside = "[" + String(repeating: "(", count: 10_000) + "x-obs:v = 1" + String(repeating: ")", count: 10_000) + "]"
        #expect(throws: PatternError.self) { try Pattern(inside) }
    }

    @Test func anInListOfAMillionItemsIsEvaluated() throws {
        let items = (0..<1_000_000).map { "'v\($0)'" }.joined(separator: ",")
        let matcher = try PatternMatcher("[x-obs:v IN (\(items))]")
        let yes = [try Self.bundle([#""v":"v999999""#])]
        let no = [try Self.bundle([#""v":"w""#])]
        let start = Date()
        #expect(try matcher.matches(yes))
        #expect(!(try matcher.matches(no)))
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test func aCatastrophicRegularExpressionRunsInLinearTime() throws {
        let subject = String(repeating: "a", count: 50_000) + "!"
        for regex in ["(a+)+$", "(a|aa)*b", "(a*)*c", "^(a|a?)+$"] {
            let matcher = try PatternMatcher("[x-obs:v MATCHES '\(regex)']")
            let data = [try Self.bundle([#""v":"\#(subject)""#])]
            let start = Date()
            #expect(!(try matcher.matches(data)))
            let t = Date().timeIntervalSince(start)
            #expect(t < 5, "\(regex) took \(t) s")
        }
    }

    @Test func unsupportedRegularExpressionFeaturesAreClearErrors() throws {
        let data = [try Self.bundle([#""v":"ab""#])]
        for regex in ["(a)\\\\1", "a(?=b)", "(?<!x)y"] {
            do {
                _ = try PatternMatcher("[x-obs:v MATCHES '\(regex)']").matches(data)
                Issue.record("\(regex) accepted")
            } catch {
                #expect(error.kind == .evaluation)
                #expect(error.message.contains("not supported"))
            }
        }
    }

    @Test func repeatsAMillionTimesIsBounded() throws {
        let matcher = try PatternMatcher("[x-obs:v = 1] REPEATS 1000000 TIMES")
        // Too few instances: answered at once.
        #expect(!(try matcher.matches([Self.bundle([#""v":1"#], numberObserved: 10)])))
        // Enough instances: either answered or stopped by the budget, within seconds.
        let many = [try Self.bundle([#""v":1"#], numberObserved: 2_000_000)]
        let t = elapsed {
            do {
                _ = try matcher.matches(many)
            } catch let error as MatchError {
                #expect(error.kind == .tooComplex)
            } catch {
                Issue.record("\(error)")
            }
        }
        #expect(t < 20)
    }

    @Test func withinZeroOrNegativeIsAnError() throws {
        let data = [try Self.bundle([#""v":1"#])]
        do {
            _ = try PatternMatcher("[x-obs:v = 1] WITHIN 0 SECONDS").matches(data)
            Issue.record("WITHIN 0 accepted")
        } catch {
            #expect(error.kind == .evaluation)
        }
        #expect(throws: MatchError.self) { try PatternMatcher("[x-obs:v = 1] WITHIN -5 SECONDS") }
    }

    /// Found by FuzzPattern: a window of more seconds than an Int64 holds in microseconds overflowed and crashed.
    @Test func withinAnEnormousNumberOfSecondsIsAnUnboundedWindow() throws {
        // Two observations nearly eight thousand years apart.
        let data = [try JSONParser().parse(#"""
            {"type":"bundle","id":"bundle--1","objects":[
             {"type":"observed-data","id":"observed-data--1","number_observed":1,"first_observed":"2000-01-01T00:00:00Z",
              "last_observed":"2000-01-01T00:00:00Z","object_refs":["x-obs--1"]},
             {"type":"x-obs","id":"x-obs--1","v":1},
             {"type":"observed-data","id":"observed-data--2","number_observed":1,"first_observed":"9999-12-31T23:59:59Z",
              "last_observed":"9999-12-31T23:59:59Z","object_refs":["x-obs--2"]},
             {"type":"x-obs","id":"x-obs--2","w":2}]}
            """#)]
        #expect(!(try PatternMatcher("([x-obs:v = 1] FOLLOWEDBY [x-obs:w = 2]) WITHIN 10 SECONDS").matches(data)))
        for seconds in ["302222222222222222222222222222222222222222222222222222222222222222222222222222220",
                        String(repeating: "9", count: 400) + ".5", "9223372036855"] {
            #expect(try PatternMatcher("([x-obs:v = 1] FOLLOWEDBY [x-obs:w = 2]) WITHIN \(seconds) SECONDS").matches(data))
            #expect(try PatternMatcher("[x-obs:v = 1 OR x-obs:w = 2] REPEATS 2 TIMES WITHIN \(seconds) SECONDS").matches(data))
            #expect(!(try PatternMatcher("[x-obs:v = 1] REPEATS 2 TIMES WITHIN \(seconds) SECONDS").matches(data)))
        }
    }

    @Test func patternSemanticsFollowTheReferenceMatcher() throws {
        let data = [try Self.bundle([#""ip":"10.1.2.3","name":"Alice","n":5,"h_hex":"616263""#])]
        func m(_ p: String) throws(MatchError) -> Bool { try PatternMatcher(p).matches(data) }
        #expect(try m("[x-obs:ip ISSUBSET '10.0.0.0/8']"))
        #expect(!(try m("[x-obs:ip ISSUBSET '11.0.0.0/8']")))
        #expect(try m("[x-obs:name LIKE 'A_i%']"))
        #expect(try m("[x-obs:name MATCHES '^al' ] OR [x-obs:name MATCHES '(?i)^al']"))
        #expect(try m("[x-obs:n > 4 AND x-obs:n <= 5]"))
        #expect(try m("[x-obs:h_hex = h'616263']"))
        #expect(try m("[x-obs:h_hex = 'abc']"))
        #expect(throws: MatchError.self) { try m("[x-obs:n IN (true, 5)]") }
        #expect(throws: MatchError.self) { try m("[x-obs:ip ISSUBSET 'nonsense']") }
        #expect(try m("[x-obs:missing NOT = 1]") == false)
    }
}
