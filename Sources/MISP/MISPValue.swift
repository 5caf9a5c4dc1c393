import STIX

/// Reading MISP's loosely typed fields (numbers written as strings, flags as "0"/"1") and writing STIX times.
enum MISPValue {
    static func isUUID(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if c != UInt8(ascii: "-") { return false }
            } else if !isHex(c) {
                return false
            }
        }
        return true
    }

    static func isHex(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)
    }

    /// A string, or a number's text (MISP writes some values either way).
    static func text(_ v: JSONValue?) -> String? {
        switch v {
        case .string(let s): return s
        case .number(let n): return n.text
        default: return nil
        }
    }

    /// A flag written as a boolean, 0/1, or their strings.
    static func flag(_ v: JSONValue?) -> Bool? {
        switch v {
        case .bool(let b): return b
        case .number(let n): return n.integer.map { $0 != 0 }
        case .string(let s):
            switch s.lowercased() {
            case "1", "true": return true
            case "0", "false", "": return false
            default: return nil
            }
        default: return nil
        }
    }

    static func strings(_ v: JSONValue?) -> [String] {
        switch v {
        case .string(let s): return [s]
        case .array(let a): return a.compactMap(\.stringValue)
        default: return []
        }
    }

    /// Seconds since 1970 from a MISP timestamp (a number or its string); nil when absent.
    static func seconds(_ v: JSONValue?, _ event: String?, _ record: String?, _ field: String) throws(MISPError) -> Int64? {
        guard let v, v != .null else { return nil }
        guard let text = text(v), let seconds = Int64(text), seconds >= 0, seconds < 253_402_300_800 else {
            throw MISPError(event: event, record: record, "'\(field)' must be seconds since 1970 (a number or its string)")
        }
        return seconds
    }

    /// Midnight UTC of a date written YYYY-MM-DD.
    static func day(_ s: String) -> Int64? {
        let parts = s.split(separator: "-")
        guard parts.count == 3, let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]),
            (1...12).contains(m), (1...31).contains(d), (1970...9999).contains(y)
        else { return nil }
        return daysFromCivil(y, m, d) * 86_400
    }

    /// Seconds since 1970 of an ISO 8601 time as MISP writes first_seen and last_seen
    /// (`2020-10-25T16:22:00.000000+00:00`, `Z`, or no offset for UTC).
    static func isoSeconds(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var n: Int64 = 0
            for c in b[from..<from + count] {
                guard c >= 48 && c <= 57 else { return nil }
                n = n * 10 + Int64(c - 48)
            }
            return n
        }
        guard b.count >= 19, b[4] == 45, b[7] == 45, b[10] == 84 || b[10] == 32, b[13] == 58, b[16] == 58,
            let y = number(0, 4), let mo = number(5, 2), let d = number(8, 2), let h = number(11, 2), let mi = number(14, 2),
            let sec = number(17, 2), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, sec < 61
        else { return nil }
        var i = 19
        if i < b.count, b[i] == 46 {
            i += 1
            while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
        }
        var offset: Int64 = 0
        if i < b.count {
            if b[i] == 90, i + 1 == b.count {
                i += 1
            } else if b[i] == 43 || b[i] == 45, let oh = number(i + 1, 2), i + 3 < b.count, b[i + 3] == 58, let om = number(i + 4, 2),
                i + 6 == b.count
            {
                offset = (oh * 3600 + om * 60) * (b[i] == 43 ? 1 : -1)
                i += 6
            } else {
                return nil
            }
        }
        return daysFromCivil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset
    }

    /// A `datetime` attribute's value (ISO 8601, as `isoSeconds` reads it) as a STIX timestamp in UTC (its fraction
    /// without trailing zeros), and as misp-stix writes it in a pattern: Python's text of the date PyMISP parsed
    /// (`2024-01-01 12:30:00.250000+00:00`; no offset when none was given).
    static func dateTime(_ s: String) throws(ValueRule) -> (stix: String, python: String) {
        guard let seconds = isoSeconds(s) else {
            throw ValueRule(text: "is not an ISO 8601 date and time (2024-01-01T12:30:00, with an optional fraction and offset)")
        }
        let b = Array(s.utf8)
        var i = 19
        var digits: [UInt8] = []
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            while i < b.count, b[i] >= 48, b[i] <= 57 { digits.append(b[i]); i += 1 }
        }
        // Microseconds, as Python keeps them.
        let micro = String(decoding: (digits + Array(repeating: 48, count: 6)).prefix(6), as: UTF8.self)
        let offset = i < b.count ? (b[i] == UInt8(ascii: "Z") ? "+00:00" : String(decoding: b[i...], as: UTF8.self)) : ""
        let python = String(decoding: b[0..<10], as: UTF8.self) + " " + String(decoding: b[11..<19], as: UTF8.self)
            + (micro == "000000" ? "" : "." + micro) + offset
        var stix = TAXIITimestamp.format(seconds * 1_000_000 + Int64(micro)!).dropLast()  // …SS.ffffff
        while stix.last == "0" { stix = stix.dropLast() }
        if stix.last == "." { stix = stix.dropLast() }
        return (stix + "Z", python)
    }

    /// When an attribute or object was observed: its first_seen and last_seen, else its timestamp.
    static func observedWindow(_ o: JSONObject, _ time: Int64, _ event: String?, _ record: String?) throws(MISPError) -> (first: Int64, last: Int64) {
        func read(_ field: String) throws(MISPError) -> Int64? {
            guard let v = o[field], v != .null else { return nil }
            guard let s = v.stringValue, let t = isoSeconds(s) else {
                throw MISPError(event: event, record: record, "'\(field)' must be an ISO 8601 time (2020-10-25T16:22:00.000000+00:00)")
            }
            return t
        }
        let firstSeen = try read("first_seen"), lastSeen = try read("last_seen")
        var first = firstSeen ?? time, last = lastSeen ?? time
        if first > last {
            // As misp-stix: the bound that was given wins.
            if lastSeen != nil { first = last } else { last = first }
        }
        return (first, last)
    }

    /// `2020-10-25T16:22:00.000Z` (millis) or `2020-10-25T16:22:00Z`, as misp-stix writes created and valid_from.
    static func stamp(_ seconds: Int64, millis: Bool) -> String {
        let micros = TAXIITimestamp.format(seconds * 1_000_000)  // ….000000Z
        return String(micros.dropLast(8)) + (millis ? ".000Z" : "Z")
    }

    // Howard Hinnant's days_from_civil (the other direction is TAXIITimestamp.format's).
    static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
