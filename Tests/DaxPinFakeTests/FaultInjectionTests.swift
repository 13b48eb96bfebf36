import DaxPinCore
import SystemPackage
import Testing

@testable import DaxPinFake

/// The profiles walked: a Debian one (VFIO type1, io_uring) and the one with iommufd.
let walkedProfiles: [KernelProfile] = [.linux6_1, .linux7_3IOMMUFD]

/// The calls a full probe run (full topology) makes on a profile, in order.
func traceOfFullRun(_ p: KernelProfile) -> [String] {
  let fake = FakeKernel(profile: p)
  _ = fake.probeReport(toolVersion: "t")
  return fake.trace
}
let fullRunTraces = Dictionary(uniqueKeysWithValues: walkedProfiles.map { ($0, traceOfFullRun($0)) })
let fullRunTrace = fullRunTraces[.linux6_1]!

/// (call, use) pairs: the nth use of each injectable call.
let injectionPoints: [String] = {
  var uses: [String: Int] = [:]
  var points: [String] = []
  for call in walkedProfiles.flatMap({ fullRunTraces[$0]! }) where !FakeKernel.errnos(for: call).isEmpty {
    uses[call, default: 0] += 1
    points.append("\(call)#\(uses[call]!)")
  }
  return points
}()

@Suite("fault injection: every seam call of a full probe run, failed with each errno it can return")
struct FaultInjectionTests {
  @Test func theWalkCoversEverySeamCallTheProbeMakes() {
    let all = walkedProfiles.flatMap { fullRunTraces[$0]! }
    let injectable = Set(all.filter { !FakeKernel.errnos(for: $0).isEmpty })
    // The probe uses these requirements; each is injectable (release calls are listed apart).
    let releases: Set<String> = [
      "close", "unmap", "unlink", "removeDirectory", "vfioGroupUnsetContainer", "ioUringUnregisterBuffers", "vfioUnmapDMA",
      "iommufdUnmap", "iommufdDestroy", "vfioDeviceDetachIOMMUFDPT",
    ]
    #expect(Set(all).subtracting(releases).isSubset(of: injectable))
    for call in ["open", "memfdCreate", "truncate", "allocate", "makeTemporaryDirectory", "status", "filesystem", "map", "protect", "fault", "vma",
      "vfioAPIVersion", "vfioCheckExtension", "vfioGroupStatus", "vfioGroupSetContainer", "vfioSetIOMMU", "vfioIOMMUInfo", "vfioMapDMA",
      "ioUringSetup", "ioUringRegisterBuffers", "vfioGroupGetDeviceFD", "iommufdAllocIOAS", "vfioDeviceBindIOMMUFD",
      "vfioDeviceAttachIOMMUFDPT", "iommufdIOVARanges", "iommufdMap", "iommufdMapFile"]
    {
      #expect(injectable.contains(call), "\(call) is made by a full run and injected")
    }
    #expect(injectionPoints.count > 500)
  }

  /// One test case per profile and call name; inside, every use of it and every errno.
  @Test(arguments: walkedProfiles.flatMap { p in Set(fullRunTraces[p]!.filter { !FakeKernel.errnos(for: $0).isEmpty }).sorted().map { "\(p.rawValue) \($0)" } })
  func failingThisCallLeavesNothingBehind(_ point: String) {
    let p = KernelProfile(rawValue: String(point.split(separator: " ")[0]))!
    let call = String(point.split(separator: " ")[1])
    let uses = fullRunTraces[p]!.filter { $0 == call }.count
    for n in 1...uses {
      for errno in FakeKernel.errnos(for: call) {
        let fake = FakeKernel(profile: p)
        fake.inject(call, onUse: n, errno: errno)
        let report = fake.probeReport(toolVersion: "t")
        let where_ = "\(p.rawValue) \(call)#\(n) failing with \(errno.name)"
        #expect(report.probes.count == 156, "\(where_): every cell still reported")
        #expect(report.probes.allSatisfy { $0.verdict == .pass || $0.reason != nil }, "\(where_): a cell without a reason")
        let held = fake.held
        #expect(held.fds == 0 && held.mappings == 0 && held.created == 0, "\(where_): left \(held)")
      }
    }
  }

  @Test func interruptReleasesEverything() {
    for at in stride(from: 5, to: fullRunTrace.count, by: 97) {
      let fake = FakeKernel(profile: .linux6_1)
      fake.interrupt(afterCalls: at)
      let inv = fake.inventory
      #expect(throws: ProbeEngine.Interrupted.self) {
        _ = try ProbeEngine(kernel: fake, targets: ProbeTargets.resolve(inventory: inv, options: ProbeOptions()), features: KernelFeatures(inv.kernel)).run()
      }
      #expect(fake.held == (0, 0, 0), "interrupted at call \(at)")
    }
  }
}
