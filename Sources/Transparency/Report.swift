import STIX

/// What the report counts, before any disclosure control: month by month (`YYYY-MM`, UTC), object versions by
/// category, TLP and contributing country; versions received from and sent to each peer node; sightings made by
/// correlation. Gathered by the node (MeridianServer's `TransparencyGatherer`), turned into a report here.
public struct TransparencyCounts: Sendable, Equatable {
    public var versions: [String: [Key: Int]] = [:]
    public var received: [String: [String: Int]] = [:]
    public var sent: [String: [String: Int]] = [:]
    public var sightings: [String: Int] = [:]

    public struct Key: Hashable, Sendable {
        public let category: Category
        public let tlp: String
        public let country: String

        public init(category: Category, tlp: String, country: String) {
            self.category = category
            self.tlp = tlp
            self.country = country
        }
    }

    public init() {}

    public mutating func addVersion(month: String, _ key: Key, count: Int = 1) {
        versions[month, default: [:]][key, default: 0] += count
    }

    public mutating func addReceived(month: String, peer: String, count: Int = 1) {
        received[month, default: [:]][peer, default: 0] += count
    }

    public mutating func addSent(month: String, peer: String, count: Int = 1) {
        sent[month, default: [:]][peer, default: 0] += count
    }

    public mutating func addSighting(month: String, count: Int = 1) {
        sightings[month, default: 0] += count
    }

    /// Every month with something counted.
    var months: Set<String> {
        Set(versions.keys).union(received.keys).union(sent.keys).union(sightings.keys)
    }
}

/// The public report: tables of counts by month, each cell, row total, column total and grand total either published
/// or withheld (`nil`) by ``Suppression``. Its JSON form is documented in docs/TRANSPARENCY.md.
public struct TransparencyReport: Sendable, Equatable {
    public struct Table: Sendable, Equatable {
        public let id: String
        public let title: String
        public let unit: String
        public let columns: [String]
        public let columnTitles: [String]
        public let months: [String]
        /// By month, then column.
        public let cells: [[Int?]]
        /// Absent for a table of one column, whose cells are its row totals.
        public let rowTotals: [Int?]?
        public let columnTotals: [Int?]
        public let total: Int?
        /// Tables naming the same series share their row totals and total (the object versions of each month).
        public let series: String
    }

    public struct Settings: Sendable, Equatable {
        public let title: String
        /// `YYYY-MM-DD`: the day the report is made for.
        public let asOf: String
        /// Nothing after this instant is counted (`asOf` minus the delay).
        public let countedThrough: String
        public let k: Int
        public let delayDays: Int
        public let collections: Int

        public init(title: String, asOf: String, countedThrough: String, k: Int, delayDays: Int, collections: Int) {
            self.title = title
            self.asOf = asOf
            self.countedThrough = countedThrough
            self.k = k
            self.delayDays = delayDays
            self.collections = collections
        }
    }

    /// Which tables a report has (`[transparency] dimensions`).
    public enum Dimension: String, CaseIterable, Sendable {
        case category, tlp, country, peers, sightings
    }

    public let settings: Settings
    public let months: [String]
    public let tables: [Table]
    public let withheld: Int
    /// Public keys of the node (base64 Ed25519), newest first, as published with the report.
    public let publicKeys: [PublicKeyEntry]

    public struct PublicKeyEntry: Sendable, Equatable {
        public let id: String
        public let key: String
        public let created: String
        public let retired: String?

        public init(id: String, key: String, created: String, retired: String?) {
            self.id = id
            self.key = key
            self.created = created
            self.retired = retired
        }
    }

    static let tlpColumns = ["clear", "green", "amber", "amber+strict", "red"]

