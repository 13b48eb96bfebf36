import DaxPinCore
import Synchronization
import SystemPackage
import Testing

@testable import DaxPinFake

/// A run of some cells on a fake host, with the lab's --kmem-node.
func fakeCells(
  _ p: KernelProfile, _ interfaces: [Interface], _ kinds: [MemoryKind], kmemNode: Int? = LabLayout.standard.kmemNodeNumber, topology: FakeTopology = .full,
  prepare: (RecordingKernel) -> Void = { _ in }
) throws -> (Report, RecordingKernel) {
  let fake = FakeKernel(profile: p, topology: topology)
  let recorder = RecordingKernel(fake)
  prepare(recorder)
  let request = ProbeRequest(interfaces: interfaces, kinds: kinds, toolVersion: "t", kmemNode: kmemNode)
  return (try ProbeRun(host: FakeHost(fake, kernel: recorder), request: request).run(), recorder)
}

@Suite("devdax-kmem: page frames before and after a long-term pin")
struct KmemTests {
  @Test(arguments: [KernelProfile.linux5_10, .linux6_1, .linux6_12, .linuxLatest])
  func pinsMigrateOutOfTheMovableZoneFrom5_13(_ p: KernelProfile) throws {
    let (report, recorder) = try fakeCells(p, [.vfioType1v2, .ioUring], [.devdaxKmem])
    let migrates = p.version >= KernelVersion(5, 13)
    for r in report.probes where r.outcome == .pinned {
      let f = try #require(r.frames, "\(r.id)")
      #expect(f.pages == 512)
      #expect(f.movableBefore == 512, "the buffer came from the kmem node's ZONE_MOVABLE")
      #expect(f.before.zone == "Movable" && f.before.node == 1)
      #expect(f.placement == (migrates ? FramePlacement.Placement.migrated : .inPlace))
      #expect(f.after.zone == (migrates ? "Normal" : "Movable"))
      #expect(f.after.node == (migrates ? 0 : 1), "migrated to node 0's ZONE_NORMAL")
      #expect(r.verdict == (migrates ? .pass : .fail), "\(r.id): \(r.reason ?? "")")
      if !migrates {
        #expect(r.reason?.contains("daxctl offline-memory") == true)
        #expect(r.reason?.contains("gup-longterm-movable") == true)
        #expect(r.hint?.contains("5.13") == true)
        #expect(!r.unsafe, "a movable pin is a fail, not the fsdax hazard")
      }
    }
    #expect(report.probes.filter { $0.outcome == .pinned }.count == 3, "vfio rw, ro and io_uring rw")
    #expect(report.probes.first { $0.id == "io_uring.devdax-kmem.ro" }?.errnoName == "EFAULT")
    #expect(recorder.held == .nothing)
  }

  @Test func skipsWithoutAKmemNodeAndRefusesAnUnknownOne() throws {
    let (report, recorder) = try fakeCells(.linux6_1, [.ioUring], [.devdaxKmem], kmemNode: nil)
    #expect(report.probes.allSatisfy { $0.outcome == .unsupported && $0.reason?.hasPrefix("no --kmem-node") == true })
    #expect(!recorder.trace.contains(.bindMemory))
    #expect(throws: ProbeProblem.self) { try fakeCells(.linux6_1, [.ioUring], [.devdaxKmem], kmemNode: 3) }
    // A host without the converted region: node 0 is boot memory, not movable.
    #expect(throws: ProbeProblem.self) { try fakeCells(.linux6_1, [.ioUring], [.devdaxKmem], topology: .noPmem) }
    let (noKmem, _) = try fakeCells(.linux6_1, [.ioUring], [.devdaxKmem], kmemNode: 0, topology: .noPmem)
    #expect(noKmem.probes.allSatisfy { $0.outcome == .unsupported })
    #expect(noKmem.probes.first?.reason?.contains("outside ZONE_MOVABLE") == true, "\(noKmem.probes.first?.reason ?? "")")
  }

