@testable import DaxPinCore
import SystemPackage
import Testing

@testable import DaxPinFake

/// A bench run through `BenchRun` on a fake host whose kernel is recorded.
func benchRun(
  _ p: KernelProfile = .linux6_1, _ request: BenchRequest = BenchRequest(size: 64 << 20, iterations: 4),
  fake: FakeKernel? = nil, prepare: (RecordingKernel) -> Void = { _ in }
) -> (Result<BenchReport, ProbeProblem>, RecordingKernel, FakeKernel) {
  let fake = fake ?? FakeKernel(profile: p)
  let recorder = RecordingKernel(fake)
  prepare(recorder)
  let result = Result { () throws(ProbeProblem) in try BenchRun(host: FakeHost(fake, kernel: recorder), request: request).run() }
  return (result, recorder, fake)
}

func cell(_ r: BenchReport, _ i: Interface, _ m: BenchMemory) -> BenchResult? {
  r.results.first { $0.interface == i && $0.memory == m }
}

@Suite("daxpin bench: structure and accounting on the fake kernel (never timing)")
struct BenchRunTests {
  @Test func everyCellInOrderAndEveryPinnedByteUnpinned() throws {
    let (result, recorder, fake) = benchRun()
    let r = try result.get()
    #expect(r.schema == "daxpin/bench" && r.simulated == true && r.backend == .fake)
    #expect(r.results.map { "\($0.interface.rawValue).\($0.memory.rawValue)" } == BenchMemory.interfaces.flatMap { i in
      BenchMemory.allCases.map { "\(i.rawValue).\($0.rawValue)" }
    })
    let measured = r.results.filter { $0.status == .measured }
    #expect(measured.count == 9, "io_uring: 4 (devdax refused on 6.1), vfio-type1v2: 5, iommufd: none (no /dev/iommu)")
    for c in measured {
      let bytes = try #require(c.bytes)
      #expect(c.iterations == 4)
      #expect(c.pinnedBytes == UInt64(bytes) * 5, "the untimed round and four timed ones")
      #expect(c.unpinnedBytes == c.pinnedBytes, "\(c.interface).\(c.memory): every pinned byte unpinned")
      #expect(c.leftPinnedKB == 0)
      // Device-DAX pages are ZONE_DEVICE: type1 pins them without charging locked memory.
      let charged = c.interface == .vfioType1v2 && c.memory == .devdax ? 0 : bytes / 1024
      #expect(c.pinnedKB == charged, "\(c.interface).\(c.memory): VmPin + VmLck while the pin was held")
      #expect(c.pinNs != nil && c.unpinNs != nil && c.gibPerSecond != nil && c.request != nil)
    }
    #expect(r.summary.measured == 9 && r.summary.refused == 1 && r.summary.skipped == 5 && r.summary.failed == 0)
    #expect(r.summary.exitCode == 0)
    #expect(recorder.held == .nothing, "left \(recorder.held)")
    #expect(fake.held == (0, 0))
    #expect(fake.pinAccounting() == PinAccounting(pinnedKB: 0, lockedKB: 0))
  }

  @Test func whatTheKernelAnswersIsReportedNotTimed() throws {
    let r61 = try benchRun(.linux6_1).0.get()
    let devdax = try #require(cell(r61, .ioUring, .devdax))
    #expect(devdax.status == .refused && devdax.errnoName == "EOPNOTSUPP" && devdax.pinNs == nil && devdax.iterations == 0)
    #expect(devdax.pinnedBytes == 0 && devdax.unpinnedBytes == 0)
    let iommufd = try #require(cell(r61, .iommufd, .anon4k))
    #expect(iommufd.status == .skipped && iommufd.reason == "no /dev/iommu (CONFIG_IOMMUFD)")
    // From 6.5 io_uring pins device-DAX; the iommufd profile has a device to attach.
    let r612 = try benchRun(.linux6_12).0.get()
    #expect(cell(r612, .ioUring, .devdax)?.status == .measured)
    let r73 = try benchRun(.linux7_3IOMMUFD).0.get()
    #expect(BenchMemory.allCases.allSatisfy { cell(r73, .iommufd, $0)?.status == .measured })
  }

  @Test func theSizeIsReducedWhereTheHostHasLessAndSaysWhy() throws {
    let r = try benchRun().0.get()
    let hugetlb = try #require(cell(r, .ioUring, .hugetlb2m))
    #expect(hugetlb.bytes == 32 << 20 && hugetlb.requestedBytes == 64 << 20)
    #expect(hugetlb.reductions == ["reduced from 64 MiB to 32 MiB: the 2 MiB hugetlb pool has 16 free pages (sysctl vm.nr_hugepages)"])
    // RLIMIT_MEMLOCK without CAP_IPC_LOCK bounds every pin; MemAvailable bounds what is faulted in.
    let limited = FakeKernel(profile: .linux6_1, memlockKB: 16 << 10, memoryAvailable: 40 << 20)
    let l = try benchRun(fake: limited).0.get()
    let anon = try #require(cell(l, .vfioType1v2, .anon4k))
    #expect(anon.status == .measured && anon.bytes == 16 << 20)
    #expect(anon.reductions == [
      "reduced from 64 MiB to 20 MiB: MemAvailable is 40 MiB and the bench takes at most half",
      "reduced from 20 MiB to 16 MiB: RLIMIT_MEMLOCK is 16 MiB and pins are charged to it (ulimit -l, or CAP_IPC_LOCK)",
    ])
    let devdax = try #require(cell(l, .vfioType1v2, .devdax))
    #expect(devdax.bytes == 16 << 20, "MemAvailable does not bound device memory, RLIMIT_MEMLOCK does")
  }

  @Test func thpSaysHowMuchOfTheBufferHugePagesBack() throws {
    let r = try benchRun().0.get()
    let thp = try #require(cell(r, .ioUring, .thp))
    #expect(thp.anonHugePagesKB == 64 << 10 && thp.hugePageShare == 1.0)
    #expect(thp.confirmedBy?.hasPrefix("smaps VmFlags hg") == true)
    let small = try #require(cell(r, .ioUring, .anon4k))
    #expect(small.anonHugePagesKB == 0 && small.hugePageShare == 0 && small.confirmedBy?.hasPrefix("smaps VmFlags nh") == true)
  }

  @Test func aRefusedRoundStopsTheCellWithItsErrnoAndReleasesEverything() throws {
    // Use 1 of VFIO_IOMMU_MAP_DMA is the untimed round of the first memory; use 3 the second timed round.
    let (result, recorder, fake) = benchRun(.linux6_1, BenchRequest(interfaces: [.vfioType1v2], memories: [.anon4k], size: 8 << 20, iterations: 4)) {
      $0.inject(.vfioMapDMA, onUse: 3, errno: .badAddress)
    }
    let c = try #require(try result.get().results.first)
    #expect(c.status == .failed && c.errnoName == "EFAULT" && c.reason == "round 2: EFAULT")
    #expect(c.iterations == 1 && c.pinnedBytes == c.unpinnedBytes && c.leftPinnedKB == 0)
    #expect(try result.get().summary.exitCode == 1)
    #expect(recorder.held == .nothing && fake.held == (0, 0))
  }

  @Test func anUnpinThatFailsIsAFailureAndTheSessionStillReleasesThePin() throws {
    let (result, recorder, fake) = benchRun(.linux6_1, BenchRequest(interfaces: [.vfioType1v2], memories: [.memfd], size: 8 << 20, iterations: 3)) {
      $0.inject(.vfioUnmapDMA, onUse: 2, errno: .invalidArgument)
    }
    let c = try #require(try result.get().results.first)
    #expect(c.status == .failed && c.reason == "VFIO_IOMMU_UNMAP_DMA: EINVAL")
    #expect(c.unpinnedBytes < c.pinnedBytes, "the books show the byte the kernel kept")
    #expect(recorder.held == .nothing)
    #expect(fake.held == (0, 0))
  }

  @Test func failingEachCallTheBenchMakesLeavesNothingBehind() throws {
    let request = BenchRequest(size: 8 << 20, iterations: 2)
    let trace = benchRun(.linux7_3IOMMUFD, request).1.trace
    let calls = Set(trace.filter { !$0.errnos.isEmpty })
    #expect(calls.isSuperset(of: [.advise, .map, .fault, .vma, .memfdCreate, .ioUringRegisterBuffers, .vfioMapDMA, .iommufdMap]))
    for call in calls.sorted(by: { $0.rawValue < $1.rawValue }) {
      let uses = trace.filter { $0 == call }.count
      for n in Set([1, (uses + 1) / 2, uses]).sorted() {
        let errno = call.errnos[0]
        let (result, recorder, fake) = benchRun(.linux7_3IOMMUFD, request) { $0.inject(call, onUse: n, errno: errno) }
        let where_ = "\(call)#\(n) failing with \(errno.name)"
        switch result {
        case .success(let r):
          #expect(r.results.count == 15, "\(where_): every cell still reported")
          #expect(r.results.allSatisfy { $0.status == .measured || $0.reason != nil }, "\(where_): a cell without a reason")
          #expect(r.results.allSatisfy { $0.leftPinnedKB ?? 0 == 0 || $0.status == .failed }, "\(where_): pinned bytes left unreported")
        case .failure(let p):
          #expect(p.exitCode == 2, "\(where_): \(p)")
        }
        #expect(recorder.held == .nothing, "\(where_): left \(recorder.held)")
        #expect(fake.held == (0, 0), "\(where_): the fake holds \(fake.held)")
      }
    }
  }

  @Test func anInterruptReleasesEverything() {
    let (result, recorder, fake) = benchRun(.linux6_1, BenchRequest(size: 8 << 20, iterations: 3, interruptAfter: 5))
    guard case .failure(.interrupted(let signal, let completed)) = result else {
      Issue.record("not interrupted: \(result)")
      return
    }
    #expect(signal == 2 && completed == 1, "the second cell stopped between rounds")
    #expect(recorder.held == .nothing && fake.held == (0, 0))
    #expect(fake.pinAccounting() == PinAccounting(pinnedKB: 0, lockedKB: 0))
  }

  @Test func usageAndPrivilegeProblemsComeBeforeAnything() {
    let (zero, recorder, _) = benchRun(.linux6_1, BenchRequest(size: 0))
    #expect(zero.failureValue == .usage("--size must be more than 0 bytes"))
    #expect(recorder.trace.isEmpty)
    #expect(benchRun(.linux6_1, BenchRequest(size: 1 << 20)).0.failureValue == nil, "below one page: each cell says so")
    let tiny = try? benchRun(.linux6_1, BenchRequest(interfaces: [.ioUring, .vfioType1v2], memories: [.anon4k], size: 1 << 20)).0.get()
    #expect(tiny?.results.allSatisfy { $0.status == .skipped && $0.reason?.hasPrefix("less than 2 MiB fits (every bench buffer is whole 2 MiB units") == true } == true)
    #expect(benchRun(.linux6_1, BenchRequest(devdax: "/dev/zero")).0.failureValue == .target(
      "--devdax /dev/zero is character device 1:5 of the mem subsystem, not device-DAX: name a /dev/daxX.Y (ndctl create-namespace -m devdax)"))
  }
}

