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
  func targets() -> ProbeTargets { ProbeTargets(pagecacheDirectory: pagecache, tmpfsDirectory: tmpfs) }
}

let hostKinds: [MemoryKind] = [.anon, .memfd, .tmpfsShared, .pagecacheShared, .pagecachePrivate]
let thisKernel = KernelFeatures(LinuxInventory().collect().kernel)
let thisKernelVersion = LinuxInventory().collect().kernel.version2 ?? KernelVersion(0, 0)

/// What io_uring does with each host kind from 6.5 on (lab-verified on Debian 6.12 and 7.3):
/// every read-only buffer is EFAULT (io_uring always pins for writing), a writable shared
/// page-cache file is EFAULT (dirty tracking), the rest pin.
let ioUringFrom6_5: [String: (Outcome, String?)] = [
  "io_uring.anon.rw": (.pinned, nil), "io_uring.anon.ro": (.refused, "EFAULT"),
  "io_uring.memfd.rw": (.pinned, nil), "io_uring.memfd.ro": (.refused, "EFAULT"),
  "io_uring.tmpfs-shared.rw": (.pinned, nil), "io_uring.tmpfs-shared.ro": (.refused, "EFAULT"),
  "io_uring.pagecache-shared.rw": (.refused, "EFAULT"), "io_uring.pagecache-shared.ro": (.refused, "EFAULT"),
  "io_uring.pagecache-private.rw": (.pinned, nil), "io_uring.pagecache-private.ro": (.refused, "EFAULT"),
]