  /// Frames that cannot be read are named: before the pin the kind cannot be confirmed, after
  /// it the verdict is an error, never a pass.
  @Test func unreadableFramesAreNamed() throws {
    let (confirm, r1) = try fakeCells(.linux6_1, [.ioUring], [.devdaxKmem]) { $0.inject(.pageFrames, onUse: 1, errno: .permissionDenied) }
    #expect(confirm.probes[0].outcome == .setupFailed)
    #expect(confirm.probes[0].hint == "run daxpin as root")
    let (after, r2) = try fakeCells(.linux6_1, [.ioUring], [.devdaxKmem]) { $0.inject(.pageFrames, onUse: 3, errno: .tooManyOpenFiles) }
    #expect(after.probes[0].outcome == .pinned)
    #expect(after.probes[0].verdict == .error)
    let (bind, r3) = try fakeCells(.linux6_1, [.ioUring], [.devdaxKmem]) { $0.inject(.bindMemory, onUse: 1, errno: .invalidArgument) }
    #expect(bind.probes[0].outcome == .unsupported)
    #expect(bind.probes[0].reason?.contains("mbind(MPOL_BIND) to node 1 failed: EINVAL") == true)
    #expect([r1, r2, r3].allSatisfy { $0.held == .nothing })
  }

  @Test func otherKindsSayWhetherTheyWerePinnedInPlace() throws {
    let (report, _) = try fakeCells(.linux6_1, [.vfioType1v2], [.anon, .hugetlb2m, .devdax], kmemNode: nil)
    func placement(_ id: String) -> FramePlacement.Placement? { report.probes.first { $0.id == id }?.frames?.placement }
    #expect(placement("vfio-type1v2.anon.rw") == .inPlace, "unbound anonymous pages come from node 0's ZONE_NORMAL")
    #expect(placement("vfio-type1v2.hugetlb-2m.rw") == .inPlace)
    #expect(placement("vfio-type1v2.devdax.rw") == .inPlace)
    #expect(report.probes.filter { $0.outcome == .pinned }.allSatisfy { $0.verdict == .pass }, "placement judges devdax-kmem only")
  }

  @Test func theMatrixShowsFramesAndPlacement() throws {
    let reports = try [KernelProfile.linux5_10, .linux6_1].map { try fakeCells($0, [.vfioType1v2], [.devdaxKmem]).0 }
    let matrix = try Matrix(reports: reports)
    let md = matrix.markdown()
    #expect(md.contains("## devdax-kmem page frames"))
    #expect(md.contains("!✔ in-place"))
    #expect(md.contains("✔ migrated"))
    #expect(md.contains("node 1 Movable"))
    #expect(md.contains("node 0 Normal"))
    let rows = matrix.rows.filter { $0.kind == .devdaxKmem }
    #expect(Set(rows.compactMap(\.placement)) == [.inPlace, .migrated])
    let line = try ReportJSON.encodeLine(rows[0])
    #expect(line.contains("\"placement\":\"in-place\""))
    #expect(try ReportJSON.decode(Matrix.Row.self, from: line) == rows[0])
  }
}

@Suite("truncate-held: does a truncate wait for a held page")
struct TruncateHeldTests {
  @Test(arguments: KernelProfile.allCases)
  func fsdaxWaitsAndPageCacheCompletes(_ p: KernelProfile) throws {
    let (report, recorder) = try fakeCells(p, [.truncateHeld], MemoryKind.allCases)
    func cell(_ k: MemoryKind) -> ProbeResult? { report.probes.first { $0.id == "truncate-held.\(k.rawValue).rw" } }
    #expect(cell(.pagecacheShared)?.outcome == .completed)
    #expect(cell(.pagecacheShared)?.verdict == .pass)
    for k in [MemoryKind.fsdaxExt4Shared, .fsdaxXfsShared] {
      let c = try #require(cell(k))
      if p == .linux4_14 {
        #expect(c.outcome == .completed)
        #expect(c.unsafe)
        #expect(c.verdict == .fail)
        #expect(c.reason?.hasPrefix("UNSAFE: the truncate of a DAX file completed") == true)
      } else {
        #expect(c.outcome == .waited, "\(c.id)")
        #expect(c.verdict == .pass)
        #expect(c.expectation?.origin == "fsdax-break-layouts")
      }
    }
    let run = report.probes.filter { $0.outcome != .unsupported }
    #expect(run.count == 6, "three kinds, two accesses")
    #expect(recorder.held == .nothing)
    #expect(report.probes.count == MemoryKind.allCases.count * 2)
  }

