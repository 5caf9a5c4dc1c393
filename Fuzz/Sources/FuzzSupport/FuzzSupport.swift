import Foundation

@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

nonisolated(unsafe) private var input: (([UInt8]) -> Void)? = nil

/// libFuzzer's entry for each input (defined so that the runtime's own `main`, which needs it, links too).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    input?(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// Runs libFuzzer with the program's arguments, calling `body` with each input; exits with libFuzzer's status (non-zero
/// when an input crashed, tripped a sanitizer or a `precondition`).
public func fuzz(_ body: @escaping ([UInt8]) -> Void) -> Never {
    input = body
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(runDriver(&argc, &argv) { testOneInput($0, $1) })
}

/// The input as text, when it is UTF-8.
public func text(_ bytes: [UInt8]) -> String? {
    String(validating: bytes, as: UTF8.self)
}