extension ThisKernelPins {
  @Suite("probe engine on this machine's kernel")
  struct ProbeEngineTests {
    @Test func ioUringGivesRealVerdictsForEveryHostKind() throws {
      let dirs = try ScratchDirs()
      let kernel = RecordingKernel(LinuxKernel())
      let results = try ProbeEngine(kernel: kernel, targets: dirs.targets(), features: thisKernel, interfaces: [.ioUring], kinds: hostKinds).run()
      #expect(results.count == 10)
      for r in results {
        if thisKernelVersion >= KernelVersion(6, 5) {
          #expect(r.outcome == ioUringFrom6_5[r.id]?.0, "\(r.id): \(r.outcome) \(r.reason ?? "")")
          #expect(r.errnoName == ioUringFrom6_5[r.id]?.1, "\(r.id)")
        }
        #expect(r.verdict == .pass, "\(r.id): \(r.reason ?? "")")
        #expect(r.expectation != nil)
        #expect(r.memory.confirmedBy != nil)
        #expect(r.request?.hasPrefix("IORING_REGISTER_BUFFERS") == true)
      }
      let pinned = results.filter { $0.outcome == .pinned }
      #expect(!pinned.isEmpty)
      #expect(pinned.allSatisfy { ($0.pinnedKB ?? 0) >= 2048 }, "VmPin grows by the buffer while it is registered")
      #expect(kernel.held == .nothing)
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
        let kernel = RecordingKernel(LinuxKernel())
        kernel.interrupt(afterCalls: at)
        #expect(throws: ProbeEngine.Interrupted.self) {
          _ = try ProbeEngine(kernel: kernel, targets: dirs.targets(), features: thisKernel, interfaces: [.ioUring], kinds: hostKinds).run()
        }
        #expect(kernel.held == .nothing, "interrupt at call \(at)")
        #expect(dirs.leftovers.isEmpty)
      }
    }

    /// Every acquiring call a probe run makes fails in turn, with several errnos: the run still
    /// finishes, the failed cell gets a verdict with a reason, and nothing stays held.
    @Test(arguments: [Errno.ioError, .noMemory, .permissionDenied, .badAddress])
    func everyFailedCallIsCleanedUp(errno: Errno) throws {
      let dirs = try ScratchDirs()
      let clean = RecordingKernel(LinuxKernel())
      _ = try ProbeEngine(kernel: clean, targets: dirs.targets(), features: thisKernel, interfaces: [.ioUring], kinds: hostKinds).run()
      let points = clean.trace.filter { !$0.releasesOrObserves }
      #expect(points.count > 40)
      var uses: [KernelCall: Int] = [:]
      for call in points {
        uses[call, default: 0] += 1
        let kernel = RecordingKernel(LinuxKernel())
        kernel.inject(call, onUse: uses[call]!, errno: errno)
        let results = try ProbeEngine(kernel: kernel, targets: dirs.targets(), features: thisKernel, interfaces: [.ioUring], kinds: hostKinds).run()
        let at = "\(call)#\(uses[call]!) failing with \(errno.name)"
        #expect(results.count == 10, "\(at)")
        #expect(results.allSatisfy { $0.verdict == .pass || $0.reason != nil }, "\(at)")
        #expect(kernel.held == .nothing, "\(at): left \(kernel.held)")
        #expect(dirs.leftovers.isEmpty, "\(at)")
      }
    }
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

  /// The byte-level parser answers as the String one it replaced, for every VMA of this
  /// process's real smaps (start, middle, last byte, just past the end).
  @Test func smapsParserEqualsTheStringOne() throws {
    let text = try #require(FileTree(root: "").read("/proc/self/smaps", limit: 64 << 20))
    var addresses: [UInt] = [0, 0x1000, UInt.max]
    for line in text.split(separator: "\n") {
      guard let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
        let a = UInt(line[..<dash], radix: 16), let b = UInt(line[line.index(after: dash)..<space], radix: 16)
      else { continue }
      addresses += [a, a + (b - a) / 2, b - 1, b]
    }
    #expect(addresses.count > 40)
    let odd = """
      7f0000000000-7f0000200000 rw-s 00000000 00:01 1234     /path with  spaces  
      VmFlags:  rd  wr sh\u{20}
      10-20 r--p 0 0 0
      VmFlags: rd
      +30-40 r--p 0 0 0 x
      Size: 1 kB
      VmFlags:
      x-y not a header
      VmFlags: zz
      """
    for a in addresses { #expect(SmapsParserProbe.vma(a, text) == StringSmapsParser.vma(containing: a, in: text), "\(a)") }
    for a: UInt in [0x10, 0x1f, 0x20, 0x30, 0x3f, 0x7f00_0000_0000, 0x7f00_0000_0001] {
      #expect(SmapsParserProbe.vma(a, odd) == StringSmapsParser.vma(containing: a, in: odd), "\(a)")
    }
    #expect(SmapsParserProbe.vma(0x7f00_0000_0000, odd)?.path == "/path with  spaces")
  }

  @Test func statxOfADirectory() throws {
    let st = try LinuxKernel().status("/var/tmp").get()
    #expect(st.type == .directory)
    #expect(st.dax != true)
  }

  @Test func statfsTellsTmpfsFromADiskAndProcFromBoth() throws {
    #expect(try LinuxKernel().filesystem("/dev/shm").get() == FilesystemInfo(magic: .tmpfs, blockBacked: false))
    let varTmp = try LinuxKernel().filesystem("/var/tmp").get()
    #expect(varTmp.blockBacked)
    #expect(varTmp.isDiskBacked)
    #expect(try LinuxKernel().filesystem("/proc").get() == FilesystemInfo(magic: .proc, blockBacked: false))
    #expect(try !LinuxKernel().filesystem("/proc").get().isDiskBacked)
    #expect(try !LinuxKernel().filesystem("/sys/fs/cgroup").get().isDiskBacked)
  }

  @Test func openRefusesToFollowSymlinks() throws {
    let dirs = try ScratchDirs()
    try FileManager.default.createSymbolicLink(atPath: dirs.pagecache + "/link", withDestinationPath: "/etc/passwd")
    #expect(LinuxKernel().open(dirs.pagecache + "/link", in: nil, writable: true, create: true) == .failure(.fileExists))
    #expect(LinuxKernel().open(dirs.pagecache + "/link", writable: false) == .failure(.tooManySymbolicLinkLevels))
    try FileManager.default.createSymbolicLink(atPath: dirs.pagecache + "/dirlink", withDestinationPath: "/etc")
    // O_DIRECTORY | O_NOFOLLOW on a symlink: the kernel answers ENOTDIR (the link is not followed).
    #expect(LinuxKernel().openDirectory(dirs.pagecache + "/dirlink", in: nil) == .failure(.notDirectory))
  }

  @Test func characterDevicesNameTheirSubsystem() throws {
    let zero = try LinuxKernel().characterDevice("/dev/zero").get()
    #expect(zero == CharacterDevice(number: DeviceNumber(major: 1, minor: 5), subsystem: "mem"))
    #expect(!zero.isDeviceDAX)
    #expect(LinuxKernel().characterDevice("/var/tmp") == .failure(.operationNotSupportedByDevice))
    #expect(LinuxKernel().characterDevice("/dev/nonexistent-daxpin") == .failure(.noSuchFileOrDirectory))
  }

  @Test func processStartTimeTellsAReusedPidApart() throws {
    let me = LinuxKernel().currentProcess()
    #expect(me.pid == getpid())
    #expect(me.startTime > 0)
    #expect(LinuxKernel().processStartTime(me.pid) == .success(me.startTime))
    #expect(LinuxKernel().processStartTime(Int32.max) == .failure(.noSuchProcess))
  }
}

enum SmapsParserProbe {
  static func vma(_ a: UInt, _ text: String) -> VMAInfo? { SmapsParser.vma(containing: a, in: text) }
}

/// The String-splitting smaps parser the byte-level one replaced: the oracle for it.
enum StringSmapsParser {
  static func vma(containing address: UInt, in text: String) -> VMAInfo? {
    var inside = false
    var path = ""
    for line in text.split(separator: "\n") {
      if let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
        let start = UInt(line[..<dash], radix: 16), let end = UInt(line[line.index(after: dash)..<space], radix: 16)
      {
        inside = address >= start && address < end
        if inside {
          let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
          path = fields.count == 6 ? fields[5].trimmingCharacters(in: " ") : ""
        }
      } else if inside, line.hasPrefix("VmFlags:") {
        return VMAInfo(path: path, flags: line.dropFirst("VmFlags:".count).split(separator: " ").map(String.init))
      }
    }
    return nil
  }
}
