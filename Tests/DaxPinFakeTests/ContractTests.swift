import DaxPinCore
import Foundation
import SystemPackage
import Testing

@testable import DaxPinFake

/// Rows of the real lab reports (`daxpin report matrix --jsonl` over the lab's reports from
/// Debian's 5.10.223, 6.1.176, 6.12.107 and 7.3.4 kernels and 7.3.4 built from linux-source-7.3,
/// memmap and NVDIMM).
let labRows: [Matrix.Row] = {
  let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/lab.jsonl")
  let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
  return text.split(separator: "\n").compactMap { try? ReportJSON.decode(Matrix.Row.self, from: String($0)) }
}()

/// The profile that stands for the kernel a row came from.
func profile(of row: Matrix.Row) -> KernelProfile? { row.lab.flatMap { KernelProfile(labKernel: $0) } }

@Suite("contract: each lab-verified profile equals the real kernel, cell by cell")
struct ContractTests {
  @Test func fixturesCoverEveryVerifiedProfileAndPmemMode() {
    let kernels = Set(labRows.compactMap { profile(of: $0) })
    #expect(kernels == Set(KernelProfile.allCases.filter(\.labVerified)))
    #expect(Set(labRows.compactMap(\.pmem)) == ["memmap", "nvdimm"])
    #expect(labRows.count == 10 * 156)
  }

  @Test(arguments: KernelProfile.allCases.filter(\.labVerified))
  func profileEqualsLab(_ p: KernelProfile) throws {
    let report = FakeKernel(profile: p).probeReport(toolVersion: "test")
    #expect(report.simulated == true)
    let fake = Dictionary(report.probes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    let real = labRows.filter { profile(of: $0) == p }
    #expect(real.count == 2 * 156)
    var disagreements: [String] = []
    for row in real {
      let id = ProbeID(row.interface, row.kind, row.access).description
      guard let f = fake[id] else {
        disagreements.append("\(id): missing in the fake")
        continue
      }
      if f.outcome != row.outcome || f.errnoName != row.errnoName || f.verdict != row.verdict {
        disagreements.append(
          "\(id) [\(row.pmem ?? "")]: lab \(row.outcome.rawValue) \(row.errnoName ?? "") \(row.verdict.rawValue), fake \(f.outcome.rawValue) \(f.errnoName ?? "") \(f.verdict.rawValue)")
      }
    }
    #expect(disagreements.isEmpty, "\(p.rawValue) vs \(p.labKernel!):\n\(disagreements.joined(separator: "\n"))")
  }

  @Test func linux414ShowsUnsafe() {
    let report = FakeKernel(profile: .linux4_14).probeReport(toolVersion: "test")
    #expect(!KernelProfile.linux4_14.labVerified)
    let unsafe = report.probes.filter { $0.unsafe == true }
    #expect(!unsafe.isEmpty)
    #expect(unsafe.allSatisfy { $0.memory.kind.pinsFilesystemDAXPages && $0.interface.usesVFIOContainer })
    #expect(report.summary.exitCode == 1)
    #expect(report.probes.filter { $0.interface == .ioUring }.allSatisfy { $0.outcome == .unsupported }, "io_uring arrived in 5.1")
  }

  @Test(arguments: FakeTopology.allCases)
  func topologies(_ t: FakeTopology) {
    let report = FakeKernel(profile: .linux6_1, topology: t).probeReport(toolVersion: "test")
    let fsdax = report.probes.filter { $0.memory.kind.isFilesystemDAX }
    let devdax = report.probes.filter { $0.memory.kind == .devdax }
    let vfio = report.probes.filter { $0.interface == .vfioType1v2 && $0.memory.kind == .anon }
    #expect(fsdax.allSatisfy { ($0.outcome == .unsupported) == !t.hasFsdax || $0.interface != .ioUring })
    #expect(devdax.filter { $0.interface == .ioUring }.allSatisfy { ($0.outcome == .unsupported) == !t.hasDevdax })
    #expect(vfio.allSatisfy { ($0.outcome == .unsupported) == !t.hasVFIO })
    #expect(report.summary.fail == 0 && report.summary.error == 0)
  }
}

@Suite("misuse scenarios against the fake")
struct MisuseTests {
  @Test(arguments: KernelProfile.allCases.filter { $0.hasIOUring })
  func answersAreTheKernelsErrnos(_ p: KernelProfile) {
    let fake = FakeKernel(profile: p)
    let inv = fake.inventory
    let answers = MisuseScenarios.run(fake, .init(targets: ProbeTargets.resolve(inventory: inv, options: ProbeOptions())))
    #expect(answers == [
      "vfio.set-iommu-without-group": "EINVAL", "vfio.map-before-set-iommu": "EINVAL", "vfio.overlapping-map": "EEXIST",
      "vfio.unaligned-map": "EINVAL", "vfio.iova-outside-windows": "EINVAL", "vfio.unmap-reports-size": "ok 4194304",
      "vfio.group-opened-twice": "EBUSY", "devdax.private-mmap": "EINVAL", "devdax.unaligned-mmap": "EINVAL",
      "io_uring.register-twice": "EBUSY", "io_uring.unregister-without-buffers": "ENXIO", "io_uring.unmapped-buffer": "EFAULT",
    ])
    #expect(fake.held == (0, 0, 0))
  }

  @Test func limitsAreResourceLimited() {
    let tight = FakeKernel(profile: .linux6_1, memlockKB: 64)
    let r = tight.probeReport(toolVersion: "t")
    let cell = r.probes.first { $0.id == "io_uring.anon.rw" }
    #expect(cell?.outcome == .resourceLimited)
    #expect(cell?.errnoName == "ENOMEM")
    let noEntries = FakeKernel(profile: .linux6_1, dmaEntryLimit: 0).probeReport(toolVersion: "t")
    #expect(noEntries.probes.first { $0.id == "vfio-type1v2.anon.rw" }?.errnoName == "ENOSPC")
    let notViable = FakeKernel(profile: .linux6_1, groupViable: false).probeReport(toolVersion: "t")
    #expect(notViable.probes.first { $0.id == "vfio-type1v2.anon.rw" }?.reason?.contains("not viable") == true)
    let noHuge = FakeKernel(profile: .linux6_1, hugetlbPages: 0)
    #expect(noHuge.map(length: 2 << 20, protection: .readWrite, source: .anonymous(hugetlb: true)) == .failure(.noMemory))
  }

  @Test func differencesIgnoreUnsupported() {
    #expect(MisuseScenarios.differences(real: ["vfio.unaligned-map": "EINVAL", "devdax.private-mmap": "unsupported: no devdax"],
      model: ["vfio.unaligned-map": "EFAULT", "devdax.private-mmap": "EINVAL"]) == ["vfio.unaligned-map: kernel EINVAL, profile EFAULT"])
  }
}