extension Result {
  var failureValue: Failure? {
    if case .failure(let f) = self { return f }
    return nil
  }
}

@Suite("bench figures and sizes, from samples (no clock)")
struct BenchFigureTests {
  @Test func medianAndNearestRankP99() throws {
    let s = try #require(BenchStats([5, 1, 4, 2, 3]))
    #expect(s.median == 3 && s.p99 == 5 && s.min == 1 && s.max == 5)
    let even = try #require(BenchStats([10, 1, 3, 20]))
    #expect(even.median == 6 && even.p99 == 20)
    let hundred = try #require(BenchStats((1...100).map(UInt64.init)))
    #expect(hundred.median == 50 && hundred.p99 == 99)
    #expect(BenchStats([]) == nil)
  }

  @Test func sizing() throws {
    let plenty = BenchLimits(memoryAvailable: 64 << 30, hugetlbFree2M: 1024, devdaxSize: 502 << 20, devdaxAlign: 2 << 20, memlockBytes: nil)
    #expect(try BenchSizing.size(.anon4k, requested: 1 << 30, limits: plenty).get() == BenchSize(bytes: 1 << 30, reductions: []))
    #expect(try BenchSizing.size(.memfd, requested: (3 << 20) + 1, limits: plenty).get() == BenchSize(bytes: 2 << 20, reductions: ["rounded down to whole 2 MiB pages"]))
    #expect(try BenchSizing.size(.devdax, requested: 1 << 30, limits: plenty).get().bytes == 502 << 20)
    let aligned = BenchLimits(memoryAvailable: nil, hugetlbFree2M: 0, devdaxSize: 1 << 30, devdaxAlign: 1 << 30, memlockBytes: nil)
    #expect(try BenchSizing.size(.devdax, requested: 1536 << 20, limits: aligned).get() == BenchSize(bytes: 1 << 30, reductions: ["rounded down to whole 1 GiB pages"]))
    guard case .failure(let u) = BenchSizing.size(.hugetlb2m, requested: 1 << 30, limits: aligned) else {
      Issue.record("an empty pool is not a size")
      return
    }
    #expect(u.outcome == .resourceLimited && u.reason == "no free 2 MiB huge pages" && u.hint == "sysctl vm.nr_hugepages=512")
  }
}
