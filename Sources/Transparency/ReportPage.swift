/// The report as a web page for the public: an explanation, then each table as a chart (SVG, drawn here, no script)
/// and as numbers. Withheld counts are shown as "·" and left out of the charts. The same page is served at
/// `/transparency/` and written by `meridian transparency publish`; it links to `report.json` beside it.
public enum ReportPage {
    static let colors = ["#1f5fa8", "#d9822b", "#3f8f4f", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#b7950b", "#2c3e50",
                         "#e84393", "#00838f", "#6d4c41"]

    public static func html(_ report: TransparencyReport) -> String {
        let s = report.settings
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(s.title)): transparency report</title>
            <style>
            body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
            table { border-collapse: collapse; margin: 1rem 0 2rem; font-variant-numeric: tabular-nums; }
            th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: right; }
            th:first-child, td:first-child { text-align: left; }
            tfoot td, td.total { font-weight: bold; }
            .legend span { display: inline-block; margin-right: 1rem; }
            .legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: middle; }
            </style>
            </head>
            <body>
            <h1>\(escape(s.title)): what the partnership exchanges</h1>
            <p>This report counts what this node's partners shared through it, month by month, in aggregate only: no object,
            name or value is ever shown. Counts are made for \(escape(s.asOf)) and stop at \(escape(s.countedThrough)),
            \(s.delayDays) days earlier, from \(s.collections) collection\(s.collections == 1 ? "" : "s").
            To protect small groups, every count below \(s.k) is withheld (shown as ·), and further counts are withheld
            so that none can be worked out from totals (\(report.withheld) withheld in all). The same figures are in
            <a href="report.json">report.json</a>.</p>

            """
        if report.months.isEmpty {
            out += "<p>Nothing has been counted yet.</p>\n"
        }
        for table in report.tables where !report.months.isEmpty {
            out += "<h2>\(escape(table.title))</h2>\n"
            out += chart(table) + "\n"
            out += legend(table) + "\n"
            out += numbers(table) + "\n"
        }
        if !report.publicKeys.isEmpty {
            out += "<h2>Node signing keys</h2>\n<p>Checkpoints of this node's audit log are signed with these Ed25519 keys "
                + "(<a href=\"checkpoints/\">checkpoints</a>).</p>\n<table><thead><tr><th>Key id</th><th>Public key (base64)</th>"
                + "<th>Created</th><th>Retired</th></tr></thead><tbody>\n"
            for key in report.publicKeys {
                out += "<tr><td>\(escape(key.id))</td><td><code>\(escape(key.key))</code></td><td>\(escape(key.created))</td>"
                    + "<td>\(escape(key.retired ?? "in use"))</td></tr>\n"
            }
            out += "</tbody></table>\n"
        }
        out += "</body>\n</html>\n"
        return out
    }

    /// A stacked bar per month of the published cells.
    public static func chart(_ table: TransparencyReport.Table) -> String {
        let width = 720, height = 240, left = 56, bottom = 28, top = 10
        let plotHeight = height - bottom - top
        let stacks = table.cells.map { $0.map { $0 ?? 0 }.reduce(0, +) }
        let highest = max(1, stacks.max() ?? 1)
        let scale = Self.niceCeiling(highest)
        let slot = Double(width - left - 10) / Double(max(1, table.months.count))
        let bar = max(1.0, slot * 0.7)
        var svg = #"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 \#(width) \#(height)" width="\#(width)" height="\#(height)">"#
        svg += "<title>\(escape(table.title))</title>"
        for step in 0...4 where scale >= 4 || step % (4 / scale) == 0 {
            let value = scale * step / 4
            let y = Double(top) + Double(plotHeight) * (1 - Double(value) / Double(scale))
            svg += #"<line x1="\#(left)" x2="\#(width - 10)" y1="\#(fixed(y))" y2="\#(fixed(y))" stroke="silver"/>"#
            svg += #"<text x="\#(left - 6)" y="\#(fixed(y + 4))" font-size="11" text-anchor="end">\#(value)</text>"#
        }
        for (m, row) in table.cells.enumerated() {
            let x = Double(left) + slot * Double(m) + (slot - bar) / 2
            var y = Double(top + plotHeight)
            for (c, cell) in row.enumerated() {
                guard let cell, cell > 0 else { continue }
                let h = Double(plotHeight) * Double(cell) / Double(scale)
                y -= h
                svg += #"<rect x="\#(fixed(x))" y="\#(fixed(y))" width="\#(fixed(bar))" height="\#(fixed(h))" fill="\#(colors[c % colors.count])"><title>\#(escape(table.months[m])) \#(escape(table.columnTitles[c])): \#(cell)</title></rect>"#
            }
            // Label every month when there are few, else every sixth.
            if table.months.count <= 12 || m % 6 == 0 {
                svg += #"<text x="\#(fixed(x + bar / 2))" y="\#(height - 10)" font-size="11" text-anchor="middle">\#(escape(table.months[m]))</text>"#
            }
        }
        svg += "</svg>"
        return svg
    }

    static func legend(_ table: TransparencyReport.Table) -> String {
        "<p class=\"legend\">" + table.columnTitles.enumerated().map { c, title in
            "<span><i style=\"background:\(colors[c % colors.count])\"></i>\(escape(title))</span>"
        }.joined() + "</p>"
    }

    static func numbers(_ table: TransparencyReport.Table) -> String {
        func cell(_ v: Int?) -> String { v.map(String.init) ?? "·" }
        var html = "<table><thead><tr><th>Month</th>" + table.columnTitles.map { "<th>\(escape($0))</th>" }.joined()
        if table.rowTotals != nil { html += "<th>Total</th>" }
        html += "</tr></thead><tbody>\n"
        for m in table.months.indices {
            html += "<tr><td>\(escape(table.months[m]))</td>" + table.cells[m].map { "<td>\(cell($0))</td>" }.joined()
            if let totals = table.rowTotals { html += "<td class=\"total\">\(cell(totals[m]))</td>" }
            html += "</tr>\n"
        }
        html += "</tbody><tfoot><tr><td>All months</td>" + table.columnTotals.map { "<td>\(cell($0))</td>" }.joined()
        if table.rowTotals != nil { html += "<td>\(cell(table.total))</td>" }
        html += "</tr></tfoot></table>"
        return html
    }

    /// 1, 2 or 5 times a power of ten, at least `v`.
    static func niceCeiling(_ v: Int) -> Int {
        var power = 1
        while true {
            for m in [1, 2, 5] where m * power >= v { return m * power }
            power *= 10
        }
    }

    static func fixed(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
