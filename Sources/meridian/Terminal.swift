import Foundation

/// Writing to the terminal: results to standard output, diagnostics to standard error.
enum Terminal {
    static func print(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Rows under a header, each column as wide as its widest cell.
    static func table(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max() ?? 0 }
        for row in [header] + rows {
            print(row.indices.map { c in c == row.count - 1 ? row[c] : row[c].padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  "))
        }
    }

    /// A new password: asked for twice without echo on a terminal, else the first line of standard input.
    static func password() throws -> String {
        guard isatty(0) != 0 else { return readLine(strippingNewline: true) ?? "" }
        let first = try unechoed("Password (12 characters at least): ")
        let second = try unechoed("Same password again: ")
        guard first == second else { throw PasswordMismatch() }
        return first
    }

    struct PasswordMismatch: Error, CustomStringConvertible {
        var description: String { "the two passwords differ; nothing was changed" }
    }

    /// A line read from the terminal with echo turned off (and turned on again, whatever happens).
    private static func unechoed(_ prompt: String) throws -> String {
        // Echo goes off before the prompt shows, so nothing typed after the prompt is echoed (or flushed away).
        var saved = termios()
        tcgetattr(0, &saved)
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSAFLUSH, &quiet)
        FileHandle.standardError.write(Data(prompt.utf8))
        defer {
            tcsetattr(0, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return readLine(strippingNewline: true) ?? ""
    }
}
