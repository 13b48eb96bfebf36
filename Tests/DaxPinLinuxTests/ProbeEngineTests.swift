import DaxPinCore
@testable import DaxPinLinux
import Foundation
import SystemPackage
import Testing

/// Private page-cache and tmpfs directories for one test, removed afterwards.
final class ScratchDirs {
  let pagecache: String
  let tmpfs: String
  init() throws {
    pagecache = "/var/tmp/daxpin-test-\(UUID().uuidString)"
    tmpfs = "/dev/shm/daxpin-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: pagecache, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: tmpfs, withIntermediateDirectories: true)
  }
  deinit {
    try? FileManager.default.removeItem(atPath: pagecache)
    try? FileManager.default.removeItem(atPath: tmpfs)
  }
  /// Whatever the probe left in the directories (must be nothing).
  var leftovers: [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: pagecache)) ?? [])
      + ((try? FileManager.default.contentsOfDirectory(atPath: tmpfs)) ?? [])
  }
  func targets(vfio: VFIOGroupTarget? = nil, iommufd: Bool = false) -> ProbeTargets {
    ProbeTargets(
      pagecacheDirectory: pagecache, tmpfsDirectory: tmpfs, vfioGroup: vfio, vfioContainer: vfio != nil, iommufd: iommufd,
      ioUring: true)
  }
}

let hostKinds: [MemoryKind] = [.anon, .memfd, .tmpfsShared, .pagecacheShared, .pagecachePrivate]
let thisKernel = KernelFeatures(LinuxInventory().collect().kernel)

@Suite("probe engine on this machine's kernel", .serialized)
struct ProbeEngineTests {
  @Test func ioUringGivesRealVerdictsForEveryHostKind() throws {
    let dirs = try ScratchDirs()
    let kernel = InstrumentedKernel()
    let results = try ProbeEngine(kernel: kernel, targets: dirs.targets(), features: thisKernel, interfaces: [.ioUring], kinds: hostKinds).run()
    #expect(results.count == 10)
    for r in results {
      #expect(r.outcome == .pinned || r.outcome == .refused, "\(r.id): \(r.outcome) \(r.reason ?? "")")
      #expect(r.verdict == .pass, "\(r.id): \(r.reason ?? "")")
      #expect(r.expectation != nil)
      #expect(r.memory.confirmedBy != nil)
      #expect(r.request?.hasPrefix("IORING_REGISTER_BUFFERS") == true)
    }
    let pinned = results.filter { $0.outcome == .pinned }
    #expect(!pinned.isEmpty)
    #expect(pinned.allSatisfy { ($0.pinnedKB ?? 0) >= 2048 }, "VmPin grows by the buffer while it is registered")
    #expect(kernel.held == (0, 0, 0, 0))
    #expect(dirs.leftovers.isEmpty)
  }

  @Test func privateFileMappingsAreReadFaulted() throws {
    let dirs = try ScratchDirs()
    let results = try ProbeEngine(
      kernel: LinuxKernel(), targets: dirs.targets(), features: thisKernel, interfaces: [.ioUring],
      kinds: [.pagecachePrivate, .pagecacheShared], accesses: [.rw]
    ).run()
    #expect(results.map(\.memory.faulted) == ["read", "write"])
    #expect(results.map(\.memory.mapping) == ["MAP_PRIVATE", "MAP_SHARED"])
  }

  @Test func tmpfsIsNoPageCacheControl() throws {
    let dirs = try ScratchDirs()
    var t = dirs.targets()
    t.pagecacheDirectory = dirs.tmpfs
    let r = try ProbeEngine(kernel: LinuxKernel(), targets: t, features: thisKernel, interfaces: [.ioUring], kinds: [.pagecacheShared], accesses: [.rw]).run()
    #expect(r[0].outcome == .unsupported)
    #expect(r[0].reason?.contains("tmpfs") == true)
    #expect(r[0].hint?.contains("--pagecache-dir") == true)
  }

  @Test func absentKindsAreReportedNotDropped() throws {
    let dirs = try ScratchDirs()
    let r = try ProbeEngine(kernel: LinuxKernel(), targets: dirs.targets(), features: thisKernel, interfaces: [.ioUring], kinds: MemoryKind.allCases).run()
    #expect(r.count == MemoryKind.allCases.count * 2)
    for k in [MemoryKind.devdax, .fsdaxExt4Shared, .fsdaxXfsPrivateCow] {
      let cell = try #require(r.first { $0.memory.kind == k })
      #expect(cell.outcome == .unsupported)
      #expect(cell.hint?.contains("daxpin lab") == true)
    }
  }

