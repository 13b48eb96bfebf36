import DaxPinCore
import SystemPackage
import Testing

@testable import DaxPinFake

/// The calls a full probe run (linux-6.1 profile, full topology) makes, in order.
let fullRunTrace: [String] = {
  let fake = FakeKernel(profile: .linux6_1)
  _ = fake.probeReport(toolVersion: "t")
  return fake.trace
}()

/// (call, use) pairs: the nth use of each injectable call.
let injectionPoints: [String] = {
  var uses: [String: Int] = [:]
  var points: [String] = []
  for call in fullRunTrace where !FakeKernel.errnos(for: call).isEmpty {
    uses[call, default: 0] += 1
    points.append("\(call)#\(uses[call]!)")
  }
  return points
}()

@Suite("fault injection: every seam call of a full probe run, failed with each errno it can return")
struct FaultInjectionTests {
  @Test func theWalkCoversEverySeamCallTheProbeMakes() {
    let injectable = Set(fullRunTrace.filter { !FakeKernel.errnos(for: $0).isEmpty })
    // The probe uses these requirements; each is injectable (release calls are listed apart).
    let releases: Set<String> = ["close", "unmap", "unlink", "removeDirectory", "vfioGroupUnsetContainer", "ioUringUnregisterBuffers", "vfioUnmapDMA"]
    #expect(Set(fullRunTrace).subtracting(releases).isSubset(of: injectable.union(["vfioUnmapDMA"])))
    for call in ["open", "memfdCreate", "truncate", "allocate", "makeTemporaryDirectory", "status", "filesystem", "map", "protect", "fault", "vma",
      "vfioAPIVersion", "vfioCheckExtension", "vfioGroupStatus", "vfioGroupSetContainer", "vfioSetIOMMU", "vfioIOMMUInfo", "vfioMapDMA",
      "ioUringSetup", "ioUringRegisterBuffers"]
    {
      #expect(injectable.contains(call), "\(call) is made by a full run and injected")
    }
    #expect(injectionPoints.count > 500)
  }

  /// One test case per call name; inside, every use of it and every errno.
  @Test(arguments: Array(Set(fullRunTrace.filter { !FakeKernel.errnos(for: $0).isEmpty })).sorted())
  func failingThisCallLeavesNothingBehind(_ call: String) {
    let uses = fullRunTrace.filter { $0 == call }.count
    for n in 1...uses {
      for errno in FakeKernel.errnos(for: call) {
        let fake = FakeKernel(profile: .linux6_1)
        fake.inject(call, onUse: n, errno: errno)
        let report = fake.probeReport(toolVersion: "t")
        let where_ = "\(call)#\(n) failing with \(errno.name)"
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
