import DaxPinCore
import Foundation
import SystemPackage
import Testing

@testable import DaxPinFake

/// Rows of the real lab reports (`daxpin report matrix --jsonl` over the lab's reports from
/// Debian's 5.10.223, 6.1.176, 6.12.107 and 7.3.4 kernels and 7.3.4 built from linux-source-7.3,
/// memmap and NVDIMM). The Debian kernels' rows include the devdax-kmem and truncate-held cells
/// (40 more per run); the source-built 7.3's predate them (it is not cached: building it takes
/// ~25 min of two cores).
let labRows: [Matrix.Row] = {
  let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/lab.jsonl")
  let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
  return text.split(separator: "\n").compactMap { try? ReportJSON.decode(Matrix.Row.self, from: String($0)) }
}()

/// A full probe run through the one pipeline on a simulated host.
func fakeReport(_ fake: FakeKernel, _ request: ProbeRequest = ProbeRequest(toolVersion: "test")) -> Report {
  try! ProbeRun(host: FakeHost(fake), request: request).run()
}
func fakeReport(_ p: KernelProfile, topology: FakeTopology = .full) -> Report { fakeReport(FakeKernel(profile: p, topology: topology)) }

/// The profile that stands for the kernel a row came from.
func profile(of row: Matrix.Row) -> KernelProfile? { row.lab.flatMap { KernelProfile(labKernel: $0) } }

@Suite("contract: each lab-verified profile equals the real kernel, cell by cell")
struct ContractTests {
  @Test func fixturesCoverEveryVerifiedProfileAndPmemMode() {
    let kernels = Set(labRows.compactMap { profile(of: $0) })
    #expect(kernels == Set(KernelProfile.allCases.filter(\.labVerified)))
    #expect(Set(labRows.compactMap(\.pmem)) == ["memmap", "nvdimm"])
    #expect(labRows.count == 8 * cellsPerRun(.linux6_1) + 2 * cellsPerRun(.linux7_3IOMMUFD))
  }

  /// Cells of one lab run in the fixture: 196 on the Debian kernels, 156 (before devdax-kmem and
  /// truncate-held) on the source-built 7.3.
  func cellsPerRun(_ p: KernelProfile) -> Int { p == .linux7_3IOMMUFD ? 156 : 196 }

  @Test func newCellsComeFromTheDebianKernels() {
    let newRows = labRows.filter { $0.kind == .devdaxKmem || $0.interface == .truncateHeld }
    #expect(Set(newRows.compactMap(\.lab)) == ["debian-5.10", "debian-6.1", "debian-6.12", "debian-latest"])
    #expect(newRows.count == 8 * 40)
    #expect(newRows.filter { $0.placement != nil }.allSatisfy { $0.kind == .devdaxKmem && $0.outcome == .pinned })
  }