    /// Builds the tables of `dimensions` from `counts`, months from the first counted through the last counted
    /// (up to the one holding `countedThrough`), columns from the partnership's declared countries and peers (so no column's presence says
    /// anything about the data), then withholds what ``Suppression`` says.
    public static func build(counts: TransparencyCounts, settings: Settings, dimensions: [Dimension], countries: [String],
                             peers: [String], publicKeys: [PublicKeyEntry] = []) -> TransparencyReport {
        // From the first month anything was counted to the last (never past the delay): no column or month is
        // there because of a setting alone, and none is left out between them.
        let lastMonth = String(settings.countedThrough.prefix(7))
        let counted = counts.months.filter { $0 <= lastMonth }
        let months = counted.max().map { Self.months(from: counted.min(), through: $0) } ?? []
        var layout = Layout()
        struct Pending {
            let id: String, title: String, unit: String, columns: [String], columnTitles: [String], series: String
            let cells: [[Int]], rowTotals: [Int]?, columnTotals: [Int], total: Int
        }
        var pending: [Pending] = []
        let versionsByMonth: [Int] = months.map { m in counts.versions[m]?.values.reduce(0, +) ?? 0 }
        let versionsTotal = versionsByMonth.reduce(0, +)
        func versionTable(_ id: String, _ title: String, _ columns: [String], _ titles: [String], _ column: (TransparencyCounts.Key) -> String) {
            let cells = months.map { m in
                columns.map { c in (counts.versions[m] ?? [:]).filter { column($0.key) == c }.values.reduce(0, +) }
            }
            pending.append(Pending(id: id, title: title, unit: "object versions", columns: columns, columnTitles: titles,
                                   series: "versions", cells: cells, rowTotals: versionsByMonth,
                                   columnTotals: columns.indices.map { c in cells.map { $0[c] }.reduce(0, +) }, total: versionsTotal))
        }
        for dimension in dimensions {
            switch dimension {
            case .category:
                versionTable("category", "Object versions shared, by category", Category.allCases.map(\.rawValue),
                             Category.allCases.map(\.title)) { $0.category.rawValue }
            case .tlp:
                versionTable("tlp", "Object versions shared, by TLP level", tlpColumns, tlpColumns.map { "TLP:" + $0.uppercased() }) { $0.tlp }
            case .country:
                versionTable("country", "Object versions shared, by contributing partner's country", countries, countries) { $0.country }
            case .peers:
                for (id, title, source) in [("received", "Object versions received from each peer node", counts.received),
                                            ("sent", "Object versions sent to each peer node", counts.sent)] where !peers.isEmpty {
                    let cells = months.map { m in peers.map { p in source[m]?[p] ?? 0 } }
                    let rows = cells.map { $0.reduce(0, +) }
                    pending.append(Pending(id: id, title: title, unit: "object versions", columns: peers, columnTitles: peers,
                                           series: id, cells: cells, rowTotals: rows,
                                           columnTotals: peers.indices.map { c in cells.map { $0[c] }.reduce(0, +) },
                                           total: rows.reduce(0, +)))
                }
            case .sightings:
                let cells = months.map { [counts.sightings[$0] ?? 0] }
                pending.append(Pending(id: "sightings", title: "Sightings produced by correlation", unit: "sightings",
                                       columns: ["sightings"], columnTitles: ["Sightings"], series: "sightings", cells: cells,
                                       rowTotals: nil, columnTotals: [cells.map { $0[0] }.reduce(0, +)],
                                       total: cells.map { $0[0] }.reduce(0, +)))
            }
        }
        // Every count gets an index; shared series (row totals, grand total) get one index each.
        var seriesRows: [String: [Int]] = [:]
        var seriesTotal: [String: Int] = [:]
        struct Indexed { var cells: [[Int]]; var rows: [Int]?; var columns: [Int]; var total: Int }
        var indexed: [Indexed] = []
        for table in pending {
            let cells = table.cells.map { row in row.map { layout.count($0) } }
            let columns = table.columnTotals.map { layout.count($0) }
            let total = seriesTotal[table.series] ?? layout.count(table.total)
            seriesTotal[table.series] = total
            var rows: [Int]? = nil
            if let rowTotals = table.rowTotals {
                let r = seriesRows[table.series] ?? rowTotals.map { layout.count($0) }
                seriesRows[table.series] = r
                rows = r
                for (m, row) in cells.enumerated() { layout.relate(r[m], row) }
                layout.relate(total, r)
            } else {
                // One column: the cells are the row totals.
                layout.relate(total, cells.map { $0[0] })
            }
            for c in columns.indices { layout.relate(columns[c], cells.map { $0[c] }) }
            layout.relate(total, columns)
            indexed.append(Indexed(cells: cells, rows: rows, columns: columns, total: total))
        }
        let suppression = Suppression(values: layout.values, relations: layout.relations, k: settings.k)
        func shown(_ i: Int) -> Int? { suppression.suppressed.contains(i) ? nil : layout.values[i] }
        let tables = zip(pending, indexed).map { table, ix in
            Table(id: table.id, title: table.title, unit: table.unit, columns: table.columns, columnTitles: table.columnTitles,
                  months: months, cells: ix.cells.map { $0.map(shown) }, rowTotals: ix.rows.map { $0.map(shown) },
                  columnTotals: ix.columns.map(shown), total: shown(ix.total), series: table.series)
        }
        return TransparencyReport(settings: settings, months: months, tables: tables, withheld: suppression.suppressed.count,
                                  publicKeys: publicKeys)
    }

