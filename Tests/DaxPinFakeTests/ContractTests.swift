import DaxPinCore
import Foundation
import SystemPackage
import Testing

@testable import DaxPinFake

/// Rows of the real lab reports (`daxpin report matrix --jsonl` over the lab's reports from
/// Debian's 5.10.223, 6.1.176, 6.12.107 and 7.3.4 kernels and 7.3.4 built from linux-source-7.3;
/// the pmem modes of each in `labModes`). The rdma, rdma-odp, af_xdp and truncate-held rows and
/// the devdax-kmem rows come from the four Debian kernels only (`labInterfaces`, `labKinds`): the
/// source-built 7.3 is not cached (building it takes ~25 min of two cores).
let labRows: [Matrix.Row] = {
  let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/lab.jsonl")
  let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
  return text.split(separator: "\n").compactMap { try? ReportJSON.decode(Matrix.Row.self, from: String($0)) }
}()

/// The pmem modes the lab ran on each kernel. Debian's 5.10 has no CXL (`daxpin lab` says so and
/// boots nothing); the source-built 7.3 (25 minutes to build here) was recorded before
/// virtio-pmem and CXL came.
let labModes: [KernelProfile: [PmemMode]] = [
  .linux5_10: [.memmap, .nvdimm, .virtioPmem],
  .linux6_1: PmemMode.allCases, .linux6_12: PmemMode.allCases, .linuxLatest: PmemMode.allCases,
  .linux7_3IOMMUFD: [.memmap, .nvdimm],
]

/// A full probe run through the one pipeline on a simulated host.
func fakeReport(_ fake: FakeKernel, _ request: ProbeRequest = ProbeRequest(toolVersion: "test")) -> Report {
  try! ProbeRun(host: FakeHost(fake), request: request).run()
}
func fakeReport(_ p: KernelProfile, topology: FakeTopology = .full, pmem: PmemMode = .memmap) -> Report {
  fakeReport(FakeKernel(profile: p, topology: topology, pmem: pmem))
}

/// The profile that stands for the kernel a row came from.
func profile(of row: Matrix.Row) -> KernelProfile? { row.lab.flatMap { KernelProfile(labKernel: $0) } }

/// The interfaces before rdma, rdma-odp, af_xdp and truncate-held: every lab kernel's rows have them.
let firstInterfaces: [Interface] = [.vfioType1, .vfioType1v2, .iommufdCompat, .iommufd, .iommufdFile, .ioUring]
/// The memory kinds before devdax-kmem: every lab kernel's rows have them.
let firstKinds: [MemoryKind] = MemoryKind.allCases.filter { $0 != .devdaxKmem }

/// True for the Debian kernels, recorded with the whole vocabulary; the source-built 7.3 was
/// recorded before rdma, rdma-odp, af_xdp, truncate-held and devdax-kmem came.
func isDebian(_ p: KernelProfile) -> Bool { p.labKernel?.hasPrefix("debian-") == true }
/// The interfaces the fixture has for the kernel behind `p`.
func labInterfaces(_ p: KernelProfile) -> [Interface] { isDebian(p) ? Interface.allCases : firstInterfaces }
/// The memory kinds the fixture has for the kernel behind `p`.
func labKinds(_ p: KernelProfile) -> [MemoryKind] { isDebian(p) ? MemoryKind.allCases : firstKinds }

/// Rows one lab run of the kernel behind `p` has in the fixture.
func rowsPerRun(_ p: KernelProfile) -> Int { labInterfaces(p).count * labKinds(p).count * Access.allCases.count }