  @Test func interruptStopsAndReleasesEverything() throws {
    let dirs = try ScratchDirs()
    for at in [3, 10, 25] {
      let kernel = InstrumentedKernel(interruptAtCall: at)
      #expect(throws: ProbeEngine.Interrupted.self) {
        _ = try ProbeEngine(kernel: kernel, targets: dirs.targets(), features: thisKernel, interfaces: [.ioUring], kinds: hostKinds).run()
      }
      #expect(kernel.held == (0, 0, 0, 0), "interrupt at call \(at)")
      #expect(dirs.leftovers.isEmpty)
    }
  }

  /// Every acquiring call a probe run makes fails in turn, with several errnos: the run still
  /// finishes, the failed cell gets a verdict with a reason, and nothing stays held.
  @Test(arguments: [Errno.ioError, .noMemory, .permissionDenied, .badAddress])
  func everyFailedCallIsCleanedUp(errno: Errno) throws {
    let dirs = try ScratchDirs()
    let clean = InstrumentedKernel()
    _ = try ProbeEngine(kernel: clean, targets: dirs.targets(), features: thisKernel, interfaces: [.ioUring], kinds: hostKinds).run()
    let total = clean.calls.count
    #expect(total > 40)
    for n in 1...total {
      let kernel = InstrumentedKernel(failAt: n, failWith: errno)
      let results = try ProbeEngine(kernel: kernel, targets: dirs.targets(), features: thisKernel, interfaces: [.ioUring], kinds: hostKinds).run()
      let failedCall = kernel.calls[n - 1]
      #expect(results.count == 10, "call \(n) \(failedCall)")
      #expect(results.allSatisfy { $0.verdict == .pass || $0.reason != nil || $0.outcome == .refused }, "call \(n) \(failedCall)")
      #expect(kernel.held == (0, 0, 0, 0), "call \(n) \(failedCall) failed with \(errno.name): something was left held")
      #expect(dirs.leftovers.isEmpty, "call \(n) \(failedCall)")
    }
  }
}

@Suite("not-exercised detection and VFIO setup errors")
struct NotExercisedTests {
  func run(_ target: VFIOGroupTarget, model: InstrumentedKernel.VFIOModel = .init(), interfaces: [Interface] = [.vfioType1v2], iommufd: Bool = false)
    throws -> [ProbeResult]
  {
    let dirs = try ScratchDirs()
    let kernel = InstrumentedKernel(vfio: model)
    let r = try ProbeEngine(
      kernel: kernel, targets: dirs.targets(vfio: target, iommufd: iommufd), features: thisKernel, interfaces: interfaces,
      kinds: [.anon], accesses: [.rw]
    ).run()
    #expect(kernel.held == (0, 0, 0, 0))
    return r
  }

  @Test func noiommuGroupNeverCountsAsPinned() throws {
    let r = try run(VFIOGroupTarget(id: 0, node: "/dev/vfio/noiommu-0", noiommu: true))
    #expect(r[0].outcome == .notExercised)
    #expect(r[0].verdict == .skip)
    #expect(r[0].reason?.contains("noiommu") == true)
  }

  @Test func mdevOnlyGroupNeverCountsAsPinned() throws {
    let r = try run(VFIOGroupTarget(id: 4, node: "/dev/vfio/4", mdevOnly: true))
    #expect(r[0].outcome == .notExercised)
  }

  @Test func ioasWithoutDeviceNeverCountsAsPinned() throws {
    let r = try run(VFIOGroupTarget(id: 4, node: "/dev/vfio/4"), interfaces: [.iommufd], iommufd: true)
    #expect(r[0].outcome == .notExercised)
    #expect(r[0].reason?.contains("no domain") == true)
  }

  @Test func ioasWithDeviceIsExercised() throws {
    let r = try run(VFIOGroupTarget(id: 4, node: "/dev/vfio/4", deviceCdev: "/dev/vfio/devices/vfio0"), interfaces: [.iommufd], iommufd: true)
    #expect(r[0].outcome == .pinned)
    #expect(r[0].request?.hasPrefix("IOMMU_IOAS_MAP ") == true)
  }

  @Test func groupWithDomainIsExercised() throws {
    let r = try run(VFIOGroupTarget(id: 4, node: "/dev/vfio/4"))
    #expect(r[0].outcome == .pinned)
    #expect(r[0].request == "VFIO_IOMMU_MAP_DMA iova=0x200000 size=0x200000 READ|WRITE")
  }

