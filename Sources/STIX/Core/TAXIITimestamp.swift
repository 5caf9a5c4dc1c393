

/// TAXII timestamps (§2.1.1): RFC 3339 in UTC with microseconds, which `date_added` values are written in.
public enum TAXIITimestamp {
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` for microseconds since 1970.
    public static func format(_ microseconds: Int64) -> String {
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let micros = microseconds - seconds * 1_000_000
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay % 3600 / 60, 2)):"
            + "\(pad(secondOfDay % 60, 2)).\(pad(micros, 6))Z"
    }

    /// Microseconds since 1970 of an RFC 3339 UTC timestamp (any precision up to microseconds is exact).
    public static func parse(_ text: String) -> Int64? {
        guard let t = Timestamp(text) else { return nil }
        let digits = t.fraction.prefix(6)
        return t.seconds * 1_000_000 + (Int64(digits + String(repeating: "0", count: 6 - digits.count)) ?? 0)
    }
}
