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
    #expect(md.contains("| ? |") || md.contains("/ ?"))
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