@Suite("contract: each lab-verified profile equals the real kernel, cell by cell")
struct ContractTests {
  @Test func fixturesCoverEveryVerifiedProfileAndPmemMode() {
    let kernels = Set(labRows.compactMap { profile(of: $0) })
    #expect(kernels == Set(KernelProfile.allCases.filter(\.labVerified)))
    #expect(Set(labModes.keys) == kernels)
    #expect(Set(labRows.compactMap(\.pmem)) == Set(PmemMode.allCases.map(\.rawValue)))
    for (p, modes) in labModes {
      let rows = labRows.filter { profile(of: $0) == p }
      #expect(Set(rows.compactMap(\.pmem)) == Set(modes.map(\.rawValue)), "\(p.rawValue)")
      for m in modes { #expect(rows.filter { $0.pmem == m.rawValue }.count == rowsPerRun(p), "\(p.rawValue) \(m.rawValue)") }
      #expect(Set(rows.map(\.interface)) == Set(labInterfaces(p)), "\(p.rawValue)")
      #expect(Set(rows.map(\.kind)) == Set(labKinds(p)), "\(p.rawValue)")
    }
    #expect(labRows.count == labModes.map { $0.value.count * rowsPerRun($0.key) }.reduce(0, +))
  }

  /// devdax-kmem is measured where the guest has a kmem region (memmap, nvdimm:
  /// `LabLayout.kmemNode(_:)`); elsewhere its cells are skipped for want of --kmem-node. Only a
  /// devdax-kmem cell the kernel took (pinned, or registered on demand: left in place) records where its pages went.
  @Test func kmemCellsWhereTheGuestHasAKmemNode() {
    let kmem = labRows.filter { $0.kind == .devdaxKmem }
    #expect(!kmem.isEmpty)
    for row in kmem {
      let mode = PmemMode(rawValue: row.pmem ?? "")
      #expect(mode != nil)
      if let mode, LabLayout.standard.kmemNode(mode) == nil {
        #expect(row.outcome == .unsupported, "\(row.lab ?? "") \(mode.rawValue): no kmem region, so no --kmem-node")
      }
    }
    #expect(kmem.contains { $0.pmem == "memmap" && $0.outcome == .pinned })
    #expect(labRows.filter { $0.placement != nil }.allSatisfy { $0.kind == .devdaxKmem && [.pinned, .onDemand].contains($0.outcome) })
    #expect(labRows.filter { $0.outcome == .onDemand && $0.placement != nil }.allSatisfy { $0.placement == .inPlace }, "ODP pins nothing, so moves nothing")
  }

  /// Each row against the fake host of its own pmem mode (`FakeTopology(lab:)`).
  @Test(arguments: KernelProfile.allCases.filter(\.labVerified))
  func profileEqualsLab(_ p: KernelProfile) throws {
    var disagreements: [String] = []
    let real = labRows.filter { profile(of: $0) == p }
    #expect(real.count == (labModes[p]?.count ?? 0) * rowsPerRun(p))
    for mode in labModes[p] ?? [] {
      let report = fakeReport(
        FakeKernel(profile: p, topology: FakeTopology(lab: mode), pmem: mode),
        ProbeRequest(toolVersion: "test", kmemNode: LabLayout.standard.kmemNode(mode)))
      #expect(report.isSimulated)
      #expect(report.inventory.pmem.buses.map(\.provider) == [mode.busProvider])
      let fake = Dictionary(report.probes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
      for row in real where row.pmem == mode.rawValue {
        let id = ProbeID(row.interface, row.kind, row.access).description
        guard let f = fake[id] else {
          disagreements.append("\(id) [\(mode.rawValue)]: missing in the fake")
          continue
        }
        if f.outcome != row.outcome || f.errnoName != row.errnoName || f.verdict != row.verdict
          || (row.kind == .devdaxKmem && row.placement != f.frames?.placement)
        {
          disagreements.append(
            "\(id) [\(mode.rawValue)]: lab \(row.outcome.rawValue) \(row.errnoName ?? "") \(row.verdict.rawValue) \(row.placement?.rawValue ?? ""), fake \(f.outcome.rawValue) \(f.errnoName ?? "") \(f.verdict.rawValue) \(f.frames?.placement.rawValue ?? "")")
        }
      }
    }
    #expect(disagreements.isEmpty, "\(p.rawValue) vs \(p.labKernel!):\n\(disagreements.joined(separator: "\n"))")
  }

  /// Every pmem mode's guest has fsdax on ext4 and xfs and a devdax device (virtio-pmem's
  /// label-less regions take devdax as memmap's do), so every mode's fake host is the full one;
  /// CXL's three namespaces share one labelled region.
  @Test(arguments: PmemMode.allCases)
  func pmemModeTopology(_ mode: PmemMode) {
    #expect(FakeTopology(lab: mode) == .full)
    let pmem = fakeReport(.linux6_12, topology: FakeTopology(lab: mode), pmem: mode).inventory.pmem
    #expect(pmem.buses.map(\.provider) == [mode.busProvider])
    // The kmem region (memmap, nvdimm) is System RAM by then: the fake lists the namespaces the probe maps.
    #expect(pmem.buses.flatMap(\.regions).count == LabLayout.standard.regions(mode) - (LabLayout.standard.kmemNode(mode) == nil ? 0 : 1))
    #expect(pmem.namespaces.map(\.mode) == LabLayout.standard.namespaceModes)
    #expect(Set(pmem.namespaces.map(\.dev)).count == 3)
    if mode == .cxl { #expect(pmem.namespaces.map(\.dev) == ["namespace0.0", "namespace0.1", "namespace0.2"]) }
    var onlyDevdax = LabLayout.standard
    onlyDevdax.namespaceModes = ["devdax"]
    #expect(FakeTopology(lab: mode, layout: onlyDevdax) == .devdaxOnly)
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