  @Test(arguments: KernelProfile.allCases.filter(\.labVerified))
  func profileEqualsLab(_ p: KernelProfile) throws {
    let report = fakeReport(FakeKernel(profile: p), ProbeRequest(toolVersion: "test", kmemNode: LabLayout.standard.kmemNode))
    #expect(report.isSimulated)
    let fake = Dictionary(report.probes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    let real = labRows.filter { profile(of: $0) == p }
    #expect(real.count == 2 * cellsPerRun(p))
    var disagreements: [String] = []
    for row in real {
      let id = ProbeID(row.interface, row.kind, row.access).description
      guard let f = fake[id] else {
        disagreements.append("\(id): missing in the fake")
        continue
      }
      if f.outcome != row.outcome || f.errnoName != row.errnoName || f.verdict != row.verdict
        || (row.kind == .devdaxKmem && row.placement != f.frames?.placement)
      {
        disagreements.append(
          "\(id) [\(row.pmem ?? "")]: lab \(row.outcome.rawValue) \(row.errnoName ?? "") \(row.verdict.rawValue) \(row.placement?.rawValue ?? ""), fake \(f.outcome.rawValue) \(f.errnoName ?? "") \(f.verdict.rawValue) \(f.frames?.placement.rawValue ?? "")")
      }
    }
    #expect(disagreements.isEmpty, "\(p.rawValue) vs \(p.labKernel!):\n\(disagreements.joined(separator: "\n"))")
  }

  @Test func linux414ShowsUnsafe() {
    let report = fakeReport(.linux4_14)
    #expect(!KernelProfile.linux4_14.labVerified)
    let unsafe = report.probes.filter(\.unsafe)
    #expect(!unsafe.isEmpty)
    let pins: [String] = ["vfio-type1", "vfio-type1v2"].flatMap { i in
      ["fsdax-ext4-shared", "fsdax-ext4-private", "fsdax-xfs-shared", "fsdax-xfs-private"].flatMap { k in ["rw", "ro"].map { "\(i).\(k).\($0)" } }
    }
    let truncates: [String] = ["fsdax-ext4-shared", "fsdax-xfs-shared"].flatMap { k in ["rw", "ro"].map { "truncate-held.\(k).\($0)" } }
    #expect(Set(unsafe.map(\.id)) == Set(pins + truncates))
    #expect(report.summary.exitCode == 1)
    #expect(report.probes.filter { $0.interface == .ioUring }.allSatisfy { $0.outcome == .unsupported }, "io_uring arrived in 5.1")
  }

  @Test(arguments: FakeTopology.allCases)
  func topologies(_ t: FakeTopology) {
    let report = fakeReport(.linux6_1, topology: t)
    func outcome(_ id: String) -> Outcome? { report.probes.first { $0.id == id }?.outcome }
    // On 6.1 io_uring refuses fsdax with EOPNOTSUPP and devdax with EOPNOTSUPP (its own file check).
    #expect(outcome("io_uring.fsdax-ext4-shared.rw") == (t.hasFsdax ? .refused : .unsupported))
    #expect(outcome("io_uring.devdax.rw") == (t.hasDevdax ? .refused : .unsupported))
    #expect(outcome("vfio-type1v2.devdax.rw") == (t.hasDevdax && t.hasVFIO ? .pinned : .unsupported))
    #expect(outcome("vfio-type1v2.anon.rw") == (t.hasVFIO ? .pinned : .unsupported))
    #expect(report.summary.fail == 0)
    #expect(report.summary.error == 0)
  }
}

@Suite("misuse scenarios against the fake")
struct MisuseTests {
  @Test(arguments: KernelProfile.allCases.filter { $0.hasIOUring })
  func answersAreTheKernelsErrnos(_ p: KernelProfile) throws {
    let fake = FakeKernel(profile: p)
    let recorder = RecordingKernel(fake)
    let answers = try ProbeRun(host: FakeHost(fake, kernel: recorder), request: ProbeRequest()).misuseAnswers()
    let expected: MisuseAnswers = [
      .setIOMMUWithoutGroup: .errno(.invalidArgument), .mapBeforeSetIOMMU: .errno(.invalidArgument), .overlappingMap: .errno(.fileExists),
      .unalignedMap: .errno(.invalidArgument), .iovaOutsideWindows: .errno(.invalidArgument), .unmapReportsSize: .value(4_194_304),
      .groupOpenedTwice: .errno(.resourceBusy), .devdaxPrivateMmap: .errno(.invalidArgument), .devdaxUnalignedMmap: .errno(.invalidArgument),
      .registerTwice: .errno(.resourceBusy), .unregisterWithoutBuffers: .errno(.noSuchAddressOrDevice), .unmappedBuffer: .errno(.badAddress),
    ]
    #expect(answers == expected)
    #expect(recorder.held == .nothing)
    // The wire format the guest prints and the host reads back.
    let json = try ReportJSON.encode(answers)
    #expect(json.contains("\"vfio.unmap-reports-size\" : \"ok 4194304\""))
    #expect(try ReportJSON.decode(MisuseAnswers.self, from: json) == answers)
  }

  @Test func limitsAreResourceLimited() {
    let r = fakeReport(FakeKernel(profile: .linux6_1, memlockKB: 64))
    let cell = r.probes.first { $0.id == "io_uring.anon.rw" }
    #expect(cell?.outcome == .resourceLimited)
    #expect(cell?.errnoName == "ENOMEM")
    let noEntries = fakeReport(FakeKernel(profile: .linux6_1, dmaEntryLimit: 0))
    #expect(noEntries.probes.first { $0.id == "vfio-type1v2.anon.rw" }?.errnoName == "ENOSPC")
    let notViable = fakeReport(FakeKernel(profile: .linux6_1, groupViable: false))
    #expect(notViable.probes.first { $0.id == "vfio-type1v2.anon.rw" }?.reason == "VFIO group 1 is not viable")
    let noHuge = FakeKernel(profile: .linux6_1, hugetlbPages: 0)
    #expect(noHuge.map(length: 2 << 20, protection: .readWrite, source: .anonymous(hugetlb: true)) == .failure(.noMemory))
  }

  @Test func differencesIgnoreUnsupported() {
    #expect(MisuseScenarios.differences(real: [.unalignedMap: .errno(.invalidArgument), .devdaxPrivateMmap: .unsupported("no devdax")],
      model: [.unalignedMap: .errno(.badAddress), .devdaxPrivateMmap: .errno(.invalidArgument)]) == ["vfio.unaligned-map: kernel EINVAL, profile EFAULT"])
  }
}
