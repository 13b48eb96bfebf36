import SystemPackage
import Testing

@testable import DaxPinCore

@Suite("report matrix")
struct MatrixTests {
  func report(_ release: String, pmem: String?, simulated: Bool = false, _ cells: [(Interface, MemoryKind, Access, Outcome, String?, Verdict)]) -> Report {
    var inv = fullInventory()
    inv.kernel.release = release
    var r = Report(
      toolVersion: "t", backend: simulated ? .fake : .linux, host: .init(hostname: "h1", arch: "x86_64"),
      inventory: inv,
      probes: cells.map { c in
        ProbeResult(
          interface: c.0, memory: MemoryDescription(kind: c.1, size: 1), access: c.2, outcome: c.3,
          errno: c.4.flatMap { Errno(name: $0)?.rawValue }, expectation: nil, verdict: c.5)
      })
    if let pmem { r.lab = LabInfo(kernel: "debian", packageVersion: nil, pmem: pmem, accel: "tcg", accelReason: "") }
    return r
  }

  @Test func tablesPerInterfaceRowsPerKernelSortedByVersion() throws {
    let a = report("6.12.0-1-amd64", pmem: "nvdimm", [(.vfioType1v2, .fsdaxExt4Shared, .rw, .refused, "EOPNOTSUPP", .pass), (.vfioType1v2, .devdax, .rw, .pinned, nil, .pass)])
    let b = report("5.10.0-32-amd64", pmem: "memmap", [(.vfioType1v2, .fsdaxExt4Shared, .rw, .pinned, nil, .fail), (.ioUring, .anon, .ro, .notExercised, nil, .skip)])
    let md = try Matrix(reports: [a, b]).markdown()
    #expect(md.contains("## vfio-type1v2"))
    let rows = md.split(separator: "\n").filter { $0.hasPrefix("| 5.10") || $0.hasPrefix("| 6.12") }
    #expect(rows.first?.hasPrefix("| 5.10.0-32-amd64 · memmap") == true, "5.10 sorts before 6.12")
    #expect(md.contains("!UNSAFE ✔"))
    #expect(md.contains("✘ EOPNOTSUPP"))
    let ioUringRow = try #require(md.components(separatedBy: "## io_uring").last?.split(separator: "\n").first { $0.hasPrefix("| 5.10") })
    #expect(ioUringRow.hasPrefix("| 5.10.0-32-amd64 · memmap |  / ? |"), "anon: rw absent, ro not exercised")
    #expect(md.contains("2 reports from 1 host"))
  }

  @Test func jsonLinesOneRowPerCell() throws {
    let a = report("6.1.0", pmem: "memmap", [(.ioUring, .anon, .rw, .pinned, nil, .pass), (.ioUring, .anon, .ro, .refused, "EFAULT", .pass)])
    let lines = try Matrix(reports: [a]).jsonLines().split(separator: "\n")
    #expect(lines.count == 2)
    let row = try ReportJSON.decode(Matrix.Row.self, from: String(lines[1]))
    #expect(row.kernel == "6.1.0")
    #expect(row.errnoName == "EFAULT")
    #expect(row.pmem == "memmap")
  }

  @Test func simulatedNeverMixesWithReal() {
    let real = report("6.1.0", pmem: nil, [])
    let fake = report("6.1.0", pmem: nil, simulated: true, [])
    #expect(throws: Matrix.MixedReports.self) { try Matrix(reports: [real, fake]) }
    #expect(throws: Never.self) { try Matrix(reports: [fake]) }
  }
}

@Suite("report matrix: untrusted report fields")
struct MatrixUntrustedFieldsTests {
  let base = MatrixTests()

  @Test func pipesBackslashesAndNewlinesAreEscapedInCellsAndLabels() throws {
    // Errno names are derived from the number (a fixed table), never read from the report.
    var r = base.report("6.1.0|x\n", pmem: nil, [(.ioUring, .anon, .rw, .refused, "EFAULT", .pass)])
    r.host.hostname = "evil | host\r\n| 9 |\\"
    let md = try Matrix(reports: [r]).markdown()
    let row = md.split(separator: "\n").filter { $0.hasPrefix("| 6.1.0") }
    let cells = ["✘ EFAULT / "] + Array(repeating: " / ", count: MemoryKind.allCases.count - 1)
    #expect(row == ["| 6.1.0\\|x␊ · evil \\| host␍␊\\| 9 \\|\\\\ | " + cells.joined(separator: " | ") + " |"])
    let interfaces = Interface.allCases.count
    #expect(md.utf8.filter { $0 == UInt8(ascii: "\n") }.count == 3 + interfaces * 3 + (interfaces - 1) * 1 + 1 * 3, "one line per row, as without the hostile fields")
    #expect(!md.utf8.contains(UInt8(ascii: "\r")))
  }