  @Test func compatContainerOpensTheDeviceToGetADomain() throws {
    let dirs = try ScratchDirs()
    let kernel = InstrumentedKernel(vfio: .init())
    let target = VFIOGroupTarget(id: 4, node: "/dev/vfio/4", deviceAddress: "0000:00:03.0")
    let r = try ProbeEngine(
      kernel: kernel, targets: dirs.targets(vfio: target, iommufd: true), features: thisKernel, interfaces: [.iommufdCompat, .vfioType1v2],
      kinds: [.anon], accesses: [.rw]
    ).run()
    #expect(r.map(\.outcome) == [.pinned, .pinned])
    #expect(kernel.calls.filter { $0 == "VFIO_GROUP_GET_DEVICE_FD" }.count == 1, "only the compat container opens the device")
    #expect(kernel.held == (0, 0, 0, 0))
  }

  @Test func compatContainerWithoutADeviceIsNotExercised() throws {
    let r = try run(VFIOGroupTarget(id: 4, node: "/dev/vfio/4"), interfaces: [.iommufdCompat], iommufd: true)
    #expect(r[0].outcome == .notExercised)
    #expect(r[0].reason?.contains("compat IOAS has no domain") == true)
  }

  @Test func busyGroupIsAClearError() throws {
    let r = try run(VFIOGroupTarget(id: 4, node: "/dev/vfio/4"), model: .init(groupOpenErrno: .resourceBusy))
    #expect(r[0].outcome == .setupFailed)
    #expect(r[0].verdict == .error)
    #expect(r[0].reason == "VFIO group 4 is busy: another process (QEMU?) has /dev/vfio/4 open")
  }

  @Test func groupThatIsNotViableIsAClearError() throws {
    let r = try run(VFIOGroupTarget(id: 4, node: "/dev/vfio/4"), model: .init(viable: false))
    #expect(r[0].verdict == .error)
    #expect(r[0].hint?.contains("/sys/kernel/iommu_groups/4/devices") == true)
  }

  @Test func memlockENOMEMIsResourceLimited() throws {
    let r = try run(VFIOGroupTarget(id: 4, node: "/dev/vfio/4"), model: .init(mapErrno: .noMemory))
    #expect(r[0].outcome == .resourceLimited)
    #expect(r[0].hint?.contains("ulimit -l") == true)
  }

  @Test func noGroupIsUnsupportedWithAHint() throws {
    let dirs = try ScratchDirs()
    var t = dirs.targets()
    t.vfioContainer = true
    let r = try ProbeEngine(kernel: LinuxKernel(), targets: t, features: thisKernel, interfaces: [.vfioType1], kinds: [.anon]).run()
    #expect(r.allSatisfy { $0.outcome == .unsupported && $0.hint?.contains("never rebinds") == true })
  }
}

@Suite("LinuxKernel pieces")
struct LinuxKernelTests {
  @Test func smapsFindsTheVMA() {
    let text = """
      7f0000000000-7f0000200000 rw-s 00000000 00:01 1234                       /memfd:daxpin (deleted)
      Size:               2048 kB
      VmFlags: rd wr sh mr mw me ms sd
      7f0000200000-7f0000400000 rw-p 00000000 00:00 0
      Size:               2048 kB
      VmFlags: rd wr mr mw me ac sd ht
      """
    #expect(SmapsParserProbe.vma(0x7f00_0010_0000, text)?.path == "/memfd:daxpin (deleted)")
    #expect(SmapsParserProbe.vma(0x7f00_0030_0000, text)?.flags.contains("ht") == true)
    #expect(SmapsParserProbe.vma(0x1000, text) == nil)
  }

  @Test func statxOfADirectory() throws {
    let st = try LinuxKernel().status("/var/tmp").get()
    #expect(st.type == .directory)
    #expect(st.dax != true)
  }

  @Test func statfsTellsTmpfsFromExt4() throws {
    #expect(try LinuxKernel().filesystem("/dev/shm").get() == .tmpfs)
    #expect(try LinuxKernel().filesystem("/var/tmp").get().isDiskBacked)
  }

  @Test func openRefusesToFollowSymlinks() throws {
    let dirs = try ScratchDirs()
    try FileManager.default.createSymbolicLink(atPath: dirs.pagecache + "/link", withDestinationPath: "/etc/passwd")
    #expect(LinuxKernel().open(dirs.pagecache + "/link", writable: true, create: true) == .failure(.fileExists))
    #expect(LinuxKernel().open(dirs.pagecache + "/link", writable: false, create: false) == .failure(.tooManySymbolicLinkLevels))
  }
}

enum SmapsParserProbe {
  static func vma(_ a: UInt, _ text: String) -> VMAInfo? { SmapsParser.vma(containing: a, in: text) }
}
