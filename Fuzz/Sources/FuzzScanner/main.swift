import FuzzSupport
import STIX

// The streaming ElementScanner, fed in chunks whose size the first byte chooses: it never crashes, and on a document
// it accepts, it finds exactly the elements the whole-document parser finds.
fuzz { input in
    guard let first = input.first else { return }
    let chunk = Int(first) % 64 + 1
    let bytes = Array(input.dropFirst())
    var scanner = ElementScanner(maxElementBytes: 1 << 20)
    var elements: [[UInt8]] = []
    var start = 0
    do {
        while start < bytes.count {
            let end = min(bytes.count, start + chunk)
            try bytes[start..<end].withUnsafeBufferPointer { try scanner.feed($0) { elements.append($0) } }
            start = end
        }
        _ = try scanner.finish()
    } catch {
        return
    }
    if let document = try? JSONParser().parseDocument(bytes, retainElements: false) {
        let expected = document.elementRanges.map { Array(bytes[$0]) }
        precondition(elements.count == expected.count, "the scanner found \(elements.count) elements, the parser \(expected.count)")
    }
}