  /// The cells are measured under one hold, but each answers alone: the second target's failure
  /// (its pipe could not be had) leaves the others' measurements standing.
  @Test func oneTargetFailingLeavesTheOthersMeasured() throws {
    let (report, recorder) = try fakeCells(.linux6_1, [.truncateHeld], [.pagecacheShared, .fsdaxXfsShared]) {
      $0.inject(.truncateUnderHeldPages, onUse: 2, errno: .tooManyOpenFiles)
    }
    #expect(report.probes.map(\.id) == [
      "truncate-held.pagecache-shared.rw", "truncate-held.pagecache-shared.ro", "truncate-held.fsdax-xfs-shared.rw", "truncate-held.fsdax-xfs-shared.ro",
    ])
    #expect(report.probes.map(\.outcome) == [.completed, .setupFailed, .waited, .waited])
    #expect(report.probes[1].reason == "holding the pages or starting the truncate failed: EMFILE")
    #expect(recorder.trace.filter { $0 == .truncateUnderHeldPages }.count == 4)
    #expect(recorder.held == .nothing)
  }

  /// The hold begins before the run's first pin and lasts while the other interfaces' cells run;
  /// the truncate-held cells still come last in the report, in the matrix's order, and their
  /// files are gone before the run ends.
  @Test func theHoldRunsAlongsideTheOtherCells() throws {
    let seenDuringPins = Mutex<[Int]>([])
    let (report, recorder) = try fakeCells(.linux6_1, [.ioUring, .truncateHeld], [.pagecacheShared, .fsdaxXfsShared, .anon]) { r in
      r.after(.ioUringRegisterBuffers) { [r] in seenDuringPins.withLock { $0.append(r.held.pageHolds) } }
    }
    let trace = recorder.trace
    let hold = try #require(trace.firstIndex(of: .truncateUnderHeldPages))
    let firstPin = try #require(trace.firstIndex(of: .ioUringRegisterBuffers))
    #expect(hold < firstPin, "held before the first pin")
    #expect(!seenDuringPins.withLock { $0 }.isEmpty)
    #expect(seenDuringPins.withLock { $0 }.allSatisfy { $0 == 1 }, "the hold is open while every io_uring cell pins")
    #expect(report.probes.map(\.interface) == [.ioUring, .ioUring, .ioUring, .ioUring, .ioUring, .ioUring, .truncateHeld, .truncateHeld, .truncateHeld, .truncateHeld, .truncateHeld, .truncateHeld])
    #expect(report.probes.filter { $0.interface == .truncateHeld }.map(\.outcome) == [.unsupported, .unsupported, .completed, .completed, .waited, .waited], "anon, pagecache-shared, fsdax-xfs-shared: the matrix order")
    // Released once, after the last pin, and before its four cells' files are unmapped.
    let release = try #require(trace.firstIndex(of: .releaseHeldPages))
    #expect(trace.filter { $0 == .releaseHeldPages }.count == 1)
    #expect(release > trace.lastIndex(of: .ioUringRegisterBuffers)!)
    #expect(trace[release...].filter { $0 == .unmap }.count == 4, "the measured cells' mappings go after the release")
    #expect(recorder.droppedHolds == 0)
    #expect(recorder.held == .nothing)
  }

  /// A signal while the other cells run ends the run without the truncate-held cells, and the
  /// hold is released with everything else.
  @Test func aSignalDuringTheHoldReleasesIt() throws {
    let fake = FakeKernel(profile: .linux6_1)
    let recorder = RecordingKernel(fake)
    recorder.after(.ioUringRegisterBuffers) { [recorder] in recorder.interrupt(afterCalls: 0) }
    let request = ProbeRequest(interfaces: [.ioUring, .truncateHeld], kinds: [.pagecacheShared, .anon], toolVersion: "t")
    #expect(throws: ProbeProblem.self) { _ = try ProbeRun(host: FakeHost(fake, kernel: recorder), request: request).run() }
    let trace = recorder.trace
    #expect(trace.contains(.truncateUnderHeldPages))
    // Ended by the run's cleanup (not left to deallocation), before the held files' mappings go.
    let release = try #require(trace.firstIndex(of: .releaseHeldPages))
    #expect(trace[release...].filter { $0 == .unmap }.count >= 2, "pagecache-shared rw and ro")
    #expect(recorder.droppedHolds == 0)
    #expect(recorder.held == .nothing, "the hold, its files and mappings are released: \(recorder.held)")
  }

  @Test func aFailedMeasurementIsAnError() throws {
    let (report, recorder) = try fakeCells(.linux6_1, [.truncateHeld], [.pagecacheShared]) {
      $0.inject(.truncateUnderHeldPages, onUse: 1, errno: .tooManyOpenFiles)
    }
    #expect(report.probes[0].outcome == .setupFailed)
    #expect(report.probes[0].verdict == .error)
    #expect(report.probes[0].reason == "holding the pages or starting the truncate failed: EMFILE")
    #expect(recorder.held == .nothing)
  }

  @Test func judgeAndText() {
    let e = Expectations.expectation(for: ProbeID(.truncateHeld, .fsdaxXfsShared, .rw), on: KernelFeatures(version: KernelVersion(6, 1)))
    #expect(e.outcome == .waited)
    #expect(Judge.verdict(id: ProbeID(.truncateHeld, .fsdaxXfsShared, .rw), outcome: .waited, errno: nil, expectation: e).verdict == .pass)
    let bad = Judge.verdict(id: ProbeID(.truncateHeld, .fsdaxXfsShared, .rw), outcome: .completed, errno: nil, expectation: e)
    #expect(bad.verdict == .fail && bad.unsafe)
    let control = Expectations.expectation(for: ProbeID(.truncateHeld, .pagecacheShared, .rw), on: KernelFeatures(version: KernelVersion(6, 1)))
    let odd = Judge.verdict(id: ProbeID(.truncateHeld, .pagecacheShared, .rw), outcome: .waited, errno: nil, expectation: control)
    #expect(odd.verdict == .fail && !odd.unsafe)
    #expect(odd.reason == "expected the truncate completes [pagecache-truncate], observed waited")
  }
}

extension TruncateHeldTests {
  /// With RLIMIT_NOFILE too tight for the held cells' descriptors beside the others', the cells
  /// run at their own place (begun after the last io_uring pin), and answer the same.
  @Test func aTightDescriptorLimitKeepsTheHoldAtItsPlace() throws {
    let fake = FakeKernel(profile: .linux6_1, descriptorLimit: 40)
    let recorder = RecordingKernel(fake)
    let request = ProbeRequest(interfaces: [.ioUring, .truncateHeld], kinds: [.pagecacheShared, .fsdaxXfsShared, .anon], toolVersion: "t")
    let report = try ProbeRun(host: FakeHost(fake, kernel: recorder), request: request).run()
    let trace = recorder.trace
    let hold = try #require(trace.firstIndex(of: .truncateUnderHeldPages))
    #expect(hold > trace.lastIndex(of: .ioUringRegisterBuffers)!, "begun at the cells' own place")
    #expect(report.probes.filter { $0.interface == .truncateHeld }.map(\.outcome) == [.unsupported, .unsupported, .completed, .completed, .waited, .waited])
    #expect(recorder.held == .nothing)
  }
}
