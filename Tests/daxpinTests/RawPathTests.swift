import DaxPinCore
import Foundation
import Testing

@Suite("paths that are not UTF-8")
struct RawPathTests {
  @Test func bytesSurviveTheRoundTrip() {
    let raw: [UInt8] = Array("/var/tmp/d".utf8) + [0xff, 0xfe, 0x41, 0xc3, 0xa9, 0xe2, 0x82]
    let s = RawPath.string(fromBytes: raw)
    #expect(RawPath.bytes(s) == raw)
    #expect(RawPath.display(s) == "/var/tmp/d\\xff\\xfeAé\\xe2\\x82")
    #expect(RawPath.string(fromBytes: Array("/plain/é".utf8)) == "/plain/é")
  }
}

extension ProbeCommandTests {
  /// A page-cache directory whose name is not UTF-8, named on the command line through a shell
  /// (Foundation's Process would re-encode the argument): the probe uses that very directory.
  @Test(.enabled(if: isRoot, "probe needs root"))
  func aPathThatIsNotUTF8ReachesTheKernelByteForByte() throws {
    let name: [UInt8] = Array("/var/tmp/daxpin-raw-".utf8) + [0xff, 0xfe]
    let dir = name.map { CChar(bitPattern: $0) } + [0]
    #expect(mkdir(dir, 0o755) == 0)
    defer { rmdir(dir) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", "exec \"$0\" probe --json --interface io_uring --kind pagecache-shared --access rw --pagecache-dir \"$(printf '/var/tmp/daxpin-raw-\\377\\376')\"", Run.executable]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let report = try ReportJSON.decode(Report.self, from: String(decoding: data, as: UTF8.self))
    let cell = try #require(report.probes.first)
    #expect(cell.verdict == .pass, "\(cell.reason ?? "")")
    #expect(cell.memory.path?.hasPrefix("/var/tmp/daxpin-raw-\\xff\\xfe/.daxpin-") == true, "\(cell.memory.path ?? "")")
    var entries: [String] = []
    if let d = opendir(dir) {
      while let e = readdir(d) {
        let n = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if n != "." && n != ".." { entries.append(n) }
      }
      closedir(d)
    }
    #expect(entries == [], "the private directory was made and removed inside that very directory")
  }
}
