import DaxPinCore
import Foundation
import Testing

/// Log files for `daxpin explain` tests, in a private directory removed at the end.
final class ExplainFiles {
  let dir: String
  init() throws {
    dir = NSTemporaryDirectory() + "daxpin-explain-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
  }
  deinit { try? FileManager.default.removeItem(atPath: dir) }

  func write(_ name: String, _ bytes: [UInt8]) throws -> String {
    let path = dir + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }
  func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }
}

@Suite("daxpin explain, end to end")
struct ExplainCommandTests {
  static let pcRam =
    "qemu-system-x86_64: -device vfio-pci,host=0000:3b:00.0: vfio 0000:3b:00.0: failed to setup container for group 17: memory listener initialization failed: Region pc.ram: vfio_dma_map(0x55d7b2c1f2a0, 0x100000000, 0x380000000, 0x7f3b80000000) = -14 (Bad address)"
  static let memlock = "[  812.345678] vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded"
  static let journal = """
    Mar 05 10:12:44 host libvirtd[1234]: 2024-03-05 10:12:44.123+0000: 1234: error : qemuProcessReportLogError:2098 : internal error: qemu unexpectedly closed the monitor: \(pcRam)
    Mar 05 10:12:44 host libvirtd[1234]: internal error: process exited while connecting to monitor
    Mar 05 10:12:45 host kernel: \(memlock)

    """

  @Test func argumentLineIsExplainedAndExitsZero() throws {
    let r = try Run.daxpin(["explain", "--kernel", "6.12.0-1-amd64", Self.pcRam])
    #expect(r.status == 0)
    #expect(r.stderr.isEmpty)
    let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(lines[0] == "argument 1: \(Self.pcRam)")
    #expect(lines[1] == "  QEMU VFIO DMA map: EFAULT, region pc.ram (guest RAM: region name)")
    #expect(lines[2] == "  1. file-writeback-pin (high) EFAULT [gup-file-dirty-tracking], applies to this kernel")
    #expect(lines.suffix(2) == ["explained 1 of 1 line against kernel 6.12.0-1-amd64 (--kernel)", ""])
  }

  @Test func standardInputWithUnrecognisedLines() throws {
    let files = try ExplainFiles()
    let log = try files.write("journal.txt", Self.journal)
    let r = try Run.daxpin(["explain", "--kernel", "6.1.0-28-amd64", "-"], stdin: log)
    #expect(r.status == 0)
    #expect(r.stdout.hasPrefix("stdin:1: Mar 05 10:12:44 host libvirtd[1234]:"))
    #expect(r.stdout.contains("\n\nstdin:3: Mar 05 10:12:45 host kernel: \(Self.memlock)\n  kernel VFIO type1 RLIMIT_MEMLOCK: ENOMEM (the message's words)\n  1. memlock-limit (high) ENOMEM [rlimit-memlock], applies to this kernel\n"))
    #expect(r.stdout.hasSuffix("\n\nexplained 2 of 3 lines against kernel 6.1.0-28-amd64 (--kernel); not recognised: stdin:2\n"))
    // On 6.1 the pc.ram EFAULT is not the 6.5 file rule.
    #expect(r.stdout.contains("  1. unknown (medium) EFAULT\n"))
    #expect(r.stdout.contains("  2. file-writeback-pin (low) EFAULT [gup-file-dirty-tracking], does not apply to this kernel (6.5 and later)\n"))

    let all = try Run.daxpin(["explain", "--kernel", "6.1.0-28-amd64", "--all", "-"], stdin: log)
    #expect(all.status == 0)
    #expect(all.stdout.contains("\n\nstdin:2: Mar 05 10:12:44 host libvirtd[1234]: internal error: process exited while connecting to monitor\n  not recognised\n\n"))
    #expect(all.stdout.hasSuffix("\n\nexplained 2 of 3 lines against kernel 6.1.0-28-amd64 (--kernel)\n"))
  }

