import Synchronization
import DaxPinCore
import Foundation
import SystemPackage
import Testing

@testable import DaxPinLinux

/// Another user who can write the parent directory swaps daxpin's fresh private directory
/// between `mkdirat` and the `openat` that follows: root must never create a file where the
/// swap points.
@Suite("private directories against a hostile user, on this machine's kernel", .serialized)
struct ScratchDirectoryTests {
  /// A world-writable, non-sticky parent (the worst case) and a target the attacker aims at.
  final class Arena: @unchecked Sendable {
    let parent = "/var/tmp/daxpin-arena-\(UUID().uuidString)"
    let target = "/var/tmp/daxpin-target-\(UUID().uuidString)"
    init() throws {
      try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
      try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
    }
    deinit {
      try? FileManager.default.removeItem(atPath: parent)
      try? FileManager.default.removeItem(atPath: target)
    }
    var fresh: String? { (try? FileManager.default.contentsOfDirectory(atPath: parent))?.first { $0.hasPrefix(".daxpin-") } }
    func run(_ swap: @escaping @Sendable (Arena, String) -> Void) throws -> [ProbeResult] {
      let kernel = RecordingKernel(LinuxKernel())
      kernel.after(.makeDirectory) { [self] in if let name = fresh { swap(self, name) } }
      let results = try ProbeEngine(
        kernel: kernel, targets: ProbeTargets(pagecacheDirectory: parent, tmpfsDirectory: nil), features: thisKernel,
        interfaces: [.ioUring], kinds: [.pagecacheShared], accesses: [.rw]
      ).run()
      #expect(kernel.held.fds == 0)
      #expect(kernel.held.mappings == 0)
      return results
    }
  }

  @Test(.enabled(if: getuid() == 0, "root creates the files"))
  func aSymlinkPlantedInPlaceOfTheDirectoryIsNotFollowed() throws {
    let arena = try Arena()
    let r = try arena.run { a, name in
      try? FileManager.default.moveItem(atPath: "\(a.parent)/\(name)", toPath: "\(a.parent)/moved")
      try? FileManager.default.createSymbolicLink(atPath: "\(a.parent)/\(name)", withDestinationPath: a.target)
    }
    #expect(r[0].outcome == .setupFailed)
    #expect(r[0].errnoName == "ENOTDIR")
    #expect(r[0].reason?.contains("with O_NOFOLLOW (replaced by another user?)") == true)
    #expect(try FileManager.default.contentsOfDirectory(atPath: arena.target) == [], "nothing created where the symlink points")
  }

  @Test(.enabled(if: getuid() == 0, "root creates the files; chown needs root"))
  func aDirectoryOfAnotherUserPlantedInItsPlaceIsRefused() throws {
    let arena = try Arena()
    let r = try arena.run { a, name in
      try? FileManager.default.moveItem(atPath: "\(a.parent)/\(name)", toPath: "\(a.parent)/moved")
      try? FileManager.default.createDirectory(atPath: "\(a.parent)/\(name)", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
      _ = chown("\(a.parent)/\(name)", 65534, 65534)
    }
    #expect(r[0].outcome == .setupFailed)
    let reason = try #require(r[0].reason)
    #expect(reason.hasSuffix("is not the directory daxpin made (owner uid 65534, mode 777): refusing to create files in it"))
    let planted = try #require(arena.fresh)
    #expect(try FileManager.default.contentsOfDirectory(atPath: "\(arena.parent)/\(planted)") == [], "nothing created in the planted directory")
  }

  @Test(.enabled(if: getuid() == 0, "root creates the files"))
  func withoutInterferenceTheDirectoryIsMadeUsedAndRemoved() throws {
    let arena = try Arena()
    let r = try arena.run { _, _ in }
    #expect(r[0].verdict == .pass, "\(r[0].reason ?? "")")
    #expect(r[0].memory.path?.hasPrefix(arena.parent + "/.daxpin-") == true)
    #expect(try FileManager.default.contentsOfDirectory(atPath: arena.parent) == [])
  }
}

extension ScratchDirectoryTests {
  /// While a run uses its private directory, no one else can take its lock (the leftover sweep of
  /// a run in another pid namespace relies on it). Checked the moment the first file is made in
  /// it, deterministically, instead of racing a child process.
  @Test(.enabled(if: getuid() == 0, "root creates the files"))
  func aRunHoldsTheLockOnItsPrivateDirectory() throws {
    let arena = try Arena()
    let answer = Mutex<Int32?>(nil)
    let kernel = RecordingKernel(LinuxKernel())
    kernel.after(.open) { [arena] in
      guard answer.withLock({ $0 == nil }), let name = arena.fresh else { return }
      let fd = open(arena.parent + "/" + name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
      guard fd >= 0 else { return }
      defer { close(fd) }
      let r = flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno
      answer.withLock { $0 = r }
    }
    _ = try ProbeEngine(
      kernel: kernel, targets: ProbeTargets(pagecacheDirectory: arena.parent, tmpfsDirectory: nil), features: thisKernel,
      interfaces: [.ioUring], kinds: [.pagecacheShared], accesses: [.rw]
    ).run()
    #expect(answer.withLock { $0 } == EWOULDBLOCK)
  }
}