  @Test func fieldsRepeatedPerRowAreCappedAt256Bytes() throws {
    var r = base.report(String(repeating: "9", count: 1000), pmem: "memmap", [(.ioUring, .anon, .rw, .refused, "EFAULT", .pass)])
    r.host.hostname = String(repeating: "é", count: 200)
    r.lab?.kernel = String(repeating: "k", count: 257)
    let row = try #require(Matrix(reports: [r]).rows.first)
    #expect(row.kernel == String(repeating: "9", count: 253) + "…")
    #expect(row.host == String(repeating: "é", count: 126) + "…", "whole scalars only: 126 × 2 + 3 bytes")
    #expect(row.lab == String(repeating: "k", count: 253) + "…")
    #expect(row.pmem == "memmap")
    #expect(row.errnoName == "EFAULT", "derived from the errno number, so never long")
    #expect(String(repeating: "k", count: 256).capped(toBytes: 256) == String(repeating: "k", count: 256))
  }

  @Test func noProbesGiveNoTablesAndNoLines() throws {
    let empty = base.report("6.1.0", pmem: nil, [])
    let also = base.report("5.10.0", pmem: "memmap", [])
    #expect(try Matrix(reports: [empty]).markdown() == "")
    #expect(try Matrix(reports: [empty, also]).jsonLines() == "")
    #expect(try Matrix(reports: []).markdown() == "")
    let one = base.report("6.12.0", pmem: nil, [(.ioUring, .anon, .rw, .pinned, nil, .pass)])
    #expect(try Matrix(reports: [empty, one]).markdown().contains("\n1 report from 1 host."), "a report without probes is not counted")
  }

  @Test func simulatedIsTheFlagTheBackendTheHostOrTheRelease() throws {
    let real = base.report("6.1.0", pmem: nil, [(.ioUring, .anon, .rw, .pinned, nil, .pass)])
    #expect(!real.isSimulated)
    var backend = real
    backend.backend = .fake
    var host = real
    host.host.hostname = "daxpin-fake"
    var release = real
    release.kernel.release = "6.1.176-daxpin-fake"
    var flag = real
    flag.simulatedField = true  // as decoded from a report that says `"simulated": true`
    for fake in [backend, host, release, flag] {
      #expect(fake.isSimulated)
      #expect(throws: Matrix.MixedReports.self) { try Matrix(reports: [real, fake]) }
      #expect(try Matrix(reports: [fake]).rows.map(\.simulated) == [true])
    }
  }
}

@Suite("report matrix: merging reports named by path")
struct MatrixMergeTests {
  let base = MatrixTests()

  @Test func aRepeatIsCountedOnce() throws {
    let a = base.report("6.1.0", pmem: "memmap", [(.ioUring, .anon, .rw, .pinned, nil, .pass)])
    var rerun = a
    rerun.probes[0].durationUs = 99
    let other = base.report("6.1.0", pmem: "nvdimm", [(.ioUring, .anon, .rw, .pinned, nil, .pass)])
    var merge = Matrix.Merge()
    #expect(try merge.add(a, from: "a.json") == .added)
    #expect(try merge.add(a, from: "b.json") == .repeats("a.json"))
    #expect(try merge.add(rerun, from: "c.json") == .repeats("a.json"), "timings are not compared")
    #expect(try merge.add(other, from: "d.json") == .added)
    #expect(try merge.add(base.report("6.1.0", pmem: nil, []), from: "e.json") == .empty)
    #expect(merge.sources == ["a.json", "d.json"])
    #expect(try Matrix(entries: merge.entries).rows.count == 2)
  }

  @Test func sameIdentityOtherCellsIsAConflict() throws {
    let a = base.report("6.1.0", pmem: "memmap", [(.ioUring, .anon, .rw, .pinned, nil, .pass), (.ioUring, .anon, .ro, .pinned, nil, .pass)])
    let b = base.report("6.1.0", pmem: "memmap", [(.ioUring, .anon, .rw, .pinned, nil, .pass), (.ioUring, .anon, .ro, .refused, "EFAULT", .pass)])
    let c = base.report("6.1.0", pmem: "memmap", [(.ioUring, .anon, .rw, .pinned, nil, .pass)])
    var merge = Matrix.Merge()
    _ = try merge.add(a, from: "a.json")
    #expect(throws: Matrix.Merge.Conflict.disagrees(path: "b.json", other: "a.json", label: "6.1.0 (lab debian, memmap) on h1", probe: "io_uring.anon.ro")) {
      try merge.add(b, from: "b.json")
    }
    #expect(throws: Matrix.Merge.Conflict.disagrees(path: "c.json", other: "a.json", label: "6.1.0 (lab debian, memmap) on h1", probe: "the number of probes (1 vs 2)")) {
      try merge.add(c, from: "c.json")
    }
    let message = Matrix.Merge.Conflict.disagrees(path: "b\n.json", other: "a.json", label: "6.1.0 on h1", probe: "io_uring.anon.ro").description
    #expect(message == "b␊.json and a.json both report 6.1.0 on h1 but differ at io_uring.anon.ro: merge only one of them")
  }

  @Test func mixingIsAConflictNamingBothPaths() throws {
    let real = base.report("6.1.0", pmem: nil, [])
    let fake = base.report("6.1.0", pmem: nil, simulated: true, [])
    var merge = Matrix.Merge()
    _ = try merge.add(real, from: "real.json")
    #expect(throws: Matrix.Merge.Conflict.mixed(path: "fake.json", simulated: true, other: "real.json")) { try merge.add(fake, from: "fake.json") }
  }
}
