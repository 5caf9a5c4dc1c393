/// A STIX timestamp: RFC 3339 in UTC with a `Z`, with the precision it was written with.
///
/// Related STIX section: 2.13 "Timestamp" <https://docs.oasis-open.org/cti/stix/v2.1/os/stix-v2.1-os.html#_i1sw27qw1v0s>
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let seconds: Int64
    /// The fractional second's digits as written (may be empty, may exceed nine digits).
    public let fraction: String
    /// The text as written.
    public let text: String

    /// Parses `yyyy-mm-ddThh:mm:ss[.s+]Z`; returns nil for anything else, including impossible dates such as
    /// February 30. A leap second (`:60`) is accepted as RFC 3339 allows.
    public init?(_ text: String) {
        guard let (seconds, fraction) = text.withUTF8Bytes(Timestamp.parse) else { return nil }
        self.seconds = seconds
        self.fraction = fraction
        self.text = text
    }

    /// Seconds since 1970 and the fraction's digits of a timestamp's UTF-8 bytes, or nil.
    private static func parse(_ b: UnsafeBufferPointer<UInt8>) -> (Int64, String)? {
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b[b.count - 1] == UInt8(ascii: "Z")
        else { return nil }
        func digits(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r {
                let c = b[i]
                guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
                v = v * 10 + Int(c - UInt8(ascii: "0"))
            }
            return v
        }
        guard let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10),
            let hour = digits(11..<13), let minute = digits(14..<16), let second = digits(17..<19)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Timestamp.daysIn(month: month, year: year),
            hour < 24, minute < 60, second <= 60
        else { return nil }
        var fraction = ""
        if b.count > 20 {
            guard b[19] == UInt8(ascii: "."), b.count > 21 else { return nil }
            for i in 20..<(b.count - 1) where !(b[i] >= UInt8(ascii: "0") && b[i] <= UInt8(ascii: "9")) { return nil }
            fraction = String(decoding: UnsafeBufferPointer(rebasing: b[20..<(b.count - 1)]), as: UTF8.self)
        }
        let days = Timestamp.daysFromCivil(year: year, month: month, day: day)
        return (Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second), fraction)
    }

    /// Number of fractional-second digits written (3 for millisecond precision).
    public var precisionDigits: Int { fraction.count }

    public var description: String { text }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        if lhs.seconds != rhs.seconds { return lhs.seconds < rhs.seconds }
        // The fractions' digits compared as if the shorter were padded with zeros.
        var l = lhs.fraction.utf8.makeIterator()
        var r = rhs.fraction.utf8.makeIterator()
        while true {
            let (a, b) = (l.next(), r.next())
            if a == nil && b == nil { return false }
            let (x, y) = (a ?? UInt8(ascii: "0"), b ?? UInt8(ascii: "0"))
            if x != y { return x < y }
        }
    }

    /// Equal instants, whatever the precision they were written with (`…:00Z` equals `…:00.000Z`).
    public static func == (lhs: Timestamp, rhs: Timestamp) -> Bool {
        !(lhs < rhs) && !(rhs < lhs)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(seconds)
        var f = Substring(fraction)
        while f.last == "0" { f = f.dropLast() }
        hasher.combine(String(f))
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
