import DaxPinCore
import SystemPackage
import Testing

@testable import DaxPinFake

/// The profiles walked: a Debian one (VFIO type1, io_uring) and the one with iommufd.
let walkedProfiles: [KernelProfile] = [.linux6_1, .linux7_3IOMMUFD]

/// A full probe run through the one pipeline, on a fake host whose kernel is recorded.
func recordedRun(_ p: KernelProfile, prepare: (RecordingKernel) -> Void = { _ in }) -> (Report?, RecordingKernel, FakeKernel) {
  let fake = FakeKernel(profile: p)
  let recorder = RecordingKernel(fake)
  prepare(recorder)
  let report = try? ProbeRun(host: FakeHost(fake, kernel: recorder), request: ProbeRequest(toolVersion: "t", kmemNode: LabLayout.standard.kmemNodeNumber)).run()
  return (report, recorder, fake)
}

/// The calls a full probe run (full topology) makes on a profile, in order.
let fullRunTraces = Dictionary(uniqueKeysWithValues: walkedProfiles.map { ($0, recordedRun($0).1.trace) })

/// The uses of `call` in `trace` (1-based, as `RecordingKernel.inject(_:onUse:errno:)` counts
/// them) that the walk fails: one per code path, the first use with each pair of neighbours (the
/// call before it and the call after it). The same code path runs once per cell — 280 cells make
/// `open` 110–196 uses and a full run per use and errno some 9,000 runs, an hour of CPU — and its
/// uses in later cells have the neighbours of the first.
func faultUses(of call: KernelCall, in trace: [KernelCall]) -> [Int] {
  var seen = Set<[KernelCall?]>()
  var uses: [Int] = []
  var n = 0
  for i in trace.indices where trace[i] == call {
    n += 1
    let neighbours = [i > 0 ? trace[i - 1] : nil, i + 1 < trace.count ? trace[i + 1] : nil]
    if seen.insert(neighbours).inserted { uses.append(n) }
  }
  return uses
}

@Suite("fault injection: every seam call of a full probe run, failed with each errno it can return")
struct FaultInjectionTests {
  @Test func theWalkCoversEverySeamCallTheProbeMakes() {
    let all = Set(walkedProfiles.flatMap { fullRunTraces[$0]! })
    let injectable = Set(all.filter { !$0.errnos.isEmpty })
    #expect(all.filter { !$0.releasesOrObserves }.isSubset(of: injectable), "every acquiring call the run makes can be failed")
    let expected: Set<KernelCall> = [
      .open, .openDirectory, .makeDirectory, .entries, .lock, .memfdCreate, .truncate, .allocate, .statusOfFD, .filesystem,
      .setDAXFlag, .characterDevice, .map, .protect, .fault, .vma, .vfioAPIVersion, .vfioCheckExtension, .vfioGroupStatus,
      .vfioGroupSetContainer, .vfioSetIOMMU, .vfioIOMMUInfo, .vfioMapDMA, .ioUringSetup, .ioUringRegisterBuffers,
      .vfioGroupGetDeviceFD, .iommufdAllocIOAS, .vfioDeviceBindIOMMUFD, .vfioDeviceAttachIOMMUFDPT, .iommufdIOVARanges,
      .iommufdMap, .iommufdMapFile, .rdmaOpen, .rdmaRegisterMR, .xdpSocket, .xdpRegisterUMEM, .bindMemory, .truncateUnderHeldPages, .status,
    ]
    #expect(injectable == expected)
  }

  /// One test case per profile and call; inside, each of its code paths (`faultUses`) failed
  /// with every errno the call can return. A failure
  /// before the engine starts (resolving a named target) is a `ProbeProblem`; after, the run
  /// still reports every cell, each with a reason when it did not pass, and releases
  /// everything.
  @Test(arguments: walkedProfiles.flatMap { p in Set(fullRunTraces[p]!.filter { !$0.errnos.isEmpty }).sorted { $0.rawValue < $1.rawValue }.map { "\(p.rawValue) \($0.rawValue)" } })
  func failingThisCallLeavesNothingBehind(_ point: String) {
    let p = KernelProfile(rawValue: String(point.split(separator: " ")[0]))!
    let call = KernelCall(rawValue: String(point.split(separator: " ")[1]))!
    let uses = faultUses(of: call, in: fullRunTraces[p]!)
    #expect(!uses.isEmpty)
    for n in uses {
      for errno in call.errnos {
        let (report, recorder, fake) = recordedRun(p) { $0.inject(call, onUse: n, errno: errno) }
        let where_ = "\(p.rawValue) \(call)#\(n) failing with \(errno.name)"
        if report == nil && call == .status {
          // statx of --kmem-node's /sys/devices/system/node/nodeN: a named target, refused before
          // anything is created.
          #expect(recorder.held == .nothing, "\(where_): left \(recorder.held)")
          continue
        }
        let r = try! #require(report, "\(where_): the run threw")
        #expect(r.probes.count == Interface.allCases.count * MemoryKind.allCases.count * Access.allCases.count, "\(where_): every cell still reported")
        #expect(r.probes.allSatisfy { $0.verdict == .pass || $0.reason != nil }, "\(where_): a cell without a reason")
        #expect(recorder.held == .nothing, "\(where_): left \(recorder.held)")
        #expect(fake.held == (0, 0), "\(where_): the fake holds \(fake.held)")
        #expect(fake.heldRDMA == 0, "\(where_): the fake holds \(fake.heldRDMA) RDMA objects")
        #expect(fake.files(under: "").filter { $0.contains("/.daxpin-") } == [], "\(where_): files left")
      }
    }
  }

  /// A code path is walked once: a use with the neighbours of an earlier one is the same path in
  /// a later cell.
  @Test func eachCodePathIsFailedOnce() {
    let trace: [KernelCall] = [.open, .map, .fault, .open, .map, .fault, .vma, .map, .unmap, .map]
    #expect(faultUses(of: .map, in: trace) == [1, 3, 4])
    #expect(faultUses(of: .open, in: trace) == [1, 2])
    #expect(faultUses(of: .lock, in: trace) == [])
    // Every call the full runs make is walked at least once.
    for p in walkedProfiles {
      let trace = fullRunTraces[p]!
      for call in Set(trace) { #expect(faultUses(of: call, in: trace).first == 1) }
    }
  }

  @Test func interruptReleasesEverythingAndSaysBySignal() {
    let trace = fullRunTraces[.linux6_1]!
    for at in stride(from: 5, to: trace.count, by: 97) {
      let fake = FakeKernel(profile: .linux6_1)
      let recorder = RecordingKernel(fake)
      recorder.interrupt(afterCalls: at)
      #expect(throws: ProbeProblem.self, "interrupted at call \(at) (\(trace[at - 1]))") {
        _ = try ProbeRun(host: FakeHost(fake, kernel: recorder), request: ProbeRequest(kmemNode: LabLayout.standard.kmemNodeNumber)).run()
      }
      #expect(recorder.held == .nothing, "interrupted at call \(at)")
    }
  }
}