  /// A retry loop's journal: the same error again and again, each line with its own time. The
  /// first is explained in full, the rest counted on it and the first ten named; the summary
  /// still counts every line. A different error is its own block.
  @Test func repeatedLinesAreExplainedOnceAndCounted() throws {
    let files = try ExplainFiles()
    var text = ""
    for i in 1...25 { text += "Mar 05 10:12:\(i + 10) host kernel: \(Self.memlock)\n" }
    text += "host: \(Self.pcRam)\n"
    let log = try files.write("retry.log", text)
    let r = try Run.daxpin(["explain", "--kernel", "6.12.0", "--file", log])
    #expect(r.status == 0)
    #expect(r.stdout.components(separatedBy: "memlock-limit (high)").count == 2, "explained once")
    let named = (2...11).map { "\(log):\($0)" }.joined(separator: ", ")
    #expect(r.stdout.contains("\n  explained the same: 24 more lines, \(named) and 14 more\n\n\(log):26: host: "))
    #expect(r.stdout.hasSuffix("explained 26 of 26 lines against kernel 6.12.0 (--kernel)\n"))

    let json = try Run.daxpin(["explain", "--kernel", "6.12.0", "--json", "--file", log])
    let report = try ReportJSON.decode(ExplainReport.self, from: json.stdout)
    #expect(report.lines.map(\.number) == [1, 26])
    #expect(report.lines.map(\.sameCount) == [24, nil])
    #expect(report.lines[0].sameAt == (2...11).map { "\(log):\($0)" })
    #expect(report.summary.recognised == 26)
  }

  /// A --kernel that is no release is a usage error, not a silent "unknown kernel".
  @Test func aKernelThatIsNoReleaseIsRefused() throws {
    let r = try Run.daxpin(["explain", "--kernel", "garbage", Self.pcRam])
    #expect(r.status == 64)
    #expect(r.stderr.contains("--kernel needs a release such as 6.1.0-28-amd64, not garbage"), "\(r.stderr)")
  }

  /// JUnit and KTAP are formats of probe results; explain refuses them rather than print text.
  @Test func junitAndKTAPAreRefused() throws {
    for format in ["junit", "ktap"] {
      let r = try Run.daxpin(["explain", "--format", format, Self.pcRam])
      #expect(r.status == 64)
      #expect(r.stderr.contains("--format \(format) is for probe reports; explain prints text or json"), "\(r.stderr)")
      #expect(r.stdout.isEmpty)
    }
  }

  @Test func fileAsJSON() throws {
    let files = try ExplainFiles()
    let log = try files.write("journal.txt", Self.journal)
    let r = try Run.daxpin(["explain", "--kernel", "6.12.0", "--json", "--file", log])
    #expect(r.status == 0)
    let report = try ReportJSON.decode(ExplainReport.self, from: r.stdout)
    #expect(report.schema == "daxpin/explain")
    #expect(report.kernel == ExplainReport.Kernel(release: "6.12.0", version: "6.12", from: "option"))
    #expect(report.summary == ExplainReport.Summary(lines: 3, recognised: 2, notRecognised: ["\(log):2"], exitCode: 0))
    #expect(report.summary.unrecognised == 1)
    // Unrecognised lines are counted and named, not repeated, unless --all.
    #expect(report.lines.map(\.input) == [log, log])
    #expect(report.lines.map(\.number) == [1, 3])
    #expect(report.lines.map { $0.top?.cause } == [.fileWritebackPin, .memlockLimit])
    #expect(report.lines[0].source == .qemuDMAMap)

    let all = try Run.daxpin(["explain", "--kernel", "6.12.0", "--json", "--all", "--file", log])
    #expect(all.status == 0)
    let every = try ReportJSON.decode(ExplainReport.self, from: all.stdout)
    #expect(every.lines.map(\.number) == [1, 2, 3])
    #expect(every.lines.map(\.recognised) == [true, false, true])
    #expect(every.lines[1].causes == [])
    #expect(every.summary == report.summary)
  }

  @Test func theRunningKernelIsTheDefault() throws {
    let r = try Run.daxpin(["explain", "--json", Self.memlock])
    #expect(r.status == 0)
    let report = try ReportJSON.decode(ExplainReport.self, from: r.stdout)
    let release = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(report.kernel.release == release)
    #expect(report.kernel.from == "running")
  }