    /// The counts and relations of a report being built.
    struct Layout {
        var values: [Int] = []
        var relations: [Suppression.Relation] = []
        mutating func count(_ v: Int) -> Int {
            values.append(v)
            return values.count - 1
        }
        mutating func relate(_ total: Int, _ parts: [Int]) {
            relations.append(.init(total: total, parts: parts))
        }
    }

    /// `YYYY-MM` from `first` through `last`, every month; none when nothing was counted.
    static func months(from first: String?, through last: String) -> [String] {
        guard let first, let y0 = Int(first.prefix(4)), let m0 = Int(first.suffix(2)), let y1 = Int(last.prefix(4)),
              let m1 = Int(last.suffix(2)) else { return [] }
        var out: [String] = []
        var (y, m) = (y0, m0)
        while y < y1 || (y == y1 && m <= m1) {
            out.append(monthText(y, m))
            m += 1
            if m == 13 { (y, m) = (y + 1, 1) }
        }
        return out
    }
}

/// `YYYY-MM`.
func monthText(_ year: Int, _ month: Int) -> String {
    let y = String(year)
    return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + (month < 10 ? "0" : "") + String(month)
}

// MARK: - JSON

extension TransparencyReport {
    /// The report as JSON (docs/TRANSPARENCY.md): keys in a fixed order, so that the same report is the same bytes.
    public var json: JSONValue {
        func count(_ v: Int?) -> JSONValue { v.map { .number(JSONNumber(Int64($0))) } ?? .null }
        var root = JSONObject()
        root["schema"] = .string("meridian-transparency/1")
        root["title"] = .string(settings.title)
        root["as_of"] = .string(settings.asOf)
        root["counted_through"] = .string(settings.countedThrough)
        root["k"] = count(settings.k)
        root["delay_days"] = count(settings.delayDays)
        root["collections"] = count(settings.collections)
        root["months"] = .array(months.map { .string($0) })
        root["withheld"] = count(withheld)
        root["tables"] = .array(tables.map { table in
            var t = JSONObject()
            t["id"] = .string(table.id)
            t["title"] = .string(table.title)
            t["unit"] = .string(table.unit)
            t["series"] = .string(table.series)
            t["columns"] = .array(table.columns.map { .string($0) })
            t["rows"] = .array(table.months.indices.map { m in
                var row = JSONObject()
                row["month"] = .string(table.months[m])
                row["cells"] = .array(table.cells[m].map(count))
                if let totals = table.rowTotals { row["total"] = count(totals[m]) }
                return .object(row)
            })
            t["column_totals"] = .array(table.columnTotals.map(count))
            t["total"] = count(table.total)
            return .object(t)
        })
        root["public_keys"] = .array(publicKeys.map { key in
            var k = JSONObject()
            k["id"] = .string(key.id)
            k["algorithm"] = .string("Ed25519")
            k["key"] = .string(key.key)
            k["created"] = .string(key.created)
            k["retired"] = key.retired.map { .string($0) } ?? .null
            return .object(k)
        })
        return .object(root)
    }
}
