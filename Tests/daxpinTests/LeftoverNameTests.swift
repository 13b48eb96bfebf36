import Foundation
import Testing

/// Only names of daxpin's own form, `.daxpin-<pid>-<start time>-<random>`, record a run. Empty
/// fields used to be skipped, so `.daxpin--<pid>-1-x` read as run <pid>: removed when that pid
/// was gone.
extension ProbeCommandTests {
  @Test(.enabled(if: isRoot, "probe needs root"))
  func aNameNotOfDaxpinsFormIsNeverSwept() throws {
    let fm = FileManager.default
    let gone = Process()
    gone.executableURL = URL(fileURLWithPath: "/bin/true")
    try gone.run()
    gone.waitUntilExit()
    let dir = "/dev/shm/.daxpin--\(gone.processIdentifier)-1-x"
    try fm.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
    defer { try? fm.removeItem(atPath: dir) }
    #expect(fm.createFile(atPath: dir + "/kept", contents: Data(count: 16)))
    let r = try Run.daxpin(["probe", "--interface", "io_uring", "--kind", "tmpfs-shared", "--access", "rw"])
    #expect(r.status == 0)
    #expect(r.stderr == "")
    #expect(fm.fileExists(atPath: dir + "/kept"))
  }
}