  @Test func nothingRecognisedIsExit4() throws {
    let r = try Run.daxpin(["explain", "--kernel", "6.12.0", "hello world", "still nothing"])
    #expect(r.status == 4)
    #expect(r.stdout == "no line recognised (2 lines read)\n")
    #expect(r.stderr.isEmpty)
    let json = try Run.daxpin(["explain", "--kernel", "6.12.0", "--json", "hello world"])
    #expect(json.status == 4)
    #expect(try ReportJSON.decode(ExplainReport.self, from: json.stdout).summary.exitCode == 4)

    // An empty input has nothing to recognise.
    let files = try ExplainFiles()
    let empty = try files.write("empty.log", "")
    let e = try Run.daxpin(["explain", "--kernel", "6.12.0", "--file", empty])
    #expect(e.status == 4)
    #expect(e.stdout == "no lines to explain\n")

    // A path given as a line gets a hint.
    let p = try Run.daxpin(["explain", "--kernel", "6.12.0", "/var/log/libvirt/qemu/vm1.log"])
    #expect(p.status == 4)
    #expect(p.stderr == "daxpin: explain: /var/log/libvirt/qemu/vm1.log was read as an error line; to read the file, use --file /var/log/libvirt/qemu/vm1.log\n")
  }

  @Test func usageIsExit64() throws {
    let r = try Run.daxpin(["explain"])
    #expect(r.status == 64)
    #expect(r.stderr.contains("give error lines as arguments, - for standard input, or --file FILE"))
    let k = try Run.daxpin(["explain", "--kernel", "", "x"])
    #expect(k.status == 64)
  }

  @Test func unreadableFileIsExit2WithOneLine() throws {
    let r = try Run.daxpin(["explain", "--file", "/nonexistent-daxpin/vm.log"])
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: explain: /nonexistent-daxpin/vm.log: ENOENT\n")
    #expect(r.stdout.isEmpty)
    let d = try Run.daxpin(["explain", "--file", "/"])
    #expect(d.status == 2)
    #expect(d.stderr == "daxpin: explain: /: EISDIR\n")
  }

  /// Binary input, invalid UTF-8 and a line past 64 KiB: no crash, the line cut, controls shown.
  @Test func binaryAndHugeInput() throws {
    let files = try ExplainFiles()
    var bytes: [UInt8] = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }.map { $0 == 0x0A ? 0 : $0 }
    bytes += [0x0A] + Array(Self.memlock.utf8) + [0xFF, 0xC3, 0x1B, 0x20]
    bytes += [UInt8](repeating: 0x41, count: 200_000) + [0x0A]
    let log = try files.write("binary.log", bytes)
    let r = try Run.daxpin(["explain", "--kernel", "6.12.0", "--json", "--file", log])
    #expect(r.status == 0)
    let report = try ReportJSON.decode(ExplainReport.self, from: r.stdout)
    #expect(report.summary.lines == 2)
    #expect(report.summary.notRecognised == ["\(log):1"])
    #expect(report.lines.count == 1)
    #expect(report.lines[0].number == 2)
    #expect(report.lines[0].truncated == true)
    #expect(report.lines[0].line.utf8.count == 65_536 + 4)  // two bytes became U+FFFD (3 bytes each)
    #expect(report.lines[0].top?.cause == .memlockLimit)
    let text = try Run.daxpin(["explain", "--kernel", "6.12.0", "--all", "--file", log])
    #expect(text.status == 0)
    #expect(!text.stdout.contains("\u{1B}"))
    #expect(text.stdout.contains("exceeded\u{FFFD}\u{FFFD}␛ AAAA"))
    #expect(text.stdout.contains("… (cut at 64 KiB)\n"))
  }

  /// `-` as an argument and as --file is one standard input, read once.
  @Test func standardInputTwiceIsReadOnce() throws {
    let files = try ExplainFiles()
    let log = try files.write("one.log", Self.memlock + "\n")
    let r = try Run.daxpin(["explain", "--kernel", "6.12.0", "--json", "-", "--file", "-"], stdin: log)
    #expect(r.status == 0)
    #expect(try ReportJSON.decode(ExplainReport.self, from: r.stdout).summary.lines == 1)
  }
}
